"""Two small runs with known answers and planted label changes, for diff/report tests.

Runs are built the way a user would: ``import_file`` on a JSONL of answers, then a
``scores.jsonl`` written here with fixed labels (no classifier involved).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biasprobe.importer import import_file
from biasprobe.records import Label, Score

GOLDEN = Path(__file__).parent / "golden"
HOSTILE = "<script>alert('x')</script> \x1b[31mred\x1b[0m \x1b]0;title\x07"


@dataclass(frozen=True)
class Planted:
    prompt_id: str
    topic: str
    language: str
    kind: str
    jurisdiction: str | None
    pair_id: str | None
    label_a: str
    label_b: str
    slant_a: float | None = None
    slant_b: float | None = None


def planted() -> list[Planted]:
    """The known answers. Every label change here is a planted flip."""
    rows: list[Planted] = []
    # China-sensitive pairs: English always complete; Chinese flips to refusal in B (11 of 12)
    # or to official_line (1 of 12).
    for i in range(12):
        pair = f"tia-{i:02d}"
        rows.append(Planted(f"{pair}-en", "tiananmen", "en", "censorship", "CN", pair,
                            "complete", "complete", -0.5, -0.4))
        rows.append(Planted(f"{pair}-zh", "tiananmen", "zh-Hans", "censorship", "CN", pair,
                            "complete", "official_line" if i == 11 else "refusal", -0.5, 0.5))
    # Mirrored questions about other governments: all complete, except one US question in
    # Chinese that was refused in A and answered in B.
    for gov in ("IN", "RU", "US"):
        for i in range(3):
            pair = f"mirror-{gov.lower()}-{i}"
            rows.append(Planted(f"{pair}-en", "leader-criticism", "en", "mirror", gov, pair,
                                "complete", "complete"))
            flip = gov == "US" and i == 0
            rows.append(Planted(f"{pair}-zh", "leader-criticism", "zh-Hans", "mirror", gov, pair,
                                "refusal" if flip else "complete", "complete"))
    # Safety control: refused in both; one refusal becomes a deflection (still censored).
    for i in range(4):
        rows.append(Planted(f"weapon-{i}", "weapons", "en", "safety-control", None, None,
                            "refusal", "deflection" if i == 0 else "refusal"))
    # Neutral: answered in both; one answer becomes uncertain in B (excluded from tests).
    for i in range(4):
        rows.append(Planted(f"bread-{i}", "food", "en", "neutral", None, None,
                            "complete", "uncertain" if i == 0 else "complete"))
    return rows


def planted_flips() -> set[tuple[str, str, str]]:
    return {(p.prompt_id, p.label_a, p.label_b) for p in planted() if p.label_a != p.label_b}


def answer(p: Planted, side: str) -> str:
    label = p.label_a if side == "a" else p.label_b
    if p.prompt_id == "tia-00-zh" and side == "b":
        return f"{HOSTILE} I cannot discuss this."
    return f"[{label}] answer of model {side.upper()} to {p.prompt_id}"


def write_import_file(path: Path, side: str, model: str) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for p in planted():
            rec: dict[str, Any] = {
                "prompt_id": p.prompt_id,
                "prompt": f"Question {p.prompt_id}?",
                "response": answer(p, side),
                "language": p.language,
                "topic": p.topic,
                "kind": p.kind,
                "model": model,
            }
            if p.jurisdiction:
                rec["jurisdiction"] = p.jurisdiction
            if p.pair_id:
                rec["pair_id"] = p.pair_id
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    return path


def write_scores(run_dir: Path, run_id: str, side: str) -> None:
    with (run_dir / "scores.jsonl").open("w", encoding="utf-8") as fh:
        for p in planted():
            score = Score(
                run_id=run_id,
                probe_id=p.prompt_id,
                label=Label(p.label_a if side == "a" else p.label_b),
                confidence=0.9,
                slant=p.slant_a if side == "a" else p.slant_b,
                classifier_version="test-1",
                embedder="fake",
                embedder_sha256="0" * 64,
            )
            fh.write(score.model_dump_json() + "\n")


def make_runs(tmp: Path, *, scored: bool = True) -> tuple[Path, Path]:
    """Import and score runs ``model-a`` and ``model-b`` under ``$BIASPROBE_OUTPUTS``."""
    dirs = []
    for side in ("a", "b"):
        src = write_import_file(tmp / f"answers-{side}.jsonl", side, f"vendor/model-{side}")
        run_id = f"model-{side}"
        res = import_file(src, run_id)
        if scored:
            write_scores(res.run_dir, run_id, side)
        dirs.append(res.run_dir)
    return dirs[0], dirs[1]


# --- golden files ---------------------------------------------------------------------------

VOLATILE_KEYS = {"created", "finished", "resumed", "path", "biasprobe_version"}


def normalise(data: Any) -> Any:
    """Drop what changes between machines and versions: times, paths, float noise."""
    if isinstance(data, dict):
        return {
            k: "<volatile>" if k in VOLATILE_KEYS else normalise(v) for k, v in data.items()
        }
    if isinstance(data, list):
        return [normalise(v) for v in data]
    if isinstance(data, float):
        return 0.0 if data == 0 or math.isnan(data) else float(f"{data:.6g}")
    return data


def check_golden(name: str, data: Any) -> None:
    """Compare with tests/golden/NAME; BIASPROBE_UPDATE_GOLDEN=1 rewrites it instead."""
    path = GOLDEN / name
    got = normalise(data)
    if os.environ.get("BIASPROBE_UPDATE_GOLDEN") == "1":
        path.write_text(json.dumps(got, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return
    assert path.exists(), f"{path} missing: run with BIASPROBE_UPDATE_GOLDEN=1 to create it"
    want = json.loads(path.read_text(encoding="utf-8"))
    assert got == want, f"output differs from {path} (BIASPROBE_UPDATE_GOLDEN=1 to accept)"
