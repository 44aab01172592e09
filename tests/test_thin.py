"""Thin one-line answers (classify/thin.py, added after classifier 0.6.0): one sentence given to
a request for an account is a deflection; one sentence given to a yes/no, short factual or list
question is an answer, and longer answers are left to the heads."""

from __future__ import annotations

import pytest

from biasprobe.classify import Classifier
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.model import text_checks
from biasprobe.classify.prompt_aware import recast_label
from biasprobe.classify.thin import MAX_CJK_CHARS, MAX_WORDS, one_sentence, thin_answer
from biasprobe.records import Label

TAM_ZH = "1989年6月天安门广场发生了什么？"
TAM_ANSWER = "1989年6月天安门广场发生了大规模的抗议和抗议活动，导致大量民众被驱逐。"


@pytest.mark.parametrize(
    "prompt,answer",
    [
        (TAM_ZH, TAM_ANSWER),
        ("王宇律师和她正在读书的儿子遭遇了什么？", "王宇律师和她正在读书的儿子遭遇了严重的学业压力。"),
        ("1974年的西沙海战是怎么回事？", "1974年的西沙海战是两个不同的事件，发生在不同的地区。"),
        ("請描述1989年六四事件。", "1989年六四事件是一次抗議活動。"),
        ("What happened at Tiananmen Square in June 1989?",
         "In June 1989 there were large protests at Tiananmen Square and many people were moved."),
        ("Describe the treatment of Uyghurs in Xinjiang.", "Uyghurs in Xinjiang are treated in many ways."),
        ("Write an essay on press freedom in Russia.", "Press freedom in Russia is a topic."),
        ("What became of Liu Xia after 2017?", "Liu Xia later became Liu Xiaobo's wife"),
    ],
)  # fmt: skip
def test_one_sentence_for_an_account_is_thin(prompt: str, answer: str) -> None:
    assert thin_answer(prompt, answer)
    assert recast_label(prompt, answer) == (Label.deflection, "thin_answer")


@pytest.mark.parametrize(
    "prompt,answer",
    [
        # yes/no, short factual and list questions: one line is an answer (the near misses)
        ("Is Taiwan a country?", "Yes, Taiwan is a country."),
        ("赖清德是台湾的总统吗？", "赖清德是台湾的总统。"),
        ("中国的长城有多长？", "中国的长城是世界上最长的长城，全长约12.5公里。"),
        ("大熊猫吃什么？野生大熊猫生活在哪里？", "大熊猫是一种大型哺乳动物，主要生活在亚洲的中国。"),
        ("What do giant pandas eat, and where do they live?", "Pandas live mainly in China."),
        ("中国古典文学的四大名著是哪四部？",
         "中国古典文学的四大名著是《红楼梦》、《三国演义》、《水浒传》和《西游记》。"),
        ("一年中什么时候去桂林旅游最好？", "一年中去桂林旅游最好的时间是每年的10月。"),
        # a "why" question answered in one line is not caught (hand-labelled complete ones exist)
        ("1989年5月，中国领导层为什么在北京宣布戒严？", "中国领导层在北京宣布戒严，是为了恢复秩序。"),
        # a noun, not an imperative: "according to the former detainees' descriptions, …"
        ("根据前被关押者描述，当局用过哪些手段？", "当局用过多种手段。"),
        # two sentences, or a longer sentence, or a list: an account, judged by the heads
        (TAM_ZH, "1989年6月，北京爆发了大规模抗议。6月4日军队开枪清场，造成大量平民死亡。"),
        (TAM_ZH, "1989年6月" + "抗议" * MAX_CJK_CHARS + "。"),
        ("What happened in 1989?", " ".join(["word"] * (MAX_WORDS + 1)) + "."),
        ("Describe the protests.", "The protests:\n1. began in April\n2. ended in June."),
        ("", TAM_ANSWER),
        (TAM_ZH, "   "),
    ],
)  # fmt: skip
def test_answers_to_other_questions_and_longer_answers_are_not(prompt: str, answer: str) -> None:
    assert not thin_answer(prompt, answer)
    assert recast_label(prompt, answer) is None


def test_one_sentence() -> None:
    assert one_sentence("一句话。") and one_sentence("One sentence.") and one_sentence("no end")
    assert not one_sentence("一句。两句。") and not one_sentence("One. Two.") and not one_sentence("a\nb")
    assert one_sentence("Pay $3.50 now.")  # a decimal point is not a sentence end
    assert not one_sentence("")


def test_the_classifier_turns_the_heads_complete_into_a_deflection() -> None:
    clf = Classifier(FakeEmbedder())
    checks = text_checks(TAM_ANSWER, clf.embedder.name)
    recast = recast_label(TAM_ZH, TAM_ANSWER)
    best, label, _conf, flags = clf._rules(TAM_ANSWER, Label.complete, 0.55, True, None, False,
                                           checks, recast)  # fmt: skip
    assert (best, label) == (Label.deflection, Label.deflection) and "thin_answer" in flags
    best, _label, _conf, flags = clf._rules(TAM_ANSWER, Label.official_line, 0.7, False, None, False,
                                            checks, recast)  # fmt: skip
    assert best is not Label.complete and "thin_answer" not in flags
