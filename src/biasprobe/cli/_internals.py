"""``biasprobe internals compute|show RUN``: refusal signals from the model's activations."""

from __future__ import annotations

import typer

from biasprobe.cli._common import OutputFormat, print_json, print_table

app = typer.Typer(help="Refusal signals from the model's own activations and logits "
                  "(transformers-backend runs).", no_args_is_help=True)


@app.command("compute")
def compute(
    run: str = typer.Argument(..., help="Run id (under the outputs directory) or run directory."),
    direction_from: str | None = typer.Option(
        None, "--direction-from", help="Censorship direction from another run (id or directory) "
        "or an internals-direction.json file, so two versions are measured on one axis "
        "(default: built from this run)."),
    device: str | None = typer.Option(None, "--device", help="auto, cpu, cuda or mps "
                                      "(default: the run's)."),
    batch_size: int = typer.Option(16, "--batch-size", min=1, help="Prompts per forward pass."),
) -> None:
    """One forward pass per stored prompt (no generation): refusal-token probability and the
    projection on a censorship direction, appended to RUN/internals.jsonl."""
    from biasprobe.internals import compute_internals

    def say(msg: str) -> None:
        typer.echo(msg, err=True)

    header = compute_internals(run, direction_from=direction_from, device=device,
                               batch_size=batch_size, log=say)
    say(f"internals: {header.n_records} records, layers {header.layers} "
        f"(best {header.best_layer}), {len(header.refusal_tokens)} refusal tokens, "
        f"direction from {header.direction_source}")


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.3f}"


@app.command("show")
def show(
    run: str = typer.Argument(..., help="Run id (under the outputs directory) or run directory."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Per topic and language: mean projection (best layer) and refusal probability, and the
    AUROC with which each separates answers labelled censored from complete."""
    from biasprobe.internals import summarize_internals

    summary = summarize_internals(run)
    if fmt is OutputFormat.json:
        print_json(summary.model_dump(mode="json"))
        return
    typer.echo(f"layers {summary.layers}; projection shown at layer {summary.best_layer}; "
               f"direction from {summary.direction_source}")
    print_table(
        ["topic", "lang", "n", "proj", "p_refuse", "censored", "complete", "auc_proj", "auc_p"],
        [[g.topic, g.language, g.n, f"{g.mean_projection:.2f}", f"{g.mean_refusal_prob:.3f}",
          g.n_censored, g.n_complete, _fmt(g.auroc_projection), _fmt(g.auroc_refusal_prob)]
         for g in summary.groups])
    typer.echo("")
    if not summary.scored:
        typer.echo(f"no scores: run `biasprobe score {summary.run_id}` for the AUROCs")
    for s in summary.separation:
        name = s.signal + ("" if s.layer is None else f"@L{s.layer}")
        where = "all answers" if s.scope == "all" else "censorship probes"
        typer.echo(f"AUROC censored vs complete, {where}, {name}: {_fmt(s.auroc)} "
                   f"({s.n_censored} censored, {s.n_complete} complete)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="internals")
