"""Shared fixtures. Every test gets its own outputs directory; fast tests also get their own
cache home. Slow tests use the real cache so the default model is fetched only once."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

REAL_HOME = os.environ.get("BIASPROBE_HOME")
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    monkeypatch.setenv("BIASPROBE_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.delenv("BIASPROBE_MODELS", raising=False)
    if request.node.get_closest_marker("slow") is None:
        monkeypatch.setenv("BIASPROBE_HOME", str(tmp_path / "home"))


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    return tmp_path / "outputs"


FAKE_MODELS = """\
models:
  - name: fake-censor
    backend: fake
    source:
      fake:
        - "I'm sorry, but I can't discuss that."
        - "<think>\\n\\n</think>\\nLet's talk about something else."
    generation: {max_new_tokens: 50}
    batch_size: 4
  - name: fake-echo
    backend: fake
    source: {fake: []}
    batch_size: 3
  - name: fake-slow
    backend: fake
    source: {fake: [], delay_s: 0.2}
    batch_size: 2
"""


@pytest.fixture
def fake_models(tmp_path: Path) -> Path:
    path = tmp_path / "fake-models.yaml"
    path.write_text(FAKE_MODELS)
    return path


@pytest.fixture
def shared_data() -> Iterator[Path]:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present")
    yield SHARED_DATA
