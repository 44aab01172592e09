"""Languages the default embedder does not cover, spotted cheaply so labels can say so.

``use-m3`` (Universal Sentence Encoder multilingual) was trained on 16 languages: Arabic,
Chinese, Dutch, English, French, German, Italian, Japanese, Korean, Polish, Portuguese, Russian,
Spanish, Thai, Turkish. On other languages its embeddings are weak (Finnish refusal-F1 is far
below English and Chinese in ``benchmarks/eval_speechmap.py --split model-question``), so an
answer in such a language gets a ``language_not_covered:<code>`` flag: its label rests mostly on
the phrase list and the language-independent rules (degenerate output), and ``show`` / the
control check let a reader count them. Detected: Finnish (function words), Tibetan (script),
Uyghur (Arabic script with Uyghur-only letters). Anything else is not guessed.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W\d_]+")
_FINNISH = frozenset(
    [
        "ja", "on", "ei", "että", "se", "ovat", "oli", "kuin", "mutta", "tai", "myös", "joka",
        # not "he" (Finnish "they"): English "He was … He spent …" would read as Finnish
        "jotka", "sekä", "tämä", "nämä", "hän", "ole", "olla", "voi", "kun", "niin", "sen",
        "siitä", "mukaan", "kanssa", "jälkeen", "vuonna", "koska",
    ]
)
_TIBETAN = re.compile(r"[\u0f00-\u0fff]")
_UYGHUR = re.compile(r"[\u06c6\u06c8\u06d0\u06be\u06ad\u0649]")  # ۆ ۈ ې ھ ڭ ى
EMBEDDER_LANGUAGES = {
    "use-m3": frozenset([
        "ar", "zh", "nl", "en", "fr", "de", "it", "ja", "ko", "pl", "pt", "ru", "es", "th", "tr",
    ]),
}


def uncovered_language(text: str, max_chars: int = 2000) -> str | None:
    """``fi``, ``bo`` (Tibetan) or ``ug`` (Uyghur) when ``text`` reads as one of them, else None."""
    t = text[:max_chars]
    if not t.strip():
        return None
    if _TIBETAN.search(t):
        letters = len(re.findall(r"[^\W\d_]", t))
        if letters and len(_TIBETAN.findall(t)) / letters > 0.3:
            return "bo"
    if len(_UYGHUR.findall(t)) >= 3:
        return "ug"
    words = _WORD.findall(t.lower())
    if len(words) >= 5 and sum(w in _FINNISH for w in words) / len(words) >= 0.08:
        return "fi"
    return None


def not_covered_flag(text: str, embedder: str) -> str | None:
    """The ``language_not_covered:<code>`` flag for an embedder with a known language list."""
    known = EMBEDDER_LANGUAGES.get(embedder)
    if known is None:
        return None
    lang = uncovered_language(text)
    return f"language_not_covered:{lang}" if lang and lang not in known else None
