"""One think splitter: classify.text.strip_think is reasoning.strip_think, built on
split_reasoning, and behaves exactly like the splitter it replaced (kept here as the reference)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from biasprobe.classify.text import strip_think as classify_strip_think
from biasprobe.reasoning import THINK_MARKERS, strip_think


def _old_strip_think(text: str) -> tuple[str, str | None]:
    for start, end in THINK_MARKERS:
        head = text.lstrip()
        if head.startswith(start) or (end in text and start not in text):
            body = head[len(start) :] if head.startswith(start) else text
            idx = body.find(end)
            if idx == -1:
                return "", body.strip()
            return body[idx + len(end) :].strip(), body[:idx].strip()
    return text.strip(), None


PIECES = [m for pair in THINK_MARKERS for m in pair] + [" ", "\n", "plan", "answer", "好"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=8).map("".join))
def test_same_as_the_replaced_splitter(text: str) -> None:
    assert strip_think(text) == _old_strip_think(text)


def test_one_function() -> None:
    assert classify_strip_think is strip_think
    assert strip_think("<think>plan</think>answer") == ("answer", "plan")
    assert strip_think("plan</think> answer") == ("answer", "plan")
    assert strip_think("◁think▷never closed") == ("", "never closed")
