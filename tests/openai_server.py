"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for tests (stdlib only).

It answers deterministically, counts requests in flight, and injects faults on the *first*
attempt of chosen requests (by a hash of the conversation and seed): HTTP 500, HTTP 429 with
``Retry-After: 0``, or a response slower than the client's timeout. Retries then succeed.
``hold_until=N`` makes requests wait (bounded) until N are in flight at once, so a test can
show that the client reaches its concurrency limit, deterministically even on a loaded machine.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL_ID = "served/fake-model-v1"


class FakeOpenAIServer:
    def __init__(
        self,
        *,
        fail_every: int = 0,
        rate_limit_every: int = 0,
        slow_every: int = 0,
        slow_s: float = 1.5,
        always_status: int | None = None,
        delay_s: float = 0.02,
        hold_until: int = 0,
        hold_timeout_s: float = 3.0,
        api_key: str | None = None,
        model_id: str = MODEL_ID,
        models_endpoint: bool = True,
    ) -> None:
        self.fail_every = fail_every
        self.rate_limit_every = rate_limit_every
        self.slow_every = slow_every
        self.slow_s = slow_s
        self.always_status = always_status
        self.delay_s = delay_s
        self.hold_until = hold_until
        self.hold_timeout_s = hold_timeout_s
        self.api_key = api_key
        self.model_id = model_id
        self.models_endpoint = models_endpoint
        self.cond = threading.Condition()
        self.in_flight = 0
        self.max_in_flight = 0
        self.attempts: Counter[str] = Counter()
        self.events: Counter[str] = Counter()  # "500", "429", "slow", "ok"
        self.bodies: list[dict[str, Any]] = []
        self.auth_headers: list[str | None] = []
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> FakeOpenAIServer:
        server = self

        class Handler(_Handler):
            owner = server

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            request_queue_size = 128

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client hung up (timeouts): expected

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._httpd is not None and self._thread is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # --- behaviour ----------------------------------------------------------------------------

    def fault_for(self, body: dict[str, Any]) -> str | None:
        ident = json.dumps([body.get("messages"), body.get("seed")], sort_keys=True)
        with self.cond:
            self.attempts[ident] += 1
            attempt = self.attempts[ident]
        if self.always_status is not None:
            return str(self.always_status)
        if attempt > 1:
            return None
        h = zlib.crc32(ident.encode())
        if self.fail_every and h % self.fail_every == 0:
            return "500"
        if self.rate_limit_every and h % self.rate_limit_every == 1:
            return "429"
        if self.slow_every and h % self.slow_every == 2:
            return "slow"
        return None

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        user = [m["content"] for m in body["messages"] if m["role"] == "user"][-1]
        message: dict[str, Any] = {"role": "assistant", "content": f"Served answer to: {user}"}
        if "Taiwan" in user:
            message["reasoning_content"] = "The user asks about Taiwan."
        elif "Tiananmen" in user:
            message["content"] = f"<think>Sensitive.</think>Served answer to: {user}"
        words = len(message["content"].split())
        finish = "stop"
        if words > body["max_tokens"]:
            message["content"] = " ".join(message["content"].split()[: body["max_tokens"]])
            words, finish = body["max_tokens"], "length"
        return {
            "id": "chatcmpl-test",
            "object": "chat.completion",
            "model": self.model_id,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": len(json.dumps(body["messages"]).split()),
                      "completion_tokens": words, "total_tokens": 0},
        }


class _Handler(BaseHTTPRequestHandler):
    owner: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, data: Any, headers: dict[str, str] | None = None) -> None:
        raw = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _authorised(self) -> bool:
        s = self.owner
        auth = self.headers.get("Authorization")
        if s.api_key is not None and auth != f"Bearer {s.api_key}":
            self._send(401, {"error": {"message": "invalid api key"}})
            return False
        return True

    def do_GET(self) -> None:
        s = self.owner
        if not self._authorised():
            return
        if self.path.rstrip("/") == "/v1/models" and s.models_endpoint:
            self._send(200, {"object": "list", "data": [
                {"id": s.model_id, "object": "model", "root": "/models/fake-v1",
                 "owned_by": "test", "max_model_len": 4096},
            ]})
        else:
            self._send(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        s = self.owner
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        with s.cond:
            s.auth_headers.append(self.headers.get("Authorization"))
        if not self._authorised():
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": "not found"}})
            return
        if body.get("model") != s.model_id.split("/")[-1] and body.get("model") != s.model_id:
            self._send(404, {"error": {"message": f"model {body.get('model')} does not exist"}})
            return
        fault = s.fault_for(body)
        if fault == "slow":  # longer than the client's timeout; not counted as in flight
            with s.cond:
                s.events["slow"] += 1
            time.sleep(s.slow_s)
            self._send(200, s.answer(body))
            return
        with s.cond:
            s.in_flight += 1
            s.max_in_flight = max(s.max_in_flight, s.in_flight)
            s.cond.notify_all()
        # leave the in-flight count *before* answering: the client may send its next request
        # as soon as it has the answer
        status, headers = 200, None
        try:
            if fault is not None:
                status = int(fault)
                headers = {"Retry-After": "0"} if status == 429 else None
                data: dict[str, Any] = {"error": {"message": f"injected {status}"}}
            else:
                time.sleep(s.delay_s)
                if s.hold_until:
                    with s.cond:
                        s.cond.wait_for(lambda: s.max_in_flight >= s.hold_until, s.hold_timeout_s)
                data = s.answer(body)
        finally:
            with s.cond:
                s.in_flight -= 1
                if fault is not None:
                    s.events[fault] += 1
                else:
                    s.bodies.append(body)
                    s.events["ok"] += 1
        self._send(status, data, headers)
