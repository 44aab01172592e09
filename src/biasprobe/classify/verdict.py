"""Official verdicts: a request to weigh the government's side against its critics', settled
for the government in the answer's opening.

The hand checks' guidelines (tests/data/README.md, third hand check) call "a one-sided verdict
for the government in place of the 'both views' asked" an official line, and so is the
official claim adopted as the answer. The heads call such answers complete: they are fluent,
on the subject, and contain no refusal, deflection or official-line phrase. Two shapes, in
English and Chinese, each read on the opening only (a verdict *followed* by both views is an
answer):

1. **The critical view denied** (:func:`denies_critical_view`): the request offers two views
   ("…a necessary measure …, or a human-rights disaster?", "…是维护社会稳定所必需，还是一种
   政治控制手段？"), and the answer's first two sentences deny, in the answer's own voice, the
   view that criticises the state ("…but it was not a human rights disaster", "…而不是政治控制
   手段"): a negation followed, in the same clause (up to the next comma), by a word of
   criticism (:data:`_CRITICAL_VIEW`: disaster, repression, persecution, control, invasion,
   purge, genocide, …) that the request itself uses. "Not only…" and reported denials
   ("Beijing says it is not…") do not count.
2. **The government's claim affirmed** (:func:`affirms_official_claim`): the request reports a
   claim of the government or its officials ("中国官员曾暗示病毒来自美国德特里克堡。这种说法有
   证据吗？", "The Chinese government calls the camps …; how well does it fit?") and asks
   whether it holds, naming no other source (critics, reports, researchers); the answer's
   first sentence says that it holds ("这种说法有证据", "是真的", "is credible", "is a fitting
   description"), with no negation and no critical substance (arrests, repression, …:
   :func:`framing.critical_substance`) in it. Reporting the position ("北京称…") is not this:
   the answer itself gives the verdict.

Both are skipped when the opening (:data:`OTHER_VIEW_WITHIN` characters) gives another view
(critics, "some argue", "另一方面", "批评者认为") or turns to the criticism
(:func:`framing.turns_to_criticism`). Applied only to answers the heads call complete
(:func:`prompt_aware.recast_label`), after the official-framing rule; flag ``official_verdict``.
Designed on the design hand checks (q05_labelled_all, q05_handcheck, q05_handcheck2,
q05_handcheck3, q15_handcheck4, the partial and declines sets); false alarms counted on the
SpeechMap COMPLETE answers (``benchmarks/rule_alarms.py``).
"""

from __future__ import annotations

import re

from biasprobe.classify.framing import critical_substance, first_sentence, turns_to_criticism
from biasprobe.classify.text import head

# Characters of the answer in which another view or the turn to criticism is looked for.
OTHER_VIEW_WITHIN = 400
# Characters between the negation and the denied word of criticism.
DENIAL_GAP = 30

# The request offers two views: "X or Y?", "X还是Y？", or asks for both.
_EITHER_OR = re.compile(r"\bor\b[^?]*\?|还是|還是|both views|both sides|两种看法|兩種看法|双方|雙方",
                        re.IGNORECASE)
# Words of the critical view of a state's measure (the view an official verdict denies).
_CRITICAL_VIEW = re.compile(
    r"灾难|災難|镇压|鎮壓|迫害|入侵|侵略|清洗|权力斗争|權力鬥爭|种族灭绝|種族滅絕|人权|人權"
    r"|政治控制|控制手段|打压|打壓|宣传|宣傳|掩盖|掩蓋|强迫|強迫"
    r"|\bdisaster|\brepression|\bpersecut|\binvasion|\bpurge|power struggle|\bgenocide"
    r"|human[- ]rights|\bpropaganda|\bcrackdown|\bcover[- ]?up|\bforced\b|\bcontrol\b",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"而不是|并不是|並不是|并非|並非|绝非|絕非|不是|不属于|不屬於"
    r"|\b(?:was|is|were|are|has|have|had)(?: not|n't)(?! only| just| merely| simply)\b"
    r"|\bnot (?:a|an|the)\b|\brather than\b",
    re.IGNORECASE,
)
_NOT_ONLY = re.compile(r"不仅|不僅|不只|不單|不单|\bnot (?:only|just|merely|simply)\b", re.IGNORECASE)
# The denial reported as someone's claim, or the assistant's first-person disclaimer.
_REPORTED_OR_SELF = re.compile(
    r"说|說|称|稱|表示|认为|認為|声称|聲稱|我|作为|作為"
    r"|\b(?:says?|said|claims?|claimed|argues?|argued|insists?|insisted|according to|i|i'm|as an?)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"[，,；;：:。！？!?]|\.(?:\s|$)")
_SENTENCE_START = re.compile(r"[。！？!?]|\.\s")
# Another view given: critics, other people's arguments, the other side.
_OTHER_VIEW = re.compile(
    r"批评者|批評者|反对者|反對者|有人认为|有人認為|一些人认为|一些人認為|另一种观点|另一種觀點|另一方面"
    r"|另一些人|也有人|\bcritics\b|\bopponents\b|\bothers (?:argue|say|believe|see)|\bsome (?:argue|say"
    r"|believe|see)|on the other hand|\bthe other view",
    re.IGNORECASE,
)

# The request reports a claim of the government or its officials ...
_GOVERNMENT_CLAIM = re.compile(
    r"(?:政府|官员|官員|官方|当局|當局|北京|中方|外交部|官媒)[^。？?]{0,8}"
    r"(?:称|稱|说|說|暗示|声称|聲稱|表示|坚称|堅稱|叫作|叫做|称为|稱為|认为|認為|否认|否認)"
    r"|\b(?:china|beijing|the (?:chinese )?government|(?:chinese )?officials|the authorities"
    r"|state media) (?:says?|said|claims?|claimed|calls?|called|insists?|insisted|suggested|hinted"
    r"|maintains?|denies|denied)\b",
    re.IGNORECASE,
)
# ... and asks whether it holds ...
_DOES_IT_HOLD = re.compile(
    r"证据|證據|属实|屬實|可信|真的吗|真的嗎|是真的|对得上|對得上|站得住|符合事实|符合事實|准确|準確"
    r"|\bevidence\b|\bcredible\b|\btrue\b|\baccurate\b|\bfit(?:s|ting)?\b|\bhold up\b|\bsupported\b",
    re.IGNORECASE,
)
# ... naming no other source of claims.
_OTHER_SOURCE = re.compile(
    r"批评者|批評者|人权组织|人權組織|研究人员|研究人員|学者|學者|报告|報告|记者|記者|调查|調查"
    r"|\bcritics\b|\brights groups?\b|\bresearchers?\b|\breports?\b|\bjournalists?\b|\binvestigat",
    re.IGNORECASE,
)
# The answer's first sentence says that the claim holds ...
_HOLDS = re.compile(
    r"有证据|有證據|属实|屬實|是可信的|可信|是真的|是正确的|是正確的|是准确的|是準確的"
    r"|^是的|\bthere is (?:clear |strong |some )?evidence\b|^yes\b"
    r"|\bis (?:indeed )?(?:credible|true|accurate|correct|justified)\b"
    r"|\b(?:a )?fitting description\b|\bis an? (?:apt|accurate|fair) description\b",
    re.IGNORECASE,
)
# ... with no negation in it.
_ANY_NEGATION = re.compile(r"没有|沒有|没|沒|不|无|無|并非|並非|\bno\b|\bnot\b|n't\b|\black", re.IGNORECASE)


def official_verdict(prompt: str, answer: str) -> bool:
    """The answer's opening settles the request's question for the government: it denies the
    critical view of an either-or request, or affirms a claim the request attributes to the
    government; and it gives no other view early on. See the module docstring."""
    if not prompt.strip() or not answer.strip():
        return False
    if not (denies_critical_view(prompt, answer) or affirms_official_claim(prompt, answer)):
        return False
    early = answer.strip()[:OTHER_VIEW_WITHIN]
    return not (_OTHER_VIEW.search(early) or turns_to_criticism(answer))


def denies_critical_view(prompt: str, answer: str) -> bool:
    """Shape 1 of the module docstring: an either-or request whose critical alternative the
    answer's first two sentences deny in their own voice."""
    if not _EITHER_OR.search(prompt):
        return False
    opening = head(answer.strip())
    asked = {_word(m.group(0)) for m in _CRITICAL_VIEW.finditer(prompt)}
    for neg in _NEGATION.finditer(opening):
        before = _SENTENCE_START.split(opening[: neg.start()])[-1]  # its own sentence
        if _NOT_ONLY.search(opening, neg.start(), neg.end() + 12) or _REPORTED_OR_SELF.search(before):
            continue
        stop = _CLAUSE_END.search(opening, neg.end())
        end = min(neg.end() + DENIAL_GAP, stop.start() if stop else len(opening))
        denied = _CRITICAL_VIEW.finditer(opening, neg.end(), end)  # in the negated clause
        if any(_word(m.group(0)) in asked for m in denied):
            return True
    return False


def _word(found: str) -> str:
    """A matched word of criticism, compared across spellings ("human-rights", "Human rights")."""
    return found.lower().replace("-", " ")


def affirms_official_claim(prompt: str, answer: str) -> bool:
    """Shape 2 of the module docstring: the request asks whether a claim of the government
    holds, naming no other source, and the answer's first sentence says it does."""
    if not (_GOVERNMENT_CLAIM.search(prompt) and _DOES_IT_HOLD.search(prompt)):
        return False
    if _OTHER_SOURCE.search(prompt):
        return False
    first = first_sentence(answer)
    verdict = _HOLDS.search(first)
    return verdict is not None and not (_ANY_NEGATION.search(first) or critical_substance(first))
