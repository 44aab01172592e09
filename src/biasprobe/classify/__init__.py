"""Answer classification by embedding similarity: labels, slant, reasoning traces, canned answers.

Entry points: :func:`score_run` (a run directory -> ``scores.jsonl``), :class:`Classifier`,
:func:`load_embedder`. Heavy libraries (torch, sentence-transformers, scikit-learn) are imported
only when an embedder or a head is actually built.
"""

from __future__ import annotations

from biasprobe.classify.embedders import DEFAULT_EMBEDDER, FAST_EMBEDDER, load_embedder
from biasprobe.classify.model import CLASSIFIER_VERSION, Classifier, Prediction
from biasprobe.classify.score import score_responses, score_run

__all__ = [
    "CLASSIFIER_VERSION",
    "DEFAULT_EMBEDDER",
    "FAST_EMBEDDER",
    "Classifier",
    "Prediction",
    "load_embedder",
    "score_responses",
    "score_run",
]
