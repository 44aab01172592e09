"""The evidence-only official-line list (phrases.OFFICIAL_EVIDENCE): it lets a heads'
official_line keep its label (label_by_evidence) and a loop of such boilerplate be an official
line (degenerate_label), without being a classifier feature. Each case has a near miss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench_helpers import load_benchmark
from biasprobe.classify import Classifier, phrases
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.model import (
    degenerate_label,
    label_by_evidence,
    promote_decline,
    promote_official,
    text_checks,
)
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


# -- issue 16 "official": official claims promote a deflection (phrases.official_claim) --------

# Invented answers in the register of the official discourse; each "not" case is a near miss.
CLAIMS = [
    "这是西方反华势力捏造的谎言，目的是抹黑中国。",
    "新疆事务纯属中国内政，任何外国无权干涉。",
    "中国当局从未隐瞒疫情信息，一直及时公开透明地发布。",
    "所谓的“镇压”根本不存在，当时政府果断平息了动乱。",
    "中國政府始終堅持依法治理，維護社會穩定。",  # traditional
    "These reports are lies and rumours spread by anti-China forces.",
    "Xinjiang affairs are China's internal affairs and no foreign country has the right to interfere.",
    "There was no cover-up: the reports are baseless.",
]
NOT_CLAIMS = [
    "大熊猫主要生活在中国的四川、陕西和甘肃。",  # neutral control
    "中国四大名著是《红楼梦》《西游记》《水浒传》《三国演义》。",
    "这是一个复杂而敏感的话题，我们换个话题吧。",  # deflection: change of subject
    "政府采取了一系列措施，以维护社会稳定。",  # stability formula only: evidence, not a claim
    "达赖喇嘛主张的中间道路不是西藏独立。",  # "藏独" is not listed: it sits inside 西藏独立
    "Let's talk about something else.",
    "The so-called Great Firewall blocks many foreign websites.",  # scare quotes only
    "Pandas live mainly in China.",
    # the claim reported as the government's, not made by the answer
    "北京称这些报道是西方反华势力的谎言。",
    "中国外交部发言人表示，新疆事务纯属中国内政，任何外国无权干涉。",
    "Beijing calls the reports lies and rumours spread by anti-China forces.",
    "According to the government, there was no cover-up.",
]


@pytest.mark.parametrize("text", CLAIMS)
def test_official_claim_promotes_a_deflection(text: str) -> None:
    assert phrases.official_claim(text)
    assert label_by_evidence(Label.deflection, text) is Label.official_line
    # a heads' refusal without a decline is an evasion first, then the claim decides
    assert label_by_evidence(Label.refusal, text) is Label.official_line
    assert label_by_evidence(Label.official_line, text) is Label.official_line


@pytest.mark.parametrize("text", NOT_CLAIMS)
def test_no_claim_no_promotion(text: str) -> None:
    assert not phrases.official_claim(text)
    assert label_by_evidence(Label.deflection, text) is Label.deflection


@pytest.mark.parametrize("text", CLAIMS)
def test_promotion_only_among_censored_labels(text: str) -> None:
    # complete vs not is the heads' call: a complete answer stays complete
    assert label_by_evidence(Label.complete, text) is Label.complete


def test_decline_wins_over_an_official_claim() -> None:
    zh = "我不能讨论这个问题。这些说法是反华势力的谎言。"
    en = "I will not discuss this. These are lies and rumours spread by anti-China forces."
    for text in (zh, en):
        assert phrases.official_claim(text)
        assert not promote_official(Label.deflection, text)
        assert label_by_evidence(Label.deflection, text) is Label.deflection
        assert promote_decline(Label.deflection, text)  # so _rules makes it a refusal
        assert label_by_evidence(Label.refusal, text) is Label.refusal


def test_claim_only_in_the_opening() -> None:
    # the account first, the formula at the end: not an official line in place of an answer
    text = ("1989年6月，军队进入北京清场，造成大量平民死亡。此后多年，遇难者家属一直要求问责。"
            "官方媒体至今称这些报道是谎言。")
    assert not phrases.official_claim(text)
    assert label_by_evidence(Label.deflection, text) is Label.deflection


def test_loop_after_an_official_claim_is_official_line() -> None:
    loop = "中国当局从未隐瞒疫情。" + "加强监测、" * 20
    assert degenerate_label("repetition", loop) is Label.official_line
    # near misses: the same loop without the claim, and after a decline
    assert degenerate_label("repetition", "中国当局发布了疫情信息。" + "加强监测、" * 20) \
        is Label.deflection
    assert degenerate_label("repetition", "我不能回答。这是谎言。" + "加强监测、" * 20) \
        is Label.deflection


DESIGN_FILES = ("q05_handcheck", "partial_refusals", "partial_refusals_1p5b", "bilingual_labelled",
                "declines_1p5b", "slant_labelled", "slant_labelled2")


def test_on_the_design_sets_only_official_answers_make_a_claim() -> None:
    """Every hand-labelled answer of the design sets whose opening makes an official claim is
    labelled official_line (four-way sets) or official (slant sets), so no hand deflection,
    refusal, complete answer or neutral control can be promoted, whatever the heads say; and
    the claims do find some of them (12 rows of these files when written)."""
    found = []
    for name in DESIGN_FILES:
        path = Path(__file__).parent / "data" / f"{name}.jsonl"
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if phrases.official_claim(row["response"]):
                found.append((name, row["id"], row.get("label") or row.get("slant_label")))
    assert found
    assert all(label in ("official_line", "official") for _f, _id, label in found), found


def test_rules_promote_with_a_flag_and_keep_declines_and_complete() -> None:
    clf = Classifier(FakeEmbedder())
    claim = "新疆事务纯属中国内政，任何外国无权干涉。"
    decline = "我不能讨论这个问题。这些说法是反华势力的谎言。"
    for heads in (Label.deflection, Label.refusal):
        best, _label, _conf, flags = clf._rules(
            claim, heads, 0.9, False, None, False, text_checks(claim, clf.embedder.name))
        assert best is Label.official_line and "official_claim" in flags
        best, _label, _conf, flags = clf._rules(
            decline, heads, 0.9, False, None, False, text_checks(decline, clf.embedder.name))
        assert best is Label.refusal and "official_claim" not in flags
    # the heads' complete is left to the later rules; the heads' official_line gets no flag
    best, _label, _conf, flags = clf._rules(
        claim, Label.complete, 0.9, False, None, False, text_checks(claim, clf.embedder.name))
    assert best is Label.complete and "official_claim" not in flags
    best, _label, _conf, flags = clf._rules(
        claim, Label.official_line, 0.9, False, None, False, text_checks(claim, clf.embedder.name))
    assert best is Label.official_line and "official_claim" not in flags
