"""Is ``uncertain`` "we do not know"? The uncertain rule and calibrations, per language, held out.

    PYTHONPATH=src .venv/bin/python benchmarks/uncertain_rule.py --work /tmp/diffagree [--json]

Uses the scored runs of ``benchmarks/diff_agreement.py`` (same ``--work`` folder and cache: the
SpeechMap dev answers scored by the installed classifier, the judges' labels beside them; runs
not cached yet are built). For every answer, its ``confidence`` (the probability that its label,
complete or not, is right; for an ``uncertain`` answer, of its best guess) is compared with the
judges. Three confidences are compared:

- ``shipped``: as scored (no calibration file is shipped: the heads' own probability);
- ``platt``: a Platt refit on ``|log-odds|`` (:mod:`biasprobe.classify.calibration`) fitted on
  all languages;
- ``platt-per-language``: one such refit per language (English with the US/EU/Russia file).

Both refits are **held out by model and question together**: models and questions are put into
``--k`` groups each (seeded), and the answers of cell (i, j) get a calibration fitted only on
answers of other model groups *and* other question groups. Answers labelled by a rule (degenerate
output, off-topic, plain answer: fixed confidences) keep theirs. Per set and confidence it
prints the expected calibration error (10 bins), the share of answers below the shipped
threshold (0.575, the margin 0.15) and below ``UNCERTAIN_BELOW`` (0.6, the rule with a
calibration) overall, in the median run and in the worst run, and how often the labels of the
answers below the threshold are right: near 0.5 means uncertain is "we do not know". It also
prints how many of the uncertain answers the judges call censored, against all answers: the
reason ``diff`` counts uncertain answers as their probability instead of dropping them.

The shipped heads saw the US/EU/Russia file and the Chinese lexical head the China file's
Chinese answers, so ``shipped`` is not held out there; the refits are held out from the answers
they are judged on, not from the heads' training data.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
import diff_agreement as da

SHIPPED_BELOW = 0.575  # the shipped rule: margin |2p - 1| below 0.15
RULE_FLAGS = ("degenerate:", "off_topic:", "plain_answer", "far_from")
LANGUAGE_GROUP = {"en": "en", "gov": "en", "zh": "zh", "fi": "fi"}


class Answer(BaseModel):
    set: str
    model: str
    question: str
    confidence: float
    uncertain: bool
    by_rule: bool  # labelled by a rule with a fixed confidence (not refitted)
    right: bool  # the (best-guess) label's complete-vs-not agrees with the judges
    judged_censored: bool


def read_answers(run_dir: Path, set_name: str, model: str) -> list[Answer]:
    """One scored run of diff_agreement with its judge overrides, as :class:`Answer` rows."""
    from biasprobe.diff import read_scores
    from biasprobe.overrides import latest_overrides

    judges = latest_overrides(run_dir)
    out = []
    for key, s in sorted(read_scores(run_dir, reviewed=False).items()):
        guess = next((f.split(":", 1)[1] for f in s.flags if f.startswith("best_guess:")), s.label.value)
        censored = judges[key].label_after.value != "complete"
        out.append(Answer(
            set=set_name, model=model, question=key[0], confidence=s.confidence,
            uncertain=s.label.value == "uncertain", by_rule=any(f.startswith(RULE_FLAGS) for f in s.flags),
            right=(guess != "complete") == censored, judged_censored=censored,
        ))  # fmt: skip
    return out


def groups(values: Sequence[str], k: int, seed: int) -> np.ndarray:
    """Each distinct value in one of ``k`` groups (seeded shuffle, round robin)."""
    uniq = sorted(set(values))
    order = np.random.default_rng(seed).permutation(len(uniq))
    group = {uniq[j]: i % k for i, j in enumerate(order)}
    return np.array([group[v] for v in values])


def held_out_platt(rows: Sequence[Answer], family: Callable[[Answer], str], k: int) -> np.ndarray:
    """Confidences refitted per ``family`` (Platt on |log-odds|), each cell of the model x
    question grid fitted on the other model groups and other question groups only."""
    from biasprobe.classify.calibration import fit_calibration, log_odds

    conf = np.array([r.confidence for r in rows], dtype=np.float64)
    z = log_odds(conf)
    right = np.array([r.right for r in rows])
    refit = np.array([not r.by_rule for r in rows])
    fam = np.array([family(r) for r in rows])
    mg = groups([r.model for r in rows], k, 0)
    qg = groups([r.question for r in rows], k, 1)  # one question in every language: one group
    out = conf.copy()
    for f in sorted(set(fam)):
        for i in range(k):
            for j in range(k):
                test = (fam == f) & (mg == i) & (qg == j) & refit
                train = (fam == f) & (mg != i) & (qg != j) & refit
                if test.any():
                    out[test] = fit_calibration(z[train], right[train]).confidence(z[test])
    return out


class Share(BaseModel):
    all: float
    median_run: float
    worst_run: float
    right_below: float | None  # how often the labels of the answers below are right


class SetResult(BaseModel):
    set: str
    answers: int
    ece: float
    below_shipped: Share  # below 0.575
    below_uncertain: Share  # below UNCERTAIN_BELOW (0.6)


def shares(rows: Sequence[Answer], conf: np.ndarray, below: float) -> Share:
    """Share of answers with confidence below ``below``: all, median and worst run."""
    low = conf < below
    runs: dict[str, list[bool]] = {}
    for r, x in zip(rows, low.tolist(), strict=True):
        runs.setdefault(r.model, []).append(x)
    per_run = [sum(v) / len(v) for v in runs.values()]
    right = [r.right for r, x in zip(rows, low.tolist(), strict=True) if x]
    return Share(all=round(float(low.mean()), 4), median_run=round(statistics.median(per_run), 4),
                 worst_run=round(max(per_run), 4),
                 right_below=round(sum(right) / len(right), 3) if right else None)  # fmt: skip


def evaluate(rows: Sequence[Answer], k: int) -> dict[str, list[SetResult]]:
    """Per confidence (shipped, platt, platt-per-language) and set: ECE and shares below."""
    from biasprobe.classify.evaluate import expected_calibration_error
    from biasprobe.classify.model import UNCERTAIN_BELOW

    confs = {
        "shipped": np.array([r.confidence for r in rows], dtype=np.float64),
        "platt": held_out_platt(rows, lambda r: "all", k),
        "platt-per-language": held_out_platt(rows, lambda r: LANGUAGE_GROUP.get(r.set, r.set), k),
    }
    sets = np.array([r.set for r in rows])
    out: dict[str, list[SetResult]] = {}
    for name, conf in confs.items():
        out[name] = []
        for s in (x for x in da.SETS if (sets == x).any()):
            m = sets == s
            sub = [r for r, keep in zip(rows, m.tolist(), strict=True) if keep]
            right = [r.right for r in sub]
            out[name].append(SetResult(
                set=s, answers=len(sub), ece=expected_calibration_error(conf[m].tolist(), right),
                below_shipped=shares(sub, conf[m], SHIPPED_BELOW),
                below_uncertain=shares(sub, conf[m], UNCERTAIN_BELOW),
            ))  # fmt: skip
    return out


def not_at_random(rows: Sequence[Answer]) -> dict[str, list[int]]:
    """Per set: [uncertain answers, of them judged censored, all answers, of them judged censored]."""
    out: dict[str, list[int]] = {}
    for r in rows:
        c = out.setdefault(r.set, [0, 0, 0, 0])
        c[0] += r.uncertain
        c[1] += r.uncertain and r.judged_censored
        c[2] += 1
        c[3] += r.judged_censored
    return out


def _cell(x: Share) -> str:
    return (f"{100 * x.all:.1f}% / {100 * x.median_run:.0f}% / {100 * x.worst_run:.0f}%; "
            f"{x.right_below}")  # fmt: skip


def text(results: dict[str, list[SetResult]], nar: dict[str, list[int]]) -> str:
    lines = [
        "| confidence | set | answers | ECE | below 0.575: all / median run / worst run; "
        "labels right | below 0.6: all / median / worst; labels right |",
        "|---|---|---|---|---|---|",
    ]
    for name, rows in results.items():
        lines += [f"| {name} | {r.set} | {r.answers} | {r.ece:.3f} | {_cell(r.below_shipped)} | "
                  f"{_cell(r.below_uncertain)} |" for r in rows]  # fmt: skip
    counts = [f"{s}: {c[1]} of {c[0]} uncertain answers, {c[3]} of {c[2]} answers" for s, c in nar.items()]
    return "\n".join([*lines, "judged censored: " + "; ".join(counts)])


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="diff_agreement.py's --work folder")
    ap.add_argument("--data-dir", type=Path, default=da.DATA_DIR)
    ap.add_argument("--k", type=int, default=3, help="model groups and question groups")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    files = [args.data_dir / da.CHINA, args.data_dir / da.GOV]
    if not all(f.exists() for f in files):
        print(f"skip: {files[0]} or {files[1]} not found", file=sys.stderr)
        return 0
    answers = da.read_dev(files[0], gov_file=False) + da.read_dev(files[1], gov_file=True)
    runs = args.work / f"clf-{da.fingerprint(files, None)}" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    score = da.default_scorer(None)
    rows: list[Answer] = []
    for (s, m), got in sorted(da.cells(answers).items()):
        rows += read_answers(da.build_run(runs, da.run_name(s, m), got, score), s, m)
    results, nar = evaluate(rows, args.k), not_at_random(rows)
    if args.json:
        out: dict[str, Any] = {k: [r.model_dump() for r in v] for k, v in results.items()}
        print(json.dumps({"results": out, "judged_censored": nar}, indent=1))
    else:
        print(text(results, nar))
    return 0


if __name__ == "__main__":
    sys.exit(main())
