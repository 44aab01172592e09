"""Continuous batching for the transformers backend: our own decode loop over the model's forward.

Why not ``model.generate`` on a padded batch: every row stays in the batch until the longest
answer is done (on the default model about a quarter of the rows are finished padding), the
dynamic KV cache grows by concatenation every step, and the full-vocabulary LM head is computed
for finished rows. Here a fixed number of *slots* each own a preallocated KV cache row
(``SlotCache``); a finished sequence frees its slot at once and the next waiting prompt is
prefilled into it (waiting prompts sorted by length, prefilled in groups of similar length:
prompt-length bucketing); the LM head runs only on the rows still generating; when no prompt is
waiting the cache is compacted so the tail of a run does not drag empty rows along. A prefix
every prompt of the run shares (on chat models, the template's system prompt: about half of the
default model's prompt tokens on 64 china-sensitive prompts) is prefilled once and its K/V
copied into each slot, so each prompt's prefill covers only its own tokens.

Decisions match ``generate``: greedy is the argmax of the same float32 logits (within rounding
where backends/fused.py prepacked float32 weights; after a repetition penalty when the
generation config has one; plain greedy takes the first maximum of the head's bf16 logits: the
same token, without a float32 copy); sampling applies temperature,
top-k and top-p with transformers' own warpers, drawing each prompt's tokens from its own
``torch.Generator`` (seeded per prompt, so answers do not depend on what else is in the batch).
A generation config with any other logits processor is reported by :func:`unsupported_settings`
and the backend falls back to ``generate``.

The model is driven through its decoder (``get_decoder()``) with an explicit position per row
and a ready-made 4-D boolean mask (``{"full_attention": mask}``, which transformers' decoders
take as is); :func:`self_check` compares the result with the model's own forward once, so an
architecture this does not fit (sliding windows, soft-capped logits) is refused, not mis-decoded.
"""

from __future__ import annotations

import inspect
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, cast

# generation-config fields whose processors this loop does not apply (non-default -> fall back)
UNSUPPORTED = (
    "no_repeat_ngram_size", "bad_words_ids", "min_length", "min_new_tokens", "suppress_tokens",
    "begin_suppress_tokens", "forced_bos_token_id", "forced_eos_token_id", "sequence_bias",
    "exponential_decay_length_penalty", "encoder_repetition_penalty", "typical_p",
    "epsilon_cutoff", "eta_cutoff", "min_p", "renormalize_logits", "guidance_scale",
    "watermarking_config", "num_beams", "num_beam_groups",
)
# tokens per prefill forward (several prompts of similar length share one)
PREFILL_TOKENS = 4096
# ... and a group stops taking longer prompts once padding them all to the longest would make
# more than this share of its positions padding, if it already has PREFILL_MIN_TOKENS prompt
# tokens. Off (1.0): one group of the 64-prompt benchmark is 37% padding (1,601 prompt tokens in
# 2,560 positions), but split at 0.15 into 4 groups (13% padding) the bf16 prefill took 4.0-4.2 s
# of wall clock against 3.2 s for the one group (2 threads, load ~2; benchmarks/decode_split.py
# --prefill-padding), though less CPU with one thread (decode_ab.py --against whole-prefill:
# 1.19x tokens per CPU-second); smaller groups cost more than their padding here.
PREFILL_PADDING = 1.0
PREFILL_MIN_TOKENS = 256
# a prefix shared by every prompt of a run (the chat template's system prompt: 24 of the
# default model's 49 prompt tokens on 64 china-sensitive prompts) is prefilled once and its K/V
# copied into each slot when it is at least this long
SHARED_PREFIX_MIN = 8


@dataclass(frozen=True)
class Sampling:
    """How the next token is chosen (the generation config's values where the entry is silent)."""

    greedy: bool
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    repetition_penalty: float = 1.0


@dataclass(frozen=True)
class Job:
    """One prompt: its token ids and, when sampling, its own generator seed."""

    ids: list[int]
    seed: int | None = None


@dataclass
class Decoded:
    """New tokens before the end-of-sequence token; ``stopped``: it ended with one."""

    tokens: list[int] = field(default_factory=list)
    stopped: bool = False
    latency_s: float = 0.0


def unsupported_settings(gen_cfg: Any) -> str | None:
    """The first generation-config field set to something this loop does not reproduce."""
    from transformers import GenerationConfig

    default = cast(Any, GenerationConfig)()
    for name in UNSUPPORTED:
        if getattr(gen_cfg, name, None) != getattr(default, name, None):
            return name
    return None


class SlotCache:
    """K/V per layer, preallocated as [slots, kv_heads, max_len, head_dim] on the first write.

    Before each forward the decoder sets ``prefill_rows`` (a prefill: write the group's K/V at
    positions ``prefill_start``.. of those slots, after the shared prefix's K/V saved by
    :meth:`save_prefix` when ``prefill_start`` > 0, and attend to prefix + prompt) or
    ``positions`` (a decode
    step over slots 0..width-1: write one token per slot at its position, attend to the first
    ``kv_len`` positions; the mask hides what a slot has not written)."""

    def __init__(self, slots: int, max_len: int) -> None:
        self.slots, self.max_len = slots, max_len
        self.k: dict[int, Any] = {}
        self.v: dict[int, Any] = {}
        self.prefill_rows: Any = None
        self.prefill_start = 0
        self.prefix: dict[int, tuple[Any, Any]] = {}
        self.positions: Any = None
        self.kv_len = 0

    def _alloc(self, like: Any, layer: int) -> None:
        import torch

        shape = (self.slots, like.shape[1], self.max_len, like.shape[3])
        self.k[layer] = torch.zeros(shape, dtype=like.dtype, device=like.device)
        self.v[layer] = torch.zeros(shape, dtype=like.dtype, device=like.device)

    def update(self, key: Any, value: Any, layer_idx: int, *args: Any, **kwargs: Any) -> Any:
        import torch

        if layer_idx not in self.k:
            self._alloc(key, layer_idx)
        k_all, v_all = self.k[layer_idx], self.v[layer_idx]
        if self.prefill_rows is not None:
            rows, start = self.prefill_rows, self.prefill_start
            end = start + key.shape[2]
            k_all[rows, :, start:end] = key
            v_all[rows, :, start:end] = value
            if not start:
                return key, value
            prefix_k, prefix_v = self.prefix[layer_idx]
            k_all[rows, :, :start] = prefix_k
            v_all[rows, :, :start] = prefix_v
            return k_all[rows, :, :end], v_all[rows, :, :end]
        rows = torch.arange(key.shape[0], device=key.device)
        k_all[rows, :, self.positions] = key[:, :, 0]
        v_all[rows, :, self.positions] = value[:, :, 0]
        return k_all[: key.shape[0], :, : self.kv_len], v_all[: key.shape[0], :, : self.kv_len]

    def save_prefix(self, slot: int, length: int) -> None:
        """Keep this slot's first ``length`` positions as the shared prefix (every layer)."""
        self.prefix = {layer: (self.k[layer][slot, :, :length].clone(),
                               self.v[layer][slot, :, :length].clone()) for layer in self.k}

    def get_seq_length(self, layer_idx: int = 0) -> int:
        return self.kv_len

    def keep(self, slots: list[int]) -> None:
        """Move these slots' rows to the front (compaction at the tail of a run)."""
        import torch

        index = None
        for layer in self.k:
            if index is None:
                index = torch.tensor(slots, dtype=torch.long, device=self.k[layer].device)
            self.k[layer][: len(slots)] = self.k[layer].index_select(0, index)
            self.v[layer][: len(slots)] = self.v[layer].index_select(0, index)


@dataclass
class _Slot:
    job: int
    pos: int  # where the next input token's K/V is written
    last: int  # the next input token
    out: list[int]
    generator: Any
    started: float


class ContinuousDecoder:
    """Decode many prompts through ``slots`` sequences at a time (see the module docstring)."""

    def __init__(self, model: Any, eos_ids: set[int], pad_id: int, slots: int) -> None:
        self.model = model
        self.decoder = model.get_decoder()
        self._cache_kw = cache_keyword(self.decoder)
        self.head = model.get_output_embeddings()
        self.eos_ids = eos_ids
        self.pad_id = pad_id
        self.slots = max(1, slots)
        self.device = next(model.parameters()).device
        self._cache = SlotCache(1, 1)  # replaced per run
        self._prefix = 0  # tokens of the run's shared prefix in every slot's cache (0: none)
        #: prefill a prefix every prompt shares once (False: each prompt whole, as before)
        self.share_prefix = True
        #: when a dict: each job's float32 logits per step (for :func:`self_check`)
        self.trace: dict[int, list[Any]] | None = None

    def run(self, jobs: list[Job], max_new: int, sampling: Sampling) -> list[Decoded]:
        """Every job's new tokens (EOS excluded), in the order of ``jobs``."""
        import torch

        results = [Decoded() for _ in jobs]
        if not jobs or max_new < 1:
            return results
        queue = deque(sorted(range(len(jobs)), key=lambda i: len(jobs[i].ids)))
        slots = min(self.slots, len(jobs))
        cache = self._cache = SlotCache(slots, max(len(j.ids) for j in jobs) + max_new)
        table: list[_Slot | None] = [None] * slots
        self._prefix = shared_prefix(jobs) if self.share_prefix else 0
        seen = None
        if sampling.repetition_penalty != 1.0:
            seen = torch.zeros(slots, self.head.weight.shape[0], dtype=torch.bool,
                               device=self.device)
        with torch.inference_mode():
            if self._prefix:
                self._prefill_prefix(jobs[0].ids[: self._prefix], cache)
            while queue or any(s is not None for s in table):
                free = [i for i, s in enumerate(table) if s is None]
                busy = len(table) - len(free)
                # groups of similar length one after another until the free slots are taken
                while queue and free and (busy == 0 or len(free) >= min(len(queue), slots // 8 or 1)):
                    self._prefill(jobs, queue, free, table, cache, seen, sampling, max_new, results)
                    free = [i for i, s in enumerate(table) if s is None]
                    busy = len(table) - len(free)
                if not busy:  # every answer ended at its first token (EOS from the prefill)
                    continue
                if not queue and busy <= len(table) * 3 // 4:
                    table, seen = self._compact(table, cache, seen)
                self._step(table, cache, seen, sampling, max_new, results)
        return results

    def _prefill(self, jobs: list[Job], queue: deque[int], free: list[int],
                 table: list[_Slot | None], cache: SlotCache, seen: Any, sampling: Sampling,
                 max_new: int, results: list[Decoded]) -> None:
        """Prefill waiting prompts (shortest first, similar lengths together) into free slots."""
        import torch

        group: list[int] = []
        start = self._prefix  # the shared prefix is in the cache already: prefill the rest
        real = 0  # prompt tokens of the group (after the shared prefix)
        while queue and len(group) < len(free):
            width = len(jobs[queue[0]].ids)  # the queue is sorted: the newest is the longest
            if group and (len(group) + 1) * width > PREFILL_TOKENS:
                break
            own = width - start
            if group and real >= PREFILL_MIN_TOKENS and (
                    real + own < (1 - PREFILL_PADDING) * (len(group) + 1) * own):
                break
            group.append(queue.popleft())
            real += own
        lengths = [len(jobs[i].ids) for i in group]
        width = max(lengths) - start
        ids = torch.full((len(group), width), self.pad_id, dtype=torch.long)
        for row, i in enumerate(group):
            ids[row, : lengths[row] - start] = torch.tensor(jobs[i].ids[start:])
        length_t = torch.tensor(lengths) - start
        pos = torch.arange(width)
        mask = (pos[None, :] <= pos[:, None])[None] & (pos[None, None, :] < length_t[:, None, None])
        if start:
            mask = torch.cat([torch.ones(len(group), width, start, dtype=torch.bool), mask], -1)
        rows = torch.tensor(free[: len(group)])
        cache.prefill_rows, cache.prefill_start = rows.to(self.device), start
        cache.kv_len = start + width
        hidden = self._forward(ids, (pos + start).expand(len(group), width), mask[:, None])
        cache.prefill_rows, cache.prefill_start = None, 0
        last = hidden[torch.arange(len(group)), length_t - 1]
        now = time.perf_counter()
        for row, i in enumerate(group):
            generator, seed = None, jobs[i].seed
            if seed is not None:
                generator = torch.Generator(device=self.device).manual_seed(seed)
            # pos: the prompt's last position; advanced to the first new token's in _choose
            table[free[row]] = _Slot(i, lengths[row] - 1, self.pad_id, [], generator, now)
            if seen is not None:
                seen[free[row]] = False
                seen[free[row], torch.tensor(jobs[i].ids, device=self.device)] = True
        self._choose(last, [int(s) for s in rows], table, seen, sampling, max_new, results)

    def _prefill_prefix(self, ids: list[int], cache: SlotCache) -> None:
        """The shared prefix through slot 0 (free at the start of a run), kept in the cache."""
        import torch

        pos = torch.arange(len(ids))
        mask = (pos[None, :] <= pos[:, None])[None, None]
        cache.prefill_rows, cache.kv_len = torch.tensor([0], device=self.device), len(ids)
        self._forward(torch.tensor([ids]), pos[None], mask)
        cache.prefill_rows = None
        cache.save_prefix(0, len(ids))

    def _step(self, table: list[_Slot | None], cache: SlotCache, seen: Any, sampling: Sampling,
              max_new: int, results: list[Decoded]) -> None:
        """One token for every busy slot (free slots ride along on a dummy token)."""
        import torch

        tokens = torch.tensor([[s.last if s else self.pad_id] for s in table])
        positions = torch.tensor([s.pos if s else 0 for s in table])
        kv_len = int(positions.max()) + 1
        mask = torch.arange(kv_len)[None, :] <= positions[:, None]
        cache.positions, cache.kv_len = positions.to(self.device), kv_len
        hidden = self._forward(tokens, positions[:, None], mask[:, None, None, :])
        busy = [i for i, s in enumerate(table) if s is not None]
        self._choose(hidden[torch.tensor(busy), -1], busy, table, seen, sampling, max_new, results)

    def _forward(self, ids: Any, positions: Any, mask: Any) -> Any:
        out = self.decoder(input_ids=ids.to(self.device), position_ids=positions.to(self.device),
                           attention_mask=mask.to(self.device),
                           use_cache=True, **{self._cache_kw: self._cache})
        return out.last_hidden_state

    def _choose(self, hidden: Any, slots: list[int], table: list[_Slot | None], seen: Any,
                sampling: Sampling, max_new: int, results: list[Decoded]) -> None:
        """Next token for these slots from their last hidden states; finish the ended ones."""
        import torch

        logits = self.head(hidden.to(self.head.weight.device))
        if not (sampling.greedy and seen is None and self.trace is None):
            logits = logits.float()  # greedy alone: argmax of bf16 = argmax of its exact upcast
        index = torch.tensor(slots, device=logits.device)
        if seen is not None:
            penalty = sampling.repetition_penalty
            scored = torch.where(logits < 0, logits * penalty, logits / penalty)
            logits = torch.where(seen.index_select(0, index), scored, logits)
        if self.trace is not None:
            for row, s in enumerate(slots):
                self.trace.setdefault(table[s].job, []).append(logits[row])  # type: ignore[union-attr]
        picked = _pick(logits, [s.generator for s in (table[i] for i in slots) if s], sampling)
        now = time.perf_counter()
        for s, token in zip(slots, picked, strict=True):
            slot = table[s]
            assert slot is not None
            if token in self.eos_ids or len(slot.out) + 1 >= max_new:
                stopped = token in self.eos_ids
                done = slot.out if stopped else [*slot.out, token]
                results[slot.job] = Decoded(done, stopped, now - slot.started)
                table[s] = None
                continue
            slot.out.append(token)
            slot.last, slot.pos = token, slot.pos + 1
            if seen is not None:
                seen[s, token] = True

    def _compact(self, table: list[_Slot | None], cache: SlotCache,
                 seen: Any) -> tuple[list[_Slot | None], Any]:
        busy = [i for i, s in enumerate(table) if s is not None]
        cache.keep(busy)
        if seen is not None:
            import torch

            seen = seen.index_select(0, torch.tensor(busy, dtype=torch.long, device=seen.device))
        return [table[i] for i in busy], seen


# the keywords transformers takes the KV cache by, newest first: ``cache`` in 5.25
# (``past_key_values`` deprecated there), ``past_key_values`` in 5.17 and before
CACHE_KEYWORDS = ("cache", "past_key_values")


def cache_keyword_of(module: Any) -> str | None:
    """Which of :data:`CACHE_KEYWORDS` ``module.forward`` takes (None: neither, or no signature).
    Passing the wrong one is silently ignored (it lands in ``**kwargs``)."""
    try:
        params = inspect.signature(module.forward).parameters
    except (TypeError, ValueError):
        return None
    return next((k for k in CACHE_KEYWORDS if k in params), None)


def cache_keyword(decoder: Any) -> str:
    """The keyword the decoder's ``forward`` takes its KV cache by (:func:`cache_keyword_of`),
    ``past_key_values`` when it cannot be read: the wrong one makes the decoder build its own
    cache, and :func:`self_check` then refuses the loop."""
    return cache_keyword_of(decoder) or "past_key_values"


def shared_prefix(jobs: list[Job]) -> int:
    """Tokens every job starts with (leaving each at least one of its own), or 0 when fewer
    than ``SHARED_PREFIX_MIN`` or only one job (nothing to share)."""
    if len(jobs) < 2:
        return 0
    first, n = jobs[0].ids, min(len(j.ids) for j in jobs) - 1
    for job in jobs[1:]:
        n = next((k for k in range(n) if job.ids[k] != first[k]), n)
    return n if n >= SHARED_PREFIX_MIN else 0


def _pick(logits: Any, generators: list[Any], sampling: Sampling) -> list[int]:
    """Greedy argmax, or one draw per row from its own generator after transformers' warpers."""
    import torch

    if sampling.greedy:
        # max().indices: the same first-maximum index as argmax (ties, NaN), about 3x faster in
        # bf16 on CPU (a [64, 151936] row block: 20 vs 60 ms on one core)
        return [int(t) for t in logits.max(dim=-1).indices.tolist()]
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    none = torch.empty(0, dtype=torch.long)
    scores = TemperatureLogitsWarper(sampling.temperature)(none, logits)
    if sampling.top_k:
        scores = TopKLogitsWarper(sampling.top_k)(none, scores)
    if sampling.top_p < 1.0:
        scores = TopPLogitsWarper(sampling.top_p)(none, scores)
    probs = torch.softmax(scores, dim=-1)
    return [int(torch.multinomial(probs[i], 1, generator=g)) for i, g in enumerate(generators)]


def self_check(model: Any, pad_id: int) -> str | None:
    """Why this loop does not fit ``model`` (None: it does): sliding-window layers, or logits
    that differ from the model's own forward on two short prompts (prefill and two decode
    steps, through two slots)."""
    import torch

    cfg = model.config.get_text_config() if hasattr(model.config, "get_text_config") else model.config
    if getattr(cfg, "is_encoder_decoder", False):
        return "an encoder-decoder model"
    kinds = set(getattr(cfg, "layer_types", None) or ["full_attention"])
    if kinds != {"full_attention"}:
        return f"attention layers of kind {', '.join(sorted(kinds - {'full_attention'}))}"
    try:
        vocab = int(model.get_output_embeddings().weight.shape[0])
        jobs = [Job([i % vocab for i in (3, 5, 7, 11)]), Job([i % vocab for i in (13, 17)])]
        decoder = ContinuousDecoder(model, set(), pad_id, 2)
        decoder.trace = {}
        done = decoder.run(jobs, 3, Sampling(greedy=True))
        worst = 0.0
        with torch.inference_mode():
            for j, job in enumerate(jobs):
                seq = job.ids + done[j].tokens
                for step, mine in enumerate(decoder.trace[j]):
                    ids = torch.tensor([seq[: len(job.ids) + step]], device=decoder.device)
                    ref = model(input_ids=ids).logits[0, -1].float()
                    scale = float(ref.abs().max()) + 1e-6
                    worst = max(worst, float((mine.to(ref.device) - ref).abs().max()) / scale)
    except Exception as exc:  # any architecture the loop cannot drive
        return f"the decode loop failed on it ({type(exc).__name__}: {exc})"
    # float32 agrees to ~1e-6; bf16 batched vs unbatched to ~1e-2; a wrong mask/position: ~1
    return None if worst < 0.05 else f"its logits differ from the model's forward ({worst:.3f})"
