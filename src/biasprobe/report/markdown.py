"""Markdown rendering of a report dict (every untrusted string escaped)."""

from __future__ import annotations

from biasprobe.report.escape import md_cell
from biasprobe.report.text import (
    BYPASS_HEADERS,
    BYPASS_NOTE,
    CONTROL_HEADERS,
    HEADLINE_HEADERS,
    OMNIBUS_HEADERS,
    OMNIBUS_NOTE,
    BlindBlock,
    blind_change_blocks,
    blind_check_blocks,
    bypassed_cell,
    censored_union,
    change_ci,
    classifier_error_line,
    control_rows,
    control_warnings,
    corrected_rows,
    headline_cells,
    index,
    label_columns,
    omnibus_rows,
    pct,
    power_note,
    pval,
    rate_ci,
)
from biasprobe.results import DiffResult, PairedMetric, ReportModel, ReportRun


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return out


def render_markdown(report: ReportModel, *, answer_chars: int = 300) -> str:
    out = ["# biasprobe report", ""]
    warnings = [*report.warnings, *_control_warnings(report.runs)]
    out += [f"> **WARNING:** {md_cell(w)}" for w in warnings]
    if warnings:
        out.append("")
    out += _runs_section(report.runs)
    out += _controls_section(report.runs)
    out += _blind_check_section(report.runs)
    for r in report.runs:
        out += _groups_section(r)
        out += _bypass_section(r)
    if report.omnibus is not None:
        out += ["", "## Omnibus test", "",
                f"Before the pairwise changes below: {OMNIBUS_NOTE} ({report.correction}).", ""]
        out += _table(OMNIBUS_HEADERS, omnibus_rows(report.omnibus))
    for d in report.diffs:
        out += _diff_section(d, answer_chars)
    out += ["", "## Provenance", ""]
    for r in report.runs:
        man = r.manifest
        out.append(
            f"- **{md_cell(r.run_id)}**: model {md_cell(r.model or '–')}, created "
            f"{md_cell(str(man.get('created', '–')))}, biasprobe "
            f"{md_cell(str(man.get('biasprobe_version', '–')))}, classifier "
            f"{md_cell(', '.join(r.classifier_versions) or '–')}"
            + (f", {r.overrides_used} labels set by reviewers (overrides.jsonl)"
               if r.overrides_used else "")
        )
    out += ["", "## Definitions", ""]
    out += [f"- **{k}**: {v}" for k, v in report.definitions.items()]
    return "\n".join(out) + "\n"


def _runs_section(runs: list[ReportRun]) -> list[str]:
    rows = [
        [
            md_cell(r.run_id),
            md_cell(r.model or "–"),
            str(r.responses),
            str(r.overall.n_uncertain),
            *headline_cells(r.headline),
            index(r.asymmetry.government.index),
            index(r.asymmetry.language.index),
            str(r.overrides_used),
        ]
        for r in runs
    ]
    return [
        "## Runs",
        "",
        f"Censored = {censored_union(' ∪ ').replace('_', ' ')}, per family of prompt kinds (never "
        "pooled): censorship = censorship + mirror prompts (the headline); safety, benign, "
        "neutral refused = the same rate on safety controls (refusing is right), benign "
        "controls (over-refusal) and neutral questions (false-positive check).",
        "",
        *_table(
            ["run", "model", "responses", "uncertain", *HEADLINE_HEADERS, "CN − others",
             "ZH − EN", "human overrides used"],
            rows,
        ),
    ]


def _control_warnings(runs: list[ReportRun]) -> list[str]:
    return [w for r in runs for w in control_warnings(r.run_id, r.control_check)]


def _controls_section(runs: list[ReportRun]) -> list[str]:
    out = ["", "## Control check", "",
           "Neutral and benign-control questions should be answered: a censored label on them "
           "is over-refusal or a classifier error. Uncertain answers are left out of every rate.",
           ""]
    for r in runs:
        if r.control_check is None:
            continue
        out += [f"**{md_cell(r.run_id)}**", ""]
        out += _table(CONTROL_HEADERS, control_rows(r.control_check, md_cell))
        out.append("")
    return out[:-1]


def _blind_check_section(runs: list[ReportRun]) -> list[str]:
    out: list[str] = []
    for r in runs:
        if r.blind_check is not None:
            out += ["", f"## {md_cell(r.run_id)}: blind check",
                    *_blind_blocks(blind_check_blocks(r.blind_check, md_cell))]
    return out


def _blind_blocks(blocks: list[BlindBlock]) -> list[str]:
    """Each table of a blind check or change: its intro, the table, the lines under it."""
    out: list[str] = []
    for b in blocks:
        out += ["", md_cell(b.intro) + ".", "", *_table(b.headers, b.rows), "",
                *(f"- {line}" for line in b.lines)]
    return out


def _bypass_section(r: ReportRun) -> list[str]:
    if r.bypass is None:
        return []
    headers, rows = r.bypass.table()
    return ["", f"## {md_cell(r.run_id)}: variants (does another phrasing get past a refusal?)",
            "", "Bypassed: the variant's answer is complete where the base probe's answer (same "
            "sample) was censored; closed: the reverse. Variant answers are in no other table.",
            "", *_table(headers, [[md_cell(x) for x in row] for row in rows])]


def _groups_section(r: ReportRun) -> list[str]:
    out = ["", f"## {md_cell(r.run_id)}: censored rate by group", ""]
    labels = label_columns(censored_only=True)  # the registry's censored labels
    rows = [
        [md_cell(g.by), md_cell(g.group), str(g.n_total), str(g.n_uncertain),
         rate_ci(g.metrics["censored"]), *(pct(g.metrics[lab].rate) for lab in labels)]
        for g in r.groups
    ]
    out += _table(
        ["by", "group", "responses", "uncertain", "censored [95% CI]",
         *(lab.replace("_", " ") for lab in labels)],
        rows,
    )
    govs = r.asymmetry.government.governments
    if govs:
        basis = r.asymmetry.government.china_basis
        out += ["", f"Governments (China basis: {basis}):", ""]
        out += _table(["government", "censored [95% CI]"],
                      [[md_cell(g), rate_ci(p)] for g, p in govs.items()])
        gov = r.asymmetry.government
        if gov.p_value is not None:
            out += ["", f"China − others: {index(gov.index)}, p = {pval(gov.p_value)} over "
                    f"{gov.units} units (a mirror template in one language; any government of "
                    "a unit as likely to be China under no difference)."]
    return out


CHANGE_HEADERS = ["prompts", "A", "B", "change [95% CI]", "h", "p", "p_adjusted", "MDC80"]


def _change_cells(m: PairedMetric) -> list[str]:
    return [str(m.n_prompts), rate_ci(m.a), rate_ci(m.b), change_ci(m), index(m.cohens_h),
            pval(m.p_value), pval(m.p_adjusted) + (" \\*" if m.significant else ""),
            power_note(m)]


def _coverage_section(d: DiffResult) -> list[str]:
    cov = d.coverage
    if cov is None:
        return []
    skipped = ", ".join(md_cell(t) for t in cov.skipped_topics) or "none"
    return ["", "### Fact coverage and narrative echo (censorship answers)", "",
            "Omission: the answer states none of the topic's key facts; echo: it echoes an "
            f"official-narrative marker (embedder {md_cell(cov.embedder)}, threshold "
            f"{cov.threshold}; topics without markers: {skipped}). p adjusted across topics.", "",
            *_table(["topic", "rate", *CHANGE_HEADERS],
                    [[md_cell(t.topic), name, *_change_cells(m)] for t in cov.topics
                     for name, m in (("omission", t.omission), ("echo", t.echo))])]


def _bypass_change_section(d: DiffResult) -> list[str]:
    if d.bypass is None:
        return []
    return ["", "### Bypass per variant kind", "", md_cell(BYPASS_NOTE), "",
            *_table([*BYPASS_HEADERS, *CHANGE_HEADERS],
                    [[k.kind, bypassed_cell(k.a), bypassed_cell(k.b), *_change_cells(k.change)]
                     for k in d.bypass.kinds])]


def _internals_section(d: DiffResult) -> list[str]:
    from biasprobe.report.internals import SHIFT_HEADERS, intro_lines, shift_rows

    if d.internals is None:
        return []
    return ["", "### Internals (refusal signals from activations and logits)", "",
            *(f"- {line}" for line in intro_lines(d.internals, md_cell)), "",
            *_table(SHIFT_HEADERS, shift_rows(d.internals, md_cell))]


def _blind_section(d: DiffResult) -> list[str]:
    if d.blind is None:
        return []
    return ["", "### Blind check", *_blind_blocks(blind_change_blocks(d.blind, md_cell))]


def _diff_section(d: DiffResult, answer_chars: int) -> list[str]:
    id_a, id_b = md_cell(d.run_a.run_id), md_cell(d.run_b.run_id)
    out = ["", f"## Change {id_a} → {id_b}", "",
           "Headline (per family of prompt kinds, never pooled):", ""]
    out += _table(
        ["headline", "kinds", *CHANGE_HEADERS],
        [[md_cell(m.title), "+".join(m.kinds), *_change_cells(m)] for m in d.headline.values()],
    )
    out += ["", md_cell(classifier_error_line(d.classifier_error))]
    cor = corrected_rows(d.headline)
    if cor:
        cells = [[md_cell(x) for x in r] for r in cor]
        out += ["", *_table(["corrected", "A", "B", "change [95% CI]"], cells)]
    out += [
        "",
        "By group (censored, all kinds of the group):",
        "",
        f"Paired {d.pairing.paired} responses of {d.pairing.prompts} prompts. "
        "Change: per-prompt mean change [95% t CI]; p: per-prompt paired sign-flip test "
        f"(= exact McNemar with one sample per prompt), {d.correction}-adjusted across "
        "groups (* = significant at 0.05); h: Cohen's h; MDC80: change detectable with 80% "
        "power.",
        "",
    ]
    out += _table(
        ["by", "group", *CHANGE_HEADERS],
        [[md_cell(g.by), md_cell(g.group), *_change_cells(g.metrics["censored"])]
         for g in d.groups],
    )
    out += _coverage_section(d)
    out += _bypass_change_section(d)
    out += _internals_section(d)
    out += _blind_section(d)
    out += ["", f"### Flipped prompts ({len(d.flips)})", ""]
    if d.flips:
        out += _table(
            ["prompt id", "language", "A", "B", "prompt", "answer A", "answer B"],
            [[md_cell(f.probe_id), md_cell(f.language), f.label_a, f.label_b,
              md_cell(f.prompt, 200), md_cell(f.answer_a, answer_chars),
              md_cell(f.answer_b, answer_chars)] for f in d.flips],
        )
    return out
