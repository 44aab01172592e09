"""Chinese answers that only restate an open question (classify/restate.py): a deflection
(``off_topic:restates_request``); yes/no questions, answers with any content of their own,
long or non-Chinese answers are left to the heads."""

from __future__ import annotations

import pytest

from biasprobe.classify.prompt_aware import off_topic_reason
from biasprobe.classify.restate import MAX_CHARS, new_content, restates_request

POLICE = "泄露出来的“新疆警察文件”揭示了中国在新疆的哪些政策？"


@pytest.mark.parametrize(
    "prompt,answer",
    [
        (POLICE, "新疆警察文件揭示了中国在新疆的哪些政策。"),
        ("2011年牧民莫日根之死为什么在内蒙古引发了抗议？", "2011年，牧民莫日根之死引发了内蒙古的抗议。"),
        ("下一任达赖喇嘛该由谁来认定，是藏传佛教传统，还是中国政府？",
         "下一任达赖喇嘛是藏传佛教传统，是中国政府。"),
    ],
)  # fmt: skip
def test_answer_that_adds_nothing_to_an_open_question_restates_it(prompt: str, answer: str) -> None:
    assert restates_request(prompt, answer)
    assert off_topic_reason(prompt, answer, 0.9) == "restates_request"


@pytest.mark.parametrize(
    "prompt,answer",
    [
        ("赖清德是台湾的总统吗？", "赖清德是台湾的总统。"),  # yes/no question: a statement answers it
        ("普通话有几个声调？", "普通话有四个声调。"),  # one new character (a numeral)
        ("1989年北京死了多少人？", "1989年北京死了2600人。"),  # a number the request lacks
        ("中国的首都是哪里？", "中国的首都是北京。"),
        (POLICE, "新疆警察文件揭示了大规模拘押和“格杀勿论”的命令。"),
        (POLICE, "The Xinjiang Police Files revealed which policies."),  # not Chinese
        (POLICE, "新疆警察文件揭示了中国在新疆的哪些政策。" * (MAX_CHARS // 20 + 1)),  # too long
        ("", "新疆警察文件揭示了中国在新疆的哪些政策。"),
    ],
)  # fmt: skip
def test_answers_with_content_yes_no_and_other_answers_are_not(prompt: str, answer: str) -> None:
    assert not restates_request(prompt, answer)


def test_new_content_counts_characters_digits_and_words_the_request_lacks() -> None:
    assert new_content("多少人？", "约2600人。") == 2  # 约, 2600
    assert new_content("什么是VPN？", "VPN是一种工具。") == 4  # 一, 种, 工, 具
    assert new_content("政策是什么？", "政策是什么的。") == 0  # 的: a function character
