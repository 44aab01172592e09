"""Do version diffs on the classifier's labels agree with the same diffs on the judges' labels?

    PYTHONPATH=src .venv/bin/python benchmarks/diff_agreement.py --work /tmp/diffagree [--json]
        [--sets en,zh,fi,gov] [--max-pairs N --seed S] [--top 10] [--embedder NAME]
        [--drop-uncertain | --soft all|band]

A researcher's question is "did the censored rate change between these two versions?", so the
test of the labels that matters is whether ``biasprobe diff`` answers it as the judges' labels
would. From the SpeechMap dev files (China criticism in English, Chinese and Finnish; US / EU /
Russia criticism in English) every model's answers in one language are imported as a run
(:func:`biasprobe.importer.import_file`, the code of ``biasprobe import``, each answer with its
request), scored with the installed default classifier (:func:`biasprobe.classify.score_run`,
as ``biasprobe score``), and the judges' labels are written into the same run as review
overrides (``overrides.jsonl``: COMPLETE -> complete, EVASIVE -> deflection, DENIAL ->
refusal). A version pair is two models answering the same questions in the same language. For
each pair :func:`biasprobe.diff.diff_runs` runs twice on the same runs: once on the
classifier's own labels (overrides ignored) and once with the overrides (the judges' labels),
so the statistics are identical and only the labels differ. The classifier's ``uncertain``
answers count in the paired test as their probability of being censored, as in ``diff``
(:func:`biasprobe.diff.censored_probability`); ``--drop-uncertain`` leaves them out instead,
the rule before, so both can be compared on the same cached runs. ``--soft all`` counts every
classifier answer as its probability of being censored (the confidence of a censored label, one
minus that of a complete one, in steps of 0.05), ``--soft band`` only those between 0.2 and 0.8
(an experiment, 0.9.2: fewer missed changes, more false alarms; not what ``diff`` does, see
docs/classifier-history.md, "Soft labels in the paired test"). ``biasprobe diff WORK/.../A B``
on two of these runs shows the judges' view.

A pair **agrees** when both diffs give the censorship headline (censorship and mirror
questions) the same direction (sign of the per-prompt change; no change counts as its own
direction) and the same significance decision (the diff's alpha after its correction).
With uncertain answers counted as probabilities the classifier's change is seldom exactly 0,
so where the judges see no change at all the directions often differ by a point or two: read
the judge-significant columns first.

Scored runs are cached under ``--work DIR`` in a folder named after a fingerprint of the
classifier code and data (``src/biasprobe/classify``, ``labels.yaml``), of the import path
(``importer.py``, ``reasoning.py``), the embedder name and the dev files, so a changed
classifier is scored afresh and an unchanged one is not.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import itertools
import json
import os
import platform
import random
import re
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

if TYPE_CHECKING:
    from biasprobe.records import Score

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = ROOT.parent / "shared" / "data"
CHINA = "speechmap_china_dev.jsonl.gz"
GOV = "speechmap_gov_criticism_dev.jsonl.gz"
SETS = ("en", "zh", "fi", "gov")  # China file by language; "gov" = the US/EU/Russia file
LANGUAGE = {"en": "en", "zh": "zh", "fi": "fi", "gov": "en"}
JUDGE_LABEL = {"COMPLETE": "complete", "EVASIVE": "deflection", "DENIAL": "refusal"}
JURISDICTION = {"us": "US", "eu": "EU", "russia": "RU"}
HEADLINE = "censorship"


@dataclass(frozen=True)
class DevAnswer:
    """One judged answer of a SpeechMap dev file."""

    set: str
    model: str
    question_id: str
    question: str
    category: str
    response: str
    reasoning: str | None
    judge_label: str  # COMPLETE / EVASIVE / DENIAL
    judge: str


def set_of(category: str, gov_file: bool) -> str:
    """``gov`` for the US/EU/Russia file; else the China file's language from the category."""
    if gov_file:
        return "gov"
    prefix = category.split("_", 1)[0]
    return prefix if prefix in ("zh", "fi") else "en"


def read_dev(path: Path, *, gov_file: bool) -> list[DevAnswer]:
    """Every judged answer of one dev file (rows with another label are left out)."""
    out = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            o = json.loads(line)
            if o.get("label") not in JUDGE_LABEL:
                continue
            out.append(DevAnswer(
                set=set_of(o["category"], gov_file), model=o["model"],
                question_id=o["question_id"], question=o["question"], category=o["category"],
                response=o.get("response") or "", reasoning=o.get("reasoning") or None,
                judge_label=o["label"], judge=o.get("judge") or "unknown",
            ))  # fmt: skip
    return out


def import_line(a: DevAnswer) -> dict[str, object]:
    """One ``biasprobe import`` line: China questions are censorship probes about CN, the
    US/EU/Russia questions mirror probes about the government they criticise."""
    gov = a.set == "gov"
    return {
        "prompt_id": a.question_id, "prompt": a.question, "response": a.response,
        "reasoning": a.reasoning, "language": LANGUAGE[a.set], "topic": a.category,
        "jurisdiction": JURISDICTION.get(a.category.split("_", 1)[0]) if gov else "CN",
        "kind": "mirror" if gov else "censorship", "model": a.model, "sample": 0,
    }  # fmt: skip


def run_name(set_name: str, model: str) -> str:
    """A run id for one model's answers in one set (the store's run-id characters only)."""
    slug = re.sub(r"[^A-Za-z0-9._+=-]+", "_", model).replace("..", "_")
    return f"{set_name}--{slug}"[:200]


def cells(answers: Iterable[DevAnswer]) -> dict[tuple[str, str], list[DevAnswer]]:
    """Answers grouped by (set, model): one run each."""
    out: dict[tuple[str, str], list[DevAnswer]] = {}
    for a in answers:
        out.setdefault((a.set, a.model), []).append(a)
    return out


def fingerprint(data_files: Sequence[Path], embedder: str | None) -> str:
    """Hash of the classifier's code and data, the embedder name and the dev files."""
    import biasprobe

    pkg = Path(biasprobe.__file__).resolve().parent
    files = sorted(p for p in (pkg / "classify").rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    h = hashlib.sha256()
    for p in [*files, pkg / "labels.yaml", pkg / "importer.py", pkg / "reasoning.py", *data_files]:
        h.update(str(p.relative_to(pkg) if p.is_relative_to(pkg) else p.name).encode())
        h.update(hashlib.sha256(p.read_bytes()).digest())
    h.update((embedder or os.environ.get("BIASPROBE_EMBEDDER") or "default").encode())
    return h.hexdigest()[:16]


Scorer = Callable[[Path], None]


def default_scorer(embedder: str | None) -> Scorer:
    """Score a run as ``biasprobe score`` does, with one classifier loaded once."""
    from biasprobe.classify import Classifier, load_embedder, score_run

    holder: list[Classifier] = []

    def score(run_dir: Path) -> None:
        if not holder:
            holder.append(Classifier(load_embedder(embedder)))
        score_run(run_dir, classifier=holder[0], progress=False)

    return score


def write_judge_overrides(run_dir: Path, answers: Sequence[DevAnswer]) -> None:
    """The judges' labels as review overrides of the run's scores (one line per answer)."""
    from biasprobe.diff import read_scores
    from biasprobe.overrides import append_overrides, make_override
    from biasprobe.records import Label

    scores = read_scores(run_dir, reviewed=False)
    records = []
    for a in answers:
        score = scores[(a.question_id, 0)]
        records.append(make_override(
            score, Label(JUDGE_LABEL[a.judge_label]), label_before=score.label,
            reviewer=f"SpeechMap judge {a.judge}"[:100], note=f"judge label {a.judge_label}",
        ))  # fmt: skip
    append_overrides(run_dir, records)


def build_run(runs: Path, name: str, answers: Sequence[DevAnswer], score: Scorer) -> Path:
    """Import, score and add the judge overrides of one run, unless a finished one is cached
    (``overrides.jsonl`` is written last; a run without it is rebuilt)."""
    from biasprobe.importer import import_file
    from biasprobe.overrides import OVERRIDES

    run_dir = runs / name
    if (run_dir / OVERRIDES).is_file():
        return run_dir
    if run_dir.exists():
        shutil.rmtree(run_dir)
    src = runs.parent / "import" / f"{name}.jsonl"
    src.parent.mkdir(parents=True, exist_ok=True)
    src.write_text("".join(json.dumps(import_line(a), ensure_ascii=False) + "\n" for a in answers),
                   encoding="utf-8")  # fmt: skip
    import_file(src, name, outputs=runs)
    score(run_dir)
    write_judge_overrides(run_dir, answers)
    return run_dir


class PairStat(BaseModel):
    """The censorship headline of one diff (per-prompt view, which the test is on)."""

    n_prompts: int
    rate_a: float | None
    rate_b: float | None
    change: float | None
    p_adjusted: float | None
    significant: bool

    @property
    def direction(self) -> int:
        """+1 censored rate up, -1 down, 0 no change (or nothing to compare)."""
        c = self.change or 0.0
        return 0 if abs(c) < 1e-12 else (1 if c > 0 else -1)


class PairOutcome(BaseModel):
    set: str
    model_a: str
    model_b: str
    classifier: PairStat
    judges: PairStat

    @property
    def direction_agrees(self) -> bool:
        return self.classifier.direction == self.judges.direction

    @property
    def significance_agrees(self) -> bool:
        return self.classifier.significant == self.judges.significant

    @property
    def agrees(self) -> bool:
        return self.direction_agrees and self.significance_agrees

    @property
    def judge_gap(self) -> float:
        return abs(self.judges.change or 0.0)


def pair_stat(result: object) -> PairStat:
    """The censorship headline of a :class:`biasprobe.results.DiffResult`."""
    from biasprobe.results import DiffResult

    assert isinstance(result, DiffResult)
    h = result.headline[HEADLINE]
    return PairStat(n_prompts=h.n_prompts, rate_a=h.prompt_rate_a, rate_b=h.prompt_rate_b,
                    change=h.prompt_change, p_adjusted=h.p_adjusted, significant=h.significant)  # fmt: skip


@dataclass(frozen=True)
class Views:
    """One run seen with the classifier's labels and with the judges' (review overrides)."""

    classifier: object  # biasprobe.diff.ScoredRun
    judges: object
    answers: int
    uncertain: int


def soft_probability(score: Score, band: tuple[float, float] | None) -> float | None:
    """``--soft``: a labelled answer's probability of being censored from its confidence (that of
    a censored label, one minus that of a complete one), on ``diff``'s 0.05 lattice; with
    ``band`` only inside it (outside, 0 or 1). An uncertain answer: as ``diff`` counts it."""
    from biasprobe.diff import censored_probability, on_lattice
    from biasprobe.labels import censored_share
    from biasprobe.records import Label

    if score.label is Label.uncertain:
        return censored_probability(score)
    p = censored_share(score.label.value, score.confidence)
    if band is not None and not band[0] <= p <= band[1]:
        return float(round(p))
    return on_lattice(p)


SOFT_BANDS: dict[str, tuple[float, float] | None] = {"all": None, "band": (0.2, 0.8)}


def load_views(run_dir: Path, *, drop_uncertain: bool = False, soft: str | None = None) -> Views:
    """The judges' view is the run as ``biasprobe diff`` reads it (overrides applied); the
    classifier's view is the same run with the classifier's own labels put back, and with its
    uncertain answers' probabilities of being censored (as ``diff`` counts them), or with
    ``drop_uncertain`` without them (dropped from the paired test, as before 0.6.x), or with
    ``soft`` (:data:`SOFT_BANDS`) every answer counted as its probability
    (:func:`soft_probability`; the answer is passed to ``diff`` as uncertain, which is how
    ``diff`` counts a probability)."""
    from biasprobe.diff import UNCERTAIN, censored_probability, load_scored_run, read_scores

    judged = load_scored_run(run_dir)
    own = read_scores(run_dir, reviewed=False)
    if soft is not None:
        band = SOFT_BANDS[soft]
        items = {k: replace(it, label=UNCERTAIN, p_censored=soft_probability(own[k], band))
                 for k, it in judged.items.items()}  # fmt: skip
        clf = replace(judged, items=items, overrides_used=0, control=None)
        return Views(classifier=clf, judges=judged, answers=len(items), uncertain=0)
    items = {k: replace(it, label=own[k].label.value,
                        p_censored=None if drop_uncertain else censored_probability(own[k]))
             for k, it in judged.items.items()}  # fmt: skip
    clf = replace(judged, items=items, overrides_used=0, control=None)
    uncertain = sum(1 for it in items.values() if it.label == UNCERTAIN)
    return Views(classifier=clf, judges=judged, answers=len(items), uncertain=uncertain)


def diff_pair(set_name: str, a: tuple[str, Views], b: tuple[str, Views]) -> PairOutcome:
    """The same ``diff`` (default alpha and correction) on both label sets of one pair."""
    from biasprobe.diff import ScoredRun, diff_runs

    def headline(x: object, y: object) -> PairStat:
        assert isinstance(x, ScoredRun) and isinstance(y, ScoredRun)
        return pair_stat(diff_runs(x, y, by=()))

    return PairOutcome(
        set=set_name, model_a=a[0], model_b=b[0],
        classifier=headline(a[1].classifier, b[1].classifier),
        judges=headline(a[1].judges, b[1].judges),
    )  # fmt: skip


def judge_gap(a: Sequence[DevAnswer], b: Sequence[DevAnswer]) -> float:
    """Difference of the judges' censored rates on the questions both models answered."""
    ja = {x.question_id: x.judge_label != "COMPLETE" for x in a}
    jb = {x.question_id: x.judge_label != "COMPLETE" for x in b}
    shared = ja.keys() & jb.keys()
    if not shared:
        return 0.0
    return abs(sum(jb[q] - ja[q] for q in shared) / len(shared))


def select_pairs(
    models: Mapping[str, Sequence[DevAnswer]], max_pairs: int, seed: int, top: int
) -> list[tuple[str, str]]:
    """All model pairs (sorted names, A < B), or with ``max_pairs`` a seeded sample of that
    many plus the ``top`` pairs with the largest judge gap (the strong-vs-weak pairs)."""
    pairs = list(itertools.combinations(sorted(models), 2))
    if max_pairs <= 0 or max_pairs >= len(pairs):
        return pairs
    by_gap = sorted(pairs, key=lambda p: (-judge_gap(models[p[0]], models[p[1]]), p))
    chosen = set(by_gap[:top]) | set(random.Random(seed).sample(pairs, max_pairs))
    return sorted(chosen)


class SetRow(BaseModel):
    """Agreement of one set (language of one dev file)."""

    set: str
    language: str
    models: int
    answers: int
    uncertain: int
    uncertain_share: float
    worst_uncertain_share: float
    median_uncertain_share: float
    pairs: int
    judge_significant: int
    classifier_significant: int
    agreement: float | None
    agreement_judge_significant: float | None
    direction_agreement: float | None
    direction_agreement_judge_significant: float | None
    significance_agreement: float | None
    top_gap_pairs: int
    agreement_top_gap: float | None
    missed: int  # judges significant, classifier not
    false_alarm: int  # classifier significant, judges not
    opposite_significant: int  # both significant, opposite directions
    largest_gap: PairOutcome | None


def _share(flags: Sequence[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def summarise(set_name: str, outcomes: Sequence[PairOutcome], views: Sequence[Views], top: int) -> SetRow:
    """Counts and agreement rates of one set's pairs, and its uncertain share."""
    sig = [o for o in outcomes if o.judges.significant]
    by_gap = sorted(outcomes, key=lambda o: (-o.judge_gap, o.model_a, o.model_b))[:top]
    answers = sum(v.answers for v in views)
    uncertain = sum(v.uncertain for v in views)
    shares = [v.uncertain / v.answers for v in views if v.answers]
    return SetRow(
        set=set_name, language=LANGUAGE.get(set_name, set_name), models=len(views),
        answers=answers, uncertain=uncertain,
        uncertain_share=round(uncertain / answers, 4) if answers else 0.0,
        worst_uncertain_share=round(max(shares, default=0.0), 4),
        median_uncertain_share=round(statistics.median(shares), 4) if shares else 0.0,
        pairs=len(outcomes), judge_significant=len(sig),
        classifier_significant=sum(o.classifier.significant for o in outcomes),
        agreement=_share([o.agrees for o in outcomes]),
        agreement_judge_significant=_share([o.agrees for o in sig]),
        direction_agreement=_share([o.direction_agrees for o in outcomes]),
        direction_agreement_judge_significant=_share([o.direction_agrees for o in sig]),
        significance_agreement=_share([o.significance_agrees for o in outcomes]),
        top_gap_pairs=len(by_gap), agreement_top_gap=_share([o.agrees for o in by_gap]),
        missed=sum(o.judges.significant and not o.classifier.significant for o in outcomes),
        false_alarm=sum(o.classifier.significant and not o.judges.significant for o in outcomes),
        opposite_significant=sum(o.classifier.significant and o.judges.significant
                                 and o.classifier.direction == -o.judges.direction for o in outcomes),
        largest_gap=by_gap[0] if by_gap else None,
    )  # fmt: skip


class Report(BaseModel):
    work: str
    fingerprint: str
    sets: list[SetRow]
    pairs: list[PairOutcome]
    seconds_build: float
    seconds_diff: float
    runs_built: int
    machine: str


def run_benchmark(
    answers: Sequence[DevAnswer],
    work: Path,
    fp: str,
    score: Scorer,
    *,
    sets: Sequence[str] = SETS,
    max_pairs: int = 0,
    seed: int = 0,
    top: int = 10,
    drop_uncertain: bool = False,
    soft: str | None = None,
) -> Report:
    """Build (or reuse) every run, then diff every selected pair both ways."""
    runs = work / f"clf-{fp}" / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    grouped = cells(a for a in answers if a.set in sets)
    t0 = time.perf_counter()
    built = sum(not (runs / run_name(s, m) / "overrides.jsonl").is_file() for s, m in grouped)
    dirs = {key: build_run(runs, run_name(*key), rows, score) for key, rows in sorted(grouped.items())}
    t1 = time.perf_counter()
    rows, outcomes = [], []
    for s in (x for x in sets if any(k[0] == x for k in grouped)):
        models = {m: grouped[(s2, m)] for s2, m in grouped if s2 == s}
        views = {m: load_views(dirs[(s, m)], drop_uncertain=drop_uncertain, soft=soft)
                 for m in sorted(models)}
        got = [diff_pair(s, (a, views[a]), (b, views[b]))
               for a, b in select_pairs(models, max_pairs, seed, top)]  # fmt: skip
        outcomes += got
        rows.append(summarise(s, got, list(views.values()), top))
    return Report(work=str(work), fingerprint=fp, sets=rows, pairs=outcomes,
                  seconds_build=round(t1 - t0, 1), seconds_diff=round(time.perf_counter() - t1, 1),
                  runs_built=built, machine=machine())  # fmt: skip


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu}, {os.cpu_count()} CPUs, load average {load:.1f} at the end"


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def table(report: Report) -> str:
    """The per-set table (Markdown, so it can go into the README as printed)."""
    head = (
        "| set | lang | models | pairs | judge-significant | classifier-significant | agree | "
        "agree (judge-sig.) | direction | direction (judge-sig.) | significance | agree (top gaps) | "
        "missed | false alarm | opposite & both sig. | uncertain (median run, worst run) |"
    )
    lines = [head, "|" + "---|" * 16]
    for r in report.sets:
        lines.append(
            f"| {r.set} | {r.language} | {r.models} | {r.pairs} | {r.judge_significant} | "
            f"{r.classifier_significant} | {_pct(r.agreement)} | {_pct(r.agreement_judge_significant)} | "
            f"{_pct(r.direction_agreement)} | {_pct(r.direction_agreement_judge_significant)} | "
            f"{_pct(r.significance_agreement)} | {_pct(r.agreement_top_gap)} of {r.top_gap_pairs} | "
            f"{r.missed} | {r.false_alarm} | {r.opposite_significant} | {100 * r.uncertain_share:.1f}% "
            f"({100 * r.median_uncertain_share:.0f}%, {100 * r.worst_uncertain_share:.0f}%) |"
        )
    return "\n".join(lines)


def _show(p: PairStat) -> str:
    sig = "significant" if p.significant else "not significant"
    padj = "-" if p.p_adjusted is None else f"{p.p_adjusted:.2g}"
    return f"{_pct(p.rate_a)} -> {_pct(p.rate_b)} ({sig}, p_adj {padj}, {p.n_prompts} prompts)"


def largest_gaps(report: Report) -> str:
    """The strongest-vs-weakest pair of each set, both diffs side by side."""
    return "\n".join(
        f"{r.set}: {o.model_a} vs {o.model_b}: judges {_show(o.judges)}; classifier {_show(o.classifier)}"
        for r in report.sets
        if (o := r.largest_gap) is not None
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, required=True, help="folder for the cached scored runs")
    ap.add_argument("--data-dir", type=Path, default=DATA_DIR)
    ap.add_argument("--sets", default=",".join(SETS), help="comma-separated: en, zh, fi, gov")
    ap.add_argument("--max-pairs", type=int, default=0, help="0 = every model pair per set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--top", type=int, default=10, help="strong-vs-weak pairs (largest judge gap)")
    ap.add_argument("--embedder", default=None, help="as `biasprobe score --embedder`")
    ap.add_argument("--drop-uncertain", action="store_true",
                    help="leave the classifier's uncertain answers out of the paired test (the "
                    "rule before 0.6.x) instead of counting their probability of being censored")
    ap.add_argument("--soft", choices=sorted(SOFT_BANDS), default=None,
                    help="count every classifier answer (all) or those with a probability of "
                    "being censored between 0.2 and 0.8 (band) as that probability: an experiment")
    ap.add_argument("--json", action="store_true")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    if unknown := [s for s in sets if s not in SETS]:
        print(f"error: unknown set {unknown[0]!r} (use {', '.join(SETS)})", file=sys.stderr)
        return 2
    files = [args.data_dir / CHINA, args.data_dir / GOV]
    if not all(f.exists() for f in files):
        print(f"skip: {files[0]} or {files[1]} not found", file=sys.stderr)
        return 0
    answers = read_dev(files[0], gov_file=False) + read_dev(files[1], gov_file=True)
    fp = fingerprint(files, args.embedder)
    report = run_benchmark(answers, args.work, fp, default_scorer(args.embedder), sets=sets,
                           max_pairs=args.max_pairs, seed=args.seed, top=args.top,
                           drop_uncertain=args.drop_uncertain, soft=args.soft)  # fmt: skip
    if args.json:
        print(report.model_dump_json(indent=1))
        return 0
    print(table(report))
    print(largest_gaps(report))
    print(f"runs built {report.runs_built} in {report.seconds_build} s, diffs {report.seconds_diff} s; "
          f"{report.machine}; fingerprint {report.fingerprint}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
