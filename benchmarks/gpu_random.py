"""GPU checks with random weights of a real architecture, for a GPU machine that takes no weights.

A lent GPU machine has no network and takes at most 64 MiB of files per call, so a model's
weights cannot travel; its architecture (``config.json``) and tokenizer can. Three commands:

- ``make``: a local model directory from a ``config.json`` and a tokenizer directory: config
  (``--layers`` overrides the depth, for a CPU rehearsal), tokenizer files, chat template,
  ``generation_config.json``; with ``--save``, random weights (``torch.manual_seed(0)``, the
  architecture's own initialisation, ``--dtype`` on ``--device``) saved as safetensors, so every
  loader reads it as a model; without, a one-tensor placeholder ``model.safetensors`` (for
  ``run``, whose loader makes the weights itself).
- ``run [--eos-head] -- BIASPROBE RUN ARGS``: ``biasprobe run`` in this process, with the
  transformers backend's loader replaced by one that builds the model from the directory's
  ``config.json`` with random weights directly on the entry's device (no weight file is read:
  a 7B model is 15 GB). Everything after loading is biasprobe's own path (runner, backend,
  continuous decoder, out-of-memory halving, store, manifest). ``--eos-head`` replaces the LM
  head by a constant one whose logits pick the first end-of-sequence token at once: every answer
  ends at its first token, so a run whose KV cache is preallocated for ``max_new_tokens`` per
  slot takes seconds (the out-of-memory check). Afterwards prints the elapsed time and the time
  inside the backend's ``generate``, responses/s and tokens/s over the latter, the answers
  stored, the manifest's ``micro_batch``, ``oom_events`` and ``decode``, and the peak GPU
  memory; each out-of-memory error the backend catches is printed with its type.
- ``agree``: greedy answers of continuous decoding and of ``decode: generate`` on the same loaded
  model (an entry of ``--models``, ``--dtype``; one process, one load), and how many are
  identical (with random weights near-flat logits make near-ties common, so this is a bound on
  how often the two paths' rounding flips a token, not a quality figure).

Used for the H200 run in docs/throughput-history.md::

    python3 benchmarks/gpu_random.py make --config CFG --tokenizer TOKDIR --out /tmp/m --save
    python3 benchmarks/gpu_random.py run -- --models M.yaml -m rand-7b -p china-sensitive \\
        -p controls -p mirror --no-score --no-progress
    python3 benchmarks/gpu_random.py agree --models M.yaml --model rand-0.5b --dtype float32

CPU rehearsal (2 layers): the same with ``--layers 2 --device cpu`` and a CPU entry.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path
from typing import Any

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja",
                   "generation_config.json", "vocab.json", "merges.txt",
                   "special_tokens_map.json")


def make(args: argparse.Namespace) -> None:
    cfg = json.loads(Path(args.config).read_text())  # read before anything is written
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.layers:
        cfg["num_hidden_layers"] = args.layers
        if "layer_types" in cfg:
            cfg["layer_types"] = cfg["layer_types"][: args.layers]
    cfg.pop("quantization_config", None)
    (out / "config.json").write_text(json.dumps(cfg, indent=1))
    for name in TOKENIZER_FILES:
        src = Path(args.tokenizer) / name
        if src.exists() and not (out / name).exists():
            shutil.copy(src, out / name)
    if args.save:
        import torch

        start = time.perf_counter()
        model = random_model(out, getattr(torch, args.dtype), args.device)
        model.save_pretrained(out)  # also rewrites config.json (and generation_config.json)
        n = sum(p.numel() for p in model.parameters())
        print(f"make: {out}: {n / 1e9:.3f}B random parameters ({args.dtype}) saved in "
              f"{time.perf_counter() - start:.1f} s", flush=True)
    else:
        import torch
        from safetensors.torch import save_file

        save_file({"placeholder": torch.zeros(1)}, str(out / "model.safetensors"))
        print(f"make: {out}: config and tokenizer, placeholder weights", flush=True)


def random_model(path: str | Path, dtype: Any, device: Any, **kwargs: Any) -> Any:
    """The architecture of ``path``'s ``config.json`` with random weights (the architecture's
    own initialisation, ``torch.manual_seed(0)``) made directly on ``device`` in ``dtype``."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(path)
    torch.manual_seed(0)
    auto: Any = AutoModelForCausalLM
    with torch.device(device):
        return auto.from_config(config, dtype=dtype, **kwargs)


def random_loader(eos_head: bool) -> Any:
    """A replacement for ``TransformersBackend._load_model``: the directory's architecture with
    random weights (seed 0) made on the backend's device in its dtype."""

    def load(self: Any, path: str, kwargs: dict[str, object]) -> Any:
        import torch
        from transformers import GenerationConfig

        start = time.perf_counter()
        model = random_model(path, self.dtype, self.device, attn_implementation="sdpa")
        model.to(self.device)  # a no-op where the device context already placed it
        if (Path(path) / "generation_config.json").exists():
            model.generation_config = GenerationConfig.from_pretrained(path)
        if eos_head:
            eos = model.generation_config.eos_token_id
            eos = eos[0] if isinstance(eos, list) else eos
            old = model.get_output_embeddings()
            head = torch.nn.Linear(old.in_features, old.out_features, bias=True,
                                   device=old.weight.device, dtype=old.weight.dtype)
            with torch.no_grad():
                head.weight.zero_()
                head.bias.zero_()
                head.bias[eos] = 1.0
            model.set_output_embeddings(head)
        model.eval()
        n = sum(p.numel() for p in model.parameters())
        print(f"random weights: {n / 1e9:.3f}B parameters, {self.dtype}, on "
              f"{next(model.parameters()).device}, made in "
              f"{time.perf_counter() - start:.1f} s{' (EOS head)' if eos_head else ''}",
              file=sys.stderr, flush=True)
        return model

    return load


def run(args: argparse.Namespace, rest: list[str]) -> int:
    import os

    import torch

    from biasprobe.backends import transformers as tb
    from biasprobe.backends.transformers import TransformersBackend
    from biasprobe.cli import main as cli_main

    cast_backend: Any = TransformersBackend
    cast_backend._load_model = random_loader(args.eos_head)
    real_is_oom = tb.is_oom

    def logged_is_oom(exc: BaseException) -> bool:  # say which error the backend caught
        caught = bool(real_is_oom(exc))
        if caught:
            first = (str(exc).splitlines() or [""])[0]
            print(f"out of memory caught by the backend: {type(exc).__module__}."
                  f"{type(exc).__name__}: {first[:300]}", file=sys.stderr, flush=True)
        return caught

    tb.is_oom = logged_is_oom
    spent = [0.0]
    real_generate = TransformersBackend.generate

    def timed_generate(self: Any, requests: Any, settings: Any) -> Any:  # generation time only
        t = time.perf_counter()
        try:
            return real_generate(self, requests, settings)
        finally:
            spent[0] += time.perf_counter() - t

    cast_backend.generate = timed_generate
    outputs = Path(os.environ.get("BIASPROBE_OUTPUTS", "outputs"))
    run_id = rest[rest.index("--run-id") + 1] if "--run-id" in rest else None
    start = time.perf_counter()
    code = 0
    try:
        cli_main(["run", *rest])
    except SystemExit as exc:
        code = int(exc.code or 0)
    elapsed = time.perf_counter() - start
    summary: dict[str, Any] = {"exit": code, "elapsed_s": round(elapsed, 1),
                               "generate_s": round(spent[0], 1)}
    if torch.cuda.is_available():
        summary["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2**20)
        summary["gpu"] = torch.cuda.get_device_name(0)
    dirs = [outputs / run_id] if run_id else sorted(outputs.glob("*"), key=lambda p: p.stat().st_mtime)[-1:]
    if dirs and (dirs[0] / "manifest.json").exists():
        from biasprobe.store import read_manifest, read_responses

        manifest: Any = read_manifest(dirs[0])
        extra = manifest.get("backend", {}).get("extra", {})
        responses = read_responses(dirs[0])
        summary.update({
            "run_dir": str(dirs[0]), "answers_stored": len(responses),
            "finish_reasons": {r: sum(x.finish_reason == r for x in responses)
                               for r in sorted({x.finish_reason for x in responses})},
            "tokens_out": sum(x.tokens_out or 0 for x in responses),
            "responses_per_s_incl_load": round(len(responses) / elapsed, 2),
            "responses_per_s_generating": round(len(responses) / max(spent[0], 1e-9), 2),
            "tokens_per_s_generating": round(sum(x.tokens_out or 0 for x in responses)
                                             / max(spent[0], 1e-9)),
            "completed": manifest.get("completed"),
            **{k: extra.get(k) for k in ("batch_size", "micro_batch", "oom_events", "decode",
                                         "decode_fallback")},
            "versions": manifest.get("backend", {}).get("versions"),
        })
    print("SUMMARY " + json.dumps(summary), flush=True)
    return code


def agree(args: argparse.Namespace) -> None:
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import pick_prompts

    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.backends.base import ChatRequest, Message
    from biasprobe.config import GenerationSettings, Registry, with_overrides

    entry = Registry.load(Path(args.models)).get(args.model)
    entry = with_overrides(entry, dtype=args.dtype, batch_size=args.prompts)
    backend: Any = load_backend(entry, resolve_model(entry, log=lambda _: None))
    probes = pick_prompts(args.prompts)
    requests = [ChatRequest((p.id, 0), (Message("user", p.text),)) for p in probes]
    settings = GenerationSettings(max_new_tokens=args.max_new_tokens)
    tokens: dict[str, list[list[int]]] = {}
    print(f"agree: {entry.name}, {backend.dtype}, {backend.device}, {len(requests)} prompts x "
          f"{args.max_new_tokens} tokens, greedy; decode as loaded: {backend.decode} "
          f"({backend.decode_note})", flush=True)
    for mode in ("continuous", "generate"):
        backend.decode, backend.micro_batch = mode, args.prompts
        start = time.perf_counter()
        gens = backend.generate(requests, settings)
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        dt = time.perf_counter() - start
        tokens[mode] = [backend.tokenizer(g.answer, add_special_tokens=False)["input_ids"]
                        for g in gens]
        n = sum(g.tokens_out or 0 for g in gens)
        print(f"  {mode}: {n} tokens in {dt:.2f} s ({n / dt:.0f} tok/s)", flush=True)
    same = sum(a == b for a, b in zip(tokens["continuous"], tokens["generate"], strict=True))
    parts = [next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
             for a, b in zip(tokens["continuous"], tokens["generate"], strict=True) if a != b]
    print(f"agree: {same}/{len(requests)} greedy answers identical (continuous vs generate, "
          f"{backend.dtype}); differing answers part at token {sorted(parts)}", flush=True)
    print("SUMMARY " + json.dumps({"identical": same, "prompts": len(requests),
                                   "dtype": str(backend.dtype), "part_at": sorted(parts)}))


def main() -> int:
    argv = sys.argv[1:]
    rest: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, rest = argv[:at], argv[at + 1 :]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("--config", required=True)
    mk.add_argument("--tokenizer", required=True)
    mk.add_argument("--out", required=True)
    mk.add_argument("--layers", type=int, default=0)
    mk.add_argument("--save", action="store_true")
    mk.add_argument("--dtype", default="bfloat16")
    mk.add_argument("--device", default="cuda")
    rn = sub.add_parser("run")
    rn.add_argument("--eos-head", action="store_true")
    ag = sub.add_parser("agree")
    ag.add_argument("--models", required=True)
    ag.add_argument("--model", required=True)
    ag.add_argument("--dtype", default="float32")
    ag.add_argument("--prompts", type=int, default=64)
    ag.add_argument("--max-new-tokens", type=int, default=64)
    args = ap.parse_args(argv)
    from biasprobe.errors import BiasprobeError

    try:
        if args.cmd == "make":
            make(args)
        elif args.cmd == "run":
            return run(args, rest)
        else:
            agree(args)
    except (OSError, ValueError, BiasprobeError) as exc:  # a missing or bad config, tokenizer, entry
        print(f"error: {exc}".splitlines()[0], file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
