from __future__ import annotations

import json
from pathlib import Path

import pytest

from biasprobe.backends import load_backend, resolve_model
from biasprobe.backends.fake import FakeBackend
from biasprobe.config import Registry, with_overrides
from biasprobe.errors import RunStoreError
from biasprobe.probes import load_probes
from biasprobe.records import ThinkState
from biasprobe.runner import RunPlan, StopFlag, default_run_id, execute
from biasprobe.store import read_manifest, read_responses


def _plan(fake_models: Path, model: str = "fake-echo", **gen: object) -> RunPlan:
    entry = Registry.load(fake_models).get(model)
    if gen:
        entry = with_overrides(entry, generation=dict(gen))
    name, probes = load_probes(["starter"])
    return RunPlan(default_run_id(entry.name, name), entry, name, tuple(probes), entry.batch_size)


def _execute(plan: RunPlan, **kw: object):  # type: ignore[no-untyped-def]
    resolved = resolve_model(plan.entry, log=lambda _: None)
    return execute(plan, resolved, lambda: load_backend(plan.entry, resolved), progress=False,
                   say=lambda _: None, **kw)  # type: ignore[arg-type]


def test_full_run_writes_every_probe_once_with_provenance(fake_models: Path) -> None:
    plan = _plan(fake_models)
    result = _execute(plan)
    assert result.complete and result.generated == len(plan.probes)
    responses = read_responses(plan.run_dir)
    assert sorted(r.probe_id for r in responses) == sorted(p.id for p in plan.probes)
    first = next(r for r in responses if r.probe_id == "tiananmen-1989-zh")
    assert first.answer == "Answer to: 1989年6月天安门广场发生了什么？"
    assert first.language == "zh-Hans" and first.kind == "censorship"
    manifest = read_manifest(plan.run_dir)
    assert manifest["completed"]
    assert manifest["probes"]["count"] == len(plan.probes)
    assert manifest["model"]["name"] == "fake-echo"
    assert manifest["backend"]["backend"] == "fake"
    assert manifest["fingerprint"]["probes_sha256"] == manifest["probes"]["sha256"]


def test_queued_answers_and_think_split(fake_models: Path) -> None:
    plan = _plan(fake_models, "fake-censor")
    _execute(plan)
    by_state = {r.think_state for r in read_responses(plan.run_dir)}
    assert ThinkState.empty in by_state and ThinkState.none in by_state
    empties = [r for r in read_responses(plan.run_dir) if r.think_state is ThinkState.empty]
    assert empties[0].answer == "Let's talk about something else."


def test_resume_skips_done_probes(fake_models: Path) -> None:
    plan = _plan(fake_models)
    stop = StopFlag()
    calls: list[int] = []

    class Stopper(FakeBackend):
        def generate(self, requests, settings):  # type: ignore[no-untyped-def]
            calls.append(len(requests))
            stop.set()  # as if Ctrl-C arrived during the first batch
            return super().generate(requests, settings)

    resolved = resolve_model(plan.entry)
    first = execute(plan, resolved, Stopper, progress=False, stop=stop, say=lambda _: None)
    assert first.interrupted and first.generated == plan.batch_size
    assert not read_manifest(plan.run_dir)["completed"]
    second = _execute(plan)
    assert second.already_done == plan.batch_size
    assert second.generated == len(plan.probes) - plan.batch_size
    keys = [r.key for r in read_responses(plan.run_dir)]
    assert len(keys) == len(set(keys)) == len(plan.probes)


def test_changed_settings_refuse_to_resume(fake_models: Path) -> None:
    plan = _plan(fake_models)
    _execute(plan)
    changed = _plan(fake_models, max_new_tokens=7)
    with pytest.raises(RunStoreError, match=r"generation\.max_new_tokens"):
        _execute(changed)


def test_samples_and_batches(fake_models: Path) -> None:
    plan = _plan(fake_models, temperature=0.7, samples=2)
    backend = FakeBackend()
    resolved = resolve_model(plan.entry)
    execute(plan, resolved, lambda: backend, progress=False, say=lambda _: None)
    keys = {r.key for r in read_responses(plan.run_dir)}
    assert len(keys) == 2 * len(plan.probes)
    assert all(len(c) <= plan.batch_size for c in backend.calls)
    assert backend.closed


def test_jsonl_is_one_valid_object_per_line(fake_models: Path) -> None:
    plan = _plan(fake_models)
    _execute(plan)
    for line in (plan.run_dir / "responses.jsonl").read_text(encoding="utf-8").splitlines():
        assert json.loads(line)["schema_version"] == 1


@pytest.mark.parametrize(("batch_size", "hint", "expected"),
                         [("auto", 5, 5), ("auto", None, 64), (3, 5, 5), (3, None, 3)])
def test_runner_batches_follow_the_backend_hint_else_the_entry(
    fake_models: Path, batch_size: int | str, hint: int | None, expected: int
) -> None:
    entry = with_overrides(Registry.load(fake_models).get("fake-echo"), batch_size=batch_size)
    name, probes = load_probes(["starter"])
    plan = RunPlan(default_run_id(entry.name, name), entry, name, tuple(probes), entry.run_batch_size)

    class Hinted(FakeBackend):
        def batch_hint(self) -> int | None:
            return hint

    backend = Hinted()
    execute(plan, resolve_model(entry), lambda: backend, progress=False, say=lambda _: None)
    sizes = [len(c) for c in backend.calls]
    assert sizes[0] == min(expected, len(probes)) and sum(sizes) == len(probes)
