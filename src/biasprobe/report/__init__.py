"""``biasprobe report``: one or more scored runs as HTML, Markdown, JSON or CSV.

:func:`build_report` collects everything as a typed :class:`~biasprobe.results.ReportModel`
(the ``json`` format prints it; ``biasprobe schema report`` prints its JSON Schema); the other
formats render that model:

- ``html``: one self-contained file (Jinja2 template with autoescape; plots as inline SVG drawn
  by matplotlib without a display; no scripts, no network: a Content-Security-Policy forbids
  both), see :mod:`biasprobe.report.html`;
- ``md``: the same tables in Markdown (model text escaped);
- ``csv``: one row per run and group with the rate of every label (spreadsheet formulas
  neutralised).

The statistics and their definitions are those of :mod:`biasprobe.diff`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from enum import Enum
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING

from biasprobe.diff import (
    DEFAULT_BY,
    FORMAT_VERSION,
    Item,
    ScoredRun,
    asymmetry,
    classifier_error_summary,
    comparability_warnings,
    compare_runs,
    coverage_change_of,
    definitions,
    diff_runs,
    grouped_rates,
    incomplete_warnings,
    omnibus,
    other_question_keys,
    rates,
    run_summary,
    score_warnings,
)
from biasprobe.manifest import manifest_json
from biasprobe.results import Heatmap, Rate, ReportModel, ReportRun
from biasprobe.stats import ClassifierError, Correction
from biasprobe.variants import BypassTable

if TYPE_CHECKING:
    from biasprobe.coverage import CoverageResult


class ReportFormat(str, Enum):
    html = "html"
    md = "md"
    json = "json"
    csv = "csv"


SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".json": "json", ".csv": "csv"}


def heatmap(run: ScoredRun) -> Heatmap:
    """Censored rate per topic (rows) × language (columns); None where no certain answer."""
    cells: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for it in run.items.values():
        cells[(it.topic, it.language)].append(it)
    topics = sorted({t for t, _ in cells})
    languages = sorted({lang for _, lang in cells})
    grid: list[list[Rate | None]] = []
    for t in topics:
        row: list[Rate | None] = []
        for lang in languages:
            items = cells.get((t, lang))
            row.append(rates(items).metrics["censored"] if items else None)
        grid.append(row)
    return Heatmap(metric="censored", topics=topics, languages=languages, cells=grid)


def _bypass(run: ScoredRun) -> BypassTable | None:
    """The run's bypass table from the variant pairs already loaded with it
    (:func:`biasprobe.variants.bypass_from_pairs`), None without variant answers."""
    from biasprobe.variants import bypass_from_pairs

    return bypass_from_pairs(run.run_id, run.model, run.variant_pairs) if run.variant_pairs else None


def _coverage(runs: Sequence[ScoredRun], embedder: str | None) -> list[CoverageResult]:
    """Each run's fact coverage, computed once (one embedder load) for all the report's diffs."""
    from biasprobe.coverage import coverage_runs

    return coverage_runs([str(r.run_dir) for r in runs], embedder)


def build_report(
    runs: Sequence[ScoredRun],
    *,
    by: Sequence[str] = DEFAULT_BY,
    correction: Correction = "holm",
    allow_mixed_scores: bool = False,
    classifier_error: ClassifierError | None = None,
    coverage: bool = False,
    embedder: str | None = None,
) -> ReportModel:
    """Everything a report shows, as a deterministic typed model (with ``coverage``, each diff
    also compares fact coverage and narrative echo, :func:`biasprobe.diff.coverage_change`)."""
    from biasprobe.blindcheck import blind_rates

    warnings = score_warnings(runs, allow_mixed=allow_mixed_scores) + incomplete_warnings(runs)
    out_runs = [
        ReportRun(
            **dict(run_summary(run, classifier_error)),
            overall=rates(run.items.values()),
            groups=grouped_rates(run, by)[1:],
            heatmap=heatmap(run),
            asymmetry=asymmetry(run),
            manifest=manifest_json(run.manifest),
            bypass=_bypass(run),
            blind_check=blind_rates(run.blind),
        )
        for run in runs
    ]
    warnings += [f"{r.run_id}: blind check: {w}" for r in out_runs if r.blind_check is not None
                 for w in r.blind_check.warnings()]
    diffs = []
    covered = _coverage(runs, embedder) if coverage and len(runs) > 1 else []
    for n, (prev, cur) in enumerate(pairwise(runs)):
        d = diff_runs(prev, cur, by=by, correction=correction, allow_mixed_scores=True,
                      classifier_error=classifier_error)
        d.definitions = None  # given once, at the top of the report
        changed = other_question_keys(prev, cur)
        if covered:
            d.coverage = coverage_change_of(covered[n], covered[n + 1], correction=correction,
                                            other_question=changed)
        diffs.append(d)
        warnings += comparability_warnings(prev, cur, (pid for pid, _ in changed))
        if d.blind is not None:
            warnings += [f"{prev.run_id} → {cur.run_id}: blind check: {w}"
                         for w in d.blind.warnings()]
    timeline = None
    if len(runs) > 1:
        timeline = compare_runs(
            runs, correction=correction, allow_mixed_scores=True, classifier_error=classifier_error
        ).steps
    return ReportModel(
        biasprobe_report=FORMAT_VERSION,
        definitions=definitions(),
        warnings=warnings,
        classifier_error=classifier_error_summary(classifier_error),
        correction=correction,
        runs=out_runs,
        timeline=timeline,
        omnibus=omnibus(runs, correction),
        diffs=diffs,
    )


def render(report: ReportModel, fmt: ReportFormat | str) -> str:
    fmt = ReportFormat(fmt)
    if fmt is ReportFormat.json:
        from biasprobe.report.escape import safe_json_dumps

        return safe_json_dumps(report.to_json()) + "\n"
    if fmt is ReportFormat.md:
        from biasprobe.report.markdown import render_markdown

        return render_markdown(report)
    if fmt is ReportFormat.csv:
        from biasprobe.report.csvout import render_csv

        return render_csv(report)
    from biasprobe.report.html import render_html
    from biasprobe.textutil import printable

    return printable(render_html(report))  # autoescape leaves ESC, BEL, bidi marks raw


def write_atomic(path: Path, text: str) -> None:
    """Write a user's output ``text`` (a report, a review sheet) to ``path`` through the
    store's one atomic, link-refusing writer; never over a file of a run folder."""
    from biasprobe.errors import BiasprobeError
    from biasprobe.store import check_not_run_file
    from biasprobe.store import write_atomic as store_write_atomic

    if not path.parent.is_dir():
        raise BiasprobeError(f"{path.parent}: no such directory")
    check_not_run_file(path)
    store_write_atomic(path, text, error=BiasprobeError)


def infer_format(output: str | None, fmt: str | None) -> ReportFormat:
    """``--format`` if given, else from the output file's suffix, else html."""
    if fmt is not None:
        return ReportFormat(fmt)
    if output:
        suffix = Path(output).suffix.lower()
        if suffix in SUFFIXES:
            return ReportFormat(SUFFIXES[suffix])
    return ReportFormat.html
