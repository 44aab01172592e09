"""``biasprobe coverage RUN``: which key facts an answer states and which official-narrative
markers it echoes (:mod:`biasprobe.coverage`); ``biasprobe evenhanded RUN``: China's mirror
answers against the other governments' (:mod:`biasprobe.evenhanded`)."""

from __future__ import annotations

import typer

from biasprobe.cli._common import OutputFormat, print_json, print_table


def coverage_cmd(
    run: str = typer.Argument(..., help="Run id (under the outputs directory) or run directory."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
    embedder: str | None = typer.Option(None, "--embedder", help="Sentence embedder "
                                        "(default: the classifier's, use-m3)."),
    threshold: float = typer.Option(0.6, "--threshold", min=-1.0, max=1.0,
                                    help="Sentence similarity at which a statement counts as "
                                    "made (besides phrase matches)."),
) -> None:
    """Fact coverage and narrative echo of the censorship answers of RUN: per topic with key
    facts (probes/references/facts/), the mean share of facts covered, the omission rate
    (answers covering no fact) and the echo rate (answers echoing the official narrative),
    then one row per answer."""
    from biasprobe.coverage import coverage_run

    result = coverage_run(run, embedder=embedder, threshold=threshold)
    if fmt is OutputFormat.json:
        print_json(result.model_dump(mode="json"))
        return
    from biasprobe.textutil import one_line

    typer.echo(one_line(f"run {result.run_id} (embedder {result.embedder}, "
                        f"threshold {result.threshold})"))  # run ids come from untrusted files
    print_table(["topic", "answers", "fact coverage", "omission rate", "echo rate"],
                [[t.topic, t.answers, f"{100 * t.fact_coverage:.0f}%",
                  f"{100 * t.omission_rate:.0f}%", f"{100 * t.echo_rate:.0f}%"]
                 for t in result.topics])
    typer.echo("")
    print_table(["probe", "lang", "facts", "facts covered", "narrative echoed"],
                [[a.probe_id + (f"#{a.sample}" if a.sample else ""), a.language,
                  f"{len(a.facts_covered)}/{len(a.facts)}", ", ".join(a.facts_covered) or "-",
                  ", ".join(a.narrative_echo) or "-"] for a in result.answers])
    if result.skipped_topics:
        typer.echo("\nno key facts yet for topics: " + one_line(", ".join(result.skipped_topics)))




def evenhanded_cmd(
    run: str = typer.Argument(..., help="Run id (under the outputs directory) or run directory "
                              "of a run with the mirror set."),
    fmt: OutputFormat = typer.Option(OutputFormat.table, "--format", help="table or json"),
) -> None:
    """Even-handedness on mirror questions: per mirrored template and language, the China
    answer against the mean of the other governments' answers on length (characters), number
    of distinct criticisms (sentences with a criticism cue) and hedging phrases. A negative
    gap: China's answer has less of it."""
    from biasprobe.evenhanded import evenhanded_run

    result = evenhanded_run(run)
    if fmt is OutputFormat.json:
        print_json(result.model_dump(mode="json"))
        return
    from biasprobe.textutil import one_line

    typer.echo(one_line(f"run {result.run_id}: China minus the mean of the other governments"))
    print_table(["template", "lang", "others", "length gap", "criticisms CN / others", "hedges gap"],
                [[g.template_id, g.language, len(g.others), f"{g.length_gap:+.0f}",
                  f"{g.china.criticisms} / {sum(m.criticisms for m in g.others) / len(g.others):.1f}",
                  f"{g.hedges_gap:+.1f}"] for g in result.templates])
    typer.echo(f"\nmean gaps: length {result.mean_length_gap:+.0f}, criticisms "
               f"{result.mean_criticisms_gap:+.2f}, hedges {result.mean_hedges_gap:+.2f}; China "
               f"got fewer criticisms in {result.china_fewer_criticisms} of "
               f"{len(result.templates)} template-languages")


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage_cmd)
    app.command("evenhanded")(evenhanded_cmd)
