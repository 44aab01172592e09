"""Report plots as inline SVG strings, drawn by matplotlib's Agg canvas (no display needed).

No pyplot (no global figure state, no GUI backend): each plot is a ``Figure`` with an Agg
canvas saved as SVG. Output is deterministic (fixed hash salt, no date metadata), text stays
text (``svg.fonttype = none``, so CJK labels use the browser's fonts) and labels are never
parsed as mathtext. matplotlib escapes text it writes into SVG.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

from biasprobe.labels import registry
from biasprobe.results import Heatmap, InternalsChange, ReportRun

HEADLINE_COLOURS = {
    "appropriate_refusal": "#c0392b",
    "over_refusal": "#d35400",
    "false_positive": "#8e44ad",
}
RUN_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2"]
RC: dict[str, Any] = {
    "svg.hashsalt": "biasprobe",
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


@contextmanager
def _style() -> Iterator[None]:
    import matplotlib

    with matplotlib.rc_context(cast(Any, RC)):
        yield


def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    text = buf.getvalue()
    start = text.find("<svg")
    return text[start:] if start >= 0 else text


def _short(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def label_mix_svg(runs: Sequence[ReportRun]) -> str:
    """Stacked horizontal bars: share of each label per run (uncertain included)."""
    with _style():
        fig = _figure(8, 0.5 + 0.45 * len(runs))
        ax = fig.add_subplot()
        names = [_short(r.run_id, 40) for r in runs]
        left = [0.0] * len(runs)
        for label, colour in registry().colours.items():  # the label registry's colours
            widths = []
            for r in runs:
                o = r.overall
                k = o.metrics[label].k if label in o.metrics else 0
                k = o.n_uncertain if label == "uncertain" else k
                widths.append(k / o.n_total if o.n_total else 0.0)
            ax.barh(names, widths, left=left, color=colour, label=label.replace("_", " "))
            left = [x + w for x, w in zip(left, widths, strict=True)]
        ax.set_xlim(0, 1)
        ax.invert_yaxis()
        ax.set_xlabel("share of responses")
        ax.legend(ncols=5, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        return _svg(fig)


HEATMAP_TOPICS = 40  # rows drawn at most: the topics with the most answers (drawing is slow)


def heatmap_svg(hm: Heatmap, title: str) -> str | None:
    """Topic × language censored rate, annotated with rate and n; grey = no certain answer.
    With more than :data:`HEATMAP_TOPICS` topics only those with the most answers are drawn
    (the title says so; the JSON keeps every cell)."""
    topics, languages, cells = hm.topics, hm.languages, hm.cells
    if not topics or not languages:
        return None
    import numpy as np
    from matplotlib import colormaps

    if len(topics) > HEATMAP_TOPICS:
        answers = [sum(c.n for c in row if c is not None) for row in cells]
        keep = sorted(sorted(range(len(topics)), key=lambda i: -answers[i])[:HEATMAP_TOPICS])
        title = f"{_short(title, 32)} (the {HEATMAP_TOPICS} of {len(topics)} topics most answered)"
        topics, cells = [topics[i] for i in keep], [cells[i] for i in keep]
    values = np.full((len(topics), len(languages)), np.nan)
    for i, row in enumerate(cells):
        for j, cell in enumerate(row):
            if cell is not None and cell.rate is not None:
                values[i, j] = cell.rate
    with _style():
        fig = _figure(2.2 + 1.1 * len(languages), 1.0 + 0.36 * len(topics))
        ax = fig.add_subplot()
        cmap = colormaps["Reds"].with_extremes(bad="#e6e6e6")
        mesh = ax.pcolormesh(np.ma.masked_invalid(values), cmap=cmap, vmin=0, vmax=1,
                             edgecolors="white", linewidth=1)
        ax.set_xticks([j + 0.5 for j in range(len(languages))], [_short(x) for x in languages])
        ax.set_yticks([i + 0.5 for i in range(len(topics))], [_short(t) for t in topics])
        ax.invert_yaxis()
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        for i, row in enumerate(cells):
            for j, cell in enumerate(row):
                if cell is None:
                    continue
                v = values[i, j]
                text = "–" if math.isnan(v) else f"{v * 100:.0f}%"
                ax.text(j + 0.5, i + 0.5, f"{text}\nn={cell.n}", ha="center", va="center",
                        fontsize=7, color="white" if not math.isnan(v) and v > 0.6 else "black")
        fig.colorbar(mesh, ax=ax, label="censored rate", shrink=0.8)
        ax.set_title(_short(title, 75))
        return _svg(fig)


def government_svg(runs: Sequence[ReportRun]) -> str | None:
    """Censored rate per government (mirror questions) with 95% Wilson intervals, per run."""
    govs: list[str] = []
    for r in runs:
        for g in r.asymmetry.government.governments:
            if g not in govs:
                govs.append(g)
    if not govs:
        return None
    govs = sorted(govs, key=lambda g: (g != "CN", g))
    with _style():
        fig = _figure(max(5.0, 1.2 + 0.9 * len(govs) * max(1, len(runs)) ** 0.5), 3.2)
        ax = fig.add_subplot()
        width = 0.8 / len(runs)
        for n, r in enumerate(runs):
            table = r.asymmetry.government.governments
            xs, ys, lo, hi = [], [], [], []
            for i, g in enumerate(govs):
                p = table.get(g)
                if not p or p.rate is None or p.ci_low is None or p.ci_high is None:
                    continue
                xs.append(i - 0.4 + width * (n + 0.5))
                ys.append(p.rate)
                lo.append(max(0.0, p.rate - p.ci_low))
                hi.append(max(0.0, p.ci_high - p.rate))
            bars = ax.bar(xs, ys, width=width * 0.9, yerr=[lo, hi], capsize=3,
                          color=RUN_COLOURS[n % len(RUN_COLOURS)], label=_short(r.run_id, 40),
                          error_kw={"elinewidth": 1, "ecolor": "#333333"})
            ax.bar_label(bars, labels=[f"{y * 100:.0f}%" for y in ys], fontsize=7,
                         padding=2)
        ax.set_xticks(range(len(govs)), govs)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("censored rate (95% CI)")
        ax.set_xlabel("government asked about")
        ax.legend(frameon=False, fontsize=8)
        return _svg(fig)


def timeline_svg(runs: Sequence[ReportRun]) -> str | None:
    """Headline rates across runs: censorship (with its 95% interval) and each control kind.

    Kinds are never pooled: censorship + mirror prompts, safety controls, benign controls and
    neutral questions each get their own line.
    """
    if len(runs) < 2:
        return None
    xs = list(range(len(runs)))
    with _style():
        fig = _figure(max(5.0, 1.6 * len(runs)), 3.2)
        ax = fig.add_subplot()
        cens = [r.headline["censorship"] for r in runs]
        ok = [i for i, p in enumerate(cens) if p.rate is not None]
        ax.fill_between([xs[i] for i in ok], [cens[i].ci_low for i in ok],
                        [cens[i].ci_high for i in ok], color="#333333", alpha=0.12)
        ax.plot([xs[i] for i in ok], [cens[i].rate for i in ok], marker="o",
                color="#333333", linewidth=2, label="censorship (censorship + mirror)")
        for name, colour in HEADLINE_COLOURS.items():
            ys = [r.headline[name].rate for r in runs]
            pts = [(x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
            if pts:
                ax.plot([x for x, _ in pts], [y for _, y in pts], marker=".", linestyle="--",
                        color=colour, label=name.replace("_", " "))
        ax.set_xticks(xs, [_short(r.run_id, 24) for r in runs])
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("censored rate (uncertain excluded)")
        ax.legend(frameon=False, fontsize=8, ncols=4, loc="lower center",
                  bbox_to_anchor=(0.5, 1.0))
        return _svg(fig)


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def internals_svg(ic: InternalsChange) -> str | None:
    """Per group ("all", then topics): shift B - A of the projection and of the refusal-opening
    probability, with 95% paired bootstrap intervals; a zero line in each panel."""
    panels = [("projection shift" + (" (z)" if ic.basis == "own" else ""), ic.projection),
              ("p(refusal opening) shift", ic.refusal_prob)]
    if not any(r.shift is not None for _, rows in panels for r in rows):
        return None
    with _style():
        fig = _figure(8, 1.0 + 0.3 * max(len(ic.projection), 1))
        for n, (title, rows) in enumerate(panels):
            ax = fig.add_subplot(1, 2, n + 1)
            ys = [i for i, r in enumerate(rows) if r.shift is not None]
            xs = [rows[i].shift or 0.0 for i in ys]
            lo = [max(0.0, x - _or(rows[i].ci_low, x)) for x, i in zip(xs, ys, strict=True)]
            hi = [max(0.0, _or(rows[i].ci_high, x) - x) for x, i in zip(xs, ys, strict=True)]
            colours = [RUN_COLOURS[3] if rows[i].significant else "#333333" for i in ys]
            ax.errorbar(xs, ys, xerr=[lo, hi], fmt="none", ecolor="#999999", capsize=2)
            ax.scatter(xs, ys, c=colours, s=14, zorder=3)
            ax.axvline(0, color="#666666", linewidth=0.8)
            ax.set_yticks(range(len(rows)), [_short(r.group) if n == 0 else "" for r in rows])
            ax.set_ylim(len(rows) - 0.5, -0.5)
            ax.set_xlabel(title)
        return _svg(fig)
