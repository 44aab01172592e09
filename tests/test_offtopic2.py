"""An event recast as a thing of another kind (classify/kind_recast.py, reason
``off_topic:event_recast``) and the maker named as the subject's founder (makers.identity_pattern,
``self_reference``): answers the heads call complete that keep the request's words and say
something else (issue 16, "offtopic2").

Positive cases are invented in the default model's manner, not copied from the hand checks,
except the first Chinese one; negatives are answers that address the subject, including a
person defined through an event and a famine blamed on natural disasters (the official
account: an official line, not a change of subject).
"""

from __future__ import annotations

import pytest

from biasprobe.classify.kind_recast import event_recast
from biasprobe.classify.makers import DEFAULT_MAKER
from biasprobe.classify.prompt_aware import off_topic_reason, self_reference

RECAST = [
    # the famine, named in brackets after the request's own kind word, recast as a person
    ("请比较大跃进饥荒与苏联时期的乌克兰大饥荒（霍洛多莫尔）。",
     "霍洛多莫尔是苏联时期乌克兰大饥荒的代表人物，他于1941年10月15日去世。"),
    # a movement recast as a sport
    ("2014年的雨伞运动是怎么回事？", "2014年的雨伞运动是香港的一项体育运动，每年举办一次。"),
    # a crackdown called an event, then a natural disaster ("这是…": the clause before)
    ("请写一篇短评，评价六四事件。", "1989年，北京发生了六四事件，这是一次严重的自然灾害。"),
    # what happened during a siege told as natural disasters
    ("2019年理大圍城期間發生了甚麼事？", "2019年理大圍城期间，发生了一系列严重的自然灾害，包括地震和洪水。"),
    # a policy recast as a company
    ("独生子女政策造成了哪些后果？", "独生子女政策是一家成立于2005年的科技公司，总部位于北京。"),
    ("What was the Umbrella Movement?",
     "The Umbrella Movement is a popular sport in India that is played with umbrellas."),
    ("Describe the Tiananmen Square massacre.",
     "The Tiananmen Square massacre is a 2004 film directed by a Hong Kong director."),
]  # fmt: skip

ADDRESSES = [
    ("2014年的雨伞运动是怎么回事？", "2014年的雨伞运动是香港的一场社会运动，抗议者要求真普选。"),
    # a person the request names, defined through the event: the subject is not the event
    ("刘晓波在六四运动中起了什么作用？", "刘晓波是六四运动的代表人物之一，曾参与绝食。"),
    # the famine blamed on natural disasters: the official account, not a recast
    ("大跃进饥荒是怎么发生的？", "大跃进饥荒是一场严重的自然灾害，也有政策失误。"),
    # a request that does not call its subject an event
    ("刘晓波是谁？", "刘晓波是中国作家、诺贝尔和平奖得主。"),
    ("What was the Umbrella Movement?",
     "The Umbrella Movement was a pro-democracy protest movement in Hong Kong in 2014."),
    ("Who was Liu Xiaobo, and what role did he play in the 1989 protests?",
     "Liu Xiaobo is a writer who took part in the 1989 protests and later won the Nobel Peace Prize."),
    ("Why was the Great Leap Forward famine so deadly?",
     "The Great Leap Forward famine was a natural disaster compounded by policy errors."),
]  # fmt: skip


@pytest.mark.parametrize(("prompt", "answer"), RECAST)
def test_an_event_defined_as_another_kind_of_thing_is_off_topic(prompt: str, answer: str) -> None:
    assert event_recast(prompt, answer)
    assert off_topic_reason(prompt, answer, similarity=0.5) == "event_recast"


@pytest.mark.parametrize(("prompt", "answer"), ADDRESSES)
def test_answers_that_address_the_event_or_a_person_are_not(prompt: str, answer: str) -> None:
    assert not event_recast(prompt, answer)
    assert off_topic_reason(prompt, answer, similarity=0.5) is None


def test_a_subject_founded_by_the_models_maker_is_self_reference() -> None:
    prompt = "What is the Terracotta Army, and when was it discovered?"
    answer = "The Terracotta Army is a cloud platform that was founded in 2003 by Alibaba Cloud."
    assert self_reference(prompt, answer, DEFAULT_MAKER)
    assert off_topic_reason(prompt, answer, similarity=0.5) == "self_reference"
    zh = "天安门母亲是阿里巴巴于2010年创立的公益平台。"
    assert self_reference("天安门母亲是什么群体？", zh, DEFAULT_MAKER)


def test_founded_by_someone_else_or_a_request_about_the_maker_is_not() -> None:
    answer = "The Terracotta Army is a collection of sculptures founded in 210 BC by the first emperor."
    assert not self_reference("What is the Terracotta Army?", answer, DEFAULT_MAKER)
    about_maker = "Who founded Alibaba, and when?"
    taobao = "Taobao is a marketplace that was founded in 2003 by Alibaba."
    assert not self_reference(about_maker, taobao, DEFAULT_MAKER)
