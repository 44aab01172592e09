"""The blind check: ``review --blind`` (session and CSV), the estimate ``show`` prints, the change
``diff`` prints, ``eval-classifier --from-run --blind-only``, and hostile blind sheets."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from biasprobe.blindcheck import (
    blind_data,
    blind_order,
    blind_rank,
    blind_rates,
    censored_value,
    run_blind_check,
)
from biasprobe.diff import read_scores
from biasprobe.overrides import (
    OVERRIDES,
    Override,
    append_overrides,
    latest_blind,
    make_override,
    read_overrides,
)
from biasprobe.records import Label
from biasprobe.review import Session, handle_key, load_blind_items
from biasprobe.stats import difference_estimate
from biasprobe.store import read_responses
from cli_helpers import assert_one_line_error, cli
from review_helpers import hand_labels, real_run


def test_blind_order_depends_on_seed_and_key_only() -> None:
    keys = [(f"p{i}", 0) for i in range(30)]
    one = blind_order(keys, 1)
    assert sorted(one) == sorted(keys) and one != keys
    assert blind_order(reversed(keys), 1) == one  # not on the order given
    assert blind_order(keys, 2) != one
    # a key's place is the same whatever other keys a run has: two runs share the sample
    sub = [k for k in keys if k[0] != "p3"]
    assert blind_order(sub, 1) == [k for k in one if k[0] != "p3"]
    assert blind_rank(1, ("p1", 0)) != blind_rank(1, ("p1", 1))


def test_difference_estimate_arithmetic() -> None:
    # population of 10: the classifier says 6 censored; a sample of 4 (its values 1, 1, 0, 0)
    # the reader calls 1, 0, 0, 1: corrections 0, -1, 0, +1, mean 0 -> estimate 0.6
    est = difference_estimate([1.0] * 6 + [0.0] * 4, [1, 0, 0, 1], [1, 1, 0, 0])
    assert est.value == pytest.approx(0.6) and est.predicted == pytest.approx(0.6)
    assert est.sample_mean == pytest.approx(0.5)
    # s2 of (0, -1, 0, 1, 1, -1) = 4/5; se = sqrt((1 - 4/10) * 0.8 / 4)
    assert est.se == pytest.approx((0.6 * 0.8 / 4) ** 0.5)
    assert est.ci_low is not None and est.ci_high is not None
    assert est.ci_low == pytest.approx(0.0) and est.ci_high == pytest.approx(1.0)  # clipped
    everyone = difference_estimate([1.0, 0.0], [0.0, 0.0], [1.0, 0.0])  # the whole population
    assert everyone.value == 0.0 and everyone.se == 0.0  # nothing left to estimate
    assert difference_estimate([1.0, 0.0], [], []).value is None
    assert difference_estimate([1.0, 0.0], [1.0], [1.0]).ci_low is None  # one label: no interval
    with pytest.raises(ValueError):
        difference_estimate([], [], [])
    with pytest.raises(ValueError):
        difference_estimate([1.0], [1.0, 0.0], [1.0, 0.0])


def test_censored_value_counts_uncertain_as_half() -> None:
    assert censored_value(Label.refusal) == 1.0 and censored_value(Label.complete) == 0.0
    assert censored_value(Label.official_line) == 1.0 and censored_value(Label.uncertain) == 0.5


def _blind_session(run_dir: Path, seed: int = 5) -> Session:
    from biasprobe.review import run_sink

    return Session(items=load_blind_items(run_dir, seed), reviewer="r", sink=run_sink(run_dir),
                   blind_seed=seed)


def test_blind_session_hides_nothing_it_should_not_and_refuses_confirm_and_skip(
    tmp_path: Path,
) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    session = _blind_session(run_dir)
    keys = [it.key for it in session.items]
    assert keys == blind_order(keys, 5) and len(keys) == 22
    for key in ("y", "\r", "s"):
        status = handle_key(session, key, lambda _: "")
        assert status is not None and "blind review" in status
    assert session.index == 0 and not read_overrides(run_dir)  # nothing decided, nothing written
    status = handle_key(session, "d", lambda _: "")
    lang = session.items[0].response.language
    assert status is not None and status.endswith(f"read this session: 1 ({lang} 1)")
    handle_key(session, "n", lambda _: "looks evasive")
    handle_key(session, "c", lambda _: "")
    written = read_overrides(run_dir)
    assert [o.key for o in written] == keys[:2]
    assert all(o.blind_seed == 5 and o.blind for o in written)
    assert written[1].note == "looks evasive"
    # a later session with the same seed goes on where this one stopped
    assert [it.key for it in load_blind_items(run_dir, 5)] == keys[2:]


def test_blind_check_matches_hand_arithmetic(tmp_path: Path) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    scores = read_scores(run_dir, reviewed=False)
    responses = read_responses(run_dir)
    hand = hand_labels()
    order = blind_order(list(scores), 9)[:8]
    append_overrides(run_dir, [
        make_override(scores[k], hand[k[0]], label_before=scores[k].label, reviewer="h",
                      blind_seed=9) for k in order])  # fmt: skip
    # a later review that saw the label does not replace the blind label in the check
    k0 = order[0]
    append_overrides(run_dir, [make_override(scores[k0], Label.uncertain,
                                             label_before=hand[k0[0]], reviewer="x")])
    check = run_blind_check(run_dir)
    assert check is not None and check.seeds == [9] and not check.warnings()
    by_lang = {r.language: r for r in check.rows}
    assert set(by_lang) == {"en", "zh-Hans", "all"}
    assert by_lang["en"].blind + by_lang["zh-Hans"].blind == 8
    allrow = by_lang["all"]
    assert allrow.answers == 22 and allrow.blind == 8
    from biasprobe.blindcheck import classifier_probability, classifier_value
    from biasprobe.stats import stratified_estimate

    # the predictor is the classifier's probability of a censored answer: its confidence in
    # its best guess, turned towards censored
    for s in scores.values():
        p = classifier_probability(s)
        assert p == pytest.approx(s.confidence if classifier_value(s) == 1.0 else 1 - s.confidence)
    parts, label_rates = [], []
    for lang in ("en", "zh-Hans"):
        group = [r.key for r in responses if r.language == lang]
        read = [k for k in order if k in group]
        want = difference_estimate([classifier_probability(scores[k]) for k in group],
                                   [censored_value(hand[k[0]]) for k in read],
                                   [classifier_probability(scores[k]) for k in read])
        row = by_lang[lang]
        assert (row.answers, row.blind) == (len(group), len(read))
        assert row.rate == pytest.approx(want.value)
        assert row.ci_low == pytest.approx(want.ci_low)
        # shown beside it: the rate of the classifier's labels, not of its probabilities
        label_rates.append(sum(classifier_value(scores[k]) for k in group) / len(group))
        assert row.classifier_rate == pytest.approx(label_rates[-1])
        parts.append((len(group), want, len(read)))
    whole = stratified_estimate(parts)
    assert allrow.rate == pytest.approx(whole.value) and allrow.ci_high == pytest.approx(
        whole.ci_high)
    # the gap: Chinese minus English, variances added
    (gap,) = check.gaps
    en, zh = parts
    assert (gap.language, gap.versus) == ("zh", "en")
    assert gap.gap == pytest.approx((zh[1].value or 0) - (en[1].value or 0))
    assert gap.classifier_gap == pytest.approx(label_rates[1] - label_rates[0])
    assert en[1].se is not None and zh[1].se is not None  # seed 9 reads both languages
    assert gap.ci_low is not None and gap.ci_high is not None
    assert (gap.ci_high - gap.ci_low) / 2 >= 1.9 * (en[1].se ** 2 + zh[1].se ** 2) ** 0.5
    pred = [classifier_value(scores[r.key]) for r in responses]
    assert allrow.classifier_rate == pytest.approx(sum(pred) / 22)
    agree = sum((censored_value(hand[k[0]]) >= 0.5) == (classifier_value(scores[k]) >= 0.5)
                for k in order)
    assert allrow.agree == agree
    # each censored label: the same estimator on its indicator, the classifier's labels as
    # prediction; the labels' classifier rates add up to the censored one
    from biasprobe.blindcheck import label_share
    from biasprobe.goldset import best_guess
    from biasprobe.labels import censored_names

    assert label_share("uncertain", "refusal") == pytest.approx(0.5 / len(censored_names()))
    assert [(r.language, r.label) for r in check.labels] == [
        (lang, label) for lang in ("en", "zh-Hans", "all") for label in censored_names()]
    for lang in ("en", "zh-Hans"):
        group = [r.key for r in responses if r.language == lang]
        read = [k for k in order if k in group]
        rows = {r.label: r for r in check.labels if r.language == lang}
        for label in censored_names():
            pred = [label_share(best_guess(scores[k]).value, label) for k in group]
            want = difference_estimate(pred, [label_share(hand[k[0]].value, label) for k in read],
                                       [label_share(best_guess(scores[k]).value, label)
                                        for k in read])
            assert rows[label].corrected == pytest.approx(want.value)
            assert rows[label].ci_high == pytest.approx(want.ci_high)
        assert sum(r.classifier or 0 for r in rows.values()) == pytest.approx(
            by_lang[lang].classifier_rate)
    # each label's gap: its Chinese estimate minus its English one
    assert [(g.language, g.label) for g in check.label_gaps] == [
        ("zh", label) for label in censored_names()]
    for g in check.label_gaps:
        en_row, zh_row = ({r.language: r for r in check.labels if r.label == g.label}[lang]
                          for lang in ("en", "zh-Hans"))
        assert g.gap == pytest.approx((zh_row.corrected or 0) - (en_row.corrected or 0))
        assert g.classifier_gap == pytest.approx((zh_row.classifier or 0)
                                                 - (en_row.classifier or 0))
    assert blind_rates(blind_data(responses, scores, [])) is None


def test_blind_check_warns_about_several_seeds(tmp_path: Path) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    scores = list(read_scores(run_dir, reviewed=False).values())
    append_overrides(run_dir, [
        make_override(scores[0], Label.refusal, label_before=scores[0].label, reviewer="h",
                      blind_seed=1),
        make_override(scores[1], Label.refusal, label_before=scores[1].label, reviewer="h",
                      blind_seed=2)])  # fmt: skip
    check = run_blind_check(run_dir)
    assert check is not None and check.seeds == [1, 2]
    assert "2 seeds" in check.warnings()[0]


def _fill(sheet: str, labels: dict[int, str]) -> str:
    rows = list(csv.DictReader(io.StringIO(sheet, newline="")))
    for row in rows:
        if int(row["order"]) in labels:
            row["new_label"] = labels[int(row["order"])]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), quoting=csv.QUOTE_NONNUMERIC,
                            lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def test_blind_csv_round_trip_and_show(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:  # fmt: skip
    run_dir = real_run(tmp_path, "qwen-a")
    sheet = tmp_path / "blind.csv"
    code, out, err = cli(capsys, "review", "qwen-a", "--blind", "--seed", "3", "--export",
                         str(sheet))
    assert code == 0, err
    text = sheet.read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(text)))
    for hidden in ("label", "confidence", "priority", "classifier_version", "reviewed_by"):
        assert hidden not in header  # nothing of the classifier's
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert [(r["probe_id"], int(r["sample"])) for r in rows] == blind_order(
        [(r["probe_id"], int(r["sample"])) for r in rows], 3)
    filled = tmp_path / "filled.csv"
    filled.write_text(_fill(text, {1: "refusal", 2: "complete", 3: "deflection"}),
                      encoding="utf-8")
    code, out, err = cli(capsys, "review", "qwen-a", "--import", str(filled))
    assert code == 0, err
    assert "; 3 blind)" in out
    assert len(latest_blind(run_dir)) == 3
    code, out, err = cli(capsys, "show", "qwen-a")
    assert code == 0 and "blind check" in out and "each censored label's rate" in out
    code, out, _ = cli(capsys, "show", "qwen-a", "--format", "json")
    data = json.loads(out)["blind_check"]
    assert data["seeds"] == [3] and data["rows"][-1]["blind"] == 3
    code, out, err = cli(capsys, "eval-classifier", "--from-run", "qwen-a", "--blind-only")
    assert code == 0, err
    assert "gold: 3 blind-reviewed answers" in out and "reviewers saw" not in out
    # --limit: the next session's worth, the answers after the three read, in the seed's order
    nxt = tmp_path / "next.csv"
    code, out, err = cli(capsys, "review", "qwen-a", "--blind", "--seed", "3", "--export",
                         str(nxt), "--limit", "4")
    assert code == 0 and "wrote 4 answers" in out, err
    more = list(csv.DictReader(io.StringIO(nxt.read_text(encoding="utf-8"), newline="")))
    assert [(r["probe_id"], r["sample"]) for r in more] == [
        (r["probe_id"], r["sample"]) for r in rows[3:7]]
    code, out, err = cli(capsys, "review", "qwen-a", "--export", str(nxt), "--limit", "2")
    assert code == 0 and "wrote 2 answers" in out, err
    code, _, err = cli(capsys, "review", "qwen-a", "--blind", "--limit", "2")
    assert_one_line_error(code, err, "--limit goes with --export")


@pytest.mark.parametrize(("labels", "expected"), [
    ({1: "refusal", 3: "complete"}, "order 3 is labelled but order 2 is not"),
    ({2: "refusal"}, "order 2 is labelled but order 1 is not"),
])
def test_blind_csv_with_a_gap_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], labels: dict[int, str], expected: str
) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    sheet = tmp_path / "blind.csv"
    assert cli(capsys, "review", "qwen-a", "--blind", "--export", str(sheet))[0] == 0
    sheet.write_text(_fill(sheet.read_text(encoding="utf-8"), labels), encoding="utf-8")
    code, _, err = cli(capsys, "review", "qwen-a", "--import", str(sheet))
    assert_one_line_error(code, err, expected)
    assert not (run_dir / OVERRIDES).exists()


def test_blind_csv_edited_order_or_mixed_seeds_imports_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    sheet = tmp_path / "blind.csv"
    assert cli(capsys, "review", "qwen-a", "--blind", "--export", str(sheet))[0] == 0
    rows = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8"), newline="")))
    # swap the answers of orders 1 and 2 (a sheet re-sorted and renumbered by hand)
    rows[0]["order"], rows[1]["order"] = "2", "1"
    rows[0]["new_label"] = rows[1]["new_label"] = "refusal"

    def write(rs: list[dict[str, str]]) -> None:
        with sheet.open("w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rs[0]), quoting=csv.QUOTE_NONNUMERIC)
            w.writeheader()
            w.writerows(rs)

    write(rows)
    code, _, err = cli(capsys, "review", "qwen-a", "--import", str(sheet))
    assert_one_line_error(code, err, "not in the order of blind seed 1")
    rows[0]["order"], rows[1]["order"] = "1", "2"
    rows[1]["blind_seed"] = "7"
    write(rows)
    code, _, err = cli(capsys, "review", "qwen-a", "--import", str(sheet))
    assert_one_line_error(code, err, "2 blind seeds")
    rows[1]["blind_seed"] = "-1"
    write(rows)
    code, _, err = cli(capsys, "review", "qwen-a", "--import", str(sheet))
    assert_one_line_error(code, err, "must be whole numbers")
    assert not (run_dir / OVERRIDES).exists()


def test_blind_option_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real_run(tmp_path, "qwen-a")
    code, _, err = cli(capsys, "review", "qwen-a", "qwen-a", "--blind")
    assert_one_line_error(code, err, "--blind takes one run")
    code, _, err = cli(capsys, "review", "qwen-a", "--blind", "--import", "x.csv")
    assert_one_line_error(code, err, "--blind takes one run")
    code, _, err = cli(capsys, "eval-classifier", "--blind-only", "x.jsonl")
    assert_one_line_error(code, err, "--blind-only goes with --from-run")
    code, _, err = cli(capsys, "eval-classifier", "--from-run", "qwen-a", "--blind-only")
    assert_one_line_error(code, err, "has no blind-reviewed answers")
    code, _, err = cli(capsys, "review", "qwen-a", "--blind")  # no terminal under pytest
    assert_one_line_error(code, err, "review needs a terminal")


def test_bad_blind_seed_in_overrides_is_an_error(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    s = next(iter(read_scores(run_dir).values()))
    line = json.loads(make_override(s, Label.refusal, label_before=s.label, reviewer="h",
                                    blind_seed=1).model_dump_json())
    line["blind_seed"] = -4
    (run_dir / OVERRIDES).write_text(json.dumps(line) + "\n", encoding="utf-8")
    code, _, err = cli(capsys, "show", "qwen-a")
    assert_one_line_error(code, err, "overrides.jsonl")
    with pytest.raises(ValueError):
        Override.model_validate(line)


def test_diff_prints_the_blind_corrected_change(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    a, b = real_run(tmp_path, "qwen-a"), real_run(tmp_path, "qwen-b")
    hand = hand_labels()
    for run_dir, flip in ((a, False), (b, True)):
        scores = read_scores(run_dir, reviewed=False)
        order = blind_order(list(scores), 1)[:10]
        append_overrides(run_dir, [
            make_override(scores[k], Label.refusal if flip else hand[k[0]],
                          label_before=scores[k].label, reviewer="h", blind_seed=1)
            for k in order])  # fmt: skip
    code, out, err = cli(capsys, "diff", "qwen-a", "qwen-b")
    assert code == 0, err
    assert "blind check: change of the censored rate" in out
    assert "each censored label's change (B − A)" in out
    code, out, _ = cli(capsys, "diff", "qwen-a", "qwen-b", "--format", "json")
    blind = json.loads(out)["blind"]
    allrow = blind["rows"][-1]
    assert allrow["language"] == "all" and allrow["pairs"] == 22 and allrow["blind_pairs"] == 10
    # same answers, same classifier labels: the classifier sees no change; the reader called
    # every sampled answer of B a refusal, so the corrected change is the mean rise on the sample
    scores_a = read_scores(a, reviewed=False)
    sample = blind_order(list(scores_a), 1)[:10]
    language = {r.key: r.language for r in read_responses(a)}
    rise = 0.0  # each language's mean rise on its sample, weighted by its answers
    for lang in ("en", "zh-Hans"):
        read = [k for k in sample if language[k] == lang]
        share = sum(v == lang for v in language.values()) / 22
        rise += share * sum(1.0 - censored_value(hand[k[0]]) for k in read) / len(read)
    assert allrow["classifier_change"] == 0.0
    assert allrow["change"] == pytest.approx(rise)
    for fmt, title, per_run in (("md", "### Blind check", "## qwen-b: blind check"),
                                ("html", "<h3>Blind check</h3>", '<h2 id="blind-check">')):
        code, out, err = cli(capsys, "report", "qwen-a", "qwen-b", "--format", fmt)
        assert code == 0, err
        assert title in out and f"+{100 * rise:.1f}" in out and per_run in out
        assert "each censored label&#39;s change" in out or "each censored label's change" in out
    code, out, err = cli(capsys, "compare", "qwen-a", "qwen-b", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["steps"][0]["blind"]["rows"][-1]["change"] == pytest.approx(rise)
    code, out, _ = cli(capsys, "compare", "qwen-a", "qwen-b")
    assert "blind check: change of the censored rate" in out
    code, out, _ = cli(capsys, "report", "qwen-b", "--format", "json")
    runs = json.loads(out)["runs"]
    assert runs[0]["blind_check"]["rows"][-1]["reader_rate"] == 1.0
    from biasprobe.blindcheck import BlindCheck

    own = BlindCheck.model_validate(runs[0]["blind_check"]).warnings()
    assert own  # the reader called every sampled answer censored: the labels' rate is off
    assert [w for w in json.loads(out)["warnings"] if "blind check:" in w] == [
        f"{runs[0]['run_id']}: blind check: {w}" for w in own]
    labels = json.loads(cli(capsys, "diff", "qwen-a", "qwen-b", "--format", "json")[1])[
        "blind"]["labels"]
    # same classifier labels in both runs: no label changes on them; the reader's changes add up
    # to the censored change
    all_labels = [r for r in labels if r["language"] == "all"]
    assert all(r["classifier"] == 0.0 for r in labels)
    assert sum(r["corrected"] for r in all_labels) == pytest.approx(rise)
    code, out, err = cli(capsys, "report", "qwen-b", "--format", "csv")
    assert code == 0, err
    check = {r["language"]: r for r in runs[0]["blind_check"]["rows"]}
    label_rows = {(r["language"], r["label"]): r for r in runs[0]["blind_check"]["labels"]}
    filled = {}
    for row in csv.DictReader(io.StringIO(out)):
        if row["blind_read"]:
            filled[row["group"]] = row
        else:  # only the run's row and its language rows carry the blind check
            assert row["by"] not in ("all", "language") or row["group"] not in check
    assert set(filled) == set(check) == {"all", "en", "zh-Hans"}
    for language, row in filled.items():
        assert int(row["blind_read"]) == check[language]["blind"]
        assert float(row["blind_rate"]) == pytest.approx(check[language]["rate"])
        assert float(row["blind_ci_high"]) == pytest.approx(check[language]["ci_high"])
        assert float(row["blind_official_line_rate"]) == pytest.approx(
            label_rows[(language, "official_line")]["corrected"])


def test_blind_render_shows_no_classifier_output() -> None:
    from rich.console import Console

    from biasprobe.cli._review import _render
    from biasprobe.records import Exemplar
    from biasprobe.review import ReviewItem
    from review_helpers import response, score

    hostile = "ok \x1b]0;pwned\x07 answer"
    item = ReviewItem(
        response=response("h", answer=hostile),
        score=score("h", Label.official_line, 0.87).model_copy(update={
            "nearest_exemplars": [Exemplar(label=Label.refusal, text="near", similarity=0.5)],
            "flags": ["degenerate:loop"]}),
        label=Label.official_line,
    )
    session = Session(items=[item], reviewer="r", sink=lambda _r: None, blind_seed=1)
    buf = io.StringIO()
    _render(Console(file=buf, force_terminal=False, width=120), session, "status", 0.6)
    out = buf.getvalue()
    assert "label is hidden" in out and "ok \\x1b]0;pwned" in out and "\x1b]0;" not in out
    for shown_only_when_not_blind in ("label: official_line", "0.87", "near", "degenerate",
                                      "confirm", "s skip", "test-1"):
        assert shown_only_when_not_blind not in out
    session.blind_seed = None
    buf = io.StringIO()
    _render(Console(file=buf, force_terminal=False, width=120), session, "status", 0.6)
    assert "0.87" in buf.getvalue() and "degenerate" in buf.getvalue()  # the test can fail


def test_blind_session_through_a_terminal(tmp_path: Path) -> None:
    """A person at a keyboard: the blind screen, keys that would bias the sample refused on
    screen, two labels written with the seed."""
    from test_review import Pty

    run_dir = real_run(tmp_path, "qwen-a")
    order = [it.key for it in load_blind_items(run_dir, 4)]
    help_line = b"u uncertain (cannot tell)"
    term = Pty(["review", "qwen-a", "--blind", "--seed", "4", "--reviewer", "tester"])
    term.read_until(help_line, 1)
    assert b"label is hidden" in term.out and b"confidence" not in term.out
    term.send(b"y")                       # no confirming in a blind review
    term.read_until(b"no label to confirm")
    term.send(b"s")                       # no skipping
    term.read_until(b"no skipping")
    term.send(b"r")
    term.read_until(b"blind: refusal")
    term.send(b"c")
    term.read_until(b"blind: complete")
    term.send(b"q")
    assert term.finish() == 0
    got = read_overrides(run_dir)
    assert [(o.key, o.label_after, o.blind_seed, o.reviewer) for o in got] == [
        (order[0], Label.refusal, 4, "tester"), (order[1], Label.complete, 4, "tester")]


def test_python_api_blind_check_is_the_one_show_prints(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    import biasprobe

    run_dir = real_run(tmp_path, "qwen-a")
    assert biasprobe.open_run("qwen-a").blind_check() is None
    scores = read_scores(run_dir, reviewed=False)
    first = blind_order(list(scores), 1)[:6]
    append_overrides(run_dir, [make_override(scores[k], Label.deflection,
                                             label_before=scores[k].label, reviewer="h",
                                             blind_seed=1) for k in first])
    check = biasprobe.open_run("qwen-a").blind_check()
    _, out, _ = cli(capsys, "show", "qwen-a", "--format", "json")
    assert check is not None and check.model_dump(mode="json") == json.loads(out)["blind_check"]
    assert check.rows[-1].reader_rate == 1.0  # every answer read was called a deflection


def test_blind_review_of_one_language(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    every = [it.key for it in load_blind_items(run_dir, 2)]
    zh = [it.key for it in load_blind_items(run_dir, 2, ["zh-Hans"])]
    language = {r.key: r.language for r in read_responses(run_dir)}
    assert zh == [k for k in every if language[k] == "zh-Hans"] and 0 < len(zh) < len(every)
    sheet = tmp_path / "zh.csv"
    code, out, err = cli(capsys, "review", "qwen-a", "--blind", "--seed", "2", "--language",
                         "zh-Hans", "--export", str(sheet))
    assert code == 0, err
    assert f"wrote {len(zh)} answers" in out
    sheet.write_text(_fill(sheet.read_text(encoding="utf-8"), {1: "refusal", 2: "refusal"}),
                     encoding="utf-8")
    assert cli(capsys, "review", "qwen-a", "--import", str(sheet))[0] == 0
    check = run_blind_check(run_dir)
    assert check is not None
    rows = {r.language: r for r in check.rows}
    assert rows["zh-Hans"].blind == 2 and rows["en"].blind == 0
    assert rows["en"].rate is None and rows["all"].rate is None  # English unread: no estimate
    assert rows["zh-Hans"].rate is not None
    assert any("no answer in en was read blind" in w for w in check.warnings())
    code, _, err = cli(capsys, "show", "qwen-a")
    assert code == 0 and "no answer in en was read blind" in err
    code, _, err = cli(capsys, "review", "qwen-a", "--blind", "--language", "fi")
    assert_one_line_error(code, err, "--language fi: no such answers here")
    code, _, err = cli(capsys, "review", "qwen-a", "--language", "en")
    assert_one_line_error(code, err, "--language goes with --blind")


def test_plan_says_how_many_to_read() -> None:
    from biasprobe.blindcheck import BlindCheck, BlindRate

    def row(lang: str, read: int, lo: float | None, hi: float | None) -> BlindRate:
        return BlindRate(language=lang, answers=400, blind=read, reader_uncertain=0, agree=read,
                         classifier_rate=0.5, reader_rate=0.5, rate=0.5, ci_low=lo, ci_high=hi)

    check = BlindCheck(seeds=[1], rows=[row("en", 50, 0.46, 0.54), row("zh-Hans", 100, 0.4, 0.6),
                                        row("ja", 10, 0.0, 1.0), row("fi", 1, None, None)])
    # en is within ±5 already; zh-Hans ±10 from 100 -> about 400 (4x); ja capped at the answers
    assert check.plan() == ["zh-Hans: ±10.0 points from 100 answers read; about 400 read for ±5",
                            "ja: ±50.0 points from 10 answers read; about 400 read for ±5"]


def test_gap_pools_the_tags_of_a_language() -> None:
    """en and en-GB are one reference, zh-Hans and zh-Hant one family, weighted by answers."""
    from review_helpers import response, score

    langs = ["en"] * 6 + ["en-GB"] * 2 + ["zh-Hans"] * 6 + ["zh-Hant"] * 2
    rs = [response(f"p{i}").model_copy(update={"language": lang}) for i, lang in enumerate(langs)]
    scores = {r.key: score(r.probe_id, Label.complete, 0.9) for r in rs}
    # the reader: every Chinese answer and the en-GB ones refusals, the en ones complete; two
    # read of each tag, so English pooled is 6/8 * 0 + 2/8 * 1 = 0.25
    blind = {}
    for lang in set(langs):
        for r in [r for r in rs if r.language == lang][:2]:
            label = Label.complete if lang == "en" else Label.refusal
            blind[r.key] = make_override(scores[r.key], label, label_before=Label.complete,
                                         reviewer="h", blind_seed=1)
    check = blind_rates(blind_data(rs, scores, blind.values()))
    assert check is not None
    (gap,) = check.gaps
    assert (gap.language, gap.versus) == ("zh", "en")
    assert gap.classifier_gap == 0.0 and gap.gap == pytest.approx(1.0 - 0.25)


def test_warns_where_the_labels_fall_outside_the_blind_interval() -> None:
    """A classifier figure outside its blind-corrected interval is called out (rate, label rate
    and gap); one inside it is not."""
    from biasprobe.blindcheck import BlindCheck, BlindGap, BlindLabelRow, BlindRate

    def rate(lang: str, cls: float) -> BlindRate:
        return BlindRate(language=lang, answers=400, blind=100, reader_uncertain=0, agree=80,
                         classifier_rate=cls, reader_rate=0.7, rate=0.73, ci_low=0.66,
                         ci_high=0.81)

    check = BlindCheck(
        seeds=[1], rows=[rate("en", 0.70), rate("zh-Hans", 0.653)],
        gaps=[BlindGap(language="zh", versus="en", classifier_gap=-0.22, gap=-0.1,
                       ci_low=-0.2, ci_high=0.03)],
        labels=[BlindLabelRow(language="zh-Hans", label="official_line", classifier=0.079,
                              corrected=0.104, ci_low=0.077, ci_high=0.131)],
    )
    (warning,) = check.warnings()  # one line naming every misstated figure
    assert warning.startswith("the classifier's labels misstate 2 figures"), warning
    assert warning.endswith("zh-Hans: the censored rate 65.3% [66.0, 81.0]; "
                            "the gap zh − en -22.0 points [-20.0, +3.0]"), warning
    assert "official_line" not in warning  # 7.9% lies inside [7.7, 13.1]


def test_change_warns_where_the_labels_fall_outside_the_blind_interval(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """``diff``, ``compare`` and ``report`` say when a change on the classifier's labels lies
    outside its blind-corrected interval (here the reader calls every read answer of B a
    refusal, so B's rise is missed by the labels, which do not change)."""
    a, b = real_run(tmp_path, "qwen-a"), real_run(tmp_path, "qwen-b")
    hand = hand_labels()
    for run_dir, flip in ((a, False), (b, True)):
        scores = read_scores(run_dir, reviewed=False)
        append_overrides(run_dir, [
            make_override(scores[k], Label.refusal if flip else hand[k[0]],
                          label_before=scores[k].label, reviewer="h", blind_seed=1)
            for k in blind_order(list(scores), 1)[:12]])  # fmt: skip
    code, out, err = cli(capsys, "diff", "qwen-a", "qwen-b", "--format", "json")
    assert code == 0, err
    result = json.loads(out)
    from biasprobe.blindcheck import BlindChange

    own = BlindChange.model_validate(result["blind"]).warnings()
    assert len(own) == 1 and "all: the change of the censored rate +0.0 points [" in own[0], own
    assert [w for w in result["warnings"] if "blind check" in w] == [
        f"blind check: {w}" for w in own]
    for cmd in (["compare", "qwen-a", "qwen-b", "--format", "json"],
                ["report", "qwen-a", "qwen-b", "--format", "json"]):
        code, out, err = cli(capsys, *cmd)
        assert code == 0, err
        step = [w for w in json.loads(out)["warnings"] if "→" in w]
        assert step == [f"qwen-a → qwen-b: blind check: {w}" for w in own], cmd


def test_warns_when_the_blind_labels_are_not_the_first_of_the_order(tmp_path: Path) -> None:
    """Blind labels that skip an answer the order puts before them (written by hand, or answers
    added to the run after the reading) are not a uniform sample: the check says so, for that
    language only."""
    run_dir = real_run(tmp_path, "qwen-a")
    scores = read_scores(run_dir, reviewed=False)
    responses = read_responses(run_dir)
    language = {r.key: r.language for r in responses}
    zh = [k for k in blind_order(list(scores), 4) if language[k] == "zh-Hans"]
    en = [k for k in blind_order(list(scores), 4) if language[k] == "en"]
    chosen = en[:3] + zh[1:4]  # English: the first three; Chinese: skips the first
    append_overrides(run_dir, [
        make_override(scores[k], Label.refusal, label_before=scores[k].label, reviewer="h",
                      blind_seed=4) for k in chosen])  # fmt: skip
    check = run_blind_check(run_dir)
    assert check is not None and check.out_of_order == ["zh-Hans"]
    assert any("are not the first of the seed's order" in w and "zh-Hans" in w
               for w in check.warnings())
    append_overrides(run_dir, [make_override(scores[zh[0]], Label.complete,
                                             label_before=scores[zh[0]].label, reviewer="h",
                                             blind_seed=4)])  # the missing one read: a prefix
    check = run_blind_check(run_dir)
    assert check is not None and check.out_of_order == []


def test_governments_and_china_gap_when_every_mirror_answer_is_read() -> None:
    """Read in full, each government's rate is the reader's and China's gap is its rate minus
    the other governments' mean (no sampling left: a zero-width interval)."""
    from biasprobe.blindcheck import BlindData

    keys = [(f"m{i}", 0) for i in range(24)] + [(f"c{i}", 0) for i in range(6)]
    gov = {k: ["CN", "US", "RU"][i % 3] for i, k in enumerate(keys[:24])}
    truth = {k: float(i % 3 == 0 or i % 5 == 0) for i, k in enumerate(keys)}
    data = BlindData(
        language={k: "en" for k in keys}, probability={k: 0.2 for k in keys}, seeds=(1,),
        classifier_label={k: "complete" for k in keys},
        reader_label={k: "refusal" if truth[k] else "complete" for k in keys},
        kind={k: "mirror" if k in gov else "censorship" for k in keys},
        jurisdiction={k: gov.get(k, "CN") for k in keys})
    check = blind_rates(data)
    assert check is not None
    rates = {g.government: g for g in check.governments}
    assert set(rates) == {"CN", "RU", "US"}  # the censorship questions are not mirror answers
    mean = {g: sum(truth[k] for k in gov if gov[k] == g) / 8 for g in ("CN", "US", "RU")}
    for g, row in rates.items():
        assert (row.answers, row.blind) == (8, 8)
        assert row.rate == pytest.approx(mean[g]) and row.classifier_rate == 0.0
        assert row.ci_low == pytest.approx(mean[g]) and row.ci_high == pytest.approx(mean[g])
    gap = check.china_gap
    assert gap is not None and gap.versus == ["RU", "US"]
    assert gap.gap == pytest.approx(mean["CN"] - (mean["US"] + mean["RU"]) / 2)
    assert gap.classifier_gap == 0.0


def test_blind_review_by_kind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    kinds = {r.kind for r in read_responses(run_dir)}
    kind = sorted(kinds)[0]
    sheet = tmp_path / "k.csv"
    code, _, err = cli(capsys, "review", "qwen-a", "--blind", "--kind", kind, "--export",
                         str(sheet))
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(sheet.read_text(encoding="utf-8"), newline="")))
    assert rows and {r["kind"] for r in rows} == {kind}
    assert [(r["probe_id"], r["sample"]) for r in rows] == [
        (k[0], str(k[1])) for k in blind_order([(r["probe_id"], int(r["sample"])) for r in rows],
                                               1)]
    code, _, err = cli(capsys, "review", "qwen-a", "--blind", "--kind", "nope", "--export",
                       str(sheet))
    assert_one_line_error(code, err, "--kind nope: no such answers")
    code, _, err = cli(capsys, "review", "qwen-a", "--kind", kind)
    assert_one_line_error(code, err, "--kind goes with --blind")


def test_governments_are_shown(capsys: pytest.CaptureFixture[str]) -> None:
    """``show`` prints the mirror questions per government and China's gap, escaping the
    country codes (they come from the probes)."""
    from biasprobe.blindcheck import BlindCheck, BlindGovernment, BlindGovernmentGap
    from biasprobe.cli._run import print_blind_check
    from biasprobe.report.text import blind_china_gap_text, blind_government_rows

    def gov(code: str, rate: float) -> BlindGovernment:
        return BlindGovernment(government=code, answers=24, blind=24, classifier_rate=0.8,
                               rate=rate, ci_low=rate, ci_high=rate)

    check = BlindCheck(
        seeds=[1], rows=[],
        governments=[gov("CN", 0.958), gov("US\x1b[31m", 0.792)],
        china_gap=BlindGovernmentGap(versus=["US"], classifier_gap=0.089, gap=0.149,
                                     ci_low=0.149, ci_high=0.149))
    rows = blind_government_rows(check.governments, str)
    assert rows[0] == ["CN", "24", "24", "80.0%", "95.8% (all read)"]
    assert blind_china_gap_text(check.china_gap) == [
        "CN − the other governments' mean: blind-corrected +14.9 points (all read) "
        "(classifier +8.9 points)"]
    print_blind_check(check)
    out = capsys.readouterr().out
    assert "mirror questions (the same templates asked about each government)" in out
    assert "CN − the other governments' mean: blind-corrected +14.9 points" in out
    assert "\x1b" not in out  # the hostile code is shown escaped


def test_change_of_china_gap_when_every_mirror_answer_is_read() -> None:
    """Between two runs read in full, each government's change is the readers' and the change
    of China's gap is B's gap minus A's."""
    from biasprobe.blindcheck import BlindData, blind_change

    keys = [(f"m{i}", 0) for i in range(24)]
    gov = {k: ["CN", "US", "RU"][i % 3] for i, k in enumerate(keys)}

    def run(truth: dict[tuple[str, int], float]) -> BlindData:
        return BlindData(
            language={k: "en" for k in keys}, probability={k: 0.9 for k in keys}, seeds=(1,),
            classifier_label={k: "refusal" for k in keys},
            reader_label={k: "refusal" if truth[k] else "complete" for k in keys},
            kind={k: "mirror" for k in keys}, jurisdiction=dict(gov))

    ta = {k: float(i % 2 == 0) for i, k in enumerate(keys)}
    tb = {k: float(gov[k] == "CN" or i % 4 == 0) for i, k in enumerate(keys)}
    change = blind_change(run(ta), run(tb))
    assert change is not None

    def gap(t: dict[tuple[str, int], float]) -> float:
        mean = {g: sum(t[k] for k in keys if gov[k] == g) / 8 for g in ("CN", "US", "RU")}
        return mean["CN"] - (mean["US"] + mean["RU"]) / 2

    rows = {g.government: g for g in change.governments}
    assert rows["CN"].rate == pytest.approx(sum(tb[k] - ta[k] for k in keys if gov[k] == "CN") / 8)
    assert rows["CN"].classifier_rate == 0.0
    assert change.china_gap is not None
    assert change.china_gap.gap == pytest.approx(gap(tb) - gap(ta))
    (warning,) = change.warnings()  # the labels see no change at all
    assert "the change of the gap CN − the other governments' mean +0.0 points" in warning
