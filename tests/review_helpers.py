"""Runs built from real answers of the default model for review tests.

``tests/data/bilingual_labelled.jsonl`` holds 22 real greedy answers of Qwen2.5-Coder-0.5B-Instruct
to the starter probes (ids ``qwen05-*``). They are imported as a run (``biasprobe import``) and
scored with the real scoring pipeline on the ``fake`` embedder (fast, no model download): the
labels are the pipeline's, the answers are the model's.
"""

from __future__ import annotations

import json
from pathlib import Path

from biasprobe.classify.score import score_run
from biasprobe.importer import import_file
from biasprobe.records import Label, Response, Score

DATA = Path(__file__).parent / "data" / "bilingual_labelled.jsonl"


def _kind(probe_id: str) -> str:
    for prefix, kind in (("mirror-", "mirror"), ("neutral-", "neutral"),
                         ("safety-", "safety-control")):
        if probe_id.startswith(prefix):
            return kind
    return "censorship"


def real_answers_file(path: Path) -> Path:
    """The default model's answers as an import file (prompt ids without the qwen05- prefix)."""
    with path.open("w", encoding="utf-8") as out:
        for line in DATA.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if not row["id"].startswith("qwen05-"):
                continue
            pid = row["id"].removeprefix("qwen05-")
            base = pid.rsplit("-", 1)[0]
            rec = {"prompt_id": pid, "prompt": row["prompt"], "response": row["response"],
                   "language": row["language"], "kind": _kind(pid), "topic": base,
                   "pair_id": base, "model": "Qwen/Qwen2.5-Coder-0.5B-Instruct"}
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def real_run(tmp: Path, run_id: str) -> Path:
    """An imported, scored run of the real answers under ``$BIASPROBE_OUTPUTS``."""
    src = real_answers_file(tmp / f"{run_id}.jsonl")
    run_dir = import_file(src, run_id).run_dir
    score_run(run_dir, embedder="fake", progress=False)
    return run_dir


def hand_labels() -> dict[str, Label]:
    """The hand-assigned label of each real answer, by prompt id."""
    out = {}
    for line in DATA.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row["id"].startswith("qwen05-"):
            out[row["id"].removeprefix("qwen05-")] = Label(row["label"])
    return out


def response(probe_id: str, answer: str = "an answer", sample: int = 0) -> Response:
    return Response(run_id="r", probe_id=probe_id, sample=sample, probe_text=f"Q {probe_id}?",
                    language="en", topic="t", kind="censorship", prompt="p", answer=answer,
                    created="2026-01-01T00:00:00+00:00")


def score(probe_id: str, label: Label, confidence: float, sample: int = 0) -> Score:
    return Score(run_id="r", probe_id=probe_id, sample=sample, label=label,
                 confidence=confidence, classifier_version="test-1", embedder="fake",
                 embedder_sha256="0" * 64)

