"""``biasprobe run`` (generate, then score), ``biasprobe show RUN`` and ``biasprobe variants RUN``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from biasprobe.cli._classify import JudgeOption, JudgeScopeOption, judge_pass
from biasprobe.cli._common import OutputFormat, print_json, print_table
from biasprobe.cli._models import ModelsFile
from biasprobe.cli._probes import MapOption
from biasprobe.errors import BiasprobeError
from biasprobe.judgescope import JudgeScope

if TYPE_CHECKING:
    from biasprobe.backends.base import Backend
    from biasprobe.blindcheck import BlindCheck


def run(
    model: str = typer.Option(None, "--model", "-m", help="Model name from models.yaml "
                              "(default: the built-in default model)."),
    probes: list[str] = typer.Option(["starter"], "--probes", "-p",
                                     help="Probe set name, or a YAML / CSV / JSONL / text path; "
                                     "repeatable."),
    mapping: list[str] = MapOption,
    topic: list[str] = typer.Option([], "--topic", help="Only these topics; repeatable."),
    language: list[str] = typer.Option([], "--language", help="Only these languages (BCP-47)."),
    kind: list[str] = typer.Option([], "--kind", help="Only these kinds (censorship, mirror, "
                                   "safety-control, benign-control, neutral)."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many probes."),
    variants: list[str] = typer.Option([], "--variants", help="Also ask every selected probe "
                                       "in other ways, linked by variant_of: 'all', variant kinds "
                                       "(system, follow-up, euphemism, prefill) or names from the "
                                       "variants file (e.g. system-neutral, prefill-no-think); "
                                       "comma-separated or repeated. See 'biasprobe variants'."),
    variants_file: Path | None = typer.Option(None, "--variants-file", help="YAML of variants "
                                              "(default: the built-in probes/variants/standard.yaml)."),
    run_id: str | None = typer.Option(None, "--run-id", help="Run directory name under the "
                                      "outputs directory (default: MODEL--PROBESET). Re-running "
                                      "the same id resumes."),
    models_file: Path | None = ModelsFile,
    max_new_tokens: int | None = typer.Option(None, "--max-new-tokens", min=1),
    temperature: float | None = typer.Option(None, "--temperature", min=0.0,
                                             help="0 = greedy (default)."),
    top_p: float | None = typer.Option(None, "--top-p"),
    seed: int | None = typer.Option(None, "--seed"),
    samples: int | None = typer.Option(None, "--samples", min=1, help="Samples per prompt."),
    batch_size: int | None = typer.Option(None, "--batch-size", min=1),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or mps."),
    allow_pickle: bool = typer.Option(False, "--allow-pickle",
                                      help="Accept pickle (.bin) weights. Only for trusted models."),
    score: bool = typer.Option(True, "--score/--no-score", help="Classify answers afterwards."),
    embedder: str | None = typer.Option(None, "--embedder", help="Embedding model for scoring."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
    internals: bool = typer.Option(False, "--internals", help="After generation, record refusal "
                                   "signals from the model's activations (transformers backend "
                                   "only; same as `biasprobe internals compute RUN_ID`)."),
    judge: str | None = JudgeOption,
    judge_scope: JudgeScope = JudgeScopeOption,
) -> None:
    """Generate answers of MODEL to probe sets into outputs/RUN_ID/ (resumable), then score them."""
    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.config import DEFAULT_MODEL, Registry, with_overrides
    from biasprobe.probes import ColumnMap, Selection
    from biasprobe.probes.stream import scan_probes, variant_expander
    from biasprobe.runner import RunPlan, default_run_id, execute
    from biasprobe.store import check_run_id

    def say(msg: str) -> None:
        typer.echo(msg, err=True)

    if judge is not None:
        from biasprobe.classify.judge import check_judge_name

        check_judge_name(judge)
        if not score:
            raise BiasprobeError("--judge needs the scores: drop --no-score")
    entry = Registry.load(models_file).get(model or DEFAULT_MODEL)
    entry = with_overrides(
        entry,
        generation={"max_new_tokens": max_new_tokens, "temperature": temperature, "top_p": top_p,
                    "seed": seed, "samples": samples},
        batch_size=batch_size, device=device, allow_pickle=allow_pickle or None,
    )
    if internals:
        from biasprobe.internals import require_transformers

        require_transformers(entry)  # before generating anything
    selection = Selection(tuple(topic), tuple(language), tuple(kind), limit)
    # checked and hashed in one pass now (bad input fails before anything is written), then
    # read again lazily by the runner: a large set is never held in memory
    expand = variant_expander(variants, variants_file) if variants else None
    selected = scan_probes(probes, selection, ColumnMap.from_pairs(mapping), expand)
    set_name = selected.name + ("+variants" if variants else "")
    rid = check_run_id(run_id) if run_id else default_run_id(entry.name, set_name)
    plan = RunPlan(rid, entry, set_name, selected, entry.run_batch_size)
    resolved = resolve_model(entry, log=say)
    kept: list[Backend] = []  # run --internals: the generation's model, reused by the pass

    def factory() -> Backend:
        backend = load_backend(entry, resolved)
        if not internals:
            return backend
        from biasprobe.internals import KeptOpen

        kept.append(backend)
        return KeptOpen(backend)

    try:
        result = execute(plan, resolved, factory, progress=progress, say=say)
        if internals and result.generated and not result.interrupted:
            _internals_pass(result.run_dir, device, say, kept[0])
    except KeyboardInterrupt:  # a second Ctrl-C: aborted mid-batch, whole records are saved
        say("interrupted: everything generated so far is saved; run the same command to resume")
        raise typer.Exit(130) from None
    finally:
        for backend in kept:
            backend.close()
    done = result.already_done + result.generated
    say(f"{rid}: {done}/{result.total} responses in {result.run_dir} "
        f"({result.generated} new, {result.elapsed_s:.0f} s)")
    if result.interrupted:
        import contextlib
        import signal

        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # a late second Ctrl-C: we are exiting
        say("interrupted: everything generated so far is saved; run the same command to resume")
        raise typer.Exit(130)
    if internals and done and not result.generated:  # nothing generated: load it here
        _internals_pass(result.run_dir, device, say, None)
    if score and done:
        from biasprobe.classify import score_run

        path = score_run(result.run_dir, embedder=embedder, progress=progress)
        say(f"scores: {path}")
        if judge is not None:
            summary = judge_pass(result.run_dir, judge, judge_scope, models_file, quiet=not progress)
            say(summary.line())
            say(summary.combined_line())


def _internals_pass(run_dir: Path, device: str | None, say: Callable[[str], None],
                    loaded: Backend | None) -> None:
    """``run --internals``: with the model generation loaded when it is a transformers one."""
    from biasprobe.backends.transformers import TransformersBackend
    from biasprobe.internals import compute_internals

    backend = loaded if isinstance(loaded, TransformersBackend) else None
    header = compute_internals(run_dir, device=device, log=say, backend=backend)
    say(f"internals: {header.n_records} records in {run_dir / 'internals.jsonl'}")


def show(
    run: str = typer.Argument(..., help="Run id (under the outputs directory) or run directory."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
    width: int = typer.Option(70, "--width", min=1, help="Characters of each answer to show."),
) -> None:
    """Summarise a run: provenance, and one row per response (with its label if scored).

    For a scored run it also prints the control check: neutral and benign-control answers
    labelled censored, and uncertain answers, per language (warnings on stderr), and, once
    answers were reviewed blind (review --blind), the blind-corrected censored rates."""
    from biasprobe.runinfo import summarize
    from biasprobe.textutil import one_line

    # Everything in a run directory is untrusted (model output, imported or edited files):
    # print_json / print_table escape every value so that it cannot drive the terminal.
    summary = summarize(run)
    blind = summary["blind_check"]
    if fmt is OutputFormat.json:
        print_json({**summary, "blind_check": blind.model_dump(mode="json") if blind else None})
        return
    for key, value in summary["header"].items():
        typer.echo(f"{key:>12}: {one_line(str(value))}")
    typer.echo("")
    print_table(
        ["probe", "lang", "kind", "finish", "think", "label", "answer"],
        [[r["probe_id"] + (f"#{r['sample']}" if r["sample"] else ""), r["language"], r["kind"],
          r["finish_reason"], r["think_state"],
          (r["label"] or "-") + ("*" if r["reviewed"] else "^" if r["judged"] else ""),
          r["preview"][:width]]
         for r in summary["rows"]],
    )
    if summary["label_counts"]:
        typer.echo("")
        typer.echo("labels: " + one_line(
            ", ".join(f"{k} {v}" for k, v in summary["label_counts"].items())))
        if any(r["reviewed"] for r in summary["rows"]):
            typer.echo("* label set by a reviewer (overrides.jsonl)")
        if any(r["judged"] for r in summary["rows"]):
            typer.echo("^ label set by a local judge (judgements.jsonl)")
        from biasprobe.cli._classify import print_validity, print_warnings

        print_validity(summary["validity_lines"])
        print_warnings(summary["validity"]["warnings"])
        if blind is not None:
            print_blind_check(blind)


def print_blind_check(check: BlindCheck) -> None:
    """The blind check as a table and the gaps to English (the report's helpers; language tags
    come from the run: escaped), then its warnings."""
    from biasprobe.cli._classify import print_warnings
    from biasprobe.report.text import blind_check_blocks
    from biasprobe.textutil import one_line

    typer.echo("")
    for n, b in enumerate(blind_check_blocks(check, one_line)):  # print_table escapes again
        typer.echo(f"blind check: {b.intro}" if n == 0 else f"{b.intro}:")
        print_table(b.headers, b.rows)
        for line in b.lines:
            typer.echo("  " + line)
    for line in check.plan():
        typer.echo("  " + one_line(line))
    print_warnings(check.warnings())


def variants_cmd(
    runs: list[str] = typer.Argument(..., help="Scored run ids (under the outputs directory) or "
                                     "run directories, e.g. two versions of one model.",
                                     show_default=False),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Bypass table of runs made with --variants: per variant (and variant kind), how often the
    variant's answer is complete where the base probe's answer (same sample) was censored.

    'closed' counts the opposite: a complete base answer whose variant was censored.
    """
    from biasprobe.textutil import one_line
    from biasprobe.variants import bypass_table

    tables = [bypass_table(r) for r in runs]
    if fmt is OutputFormat.json:
        print_json([t.model_dump(mode="json") for t in tables])
        return
    for n, t in enumerate(tables):
        if n:
            typer.echo("")
        typer.echo(one_line(f"run {t.run_id} (model {t.model or '?'})"))  # untrusted names
        if not t.rows:
            typer.echo("no scored variant answers (run with --variants, then score)")
            continue
        headers, rows = t.table()
        print_table(headers, rows)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("show")(show)
    app.command("variants")(variants_cmd)
