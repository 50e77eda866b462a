"""A province's webhook receiver for the tests and the fault campaign: stdlib HTTP on a free loopback
port, in a thread.

It verifies each request's signature the way the README tells a receiver to, records what came
(key, signature check, the status it answered, when), and answers as told: refusing (503 by default) for
the first ``refuse_first`` requests, for ``refuse_for`` seconds from the first request, and while
``down`` is set (the campaign's channel outage), then accepting.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

TOLERANCE_SECONDS = 300


def verify(secret: bytes, timestamp: str, body: bytes, header: str, now: float | None = None) -> bool:
    """The receiver's check (as in the README): the signature matches and the timestamp is recent."""
    if not timestamp.isdigit() or abs((now or time.time()) - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


@dataclass
class Received:
    key: str
    signed: bool
    status: int
    document: dict[str, Any]
    headers: dict[str, str]
    at: float
    """``time.monotonic()`` when it came."""
    wall: float = 0.0
    """``time.time()`` when it came (the campaign compares it with due times)."""


class Receiver:
    """Start with ``with Receiver(secret) as r:``; ``r.url`` is where to POST."""

    def __init__(
        self,
        secret: bytes,
        *,
        refuse_first: int = 0,
        refuse_for: float = 0.0,
        refusal: int = 503,
        answer: Callable[[Received], int] | None = None,
        delay: float = 0.0,
        response_headers: dict[str, str] | None = None,
        text: str = "暂停接收 paused",
    ) -> None:
        self.secret = secret
        self.refuse_first, self.refuse_for, self.refusal = refuse_first, refuse_for, refusal
        self.answer = answer
        self.delay = delay
        self.response_headers = response_headers or {}
        self.text = text
        self._seen = 0
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        self._first: float | None = None
        self.down = False
        """While set, every signed request is refused with ``refusal`` (a channel outage)."""
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/yuqing/notify"

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._released.set()  # a delayed answer returns now
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # ------------------------------------------------------------------ views

    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if 200 <= r.status < 300]

    def refused(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if not 200 <= r.status < 300]

    # --------------------------------------------------------------- handling

    def _decide(self, received: Received) -> int:
        with self._lock:
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._seen += 1
            refusing = self._seen <= self.refuse_first or now - self._first < self.refuse_for or self.down
        if not received.signed:
            return 401
        if refusing:
            return self.refusal
        return self.answer(received) if self.answer else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: the channel's pool reuses connections

            def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {k.lower(): v for k, v in self.headers.items()}
                signed = verify(
                    receiver.secret, headers.get("x-yuqing-timestamp", ""), body, headers.get("x-yuqing-signature", "")
                )
                received = Received(
                    key=headers.get("idempotency-key", ""), signed=signed, status=0,
                    document=json.loads(body.decode("utf-8")), headers=headers, at=time.monotonic(),
                    wall=time.time(),
                )  # fmt: skip
                received.status = receiver._decide(received)
                if receiver.delay:
                    receiver._released.wait(receiver.delay)
                answer = b'{"ok":true}' if received.status < 300 else receiver.text.encode()
                self.send_response(received.status)
                for name, value in receiver.response_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                with receiver._lock:  # recorded once answered: the order the channel saw
                    receiver.requests.append(received)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
