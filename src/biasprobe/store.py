"""Run directories: ``outputs/<run-id>/`` with ``manifest.json`` and ``responses.jsonl``.

Guarantees:
- records are appended one JSON line at a time, flushed (and fsynced per batch), never rewritten;
- a torn last line (crash mid-write) is detected on open, cut off with a warning, and the probe
  it belonged to is generated again (a complete record that only lacks its newline is kept);
  readers skip a torn last line without touching the file (a writer may still be appending);
  a corrupt line elsewhere is an error, nothing is deleted;
- one writer at a time per run directory (an OS lock, released by the kernel if the process dies;
  ``.lock.pid`` names the holder and is only informative, so a stale one never blocks a resume);
- the manifest is written atomically (temp file + rename), and only after the existing records
  were read back successfully, so a refused resume leaves the directory byte-identical;
- a run directory that is a symbolic link (or holds links in place of its files) is refused for
  writing, so a planted link cannot redirect writes outside the outputs directory.
"""

from __future__ import annotations

import json
import os
import re
import stat
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from filelock import FileLock, Timeout
from pydantic import ValidationError

from biasprobe.errors import RunStoreError
from biasprobe.manifest import Manifest, parse_manifest
from biasprobe.paths import outputs_dir
from biasprobe.records import Response

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]{0,199}$")
MANIFEST = "manifest.json"
RESPONSES = "responses.jsonl"
SCORES = "scores.jsonl"
LOCK = ".lock"
LOCK_PID = LOCK + ".pid"


class RepairWarning(UserWarning):
    """A run file was repaired (e.g. a torn last line cut off after a crash)."""


def utcnow() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def check_run_id(run_id: str) -> str:
    """Run ids are plain names: they cannot contain '/' or start with '.', so no traversal."""
    if not RUN_ID_PATTERN.fullmatch(run_id) or ".." in run_id:
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
    parse_manifest(data, path)  # every section has the type it should
    return data


def load_manifest(run_dir: Path) -> Manifest:
    """The manifest of ``run_dir`` as the typed :class:`~biasprobe.manifest.Manifest`."""
    return parse_manifest(read_manifest(run_dir), run_dir / MANIFEST)


def _repair_torn_tail(path: Path, warn: Callable[[str], None] | None = None) -> None:
    """If the file does not end with a newline, cut the partial last line (with a warning).

    A last line that is a complete JSON object (only the newline is missing) is kept and
    completed with a newline instead."""
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
        fh.seek(keep)
        tail = fh.read()
        if _parse_line(tail) is not None:
            fh.seek(size)
            fh.write(b"\n")
            fh.flush()
            os.fsync(fh.fileno())
            return
        fh.truncate(keep)
        fh.flush()
        os.fsync(fh.fileno())
    message = (
        f"{path}: removed a torn last line ({size - keep} bytes) left by an interrupted run; "
        "that record will be generated again"
    )
    if warn is not None:
        warn(message)
    else:
        warnings.warn(message, RepairWarning, stacklevel=3)


def _parse_line(raw: bytes) -> dict[str, Any] | None:
    """A JSON object, or None if ``raw`` is not one (bad UTF-8, bad JSON, too deep, …)."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return obj if isinstance(obj, dict) else None


def iter_jsonl(
    path: Path, *, skip_torn_tail: bool = False
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (line number, object) for every line; a bad line is a RunStoreError.

    With ``skip_torn_tail``, a last line without its newline that does not parse (a record
    being written, or left by a crash) is skipped instead; the file is never modified here.
    """
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                if skip_torn_tail and not raw.endswith(b"\n"):
                    return
                raise RunStoreError(f"{path}:{lineno}: not valid UTF-8") from None
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError):
                if skip_torn_tail and not raw.endswith(b"\n"):
                    return
                raise RunStoreError(f"{path}:{lineno}: corrupt line (not JSON)") from None
            if not isinstance(obj, dict):
                raise RunStoreError(f"{path}:{lineno}: corrupt line (not a JSON object)")
            yield lineno, obj


def read_responses(run_dir: Path) -> list[Response]:
    """Every record of ``responses.jsonl``; a torn last line is ignored (see module doc)."""
    path = run_dir / RESPONSES
    if not path.exists():
        return []
    out = []
    try:
        for lineno, obj in iter_jsonl(path, skip_torn_tail=True):
            try:
                out.append(Response.model_validate(obj))
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                msg = " ".join(str(err["msg"]).split())
                raise RunStoreError(
                    f"{path}:{lineno}: invalid response record: {loc}: {msg}"
                ) from None
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot read ({exc.strerror})") from None
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
    def open(
        cls,
        run_dir: Path,
        new_manifest: dict[str, Any],
        *,
        warn: Callable[[str], None] | None = None,
    ) -> RunStore:
        """Create the run, or reopen it for resuming after checking it matches.

        ``new_manifest["fingerprint"]`` must equal the stored one; otherwise the run is refused
        with the fields that differ. ``warn`` receives one-line notes (a repaired torn line, a
        stale lock); by default they are :class:`RepairWarning` warnings.
        """
        _refuse_links(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        _refuse_links(run_dir)
        lock = FileLock(str(run_dir / LOCK))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            raise RunStoreError(
                f"{run_dir} is in use by another biasprobe process{_lock_owner(run_dir)}; "
                "wait for it to finish or use another --run-id"
            ) from None
        try:
            stale = _stale_owner(run_dir)
            if stale is not None and warn is not None:
                warn(f"{run_dir}: the previous run (pid {stale}) did not exit cleanly; resuming")
            (run_dir / LOCK_PID).write_text(str(os.getpid()))
            manifest_path = run_dir / MANIFEST
            responses = run_dir / RESPONSES
            if manifest_path.exists():
                old = read_manifest(run_dir)
                check_same_fingerprint(run_dir, old.get("fingerprint", {}), new_manifest["fingerprint"])
                if responses.exists():
                    _repair_torn_tail(responses, warn)
                    read_responses(run_dir)  # refuse a corrupt file before touching anything
                manifest = {**old, "resumed": [*old.get("resumed", []), utcnow()]}
            else:
                if responses.exists():
                    raise RunStoreError(
                        f"{run_dir}: responses.jsonl without manifest.json; refusing to touch it"
                    )
                manifest = {**new_manifest, "created": utcnow()}
            atomic_write_json(manifest_path, manifest)
        except BaseException:
            (run_dir / LOCK_PID).unlink(missing_ok=True)
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
        (self.run_dir / LOCK_PID).unlink(missing_ok=True)
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
        return f" (pid {int((run_dir / LOCK_PID).read_text())})"
    except (OSError, ValueError):
        return ""


def _stale_owner(run_dir: Path) -> int | None:
    """The pid left in ``.lock.pid`` by a holder that died (we hold the OS lock now)."""
    try:
        pid = int((run_dir / LOCK_PID).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if pid != os.getpid() else None


def _refuse_links(run_dir: Path) -> None:
    """Refuse to write through symbolic links: a link planted in the outputs directory (or in
    a run directory) must not redirect the manifest or records elsewhere."""
    if run_dir.is_symlink():
        raise RunStoreError(
            f"{run_dir} is a symbolic link; refusing to write through it "
            "(use the real directory, or another --run-id)"
        )
    for name in (MANIFEST, RESPONSES, LOCK, LOCK_PID, MANIFEST + ".tmp"):
        if (run_dir / name).is_symlink():
            raise RunStoreError(f"{run_dir / name} is a symbolic link; refusing to write through it")


def check_same_fingerprint(run_dir: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Refuse to resume a run with different weights, settings or probes."""
    changed = _diff_keys(old, new)
    if changed:
        shown = ", ".join(changed[:4]) + (" …" if len(changed) > 4 else "")
        raise RunStoreError(
            f"{run_dir} was made with different settings ({shown} changed); "
            "refusing to mix them: use a new --run-id"
        )


def append_run_lines(run_dir: Path, name: str, lines: list[str], *, timeout_s: float = 5.0) -> None:
    """Append whole JSON lines to the side file ``name`` of an existing run, holding the run's
    lock (so no ``run``/``score`` writes at the same time) and refusing symbolic links.

    Used for append-only side files such as ``overrides.jsonl``; a torn last line left by a
    crash is cut off first so a new record never joins it."""
    if "/" in name or name.startswith(".") or name in (MANIFEST, RESPONSES, LOCK, LOCK_PID):
        raise RunStoreError(f"{name!r} is not a side file of a run")
    _refuse_links(run_dir)
    path = run_dir / name
    if path.is_symlink():
        raise RunStoreError(f"{path} is a symbolic link; refusing to write through it")
    lock = FileLock(str(run_dir / LOCK))
    try:
        lock.acquire(timeout=timeout_s)
    except Timeout:
        raise RunStoreError(
            f"{run_dir} is in use by another biasprobe process{_lock_owner(run_dir)}; try again"
        ) from None
    try:
        flags = (os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK
                 | getattr(os, "O_NOFOLLOW", 0))  # no blocking on a planted FIFO either
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise RunStoreError(f"{path}: cannot write ({exc.strerror})") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise RunStoreError(f"{path} is not a regular file; refusing to write to it")
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            _repair_torn_tail(path)
            fh.write("".join(line.rstrip("\n") + "\n" for line in lines))
            fh.flush()
            os.fsync(fh.fileno())
    finally:
        lock.release()
