"""The report's figures: what they draw when a run is large."""

from __future__ import annotations

from biasprobe.report.plots import HEATMAP_TOPICS, heatmap_svg
from biasprobe.results import Heatmap, Rate


def _rate(n: int) -> Rate:
    return Rate(k=n // 2, n=n, rate=(n // 2) / n, ci_low=0.0, ci_high=1.0)


def test_a_heatmap_of_many_topics_draws_the_most_answered() -> None:
    # 120 topics (an imported run whose prompts each have their own topic); topic i has i + 1
    # answers in English, so the drawn ones are the last 40, in their own order.
    topics = [f"topic-{i:03d}" for i in range(120)]
    hm = Heatmap(metric="censored", topics=topics, languages=["en", "zh"],
                 cells=[[_rate(i + 1), None] for i in range(120)])
    svg = heatmap_svg(hm, "run-a: censored rate")
    assert svg is not None
    assert f"the {HEATMAP_TOPICS} of 120 topics most answered" in svg
    drawn = [t for t in topics if t in svg]
    assert drawn == topics[120 - HEATMAP_TOPICS:]
    small = heatmap_svg(Heatmap(metric="censored", topics=topics[:3], languages=["en"],
                                cells=[[_rate(4)]] * 3), "run-a: censored rate")
    assert small is not None and "most answered" not in small and "topic-002" in small
