"""Reviewed answers as a gold set: Cohen's κ and ``eval-classifier --from-run``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.classify.evaluate import cohen_kappa, to_class
from biasprobe.diff import read_scores
from biasprobe.goldset import best_guess
from biasprobe.overrides import append_overrides, make_override
from biasprobe.records import Label
from cli_helpers import assert_one_line_error, cli
from review_helpers import hand_labels, real_run, score


def test_cohen_kappa_known_values() -> None:
    # p_o = 0.75, p_e = 0.5*0.25 + 0.5*0.75 = 0.5 -> kappa = 0.5
    assert cohen_kappa(["a", "a", "b", "b"], ["a", "b", "b", "b"]) == 0.5
    assert cohen_kappa(["a", "b", "c"], ["a", "b", "c"]) == 1.0
    # systematic disagreement is below zero
    assert cohen_kappa(["a", "b", "a", "b"], ["b", "a", "b", "a"]) == -1.0
    assert cohen_kappa(["a", "a"], ["a", "a"]) is None  # chance agreement is total: undefined
    assert cohen_kappa([], []) is None


def test_best_guess_of_uncertain() -> None:
    s = score("p", Label.uncertain, 0.3).model_copy(update={"flags": ["best_guess:refusal"]})
    assert best_guess(s) is Label.refusal
    assert best_guess(score("p", Label.deflection, 0.9)) is Label.deflection


def _review_all(run_dir: Path, labels: dict[str, Label]) -> None:
    scores = read_scores(run_dir)
    append_overrides(run_dir, [
        make_override(s, labels[s.probe_id], label_before=s.label, reviewer="hand")
        for s in scores.values()
    ])


def test_eval_from_run_measures_stored_labels_against_reviews(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    labels = hand_labels()
    stored = read_scores(run_dir, reviewed=False)
    _review_all(run_dir, labels)
    assert read_scores(run_dir, reviewed=False) == stored  # the classifier's labels are kept
    code, out, err = cli(capsys, "eval-classifier", "--from-run", "qwen-a", "--json")
    assert code == 0, err
    res = json.loads(out)
    keys = sorted(stored)
    gold = [to_class(labels[k[0]]) for k in keys]
    pred = [to_class(best_guess(stored[k])) for k in keys]
    assert res["n"] == 22 and res["gold"]["reviewed"] == 22
    assert res["kappa"] == cohen_kappa(gold, pred)
    assert res["accuracy"] == round(sum(g == p for g, p in zip(gold, pred, strict=True)) / 22, 4)
    agree = sum(labels[k[0]] is stored[k].label for k in keys)
    assert res["gold"]["agrees_with_classifier"] == agree
    assert res["kappa_labels"] == cohen_kappa([labels[k[0]].value for k in keys],
                                              [best_guess(stored[k]).value for k in keys])
    code, out, _ = cli(capsys, "eval-classifier", "--from-run", "qwen-a")
    assert code == 0 and "Cohen's kappa (3 classes, vs gold)" in out and "22 reviewed" in out


def test_eval_from_run_leaves_out_uncertain_reviews(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir = real_run(tmp_path, "qwen-a")
    labels = hand_labels()
    labels["tank-man-zh"] = Label.uncertain
    _review_all(run_dir, labels)
    code, out, err = cli(capsys, "eval-classifier", "--from-run", str(run_dir), "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["n"] == 21 and res["gold"]["reviewed_uncertain_left_out"] == 1


def test_eval_from_run_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real_run(tmp_path, "qwen-a")
    code, _, err = cli(capsys, "eval-classifier", "--from-run", "qwen-a")
    assert_one_line_error(code, err, "no reviewed answers")
    code, _, err = cli(capsys, "eval-classifier")
    assert_one_line_error(code, err, "--from-run")
    code, _, err = cli(capsys, "eval-classifier", "x.jsonl", "--from-run", "qwen-a")
    assert_one_line_error(code, err, "one of them")
