"""Reference statements for slant: the official PRC account and the independent account of a
topic, in EN and zh-Hans (``probes/references/*.yaml``)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from biasprobe.errors import ProbeError
from biasprobe.probes.languages import check_file_language, check_script
from biasprobe.probes.sets import TOPIC_RE, builtin_dir, read_probe_yaml
from biasprobe.yamlio import error_location, one_line


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


def reference_files(directory: Path | None = None) -> list[Path]:
    """The reference-statement files (``*.yaml``, ``*.yml``) of ``directory``, default the
    built-in ``probes/references``; an absent directory has none."""
    directory = directory or builtin_dir() / "references"
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"})


def load_reference_file(path: Path) -> list[Reference]:
    data = read_probe_yaml(path, "reference")
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
            check_file_language(ref.language)
        except ValueError as exc:
            raise ProbeError(f"{where}: {exc}") from None
        if not TOPIC_RE.fullmatch(ref.topic):
            raise ProbeError(f"{where}: topic {ref.topic!r} must be lower-case kebab-case")
        check_script(ref.text, ref.language, where)
    return list(parsed.references)


def load_references(source: Path | Sequence[Path] | None = None) -> list[Reference]:
    """Reference statements from a directory (its ``*.yaml`` / ``*.yml`` files; an absent
    directory gives an empty list), from a list of files, or (default) the built-in ones."""
    files = reference_files(source) if source is None or isinstance(source, Path) else list(source)
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
