"""The curation rules of ``biasprobe probes validate``."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from biasprobe.errors import ProbeError
from biasprobe.probes.builder import ColumnMap
from biasprobe.probes.languages import check_script
from biasprobe.probes.references import Reference, load_reference_file, reference_files, validate_references
from biasprobe.probes.sets import (
    PLACEHOLDER_RE,
    TOPIC_RE,
    ProbeSet,
    builtin_dir,
    builtin_sets,
    is_row_file,
    load_set,
    resolve_set,
)
from biasprobe.records import POLITICAL_KINDS, Probe, ProbeKind

#: Topic ids of the China-sensitive set that reference statements must cover.
CHINA_TOPICS: tuple[str, ...] = (
    "tiananmen",
    "xinjiang",
    "tibet",
    "taiwan",
    "hong-kong",
    "falun-gong",
    "xi-jinping",
    "cultural-revolution",
    "great-leap-famine",
    "covid-origins",
    "censorship",
    "south-china-sea",
    "dissidents",
    "one-child-policy",
    "protests-2022",
)

#: Topics whose censorship prompts also need a Traditional Chinese (zh-Hant) version, where the
#: file has any zh-Hant prompt for that topic.
TRADITIONAL_TOPICS: frozenset[str] = frozenset({"taiwan", "hong-kong"})

#: Kinds whose prompts must come in EN + zh-Hans pairs.
PAIRED_KINDS: frozenset[str] = POLITICAL_KINDS  # kinds whose EN/zh-Hans pairs are checked


def _check_pairs(s: ProbeSet, spanning: dict[str, list[Probe]] | None = None) -> None:
    """Pair rules of one set. ``spanning`` (pair id -> its probes in every set validated
    together) lets a pair span files: a file of further translations (e.g. ``ja-ru``) reuses the
    pair ids of the EN / zh-Hans originals, whose counterparts then count and whose topic, kind,
    jurisdiction and template_id it must share."""
    where = str(s.path)
    groups: dict[str, list[Probe]] = defaultdict(list)
    for p in s.probes:
        if p.pair_id is not None:
            groups[p.pair_id].append(p)
        elif p.kind in PAIRED_KINDS and s.imported_from is None:
            raise ProbeError(
                f"{where}: probe {p.id!r}: {p.kind.value} prompts need a pair_id linking "
                "their EN and zh-Hans versions"
            )
    traditional_topics = {
        p.topic for p in s.probes if p.language == "zh-Hant" and p.kind is ProbeKind.censorship
    } & TRADITIONAL_TOPICS
    for pair_id, items in groups.items():
        if spanning is not None and pair_id in spanning:
            items = spanning[pair_id]  # the whole pair, across the sets
        first = items[0]
        langs = Counter(p.language for p in items)
        dup = next((lang for lang, n in langs.items() if n > 1), None)
        if dup is not None:
            ids = ", ".join(p.id for p in items if p.language == dup)
            raise ProbeError(f"{where}: pair {pair_id!r} has two {dup} prompts ({ids})")
        for p in items[1:]:
            for attr in ("topic", "kind", "jurisdiction", "template_id"):
                if getattr(p, attr) != getattr(first, attr):
                    raise ProbeError(
                        f"{where}: probe {p.id!r}: {attr} {getattr(p, attr)!r} differs from "
                        f"{getattr(first, attr)!r} on {first.id!r} in the same pair {pair_id!r}"
                    )
        if first.kind not in PAIRED_KINDS or s.imported_from is not None:
            continue
        needed = ["en", "zh-Hans"]
        if first.kind is ProbeKind.censorship and first.topic in traditional_topics:
            needed.append("zh-Hant")
        for lang in needed:
            if lang not in langs:
                extra = (
                    f" (the file has zh-Hant prompts for topic {first.topic!r})" if lang == "zh-Hant" else ""
                )
                if lang != "zh-Hant" and all(p.language not in ("en", "zh-Hans") for p in items):
                    extra = " (a pair may span files: validate this file with the set holding its originals)"
                raise ProbeError(
                    f"{where}: probe {first.id!r} (pair {pair_id!r}): no {lang} counterpart{extra}"
                )


def _check_probe_rules(s: ProbeSet) -> None:
    for p in s.probes:
        where = f"{s.path}: probe {p.id!r}"
        left = PLACEHOLDER_RE.search(p.text)
        if left:
            raise ProbeError(f"{where}: unfilled template placeholder {left.group(0)}")
        if not TOPIC_RE.fullmatch(p.topic):
            raise ProbeError(f"{where}: topic {p.topic!r} must be lower-case kebab-case (e.g. hong-kong)")
        if p.kind in PAIRED_KINDS and p.jurisdiction is None:
            raise ProbeError(
                f"{where}: {p.kind.value} prompts need a jurisdiction (the government asked about)"
            )
        if p.kind is ProbeKind.mirror and p.template_id is None:
            raise ProbeError(f"{where}: mirror prompts need a template_id")
        for attr in ("source", "licence"):
            if not (getattr(p, attr) or "").strip():
                raise ProbeError(f"{where}: no {attr} (set it on the probe or once at the top of the file)")
        check_script(p.text, p.language, where)


def validate_sets(sets: Sequence[ProbeSet]) -> None:
    """The curation rules of ``probes validate``; raises ProbeError on the first violation."""
    seen: dict[str, Path] = {}
    for s in sets:
        for p in s.probes:
            if p.id in seen and seen[p.id] != s.path:
                raise ProbeError(f"{s.path}: probe {p.id!r}: duplicate id, also in {seen[p.id]}")
            seen[p.id] = s.path
    spanning: dict[str, list[Probe]] = defaultdict(list)
    for s in sets:
        for p in s.probes:
            if p.pair_id is not None:
                spanning[p.pair_id].append(p)
    for s in sets:
        _check_probe_rules(s)
        _check_pairs(s, spanning)


@dataclass
class ValidationReport:
    sets: list[ProbeSet] = field(default_factory=list)
    references: dict[Path, list[Reference]] = field(default_factory=dict)


def _is_reference_file(path: Path) -> bool:
    if path.parent.name == "references":
        return True
    try:
        head = path.read_bytes()[:65536].decode("utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"^references\s*:", head, re.MULTILINE) is not None


def validate_files(names: Sequence[str] = (), mapping: ColumnMap | None = None) -> ValidationReport:
    """Load and validate probe sets and reference files (default: everything built in).

    Foreign sets (imported, or row files read through ``mapping``) skip the EN / zh-Hans
    counterpart rule: they were not curated in pairs. Every other rule applies."""
    report = ValidationReport()
    if names:
        set_paths: list[Path] = []
        ref_paths: list[Path] = []
        for n in names:
            path = resolve_set(n)
            is_ref = path.is_file() and not is_row_file(path) and _is_reference_file(path)
            (ref_paths if is_ref else set_paths).append(path)
        required: tuple[str, ...] = ()
    else:
        set_paths = list(builtin_sets().values())
        ref_paths = reference_files()
        required = CHINA_TOPICS
        if not set_paths:
            raise ProbeError(f"no built-in probe sets found in {builtin_dir()}")
    report.sets = [load_set(p, mapping) for p in set_paths]
    validate_sets(report.sets)
    all_refs: list[Reference] = []
    for path in ref_paths:
        refs = load_reference_file(path)
        validate_references(refs, str(path))
        report.references[path] = refs
        all_refs.extend(refs)
    if ref_paths:
        validate_references(all_refs, "+".join(str(p) for p in ref_paths), required)
    if not names:
        _validate_builtin_variants(report.sets)
    return report


def _validate_builtin_variants(sets: Sequence[ProbeSet]) -> None:
    from biasprobe.variants import load_variant_file, validate_variant_file, variants_file

    path = variants_file()
    if path.exists():
        probes = [p for s in sets for p in s.probes]
        validate_variant_file(load_variant_file(path), probes, str(path))
