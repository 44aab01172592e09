"""An OpenAI-compatible chat-completions server as a backend: vLLM, SGLang, llama.cpp server,
TGI, ``transformers serve`` (or a hosted API).

Requests go out concurrently (async httpx, at most ``max_concurrency`` in flight); 429, 5xx,
timeouts and connection errors are retried with exponential backoff and jitter (``Retry-After``
honoured), at most ``max_retries`` times per request, after which :class:`BackendError` is
raised: a failed request never becomes an answer. Reasoning is read from ``reasoning_content``
/ ``reasoning`` (vLLM, SGLang, DeepSeek) or from ``<think>`` blocks in the content. The server's
model id (``GET /models`` and each response's ``model``) is recorded by :meth:`info`. The API
key is read from the environment variable the entry names and is never written anywhere.

``generate`` is synchronous: it runs its own event loop (in a helper thread when the caller is
already inside one, e.g. a notebook).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar

from biasprobe.backends.base import BackendInfo, ChatRequest, Generation, refuse_prefill
from biasprobe.config import GenerationSettings, ModelEntry, OpenAISource
from biasprobe.errors import BackendError
from biasprobe.reasoning import Split, split_reasoning
from biasprobe.records import ThinkState

if TYPE_CHECKING:
    import httpx

T = TypeVar("T")

#: one entry of the server's ``GET /models`` list: untyped JSON, read key by key with checks
ServerModel = dict[str, object]


class _Message(TypedDict):
    role: str
    content: str


class _ChatBodyRequired(TypedDict):
    model: str
    messages: list[_Message]
    max_tokens: int
    temperature: float
    top_p: float
    n: int
    stream: bool


class ChatBody(_ChatBodyRequired, total=False):
    """The ``POST /chat/completions`` request body (``seed`` only when sampling)."""

    seed: int

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
RETRY_AFTER_CAP_S = 60.0
FINISH_REASONS = {
    "stop": "stop", "eos": "stop", "eos_token": "stop", "stop_sequence": "stop", "end_turn": "stop",
    "length": "length", "max_tokens": "length", "model_length": "length",
}


class _Retryable(Exception):
    def __init__(self, why: str, retry_after: float | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.retry_after = retry_after


def request_seed(base: int, key: tuple[str, int]) -> int:
    """A per-request seed: the same (probe, sample) gets the same seed in every run."""
    return (base + zlib.crc32(f"{key[0]}#{key[1]}".encode())) % (2**31)


def backoff_delay(attempt: int, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Exponential backoff with jitter: uniform in [d/2, d], d = min(cap, base * 2**attempt)."""
    d = float(min(cap, base * (2.0**attempt)))
    return d / 2 + random.random() * d / 2


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, min(RETRY_AFTER_CAP_S, float(value)))
    except ValueError:
        return None


def _error_text(resp: httpx.Response) -> str:
    try:
        data = resp.json()
        err = data.get("error", data) if isinstance(data, dict) else data
        msg = err.get("message", err) if isinstance(err, dict) else err
        text = str(msg)
    except (ValueError, AttributeError):
        text = resp.text
    return " ".join(text.split())[:300]


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from synchronous code, even inside a running event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    values: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            values.append(asyncio.run(factory()))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=target, name="biasprobe-openai")
    thread.start()
    thread.join()
    if errors:
        raise errors[0]
    return values[0]


class OpenAIBackend:
    """Chat completions against ``source.base_url`` (e.g. ``http://127.0.0.1:8000/v1``)."""

    def __init__(
        self,
        entry: ModelEntry,
        *,
        backoff_base_s: float | None = None,
        transport: Any = None,
    ) -> None:
        import httpx

        if not isinstance(entry.source, OpenAISource):
            raise BackendError(f"{entry.name}: the openai backend needs an {{openai: ...}} source")
        self.entry = entry
        self.source: OpenAISource = entry.source
        self.base_url = self.source.base_url.rstrip("/")
        self.backoff_base_s = BACKOFF_BASE_S if backoff_base_s is None else backoff_base_s
        self._transport = transport  # tests may inject an httpx transport
        self._headers = {"Content-Type": "application/json"}
        if self.source.api_key_env:
            key = os.environ.get(self.source.api_key_env)
            if not key:
                raise BackendError(
                    f"{entry.name}: environment variable {self.source.api_key_env} (api_key_env) "
                    "is not set; export the API key there"
                )
            self._headers["Authorization"] = f"Bearer {key}"
        self.served_model_ids: set[str] = set()
        self.retries = 0
        self.max_in_flight = 0
        self._httpx_version = httpx.__version__
        self.server_models: list[ServerModel] = run_sync(self._fetch_models)

    # --- provenance -------------------------------------------------------------------------

    def _served(self) -> ServerModel | None:
        for m in self.server_models:
            if m.get("id") == self.source.openai:
                return m
        return self.server_models[0] if len(self.server_models) == 1 else None

    def info(self) -> BackendInfo:
        served = self._served()
        ids = sorted(self.served_model_ids)
        model_id = ids[0] if len(ids) == 1 else str(served["id"]) if served else self.source.openai
        extra: dict[str, object] = {
            "base_url": self.base_url,
            "requested_model": self.source.openai,
            "response_model_ids": ids,
            "server_models": [
                {k: m[k] for k in ("id", "root", "owned_by", "max_model_len", "created") if k in m}
                for m in self.server_models
            ],
            "max_concurrency": self.source.max_concurrency,
            "reasoning_split": self.entry.reasoning.mode != "none",
        }
        return BackendInfo(
            backend="openai",
            model_id=model_id,
            resolved_revision=str(served.get("root")) if served and served.get("root") else None,
            device=self.base_url,
            versions={"httpx": self._httpx_version},
            extra=extra,
        )

    # --- HTTP -------------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        import httpx

        limits = httpx.Limits(
            max_connections=self.source.max_concurrency,
            max_keepalive_connections=self.source.max_concurrency,
        )
        return httpx.AsyncClient(
            base_url=self.base_url + "/", headers=self._headers, limits=limits,
            timeout=httpx.Timeout(self.source.timeout_s), transport=self._transport,
        )

    async def _with_retries(
        self, what: str, attempt_once: Callable[[], Awaitable[T]],
        semaphore: asyncio.Semaphore | None = None,
    ) -> T:
        """Call ``attempt_once`` until it succeeds; it raises _Retryable for transient failures.
        The semaphore (if any) is held only while a request is in flight, not while waiting."""
        import httpx

        last = "no attempt"
        for attempt in range(self.source.max_retries + 1):
            retry_after: float | None = None
            try:
                if semaphore is None:
                    return await attempt_once()
                async with semaphore:
                    return await attempt_once()
            except _Retryable as exc:
                last, retry_after = exc.why, exc.retry_after
            except httpx.TimeoutException as exc:
                last = f"timed out after {self.source.timeout_s:g} s ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            if attempt < self.source.max_retries:
                self.retries += 1
                delay = backoff_delay(attempt, self.backoff_base_s)
                await asyncio.sleep(max(delay, retry_after or 0.0))
        raise BackendError(
            f"{self.entry.name}: {what} at {self.base_url} failed after "
            f"{self.source.max_retries + 1} attempts: {last}"
        )

    async def _fetch_models(self) -> list[ServerModel]:
        async with self._client() as client:

            async def once() -> list[ServerModel]:
                resp = await client.get("models")
                if resp.status_code in RETRY_STATUS or resp.status_code >= 500:
                    raise _Retryable(f"HTTP {resp.status_code}: {_error_text(resp)}",
                                     _retry_after(resp))
                if resp.status_code == 401 or resp.status_code == 403:
                    raise BackendError(
                        f"{self.entry.name}: {self.base_url} refused the API key "
                        f"(HTTP {resp.status_code}); check api_key_env"
                    )
                if resp.status_code != 200:
                    return []  # /models is optional; provenance then comes from responses
                try:
                    data = resp.json().get("data", [])
                except (ValueError, AttributeError):
                    return []
                return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []

            return await self._with_retries("GET /models", once)

    def _body(self, req: ChatRequest, settings: GenerationSettings) -> ChatBody:
        body: ChatBody = {
            "model": self.source.openai,
            "messages": [{"role": m.role, "content": m.content} for m in req.messages],
            "max_tokens": settings.max_new_tokens,
            "temperature": settings.temperature,
            "top_p": settings.top_p if not settings.greedy else 1.0,
            "n": 1,
            "stream": False,
        }
        if not settings.greedy:
            body["seed"] = request_seed(settings.seed, req.key)
        return body

    async def _one(
        self, client: httpx.AsyncClient, sem: asyncio.Semaphore, req: ChatRequest,
        settings: GenerationSettings, in_flight: list[int],
    ) -> Generation:
        body = self._body(req, settings)
        prompt = json.dumps(body["messages"], ensure_ascii=False)

        async def once() -> Generation:
            in_flight[0] += 1
            self.max_in_flight = max(self.max_in_flight, in_flight[0])
            start = time.perf_counter()
            try:
                resp = await client.post("chat/completions", json=body)
            finally:
                in_flight[0] -= 1
            latency = time.perf_counter() - start
            if resp.status_code in RETRY_STATUS or resp.status_code >= 500:
                raise _Retryable(f"HTTP {resp.status_code}: {_error_text(resp)}", _retry_after(resp))
            if resp.status_code != 200:
                hint = "; check api_key_env" if resp.status_code in (401, 403) else ""
                raise BackendError(
                    f"{self.entry.name}: {self.base_url} answered HTTP {resp.status_code} to "
                    f"{req.key[0]}#{req.key[1]}: {_error_text(resp)}{hint}"
                )
            try:
                data = resp.json()
            except ValueError:
                raise _Retryable("HTTP 200 with a body that is not JSON") from None
            return self._parse(req, prompt, data, latency)

        return await self._with_retries(f"request {req.key[0]}#{req.key[1]}", once, sem)

    def _parse(self, req: ChatRequest, prompt: str, data: Any, latency: float) -> Generation:
        try:
            choice = data["choices"][0]
            message = choice.get("message") or {}
            content = message.get("content") or ""
        except (KeyError, IndexError, TypeError, AttributeError):
            raise BackendError(
                f"{self.entry.name}: {self.base_url} returned no choices for "
                f"{req.key[0]}#{req.key[1]}: {json.dumps(data)[:200]}"
            ) from None
        if isinstance(data.get("model"), str):
            self.served_model_ids.add(data["model"])
        finish = FINISH_REASONS.get(str(choice.get("finish_reason")), "unknown")
        split = Split(*self._split(message, str(content), finish))
        usage = data.get("usage") or {}
        tokens_in = usage.get("prompt_tokens")
        tokens_out = usage.get("completion_tokens")
        return Generation.of(
            req.key, prompt, split, finish,
            tokens_in=int(tokens_in) if isinstance(tokens_in, int) else None,
            tokens_out=int(tokens_out) if isinstance(tokens_out, int) else None,
            latency_s=latency,
        )

    def _split(
        self, message: dict[str, object], content: str, finish: str
    ) -> tuple[str, str | None, ThinkState]:
        fmt = self.entry.reasoning
        if fmt.mode == "none":
            return content.strip(), None, ThinkState.none
        field = message.get("reasoning_content")
        if field is None:
            field = message.get("reasoning")
        if isinstance(field, str):  # the server split it (vLLM/SGLang reasoning parsers)
            reasoning = field.strip()
            if not content.strip() and finish == "length":
                return "", reasoning, ThinkState.truncated
            return content.strip(), reasoning, ThinkState.complete if reasoning else ThinkState.empty
        # R1-style templates open the block in the prompt: only the end marker comes back (or,
        # for a declared reasoning model cut off while thinking, no marker at all)
        opened = fmt.start not in content and (
            fmt.end in content or (fmt.mode == "think" and finish == "length")
        )
        split = split_reasoning(content, fmt.start, fmt.end, opened_in_prompt=opened)
        return split.answer, split.reasoning, split.think_state

    async def _generate_all(
        self, requests: list[ChatRequest], settings: GenerationSettings
    ) -> list[Generation]:
        sem = asyncio.Semaphore(self.source.max_concurrency)
        in_flight = [0]
        async with self._client() as client:
            tasks = [asyncio.ensure_future(self._one(client, sem, r, settings, in_flight))
                     for r in requests]
            try:
                return list(await asyncio.gather(*tasks))
            except BaseException:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise

    # --- Backend protocol -------------------------------------------------------------------

    def generate(
        self, requests: list[ChatRequest], settings: GenerationSettings
    ) -> list[Generation]:
        if not requests:
            return []
        refuse_prefill(requests, "OpenAI-compatible")
        return run_sync(lambda: self._generate_all(list(requests), settings))

    def batch_hint(self) -> int | None:
        return None  # the registry's default already keeps every connection busy

    def close(self) -> None:
        pass
