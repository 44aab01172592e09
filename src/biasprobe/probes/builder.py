"""Building validated probes from plain dicts, whatever file format they were read from.

YAML sets (:mod:`biasprobe.probes.sets`) and foreign row files (:mod:`biasprobe.probes.readers`)
both end here, so a probe read from CSV obeys exactly the rules of one read from YAML (schema,
length limit, blank text, canonical language, ISO jurisdiction).

Row files are mapped with a :class:`ColumnMap`: each probe field names a column of the file, or
``=VALUE`` for one fixed value on every row (``kind: "=censorship"``). Unmapped fields fall back
to a column of a well-known name (``text``/``prompt``/``question``, ``topic``/``category``/
``subject`` ...); ``language`` falls back to ``en``; ``kind`` and ``topic`` must be found or given.
``language: "=auto"`` tells Chinese from English per row by script (:func:`guess_language`).
Without an id column, ids are ``<set name>-<first 10 hex of sha256(text)>``: stable across runs,
file order and re-imports.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from biasprobe.errors import ProbeError
from biasprobe.probes.languages import canonical_language, check_file_language, validate_jurisdiction
from biasprobe.probes.readers import Row, RowTable
from biasprobe.records import JSONObject, Probe
from biasprobe.yamlio import validation_message

MAX_PROBE_CHARS = 20_000
#: Longest id / topic / language / kind / jurisdiction value taken from a row.
MAX_FIELD_CHARS = 200

#: Probe fields a column can feed, and the column names used when the field is not mapped.
KNOWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "text": ("text", "prompt", "question"),
    "id": ("id",),
    "topic": ("topic", "category", "subject"),
    "language": ("language", "lang"),
    "kind": ("kind",),
    "jurisdiction": ("jurisdiction",),
    "pair_id": ("pair_id",),
}
#: Fields with a fallback value when no column is found.
FALLBACKS: dict[str, str] = {"language": "en"}
#: Set-level settings a ColumnMap also carries (fixed values, not columns).
SET_FIELDS: tuple[str, ...] = ("source", "licence", "name")

_SLUG_RE = re.compile(r"[^a-z0-9]+")


class ColumnMap(BaseModel):
    """How the rows of a foreign file become probes: ``field -> column`` or ``field -> =value``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str | None = None
    id: str | None = None
    topic: str | None = None
    language: str | None = None
    kind: str | None = None
    jurisdiction: str | None = None
    pair_id: str | None = None
    source: str | None = None
    licence: str | None = None
    name: str | None = None

    @classmethod
    def from_pairs(cls, pairs: Sequence[str], **given: str | None) -> ColumnMap:
        """From ``FIELD=SPEC`` strings (``--map``) plus keyword options (which win)."""
        fields: dict[str, str | None] = {}
        allowed = [*KNOWN_COLUMNS, *SET_FIELDS]
        for pair in pairs:
            key, sep, spec = pair.partition("=")
            key = key.strip().replace("-", "_")
            if not sep or key not in allowed or not spec:
                raise ProbeError(
                    f"--map {pair!r}: expected FIELD=COLUMN or FIELD==VALUE with FIELD one of "
                    + ", ".join(allowed)
                )
            fields[key] = spec.removeprefix("=") if key in SET_FIELDS else spec
        fields.update({k: v for k, v in given.items() if v is not None})
        return cls(**fields)

    def resolved(self, columns: Sequence[str], where: str) -> dict[str, tuple[str, str]]:
        """Per probe field: ("column", name) or ("value", fixed value); unresolvable -> error."""
        out: dict[str, tuple[str, str]] = {}
        for field_name, known in KNOWN_COLUMNS.items():
            spec = getattr(self, field_name)
            if spec is not None and spec.startswith("="):
                out[field_name] = ("value", spec[1:])
            elif spec is not None:
                if spec not in columns:
                    raise ProbeError(
                        f"{where}: no column {spec!r} for {field_name} (columns: "
                        f"{', '.join(columns)}; for one fixed value write ={spec})"
                    )
                out[field_name] = ("column", spec)
            elif found := next((c for c in known if c in columns), None):
                out[field_name] = ("column", found)
            elif field_name in FALLBACKS:
                out[field_name] = ("value", FALLBACKS[field_name])
        for required in ("text", "topic", "kind"):
            if required not in out:
                opt = "--" + required
                raise ProbeError(
                    f"{where}: no {required} column (columns: {', '.join(columns)}); give "
                    f"{opt} COLUMN, or {opt} =VALUE for every row"
                )
        return out

    def describe(self, columns: Sequence[str], where: str) -> dict[str, str]:
        """The resolved mapping as ``field -> column`` / ``field -> =value`` (for provenance)."""
        return {
            k: (v if how == "column" else f"={v}") for k, (how, v) in self.resolved(columns, where).items()
        }


def slug(text: str) -> str:
    """Lower-case kebab-case (``Tiananmen Square`` -> ``tiananmen-square``)."""
    return _SLUG_RE.sub("-", text.lower()).strip("-")


def generated_id(set_name: str, text: str) -> str:
    prefix = slug(set_name)[:40].strip("-") or "probe"
    return f"{prefix}-{hashlib.sha256(text.encode('utf-8')).hexdigest()[:10]}"


#: Common characters that exist only in Traditional Chinese (their Simplified forms differ).
_TRADITIONAL_ONLY = frozenset(
    "們說這國對會時來個為與臺灣發學經應關實進過動問題義黨歷區頭體當後門現長開認東車無書萬"
)
_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LETTER_RE = re.compile(r"[^\W\d_]")


def guess_language(text: str) -> str:
    """``auto``: zh-Hant / zh-Hans for text that is at least half Han characters, else ``en``.

    Traditional when the text uses a common Traditional-only character. A guess for mixed
    files such as deccp's lists (English and Simplified Chinese lines), not a language detector.
    """
    han = _HAN_RE.findall(text)
    if not han or len(han) * 2 < len(_LETTER_RE.findall(text)):  # letters include Han
        return "en"
    return "zh-Hant" if _TRADITIONAL_ONLY.intersection(han) else "zh-Hans"


def _normalise(field_name: str, value: str, where: str, text: str) -> str | None:
    value = value.strip()
    if not value:
        return None
    if field_name != "text" and len(value) > MAX_FIELD_CHARS:
        raise ProbeError(
            f"{where}: {field_name} is {len(value):,} characters; the limit is {MAX_FIELD_CHARS}"
        )
    if field_name == "language" and value == "auto":
        return guess_language(text)
    try:
        if field_name == "topic":
            return slug(value) or None
        if field_name == "language":
            return canonical_language(value)
        if field_name == "jurisdiction":
            return validate_jurisdiction(value.upper())
    except ValueError as exc:
        raise ProbeError(f"{where}: {exc}") from None
    if field_name == "kind":
        return value.lower().replace("_", "-")
    return value


def map_rows(table: RowTable, mapping: ColumnMap, set_name: str) -> list[tuple[str, JSONObject]]:
    """Rows -> raw probe dicts (with a location for messages), ready for :func:`build_probes`."""
    fields = mapping.resolved(table.columns, str(table.path))
    return list(iter_mapped(table.rows, fields, table.path, set_name))


def iter_mapped(
    rows: Iterable[Row], fields: Mapping[str, tuple[str, str]], path: Path, set_name: str
) -> Iterator[tuple[str, JSONObject]]:
    """:func:`map_rows` one row at a time; ``fields`` from :meth:`ColumnMap.resolved`."""
    for row in rows:
        where = f"{path}: line {row.line}"
        item: JSONObject = {}
        for field_name, (how, spec) in fields.items():
            raw = spec if how == "value" else row.values.get(spec, "")
            value = _normalise(field_name, raw, where, str(item.get("text", "")))
            if value is None and field_name in ("text", "topic", "kind"):
                what = f"column {spec!r}" if how == "column" else field_name
                raise ProbeError(f"{where}: {what} is empty")
            if value is not None:
                item[field_name] = value
        if "id" not in item:
            item["id"] = generated_id(set_name, str(item["text"]))
        yield where, item


def build_probes(
    raws: Iterable[tuple[str, JSONObject]], defaults: Mapping[str, str | None]
) -> list[Probe]:
    """Validate raw probe dicts into Probe records; ``defaults`` fill fields a dict lacks."""
    return list(iter_probes(raws, defaults))


def iter_probes(
    raws: Iterable[tuple[str, JSONObject]], defaults: Mapping[str, str | None]
) -> Iterator[Probe]:
    """:func:`build_probes` one probe at a time (for streaming a large file)."""
    for where, raw in raws:
        try:
            probe = Probe.model_validate({**defaults, **raw})
        except ValidationError as exc:
            raise ProbeError(validation_message(exc, where)) from None
        if len(probe.text) > MAX_PROBE_CHARS:
            raise ProbeError(
                f"{where}: text is {len(probe.text):,} characters; the limit is {MAX_PROBE_CHARS:,}"
            )
        if not probe.text.strip():
            raise ProbeError(f"{where}: text is blank")
        try:
            check_file_language(probe.language)
            if probe.jurisdiction is not None:
                validate_jurisdiction(probe.jurisdiction)
        except ValueError as exc:
            raise ProbeError(f"{where}: {exc}") from None
        yield probe
