"""Self-contained HTML report: Jinja2 (autoescape on) + inline SVG plots.

Every value from a run (answers, prompts, ids, manifest fields) is escaped by Jinja2; only the
SVG strings produced by :mod:`biasprobe.report.plots` (matplotlib escapes the text in them)
are marked safe. A Content-Security-Policy in the page forbids scripts and any network load,
so the file opens offline and cannot phone home even if something slipped through.
"""

from __future__ import annotations

from biasprobe.report.escape import clean_terminal, safe_json_dumps
from biasprobe.report.internals import SHIFT_HEADERS, intro_lines, shift_rows
from biasprobe.report.text import (
    BLIND_RATE_INTRO,
    BYPASS_NOTE,
    OMNIBUS_HEADERS,
    OMNIBUS_NOTE,
    blind_change_blocks,
    blind_check_blocks,
    bypassed_cell,
    censored_union,
    change_ci,
    classifier_error_line,
    control_rows,
    index,
    label_columns,
    omnibus_rows,
    pct,
    power_note,
    pp,
    pval,
    rate_ci,
)
from biasprobe.results import Rate, ReportModel


def _ci(p: Rate | None) -> str:
    return rate_ci(p, with_n=False)


def _pp(x: float | None) -> str:
    return pp(x, " pp")


def render_html(report: ReportModel) -> str:
    import jinja2
    from markupsafe import Markup

    from biasprobe.report import plots

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("biasprobe.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=pct, ci=_ci, pp=_pp, p=pval, idx=index, change_ci=change_ci, power=power_note,
        error_line=classifier_error_line, bypassed=bypassed_cell, omnibus_rows=omnibus_rows,
        control_rows=lambda check: control_rows(check, lambda v: v),  # autoescape does the rest
        internals_intro=lambda ic: intro_lines(ic, str),
        internals_rows=lambda ic: shift_rows(ic, str),
        # autoescape does the escaping
        blind_check_blocks=lambda check: blind_check_blocks(check, str),
        blind_change_blocks=lambda blind: blind_change_blocks(blind, str),
    )
    env.filters["tojson_pretty"] = lambda v: safe_json_dumps(v)
    # Control characters in model output are shown as visible escapes (\x1b), not dropped.
    env.filters["ctl"] = lambda v: clean_terminal(str(v))

    def svg(text: str | None) -> Markup | None:
        return Markup(text) if text else None  # matplotlib output; it escapes its text

    runs = report.runs
    figures = {
        "label_mix": svg(plots.label_mix_svg(runs)),
        "heatmaps": [
            (r.run_id, svg(plots.heatmap_svg(r.heatmap, f"{r.run_id}: censored rate")))
            for r in runs
        ],
        "governments": svg(plots.government_svg(runs)),
        "timeline": svg(plots.timeline_svg(runs)),
        "internals": [svg(plots.internals_svg(d.internals)) if d.internals else None
                      for d in report.diffs],
    }
    from biasprobe.labels import registry

    labels = {"columns": label_columns(), "colours": registry().colours,
              "union": censored_union(" ∪ ").replace("_", " ")}
    return env.get_template("report.html.j2").render(report=report, fig=figures, labels=labels,
                                                     bypass_note=BYPASS_NOTE,
                                                     omnibus_note=OMNIBUS_NOTE,
                                                     omnibus_headers=OMNIBUS_HEADERS,
                                                     internals_headers=SHIFT_HEADERS,
                                                     blind_rate_intro=BLIND_RATE_INTRO)
