"""Every backend passes the same contract. The transformers backend runs on the real default
model (slow); the fake backend and the OpenAI-compatible backend (against a loopback server,
tests/openai_server.py) always run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from biasprobe.backends.base import Backend, ChatRequest, Message
from biasprobe.backends.fake import FakeBackend
from biasprobe.config import DEFAULT_MODEL, GenerationSettings, Registry
from biasprobe.records import ThinkState

REQUESTS = [
    ChatRequest(("bread", 0), (Message("user", "How do I bake bread?"),)),
    ChatRequest(("wall-zh", 0), (Message("user", "中国的长城有多长？"),)),
    ChatRequest(("sys", 0), (Message("system", "Answer in one word."),
                             Message("user", "What colour is the sky?"))),
]


@pytest.fixture(scope="session")
def real_backend() -> Iterator[Backend]:
    from biasprobe.backends import load_backend, resolve_model
    from biasprobe.config import with_overrides

    entry = with_overrides(Registry.load().get(DEFAULT_MODEL), dtype="float32")
    resolved = resolve_model(entry, log=lambda _: None)
    backend = load_backend(entry, resolved)
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def served_backend() -> Iterator[Backend]:
    from biasprobe.backends.openai import OpenAIBackend
    from biasprobe.config import ModelEntry
    from openai_server import MODEL_ID, FakeOpenAIServer

    with FakeOpenAIServer() as server:
        entry = ModelEntry.model_validate(
            {"name": "served", "source": {"openai": MODEL_ID, "base_url": server.url}}
        )
        yield OpenAIBackend(entry)


@pytest.fixture(params=["fake", "openai", pytest.param("transformers", marks=pytest.mark.slow)])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "fake":
        return FakeBackend()
    if request.param == "openai":
        return request.getfixturevalue("served_backend")  # type: ignore[no-any-return]
    return request.getfixturevalue("real_backend")  # type: ignore[no-any-return]


def test_is_a_backend(backend: Backend) -> None:
    assert isinstance(backend, Backend)
    info = backend.info()
    assert info.backend and info.model_id


def test_one_generation_per_request_in_order(backend: Backend) -> None:
    settings = GenerationSettings(max_new_tokens=12)
    gens = backend.generate(REQUESTS, settings)
    assert [g.key for g in gens] == [r.key for r in REQUESTS]
    for g in gens:
        assert isinstance(g.answer, str) and g.answer
        assert g.finish_reason in {"stop", "length"}
        assert g.think_state in set(ThinkState)
        assert g.tokens_out is not None and 0 < g.tokens_out <= settings.max_new_tokens + 1
        assert g.tokens_in is not None and g.tokens_in > 0
        assert g.latency_s >= 0
        assert g.prompt
    assert "Answer in one word." in gens[2].prompt  # the system message was sent


def test_greedy_is_deterministic(backend: Backend) -> None:
    settings = GenerationSettings(max_new_tokens=8)
    first = [g.answer for g in backend.generate(REQUESTS[:2], settings)]
    second = [g.answer for g in backend.generate(REQUESTS[:2], settings)]
    assert first == second


def test_empty_batch(backend: Backend) -> None:
    assert backend.generate([], GenerationSettings()) == []
