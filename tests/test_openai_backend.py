"""The OpenAI-compatible backend against a real HTTP server on 127.0.0.1 (tests/openai_server.py):
bounded concurrency, retries on 500/429/timeouts with nothing lost, errors after bounded
attempts, reasoning fields, provenance, API key handling, and a full ``biasprobe run``."""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from biasprobe.backends import load_backend, resolve_model
from biasprobe.backends.base import Backend, ChatRequest, Message
from biasprobe.backends.openai import OpenAIBackend, backoff_delay, request_seed
from biasprobe.config import GenerationSettings, ModelEntry
from biasprobe.errors import BackendError
from biasprobe.records import ThinkState
from openai_server import MODEL_ID, FakeOpenAIServer


def entry_for(url: str, **source: Any) -> ModelEntry:
    fields = {"openai": MODEL_ID, "base_url": url, "timeout_s": 0.5, "max_retries": 4, **source}
    return ModelEntry.model_validate({"name": "served", "source": fields})


def requests(n: int) -> list[ChatRequest]:
    return [ChatRequest((f"p{i:03d}", 0), (Message("user", f"Question {i}?"),)) for i in range(n)]


GREEDY = GenerationSettings(max_new_tokens=32)


def test_concurrency_retries_and_timeouts_nothing_lost() -> None:
    # held requests wait at most 1 s for the 16th; the client's timeout (2 s) only fires on
    # the injected slow responses (2.5 s)
    with FakeOpenAIServer(fail_every=5, rate_limit_every=7, slow_every=9, slow_s=2.5,
                          hold_until=16, hold_timeout_s=1.0) as server:
        backend = OpenAIBackend(entry_for(server.url, timeout_s=2.0), backoff_base_s=0.02)
        reqs = requests(80)
        start = time.perf_counter()
        gens = backend.generate(reqs, GREEDY)
        elapsed = time.perf_counter() - start
    assert [g.key for g in gens] == [r.key for r in reqs]
    assert [g.answer for g in gens] == [f"Served answer to: Question {i}?" for i in range(80)]
    assert server.max_in_flight == 16  # reached, and never exceeded
    assert backend.max_in_flight <= 16
    assert server.events["500"] > 0 and server.events["429"] > 0 and server.events["slow"] > 0
    assert server.events["ok"] == 80  # every request answered exactly once in the end
    assert backend.retries >= server.events["500"] + server.events["429"] + server.events["slow"]
    assert all(g.finish_reason == "stop" and g.tokens_out and g.tokens_in for g in gens)
    assert elapsed < 20


def test_gives_up_after_bounded_attempts() -> None:
    with FakeOpenAIServer(always_status=503) as server:
        backend = OpenAIBackend(entry_for(server.url, max_retries=2), backoff_base_s=0.01)
        with pytest.raises(BackendError, match=r"failed after 3 attempts: HTTP 503"):
            backend.generate(requests(3), GREEDY)
    assert max(server.attempts.values()) <= 3
    assert server.events["ok"] == 0


def test_timeouts_exhausted_raise() -> None:
    with FakeOpenAIServer(slow_every=1, slow_s=0.6) as server:
        server.slow_every = 1  # every first attempt...
        server.fault_for = lambda body: "slow"  # type: ignore[method-assign]  # ...and retry
        backend = OpenAIBackend(entry_for(server.url, timeout_s=0.2, max_retries=1),
                                backoff_base_s=0.01)
        with pytest.raises(BackendError, match=r"timed out after 0\.2 s"):
            backend.generate(requests(1), GREEDY)


def test_connection_refused_raises() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    entry = entry_for(f"http://127.0.0.1:{port}/v1", max_retries=1)
    with pytest.raises(BackendError, match=r"GET /models .* failed after 2 attempts"):
        OpenAIBackend(entry, backoff_base_s=0.01)


def test_client_errors_are_not_retried() -> None:
    with FakeOpenAIServer() as server:
        backend = OpenAIBackend(entry_for(server.url, openai="no-such-model"), backoff_base_s=0.01)
        with pytest.raises(BackendError, match=r"HTTP 404 .*does not exist"):
            backend.generate(requests(1), GREEDY)
    assert max(server.attempts.values(), default=0) <= 1


def test_reasoning_usage_finish_and_provenance() -> None:
    reqs = [
        ChatRequest(("tw", 0), (Message("user", "Is Taiwan a country?"),)),
        ChatRequest(("ta", 0), (Message("user", "What happened at Tiananmen?"),)),
        ChatRequest(("long", 0), (Message("user", "one two three four five six seven"),)),
    ]
    with FakeOpenAIServer() as server:
        backend = OpenAIBackend(entry_for(server.url))
        assert backend.info().model_id == MODEL_ID  # from GET /models, before any request
        tw, ta, long = backend.generate(reqs, GenerationSettings(max_new_tokens=5))
    assert (tw.reasoning, tw.think_state) == ("The user asks about Taiwan.", ThinkState.complete)
    assert tw.answer == "Served answer to: Is Taiwan"
    assert ta.reasoning == "Sensitive." and ta.answer.startswith("Served answer")
    assert long.finish_reason == "length" and long.tokens_out == 5 and long.reasoning is None
    assert json.loads(tw.prompt) == [{"role": "user", "content": "Is Taiwan a country?"}]
    info = backend.info()
    assert info.backend == "openai" and info.model_id == MODEL_ID
    assert info.resolved_revision == "/models/fake-v1"
    assert info.extra["response_model_ids"] == [MODEL_ID]


def test_reasoning_split_variants() -> None:
    with FakeOpenAIServer() as server:
        think = OpenAIBackend(ModelEntry.model_validate({
            "name": "r1", "source": {"openai": MODEL_ID, "base_url": server.url},
            "reasoning": {"mode": "think"}}))
        plain = OpenAIBackend(ModelEntry.model_validate({
            "name": "plain", "source": {"openai": MODEL_ID, "base_url": server.url},
            "reasoning": {"mode": "none"}}))
    msg = {"reasoning": "via the 'reasoning' field"}
    assert think._split(msg, "Answer.", "stop") == ("Answer.", "via the 'reasoning' field",
                                                    ThinkState.complete)
    # R1 template opened the block in the prompt: only the end marker comes back
    assert think._split({}, "I think.\n</think>\n\nAnswer.", "stop") == (
        "Answer.", "I think.", ThinkState.complete)
    assert think._split({}, "still thinking", "length") == ("", "still thinking",
                                                             ThinkState.truncated)
    assert think._split({}, "Plain answer.", "stop") == ("Plain answer.", None, ThinkState.none)
    assert plain._split({"reasoning_content": "x"}, "<think>a</think>b", "stop") == (
        "<think>a</think>b", None, ThinkState.none)


def test_api_key_from_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer(api_key="sk-test-123") as server:
        entry = entry_for(server.url, api_key_env="BP_TEST_KEY")
        monkeypatch.delenv("BP_TEST_KEY", raising=False)
        with pytest.raises(BackendError, match="BP_TEST_KEY"):
            OpenAIBackend(entry)
        monkeypatch.setenv("BP_TEST_KEY", "wrong")
        with pytest.raises(BackendError, match="refused the API key"):
            OpenAIBackend(entry)
        monkeypatch.setenv("BP_TEST_KEY", "sk-test-123")
        backend = OpenAIBackend(entry)
        assert backend.generate(requests(2), GREEDY)[0].answer
    assert set(server.auth_headers) == {"Bearer sk-test-123"}
    assert "sk-test-123" not in json.dumps(entry.model_dump(mode="json"))
    assert "sk-test-123" not in repr(backend.info())


def test_seed_sent_only_when_sampling() -> None:
    sampled = GenerationSettings(max_new_tokens=8, temperature=0.7, samples=2, seed=3)
    reqs = [ChatRequest(("p", s), (Message("user", "Hi?"),)) for s in range(2)]
    with FakeOpenAIServer() as server:
        backend = OpenAIBackend(entry_for(server.url))
        backend.generate(reqs, sampled)
        backend.generate(requests(1), GREEDY)
    seeds = sorted(b.get("seed") for b in server.bodies if b["temperature"] > 0)
    assert seeds == sorted(request_seed(3, r.key) for r in reqs) and seeds[0] != seeds[1]
    assert next(b for b in server.bodies if b["temperature"] == 0).get("seed") is None


def test_backoff_is_bounded_with_jitter() -> None:
    delays = [backoff_delay(a, base=0.5, cap=4.0) for a in range(10) for _ in range(20)]
    assert all(0.25 <= d <= 4.0 for d in delays)
    assert len({round(d, 6) for d in delays}) > 20  # jittered


def test_works_inside_a_running_event_loop() -> None:
    import asyncio

    with FakeOpenAIServer() as server:
        backend = OpenAIBackend(entry_for(server.url))

        async def caller() -> int:
            return len(backend.generate(requests(3), GREEDY))

        assert asyncio.run(caller()) == 3


def test_registry_dispatch() -> None:
    with FakeOpenAIServer() as server:
        entry = entry_for(server.url)
        assert entry.backend == "openai"  # implied by the {openai: ...} source
        resolved = resolve_model(entry, log=lambda _: None)
        assert resolved.files_sha256 == {}
        backend = load_backend(entry, resolved)
        assert isinstance(backend, OpenAIBackend) and isinstance(backend, Backend)


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    from biasprobe.cli import main

    with pytest.raises(SystemExit) as exc:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_biasprobe_run_starter_through_the_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, outputs: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import biasprobe.backends.openai as openai_mod

    monkeypatch.setattr(openai_mod, "BACKOFF_BASE_S", 0.02)
    monkeypatch.setenv("BP_SERVER_KEY", "sk-cli-456")
    with FakeOpenAIServer(fail_every=4, rate_limit_every=9, slow_every=11, slow_s=2.5,
                          hold_until=16, hold_timeout_s=1.0, api_key="sk-cli-456") as server:
        models = tmp_path / "models.yaml"
        models.write_text(
            "models:\n"
            "  - name: served\n"
            f"    source: {{openai: {MODEL_ID}, base_url: '{server.url}', api_key_env: BP_SERVER_KEY,"
            " max_concurrency: 16, timeout_s: 2, max_retries: 5}\n"
            "    generation: {max_new_tokens: 64, temperature: 0.7, samples: 2}\n"
            "    batch_size: 64\n"
        )
        code, _, err = _cli(capsys, "run", "-m", "served", "--models", str(models), "-p", "starter",
                            "--no-score", "--no-progress")
        assert code == 0, err
        run_dir = outputs / "served--starter"
        lines = [json.loads(x) for x in (run_dir / "responses.jsonl").read_text().splitlines()]
        assert len(lines) == 44  # 22 starter probes x 2 samples: nothing lost
        assert len({(r["probe_id"], r["sample"]) for r in lines}) == 44
        assert all(r["answer"].startswith("Served answer to:") for r in lines)
        assert server.max_in_flight == 16
        assert server.events["500"] and server.events["429"] and server.events["slow"]
        manifest_text = (run_dir / "manifest.json").read_text()
        manifest = json.loads(manifest_text)
        assert manifest["backend"]["backend"] == "openai"
        assert manifest["backend"]["model_id"] == MODEL_ID
        # refreshed after generation: the ids the server put in its answers
        assert manifest["backend"]["extra"]["response_model_ids"] == [MODEL_ID]
        assert "sk-cli-456" not in manifest_text
        # the same command resumes: nothing left to do, nothing duplicated
        code, _, err = _cli(capsys, "run", "-m", "served", "--models", str(models), "-p", "starter",
                            "--no-score", "--no-progress")
        assert code == 0 and "0 new" in err
        code, out, _ = _cli(capsys, "show", "served--starter", "--format", "json")
        assert code == 0 and json.loads(out)["header"]["responses"] == 44


def test_import_does_not_pull_httpx_until_used() -> None:
    import subprocess

    code = "import biasprobe.backends.openai, sys; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
