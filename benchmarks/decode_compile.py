"""torch.compile (inductor, CPU) on the continuous decoder's decode step, against eager, on one
loaded backend: compile time, then eager and compiled runs alternated, with CPU time and how
many greedy answers agree. Kept as the record of why compile is not used (see the README,
"Throughput and scaling"): on the default model it took minutes to compile on 2 cores (the
cache's per-step length and the batch's row count change shapes, so it recompiles) and ran no
faster than eager::

    PYTHONPATH=src .venv/bin/python benchmarks/decode_compile.py --dtype bfloat16 --prompts 32 \
        --max-new-tokens 16 --threads 1
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
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-freezing", action="store_true", help="inductor without freezing")
    args = ap.parse_args()
    import torch
    import torch._inductor.config as inductor

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import cpu_backend, pick_prompts

    from biasprobe.backends.base import ChatRequest, Message
    from biasprobe.backends.decode import ContinuousDecoder, Decoded, Job, Sampling

    torch.set_num_threads(args.threads)
    inductor.freezing = not args.no_freezing
    n = args.prompts
    b: Any = cpu_backend(args.dtype, n)
    jobs = [Job(list(b.tokenizer(b.render(ChatRequest((p.id, 0), (Message("user", p.text),))),
                                 add_special_tokens=False)["input_ids"])) for p in pick_prompts(n)]
    compiled = torch.compile(b.model.get_decoder())

    def run(use: Any) -> tuple[list[Decoded], float, float]:
        d = ContinuousDecoder(b.model, b.eos_ids, int(b.tokenizer.pad_token_id), n)
        if use is not None:
            eager = d._forward

            def forward(ids: Any, positions: Any, mask: Any) -> Any:
                if ids.shape[1] != 1:  # prefills stay eager; decode steps compiled
                    return eager(ids, positions, mask)
                return use(input_ids=ids, position_ids=positions, attention_mask=mask,
                           cache=d._cache, use_cache=True).last_hidden_state

            d._forward = forward  # type: ignore[method-assign]
        cpu, wall = time.process_time(), time.perf_counter()
        done = d.run(jobs, args.max_new_tokens, Sampling(greedy=True))
        return done, time.process_time() - cpu, time.perf_counter() - wall

    _, cpu, wall = run(compiled)
    print(f"{args.dtype}, {args.threads} threads: compile + first run {wall:.1f} s wall, "
          f"{cpu:.1f} s CPU", flush=True)
    for r in range(2):
        eager_out, eager_cpu, eager_wall = run(None)
        comp_out, comp_cpu, comp_wall = run(compiled)
        tokens = sum(len(x.tokens) + x.stopped for x in eager_out)
        same = sum(x.tokens == y.tokens for x, y in zip(eager_out, comp_out, strict=True))
        print(f"round {r}: eager {eager_wall:.1f} s wall / {eager_cpu:.1f} s CPU, compiled "
              f"{comp_wall:.1f} s / {comp_cpu:.1f} s, {tokens} tokens, same answers {same}/{n}, "
              f"load {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
