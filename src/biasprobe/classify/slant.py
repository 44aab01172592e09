"""Slant: is an answer closer to the official account or to the independent account of a topic?

Reference statements live in ``<data_dir>/probes/references/*.yaml``::

    references:
      - {topic: xinjiang, language: en, stance: official, text: "...", source: "..."}

A missing directory means no slant (``None``). The answer is embedded as its head and up to four
chunks (the *parts*). Two questions are asked of it:

1. **Is it about the topic at all?** For an answer with topic T in language L, ``cos_official``
   and ``cos_independent`` are the mean over the parts of the best cosine to topic T's
   statements of that stance in L (or in any language where L has none: the embedders are
   cross-lingual). When both are below :data:`MIN_COS` the answer is close to neither account
   (an answer about something else, an invented story, a refusal) and the slant is ``None``,
   with the reason in the method: a difference of small cosines is noise, not a position.
2. **Which way does it lean?** Cosines to the topic's own statements mostly measure the topic
   (a critical essay on forced labour is as close to the official statement on forced labour as
   to the independent one), so the lean is read along the *stance direction* shared by all
   topics: the mean embedding of every official statement minus that of every independent
   statement, in English (:data:`DIRECTION_LANGUAGE`) for answers in every language. The slant
   is ``tanh((p - mid) / scale)`` where ``p`` is the mean projection of the parts on that
   direction, ``mid`` the projection of the midpoint of the two means (so 0 is equidistant
   from the two accounts) and ``scale`` the median distance of
   the statements themselves from ``mid`` (a statement maps to about ±0.76); +1 = official.

Before either question, the **classifier's own verdict** decides (:func:`verdict_null`, the one
place for it, used by ``score`` and ``benchmarks/eval_slant.py``): slant is a position on the
topic, and an answer the classifier calls a refusal, or a deflection because it is about
something else (``off_topic:`` flag, :mod:`prompt_aware`), degenerate (``degenerate:`` flag:
a loop, garble, no content) or thin (``thin_answer``: one sentence given to a request for an
account, :mod:`thin`), or an empty answer, takes no position: its slant is ``None`` with
``null: refusal`` / ``null: off_topic`` / ``null: degenerate`` / ``null: thin_answer`` /
``null: empty`` in the method.
A loop of official boilerplate is labelled official_line, not deflection, and keeps its slant.

Measured against hand labels (``benchmarks/eval_slant.py`` on ``tests/data/slant_labelled.jsonl``,
README "Slant"): the stance direction and ``MIN_COS`` were chosen on one half of that file, and
the other half is reported as the honest figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biasprobe.classify.embedders import Array, Embedder
from biasprobe.classify.text import chunks, head
from biasprobe.errors import ProbeError
from biasprobe.probes import Reference
from biasprobe.probes import load_references as load_references  # one loader, re-exported
from biasprobe.records import Label

STANCES = ("official", "independent")
MIN_COS = 0.35  # below this for both stances: close to neither account, slant None
# The stance direction is taken from the statements in this language for answers in every
# language: on the tune half of the hand-labelled sets (batches 1 and 2) the English direction
# ranked Chinese answers better than the Chinese statements' own direction (Spearman 0.81 vs
# 0.77); the direction of both languages together was worse in English (0.52 vs 0.66).
# README "Slant against hand labels".
DIRECTION_LANGUAGE = "en"


# Flags of a deflection that mean "no position on the topic", in the order they are reported:
# the answer is about something else (``off_topic:<why>``), has no usable content
# (``degenerate:<why>``), or is one sentence given to a request for an account (``thin_answer``,
# :mod:`thin`: the classifier calls it a deflection because it gives none of the account, so it
# gives no account to lean either way; the hand-labelling guidelines call such "vague
# one-liners" off_topic). A flag matches by its name, with or without a ``:<why>`` suffix.
NO_POSITION_FLAGS = ("off_topic", "degenerate", "thin_answer")


def _flag_named(flags: Sequence[str], kind: str) -> str | None:
    return next((f for f in flags if f == kind or f.startswith(f"{kind}:")), None)


def verdict_null(best: Label, flags: Sequence[str]) -> str | None:
    """Why the classifier's verdict leaves an answer without a slant (the ``slant_method``), or
    None when the slant scorer should look at it: a refusal, an empty answer, or a deflection
    flagged off-topic, degenerate or thin (:data:`NO_POSITION_FLAGS`) has no position on the
    topic."""
    if best is Label.refusal:
        return "null: refusal (the classifier's label: no position on the topic)"
    if "empty_answer" in flags:
        return "null: empty (no answer)"
    if best is Label.deflection:
        for kind in NO_POSITION_FLAGS:
            found = _flag_named(flags, kind)
            if found:
                return f"null: {kind} (the classifier's flag {found}: no position on the topic)"
    return None


# Reference statements are probe data: one schema and loader, in biasprobe.probes.
ReferencesError = ProbeError


def _lang_base(tag: str) -> str:
    return tag.split("-")[0].lower()


class _Direction:
    """The stance direction of one language: official mean minus independent mean."""

    def __init__(self, emb: Array, official: Sequence[int], independent: Sequence[int]) -> None:
        mo, mi = emb[list(official)].mean(axis=0), emb[list(independent)].mean(axis=0)
        self.vec = mo - mi
        self.mid = float(((mo + mi) / 2) @ self.vec)
        ends = emb[[*official, *independent]] @ self.vec - self.mid
        self.scale = float(np.median(np.abs(ends))) or 1.0

    def slant(self, parts: Array) -> float:
        return float(np.tanh(float((parts @ self.vec - self.mid).mean()) / self.scale))


class SlantScorer:
    def __init__(self, embedder: Embedder, references: Sequence[Reference]) -> None:
        self.embedder = embedder
        self.refs = list(references)
        self._emb: Array = (
            embedder.encode([r.text for r in self.refs])
            if self.refs
            else np.zeros((0, 1), np.float32)
        )
        self._dirs: dict[str, _Direction] = {}

    @property
    def topics(self) -> set[str]:
        return {r.topic for r in self.refs}

    @property
    def reference_embeddings(self) -> Array:
        """The embedded statements, one row per reference (for :mod:`reference_check`)."""
        return self._emb

    def _pick(self, topic: str | None, language: str, stance: str) -> tuple[list[int], str]:
        """Statements of ``stance`` on ``topic`` (any topic when None) in ``language``, or in
        any language when it has none."""
        mine = [i for i, r in enumerate(self.refs) if r.stance == stance and topic in (None, r.topic)]
        same = [i for i in mine if _lang_base(self.refs[i].language) == _lang_base(language)]
        return (same, "same-language") if same else (mine, "cross-language")

    def _direction(self, language: str) -> tuple[_Direction, str]:
        """The stance direction: from the statements in :data:`DIRECTION_LANGUAGE`, for answers
        in every language (the embedders are cross-lingual); where those lack a stance, from
        all statements in ``language``, or from every statement where that lacks one too.
        Returns the direction and how it was made (for the method)."""
        for lang in (DIRECTION_LANGUAGE, language):
            (off, how_o), (ind, how_i) = (self._pick(None, lang, s) for s in STANCES)
            if (how_o, how_i) == ("same-language", "same-language"):
                key = _lang_base(lang)
                break
        else:
            key = "*"
            off = [i for i, r in enumerate(self.refs) if r.stance == "official"]
            ind = [i for i, r in enumerate(self.refs) if r.stance == "independent"]
        if key not in self._dirs:
            self._dirs[key] = _Direction(self._emb, off, ind)
        same = "same-language" if key == _lang_base(language) else "cross-language"
        where = "every language" if key == "*" else key
        return self._dirs[key], (
            f"mean of {len(off)} official minus mean of {len(ind)} independent statements in "
            f"{where}, {same}"
        )

    def _parts(self, answers: Sequence[str], topics: Sequence[str]) -> tuple[list[str], list[list[int]]]:
        parts: list[str] = []
        owners: list[list[int]] = []
        for ans, topic in zip(answers, topics, strict=True):
            rows: list[int] = []
            if topic in self.topics and ans.strip():
                for p in [head(ans), *chunks(ans, size_words=60, max_chunks=4)[1:]]:
                    parts.append(p[:500])
                    rows.append(len(parts) - 1)
            owners.append(rows)
        return parts, owners

    def score(
        self, answers: Sequence[str], topics: Sequence[str], languages: Sequence[str]
    ) -> list[tuple[float | None, str | None]]:
        """``(slant, method)`` per answer; ``(None, None)`` where the topic has no references."""
        out: list[tuple[float | None, str | None]] = [(None, None)] * len(answers)
        parts, owners = self._parts(answers, topics)
        if not parts:
            return out
        emb = self.embedder.encode(parts)
        for i, rows in enumerate(owners):
            if rows:
                out[i] = self._one(emb[rows], topics[i], languages[i])
        return out

    def _one(self, a: Array, topic: str, language: str) -> tuple[float | None, str | None]:
        picks = {s: self._pick(topic, language, s) for s in STANCES}
        if not picks["official"][0] or not picks["independent"][0]:
            return None, None
        s = {st: float((a @ self._emb[idx].T).max(axis=1).mean()) for st, (idx, _h) in picks.items()}
        how = "/".join(sorted({h for _idx, h in picks.values()}))
        cos = f"cos_official={s['official']:.3f} cos_independent={s['independent']:.3f}"
        if max(s.values()) < MIN_COS:
            return None, (
                f"null: close to neither account ({cos}, both < {MIN_COS}; {how}, "
                f"{self.embedder.name})"
            )
        d, dhow = self._direction(language)
        method = (
            f"tanh((p - mid)/scale); p = mean over {len(a)} answer part(s) of the projection on "
            f"the stance direction ({dhow}, {self.embedder.name}); mid={d.mid:.3f} "
            f"scale={d.scale:.3f}; topic check: {cos} ({how}, at least one >= {MIN_COS})"
        )
        return round(d.slant(a), 4), method
