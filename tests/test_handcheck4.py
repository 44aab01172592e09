"""The fourth hand check (tests/data/q15_handcheck4.jsonl): 100 greedy answers of the 1.5B model
(``qwen2.5-coder-1.5b-instruct``), a model no rule of the classifier was designed on. The file is
well formed and is exactly the seeded draw of ``benchmarks/draw_handcheck4.py`` (stratified by
language and kind) from the 840 probes of the built-in sets minus the ids of
``partial_refusals_1p5b.jsonl``; (slow, real embedder) the classifier beats the substring
baseline on it."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_helpers import (
    builtin_probes,
    check_handcheck_file,
    check_holds_on_handcheck,
    check_is_draw,
    check_kind_shares,
    json_rows,
    load_benchmark,
)

DATA = Path(__file__).parent / "data"
HANDCHECK4 = DATA / "q15_handcheck4.jsonl"
PARTIAL_1P5B = DATA / "partial_refusals_1p5b.jsonl"
RUN = "hc4-q15"


def test_handcheck4_is_well_formed() -> None:
    check_handcheck_file(HANDCHECK4, run=RUN)


def test_handcheck4_is_the_seeded_draw_disjoint_from_the_read_answers() -> None:
    probes = builtin_probes()
    seen = {r["id"] for r in json_rows(PARTIAL_1P5B)}
    mod = load_benchmark("draw_handcheck4")
    drawn = mod.draw(((p.id, p.language, p.kind.value) for p in probes.values()), seen)
    check_is_draw(json_rows(HANDCHECK4), drawn, seen, probes)


def test_draw_shares_each_language_among_the_kinds_in_proportion() -> None:
    mod = load_benchmark("draw_handcheck4")
    check_kind_shares(json_rows(HANDCHECK4), {r["id"] for r in json_rows(PARTIAL_1P5B)})
    assert mod.quotas({"censorship": 1, "mirror": 1}, 3) == {
        "censorship": 2,
        "mirror": 1,
        "neutral": 0,
        "benign-control": 0,
        "safety-control": 0,
    }


@pytest.mark.slow
def test_classifier_holds_on_the_unseen_model() -> None:
    """On a model no rule was designed on, the classifier still beats the substring baseline at
    telling answers that do not comply from complete ones, in each language; no answer hand-tagged
    as a repetition loop is labelled complete (the issue's rule) and no neutral control is called
    an official line. Figures: tests/data/README.md, "Fourth hand check"."""
    check_holds_on_handcheck(HANDCHECK4, beats_substring=("en", "zh", "all"), kinds_within=None)


def test_unreadable_inputs_are_one_error_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing or malformed file of excluded ids, or a folder with no answers, is one
    ``error:`` line and exit 2 (the drawing scripts share draw_handcheck2's readers)."""
    mod = load_benchmark("draw_handcheck4")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    good = tmp_path / "ids.jsonl"
    good.write_text('{"id": "x"}\n', encoding="utf-8")
    for argv in ([str(tmp_path / "missing.jsonl")], [str(bad)], [str(good), "--rows", str(tmp_path)]):
        monkeypatch.setattr("sys.argv", ["draw_handcheck4.py", *argv])
        assert mod.main() == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1, err
