"""Calibrated confidence: the probability that the label is right, learnt out of fold.

The heads give a log-odds ``z`` of "not complete". Their raw probabilities are not calibrated
for users' data: the heads are trained with balanced classes on long English essays, and a
label's chance of being right depends on how far ``z`` is from 0, not on the raw probability.
So ``confidence = sigmoid(a * |z| + b)``: a one-feature logistic (Platt) fit of "the label was
right" on ``|z|``, using predictions grouped by **model and question together** (every answer
predicted by heads that never saw its model or its question; ``benchmarks/eval_speechmap.py
--split model-question --write-calibration``). Labels do not change; ``uncertain`` is decided
from the calibrated confidence. Kept as JSON (two numbers), no pickles.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

import numpy as np

from biasprobe.classify.embedders import Array
from biasprobe.errors import BiasprobeError


class CalibrationError(BiasprobeError):
    """A calibration file is missing or malformed."""


class CalibrationJSON(TypedDict):
    a: float
    b: float
    note: str
    embedder: str


@dataclass
class Calibration:
    a: float
    b: float
    note: str = ""
    embedder: str = ""

    def confidence(self, z: Array) -> Array:
        """P(label right) for log-odds ``z`` of "not complete" (either sign)."""
        x = self.a * np.abs(np.asarray(z, dtype=np.float64)) + self.b
        return np.asarray(1.0 / (1.0 + np.exp(-x)), dtype=np.float32)

    def to_json(self) -> CalibrationJSON:
        return {"a": self.a, "b": self.b, "note": self.note, "embedder": self.embedder}

    @classmethod
    def load(cls, path: Path) -> Calibration:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            a, b = float(data["a"]), float(data["b"])
            if not (math.isfinite(a) and math.isfinite(b)):
                raise ValueError("not finite")
            return cls(a, b, str(data.get("note", "")), str(data.get("embedder", "")))
        except FileNotFoundError:
            raise CalibrationError(f"{path}: calibration not found") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(f"{path}: malformed calibration ({exc})") from None


def fit_calibration(z: Array, correct: Array, *, note: str = "", embedder: str = "") -> Calibration:
    """Platt fit of ``correct`` (bool per answer) on ``|z|`` (scikit-learn, imported here)."""
    from sklearn.linear_model import LogisticRegression

    x = np.abs(np.asarray(z, dtype=np.float64)).reshape(-1, 1)
    y = np.asarray(correct, dtype=int)
    if len(set(y.tolist())) < 2:
        raise CalibrationError("need right and wrong labels to fit a calibration")
    lr = LogisticRegression(C=1e4, max_iter=1000).fit(x, y)
    return Calibration(float(lr.coef_[0, 0]), float(lr.intercept_[0]), note, embedder)


def log_odds(p: Array) -> Array:
    q = np.clip(np.asarray(p, dtype=np.float64), 1e-6, 1 - 1e-6)
    return np.asarray(np.log(q / (1 - q)), dtype=np.float32)
