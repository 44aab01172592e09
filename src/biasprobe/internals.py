"""Refusal signals read from the model itself (issue 20): activations and first-token logits.

Black-box labels only say what a model wrote. With local weights we can also measure how
strongly it leans toward refusing *before* it writes a word. This pass is decoupled from
generation: it re-reads the prompts stored in ``responses.jsonl`` (after the chat template),
loads the run's model with the transformers backend's own loading code, and does one batched,
left-padded forward pass per prompt (no generation). Per response it records, in
``internals.jsonl``:

- ``refusal_prob``: the probability mass of the first answer token on *refusal openings*,
  the first tokens of the refusal and deflection exemplars of the classifier's bank (EN and
  ZH) minus those that also open a complete exemplar; the token list is stated in the header;
- ``projection``: the residual stream at the last prompt token projected on a unit
  *censorship direction* per layer: the difference of means between censorship probes and
  neutral/benign controls, computed per language and averaged over the languages that have
  both (matched on language). The direction comes from the run itself or from another run
  (``direction_from``) so two versions are measured on one axis. Recorded layers: the ones at
  25/50/75% depth plus the layer whose projection best separates censorship probes from
  controls on the run that built the direction (chosen in-sample).

``internals.jsonl`` is append-only: each pass appends one header line followed by its records;
readers use the last complete pass. The direction goes to ``internals-direction.json``.
Reasoning models: for answers with a closed think block, both signals are also taken at the end
of it (``think_refusal_prob``, ``think_projection``: a forward pass over the prompt, the stored
trace and ``</think>``), on the same direction.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from biasprobe.errors import BackendError, RunStoreError
from biasprobe.labels import registry
from biasprobe.records import JSONObject, Label, Response, ThinkState
from biasprobe.store import (
    append_run_lines,
    atomic_write_json,
    iter_jsonl,
    read_manifest,
    read_responses,
    resolve_run_dir,
    utcnow,
)

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    from biasprobe.backends.base import Backend, BackendInfo, ChatRequest, Generation
    from biasprobe.backends.transformers import TransformersBackend
    from biasprobe.config import GenerationSettings, ModelEntry

    Matrix = NDArray[np.float32]

INTERNALS = "internals.jsonl"
DIRECTION = "internals-direction.json"
CENSORED_KINDS = ("censorship",)
CONTROL_KINDS = ("neutral", "benign-control")
LAYER_RULE = ("layers at 25/50/75% depth (hidden_states index round(f*L)) plus the layer whose "
              "projection best separates censorship probes from controls (AUROC, in-sample, "
              "on the run that built the direction)")
CPU_BATCH = 16


class _Model(BaseModel):
    # Read back from run files (untrusted): NaN and infinities are refused, as in records.py.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RefusalToken(_Model):
    id: int
    text: str


class Direction(_Model):
    """A per-layer unit censorship direction (index 0 = embeddings, i = after block i)."""

    kind: Literal["biasprobe-censorship-direction"] = "biasprobe-censorship-direction"
    source_run: str
    model: str
    hidden_size: int
    layers: list[list[float]]
    best_layer: int
    best_auroc: float  # censorship probes vs controls, in-sample
    n_censorship: int
    n_control: int
    languages: list[str]
    created: str

    @model_validator(mode="after")
    def _rectangular(self) -> Direction:
        if not self.layers or any(len(row) != self.hidden_size for row in self.layers):
            raise ValueError(f"every layer must hold hidden_size ({self.hidden_size}) numbers")
        if not 0 <= self.best_layer < len(self.layers):
            raise ValueError("best_layer is not one of the layers")
        return self

    @property
    def sha256(self) -> str:
        """Of the content (the creation time left out: the same vectors, the same hash)."""
        return hashlib.sha256(self.model_dump_json(exclude={"created"}).encode()).hexdigest()


class InternalsHeader(_Model):
    record: Literal["header"] = "header"
    created: str
    model: str
    dtype: str
    device: str
    refusal_tokens: list[RefusalToken]
    refusal_tokens_sha256: str
    direction_source: str
    direction_sha256: str
    layers: list[int]
    layer_rule: str = LAYER_RULE
    best_layer: int
    n_records: int

    @model_validator(mode="after")
    def _best_is_recorded(self) -> InternalsHeader:
        if self.best_layer not in self.layers:  # its records hold projections for layers only
            raise ValueError(f"best_layer {self.best_layer} is not one of the layers")
        return self


class InternalsRecord(_Model):
    record: Literal["response"] = "response"
    probe_id: str
    sample: int = 0
    topic: str
    language: str
    kind: str
    refusal_prob: float = Field(ge=0.0, le=1.0)
    projection: dict[str, float]  # layer index (as a string: JSON keys) -> projection
    prompt_tokens: int
    # reasoning answers with a closed think block: the same two signals at the end of it
    think_refusal_prob: float | None = Field(default=None, ge=0.0, le=1.0)
    think_projection: dict[str, float] | None = None


@dataclass(frozen=True)
class Forward:
    """Per prompt: the last-token residual stream at every layer, and the refusal mass."""

    hidden: Matrix  # (n_prompts, n_layers + 1, hidden_size), float32
    refusal_prob: list[float]
    prompt_tokens: list[int]


# --- refusal tokens ------------------------------------------------------------------------


def refusal_tokens(tokenizer: Any, bank_path: Path | None = None) -> list[RefusalToken]:
    """First tokens of refusal/deflection exemplars minus first tokens of complete ones."""
    from biasprobe.classify.bank import load_bank

    bank = load_bank(bank_path)
    refusing: set[int] = set()
    complete: set[int] = set()
    for text, label in zip(bank.texts, bank.labels, strict=True):
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not ids:
            continue
        if label in (Label.refusal, Label.deflection):
            refusing.add(int(ids[0]))
        elif label is Label.complete:
            complete.add(int(ids[0]))
    return [RefusalToken(id=i, text=str(tokenizer.decode([i]))) for i in sorted(refusing - complete)]


def tokens_sha256(tokens: Sequence[RefusalToken]) -> str:
    return hashlib.sha256(json.dumps([t.id for t in tokens]).encode()).hexdigest()


# --- forward pass --------------------------------------------------------------------------


def forward(backend: TransformersBackend, prompts: Sequence[str], token_ids: Sequence[int],
            batch_size: int = CPU_BATCH) -> Forward:
    """One forward pass per prompt (batched, left-padded, no generation)."""
    import numpy as np

    from biasprobe.backends.transformers import run_halving_on_oom

    chunks, _ = run_halving_on_oom(
        list(prompts), batch_size, lambda chunk: [_forward_batch(backend, chunk, token_ids)]
    )
    return Forward(
        hidden=np.concatenate([c.hidden for c in chunks]).astype(np.float32),
        refusal_prob=[p for c in chunks for p in c.refusal_prob],
        prompt_tokens=[n for c in chunks for n in c.prompt_tokens],
    )


def _forward_batch(backend: TransformersBackend, prompts: Sequence[str],
                   token_ids: Sequence[int]) -> Forward:
    import torch

    enc = backend.tokenizer(list(prompts), return_tensors="pt", padding=True,
                            add_special_tokens=False).to(backend.input_device)
    with torch.inference_mode():
        out = backend.model(**enc, output_hidden_states=True, use_cache=False)
    # left padding: position -1 is every prompt's last token
    hidden = torch.stack([h[:, -1, :] for h in out.hidden_states], dim=1).float().cpu()
    probs = torch.softmax(out.logits[:, -1, :].float(), dim=-1)
    mass = probs[:, list(token_ids)].sum(dim=-1) if token_ids else torch.zeros(len(prompts))
    lengths = enc["attention_mask"].sum(dim=1).tolist()
    return Forward(hidden=hidden.numpy(), refusal_prob=[min(1.0, float(p)) for p in mass.cpu()],
                   prompt_tokens=[int(n) for n in lengths])


# --- direction and layers ------------------------------------------------------------------


def auroc(positive: Sequence[float], negative: Sequence[float]) -> float | None:
    """P(a positive scores above a negative), ties counting half (Mann-Whitney U / n1 n2);
    None when either class is empty."""
    if not positive or not negative:
        return None
    wins = 0.0
    for p in positive:
        for n in negative:
            wins += 1.0 if p > n else 0.5 if p == n else 0.0
    return wins / (len(positive) * len(negative))


def build_direction(hidden: Matrix, responses: Sequence[Response], model: str,
                    source_run: str) -> Direction:
    """Difference of means (censorship minus controls) per language, averaged over the
    languages with both; normalised per layer. The best layer is chosen in-sample."""
    import numpy as np

    cens = np.array([r.kind in CENSORED_KINDS for r in responses])
    ctrl = np.array([r.kind in CONTROL_KINDS for r in responses])
    langs = sorted({r.language for r in responses})
    lang_of = np.array([r.language for r in responses])
    diffs = [hidden[cens & (lang_of == lg)].mean(axis=0) - hidden[ctrl & (lang_of == lg)].mean(axis=0)
             for lg in langs if (cens & (lang_of == lg)).any() and (ctrl & (lang_of == lg)).any()]
    if not diffs:
        raise RunStoreError(
            "no language has both censorship probes and neutral/benign controls in this run: "
            "cannot build a censorship direction (use --direction-from another run)")
    used = [lg for lg in langs if (cens & (lang_of == lg)).any() and (ctrl & (lang_of == lg)).any()]
    mean_diff = np.mean(np.stack(diffs), axis=0)
    norms = np.linalg.norm(mean_diff, axis=1, keepdims=True)
    unit = mean_diff / np.where(norms > 0, norms, 1.0)
    proj = np.einsum("nld,ld->nl", hidden, unit)
    scores = [auroc(proj[cens, layer].tolist(), proj[ctrl, layer].tolist()) or 0.5
              for layer in range(hidden.shape[1])]
    best = max(range(1, hidden.shape[1]), key=lambda layer: (scores[layer], -layer))
    return Direction(
        source_run=source_run, model=model, hidden_size=int(hidden.shape[2]),
        layers=[[float(x) for x in row] for row in unit], best_layer=best,
        best_auroc=float(scores[best]), n_censorship=int(cens.sum()), n_control=int(ctrl.sum()),
        languages=used, created=utcnow(),
    )


def chosen_layers(n_layers: int, best: int) -> list[int]:
    """hidden_states indices at 25/50/75% depth (of n_layers blocks) plus ``best``."""
    return sorted({max(1, round(f * n_layers)) for f in (0.25, 0.5, 0.75)} | {best})


def load_direction(source: str) -> Direction:
    """A direction file, or the direction stored in another run's directory."""
    path = Path(source)
    if not path.is_file():
        path = resolve_run_dir(source) / DIRECTION
        if not path.is_file():
            raise RunStoreError(f"{source}: that run has no {DIRECTION}; run "
                                "`biasprobe internals compute` on it first")
    try:
        return Direction.model_validate_json(path.read_bytes())
    except (ValidationError, ValueError) as exc:
        raise RunStoreError(f"{path}: not a valid censorship direction file "
                            f"({str(exc).splitlines()[0]})") from None
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot read ({exc.strerror})") from None


# --- the pass ------------------------------------------------------------------------------


class KeptOpen:
    """A backend handed to the runner without letting it close it, so that ``run --internals``
    reuses the model generation loaded (one load instead of two); the caller closes it."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner

    def info(self) -> BackendInfo:
        return self.inner.info()

    def generate(self, requests: list[ChatRequest],
                 settings: GenerationSettings) -> list[Generation]:
        return self.inner.generate(requests, settings)

    def batch_hint(self) -> int | None:
        return self.inner.batch_hint()

    def close(self) -> None:
        """Left to the caller (after the internals pass)."""

    def __getattr__(self, name: str) -> Any:
        """Anything else a backend offers (methods added later included) comes from it."""
        return getattr(self.inner, name)


def require_transformers(entry: ModelEntry) -> None:
    """Internals read the weights: only transformers-backend runs have them here."""
    if entry.backend != "transformers":
        raise BackendError(f"internals need a run made with the transformers backend; "
                           f"{entry.name} uses backend {entry.backend!r} (no weights to look "
                           "inside)")


def load_run_backend(manifest: JSONObject, device: str | None,
                     log: Callable[[str], None]) -> TransformersBackend:
    """The run's model, loaded by the transformers backend from the entry in the manifest;
    the weights must still hash as they did when the run was made."""
    from biasprobe.backends import resolve_model
    from biasprobe.backends.transformers import TransformersBackend
    from biasprobe.config import ModelEntry, with_overrides

    model = manifest.get("model")
    data = model.get("entry") if isinstance(model, dict) else None
    try:
        entry = ModelEntry.model_validate(data)
    except ValidationError:
        raise RunStoreError("the run's manifest has no valid model entry (model.entry)") from None
    require_transformers(entry)
    entry = with_overrides(entry, device=device)
    resolved = resolve_model(entry, log=log)
    stored = model.get("files_sha256") if isinstance(model, dict) else None
    if stored and stored != resolved.files_sha256:
        raise RunStoreError(f"the weights of {entry.name} changed since this run was made; "
                            "internals would not describe the model that answered")
    return TransformersBackend(entry, resolved)


def compute_internals(run: str | Path, *, direction_from: str | None = None,
                      device: str | None = None, batch_size: int = CPU_BATCH,
                      log: Callable[[str], None] = lambda _: None,
                      backend: TransformersBackend | None = None) -> InternalsHeader:
    """Run the pass on every response of ``run`` and append it to ``internals.jsonl``.

    ``backend``: the model already loaded by the generation that made the run (``run
    --internals``), reused and left open; otherwise the run's model is loaded and closed here."""
    run_dir = run if isinstance(run, Path) else resolve_run_dir(run)
    manifest = read_manifest(run_dir)
    run_id = str(manifest["run_id"])
    responses = read_responses(run_dir)
    if not responses:
        raise RunStoreError(f"run {run_id!r} has no responses")
    external = load_direction(direction_from) if direction_from else None
    owned = backend is None
    if backend is None:
        backend = load_run_backend(manifest, device, log)
    try:
        tokens = refusal_tokens(backend.tokenizer)
        fwd, think_rows, think = _forward_all(backend, responses, [t.id for t in tokens],
                                              batch_size, log)
        info = backend.info()
    finally:
        if owned:
            backend.close()
    own = _own_direction(fwd.hidden, responses, info.model_id, run_id, needed=external is None)
    direction = external or own
    if direction is None:  # _own_direction raised already
        raise RunStoreError("no censorship direction")
    if len(direction.layers) != fwd.hidden.shape[1] or direction.hidden_size != fwd.hidden.shape[2]:
        raise RunStoreError(
            f"direction from {direction.source_run!r} ({direction.model}: {len(direction.layers)} "
            f"layers x {direction.hidden_size}) does not fit this model ({fwd.hidden.shape[1]} x "
            f"{fwd.hidden.shape[2]}): only versions of one architecture share a direction")
    if own is not None:
        _write_direction(run_dir, own)
    header = InternalsHeader(
        created=utcnow(), model=info.model_id, dtype=str(info.dtype), device=str(info.device),
        refusal_tokens=tokens, refusal_tokens_sha256=tokens_sha256(tokens),
        direction_source=direction_from or run_id, direction_sha256=direction.sha256,
        layers=chosen_layers(fwd.hidden.shape[1] - 1, direction.best_layer),
        best_layer=direction.best_layer, n_records=len(responses),
    )
    records = _records(responses, fwd, direction, header.layers)
    if think is not None:
        _add_think(records, think_rows, think, direction, header.layers)
    append_run_lines(run_dir, INTERNALS,
                     [header.model_dump_json()] + [r.model_dump_json() for r in records])
    return header


def think_text(r: Response, start: str = "<think>", end: str = "</think>") -> str | None:
    """The prompt followed by the answer's think block, closed: where a reasoning model stands
    when it starts its answer. None without a closed block (no reasoning, or truncated). The
    trace is stored stripped, so the whitespace around it is normalised to one newline."""
    if r.think_state not in (ThinkState.complete, ThinkState.empty):
        return None
    opening = "" if r.prompt.rstrip().endswith(start) else start + "\n"
    return f"{r.prompt}{opening}{r.reasoning or ''}\n{end}\n\n"


def _forward_all(backend: TransformersBackend, responses: Sequence[Response],
                 token_ids: Sequence[int], batch_size: int, log: Callable[[str], None]
                 ) -> tuple[Forward, list[int], Forward | None]:
    """The forward pass over the prompts, and over the closed think blocks (reasoning answers
    only; their row indices in ``responses`` come second)."""
    start = time.perf_counter()
    fwd = forward(backend, [r.prompt for r in responses], token_ids, batch_size)
    texts = {i: t for i, r in enumerate(responses) if (t := think_text(r)) is not None}
    think = forward(backend, list(texts.values()), token_ids, batch_size) if texts else None
    log(f"internals: forward pass over {len(responses)} prompts"
        f"{f' and {len(texts)} think blocks' if texts else ''} in "
        f"{time.perf_counter() - start:.1f} s")
    return fwd, list(texts), think


def _add_think(records: list[InternalsRecord], rows: Sequence[int], think: Forward,
               direction: Direction, layers: Sequence[int]) -> None:
    """Fill the think-end signals of the reasoning answers (records are frozen: replaced)."""
    import numpy as np

    proj = np.einsum("nld,ld->nl", think.hidden, np.asarray(direction.layers, dtype=np.float32))
    for j, i in enumerate(rows):
        records[i] = records[i].model_copy(update={
            "think_refusal_prob": think.refusal_prob[j],
            "think_projection": {str(layer): float(proj[j, layer]) for layer in layers}})


def _own_direction(hidden: Matrix, responses: Sequence[Response], model: str, run_id: str,
                   *, needed: bool) -> Direction | None:
    """This run's own direction. Also built when the projections use another run's, so that
    ``diff`` can give the cosine between two versions' directions; None there when the run
    lacks controls (an error when it is the direction the projections need)."""
    try:
        return build_direction(hidden, responses, model, run_id)
    except RunStoreError:
        if needed:
            raise
        return None


def _write_direction(run_dir: Path, direction: Direction) -> None:
    """Through the store's atomic writer, after refusing planted links (the run directory, the
    file or its temporary name), so the write cannot be redirected out of the run."""
    path = run_dir / DIRECTION
    for p in (run_dir, path, path.with_name(path.name + ".tmp")):
        if p.is_symlink():
            raise RunStoreError(f"{p} is a symbolic link; refusing to write through it")
    atomic_write_json(path, direction.model_dump(mode="json"))


def _records(responses: Sequence[Response], fwd: Forward, direction: Direction,
             layers: Sequence[int]) -> list[InternalsRecord]:
    import numpy as np

    unit = np.asarray(direction.layers, dtype=np.float32)
    proj = np.einsum("nld,ld->nl", fwd.hidden, unit)
    return [
        InternalsRecord(
            probe_id=r.probe_id, sample=r.sample, topic=r.topic, language=r.language, kind=r.kind,
            refusal_prob=fwd.refusal_prob[i],
            projection={str(layer): float(proj[i, layer]) for layer in layers},
            prompt_tokens=fwd.prompt_tokens[i],
        )
        for i, r in enumerate(responses)
    ]


# --- reading and summarising ---------------------------------------------------------------


def read_internals(run_dir: Path) -> tuple[InternalsHeader, list[InternalsRecord]]:
    """The last complete pass of ``internals.jsonl`` (validated; a bad line is an error)."""
    path = run_dir / INTERNALS
    if not os.path.lexists(path):
        raise RunStoreError(f"{run_dir.name}: no {INTERNALS}; run `biasprobe internals compute "
                            f"{run_dir.name}` first")
    passes: list[tuple[InternalsHeader, list[InternalsRecord]]] = []
    try:
        for lineno, obj in iter_jsonl(path, skip_torn_tail=True):
            try:
                if obj.get("record") == "header":
                    passes.append((InternalsHeader.model_validate(obj), []))
                elif passes:
                    passes[-1][1].append(InternalsRecord.model_validate(obj))
                else:
                    raise RunStoreError(f"{path}:{lineno}: a record before any header line")
            except ValidationError as exc:
                err = exc.errors()[0]
                loc = ".".join(str(p) for p in err["loc"])
                raise RunStoreError(f"{path}:{lineno}: invalid internals record: {loc}: "
                                    f"{' '.join(str(err['msg']).split())}") from None
    except OSError as exc:
        raise RunStoreError(f"{path}: cannot read ({exc.strerror})") from None
    complete = [p for p in passes if len(p[1]) == p[0].n_records]
    if not complete:
        raise RunStoreError(f"{path}: no complete pass (interrupted?); run the compute again")
    header, records = complete[-1]
    wanted = {str(layer) for layer in header.layers}
    for rec in records:
        if rec.think_projection is not None and not wanted <= set(rec.think_projection):
            raise RunStoreError(f"{path}: record {rec.probe_id!r} lacks think projections for "
                                f"layers {sorted(wanted - set(rec.think_projection))}")
        if not wanted <= set(rec.projection):
            raise RunStoreError(f"{path}: record {rec.probe_id!r} lacks projections for layers "
                                f"{sorted(wanted - set(rec.projection))} named in its header")
    return header, records


class GroupRow(_Model):
    topic: str
    language: str
    n: int
    mean_projection: float  # at the header's best layer
    mean_refusal_prob: float
    n_censored: int  # labelled refusal, deflection or official_line
    n_complete: int
    auroc_projection: float | None
    auroc_refusal_prob: float | None


class Separation(_Model):
    """How well one signal separates answers labelled censored from complete (all groups)."""

    signal: str
    layer: int | None
    scope: Literal["all", "censorship"]  # every answer, or only censorship-kind probes
    auroc: float | None
    n_censored: int
    n_complete: int


class InternalsSummary(_Model):
    run_id: str
    model: str
    best_layer: int
    layers: list[int]
    layer_rule: str
    direction_source: str
    refusal_tokens: int
    scored: bool
    groups: list[GroupRow]
    separation: list[Separation]


def _separate(recs: Sequence[InternalsRecord], labels: dict[tuple[str, int], Label],
              value: Callable[[InternalsRecord], float | None]) -> tuple[float | None, int, int]:
    """AUROC censored vs complete over the records that have the signal (None: left out)."""
    censored = registry().censored
    pos = [v for r in recs if (lab := labels.get((r.probe_id, r.sample))) is not None
           and lab.value in censored and (v := value(r)) is not None]
    neg = [v for r in recs if labels.get((r.probe_id, r.sample)) is Label.complete
           and (v := value(r)) is not None]
    return auroc(pos, neg), len(pos), len(neg)


def _think_signals(recs: Sequence[InternalsRecord], best: str
                   ) -> list[tuple[str, int | None, Callable[[InternalsRecord], float | None]]]:
    """The think-end signals, when any answer of the pass has them."""
    if all(r.think_projection is None for r in recs):
        return []

    def proj(r: InternalsRecord) -> float | None:
        return None if r.think_projection is None else r.think_projection[best]

    return [("think_projection", int(best), proj),
            ("think_refusal_prob", None, lambda r: r.think_refusal_prob)]


def summarize_internals(run: str | Path) -> InternalsSummary:
    """Per topic and language: mean projection and refusal probability, and the AUROC with
    which each separates answers labelled censored from complete (reviewed labels)."""
    from biasprobe.diff import read_scores
    from biasprobe.store import SCORES

    run_dir = run if isinstance(run, Path) else resolve_run_dir(run)
    run_id = str(read_manifest(run_dir)["run_id"])
    header, recs = read_internals(run_dir)
    scored = (run_dir / SCORES).is_file()
    labels = {k: s.label for k, s in read_scores(run_dir).items()} if scored else {}
    best = str(header.best_layer)

    def proj(layer: str) -> Callable[[InternalsRecord], float]:
        return lambda r: r.projection[layer]

    def prob(r: InternalsRecord) -> float:
        return r.refusal_prob

    groups = []
    for topic, lang in sorted({(r.topic, r.language) for r in recs}):
        sub = [r for r in recs if (r.topic, r.language) == (topic, lang)]
        a_proj, n_cens, n_comp = _separate(sub, labels, proj(best))
        groups.append(GroupRow(
            topic=topic, language=lang, n=len(sub),
            mean_projection=sum(r.projection[best] for r in sub) / len(sub),
            mean_refusal_prob=sum(r.refusal_prob for r in sub) / len(sub),
            n_censored=n_cens, n_complete=n_comp, auroc_projection=a_proj,
            auroc_refusal_prob=_separate(sub, labels, prob)[0]))
    signals: list[tuple[str, int | None, Callable[[InternalsRecord], float | None]]] = [
        ("projection", layer, proj(str(layer))) for layer in header.layers]
    signals.append(("refusal_prob", None, prob))
    signals += _think_signals(recs, best)
    scopes: list[tuple[Literal["all", "censorship"], list[InternalsRecord]]] = [
        ("all", recs), ("censorship", [r for r in recs if r.kind in CENSORED_KINDS])]
    separation = [
        Separation(signal=name, layer=layer, scope=scope, auroc=a, n_censored=p, n_complete=n)
        for scope, subset in scopes
        for name, layer, value in signals
        for a, p, n in [_separate(subset, labels, value)]
    ]
    return InternalsSummary(
        run_id=run_id, model=header.model, best_layer=header.best_layer, layers=header.layers,
        layer_rule=header.layer_rule, direction_source=header.direction_source,
        refusal_tokens=len(header.refusal_tokens), scored=scored, groups=groups,
        separation=separation)
