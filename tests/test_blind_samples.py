"""The two blind random samples (``tests/data/q05_blind_seed1.jsonl``, ``q15_blind_seed1.jsonl``):
each is exactly the first 100 answers of blind seed 1's order over the 840 built-in probes, in
that order, with its probe's request, language and kind, a known label and a note; the two
samples are the same prompts (one seed: the change between the models is paired); the Chinese
follow-ups are the next 55 of the seed's Chinese order, and the second follow-ups the 60 after
them; the English follow-ups the next 60 of its English order; the Traditional-Chinese
follow-ups the rest of that language's 32; the mirror follow-ups every mirror answer not read
before."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from bench_helpers import HANDCHECK_LABELS, builtin_probes, check_is_draw, json_rows
from biasprobe.blindcheck import blind_order

DATA = Path(__file__).parent / "data"


def _files(suffix: str) -> dict[str, Path]:
    """One blind file of each full run (``suffix``: which reading round)."""
    return {f"{model}-full-1204": DATA / f"{model}_blind_seed1{suffix}.jsonl"
            for model in ("q05", "q15")}


FILES, ZH_FILES, ZH2_FILES = _files(""), _files("_zh"), _files("_zh2")
EN2_FILES, ZHT_FILES, MIRROR_FILES = _files("_en2"), _files("_zht"), _files("_mirror")
EARLIER = (FILES, ZH_FILES, ZH2_FILES, EN2_FILES, ZHT_FILES)


@pytest.mark.parametrize("run", sorted(FILES))
def test_sample_is_the_first_100_of_seed_1(run: str) -> None:
    probes = builtin_probes()
    drawn = [pid for pid, _ in blind_order([(p, 0) for p in probes], 1)[:100]]
    assert drawn != [pid for pid, _ in blind_order([(p, 0) for p in probes], 2)[:100]]
    rows = json_rows(FILES[run])
    check_is_draw(rows, drawn, set(), probes)
    assert [r["order"] for r in rows] == list(range(1, 101))
    for r in rows:
        assert (r["run"], r["sample"], r["blind_seed"]) == (run, 0, 1)
        assert r["label"] in HANDCHECK_LABELS, r["id"]
        assert r["response"].strip() and r["finish_reason"] in {"stop", "length"}, r["id"]
    assert Counter(r["language"] for r in rows) == {"en": 52, "zh-Hans": 45, "zh-Hant": 3}


def _order(language: str | None = None, kind: str | None = None) -> list[str]:
    """Seed 1's order of the built-in probes, restricted to a language or a kind."""
    probes = builtin_probes()
    return [pid for pid, _ in blind_order([(p, 0) for p in probes], 1)
            if language in (None, probes[pid].language) and kind in (None, probes[pid].kind)]


def _check_follow_up(path: Path, run: str, drawn: list[str], first_order: int) -> None:
    """A follow-up file is exactly ``drawn`` (its probes' requests, languages and kinds), in
    order from ``first_order``, of ``run`` and seed 1, every row labelled."""
    rows = json_rows(path)
    check_is_draw(rows, drawn, set(), builtin_probes())
    assert [r["order"] for r in rows] == list(range(first_order, first_order + len(drawn)))
    assert all((r["run"], r["sample"], r["blind_seed"]) == (run, 0, 1) for r in rows)
    assert all(r["label"] in HANDCHECK_LABELS for r in rows)


def _first(run: str, language: str) -> list[str]:
    return [r["id"] for r in json_rows(FILES[run]) if r["language"] == language]


@pytest.mark.parametrize("run", sorted(FILES))
def test_chinese_sample_is_the_next_55_of_the_chinese_order(run: str) -> None:
    """``review --blind --language zh-Hans`` after the first sample: the Chinese order of the
    seed restricted to zh-Hans, from its 46th answer (the first 45 were in the first sample),
    then (the second follow-up) answers 101-160."""
    zh_order = _order(language="zh-Hans")
    assert _first(run, "zh-Hans") == zh_order[:45]
    _check_follow_up(ZH_FILES[run], run, zh_order[45:100], 46)
    _check_follow_up(ZH2_FILES[run], run, zh_order[100:160], 101)


@pytest.mark.parametrize("run", sorted(FILES))
def test_english_follow_up_is_the_next_60_of_the_english_order(run: str) -> None:
    """``review --blind --language en --export --limit 60`` after the first sample: English
    answers 53-112 of the seed's English order (the first 52 were in the first sample)."""
    en_order = _order(language="en")
    assert _first(run, "en") == en_order[:52]
    _check_follow_up(EN2_FILES[run], run, en_order[52:112], 53)


@pytest.mark.parametrize("run", sorted(FILES))
def test_traditional_chinese_follow_up_is_the_rest_of_its_order(run: str) -> None:
    """``review --blind --language zh-Hant --export`` after the first sample: the other 29 of
    the 32 Traditional-Chinese answers, in the seed's order (every one of them is then read)."""
    zht_order = _order(language="zh-Hant")
    assert len(zht_order) == 32 and _first(run, "zh-Hant") == zht_order[:3]
    _check_follow_up(ZHT_FILES[run], run, zht_order[3:], 4)


@pytest.mark.parametrize("run", sorted(FILES))
def test_mirror_follow_up_is_every_mirror_answer_not_read_before(run: str) -> None:
    """``review --blind --kind mirror --export`` after the other files: the mirror answers they
    had not read, in the seed's order (so every mirror answer of the run is then read)."""
    before = {r["id"] for files in EARLIER for r in json_rows(files[run])}
    mirror_order = _order(kind="mirror")
    rest = [p for p in mirror_order if p not in before]
    assert len(mirror_order) == 192 and len(mirror_order) - len(rest) == 61
    _check_follow_up(MIRROR_FILES[run], run, rest, 1)


# Label counts of each file, as tests/data/README.md states them: (refusal, deflection,
# complete, official_line) for the default model's run, then the 1.5B model's.
COUNTS = {
    "": ((45, 28, 19, 8), (42, 13, 38, 7)),
    "_zh": ((8, 26, 14, 7), (15, 9, 25, 6)),
    "_zh2": ((11, 21, 23, 5), (16, 8, 29, 7)),
    "_en2": ((46, 6, 5, 3), (35, 7, 15, 3)),
    "_zht": ((0, 13, 7, 9), (3, 7, 13, 6)),
    "_mirror": ((61, 43, 23, 4), (55, 17, 58, 1)),
}


@pytest.mark.parametrize("suffix", sorted(COUNTS))
def test_label_counts_are_the_documented_ones(suffix: str) -> None:
    names = ("refusal", "deflection", "complete", "official_line")
    for model, want in zip(("q05", "q15"), COUNTS[suffix], strict=True):
        got = Counter(r["label"] for r in json_rows(DATA / f"{model}_blind_seed1{suffix}.jsonl"))
        assert got == Counter({n: k for n, k in zip(names, want, strict=True) if k}), model
