"""Benchmark: the overhead of ``run --internals`` (issue 20) on one machine.

What ``biasprobe run --internals`` does, timed in one process: load the model once, generate the
answers (``biasprobe.runner.execute``), then the internals pass on the *same* loaded model
(:func:`biasprobe.internals.compute_internals` with ``backend=``: one forward pass per prompt,
hidden states of every layer and the first-token distribution). Printed: load, generation and
internals seconds, the pass as a share of generation, the CPU, torch threads, dtype and the load
average (other jobs on a shared machine slow both parts).

Usage::

    .venv/bin/python benchmarks/internals_overhead.py        # starter censorship + neutral, 64
    .venv/bin/python benchmarks/internals_overhead.py --max-new-tokens 32 --json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path


def measure(probes: list[str], kinds: list[str], limit: int | None, max_new_tokens: int,
            model: str | None) -> dict[str, object]:
    """Load once, generate, run the internals pass on the loaded model; seconds of each."""
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import cpu_isa, cpu_model

    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.config import DEFAULT_MODEL, Registry, with_overrides
    from biasprobe.internals import KeptOpen, compute_internals
    from biasprobe.probes import ColumnMap, Selection, load_probes
    from biasprobe.runner import RunPlan, execute

    entry = with_overrides(Registry.load().get(model or DEFAULT_MODEL),
                           generation={"max_new_tokens": max_new_tokens})
    set_name, selected = load_probes(probes, Selection(kinds=tuple(kinds), limit=limit),
                                     ColumnMap.from_pairs([]))
    plan = RunPlan("bench-internals", entry, set_name, tuple(selected), entry.run_batch_size)
    resolved = resolve_model(entry, log=lambda _: None)
    start = time.perf_counter()
    backend = load_backend(entry, resolved)
    load_s = time.perf_counter() - start
    try:
        result = execute(plan, resolved, lambda: KeptOpen(backend), progress=False,
                         say=lambda _: None)
        print(f"generation {result.elapsed_s:.1f} s", file=sys.stderr)  # kept if the pass fails
        start = time.perf_counter()
        header = compute_internals(result.run_dir, backend=backend)  # type: ignore[arg-type]
        internals_s = time.perf_counter() - start
    finally:
        backend.close()
    return {
        "model": entry.name, "dtype": header.dtype, "device": header.device,
        "prompts": len(selected), "max_new_tokens": max_new_tokens,
        "load_s": round(load_s, 1), "generation_s": round(result.elapsed_s, 1),
        "internals_s": round(internals_s, 1),
        "internals_share_of_generation": round(internals_s / result.elapsed_s, 3),
        "cpu": cpu_model(), "isa": cpu_isa(), "torch_threads": torch.get_num_threads(),
        "loadavg": [round(x, 1) for x in os.getloadavg()],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-p", "--probes", action="append", default=None)
    ap.add_argument("--kind", action="append", default=None,
                    help="probe kinds (default censorship and neutral: the direction needs both)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("-m", "--model", default=None)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BIASPROBE_OUTPUTS"] = tmp
        out = measure(args.probes or ["starter"], args.kind or ["censorship", "neutral"],
                      args.limit, args.max_new_tokens, args.model)
    if args.json:
        print(json.dumps(out))
        return
    for key, value in out.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
