"""An HTTP webhook channel: each notification POSTed as signed JSON to a province's messaging system.

The request (the scheme a receiver verifies; the README's "Webhook" section shows the receiver's side):

- body: UTF-8 JSON ``{"notification": {...}, "subject": "...", "body": "..."}``, the notification's facts
  as the ``Notification`` model dumps them (``key``, ``incident_id``, ``kind``, ``obligation``, ``level``,
  ``round``, ``target``, ``role``, ``at`` …) and the words written from them (``activities.messages``);
- ``Idempotency-Key``: the notification's key (incident, obligation, level, round; P4.b). The same key
  comes again only when an attempt did not get a 2xx answer: a receiver records a key once;
- ``X-Yuqing-Timestamp``: Unix seconds when this attempt was signed;
- ``X-Yuqing-Signature``: ``sha256=<hex>``, HMAC-SHA256 with the shared secret over
  ``<timestamp>.`` followed by the exact body bytes, so a receiver can check the sender and refuse replays.

Answers: 2xx delivered. 408, 429, 5xx, a connection error or a timeout raise a retryable error and
Temporal's retry policy (the workflow's) tries again: there is no retry loop here. Any other answer
(4xx, or a redirect, which a signed POST never follows) is a permanent refusal: a non-retryable
``ApplicationError`` of type ``PERMANENT_REFUSAL`` for the workflow to record.

One attempt is bounded by ``ATTEMPT_SECONDS``, well under the activity's 30 s start-to-close, so an attempt
the server has abandoned never delivers later. The secret is never logged and never leaves the worker: it is
not in any error message, hence in no history.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from datetime import timedelta

import httpx
import structlog
from temporalio.exceptions import ApplicationError

from activities.channels.base import PERMANENT_REFUSAL
from activities.messages import Letter
from yuqing.models._base import clip

NOT_DELIVERED = "NotificationNotDelivered"
"""``ApplicationError.type`` of a failed attempt that Temporal retries (408, 429, 5xx, network, timeout)."""

SIGNATURE_HEADER = "X-Yuqing-Signature"
TIMESTAMP_HEADER = "X-Yuqing-Timestamp"
KEY_HEADER = "Idempotency-Key"

TIMEOUT = httpx.Timeout(connect=5.0, read=10.0, write=5.0, pool=5.0)
"""Per phase of one request; see ``ATTEMPT_SECONDS`` for the whole."""
ATTEMPT_SECONDS = 15.0
"""The whole of one attempt (a server trickling its answer cannot stretch the read timeout): half the
activity's 30 s start-to-close."""
RETRYABLE_4XX = frozenset({408, 429})
MAX_RETRY_AFTER = timedelta(minutes=5)
"""A ``Retry-After`` is honoured up to this (the retry policy's own maximum interval)."""
TEXT_CHARS = 200
"""Of the receiver's answer kept in an error (and so in the history)."""


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Yuqing-Signature`` value: ``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>``."""
    return "sha256=" + hmac.new(secret, timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def encode(letter: Letter) -> bytes:
    """The request body: the notification's facts and its words, as compact UTF-8 JSON."""
    document = {
        "notification": letter.notification.model_dump(mode="json"),
        "subject": letter.subject,
        "body": letter.body,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class WebhookChannel:
    """POSTs each letter to ``url``, signed with ``secret``; one connection pool per channel."""

    name = "webhook"

    def __init__(
        self, url: str, secret: bytes | str, *, timeout: httpx.Timeout = TIMEOUT, attempt_seconds: float = ATTEMPT_SECONDS
    ) -> None:
        if not secret:
            raise ValueError("webhook 密钥为空 the webhook secret is empty")
        self.url = url
        self._secret = secret.encode("utf-8") if isinstance(secret, str) else secret
        self._timeout = timeout
        self._attempt_seconds = attempt_seconds
        self.attempt_seconds = attempt_seconds
        """The longest one delivery may take (``activities.notify``)."""
        self._client: httpx.AsyncClient | None = None
        self._log = structlog.get_logger("yuqing.notify.webhook")

    def __repr__(self) -> str:  # never the secret
        return f"WebhookChannel({self.url!r})"

    @property
    def host(self) -> str:
        """Where it sends, for messages: scheme, host and port, never credentials or a token in the path."""
        url = httpx.URL(self.url)
        return f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")

    def _http(self) -> httpx.AsyncClient:
        """The channel's client, made on first use inside the worker's event loop."""
        if self._client is None or self._client.is_closed:
            self._client = httpx.AsyncClient(
                timeout=self._timeout,
                follow_redirects=False,
                limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
                headers={"User-Agent": "yuqing-webhook/1"},
            )
        return self._client

    async def aclose(self) -> None:
        """Close the connection pool (at worker shutdown)."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def deliver(self, letter: Letter) -> None:
        key = letter.notification.key
        body = encode(letter)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            KEY_HEADER: key,
            TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: signature(self._secret, timestamp, body),
        }
        try:
            async with asyncio.timeout(self._attempt_seconds):
                response = await self._http().post(self.url, content=body, headers=headers)
        except (httpx.TransportError, TimeoutError) as err:
            reason = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
            raise ApplicationError(
                f"webhook 无法送达，稍后重试 webhook not reached at {self.host}, will retry: {clip(reason, TEXT_CHARS)}",
                type=NOT_DELIVERED,
            ) from None
        status = response.status_code
        if 200 <= status < 300:
            self._log.debug("delivered", key=key, status=status)
            return
        text = clip(" ".join(response.text.split()), TEXT_CHARS)
        if status in RETRYABLE_4XX or status >= 500:
            raise ApplicationError(
                f"webhook 暂时拒收（HTTP {status}），稍后重试 webhook refused for now with HTTP {status}, will retry: {text}",
                {"status": status},
                type=NOT_DELIVERED,
                next_retry_delay=_retry_after(response),
            )
        raise ApplicationError(
            f"webhook 拒收该通知（HTTP {status}），不再重试 webhook refused the notification with HTTP {status}, "
            f"not retried: {text}",
            {"status": status},
            type=PERMANENT_REFUSAL,
            non_retryable=True,
        )


def _retry_after(response: httpx.Response) -> timedelta | None:
    """A 429's or 503's ``Retry-After`` in seconds, capped; ``None`` (the retry policy's backoff) otherwise."""
    value = response.headers.get("Retry-After", "").strip()
    if not value.isdigit():
        return None
    return min(timedelta(seconds=int(value)), MAX_RETRY_AFTER) if int(value) > 0 else None
