"""The webhook channel (issue 11, P4.b): signed JSON, the idempotency key, Temporal's retries, permanent refusals.

Against a local receiver (``faults.receiver``) that verifies every signature the README's way.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

import activities.notify
from activities.channels import PERMANENT_REFUSAL, SqliteOutbox, WebhookChannel, build_channels
from activities.channels.webhook import ATTEMPT_SECONDS, NOT_DELIVERED, TIMEOUT, encode, signature
from activities.messages import Letter, render
from activities.notify import Notifier
from faults.receiver import Receiver, verify
from starter import service
from tests.conftest import UNIT, Clock, make_incident, query_status, serving
from tests.test_notifications import notification
from worker import build_worker
from yuqing import config
from yuqing.errors import YuqingError
from yuqing.models import EventGrade, OpinionLevel

SECRET = b"s3cret-shared-with-the-province"
ACTIVITY_START_TO_CLOSE = 30.0
"""The workflow's start-to-close for ``deliver_notification`` (workflows.incident)."""


def letter(key: str = "YQ-1/response#1/2/1") -> Letter:
    return render(notification(key, incident_id=key.split("/")[0]))


@pytest_asyncio.fixture
async def channels() -> AsyncIterator[list[WebhookChannel]]:
    """Channels made by a test, their pools closed after it."""
    made: list[WebhookChannel] = []
    yield made
    for channel in made:
        await channel.aclose()


def channel_for(made: list[WebhookChannel], url: str, secret: bytes = SECRET, **kwargs: Any) -> WebhookChannel:
    channel = WebhookChannel(url, secret, **kwargs)
    made.append(channel)
    return channel


# ------------------------------------------------------------------------------------------- the request


async def test_accepted_request_is_signed_and_carries_key_facts_and_words(channels: list[WebhookChannel]) -> None:
    """2xx is delivered; the body is the notification's facts and words, the key in ``Idempotency-Key``,
    the signature valid for the shared secret and for no other."""
    sent = letter()
    with Receiver(SECRET) as receiver:
        await channel_for(channels, receiver.url).deliver(sent)
    [got] = receiver.requests
    assert got.status == 200 and got.signed
    assert got.key == sent.notification.key == got.document["notification"]["key"]
    assert got.document == {
        "notification": json.loads(sent.notification.model_dump_json()), "subject": sent.subject, "body": sent.body,
    }  # fmt: skip
    facts = got.document["notification"]
    assert (facts["incident_id"], facts["kind"], facts["level"], facts["round"], facts["target"]["code"]) == (
        "YQ-1", "escalation", 2, 1, "370102",
    )  # fmt: skip
    assert facts["obligation"]["id"] == "response#1" and facts["role"] and facts["at"].startswith("2026-11-25T04:00")
    assert got.headers["content-type"].startswith("application/json")
    assert got.headers["x-yuqing-signature"].startswith("sha256=")
    body, stamp = encode(sent), got.headers["x-yuqing-timestamp"]
    assert verify(SECRET, stamp, body, got.headers["x-yuqing-signature"])
    assert not verify(b"another-secret", stamp, body, got.headers["x-yuqing-signature"])
    assert not verify(SECRET, stamp, body.replace(b"YQ-1", b"YQ-2"), got.headers["x-yuqing-signature"])
    assert not verify(SECRET, str(int(time.time()) - 3600), body, signature(SECRET, str(int(time.time()) - 3600), body))


async def test_unsigned_or_wrongly_signed_request_is_refused_by_the_receiver(channels: list[WebhookChannel]) -> None:
    """The receiver's check can fail: a sender with another secret is refused (401), permanently."""
    with Receiver(SECRET) as receiver:
        with pytest.raises(ApplicationError) as raised:
            await channel_for(channels, receiver.url, secret=b"not-the-secret").deliver(letter())
    assert [(r.signed, r.status) for r in receiver.requests] == [(False, 401)]
    assert raised.value.type == PERMANENT_REFUSAL and raised.value.non_retryable


# ---------------------------------------------------------------------------------------- the answers


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408, 429])
async def test_transient_answers_raise_a_retryable_error(channels: list[WebhookChannel], status: int) -> None:
    """408, 429 and 5xx: Temporal's retry policy tries again (no retry loop in the channel: one request)."""
    with Receiver(SECRET, refuse_first=1, refusal=status) as receiver:
        with pytest.raises(ApplicationError) as raised:
            await channel_for(channels, receiver.url).deliver(letter())
    assert len(receiver.requests) == 1
    err = raised.value
    assert err.type == NOT_DELIVERED and not err.non_retryable
    assert f"HTTP {status}" in err.message and err.message.startswith("webhook 暂时拒收")
    assert err.details == ({"status": status},)


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
async def test_other_4xx_is_a_permanent_refusal(channels: list[WebhookChannel], status: int) -> None:
    """Any other 4xx: non-retryable ``NotificationRefused`` with the status and the receiver's text, clipped."""
    with Receiver(SECRET, refuse_first=1, refusal=status, text="字段缺失 missing field " + "x" * 500) as receiver:
        with pytest.raises(ApplicationError) as raised:
            await channel_for(channels, receiver.url).deliver(letter())
    err = raised.value
    assert err.type == PERMANENT_REFUSAL == "NotificationRefused" and err.non_retryable
    assert err.message.startswith("webhook 拒收该通知") and f"HTTP {status}" in err.message
    assert "字段缺失 missing field" in err.message and len(err.message) < 400
    assert err.details == ({"status": status},)


async def test_a_redirect_is_not_followed_and_is_permanent(channels: list[WebhookChannel]) -> None:
    """A signed POST is never re-sent elsewhere: a 3xx means a wrong URL, refused like a 4xx."""
    with Receiver(SECRET, refuse_first=1, refusal=302, response_headers={"Location": "http://elsewhere/"}) as receiver:
        with pytest.raises(ApplicationError) as raised:
            await channel_for(channels, receiver.url).deliver(letter())
    assert len(receiver.requests) == 1 and raised.value.type == PERMANENT_REFUSAL


async def test_retry_after_is_honoured_capped(channels: list[WebhookChannel]) -> None:
    """A 429 with ``Retry-After`` sets the next retry's delay (no burst on a receiver asking for calm), capped at 5 min."""
    for given, expected in (("7", timedelta(seconds=7)), ("86400", timedelta(minutes=5)), ("soon", None)):
        with Receiver(SECRET, refuse_first=1, refusal=429, response_headers={"Retry-After": given}) as receiver:
            with pytest.raises(ApplicationError) as raised:
                await channel_for(channels, receiver.url).deliver(letter())
        assert raised.value.next_retry_delay == expected and not raised.value.non_retryable


# ------------------------------------------------------------------------------- timeouts and transport


def test_timeouts_are_bounded_well_under_the_activity_start_to_close() -> None:
    """An attempt the server has abandoned (start-to-close 30 s) must not deliver later."""
    phases = [TIMEOUT.connect, TIMEOUT.read, TIMEOUT.write, TIMEOUT.pool]
    assert all(p is not None and 0 < p <= 10 for p in phases)
    assert ATTEMPT_SECONDS <= ACTIVITY_START_TO_CLOSE / 2


@pytest.mark.parametrize(
    "kwargs", [{"attempt_seconds": 0.5}, {"timeout": httpx.Timeout(0.3)}], ids=["attempt-bound", "read-timeout"]
)
async def test_a_slow_receiver_is_a_retryable_timeout(channels: list[WebhookChannel], kwargs: dict[str, Any]) -> None:
    """A receiver that does not answer in time: the attempt gives up within its bound and is retried."""
    with Receiver(SECRET, delay=5.0) as receiver:
        started = time.monotonic()
        with pytest.raises(ApplicationError) as raised:
            await channel_for(channels, receiver.url, **kwargs).deliver(letter())
        took = time.monotonic() - started
    assert took < 5.0  # the bound, not the receiver's 5 s delay nor the 30 s start-to-close
    assert raised.value.type == NOT_DELIVERED and not raised.value.non_retryable
    assert raised.value.message.startswith("webhook 无法送达")


async def test_a_closed_port_is_retryable(channels: list[WebhookChannel]) -> None:
    with Receiver(SECRET) as receiver:
        url = receiver.url
    with pytest.raises(ApplicationError) as raised:  # nobody listens there now
        await channel_for(channels, url).deliver(letter())
    assert raised.value.type == NOT_DELIVERED and not raised.value.non_retryable


async def test_the_secret_is_in_no_message_and_no_repr(channels: list[WebhookChannel]) -> None:
    """The secret stays in the worker: not in the channel's repr nor in any error (errors enter the history)."""
    channel = channel_for(channels, "http://user:pw@127.0.0.1:9/x?token=abc")
    assert SECRET.decode() not in repr(channel)
    with Receiver(SECRET, refuse_first=2, refusal=400) as receiver:
        for url in (receiver.url, "http://user:pw@127.0.0.1:9/x?token=abc"):
            with pytest.raises(ApplicationError) as raised:
                await channel_for(channels, url).deliver(letter())
            assert SECRET.decode() not in raised.value.message and "pw" not in raised.value.message
            assert "token" not in raised.value.message


async def test_one_connection_pool_per_channel(channels: list[WebhookChannel]) -> None:
    """Successive deliveries reuse the channel's client; ``aclose`` releases it and a later delivery opens anew."""
    with Receiver(SECRET) as receiver:
        channel = channel_for(channels, receiver.url)
        await channel.deliver(letter("a/opened/0/1"))
        client = channel._client
        await channel.deliver(letter("a/warning/0/1"))
        assert client is not None and channel._client is client
        await channel.aclose()
        assert client.is_closed
        await channel.deliver(letter("a/escalation/1/1"))
    assert [r.key for r in receiver.accepted()] == ["a/opened/0/1", "a/warning/0/1", "a/escalation/1/1"]


# --------------------------------------------------------------------------------------- configuration


def test_configuration_reads_url_and_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "webhook.secret"
    secret.write_text("  s3cret\n")
    monkeypatch.setenv("YUQING_CHANNELS", "outbox,webhook")
    monkeypatch.setenv("YUQING_WEBHOOK_URL", "https://msg.example.gov.cn/yuqing")
    monkeypatch.setenv("YUQING_WEBHOOK_SECRET_FILE", str(secret))
    built = build_channels(config.channel_names(), tmp_path / "o.db")
    assert [c.name for c in built] == ["outbox", "webhook"]
    webhook = built[1]
    assert isinstance(webhook, WebhookChannel) and webhook.url == "https://msg.example.gov.cn/yuqing"
    assert webhook._secret == b"s3cret"


@pytest.mark.parametrize(
    ("url", "secret_text", "unset", "says"),
    [
        ("", "s", None, "YUQING_WEBHOOK_URL is not set"),
        ("ftp://x/y", "s", None, "must be an http(s) URL"),
        ("https://x/y", None, "YUQING_WEBHOOK_SECRET_FILE", "YUQING_WEBHOOK_SECRET_FILE is not set"),
        ("https://x/y", None, None, "cannot read the webhook secret file"),
        ("https://x/y", " \n", None, "is empty"),
    ],
    ids=["no-url", "bad-url", "no-secret-file", "missing-file", "empty-file"],
)
def test_missing_webhook_settings_stop_the_worker_clearly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, secret_text: str | None, unset: str | None, says: str
) -> None:
    """Named but not configured: a clear Chinese + English error before anything starts."""
    secret = tmp_path / "webhook.secret"
    if secret_text is not None:
        secret.write_text(secret_text)
    monkeypatch.setenv("YUQING_WEBHOOK_URL", url)
    monkeypatch.setenv("YUQING_WEBHOOK_SECRET_FILE", str(secret))
    if unset:
        monkeypatch.delenv(unset)
    with pytest.raises(YuqingError) as raised:
        build_channels(["outbox", "webhook"], tmp_path / "o.db")
    message = str(raised.value)
    assert says in message and message[0] in "未无w" and "webhook" in message
    assert "s3cret" not in message
    build_channels(["outbox", "log"], tmp_path / "o.db")  # without the webhook nothing is asked


async def test_worker_refuses_to_start_without_webhook_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker builds its channels before connecting: the error comes at once, even with no server."""
    import worker

    monkeypatch.setenv("YUQING_CHANNELS", "outbox,webhook")
    monkeypatch.delenv("YUQING_WEBHOOK_URL", raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:9")
    with pytest.raises(YuqingError, match="未配置 webhook 地址"):
        await asyncio.wait_for(worker.run(asyncio.Event()), 5)


# ---------------------------------------------------------------------------------- the activity itself


class SlowChannel:
    name = "slow"

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.finished = False

    async def deliver(self, letter: Letter) -> None:
        await asyncio.sleep(self.seconds)
        self.finished = True


async def test_the_activity_heartbeats_while_a_channel_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heartbeats before each channel and during a slow one, so a heartbeat timeout can find a dead worker."""
    monkeypatch.setattr(activities.notify, "HEARTBEAT_EVERY", 0.05)
    beats: list[tuple[object, ...]] = []
    env = ActivityEnvironment()
    env.on_heartbeat = lambda *details: beats.append(details)
    slow = SlowChannel(0.3)
    await env.run(Notifier([slow, SlowChannel(0)]).deliver, notification())
    assert slow.finished and len(beats) >= 4


async def test_a_cancelled_attempt_stops_its_channel(monkeypatch: pytest.MonkeyPatch) -> None:
    """A cancelled activity (heartbeat timeout, workflow cancelled) does not deliver later."""
    monkeypatch.setattr(activities.notify, "HEARTBEAT_EVERY", 0.05)
    env = ActivityEnvironment()
    slow = SlowChannel(0.5)
    running = asyncio.ensure_future(env.run(Notifier([slow]).deliver, notification()))
    await asyncio.sleep(0.1)
    env.cancel()
    with pytest.raises(BaseException):  # noqa: B017 (the SDK's cancellation error)
        await running
    await asyncio.sleep(0.6)
    assert not slow.finished


# ------------------------------------------------------------------------------------------ end to end


async def test_p4_b_webhook_outage_then_every_notification_received_once(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """P4.b through a real worker: the receiver refuses (503) for 3 s while incidents open, then accepts.
    Every notification the outbox recorded reaches the webhook exactly once by key, none lost, every
    signature valid, and no key comes again after it was accepted."""
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    queue = f"webhook-{uuid.uuid4().hex[:6]}"
    with Receiver(SECRET, refuse_for=3.0) as receiver:
        webhook = WebhookChannel(receiver.url, SECRET)
        try:
            async with serving(build_worker(env.client, [outbox, webhook], task_queue=queue)):
                incidents = [
                    make_incident(),
                    make_incident(level=OpinionLevel.MAJOR, grade=EventGrade.MAJOR),  # A2.3: coordination too
                    make_incident(level=OpinionLevel.MAJOR, grade=EventGrade.MAJOR),
                ]
                handles = [
                    await service.open_incident(env.client, i, opened_by=UNIT, task_queue=queue) for i in incidents
                ]
                deadline = time.monotonic() + 45
                while True:
                    recorded = {r["key"] for h in handles for r in outbox.rows(h.id)}
                    if recorded and recorded <= {r.key for r in receiver.accepted()}:
                        break
                    assert time.monotonic() < deadline, f"not all delivered: {recorded - {r.key for r in receiver.accepted()}}"
                    await asyncio.sleep(0.2)
                for handle in handles:
                    await Clock.settle(handle, timeout=30)
                statuses = [await query_status(h) for h in handles]
        finally:
            await webhook.aclose()
    rows = [r for h in handles for r in outbox.rows(h.id)]
    accepted = Counter(r.key for r in receiver.accepted())
    assert len(rows) >= 1 + 4 + 4  # openings, and A2.3's 宣传, 网信, 通信管理 for the two 重大 incidents
    assert receiver.refused(), "the outage must have refused something"
    assert {r.key for r in receiver.refused()} <= set(accepted), "a refused notification was lost"
    assert set(accepted) == {r["key"] for r in rows} and len(accepted) == len(rows)
    assert set(accepted.values()) == {1}, f"received twice: {[k for k, n in accepted.items() if n > 1]}"
    for key in accepted:  # a key comes again only after a failed answer, never after it was accepted
        answers = [r.status for r in receiver.requests if r.key == key]
        assert answers[-1] == 200 and all(s == 503 for s in answers[:-1]), (key, answers)
    assert all(r.signed for r in receiver.requests)
    assert all(r.document["notification"]["key"] == r.key for r in receiver.requests)
    assert any(r["attempts"] > 1 for r in rows)  # the outbox saw the retries, and recorded each once
    assert all(s.delivery_failures == [] for s in statuses)
