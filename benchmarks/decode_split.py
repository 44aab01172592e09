"""Why a decode step is slower than its matmuls chained alone: the default model's continuous
decoder with every prepacked product (backends/fused.py ``PackedLinear``: q/k/v, output,
gate/up, down, the LM head) timed where it runs, then the same modules called back to back on
inputs of the same shapes (a cache-warm chain, as a matmul micro-benchmark runs them)::

    PYTHONPATH=src .venv/bin/python benchmarks/decode_split.py --dtype bfloat16 --prompts 64 \
        --max-new-tokens 32

Prints, for the decode steps (prefills apart): the rows per step (how many are busy, how many
ride along as free slots until the next compaction), and per step in ms: the products in the
model, the same products chained, the attention modules without their products (rotary, cache
writes, SDPA), the MLPs without theirs (silu, mul), the norms, and the rest of the step (the
embedding, masks, the greedy pick, Python). Wall-clock with perf_counter around each module
call (``--clock cpu``: the process's CPU time instead, best with ``--threads 1``): on a machine
loaded by other jobs both columns move, so compare them within one run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# the clock every figure is taken with: wall (perf_counter) or the process's CPU time (--clock
# cpu; with --threads 1 that is the work itself, which a loaded machine shifts less)
CLOCK = [time.perf_counter]


class Timer:
    """Seconds per category, accumulated while ``on`` (decode steps only)."""

    def __init__(self) -> None:
        self.on = False
        self.total: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.shapes: list[tuple[Any, tuple[int, ...]]] = []  # (module, input shape) of one step

    def wrap(self, module: Any, name: str, inner: tuple[str, ...] = ()) -> None:
        """Time ``module``'s calls as ``name`` (minus the time of its children in ``inner``)."""
        plain = module.forward
        timer = self

        def forward(*args: Any, **kwargs: Any) -> Any:
            if not timer.on:
                return plain(*args, **kwargs)
            before = sum(timer.total[k] for k in inner)
            start = CLOCK[0]()
            out = plain(*args, **kwargs)
            spent = CLOCK[0]() - start - (sum(timer.total[k] for k in inner) - before)
            timer.total[name] += spent
            timer.calls[name] += 1
            if name.startswith("product") and args and timer.record:
                timer.shapes.append((plain, tuple(args[0].shape)))
            return out

        module.forward = forward

    record = False


def instrument(model: Any, timer: Timer) -> None:
    for layer in model.get_decoder().layers:
        attn, mlp = layer.self_attn, layer.mlp
        for owner, attr, name in ((attn, "packed_qkv", "product q/k/v"), (attn, "out", "product out"),
                                  (mlp, "packed_up", "product gate/up"), (mlp, "down", "product down")):
            module = getattr(owner, attr)
            if type(module).__name__ != "PackedLinear":
                raise SystemExit(f"the weights are not prepacked ({type(module).__name__})")
            timer.wrap(module, name)
        products = ("product q/k/v", "product out", "product gate/up", "product down")
        timer.wrap(attn, "attention (no products)", products)
        timer.wrap(mlp, "MLP elementwise", products)
        timer.wrap(layer.input_layernorm, "norms")
        timer.wrap(layer.post_attention_layernorm, "norms")
    timer.wrap(model.lm_head, "product LM head")


def chained(shapes: list[tuple[Any, tuple[int, ...]]], dtype: Any, reps: int) -> float:
    """Seconds for one pass of these products back to back (best of ``reps``)."""
    import torch

    inputs = [(f, torch.randn(*s, dtype=dtype)) for f, s in shapes]
    best = float("inf")
    with torch.inference_mode():
        for _ in range(reps):
            start = CLOCK[0]()
            for f, x in inputs:
                f(x)
            best = min(best, CLOCK[0]() - start)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--flush-denormal", action="store_true")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    ap.add_argument("--prefill-padding", type=float, default=None,
                    help="decode.PREFILL_PADDING (1: prefill groups never split by padding)")
    args = ap.parse_args()
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import cpu_backend, cpu_isa, cpu_model, pick_prompts

    from biasprobe.backends import decode
    from biasprobe.backends.base import ChatRequest, Message
    from biasprobe.config import GenerationSettings

    torch.set_num_threads(args.threads)
    if args.prefill_padding is not None:
        decode.PREFILL_PADDING = args.prefill_padding
    if args.clock == "cpu":
        CLOCK[0] = time.process_time
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    backend: Any = cpu_backend(args.dtype, args.prompts)
    timer = Timer()
    instrument(backend.model, timer)
    rows: list[tuple[int, int]] = []  # (busy, width) per decode step
    steps: list[float] = []
    step_products: list[float] = []  # seconds in the products per decode step
    plain_step = decode.ContinuousDecoder._step

    def step(self: Any, table: list[Any], *rest: Any) -> None:
        rows.append((sum(s is not None for s in table), len(table)))
        timer.on, timer.record = True, len(rows) == 3  # one full step's shapes for the chain
        before = sum(v for k, v in timer.total.items() if k.startswith("product"))
        start = CLOCK[0]()
        plain_step(self, table, *rest)
        steps.append(CLOCK[0]() - start)
        step_products.append(sum(v for k, v in timer.total.items() if k.startswith("product")) - before)
        timer.on = timer.record = False

    decode.ContinuousDecoder._step = step  # type: ignore[method-assign]
    prefills: list[tuple[float, int, int]] = []  # (seconds, real tokens, padded tokens)
    plain_prefill = decode.ContinuousDecoder._prefill

    def prefill(self: Any, jobs: list[Any], queue: Any, free: list[int], *rest: Any) -> None:
        waiting = list(queue)
        start = CLOCK[0]()
        plain_prefill(self, jobs, queue, free, *rest)
        taken = waiting[: len(waiting) - len(queue)]
        lengths = [len(jobs[i].ids) - self._prefix for i in taken]
        prefills.append((CLOCK[0]() - start, sum(lengths), len(lengths) * max(lengths)))

    decode.ContinuousDecoder._prefill = prefill  # type: ignore[method-assign]
    probes = sorted(pick_prompts(args.prompts), key=lambda p: len(p.text))
    requests = [ChatRequest((p.id, 0), (Message("user", p.text),)) for p in probes]
    start = CLOCK[0]()
    gens = backend.generate(requests, GenerationSettings(max_new_tokens=args.max_new_tokens))
    wall = CLOCK[0]() - start
    tokens = sum(g.tokens_out or 0 for g in gens)
    print(f"{cpu_model()} ({cpu_isa()}), {args.dtype}, {torch.get_num_threads()} threads, "
          f"flush denormal {args.flush_denormal}, {args.clock} clock; fused: {backend.fused}")
    print(f"{tokens} tokens in {wall:.1f} s ({tokens / wall:.1f} tok/s); decode steps "
          f"{sum(steps):.1f} s ({len(steps)} steps), prefill and the rest {wall - sum(steps):.1f} s; "
          f"load {os.getloadavg()[0]:.1f}")
    spent, real, padded = (sum(p[k] for p in prefills) for k in range(3))
    print(f"prefills: {len(prefills)} calls, {spent:.1f} s, {real} prompt tokens (after the shared "
          f"prefix) in {padded} padded positions ({1 - real / max(1, padded):.0%} padding); the "
          f"rest outside decode steps and prefills {wall - sum(steps) - spent:.1f} s")
    busy = sum(b for b, _ in rows)
    width = sum(w for _, w in rows)
    print(f"rows per decode step: busy {busy / len(rows):.1f} on average, width {width / len(rows):.1f} "
          f"(free slots riding along: {1 - busy / width:.0%}); widths seen "
          f"{sorted({w for _, w in rows}, reverse=True)}")
    n = len(steps)
    ms = {k: 1000 * v / n for k, v in timer.total.items()}
    products = sum(v for k, v in ms.items() if k.startswith("product"))
    width3 = rows[2][1]
    at_width = [p for p, (_, w) in zip(step_products, rows, strict=True) if w == width3]
    chain = 1000 * chained(timer.shapes, backend.model.dtype, 5)
    print(f"per decode step (mean of {n}), ms: step {1000 * sum(steps) / n:.1f}")
    for k in sorted(ms, key=lambda k: -ms[k]):
        print(f"  {k:<26} {ms[k]:8.1f}  ({timer.calls[k] / n:.0f} calls)")
    print(f"  {'products, all':<26} {products:8.1f}")
    print(f"  {'rest (embedding, masks, pick, Python)':<26} {1000 * sum(steps) / n - sum(ms.values()):8.1f}")
    print(f"products at {width3} rows: in the model {1000 * sum(at_width) / len(at_width):.1f} ms "
          f"per step (mean of {len(at_width)} steps, best {1000 * min(at_width):.1f}); the same "
          f"{len(timer.shapes)} products chained back to back: {chain:.1f} ms (best of 5); "
          f"load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
