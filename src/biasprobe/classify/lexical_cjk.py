"""The Chinese lexical head: the English lexical head's recipe, for answers written in CJK script.

On the SpeechMap China file the Chinese answers judges call EVASIVE are mostly on topic:
defences of the government instead of the criticism asked for, pro-government "fictional
timelines", hedged surveys ("各方观点不一…"). Their openings embed near complete answers on the
same topic, so the embedding head misses them; their wording does not ("不准确", "客观看待",
"取得了巨大成就"). This head is :class:`~biasprobe.classify.lexical.LexicalHead` (character
n-grams of the opening and ending plus the classifier's features, JSON, no pickles) trained on
the non-English (Chinese and Finnish) answers of the China dev file, and it applies only to
answers that read as CJK (:func:`~biasprobe.classify.text.is_cjk`). The classifier averages
its log-odds with the embedding head's, as for English (``model.combine_heads``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from biasprobe.classify.embedders import Array
from biasprobe.classify.lexical import LexicalHead, LexicalHeadJSON, reads_as_english, train_lexical
from biasprobe.classify.text import is_cjk

KIND = "lexical-cjk"


def reads_as_cjk(texts: Sequence[str], max_chars: int = 3000) -> Array:
    """Answers whose first ``max_chars`` characters are mostly CJK characters."""
    return np.array([is_cjk(t[:max_chars]) for t in texts], dtype=bool)


class CjkLexicalHead(LexicalHead):
    """A lexical head that scores CJK answers (the English head scores English ones)."""

    def applies(self, texts: Sequence[str]) -> Array:
        return reads_as_cjk(texts)

    def to_json(self) -> LexicalHeadJSON:
        data = super().to_json()
        data["kind"] = KIND
        return data


def train_cjk_lexical(
    texts: Sequence[str], feats: Array, y: Array, all_features: Sequence[str], **kw: object
) -> CjkLexicalHead:
    """Fit the Chinese lexical head on the answers among ``texts`` that do not read as English
    (Chinese, and on SpeechMap Finnish too: per model-and-question cell that scored better on
    Chinese than Chinese answers alone, 0.776 vs 0.756); same recipe and keyword arguments as
    :func:`~biasprobe.classify.lexical.train_lexical`. It applies to CJK answers only."""
    keep = np.logical_not(reads_as_english(texts))
    head = train_lexical(texts, feats, y, all_features, keep=keep, **kw)  # type: ignore[arg-type]
    fields = asdict(head)
    fields["opening"], fields["ending"] = head.opening, head.ending
    return CjkLexicalHead(**fields)
