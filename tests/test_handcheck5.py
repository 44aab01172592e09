"""The fifth hand check (tests/data/q15_handcheck5.jsonl): 100 greedy answers of the 1.5B model
(``qwen2.5-coder-1.5b-instruct``) to probes no rule designer had read, labelled blind. The file is
well formed and is exactly the seeded draw of ``benchmarks/draw_handcheck4.py --seed 1605``
(stratified by language and kind) from the 840 probes of the built-in sets minus the ids of
``q15_handcheck4.jsonl``, ``partial_refusals_1p5b.jsonl`` and ``declines_1p5b.jsonl`` (the 1.5B
answers already read). Slow: what the classifier must hold on it (lead, after labelling)."""

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
HANDCHECK5 = DATA / "q15_handcheck5.jsonl"
READ_1P5B = [
    DATA / "q15_handcheck4.jsonl",
    DATA / "partial_refusals_1p5b.jsonl",
    DATA / "declines_1p5b.jsonl",
]
RUN = "hc5-q15"
SEED = 1605


def _seen() -> set[str]:
    return {r["id"] for path in READ_1P5B for r in json_rows(path)}


def test_handcheck5_is_well_formed() -> None:
    check_handcheck_file(HANDCHECK5, run=RUN)


def test_handcheck5_is_the_seeded_draw_disjoint_from_the_read_answers() -> None:
    probes = builtin_probes()
    seen = _seen()
    assert len(seen) == 100 + 64 + 16
    mod = load_benchmark("draw_handcheck4")
    drawn = mod.draw(((p.id, p.language, p.kind.value) for p in probes.values()), seen, SEED)
    check_is_draw(json_rows(HANDCHECK5), drawn, seen, probes)
    assert drawn != mod.draw(((p.id, p.language, p.kind.value) for p in probes.values()), seen)


def test_handcheck5_shares_each_language_among_the_kinds_in_proportion() -> None:
    check_kind_shares(json_rows(HANDCHECK5), _seen())


def test_handcheck5_shares_no_id_with_the_fourth_check() -> None:
    fourth = {r["id"] for r in json_rows(DATA / "q15_handcheck4.jsonl")}
    assert not fourth & {r["id"] for r in json_rows(HANDCHECK5)}


def test_seed_option_draws_the_fifth_check_and_keeps_the_fourth(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``draw_handcheck4.py --seed 1605`` with the three files writes this file's probes; without
    ``--seed`` it still writes the fourth check's."""
    import json

    mod = load_benchmark("draw_handcheck4")
    for argv, path in (
        (["--seed", str(SEED), *map(str, READ_1P5B)], HANDCHECK5),
        ([str(DATA / "partial_refusals_1p5b.jsonl")], DATA / "q15_handcheck4.jsonl"),
    ):
        monkeypatch.setattr("sys.argv", ["draw_handcheck4.py", *argv])
        assert mod.main() == 0
        probes = json.loads(capsys.readouterr().out)["probes"]
        assert [p["id"] for p in probes] == [r["id"] for r in json_rows(path)], path.name


@pytest.mark.slow
def test_classifier_on_the_fifth_check() -> None:
    """Blind: no rule designer read these answers. The classifier beats the substring baseline at
    complete vs not in Chinese and over both languages (not in English: on this draw the 1.5B
    model's English declines nearly all use a listed phrase, and the substring list is ahead,
    tests/data/README.md); no hand-tagged loop is labelled complete, no neutral control an
    official line, and the first-person declines are refusals (four-way agreement above
    complete-vs-not agreement minus 0.08 in each language; classifier 0.7.0, before the
    declines rule, was 0.10 below it in English)."""
    check_holds_on_handcheck(HANDCHECK5)
