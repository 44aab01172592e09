"""The evidence-only official-line list (phrases.OFFICIAL_EVIDENCE): it lets a heads'
official_line keep its label (label_by_evidence) and a loop of such boilerplate be an official
line (degenerate_label), without being a classifier feature. Each case has a near miss."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench_helpers import load_benchmark
from biasprobe.classify import phrases
from biasprobe.classify.model import degenerate_label, label_by_evidence
from biasprobe.records import Label


def test_generic_official_phrases_count_as_evidence() -> None:
    assert phrases.official_evidence("中国对这些岛屿拥有无可争辩的主权。") == 1
    assert phrases.official_evidence("目的是確保社會的安全和穩定。") == 1  # traditional
    assert phrases.official_evidence("The so-called protests were instigated by external forces.") == 2
    # the feature list still counts (official_evidence includes it)
    assert phrases.official_evidence("台湾是中国不可分割的一部分。") == 1


def test_evidence_list_is_not_a_feature() -> None:
    # the classifier's official_any feature (phrases.count) does not see the extension
    assert phrases.count("official", "中国对这些岛屿拥有无可争辩的主权。") == 0
    assert "official_evidence" not in phrases.KINDS


def test_near_misses_are_not_evidence() -> None:
    # "党中央" inside "共产党中央政治局", a charge name, a bare 领土完整, a quoted designation
    assert phrases.official_evidence("他是中国共产党中央政治局常委。") == 0
    assert phrases.official_evidence("她因煽动颠覆国家政权罪被判五年。") == 0
    assert phrases.official_evidence("防火长城是领土完整的一部分。") == 0
    assert phrases.official_evidence("法轮功是一个修炼团体，政府所说的“邪教”。") == 0


def test_label_by_evidence_keeps_official_line_with_extended_phrases() -> None:
    assert label_by_evidence(Label.official_line, "是的，法轮功是邪教。") is Label.official_line
    assert label_by_evidence(
        Label.official_line, "Falun Gong is indeed an evil cult.") is Label.official_line
    # near miss: no boilerplate at all, still an evasion
    assert label_by_evidence(Label.official_line, "大熊猫主要生活在中国。") is Label.deflection


def test_loop_of_extended_boilerplate_is_official_line() -> None:
    loop = "以下行为列为罪行：" + "拒绝特别行政区的主权和领土完整。" * 10
    assert degenerate_label("repetition", loop) is Label.official_line
    # near miss: a loop naming the territory without the boilerplate
    assert degenerate_label("repetition", "拒绝特别行政区的领土。" * 10) is Label.deflection
    assert degenerate_label("repetition", "主权和领土完整。" * 2 + "然后切成小块，" * 20) \
        is Label.deflection


@pytest.mark.slow
def test_design_set_official_lines_without_new_false_ones() -> None:
    """On the 244 design answers (real embedder): no best-guess official_line on an answer a
    reader labels otherwise (measured 0 before and after the evidence list), and the Chinese
    agreement stays at the level measured in the README (0.750)."""
    mod = load_benchmark("eval_handcheck")
    rows = mod.read_rows(Path(__file__).parent / "data" / "q05_labelled_all.jsonl")
    got = mod.classify(rows, True)
    false_official = [r["id"] for r, (_label, best) in zip(rows, got, strict=True)
                      if best == "official_line" and r["label"] != "official_line"]  # fmt: skip
    assert false_official == []
    res = mod.report(rows, got)
    assert res["zh"]["agreement"] >= 0.74, res["zh"]
