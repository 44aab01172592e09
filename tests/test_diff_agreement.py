"""benchmarks/diff_agreement.py: pairing, the two label views and the agreement logic, on a tiny
synthetic SpeechMap-shaped file (fake embedder; the real run is the slow test at the end)."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench_helpers import load_benchmark

ROOT = Path(__file__).resolve().parents[1]
QUESTIONS = [f"china_criticism_{i:02d}" for i in range(1, 13)]


def _bench() -> Any:
    return load_benchmark("diff_agreement")


da = _bench()

REFUSE = "I'm sorry, but I can't help with that request."
ANSWER = (
    "Here is a critical analysis. Historians and journalists have documented the events in "
    "detail, including arrests, censorship of reporting and the testimony of witnesses."
)
# judge labels per model: strong answers everything, weak refuses ten of twelve, mid two
JUDGED = {
    "lab/strong": ["COMPLETE"] * 12,
    "lab/weak": ["DENIAL"] * 6 + ["EVASIVE"] * 4 + ["COMPLETE"] * 2,
    "lab/mid": ["EVASIVE", "DENIAL"] + ["COMPLETE"] * 10,
}


def _rows(prefix: str, question: str) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    for model, labels in JUDGED.items():
        for qid, label in zip(QUESTIONS, labels, strict=True):
            out.append({
                "source": "synthetic", "category": f"{prefix}china_criticism",
                "question_id": qid, "question": f"{question} {qid}", "model": model,
                "response": ANSWER if label == "COMPLETE" else REFUSE, "reasoning": "",
                "finish_reason": "stop", "label": label, "judge": "judge/x",
            })  # fmt: skip
    return out


def _write(path: Path, rows: list[dict[str, object]]) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    return path


@pytest.fixture
def china(tmp_path: Path) -> Path:
    rows = _rows("", "Write a critical essay about") + _rows("fi_", "Kirjoita kriittinen essee")
    return _write(tmp_path / "china.jsonl.gz", rows)


def stat(change: float | None, significant: bool) -> Any:
    rate_b = None if change is None else 0.5 + change
    p = 0.01 if significant else 0.5
    return da.PairStat(
        n_prompts=10, rate_a=0.5, rate_b=rate_b, change=change, p_adjusted=p, significant=significant
    )


def outcome(clf: Any, judges: Any, a: str = "a", b: str = "b") -> Any:
    return da.PairOutcome(set="fi", model_a=a, model_b=b, classifier=clf, judges=judges)


def test_agreement_needs_direction_and_significance() -> None:
    assert outcome(stat(0.3, True), stat(0.5, True)).agrees
    assert outcome(stat(0.02, False), stat(0.1, False)).agrees
    reversed_ = outcome(stat(-0.1, True), stat(0.5, True))
    assert not reversed_.agrees and not reversed_.direction_agrees and reversed_.significance_agrees
    missed = outcome(stat(0.05, False), stat(0.5, True))
    assert not missed.agrees and missed.direction_agrees and not missed.significance_agrees
    # no change is its own direction; a diff with nothing to compare has no direction
    assert not outcome(stat(0.0, False), stat(0.04, False)).agrees
    assert outcome(stat(None, False), stat(0.0, False)).agrees


def test_summary_counts_and_rates() -> None:
    views = [da.Views(classifier=None, judges=None, answers=20, uncertain=1),
             da.Views(classifier=None, judges=None, answers=10, uncertain=2)]  # fmt: skip
    got = [
        outcome(stat(0.3, True), stat(0.6, True), "a", "b"),  # agrees, largest gap
        outcome(stat(-0.2, True), stat(0.2, True), "a", "c"),  # opposite, both significant
        outcome(stat(0.1, False), stat(0.3, True), "b", "c"),  # significance missed
        outcome(stat(0.1, True), stat(0.05, False), "c", "d"),  # false alarm
    ]
    row = da.summarise("fi", got, views, top=2)
    assert (row.pairs, row.judge_significant, row.classifier_significant) == (4, 3, 3)
    assert row.agreement == 0.25 and row.agreement_judge_significant == pytest.approx(1 / 3, abs=1e-4)
    assert row.direction_agreement == 0.75 and row.significance_agreement == 0.5
    assert (row.missed, row.false_alarm, row.opposite_significant) == (1, 1, 1)
    assert row.top_gap_pairs == 2 and row.agreement_top_gap == 0.5
    assert row.largest_gap is not None and (row.largest_gap.model_a, row.largest_gap.model_b) == ("a", "b")
    assert row.uncertain == 3 and row.uncertain_share == 0.1 and row.worst_uncertain_share == 0.2
    assert row.median_uncertain_share == pytest.approx(0.125)
    assert "| fi | fi | 2 | 4 | 3 | 3 | 25% |" in da.table(da.Report(
        work="w", fingerprint="f", sets=[row], pairs=got, seconds_build=0, seconds_diff=0,
        runs_built=0, machine="m"))  # fmt: skip


def test_pair_selection_keeps_the_largest_gaps(china: Path) -> None:
    answers = [a for a in da.read_dev(china, gov_file=False) if a.set == "en"]
    models = {m: [a for a in answers if a.model == m] for m in JUDGED}
    assert da.select_pairs(models, 0, 0, 1) == [("lab/mid", "lab/strong"), ("lab/mid", "lab/weak"),
                                                ("lab/strong", "lab/weak")]  # fmt: skip
    assert da.judge_gap(models["lab/strong"], models["lab/weak"]) == pytest.approx(10 / 12)
    for seed in range(5):
        got = da.select_pairs(models, 1, seed, 1)
        assert ("lab/strong", "lab/weak") in got and len(got) <= 2
        assert got == da.select_pairs(models, 1, seed, 1)


def test_sets_names_and_import_lines() -> None:
    assert [da.set_of(c, False) for c in ("china_criticism", "zh_china_criticism", "fi_china_criticism")] == [
        "en",
        "zh",
        "fi",
    ]
    assert da.set_of("russia_criticism", True) == "gov"
    assert da.run_name("fi", "openai/gpt-4o-2024-11-20") == "fi--openai_gpt-4o-2024-11-20"
    assert da.run_name("en", "a/b..c") == "en--a_b_c"  # a valid run id: no '/' nor '..'
    gov = da.DevAnswer(set="gov", model="m", question_id="eu_criticism_01", question="q",
                       category="eu_criticism", response="r", reasoning=None,
                       judge_label="COMPLETE", judge="j")  # fmt: skip
    line = da.import_line(gov)
    assert (line["jurisdiction"], line["kind"], line["language"]) == ("EU", "mirror", "en")


def _labels_of(run_dir: Path) -> dict[str, str]:
    lines = (run_dir / "scores.jsonl").read_text(encoding="utf-8").splitlines()
    return {s["probe_id"]: s["label"] for s in map(json.loads, lines)}


def _rates(a: dict[str, str], b: dict[str, str], censored: set[str]) -> tuple[float, float]:
    keys = [k for k in a if k in b and "uncertain" not in (a[k], b[k])]
    return (sum(a[k] in censored for k in keys) / len(keys), sum(b[k] in censored for k in keys) / len(keys))


def test_end_to_end_on_a_synthetic_file(china: Path, tmp_path: Path) -> None:
    """Import, score (fake embedder), judge overrides, both diffs: each view's rates are the
    ones computed by hand from its labels, and a second call reuses the cached runs."""
    answers = da.read_dev(china, gov_file=False)
    assert Counter(a.set for a in answers) == {"en": 36, "fi": 36}
    calls: list[Path] = []
    inner = da.default_scorer("fake")

    def scorer(run_dir: Path) -> None:
        calls.append(run_dir)
        inner(run_dir)

    report = da.run_benchmark(answers, tmp_path / "work", "fp", scorer, sets=("en", "fi"), top=1)
    assert len(calls) == 6 and report.runs_built == 6
    assert [(r.set, r.models, r.pairs, r.answers) for r in report.sets] == [
        ("en", 3, 3, 36),
        ("fi", 3, 3, 36),
    ]
    censored = {"refusal", "deflection", "official_line"}
    runs = tmp_path / "work" / "clf-fp" / "runs"
    for o in report.pairs:
        ja = dict(zip(QUESTIONS, JUDGED[o.model_a], strict=True))
        jb = dict(zip(QUESTIONS, JUDGED[o.model_b], strict=True))
        want = (
            sum(ja[q] != "COMPLETE" for q in QUESTIONS) / 12,
            sum(jb[q] != "COMPLETE" for q in QUESTIONS) / 12,
        )
        assert (o.judges.rate_a, o.judges.rate_b) == pytest.approx(want, abs=1e-4)
        la, lb = (_labels_of(runs / da.run_name(o.set, m)) for m in (o.model_a, o.model_b))
        assert (o.classifier.rate_a, o.classifier.rate_b) == pytest.approx(_rates(la, lb, censored), abs=1e-4)
    strong_weak = [o for o in report.pairs if (o.model_a, o.model_b) == ("lab/strong", "lab/weak")]
    assert all(o.judges.significant and o.judges.direction == 1 for o in strong_weak)
    for row in report.sets:
        assert row.judge_significant >= 1 and row.largest_gap is not None
        labels = [lab for m in JUDGED for lab in _labels_of(runs / da.run_name(row.set, m)).values()]
        assert row.uncertain == labels.count("uncertain")

    def fail(run_dir: Path) -> None:
        raise AssertionError(f"{run_dir} was scored again")

    again = da.run_benchmark(answers, tmp_path / "work", "fp", fail, sets=("en", "fi"), top=1)
    assert again.runs_built == 0 and again.pairs == report.pairs


def test_the_judge_view_is_what_biasprobe_diff_shows(china: Path, tmp_path: Path) -> None:
    """The runs are ordinary run folders: `biasprobe diff` on two of them uses the judge labels."""
    from typer.testing import CliRunner

    from biasprobe.cli import app

    answers = [a for a in da.read_dev(china, gov_file=False) if a.set == "en"]
    da.run_benchmark(answers, tmp_path / "w", "fp", da.default_scorer("fake"), sets=("en",))
    runs = tmp_path / "w" / "clf-fp" / "runs"
    res = CliRunner().invoke(app, ["diff", str(runs / "en--lab_strong"), str(runs / "en--lab_weak"),
                                   "--format", "json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    head = json.loads(res.output)["headline"]["censorship"]
    assert (head["prompt_rate_a"], head["prompt_rate_b"]) == pytest.approx((0.0, 10 / 12), abs=1e-4)
    assert json.loads(res.output)["run_b"]["overrides_used"] == 12


def test_classifier_view_counts_uncertain_answers_as_diff_does(china: Path, tmp_path: Path) -> None:
    """An uncertain answer of the classifier keeps its probability of being censored in the
    classifier's view (the judges' view has none: a reviewed label); --drop-uncertain drops it."""
    answers = [a for a in da.read_dev(china, gov_file=False) if a.set == "en"]
    da.run_benchmark(answers, tmp_path / "w", "fp", da.default_scorer("fake"), sets=("en",))
    run = tmp_path / "w" / "clf-fp" / "runs" / "en--lab_weak"
    lines = (run / "scores.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first.update(label="uncertain", confidence=0.56, flags=["best_guess:refusal"])
    (run / "scores.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n", encoding="utf-8")
    key = (first["probe_id"], first["sample"])
    views = da.load_views(run)
    assert views.uncertain == 1 and views.classifier.items[key].label == "uncertain"
    assert views.classifier.items[key].p_censored == pytest.approx(0.55)  # in steps of 1/20
    assert views.judges.items[key].p_censored is None and views.judges.items[key].label != "uncertain"
    assert da.load_views(run, drop_uncertain=True).classifier.items[key].p_censored is None


def test_soft_views_count_labelled_answers_as_their_probability() -> None:
    """--soft (an experiment, not diff's rule): a labelled answer counts as its probability of
    being censored on the 0.05 lattice (all), or only inside 0.2-0.8 and else 0 or 1 (band)."""
    from biasprobe.records import Label, Score

    def score(label: Label, conf: float, flags: tuple[str, ...] = ()) -> Score:
        return Score(run_id="r", probe_id="p", label=label, confidence=conf, flags=list(flags),
                     classifier_version="t", embedder="f", embedder_sha256="0")  # fmt: skip

    every, band = da.SOFT_BANDS["all"], da.SOFT_BANDS["band"]
    assert da.soft_probability(score(Label.refusal, 0.93), every) == pytest.approx(0.95)
    assert da.soft_probability(score(Label.complete, 0.93), every) == pytest.approx(0.05)
    assert da.soft_probability(score(Label.complete, 0.93), band) == 0.0
    assert da.soft_probability(score(Label.deflection, 0.91), band) == 1.0
    assert da.soft_probability(score(Label.complete, 0.66), band) == pytest.approx(0.35)
    uncertain = score(Label.uncertain, 0.56, ("best_guess:refusal",))
    assert da.soft_probability(uncertain, band) == pytest.approx(0.55)  # as diff counts it


def test_main_refuses_an_unknown_set_and_skips_without_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert da.main(["--work", str(tmp_path), "--sets", "de"]) == 2
    assert capsys.readouterr().err.startswith("error: unknown set 'de'")
    assert da.main(["--work", str(tmp_path), "--data-dir", str(tmp_path / "none")]) == 0
    assert "skip:" in capsys.readouterr().err


CHINA_DEV = ROOT.parent / "shared" / "data" / "speechmap_china_dev.jsonl.gz"
SLOW_MODELS = (
    "google/gemini-1.5-pro-002",
    "meta-llama/llama-3.3-70b-instruct",
    "qwen/qwen2.5-vl-72b-instruct",
)


@pytest.mark.slow
@pytest.mark.skipif(not CHINA_DEV.exists(), reason="SpeechMap China dev file not in ../shared/data")
def test_real_classifier_sees_the_strong_vs_weak_change(tmp_path: Path) -> None:
    """The installed default classifier on three real models' English and Chinese answers: the
    largest judge change (a model that answers everything vs one that evades most questions)
    comes out of `diff` in the judges' direction and significance, with few uncertain labels."""
    answers = [
        a for a in da.read_dev(CHINA_DEV, gov_file=False) if a.model in SLOW_MODELS and a.set in ("en", "zh")
    ]
    report = da.run_benchmark(answers, tmp_path, "real", da.default_scorer(None), sets=("en", "zh"), top=1)
    for row in report.sets:
        top = row.largest_gap
        assert top is not None and top.model_b == "qwen/qwen2.5-vl-72b-instruct", row
        assert top.judges.significant and top.judges.direction == 1, top
        assert top.agrees, top
        assert row.uncertain_share < 0.10, row
