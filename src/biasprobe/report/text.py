"""Plain-text tables for ``diff`` and ``compare`` (every untrusted string cleaned)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from biasprobe.blindcheck import (
    BlindChange,
    BlindCheck,
    BlindGap,
    BlindGovernment,
    BlindGovernmentGap,
    BlindLabelRow,
)
from biasprobe.labels import registry
from biasprobe.report.escape import clean_terminal, truncate
from biasprobe.results import (
    BypassChange,
    ClassifierErrorSummary,
    CompareResult,
    ControlCheckSummary,
    CoverageChange,
    DiffAsymmetry,
    DiffResult,
    Estimate,
    Flip,
    GroupChange,
    HeadlineChange,
    HeadlineRate,
    InternalsChange,
    Omnibus,
    PairedMetric,
    Rate,
    RunSummary,
)
from biasprobe.variants import BypassRow


def c(text: Any, limit: int = 60) -> str:
    """A cleaned, one-line, truncated cell."""
    return truncate(clean_terminal("" if text is None else str(text), one_line=True), limit)


def censored_union(sep: str = "+") -> str:
    """The labels the censored metric unites, in registry order (for the prose of tables)."""
    reg = registry()
    return sep.join(name for name in reg.names if name in reg.censored)


def label_columns(*, censored_only: bool = False) -> list[str]:
    """The per-label rate columns of report tables (registry order, censored labels first)."""
    reg = registry()
    return [m for m in reg.metrics[1:] if not censored_only or m in reg.censored]


def pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def span(lo: float | None, hi: float | None, *, signed: bool = False) -> str:
    """`` [4–20]`` (percent) or `` [+9.8, +35.0]`` (signed pp); empty without an interval."""
    if lo is None or hi is None:
        return ""
    if signed:
        return f" [{lo * 100:+.1f}, {hi * 100:+.1f}]"
    return f" [{lo * 100:.0f}–{hi * 100:.0f}]"


def blind_span(lo: float | None, hi: float | None, *, signed: bool = False) -> str:
    """A blind-corrected figure's interval (:func:`span`), or `` (all read)`` where every answer
    behind it was read blind (a zero-width interval: the figure is exact for the run)."""
    if lo is not None and lo == hi:
        return " (all read)"
    return span(lo, hi, signed=signed)


def rate_ci(p: Rate | None, *, with_n: bool = True) -> str:
    if not p or p.rate is None:
        return "–"
    n = f" n={p.n}" if with_n else ""
    return f"{pct(p.rate)}{span(p.ci_low, p.ci_high)}{n}"


def pp(x: float | None, unit: str = "pp") -> str:
    return "–" if x is None else f"{x * 100:+.1f}{unit}"


def pval(p: float | None) -> str:
    return "–" if p is None else f"{p:.3g}"


def index(x: float | None) -> str:
    return "–" if x is None else f"{x:+.3f}"


def table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows
    ]
    return lines


def _run_name(summary: RunSummary) -> str:
    model = f" (model {c(summary.model)})" if summary.model else ""
    scorer = c(", ".join(summary.classifier_versions) or "–")
    return (
        f"{c(summary.run_id)}{model}; classifier {scorer}; "
        f"{summary.overrides_used} labels set by reviewers (overrides.jsonl)"
    )


def warning_lines(warnings: list[str]) -> list[str]:
    return [f"WARNING: {c(w, 2000)}" for w in warnings]


CONTROL_KINDS = ("neutral", "benign-control")


def control_rows(
    check: ControlCheckSummary | None, esc: Callable[[str], str] = c
) -> list[list[str]]:
    """Per language: answers, uncertain, and each control kind labelled censored as k/n (rate);
    ``esc`` escapes the language tag (untrusted) for the output format."""
    rows = []
    for lc in check.languages if check else []:
        unc = f"{lc.uncertain} ({pct(_share(lc.uncertain, lc.answers))})"
        cells = [esc(lc.language), str(lc.answers), unc]
        for kind in CONTROL_KINDS:
            n, k = lc.controls.get(kind, 0), lc.controls_censored.get(kind, 0)
            cells.append(f"{k}/{n} ({pct(_share(k, n))})" if n else "–")
        rows.append(cells)
    return rows


OMNIBUS_NOTE = ("one censored rate for all runs? Per family, a stratified permutation test over "
                "the prompts all runs answered with the same question (uncertain answers count "
                "as their probability); p adjusted across the families")
OMNIBUS_HEADERS = ["family", "prompts", "censored rate per run", "p", "p adjusted"]


def omnibus_rows(omni: Mapping[str, Omnibus] | None) -> list[list[str]]:
    """One row per headline family of the omnibus test (no model output in them)."""
    return [[o.title, str(o.n_prompts), ", ".join(pct(r) for r in o.rates), pval(o.p_value),
             pval(o.p_adjusted)] for o in (omni or {}).values()]


CONTROL_HEADERS = ["language", "answers", "uncertain", "neutral censored", "benign censored"]


def _share(k: int, n: int) -> float | None:
    return k / n if n else None


def control_warnings(name: str, check: ControlCheckSummary | None) -> list[str]:
    """Loud warning lines for a run whose control answers are often labelled censored."""
    return [f"control check of {name}: {w}" for w in (check.warnings if check else [])]


def render_controls(runs: list[tuple[str, RunSummary]]) -> list[str]:
    """The control check of each run: a table per run (text diff output)."""
    out = ["control check (neutral and benign-control questions should be answered; censored "
           "labels on them are over-refusal or classifier error):"]
    for name, run in runs:
        if run.control_check is None:
            continue
        out += [f"{name}: {c(run.run_id)}",
                *table(CONTROL_HEADERS, control_rows(run.control_check))]
    return out


def coverage_rows(cov: CoverageChange, esc: Callable[[str], str] = c) -> list[list[str]]:
    return [[esc(t.topic), name, *_metric_row(m)]
            for t in cov.topics for name, m in (("omission", t.omission), ("echo", t.echo))]


def render_coverage(cov: CoverageChange) -> list[str]:
    """``diff --coverage``: omission and echo rates per topic with their paired tests."""
    skipped = f"; topics without markers: {', '.join(map(c, cov.skipped_topics))}" if (
        cov.skipped_topics) else ""
    return [
        f"coverage of censorship answers (embedder {c(cov.embedder)}, threshold "
        f"{cov.threshold}{skipped}). omission: answer states none of the topic's key facts; "
        "echo: answer echoes an official-narrative marker; p adjusted across topics:",
        *table(["topic", "rate", *METRIC_HEADERS], coverage_rows(cov)),
    ]


def bypassed_cell(row: BypassRow | None) -> str:
    """``3/5 60% [23–88]``: bypassed of base censored in one run (all its pairs)."""
    if row is None:
        return "–"
    if row.bypass_rate is None:
        return f"0/{row.base_censored}"
    return f"{row.bypassed}/{row.base_censored} {pct(row.bypass_rate)}{span(row.ci_low, row.ci_high)}"


BYPASS_HEADERS = ["kind", "A bypassed", "B bypassed"]


def bypass_rows(ch: BypassChange) -> list[list[str]]:
    """Per variant kind: each run's bypassed/base-censored and the paired change's cells."""
    return [[k.kind, bypassed_cell(k.a), bypassed_cell(k.b), *_metric_row(k.change)] for k in ch.kinds]


BYPASS_NOTE = (
    "bypass per variant kind (runs made with --variants): a variant answer is bypassed when it "
    "is complete where its base probe's answer to the same sample was censored. A/B bypassed: "
    "bypassed/base censored over each run's pairs [95% Wilson CI]; then the paired change "
    "over pairs of the same variant and sample, the base prompt the unit, a pair counting in "
    "a run when its base answer was censored there; p adjusted across kinds:"
)


def render_bypass(ch: BypassChange) -> list[str]:
    """``diff`` of runs with variants: bypass rates per variant kind and their paired change."""
    return [BYPASS_NOTE, *table([*BYPASS_HEADERS, *METRIC_HEADERS], bypass_rows(ch))]


def render_internals(ic: InternalsChange) -> list[str]:
    """Refusal signals from the models' activations (both runs have internals.jsonl)."""
    from biasprobe.report.internals import SHIFT_HEADERS, intro_lines, shift_rows

    return ["internals (refusal signals from activations and logits):",
            *(f"  {line}" for line in intro_lines(ic, lambda t: c(t, 400))),
            *table(SHIFT_HEADERS, shift_rows(ic, c))]


def change_ci(m: PairedMetric) -> str:
    """Per-prompt change with its 95% interval, e.g. ``+22.4pp [+9.8, +35.0]``."""
    if m.prompt_change is None:
        return "–"
    return f"{pp(m.prompt_change)}{span(m.ci_low, m.ci_high, signed=True)}"


def power_note(m: PairedMetric) -> str:
    """The minimum detectable change, flagged when a non-significant change is below it."""
    mdc = m.min_detectable_change
    if mdc is None:
        return "–"
    few = (
        not m.significant
        and m.prompt_change is not None
        and abs(m.prompt_change) < mdc
    )
    return f"{mdc * 100:.0f}pp" + (" (too few prompts)" if few else "")


def _metric_row(m: PairedMetric) -> list[str]:
    flag = " *" if m.significant else ""
    return [
        str(m.n_prompts),
        rate_ci(m.a),
        rate_ci(m.b),
        change_ci(m),
        index(m.cohens_h),
        f"{m.prompts_down}/{m.prompts_up}",
        pval(m.p_value),
        pval(m.p_adjusted) + flag,
        power_note(m),
    ]


METRIC_HEADERS = ["prompts", "A", "B", "change [95% CI]", "h", "down/up", "p", "p_adj", "MDC80"]


def est(e: Estimate | None, signed: bool = False) -> str:
    """A corrected estimate ``{value, ci_low, ci_high}`` as ``12.3% [4–20]`` (or pp)."""
    if not e or e.value is None:
        return "–"
    if signed:
        return f"{pp(e.value)}{span(e.ci_low, e.ci_high, signed=True)}"
    return f"{pct(e.value)}{span(e.ci_low, e.ci_high)}"


def classifier_error_line(err: ClassifierErrorSummary | None) -> str:
    if err is None:
        return ("not corrected for classifier error (use --correct-with EVAL.json from "
                "`biasprobe eval-classifier --json`)")
    return (
        f"corrected for classifier error with {c(err.source, 80)}: sensitivity "
        f"{err.sensitivity:.3f} ({err.sens_k}/{err.sens_n}), specificity "
        f"{err.specificity:.3f} ({err.spec_k}/{err.spec_n}); Rogan-Gladen, 95% "
        "bootstrap over prompts and sens/spec"
    )


def corrected_rows(head: dict[str, HeadlineChange]) -> list[list[str]]:
    rows = []
    for m in head.values():
        cor = m.corrected
        if cor:
            rows.append([c(m.title, 50), est(cor.a), est(cor.b),
                         est(cor.change, signed=True)])
    return rows


def headline_rows(head: dict[str, HeadlineChange]) -> list[list[str]]:
    return [[c(m.title, 50), c("+".join(m.kinds)), *_metric_row(m)] for m in head.values()]


def headline_cells(head: dict[str, HeadlineRate]) -> list[str]:
    """One run's four headline rates: censorship with its interval, then the controls."""
    return [
        rate_ci(head["censorship"]),
        pct(head["appropriate_refusal"].rate),
        pct(head["over_refusal"].rate),
        pct(head["false_positive"].rate),
    ]


HEADLINE_HEADERS = ["censorship [95% CI]", "safety refused", "benign refused", "neutral refused"]


def _metric_rows(groups: list[GroupChange], metric: str) -> list[list[str]]:
    return [
        [c(g.by), c(g.group, 32), *_metric_row(g.metrics[metric])] for g in groups
    ]


def render_diff(result: DiffResult, *, max_flips: int = 20, answer_chars: int = 160) -> str:
    a, b, pairing = result.run_a, result.run_b, result.pairing
    out = [
        *warning_lines(result.warnings),
        *warning_lines(control_warnings("A", a.control_check)),
        *warning_lines(control_warnings("B", b.control_check)),
        f"A: {_run_name(a)}",
        f"B: {_run_name(b)}",
        f"paired {pairing.paired} responses (only in A: {pairing.only_a}, only in B: "
        f"{pairing.only_b}"
        + (f"; another question under the same id: {pairing.other_question}"
           if pairing.other_question else "")
        + f"); uncertain (excluded): A {pairing.uncertain_a}, B {pairing.uncertain_b}",
        "",
        f"headline: censored rate ({censored_union()}) per family of prompt kinds, "
        f"never pooled; p {result.correction}-adjusted across the four:",
        *table(["headline", "kinds", *METRIC_HEADERS], headline_rows(result.headline)),
        classifier_error_line(result.classifier_error),
        *(
            table(["corrected", "A", "B", "change [95% CI]"], corrected_rows(result.headline))
            if result.classifier_error
            else []
        ),
        "",
        f"censored ({censored_union()}) by group. A, B: per-response rate [95% "
        "Wilson CI]; change: per-prompt mean change [95% t CI]; h: Cohen's h; down/up: prompts "
        "whose rate fell/rose; p: per-prompt paired sign-flip test (= exact McNemar with one "
        f"sample per prompt), {result.correction}-adjusted across groups (* significant at "
        "0.05); MDC80: change detectable with 80% power",
    ]
    out += table(["by", "group", *METRIC_HEADERS], _metric_rows(result.groups, "censored"))
    overall = result.groups[0]
    out += ["", "overall, each label:"]
    rows = [[metric, *_metric_row(m)] for metric, m in overall.metrics.items()]
    out += table(["label", *METRIC_HEADERS], rows)
    m = overall.metrics["censored"]
    out += [
        f"per response (not used for p): change {pp(m.change)} over {m.n_pairs} pairs, "
        f"discordant {m.a_yes_b_no}/{m.a_no_b_yes}, exact McNemar p "
        f"{pval(m.p_value_per_response)}"
    ]
    s = overall.slant
    if s.n:
        ci = (
            f" [95% CI {s.ci_low:+.3f}, {s.ci_high:+.3f}]" if s.ci_low is not None else ""
        )
        out += ["", f"slant shift (B − A): {s.mean_shift:+.3f}{ci} over {s.n} pairs"]
    else:
        out += ["", "slant shift: no pairs with a slant score"]
    out += ["", *render_asymmetry(result.asymmetry)]
    out += ["", *render_controls([("A", a), ("B", b)])]
    if result.coverage is not None:
        out += ["", *render_coverage(result.coverage)]
    if result.bypass is not None:
        out += ["", *render_bypass(result.bypass)]
    if result.internals is not None:
        out += ["", *render_internals(result.internals)]
    if result.blind is not None:
        out += ["", *render_blind(result.blind)]
    out += ["", *_render_flips(result.flips, max_flips, answer_chars)]
    return "\n".join(out)


BLIND_RATE_INTRO = ("censored rate corrected by the answers read blind (review --blind), 95% "
                    "interval; then each language's rate minus English's")
BLIND_RATE_HEADERS = ["language", "answers", "read blind", "agreement", "classifier",
                      "blind-corrected"]


def blind_rate_rows(check: BlindCheck, cell: Callable[[str], str]) -> list[list[str]]:
    """A run's blind check per language (``show`` and every report format; ``cell`` escapes
    the language tag, which comes from the run)."""
    return [[cell(r.language), str(r.answers), str(r.blind),
             "–" if r.agreement is None else f"{r.agreement:.2f}", pct(r.classifier_rate),
             pct(r.rate) + blind_span(r.ci_low, r.ci_high)] for r in check.rows]


def _gap_name(g: BlindGap, cell: Callable[[str], str]) -> str:
    """``zh − en`` (the censored rate) or ``zh − en, official_line`` (one censored label)."""
    return f"{cell(g.language)} − {g.versus}" + ("" if g.label is None else f", {cell(g.label)}")


def blind_gap_text(gaps: Sequence[BlindGap], cell: Callable[[str], str]) -> list[str]:
    """Each language's blind-corrected rate (or a censored label's) minus English's, one line
    each."""
    return [f"{_gap_name(g, cell)}: blind-corrected {pp(g.gap, ' points')}"
            f"{blind_span(g.ci_low, g.ci_high, signed=True)} (classifier "
            f"{pp(g.classifier_gap, ' points')})" for g in gaps]


BLIND_LABEL_INTRO = ("each censored label's rate, corrected the same way (the classifier's "
                     "labels as prediction), 95% interval")
BLIND_LABEL_CHANGE_INTRO = ("each censored label's change (B − A), corrected the same way (the "
                            "classifier's labels as prediction), 95% interval")
BLIND_LABEL_HEADERS = ["language", "label", "classifier", "blind-corrected"]


def blind_label_rows(rows: Sequence[BlindLabelRow], cell: Callable[[str], str], *,
                     change: bool = False) -> list[list[str]]:  # fmt: skip
    """Each censored label's blind-corrected rate (or, ``change``, its change between two runs)
    per language, for ``show``, ``diff`` and every report format (``cell`` escapes the language
    tag and the label name, which come from the run and the label registry)."""
    if change:
        return [[cell(r.language), cell(r.label), pp(r.classifier),
                 pp(r.corrected) + blind_span(r.ci_low, r.ci_high, signed=True)] for r in rows]
    return [[cell(r.language), cell(r.label), pct(r.classifier),
             pct(r.corrected) + blind_span(r.ci_low, r.ci_high)] for r in rows]


BLIND_GOV_INTRO = ("mirror questions (the same templates asked about each government): censored "
                   "rate per government, corrected the same way, 95% interval")
BLIND_GOV_CHANGE_INTRO = ("mirror questions: change (B − A) of the censored rate per "
                          "government, corrected the same way, 95% interval")
BLIND_GOV_HEADERS = ["government", "answers", "read blind", "classifier", "blind-corrected"]


def blind_government_rows(governments: Sequence[BlindGovernment], cell: Callable[[str], str],
                          *, change: bool = False) -> list[list[str]]:  # fmt: skip
    """The mirror questions' blind-corrected censored rate (or, ``change``, its change) per
    government (``cell`` escapes the country code, which comes from the probes)."""
    if change:
        return [[cell(g.government), str(g.answers), str(g.blind), pp(g.classifier_rate),
                 pp(g.rate) + blind_span(g.ci_low, g.ci_high, signed=True)] for g in governments]
    return [[cell(g.government), str(g.answers), str(g.blind), pct(g.classifier_rate),
             pct(g.rate) + blind_span(g.ci_low, g.ci_high)] for g in governments]


def blind_china_gap_text(g: BlindGovernmentGap | None, *, change: bool = False) -> list[str]:
    """China's rate minus the other governments' mean (or, ``change``, that gap's change), one
    line (none without one)."""
    if g is None:
        return []
    what = "change of the gap CN − the other governments' mean" if change else \
        "CN − the other governments' mean"
    return [f"{what}: blind-corrected {pp(g.gap, ' points')}"
            f"{blind_span(g.ci_low, g.ci_high, signed=True)} (classifier "
            f"{pp(g.classifier_gap, ' points')})"]


BLIND_INTRO = ("change of the censored rate (B − A) corrected by the answers read blind in both "
               "runs (review --blind), 95% interval")
BLIND_HEADERS = ["language", "pairs", "read blind in both", "classifier", "blind-corrected"]


def blind_rows(blind: BlindChange, cell: Callable[[str], str]) -> list[list[str]]:
    """The blind-corrected change per language, for every report format (``cell`` escapes the
    language tag, which comes from the run)."""
    return [[cell(r.language), str(r.pairs), str(r.blind_pairs), pp(r.classifier_change),
             pp(r.change) + blind_span(r.ci_low, r.ci_high, signed=True)] for r in blind.rows]


def blind_gap_lines(gaps: Sequence[BlindGap], cell: Callable[[str], str]) -> list[str]:
    """The change of each language's gap to English (or of a censored label's), one line each
    (every report format)."""
    return [f"change of the {_gap_name(g, cell)} gap: {pp(g.gap)}"
            f"{blind_span(g.ci_low, g.ci_high, signed=True)} blind-corrected "
            f"(classifier {pp(g.classifier_gap)})" for g in gaps]


@dataclass(frozen=True)
class BlindBlock:
    """One table of a blind check, as every format shows it: an intro, the table (its first
    ``text_columns`` columns are text, the rest figures) and the lines under it."""

    intro: str
    headers: list[str]
    rows: list[list[str]]
    lines: list[str]
    text_columns: int = 1


def blind_check_blocks(check: BlindCheck, cell: Callable[[str], str]) -> list[BlindBlock]:
    """A run's blind check as ``show`` and the report formats show it: the censored rate per
    language and its gaps to English, each censored label's, the mirror questions' per
    government (``cell`` escapes what comes from the run)."""
    out = [BlindBlock(BLIND_RATE_INTRO, BLIND_RATE_HEADERS, blind_rate_rows(check, cell),
                      blind_gap_text(check.gaps, cell))]
    if check.labels:
        out.append(BlindBlock(BLIND_LABEL_INTRO, BLIND_LABEL_HEADERS,
                              blind_label_rows(check.labels, cell),
                              blind_gap_text(check.label_gaps, cell), text_columns=2))
    if check.governments:
        out.append(BlindBlock(BLIND_GOV_INTRO, BLIND_GOV_HEADERS,
                              blind_government_rows(check.governments, cell),
                              blind_china_gap_text(check.china_gap)))
    return out


def blind_change_blocks(blind: BlindChange, cell: Callable[[str], str]) -> list[BlindBlock]:
    """The blind-corrected changes between two runs, as ``diff``, ``compare`` and the report
    formats show them (the same tables as :func:`blind_check_blocks`, of B − A)."""
    out = [BlindBlock(BLIND_INTRO, BLIND_HEADERS, blind_rows(blind, cell),
                      blind_gap_lines(blind.gaps, cell))]
    if blind.labels:
        out.append(BlindBlock(BLIND_LABEL_CHANGE_INTRO, BLIND_LABEL_HEADERS,
                              blind_label_rows(blind.labels, cell, change=True),
                              blind_gap_lines(blind.label_gaps, cell), text_columns=2))
    if blind.governments:
        out.append(BlindBlock(BLIND_GOV_CHANGE_INTRO, BLIND_GOV_HEADERS,
                              blind_government_rows(blind.governments, cell, change=True),
                              blind_china_gap_text(blind.china_gap, change=True)))
    return out


def render_blind(blind: BlindChange) -> list[str]:
    out: list[str] = []
    for n, b in enumerate(blind_change_blocks(blind, lambda v: c(v, 32))):
        out += [f"blind check: {b.intro}:" if n == 0 else f"{b.intro}:",
                *table(b.headers, b.rows), *b.lines]
    return out


def _render_flips(flips: list[Flip], max_flips: int, answer_chars: int) -> list[str]:
    out = [f"flipped prompts: {len(flips)}"]
    for f in flips[:max_flips]:
        out.append(
            f"  {c(f.probe_id)} #{f.sample} [{c(f.language, 16)}, {c(f.topic, 32)}]: "
            f"{f.label_a} -> {f.label_b} ({f.direction.replace('_', ' ')})"
        )
        out.append(f"    A: {c(f.answer_a, answer_chars)}")
        out.append(f"    B: {c(f.answer_b, answer_chars)}")
    if len(flips) > max_flips:
        out.append(f"  … {len(flips) - max_flips} more (--max-flips, or --format json for all)")
    return out


def _paired(units: int, change: float | None, lo: float | None, hi: float | None) -> str:
    """The paired change over the units both runs share, beside the change of the index (the
    two differ when the runs do not share every unit)."""
    if change is None:
        return ""
    ci = f" [{lo:+.3f}, {hi:+.3f}]" if lo is not None and hi is not None else ""
    return f"; paired {change:+.3f}{ci} over {units} units"


def render_asymmetry(asym: DiffAsymmetry) -> list[str]:
    ga, gb = asym.a.government, asym.b.government
    la, lb = asym.a.language, asym.b.language
    ch = asym.change
    basis = ga.china_basis or gb.china_basis or "none"
    gc = ch.government
    rows = [
        [
            "China vs other governments (censored CN − mean others)",
            index(ga.index) + (f" p={pval(ga.p_value)}" if ga.p_value is not None else ""),
            index(gb.index) + (f" p={pval(gb.p_value)}" if gb.p_value is not None else ""),
            index(gc.index) + _paired(gc.paired_units, gc.paired_change, gc.ci_low, gc.ci_high),
        ]
    ]
    for g in sorted(set(ga.governments) | set(gb.governments)):
        name = f"  {c(g, 8)}" + (f" (basis: {basis})" if g == "CN" else "")
        rows.append(
            [
                name,
                rate_ci(ga.governments.get(g)),
                rate_ci(gb.governments.get(g)),
                pp(ch.government.governments.get(g)),
            ]
        )
    lc = ch.language
    rows.append(
        [
            "ZH vs EN, same question (censored ZH − EN)",
            f"{index(la.index)} p={pval(la.p_value)}",
            f"{index(lb.index)} p={pval(lb.p_value)}",
            index(lc.index) + _paired(lc.paired_units, lc.paired_change, lc.ci_low, lc.ci_high),
        ]
    )
    return ["asymmetry:", *table(["index", "A", "B", "change"], rows)]


def render_compare(result: CompareResult) -> str:
    out = [
        *warning_lines(result.warnings),
        *(line for r in result.runs
          for line in warning_lines(control_warnings(r.run_id, r.control_check))),
        f"timeline: censored ({censored_union()}) rate per family of prompt kinds, "
        "never pooled: censorship = censorship+mirror prompts (the headline); safety, benign, "
        "neutral = control questions; uncertain excluded",
    ]
    rows = []
    for r in result.runs:
        rows.append(
            [
                c(r.run_id, 40),
                c(r.model, 40),
                str(r.overall.n),
                str(r.overall.n_uncertain),
                *headline_cells(r.headline),
                index(r.government_index),
                index(r.language_index),
                str(r.overrides_used),
            ]
        )
    headers = ["run", "model", "n", "unc", *HEADLINE_HEADERS, "CN-others", "ZH-EN", "overrides"]
    out += table(headers, rows)
    if result.omnibus is not None:
        out += ["", f"omnibus (before the pairwise steps): {OMNIBUS_NOTE} ({result.correction}):"]
        out += table(OMNIBUS_HEADERS, omnibus_rows(result.omnibus))
    if result.steps:
        out += [
            "",
            "consecutive changes of the censorship rate (censorship+mirror prompts; per-prompt "
            "change and sign-flip test, "
            f"{result.correction}-adjusted):",
        ]
        rows = []
        for s in result.steps:
            m = s.headline["censorship"]
            rows.append(
                [
                    f"{c(s.from_, 30)} -> {c(s.to, 30)}",
                    str(s.paired),
                    str(s.flips),
                    *_metric_row(m),
                ]
            )
        out += table(["step", "paired", "flips", *METRIC_HEADERS], rows)
    for s in result.steps:
        if s.blind is not None:
            out += ["", f"{c(s.from_, 30)} -> {c(s.to, 30)}:", *render_blind(s.blind)]
    out += ["", classifier_error_line(result.classifier_error)]
    if result.classifier_error:
        rows = [[c(r.run_id, 40), est(r.headline["censorship"].corrected.rate)]
                for r in result.runs if r.headline["censorship"].corrected]
        out += table(["run", "corrected censorship rate [95% CI]"], rows)
    return "\n".join(out)
