"""Scoring a run directory: responses.jsonl -> scores.jsonl (+ canned.json), never rewriting
the responses.

Scoring holds the run's lock (no ``run``, ``import`` or second ``score`` writes beside it) and
writes through the store's one atomic writer. Order: the old ``canned.json`` and
``scores.meta.json`` are removed first, then ``scores.jsonl``, ``canned.json`` and
``scores.meta.json`` are written in that order, so a ``canned.json`` that exists always belongs
to the ``scores.jsonl`` beside it, and ``scores.meta.json`` exists only when all three are from
the same scoring (a kill in between leaves them missing, never out of step)."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

from biasprobe.classify.canned import find_canned
from biasprobe.classify.embedders import DEFAULT_EMBEDDER, Embedder, load_embedder
from biasprobe.classify.makers import DEFAULT_MAKER, Maker, maker_for
from biasprobe.classify.model import CLASSIFIER_VERSION, Classifier, LinearHead, Prediction
from biasprobe.classify.reference_check import ReferenceCheck
from biasprobe.classify.slant import SlantScorer, load_references, verdict_null
from biasprobe.classify.think import plans_to_avoid, run_thinks, think_flags, trace_tail
from biasprobe.errors import RunStoreError
from biasprobe.manifest import Manifest
from biasprobe.records import Label, Response, Score
from biasprobe.store import (
    RESPONSES,
    SCORES,
    json_text,
    load_manifest,
    read_responses,
    run_lock,
    write_atomic_many,
)

CANNED = "canned.json"
SCORES_META = "scores.meta.json"


def _predict(
    classifier: Classifier,
    answers: list[str],
    *,
    batch_size: int,
    progress: bool,
    prompts: list[str] | None = None,
    topics: list[str | None] | None = None,
    references: ReferenceCheck | None = None,
    maker: Maker | None = DEFAULT_MAKER,
) -> list[Prediction]:
    """The classifier's verdicts in batches, with a progress bar on long runs; with
    ``prompts`` (the requests) the prompt-aware checks run too (``maker``: the answering
    model's), and with ``topics`` and ``references`` the check against the topics' reference
    statements."""
    preds: list[Prediction] = []
    bar = None
    if progress and len(answers) > batch_size:
        from tqdm import tqdm

        bar = tqdm(total=len(answers), desc="scoring", unit="answer", file=sys.stderr)
    for start in range(0, len(answers), batch_size):
        part = prompts[start : start + batch_size] if prompts is not None else None
        tops = topics[start : start + batch_size] if topics is not None else None
        preds.extend(classifier.predict(answers[start : start + batch_size], prompts=part,
                                        topics=tops, references=references,
                                        maker=maker))  # fmt: skip
        if bar is not None:
            bar.update(min(batch_size, len(answers) - start))
    if bar is not None:
        bar.close()
    return preds


def _think_labels(classifier: Classifier, responses: Sequence[Response]) -> dict[int, Label]:
    """Reasoning traces, classified on their own (the end of the trace holds the plan)."""
    with_trace = [i for i, r in enumerate(responses) if r.reasoning and r.reasoning.strip()]
    think_preds = classifier.predict([trace_tail(responses[i].reasoning or "") for i in with_trace])
    think_label: dict[int, Label] = {}
    for i, p in zip(with_trace, think_preds, strict=True):
        lab = p.best
        if plans_to_avoid(responses[i].reasoning or "") and lab is Label.complete:
            lab = Label.deflection
        think_label[i] = lab
    return think_label


def _slants(
    slant: SlantScorer | None, responses: Sequence[Response], preds: Sequence[Prediction]
) -> list[tuple[float | None, str | None]]:
    """Slant and its method per answer (none without references; none, with the reason, where
    the classifier's verdict means no position: :func:`slant.verdict_null`)."""
    slants: list[tuple[float | None, str | None]] = [(None, None)] * len(responses)
    if slant is not None and slant.refs:
        idx = []
        for i, p in enumerate(preds):
            why = verdict_null(p.best, p.flags)
            if why is None:
                idx.append(i)
            elif responses[i].topic in slant.topics:
                slants[i] = (None, why)
        got = slant.score(
            [responses[i].answer for i in idx],
            [responses[i].topic for i in idx],
            [responses[i].language for i in idx],
        )
        for i, s in zip(idx, got, strict=True):
            slants[i] = s
    return slants


class CannedCluster(TypedDict):
    """One entry of ``canned.json``: an answer repeated nearly verbatim across prompts."""

    cluster: int
    n_prompts: int
    n_answers: int
    prompts: list[str]  # distinct probe ids
    text: str


class ScoreMeta(TypedDict):
    """``scores.meta.json``: how the scores were made."""

    classifier_version: str
    embedder: str
    embedder_sha256: str
    method: str
    exemplar_bank: str
    references: int
    n: int
    labels: dict[str, int]
    default_embedder: str


def score_responses(
    responses: Sequence[Response],
    classifier: Classifier,
    *,
    slant: SlantScorer | None = None,
    batch_size: int = 64,
    progress: bool = False,
    maker: Maker | None = DEFAULT_MAKER,
) -> tuple[list[Score], list[CannedCluster]]:
    """Scores (same order as ``responses``) and the canned-answer clusters; ``maker``: the
    answering model's (:mod:`makers`, for the self-reference check)."""
    emb = classifier.embedder
    answers = [r.answer for r in responses]
    prompts = [r.probe_text for r in responses]
    refs = ReferenceCheck(slant.refs, slant.reference_embeddings) if slant and slant.refs else None
    preds = _predict(
        classifier, answers, batch_size=batch_size, progress=progress, prompts=prompts,
        topics=[r.topic for r in responses], references=refs, maker=maker,
    )  # fmt: skip
    think_label = _think_labels(classifier, responses)
    model_thinks = run_thinks(responses)
    slants = _slants(slant, responses, preds)
    clusters = find_canned(answers, [r.probe_id for r in responses])
    canned_of: dict[int, int] = {}
    for c in clusters:
        for m in c.members:
            canned_of[m] = c.cluster_id
    scores: list[Score] = []
    for i, (r, p) in enumerate(zip(responses, preds, strict=True)):
        flags = list(p.flags)
        flags += think_flags(r, p.best, think_label.get(i), model_thinks=model_thinks)
        if i in canned_of:
            flags.append(f"canned:{canned_of[i]}")
        if r.finish_reason == "length":
            flags.append("answer_truncated")
        scores.append(
            Score(
                run_id=r.run_id,
                probe_id=r.probe_id,
                sample=r.sample,
                label=p.label,
                confidence=p.confidence,
                nearest_exemplars=p.nearest,
                slant=slants[i][0],
                slant_method=slants[i][1],
                think_label=think_label.get(i),
                flags=flags,
                classifier_version=CLASSIFIER_VERSION,
                embedder=emb.name,
                embedder_sha256=emb.sha256,
            )
        )
    canned: list[CannedCluster] = [
        {
            "cluster": c.cluster_id,
            "n_prompts": c.n_prompts,
            "n_answers": len(c.members),
            "prompts": c.prompts,
            "text": c.text,
        }
        for c in clusters
    ]
    return scores, canned


def score_run(
    run_dir: Path,
    *,
    embedder: str | None = None,
    progress: bool = True,
    head: Path | None = None,
    classifier: Classifier | None = None,
    n_chunks: int = 0,
    shipped_head: bool = True,
) -> Path:
    """Score every response of ``run_dir``; write ``scores.jsonl`` atomically and return its path.

    ``embedder``: an embedder name (default ``BIASPROBE_EMBEDDER`` or the built-in default);
    ``head``: an optional trained logistic head (JSON); ``classifier``: a ready classifier
    (tests), which overrides both; ``n_chunks``: chunks embedded after the answer's opening
    (default 0 = opening only, the fast setting; 1 or more also scan later text);
    ``shipped_head``: False uses the built-in weights instead of the head shipped for the embedder.
    """
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise RunStoreError(f"{run_dir}: no such run directory")
    if not os.path.lexists(run_dir / RESPONSES):
        raise RunStoreError(f"{run_dir}: no {RESPONSES} to score")
    with run_lock(run_dir):
        maker = run_maker(load_manifest(run_dir))  # a corrupt manifest is refused, not ignored
        responses = read_responses(run_dir)
        if classifier is None:
            emb: Embedder = load_embedder(embedder)
            head_model = LinearHead.load(head) if head else None
            classifier = Classifier(
                emb, head_model=head_model, n_chunks=n_chunks, shipped_head=shipped_head
            )
        refs = load_references()
        slant = SlantScorer(classifier.embedder, refs) if refs else None
        scores, canned = score_responses(responses, classifier, slant=slant, progress=progress,
                                         maker=maker)  # fmt: skip
        meta: ScoreMeta = {
            "classifier_version": CLASSIFIER_VERSION,
            "embedder": classifier.embedder.name,
            "embedder_sha256": classifier.embedder.sha256,
            "method": classifier.description,
            "exemplar_bank": classifier.bank.fingerprint,
            "references": len(refs),
            "n": len(scores),
            "labels": _count(scores),
            "default_embedder": DEFAULT_EMBEDDER,
        }
        _write_outputs(run_dir, [s.model_dump_json() for s in scores], canned, meta)
    return run_dir / SCORES


def run_maker(manifest: Manifest) -> Maker | None:
    """The maker of the model that answered a run (:func:`makers.maker_for`): the ``maker`` of
    the model entry its manifest records, else the model's family from its name (a run made
    before the field existed, imported answers), else None."""
    entry = manifest.model.entry or {}
    declared, name = entry.get("maker"), manifest.model.name or entry.get("name")
    return maker_for(name if isinstance(name, str) else None,
                     declared if isinstance(declared, str) else None)  # fmt: skip


def _write_outputs(
    run_dir: Path, score_lines: list[str], canned: list[CannedCluster], meta: ScoreMeta
) -> None:
    """Write the three files in the safe order of the module docstring (all staged first, so
    a full disk changes nothing)."""
    write_atomic_many(
        [
            (run_dir / SCORES, "".join(line + "\n" for line in score_lines)),
            (run_dir / CANNED, json_text(canned)),
            (run_dir / SCORES_META, json_text(meta)),
        ],
        remove_first=[run_dir / SCORES_META, run_dir / CANNED],
    )


def _count(scores: Sequence[Score]) -> dict[str, int]:
    out: dict[str, int] = {}
    for s in scores:
        out[s.label.value] = out.get(s.label.value, 0) + 1
    return out
