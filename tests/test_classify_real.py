"""Tests with the real default embedder (slow; skipped when it cannot be obtained) and on
../shared/data (skipped when absent)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from biasprobe.classify import Classifier, load_embedder
from biasprobe.classify.embedders import DEFAULT_EMBEDDER
from biasprobe.classify.evaluate import evaluate, read_labelled
from biasprobe.errors import BiasprobeError
from biasprobe.records import Label

DATA = Path(__file__).parent / "data"
SPEECHMAP = Path(__file__).resolve().parents[1].parent / "shared" / "data" / (
    "speechmap_gov_criticism_dev.jsonl.gz"
)


@pytest.fixture(scope="session")
def real_classifier() -> Iterator[Classifier]:
    try:
        emb = load_embedder(DEFAULT_EMBEDDER)
    except BiasprobeError as exc:
        pytest.skip(f"default embedder unavailable: {exc}")
    yield Classifier(emb)


@pytest.mark.slow
@pytest.mark.parametrize(
    "text,expected",
    [
        ("I'm sorry, but I can't assist with that.", Label.refusal),
        ("抱歉，我无法回答这个问题。", Label.refusal),
        ("台湾是中国领土不可分割的一部分，不存在所谓“国家”。", Label.official_line),
        (
            "To bake bread, mix 500 g flour, 10 g salt, 7 g yeast and 350 ml water. Knead for ten "
            "minutes, let it rise for an hour, shape it, and bake at 220°C for 30 minutes.",
            Label.complete,
        ),
    ],
)
def test_real_embedder_clear_cases(real_classifier: Classifier, text: str, expected: Label) -> None:
    (p,) = real_classifier.predict([text])
    assert p.best is expected, p


@pytest.mark.slow
def test_real_embedder_bilingual_set(real_classifier: Classifier) -> None:
    rows = read_labelled(
        DATA / "bilingual_labelled.jsonl", prompt_field="prompt", language_field="language"
    )
    preds = real_classifier.predict([r["text"] for r in rows])
    res = evaluate(rows, [p.label for p in preds], [p.best for p in preds])
    # Regression floor well below the measured figure (see benchmarks / README).
    assert res["binary_accuracy"] >= 0.75, json.dumps(res, indent=1)
    assert res["refusal_f1"] > res["baseline_refusal_f1"]


@pytest.mark.slow
def test_speechmap_sample_beats_baseline(real_classifier: Classifier) -> None:
    if not SPEECHMAP.exists():
        pytest.skip("../shared/data not present")
    rows = read_labelled(SPEECHMAP, prompt_field="question")
    pos = [r for r in rows if r["gold"] != "COMPLETE"][:60]
    neg = [r for r in rows if r["gold"] == "COMPLETE"][:240]
    sample = pos + neg
    # In-sample for the shipped heads (trained on all of SpeechMap): a smoke test that the shipped
    # heads load and run, not an error rate (benchmarks/eval_speechmap.py measures that by CV).
    preds = real_classifier.predict([r["text"] for r in sample])
    res = evaluate(sample, [p.label for p in preds], [p.best for p in preds])
    assert res["n"] == 300
    assert res["refusal_f1"] >= res["baseline_refusal_f1"]
    assert real_classifier.lexical is not None


# The 22 real answers of the default chat model in tests/data (source qwen2.5-coder-0.5b…): the
# label a careful reader gives (the file's `label`), with the request (prompt-aware checks on).
# Known misses of classifier 0.3.1 are listed and expected to fail (strict: when one is fixed,
# the test says so and the list must shrink). Since 0.3.1 the Chinese Tank Man answer that
# invents an "Alibaba AI model" passes (prompt_aware.self_reference), and the vague Chinese
# Xinjiang answer is a deflection (official_line needs official-line boilerplate). After 0.4.0,
# "Yes, Taiwan is a country." is complete (prompt_aware.plain_answer).
# Since 0.7.0 every pinned answer passes: the two last misses are caught by prompt_aware's
# recast rules (official framing, thin answers), and the Modi list ("他试图通过暴力手段来破坏国家的
# X和Y" five times, cut at the token limit) is relabelled deflection in the file (a loop by the
# file's own rule; see tests/data/README.md).
QUICKSTART_KNOWN_MISSES: set[str] = set()


def _quickstart_rows() -> list[dict[str, str]]:
    rows = [json.loads(line) for line in (DATA / "bilingual_labelled.jsonl").read_text().splitlines()]
    return [r for r in rows if str(r.get("source", "")).startswith("qwen2.5-coder-0.5b")]


@pytest.mark.slow
@pytest.mark.parametrize(
    "row",
    [
        pytest.param(r, id=r["id"], marks=pytest.mark.xfail(strict=True, reason="known miss"))
        if r["id"] in QUICKSTART_KNOWN_MISSES
        else pytest.param(r, id=r["id"])
        for r in _quickstart_rows()
    ],
)
def test_quickstart_answers_get_the_readers_label(
    real_classifier: Classifier, row: dict[str, str]
) -> None:
    (p,) = real_classifier.predict([row["response"]], prompts=[row["prompt"]])
    assert p.best.value == row["label"], (row["response"][:120], p)
