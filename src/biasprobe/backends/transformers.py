"""Local generation with Hugging Face transformers (CPU, CUDA or MPS).

Batched and left-padded; greedy by default; sampling is seeded per batch from the batch's
keys, so the same batch gives the same answers. Imports torch/transformers on construction.

Speed: bf16/fp16 on GPU, SDPA attention, one ``generate`` call per micro-batch (the runner
hands length-sorted batches, so little padding is wasted) and every sequence stops at its own
end-of-sequence token (tokens after it are neither decoded nor counted). With ``batch_size:
auto`` the micro-batch size is estimated from free GPU memory (a fixed size on CPU/MPS); on a
CUDA out-of-memory error the batch is split in halves and retried, and later batches use the
smaller size, so nothing is lost. ``device: auto`` with several GPUs, or ``quantization``
(bitsandbytes), loads the model with ``device_map="auto"`` (accelerate).
"""

from __future__ import annotations

import importlib.util
import os
import time
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from biasprobe.backends.base import BackendInfo, ChatRequest, Generation, with_prefill
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.errors import BackendError
from biasprobe.reasoning import split_completion, splits_reasoning
from biasprobe.sources import ResolvedModel, use_safetensors

if TYPE_CHECKING:
    from biasprobe.backends.decode import Sampling
    from biasprobe.backends.fused import Fused

T = TypeVar("T")
R = TypeVar("R")

# Micro-batch sizes with ``batch_size: auto`` where free memory cannot be measured. On a 2-core
# CPU the 0.5B default model generated 3.8x the tokens/s of a one-prompt loop at 64 sequences
# (benchmarks/throughput.py, 64 x 64 tokens, float32, idle machine).
CPU_AUTO_BATCH = 64
# Requests per runner call on a GPU with ``batch_size: auto``: 64 leaves an H100 idle with a
# small model (benchmarks/throughput.py: 0.5B, 512 x 64 tokens, 3.3x faster at 256 than at 64).
GPU_AUTO_RUN_BATCH = 256
MPS_AUTO_BATCH = 16
MAX_AUTO_BATCH = 512
# Requests per runner call on CPU with ``batch_size: auto`` and continuous decoding, at least (four
# times the matmul knee where that is more), so that finished sequences are replaced by waiting
# prompts (slots: :func:`cpu_slots`).
CPU_CONTINUOUS_RUN_BATCH = 256
# ... and at most this many, so that a crash or Ctrl-C loses at most one call's answers (the
# runner saves after each call) and progress is reported at a useful grain.
CPU_CONTINUOUS_RUN_BATCH_MAX = 1024
# Sequence counts tried by :func:`matmul_knee`, and the share of the best rate that counts as
# "stopped growing".
KNEE_ROWS = (16, 32, 64, 128, 256, 512)
KNEE_SHARE = 0.9
# Set to 0 to keep the CPU weights unpacked (see :func:`pack_allowed`).
PACK_ENV = "BIASPROBE_PACK"


def continuous_run_batch(slots: int) -> int:
    """Requests per runner call for the continuous loop with ``slots`` slots: four rounds of
    slots (at least :data:`CPU_CONTINUOUS_RUN_BATCH`, at most :data:`CPU_CONTINUOUS_RUN_BATCH_MAX`,
    never fewer than the slots), so that finished answers are replaced by waiting prompts."""
    return max(slots, min(CPU_CONTINUOUS_RUN_BATCH_MAX, max(CPU_CONTINUOUS_RUN_BATCH, 4 * slots)))


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        if requested == "cuda" and not torch.cuda.is_available():
            raise BackendError("device 'cuda' requested but no CUDA GPU is available")
        if requested == "mps" and not torch.backends.mps.is_available():
            raise BackendError("device 'mps' requested but MPS is not available")
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(requested: str, device: str) -> Any:
    import torch

    if requested != "auto":
        return getattr(torch, requested)
    if device == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    if device == "mps":
        return torch.float16
    return torch.bfloat16 if cpu_has_fast_bf16() else torch.float32


def cpu_has_fast_bf16() -> bool:
    """bf16 matmuls are fast only with native support (AVX-512 BF16 or AMX); elsewhere they are
    emulated and several times slower than float32."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def batch_seed(base: int, requests: list[ChatRequest]) -> int:
    keys = "|".join(f"{pid}#{s}" for pid, s in (r.key for r in requests))
    return (base + zlib.crc32(keys.encode())) % (2**32)


def is_oom(exc: BaseException) -> bool:
    """A CUDA (or MPS) out-of-memory error."""
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "MPS backend out of memory" in str(exc)


def run_halving_on_oom(
    items: Sequence[T],
    size: int,
    run: Callable[[Sequence[T]], list[R]],
    on_oom: Callable[[int], None] = lambda _: None,
    oom: Callable[[BaseException], bool] = is_oom,
) -> tuple[list[R], int]:
    """Run ``items`` in chunks of at most ``size``; a chunk that runs out of memory is split in
    halves and retried (recursively), and later chunks use the smaller size. Returns every
    result in order and the size that worked. A single item that runs out of memory raises
    :class:`BackendError`. ``on_oom`` is called (with the new size) after each failure, to
    free memory before the retry."""
    results: list[R] = []
    pos = 0
    while pos < len(items):
        chunk = items[pos : pos + size]
        try:
            done = run(chunk)
        except BaseException as exc:
            if not oom(exc):
                raise
        else:
            results.extend(done)
            pos += len(chunk)
            continue
        # outside the except block, so the traceback (and the tensors it holds) is freed
        if len(chunk) == 1:
            raise BackendError(
                "out of GPU memory generating a single prompt; lower max_new_tokens, load the "
                "model with quantization: 8bit|4bit, or use a larger GPU / an engine (backend: "
                "openai with vLLM)"
            )
        size = max(1, len(chunk) // 2)
        on_oom(size)
    return results, size


def _text_config(model: Any) -> Any:
    return model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config


def kv_bytes_per_token(model: Any) -> int:
    """Bytes of K and V one sequence adds to the cache per token (all layers)."""
    import torch

    cfg = _text_config(model)
    layers = int(getattr(cfg, "num_hidden_layers", 32))
    heads = int(getattr(cfg, "num_attention_heads", 32))
    kv_heads = int(getattr(cfg, "num_key_value_heads", None) or heads)
    head_dim = int(getattr(cfg, "head_dim", None) or cfg.hidden_size // heads)
    elem = torch.finfo(model.dtype).bits // 8 if model.dtype.is_floating_point else 2
    return 2 * layers * kv_heads * head_dim * elem


def matmul_knee(model: Any, packed: bool = False) -> tuple[int, dict[int, float]]:
    """Where more sequences per step stop paying on this CPU: the smallest row count in
    ``KNEE_ROWS`` whose rate on the model's MLP matmul (hidden x intermediate, its dtype, the
    current thread count; through the prepacked product of backends/fused.py when ``packed``,
    as the backend then multiplies) reaches ``KNEE_SHARE`` of the best rate. Returns it and the
    rates (rows/s per row count). About half a second."""
    import torch

    from biasprobe.backends.fused import packed_linear

    cfg = _text_config(model)
    hidden = int(cfg.hidden_size)
    inter = int(getattr(cfg, "intermediate_size", 4 * hidden))
    weight = torch.randn(inter, hidden, dtype=model.dtype)
    product: Any = packed_linear(weight, None) if packed else (
        lambda x: torch.nn.functional.linear(x, weight))
    rates: dict[int, float] = {}
    with torch.inference_mode():
        for rows in KNEE_ROWS:
            x = torch.randn(rows, hidden, dtype=model.dtype)
            product(x)  # warm-up
            reps, start = 0, time.perf_counter()
            while reps < 2 or time.perf_counter() - start < 0.05:
                product(x)
                reps += 1
            rates[rows] = rows * reps / (time.perf_counter() - start)
    best = max(rates.values())
    return min(r for r, rate in rates.items() if rate >= KNEE_SHARE * best), rates


def pack_allowed() -> bool:
    """Whether prepacking the weights (backends/fused.py) is allowed: not with
    ``BIASPROBE_PACK=0`` in the environment, which keeps every product ``F.linear``'s (float32
    logits bitwise the stock model's) at the cost of speed."""
    return os.environ.get(PACK_ENV, "1").strip() != "0"


def available_ram() -> int | None:
    """MemAvailable from /proc/meminfo in bytes (None where there is none)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def cpu_slots(model: Any, knee: int, prompt_tokens: int, max_new_tokens: int) -> int:
    """Sequences decoded together on CPU: the matmul knee, unless half the available RAM cannot
    hold that many KV caches (prompt + new tokens) plus float32 logits and sampling buffers."""
    vocab = int(getattr(_text_config(model), "vocab_size", 32000))
    per_seq = kv_bytes_per_token(model) * (prompt_tokens + max_new_tokens) + 4 * 4 * vocab
    free = available_ram()
    by_memory = MAX_AUTO_BATCH if free is None else int(0.5 * free / per_seq)
    return max(1, min(knee, by_memory, MAX_AUTO_BATCH))


def auto_batch_size(model: Any, device: str, prompt_tokens: int, max_new_tokens: int) -> int:
    """A first guess of the micro-batch size: how many sequences' KV caches (plus headroom for
    activations and logits) fit in 70% of the free GPU memory. Fixed sizes on CPU and MPS."""
    if device == "mps":
        return MPS_AUTO_BATCH
    if device != "cuda":
        return CPU_AUTO_BATCH
    import torch

    cfg = _text_config(model)
    vocab = int(getattr(cfg, "vocab_size", 32000))
    elem = torch.finfo(model.dtype).bits // 8 if model.dtype.is_floating_point else 2
    per_seq = kv_bytes_per_token(model) * (prompt_tokens + max_new_tokens)
    per_seq += 4 * vocab * 2  # fp32 logits of the last position (and a copy)
    per_seq += 4 * cfg.hidden_size * prompt_tokens * elem  # prefill activations (rough)
    free = sum(torch.cuda.mem_get_info(i)[0] for i in range(torch.cuda.device_count()))
    return max(1, min(MAX_AUTO_BATCH, int(0.7 * free / (per_seq * 1.3))))


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _require_bitsandbytes(mode: str) -> None:
    if importlib.util.find_spec("bitsandbytes") is None:
        raise BackendError(
            f"quantization: {mode} needs bitsandbytes; install bitsandbytes "
            "(pip install bitsandbytes) or remove quantization from the model entry"
        )


class TransformersBackend:
    def __init__(self, entry: ModelEntry, resolved: ResolvedModel) -> None:
        import torch
        import transformers

        if entry.quantization is not None:
            _require_bitsandbytes(entry.quantization)  # before loading anything
        self.entry = entry
        self.resolved = resolved
        self.device = pick_device(entry.device)
        self.dtype = pick_dtype(entry.dtype, self.device)
        path = str(resolved.path)
        self.tokenizer: Any = self._load_tokenizer(path)
        self.chat_template: str | None = entry.chat_template or self.tokenizer.chat_template
        if not self.chat_template:
            raise BackendError(
                f"{entry.name}: the tokenizer has no chat template; set chat_template in models.yaml"
            )
        self.device_map: str | None = None
        kwargs = self._model_kwargs(path)
        self.model: Any = self._load_model(path, kwargs)
        self.fusion: Fused | None = None  # what backends/fused.py swapped (for an A/B)
        self.fused = self._fuse()
        self.share_prefix = True  # continuous decoding prefills a prefix all prompts share once
        self.input_device = self.model.device if self.device_map is not None else self.device
        gen_cfg = self.model.generation_config
        eos = gen_cfg.eos_token_id if gen_cfg.eos_token_id is not None else self.tokenizer.eos_token_id
        self.eos_ids: set[int] = set(eos if isinstance(eos, list) else [eos])
        self.think = splits_reasoning(
            entry.reasoning.mode, self.chat_template, entry.name, entry.reasoning.start
        )
        # explicit batch size: the runner's batches are generated as they come (halved on OOM);
        # auto: estimated on the first call, then kept (and halved on OOM)
        self.micro_batch: int | None = entry.batch_size if isinstance(entry.batch_size, int) else None
        self.oom_events = 0
        # continuous batching (backends/decode.py) where the model allows it, else generate()
        self.decode, self.decode_note = self._pick_decode()
        self.knee: int | None = None  # measured on the first CPU call with batch_size: auto
        self._versions = {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
        }

    def _fuse(self) -> str:
        """Fewer, larger ops per layer on CPU (backends/fused.py; checked against the stock
        logits at load, reverted when they differ): what was done, or why not."""
        from biasprobe.backends.fused import Fused, fuse

        if self.device != "cpu" or self.device_map is not None or self.entry.quantization:
            self.fusion = Fused(refused="only unsharded, unquantized models on CPU")
        else:
            self.fusion = fuse(self.model, pack=self._room_to_pack() and pack_allowed())
        return self.fusion.describe()

    def _room_to_pack(self) -> bool:
        """Whether half the available RAM holds a prepacked copy of the weights (about the
        model's parameter bytes; backends/fused.py packs float32 and, with native bf16, bf16)."""
        ram = available_ram()
        size = sum(p.numel() * p.element_size() for p in self.model.parameters())
        return ram is None or size <= ram // 2

    def _pick_decode(self) -> tuple[str, str | None]:
        """("continuous" | "generate", why continuous was not taken)."""
        from biasprobe.backends.decode import self_check, unsupported_settings

        if self.entry.decode == "generate":
            return "generate", None
        setting = unsupported_settings(self.model.generation_config)
        reason = (f"its generation config sets {setting}" if setting
                  else self_check(self.model, int(self.tokenizer.pad_token_id)))
        if reason is None:
            return "continuous", None
        if self.entry.decode == "continuous":
            raise BackendError(f"{self.entry.name}: decode: continuous does not fit this model "
                               f"({reason}); use decode: generate (or auto)")
        return "generate", reason

    def _load_tokenizer(self, path: str) -> Any:
        """The tokenizer, padding on the left (batched generation), pad = eos where missing."""
        from transformers import AutoTokenizer

        tokenizer: Any = AutoTokenizer.from_pretrained(
            path, trust_remote_code=self.entry.trust_remote_code
        )
        tokenizer.padding_side = "left"
        if tokenizer.pad_token_id is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer

    def _model_kwargs(self, path: str) -> dict[str, object]:
        """``from_pretrained`` keyword arguments; sets ``self.device_map`` (quantized or sharded)."""
        import torch

        entry = self.entry
        kwargs: dict[str, object] = {
            "dtype": self.dtype,
            "trust_remote_code": entry.trust_remote_code,
            # safetensors whenever present; a pickle only if allowed and nothing else exists
            "use_safetensors": use_safetensors(path, entry.allow_pickle),
        }
        if entry.quantization is not None:
            from transformers import BitsAndBytesConfig as _BnB

            BitsAndBytesConfig: Any = _BnB

            if entry.quantization == "8bit":
                kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
            else:
                kwargs["quantization_config"] = BitsAndBytesConfig(
                    load_in_4bit=True, bnb_4bit_compute_dtype=self.dtype,
                    bnb_4bit_quant_type="nf4",
                )
            self.device_map = "auto"
        elif entry.device == "auto" and self.device == "cuda" and torch.cuda.device_count() > 1:
            self.device_map = "auto"  # shard across every GPU (accelerate)
        if self.device_map is not None:
            kwargs["device_map"] = self.device_map
        return kwargs

    def _load_model(self, path: str, kwargs: dict[str, object]) -> Any:
        """The model in eval mode on its device, with SDPA attention where the model allows it."""
        from transformers import AutoModelForCausalLM

        model_cls = cast(Any, AutoModelForCausalLM)
        try:
            model = model_cls.from_pretrained(path, attn_implementation="sdpa", **kwargs)
        except (ValueError, ImportError) as exc:
            if "sdpa" not in str(exc).lower() and "scaled_dot_product" not in str(exc).lower():
                raise
            model = model_cls.from_pretrained(path, **kwargs)  # no SDPA for this model
        if self.device_map is None:
            model.to(self.device)
        model.eval()
        return model

    def info(self) -> BackendInfo:
        import hashlib

        return BackendInfo(
            backend="transformers",
            model_id=self.entry.name,
            resolved_revision=self.resolved.revision,
            weights_sha256=self.resolved.weights_sha256,
            tokenizer_sha256=self.resolved.tokenizer_sha256,
            chat_template_sha256=hashlib.sha256((self.chat_template or "").encode()).hexdigest(),
            dtype=str(self.dtype).removeprefix("torch."),
            device=self.device,
            versions=self._versions,
            extra={
                "reasoning_split": self.think,
                "model_dir": str(self.resolved.path),
                "attn_implementation": str(getattr(self.model.config, "_attn_implementation", "")),
                "device_map": self.device_map,
                "quantization": self.entry.quantization,
                "batch_size": self.entry.batch_size,
                "micro_batch": self.micro_batch,  # after any halving on out-of-memory
                "oom_events": self.oom_events,
                "decode": self.decode,
                "decode_fallback": self.decode_note,
                "fused": self.fused,
                "matmul_knee": self.knee,
            },
        )

    def batch_hint(self) -> int | None:
        if isinstance(self.entry.batch_size, int):
            # Explicit slots: the continuous loop still gets a queue (else each call's slots
            # idle as its answers finish, until the last one does); ``generate`` takes it as is.
            return continuous_run_batch(self.entry.batch_size) if self.decode == "continuous" else None
        if self.device == "cuda":
            return GPU_AUTO_RUN_BATCH  # micro-batches still size themselves from free memory
        if self.device == "cpu" and self.decode == "continuous":
            return continuous_run_batch(self._knee())
        return None

    def _knee(self) -> int:
        if self.knee is None:
            self.knee = matmul_knee(self.model, bool(self.fusion and self.fusion.packed))[0]
        return self.knee

    def render(self, request: ChatRequest) -> str:
        messages = [{"role": m.role, "content": m.content} for m in request.messages]
        text = self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, chat_template=self.chat_template
        )
        return str(text)

    def generate(
        self, requests: list[ChatRequest], settings: GenerationSettings
    ) -> list[Generation]:
        if not requests:
            return []
        prompts = [with_prefill(self.render(r), r.prefill, self.entry.reasoning.start)[0]
                   if r.prefill else self.render(r) for r in requests]
        if self.decode == "continuous":
            return self._generate_continuous(requests, prompts, settings)
        items = list(zip(requests, prompts, strict=True))
        size = self.micro_batch
        if size is None:
            longest = max(len(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts)
            size = auto_batch_size(self.model, self.device, longest, settings.max_new_tokens)
            self.micro_batch = size

        def shrink(new_size: int) -> None:
            self.oom_events += 1
            self.micro_batch = new_size
            _empty_cuda_cache()

        results, self.micro_batch = run_halving_on_oom(
            items, size, lambda chunk: self._generate_batch(chunk, settings), on_oom=shrink
        )
        return results

    def _slots(self, prompt_tokens: int, max_new_tokens: int) -> int:
        """Sequences decoded together: the explicit batch size, or (auto) from free GPU memory,
        or on CPU from the matmul knee and free RAM (:func:`cpu_slots`)."""
        if self.micro_batch is not None:
            return self.micro_batch
        if self.device == "cpu":
            return cpu_slots(self.model, self._knee(), prompt_tokens, max_new_tokens)
        return auto_batch_size(self.model, self.device, prompt_tokens, max_new_tokens)

    def _generate_continuous(
        self, requests: list[ChatRequest], prompts: list[str], settings: GenerationSettings
    ) -> list[Generation]:
        """All requests through one continuous-batching loop; on out-of-memory the slot count is
        halved and the call redone (each prompt's seed is its own, so answers do not change)."""
        from biasprobe.backends.decode import ContinuousDecoder, Job

        ids = [list(self.tokenizer(p, add_special_tokens=False)["input_ids"]) for p in prompts]
        jobs = [Job(x, None if settings.greedy else batch_seed(settings.seed, [r]))
                for x, r in zip(ids, requests, strict=True)]
        self.micro_batch = self._slots(max(len(x) for x in ids), settings.max_new_tokens)
        sampling = self._sampling(settings)
        while True:
            decoder = ContinuousDecoder(self.model, self.eos_ids,
                                        int(self.tokenizer.pad_token_id), self.micro_batch)
            decoder.share_prefix = self.share_prefix
            try:
                done = decoder.run(jobs, settings.max_new_tokens, sampling)
                break
            except BaseException as exc:
                if not is_oom(exc) or self.micro_batch == 1:
                    raise
            del decoder  # outside the except block, so the cache tensors are freed
            self.oom_events += 1
            self.micro_batch = max(1, self.micro_batch // 2)
            _empty_cuda_cache()
        return [self._to_generation(r, p, str(self.tokenizer.decode(d.tokens,
                                                                    skip_special_tokens=False)),
                                    d.stopped, len(x), len(d.tokens), d.latency_s)
                for r, p, x, d in zip(requests, prompts, ids, done, strict=True)]

    def _sampling(self, settings: GenerationSettings) -> Sampling:
        """The entry's temperature/top-p with the generation config's top-k and repetition
        penalty, as ``generate`` would combine them."""
        from biasprobe.backends.decode import Sampling

        cfg = self.model.generation_config
        return Sampling(greedy=settings.greedy, temperature=settings.temperature,
                        top_p=settings.top_p, top_k=cfg.top_k,
                        repetition_penalty=float(cfg.repetition_penalty or 1.0))

    def _generate_batch(
        self, items: Sequence[tuple[ChatRequest, str]], settings: GenerationSettings
    ) -> list[Generation]:
        import torch
        from transformers import set_seed

        requests = [r for r, _ in items]
        prompts = [p for _, p in items]
        enc = self.tokenizer(
            prompts, return_tensors="pt", padding=True, add_special_tokens=False
        ).to(self.input_device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": settings.max_new_tokens,
            "pad_token_id": self.tokenizer.pad_token_id,
            "do_sample": not settings.greedy,
        }
        if settings.greedy:
            kwargs.update(temperature=None, top_p=None, top_k=None)
        else:
            kwargs.update(temperature=settings.temperature, top_p=settings.top_p)
            set_seed(batch_seed(settings.seed, requests))
        start = time.perf_counter()
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        latency = time.perf_counter() - start
        width = enc["input_ids"].shape[1]
        lengths = enc["attention_mask"].sum(dim=1).tolist()
        new_tokens = out[:, width:].tolist()
        del out, enc
        results = []
        for i, req in enumerate(requests):
            new = new_tokens[i]
            # generate keeps padding finished rows until the whole batch is done: cut at the
            # first EOS, so pad/EOS tokens after it are neither decoded nor counted
            n, stopped = len(new), False
            for j, tok in enumerate(new):
                if tok in self.eos_ids:
                    n, stopped = j, True
                    break
            text = str(self.tokenizer.decode(new[:n], skip_special_tokens=False))
            results.append(self._to_generation(req, prompts[i], text, stopped, int(lengths[i]), n,
                                               latency))
        return results

    def _to_generation(
        self, req: ChatRequest, prompt: str, text: str, stopped: bool, tokens_in: int,
        tokens_out: int, latency: float,
    ) -> Generation:
        fmt = self.entry.reasoning
        if req.prefill:  # split the whole assistant turn: the forced start + what followed
            rendered = self.render(req)
            text = with_prefill(rendered, req.prefill, fmt.start)[1] + text
            prompt_for_split = rendered
        else:
            prompt_for_split = prompt
        split = split_completion(text, prompt_for_split, self.think, fmt.start, fmt.end)
        return Generation.of(
            req.key, prompt, split, "stop" if stopped else "length", tokens_in=tokens_in,
            tokens_out=tokens_out + (1 if stopped else 0), latency_s=latency,
        )

    def close(self) -> None:
        del self.model
        try:
            import torch

            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        except ImportError:  # pragma: no cover
            pass
