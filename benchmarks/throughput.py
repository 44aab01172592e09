"""Benchmark: generation throughput of biasprobe against how peers generate, on one machine.

Same model, same dtype, same prompts (a deterministic EN/ZH mix from the china-sensitive set,
sent as single-turn chats through the model's chat template), same ``max_new_tokens``, greedy:

- ``naive``: one ``model.generate`` call per prompt, as garak-style harnesses do;
- ``pipeline``: ``transformers.pipeline("text-generation")`` with its own batching
  (``batch_size`` = ``--pipeline-batch-size``, default the same as biasprobe's batch);
- ``biasprobe``: the registry entry's backend through ``biasprobe.runner.execute`` (length-sorted
  batches, results streamed to a run directory; ``--batch-size auto`` lets the backend size
  its micro-batches); with the transformers backend this is continuous batching
  (``decode: auto``, backends/decode.py) where the model allows it;
- ``biasprobe-generate``: the same with ``decode: generate`` (one ``model.generate`` call per
  micro-batch, the path before continuous batching);
- ``engine``: what a CPU user would run instead, llama.cpp's ``llama-server`` serving the
  default model's GGUF (Q4_K_M weights as shipped, llama.cpp's own kernels; built once by
  benchmarks/llama_server.py) on 127.0.0.1 with ``--engine-slots`` parallel sequences, driven
  through biasprobe's OpenAI-compatible backend and ``runner.execute`` (``--no-engine`` skips it).
  Its peak RSS is the server's (``VmHWM``); its ceiling is the matmul ceiling at its slot count
  in the best torch dtype the CPU has natively (bf16 with AVX-512 BF16 / AMX, else float32).

Each method runs in a fresh subprocess (so peak RSS is its own) after loading the model; the
timed part is generation only (plus, for biasprobe, writing the run). Printed: responses/s,
generated tokens/s (tokens up to and including EOS; padding after EOS not counted), peak RSS,
the speedup over ``naive`` and how many answers are identical to ``naive``'s (batched bf16 can
flip near-ties). Then a memory check (see :func:`memory_check`), and, when importable, scoring and ``diff``
timings.

The ceiling: a matmul micro-benchmark with the model's own weight shapes (from its config.json),
at each method's batch size (rows; 1 for ``naive``) and in its dtype, with the same thread count;
each method's tokens/s is printed as a fraction of it, with the CPU model and ISA (AVX2 /
AVX-512 / AVX-512 BF16 / AMX from /proc/cpuinfo flags). ``--no-ceiling`` skips it.

Usage::

    BIASPROBE_HOME=/tmp/bphome .venv/bin/python benchmarks/throughput.py            # 64 x 64
    .venv/bin/python benchmarks/throughput.py --quick                               # 16 x 16
    .venv/bin/python benchmarks/throughput.py --methods biasprobe --batch-size 16
    .venv/bin/python benchmarks/throughput.py --methods engine --engine-slots 64  # llama.cpp only
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

METHODS = ("naive", "pipeline", "biasprobe", "biasprobe-generate", "engine")
ENGINE_DTYPE = "q4_k_m (llama.cpp)"


def peak_rss_mib() -> float:
    try:
        import psutil

        info = psutil.Process().memory_info()
        peak = getattr(info, "peak_wset", None)  # Windows
        if peak:
            return float(peak) / 2**20
    except ImportError:
        pass
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / (2**20 if sys.platform == "darwin" else 2**10)


def pick_prompts(n: int) -> list[Any]:
    """n probes spread evenly over the china-sensitive set (EN and ZH, short and long)."""
    from biasprobe.probes import load_probes

    _, probes = load_probes(["china-sensitive"])
    stride = max(1, len(probes) // n)
    picked = probes[::stride][:n]
    if len(picked) < n:
        raise SystemExit(f"only {len(picked)} probes available; use --prompts <= {len(probes)}")
    return picked


def cpu_backend(dtype: str, slots: int) -> Any:
    """The default model's transformers backend on CPU in ``dtype`` with ``slots`` slots: the one
    loader of the A/B, profile, compile, agreement and split scripts (``decode_ab.py``,
    ``decode_profile.py``, ``decode_compile.py``, ``decode_agree.py``, ``decode_split.py``)."""
    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.config import DEFAULT_MODEL, Registry, with_overrides

    entry = with_overrides(Registry.load().get(DEFAULT_MODEL), dtype=dtype, device="cpu",
                           batch_size=slots)
    return load_backend(entry, resolve_model(entry, log=lambda _: None))


def packing_arms(backend: Any) -> dict[str, list[tuple[Any, str, Any]]]:
    """The packed and the unpacked module sets of one backend's model, as ``(parent, name,
    module)`` to swap in per arm: the fused modules as loaded (packed), then the fused modules
    built again without packing, with the stock LM head (decode_ab.py ``--against unpacked``,
    decode_agree.py). Reverts the backend's fusion; the stock modules stay in its old swaps."""
    from biasprobe.backends.fused import fuse

    swaps = backend.fusion.swaps
    packed = [(parent, name, getattr(parent, name)) for parent, name, _ in swaps]
    backend.fusion.revert()
    plain = fuse(backend.model, pack=False)
    unpacked = [(parent, name, getattr(parent, name)) for parent, name, _ in plain.swaps]
    unpacked += [(parent, name, stock) for parent, name, stock in swaps if name == "lm_head"]
    return {"packed": packed, "unpacked": unpacked}


def load_entry(args: argparse.Namespace) -> Any:
    from biasprobe.config import DEFAULT_MODEL, Registry, with_overrides

    entry = Registry.load(Path(args.models) if args.models else None).get(args.model or DEFAULT_MODEL)
    bs: int | str = "auto" if args.batch_size in ("auto", "0") else int(args.batch_size)
    return with_overrides(
        entry, generation={"max_new_tokens": args.max_new_tokens, "temperature": 0.0, "samples": 1},
        batch_size=bs, dtype=args.dtype, device=args.device,
    )


def count_tokens(new_ids: list[int], eos: set[int]) -> tuple[int, int]:
    """(tokens counted like biasprobe: up to and including the first EOS, tokens before EOS)."""
    for j, tok in enumerate(new_ids):
        if tok in eos:
            return j + 1, j
    return len(new_ids), len(new_ids)


# --- the machine's ceiling ------------------------------------------------------------------


def cpu_isa() -> str:
    """The vector/matrix extensions torch can use here, from /proc/cpuinfo flags."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "unknown"
    flags: set[str] = set()
    for line in text.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    found = [name for name, flag in (("AVX2", "avx2"), ("AVX-512", "avx512f"),
                                     ("AVX-512 BF16", "avx512_bf16"), ("AMX", "amx_bf16"))
             if flag in flags]
    return ", ".join(found) or "none of AVX2/AVX-512/AMX"


def weight_shapes(model_dir: Path) -> list[tuple[int, int, int]]:
    """(in, out, times per token) of every matmul of a decoder-only model, from config.json."""
    cfg = json.loads((model_dir / "config.json").read_text())
    h, inter, layers = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"]
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads) * cfg.get("head_dim", h // heads)
    per_layer = [(h, heads * cfg.get("head_dim", h // heads)), (h, kv), (h, kv),
                 (heads * cfg.get("head_dim", h // heads), h), (h, inter), (h, inter), (inter, h)]
    return [(i, o, layers) for i, o in per_layer] + [(h, cfg["vocab_size"], 1)]


def matmul_ceiling(shapes: list[tuple[int, int, int]], rows: int, dtype: str,
                   threads: int) -> dict[str, float]:
    """Time ``rows`` x in @ in x out for each weight shape in ``dtype``: the rate a decoding
    step would reach if it were nothing but the model's matmuls (model FLOPs per token =
    2 x matmul parameters; attention over the cache and everything else not counted). Where
    the backend prepacks weights for oneDNN (float32, and bf16 with native bf16:
    backends/fused.py ``can_pack``), each shape is also timed through the packed product and the
    faster of the two counts: the ceiling is the fastest matmul this machine offers, not the
    one a method happens to use."""
    import torch

    from biasprobe.backends.fused import can_pack, packed_linear

    torch.set_num_threads(threads)
    dt = getattr(torch, dtype.removeprefix("torch."))
    total_s = 0.0
    flops = 0.0
    with torch.inference_mode():
        for n_in, n_out, times in shapes:
            x, w = torch.randn(rows, n_in, dtype=dt), torch.randn(n_in, n_out, dtype=dt)
            best = _time_op(lambda x=x, w=w: x @ w)
            if can_pack(dt):
                packed = packed_linear(w.t().contiguous(), None)
                best = min(best, _time_op(lambda x=x, packed=packed: packed(x)))
            total_s += best * times
            flops += 2.0 * rows * n_in * n_out * times
    return {"gflops": flops / total_s / 1e9, "tok_per_s": rows / total_s,
            "gflop_per_token": flops / rows / 1e9}


def _time_op(op: Any) -> float:
    """Seconds per call of ``op`` (after a warm-up call; at least 3 calls and 0.2 s)."""
    op()
    reps = 0
    start = time.perf_counter()
    while reps < 3 or time.perf_counter() - start < 0.2:
        op()
        reps += 1
    return (time.perf_counter() - start) / reps


def print_ceilings(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    """Each method's tokens/s as a fraction of the matmul ceiling at its own batch size."""
    from biasprobe.backends import resolve_model

    shapes = weight_shapes(Path(resolve_model(load_entry(args), log=lambda _: None).path))
    print(f"CPU: {cpu_model()}; ISA: {cpu_isa()}")
    for method, r in results.items():
        c = matmul_ceiling(shapes, r["rows"], r["torch_dtype"], args.threads)
        weights = f" ({r['dtype']} weights)" if method == "engine" else ""
        print(f"  {method:<10} rows {r['rows']:>3}, {r['torch_dtype']}{weights}: ceiling {c['gflops']:.0f} "
              f"GFLOP/s = {c['tok_per_s']:.1f} tok/s at {c['gflop_per_token']:.2f} GFLOP/token; "
              f"reached {r['tokens_per_s'] / c['tok_per_s']:.0%}")


# --- workers (each in its own process) ------------------------------------------------------


def _load_plain(entry: Any, resolved: Any) -> tuple[Any, Any, set[int]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from biasprobe.backends.transformers import pick_device, pick_dtype

    device = pick_device(entry.device)
    dtype = pick_dtype(entry.dtype, device)
    tok = AutoTokenizer.from_pretrained(str(resolved.path))
    auto: Any = AutoModelForCausalLM
    model = auto.from_pretrained(str(resolved.path), dtype=dtype).to(device).eval()
    eos = model.generation_config.eos_token_id
    eos_ids = set(eos if isinstance(eos, list) else [eos])
    torch.manual_seed(0)
    return model, tok, eos_ids


def best_torch_dtype() -> str:
    """bf16 where the CPU has it natively (AVX-512 BF16 / AMX), else float32."""
    isa = cpu_isa()
    return "torch.bfloat16" if ("BF16" in isa or "AMX" in isa) else "torch.float32"


def _server_peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def engine_worker(args: argparse.Namespace) -> dict[str, Any]:
    """llama.cpp's server on the default GGUF, driven through the OpenAI-compatible backend."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import llama_server

    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.config import ModelEntry

    probes = pick_prompts(args.prompts)
    slots = min(args.engine_slots, len(probes))
    binary = llama_server.ensure_llama_server()
    gguf = llama_server.default_gguf()
    t_load = time.perf_counter()
    with llama_server.serve(gguf, slots, ctx_per_slot=512, threads=args.threads, binary=binary,
                            model=gguf.stem) as server:
        load_s = time.perf_counter() - t_load
        entry = ModelEntry.model_validate({
            "name": "engine", "batch_size": len(probes),
            "source": {"openai": server.model, "base_url": server.base_url,
                       "max_concurrency": slots, "timeout_s": 3600, "max_retries": 2},
            "generation": {"max_new_tokens": args.max_new_tokens, "temperature": 0.0,
                           "samples": 1},
        })
        resolved = resolve_model(entry, log=lambda _: None)
        backend = load_backend(entry, resolved)
        elapsed, tokens, answers = run_through_runner(entry, resolved, backend, probes,
                                                      len(probes))
        peak = _server_peak_rss_mib(server.process.pid)
    answers["__batch__"] = f"llama-server {binary}, {slots} slots, {gguf.name}"
    return {
        "method": "engine", "prompts": len(probes), "max_new_tokens": args.max_new_tokens,
        "load_s": load_s, "elapsed_s": elapsed, "responses_per_s": len(probes) / elapsed,
        "tokens": tokens, "tokens_per_s": tokens / elapsed,
        "peak_rss_mib": peak if peak is not None else float("nan"), "peak_gpu_mib": None,
        "answers": answers, "threads": args.threads, "dtype": ENGINE_DTYPE,
        "batch_size": str(slots), "rows": slots, "torch_dtype": best_torch_dtype(),
    }


def worker(method: str, args: argparse.Namespace) -> dict[str, Any]:
    if method == "engine":
        return engine_worker(args)
    import torch

    torch.set_num_threads(args.threads)
    from biasprobe.backends import resolve_model

    entry = load_entry(args)
    resolved = resolve_model(entry, log=lambda m: print(m, file=sys.stderr))
    probes = pick_prompts(args.prompts)
    n_new = args.max_new_tokens
    answers: dict[str, str] = {}
    tokens = 0
    t_load = time.perf_counter()
    if method in ("naive", "pipeline"):
        model, tok, eos_ids = _load_plain(entry, resolved)
        torch_dtype = str(model.dtype)
        rows = 1 if method == "naive" else min(args.pipeline_batch_size or entry.run_batch_size,
                                               len(probes))
        load_s = time.perf_counter() - t_load
        chats = [[{"role": "user", "content": p.text}] for p in probes]
        start = time.perf_counter()
        if method == "naive":
            for probe, chat in zip(probes, chats, strict=True):
                enc = tok.apply_chat_template(chat, add_generation_prompt=True, return_tensors="pt",
                                              return_dict=True).to(model.device)
                with torch.inference_mode():
                    out = model.generate(**enc, max_new_tokens=n_new, do_sample=False)
                new = out[0, enc["input_ids"].shape[1]:].tolist()
                counted, keep = count_tokens(new, eos_ids)
                tokens += counted
                answers[probe.id] = tok.decode(new[:keep], skip_special_tokens=True).strip()
                done = len(answers)
                if done % 8 == 0:
                    dt = time.perf_counter() - start
                    print(f"    naive: {done}/{len(probes)} prompts, {tokens} tokens in {dt:.0f} s "
                          f"({tokens / dt:.2f} tok/s)", file=sys.stderr, flush=True)
        else:
            from transformers import pipeline

            tok.padding_side = "left"
            if tok.pad_token_id is None:
                tok.pad_token = tok.eos_token
            pipe = pipeline("text-generation", model=model, tokenizer=tok)
            bs = args.pipeline_batch_size or entry.run_batch_size
            outs = pipe(chats, max_new_tokens=n_new, do_sample=False, batch_size=bs,
                        return_full_text=False)
            for probe, out in zip(probes, outs, strict=True):
                text = out[0]["generated_text"]
                text = text if isinstance(text, str) else text[-1]["content"]
                ids = tok(text, add_special_tokens=False)["input_ids"]
                tokens += min(n_new, len(ids) + 1)  # + the EOS it stopped at (approx.)
                answers[probe.id] = text.strip()
        elapsed = time.perf_counter() - start
    else:
        from biasprobe.backends import load_backend
        from biasprobe.config import with_overrides

        entry = with_overrides(entry, decode="generate" if method == "biasprobe-generate" else None)
        backend = load_backend(entry, resolved)
        load_s = time.perf_counter() - t_load
        score = (lambda run_dir, got: _time_scoring(run_dir, len(probes), got)) if args.score else None
        elapsed, tokens, answers = run_through_runner(entry, resolved, backend, probes,
                                                      entry.run_batch_size, after=score)
        micro = getattr(backend, "micro_batch", None)
        hint = backend.batch_hint()
        answers["__batch__"] = (f"runner {hint or entry.run_batch_size}, micro-batch {micro}, "
                                f"decode {getattr(backend, 'decode', '-')}, "
                                f"{getattr(backend, 'fused', '-')}")
        rows = min(micro or hint or entry.run_batch_size, len(probes))
        torch_dtype = str(getattr(backend, "dtype", entry.dtype))
    return {
        "method": method, "prompts": len(probes), "max_new_tokens": n_new, "load_s": load_s,
        "elapsed_s": elapsed, "responses_per_s": len(probes) / elapsed,
        "tokens": tokens, "tokens_per_s": tokens / elapsed, "peak_rss_mib": peak_rss_mib(),
        "peak_gpu_mib": (torch.cuda.max_memory_allocated() / 2**20 if torch.cuda.is_available() else None),
        "answers": answers, "threads": torch.get_num_threads(),
        "dtype": str(entry.dtype), "batch_size": str(entry.batch_size), "rows": rows,
        "torch_dtype": torch_dtype,
    }


def run_through_runner(
    entry: Any, resolved: Any, backend: Any, probes: list[Any], batch: int,
    after: Callable[[Path, dict[str, str]], None] | None = None,
) -> tuple[float, int, dict[str, str]]:
    """biasprobe's own path: ``runner.execute`` into a scratch run directory; (seconds of
    generation, tokens counted as biasprobe stores them, answers by probe id). ``after(run_dir,
    answers)`` runs before the scratch directory is removed (the scoring timing)."""
    from biasprobe.runner import RunPlan, execute
    from biasprobe.store import read_responses

    answers: dict[str, str] = {}
    tokens = 0
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["BIASPROBE_OUTPUTS"] = tmp
        plan = RunPlan("bench", entry, "bench", tuple(probes), batch)
        start = time.perf_counter()
        execute(plan, resolved, lambda: backend, progress=False, say=lambda _: None)
        elapsed = time.perf_counter() - start
        for r in read_responses(Path(tmp) / "bench"):
            tokens += r.tokens_out or 0
            answers[r.probe_id] = r.answer
        if after is not None:
            after(Path(tmp) / "bench", answers)
    return elapsed, tokens, answers


def _time_scoring(run_dir: Path, n: int, sink: dict[str, str]) -> None:
    try:
        from biasprobe.classify import score_run
    except ImportError as exc:
        sink["__score__"] = f"skipped (biasprobe.classify not importable: {exc})"
        return
    try:
        start = time.perf_counter()
        score_run(run_dir, progress=False)
        dt = time.perf_counter() - start
        sink["__score__"] = f"{n / dt:.1f} responses/s ({dt:.1f} s for {n}, embedder load included)"
    except Exception as exc:  # the classifier is optional here; report, do not fail
        sink["__score__"] = f"skipped ({type(exc).__name__}: {exc})"


def memory_check() -> tuple[bool, str]:
    """Total peak RSS of ``biasprobe run`` on probe files of 200, 2,000 and 20,000 prompts
    (``fake_run_memory.py``: fake backend, a fresh process each): at most 5% growth from 200 to
    20,000 (the probes are streamed and the requests built lazily)."""
    peaks = {}
    for n in (200, 2000, 20_000):
        with tempfile.TemporaryDirectory() as tmp:
            env = {**os.environ, "BIASPROBE_OUTPUTS": tmp}
            script = Path(__file__).with_name("fake_run_memory.py")
            out = subprocess.run([sys.executable, str(script), str(n)], env=env,
                                 capture_output=True, text=True, check=True)
            res = json.loads(out.stdout.strip().splitlines()[-1])
            peaks[n] = res["peak_kib"] / 1024
    growth = peaks[20_000] / peaks[200] - 1
    ok = growth <= 0.05
    return ok, (f"total peak RSS of biasprobe run on a JSONL probe file (fake backend): 200 / 2,000 "
                f"/ 20,000 prompts {peaks[200]:.1f} / {peaks[2000]:.1f} / {peaks[20_000]:.1f} MiB "
                f"(growth 200 -> 20,000 {growth:+.1%}, must be <= 5%): {'OK' if ok else 'FAIL'}")


def diff_timing() -> str:
    script = Path(__file__).with_name("diff_bench.py")
    if not script.exists():
        return "skipped (benchmarks/diff_bench.py not present)"
    try:
        out = subprocess.run([sys.executable, str(script), "--repeat", "1"], capture_output=True,
                             text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return "skipped (diff_bench.py took over 10 minutes)"
    if out.returncode != 0:
        return f"skipped (diff_bench.py failed: {(out.stderr.strip().splitlines() or ['?'])[-1]})"
    return "\n".join("    " + line for line in out.stdout.strip().splitlines())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    try:
        import torch

        torch_v = str(torch.__version__)
        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    except ImportError:
        torch_v, gpu = "?", "?"
    cpu = cpu_model()
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",)
    return (f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {cpu}, {os.cpu_count()} cores, "
            f"{gpu}; Python {platform.python_version()}, torch {torch_v}; "
            f"load average {' '.join(f'{x:.2f}' for x in load)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="registry name (default: the default model)")
    ap.add_argument("--models", default=None, help="extra models.yaml")
    ap.add_argument("--prompts", type=int, default=64)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--batch-size", default="auto", help="biasprobe's batch size, or auto")
    ap.add_argument("--pipeline-batch-size", type=int, default=0,
                    help="pipeline's batch_size (default: biasprobe's batch)")
    ap.add_argument("--dtype", default=None, help="override the entry's dtype (all methods)")
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--quick", action="store_true", help="16 prompts x 16 new tokens")
    ap.add_argument("--no-engine", action="store_true",
                    help="skip the llama.cpp engine row (builds llama-server once if absent)")
    ap.add_argument("--engine-slots", type=int, default=16,
                    help="llama-server parallel sequences (--parallel) for the engine row")
    ap.add_argument("--no-memory", action="store_true", help="skip the 200/2,000/20,000 memory check")
    ap.add_argument("--no-ceiling", action="store_true", help="skip the matmul ceiling")
    ap.add_argument("--score", action="store_true", help="also time scoring of biasprobe's run")
    ap.add_argument("--diff", action="store_true", help="also run benchmarks/diff_bench.py")
    ap.add_argument("--json", default=None, help="write all results to this file")
    ap.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        args.prompts, args.max_new_tokens = 16, 16
    if args.worker:
        print("RESULT " + json.dumps(worker(args.worker, args)))
        return 0

    print(f"machine: {machine()}")
    entry = load_entry(args)
    print(f"model: {entry.name} ({entry.dtype}), {args.prompts} prompts x {args.max_new_tokens} "
          f"new tokens, greedy, torch threads {args.threads}, biasprobe batch {entry.batch_size}")
    results: dict[str, dict[str, Any]] = {}
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:]) if a != "--quick"]
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        if method == "engine" and args.no_engine:
            continue
        if method not in METHODS:
            raise SystemExit(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        cmd = [sys.executable, __file__, *passthrough, "--prompts", str(args.prompts),
               "--max-new-tokens", str(args.max_new_tokens), "--worker", method]
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # stderr: progress
        lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            print(f"{method}: FAILED (exit {proc.returncode}; see stderr above)")
            continue
        results[method] = json.loads(lines[-1].removeprefix("RESULT "))
        r = results[method]
        print(f"  {method:<10} done in {r['elapsed_s']:.1f} s (load {r['load_s']:.1f} s); "
              f"load average now {os.getloadavg()[0]:.2f}", flush=True)

    base = results.get("naive")
    print()
    print(f"{'method':<19}{'dtype':<20}{'resp/s':>8}{'tok/s':>9}{'tokens':>8}{'time s':>9}"
          f"{'peak RSS MiB':>14}{'speedup':>9}{'same as naive':>15}")
    for method, r in results.items():
        speed = f"{r['tokens_per_s'] / base['tokens_per_s']:.2f}x" if base else "-"
        if base:
            keys = [k for k in base["answers"] if not k.startswith("__")]
            same = sum(base["answers"][k] == r["answers"].get(k) for k in keys)
            same_s = f"{same}/{len(keys)}"
        else:
            same_s = "-"
        gpu = f"  (GPU peak {r['peak_gpu_mib']:.0f} MiB)" if r.get("peak_gpu_mib") else ""
        dtype = r["dtype"] if method == "engine" else r["torch_dtype"].removeprefix("torch.")
        print(f"{method:<19}{dtype:<20}{r['responses_per_s']:>8.2f}{r['tokens_per_s']:>9.1f}{r['tokens']:>8}"
              f"{r['elapsed_s']:>9.1f}{r['peak_rss_mib']:>14.0f}{speed:>9}{same_s:>15}{gpu}")
    for name in ("biasprobe", "biasprobe-generate", "engine"):
        if name in results:
            a = results[name]["answers"]
            print(f"{name} batches: {a.get('__batch__')}")
            if "__score__" in a:
                print(f"scoring: {a['__score__']}")
    if "biasprobe" in results and "pipeline" in results:
        ratio = results["biasprobe"]["tokens_per_s"] / results["pipeline"]["tokens_per_s"]
        print(f"biasprobe vs batched pipeline: {ratio:.2f}x tokens/s (target >= 1.5x in float32)")
    if "engine" in results and "biasprobe" in results:
        ratio = results["biasprobe"]["tokens_per_s"] / results["engine"]["tokens_per_s"]
        print(f"biasprobe vs llama.cpp engine ({ENGINE_DTYPE} weights): {ratio:.2f}x tokens/s")
    if base and "biasprobe" in results:
        speedup = results["biasprobe"]["tokens_per_s"] / base["tokens_per_s"]
        rspeed = results["biasprobe"]["responses_per_s"] / base["responses_per_s"]
        print(f"biasprobe vs naive loop: {speedup:.2f}x tokens/s, {rspeed:.2f}x responses/s")
    if results and not args.no_ceiling:
        print_ceilings(results, args)
    ok = True
    if not args.no_memory:
        ok, line = memory_check()
        print(line)
    if args.diff:
        print("diff benchmark (benchmarks/diff_bench.py --repeat 1):")
        print(diff_timing())
    print(f"finished: load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine(), "results": results}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
