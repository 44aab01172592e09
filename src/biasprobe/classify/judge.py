"""An optional local judge: ask a registry model for a verdict on answers (``--judge MODEL``).

The embedding classifier stays the default path (no model, no network, CPU speed). A judge is
any entry of the model registry, loaded through the existing backends (transformers, vLLM, an
OpenAI-compatible server, the fake backend in tests): no loader of its own. It gets a bilingual
EN + zh-Hans prompt kept as data (``classify/data/judge-prompt.yaml``; its sha256 is recorded
with every verdict) holding the request and the answer, and must reply with one line
``VERDICT: <label>`` (:func:`parse_verdict`; anything else is *unparseable*: counted, stored,
and the label is left as it was).

Scope: ``uncertain`` (default) asks only about the answers where the judge decides
(:func:`biasprobe.judgements.is_unsure`); ``all`` asks about every answer (disagreements with
confident labels are flagged, not applied). Verdicts are appended to ``judgements.jsonl``
after each batch, so a run that is interrupted keeps what it has; an answer already judged by
the same judge (name + files hash) with the same prompt hash is never asked again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from biasprobe import labels as label_registry
from biasprobe.backends.base import Backend, ChatRequest, Message
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.errors import BiasprobeError, ConfigError
from biasprobe.judgements import (
    Judgement,
    append_judgements,
    apply_judgements,
    is_unsure,
    latest_verdicts,
    read_judgements,
    unsure,
)
from biasprobe.judgescope import JudgeScope
from biasprobe.paths import package_file
from biasprobe.records import Label, Response, Score

if TYPE_CHECKING:
    from biasprobe.classify.model import Prediction
from biasprobe.store import read_bounded, read_responses, read_scores, utcnow

#: A verdict is one short line; a reasoning judge's think block is split off by the backend.
JUDGE_MAX_NEW_TOKENS = 24
#: The judge sees the answer's first characters (refusals and deflections open the answer).
ANSWER_CHARS = 2000
REQUEST_CHARS = 1000

Log = Callable[[str], None]


class JudgeError(BiasprobeError):
    """The judge prompt or the judge model cannot be used."""


@dataclass(frozen=True)
class JudgePrompt:
    """The judge prompt: a system message, a user template with {request} and {answer}."""

    system: str
    user: str
    labels: tuple[str, ...]
    sha256: str

    def messages(self, request: str, answer: str) -> tuple[Message, ...]:
        user = self.user.replace("{request}", request[:REQUEST_CHARS].strip() or "(not given)")
        user = user.replace("{answer}", answer[:ANSWER_CHARS].strip() or "(empty)")
        return (Message("system", self.system), Message("user", user))


def load_prompt(path: Path | None = None) -> JudgePrompt:
    """The shipped prompt (or ``path``), checked: both placeholders, the registry's labels."""
    import yaml

    path = path or package_file("classify", "data", "judge-prompt.yaml")
    raw = read_bounded(path, 1024 * 1024, JudgeError)
    data = yaml.safe_load(raw.decode("utf-8"))
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("system", "user")):
        raise JudgeError(f"{path}: a judge prompt needs the strings 'system' and 'user'")
    labels = tuple(str(x) for x in data.get("labels") or ())
    if set(labels) != set(label_registry.predicted_names()):
        raise JudgeError(f"{path}: labels must be {', '.join(label_registry.predicted_names())}")
    if "{request}" not in data["user"] or "{answer}" not in data["user"]:
        raise JudgeError(f"{path}: the user template needs {{request}} and {{answer}}")
    return JudgePrompt(data["system"], data["user"], labels, hashlib.sha256(raw).hexdigest())


_VERDICT = re.compile(r"(?:verdict|判定|标注)\s*[:：]", re.IGNORECASE)
_DECOR = " \t*`'\"“”‘’.。!！[]()（）<>"


def parse_verdict(text: str, labels: Sequence[str] | None = None) -> Label | None:
    """The label of a reply ``VERDICT: <label>`` (or a first line that is only a label); the
    rest of that line must be the label alone (decoration aside). Anything else: None."""
    match = _VERDICT.search(text)
    if match is not None:
        candidate = text[match.end():].split("\n", 1)[0]
    else:
        candidate = next((line for line in text.splitlines() if line.strip()), "")
    word = candidate.strip(_DECOR).lower().replace(" ", "_").replace("-", "_")
    allowed = label_registry.predicted_names() if labels is None else labels
    return Label(word) if word in allowed else None


@dataclass
class Judge:
    """A registry model as a judge; the backend is loaded on the first question only."""

    entry: ModelEntry
    sha256: str | None  # of the judge's files; None for a served model
    prompt: JudgePrompt
    loader: Callable[[], Backend]
    _backend: Backend | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.entry.name

    def ask(self, items: Sequence[tuple[tuple[str, int], str, str]]) -> list[tuple[str, Label | None]]:
        """(raw reply, parsed label) for each (key, request, answer), in order."""
        if not items:
            return []
        if self._backend is None:
            self._backend = self.loader()
        settings = GenerationSettings(max_new_tokens=JUDGE_MAX_NEW_TOKENS, seed=self.entry.generation.seed)
        requests = [ChatRequest(key, self.prompt.messages(req, ans)) for key, req, ans in items]
        gens = self._backend.generate(requests, settings)
        return [(g.answer, parse_verdict(g.answer, self.prompt.labels)) for g in gens]

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def open_judge(name: str, models_file: Path | None = None, log: Log = print) -> Judge:
    """The registry entry ``name`` as a judge: weights resolved and hashed now, loaded later."""
    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.config import Registry

    entry = Registry.load(models_file).get(name)
    resolved = resolve_model(entry, log=log)
    files = resolved.files_sha256
    digest = None
    if files:
        digest = hashlib.sha256("".join(f"{k}={files[k]}\n" for k in sorted(files)).encode()).hexdigest()
    return Judge(entry, digest, load_prompt(), lambda: load_backend(entry, resolved))


@dataclass
class JudgeSummary:
    """What a judge pass did (``score``/``run`` print it; ``--format json`` holds it)."""

    judge: str
    judge_sha256: str | None
    prompt_sha256: str
    scope: str
    selected: int = 0  # answers in scope
    cached: int = 0  # already judged by this judge with this prompt
    asked: int = 0
    unparseable: int = 0  # of those asked now
    decided: int = 0  # labels the judge set in the run (any judge in judgements.jsonl)
    disagreements: int = 0  # confident labels a verdict disagrees with (flagged only)

    def line(self) -> str:
        return (f"judge {self.judge}: {self.selected} answers in scope ({self.scope}), "
                f"{self.asked} asked, {self.cached} already judged, {self.unparseable} unparseable")

    def combined_line(self) -> str:
        return (f"combined labels: {self.decided} set by the judge (unsure answers), "
                f"{self.disagreements} confident labels kept where the judge disagrees "
                "(flag judge_disagrees)")

    def to_json(self) -> dict[str, str | int | None]:
        return dataclasses.asdict(self)


def in_scope(score: Score | None, scope: JudgeScope) -> bool:
    return scope is JudgeScope.all or (score is not None and is_unsure(score))


def judge_run(
    run_dir: Path, judge: Judge, scope: JudgeScope = JudgeScope.uncertain, *, batch_size: int = 8,
    log: Log | None = None,
) -> JudgeSummary:
    """Ask ``judge`` about the run's answers in ``scope`` that it has not judged yet, appending
    each batch's verdicts to ``judgements.jsonl`` (an interrupt keeps every finished batch)."""
    responses = read_responses(run_dir)
    scores = read_scores(run_dir)
    done = {j.key for j in read_judgements(run_dir)
            if j.identity == (judge.name, judge.sha256, judge.prompt.sha256)}
    todo = [r for r in responses if in_scope(scores.get(r.key), scope)]
    summary = JudgeSummary(judge.name, judge.sha256, judge.prompt.sha256, scope.value, len(todo))
    pending = [r for r in todo if r.key not in done]
    summary.cached = len(todo) - len(pending)
    for start in range(0, len(pending), batch_size):
        batch = pending[start : start + batch_size]
        verdicts = judge.ask([(r.key, r.probe_text, r.answer) for r in batch])
        append_judgements(run_dir, [_record(judge, r, scores.get(r.key), raw, lab)
                                    for r, (raw, lab) in zip(batch, verdicts, strict=True)])
        summary.asked += len(batch)
        summary.unparseable += sum(lab is None for _, lab in verdicts)
        if log is not None:
            log(f"judge: {summary.asked}/{len(pending)} answers")
    combined, summary.decided = apply_judgements(scores, latest_verdicts(read_judgements(run_dir)))
    summary.disagreements = sum(
        any(f.startswith("judge_disagrees:") for f in s.flags) for s in combined.values()
    )
    return summary


def _record(judge: Judge, r: Response, score: Score | None, raw: str, label: Label | None) -> Judgement:
    return Judgement(
        probe_id=r.probe_id, sample=r.sample, judge=judge.name, judge_sha256=judge.sha256,
        prompt_sha256=judge.prompt.sha256, raw=raw[:20000], label=label,
        classifier_label=score.label if score else None,
        classifier_confidence=min(1.0, max(0.0, score.confidence)) if score else None,
        created=utcnow(),
    )


def check_judge_name(name: str | None) -> None:
    """``--judge`` takes a registry model name (checked before any work is done)."""
    if name is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise ConfigError(f"--judge: {name!r} is not a model name from the registry")


@dataclass
class EvalJudged:
    """``eval-classifier --judge``: the verdicts on the rows asked, and the combined labels."""

    asked: list[int]  # row indices in scope
    verdicts: dict[int, Label]  # parsed verdicts by row index
    unparseable: int
    combined: list[Label]  # per row: the verdict where the classifier was unsure, else its label
    decided: int  # rows whose label the judge set


def judge_predictions(
    judge: Judge, requests: Sequence[str], answers: Sequence[str], preds: Sequence[Prediction],
    scope: JudgeScope, *, batch_size: int = 8, log: Log | None = None,
) -> EvalJudged:
    """Ask ``judge`` about labelled rows (no run folder: nothing is cached) and combine its
    verdicts with the classifier's predictions by the rule of :mod:`biasprobe.judgements`."""
    sure = [not unsure(p.label, p.confidence, p.flags) for p in preds]
    asked = [i for i in range(len(preds)) if scope is JudgeScope.all or not sure[i]]
    verdicts: dict[int, Label] = {}
    unparseable = 0
    for start in range(0, len(asked), batch_size):
        idx = asked[start : start + batch_size]
        got = judge.ask([((f"row{i}", 0), requests[i], answers[i]) for i in idx])
        for i, (_raw, lab) in zip(idx, got, strict=True):
            if lab is None:
                unparseable += 1
            else:
                verdicts[i] = lab
        if log is not None:
            log(f"judge: {start + len(idx)}/{len(asked)} answers")
    combined = [verdicts[i] if i in verdicts and not sure[i] else p.label for i, p in enumerate(preds)]
    decided = sum(1 for i in verdicts if not sure[i])
    return EvalJudged(asked, verdicts, unparseable, combined, decided)
