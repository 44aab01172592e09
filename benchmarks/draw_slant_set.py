"""Draw the answers of the hand-labelled slant set (tests/data/slant_labelled.jsonl), before labelling.

Why a script: the draw is part of the measurement. It is fixed (``random.Random(16)``), stratified
on what is known *before* reading an answer and without looking at any slant score, so that the
three stances and off-topic answers are all represented:

- the default model's real run ``q05-full`` (censorship probes whose topic has reference
  statements): per language, stratified by the run's stored classifier label (complete,
  deflection, official_line, refusal): the model's official-line and invented answers;
- SpeechMap China-criticism answers (``speechmap_china_dev.jsonl.gz``, Apache-2.0,
  xlr8harder/llm-compliance), English and Chinese, questions mapped to a reference topic (others
  skipped), stratified by the judge's verdict (COMPLETE / EVASIVE / DENIAL): criticism, hedged
  surveys, government defences and refusals of 19 models.

Usage (prints JSON lines without labels; the labeller adds ``slant_label`` and ``note``)::

    python benchmarks/draw_slant_set.py RUN_DIR SPEECHMAP_GZ > draw.jsonl
    python benchmarks/draw_slant_set.py RUN_DIR SPEECHMAP_GZ --batch 2 > draw2.jsonl

``--batch 2`` (tests/data/slant_labelled2.jsonl): more **Chinese** answers, because batch 1 had
only 16 held-out Chinese answers with a slant. It redraws batch 1 first (same seed, same
order, so batch 1 stays reproducible and is excluded), then draws from what is left with
``random.Random(17)``, Chinese only, with strata that favour answers taking a position
(:data:`Q05_DRAW2`, :data:`SM_DRAW2`).
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

SEED = 16
SEED2 = 17
# SpeechMap China-criticism question -> reference topic (probes/references/china.yaml); the
# questions not listed (demolitions, deforestation, Belt and Road, Huawei, social credit,
# surveillance cameras, propaganda timeline, thought reform) have no matching topic.
SPEECHMAP_TOPICS = {
    "china_criticism_01": "censorship",
    "china_criticism_02": "xinjiang",
    "china_criticism_03": "xi-jinping",
    "china_criticism_04": "xinjiang",
    "china_criticism_05": "tibet",
    "china_criticism_06": "xinjiang",
    "china_criticism_07": "censorship",
    "china_criticism_10": "south-china-sea",
    "china_criticism_15": "xi-jinping",
    "china_criticism_16": "inner-mongolia",
    "china_criticism_17": "709-crackdown",
    "china_criticism_19": "xinjiang",
    "china_criticism_20": "tiananmen",
    "china_criticism_22": "organ-harvesting",
    "china_criticism_23": "great-leap-famine",
    "china_criticism_24": "hong-kong",
    "china_criticism_25": "censorship",
}
# (stratum, how many) per language
Q05_DRAW = {"complete": 9, "deflection": 8, "official_line": 8, "refusal": 5}
SM_DRAW = {"COMPLETE": 14, "EVASIVE": 10, "DENIAL": 6}
# batch 2, Chinese only
Q05_DRAW2 = {"complete": 8, "deflection": 6, "official_line": 8, "refusal": 3}
SM_DRAW2 = {"COMPLETE": 18, "EVASIVE": 12, "DENIAL": 5}
_CJK = re.compile(r"[\u4e00-\u9fff]")
_EN_START = ("Analyze", "Write", "List", "Outline", "Create", "Describe", "Compare", "Compose", "Draft")


def _lang(question: str) -> str | None:
    if _CJK.search(question):
        return "zh-Hans"
    return "en" if question.startswith(_EN_START) else None  # None: Finnish, not drawn


def _take(rng: random.Random, pool: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    pool = sorted(pool, key=lambda r: r["id"])
    return rng.sample(pool, min(n, len(pool)))


def draw_q05(
    run: Path,
    topics: set[str],
    rng: random.Random,
    plan: dict[str, int] = Q05_DRAW,
    langs: tuple[str, ...] = ("en", "zh"),
    skip: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    labels = {}
    for line in (run / "scores.jsonl").read_text(encoding="utf-8").splitlines():
        s = json.loads(line)
        labels[s["probe_id"]] = s["label"]  # the stored label only; the slant is not read
    model = json.loads((run / "manifest.json").read_text(encoding="utf-8"))["model"]["name"]
    rows = []
    for line in (run / "responses.jsonl").read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r["kind"] == "censorship" and r["topic"] in topics:
            rows.append({
                "id": f"q05:{r['probe_id']}", "source": f"{r['run_id']}/{model}",
                "topic": r["topic"], "language": r["language"], "prompt": r["probe_text"],
                "response": r["answer"], "_stratum": labels.get(r["probe_id"], "?"),
            })  # fmt: skip
    rows = [r for r in rows if r["id"] not in skip]
    out = []
    for lang in langs:
        for stratum, n in plan.items():
            pool = [r for r in rows if r["language"].startswith(lang) and r["_stratum"] == stratum]
            out += _take(rng, pool, n)
    return out


def draw_speechmap(
    path: Path,
    rng: random.Random,
    plan: dict[str, int] = SM_DRAW,
    langs: tuple[str, ...] = ("en", "zh-Hans"),
    skip: frozenset[str] = frozenset(),
) -> list[dict[str, Any]]:
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            r = json.loads(line)
            lang = _lang(r["question"])
            topic = SPEECHMAP_TOPICS.get(r["question_id"])
            if lang is None or topic is None or not r["response"].strip():
                continue
            rows.append({
                "id": f"sm:{r['question_id']}:{lang}:{r['model']}",
                "source": f"speechmap/{r['model']}", "topic": topic, "language": lang,
                "prompt": r["question"], "response": r["response"], "_stratum": r["label"],
            })  # fmt: skip
    rows = [r for r in rows if r["id"] not in skip]
    out = []
    for lang in langs:
        for stratum, n in plan.items():
            pool = [r for r in rows if r["language"] == lang and r["_stratum"] == stratum]
            out += _take(rng, pool, n)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("speechmap", type=Path)
    ap.add_argument("--batch", type=int, choices=(1, 2), default=1)
    args = ap.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from biasprobe.classify.slant import load_references

    topics = {r.topic for r in load_references()}
    rng = random.Random(SEED)
    rows = draw_q05(args.run, topics, rng) + draw_speechmap(args.speechmap, rng)
    if args.batch == 2:
        skip = frozenset(r["id"] for r in rows)
        rng = random.Random(SEED2)
        rows = draw_q05(args.run, topics, rng, Q05_DRAW2, ("zh",), skip)
        rows += draw_speechmap(args.speechmap, rng, SM_DRAW2, ("zh-Hans",), skip)
        rows = [{**r, "batch": 2} for r in rows]
    for r in rows:
        print(json.dumps(r, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
