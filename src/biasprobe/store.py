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

Every file write into a run directory (and ``report -o``) goes through :func:`write_atomic`:
a temporary file created with ``O_EXCL | O_NOFOLLOW`` under a name unique to the process,
fsynced, then renamed over the target, which must be absent or a regular file (never a link,
folder, FIFO or device). A full disk or other write error leaves the old file as it was and
is one :class:`RunStoreError`. Every read goes through :func:`open_regular`, which refuses
anything but a regular file without blocking (a FIFO would hang, ``/dev/zero`` never ends),
and JSON lines are bounded by :data:`MAX_LINE_BYTES`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import stat
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO, TypeVar

from filelock import FileLock, Timeout
from pydantic import BaseModel, ValidationError

from biasprobe.errors import BiasprobeError, RunStoreError
from biasprobe.manifest import Manifest, parse_manifest
from biasprobe.paths import outputs_dir
from biasprobe.records import JSONObject, Response, Score

RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+=-]{0,199}$")
MANIFEST = "manifest.json"
RESPONSES = "responses.jsonl"
SCORES = "scores.jsonl"
LOCK = ".lock"
LOCK_PID = LOCK + ".pid"
# Every file a run folder owns (data other modules write: scores.meta.json and canned.json in
# classify.score, overrides, judgements, internals). A user's output (`report -o`, `review
# --export`) never replaces one of them: tests/test_store.py keeps this list in step.
RUN_FILES = frozenset({
    MANIFEST, RESPONSES, SCORES, LOCK, LOCK_PID, "scores.meta.json", "canned.json",
    "overrides.jsonl", "judgements.jsonl", "internals.jsonl", "internals-direction.json",
})
MAX_LINE_BYTES = 32 * 1024 * 1024  # one JSON record (a long answer is well under 1 MB)
MAX_JSON_BYTES = 64 * 1024 * 1024  # manifest.json, scores.meta.json, canned.json, heads
TMP_SUFFIX = ".tmp"


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


def ensure_outputs_dir(base: Path | None = None) -> Path:
    """The outputs directory, created if needed; a file (or dangling link) there is an error."""
    base = base if base is not None else outputs_dir()
    _make_dir(base, f"outputs directory {base}")
    return base


def _make_dir(path: Path, name: str) -> None:
    """``mkdir -p`` with every failure one :class:`RunStoreError` line naming ``name``."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise RunStoreError(f"{name} exists and is not a directory") from None
    except OSError as exc:
        raise RunStoreError(f"{name}: cannot create ({exc.strerror})") from None


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


def _refuse_special_target(path: Path, error: type[BiasprobeError]) -> None:
    """The target of a write must be absent or a regular file (a link, folder, FIFO or device
    in its place is refused; ``os.replace`` would otherwise drop or follow it)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise error(f"{path}: cannot write ({exc.strerror})") from None
    if stat.S_ISLNK(st.st_mode):
        raise error(f"{path} is a symbolic link; refusing to write through it")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"{path} is not a regular file ({_kind(st.st_mode)}); refusing to replace it")


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a device"), (stat.S_ISBLK, "a device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a regular file"


def check_not_run_file(path: Path, error: type[BiasprobeError] = BiasprobeError) -> None:
    """Refuse ``path`` as a user's output when it names a file of a run folder (a folder with a
    ``manifest.json``): ``report -o outputs/RUN/responses.jsonl`` would replace the answers."""
    if path.name in RUN_FILES and os.path.lexists(path.parent / MANIFEST):
        raise error(f"{path}: is a file of the run folder {path.parent}; write the output "
                    "elsewhere (nothing was written)")


def temp_name(path: Path) -> Path:
    """A temporary name beside ``path``, unique to this process and call."""
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{TMP_SUFFIX}")


def write_atomic(
    path: Path, data: bytes | str, *, error: type[BiasprobeError] | None = None
) -> None:
    """Replace ``path`` with ``data`` atomically: readers see the old file or the new one.

    The one writer for run files and reports. Refuses a target that is a link or not a regular
    file; the temporary file is created exclusively without following links; on any write error
    (a full disk, a read-only folder) the temporary file is removed, the old file is kept, and
    the error is one ``error`` (default :class:`RunStoreError`) line.
    """
    write_atomic_many([(path, data)], error=error)


def write_atomic_many(
    items: Sequence[tuple[Path, bytes | str]],
    *,
    remove_first: Sequence[Path] = (),
    error: type[BiasprobeError] | None = None,
) -> None:
    """Several files, each atomically: every new file is written and fsynced to a temporary
    name first (a write error changes nothing), then ``remove_first`` are deleted and the
    files renamed into place in the order given."""
    err = error or RunStoreError
    for path in [*remove_first, *(p for p, _ in items)]:
        _refuse_special_target(path, err)
    staged: list[tuple[Path, Path]] = []
    try:
        for path, data in items:
            staged.append((_stage(path, data, err), path))
        for path in remove_first:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        for tmp, path in staged:
            _refuse_special_target(path, err)
            os.replace(tmp, path)
    except OSError as exc:
        full = " (disk full)" if exc.errno == errno.ENOSPC else ""
        where = exc.filename or (items[0][0] if items else "")
        raise err(f"{where}: cannot write ({exc.strerror}){full}") from None
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
    for folder in {p.parent for p, _ in items}:
        _fsync_dir(folder)


def _stage(path: Path, data: bytes | str, err: type[BiasprobeError]) -> Path:
    """``data`` written and fsynced to a new temporary file beside ``path``."""
    raw = data.encode("utf-8", errors="backslashreplace") if isinstance(data, str) else data
    tmp = temp_name(path)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(tmp, flags, 0o644)
    except OSError as exc:
        raise err(f"{path}: cannot write ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            full = " (disk full)" if exc.errno == errno.ENOSPC else ""
            raise err(f"{path}: cannot write ({exc.strerror}){full}; nothing was changed") from None
        raise
    return tmp


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def json_text(data: Any) -> str:
    """How run JSON files are written: UTF-8, indented, sorted keys, final newline."""
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def atomic_write_json(path: Path, data: Any) -> None:
    write_atomic(path, json_text(data))


def write_jsonl_atomic(path: Path, lines: Sequence[str]) -> None:
    """A whole JSON-lines file (one string per line), atomically."""
    write_atomic(path, "".join(line + "\n" for line in lines))


def clean_stale_temps(folder: Path) -> None:
    """Remove temporary files left by a killed writer (``.NAME.PID-XXXX.tmp`` and the older
    ``NAME.tmp``). Call only while holding the folder's lock: no live writer owns them then."""
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    for entry in entries:
        if entry.name.endswith(TMP_SUFFIX) and not entry.is_dir(follow_symlinks=False):
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def open_regular(path: Path, error: type[BiasprobeError] | None = None) -> BinaryIO:
    """Open ``path`` for reading if it is a regular file (links to one are followed).

    A FIFO, device (``/dev/zero``), socket or folder is refused at once (opened non-blocking,
    so a FIFO cannot hang the reader). ``FileNotFoundError`` is left to the caller.
    """
    err = error or RunStoreError
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(path)) from None
    except OSError as exc:
        raise err(f"{path}: cannot read ({exc.strerror})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise err(f"{path}: is {_kind(mode)}, expected a regular file")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def read_bounded(
    path: Path, limit: int = MAX_JSON_BYTES, error: type[BiasprobeError] | None = None
) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (see :func:`open_regular`)."""
    err = error or RunStoreError
    with open_regular(path, err) as fh:
        try:
            raw = fh.read(limit + 1)
        except OSError as exc:
            raise err(f"{path}: cannot read ({exc.strerror})") from None
    if len(raw) > limit:
        raise err(f"{path}: larger than {limit // (1024 * 1024)} MiB; refusing to read it")
    return raw


def load_json_file(path: Path, what: str, error: type[BiasprobeError] | None = None) -> Any:
    """A JSON file from an untrusted place; every failure (missing, not a regular file, too big,
    bad UTF-8, bad JSON, nested too deep, integers over the digit limit) is one ``error``."""
    err = error or RunStoreError
    try:
        raw = read_bounded(path, MAX_JSON_BYTES, err)
    except FileNotFoundError:
        raise err(f"{path}: {what} not found") from None
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise err(f"{path}: corrupt {what} (not valid UTF-8 at byte {exc.start})") from None
    except RecursionError:
        raise err(f"{path}: corrupt {what} (nested too deeply)") from None
    except ValueError as exc:  # JSONDecodeError, or an integer over the digit limit
        raise err(f"{path}: corrupt {what} ({exc})") from None


def read_manifest(run_dir: Path) -> JSONObject:
    path = run_dir / MANIFEST
    if not os.path.lexists(path):
        raise RunStoreError(f"{path}: missing manifest (not a biasprobe run directory)")
    data = load_json_file(path, "manifest")
    if not isinstance(data, dict) or not isinstance(data.get("run_id"), str):
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


def _parse_line(raw: bytes) -> JSONObject | None:
    """A JSON object, or None if ``raw`` is not one (bad UTF-8, bad JSON, too deep, …)."""
    try:
        obj = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return obj if isinstance(obj, dict) else None


def iter_jsonl(
    path: Path, *, skip_torn_tail: bool = False
) -> Iterator[tuple[int, JSONObject]]:
    """Yield (line number, object) for every line; a bad line is a RunStoreError.

    With ``skip_torn_tail``, a last line without its newline that does not parse (a record
    being written, or left by a crash) is skipped instead; the file is never modified here.
    """
    with open_regular(path) as fh:
        for lineno, raw in enumerate(iter(lambda: fh.readline(MAX_LINE_BYTES + 1), b""), 1):
            if len(raw) > MAX_LINE_BYTES:
                raise RunStoreError(
                    f"{path}:{lineno}: line longer than {MAX_LINE_BYTES // (1024 * 1024)} MiB"
                )
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


RecordT = TypeVar("RecordT", bound=BaseModel)


def iter_records(path: Path, model: type[RecordT], what: str) -> Iterator[tuple[int, RecordT]]:
    """The lines of a run JSONL file, each validated as ``model`` (a torn last line is ignored);
    an invalid line is one :class:`RunStoreError` naming the file, line and field."""
    for lineno, obj in iter_jsonl(path, skip_torn_tail=True):
        try:
            yield lineno, model.model_validate(obj)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            msg = " ".join(str(err["msg"]).split())
            raise RunStoreError(f"{path}:{lineno}: invalid {what} record: {loc}: {msg}") from None


def _check_unique(
    seen: dict[tuple[str, int], int], key: tuple[str, int], path: Path, lineno: int, noun: str,
    advice: str,
) -> None:
    """Record ``key`` as first seen on ``lineno``; a second line for it is one error line."""
    if key in seen:
        raise RunStoreError(
            f"{path}:{lineno}: duplicate {noun} for prompt {key[0]!r} sample {key[1]} "
            f"(first on line {seen[key]}); {advice}"
        )
    seen[key] = lineno


def _responses_run_id(run_dir: Path) -> str | None:
    """The run id of the first answer in ``responses.jsonl`` (None without one): the run that
    ``scores.jsonl`` must label. Its own problems are reported where it is read in full."""
    path = run_dir / RESPONSES
    if not os.path.lexists(path):
        return None
    try:
        for _lineno, response in iter_records(path, Response, "response"):
            return response.run_id
    except (OSError, BiasprobeError):
        return None
    return None


def _check_run_id(expected: str | None, run_id: str, path: Path, lineno: int) -> str:
    """``run_id`` of a line against the run's (the answers', else the file's first line's): a
    line of another run (a ``scores.jsonl`` copied from another run folder, two runs' lines in
    one file) is one error line, never read as this run's."""
    if expected is not None and run_id != expected:
        raise RunStoreError(f"{path}:{lineno}: run_id {run_id[:80]!r} is not this run's "
                            f"({expected[:80]!r}): a line of another run")
    return run_id


def read_responses(run_dir: Path) -> list[Response]:
    """Every record of ``responses.jsonl``; a torn last line is ignored (see module doc)."""
    path = run_dir / RESPONSES
    if not os.path.lexists(path):
        return []
    out: list[Response] = []
    seen: dict[tuple[str, int], int] = {}
    run_id: str | None = None
    try:
        for lineno, response in iter_records(path, Response, "response"):
            run_id = _check_run_id(run_id, response.run_id, path, lineno)
            _check_unique(seen, response.key, path, lineno, "record",
                          "a run holds each (prompt, sample) once")
            out.append(response)
    except FileNotFoundError:
        raise RunStoreError(f"{path}: is a dangling symbolic link") from None
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot read ({exc.strerror})") from None
    return out


def read_scores(run_dir: Path) -> dict[tuple[str, int], Score]:
    """Every record of ``scores.jsonl`` by (probe_id, sample), validated as :class:`Score`
    (so ``show``, ``diff``, ``compare`` and ``report`` accept and refuse the same files).
    A torn last line is ignored; a second line for the same (prompt, sample) is an error."""
    path = run_dir / SCORES
    out: dict[tuple[str, int], Score] = {}
    lines: dict[tuple[str, int], int] = {}
    run_id = _responses_run_id(run_dir)
    try:
        for lineno, score in iter_records(path, Score, "score"):
            run_id = _check_run_id(run_id, score.run_id, path, lineno)
            key = (score.probe_id, score.sample)
            _check_unique(lines, key, path, lineno, "score", "score the run again")
            out[key] = score
    except FileNotFoundError:
        raise RunStoreError(f"{path}: not found (or a dangling link)") from None
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
    manifest: JSONObject
    _lock: FileLock

    @classmethod
    def open(
        cls,
        run_dir: Path,
        new_manifest: JSONObject,
        *,
        warn: Callable[[str], None] | None = None,
    ) -> RunStore:
        """Create the run, or reopen it for resuming after checking it matches.

        ``new_manifest["fingerprint"]`` must equal the stored one; otherwise the run is refused
        with the fields that differ. ``warn`` receives one-line notes (a repaired torn line, a
        stale lock); by default they are :class:`RepairWarning` warnings.
        """
        lock = acquire_run_lock(run_dir, create=True, warn=warn)
        try:
            manifest_path = run_dir / MANIFEST
            responses = run_dir / RESPONSES
            if os.path.lexists(manifest_path):
                old = read_manifest(run_dir)
                check_same_fingerprint(run_dir, old.get("fingerprint", {}), new_manifest["fingerprint"])
                # Read everything back before touching anything: a refused resume leaves the
                # directory byte-identical (the torn-tail repair below is the first write).
                read_responses(run_dir)
                if os.path.lexists(responses):
                    _repair_torn_tail(responses, warn)
                resumed = old.get("resumed")  # validated above: a list of times, or absent
                manifest = {**old, "resumed": [*(resumed if isinstance(resumed, list) else []),
                                               utcnow()]}
            else:
                if os.path.lexists(responses):
                    raise RunStoreError(
                        f"{run_dir}: responses.jsonl without manifest.json; refusing to touch it"
                    )
                manifest = {**new_manifest, "created": utcnow()}
            atomic_write_json(manifest_path, manifest)
        except BaseException:
            release_run_lock(run_dir, lock)
            raise
        return cls(run_dir=run_dir, manifest=manifest, _lock=lock)

    def update_manifest(self, **fields: Any) -> None:
        self.manifest.update(fields)
        atomic_write_json(self.run_dir / MANIFEST, self.manifest)

    def done_keys(self) -> set[tuple[str, int]]:
        return {r.key for r in read_responses(self.run_dir)}

    def append(self, records: list[Response]) -> None:
        """Append records: one line each, flushed, fsynced once per call. On a write error
        (a full disk) the file is cut back to its previous length: no half record stays."""
        path = self.run_dir / RESPONSES
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            raise RunStoreError(f"{path}: cannot write ({exc.strerror})") from None
        with os.fdopen(fd, "ab") as fh:
            start = os.fstat(fd).st_size
            try:
                for rec in records:
                    fh.write((rec.model_dump_json() + "\n").encode("utf-8"))
                    fh.flush()
                os.fsync(fh.fileno())
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, start)
                raise RunStoreError(
                    f"{path}: cannot write ({exc.strerror}); the records of this batch were "
                    "not saved, everything before them is intact"
                ) from None

    def close(self) -> None:
        release_run_lock(self.run_dir, self._lock)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _read_pid(run_dir: Path) -> int | None:
    """The pid in ``.lock.pid`` (informative only), or None if absent or not a number."""
    try:
        return int(read_bounded(run_dir / LOCK_PID, 64).decode("ascii").strip())
    except (OSError, ValueError, BiasprobeError):
        return None


def _lock_owner(run_dir: Path) -> str:
    pid = _read_pid(run_dir)
    return "" if pid is None else f" (pid {pid})"


def _stale_owner(run_dir: Path) -> int | None:
    """The pid left in ``.lock.pid`` by a holder that died (we hold the OS lock now)."""
    pid = _read_pid(run_dir)
    return pid if pid != os.getpid() else None


def acquire_run_lock(
    run_dir: Path, *, create: bool = False, warn: Callable[[str], None] | None = None
) -> FileLock:
    """Take the run directory's OS lock (one writer at a time: ``run``, ``import``, ``score``)
    after refusing links and special files; then remove temporary files a killed writer left.
    ``create`` makes the directory first. Release with :func:`release_run_lock`."""
    _refuse_links(run_dir)
    if create:
        _make_dir(run_dir, str(run_dir))
        _refuse_links(run_dir)
    lock = FileLock(str(run_dir / LOCK))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise RunStoreError(
            f"{run_dir} is in use by another biasprobe process{_lock_owner(run_dir)}; "
            "wait for it to finish or use another --run-id"
        ) from None
    except OSError as exc:
        raise RunStoreError(f"{run_dir}: cannot lock ({exc.strerror})") from None
    try:
        stale = _stale_owner(run_dir)
        if stale is not None and warn is not None:
            warn(f"{run_dir}: the previous run (pid {stale}) did not exit cleanly; resuming")
        clean_stale_temps(run_dir)
        write_atomic(run_dir / LOCK_PID, str(os.getpid()))
    except BaseException:
        lock.release()
        raise
    return lock


def release_run_lock(run_dir: Path, lock: FileLock) -> None:
    with contextlib.suppress(OSError):
        (run_dir / LOCK_PID).unlink(missing_ok=True)
    lock.release()


@contextlib.contextmanager
def run_lock(run_dir: Path) -> Iterator[None]:
    """Hold the run directory's lock (see :func:`acquire_run_lock`) for a ``with`` block."""
    lock = acquire_run_lock(run_dir)
    try:
        yield
    finally:
        release_run_lock(run_dir, lock)


def _refuse_links(run_dir: Path) -> None:
    """Refuse to write through symbolic links: a link planted in the outputs directory (or in
    a run directory) must not redirect the manifest or records elsewhere; a FIFO, device or
    folder in place of a run file is refused too."""
    if run_dir.is_symlink():
        raise RunStoreError(
            f"{run_dir} is a symbolic link; refusing to write through it "
            "(use the real directory, or another --run-id)"
        )
    if run_dir.exists() and not run_dir.is_dir():
        raise RunStoreError(f"{run_dir} exists and is not a directory")
    for name in (MANIFEST, RESPONSES, SCORES, LOCK, LOCK_PID):
        _refuse_special_target(run_dir / name, RunStoreError)


def check_same_fingerprint(run_dir: Path, old: object, new: object) -> None:
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


def read_side_records(run_dir: Path, name: str, model: type[RecordT], what: str) -> list[RecordT]:
    """Every line of the append-only side file ``name`` (e.g. ``judgements.jsonl``), validated
    as ``model``, in file order. A missing file is an empty list; a link, a special file or a
    bad line is one :class:`RunStoreError` (a torn last line is ignored, never modified)."""
    path = run_dir / name
    if path.is_symlink():
        raise RunStoreError(f"{path} is a symbolic link; refusing to read through it")
    if not os.path.lexists(path):
        return []
    try:
        return [rec for _, rec in iter_records(path, model, what)]
    except FileNotFoundError:
        raise RunStoreError(f"{path}: disappeared while reading") from None
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot read ({exc.strerror})") from None
