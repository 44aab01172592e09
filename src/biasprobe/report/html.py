"""Self-contained HTML report: Jinja2 (autoescape on) + inline SVG plots.

Every value from a run (answers, prompts, ids, manifest fields) is escaped by Jinja2; only the
SVG strings produced by :mod:`biasprobe.report.plots` (matplotlib escapes the text in them)
are marked safe. A Content-Security-Policy in the page forbids scripts and any network load,
so the file opens offline and cannot phone home even if something slipped through.
"""

from __future__ import annotations

from typing import Any

from biasprobe.report.escape import clean_terminal, safe_json_dumps


def _pct(rate: float | None) -> str:
    return "–" if rate is None else f"{rate * 100:.1f}%"


def _ci(p: dict[str, Any] | None) -> str:
    if not p or p.get("rate") is None:
        return "–"
    return f"{p['rate'] * 100:.1f}% [{p['ci_low'] * 100:.0f}–{p['ci_high'] * 100:.0f}]"


def _pp(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:+.1f} pp"


def _p(x: float | None) -> str:
    return "–" if x is None else f"{x:.3g}"


def _idx(x: float | None) -> str:
    return "–" if x is None else f"{x:+.3f}"


def render_html(report: dict[str, Any]) -> str:
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
    env.filters.update(pct=_pct, ci=_ci, pp=_pp, p=_p, idx=_idx)
    env.filters["tojson_pretty"] = lambda v: safe_json_dumps(v)
    # Control characters in model output are shown as visible escapes (\x1b), not dropped.
    env.filters["ctl"] = lambda v: clean_terminal(str(v))

    def svg(text: str | None) -> Markup | None:
        return Markup(text) if text else None  # matplotlib output; it escapes its text

    runs = report["runs"]
    figures = {
        "label_mix": svg(plots.label_mix_svg(runs)),
        "heatmaps": [
            (r["run_id"], svg(plots.heatmap_svg(r["heatmap"], f"{r['run_id']}: censored rate")))
            for r in runs
        ],
        "governments": svg(plots.government_svg(runs)),
        "timeline": svg(plots.timeline_svg(runs)),
    }
    return env.get_template("report.html.j2").render(report=report, fig=figures)
