"""Run directories: ``outputs/<run-id>/`` with ``manifest.json`` and ``responses.jsonl``.

Guarantees:
- records are appended one JSON line at a time, flushed (and fsynced per batch), never rewritten;
- a torn last line (crash mid-write) is detected on open, cut off with a warning, and the probe
  it belonged to is generated again; a corrupt line elsewhere is an error, nothing is deleted;
- one writer at a time per run directory (an OS lock, released by the kernel if the process dies);
- the manifest is written atomically (temp file + rename).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout
from pydantic import ValidationError

from biasprobe.errors import RunStoreError
from biasprobe.paths import outputs_dir
from biasprobe.records import Response

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]{0,199}$")
MANIFEST = "manifest.json"
RESPONSES = "responses.jsonl"
SCORES = "scores.jsonl"
LOCK = ".lock"


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_run_id(run_id: str) -> str:
    """Run ids are plain names: they cannot contain '/' or start with '.', so no traversal."""
    if not RUN_ID_PATTERN.match(run_id) or ".." in run_id:
        raise RunStoreError(
            f"invalid run id {run_id!r}: use letters, digits and . _ + = - (no '/' or '..')"
        )
    return run_id


def resolve_run_dir(run: str) -> Path:
    """A run id under the outputs directory, or an existing run directory path."""
    path = Path(run)
    if path.is_dir() and (path / MANIFEST).exists():
        return path
    if "/" in run or os.sep in run:
        raise RunStoreError(f"{run}: no run directory (no {MANIFEST} there)")
    run_dir = outputs_dir() / check_run_id(run)
    if not (run_dir / MANIFEST).exists():
        raise RunStoreError(f"run {run!r} not found under {outputs_dir()}/")
    return run_dir


def atomic_write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_manifest(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunStoreError(f"{path}: missing manifest (not a biasprobe run directory)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunStoreError(f"{path}: corrupt manifest ({exc})") from None
    if not isinstance(data, dict) or "run_id" not in data:
        raise RunStoreError(f"{path}: corrupt manifest (no run_id)")
    return data


def _repair_torn_tail(path: Path) -> None:
    """If the file does not end with a newline, cut the partial last line (with a warning)."""
    with path.open("rb+") as fh:
        fh.seek(0, os.SEEK_END)
        size = fh.tell()
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        # Find the last newline; everything after it is a torn record.
        pos = size - 1
        chunk = 4096
        keep = 0
        while pos > 0:
            start = max(0, pos - chunk)
            fh.seek(start)
            block = fh.read(pos - start)
            idx = block.rfind(b"\n")
            if idx != -1:
                keep = start + idx + 1
                break
            pos = start
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    warnings.warn(
        f"{path}: removed a torn last line ({size - keep} bytes) left by an interrupted run; "
        "that record will be generated again",
        stacklevel=3,
    )


def iter_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for every line; a bad line is a RunStoreError."""
    with path.open("r", encoding="utf-8", errors="strict") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise RunStoreError(f"{path}:{lineno}: corrupt line (not JSON)") from None
            if not isinstance(obj, dict):
                raise RunStoreError(f"{path}:{lineno}: corrupt line (not a JSON object)")
            yield lineno, obj


def read_responses(run_dir: Path) -> list[Response]:
    path = run_dir / RESPONSES
    if not path.exists():
        return []
    out = []
    try:
        for lineno, obj in iter_jsonl(path):
            try:
                out.append(Response.model_validate(obj))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise RunStoreError(
                    f"{path}:{lineno}: invalid response record: {loc}: {err['msg']}"
                ) from None
    except UnicodeDecodeError:
        raise RunStoreError(f"{path}: not valid UTF-8") from None
    return out


def _diff_keys(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(set(old) | set(new))
        return [d for k in keys for d in _diff_keys(old.get(k), new.get(k), f"{prefix}{k}.")]
    return [] if old == new else [prefix.rstrip(".")]


@dataclass
class RunStore:
    """An open, locked run directory. Use as a context manager."""

    run_dir: Path
    manifest: dict[str, Any]
    _lock: FileLock

    @classmethod
    def open(cls, run_dir: Path, new_manifest: dict[str, Any]) -> RunStore:
        """Create the run, or reopen it for resuming after checking it matches.

        ``new_manifest["fingerprint"]`` must equal the stored one; otherwise the run is refused
        with the fields that differ.
        """
        run_dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(str(run_dir / LOCK))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunStoreError(
                f"{run_dir} is in use by another biasprobe process{_lock_owner(run_dir)}; "
                "wait for it to finish or use another --run-id"
            ) from None
        try:
            (run_dir / (LOCK + ".pid")).write_text(str(os.getpid()))
            manifest_path = run_dir / MANIFEST
            if manifest_path.exists():
                old = read_manifest(run_dir)
                check_same_fingerprint(run_dir, old.get("fingerprint", {}), new_manifest["fingerprint"])
                manifest = {**old, "resumed": [*old.get("resumed", []), utcnow()]}
            else:
                if (run_dir / RESPONSES).exists():
                    raise RunStoreError(
                        f"{run_dir}: responses.jsonl without manifest.json; refusing to touch it"
                    )
                manifest = {**new_manifest, "created": utcnow()}
            atomic_write_json(manifest_path, manifest)
            responses = run_dir / RESPONSES
            if responses.exists():
                _repair_torn_tail(responses)
        except BaseException:
            lock.release()
            raise
        return cls(run_dir=run_dir, manifest=manifest, _lock=lock)

    def update_manifest(self, **fields: Any) -> None:
        self.manifest.update(fields)
        atomic_write_json(self.run_dir / MANIFEST, self.manifest)

    def done_keys(self) -> set[tuple[str, int]]:
        return {r.key for r in read_responses(self.run_dir)}

    def append(self, records: list[Response]) -> None:
        """Append records: one line each, flushed, fsynced once per call."""
        with (self.run_dir / RESPONSES).open("a", encoding="utf-8") as fh:
            for rec in records:
                fh.write(rec.model_dump_json() + "\n")
                fh.flush()
            os.fsync(fh.fileno())

    def close(self) -> None:
        (self.run_dir / (LOCK + ".pid")).unlink(missing_ok=True)
        self._lock.release()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _lock_owner(run_dir: Path) -> str:
    try:
        return f" (pid {int((run_dir / (LOCK + '.pid')).read_text())})"
    except (OSError, ValueError):
        return ""


def check_same_fingerprint(run_dir: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse to resume a run with different weights, settings or probes."""
    changed = _diff_keys(old, new)
    if changed:
        shown = ", ".join(changed[:4]) + (" …" if len(changed) > 4 else "")
        raise RunStoreError(
            f"{run_dir} was made with different settings ({shown} changed); "
            "refusing to mix them: use a new --run-id"
        )
