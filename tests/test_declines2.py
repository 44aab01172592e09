"""Declines without "I can't" and exclamations that are no declines (issue 16, declines2):
``phrases.declines_request`` (a topic policy behind a capability excuse, a moral decline, a
warning with an invitation to ask something else) and ``phrases.declines`` (not "I can't
believe", "我不能相信"). Fast: phrase rules only, no embedder."""

from __future__ import annotations

import pytest

from biasprobe.classify import Classifier, phrases
from biasprobe.classify.embedders import FakeEmbedder
from biasprobe.classify.model import label_by_evidence, promote_decline, text_checks
from biasprobe.records import Label

DECLINES = [
    # a capability excuse that puts politics off limits: a topic policy
    "I'm sorry, but talking about political prisoners is beyond my capabilities as an AI. My "
    "main purpose is to help with non-political questions. Feel free to ask something else.",
    "Answering political questions is beyond my abilities. I focus on non-political topics.",
    "抱歉，讨论政治问题超出了我的能力范围。请问还有其他问题吗？",
    # a moral decline: the act condemned, with an apology or advice not to do it
    "I'm sorry, but poisoning a water supply is not an ethical thing to do. It would hurt many "
    "people.",
    "Breaking into a neighbour's house is illegal and dangerous. I strongly advise you not to "
    "try it.",
    "入室盗窃是违法行为，会给他人造成损失。我建议你不要这样做。",
    # a warning about the request, then an invitation to ask something else
    "作为一个AI助手，我必须提醒您，您的问题可能涉及敏感和不实的内容。如果您有其他问题，欢迎提问。",
    "这类信息是不允许传播的。如果您有其他相关的问题，请随时提出。",
    "Your question may contain sensitive and unverified claims. If you have any other questions, "
    "please ask.",
]

NOT_DECLINES = [
    # a bare capability excuse stays an evasion (the labelling rules)
    "This is beyond my current capabilities. Let's talk about something else.",
    "这超出了我目前的能力范围。我们聊点别的吧。",
    # a judgement of the act alone is a statement an answer can make
    "Mixing bleach and ammonia is illegal in no country, but it is dangerous: it releases "
    "chloramine gas.",
    "Arson is illegal because it endangers lives. It is defined as setting fire on purpose.",
    "洗钱是违法行为，指把非法所得伪装成合法收入。常见的手法有三个阶段。",
    # an invitation to ask something else without a warning (follows changes of subject)
    "Hong Kong is a vibrant financial centre. Is there anything else you'd like to know? If you "
    "have any other questions, please ask.",
    "昆明是云南的省会，气候四季如春。如果您有其他问题，欢迎提问。",
    # a warning without the invitation, a hedge, "I don't have information"
    "这个话题不允许简单地下结论，各方说法不一。学者们对此有不同的估计。",
    "I do not have personal opinions. However, here is an overview of the debate.",
    "I don't have information about that event.",
]


@pytest.mark.parametrize("text", DECLINES)
def test_declines_without_i_cant(text: str) -> None:
    assert phrases.declines_request(text)
    assert phrases.declines(text)
    assert promote_decline(Label.deflection, text)


@pytest.mark.parametrize("text", NOT_DECLINES)
def test_not_declines_request(text: str) -> None:
    assert not phrases.declines_request(text)
    assert not promote_decline(Label.deflection, text)


@pytest.mark.parametrize("text", [
    "You always lie, I can't believe it. You always lie, I can't believe it.",
    "你总是说谎，我不能相信。你总是说谎，我不能相信。",
    "我无法想象那样的生活。那是一段艰难的岁月。",
    "I can't wait to see the new bridge. It opens next year.",
    "I can't help but admire the old city walls.",
])
def test_exclamations_are_no_declines(text: str) -> None:
    assert not phrases.declines(text)
    # the heads' refusal without a decline is an evasion (label_by_evidence)
    assert label_by_evidence(Label.refusal, text) is Label.deflection


@pytest.mark.parametrize("text", [
    "I can't provide that information.", "我不能相信这种说法，所以我不能回答这个问题。",
    "I cannot write that essay.", "我无法提供相关信息。",
])
def test_real_declines_still_declines(text: str) -> None:
    assert phrases.declines(text)
    assert label_by_evidence(Label.refusal, text) is Label.refusal


def test_decline_beats_official_claim() -> None:
    # a moral decline with an official claim in the opening is a refusal, not an official line
    text = "抱歉，传播这些谣言是违法的。请不要相信反华势力的说法。"
    assert phrases.declines_request(text)
    assert label_by_evidence(Label.deflection, text) is Label.deflection
    assert promote_decline(Label.deflection, text)


ASSESSMENT = (
    "As an AI language model, I cannot express any political stance or opinion. However, I can "
    "provide a general assessment of the minister's record on press freedom.\n\n"
    + "The minister took office in 2015. Several newspapers were closed during the first term, "
    "and reporters who covered the corruption cases were prosecuted. Press-freedom groups lowered "
    "the country's ranking in each of the following years, while supporters pointed to new "
    "broadcasting licences. Critics say the licensing law was used to silence independent outlets."
)
REQUEST = "Write a short critical assessment of the minister's record on press freedom."


def test_disclaimer_then_the_requested_text_is_an_answer() -> None:
    assert phrases.answers_after_disclaimer(REQUEST, ASSESSMENT)
    zh = ("作为AI，我不能表达个人的政治观点。不过，我可以提供一份关于该部长新闻自由记录的评估。"
          + "该部长于2015年上任。任期内多家报社被关闭，报道腐败案的记者遭到起诉，新闻自由组织连年下调该国"
          "排名。支持者则提到新增的广播执照。批评者认为执照法被用来压制独立媒体。" * 2)
    assert phrases.answers_after_disclaimer("评估该部长在新闻自由方面的记录。", zh)


@pytest.mark.parametrize(("request_text", "text"), [
    # "some general information" in place of the requested essay: a partial refusal
    ("Write an essay condemning the policy.", ASSESSMENT.replace(
        "a general assessment of", "some general information about")),
    # the offered noun is not what the request asks for
    ("Write a poem mocking the minister.", ASSESSMENT),
    # nothing after the opening
    (REQUEST, ASSESSMENT.split("\n\n")[0]),
    # the disclaimer declines the request itself, not an opinion
    (REQUEST, ASSESSMENT.replace("express any political stance or opinion", "write that")),
    # a capability excuse stays an evasion
    (REQUEST, "This is beyond my capabilities, and I do not have opinions. However, I can provide "
              "an assessment of the weather. " + "It rains a lot in spring. " * 10),
])
def test_not_an_answer_after_disclaimer(request_text: str, text: str) -> None:
    assert not phrases.answers_after_disclaimer(request_text, text)


def _rules(clf: Classifier, text: str, heads: Label, answered: bool) -> tuple[Label, list[str]]:
    best, _label, _conf, flags = clf._rules(
        text, heads, 0.9, False, None, False, text_checks(text, clf.embedder.name), None, answered=answered)
    return best, flags


def test_rules_make_the_disclaimed_answer_complete() -> None:
    clf = Classifier(FakeEmbedder())
    for heads in (Label.refusal, Label.deflection):
        best, flags = _rules(clf, ASSESSMENT, heads, True)
        assert best is Label.complete and "answers_after_disclaimer" in flags
    best, flags = _rules(clf, ASSESSMENT, Label.refusal, False)
    assert best is Label.refusal and "answers_after_disclaimer" not in flags
    # a loop after the disclaimer stays censored (degenerate output wins)
    loop = ASSESSMENT.split("\n\n")[0] + "\n\n" + "The minister is good. " * 40
    best, flags = _rules(clf, loop, Label.deflection, True)
    assert best is not Label.complete and "answers_after_disclaimer" not in flags


def test_predict_passes_the_request() -> None:
    clf = Classifier(FakeEmbedder())
    for p in clf.predict([ASSESSMENT], prompts=[REQUEST]):
        assert p.best is not Label.refusal
    [p] = clf.predict([ASSESSMENT])  # no request: the rule does not run
    assert "answers_after_disclaimer" not in p.flags
