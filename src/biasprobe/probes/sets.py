"""Probe-set files: schema, template expansion, loading and resolving names."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from biasprobe.errors import ProbeError
from biasprobe.paths import data_dir
from biasprobe.probes.builder import ColumnMap, build_probes, map_rows, slug
from biasprobe.probes.languages import check_file_language, validate_jurisdiction
from biasprobe.probes.readers import EXTENSIONS, RowFormat, read_rows
from biasprobe.records import VARIANT_FIELDS, JSONObject, Probe, ProbeKind
from biasprobe.yamlio import read_yaml, validation_message

PLACEHOLDER_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
TOPIC_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


class _Template(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=150)
    topic: str = Field(min_length=1)
    kind: ProbeKind = ProbeKind.mirror
    text: dict[str, str] = Field(min_length=1)  # language -> text with {placeholders}
    source: str | None = None
    licence: str | None = None


class ImportedFrom(BaseModel):
    """Provenance of a set imported from a foreign file (``biasprobe probes import``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: str  # the file name it was imported from
    format: RowFormat
    sha256: str  # of the file's bytes
    columns: dict[str, str] = Field(default_factory=dict)  # field -> column, or =value


class _ProbeSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    imported_from: ImportedFrom | None = None
    description: str = ""
    source: str | None = None
    licence: str | None = None
    probes: list[JSONObject] = Field(default_factory=list)
    governments: dict[str, dict[str, dict[str, str]]] = Field(default_factory=dict)
    templates: list[_Template] = Field(default_factory=list)


@dataclass(frozen=True)
class ProbeSet:
    name: str
    path: Path
    description: str
    probes: tuple[Probe, ...]
    #: set for foreign prompt sets (imported YAML or a row file read directly): they are not
    #: curated in EN / zh-Hans pairs, so ``probes validate`` does not ask for counterparts
    imported_from: ImportedFrom | None = None

    def content_hash(self) -> str:
        return probes_hash(self.probes)


def probes_hash(probes: Iterable[Probe]) -> str:
    """sha256 over the canonical JSON of the probes, in order."""
    h = hashlib.sha256()
    for p in probes:
        h.update(probe_line(p))
    return h.hexdigest()


def probe_line(probe: Probe) -> bytes:
    """One probe's line of :func:`probes_hash`: its canonical JSON and a newline."""
    data = probe.model_dump(mode="json")
    for key in VARIANT_FIELDS:  # unset variant fields: the hash of a plain probe is unchanged
        if data.get(key) is None:
            data.pop(key, None)
    return json.dumps(data, sort_keys=True, ensure_ascii=False).encode() + b"\n"


def builtin_dir() -> Path:
    return data_dir() / "probes"


def builtin_sets() -> dict[str, Path]:
    directory = builtin_dir()
    if not directory.is_dir():
        return {}
    return {p.stem: p for p in sorted(directory.glob("*.yaml"))}


def read_probe_yaml(path: Path, what: str = "probe") -> Any:
    return read_yaml(path, ProbeError, what)


def _fill(template: str, fillers: dict[str, str]) -> tuple[str, list[str]]:
    """Substitute ``{name}`` placeholders; return the text and the names with no filler."""
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in fillers:
            return fillers[name]
        missing.append(name)
        return m.group(0)

    return PLACEHOLDER_RE.sub(sub, template), missing


def _check_governments(parsed: _ProbeSetFile, path: Path) -> None:
    """Every government is a jurisdiction code and every filler language a file language."""
    for code, by_lang in parsed.governments.items():
        try:
            validate_jurisdiction(code)
        except ValueError as exc:
            raise ProbeError(f"{path}: governments: {exc}") from None
        for lang in by_lang:
            try:
                check_file_language(lang)
            except ValueError as exc:
                raise ProbeError(f"{path}: governments.{code}: {exc}") from None
    if parsed.templates and not parsed.governments:
        raise ProbeError(f"{path}: has templates but no 'governments' to fill them")


def _check_template(tpl: _Template, where: str, seen: set[str]) -> None:
    """A template's id is well-formed and new (added to ``seen``), its languages known."""
    if not ID_RE.fullmatch(tpl.id):
        raise ProbeError(f"{where}: id may use letters, digits and . _ : - only")
    if tpl.id in seen:
        raise ProbeError(f"{where}: duplicate template id")
    seen.add(tpl.id)
    for lang in tpl.text:
        try:
            check_file_language(lang)
        except ValueError as exc:
            raise ProbeError(f"{where}: {exc}") from None


def _instantiate(
    tpl: _Template, where: str, code: str, lang: str, fillers: dict[str, dict[str, str]]
) -> JSONObject:
    """One raw probe dict: template ``tpl`` in ``lang`` filled for government ``code``."""
    if lang not in fillers:
        raise ProbeError(
            f"{where}: government {code} has no {lang} fillers (add governments.{code}.{lang})"
        )
    text, missing = _fill(tpl.text[lang], fillers[lang])
    if missing:
        raise ProbeError(
            f"{where} ({lang}, {code}): unfilled placeholder {{{missing[0]}}} "
            f"(no filler governments.{code}.{lang}.{missing[0]})"
        )
    left = PLACEHOLDER_RE.search(text)
    if left:
        raise ProbeError(
            f"{where} ({lang}, {code}): unfilled placeholder {left.group(0)} "
            "left after filling (a filler contains a placeholder)"
        )
    item: JSONObject = {
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
    return item


def expand_templates(parsed: _ProbeSetFile, path: Path) -> list[JSONObject]:
    """Instantiate every template for every government, as raw probe dicts (file order)."""
    _check_governments(parsed, path)
    out: list[JSONObject] = []
    seen: set[str] = set()
    for tpl in parsed.templates:
        where = f"{path}: template {tpl.id!r}"
        _check_template(tpl, where, seen)
        for code, by_lang in parsed.governments.items():
            for lang in tpl.text:
                out.append(_instantiate(tpl, where, code, lang, by_lang))
    return out


def load_set_file(path: Path) -> ProbeSet:
    data = read_probe_yaml(path, "probe")
    if not isinstance(data, dict):
        raise ProbeError(f"{path}: expected a mapping with a 'probes' list")
    if "references" in data and "probes" not in data:
        raise ProbeError(f"{path}: is a reference-statement file, not a probe set")
    try:
        parsed = _ProbeSetFile.model_validate(data)
    except ValidationError as exc:
        raise ProbeError(validation_message(exc, str(path))) from None
    raws: list[tuple[str, JSONObject]] = []
    for i, raw in enumerate(parsed.probes):
        ident = raw.get("id")
        where = f"{path}: probe #{i + 1}" + (f" ({ident!r})" if isinstance(ident, str) else "")
        raws.append((where, raw))
    for raw in expand_templates(parsed, path):
        raws.append((f"{path}: probe {raw['id']!r} (template {raw['template_id']!r})", raw))
    if not raws:
        raise ProbeError(f"{path}: no probes (give a 'probes' list or 'templates')")
    probes = build_probes(raws, {"source": parsed.source, "licence": parsed.licence})
    check_unique_ids(probes, str(path))
    return ProbeSet(
        name=parsed.name or path.stem,
        path=path,
        description=parsed.description,
        probes=tuple(probes),
        imported_from=parsed.imported_from,
    )


def load_row_file(path: Path, mapping: ColumnMap | None = None, fmt: RowFormat | None = None) -> ProbeSet:
    """A foreign prompt file (CSV, JSONL, text) as a probe set, through the column mapping."""
    mapping = mapping or ColumnMap()
    table = read_rows(path, fmt)
    name = mapping.name or slug(path.stem) or "imported"
    probes = build_probes(
        map_rows(table, mapping, name), {"source": mapping.source or path.name, "licence": mapping.licence}
    )
    check_unique_ids(probes, str(path))
    origin = ImportedFrom(
        file=path.name, format=table.format, sha256=table.sha256,
        columns=mapping.describe(table.columns, str(path)),
    )
    return ProbeSet(
        name=name, path=path, description=f"imported from {path.name}", probes=tuple(probes),
        imported_from=origin,
    )


def is_row_file(path: Path) -> bool:
    return path.suffix.lower() in EXTENSIONS


def load_set(path: Path, mapping: ColumnMap | None = None) -> ProbeSet:
    """A YAML probe set, or a row file (by extension) read through ``mapping``."""
    return load_row_file(path, mapping) if is_row_file(path) else load_set_file(path)


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
    """A built-in set name, or a path to a YAML (or CSV / JSONL / text) file."""
    sets = builtin_sets()
    if name_or_path in sets:
        return sets[name_or_path]
    path = Path(name_or_path)
    if path.suffix in {".yaml", ".yml"} or is_row_file(path) or path.exists():
        return path
    known = ", ".join(sets) or "none"
    raise ProbeError(f"unknown probe set {name_or_path!r}; built-in sets: {known}")


def load_sets(names: Sequence[str], mapping: ColumnMap | None = None) -> list[ProbeSet]:
    """Load named or path-given sets; ids must be unique across them.

    ``mapping`` applies to row files (CSV / JSONL / text) among them."""
    sets = [load_set(resolve_set(n), mapping) for n in names]
    check_unique_ids([p for s in sets for p in s.probes], "+".join(s.name for s in sets))
    return sets
