"""Where one continuous-decoding step's time goes: a torch.profiler split of a decode step at
``--prompts`` rows (matmuls, attention, LM head pick, elementwise/copies, and the time between
ops: Python and dispatch), so speed work starts from measurements, not guesses::

    PYTHONPATH=src .venv/bin/python benchmarks/decode_profile.py --dtype bfloat16 --prompts 64

It runs the default model's continuous decoder on ``--prompts`` china-sensitive prompts for
``--max-new-tokens`` tokens, times every decode step (wall clock), and profiles step
``--profile-step`` (after warm-up; all rows still busy on the default model at step 4).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

# op name -> category of the split (anything else: "other ops")
CATEGORIES = (
    ("matmul", ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear",
                "aten::_weight_int8pack_mm", "mkldnn")),
    ("attention", ("scaled_dot_product", "_flash_attention", "_scaled_dot")),
    ("pick (max over vocab)", ("aten::max", "aten::argmax")),
    ("copies/indexing", ("aten::copy_", "aten::index", "aten::_to_copy", "aten::cat",
                         "aten::clone", "aten::contiguous", "aten::select", "aten::slice",
                         "aten::empty", "aten::view", "aten::to", "aten::reshape",
                         "aten::transpose", "aten::expand", "aten::unsqueeze",
                         "aten::as_strided", "aten::arange", "aten::lift")),
    ("elementwise", ("aten::mul", "aten::add", "aten::silu", "aten::rms_norm", "aten::neg",
                     "aten::rsqrt", "aten::pow", "aten::mean", "aten::cos", "aten::sin",
                     "aten::le", "aten::lt", "aten::embedding", "aten::where", "aten::sub",
                     "aten::div", "aten::_fused_rms_norm", "aten::fill_")),
)


def category(name: str) -> str:
    for cat, keys in CATEGORIES:
        if any(name.startswith(k) or k in name for k in keys):
            return cat
    return "other ops"


def split(prof: Any) -> dict[str, float]:
    """Self CPU time (s) per category over the top-level-and-nested ops of one profiled step."""
    out: dict[str, float] = defaultdict(float)
    for ev in prof.key_averages():
        out[category(ev.key)] += ev.self_cpu_time_total / 1e6
    return dict(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=8)
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--profile-step", type=int, default=4)
    ap.add_argument("--top", type=int, default=15, help="also print the top ops by self CPU time")
    args = ap.parse_args()
    import torch
    from torch.profiler import ProfilerActivity, profile

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import cpu_backend, pick_prompts

    from biasprobe.backends.base import ChatRequest, Message
    from biasprobe.backends.decode import ContinuousDecoder, Job, Sampling

    torch.set_num_threads(args.threads)
    n = args.prompts
    backend: Any = cpu_backend(args.dtype, n)
    probes = pick_prompts(n)
    prompts = [backend.render(ChatRequest((p.id, 0), (Message("user", p.text),))) for p in probes]
    jobs = [Job(list(backend.tokenizer(p, add_special_tokens=False)["input_ids"])) for p in prompts]
    decoder = ContinuousDecoder(backend.model, backend.eos_ids,
                                int(backend.tokenizer.pad_token_id), n)
    step = decoder._step
    times: list[float] = []
    box: dict[str, Any] = {}

    def timed(*a: Any) -> None:
        busy = sum(s is not None for s in a[0])
        if len(times) == args.profile_step:
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                start = time.perf_counter()
                step(*a)
                box["wall"] = time.perf_counter() - start
            box["prof"], box["busy"] = prof, busy
            times.append(box["wall"])
            return
        start = time.perf_counter()
        step(*a)
        times.append(time.perf_counter() - start)

    decoder._step = timed  # type: ignore[method-assign]
    decoder.run(jobs, args.max_new_tokens, Sampling(greedy=True))
    prof = box["prof"]
    parts = split(prof)
    ops = sum(parts.values())
    plain = [t for i, t in enumerate(times) if i != args.profile_step]
    print(f"{args.dtype}, {args.threads} threads, {box['busy']} busy rows, fused: {backend.fused}")
    print("step wall times (s): " + " ".join(f"{t:.3f}" for t in times)
          + f"; profiled step {box['wall']:.3f} s")
    print(f"profiled step: ops' self CPU time {ops:.3f} s of {box['wall']:.3f} s wall; "
          f"between ops (Python, dispatch, profiler) {max(0.0, box['wall'] - ops):.3f} s")
    for cat, s in sorted(parts.items(), key=lambda kv: -kv[1]):
        print(f"  {cat:<22} {s:.4f} s  {s / box['wall']:.0%} of the step")
    print(f"unprofiled steps: median {sorted(plain)[len(plain) // 2]:.3f} s; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if args.top:
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=args.top))


if __name__ == "__main__":
    main()
