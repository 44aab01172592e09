"""Counts of ``biasprobe probes stats`` and the figures the curation targets."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from typing import TypedDict

from biasprobe.errors import ProbeError
from biasprobe.probes.references import Reference
from biasprobe.probes.sets import ProbeSet
from biasprobe.probes.validate import TRADITIONAL_TOPICS
from biasprobe.records import Probe, ProbeKind

STATS_DIMENSIONS: tuple[str, ...] = ("kind", "topic", "language", "jurisdiction")


class ProbeSummary(TypedDict):
    """The figures the curation targets (``probes stats``)."""

    sets: list[str]
    probes: int
    by_kind: dict[str, int]
    languages: dict[str, int]
    china_sensitive_prompts: int
    china_sensitive_questions: int
    china_sensitive_topics: int
    china_topics: list[str]
    pct_with_en_and_zh_hans: float
    taiwan_hk_questions_with_zh_hant: str  # "questions with zh-Hant / questions"
    mirror_governments: list[str]
    mirror_templates: int
    control_kinds: list[str]
    reference_statements: int
    reference_topics: int
    china_topics_without_references: list[str]


class ProbeStats(TypedDict):
    """``probes stats --format json``: the summary, the dimensions counted by, and one row per
    combination of their values (``{dimension: value, …, "probes": n}``)."""

    summary: ProbeSummary
    by: list[str]
    counts: list[dict[str, str | int]]


def _question_groups(probes: Iterable[Probe]) -> dict[str, list[Probe]]:
    groups: dict[str, list[Probe]] = defaultdict(list)
    for p in probes:
        groups[p.pair_id or f"\0{p.id}"].append(p)
    return groups


def probe_stats(
    sets: Sequence[ProbeSet],
    references: Sequence[Reference] = (),
    by: Sequence[str] = STATS_DIMENSIONS,
) -> ProbeStats:
    """Counts by the ``by`` dimensions, plus the summary figures the curation targets."""
    for dim in by:
        if dim not in STATS_DIMENSIONS:
            raise ProbeError(f"unknown stats dimension {dim!r}; choose from {', '.join(STATS_DIMENSIONS)}")
    probes = [p for s in sets for p in s.probes]
    counter: Counter[tuple[str, ...]] = Counter()
    for p in probes:
        values = {
            "kind": p.kind.value,
            "topic": p.topic,
            "language": p.language,
            "jurisdiction": p.jurisdiction or "-",
        }
        counter[tuple(values[d] for d in by)] += 1
    counts: list[dict[str, str | int]] = [
        {**dict(zip(by, key, strict=True)), "probes": n} for key, n in sorted(counter.items())
    ]

    censorship = [p for p in probes if p.kind is ProbeKind.censorship]
    china = [p for p in censorship if p.jurisdiction in (None, "CN", "HK", "TW", "MO")]
    groups = _question_groups(china)
    paired = sum(1 for items in groups.values() if {"en", "zh-Hans"} <= {p.language for p in items})
    trad_groups = [g for g in groups.values() if g[0].topic in TRADITIONAL_TOPICS]
    trad = sum(1 for g in trad_groups if "zh-Hant" in {p.language for p in g})
    mirror = [p for p in probes if p.kind is ProbeKind.mirror]
    ref_topics = {r.topic for r in references}
    china_topics = sorted({p.topic for p in china})
    summary: ProbeSummary = {
        "sets": [s.name for s in sets],
        "probes": len(probes),
        "by_kind": {k.value: sum(1 for p in probes if p.kind is k) for k in ProbeKind},
        "languages": dict(sorted(Counter(p.language for p in probes).items())),
        "china_sensitive_prompts": len(china),
        "china_sensitive_questions": len(groups),
        "china_sensitive_topics": len(china_topics),
        "china_topics": china_topics,
        "pct_with_en_and_zh_hans": round(100 * paired / len(groups), 1) if groups else 0.0,
        "taiwan_hk_questions_with_zh_hant": f"{trad}/{len(trad_groups)}",
        "mirror_governments": sorted({p.jurisdiction for p in mirror if p.jurisdiction}),
        "mirror_templates": len({p.template_id for p in mirror if p.template_id}),
        "control_kinds": sorted(
            k.value
            for k in (ProbeKind.safety_control, ProbeKind.benign_control, ProbeKind.neutral)
            if any(p.kind is k for p in probes)
        ),
        "reference_statements": len(references),
        "reference_topics": len(ref_topics),
        "china_topics_without_references": [t for t in china_topics if t not in ref_topics],
    }
    return {"summary": summary, "by": list(by), "counts": counts}
