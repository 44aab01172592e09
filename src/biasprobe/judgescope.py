"""Which answers ``--judge`` asks about, and the confidence below which the judge decides.

Apart from :mod:`biasprobe.judgements` because the CLI needs both when it declares its options
at start-up, and that module pulls in pydantic, the records and the store (about 0.2 s): this
one imports nothing heavy, so ``biasprobe --help`` stays fast.
"""

from __future__ import annotations

from enum import Enum

#: Below this confidence the judge decides (the classifier's ``uncertain`` cut is 0.575-0.6).
JUDGE_BELOW = 0.75


class JudgeScope(str, Enum):
    """Which answers ``--judge`` asks about: the unsure ones (default) or all of them."""

    uncertain = "uncertain"
    all = "all"
