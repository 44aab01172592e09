"""``biasprobe probes import``: a foreign prompt file -> a validated biasprobe YAML set.

The YAML keeps the provenance (``imported_from``: file name, format, sha256 of the bytes and the
column mapping) so a reader can tell where each probe came from, and the set round-trips: loading
the written file gives exactly the probes built from the foreign file (checked before returning).
The output is never written over an existing file unless asked (``--force``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from biasprobe.errors import ProbeError
from biasprobe.probes.builder import ColumnMap
from biasprobe.probes.readers import RowFormat
from biasprobe.probes.sets import ProbeSet, load_row_file, load_set_file
from biasprobe.probes.validate import validate_sets
from biasprobe.records import JSONObject
from biasprobe.store import write_atomic

_PROBE_FIELDS = ("id", "text", "language", "topic", "kind", "jurisdiction", "pair_id")


@dataclass(frozen=True)
class ImportResult:
    path: Path
    probes: int
    name: str


def default_output(source: Path) -> Path:
    """Next to the foreign file, with a ``.yaml`` extension (``ccp.csv`` -> ``ccp.yaml``)."""
    return source.with_suffix(".yaml")


def set_document(s: ProbeSet) -> JSONObject:
    """The YAML document of an imported set: set-level source / licence, one entry per probe."""
    assert s.imported_from is not None
    first = s.probes[0]
    doc: JSONObject = {
        "name": s.name,
        "description": s.description,
        "source": first.source,
        "licence": first.licence,
        "imported_from": s.imported_from.model_dump(mode="json"),
    }
    probes = []
    for p in s.probes:
        item = {k: getattr(p, k) for k in _PROBE_FIELDS if getattr(p, k) is not None}
        item["kind"] = p.kind.value
        probes.append(item)
    doc["probes"] = probes
    return doc


def import_prompts(
    source: Path,
    mapping: ColumnMap,
    fmt: RowFormat | None = None,
    output: Path | None = None,
    force: bool = False,
) -> ImportResult:
    """Read, map, validate, write and re-load a foreign prompt file; returns where it went."""
    if not (mapping.licence or "").strip():
        raise ProbeError(f"{source}: give --licence (the licence of the prompts, e.g. Apache-2.0)")
    s = load_row_file(source, mapping, fmt)
    validate_sets([s])
    out = output or default_output(source)
    if out.resolve() == source.resolve():
        raise ProbeError(f"{out}: the output would replace the input; give -o")
    if out.exists() and not force:
        raise ProbeError(f"{out}: already exists; give --force to replace it, or -o elsewhere")
    if not out.parent.is_dir():
        raise ProbeError(f"{out.parent}: no such directory")
    text = yaml.safe_dump(set_document(s), allow_unicode=True, sort_keys=False, width=100)
    write_atomic(out, text, error=ProbeError)
    again = load_set_file(out)
    if again.probes != s.probes:  # pragma: no cover - a bug, not bad input
        raise ProbeError(f"{out}: written set does not load back to the same probes")
    validate_sets([again])
    return ImportResult(out, len(again.probes), again.name)
