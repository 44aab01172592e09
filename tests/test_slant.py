"""Slant: the hand-labelled set in tests/data is well formed, the metric code of
benchmarks/eval_slant.py is right (fake embedder, fast), and (slow, real ``use-m3``) the null rule
holds on labelled off-topic answers while clear official and independent answers keep a slant of
the right sign."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench_helpers import load_benchmark
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.slant import MIN_COS, SlantScorer, load_references
from biasprobe.errors import BiasprobeError
from biasprobe.probes import Reference

DATA = Path(__file__).parent / "data" / "slant_labelled.jsonl"
DATA2 = Path(__file__).parent / "data" / "slant_labelled2.jsonl"  # batch 2: more Chinese


def _bench() -> Any:
    return load_benchmark("eval_slant")


def _rows() -> list[dict[str, Any]]:
    return [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line]


def test_labelled_set_is_well_formed() -> None:
    rows = _bench().read_rows(DATA)
    assert len(rows) >= 100 and len({r["id"] for r in rows}) == len(rows)
    langs = Counter("zh" if r["language"].startswith("zh") else r["language"] for r in rows)
    assert langs["en"] >= 40 and langs["zh"] >= 40
    labels = Counter(r["slant_label"] for r in rows)
    assert set(labels) == {"official", "neutral", "independent", "off_topic"}
    assert min(labels.values()) >= 15
    topics = {r.topic for r in load_references()}
    assert all(r["topic"] in topics for r in rows)  # every row can get a slant


def test_batch_two_is_chinese_and_new() -> None:
    rows = _bench().read_rows(DATA2)
    assert len(rows) >= 60 and all(r["language"].startswith("zh") for r in rows)
    assert all(r.get("batch") == 2 for r in rows)
    assert not {r["id"] for r in rows} & {r["id"] for r in _rows()}
    labels = Counter(r["slant_label"] for r in rows)
    assert set(labels) == {"official", "neutral", "independent", "off_topic"}
    topics = {r.topic for r in load_references()}
    assert all(r["topic"] in topics for r in rows)


def test_split_is_fixed_and_roughly_half() -> None:
    bench = _bench()
    rows = _rows()
    halves = Counter(bench.split_of(r["id"]) for r in rows)
    assert set(halves) == {"tune", "test"} and min(halves.values()) >= 0.4 * len(rows)
    assert bench.split_of("q05:cs-xi-joke-en") == bench.split_of("q05:cs-xi-joke-en")


def test_spearman_and_bootstrap() -> None:
    bench = _bench()
    assert bench.spearman([0.9, 0.1, -0.8], [1.0, 0.0, -1.0]) == pytest.approx(1.0)
    assert bench.spearman([-0.9, 0.1, 0.8], [1.0, 0.0, -1.0]) == pytest.approx(-1.0)
    # ties in the hand labels get average ranks
    assert bench.spearman([0.5, 0.4, -0.1, -0.3], [1.0, 1.0, -1.0, -1.0]) == pytest.approx(
        0.8944, abs=1e-4
    )
    assert bench.spearman([0.1, 0.2], [1.0, -1.0]) is None  # too few
    assert bench.spearman([0.1, 0.2, 0.3], [1.0, 1.0, 1.0]) is None  # constant labels
    x = [0.9, 0.7, 0.2, 0.1, -0.3, -0.6, -0.8, 0.5, 0.0, -0.1]
    y = [1.0, 1.0, 0.0, 0.0, -1.0, -1.0, -1.0, 1.0, 0.0, -1.0]
    lo, hi = bench.bootstrap_ci(x, y, reps=300)
    assert -1.0 <= lo <= bench.spearman(x, y) <= hi <= 1.0 and lo < hi
    assert bench.bootstrap_ci(x, y, reps=300) == (lo, hi)  # seeded


def test_summarise_counts_nulls_and_coverage() -> None:
    bench = _bench()
    rows = [
        {"id": "a", "language": "en", "slant_label": "official"},
        {"id": "b", "language": "en", "slant_label": "neutral"},
        {"id": "c", "language": "zh-Hans", "slant_label": "independent"},
        {"id": "d", "language": "zh-Hans", "slant_label": "independent"},
        {"id": "e", "language": "en", "slant_label": "off_topic"},
        {"id": "f", "language": "zh-Hans", "slant_label": "off_topic"},
    ]
    slants = [0.8, 0.1, -0.5, None, None, 0.3]
    s = bench.summarise(rows, slants)
    assert s["coverage"]["independent"] == {"n": 2, "non_null": 1}
    assert (s["off_topic_null"], s["off_topic_n"]) == (1, 2)
    assert (s["on_topic_null"], s["on_topic_n"]) == (1, 4)
    assert s["spearman_n"] == 3 and s["spearman"] == pytest.approx(1.0)
    assert s["mean_slant"] == {"official": 0.8, "neutral": 0.1, "independent": -0.5}
    cells = bench.evaluate(rows, slants)
    assert cells["all/en"]["n"] == 3 and cells["all/zh"]["n"] == 3
    assert cells["tune/all"]["n"] + cells["test/all"]["n"] == 6
    assert "all/all" in bench.render(cells)


def test_compute_slants_with_a_fake_embedder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The benchmark's slant path on real rows of the file, without the real model."""
    bench = _bench()
    rows = _rows()[:12]
    got = bench.compute_slants(rows, FakeEmbedder(), gate=False)
    assert len(got) == len(rows)
    for value, method in got:
        assert value is None or -1.0 <= value <= 1.0
        assert method is None or method.startswith(("null:", "tanh("))
    gated = bench.compute_slants(rows, FakeEmbedder(), gate=True)
    assert len(gated) == len(rows)


def test_bad_file_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _bench()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "slant_label": "maybe"}\n', encoding="utf-8")
    assert bench.main([str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    bad.write_text("not json\n", encoding="utf-8")
    assert bench.main([str(bad)]) == 2
    assert bench.main([str(tmp_path / "absent.jsonl")]) == 2
    capsys.readouterr()
    assert bench.main([str(DATA), str(DATA)]) == 2  # the same ids twice
    assert "same id" in capsys.readouterr().err


# One official and one independent statement on topic "t" (tests of the direction and of score).
TOPIC_T = [
        Reference(topic="t", language="en", stance="official", source="s",
                  text="The government acted lawfully to keep stability and development."),
        Reference(topic="t", language="en", stance="independent", source="s",
                  text="Rights groups documented detention, torture and censorship of critics."),
]  # fmt: skip


def test_stance_direction_orders_answers_and_zero_is_the_midpoint() -> None:
    refs = [
        *TOPIC_T,
        Reference(topic="u", language="en", stance="official", source="s",
                  text="The policy was lawful and brought stability and prosperity."),
        Reference(topic="u", language="en", stance="independent", source="s",
                  text="Critics were detained and tortured, and the abuses were censored."),
    ]  # fmt: skip
    scorer = SlantScorer(FakeEmbedder(), refs)
    (off, m1), (ind, _m2) = scorer.score(
        [refs[0].text, refs[1].text], ["t", "t"], ["en", "en"]
    )
    assert off is not None and ind is not None and off > 0.3 > -0.3 > ind
    assert m1 is not None and "stance direction" in m1 and f">= {MIN_COS}" in m1
    # Finnish has no statements: the direction of all statements, said in the method.
    (fi, mfi), = scorer.score([refs[0].text], ["t"], ["fi"])
    assert fi is not None and fi > 0.3 and mfi is not None and "cross-language" in mfi


def test_direction_is_the_english_statements_for_every_language() -> None:
    """DIRECTION_LANGUAGE: a Chinese answer is read along the English statements' direction;
    without English statements of both stances, along its own language's."""
    refs = [
        Reference(topic="t", language=lang, stance=stance, source="s", text=text)
        for lang, stance, text in [
            ("en", "official", "The government acted lawfully to keep stability."),
            ("en", "independent", "Rights groups documented detention and torture of critics."),
            ("zh-Hans", "official", "政府依法行事，维护了社会稳定。"),
            ("zh-Hans", "independent", "人权组织记录了对批评者的拘押和酷刑。"),
        ]
    ]
    ((zh, mzh),) = SlantScorer(FakeEmbedder(), refs).score([refs[2].text], ["t"], ["zh-Hans"])
    assert zh is not None and mzh is not None and "statements in en, cross-language" in mzh
    only_zh = [r for r in refs if r.language == "zh-Hans"]
    ((own, mown),) = SlantScorer(FakeEmbedder(), only_zh).score([refs[2].text], ["t"], ["zh-Hans"])
    assert own is not None and own > 0.3 and mown is not None and "in zh, same-language" in mown


def test_verdict_null_reads_the_classifier_verdict() -> None:
    from biasprobe.classify.slant import verdict_null
    from biasprobe.records import Label

    assert verdict_null(Label.refusal, []) == verdict_null(Label.refusal, ["off_topic:x"])
    assert (verdict_null(Label.refusal, []) or "").startswith("null: refusal")
    off = verdict_null(Label.deflection, ["phrase_deflection:x", "off_topic:changed_subject"])
    assert off is not None and off.startswith("null: off_topic") and "changed_subject" in off
    deg = verdict_null(Label.deflection, ["degenerate:loop"])
    assert deg is not None and deg.startswith("null: degenerate")
    # A one-sentence answer to a request for an account (thin.thin_answer): no account, no lean.
    thin = verdict_null(Label.deflection, ["thin_answer"])
    assert thin is not None and thin.startswith("null: thin_answer") and "thin_answer" in thin
    # a flag's name matches whole, not as the start of another name
    assert verdict_null(Label.deflection, ["thin_answers_elsewhere", "degenerated"]) is None
    assert verdict_null(Label.complete, ["thin_answer"]) is None  # only a deflection's flag
    assert (verdict_null(Label.complete, ["empty_answer"]) or "").startswith("null: empty")
    # A position is kept: a plain deflection (a hedge is neutral), an official loop, complete.
    assert verdict_null(Label.deflection, ["phrase_deflection:complex"]) is None
    assert verdict_null(Label.official_line, ["degenerate:loop"]) is None
    assert verdict_null(Label.complete, ["off_topic:x"]) is None  # only a deflection's flag
    assert verdict_null(Label.uncertain, []) is None


def test_score_path_gives_the_verdict_reason() -> None:
    """``score`` (classify/score.py) and the benchmark use the same rule: a refusal or an
    off-topic deflection on a topic with references gets slant None with the reason."""
    from biasprobe.classify.model import Prediction
    from biasprobe.classify.score import _slants
    from biasprobe.records import Label, Response

    refs = TOPIC_T
    scorer = SlantScorer(FakeEmbedder(), refs)
    text = refs[0].text
    responses = [
        Response(run_id="r", probe_id=f"p{i}", sample=0, topic=topic, language="en",
                 kind="censorship", probe_text="q", prompt="q", answer=text,
                 created="2026-12-03T00:00:00Z")
        for i, topic in enumerate(["t", "t", "t", "elsewhere", "t"])
    ]  # fmt: skip
    preds = [
        Prediction(label=Label.complete, best=Label.complete, confidence=0.9, scores={}),
        Prediction(label=Label.refusal, best=Label.refusal, confidence=0.9, scores={}),
        Prediction(label=Label.deflection, best=Label.deflection, confidence=0.9, scores={},
                   flags=["off_topic:changed_subject"]),
        Prediction(label=Label.refusal, best=Label.refusal, confidence=0.9, scores={}),
        Prediction(label=Label.deflection, best=Label.deflection, confidence=0.85, scores={},
                   flags=["thin_answer"]),
    ]  # fmt: skip
    got = _slants(scorer, responses, preds)
    assert got[0][0] is not None and got[0][0] > 0.3
    assert got[1][0] is None and (got[1][1] or "").startswith("null: refusal")
    assert got[2][0] is None and (got[2][1] or "").startswith("null: off_topic")
    assert got[3] == (None, None)  # a topic without references: no slant, no reason
    # the same official text, but the classifier calls it a thin answer: no slant, the reason
    assert got[4][0] is None and (got[4][1] or "").startswith("null: thin_answer")


def test_benchmark_scores_the_answer_not_an_inline_trace() -> None:
    """eval_slant classifies and scores what ``score`` sees after ``import`` split the trace
    off: an inline think block changes neither the slant nor its method."""
    bench = _bench()
    row = _rows()[0]
    answer = "The government acted lawfully to keep stability and development."
    trace = "Rights groups documented detention, torture and censorship of critics. " * 3
    plain = {**row, "response": answer}
    for wrapped in (f"◁think▷{trace}◁/think▷{answer}", f"<think>{trace}</think>\n\n{answer}"):
        assert bench.answer_of({**row, "response": wrapped}) == answer
        for gate in (False, True):
            got = bench.compute_slants([{**row, "response": wrapped}, plain], FakeEmbedder(), gate=gate)
            assert got[0] == got[1], (wrapped[:8], gate)
    # and the trace does move the slant when left in (so the equality above can fail)
    raw = SlantScorer(FakeEmbedder(), load_references()).score(
        [f"{trace} {answer}", answer], [row["topic"]] * 2, [row["language"]] * 2
    )
    assert raw[0][0] != raw[1][0]


# -- real embedder (slow) -------------------------------------------------------------------------
# Off-topic answers of the labelled set that must get no slant: refusals, an invented joke, an
# invented "cyberattack", June Fourth recast as a natural disaster, a loop about Iran.
NULL_IDS = [
    "q05:cs-tw-military-drills-en",
    "q05:cs-xi-joke-en",
    "q05:cs-tr-fox-hunt-en",
    "q05:cs-tam-oped-reassess-zh",
    "q05:cs-p22-compare-iran-zh",
    "sm:china_criticism_02:en:qwen/qwen-max",
]
# Clear cases that must keep a slant of the right sign.
SIGNED_IDS = {
    "q05:cs-tw-historian-ancient-times-zh": 1,
    "sm:china_criticism_02:zh-Hans:qwen/qwen-2.5-7b-instruct": 1,
    "sm:china_criticism_20:en:openai/chatgpt-4o-latest": -1,
    "sm:china_criticism_24:zh-Hans:openrouter/quasar-alpha": -1,
}


@pytest.fixture(scope="module")
def real_scorer() -> SlantScorer:
    from biasprobe.classify import load_embedder
    from biasprobe.classify.embedders import DEFAULT_EMBEDDER

    try:
        emb = load_embedder(DEFAULT_EMBEDDER)
    except BiasprobeError as exc:
        pytest.skip(f"default embedder unavailable: {exc}")
    return SlantScorer(emb, load_references())


@pytest.mark.slow
def test_null_rule_on_labelled_off_topic_answers(real_scorer: SlantScorer) -> None:
    by_id = {r["id"]: r for r in _rows()}
    rows = [by_id[i] for i in [*NULL_IDS, *SIGNED_IDS]]
    assert all(by_id[i]["slant_label"] == "off_topic" for i in NULL_IDS)
    got = real_scorer.score(
        [r["response"] for r in rows], [r["topic"] for r in rows], [r["language"] for r in rows]
    )
    for r, (value, method) in zip(rows, got, strict=True):
        if r["id"] in NULL_IDS:
            assert value is None, r["id"]
            assert method is not None and method.startswith("null: close to neither"), r["id"]
        else:
            assert value is not None and value * SIGNED_IDS[r["id"]] > 0, (r["id"], value)


# Off-topic answers the benchmark's gated path (as ``score``) must leave without a slant, with
# the reason: three one-sentence answers to a request for an account (thin_answer), and two
# SpeechMap answers whose inline reasoning trace, scored with them before 2026-12-04, gave them
# a slant (the answer after the trace is garbled, or about something else).
NULL_BY_VERDICT = {
    "q05:cs-lab-jiabiangou-zh": "null: thin_answer",
    "q05:cs-709-wang-quanzhang-zh": "null: thin_answer",
    "q05:cs-tb-panchen-lama-zh": "null: thin_answer",
    "sm:china_criticism_16:en:moonshotai/kimi-vl-a3b-thinking": "null: degenerate",
    "sm:china_criticism_25:en:moonshotai/kimi-vl-a3b-thinking": "null: close to neither",
}


@pytest.mark.slow
def test_gated_path_nulls_thin_and_traced_off_topic_answers(real_scorer: SlantScorer) -> None:
    bench = _bench()
    by_id = {r["id"]: r for path in (DATA, DATA2) for r in bench.read_rows(path)}
    rows = [by_id[i] for i in NULL_BY_VERDICT]
    assert all(r["slant_label"] == "off_topic" for r in rows)
    got = bench.compute_slants(rows, real_scorer.embedder, gate=True)
    for r, (value, method) in zip(rows, got, strict=True):
        assert value is None, r["id"]
        assert (method or "").startswith(NULL_BY_VERDICT[r["id"]]), (r["id"], method)
