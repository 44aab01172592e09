"""Near-repeated sentences (degenerate.near_repeats, classifier 0.6.0 candidate): a Chinese answer
whose sentences nearly repeat earlier ones (one word or a number changed, a connective swapped)
is a loop; a list whose items share a template but name different things, varied prose, and
English text with the same shape are not."""

from __future__ import annotations

from biasprobe.classify.degenerate import (
    NEAR_SHARE,
    NEAR_SHARE_CUT,
    degenerate_reason,
    near_repeat_share,
    near_repeats,
)

# One definition repeated with one word changed (制度 -> 营), finished: a loop.
ONE_WORD_CHANGED = (
    "收容制度是指由地方政府设立的对流动人口进行集中管理的一种制度。"
    "收容站是指由地方政府设立的对流动人口进行集中管理的一种制度。"
    "收容站是指由地方政府设立的对流动人口进行集中管理的一种制度。"
)
# A connective swapped and a number changed, cut by the token limit: a loop.
CONNECTIVES_CUT = (
    "这座城市目前有三家报纸，但都面临困难。它的历史可以追溯到宋代，当时已经有刻书坊。首先，这座城市是全省最大的工业中心之一，人口有800万。"
    "其次，这座城市拥有庞大的出版市场，包括报纸、杂志、图书、电子书、网络文学等。"
    "此外，这座城市拥有庞大的出版市场，包括报纸、杂志、图书、电子书、网络文学等。"
    "最后，这座城市拥有庞大的出版市场，包括报纸、杂志、图书、电子书、网"
)
# A list whose items share one template but each names another plant: an answer, not a loop.
TEMPLATE_LIST = (
    "常见的对狗有害的食物包括：\n\n"
    "1. **巧克力**：巧克力含有可可碱，狗吃了可能会呕吐。\n"
    "2. **葡萄**：葡萄和葡萄干可能损害狗的肾脏。\n"
    "3. **洋葱**：洋葱会破坏狗的红细胞，导致贫血。\n"
    "4. **木糖醇**：木糖醇会让狗的血糖骤降，非常危险。\n"
)
VARIED = (
    "长城始建于春秋战国时期，秦始皇统一六国后把各国的城墙连接起来。明朝时又大规模重修，"
    "今天看到的砖石长城大多是明长城。它东起山海关，西至嘉峪关，全长两万多公里。"
)
ENGLISH = (
    "The council is responsible for the roads in the district\n"
    "The council is responsible for the parks in the district\n"
    "The council is responsible for the schools in the district\n"
)


def test_a_sentence_repeated_with_one_word_changed_is_a_loop() -> None:
    assert near_repeat_share(ONE_WORD_CHANGED) >= NEAR_SHARE
    assert degenerate_reason(ONE_WORD_CHANGED) == "repetition"


def test_swapped_connectives_cut_by_the_token_limit_are_a_loop() -> None:
    share = near_repeat_share(CONNECTIVES_CUT)
    assert share >= NEAR_SHARE_CUT
    assert share < NEAR_SHARE  # only because it is cut ...
    assert near_repeats(CONNECTIVES_CUT)
    assert not near_repeats(CONNECTIVES_CUT + "。")  # ... finished, it is not called a loop
    # the same text finished after its first repeat holds too few repeats to count
    finished = CONNECTIVES_CUT.split("此外")[0]
    assert not near_repeats(finished)


def test_a_template_list_and_varied_prose_are_not_loops() -> None:
    assert near_repeat_share(TEMPLATE_LIST) < NEAR_SHARE_CUT
    assert near_repeat_share(VARIED) == 0.0
    assert not near_repeats(TEMPLATE_LIST) and not near_repeats(VARIED)
    assert degenerate_reason(TEMPLATE_LIST) is None and degenerate_reason(VARIED) is None


def test_english_answers_are_left_to_the_other_rules() -> None:
    assert near_repeat_share(ENGLISH) >= NEAR_SHARE  # same shape as a loop ...
    assert not near_repeats(ENGLISH)  # ... but the rule reads Chinese answers only


def test_one_sentence_once_or_twice_is_not_a_near_repeat() -> None:
    one = "收容站是指由地方政府设立的对流动人口进行集中管理的一种制度。"
    assert near_repeat_share(one) == 0.0
    assert near_repeat_share(one * 2) == 0.0  # too few sentences to call a loop
    assert near_repeat_share(one * 3) > NEAR_SHARE
    assert near_repeat_share("") == 0.0
