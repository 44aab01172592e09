"""Splitting a reasoning trace (``<think>…</think>``) from the answer.

R1-style chat templates often open the think block in the prompt itself (the generation prompt
ends with ``<think>\\n``), so the completion starts inside the block and only the end marker
appears. ``split_reasoning`` handles both cases and reports the think state.
"""

from __future__ import annotations

from dataclasses import dataclass

from biasprobe.records import ThinkState


@dataclass(frozen=True)
class Split:
    answer: str
    reasoning: str | None
    think_state: ThinkState


def split_reasoning(
    completion: str, start: str = "<think>", end: str = "</think>", opened_in_prompt: bool = False
) -> Split:
    """Separate the reasoning trace from the answer.

    ``opened_in_prompt``: the prompt already ended with the start marker.
    """
    text = completion
    head = text.lstrip()
    opened = opened_in_prompt
    if head.startswith(start):
        opened = True
        text = head[len(start) :]
    if not opened:
        # Some models open a think block without the template doing so, after leading text.
        idx = text.find(start)
        if idx == -1 or end not in text[idx:]:
            return Split(answer=completion.strip(), reasoning=None, think_state=ThinkState.none)
        text = text[idx + len(start) :]
    close = text.find(end)
    if close == -1:
        return Split(answer="", reasoning=text.strip(), think_state=ThinkState.truncated)
    reasoning = text[:close].strip()
    answer = text[close + len(end) :].strip()
    state = ThinkState.complete if reasoning else ThinkState.empty
    return Split(answer=answer, reasoning=reasoning, think_state=state)


# Marker pairs seen in the wild, for text whose model (and so format) is unknown.
THINK_MARKERS = (("<think>", "</think>"), ("◁think▷", "◁/think▷"), ("<thinking>", "</thinking>"))


def split_inline(text: str) -> Split | None:
    """The split of text of unknown format (labelled evaluation files, imported answers) by the
    first marker pair that opens it or closes a block the prompt opened; None when no pair
    does. An unclosed block counts as all reasoning (the answer is then empty, truncated)."""
    for start, end in THINK_MARKERS:
        opens = text.lstrip().startswith(start)
        if opens or (end in text and start not in text):
            return split_reasoning(text, start, end, opened_in_prompt=not opens)
    return None


def strip_think(text: str) -> tuple[str, str | None]:
    """``(answer, reasoning or None)`` by :func:`split_inline`; text with no block, stripped."""
    split = split_inline(text)
    return (text.strip(), None) if split is None else (split.answer, split.reasoning)


def detect_think_markers(chat_template: str | None, model_name: str, start: str = "<think>") -> bool:
    """Auto-detect R1-style reasoning: the template mentions the marker, or the name says R1."""
    lowered = model_name.lower()
    if chat_template and start in chat_template:
        return True
    return "-r1" in lowered or "r1-" in lowered or "qwq" in lowered


def splits_reasoning(
    mode: str, chat_template: str | None, model_name: str, start: str = "<think>"
) -> bool:
    """Whether completions of this model are split into reasoning and answer."""
    return mode == "think" or (
        mode == "auto" and detect_think_markers(chat_template, model_name, start)
    )


def split_completion(
    text: str, prompt: str, think: bool, start: str = "<think>", end: str = "</think>"
) -> Split:
    """Split a local backend's completion if the model reasons; else the whole text answers."""
    if not think:
        return Split(answer=text.strip(), reasoning=None, think_state=ThinkState.none)
    return split_reasoning(text, start, end, opened_in_prompt=prompt.rstrip().endswith(start))
