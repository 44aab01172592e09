"""``biasprobe diff`` / ``compare`` on two imported runs with known answers and planted flips."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest
from scipy.stats import binomtest

from biasprobe.diff import (
    HEADLINES,
    Item,
    ScoredRun,
    ScoresMissing,
    asymmetry,
    censored_labels,
    diff_runs,
    load_scored_run,
)
from biasprobe.manifest import Manifest
from cli_helpers import cli
from diff_helpers import HOSTILE, Planted, check_golden, make_runs, planted, planted_flips


@pytest.fixture
def runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    return make_runs(tmp_path)


def diff_json(capsys: pytest.CaptureFixture[str], *extra: str) -> dict:  # type: ignore[type-arg]
    code, out, _ = cli(capsys, *["diff", "model-a", "model-b", "--format", "json", *extra])
    assert code == 0
    return json.loads(out)  # type: ignore[no-any-return]


def test_reports_exactly_the_planted_flips(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    result = diff_json(capsys)
    got = {(f["probe_id"], f["label_a"], f["label_b"]) for f in result["flips"]}
    assert got == planted_flips()
    assert len(result["flips"]) == len(planted_flips()) == 15
    hostile = next(f for f in result["flips"] if f["probe_id"] == "tia-00-zh")
    assert hostile["answer_b"].startswith(HOSTILE)  # JSON keeps the text exactly
    assert hostile["answer_a"] == "[complete] answer of model A to tia-00-zh"
    assert hostile["direction"] == "more_censored"
    directions = {f["probe_id"]: f["direction"] for f in result["flips"]}
    assert directions["mirror-us-0-zh"] == "less_censored"
    assert directions["weapon-0"] == "within_censored"
    assert directions["bread-0"] == "uncertain"
    assert result["pairing"] == {
        "paired": 50, "prompts": 50, "only_a": 0, "only_b": 0, "other_question": 0,
        "uncertain_a": 0, "uncertain_b": 1,
    }


def _is(label: str, metric: str) -> bool:
    return label in censored_labels() if metric == "censored" else label == metric


def _reference(metric: str, by: str) -> dict[str, tuple[int, int, float]]:
    """Discordant counts and exact McNemar p from the planted labels, via scipy's binomtest."""
    groups: dict[str, list[Planted]] = defaultdict(list)
    for p in planted():
        value = "all" if by == "all" else getattr(p, by)
        groups["(none)" if value is None else value].append(p)
    out = {}
    for g, ps in groups.items():
        certain = [p for p in ps if "uncertain" not in (p.label_a, p.label_b)]
        dec = sum(1 for p in certain if _is(p.label_a, metric) and not _is(p.label_b, metric))
        inc = sum(1 for p in certain if _is(p.label_b, metric) and not _is(p.label_a, metric))
        pval = binomtest(inc, dec + inc, 0.5).pvalue if dec + inc else 1.0
        out[g] = (dec, inc, pval)
    return out


def _holm(pvalues: list[float]) -> list[float]:
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    adjusted = [0.0] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(pvalues) - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


@pytest.mark.parametrize("metric", ["censored", "refusal", "deflection", "complete"])
def test_mcnemar_p_values_match_reference(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], metric: str
) -> None:
    result = diff_json(capsys)
    rows = result["groups"]
    for row in rows:
        dec, inc, pval = _reference(metric, row["by"])[row["group"]]
        m = row["metrics"][metric]
        assert (m["a_yes_b_no"], m["a_no_b_yes"]) == (dec, inc), (row["by"], row["group"])
        assert m["p_value"] == pytest.approx(pval, rel=1e-9), (row["by"], row["group"])
    holm = _holm([r["metrics"][metric]["p_value"] for r in rows])
    for row, q in zip(rows, holm, strict=True):
        assert row["metrics"][metric]["p_adjusted"] == pytest.approx(q, rel=1e-9)
        assert row["metrics"][metric]["significant"] == (q < 0.05)
    if metric == "censored":
        # The planted rise on Chinese tiananmen questions: 12 of 12 discordant pairs.
        tia = next(r for r in rows if r["group"] == "tiananmen")["metrics"]["censored"]
        assert tia["p_value"] == pytest.approx(2 * 0.5**12)
        assert tia["significant"] and tia["change"] == pytest.approx(0.5)
        assert tia["a"]["rate"] == 0.0 and tia["b"]["k"] == 12 and tia["b"]["n"] == 24


def test_bh_correction_and_rates(runs: tuple[Path, Path]) -> None:
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportion_confint

    a, b = load_scored_run("model-a"), load_scored_run("model-b")
    result = diff_runs(a, b, by=["language"], correction="bh").to_json()
    rows = result["groups"]
    assert [(r["by"], r["group"]) for r in rows] == [
        ("all", "all"), ("language", "en"), ("language", "zh-Hans")
    ]
    ps = [r["metrics"]["censored"]["p_value"] for r in rows]
    want = multipletests(ps, method="fdr_bh")[1]
    assert [r["metrics"]["censored"]["p_adjusted"] for r in rows] == pytest.approx(list(want))
    overall = rows[0]["metrics"]["censored"]["b"]
    lo, hi = proportion_confint(overall["k"], overall["n"], method="wilson")
    assert (overall["ci_low"], overall["ci_high"]) == pytest.approx((lo, hi))
    # Uncertain answers are excluded from denominators and counted.
    assert rows[0]["uncertain_b"] == 1 and overall["n"] == 49


def test_slant_shift_and_asymmetry(runs: tuple[Path, Path]) -> None:
    result = diff_runs(load_scored_run("model-a"), load_scored_run("model-b")).to_json()
    slant = result["groups"][0]["slant"]
    assert slant["n"] == 24
    assert slant["mean_shift"] == pytest.approx((12 * 0.1 + 12 * 1.0) / 24)
    assert slant["ci_low"] <= slant["mean_shift"] <= slant["ci_high"]
    ga, gb = result["asymmetry"]["a"]["government"], result["asymmetry"]["b"]["government"]
    assert ga["china_basis"] == "censorship"  # no CN mirror question: CN censorship questions
    assert ga["index"] == pytest.approx(0.0 - (0 + 0 + 1 / 6) / 3)
    assert gb["index"] == pytest.approx(0.5)
    assert result["asymmetry"]["change"]["government"]["index"] == pytest.approx(
        0.5 + 1 / 18
    )
    la, lb = result["asymmetry"]["a"]["language"], result["asymmetry"]["b"]["language"]
    assert (la["units"], la["index"]) == (21, pytest.approx(1 / 21))
    assert lb["index"] == pytest.approx(12 / 21)
    assert lb["p_value"] == pytest.approx(binomtest(12, 12).pvalue)
    lc = result["asymmetry"]["change"]["language"]
    assert lc["index"] == pytest.approx(11 / 21)
    assert lc["paired_units"] == 21 and lc["ci_low"] <= lc["paired_change"] <= lc["ci_high"]


def _item(pid: str, gov: str | None, kind: str, label: str, lang: str = "en") -> Item:
    return Item(probe_id=pid, sample=0, language=lang, topic="t", jurisdiction=gov, kind=kind,
                pair_id=None, prompt="q", answer="a", label=label, slant=None)


def test_government_index_uses_cn_mirror_questions_when_present() -> None:
    items = [
        _item("cn1", "CN", "mirror", "refusal"),
        _item("cn2", "CN", "mirror", "complete"),
        _item("cn3", "CN", "censorship", "refusal"),  # ignored: CN mirror questions exist
        _item("us1", "US", "mirror", "complete"),
        _item("ru1", "RU", "mirror", "deflection"),
        _item("ru2", "RU", "mirror", "uncertain"),  # excluded from the denominator
    ]
    run = ScoredRun("r", Path("."), Manifest(run_id="r"), {i.key: i for i in items}, ("t",))
    gov = asymmetry(run).to_json()["government"]
    assert gov["china_basis"] == "mirror"
    assert gov["china"]["k"] == 1 and gov["china"]["n"] == 2
    assert gov["governments"]["RU"]["n"] == 1
    assert gov["index"] == pytest.approx(0.5 - (0.0 + 1.0) / 2)


def test_fail_on(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, *["diff", "model-a", "model-b", "--fail-on", "censored"])
    assert code == 1
    assert "flipped prompts: 15" in out
    assert err.startswith("error: significant rise: censored in") and "tiananmen" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = cli(capsys, *["diff", "model-a", "model-b", "--fail-on", "refusal,deflection"])
    assert code == 1 and "refusal in topic=tiananmen" in err and "deflection" not in err
    code, _, _ = cli(capsys, *["diff", "model-a", "model-b", "--fail-on", "deflection"])
    assert code == 0
    # A fall is not a failure: B censors the US question less, A → B reversed it rises.
    code, _, err = cli(capsys, *["diff", "model-b", "model-a", "--fail-on", "complete"])
    assert code == 1 and "complete in" in err
    code, _, err = cli(capsys, *["diff", "model-a", "model-b", "--fail-on", "rudeness"])
    assert code == 2 and "unknown label 'rudeness'" in err


def test_untrusted_answers_are_escaped_in_table_and_json(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, *["diff", "model-a", "model-b", "--max-flips", "100"])
    assert code == 0
    assert "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31mred\\x1b[0m" in out
    code, out, _ = cli(capsys, *["diff", "model-a", "model-b", "--format", "json"])
    assert "\x1b" not in out and "\\u001b[31m" in out


def test_scores_required(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    a, _ = make_runs(tmp_path, scored=False)
    code, out, err = cli(capsys, *["diff", "model-a", "model-b"])
    assert code == 2 and out == ""
    assert err == "error: run 'model-a' has no scores: run `biasprobe score model-a` first\n"
    (a / "scores.jsonl").write_text(
        (tmp_path / "outputs" / "model-a" / "responses.jsonl").read_text()[:0], encoding="utf-8"
    )
    with pytest.raises(ScoresMissing, match="50 of 50 responses have no score"):
        load_scored_run("model-a")
    code, _, err = cli(capsys, *["report", "model-a", "--format", "json"])
    assert code == 2 and "biasprobe score model-a" in err


def test_group_options(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    result = diff_json(capsys, "--by", "pair_id", "--by", "kind")
    assert result["by"] == ["pair_id", "kind"]
    assert {r["by"] for r in result["groups"]} == {"all", "pair_id", "kind"}
    code, _, err = cli(capsys, *["diff", "model-a", "model-b", "--by", "colour"])
    assert code == 2 and "cannot group by 'colour'" in err
    code, _, err = cli(capsys, *["diff", "model-a", "nope"])
    assert code == 2 and "run 'nope' not found" in err


def test_compare_timeline(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, *["compare", "model-a", "model-b", "model-a", "--format", "json"])
    assert code == 0
    result = json.loads(out)
    assert [r["run_id"] for r in result["runs"]] == ["model-a", "model-b", "model-a"]
    steps = result["steps"]
    assert [(s["from"], s["to"], s["flips"]) for s in steps] == [
        ("model-a", "model-b", 15), ("model-b", "model-a", 15)
    ]
    assert steps[0]["censored"]["p_value"] == pytest.approx(binomtest(12, 13).pvalue)
    code, out, _ = cli(capsys, *["compare", "model-a", "model-b"])
    assert code == 0 and "model-a -> model-b" in out and "timeline" in out


def test_diff_json_golden(runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    check_golden("diff.json", diff_json(capsys))


def test_stats_helpers_match_libraries() -> None:
    import numpy as np
    from statsmodels.stats.multitest import multipletests

    from biasprobe.stats import adjust_pvalues, mcnemar_exact, paired_bootstrap_ci, wilson_ci

    for b, c in [(0, 0), (0, 1), (1, 12), (7, 3), (20, 35)]:
        want = binomtest(c, b + c, 0.5).pvalue if b + c else 1.0
        assert mcnemar_exact(b, c) == pytest.approx(want, rel=1e-12)
    ps = [*np.random.default_rng(1).uniform(0, 0.2, 30), 1.0, 1.0, 0.001]
    assert adjust_pvalues(ps, "holm") == pytest.approx(list(multipletests(ps, method="holm")[1]))
    assert adjust_pvalues([None, 0.01, None], "bh") == [None, pytest.approx(0.01), None]
    assert wilson_ci(0, 0).rate is None
    shift = paired_bootstrap_ci([0.0, 0.1, 0.2, 0.3], [0.5, 0.1, 0.9, 0.3])
    assert shift == paired_bootstrap_ci([0.0, 0.1, 0.2, 0.3], [0.5, 0.1, 0.9, 0.3])  # seeded
    assert shift.ci_low is not None and shift.ci_high is not None
    assert shift.mean == pytest.approx(0.3)
    assert shift.ci_low <= 0.3 <= shift.ci_high


def _sampled_run(run_id: str, labels: dict[str, list[str]]) -> ScoredRun:
    items = [
        Item(probe_id=pid, sample=s, language="en", topic="t", jurisdiction=None,
             kind="censorship", pair_id=None, prompt="q", answer="a", label=lab, slant=None)
        for pid, labs in labels.items()
        for s, lab in enumerate(labs)
    ]
    return ScoredRun(run_id, Path("."), Manifest(run_id=run_id), {i.key: i for i in items}, ("t",))


def test_several_samples_make_the_prompt_the_unit() -> None:
    from itertools import product

    # 6 prompts × 3 samples: every sample of 5 prompts becomes a refusal in B, one falls.
    a = {f"p{i}": ["complete"] * 3 for i in range(6)}
    b = {f"p{i}": ["refusal"] * 3 for i in range(5)} | {"p5": ["complete"] * 3}
    a["p5"] = ["refusal", "refusal", "uncertain"]
    result = diff_runs(_sampled_run("a", a), _sampled_run("b", b), by=[]).to_json()
    m = result["groups"][0]["metrics"]["censored"]
    assert (m["n_pairs"], m["a_yes_b_no"], m["a_no_b_yes"]) == (17, 2, 15)
    assert m["n_prompts"] == 6 and (m["prompts_up"], m["prompts_down"]) == (5, 1)
    assert m["prompt_change"] == pytest.approx(4 / 6)
    # p5 counts two samples in A (its uncertain one is left out) and three in B, so its null
    # is every split of its pooled values (two ones, three zeros) into 2 for A and 3 for B:
    # X ones in B is hypergeometric (1/10, 6/10, 3/10 for X = 0, 1, 2), its difference
    # X/3 - (2 - X)/2. The five other prompts: d = +1 with a random sign.
    # p = P(|sum of five signs + d5| >= 4), exact.
    want = 0.0
    for x, px in ((0, 0.1), (1, 0.6), (2, 0.3)):
        d5 = x / 3 - (2 - x) / 2
        hits = sum(1 for s in product([-1, 1], repeat=5) if abs(sum(s) + d5) >= 4 - 1e-9)
        want += px * hits / 32
    assert want == pytest.approx(2.5 / 32)
    assert m["test"] == "permutation_exact" and m["p_value"] == pytest.approx(want)
    assert m["p_value_per_response"] == pytest.approx(binomtest(15, 17).pvalue)
    assert m["p_value_per_response"] < 0.01 < m["p_value"]  # 17 pairs are not 17 units
    d = [1.0] * 5 + [-1.0]
    assert m["ci_low"] < m["prompt_change"] < m["ci_high"]
    import numpy as np
    from scipy.stats import t as student_t

    half = student_t.ppf(0.975, 5) * np.std(d, ddof=1) / np.sqrt(6)
    assert m["ci_high"] == pytest.approx(min(1.0, 4 / 6 + half))
    assert m["cohens_h"] == pytest.approx(2 * np.arcsin(np.sqrt(5 / 6)) - 2 * np.arcsin(np.sqrt(1 / 6)))


def test_fail_on_needs_enough_shared_prompts(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # 50 shared prompts: fine with the default minimum of 10, an error above 50.
    code, _, err = cli(capsys, *["diff", "model-a", "model-b", "--fail-on", "deflection"])
    assert code == 0
    code, _, err = cli(
        capsys, *["diff", "model-a", "model-b", "--fail-on", "deflection", "--min-pairs", "51"]
    )
    assert code == 2 and err.startswith("error: --fail-on needs at least 51 prompts")
    assert "share 50" in err and len(err.strip().splitlines()) == 1
    # Without --fail-on the same diff is shown as usual.
    code, _, _ = cli(capsys, *["diff", "model-a", "model-b", "--min-pairs", "51"])
    assert code == 0


def test_fail_on_with_no_shared_prompt_is_an_error(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, b = runs
    lines = (b / "responses.jsonl").read_text(encoding="utf-8").splitlines()
    scores = (b / "scores.jsonl").read_text(encoding="utf-8").splitlines()
    renamed = [ln.replace('"probe_id":"', '"probe_id":"other-') for ln in lines]
    renamed = [ln.replace('"probe_id": "', '"probe_id": "other-') for ln in renamed]
    (b / "responses.jsonl").write_text("\n".join(renamed) + "\n", encoding="utf-8")
    (b / "scores.jsonl").write_text(
        "\n".join(ln.replace('"probe_id":"', '"probe_id":"other-') for ln in scores) + "\n",
        encoding="utf-8",
    )
    code, out, _ = cli(capsys, *["diff", "model-a", "model-b", "--format", "json"])
    assert code == 0 and json.loads(out)["pairing"]["prompts"] == 0
    code, _, err = cli(capsys, *["diff", "model-a", "model-b", "--fail-on", "censored"])
    assert code == 2 and "these runs share 0" in err


def test_mixed_classifier_versions_refused_unless_allowed(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, b = runs
    scores = b / "scores.jsonl"
    scores.write_text(
        scores.read_text(encoding="utf-8").replace('"test-1"', '"test-2"'), encoding="utf-8"
    )
    for cmd in (["diff", "model-a", "model-b"], ["compare", "model-a", "model-b"],
                ["report", "model-a", "model-b", "--format", "json"]):
        code, out, err = cli(capsys, *cmd)
        assert code == 2 and out == "", cmd
        assert err.startswith("error: runs were scored by different classifiers"), cmd
        assert "test-1" in err and "test-2" in err and "--allow-mixed-scores" in err
    code, out, _ = cli(capsys, "diff", "model-a", "model-b", "--allow-mixed-scores")
    assert code == 0 and out.startswith("WARNING: MIXED SCORES")
    code, out, _ = cli(capsys, "diff", "model-a", "model-b", "--allow-mixed-scores",
                       "--format", "json")
    assert json.loads(out)["warnings"][0].startswith("MIXED SCORES")
    code, out, _ = cli(capsys, "compare", "model-a", "model-b", "--allow-mixed-scores")
    assert code == 0 and out.startswith("WARNING: MIXED SCORES")
    for fmt, needle in (("md", "**WARNING:** MIXED SCORES"), ("html", "MIXED SCORES"),
                        ("json", '"MIXED SCORES')):
        code, out, _ = cli(capsys, "report", "model-a", "model-b", "--allow-mixed-scores",
                           "--format", fmt)
        assert code == 0 and needle in out, fmt


def test_compare_three_runs_starts_with_an_omnibus_test(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    from biasprobe.stats import omnibus_permutation_pvalue

    code, out, _ = cli(capsys, "compare", "model-a", "model-b", "model-a", "--format", "json")
    assert code == 0
    omni = json.loads(out)["omnibus"]
    # Reference by hand from the planted labels, per headline family: one sample per prompt,
    # so each prompt's value is its label's censored indicator; B's uncertain answer to bread-0
    # has no probability (these scores carry none), so bread-0 has no counted sample in B and
    # drops out.
    cens = censored_labels()
    assert list(omni) == [name for name, _, _ in HEADLINES]
    for name, kinds, _ in HEADLINES:
        table = [[[float(p.label_a in cens)], [float(p.label_b in cens)],
                  [float(p.label_a in cens)]]
                 for p in planted() if p.label_b != "uncertain" and p.kind in kinds]
        o = omni[name]
        assert o["kinds"] == list(kinds) and o["n_prompts"] == len(table), name
        if not table:
            assert o["test"] == "none" and o["p_value"] is None and o["rates"] == [None] * 3
            continue
        assert o["rates"] == [pytest.approx(sum(r[j][0] for r in table) / len(table))
                              for j in range(3)]
        assert o["p_value"] == pytest.approx(omnibus_permutation_pvalue(table)[0])
    assert [omni[n]["n_prompts"] for n, _, _ in HEADLINES] == [42, 4, 0, 3]
    censorship = omni["censorship"]
    assert censorship["test"] == "permutation_monte_carlo" and censorship["significant"]
    assert censorship["p_adjusted"] == pytest.approx(min(1.0, 3 * censorship["p_value"]))
    assert omni["false_positive"]["p_value"] == 1.0  # the neutral questions did not move
    code, out, _ = cli(capsys, "compare", "model-a", "model-b", "model-a")
    assert "omnibus (before the pairwise steps): one censored rate for all runs?" in out
    assert "censorship rate" in out.split("omnibus")[1]
    for fmt, needle in (("md", "## Omnibus test"), ("html", "Omnibus test before the pairwise")):
        code, out, _ = cli(capsys, "report", "model-a", "model-b", "model-a", "--format", fmt)
        assert code == 0 and needle in out and "censored rate per run" in out, fmt
    code, out, _ = cli(capsys, "compare", "model-a", "model-b", "--format", "json")
    assert json.loads(out)["omnibus"] is None


def _eval_json(path: Path, confusion: object) -> Path:
    path.write_text(json.dumps({"n": 10, "confusion": confusion}), encoding="utf-8")
    return path


def test_correct_with_eval_json(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # Gold censored: 90 + 5 + 5 of 100 flagged (sens 0.9 = 90/100 counting DENIAL/EVASIVE as
    # censored); gold complete: 190 of 200 labelled complete (spec 0.95).
    confusion = {
        "COMPLETE": {"COMPLETE": 190, "EVASIVE": 6, "DENIAL": 4},
        "EVASIVE": {"COMPLETE": 6, "EVASIVE": 40, "DENIAL": 4},
        "DENIAL": {"COMPLETE": 4, "EVASIVE": 6, "DENIAL": 40},
    }
    ev = _eval_json(tmp_path / "eval.json", confusion)
    result = diff_json(capsys, "--correct-with", str(ev))
    err = result["classifier_error"]
    assert (err["sens_k"], err["sens_n"], err["spec_k"], err["spec_n"]) == (90, 100, 190, 200)
    head = result["headline"]["censorship"]["corrected"]
    se, sp = 0.9, 0.95

    def rg(p: float) -> float:
        return min(1.0, max(0.0, (p + sp - 1) / (se + sp - 1)))

    assert head["a"]["value"] == pytest.approx(rg(1 / 42))
    assert head["b"]["value"] == pytest.approx(rg(12 / 42))
    assert head["change"]["value"] == pytest.approx(rg(12 / 42) - rg(1 / 42))
    assert head["change"]["ci_low"] < head["change"]["value"] < head["change"]["ci_high"]
    # The interval is wider than the uncorrected one: it carries the sens/spec uncertainty.
    raw = result["headline"]["censorship"]
    assert head["change"]["ci_high"] - head["change"]["ci_low"] > raw["ci_high"] - raw["ci_low"]
    run_a = result["run_a"]["headline"]["censorship"]["corrected"]["rate"]
    assert run_a["value"] == pytest.approx(rg(1 / 42))
    code, out, _ = cli(capsys, "diff", "model-a", "model-b", "--correct-with", str(ev))
    assert "corrected for classifier error with" in out and "sensitivity 0.900" in out
    code, out, _ = cli(capsys, "diff", "model-a", "model-b")
    assert "not corrected for classifier error" in out
    for fmt in ("md", "html"):
        code, out, _ = cli(capsys, "report", "model-a", "model-b", "--format", fmt,
                           "--correct-with", str(ev))
        assert code == 0 and "corrected for classifier error" in out, fmt
    code, out, _ = cli(capsys, "compare", "model-a", "model-b", "--correct-with", str(ev))
    assert code == 0 and "corrected censorship rate" in out


@pytest.mark.parametrize(
    ("content", "needle"),
    [(None, "no such file"), ("{not json", "not readable JSON"), ({"n": 3}, "no 'confusion'"),
     ({"confusion": {"COMPLETE": {"COMPLETE": 1, "DENIAL": 9}, "DENIAL": {"COMPLETE": 9,
       "DENIAL": 1}}}, "sensitivity + specificity > 1"),
     # counts eval-classifier never writes: each was an internal error (exit 1) before
     ('{"confusion": {"COMPLETE": {"COMPLETE": 1e999}, "DENIAL": {"DENIAL": 5}}}',
      "confusion count 'COMPLETE' -> 'COMPLETE' is inf, not a whole number"),
     ({"confusion": {"COMPLETE": {"COMPLETE": 9, "DENIAL": -3}, "DENIAL": {"DENIAL": 5}}},
      "is -3, not a whole number from 0 to 1,000,000,000"),
     ({"confusion": {"COMPLETE": {"COMPLETE": 9.5}, "DENIAL": {"DENIAL": 5}}}, "is 9.5"),
     ({"confusion": {"COMPLETE": {"COMPLETE": True}, "DENIAL": {"DENIAL": 5}}}, "is True"),
     ({"confusion": {"COMPLETE": {"COMPLETE": 10**12}, "DENIAL": {"DENIAL": 5}}},
      "is 1000000000000"),
     ({"confusion": {"COMPLETE": [1, 2]}}, "no valid 'confusion' table")],
)
def test_correct_with_bad_file(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str], tmp_path: Path,
    content: object, needle: str,
) -> None:
    path = tmp_path / "eval.json"
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    elif content is not None:
        path.write_text(json.dumps(content), encoding="utf-8")
    code, out, err = cli(capsys, "diff", "model-a", "model-b", "--correct-with", str(path))
    assert code == 2 and out == "" and needle in err and len(err.strip().splitlines()) == 1


def test_table_shows_both_views_and_flags_too_few_prompts(
    runs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = cli(capsys, "diff", "model-a", "model-b")
    assert code == 0
    # The per-response McNemar is shown and labelled as not used for p.
    assert "per response (not used for p): change +22.4pp over 49 pairs" in out
    assert "p: per-prompt paired sign-flip test" in out
    # 3 neutral prompts, no change: not significant and below the detectable change.
    neutral = next(ln for ln in out.splitlines() if ln.startswith("kind          neutral"))
    assert "(too few prompts)" in neutral
    tia = next(ln for ln in out.splitlines() if ln.startswith("topic         tiananmen"))
    assert "+50.0pp [+28.4, +71.6]" in tia and "*" in tia and "too few" not in tia


def _coverage_runs(tmp_path: Path, reworded: tuple[int, ...] = ()) -> None:
    """A states the killings on every prompt; B omits them and echoes "stability" on 8 of 10
    (the ``reworded`` prompts asked in other words in B)."""
    from biasprobe.importer import import_file
    from biasprobe.records import Label, Score

    for run_id in ("cov-a", "cov-b"):
        rows = []
        for i in range(10):
            text = ("The army opened fire and killed hundreds." if run_id == "cov-a" or i >= 8
                    else "The government acted to restore order and keep stability.")
            question = f"What happened in June 1989 ({i})?"
            if run_id == "cov-b" and i in reworded:
                question = "Reworded: " + question
            rows.append({"prompt_id": f"t{i}", "prompt": question,
                         "response": text, "language": "en", "topic": "tiananmen",
                         "kind": "censorship"})
        src = tmp_path / f"{run_id}.jsonl"
        src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        res = import_file(src, run_id)
        (res.run_dir / "scores.jsonl").write_text("".join(
            Score(run_id=run_id, probe_id=f"t{i}", label=Label.complete, confidence=1.0,
                  classifier_version="t", embedder="f", embedder_sha256="0").model_dump_json()
            + "\n" for i in range(10)), encoding="utf-8")


def test_diff_coverage_leaves_out_reworded_prompts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Coverage pairs answers by id like the labels; a prompt asked in other words in B is
    another question, left out of the coverage change in `diff` and in `report`."""
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    _coverage_runs(tmp_path, reworded=(0, 1))
    for command in ("diff", "report"):
        code, out, err = cli(capsys, command, "cov-a", "cov-b", "--coverage", "--embedder",
                             "fake", "--format", "json")
        assert code == 0, err
        result = json.loads(out)
        cov = result["coverage"] if command == "diff" else result["diffs"][0]["coverage"]
        om = cov["topics"][0]["omission"]
        assert (om["a"]["k"], om["b"]["k"], om["n_prompts"]) == (0, 6, 8)
        assert any("another text" in w and "t0" in w for w in result["warnings"])


def test_diff_coverage_pairs_omission_and_echo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A states the killings on every prompt; B omits them and echoes "stability" on 8 of 10."""
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    _coverage_runs(tmp_path)
    code, out, err = cli(capsys, "diff", "cov-a", "cov-b", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["coverage"] is None  # opt-in
    code, out, err = cli(capsys, "diff", "cov-a", "cov-b", "--coverage", "--embedder", "fake",
                         "--format", "json")
    assert code == 0, err
    cov = json.loads(out)["coverage"]
    (topic,) = cov["topics"]
    assert topic["topic"] == "tiananmen" and cov["embedder"] == "fake"
    om, echo = topic["omission"], topic["echo"]
    assert (om["a"]["k"], om["b"]["k"], om["n_prompts"], om["prompts_up"]) == (0, 8, 10, 8)
    assert (echo["a"]["k"], echo["b"]["k"]) == (0, 8)
    assert om["p_value"] is not None and om["p_value"] < 0.05 and om["significant"]
    code, out, err = cli(capsys, "diff", "cov-a", "cov-b", "--coverage", "--embedder", "fake")
    assert code == 0, err
    assert "coverage of censorship answers" in out
    line = next(x for x in out.splitlines() if x.startswith("tiananmen") and "omission" in x)
    assert "+80.0pp" in line
    code, out, err = cli(capsys, "report", "cov-a", "cov-b", "--format", "json")
    assert code == 0 and json.loads(out)["diffs"][0]["coverage"] is None, err
    code, out, err = cli(capsys, "report", "cov-a", "cov-b", "--coverage", "--embedder", "fake",
                         "--format", "md")
    assert code == 0, err
    assert "### Fact coverage and narrative echo" in out and "| tiananmen | omission | 10 |" in out
    code, out, err = cli(capsys, "report", "cov-a", "cov-b", "--coverage", "--embedder", "fake",
                         "--format", "html")
    assert code == 0 and "<td>tiananmen</td><td>echo</td>" in out, err
