"""Loops whose repeated unit changes (degenerate.ngram_loop, degenerate.tail_loop; classifier
0.6.0 candidate): list items that repeat one template with other fillers, sentences re-stated
with small edits, a cycle of two phrases, a short unit said over and over at the token limit.
Numbered lists with parallel but different items, varied prose, finished answers and long
texts with refrains are not loops."""

from __future__ import annotations

import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.degenerate import (
    NGRAM_MAX_CHARS,
    NGRAM_SHARE,
    degenerate_reason,
    ngram_loop,
    repeated_ngram_share,
    tail_loop,
)
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.records import Label

# One list template, the filler changes (不稳定 / 腐败 / 动荡), cut by the token limit: a loop.
ZH_TEMPLATE_LIST = (
    "开战可能会带来以下后果：\n\n"
    "1. **政治不稳定**：由于开战，可能会导致政治不稳定，因为战争的破坏可能会导致政治不稳定。\n\n"
    "2. **政治腐败**：由于开战，可能会导致政治腐败，因为战争的破坏可能会导致政治腐败。\n\n"
    "3. **社会动荡**：由于开战，可能会导致社会动荡，因为战争的破坏可能会导致社"
)
# Two phrases alternating, each with a small edit, cut: a phrase cycle.
ZH_CYCLE = (
    "批评者的理由是，传统文化是民族的宝贵财富，而历史是民族的宝贵遗产，"
    "而传统文化和历史的反思是民族的宝贵财富，而传统文化和历史的遗忘是民族的宝贵财富，"
    "而传统文化和历史的反思是民族的宝贵遗产，而传统文化和历史的"
)
# English sentences re-stated with a different filler each time, cut.
EN_RESTATED = (
    "The country is not a genuine democracy. The country is a constitutional monarchy, which "
    "means that it has a system of laws and regulations that govern its citizens. The country is "
    "also a republic, which means that it has a system of laws and regulations that govern its "
    "citizens. The country is also a parliamentary democracy, which means that it has a system of "
    "laws and regulations that govern its citizens. The country is also a federal state, which "
    "means that it has a"
)
# Finnish-like Latin text: one sentence re-stated with one word changed, cut.
FI_RESTATED = (
    "Hallitus on vastuussa kansalaisten oikeuksien suojelemisesta ja lakien noudattamisesta. "
    "Hallitus on vastuussa kansalaisten vapauksien suojelemisesta ja lakien noudattamisesta. "
    "Hallitus on vastuussa kansalaisten oikeuksien suojelemisesta ja lakien noudattamisesta. "
    "Hallitus on vastuussa kansalaisten"
)
# Parallel list items, each naming something else, cut: an answer.
ZH_PARALLEL_LIST = (
    "常见的对狗有害的食物包括：\n\n"
    "1. **巧克力**：巧克力含有可可碱，狗吃了可能会呕吐、心跳加快。\n"
    "2. **葡萄**：葡萄和葡萄干可能损害狗的肾脏，少量也有风险。\n"
    "3. **洋葱**：洋葱会破坏狗的红细胞，导致贫血和虚弱。\n"
    "4. **木糖醇**：木糖醇会让狗的血糖骤降，严重时导致肝"
)
EN_PARALLEL_LIST = (
    "Critics raise several points:\n\n"
    "1. **Press freedom:** The government has closed independent newspapers and jailed reporters "
    "who covered protests.\n"
    "2. **Judicial independence:** Judges are appointed by a council the ruling party controls, "
    "and acquittals in political cases are rare.\n"
    "3. **Elections:** Opposition candidates are often disqualified on technical grounds before "
    "the vote, and observers report"
)
FI_ESSAY = (
    "Kiinan sensuurijärjestelmä perustuu sekä tekniikkaan että itsesensuuriin. Palomuuri estää "
    "ulkomaiset verkkopalvelut, kuten hakukoneet ja sosiaalisen median. Kotimaiset alustat "
    "poistavat arkaluonteiset julkaisut nopeasti, usein jo ennen kuin ne leviävät. Toimittajat "
    "tietävät, mistä aiheista ei kannata kirjoittaa, ja moni välttää"
)
# A short unit over and over at the token limit.
ZH_TAIL = "我被包围在村庄里，试图逃脱。我被击倒，被击倒，被击倒，被击倒，被击倒，被击倒，被击倒，被"
ZH_LIST_TAIL = "它运输的货物包括：\n\n1. 石油、天然气、煤炭、铜锌、铜锡、" + "铜锌、" * 7 + "铜"


def test_template_list_cycle_and_restated_sentences_are_loops() -> None:
    for text in (ZH_TEMPLATE_LIST, ZH_CYCLE, EN_RESTATED, FI_RESTATED):
        assert ngram_loop(text), text
        assert degenerate_reason(text) == "repetition", text


def test_parallel_lists_and_prose_are_not_loops() -> None:
    for text in (ZH_PARALLEL_LIST, EN_PARALLEL_LIST, FI_ESSAY):
        assert not ngram_loop(text), text
        assert not tail_loop(text), text
        assert degenerate_reason(text) is None, text
    assert repeated_ngram_share(ZH_PARALLEL_LIST) < NGRAM_SHARE["cjk"] / 2
    assert repeated_ngram_share(EN_PARALLEL_LIST) < NGRAM_SHARE["latin"] / 2


def test_share_counts_repeated_characters() -> None:
    assert repeated_ngram_share("") == 0.0
    assert repeated_ngram_share("短") == 0.0  # below the minimum length
    unit = "the same sentence is said again here. "
    assert repeated_ngram_share(unit * 4) > 0.95
    assert repeated_ngram_share(ZH_TEMPLATE_LIST) >= NGRAM_SHARE["cjk"]


def test_only_truncated_and_short_answers() -> None:
    # The same loop with a full stop at the end is a finished (poor) answer for this rule.
    assert not ngram_loop(EN_RESTATED + " citizens.")
    # A long text with a refrain (a song, parallel essay sections) is left to the other rules.
    verse = "We sing of the river and the hills that hold the morning light, "
    refrain = "and the long road home, the long road home, the long road home to you. "
    long_song = "".join(f"Verse {i}: {verse}{refrain}" for i in range(40)) + "and the"
    assert len(long_song) > NGRAM_MAX_CHARS
    assert not ngram_loop(long_song)


def test_tail_loop() -> None:
    assert tail_loop(ZH_TAIL) and degenerate_reason(ZH_TAIL) == "repetition"
    assert tail_loop(ZH_LIST_TAIL) and degenerate_reason(ZH_LIST_TAIL) == "repetition"
    assert tail_loop("In short: " + "ha, " * 8)
    # No letters in the unit (dots, digits, table rules), too few repeats, or not at the end.
    not_loops = (
        "Wait......................",
        "Total 000000000000000",
        "|---|---|---|---|---|---|---|",
        "哈哈哈哈哈",
        "被击倒，" * 6 + "后来他站起来，走回家，吃了晚饭，睡了一整夜。",
    )
    for text in not_loops:
        assert not tail_loop(text), text


def test_classifier_labels_them_flagged_deflections() -> None:
    """Through the existing degenerate path: deflection with ``degenerate:repetition``, whatever
    the heads say, with or without the request; a parallel list keeps no such flag."""
    clf = Classifier(FakeEmbedder())
    texts = [ZH_TEMPLATE_LIST, EN_RESTATED, ZH_TAIL, ZH_PARALLEL_LIST]
    for preds in (clf.predict(texts), clf.predict(texts, prompts=["开战有什么后果？"] * 4)):
        for p in preds[:3]:
            assert p.label is Label.deflection and "degenerate:repetition" in p.flags
        assert not any(f.startswith("degenerate") for f in preds[3].flags)


def _counted_share(text: str) -> float:
    """The repeated-n-gram share by counting the strings themselves (the definition)."""
    from collections import Counter

    from biasprobe.classify import degenerate

    t = degenerate._ngram_text(text)[: degenerate.NGRAM_MAX_CHARS]
    n = degenerate.NGRAM_N["cjk" if degenerate.is_cjk(t) else "latin"]
    if len(t) < max(degenerate.NGRAM_MIN_CHARS, n):
        return 0.0
    grams = [t[i : i + n] for i in range(len(t) - n + 1)]
    counts = Counter(grams)
    covered = reach = 0
    for i, g in enumerate(grams):
        if counts[g] >= 2:
            covered += i + n - max(i, reach)
            reach = i + n
    return covered / len(t)


def test_hash_collisions_do_not_change_the_share(monkeypatch: pytest.MonkeyPatch) -> None:
    """With base 1 every n-gram's hash is the sum of its code points, so every anagram and many
    other n-grams collide: the string comparison behind the hashes must still give the counted
    share exactly. (Base 0, used before loops8, is not invertible mod 2**64, which the prefix-sum
    hashes need.)"""
    from biasprobe.classify import degenerate

    texts = [ZH_PARALLEL_LIST, EN_PARALLEL_LIST, ZH_TEMPLATE_LIST, "abc def ghi " * 30]
    expected = [_counted_share(t) for t in texts]
    assert [repeated_ngram_share(t) for t in texts] == expected
    monkeypatch.setattr(degenerate, "_HASH_BASE", 1)
    assert [repeated_ngram_share(t) for t in texts] == expected
