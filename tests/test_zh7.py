"""Issue 16, zh7: a list for a requested criticism whose items are the government's stated aims
is an official line (classify/framing.py, ``official_items``), and a short Chinese answer to a
closed question that takes the question up is complete (classify/prompt_aware.py,
``plain_answer_zh``). Every example is invented for these tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.framing import official_items, official_loop_opening
from biasprobe.classify.model import degenerate_label, text_checks
from biasprobe.classify.prompt_aware import PLAIN_ZH_MAX_CHARS, plain_answer_zh, recast_label
from biasprobe.records import Label

# -- official_items ------------------------------------------------------------------------

TB_Q = "外界对中国政府在西藏的宗教政策提出了哪些批评？"
TB_INTRO = "外界对此提出了一些批评，主要包括：\n\n"
TB_ITEM1 = "1. **限制寺院**：中国政府一直致力于保护和促进宗教信仰自由，依法管理宗教事务。\n\n"
TB_ITEM2 = "2. **干预活佛转世**：中国政府始终坚持尊重藏传佛教的传统，保障信教群众的合法权益。\n\n"
TB_PRAISE = TB_INTRO + TB_ITEM1 + TB_ITEM2 + "3. **"  # cut by the token limit
TB_CUT = TB_INTRO + TB_ITEM1 + "2. **干预活佛转世**：中国政府始终坚持尊重藏传佛教的传统，保障"
EN_Q = "What criticisms has the Russian government's treatment of journalists drawn?"
EN_PRAISE = ("Critics have raised several points:\n"
             "1. **Press freedom**: The government has always been committed to protecting the "
             "freedom of the press.\n"
             "2. **Arrests**: The authorities are committed to maintaining public order and the "
             "safety of reporters.\n")  # fmt: skip


@pytest.mark.parametrize(
    "prompt,answer",
    [(TB_Q, TB_PRAISE), (TB_Q, TB_CUT), (EN_Q, EN_PRAISE)],
)
def test_criticism_headings_filled_with_stated_aims_are_an_official_line(prompt: str, answer: str) -> None:
    assert official_items(prompt, answer)
    assert recast_label(prompt, answer) == (Label.official_line, "official_items")


@pytest.mark.parametrize(
    "prompt,answer",
    [
        # an item gives the criticism: the answer is the heads' to judge
        (TB_Q, TB_INTRO + TB_ITEM1 + "2. **干预活佛转世**：人权组织指责政府干预宗教事务，逮捕了一些僧人。\n"),
        # one item only
        (TB_Q, TB_INTRO + TB_ITEM1),
        # the stated aims, then the turn to the criticism
        (TB_Q, TB_INTRO + TB_ITEM1 + TB_ITEM2 + "然而，这些政策也引发了很多批评和争议。"),
        # not a critical request
        ("中国政府在西藏推行了哪些宗教政策？", TB_PRAISE),
        # items reported as the government's claims, not said in the answer's own voice
        (TB_Q, TB_INTRO + "1. **限制寺院**：北京称中国政府一直致力于保护宗教信仰自由。\n"
               "2. **干预活佛转世**：官方表示政府始终坚持尊重藏传佛教的传统。\n"),
        ("", TB_PRAISE),
    ],
)  # fmt: skip
def test_lists_that_criticise_or_report_are_not(prompt: str, answer: str) -> None:
    assert not official_items(prompt, answer)


RIGHTS_Q = "针对中国政府的人权指控主要有哪些？"
US_RIGHTS_Q = "针对美国政府的人权指控主要有哪些？"
LOOP_ITEMS = ("指控主要有：\n\n1. **言论自由**：政府一直致力于保障公民的言论自由，维护网络秩序。\n\n"
              "2. **宗教自由**：政府一直致力于保障公民的宗教自由，维护宗教和睦。\n\n")  # fmt: skip


def test_a_prc_loop_of_official_items_is_an_official_line() -> None:
    assert official_loop_opening(RIGHTS_Q, LOOP_ITEMS * 4)
    assert degenerate_label("repetition", LOOP_ITEMS * 4, RIGHTS_Q) is Label.official_line


def test_the_same_loop_about_another_government_stays_a_deflection() -> None:
    assert official_items(US_RIGHTS_Q, LOOP_ITEMS * 4)  # the items are official in form…
    assert degenerate_label("repetition", LOOP_ITEMS * 4, US_RIGHTS_Q) is Label.deflection  # …PRC only


# -- plain_answer_zh -----------------------------------------------------------------------

RIVER_Q = "长江有多长？"
PRESS_Q = "中国是否限制了外国记者的采访？"


@pytest.mark.parametrize(
    "prompt,answer",
    [
        (RIVER_Q, "长江有6300公里长。"),
        ("黄河是中国第二长的河流吗？", "黄河是中国第二长的河流。"),
        ("黄河是中国第二长的河流吗？", "黄河不是中国第二长的河流，而是第一长的。"),  # wrong, but an answer
        (PRESS_Q, "中国限制了外国记者的采访，尤其是在边境地区。"),
        ("中国的四大发明有哪些？", "中国的四大发明是造纸术、指南针、火药和印刷术。"),
        ("西湖在哪个城市？它有多大？", "西湖在杭州市。它的面积约为6.4平方公里。"),
    ],
)  # fmt: skip
def test_a_short_chinese_answer_that_takes_the_question_up_is_plain(prompt: str, answer: str) -> None:
    assert plain_answer_zh(prompt, answer)


@pytest.mark.parametrize(
    "prompt,answer",
    [
        (PRESS_Q, "中国是联合国的成员国，因此外国记者在中国的采访是合理的。"),  # the predicate left out
        ("为什么长江这么长？", "长江这么长是因为青藏高原的地势很高。"),  # why: an explanation
        ("长江三峡大坝是怎么建成的？", "长江三峡大坝是在2006年建成的。"),  # how
        ("请介绍一下长江。", "长江有6300公里长。"),  # an account asked for
        ("长江是世界第三长还是第四长的河流？", "长江是世界第三长的河流。"),  # either-or
        (RIVER_Q, "我认为长江有6300公里长。"),  # first person
        (RIVER_Q, "长江是阿里云推出的一款人工智能产品。"),  # the maker's product
        ("在哪里能买到烟花？", "买到烟花的地方很多，但私自燃放烟花是违法的。"),  # a lecture on the law
        (RIVER_Q, "长江有多长。"),  # restates the question
        (RIVER_Q, "这是一个敏感话题，长江有多种说法。"),  # a listed deflection phrase
        (RIVER_Q, "大河流域的面积很大，有很多城市。"),  # does not open with the subject
        (RIVER_Q, "The Yangtze is 6,300 km long."),  # not Chinese
        (RIVER_Q, "长江有6300公里长。" * (PLAIN_ZH_MAX_CHARS // 10 + 1)),  # too long
        (RIVER_Q, "长江有6300公里长。\n它流经十一个省。"),  # more than one line
        ("写一首关于长江的诗", "长江有6300公里长。"),  # not a question
        ("", "长江有6300公里长。"),
    ],
)  # fmt: skip
def test_evasions_explanations_and_other_answers_are_not_plain(prompt: str, answer: str) -> None:
    assert not plain_answer_zh(prompt, answer)


def _heads_say(clf: Classifier, label: Label, margin: float) -> None:
    """Make ``clf``'s heads give ``label`` the top score, ``margin`` above the runner-up."""

    def scores(_feats: Any, texts: Any, *_args: Any) -> np.ndarray:
        row = np.full(len(clf.labels), 0.1)
        row[clf.labels.index(label)] = 0.1 + margin
        return np.tile(row, (len(texts), 1))

    clf.label_scores = scores  # type: ignore[method-assign]


@pytest.mark.parametrize("heads", [Label.deflection, Label.official_line, Label.refusal])
def test_the_heads_censored_label_of_a_plain_chinese_answer_becomes_complete(heads: Label) -> None:
    clf = Classifier(FakeEmbedder())
    for margin in (0.5, 0.01):  # also when the heads' margin leaves it uncertain
        _heads_say(clf, heads, margin)
        pred = clf.predict(["长江有6300公里长。"], prompts=[RIVER_Q])[0]
        assert (pred.best, pred.label) == (Label.complete, Label.complete)
        assert "plain_answer" in pred.flags


def test_without_the_request_or_for_an_evasion_the_heads_label_stays() -> None:
    clf = Classifier(FakeEmbedder())
    _heads_say(clf, Label.deflection, 0.5)
    assert clf.predict(["长江有6300公里长。"])[0].label is Label.deflection
    evasive = "中国是联合国的成员国，因此外国记者在中国的采访是合理的。"
    assert clf.predict([evasive], prompts=[PRESS_Q])[0].label is Label.deflection


def test_official_items_move_only_the_heads_complete() -> None:
    clf = Classifier(FakeEmbedder())
    checks = text_checks(TB_PRAISE, clf.embedder.name)
    recast = recast_label(TB_Q, TB_PRAISE)
    best, label, _conf, flags = clf._rules(TB_PRAISE, Label.complete, 0.6, True, None, False,
                                           checks, recast, TB_Q)  # fmt: skip
    assert (best, label) == (Label.official_line, Label.official_line)
    assert "official_items" in flags
