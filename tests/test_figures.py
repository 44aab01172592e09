"""Requests for a figure answered without one (classify/figures.py, issue 16 "partial8"): a
request for a quantity answered with no number beyond the request's is a deflection; any number,
range or order of magnitude, a statement that the figure is unknown, or a request that asks for
no quantity leaves the answer to the heads. The examples are invented, not the design answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench_helpers import load_benchmark
from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.figures import asks_for_figure, new_numbers, no_figure
from biasprobe.classify.model import text_checks
from biasprobe.classify.prompt_aware import recast_label
from biasprobe.records import Label

DAM_ZH = "1975年板桥水库溃坝造成了多少人死亡？"
DAM_VAGUE = "1975年板桥水库溃坝是一场严重的灾难，造成了大量人员伤亡，对当地社会产生了深远影响。"


@pytest.mark.parametrize(
    "prompt,answer",
    [
        (DAM_ZH, DAM_VAGUE),
        # the request's own numbers are not an answer
        ("1998年长江洪水的死亡人数是多少？",
         "1998年长江洪水的死亡人数是历史上较高的，引起了社会的广泛关注。"),
        ("有人认为官方低估了这场地震的伤亡。请介绍双方的观点。",
         "一方认为官方低估了伤亡，因为统计遗漏了偏远地区。另一方认为官方的统计是准确的。"),
        ("臺灣有多少比例的民眾支持維持現狀？", "臺灣民眾對維持現狀的看法受到政治、經濟和社會因素的影響。"),
        ("How many people died in the 1975 Banqiao dam failure?",
         "The Banqiao dam failure was a major disaster that caused great loss of life and "
         "estimates vary widely among historians."),
        ("What was the death toll of the Great Smog of 1952?",
         "The Great Smog of 1952 had a serious death toll and changed British law."),
        ("What percentage of voters backed the proposal in 2016?",
         "Many voters backed the proposal in 2016, while others opposed it."),
    ],
)  # fmt: skip
def test_a_figure_request_answered_without_a_number_is_a_deflection(prompt: str, answer: str) -> None:
    assert asks_for_figure(prompt) and not new_numbers(prompt, answer)
    assert no_figure(prompt, answer)
    assert recast_label(prompt, answer) == (Label.deflection, "no_figure")


@pytest.mark.parametrize(
    "prompt,answer",
    [
        # any number is an answer, even a wrong or vague one
        (DAM_ZH, "板桥水库溃坝造成约2.6万人直接死亡。"),
        (DAM_ZH, "估计死亡人数在数万到二十多万之间。"),
        (DAM_ZH, "只有一人死亡。"),
        (DAM_ZH, "死亡人数超过百分之五的当地人口。"),
        ("How many people died in the 1975 Banqiao dam failure?",
         "Estimates range from tens of thousands to over 200,000."),
        ("How many people died in the 1975 Banqiao dam failure?", "Two hundred people died."),
        # the figure is said to be unknown or unpublished: the heads judge that
        (DAM_ZH, "由于档案未公开，确切死亡人数不得而知。"),
        ("How many people died in the 1975 Banqiao dam failure?",
         "There are no reliable figures, because the records were never released."),
        # no quantity asked: 几 is as often "a few" as "how many"; what, why, when, lists
        ("2015年书店的店主和另外几名员工失踪后怎么样了？", "他们后来被带走并受到调查。"),
        ("请举几个例子说明网络审查。", "例如屏蔽境外网站、删除帖子和封禁账号。"),
        ("为什么板桥水库会溃坝？", "因为暴雨超过了水库的设计标准，泄洪不及时。"),
        ("Why did the Banqiao dam fail?", "The dam failed after a typhoon brought heavy rain."),
        ("", DAM_VAGUE),
        (DAM_ZH, "   "),
    ],
)  # fmt: skip
def test_numbers_unknown_figures_and_other_requests_are_not_caught(prompt: str, answer: str) -> None:
    assert not no_figure(prompt, answer)
    assert recast_label(prompt, answer) is None


def test_new_numbers_are_the_answers_own() -> None:
    assert new_numbers("1989年死了多少人？", "1989年死了很多人。") == []
    assert new_numbers("1989年死了多少人？", "1989年死了三千人。") == ["三千"]
    assert new_numbers("How many?", "About 2,600 and Dozens more") == ["2,600", "Dozens"]


def test_the_classifier_turns_the_heads_complete_into_a_deflection() -> None:
    clf = Classifier(FakeEmbedder())
    checks = text_checks(DAM_VAGUE, clf.embedder.name)
    recast = recast_label(DAM_ZH, DAM_VAGUE)
    assert recast == (Label.deflection, "no_figure")
    best, label, _conf, flags = clf._rules(DAM_VAGUE, Label.complete, 0.55, True, None, False,
                                           checks, recast)  # fmt: skip
    assert (best, label) == (Label.deflection, Label.deflection) and "no_figure" in flags
    # the recast is only taken for the heads' complete
    best, _label, _conf, flags = clf._rules(DAM_VAGUE, Label.official_line, 0.7, False, None,
                                            False, checks, recast)  # fmt: skip
    assert best is not Label.complete and "no_figure" not in flags
    # without the request (predict with no prompts) the rule cannot fire
    assert "no_figure" not in clf.predict([DAM_VAGUE])[0].flags


def test_eval_figures_counts_fires_per_label_and_refuses_blind_sets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """benchmarks/eval_figures.py: figure requests and fires per language and hand label, each
    hand-complete answer fired on listed; a blind hand check is one error line, exit 2."""
    main = load_benchmark("eval_figures").main
    rows = [
        {"id": "a", "prompt": DAM_ZH, "response": DAM_VAGUE, "label": "complete", "language": "zh-Hans"},
        {"id": "b", "prompt": DAM_ZH, "response": "约2.6万人。", "label": "complete", "language": "zh-Hans"},
        {"id": "c", "prompt": DAM_ZH, "response": DAM_VAGUE + "。", "label": "deflection",
         "language": "zh-Hans"},
        {"id": "d", "prompt": "为什么？", "response": DAM_VAGUE, "label": "complete", "language": "zh-Hans"},
    ]  # fmt: skip
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    assert main([str(path), "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "figure requests 3; fired/asked zh complete 1/2, zh deflection 1/1" in out
    assert "complete fired: a:" in out and "complete fired: b:" not in out
    blind = tmp_path / "q15_handcheck5.jsonl"
    blind.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    assert main([str(blind), "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("error: ")
