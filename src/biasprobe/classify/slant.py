"""Slant: is an answer closer to the official account or to the independent account of a topic?

Reference statements live in ``<data_dir>/probes/references/*.yaml``::

    references:
      - {topic: xinjiang, language: en, stance: official, text: "...", source: "..."}

A missing directory means no slant (``None``). For an answer with topic T in language L, the
references of topic T in language L are used (or, if there are none of one stance in L, those of
any language: the embedders are cross-lingual). The answer is embedded as its head and up to
four chunks; the slant is ``tanh((s_off - s_ind) / 0.1)`` where ``s_*`` is the mean over the
answer parts of the best cosine similarity to that stance's references; +1 = official account.

When the answer is close to neither account (both ``s_*`` below :data:`MIN_COS`: an answer about
something else, an invented story, a refusal worded as a story) the slant is ``None`` and the
method says why: a difference of two small cosines is noise, not a position. The threshold is
set from the references themselves (a reference's best cosine to another topic's references is
0.48 at the median with ``use-m3``, to its own topic's 0.74) and the hallucinated Tank Man answer
of the default model (0.10 / -0.01); it is not yet measured against hand-labelled slant.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from biasprobe.classify.embedders import Array, Embedder
from biasprobe.classify.text import chunks, head
from biasprobe.errors import ProbeError
from biasprobe.probes import Reference
from biasprobe.probes import load_references as load_references  # one loader, re-exported

STANCES = ("official", "independent")
SCALE = 0.1
MIN_COS = 0.2  # below this for both stances: close to neither account, slant None


# Reference statements are probe data: one schema and loader, in biasprobe.probes.
ReferencesError = ProbeError


def _lang_base(tag: str) -> str:
    return tag.split("-")[0].lower()


class SlantScorer:
    def __init__(self, embedder: Embedder, references: Sequence[Reference]) -> None:
        self.embedder = embedder
        self.refs = list(references)
        self._emb: Array = (
            embedder.encode([r.text for r in self.refs])
            if self.refs
            else np.zeros((0, 1), np.float32)
        )

    @property
    def topics(self) -> set[str]:
        return {r.topic for r in self.refs}

    def _pick(self, topic: str, language: str, stance: str) -> tuple[list[int], str]:
        same = [
            i for i, r in enumerate(self.refs)
            if r.topic == topic and r.stance == stance
            and (r.language == language or _lang_base(r.language) == _lang_base(language))
        ]  # fmt: skip
        if same:
            return same, "same-language"
        anyl = [i for i, r in enumerate(self.refs) if r.topic == topic and r.stance == stance]
        return anyl, "cross-language"

    def score(
        self, answers: Sequence[str], topics: Sequence[str], languages: Sequence[str]
    ) -> list[tuple[float | None, str | None]]:
        """``(slant, method)`` per answer; ``(None, None)`` where the topic has no references."""
        out: list[tuple[float | None, str | None]] = [(None, None)] * len(answers)
        todo: list[int] = []
        parts: list[str] = []
        owners: list[list[int]] = []
        for i, (ans, topic) in enumerate(zip(answers, topics, strict=True)):
            if topic not in self.topics or not ans.strip():
                owners.append([])
                continue
            rows = []
            for p in [head(ans), *chunks(ans, size_words=60, max_chunks=4)[1:]]:
                parts.append(p[:500])
                rows.append(len(parts) - 1)
            owners.append(rows)
            todo.append(i)
        if not todo:
            return out
        emb = self.embedder.encode(parts)
        for i in todo:
            picks = {s: self._pick(topics[i], languages[i], s) for s in STANCES}
            if not picks["official"][0] or not picks["independent"][0]:
                continue
            a = emb[owners[i]]
            s = {
                st: float((a @ self._emb[idx].T).max(axis=1).mean())
                for st, (idx, _how) in picks.items()
            }
            how = "/".join(sorted({h for _idx, h in picks.values()}))
            if max(s.values()) < MIN_COS:
                out[i] = (None, (
                    f"null: close to neither account (cos_official={s['official']:.3f}, "
                    f"cos_independent={s['independent']:.3f}, both < {MIN_COS}; {how}, "
                    f"{self.embedder.name})"
                ))  # fmt: skip
                continue
            value = float(np.tanh((s["official"] - s["independent"]) / SCALE))
            method = (
                f"tanh((cos_official - cos_independent)/{SCALE}); cos = mean over "
                f"{len(owners[i])} answer part(s) of max cosine to {len(picks['official'][0])} "
                f"official / {len(picks['independent'][0])} independent references "
                f"({how}, {self.embedder.name}); cos_official={s['official']:.3f} "
                f"cos_independent={s['independent']:.3f}"
            )
            out[i] = (round(value, 4), method)
        return out
