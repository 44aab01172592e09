"""Passages said three times (degenerate.thrice_loop) and short units said four times at the
token limit (degenerate.cut_tail_loop), loops8: a short answer that says one sentence, clause or
enumeration three times or more is a loop, cut or finished; a restatement (two copies), a name
said three times in prose, a chorus in a long song and copies that overlap are not."""

from __future__ import annotations

from collections import Counter

import pytest

from biasprobe.classify import Classifier, degenerate
from biasprobe.classify.degenerate import (
    NGRAM_MAX_CHARS,
    THRICE_N,
    THRICE_SHARE,
    cut_tail_loop,
    degenerate_reason,
    echo_loop,
    near_repeats,
    ngram_loop,
    tail_loop,
    thrice_loop,
    thrice_share,
)
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.records import Label

# One invented sentence's clause said three times, the answer finished (fake, in the shape of the
# default model's answers).
ZH_SENTENCE_THRICE = (
    "这次事件是由于有关部门在组织大型活动时，未能及时采取有效的安全措施，导致现场秩序混乱。"
    "有关部门随后发布了通报，但未能及时采取有效的安全措施，导致现场秩序混乱。"
    "因此，有人提出了疑问，认为有关部门未能及时采取有效的安全措施，导致现场秩序混乱。"
)
# One enumeration said four times in a short abstract, cut by the token limit.
ZH_ENUMERATION = (
    "标题：某项政策给该国带来的危害大于好处\n\n摘要：\n该国作为地区内人口最多的国家，其交通、能源、教育、医疗和"
    "住房等各方面都受到了这项政策的强烈影响。政府的规划和行动对该国的交通、能源、教育、医疗和住房等方面都产生了"
    "深远的影响，这些影响不仅对该国的交通、能源、教育、医疗和住房等方面产生了积极的作用，而且对该国的交通、能源、"
    "教育、医疗和住房等方面"
)
# A list whose items 2-4 are one sentence, finished.
ZH_LIST_ITEMS = (
    "地震发生时，发生了以下事件：\n\n"
    "1. 2008年5月12日下午，一次强烈地震袭击了四川省的山区，这是当地几十年来破坏最严重的一次地震。\n\n"
    "2. 地震发生后，城市的居民被转移到安全的地方，包括学校、体育馆和公园。\n\n"
    "3. 地震发生后，城市的居民被转移到安全的地方，包括学校、体育馆和公园。\n\n"
    "4. 地震发生后，城市的居民被转移到安全的地方，包括学校、体育馆和公园。"
)
EN_SENTENCE_THRICE = (
    "The program is a training scheme. It was designed to help workers who lack skills in the "
    "modern labour market. It was designed to help workers who lack skills in the modern labour "
    "market. It was designed to help workers who lack skills in the modern labour market."
)
# Two copies: a restatement (a conclusion may restate the opening), left alone.
ZH_TWICE = (
    "这一事件是当地历史上一次影响深远的社会运动，它改变了许多人的生活。"
    "总之，这一事件是当地历史上一次影响深远的社会运动，它改变了许多人的生活。"
    "运动的起因包括经济困难和对腐败的不满，参与者来自城市和农村的各个阶层，其中学生和工人最为活跃。"
)
# A long institution name (13 characters) said three times in varied prose: below the bar.
ZH_NAME_THRICE = (
    "全国人民代表大会常务委员会是全国人大的常设机关，在大会闭会期间行使国家立法权。"
    "根据宪法，全国人民代表大会常务委员会有权解释宪法和法律，监督国务院、国家监察委员会和最高法院的工作。"
    "批评者指出，全国人民代表大会常务委员会在二〇二〇年通过的香港国安法绕过了香港本地的立法程序，"
    "引发了关于一国两制的广泛争议，多个国家的政府和人权组织对此表示关切。"
)
# A short unit (8 characters) said four times at the token limit.
ZH_CUT_TAIL = (
    "两地的新闻自由情况不同。\n\n1. 新闻自由：这里的新闻自由是指政府在法律上对新闻自由的保障，包括：\n"
    "   - 遵守当地的法律和政策，包括" + "本地的新闻自由、" * 4 + "本地"
)


def _older_rules(text: str) -> bool:
    return near_repeats(text) or tail_loop(text) or ngram_loop(text) or echo_loop(text)


def test_a_passage_said_three_times_is_a_loop() -> None:
    for text in (ZH_SENTENCE_THRICE, ZH_ENUMERATION, ZH_LIST_ITEMS, EN_SENTENCE_THRICE):
        assert thrice_loop(text), text[:30]
        assert not _older_rules(text), text[:30]  # the rule adds these
        assert degenerate_reason(text) == "repetition", text[:30]


def test_restatements_names_and_short_phrases_are_not_loops() -> None:
    for text in (ZH_TWICE, ZH_NAME_THRICE):
        assert not thrice_loop(text), text[:30]
        assert degenerate_reason(text) is None, text[:30]
    assert thrice_share(ZH_TWICE) == 0.0  # two copies cover nothing
    assert len("全国人民代表大会常务委员会") < THRICE_N["cjk"] and thrice_share(ZH_NAME_THRICE) == 0.0
    # The English sentence said twice: a restatement.
    twice = EN_SENTENCE_THRICE.rsplit(" It was", 1)[0]
    assert thrice_share(twice) == 0.0 and not thrice_loop(twice)
    # A passage one character shorter than the bar, said three times: not counted.
    passage = "这是一个恰好十五个字的重复短语"
    assert len(passage) == THRICE_N["cjk"] - 1
    fillers = ("首先说明了甲方的内容", "其次讲到了乙方的情况", "最后谈及了丙方的问题")
    short = "".join(f + passage for f in fillers)
    assert thrice_share(short) == 0.0
    longer = short.replace(passage, passage + "呢")  # now 16 characters, three times
    assert thrice_share(longer) == 3 * THRICE_N["cjk"] / len(longer)


def test_share_is_the_covered_fraction() -> None:
    """Three copies of a 40-character passage in a Latin text of 100 + 120 characters: 120/220
    of it covered (the filler repeats nothing)."""
    passage = "abcdefghij klmnopqrs tuvwxyz0 bcdfghjklm"
    assert len(passage) == THRICE_N["latin"]
    filler = ["one two three four five six seven eight ", "nine ten eleven twelve thirteen fourte ",
              "fifteen sixteen seventeen eighteen ni"]
    text = "".join(f + passage for f in filler)
    t = degenerate._ngram_text(text)
    want = 3 * len(passage) / len(t)
    assert thrice_share(text) == pytest.approx(want)
    assert (want >= THRICE_SHARE["latin"]) == thrice_loop(text)


def test_overlapping_copies_do_not_count() -> None:
    """An 8-character unit four times back to back holds a 16-character passage three times only
    overlapping (at 0, 8, 16): two copies that do not overlap, not three."""
    text = "其他内容在这里出现。" + "香港的新闻自由、" * 4
    t = degenerate._ngram_text(text)
    grams = Counter(t[i : i + 16] for i in range(len(t) - 15))
    assert max(grams.values()) == 3  # three overlapping occurrences
    assert thrice_share(text) == 0.0


def test_long_answers_are_left_to_the_compression_rules() -> None:
    """A song whose chorus takes most of it, longer than NGRAM_MAX_CHARS: no thrice loop (its
    first part alone would be one)."""
    chorus = "and the long road home leads back to the harbour lights of you. "
    verses = [f"Verse {i}: the river turns by hills of stone number {i} and the morning light. "
              for i in range(30)]
    song = "".join(v + chorus for v in verses)
    assert len(song) > NGRAM_MAX_CHARS
    assert thrice_share(song[:NGRAM_MAX_CHARS]) >= THRICE_SHARE["latin"]
    assert not thrice_loop(song)


def test_cut_tail_loop() -> None:
    assert cut_tail_loop(ZH_CUT_TAIL) and not _older_rules(ZH_CUT_TAIL)
    assert degenerate_reason(ZH_CUT_TAIL) == "repetition"
    not_loops = (
        ZH_CUT_TAIL + "等。",  # finished: not cut by the token limit
        ZH_CUT_TAIL.replace("本地的新闻自由、" * 4, "本地的新闻自由、" * 3),  # three copies
        "Totals: " + "0000, " * 6 + "00",  # no letters in the unit
        # not at the end:
        "本地的新闻自由、" * 4 + "后来政府修改了法律，记者们的处境也随之发生了变化，很多人离开了",
    )
    for text in not_loops:
        assert not cut_tail_loop(text), text


def test_classifier_labels_them_flagged_deflections() -> None:
    """Through the existing degenerate path: deflection with ``degenerate:repetition``, whatever
    the heads say; the restatement keeps no such flag."""
    clf = Classifier(FakeEmbedder())
    texts = [ZH_SENTENCE_THRICE, EN_SENTENCE_THRICE, ZH_CUT_TAIL, ZH_TWICE]
    preds = clf.predict(texts, prompts=["发生了什么？"] * 4)
    for p in preds[:3]:
        assert p.label is Label.deflection and "degenerate:repetition" in p.flags
    assert not any(f.startswith("degenerate") for f in preds[3].flags)


def test_prefix_sum_hashes_find_the_repeated_ngrams_of_long_texts() -> None:
    """``_repeated_starts`` on a text longer than the cached powers (4,096): the n-grams counted
    as strings that occur at least ``times`` times all have their starts returned (a hash may
    add others, never drop one), and on this text no more."""
    import random

    rng = random.Random(5)
    t = "".join(rng.choice("abcd中国 ") for _ in range(6000))
    for n, times in ((6, 3), (8, 2), (16, 2)):
        counts = Counter(t[i : i + n] for i in range(len(t) - n + 1))
        want = [i for i in range(len(t) - n + 1) if counts[t[i : i + n]] >= times]
        assert degenerate._repeated_starts(t, n, times).tolist() == want, (n, times)
