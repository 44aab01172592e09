"""Batches probes through a backend into a run directory, with progress and resume.

The run's *fingerprint* (model entry, weight and tokenizer hashes, generation settings, probe
content hash) is stored in the manifest; re-running the same run id resumes only if it matches.
Memory stays flat as runs grow: the probes can be a :class:`~biasprobe.probes.stream.ProbeStream`
(what ``biasprobe run`` passes: checked, counted and hashed before the run, read again lazily),
and the runner takes them a window at a time (sorted by length within it), builds each batch's
requests only when it sends them, and keeps only the (probe id, sample) keys already written.
Ctrl-C stops after the current batch; a second Ctrl-C aborts at once. Either way everything
already generated is on disk and the same command resumes.
"""

from __future__ import annotations

import platform
import signal
import sys
import threading
import time
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from types import FrameType
from typing import Any

from biasprobe import __version__
from biasprobe.backends.base import Backend, ChatRequest, Generation, Message
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.manifest import (
    MANIFEST_VERSION,
    Manifest,
    ModelSection,
    ProbesSection,
    RunFingerprint,
    manifest_json,
)
from biasprobe.paths import outputs_dir
from biasprobe.probes import probes_hash
from biasprobe.probes.stream import ProbeStream
from biasprobe.records import JSONObject, Probe, Response
from biasprobe.sources import ResolvedModel
from biasprobe.store import RunStore, check_run_id, read_responses, utcnow


@dataclass(frozen=True)
class RunPlan:
    run_id: str
    entry: ModelEntry
    probe_set: str
    probes: Sequence[Probe] | ProbeStream
    batch_size: int

    @property
    def settings(self) -> GenerationSettings:
        return self.entry.generation

    @property
    def probe_count(self) -> int:
        return len(self.probes)

    @property
    def probes_sha256(self) -> str:
        """The probe hash of the fingerprint (a stream's was taken by its scan)."""
        if isinstance(self.probes, ProbeStream):
            return self.probes.sha256
        return probes_hash(self.probes)

    @property
    def has_follow_ups(self) -> bool:
        if isinstance(self.probes, ProbeStream):
            return self.probes.has_follow_ups
        return any(p.follow_up is not None for p in self.probes)

    @property
    def run_dir(self) -> Path:
        return outputs_dir() / self.run_id


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    total: int
    already_done: int
    generated: int
    interrupted: bool
    elapsed_s: float

    @property
    def complete(self) -> bool:
        return self.already_done + self.generated >= self.total


def default_run_id(model: str, probe_set: str) -> str:
    """Deterministic, so re-running the same command resumes the same run."""
    return check_run_id(f"{model}--{probe_set}")


def _first_turn(probe: Probe, default_system: str | None) -> tuple[Message, ...]:
    """System prompt (the probe's own for system variants, "" = none) and the user turn."""
    system = probe.system if probe.system is not None else default_system
    return ((Message("system", system),) if system else ()) + (Message("user", probe.text),)


#: Fewest probes sorted by length together (more with large batches: 4 batches a window).
LENGTH_WINDOW = 256


def by_length(probes: Iterable[Probe]) -> list[Probe]:
    """Shortest prompt first, ties in probe order: similar lengths waste less padding."""
    return sorted(probes, key=lambda p: len(p.text))


def length_windows(probes: Iterable[Probe], window: int) -> Iterator[Probe]:
    """``probes`` shortest first within consecutive windows of ``window`` (all of a set no
    larger than that), so that a large run holds one window, not every probe."""
    it = iter(probes)
    while chunk := list(islice(it, window)):
        chunk = by_length(chunk)
        yield from chunk
        del chunk


def window_for(batch_size: int) -> int:
    return max(LENGTH_WINDOW, 4 * batch_size)


def build_requests(
    plan: RunPlan, done: Container[tuple[str, int]] = frozenset(), window: int | None = None
) -> Iterator[tuple[Probe, ChatRequest]]:
    """First-turn requests not in ``done``, shortest prompt first within windows of
    ``window`` probes (default: :func:`window_for` the plan's batch size), built one at a time
    (so a large run never holds them all); follow-up variants come later
    (:func:`follow_up_requests`)."""
    system = plan.entry.system_prompt
    for probe in length_windows(plan.probes, window or window_for(plan.batch_size)):
        if probe.follow_up is not None:
            continue
        messages = _first_turn(probe, system)
        for sample in range(plan.settings.samples):
            if (probe.id, sample) not in done:
                yield probe, ChatRequest(key=(probe.id, sample), messages=messages,
                                         prefill=probe.prefill)


def follow_up_requests(
    plan: RunPlan, answers: dict[tuple[str, int], str]
) -> tuple[list[tuple[Probe, ChatRequest]], int]:
    """Second-turn requests: the base question, the model's answer to it (same sample) and
    the follow-up. Returns them and the number of follow-ups still waiting for a base answer."""
    system = plan.entry.system_prompt
    out: list[tuple[Probe, ChatRequest]] = []
    waiting = 0
    for probe in plan.probes:
        if probe.follow_up is None:
            continue
        for sample in range(plan.settings.samples):
            base = answers.get((probe.variant_of or "", sample))
            if base is None:
                waiting += 1
                continue
            messages = (*_first_turn(probe, system), Message("assistant", base),
                        Message("user", probe.follow_up))
            out.append((probe, ChatRequest(key=(probe.id, sample), messages=messages,
                                           prefill=probe.prefill)))
    return out, waiting


def request_count(plan: RunPlan) -> int:
    return plan.probe_count * plan.settings.samples


def fingerprint(plan: RunPlan, resolved: ResolvedModel) -> RunFingerprint:
    return RunFingerprint(
        model=plan.entry.fingerprint(),
        files_sha256=resolved.files_sha256,
        revision=resolved.revision,
        probes_sha256=plan.probes_sha256,
    )


def new_manifest(plan: RunPlan, resolved: ResolvedModel) -> Manifest:
    return Manifest(
        schema_version=MANIFEST_VERSION,
        run_id=plan.run_id,
        biasprobe_version=__version__,
        model=ModelSection(
            name=plan.entry.name,
            entry=plan.entry.model_dump(mode="json"),
            origin=resolved.origin,
            resolved_revision=resolved.revision,
            files_sha256=resolved.files_sha256,
            weights_sha256=resolved.weights_sha256,
            tokenizer_sha256=resolved.tokenizer_sha256,
        ),
        probes=ProbesSection(
            set=plan.probe_set, count=plan.probe_count, sha256=plan.probes_sha256
        ),
        generation=plan.settings.model_dump(mode="json"),
        seed=plan.settings.seed,
        batch_size=plan.batch_size,
        environment={"python": platform.python_version(), "platform": platform.platform()},
        fingerprint=fingerprint(plan, resolved),
        completed=None,
    )


def to_response(run_id: str, probe: Probe, gen: Generation) -> Response:
    return Response(
        run_id=run_id,
        probe_id=probe.id,
        sample=gen.key[1],
        probe_text=probe.text,
        language=probe.language,
        topic=probe.topic,
        kind=probe.kind.value,
        jurisdiction=probe.jurisdiction,
        pair_id=probe.pair_id,
        variant_of=probe.variant_of,
        variant=probe.variant,
        variant_kind=probe.variant_kind,
        prompt=gen.prompt,
        answer=gen.answer,
        reasoning=gen.reasoning,
        think_state=gen.think_state,
        finish_reason=gen.finish_reason if gen.finish_reason in {"stop", "length", "error"}
        else "unknown",  # type: ignore[arg-type]
        tokens_in=gen.tokens_in,
        tokens_out=gen.tokens_out,
        latency_s=round(gen.latency_s, 4),
        created=utcnow(),
    )


def batches(
    pending: Iterable[tuple[Probe, ChatRequest]], size: int
) -> Iterator[list[tuple[Probe, ChatRequest]]]:
    """Consecutive batches of ``size``, taken lazily from ``pending`` (already length-sorted)."""
    it = iter(pending)
    while batch := list(islice(it, size)):
        yield batch


class StopFlag:
    """Set by the first Ctrl-C; the loop finishes the current batch and stops."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def __bool__(self) -> bool:
        return self._event.is_set()


@contextmanager
def graceful_interrupt(stop: StopFlag, say: Callable[[str], None]) -> Iterator[None]:
    """First SIGINT sets ``stop``; the second raises KeyboardInterrupt as usual."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop:
            raise KeyboardInterrupt
        stop.set()
        say("\nstopping after the current batch (Ctrl-C again to abort now)…")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _batch_size(plan: RunPlan, backend: Backend) -> int:
    """Requests per backend call: the backend's hint (:meth:`Backend.batch_hint`), else the
    plan's (the entry's explicit ``batch_size``, or the registry default with ``auto``)."""
    return backend.batch_hint() or plan.batch_size


def _generate(
    plan: RunPlan, backend: Backend, store: RunStore, pending: Iterable[tuple[Probe, ChatRequest]],
    stop: StopFlag, bar: Any,
) -> int:
    """Generate ``pending`` batch by batch into the store; stops early when ``stop`` is set."""
    size = _batch_size(plan, backend)
    generated = 0
    for batch in batches(pending, size):
        if stop:
            break
        gens = backend.generate([r for _, r in batch], plan.settings)
        by_key = {g.key: g for g in gens}
        store.append([to_response(plan.run_id, p, by_key[r.key]) for p, r in batch])
        generated += len(batch)
        bar.update(len(batch))
    return generated


def _pending_follow_ups(plan: RunPlan, store: RunStore) -> list[tuple[Probe, ChatRequest]]:
    """Follow-ups not yet answered, shortest prompt first; reads the run back only if the
    plan has follow-ups at all."""
    if not plan.has_follow_ups:
        return []
    answers = {r.key: r.answer for r in read_responses(store.run_dir)}  # its keys: all done
    requests, _ = follow_up_requests(plan, answers)
    return sorted((pr for pr in requests if pr[1].key not in answers),
                  key=lambda pr: len(pr[0].text))


def _already_done(plan: RunPlan, done: set[tuple[str, int]]) -> int:
    """How many of the plan's (probe, sample) keys are in ``done`` (0 at once for a new run)."""
    if not done:
        return 0
    samples = plan.settings.samples
    return sum(1 for p in plan.probes for sample in range(samples) if (p.id, sample) in done)


def execute(
    plan: RunPlan,
    resolved: ResolvedModel,
    backend_factory: Callable[[], Backend],
    *,
    progress: bool = True,
    stop: StopFlag | None = None,
    say: Callable[[str], None] = lambda m: print(m, file=sys.stderr),
) -> RunResult:
    """Generate every pending (probe, sample) of ``plan`` into its run directory.

    First turns first; then follow-up variants, whose prompt holds the base probe's answer."""
    from tqdm import tqdm

    if stop is None:
        stop = StopFlag()
    started = time.perf_counter()
    total = request_count(plan)
    with RunStore.open(
        plan.run_dir, manifest_json(new_manifest(plan, resolved)), warn=lambda m: say(f"warning: {m}")
    ) as store:
        done = store.done_keys()
        already = _already_done(plan, done)
        generated = 0
        if already < total:
            say(f"loading {plan.entry.name}…")
            backend = backend_factory()
            try:
                store.update_manifest(backend=_info_dict(backend))
                bar = tqdm(
                    total=total, initial=already, unit="resp", desc=plan.run_id,
                    disable=not progress, file=sys.stderr, dynamic_ncols=True,
                )
                with bar, graceful_interrupt(stop, say):
                    first = build_requests(plan, done, window_for(_batch_size(plan, backend)))
                    generated = _generate(plan, backend, store, first, stop, bar)
                    if not stop:
                        follow = _pending_follow_ups(plan, store)
                        generated += _generate(plan, backend, store, follow, stop, bar)
                if generated:  # what a server reported while answering (served model id, ...)
                    store.update_manifest(backend=_info_dict(backend))
            finally:
                backend.close()
        finished = already + generated >= total
        if finished and not store.manifest.get("completed"):
            store.update_manifest(completed=utcnow())
    return RunResult(
        run_dir=plan.run_dir,
        total=total,
        already_done=already,
        generated=generated,
        interrupted=bool(stop) and not finished,
        elapsed_s=time.perf_counter() - started,
    )


def _info_dict(backend: Backend) -> JSONObject:
    from dataclasses import asdict

    return asdict(backend.info())
