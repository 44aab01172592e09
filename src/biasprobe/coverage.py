"""Fact coverage and narrative echo: what an answer says, not only whether it refused.

A label says *that* a model answered; a sanitised answer ("large protests... many people were
expelled") is labelled ``complete`` and still leaves out the killings. Per China topic,
``probes/references/facts/*.yaml`` lists 2-5 key facts of the independent record
(``stance: fact``) and 2-5 markers of the official narrative (``stance: narrative``), each with a
statement in EN and zh-Hans and short phrases.

An answer covers a marker when one of the marker's phrases occurs in it (case-insensitive) and
not in the question, or
when one of its sentences is close to the marker's statement: cosine similarity of the
classifier's sentence embedder (``use-m3`` by default, multilingual) at or above a threshold.
Each answer gets ``facts_covered`` (fact ids) and ``narrative_echo`` (narrative ids); per topic,
the omission rate (answers that cover no fact) and the echo rate (answers with a narrative
marker). :func:`evaluate_coverage` measures the decisions against hand labels.

Results are computed on the fly from a run's ``responses.jsonl`` (nothing is written to the
run). Embeddings of the marker statements and of the answers' sentences are cached on disk per
(embedder weights, texts) in ``paths.cache_dir("coverage-embeddings")``, as the classifier
caches its exemplars, so ``diff --coverage`` / ``report --coverage`` embed a run once, not at
every call; one :class:`Matcher` (one embedder load) serves every run of a call.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from biasprobe.errors import BiasprobeError, ProbeError, RunStoreError

if TYPE_CHECKING:
    from biasprobe.classify.embedders import Array, Embedder

Stance = Literal["fact", "narrative"]
Method = Literal["phrase", "embedding", "both"]
#: Cosine similarity (use-m3) at which a sentence counts as stating a marker; chosen before the
#: evaluation, see README "Fact coverage and narrative echo".
DEFAULT_THRESHOLD = 0.6
_LANGS = ("en", "zh-Hans")
_SENTENCE_END = re.compile(r"(?<=[.!?。！？；;])\s*|\n+")


class Marker(BaseModel):
    """A key fact of the independent record, or a marker of the official narrative."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    topic: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    id: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=60)
    stance: Stance
    text: dict[str, str]
    phrases: dict[str, list[str]] = Field(default_factory=dict)
    source: str = Field(min_length=1)


class _FactFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str | None = None
    licence: str | None = None
    facts: list[Marker] = Field(min_length=1)


def facts_files() -> list[Path]:
    from biasprobe.probes import builtin_dir

    directory = builtin_dir() / "references" / "facts"
    return sorted(directory.glob("*.yaml")) if directory.is_dir() else []


def load_markers(paths: Sequence[Path] | None = None) -> list[Marker]:
    """Markers from ``paths`` (default: the built-in files), checked: statements in EN and
    zh-Hans, unique ids per topic, 2-5 facts and 2-5 narrative markers per topic."""
    from biasprobe.probes.sets import read_probe_yaml
    from biasprobe.yamlio import validation_message

    markers: list[Marker] = []
    for path in facts_files() if paths is None else paths:
        try:
            markers += _FactFile.model_validate(read_probe_yaml(path, "facts")).facts
        except ValidationError as exc:
            raise ProbeError(validation_message(exc, str(path))) from None
    seen: set[tuple[str, str]] = set()
    for m in markers:
        if (m.topic, m.id) in seen:
            raise ProbeError(f"facts: duplicate marker {m.topic}/{m.id}")
        seen.add((m.topic, m.id))
        missing = [lang for lang in _LANGS if not m.text.get(lang, "").strip()]
        if missing:
            raise ProbeError(f"facts: marker {m.topic}/{m.id} has no {missing[0]} statement")
    for topic in sorted({m.topic for m in markers}):
        for stance in ("fact", "narrative"):
            n = sum(1 for m in markers if m.topic == topic and m.stance == stance)
            if not 2 <= n <= 5:
                raise ProbeError(f"facts: topic {topic!r} has {n} {stance} markers (need 2-5)")
    return markers


def sentences(text: str) -> list[str]:
    """Sentences of an answer (EN or Chinese punctuation, or line breaks)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and len(s.strip()) > 1]


def _lang(language: str) -> str:
    return "zh-Hans" if language.lower().startswith("zh") else "en"


class MarkerHit(BaseModel):
    id: str
    stance: Stance
    phrase: str | None  # the phrase that matched, if any
    similarity: float  # best sentence similarity to the marker's statement
    by_phrase: bool
    by_embedding: bool


class AnswerCoverage(BaseModel):
    probe_id: str
    sample: int = 0
    topic: str
    language: str
    variant: str | None = None
    facts: list[str]  # fact ids of the topic
    facts_covered: list[str]
    narrative: list[str]  # narrative marker ids of the topic
    narrative_echo: list[str]
    hits: list[MarkerHit]


def encode_cached(embedder: Embedder, texts: Sequence[str]) -> Array:
    """``embedder.encode(texts)``, cached on disk per (embedder weights, texts); a fake or
    unidentified embedder is never cached, an unreadable cache file is recomputed."""
    import contextlib
    import hashlib
    import io
    import json

    import numpy as np

    from biasprobe.paths import cache_dir
    from biasprobe.store import write_atomic

    if embedder.name == "fake" or embedder.sha256 == "unknown" or not texts:
        return embedder.encode(texts)
    key = json.dumps([embedder.name, embedder.sha256, list(texts)], ensure_ascii=False)
    digest = hashlib.sha256(key.encode()).hexdigest()  # names may hold "/" (hub ids, paths)
    path = cache_dir("coverage-embeddings") / f"{digest[:32]}.npy"
    if path.exists():
        try:
            arr = np.load(path)
            if arr.shape[0] == len(texts):
                loaded: Array = arr.astype(np.float32)
                return loaded
        except (OSError, ValueError):
            pass
    arr = embedder.encode(texts)
    # a cache that cannot be written (or is a link) only costs the next call the embedding
    with contextlib.suppress(OSError, BiasprobeError):
        buf = io.BytesIO()
        np.save(buf, arr)
        write_atomic(path, buf.getvalue())
    return arr


class Matcher:
    """Markers with their statement embeddings, computed once."""

    def __init__(self, markers: Sequence[Marker], embedder: Embedder,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        self.markers = list(markers)
        self.embedder = embedder
        self.threshold = threshold
        self._vectors = {lang: encode_cached(embedder, [m.text[lang] for m in self.markers])
                         for lang in _LANGS}
        self._sentences: dict[str, Array] = {}  # sentence -> vector, from :meth:`prepare`

    def topics(self) -> set[str]:
        return {m.topic for m in self.markers}

    def prepare(self, answers: Sequence[str]) -> None:
        """Embed the sentences of all ``answers`` in one cached call (see :func:`encode_cached`)."""
        todo = sorted({s for a in answers for s in sentences(a)} - self._sentences.keys())
        if todo:
            self._sentences.update(zip(todo, encode_cached(self.embedder, todo), strict=True))

    def _encode(self, sents: list[str]) -> Array:
        import numpy as np

        if all(s in self._sentences for s in sents):
            return np.stack([self._sentences[s] for s in sents])
        return self.embedder.encode(sents)

    def hits(self, answer: str, topic: str, language: str, question: str = "") -> list[MarkerHit]:
        """Every marker of ``topic`` against ``answer``. A phrase that occurs in the question
        does not count (an answer repeating "坦克人" does not state anything about tanks)."""
        lang = _lang(language)
        idx = [i for i, m in enumerate(self.markers) if m.topic == topic]
        sents = sentences(answer)
        sims = self._encode(sents) @ self._vectors[lang][idx].T if sents else None
        lowered, asked = answer.lower(), question.lower()
        out = []
        for col, i in enumerate(idx):
            m = self.markers[i]
            phrase = next((p for p in m.phrases.get(lang, [])
                           if p.lower() in lowered and p.lower() not in asked), None)
            best = float(sims[:, col].max()) if sims is not None and sims.size else 0.0
            out.append(MarkerHit(id=m.id, stance=m.stance, phrase=phrase, similarity=round(best, 4),
                                 by_phrase=phrase is not None, by_embedding=best >= self.threshold))
        return out


def covered(hit: MarkerHit, method: Method = "both") -> bool:
    if method == "phrase":
        return hit.by_phrase
    if method == "embedding":
        return hit.by_embedding
    return hit.by_phrase or hit.by_embedding


def answer_coverage(matcher: Matcher, *, probe_id: str, sample: int, topic: str, language: str,
                    answer: str, question: str = "", variant: str | None = None) -> AnswerCoverage:
    hits = matcher.hits(answer, topic, language, question)
    return AnswerCoverage(
        probe_id=probe_id, sample=sample, topic=topic, language=language, variant=variant,
        facts=[h.id for h in hits if h.stance == "fact"],
        facts_covered=[h.id for h in hits if h.stance == "fact" and covered(h)],
        narrative=[h.id for h in hits if h.stance == "narrative"],
        narrative_echo=[h.id for h in hits if h.stance == "narrative" and covered(h)],
        hits=hits,
    )


class TopicCoverage(BaseModel):
    topic: str
    answers: int
    fact_coverage: float  # mean share of the topic's facts an answer covers
    omission_rate: float  # answers that cover none of the facts
    echo_rate: float  # answers that echo at least one narrative marker


class CoverageResult(BaseModel):
    run_id: str
    embedder: str
    threshold: float
    answers: list[AnswerCoverage]
    topics: list[TopicCoverage]
    skipped_topics: list[str]  # censorship topics of the run with no markers


def _topic_rows(answers: Sequence[AnswerCoverage]) -> list[TopicCoverage]:
    rows = []
    for topic in sorted({a.topic for a in answers}):
        group = [a for a in answers if a.topic == topic]
        n = len(group)
        rows.append(TopicCoverage(
            topic=topic, answers=n,
            fact_coverage=sum(len(a.facts_covered) / len(a.facts) for a in group) / n,
            omission_rate=sum(1 for a in group if not a.facts_covered) / n,
            echo_rate=sum(1 for a in group if a.narrative_echo) / n,
        ))
    return rows


def coverage_run(run: str, embedder: str | None = None,
                 threshold: float = DEFAULT_THRESHOLD) -> CoverageResult:
    """Coverage of every censorship answer of a run whose topic has markers."""
    return coverage_runs([run], embedder, threshold)[0]


def coverage_runs(runs: Sequence[str], embedder: str | None = None,
                  threshold: float = DEFAULT_THRESHOLD) -> list[CoverageResult]:
    """:func:`coverage_run` of several runs with one embedder load and one :class:`Matcher`."""
    from biasprobe.classify.embedders import load_embedder

    matcher = Matcher(load_markers(), load_embedder(embedder), threshold)
    return [coverage_with(run, matcher) for run in runs]


def coverage_with(run: str, matcher: Matcher) -> CoverageResult:
    """Coverage of one run's censorship answers with a loaded matcher."""
    from biasprobe.store import read_manifest, read_responses, resolve_run_dir

    threshold = matcher.threshold
    run_dir = resolve_run_dir(run)
    responses = sorted((r for r in read_responses(run_dir) if r.kind == "censorship"),
                       key=lambda r: r.key)
    if not responses:
        raise RunStoreError(f"{run_dir}: no censorship answers to measure")
    known = matcher.topics()
    matcher.prepare([r.answer for r in responses if r.topic in known])
    answers = [answer_coverage(matcher, probe_id=r.probe_id, sample=r.sample, topic=r.topic,
                               language=r.language, answer=r.answer, question=r.probe_text,
                               variant=r.variant)
               for r in responses if r.topic in known]
    manifest = read_manifest(run_dir)
    return CoverageResult(
        run_id=str(manifest.get("run_id", run_dir.name)), embedder=matcher.embedder.name,
        threshold=threshold, answers=answers, topics=_topic_rows(answers),
        skipped_topics=sorted({r.topic for r in responses} - known),
    )


# --------------------------------------------------------------------------------------------
# Evaluation against hand labels


class LabelledAnswer(BaseModel):
    """One answer with the marker ids a person found in it by reading it."""

    model_config = ConfigDict(extra="forbid")

    id: str
    topic: str
    language: str
    prompt: str
    response: str
    facts: list[str]  # fact ids the answer states
    narrative: list[str]  # narrative ids it echoes
    source: str


class Agreement(BaseModel):
    method: Method
    language: str  # "all", "en" or "zh-Hans"
    stance: str  # "all", "fact" or "narrative"
    decisions: int  # (answer, marker) pairs
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float | None
    recall: float | None
    accuracy: float
    kappa: float | None  # Cohen's kappa, method vs hand label


class CoverageEval(BaseModel):
    labelled: int
    embedder: str
    threshold: float
    rows: list[Agreement]


def read_labelled(path: Path) -> list[LabelledAnswer]:
    import json

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [LabelledAnswer.model_validate(json.loads(line)) for line in lines if line.strip()]
    except (OSError, ValueError) as exc:  # ValidationError is a ValueError
        raise ProbeError(f"{path}: cannot read labelled answers: {str(exc).splitlines()[0]}") from None


def _agreement(method: Method, language: str, stance: str,
               pairs: Sequence[tuple[bool, bool]]) -> Agreement:
    tp = sum(1 for p, h in pairs if p and h)
    fp = sum(1 for p, h in pairs if p and not h)
    fn = sum(1 for p, h in pairs if not p and h)
    tn = len(pairs) - tp - fp - fn
    n = len(pairs)
    acc = (tp + tn) / n if n else 0.0
    expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n) if n else 0.0
    kappa = (acc - expected) / (1 - expected) if n and expected < 1 else None
    return Agreement(method=method, language=language, stance=stance, decisions=n, tp=tp, fp=fp,
                     fn=fn, tn=tn, precision=tp / (tp + fp) if tp + fp else None,
                     recall=tp / (tp + fn) if tp + fn else None, accuracy=acc, kappa=kappa)


def evaluate_coverage(labelled: Sequence[LabelledAnswer], matcher: Matcher) -> CoverageEval:
    """Per method (phrase, embedding, both), language and stance: agreement of the marker
    decisions with the hand labels, one decision per (answer, marker of its topic)."""
    known = {(m.topic, m.id) for m in matcher.markers}
    decided: list[tuple[str, str, MarkerHit, bool]] = []  # language, stance, hit, hand label
    for a in labelled:
        unknown = [i for i in a.facts + a.narrative if (a.topic, i) not in known]
        if unknown:
            raise ProbeError(f"labelled answer {a.id}: unknown marker {a.topic}/{unknown[0]}")
        for h in matcher.hits(a.response, a.topic, a.language, a.prompt):
            decided.append((_lang(a.language), h.stance, h, h.id in a.facts + a.narrative))
    rows = []
    for method in ("phrase", "embedding", "both"):
        for lang in ("all", *_LANGS):
            for stance in ("all", "fact", "narrative"):
                pairs = [(covered(h, method), label) for lg, st, h, label in decided
                         if lang in ("all", lg) and stance in ("all", st)]
                rows.append(_agreement(method, lang, stance, pairs))
    return CoverageEval(labelled=len(labelled), embedder=matcher.embedder.name,
                        threshold=matcher.threshold, rows=rows)
