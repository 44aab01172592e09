"""Loading a script of ``benchmarks/`` (not a package) as a module, for the tests of its logic,
and the checks the hand-check files share (each is 100 hand-labelled answers of one run,
``q05-full`` or, for the 1.5B model, ``hc4-q15``, drawn by a seeded script from the built-in
sets' probes)."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(name: str) -> ModuleType:
    """``benchmarks/<name>.py`` as module ``name``, registered in ``sys.modules`` (dataclasses and
    pydantic look a module's annotations up there)."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


HANDCHECK_LABELS = {"complete", "refusal", "deflection", "official_line"}


def json_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass(frozen=True)
class LanguageCounts:
    """A hand check's counts per language (the first two letters of ``language``): labels,
    tags, and notes marked "hard call", as tests/data/README.md states them."""

    labels: dict[str, Counter[str]]
    tags: dict[str, Counter[str]]
    hard: dict[str, int]


def language_counts(rows: list[dict[str, Any]], langs: tuple[str, ...]) -> LanguageCounts:
    of = {lang: [r for r in rows if r["language"][:2] == lang] for lang in langs}
    return LanguageCounts(
        labels={lang: Counter(r["label"] for r in rs) for lang, rs in of.items()},
        tags={lang: Counter(t for r in rs for t in r["tags"]) for lang, rs in of.items()},
        hard={lang: sum("hard call" in r["note"] for r in rs) for lang, rs in of.items()},
    )


def check_relabel_file(first: Path, relabel: Path) -> list[dict[str, Any]]:
    """A second labeller's file (``id``, ``label``, ``tags``, ``note``, ``first_label_known``)
    labels exactly the answers of the hand check ``first``, in its order, with known labels and
    tags and a note each; returns its rows."""
    second = json_rows(relabel)
    assert [r["id"] for r in second] == [r["id"] for r in json_rows(first)]
    for r in second:
        assert set(r) == {"id", "label", "tags", "note", "first_label_known"}, r["id"]
        assert r["label"] in HANDCHECK_LABELS, r["id"]
        assert set(r["tags"]) <= {"loop", "off_topic"} and r["note"].strip(), r["id"]
    return second


@dataclass(frozen=True)
class RelabelCounts:
    """A second labeller's counts: (language, label), tag, and hard calls per language (``en`` /
    ``zh``, from the first file's language)."""

    labels: Counter[tuple[str, str]]
    tags: Counter[str]
    hard: Counter[str]


def relabel_counts(first: Path, relabel: Path) -> RelabelCounts:
    """:class:`RelabelCounts` of the second labeller's file ``relabel`` of the hand check ``first``."""
    lang = {r["id"]: r["language"][:2] for r in json_rows(first)}
    second = json_rows(relabel)
    return RelabelCounts(
        labels=Counter((lang[r["id"]], r["label"]) for r in second),
        tags=Counter(t for r in second for t in r["tags"]),
        hard=Counter(lang[r["id"]] for r in second if "hard call" in r["note"]),
    )


def labeller_agreement_of(first: Path, relabel: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """``benchmarks/labeller_agreement.py``'s paired rows and agreement figures of two labellers."""
    mod = load_benchmark("labeller_agreement")
    rows = mod.read_pair(first, relabel)
    return rows, mod.agreement(rows)


def classifier_vs_labellers(first: Path, relabel: Path) -> tuple[dict[str, tuple[Any, ...]], int, int]:
    """The classifier (best guess) against each labeller (slow: runs the classifier): per group
    (first, second, both-agree n, agreement on those), the first labeller's misses over all, and
    how many of them the second labeller sides with the classifier on."""
    mod = load_benchmark("labeller_agreement")
    rows = mod.read_pair(first, relabel)
    clf = mod.classifier_agreement(rows, mod.classify(rows))
    got = {g: (m["first"], m["second"], m["both_agree_n"], m["on_agreed"]) for g, m in clf.items()}
    return got, clf["all"]["misses_of_first"], clf["all"]["misses_of_first_where_second_agrees"]


def check_handcheck_file(path: Path, run: str = "q05-full") -> list[dict[str, Any]]:
    """A hand-check file's rows, after checking it is well formed: 100 distinct ids, 50 English
    and 50 Chinese, a known label, only loop/off_topic tags, a request, answer and note each, all
    written by ``run``."""
    rows = json_rows(path)
    assert len({r["id"] for r in rows}) == len(rows) == 100
    langs = Counter("zh" if r["language"].startswith("zh") else r["language"] for r in rows)
    assert langs == {"en": 50, "zh": 50}
    for r in rows:
        assert r["label"] in HANDCHECK_LABELS, r["id"]
        assert set(r["tags"]) <= {"loop", "off_topic"}, r["id"]
        assert r["prompt"].strip() and r["response"].strip() and r["note"].strip(), r["id"]
        assert r["run"] == run, r["id"]
    return rows


def check_handcheck_layout(path: Path, run: str, like: Path, languages: dict[str, int]) -> None:
    """:func:`check_handcheck_file`, and: every row has the fields of ``like`` (an earlier
    check) in its order, a finish reason of ``stop`` or ``length``, and the language tags
    ``languages`` (Simplified and Traditional Chinese apart)."""
    rows = check_handcheck_file(path, run=run)
    fields = list(json_rows(like)[0])
    assert all(list(r) == fields for r in rows)
    assert all(r["finish_reason"] in {"stop", "length"} for r in rows)
    assert Counter(r["language"] for r in rows) == Counter(languages)


def builtin_probes() -> dict[str, Any]:
    """The 840 probes of ``-p china-sensitive -p mirror -p controls`` by id."""
    from biasprobe.probes import load_sets

    probes = {p.id: p for s in load_sets(["china-sensitive", "mirror", "controls"]) for p in s.probes}
    assert len(probes) == 840
    return probes


def check_is_draw(
    rows: Iterable[dict[str, Any]], drawn: list[str], excluded: set[str], probes: dict[str, Any]
) -> None:
    """The file's rows are exactly ``drawn``, none excluded, each carrying its probe's request,
    language and kind."""
    rows = list(rows)
    assert [r["id"] for r in rows] == drawn
    assert not excluded & set(drawn)
    for r in rows:
        p = probes[r["id"]]
        assert (r["prompt"], r["language"], r["kind"]) == (p.text, p.language, p.kind.value), r["id"]


@dataclass(frozen=True)
class Pool:
    """What a seeded draw left to draw from: the excluded ids' count, the probes left per language
    (English; Chinese, Simplified and Traditional together) and per kind."""

    excluded: int
    english: int
    chinese: int
    kinds: dict[str, int]


def check_seeded_draw(
    path: Path, excluded_files: Iterable[Path], seed: int, pool: Pool, kinds: dict[str, int], cut: int
) -> None:
    """A hand check drawn by ``benchmarks/draw_handcheck3.py --seed SEED`` (the seventh check on):
    the pool left by ``excluded_files`` is ``pool``, the file is exactly the seeded draw (another
    seed draws otherwise), none of it excluded, its rows' kinds are ``kinds`` and ``cut`` answers
    stop at the token limit."""
    probes = builtin_probes()
    mod = load_benchmark("draw_handcheck3")
    excluded = mod.excluded_ids(tuple(excluded_files))
    assert len(excluded) == pool.excluded
    left = [p for p in probes.values() if p.id not in excluded]
    assert sum(p.language == "en" for p in left) == pool.english
    assert sum(p.language.startswith("zh") for p in left) == pool.chinese
    assert Counter(p.kind.value for p in left) == Counter(pool.kinds)
    drawn = mod.draw(((p.id, p.language) for p in probes.values()), excluded, seed=seed)
    assert drawn != mod.draw(((p.id, p.language) for p in probes.values()), excluded, seed=seed - 1)
    rows = json_rows(path)
    check_is_draw(rows, drawn, excluded, probes)
    assert Counter(r["kind"] for r in rows) == Counter(kinds)
    assert sum(r["finish_reason"] == "length" for r in rows) == cut


def check_kind_shares(rows: list[dict[str, Any]], excluded: set[str]) -> None:
    """Each language's 50 rows are shared among the probe kinds in proportion to the pool of
    built-in probes not ``excluded`` (within one), exactly as ``draw_handcheck4.quotas`` says."""
    mod = load_benchmark("draw_handcheck4")
    probes = [p for p in builtin_probes().values() if p.id not in excluded]
    for lang in ("en", "zh"):
        pool = Counter(p.kind.value for p in probes if p.language[:2] == lang)
        got = Counter(r["kind"] for r in rows if r["language"][:2] == lang)
        assert sum(got.values()) == 50
        for kind, n in got.items():
            assert abs(n - 50 * pool[kind] / sum(pool.values())) < 1, (lang, kind)
        assert got == Counter({k: v for k, v in mod.quotas(pool).items() if v}), lang


def check_holds_on_handcheck(
    path: Path,
    *,
    beats_substring: tuple[str, ...] = ("zh", "all"),
    kinds_within: float | None = 0.08,
    loops_complete: int = 0,
) -> None:
    """What must hold on a hand check for any honest classifier (the slow tests of hand checks
    4-6): the classifier beats the substring baseline's refusal-F1 in ``beats_substring``; its
    four-way agreement is within ``kinds_within`` of its complete-vs-not agreement in English and
    Chinese (the censored kinds are told apart; None: not checked); at most ``loops_complete``
    hand-tagged loops are labelled complete; no neutral control is called an official line."""
    mod = load_benchmark("eval_handcheck")
    rows = mod.read_rows(path)
    res = mod.report(rows, mod.classify(rows, True))
    for lang in beats_substring:
        assert res[lang]["refusal_f1"] > res[lang]["baseline_refusal_f1"], (lang, res[lang])
    if kinds_within is not None:
        for lang in ("en", "zh"):
            assert res[lang]["agreement"] >= res[lang]["binary_agreement"] - kinds_within, (lang, res[lang])
    loops = res["loop_labelled_complete"]
    assert res["loop_answers"] > 0 and len(loops) <= loops_complete, loops
    assert res["neutral_official_line"]["classifier"] == 0, res["neutral_official_line"]
