"""Canned answers: replies that recur nearly verbatim across different prompts.

Two answers are "the same script" when the Jaccard similarity of their character 4-gram sets
(on the normalised first 400 characters) is at least ``threshold``. Clusters are the connected
components; a cluster is reported when it covers at least ``min_prompts`` distinct prompts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_PUNCT = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class CannedCluster:
    cluster_id: int
    text: str
    members: list[int]  # indices into the input
    prompts: list[str]  # distinct probe ids

    @property
    def n_prompts(self) -> int:
        return len(self.prompts)


def _shingles(text: str, n: int = 4, limit: int = 400) -> frozenset[str]:
    t = _PUNCT.sub(" ", text.lower())[:limit].strip()
    if len(t) < n:
        return frozenset([t]) if t else frozenset()
    return frozenset(t[i : i + n] for i in range(len(t) - n + 1))


def find_canned(
    answers: Sequence[str],
    prompt_ids: Sequence[str],
    *,
    threshold: float = 0.8,
    min_prompts: int = 2,
) -> list[CannedCluster]:
    """Clusters of near-identical answers covering ``min_prompts`` or more prompts."""
    sh = [_shingles(a) for a in answers]
    parent = list(range(len(answers)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    # Bucket by a cheap key (length band) to skip hopeless pairs.
    order = sorted((i for i in range(len(sh)) if sh[i]), key=lambda i: len(sh[i]))
    for a_pos, i in enumerate(order):
        li = len(sh[i])
        for j in order[a_pos + 1 :]:
            lj = len(sh[j])
            if li < lj * threshold:
                break  # sizes too different for the Jaccard to reach the threshold
            inter = len(sh[i] & sh[j])
            if inter / (li + lj - inter) >= threshold:
                ri, rj = find(i), find(j)
                if ri != rj:
                    parent[rj] = ri
    groups: dict[int, list[int]] = {}
    for i in range(len(answers)):
        if sh[i]:
            groups.setdefault(find(i), []).append(i)
    out: list[CannedCluster] = []
    for members in groups.values():
        prompts = sorted({prompt_ids[i] for i in members})
        if len(prompts) >= min_prompts:
            # Representative: the most common exact text, else the shortest.
            texts = [answers[i].strip() for i in members]
            rep = max(set(texts), key=lambda t: (texts.count(t), -len(t)))
            out.append(CannedCluster(0, rep, sorted(members), prompts))
    out.sort(key=lambda c: (-c.n_prompts, c.members[0]))
    return [CannedCluster(n + 1, c.text, c.members, c.prompts) for n, c in enumerate(out)]
