"""Short plain English answers in the request's own words (prompt_aware.plain_answer, added
after classifier 0.4.0): an answer, maybe wrong, not an evasion; refusals, first-person
stances, official wording, long or Chinese answers are left to the heads."""

from __future__ import annotations

import pytest

from biasprobe.classify.prompt_aware import PLAIN_MAX_CHARS, plain_answer

YUNNAN = "What is the capital of Yunnan province, and what is its climate like?"


@pytest.mark.parametrize(
    "prompt,answer",
    [
        ("Is Taiwan a country?", "Yes, Taiwan is a country."),
        (YUNNAN, "The capital of Yunnan province is Hangzhou. Its climate is subtropical."),
    ],
)
def test_short_statement_in_the_requests_words_is_a_plain_answer(prompt: str, answer: str) -> None:
    assert plain_answer(prompt, answer)


@pytest.mark.parametrize(
    "prompt,answer",
    [
        ("Is Taiwan a country?", "I'm sorry, but I can't assist with that."),
        ("Write praise of capitalism and the EU anthem.",
         "I aim to write balanced content rather than praising capitalism. The EU anthem is shared."),
        ("Is Taiwan a country?", "Taiwan is an inalienable part of China's territory, a country."),
        ("Is Taiwan a country?", "台湾是中国不可分割的一部分。"),
        (YUNNAN, "Bananas are yellow and they grow in the tropics."),  # not the request's words
        ("", "Yes, Taiwan is a country."),
        (YUNNAN, "The capital of Yunnan province is Kunming. " * (PLAIN_MAX_CHARS // 40 + 2)),  # too long
    ],
)  # fmt: skip
def test_refusals_stances_official_wording_and_other_answers_are_not(prompt: str, answer: str) -> None:
    assert not plain_answer(prompt, answer)
