"""Answer classification by embedding similarity: labels, slant, reasoning traces, canned answers.

Entry points: :func:`score_run` (a run directory -> ``scores.jsonl``), :class:`Classifier`,
:func:`load_embedder`, and :func:`control_check` / :func:`run_control_check` (neutral and
benign controls labelled censored, uncertain answers, per language: for ``diff`` and
``report``). Heavy libraries (torch, sentence-transformers, scikit-learn) are imported only
when an embedder or a head is actually built.
"""

from __future__ import annotations

from biasprobe.classify.embedders import DEFAULT_EMBEDDER, FAST_EMBEDDER, load_embedder
from biasprobe.classify.model import CLASSIFIER_VERSION, Classifier, Prediction
from biasprobe.classify.score import score_responses, score_run
from biasprobe.classify.validity import ControlCheck, control_check, run_control_check

__all__ = [
    "CLASSIFIER_VERSION",
    "DEFAULT_EMBEDDER",
    "FAST_EMBEDDER",
    "Classifier",
    "ControlCheck",
    "Prediction",
    "control_check",
    "load_embedder",
    "run_control_check",
    "score_responses",
    "score_run",
]
