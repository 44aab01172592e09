"""Text helpers: sentence splitting (EN and CJK), the answer head, chunks. Think blocks are split
by :mod:`biasprobe.reasoning` (``strip_think`` is re-exported here)."""

from __future__ import annotations

import re

from biasprobe.reasoning import strip_think as strip_think  # re-exported

# A sentence ends at . ! ? followed by space/end, or at a CJK terminator, or at a line break.
_SENT_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；])|\n+")
_MARKDOWN = re.compile(r"^\s*(?:#{1,6}\s*|[-*+]\s+|\d+[.)]\s+|>\s*)")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_HAS_WORD = re.compile(r"\w")
# One sentence end within a line: a CJK or Latin full stop, ! or ?, a period only before white
# space or the end (not a decimal point). The one-sentence rules (framing, thin) use it; each
# decides itself what a line break means.
SENTENCE_END = re.compile(r"[。！？!?]|\.(\s|$)")
_WORDS = re.compile(r"[^\W\d_]+|\d+")


def clean(text: str) -> str:
    text = text.replace("**", "").replace("__", "")
    return re.sub(r"[ \t]+", " ", text).strip()


def sentences(text: str) -> list[str]:
    out = []
    for part in _SENT_END.split(clean(text)):
        part = _MARKDOWN.sub("", part).strip()
        if part and _HAS_WORD.search(part):
            out.append(part)
    return out


def word_count(text: str) -> int:
    """Words for space-separated scripts; CJK characters count as ~0.6 word each."""
    spaced, cjk = _CJK.subn(" ", text)  # one pass: the text without CJK, and their count
    return len(_WORDS.findall(spaced)) + round(cjk * 0.6)


_MIXED = re.compile(
    r"[A-Za-z][\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]"
    r"|[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af][A-Za-z]"
)


def mixed_script(text: str) -> int:
    """Places where a CJK character touches a Latin letter in a mostly non-CJK text.

    A sign of degenerate, garbled output ("Over餐馆War"); 0 for CJK texts, where Latin terms
    inside Chinese ("WHO组织") are normal.
    """
    if not _CJK.search(text) or is_cjk(text):  # no CJK at all: the common, fast case
        return 0
    return len(_MIXED.findall(text))


_NOT_WORD = re.compile(r"\W+")


def is_cjk(text: str) -> bool:
    """More than 30% of the word characters (``\\w``) are CJK. Counted as what a removal
    leaves (every character is ``\\w`` or ``\\W``), not as lists of one-character matches; a
    text with no CJK character at all (the common case) is answered by one search."""
    if not _CJK.search(text):
        return False
    letters = len(_NOT_WORD.sub("", text))
    return bool(letters) and (len(text) - len(_CJK.sub("", text))) / letters > 0.3


def head(text: str, n: int = 2, max_chars: int = 320) -> str:
    """The opening of an answer: its first ``n`` sentences, at most ``max_chars`` characters."""
    sents = sentences(text)
    if not sents:
        return text.strip()[:max_chars]
    out = " ".join(sents[:n])
    # A one-word or heading-like first sentence: take one more.
    if len(sents) > n and word_count(out) < 8:
        out = " ".join(sents[: n + 1])
    return out[:max_chars]


def chunks(text: str, size_words: int = 60, max_chunks: int = 4) -> list[str]:
    """Consecutive groups of sentences of about ``size_words`` words (after the head)."""
    out: list[str] = []
    cur: list[str] = []
    count = 0
    for s in sentences(text):
        cur.append(s)
        count += word_count(s)
        if count >= size_words:
            out.append(" ".join(cur))
            cur, count = [], 0
            if len(out) >= max_chunks:
                return out
    if cur:
        out.append(" ".join(cur))
    return out
