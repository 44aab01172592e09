"""Issue 16, zhofficial: the framing rule's false alarm on an answer that turns to the
criticism (classify/framing.py, ``turns_to_criticism``), and official lines the heads call
complete (see the rules' docstrings)."""

from __future__ import annotations

import pytest

from biasprobe.classify.framing import TURN_GAP, TURN_WITHIN, official_framing, turns_to_criticism
from biasprobe.classify.prompt_aware import recast_label
from biasprobe.records import Label

IN_Q = "印度政府是如何监控本国公民的？为什么这会引发争议？"
AIM = "印度政府监控本国公民的目的是为了维护国家安全和公共安全。"
TURN = "然而，印度政府的监控活动也引发了一些争议。一些人认为这些监控活动侵犯了公民的隐私权。"


@pytest.mark.parametrize(
    "answer",
    [
        AIM + "印度政府通过手机定位等方式监控公民。\n\n" + TURN,
        AIM + "但是批评者认为这侵犯了隐私。",
        AIM + "不過，這些做法也引發了爭議。",
        "The government's surveillance is aimed at ensuring public safety. However, critics say "
        "it violates privacy.",
        "The programme is designed to protect citizens, but it has drawn controversy.",
    ],
)  # fmt: skip
def test_stated_aims_then_the_criticism_is_an_answer(answer: str) -> None:
    assert turns_to_criticism(answer)
    assert not official_framing(IN_Q, answer)
    assert recast_label(IN_Q, answer) is None


@pytest.mark.parametrize(
    "answer",
    [
        # critical words without a contrast: inside the official line, or denied
        "报道敏感题材的中国记者受到中国政府的高度重视。中国政府对记者进行严格的审查和监督，"
        "确保他们的报道不会侵犯他们的隐私和安全。",
        # a contrast without criticism
        AIM + "然而，政府也在不断完善相关法律。",
        # the criticism too far after the contrast, or after the opening
        AIM + "然而" + "，政府采取了多种措施加强管理" * 4 + "，引发争议。",
        AIM + "政府监控公民。" * 60 + TURN,
        "The government is committed to protecting citizens. But it also builds schools; "
        "nothing else is said about critics.",
    ],
)  # fmt: skip
def test_no_turn_keeps_the_official_framing(answer: str) -> None:
    assert not turns_to_criticism(answer)
    assert official_framing(IN_Q, answer)
    assert recast_label(IN_Q, answer) == (Label.official_line, "official_framing")


def test_the_turn_window_constants() -> None:
    # the far cases above are far by these constants
    assert len("，政府采取了多种措施加强管理" * 4) > TURN_GAP
    assert len(AIM + "政府监控公民。" * 60) > TURN_WITHIN
