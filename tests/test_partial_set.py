"""The 1.5B model's hand-labelled partial-refusal set (tests/data/partial_refusals_1p5b.jsonl):
the file is well formed, its rows are answers to the built-in `controls` and `china-sensitive`
probes (same request text), its counts are those in tests/data/README.md, and the benchmark that
measures it (benchmarks/eval_partial.py) splits it into the documented halves."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench_helpers import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
FILE = ROOT / "tests" / "data" / "partial_refusals_1p5b.jsonl"
LABELS = {"complete", "refusal", "deflection", "official_line", "partial_refusal"}
FIELDS = {"id", "prompt", "response", "label", "language", "kind", "topic", "finish_reason",
          "run", "model", "tags", "note"}  # fmt: skip
MODEL = "qwen2.5-coder-1.5b-instruct"
# The counts stated in tests/data/README.md ("Partial-refusal set of the 1.5B model").
EXPECTED_LANGUAGES = {"en": 12, "zh": 52}
EXPECTED_LABELS = {"refusal": 19, "complete": 23, "deflection": 19, "official_line": 3}


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FILE.read_text(encoding="utf-8").splitlines() if line]


def _probes() -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name in ("controls", "china-sensitive"):
        data = yaml.safe_load((ROOT / "probes" / f"{name}.yaml").read_text(encoding="utf-8"))
        out.update({p["id"]: p for p in data["probes"]})
    return out


def test_file_is_well_formed_and_answers_the_built_in_probes() -> None:
    rows, probes = _rows(), _probes()
    assert len({r["id"] for r in rows}) == len(rows)
    for r in rows:
        assert set(r) == FIELDS, r["id"]
        assert r["label"] in LABELS and set(r["tags"]) <= {"loop", "off_topic"}, r["id"]
        assert r["model"] == MODEL and r["response"].strip(), r["id"]
        probe = probes[r["id"]]
        assert (r["prompt"], r["language"], r["kind"]) == (
            probe["text"], probe["language"], probe["kind"]), r["id"]  # fmt: skip


def test_counts_are_the_documented_ones() -> None:
    """tests/data/README.md states these counts; change both together."""
    rows = _rows()
    langs = Counter("zh" if r["language"].startswith("zh") else r["language"] for r in rows)
    labels = Counter(r["label"] for r in rows)
    assert dict(langs) == EXPECTED_LANGUAGES
    assert dict(labels) == EXPECTED_LABELS


def test_benchmark_halves_split_by_sorted_id() -> None:
    mod = load_benchmark("eval_partial")
    rows = _rows()
    design, held = mod.halves(rows)
    ids = sorted(r["id"] for r in rows)
    assert not design & held and design | held == set(ids)
    assert max(design) < min(held) and len(design) - len(held) in (0, 1)
    files = {"a": [0, 1, 2], "b": [3, 4]}
    toy = [{"id": i} for i in "zyxwv"]
    got = mod.groups(files, toy)
    assert got["a design half"] == [1, 2] and got["a held-out half"] == [0]
    assert got["all files"] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("script", ["eval_partial", "eval_handcheck"])
def test_bad_labelled_file_is_one_error_line(
    script: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file, a line that is not JSON, or a row without the string fields: one
    ``error:`` line and exit 2 (eval_handcheck.read_rows, which eval_partial uses), before any
    answer is classified."""
    main = load_benchmark(script).main
    bad = tmp_path / "bad.jsonl"
    for content in ("not json\n", '{"id": "x", "label": "complete"}\n', "\n"):
        bad.write_text(content, encoding="utf-8")
        assert main([str(bad)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
    assert main([str(tmp_path / "absent.jsonl")]) == 2
    assert capsys.readouterr().err.startswith("error: ")
