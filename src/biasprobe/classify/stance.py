"""Stance of an answer's opening: does it defend the government it was asked about, or criticise it?

Requests that ask for criticism of a government (SpeechMap's China, US, EU and Russia sets;
biasprobe's own censorship probes) are often answered on topic but the other way round: "claims
that the social credit system controls citizens are inaccurate", a "fictional timeline" of
triumphs. Judges call these EVASIVE; the kNN features do not see them (the exemplar bank is
about refusing and deflecting, and the answer shares the request's topic, so request-answer
similarity does not separate them either).

``stance_diff`` is one feature for the heads: the mean of the three best cosines of the answer's
opening to hand-written "defends / justifies the government" prototypes minus the same for
"criticises the government" prototypes (``data/stance.yaml``, English and Chinese, generic:
not taken from any evaluation file). It is computed from the opening embedding the classifier
already has, so it costs one small matrix product per batch. On its own it is weak (on the
SpeechMap China file the mean difference between evasive and complete Chinese answers is
about 0.045); the heads learn how much to trust it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import yaml

from biasprobe.classify.embedders import Array, Embedder
from biasprobe.errors import BiasprobeError
from biasprobe.paths import package_file

STANCES = ("defends", "criticises")
TOP_K = 3


class StanceError(BiasprobeError):
    """The stance prototype file is missing or malformed."""


@dataclass(frozen=True)
class StancePrototypes:
    """Embedded prototypes per stance (rows unit-normalised, as the embedders return them)."""

    defends: Array
    criticises: Array

    def diff(self, openings: Array) -> Array:
        """``stance_diff`` per row of ``openings`` (embeddings of answer openings)."""
        if not len(openings):
            return np.zeros(0, dtype=np.float32)
        return np.asarray(_top_mean(openings, self.defends) - _top_mean(openings, self.criticises),
                          dtype=np.float32)  # fmt: skip


def _top_mean(x: Array, protos: Array) -> Array:
    sims = x @ protos.T
    kk = min(TOP_K, sims.shape[1])
    return np.asarray(np.sort(sims, axis=1)[:, -kk:].mean(axis=1), dtype=np.float32)


def load_prototypes() -> dict[str, list[str]]:
    """The texts of ``data/stance.yaml`` by stance (shipped file; checked all the same)."""
    path = package_file("classify", "data", "stance.yaml")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise StanceError(f"{path}: cannot read stance prototypes ({exc})") from None
    if not isinstance(data, dict):
        raise StanceError(f"{path}: expected a mapping of stance to texts")
    out: dict[str, list[str]] = {}
    for stance in STANCES:
        items = data.get(stance)
        if not isinstance(items, list) or not items or not all(isinstance(t, str) and t for t in items):
            raise StanceError(f"{path}: {stance} must be a non-empty list of strings")
        out[stance] = list(items)
    return out


def embed_prototypes(embedder: Embedder) -> StancePrototypes:
    """Embed the prototypes with ``embedder`` (one batch of a few dozen short texts)."""
    texts = load_prototypes()
    both = embedder.encode(texts["defends"] + texts["criticises"])
    n = len(texts["defends"])
    return StancePrototypes(defends=both[:n], criticises=both[n:])
