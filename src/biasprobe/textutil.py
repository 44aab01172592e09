"""Model output is untrusted text: make it safe to print in a terminal."""

from __future__ import annotations

import re
import unicodedata

_WS = re.compile(r"\s+")


def printable(text: str) -> str:
    """Replace control characters (ANSI escapes, bells, bidi overrides…) with visible escapes.

    Newlines and tabs are kept. Nothing a model writes can move the cursor, change colours or
    rewrite earlier lines of the user's terminal.
    """
    out = []
    for ch in text:
        if ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) in {"Cc", "Cf"} and ch not in "\u200d":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def preview(text: str, width: int = 70) -> str:
    """One line: whitespace collapsed, control characters escaped, cut to ``width``."""
    one = printable(_WS.sub(" ", text).strip())
    return one if len(one) <= width else one[: width - 1] + "…"
