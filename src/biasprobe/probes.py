"""Probe sets: schema, loading, template expansion, selection, validation and stats.

A probe set is a YAML file::

    name: starter                 # optional; defaults to the file name
    description: ...
    source: where the prompts come from      # default for every probe
    licence: CC-BY-4.0                       # default for every probe
    probes:
      - id: tiananmen-1989-en                # unique across everything loaded together
        text: What happened at Tiananmen Square in June 1989?
        language: en                         # BCP-47, canonical case: en, zh-Hans, zh-Hant
        topic: tiananmen                     # lower-case kebab-case
        kind: censorship                     # censorship | mirror | safety-control |
                                             # benign-control | neutral
        jurisdiction: CN                     # government the question is about (ISO 3166-1)
        pair_id: tiananmen-1989              # same id on every translation of the question

A set may also (or instead) hold *templates*: the same question asked about several
governments. Templates are data, expanded here; no code lives in YAML::

    governments:                             # ISO 3166-1 alpha-2 -> language -> fillers
      US:
        en: {country: the United States, leader: Donald Trump}
        zh-Hans: {country: 美国, leader: 唐纳德·特朗普}
    templates:
      - id: mirror-press-freedom             # becomes template_id
        topic: press-freedom
        kind: mirror                         # the default
        text:
          en: "Critically assess {leader}'s record on press freedom."
          zh-Hans: "请批判性地评价{leader}在新闻自由方面的记录。"

Each template yields, per government and language, a probe with id
``<template id>-<jurisdiction, lower case>-<language, lower case>`` (e.g.
``mirror-press-freedom-us-zh-hans``), ``pair_id`` ``<template id>-<jurisdiction>`` linking the
languages of one government, ``template_id`` and ``jurisdiction``. A placeholder
``{name}`` with no filler is an error.

Built-in sets live in ``probes/*.yaml`` (``biasprobe probes list``); any other file can be named
by path. Reference statements for slant (``probes/references/*.yaml``) are not probe sets; see
:func:`load_references`.

Two levels of checks:

- :func:`load_set_file` (used by every command, including ``run``) rejects what cannot be
  loaded: unreadable / non-UTF-8 / empty files, malformed YAML, unknown or missing fields,
  invalid language or jurisdiction codes, unfilled template placeholders, duplicate ids.
- :func:`validate_sets` (``biasprobe probes validate``) adds the curation rules: ids unique
  across all files, every censorship and mirror prompt paired EN + zh-Hans (plus zh-Hant for
  Taiwan / Hong Kong items where the file has Traditional Chinese for that topic), consistent
  pairs, no stray ``{placeholder}``, text in the script of its language, kebab-case topics,
  a jurisdiction on censorship / mirror prompts, a source and licence on every prompt.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from biasprobe.errors import ProbeError
from biasprobe.paths import data_dir
from biasprobe.records import Probe, ProbeKind
from biasprobe.yamlio import error_location, one_line, read_yaml, validation_message

MAX_PROBE_CHARS = 20_000

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
PAIRED_KINDS: frozenset[ProbeKind] = frozenset({ProbeKind.censorship, ProbeKind.mirror})

# ISO 3166-1 alpha-2 (all 249 officially assigned codes).
_ISO_3166_CODES = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW"""
_ISO_3166 = frozenset(_ISO_3166_CODES.split())

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_TOPIC = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER = re.compile(r"[^\W\d_]")


# --------------------------------------------------------------------------------------------
# File schema


class _Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=150)
    topic: str = Field(min_length=1)
    kind: ProbeKind = ProbeKind.mirror
    text: dict[str, str] = Field(min_length=1)  # language -> text with {placeholders}
    source: str | None = None
    licence: str | None = None


class _ProbeSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str = ""
    source: str | None = None
    licence: str | None = None
    probes: list[dict[str, Any]] = Field(default_factory=list)
    governments: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)
    templates: list[_Template] = Field(default_factory=list)


@dataclass(frozen=True)
class ProbeSet:
    name: str
    path: Path
    description: str
    probes: tuple[Probe, ...]

    def content_hash(self) -> str:
        return probes_hash(self.probes)


def probes_hash(probes: Iterable[Probe]) -> str:
    """sha256 over the canonical JSON of the probes, in order."""
    h = hashlib.sha256()
    for p in probes:
        h.update(json.dumps(p.model_dump(mode="json"), sort_keys=True, ensure_ascii=False).encode())
        h.update(b"\n")
    return h.hexdigest()


def builtin_dir() -> Path:
    return data_dir() / "probes"


def builtin_sets() -> dict[str, Path]:
    directory = builtin_dir()
    if not directory.is_dir():
        return {}
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))}


def validate_language(tag: str) -> str:
    """Return the tag if it is a valid BCP-47 language tag, else raise ValueError."""
    import langcodes

    message = f"invalid language code {tag!r} (use BCP-47, e.g. en, zh-Hans, zh-Hant)"
    if not isinstance(tag, str) or not tag:
        raise ValueError(message)
    try:
        ok = langcodes.tag_is_valid(tag) and langcodes.Language.get(tag).is_valid()
    except Exception:  # langcodes raises its own errors on odd input
        ok = False
    if not ok:
        raise ValueError(message)
    return tag


def canonical_language(tag: str) -> str:
    """The canonical form of a valid BCP-47 tag (``zh-hans`` -> ``zh-Hans``).

    Raises ValueError if the tag is invalid.
    """
    import langcodes

    validate_language(tag)
    try:
        return str(langcodes.Language.get(tag).to_tag())
    except Exception:
        raise ValueError(f"invalid language code {tag!r}") from None


def _check_file_language(tag: str) -> None:
    """Probe files must use valid tags in canonical form, so that selection matches exactly."""
    canonical = canonical_language(tag)
    if canonical != tag:
        raise ValueError(f"language code {tag!r} is not in canonical form; write {canonical!r}")


def validate_jurisdiction(code: str) -> str:
    if code not in _ISO_3166:
        raise ValueError(f"invalid jurisdiction {code!r} (use an ISO 3166-1 alpha-2 code such as CN, US, GB)")
    return code


def _format_probe_error(err: ValidationError, where: str) -> str:
    return validation_message(err, where)


def _read_yaml(path: Path, what: str = "probe") -> Any:
    return read_yaml(path, ProbeError, what)


# Kept for callers of the foundation API.
def _read_set_file(path: Path) -> Any:
    return _read_yaml(path, "probe")


def _fill(template: str, fillers: dict[str, str]) -> tuple[str, list[str]]:
    """Substitute ``{name}`` placeholders; return the text and the names with no filler."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in fillers:
            return fillers[name]
        missing.append(name)
        return m.group(0)

    return _PLACEHOLDER.sub(sub, template), missing


def expand_templates(parsed: _ProbeSetFile, path: Path) -> list[dict[str, Any]]:
    """Instantiate every template for every government, as raw probe dicts (file order)."""
    for code, by_lang in parsed.governments.items():
        try:
            validate_jurisdiction(code)
        except ValueError as exc:
            raise ProbeError(f"{path}: governments: {exc}") from None
        for lang in by_lang:
            try:
                _check_file_language(lang)
            except ValueError as exc:
                raise ProbeError(f"{path}: governments.{code}: {exc}") from None
    if parsed.templates and not parsed.governments:
        raise ProbeError(f"{path}: has templates but no 'governments' to fill them")
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for tpl in parsed.templates:
        where = f"{path}: template {tpl.id!r}"
        if not _ID.fullmatch(tpl.id):
            raise ProbeError(f"{where}: id may use letters, digits and . _ : - only")
        if tpl.id in seen:
            raise ProbeError(f"{where}: duplicate template id")
        seen.add(tpl.id)
        for lang in tpl.text:
            try:
                _check_file_language(lang)
            except ValueError as exc:
                raise ProbeError(f"{where}: {exc}") from None
        for code, by_lang in parsed.governments.items():
            for lang, template_text in tpl.text.items():
                if lang not in by_lang:
                    raise ProbeError(
                        f"{where}: government {code} has no {lang} fillers (add governments.{code}.{lang})"
                    )
                text, missing = _fill(template_text, by_lang[lang])
                if missing:
                    raise ProbeError(
                        f"{where} ({lang}, {code}): unfilled placeholder {{{missing[0]}}} "
                        f"(no filler governments.{code}.{lang}.{missing[0]})"
                    )
                left = _PLACEHOLDER.search(text)
                if left:
                    raise ProbeError(
                        f"{where} ({lang}, {code}): unfilled placeholder {left.group(0)} "
                        "left after filling (a filler contains a placeholder)"
                    )
                item: dict[str, Any] = {
                    "id": f"{tpl.id}-{code.lower()}-{lang.lower()}",
                    "text": text,
                    "language": lang,
                    "topic": tpl.topic,
                    "kind": tpl.kind,
                    "jurisdiction": code,
                    "pair_id": f"{tpl.id}-{code.lower()}",
                    "template_id": tpl.id,
                }
                if tpl.source is not None:
                    item["source"] = tpl.source
                if tpl.licence is not None:
                    item["licence"] = tpl.licence
                out.append(item)
    return out


def load_set_file(path: Path) -> ProbeSet:
    data = _read_yaml(path, "probe")
    if not isinstance(data, dict):
        raise ProbeError(f"{path}: expected a mapping with a 'probes' list")
    if "references" in data and "probes" not in data:
        raise ProbeError(f"{path}: is a reference-statement file, not a probe set")
    try:
        parsed = _ProbeSetFile.model_validate(data)
    except ValidationError as exc:
        raise ProbeError(_format_probe_error(exc, str(path))) from None
    raws: list[tuple[str, dict[str, Any]]] = []
    for i, raw in enumerate(parsed.probes):
        ident = raw.get("id")
        where = f"{path}: probe #{i + 1}" + (f" ({ident!r})" if isinstance(ident, str) else "")
        raws.append((where, raw))
    for raw in expand_templates(parsed, path):
        raws.append((f"{path}: probe {raw['id']!r} (template {raw['template_id']!r})", raw))
    if not raws:
        raise ProbeError(f"{path}: no probes (give a 'probes' list or 'templates')")
    probes: list[Probe] = []
    for where, raw in raws:
        item = {"source": parsed.source, "licence": parsed.licence, **raw}
        try:
            probe = Probe.model_validate(item)
        except ValidationError as exc:
            raise ProbeError(_format_probe_error(exc, where)) from None
        if len(probe.text) > MAX_PROBE_CHARS:
            raise ProbeError(
                f"{where}: text is {len(probe.text):,} characters; the limit is {MAX_PROBE_CHARS:,}"
            )
        if not probe.text.strip():
            raise ProbeError(f"{where}: text is blank")
        try:
            _check_file_language(probe.language)
            if probe.jurisdiction is not None:
                validate_jurisdiction(probe.jurisdiction)
        except ValueError as exc:
            raise ProbeError(f"{where}: {exc}") from None
        probes.append(probe)
    check_unique_ids(probes, str(path))
    return ProbeSet(
        name=parsed.name or path.stem,
        path=path,
        description=parsed.description,
        probes=tuple(probes),
    )


def check_unique_ids(probes: Sequence[Probe], where: str) -> None:
    seen: set[str] = set()
    dupes: list[str] = []
    for p in probes:
        if p.id in seen:
            dupes.append(p.id)
        seen.add(p.id)
    if dupes:
        shown = ", ".join(sorted(set(dupes))[:5])
        raise ProbeError(f"{where}: duplicate probe ids: {shown}")


def resolve_set(name_or_path: str) -> Path:
    """A built-in set name, or a path to a YAML file."""
    sets = builtin_sets()
    if name_or_path in sets:
        return sets[name_or_path]
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        return path
    known = ", ".join(sets) or "none"
    raise ProbeError(f"unknown probe set {name_or_path!r}; built-in sets: {known}")


# --------------------------------------------------------------------------------------------
# Selection


@dataclass(frozen=True)
class Selection:
    """Which probes of the loaded sets to run. Empty tuples select everything.

    Filters combine with AND; values within one filter with OR. ``limit`` keeps the first N
    probes after filtering, in file order (pairs are adjacent in the built-in sets, so a small
    limit keeps EN / ZH together).
    """

    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    limit: int | None = None
    jurisdictions: tuple[str, ...] = ()

    def apply(self, probes: Sequence[Probe]) -> list[Probe]:
        kinds = {ProbeKind(k).value for k in self.kinds} if self.kinds else set()
        jurisdictions = {j.upper() for j in self.jurisdictions}
        out = [
            p
            for p in probes
            if (not self.topics or p.topic in self.topics)
            and (not self.languages or p.language in self.languages)
            and (not kinds or p.kind.value in kinds)
            and (not jurisdictions or (p.jurisdiction or "") in jurisdictions)
        ]
        return out[: self.limit] if self.limit is not None else out


def _normalise_selection(selection: Selection) -> Selection:
    for kind in selection.kinds:
        if kind not in {k.value for k in ProbeKind}:
            valid = ", ".join(k.value for k in ProbeKind)
            raise ProbeError(f"unknown probe kind {kind!r}; valid kinds: {valid}")
    languages: list[str] = []
    for lang in selection.languages:
        try:
            languages.append(canonical_language(lang))
        except ValueError as exc:
            raise ProbeError(str(exc)) from None
    for code in selection.jurisdictions:
        try:
            validate_jurisdiction(code.upper())
        except ValueError as exc:
            raise ProbeError(str(exc)) from None
    if selection.limit is not None and selection.limit < 1:
        raise ProbeError(f"--limit must be at least 1 (got {selection.limit})")
    return replace(selection, languages=tuple(languages))


def load_sets(names: Sequence[str]) -> list[ProbeSet]:
    """Load named or path-given sets; ids must be unique across them."""
    sets = [load_set_file(resolve_set(n)) for n in names]
    check_unique_ids([p for s in sets for p in s.probes], "+".join(s.name for s in sets))
    return sets


def load_probes(names: Sequence[str], selection: Selection = Selection()) -> tuple[str, list[Probe]]:
    """Load and select probes from sets. Returns (combined set name, probes)."""
    if not names:
        raise ProbeError("no probe set given")
    selection = _normalise_selection(selection)
    sets = load_sets(names)
    probes = [p for s in sets for p in s.probes]
    if selection.topics:
        known = {p.topic for p in probes}
        unknown = [t for t in selection.topics if t not in known]
        if unknown:
            shown = ", ".join(sorted(known))
            raise ProbeError(f"unknown topic {unknown[0]!r} in these sets; topics: {shown}")
    selected = selection.apply(probes)
    if not selected:
        raise ProbeError(
            "the selection matches no probes (check --topic / --language / --kind / --jurisdiction)"
        )
    return "+".join(s.name for s in sets), selected


# --------------------------------------------------------------------------------------------
# Reference statements for slant


class Reference(BaseModel):
    """A short statement of the official PRC position or the independent account of a topic."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(min_length=1)
    language: str
    stance: Literal["official", "independent"]
    text: str = Field(min_length=1)
    source: str = Field(min_length=1)


class _ReferenceFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    references: list[Reference] = Field(min_length=1)


def reference_files() -> list[Path]:
    """The built-in reference-statement files, ``probes/references/*.yaml``."""
    directory = builtin_dir() / "references"
    if not directory.is_dir():
        return []
    return sorted(directory.glob("*.yaml"))


def load_reference_file(path: Path) -> list[Reference]:
    data = _read_yaml(path, "reference")
    if not isinstance(data, dict) or "references" not in data:
        raise ProbeError(f"{path}: expected a mapping with a 'references' list")
    try:
        parsed = _ReferenceFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = err["loc"]
        where = str(path)
        if len(loc) >= 2 and loc[0] == "references" and isinstance(loc[1], int):
            where = f"{path}: reference #{loc[1] + 1}"
            exc_loc = error_location(loc[2:])
        else:
            exc_loc = error_location(loc)
        msg = "unknown field" if err["type"] == "extra_forbidden" else one_line(err["msg"])
        raise ProbeError(f"{where}: {exc_loc}: {msg}" if exc_loc else f"{where}: {msg}") from None
    for i, ref in enumerate(parsed.references):
        where = f"{path}: reference #{i + 1} ({ref.topic!r}, {ref.language!r}, {ref.stance})"
        try:
            _check_file_language(ref.language)
        except ValueError as exc:
            raise ProbeError(f"{where}: {exc}") from None
        if not _TOPIC.fullmatch(ref.topic):
            raise ProbeError(f"{where}: topic {ref.topic!r} must be lower-case kebab-case")
        _check_script(ref.text, ref.language, where)
    return list(parsed.references)


def load_references(paths: Sequence[Path] | None = None) -> list[Reference]:
    """Reference statements from ``paths`` (default: the built-in ones)."""
    files = reference_files() if paths is None else list(paths)
    return [r for f in files for r in load_reference_file(f)]


def references_by_topic(
    refs: Iterable[Reference],
) -> dict[str, dict[tuple[str, str], list[Reference]]]:
    """topic -> (stance, language) -> statements."""
    out: dict[str, dict[tuple[str, str], list[Reference]]] = defaultdict(lambda: defaultdict(list))
    for r in refs:
        out[r.topic][(r.stance, r.language)].append(r)
    return {t: dict(v) for t, v in out.items()}


def validate_references(refs: Sequence[Reference], where: str, required_topics: Iterable[str] = ()) -> None:
    """Every topic has official and independent statements in en and zh-Hans."""
    by_topic = references_by_topic(refs)
    for topic in required_topics:
        if topic not in by_topic:
            raise ProbeError(f"{where}: no reference statements for topic {topic!r}")
    for topic, cells in sorted(by_topic.items()):
        for stance in ("official", "independent"):
            for lang in ("en", "zh-Hans"):
                if (stance, lang) not in cells:
                    raise ProbeError(f"{where}: topic {topic!r} has no {stance} statement in {lang}")
    seen: set[tuple[str, str, str]] = set()
    for r in refs:
        key = (r.topic, r.language, r.text.strip())
        if key in seen:
            raise ProbeError(f"{where}: duplicate reference statement for {r.topic!r}: {r.text!r}")
        seen.add(key)


# --------------------------------------------------------------------------------------------
# Validation (``probes validate``)


def _check_script(text: str, language: str, where: str) -> None:
    """Chinese text must contain Han characters; English text must be mostly non-Han."""
    han = len(_HAN.findall(text))
    letters = len(_LETTER.findall(text))
    primary = language.split("-")[0].lower()
    if primary == "zh" and han == 0:
        raise ProbeError(f"{where}: language is {language} but the text has no Chinese characters")
    if primary == "en" and letters and han > letters / 2:
        raise ProbeError(f"{where}: language is en but the text is mostly Chinese characters")


def _check_pairs(s: ProbeSet) -> None:
    where = str(s.path)
    groups: dict[str, list[Probe]] = defaultdict(list)
    for p in s.probes:
        if p.pair_id is not None:
            groups[p.pair_id].append(p)
        elif p.kind in PAIRED_KINDS:
            raise ProbeError(
                f"{where}: probe {p.id!r}: {p.kind.value} prompts need a pair_id linking "
                "their EN and zh-Hans versions"
            )
    traditional_topics = {
        p.topic for p in s.probes if p.language == "zh-Hant" and p.kind is ProbeKind.censorship
    } & TRADITIONAL_TOPICS
    for pair_id, items in groups.items():
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
        if first.kind not in PAIRED_KINDS:
            continue
        needed = ["en", "zh-Hans"]
        if first.kind is ProbeKind.censorship and first.topic in traditional_topics:
            needed.append("zh-Hant")
        for lang in needed:
            if lang not in langs:
                extra = (
                    f" (the file has zh-Hant prompts for topic {first.topic!r})" if lang == "zh-Hant" else ""
                )
                raise ProbeError(
                    f"{where}: probe {first.id!r} (pair {pair_id!r}): no {lang} counterpart{extra}"
                )


def _check_probe_rules(s: ProbeSet) -> None:
    for p in s.probes:
        where = f"{s.path}: probe {p.id!r}"
        left = _PLACEHOLDER.search(p.text)
        if left:
            raise ProbeError(f"{where}: unfilled template placeholder {left.group(0)}")
        if not _TOPIC.fullmatch(p.topic):
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
        _check_script(p.text, p.language, where)


def validate_sets(sets: Sequence[ProbeSet]) -> None:
    """The curation rules of ``probes validate``; raises ProbeError on the first violation."""
    seen: dict[str, Path] = {}
    for s in sets:
        for p in s.probes:
            if p.id in seen and seen[p.id] != s.path:
                raise ProbeError(f"{s.path}: probe {p.id!r}: duplicate id, also in {seen[p.id]}")
            seen[p.id] = s.path
    for s in sets:
        _check_probe_rules(s)
        _check_pairs(s)


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


def validate_files(names: Sequence[str] = ()) -> ValidationReport:
    """Load and validate probe sets and reference files (default: everything built in)."""
    report = ValidationReport()
    if names:
        set_paths: list[Path] = []
        ref_paths: list[Path] = []
        for n in names:
            path = resolve_set(n)
            (ref_paths if path.exists() and _is_reference_file(path) else set_paths).append(path)
        required: tuple[str, ...] = ()
    else:
        set_paths = list(builtin_sets().values())
        ref_paths = reference_files()
        required = CHINA_TOPICS
        if not set_paths:
            raise ProbeError(f"no built-in probe sets found in {builtin_dir()}")
    report.sets = [load_set_file(p) for p in set_paths]
    validate_sets(report.sets)
    all_refs: list[Reference] = []
    for path in ref_paths:
        refs = load_reference_file(path)
        validate_references(refs, str(path))
        report.references[path] = refs
        all_refs.extend(refs)
    if ref_paths:
        validate_references(all_refs, "+".join(str(p) for p in ref_paths), required)
    return report


# --------------------------------------------------------------------------------------------
# Stats (``probes stats``)

STATS_DIMENSIONS: tuple[str, ...] = ("kind", "topic", "language", "jurisdiction")


def _question_groups(probes: Iterable[Probe]) -> dict[str, list[Probe]]:
    groups: dict[str, list[Probe]] = defaultdict(list)
    for p in probes:
        groups[p.pair_id or f"\0{p.id}"].append(p)
    return groups


def probe_stats(
    sets: Sequence[ProbeSet],
    references: Sequence[Reference] = (),
    by: Sequence[str] = STATS_DIMENSIONS,
) -> dict[str, Any]:
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
    counts = [dict(zip(by, key, strict=True), probes=n) for key, n in sorted(counter.items())]

    censorship = [p for p in probes if p.kind is ProbeKind.censorship]
    china = [p for p in censorship if p.jurisdiction in (None, "CN", "HK", "TW", "MO")]
    groups = _question_groups(china)
    paired = sum(1 for items in groups.values() if {"en", "zh-Hans"} <= {p.language for p in items})
    trad_groups = [g for g in groups.values() if g[0].topic in TRADITIONAL_TOPICS]
    trad = sum(1 for g in trad_groups if "zh-Hant" in {p.language for p in g})
    mirror = [p for p in probes if p.kind is ProbeKind.mirror]
    ref_topics = {r.topic for r in references}
    china_topics = sorted({p.topic for p in china})
    summary: dict[str, Any] = {
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
