"""``biasprobe import``: bring responses produced elsewhere into a normal run directory.

Input is JSONL, one object per line::

    {"prompt_id": "tiananmen-1989-en", "prompt": "What happened ...?", "response": "I cannot ...",
     "reasoning": null, "language": "en", "topic": "tiananmen", "jurisdiction": "CN",
     "kind": "censorship", "model": "vendor/model-v2", "sample": 0, "pair_id": "tiananmen-1989"}

Required: ``prompt_id``, ``prompt``, ``response``. Optional: ``reasoning``, ``language``
(BCP-47, default ``und``), ``topic`` (default ``unknown``), ``jurisdiction`` (ISO 3166-1
alpha-2), ``kind`` (a probe kind, default ``neutral``), ``model`` (one model per file),
``sample`` (integer ≥ 0, default 0), ``pair_id``. Unknown fields are refused (they are usually
typos). Blank lines are skipped.

A ``response`` that carries its model's reasoning inline and has no ``reasoning`` field
(``<think>…</think>``, Kimi's ``◁think▷…◁/think▷``, ``<thinking>…</thinking>``, or only the
closing marker when the chat template opened the block, as API dumps of R1-style models do) is
split as ``biasprobe run`` splits generated text (:func:`biasprobe.reasoning.split_inline`): the classifier
must label the answer, not the opening of the trace. A block never closed is all reasoning
(empty answer, ``think_state`` truncated).

Every line is validated before anything is written; any bad line fails the whole import with
the line numbers, and nothing is created. The run is written into a hidden temporary directory
next to its destination and renamed into place only when complete, so an interrupted import
leaves no half-run behind; such folders left by a killed import (``.NAME.importing-PID``, the
process gone) are removed by the next import into the same outputs directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from biasprobe.errors import BiasprobeError
from biasprobe.manifest import (
    MANIFEST_VERSION,
    BackendSection,
    ImportSection,
    Manifest,
    ModelSection,
    ProbesSection,
    RunFingerprint,
    manifest_json,
)
from biasprobe.paths import outputs_dir
from biasprobe.reasoning import split_inline
from biasprobe.records import JSONObject, ProbeKind, Response, ThinkState
from biasprobe.store import MANIFEST, RunStore, check_run_id, ensure_outputs_dir, utcnow
from biasprobe.yamlio import read_user_file

REQUIRED = ("prompt_id", "prompt", "response")
OPTIONAL = ("reasoning", "language", "topic", "jurisdiction", "kind", "model", "sample", "pair_id")
PROMPT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
JURISDICTION = re.compile(r"^[A-Z]{2}$")
MAX_ERRORS_SHOWN = 5


class ImportFileError(BiasprobeError):
    """The file to import is missing, unreadable or has bad lines (nothing was imported)."""


@dataclass(frozen=True)
class ImportLine:
    """One validated line of an import file, in the run's field names."""

    probe_id: str
    sample: int
    probe_text: str
    prompt: str
    answer: str
    reasoning: str | None
    language: str
    topic: str
    jurisdiction: str | None
    kind: str
    pair_id: str | None
    model: str | None
    think_state: ThinkState = ThinkState.none


@dataclass(frozen=True)
class ImportResult:
    run_dir: Path
    responses: int
    prompts: int
    model: str | None
    sha256: str


def _str_field(obj: JSONObject, key: str, *, required: bool, empty_ok: bool) -> str | None:
    if key not in obj or obj[key] is None:
        if required:
            raise ValueError(f"missing {key!r}")
        return None
    value = obj[key]
    if not isinstance(value, str):
        raise ValueError(f"{key!r} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(
            f"{key!r} holds a lone surrogate ({value[exc.start]!a}), not valid Unicode"
        ) from None
    if not empty_ok and not value.strip():
        raise ValueError(f"{key!r} is empty")
    return value


def _parse_line(obj: Any) -> ImportLine:
    """Validate one decoded line; returns the normalised fields or raises ValueError."""
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    unknown = sorted(set(obj) - set(REQUIRED) - set(OPTIONAL))
    if unknown:
        raise ValueError(
            f"unknown field {unknown[0]!r} (allowed: {', '.join(REQUIRED + OPTIONAL)})"
        )
    prompt_id = _str_field(obj, "prompt_id", required=True, empty_ok=False)
    assert prompt_id is not None
    if not PROMPT_ID.fullmatch(prompt_id):
        raise ValueError(
            f"prompt_id {prompt_id!r}: use letters, digits and . _ : - (at most 200 characters)"
        )
    prompt = _str_field(obj, "prompt", required=True, empty_ok=False)
    response = _str_field(obj, "response", required=True, empty_ok=True)
    assert prompt is not None and response is not None  # required: missing ones raised
    reasoning = _str_field(obj, "reasoning", required=False, empty_ok=True)
    think_state = ThinkState.none
    split = None if reasoning and reasoning.strip() else split_inline(response)
    if split is not None:
        response, reasoning, think_state = split.answer, split.reasoning, split.think_state
    language = _str_field(obj, "language", required=False, empty_ok=False) or "und"
    from biasprobe.probes import validate_language

    validate_language(language)  # ValueError with a clear message
    topic = _str_field(obj, "topic", required=False, empty_ok=False) or "unknown"
    jurisdiction = _str_field(obj, "jurisdiction", required=False, empty_ok=False)
    if jurisdiction is not None and not JURISDICTION.fullmatch(jurisdiction):
        raise ValueError(
            f"jurisdiction {jurisdiction!r}: use an ISO 3166-1 alpha-2 code such as CN, US"
        )
    kind = _str_field(obj, "kind", required=False, empty_ok=False) or ProbeKind.neutral.value
    kinds = [k.value for k in ProbeKind]
    if kind not in kinds:
        raise ValueError(f"kind {kind!r}: use one of {', '.join(kinds)}")
    model = _str_field(obj, "model", required=False, empty_ok=False)
    pair_id = _str_field(obj, "pair_id", required=False, empty_ok=False)
    sample = obj.get("sample", 0)
    if sample is None:
        sample = 0
    if isinstance(sample, bool) or not isinstance(sample, int) or sample < 0:
        raise ValueError(f"'sample' must be an integer >= 0, got {sample!r}")
    return ImportLine(
        probe_id=prompt_id, sample=sample, probe_text=prompt, prompt=prompt, answer=response,
        reasoning=reasoning, language=language, topic=topic, jurisdiction=jurisdiction,
        kind=kind, pair_id=pair_id, model=model, think_state=think_state,
    )


def _decode_line(line: bytes) -> Any:
    """One line as JSON; ValueError with a short reason (bad UTF-8, bad JSON, nested too
    deeply, an integer over Python's digit limit)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not valid UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg})") from None
    except RecursionError:
        raise ValueError("not JSON (nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from None


_PER_PROMPT = ("probe_text", "language", "topic", "jurisdiction", "kind", "pair_id")


def read_import_file(path: Path) -> tuple[list[ImportLine], str]:
    """Validate every line of ``path``; return (records, sha256) or raise with all bad lines."""
    raw = read_user_file(path, ImportFileError, "import", "JSONL")
    sha = hashlib.sha256(raw).hexdigest()
    errors: list[str] = []
    records: list[ImportLine] = []
    seen: dict[tuple[str, int], int] = {}
    first_of_prompt: dict[str, tuple[int, ImportLine]] = {}
    first_model: tuple[int, str] | None = None
    for lineno, line in enumerate(raw.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            rec = _parse_line(_decode_line(line))
        except ValueError as exc:
            errors.append(f"line {lineno}: {exc}")
            continue
        key = (rec.probe_id, rec.sample)
        if key in seen:
            errors.append(
                f"line {lineno}: duplicate prompt_id {key[0]!r} sample {key[1]} "
                f"(first on line {seen[key]})"
            )
            continue
        seen[key] = lineno
        first = first_of_prompt.get(rec.probe_id)
        if first is None:
            first_of_prompt[rec.probe_id] = (lineno, rec)
        else:
            changed = [f for f in _PER_PROMPT if getattr(first[1], f) != getattr(rec, f)]
            if changed:
                errors.append(
                    f"line {lineno}: prompt_id {rec.probe_id!r} has a different "
                    f"{changed[0].replace('probe_text', 'prompt')} than on line {first[0]}"
                )
                continue
        if rec.model is not None:
            if first_model is None:
                first_model = (lineno, rec.model)
            elif rec.model != first_model[1]:
                errors.append(
                    f"line {lineno}: model {rec.model!r} differs from {first_model[1]!r} "
                    f"on line {first_model[0]} (import one model per run)"
                )
                continue
        records.append(rec)
    if errors:
        shown = "; ".join(errors[:MAX_ERRORS_SHOWN])
        more = f"; … and {len(errors) - MAX_ERRORS_SHOWN} more" if len(errors) > 5 else ""
        noun = "line" if len(errors) == 1 else "lines"
        raise ImportFileError(
            f"{path}: {len(errors)} bad {noun}, nothing imported: {shown}{more}"
        )
    if not records:
        raise ImportFileError(f"{path}: no records (empty file), nothing imported")
    return records, sha


def import_file(path: Path, name: str, *, outputs: Path | None = None) -> ImportResult:
    """Validate ``path`` completely, then write it as run ``name`` (all or nothing)."""
    check_run_id(name)
    base = outputs if outputs is not None else outputs_dir()
    run_dir = base / name
    if os.path.lexists(run_dir):
        what = "a run" if (run_dir / MANIFEST).exists() else "a file, link or directory"
        raise ImportFileError(f"{run_dir} already exists ({what}); choose another --name")
    records, sha = read_import_file(path)
    models = {r.model for r in records if r.model is not None}
    model = next(iter(models)) if models else None
    created = utcnow()
    responses = [
        Response(
            run_id=name,
            probe_id=r.probe_id,
            sample=r.sample,
            probe_text=r.probe_text,
            language=r.language,
            topic=r.topic,
            kind=r.kind,
            jurisdiction=r.jurisdiction,
            pair_id=r.pair_id,
            prompt=r.prompt,
            answer=r.answer,
            reasoning=r.reasoning,
            think_state=r.think_state,
            finish_reason="unknown",
            created=created,
        )
        for r in records
    ]
    prompts = len({r.probe_id for r in responses})
    from biasprobe import __version__

    manifest = manifest_json(Manifest(
        run_id=name,
        schema_version=MANIFEST_VERSION,
        biasprobe_version=__version__,
        backend=BackendSection(backend="import", model_id=model),
        model=ModelSection(name=model, source="import"),
        source=ImportSection(path=str(path), sha256=sha, lines=len(records)),
        probes=ProbesSection(count=prompts, responses=len(responses)),
        fingerprint=RunFingerprint(backend="import", model=model, source_sha256=sha),
    ))
    _write_run(base, name, manifest, responses)
    return ImportResult(
        run_dir=run_dir, responses=len(responses), prompts=prompts, model=model, sha256=sha
    )


def _write_run(base: Path, name: str, manifest: JSONObject, responses: list[Response]) -> None:
    """Build the run in ``.NAME.importing-PID`` and rename it into place (all or nothing)."""
    run_dir = base / name
    ensure_outputs_dir(base)
    clean_stale_imports(base)
    tmp = base / f".{name}.importing-{os.getpid()}"
    if os.path.lexists(tmp):
        _remove_tree(tmp)
    try:
        with RunStore.open(tmp, manifest) as store:
            store.append(responses)
            store.update_manifest(status="complete", finished=utcnow())
        for leftover in (".lock", ".lock.pid"):
            (tmp / leftover).unlink(missing_ok=True)
        if os.path.lexists(run_dir):
            raise ImportFileError(f"{run_dir} appeared while importing; choose another --name")
        os.rename(tmp, run_dir)
    except OSError as exc:
        _remove_tree(tmp)
        why = exc.strerror or str(exc)
        raise ImportFileError(f"{run_dir}: cannot write ({why}); nothing imported") from None
    except BaseException:
        _remove_tree(tmp)
        raise


_IMPORTING = re.compile(r"^\.(?P<name>.+)\.importing-(?P<pid>\d+)$")


def _remove_tree(path: Path) -> None:
    """Remove a temporary import folder (a link in its place is removed, never followed)."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path, ignore_errors=True)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def clean_stale_imports(base: Path) -> list[Path]:
    """Remove ``.NAME.importing-PID`` folders whose importing process is gone."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(base))
    except OSError:
        return removed
    for entry in entries:
        m = _IMPORTING.match(entry.name)
        if m and int(m["pid"]) != os.getpid() and not _pid_alive(int(m["pid"])):
            _remove_tree(Path(entry.path))
            removed.append(Path(entry.path))
    return removed
