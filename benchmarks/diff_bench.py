"""Benchmark: ``biasprobe diff`` of 2 runs × 1,000 prompts (target: under 5 s on the CPU).

Builds two imported, scored runs in a temporary directory (seeded random labels over 40 topics,
2 languages, 8 governments, 4 kinds, EN/ZH pairs, slant scores), then times:

- ``load``: reading both runs (responses + scores) in-process;
- ``diff``: ``diff_runs`` in-process (rates, McNemar, Holm, bootstrap, asymmetry, flips),
  first call (includes importing statsmodels/scipy) and a warm repeat;
- ``cli``: the whole command ``biasprobe diff A B --format json`` in a fresh process
  (interpreter start and imports included), best of ``--repeat``: wall time, and CPU time
  (user + sys), which stays meaningful on a busy shared machine.

Usage: ``.venv/bin/python benchmarks/diff_bench.py [--prompts 1000] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LABELS = ["complete", "refusal", "deflection", "official_line", "uncertain"]
GOVS = ["CN", "US", "RU", "IN", "SA", "IL", "GB", "TR"]
KINDS = ["censorship", "mirror", "safety-control", "neutral"]


def build(tmp: Path, prompts: int, seed: int = 7) -> None:
    from biasprobe.importer import import_file
    from biasprobe.records import Label, Score

    rng = random.Random(seed)
    meta = []
    for i in range(prompts):
        pair = i // 2
        meta.append(
            {
                "prompt_id": f"p{pair:05d}-{'en' if i % 2 == 0 else 'zh'}",
                "pair_id": f"p{pair:05d}",
                "language": "en" if i % 2 == 0 else "zh-Hans",
                "topic": f"topic-{pair % 40:02d}",
                "kind": KINDS[pair % len(KINDS)],
                "jurisdiction": GOVS[pair % len(GOVS)],
            }
        )
    for side in ("a", "b"):
        src = tmp / f"{side}.jsonl"
        with src.open("w", encoding="utf-8") as fh:
            for m in meta:
                rec = {**m, "prompt": f"Question {m['prompt_id']}?", "model": f"bench/{side}",
                       "response": f"Answer of {side} to {m['prompt_id']}. " * 20}
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
        res = import_file(src, f"bench-{side}")
        with (res.run_dir / "scores.jsonl").open("w", encoding="utf-8") as fh:
            for m in meta:
                # Run B censors a bit more: shift some complete answers to refusal.
                label = rng.choices(LABELS, weights=[55, 20, 10, 10, 5])[0]
                if side == "b" and label == "complete" and rng.random() < 0.15:
                    label = "refusal"
                fh.write(
                    Score(run_id=f"bench-{side}", probe_id=m["prompt_id"], label=Label(label),
                          confidence=0.8, slant=rng.uniform(-1, 1), classifier_version="bench",
                          embedder="bench", embedder_sha256="0" * 64).model_dump_json() + "\n"
                )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompts", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        os.environ["BIASPROBE_OUTPUTS"] = str(tmp / "outputs")
        build(tmp, args.prompts)

        t0 = time.perf_counter()
        from biasprobe.diff import diff_runs, load_scored_run

        a, b = load_scored_run("bench-a"), load_scored_run("bench-b")
        t1 = time.perf_counter()
        result = diff_runs(a, b)
        t2 = time.perf_counter()
        diff_runs(a, b)
        t3 = time.perf_counter()
        exe = Path(sys.executable).with_name("biasprobe")
        cli, cpu = [], []
        for _ in range(args.repeat):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            s = time.perf_counter()
            proc = subprocess.run([str(exe), "diff", "bench-a", "bench-b", "--format", "json"],
                                  capture_output=True, check=True)
            cli.append(time.perf_counter() - s)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            assert json.loads(proc.stdout)["pairing"]["paired"] == args.prompts
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
              f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f}")
        print(f"runs: 2 × {args.prompts} prompts; groups: {len(result.groups)}; "
              f"flips: {len(result.flips)}")
        print(f"load both runs:        {t1 - t0:6.2f} s")
        print(f"diff_runs, first call: {t2 - t1:6.2f} s (includes importing statsmodels/scipy)")
        print(f"diff_runs, warm:       {t3 - t2:6.2f} s")
        print(f"CLI end to end:        {min(cli):6.2f} s best of {len(cli)} "
              f"(all: {', '.join(f'{c:.2f}' for c in cli)}); target < 5 s")
        print(f"CLI CPU time (user+sys): {min(cpu):6.2f} s best of {len(cpu)} "
              "(wall time grows when other processes share the cores)")


if __name__ == "__main__":
    main()
