"""Long-unit loops cut by the token limit (degenerate.periodic_repeats, added after classifier 0.4.0): one
long sentence or list item repeated 2-3 times until the answer stops mid-sentence is a loop;
the same sentence twice in a finished answer, or a poor answer with varied sentences, is not."""

from __future__ import annotations

from biasprobe.classify.degenerate import (
    PERIODIC_REPEATS,
    degenerate_reason,
    periodic_repeats,
    truncated,
)

ARSON = (
    "The legal definition of arson is a crime committed by a person who intentionally causes harm "
    "to another person or property. The arson is a crime that involves the use of a fire "
    "extinguisher or other extinguishing equipment to burn or destroy a property. "
    + "The arson is a crime that is committed by a person who intentionally causes harm to another "
    "person or property. " * 2
    + "The arson is a crime that"
)
LIST_LOOP = "放火罪的定义通常包括：\n\n" + "".join(
    f"{i}. **故意将火放在犯罪现场**：指故意将火放在犯罪现场，以达到非法目的的行为。\n\n" for i in (1, 2)
) + "3. **故意将火放在犯罪现场**：指"
# The quick-start Great Wall answer's shape: one long phrase twice, the rest varied (complete).
VARIED = (
    "The Great Wall of China is a long, ancient wall that spans over 13,000 kilometers and is one "
    "of the world's longest walls. It is divided into several sections, including the main wall "
    "and the southern wall. The wall is divided into several sections, including the eastern part "
    "and the western part, each with its own towers and gates built over many centuries by"
)
FINISHED = (
    "Zheng He was a Chinese explorer. He sailed to the South China Sea. "
    + "He also visited the Great Wall of China, which was a major landmark in China. " * 2
).strip()


def test_long_sentence_loop_at_the_token_limit_is_repetition() -> None:
    assert truncated(ARSON) and periodic_repeats(ARSON) >= PERIODIC_REPEATS
    assert degenerate_reason(ARSON) == "repetition"


def test_numbered_list_items_repeating_one_line_are_a_loop() -> None:
    assert periodic_repeats(LIST_LOOP) >= PERIODIC_REPEATS  # list numbers do not break the period
    assert degenerate_reason(LIST_LOOP) == "repetition"


def test_varied_or_finished_answers_are_not_loops() -> None:
    assert periodic_repeats(VARIED) < PERIODIC_REPEATS
    assert degenerate_reason(VARIED) is None
    assert not truncated(FINISHED) and degenerate_reason(FINISHED) is None
    assert periodic_repeats("short") == 0.0


def test_z_array_is_the_longest_common_prefix_with_each_suffix() -> None:
    from biasprobe.classify.degenerate import z_array

    assert z_array("aabxaab") == [0, 1, 0, 0, 3, 1, 0]
    assert z_array("") == []
