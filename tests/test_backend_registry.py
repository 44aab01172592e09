"""Backends are data: a backend registered in a test module (no other file touched) validates in
models.yaml, resolves, loads and runs through the command line like a built-in one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from biasprobe.backends import BACKENDS, BackendSpec, load_backend, resolve_model
from biasprobe.backends.base import Backend, ChatRequest
from biasprobe.backends.fake import FakeBackend
from biasprobe.config import FakeSource, ModelEntry
from biasprobe.sources import ResolvedModel
from cli_helpers import cli


def _shout(request: ChatRequest) -> str:
    return request.messages[-1].content.upper()


def _load_shout(entry: ModelEntry, resolved: ResolvedModel) -> Backend:
    return FakeBackend(responder=_shout, model_id=entry.name)


def _resolve_nothing(entry: ModelEntry, log: object) -> ResolvedModel:
    return ResolvedModel(path=Path("."), revision=None, files_sha256={"shout": "0" * 64})


@pytest.fixture
def shout() -> Iterator[BackendSpec]:
    spec = BackendSpec("shout", _load_shout, sources=(FakeSource,), source_hint="{fake: []}",
                       resolve=_resolve_nothing, auto_batch=5)
    with BACKENDS.temporarily(spec):
        yield spec
    assert "shout" not in BACKENDS.names()


def test_registered_backend_validates_resolves_and_loads(shout: BackendSpec) -> None:
    entry = ModelEntry.model_validate(
        {"name": "s", "backend": "shout", "source": {"fake": []}, "batch_size": "auto"})
    assert entry.run_batch_size == 5
    with pytest.raises(ValueError, match=r"backend 'shout' goes with a \{fake: \[\]\} source"):
        ModelEntry.model_validate({"name": "s", "backend": "shout", "source": {"path": "/x"}})
    with pytest.raises(ValueError, match="quantization"):
        ModelEntry.model_validate({"name": "s", "backend": "shout", "source": {"fake": []},
                                   "quantization": "8bit"})
    resolved = resolve_model(entry, log=lambda _: None)
    assert resolved.files_sha256 == {"shout": "0" * 64}
    assert isinstance(load_backend(entry, resolved), FakeBackend)


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown backend 'shout'; known backends: fake, openai"):
        ModelEntry.model_validate({"name": "s", "backend": "shout", "source": {"fake": []}})


def test_registered_backend_runs_end_to_end(shout: BackendSpec, tmp_path: Path, outputs: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    models = tmp_path / "models.yaml"
    models.write_text("models:\n  - name: loud\n    backend: shout\n    source: {fake: []}\n")
    code, _, err = cli(capsys, "run", "-m", "loud", "--models", str(models), "--no-score",
                       "--no-progress")
    assert code == 0, err
    run_dir = outputs / "loud--starter"
    lines = [json.loads(x) for x in (run_dir / "responses.jsonl").read_text().splitlines()]
    assert len(lines) == 22
    assert all(r["answer"] == r["answer"].upper() for r in lines)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["model"]["entry"]["backend"] == "shout"


def test_builtin_table() -> None:
    assert BACKENDS.names() == ["fake", "openai", "transformers", "vllm"]
    assert BACKENDS.get("transformers").quantization
    assert not BACKENDS.get("vllm").quantization
    implied = BACKENDS.implied_by(FakeSource())
    assert implied is None  # a {fake: ...} source still needs `backend: fake`
