from __future__ import annotations

import pytest

from biasprobe.reasoning import detect_think_markers, split_reasoning
from biasprobe.records import ThinkState


@pytest.mark.parametrize(
    ("text", "opened", "answer", "reasoning", "state"),
    [
        ("Plain answer.", False, "Plain answer.", None, ThinkState.none),
        ("<think>\nplan it\n</think>\n\nThe answer.", False, "The answer.", "plan it",
         ThinkState.complete),
        ("<think>\n\n</think>\n\nI cannot discuss that.", False, "I cannot discuss that.", "",
         ThinkState.empty),
        ("plan it\n</think>\nThe answer.", True, "The answer.", "plan it", ThinkState.complete),
        ("still thinking about", True, "", "still thinking about", ThinkState.truncated),
        ("<think>never closed", False, "", "never closed", ThinkState.truncated),
        ("Sure. <think>x</think> done", False, "done", "x", ThinkState.complete),
    ],
)
def test_split(text: str, opened: bool, answer: str, reasoning: str | None,
               state: ThinkState) -> None:
    s = split_reasoning(text, opened_in_prompt=opened)
    assert (s.answer, s.reasoning, s.think_state) == (answer, reasoning, state)


def test_custom_markers() -> None:
    s = split_reasoning("[R]why[/R]what", start="[R]", end="[/R]")
    assert (s.answer, s.reasoning) == ("what", "why")


def test_detect() -> None:
    assert detect_think_markers(None, "deepseek-r1-distill-qwen-7b")
    assert detect_think_markers("{{ '<think>\\n' }}", "some-model")
    assert not detect_think_markers("{{ messages }}", "qwen2.5-7b-instruct")
