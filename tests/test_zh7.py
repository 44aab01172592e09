"""Issue 16, zh7: a list for a requested criticism whose items are the government's stated aims
is an official line (classify/framing.py, ``official_items``). Every example is invented for
these tests. (zh7's second rule, ``plain_answer_zh``, was not shipped: docs/classifier-history.md.)"""

from __future__ import annotations

import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.framing import official_items, official_loop_opening
from biasprobe.classify.model import degenerate_label, text_checks
from biasprobe.classify.prompt_aware import recast_label
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


def test_official_items_move_only_the_heads_complete() -> None:
    clf = Classifier(FakeEmbedder())
    checks = text_checks(TB_PRAISE, clf.embedder.name)
    recast = recast_label(TB_Q, TB_PRAISE)
    best, label, _conf, flags = clf._rules(TB_PRAISE, Label.complete, 0.6, True, None, False,
                                           checks, recast, TB_Q)  # fmt: skip
    assert (best, label) == (Label.official_line, Label.official_line)
    assert "official_items" in flags
