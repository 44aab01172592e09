"""How often prepacked weights change greedy answers: the default model's continuous decoder on
the same prompts with the fused modules on prepacked weights (backends/fused.py) and on plain
``F.linear`` (``BIASPROBE_PACK=0``), both batched, in one process::

    PYTHONPATH=src .venv/bin/python benchmarks/decode_agree.py --dtype float32 --prompts 160 \
        --max-new-tokens 64 --control-slots 16
    PYTHONPATH=src .venv/bin/python benchmarks/decode_agree.py --prompts 128 --chunk 32 --threads 1

Packing changes float32 products in the last bits (about 1e-6 relative), as batching itself
does (the same rows multiplied 64 at a time or one at a time differ by as much), so whether the
greedy answers move is an empirical question. Prints how many answers differ and, for each,
where the two continuations part (token index, after re-tokenising the answers, and the text
around it). ``--control-slots N`` adds the reference for batching's own effect: the unpacked
arm again with N slots instead of ``--slots`` (other batch compositions, same products per row
otherwise), and how many of its answers differ from the unpacked arm's. ``--chunk N`` runs the
arms N prompts at a time and prints the running count after each chunk (on a loaded machine,
a usable figure before the whole sample is through).

Prompts: the ``starter`` set, then ``china-sensitive`` spread evenly (EN and ZH), ``--prompts``
in all.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any


def prompts(n: int) -> list[Any]:
    """The starter probes, then china-sensitive ones spread evenly: ``n`` in all."""
    from biasprobe.probes import load_probes

    _, starter = load_probes(["starter"])
    _, china = load_probes(["china-sensitive"])
    rest = max(0, n - len(starter))
    stride = max(1, len(china) // max(1, rest))
    return (list(starter) + list(china[::stride][:rest]))[:n]


def parting(tokenizer: Any, a: str, b: str) -> tuple[int, str]:
    """The first token index where ``a`` and ``b`` differ (re-tokenised) and the text there."""
    ta, tb = tokenizer.encode(a), tokenizer.encode(b)
    i = next((k for k, (x, y) in enumerate(zip(ta, tb, strict=False)) if x != y), min(len(ta), len(tb)))
    before = tokenizer.decode(ta[max(0, i - 6) : i])
    return i, f"...{before!r} -> {tokenizer.decode(ta[i : i + 4])!r} | {tokenizer.decode(tb[i : i + 4])!r}"


def run_arm(backend: Any, requests: list[Any], settings: Any, slots: int) -> list[str]:
    backend.micro_batch = slots
    start = time.perf_counter()
    gens = backend.generate(requests, settings)
    tokens = sum(g.tokens_out or 0 for g in gens)
    dt = time.perf_counter() - start
    print(f"  {tokens} tokens in {dt:.1f} s ({tokens / dt:.1f} tok/s), load "
          f"{os.getloadavg()[0]:.1f}", flush=True)
    return [g.answer for g in gens]


def compare(tokenizer: Any, ids: list[str], a: list[str], b: list[str], label: str) -> int:
    """Print how many of ``a`` and ``b`` differ and where; returns the count that differ."""
    differ = [(i, x, y) for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
    print(f"{label}: {len(a) - len(differ)}/{len(a)} answers identical, {len(differ)} differ",
          flush=True)
    for i, x, y in differ:
        at, text = parting(tokenizer, x, y)
        print(f"  {ids[i]}: part at token {at}: {text}", flush=True)
    return len(differ)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--prompts", type=int, default=160)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--slots", type=int, default=64)
    ap.add_argument("--chunk", type=int, default=0,
                    help="run both arms this many prompts at a time and print the running count "
                    "after each chunk (0: all prompts at once)")
    ap.add_argument("--control-slots", type=int, default=0,
                    help="also run the unpacked arm with this many slots (0: skip)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import cpu_backend, cpu_isa, cpu_model, packing_arms

    from biasprobe.backends.base import ChatRequest, Message
    from biasprobe.config import GenerationSettings

    torch.set_num_threads(args.threads)
    probes = prompts(args.prompts)
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    backend: Any = cpu_backend(args.dtype, args.slots)
    print(f"{cpu_model()} ({cpu_isa()}), {args.dtype}, {args.threads} threads, {len(probes)} "
          f"prompts x {args.max_new_tokens} tokens, {args.slots} slots; fused: {backend.fused}",
          flush=True)
    if not backend.fusion.packed:
        raise SystemExit(f"nothing to compare: the weights were not packed ({backend.fused})")
    modules = packing_arms(backend)
    size = args.chunk or len(probes)
    differ = done = 0
    for first in range(0, len(probes), size):
        chunk = probes[first : first + size]
        ids = [p.id for p in chunk]
        requests = [ChatRequest((p.id, 0), (Message("user", p.text),)) for p in chunk]
        answers: dict[str, list[str]] = {}
        for arm in ("packed", "unpacked"):
            for parent, name, module in modules[arm]:
                setattr(parent, name, module)
            print(f"{arm}, prompts {first + 1}-{first + len(chunk)}:", flush=True)
            answers[arm] = run_arm(backend, requests, settings, args.slots)
        differ += compare(backend.tokenizer, ids, answers["unpacked"], answers["packed"],
                          "packed vs unpacked")
        done += len(chunk)
        print(f"so far: {done - differ}/{done} answers identical", flush=True)
        if args.control_slots:
            print(f"unpacked, {args.control_slots} slots:", flush=True)
            control = run_arm(backend, requests, settings, args.control_slots)
            compare(backend.tokenizer, ids, answers["unpacked"], control,
                    f"unpacked {args.control_slots} slots vs unpacked {args.slots} slots")


if __name__ == "__main__":
    main()
