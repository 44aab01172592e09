"""Continuous batching against ``generate`` (or against itself on the stock, unfused modules:
``--against stock``) on one loaded backend, interleaved (A B A B ...).

On a machine shared with other jobs, methods timed one after another in separate processes see
different loads; alternating the two decode paths of the *same* backend object in one process
gives a ratio that the load shifts less. Prints tokens/s per round (wall clock, and per second
of the process's CPU time, which a loaded machine shifts less, most of all with ``--threads 1``),
the mean ratio, how many answers the two paths share, and the matmul ceiling
(benchmarks/throughput.py) at the batch size::

    PYTHONPATH=src .venv/bin/python benchmarks/decode_ab.py --prompts 16 --max-new-tokens 16 --dtype float32
    PYTHONPATH=src .venv/bin/python benchmarks/decode_ab.py --against stock --prompts 64 \
        --max-new-tokens 64 --dtype bfloat16
    PYTHONPATH=src .venv/bin/python benchmarks/decode_ab.py --against unpacked --prompts 64 \
        --max-new-tokens 32 --dtype bfloat16
    PYTHONPATH=src .venv/bin/python benchmarks/decode_ab.py --against whole-prefill --prompts 64 \
        --max-new-tokens 64 --dtype bfloat16 --prefill-padding 0.15
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=16)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--against", choices=("generate", "stock", "unpacked", "whole-prefill"),
                    default="generate",
                    help="the other arm: decode: generate, or continuous on the unfused modules "
                    "without the shared-prefix prefill (as before both), or continuous on the "
                    "fused modules without the prepacked weights, or continuous with prefill "
                    "groups not split by padding (decode.PREFILL_PADDING = 1, the default; "
                    "the other arm then runs with --prefill-padding, e.g. 0.15)")
    ap.add_argument("--prefill-padding", type=float, default=None,
                    help="decode.PREFILL_PADDING for both arms, except that --against "
                    "whole-prefill runs its arm at 1 (never split by padding)")
    ap.add_argument("--no-ceiling", action="store_true")
    args = ap.parse_args()
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import (
        cpu_backend,
        cpu_isa,
        cpu_model,
        matmul_ceiling,
        packing_arms,
        pick_prompts,
        weight_shapes,
    )

    from biasprobe.backends import decode
    from biasprobe.backends.base import ChatRequest, Message
    from biasprobe.config import GenerationSettings

    torch.set_num_threads(args.threads)
    n = args.prompts
    backend: Any = cpu_backend(args.dtype, n)
    probes = sorted(pick_prompts(n), key=lambda p: len(p.text))
    requests = [ChatRequest((p.id, 0), (Message("user", p.text),)) for p in probes]
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    other = args.against
    swaps = backend.fusion.swaps if backend.fusion else []
    fused = [(parent, name, getattr(parent, name)) for parent, name, _ in swaps]
    arms = {"stock": swaps, "continuous": fused, "generate": fused, "whole-prefill": fused}
    if args.prefill_padding is not None:
        decode.PREFILL_PADDING = args.prefill_padding
    padding = decode.PREFILL_PADDING
    if other == "unpacked":  # the fused modules built again without packing; the stock head
        arms["unpacked"] = packing_arms(backend)["unpacked"]
    print(f"fused: {backend.fused}", flush=True)
    rates: dict[str, list[float]] = {other: [], "continuous": []}
    cpu_rates: dict[str, list[float]] = {other: [], "continuous": []}
    answers: dict[str, list[str]] = {}
    for r in range(args.rounds):
        for mode in rates:
            backend.decode = "generate" if mode == "generate" else "continuous"
            for parent, name, module in arms[mode]:
                setattr(parent, name, module)
            backend.share_prefix = mode != "stock"
            decode.PREFILL_PADDING = 1.0 if mode == "whole-prefill" else padding
            start, cpu = time.perf_counter(), time.process_time()
            gens = backend.generate(requests, settings)
            dt, dcpu = time.perf_counter() - start, time.process_time() - cpu
            tokens = sum(g.tokens_out or 0 for g in gens)
            rates[mode].append(tokens / dt)
            cpu_rates[mode].append(tokens / dcpu)
            answers[mode] = [g.answer for g in gens]
            print(f"round {r} {mode:<10} {tokens} tokens {dt:6.1f} s {tokens / dt:6.1f} tok/s, "
                  f"{tokens / dcpu:6.1f} tok per CPU-s, load {os.getloadavg()[0]:.1f}", flush=True)
    same = sum(a == b for a, b in zip(answers[other], answers["continuous"], strict=True))
    gen, cont = (sum(v) / len(v) for v in rates.values())
    gen_cpu, cont_cpu = (sum(v) / len(v) for v in cpu_rates.values())
    print(f"{args.dtype}, {args.threads} threads: {other} {gen:.1f} tok/s, continuous {cont:.1f} "
          f"tok/s ({cont / gen:.2f}x); per CPU-second {gen_cpu:.1f} vs {cont_cpu:.1f} "
          f"({cont_cpu / gen_cpu:.2f}x); same answers {same}/{n}")
    if args.no_ceiling:
        return
    c = matmul_ceiling(weight_shapes(Path(backend.resolved.path)), n, args.dtype, args.threads)
    best = max(rates["continuous"])
    print(f"{cpu_model()} ({cpu_isa()}); ceiling at {n} rows: {c['gflops']:.0f} GFLOP/s = "
          f"{c['tok_per_s']:.1f} tok/s; continuous best round {best / c['tok_per_s']:.0%} of it; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
