"""The hand-labelled answers of the default model in tests/data (hand check and partial-refusal
set): the files are well formed, and (slow, real embedder) the classifier's agreement with them
stays at the level measured in docs/classifier-history.md."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench_helpers import load_benchmark

DATA = Path(__file__).parent / "data"
HANDCHECK = DATA / "q05_handcheck.jsonl"
ALL = DATA / "q05_labelled_all.jsonl"
PARTIAL = DATA / "partial_refusals.jsonl"
LABELS = {"complete", "refusal", "deflection", "official_line"}
TAGS = {"loop", "off_topic"}
PARTIAL_LABEL = "partial_refusal"


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _bench() -> Any:
    return load_benchmark("eval_handcheck")


@pytest.mark.parametrize(
    "path,minimum", [(HANDCHECK, 100), (PARTIAL, 150)]
)
def test_labelled_file_is_well_formed(path: Path, minimum: int) -> None:
    labels = LABELS | {PARTIAL_LABEL}
    rows = _rows(path)
    assert len(rows) >= minimum
    assert len({r["id"] for r in rows}) == len(rows)
    langs = Counter("zh" if r["language"].startswith("zh") else r["language"] for r in rows)
    assert set(langs) == {"en", "zh"} and min(langs.values()) >= minimum // 3, langs
    for r in rows:
        assert r["label"] in labels, r["id"]
        assert set(r["tags"]) <= TAGS, r["id"]
        assert r["prompt"].strip() and isinstance(r["response"], str), r["id"]


def test_handcheck_is_stratified_by_language() -> None:
    langs = Counter("zh" if r["language"].startswith("zh") else "en" for r in _rows(HANDCHECK))
    assert langs == {"en": 50, "zh": 50}


def test_handcheck_is_the_seeded_draw_from_all_labelled_answers() -> None:
    pool = _rows(ALL)
    english = sorted(r["id"] for r in pool if r["language"] == "en")
    chinese = sorted(r["id"] for r in pool if r["language"].startswith("zh"))
    rng = random.Random(16)
    drawn = sorted(rng.sample(english, 50)) + sorted(rng.sample(chinese, 50))
    assert [r["id"] for r in _rows(HANDCHECK)] == drawn
    by_id = {r["id"]: r for r in pool}
    assert all(by_id[r["id"]] == r for r in _rows(HANDCHECK))  # same labels and answers
    partial_ids = {r["id"] for r in _rows(PARTIAL)}
    assert partial_ids == {r["id"] for r in pool if r["kind"] != "mirror"}


def test_agreement_counts_partial_refusals_as_refusal_or_deflection() -> None:
    mod = _bench()
    assert mod.agrees("partial_refusal", "refusal") and mod.agrees("partial_refusal", "deflection")
    assert not mod.agrees("partial_refusal", "complete")
    rows = [
        {"id": "a", "lang": "en", "label": "complete", "response": "Sure.", "kind": "neutral"},
        {"id": "b", "lang": "en", "label": "refusal", "response": "I'm sorry, but I can't.",
         "kind": "neutral", "tags": ["loop"]},
    ]  # fmt: skip
    res = mod.report(rows, [("complete", "complete"), ("uncertain", "complete")])
    assert res["en"]["agreement"] == 0.5 and res["en"]["uncertain"] == 1
    assert res["loop_labelled_complete"] == ["b"]
    assert [d["id"] for d in res["disagreements"]] == ["b"]


@pytest.mark.slow
def test_handcheck_agreement_holds() -> None:
    """Regression floor a little below the figures in docs/classifier-history.md (classifier 0.3.1)."""
    mod = _bench()
    rows = mod.read_rows(HANDCHECK)
    res = mod.report(rows, mod.classify(rows, True))
    assert res["en"]["agreement"] >= 0.78, res["en"]  # measured 0.82
    assert res["zh"]["agreement"] >= 0.65, res["zh"]  # measured 0.70
    assert res["neutral_official_line"]["classifier"] <= 2, res["neutral_official_line"]
    assert len(res["off_topic_labelled_complete"]) <= 8, res["off_topic_labelled_complete"]
