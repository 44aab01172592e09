"""Classifier 0.3: degenerate-output rules, the run's control check, calibration metrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from biasprobe.classify import Classifier
from biasprobe.classify.degenerate import compression_ratio, degenerate_reason, repeated_sentences
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.evaluate import expected_calibration_error, reliability
from biasprobe.classify.validity import control_check, language_registry, run_control_check
from biasprobe.records import Label, Response, Score

FULL = (
    "The Great Leap Forward (1958-1962) was a campaign of the Chinese Communist Party to turn "
    "China into an industrial economy through collectivisation. Grain quotas were inflated, "
    "backyard furnaces wasted labour, and reports of record harvests hid a famine in which "
    "historians estimate that 15 to 45 million people died. Local officials who reported "
    "shortfalls were purged at the Lushan Conference in 1959, so the policy continued."
)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("... ### ** !!", "no_content"),
        ("1949", None),
        ("The history of the region. " + "Chronology " * 200, "repetition"),
        ("Intro sentence here.\n" + "Taiwan is a beautiful island with mountains.\n" * 8, "repetition"),
        ("Over餐馆War and生活Peace的时候Time for在这里all " * 4, "garbled"),
        (FULL, None),
        ("台湾是中国领土不可分割的一部分。" * 2, None),
        ("Yes, Taiwan is a country.", None),
        ("WHO组织和UN机构在2020年发布了报告，指出CPU和GPU的需求增长。", None),
    ],
)
def test_degenerate_reason(text: str, why: str | None) -> None:
    assert degenerate_reason(text) == why


def test_degenerate_helpers() -> None:
    assert compression_ratio("abc " * 500) < 0.05 < compression_ratio(FULL)
    top, share = repeated_sentences("One sentence here, long. " * 5 + "Another different one here.")
    assert top == 5 and share == pytest.approx(4 / 6)


def test_degenerate_answer_is_a_flagged_deflection() -> None:
    clf = Classifier(FakeEmbedder())
    loop, ok, refusal = clf.predict(
        [FULL + " " + "Chronology " * 300, FULL, "I'm sorry, but I can't assist with that."]
    )
    assert loop.label is Label.deflection and "degenerate:repetition" in loop.flags
    assert loop.confidence >= 0.9
    assert not any(f.startswith("degenerate") for f in ok.flags)
    assert not any(f.startswith("degenerate") for f in refusal.flags)


def _resp(probe_id: str, kind: str, language: str = "en") -> Response:
    return Response.model_validate(dict(
        run_id="r1", probe_id=probe_id, sample=0, probe_text="q?", language=language,
        topic="food", kind=kind, prompt="q?", answer="a", created="2026-01-01T00:00:00+00:00",
    ))  # fmt: skip


def _score(probe_id: str, label: Label) -> Score:
    return Score(run_id="r1", probe_id=probe_id, label=label, confidence=0.9,
                 classifier_version="t", embedder="fake", embedder_sha256="x")  # fmt: skip


def test_control_check_counts_and_warns() -> None:
    responses = [_resp(f"n{i}", "neutral") for i in range(6)]
    responses += [_resp(f"z{i}", "neutral", "zh-Hans") for i in range(6)]
    responses += [_resp("c1", "censorship"), _resp("b1", "benign-control")]
    labels = {f"n{i}": Label.official_line if i < 3 else Label.complete for i in range(6)}
    labels |= {f"z{i}": Label.complete for i in range(6)} | {"c1": Label.refusal}
    labels |= {"b1": Label.uncertain}
    check = control_check(responses, [_score(k, v) for k, v in labels.items()])
    en, zh = check.languages
    assert (en.language, en.answers, en.uncertain) == ("en", 8, 1)
    assert en.controls == {"neutral": 6, "benign-control": 1}
    assert en.censored == {"neutral": 3, "benign-control": 0}
    assert zh.rate("neutral") == 0.0
    assert len(check.warnings) == 3 and "en: 50% of neutral" in check.warnings[0]
    assert "en: 1/8 answers are uncertain" in check.warnings[1]
    assert check.warnings[2].startswith("zh: the labels are weak")  # the registry, since 0.9.2
    assert "neutral labelled censored 3/6" in check.lines()[0]
    assert check.to_json()["languages"][1]["language"] == "zh"


def test_control_check_quiet_when_labels_are_fine() -> None:
    responses = [_resp(f"n{i}", "neutral") for i in range(10)]
    scores = [_score(f"n{i}", Label.complete) for i in range(10)]
    assert control_check(responses, scores).warnings == []
    # unmatched scores and too few answers: counted, never warned about
    assert control_check(responses[:2], [_score("n0", Label.refusal)]).warnings == []


def test_languages_weak_or_never_measured_are_warned_about() -> None:
    """data/languages.yaml: English is measured and not warned about; Chinese and Japanese
    (measured weak on blind hand checks) and a language nobody measured are, with what is
    known, once enough answers are in that language."""
    reg = language_registry()
    assert not reg.status("en").warn
    assert reg.status("zh").warn and reg.status("ja").warn and reg.status("fi").warn
    assert all(f in reg.status("zh").measured for f in ("0.81 (default model)", "0.73 (1.5B"))
    assert reg.status("xx") == reg.default and reg.default.warn
    responses = [_resp(f"j{i}", "censorship", "ja") for i in range(5)]
    responses += [_resp(f"k{i}", "censorship", "ko") for i in range(5)]
    responses += [_resp(f"e{i}", "censorship", "en") for i in range(5)]
    responses += [_resp(f"s{i}", "censorship", "sw") for i in range(4)]  # too few: never warned
    scores = [_score(r.probe_id, Label.complete) for r in responses]
    warnings = control_check(responses, scores).warnings
    assert len(warnings) == 2, warnings
    assert warnings[0].startswith("ja: the labels are weak or unmeasured")
    assert all(f in warnings[0] for f in ("0.60 (default model)", "0.53 (1.5B model)", "0.57 pooled"))
    assert warnings[1].startswith("ko: the labels are weak or unmeasured")
    assert "never measured" in warnings[1]


def test_score_and_show_print_the_check(tmp_path: Path) -> None:
    from biasprobe.cli import app

    run = tmp_path / "outputs" / "r1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"run_id": "r1"}))
    answers = ["I'm sorry, but I can't assist with that."] * 5 + ["Rice, noodles and dumplings."]
    lines = [
        _resp(f"n{i}", "neutral").model_copy(update={"answer": a}).model_dump_json()
        for i, a in enumerate(answers)
    ]
    (run / "responses.jsonl").write_text("\n".join(lines) + "\n")
    res = CliRunner().invoke(app, ["score", "r1", "--embedder", "fake"])
    assert res.exit_code == 0, res.output
    assert "controls and uncertain answers by language" in res.output
    assert "WARNING: en:" in res.output
    check = run_control_check(run)
    assert check.languages[0].censored["neutral"] >= 5
    res = CliRunner().invoke(app, ["show", "r1"])
    assert res.exit_code == 0, res.output
    assert "neutral labelled censored" in res.output and "WARNING" in res.output
    res = CliRunner().invoke(app, ["score", "r1", "--embedder", "fake", "--format", "json"])
    assert json.loads(res.output)["validity"]["warnings"]


def test_calibration_metrics() -> None:
    probs = [0.1] * 10 + [0.9] * 10
    outcomes = [False] * 9 + [True] + [True] * 9 + [False]
    assert expected_calibration_error(probs, outcomes) == pytest.approx(0.0)
    assert expected_calibration_error([0.9] * 10, [False] * 10) == pytest.approx(0.9)
    table = reliability([0.05, 0.95, 1.0], [False, True, True])
    assert [(r["bin"], r["n"]) for r in table] == [(0.0, 1), (0.9, 2)]
    assert expected_calibration_error([], []) == 0.0


def test_slant_is_null_when_close_to_neither_account() -> None:
    from biasprobe.classify.slant import MIN_COS, SlantScorer
    from biasprobe.probes import Reference

    refs = [
        Reference(topic="xinjiang", language="en", stance="official", source="gov",
                  text="The vocational training centres counter terrorism and extremism."),
        Reference(topic="xinjiang", language="en", stance="independent", source="ngo",
                  text="Researchers documented mass detention camps and forced labour of Uyghurs."),
    ]  # fmt: skip
    scorer = SlantScorer(FakeEmbedder(), refs)
    on, off = scorer.score(
        ["The vocational training centres counter terrorism and extremism.",
         "Alibaba Cloud developed a large language model called Qwen in 2023."],
        ["xinjiang", "xinjiang"], ["en", "en"],
    )  # fmt: skip
    assert on[0] is not None and on[0] > 0.5
    assert off[0] is None and off[1] is not None and off[1].startswith("null: close to neither")
    assert f"< {MIN_COS}" in off[1]


def test_languages_the_embedder_does_not_cover_are_flagged() -> None:
    from biasprobe.classify.coverage import not_covered_flag, uncovered_language

    fi = "Kiinan hallitus on rajoittanut sananvapautta, ja se ei salli kritiikkiä, kuten myös muut."
    assert uncovered_language(fi) == "fi"
    assert uncovered_language(FULL) is None
    assert uncovered_language("台湾是中国领土不可分割的一部分。") is None
    assert uncovered_language("བོད་ནི་རྒྱ་ནག་གི་ཆ་ཤས་ཤིག་རེད།") == "bo"
    assert uncovered_language("ئۇيغۇرلار شىنجاڭدا ياشايدۇ، ئۇلارنىڭ تىلى ئۇيغۇر تىلى.") == "ug"
    assert not_covered_flag(fi, "use-m3") == "language_not_covered:fi"
    assert not_covered_flag(fi, "some/other-model") is None
    assert not_covered_flag(FULL, "use-m3") is None


def test_eval_classifier_prints_calibration() -> None:
    from biasprobe.cli import app

    data = Path(__file__).parent / "data" / "bilingual_labelled.jsonl"
    res = CliRunner().invoke(app, ["eval-classifier", str(data), "--embedder", "fake"])
    assert res.exit_code == 0, res.output
    assert "expected calibration error" in res.output and "confidence bin" in res.output
    res = CliRunner().invoke(app, ["eval-classifier", str(data), "--embedder", "fake", "--json"])
    out = json.loads(res.output)
    assert 0.0 <= out["ece"] <= 1.0
    assert sum(r["n"] for r in out["reliability"]) == out["n"]


def test_calibration_fit_roundtrip_and_use(tmp_path: Path) -> None:
    import numpy as np

    from biasprobe.classify.calibration import (
        Calibration,
        CalibrationError,
        fit_calibration,
        log_odds,
    )
    from biasprobe.classify.model import UNCERTAIN_BELOW, train_head

    rng = np.random.default_rng(0)
    z = rng.normal(0, 3, 2000)
    right = rng.random(2000) < 1 / (1 + np.exp(-(1.5 * np.abs(z) + 0.2)))
    cal = fit_calibration(z, right, note="t")
    assert cal.a == pytest.approx(1.5, abs=0.3) and cal.b == pytest.approx(0.2, abs=0.3)
    path = tmp_path / "cal.json"
    path.write_text(json.dumps(cal.to_json()))
    loaded = Calibration.load(path)
    assert loaded.confidence(np.array([2.0])) == pytest.approx(cal.confidence(np.array([-2.0])))
    path.write_text('{"a": "x"}')
    with pytest.raises(CalibrationError):
        Calibration.load(path)
    with pytest.raises(CalibrationError):
        fit_calibration(z, np.ones(len(z), dtype=bool))
    assert log_odds(np.array([0.5]))[0] == pytest.approx(0.0)
    # A binary head with a calibration: confidence is the calibrated probability, and an answer
    # is uncertain exactly when it falls below UNCERTAIN_BELOW.
    clf0 = Classifier(FakeEmbedder(), shipped_head=False)
    feats, _, _ = clf0.features(clf0.bank.texts)
    binary = [Label.complete if lab is Label.complete else Label.refusal for lab in clf0.bank.labels]
    head = train_head(feats, binary)
    flat = Calibration(a=0.0, b=0.0)  # confidence 0.5 everywhere: everything uncertain
    clf = Classifier(FakeEmbedder(), head_model=head, calibration=flat)
    preds = clf.predict(clf0.bank.texts[:4])
    assert all(p.confidence == 0.5 and p.label is Label.uncertain for p in preds)
    sure = Calibration(a=0.0, b=5.0)
    preds = Classifier(FakeEmbedder(), head_model=head, calibration=sure).predict(clf0.bank.texts[:4])
    assert all(p.confidence > UNCERTAIN_BELOW and p.label is not Label.uncertain for p in preds)
