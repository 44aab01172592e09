"""The Japanese and Russian hand checks (issue 16, item 4): the 60 greedy answers of the default
model (run ``q05-jaru-1204``, tests/data/jaru_handcheck.jsonl) and of the 1.5B model (run
``q15-jaru-1204``, tests/data/jaru15_handcheck.jsonl) to the 60 probes of ``probes/ja-ru.yaml``,
each hand-labelled blind. Fast, no model: the files are well formed, answer exactly the probe
set, and their counts are those of tests/data/README.md ("Japanese and Russian hand check" and
"..., 1.5B model"); the probe set loads with 30 Japanese and 30 Russian probes, each sharing the
pair id of an English / Chinese original in the other built-in sets."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from bench_helpers import HANDCHECK_LABELS, json_rows, language_counts
from biasprobe.errors import ProbeError
from biasprobe.probes import builtin_sets, load_sets, validate_files

DATA = Path(__file__).parent / "data"
JARU = DATA / "jaru_handcheck.jsonl"
RUN = "q05-jaru-1204"


def _jaru_probes() -> dict:
    return {p.id: p for s in load_sets(["ja-ru"]) for p in s.probes}


def test_jaru_probe_set_loads_with_30_ja_and_30_ru() -> None:
    assert "ja-ru" in builtin_sets()
    probes = _jaru_probes()
    assert Counter(p.language for p in probes.values()) == Counter(ja=30, ru=30)
    assert Counter(p.kind.value for p in probes.values()) == Counter(
        {"censorship": 40, "mirror": 10, "neutral": 6, "benign-control": 4}
    )
    assert all(p.id == f"{p.pair_id}-{p.language}" for p in probes.values())
    assert all("translation written for biasprobe" in (p.source or "") for p in probes.values())


def test_jaru_pairs_link_to_their_originals() -> None:
    """Every ja / ru probe reuses the pair id of an EN + zh-Hans original in another built-in set,
    with the same topic, kind, jurisdiction and template id; all built-in sets validate together."""
    others = [n for n in builtin_sets() if n != "ja-ru"]
    originals: dict[str, list] = {}
    for s in load_sets(others):
        for p in s.probes:
            if p.pair_id:
                originals.setdefault(p.pair_id, []).append(p)
    for p in _jaru_probes().values():
        pair = originals[p.pair_id]
        assert {"en", "zh-Hans"} <= {q.language for q in pair}, p.id
        for q in pair:
            for attr in ("topic", "kind", "jurisdiction", "template_id"):
                assert getattr(p, attr) == getattr(q, attr), (p.id, attr)
    validate_files()  # all built-in sets: the pairs spanning files are complete
    with pytest.raises(ProbeError, match="a pair may span files"):
        validate_files(["ja-ru"])  # alone, its originals are missing


def _check_rows(rows: list[dict[str, Any]], run: str) -> None:
    """Each row is its probe's (request, language, kind, topic), labelled, from ``run``."""
    probes = _jaru_probes()
    for r in rows:
        p = probes[r["id"]]
        assert (r["prompt"], r["language"], r["kind"], r["topic"]) == (
            p.text, p.language, p.kind.value, p.topic
        ), r["id"]
        assert r["label"] in HANDCHECK_LABELS, r["id"]
        assert set(r["tags"]) <= {"loop", "off_topic"}, r["id"]
        assert r["response"].strip() and r["note"].strip(), r["id"]
        assert r["run"] == run, r["id"]
        assert r["finish_reason"] in {"stop", "length"}, r["id"]


def test_jaru_handcheck_is_well_formed() -> None:
    rows = json_rows(JARU)
    fields = list(json_rows(DATA / "q05_handcheck6.jsonl")[0])  # the layout of the sixth check
    assert all(list(r) == fields for r in rows)
    assert len({r["id"] for r in rows}) == len(rows) == 60
    assert {r["id"] for r in rows} == set(_jaru_probes())  # every probe of the set, once
    _check_rows(rows, RUN)
    assert Counter(r["finish_reason"] for r in rows if r["language"] == "ja")["length"] == 21
    assert Counter(r["finish_reason"] for r in rows if r["language"] == "ru")["length"] == 16


def test_jaru_handcheck_counts_match_the_readme() -> None:
    """The label, tag and hard-call counts in tests/data/README.md ("Japanese and Russian hand
    check")."""
    rows = json_rows(JARU)
    counts = language_counts(rows, ("ja", "ru"))
    assert counts.labels["ja"] == Counter(deflection=24, complete=4, official_line=2)
    assert counts.labels["ru"] == Counter(deflection=21, complete=8, refusal=1)
    assert counts.tags["ja"] == Counter(loop=13, off_topic=11)
    assert counts.tags["ru"] == Counter(loop=5, off_topic=13)
    assert counts.hard == {"ja": 10, "ru": 10}


# The second hand check: the 1.5B model's 60 answers to the same probes (run ``q15-jaru-1204``),
# tests/data/README.md ("Japanese and Russian hand check, 1.5B model").
JARU15 = DATA / "jaru15_handcheck.jsonl"
RUN15 = "q15-jaru-1204"


def test_jaru15_handcheck_is_well_formed() -> None:
    rows = json_rows(JARU15)
    fields = list(json_rows(JARU)[0])  # the layout of the default model's check
    assert all(list(r) == fields for r in rows)
    assert [r["id"] for r in rows] == [r["id"] for r in json_rows(JARU)]  # same probes, same order
    _check_rows(rows, RUN15)
    by_default = {r["id"]: r["response"] for r in json_rows(JARU)}
    assert all(r["response"] != by_default[r["id"]] for r in rows)  # another model's answers
    assert Counter(r["finish_reason"] for r in rows if r["language"] == "ja")["length"] == 17
    assert Counter(r["finish_reason"] for r in rows if r["language"] == "ru")["length"] == 18


def test_jaru15_handcheck_counts_match_the_readme() -> None:
    """The label, tag and hard-call counts in tests/data/README.md ("Japanese and Russian hand
    check, 1.5B model")."""
    rows = json_rows(JARU15)
    counts = language_counts(rows, ("ja", "ru"))
    assert counts.labels["ja"] == Counter(deflection=14, complete=11, refusal=3, official_line=2)
    assert counts.labels["ru"] == Counter(deflection=16, complete=13, official_line=1)
    assert counts.tags["ja"] == Counter(loop=6, off_topic=8)
    assert counts.tags["ru"] == Counter(loop=4, off_topic=9)
    assert counts.hard == {"ja": 16, "ru": 16}
    # five Japanese answers are written in Chinese (the note says so), none of the Russian ones
    in_chinese = {r["id"] for r in rows if "answered in Chinese" in r["note"]}
    assert in_chinese == {
        "cs-tam-june4-ja",
        "cs-tam-taboo-ja",
        "mirror-critics-fate-cn-ja",
        "taiwan-status-ja",
        "tiananmen-1989-ja",
    }
