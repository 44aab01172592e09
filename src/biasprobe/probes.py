"""Probe sets: schema, loading, selection and validation.

A probe set is a YAML file::

    name: starter                 # optional; defaults to the file name
    description: ...
    source: where the prompts come from      # default for every probe
    licence: CC-BY-4.0                       # default for every probe
    probes:
      - id: tiananmen-1989-en                # unique across everything loaded together
        text: What happened at Tiananmen Square in June 1989?
        language: en                         # BCP-47: en, zh-Hans, zh-Hant, ...
        topic: tiananmen
        kind: censorship                     # censorship | mirror | safety-control |
                                             # benign-control | neutral
        jurisdiction: CN                     # government the question is about (ISO 3166)
        pair_id: tiananmen-1989              # same id on every translation of the question

Built-in sets live in ``probes/`` (``biasprobe probes list``); any other file can be named by
path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from biasprobe.errors import ProbeError
from biasprobe.paths import data_dir
from biasprobe.records import Probe, ProbeKind

MAX_PROBE_CHARS = 20_000


class _ProbeSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    description: str = ""
    source: str | None = None
    licence: str | None = None
    probes: list[dict[str, Any]] = Field(min_length=1)


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

    if not tag or not langcodes.tag_is_valid(tag):
        raise ValueError(f"invalid language code {tag!r} (use BCP-47, e.g. en, zh-Hans, zh-Hant)")
    lang = langcodes.Language.get(tag)
    if not lang.is_valid():
        raise ValueError(f"invalid language code {tag!r} (use BCP-47, e.g. en, zh-Hans, zh-Hant)")
    return tag


def _format_probe_error(err: ValidationError, where: str) -> str:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    msg = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
    return f"{where}: {loc}: {msg}"


def _read_set_file(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ProbeError(f"{path}: probe file not found") from None
    except IsADirectoryError:
        raise ProbeError(f"{path}: is a directory, expected a probe YAML file") from None
    except OSError as exc:
        raise ProbeError(f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProbeError(f"{path}: not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise ProbeError(f"{path}: probe file is empty")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ProbeError(f"{path}:{where}: malformed YAML: {getattr(exc, 'problem', '')}") from None


def load_set_file(path: Path) -> ProbeSet:
    data = _read_set_file(path)
    if not isinstance(data, dict):
        raise ProbeError(f"{path}: expected a mapping with a 'probes' list")
    try:
        parsed = _ProbeSetFile.model_validate(data)
    except ValidationError as exc:
        raise ProbeError(_format_probe_error(exc, str(path))) from None
    probes: list[Probe] = []
    for i, raw in enumerate(parsed.probes):
        where = f"{path}: probe #{i + 1}" + (f" ({raw['id']!r})" if "id" in raw else "")
        item = {"source": parsed.source, "licence": parsed.licence, **raw}
        try:
            probe = Probe.model_validate(item)
        except ValidationError as exc:
            raise ProbeError(_format_probe_error(exc, where)) from None
        if len(probe.text) > MAX_PROBE_CHARS:
            raise ProbeError(
                f"{where}: text is {len(probe.text):,} characters; the limit is {MAX_PROBE_CHARS:,}"
            )
        try:
            validate_language(probe.language)
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


@dataclass(frozen=True)
class Selection:
    """Which probes of the loaded sets to run. Empty tuples select everything."""

    topics: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    limit: int | None = None

    def apply(self, probes: Sequence[Probe]) -> list[Probe]:
        kinds = {ProbeKind(k).value for k in self.kinds} if self.kinds else set()
        out = [
            p
            for p in probes
            if (not self.topics or p.topic in self.topics)
            and (not self.languages or p.language in self.languages)
            and (not kinds or p.kind.value in kinds)
        ]
        return out[: self.limit] if self.limit is not None else out


def load_probes(names: Sequence[str], selection: Selection = Selection()) -> tuple[str, list[Probe]]:
    """Load and select probes from sets. Returns (combined set name, probes)."""
    if not names:
        raise ProbeError("no probe set given")
    for kind in selection.kinds:
        if kind not in {k.value for k in ProbeKind}:
            valid = ", ".join(k.value for k in ProbeKind)
            raise ProbeError(f"unknown probe kind {kind!r}; valid kinds: {valid}")
    for lang in selection.languages:
        try:
            validate_language(lang)
        except ValueError as exc:
            raise ProbeError(str(exc)) from None
    sets = [load_set_file(resolve_set(n)) for n in names]
    probes = [p for s in sets for p in s.probes]
    check_unique_ids(probes, "+".join(s.name for s in sets))
    selected = selection.apply(probes)
    if not selected:
        raise ProbeError("the selection matches no probes (check --topic / --language / --kind)")
    return "+".join(s.name for s in sets), selected
