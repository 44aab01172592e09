"""``biasprobe import | diff | compare | report``: bring runs in and compare them."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from biasprobe.cli._common import OutputFormat

if TYPE_CHECKING:
    from biasprobe.results import DiffResult
    from biasprobe.stats import ClassifierError


class CorrectionChoice(str, Enum):
    holm = "holm"
    bh = "bh"


CORRECT_HELP = (
    "Correct the headline rates and changes for classifier error (Rogan-Gladen) with the "
    "sensitivity/specificity in this JSON of `biasprobe eval-classifier --json`."
)
MIXED_HELP = (
    "Compare runs scored by different classifier versions or embedders anyway (refused "
    "otherwise); every output then carries a MIXED SCORES warning."
)

COVERAGE_HELP = (
    "Also compare fact coverage and narrative echo of the censorship answers per topic "
    "(omission and echo rates, paired per-prompt tests; loads the embedder, see `coverage`)."
)


def _classifier_error(path: Path | None) -> ClassifierError | None:
    from biasprobe.diff import read_classifier_error

    return None if path is None else read_classifier_error(path)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


def import_cmd(
    file: Path = typer.Argument(..., help="JSONL file: prompt_id, prompt, response, ..."),
    name: str = typer.Option(..., "--name", help="Run id for the imported run."),
) -> None:
    """Import responses produced elsewhere as a run (all lines validated first)."""
    from biasprobe.importer import import_file
    from biasprobe.report.escape import clean_terminal

    res = import_file(file, name)
    model = clean_terminal(res.model or "unknown model", one_line=True)
    typer.echo(
        f"imported {res.responses} responses ({res.prompts} prompts, {model}) into {res.run_dir}"
    )
    typer.echo(f"next: biasprobe score {name}")


def diff_cmd(
    run_a: str = typer.Argument(..., help="Earlier run (id or directory)."),
    run_b: str = typer.Argument(..., help="Later run (id or directory)."),
    by: list[str] = typer.Option(
        ["topic,language,jurisdiction,kind"],
        "--by",
        help="Group by these (comma-separated or repeated): topic, language, jurisdiction, "
        "kind, pair_id.",
    ),
    fail_on: list[str] = typer.Option(
        [],
        "--fail-on",
        help="Exit 1 if this rate rises significantly (per-prompt test, adjusted p < 0.05) in "
        "any group: censored, refusal, deflection, official_line, complete.",
    ),
    correction: CorrectionChoice = typer.Option(
        CorrectionChoice.holm, "--correction", help="Across groups: holm or bh."
    ),
    min_pairs: int = typer.Option(
        10,
        "--min-pairs",
        min=1,
        help="With --fail-on: fewer prompts shared by both runs than this is an error (exit 2).",
    ),
    allow_mixed: bool = typer.Option(False, "--allow-mixed-scores", help=MIXED_HELP),
    correct_with: Path | None = typer.Option(None, "--correct-with", help=CORRECT_HELP),
    max_flips: int = typer.Option(20, "--max-flips", min=0, help="Flips shown in the table."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
    coverage: bool = typer.Option(False, "--coverage", help=COVERAGE_HELP),
    embedder: str | None = typer.Option(None, "--embedder", help="Embedder for --coverage."),
) -> None:
    """Paired comparison of two scored runs: per-prompt tests, rates, flips, asymmetry, and
    bypass per variant kind for runs made with --variants."""
    from biasprobe.diff import check_metric, coverage_change, diff_runs, load_scored_run
    from biasprobe.report.escape import safe_json_dumps
    from biasprobe.report.text import render_diff

    metrics = [check_metric(m) for m in _split(fail_on)]
    a, b = load_scored_run(run_a), load_scored_run(run_b)
    result = diff_runs(
        a,
        b,
        by=_split(by),
        correction=correction.value,
        allow_mixed_scores=allow_mixed,
        classifier_error=_classifier_error(correct_with),
    )
    if coverage:
        result.coverage = coverage_change(a, b, embedder=embedder, correction=correction.value)
    if fmt is OutputFormat.json:
        typer.echo(safe_json_dumps(result.to_json()))
    else:
        typer.echo(render_diff(result, max_flips=max_flips))
    _fail_on(result, metrics, min_pairs)


def _fail_on(result: DiffResult, metrics: list[str], min_pairs: int) -> None:
    """``--fail-on``: exit 1 (CheckFailed) on a significant rise of any of ``metrics``."""
    from biasprobe.diff import check_min_prompts, significant_rises
    from biasprobe.errors import CheckFailed

    if metrics:
        check_min_prompts(result, min_pairs)
    failures = [(m, *g) for m in metrics for g in significant_rises(result, m)]
    if failures:
        shown = ", ".join(
            f"{m} in {g.by}={g.group} ({(r.prompt_change or 0.0) * 100:+.1f}pp, "
            f"p_adj={r.p_adjusted or 0.0:.3g})"
            for m, g, r in failures[:5]
        )
        more = f" and {len(failures) - 5} more" if len(failures) > 5 else ""
        from biasprobe.report.escape import clean_terminal

        raise CheckFailed(f"significant rise: {clean_terminal(shown, one_line=True)}{more}")


def compare_cmd(
    runs: list[str] = typer.Argument(..., help="Runs in order (ids or directories)."),
    correction: CorrectionChoice = typer.Option(CorrectionChoice.holm, "--correction"),
    allow_mixed: bool = typer.Option(False, "--allow-mixed-scores", help=MIXED_HELP),
    correct_with: Path | None = typer.Option(None, "--correct-with", help=CORRECT_HELP),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """A timeline over several scored runs in the order given (omnibus test with 3 or more)."""
    from biasprobe.diff import compare_runs, load_scored_run
    from biasprobe.report.escape import safe_json_dumps
    from biasprobe.report.text import render_compare

    result = compare_runs(
        [load_scored_run(r) for r in runs],
        correction=correction.value,
        allow_mixed_scores=allow_mixed,
        classifier_error=_classifier_error(correct_with),
    )
    if fmt is OutputFormat.json:
        typer.echo(safe_json_dumps(result.to_json()))
    else:
        typer.echo(render_compare(result))


def report_cmd(
    runs: list[str] = typer.Argument(..., help="Runs in order (ids or directories)."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="File to write (default: stdout)."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="html, md, json or csv (default: from -o's suffix, else html)."
    ),
    by: list[str] = typer.Option(["topic,language,jurisdiction,kind"], "--by"),
    correction: CorrectionChoice = typer.Option(CorrectionChoice.holm, "--correction"),
    allow_mixed: bool = typer.Option(False, "--allow-mixed-scores", help=MIXED_HELP),
    correct_with: Path | None = typer.Option(None, "--correct-with", help=CORRECT_HELP),
    coverage: bool = typer.Option(False, "--coverage", help=COVERAGE_HELP),
    embedder: str | None = typer.Option(None, "--embedder", help="Embedder for --coverage."),
) -> None:
    """Write a report of one or more scored runs (HTML opens offline)."""
    from biasprobe.diff import load_scored_run
    from biasprobe.errors import BiasprobeError
    from biasprobe.report import build_report, infer_format, render

    try:
        report_format = infer_format(str(output) if output else None, fmt)
    except ValueError:
        raise BiasprobeError(f"unknown format {fmt!r}: use html, md, json or csv") from None
    loaded = [load_scored_run(r) for r in runs]
    text = render(
        build_report(
            loaded,
            by=_split(by),
            correction=correction.value,
            allow_mixed_scores=allow_mixed,
            classifier_error=_classifier_error(correct_with),
            coverage=coverage,
            embedder=embedder,
        ),
        report_format,
    )
    if output is None:
        typer.echo(text, nl=False)
        return
    from biasprobe.report import write_atomic

    write_atomic(output, text)
    typer.echo(f"wrote {output} ({report_format.value}, {len(loaded)} runs)")


class SchemaName(str, Enum):
    diff = "diff"
    compare = "compare"
    report = "report"


def schema_cmd(
    name: SchemaName = typer.Argument(..., help="diff, compare or report."),
) -> None:
    """Print the JSON Schema of `diff`, `compare` or `report` --format json output."""
    import json

    from biasprobe.results import json_schema

    typer.echo(json.dumps(json_schema(name.value), indent=2, ensure_ascii=False))


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("schema")(schema_cmd)
    app.command("import")(import_cmd)
    app.command("diff")(diff_cmd)
    app.command("compare")(compare_cmd)
    app.command("report")(report_cmd)
