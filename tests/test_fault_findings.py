"""What the fault campaign found (issue 11), each as a test that failed before its fix."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.channels import SqliteOutbox
from activities.messages import Letter
from activities.notify import Notifier
from starter import service
from tests.conftest import POLICY, Clock, make_incident, query_status, release, serving
from tests.test_notifications import notification
from worker import build_worker
from yuqing.models import ObligationKind, ObligationStatus

H = timedelta(hours=1)


async def test_d_esc_a_step_due_before_a_report_that_arrives_with_its_timer_is_still_sent(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """FC1-006: the workers were down across the 48 h deadline; the unit's response (filed long before it
    reached the workflow: counted at its arrival, P4.h) arrived in the same workflow task as the deadline's
    timer. The report was applied first and the 催办 due before it was never sent. Now what fell due before
    the report counts is decided first: the step is sent, and the response is late (D.esc, P4.a)."""
    queue = f"late-{uuid.uuid4().hex[:6]}"
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    window = POLICY.of(ObligationKind.RESPONSE).window
    async with serving(build_worker(env.client, [outbox], task_queue=queue)):
        handle = await service.open_incident(env.client, make_incident(), opened_by=make_incident().responsible_unit,
                                             task_queue=queue, policy=POLICY)  # fmt: skip
        await Clock(env, env.client).advance(handle, window - timedelta(seconds=2))
    # the workers are down across the deadline: its timer fires with nobody to run it
    await asyncio.sleep(4)
    await handle.signal(service.REPORT, release(filed_at=None))  # counted at its arrival, after the deadline
    async with serving(build_worker(env.client, [outbox], task_queue=queue)):
        for _ in range(300):
            status = await query_status(handle)
            if status.reports_total:
                break
            await asyncio.sleep(0.1)
        await Clock.settle(handle, timeout=30)
        status = await query_status(handle)
    response = status.obligation("response#1")
    assert response.status == ObligationStatus.LATE
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("response#1", 1)]
    assert f"{handle.id}/response#1/1/1" in {r["key"] for r in outbox.rows(handle.id)}
    await handle.terminate("test over")


class Recording:
    name = "recording"
    attempt_seconds = 5.0

    def __init__(self) -> None:
        self.keys: list[str] = []

    async def deliver(self, letter: Letter) -> None:
        self.keys.append(letter.notification.key)


async def test_p4_b_no_attempt_begins_that_its_retry_window_would_cut_off() -> None:
    """FC1-004: the retry window closed 1.7 s into an attempt that still wrote the outbox and got the
    receiver's 2xx; the workflow had listed it pending and sent it again. An attempt now begins only if
    what is left of the window covers the channels' own bounds; otherwise it fails without sending."""
    channel = Recording()
    notifier = Notifier([channel])
    env = ActivityEnvironment()
    now = datetime.now(timezone.utc)
    env.info = dataclasses.replace(env.info, scheduled_time=now - timedelta(seconds=58), schedule_to_close_timeout=timedelta(seconds=60))
    with pytest.raises(ApplicationError, match="retry window ends") as refused:
        await env.run(notifier.deliver, notification())
    assert channel.keys == [] and not refused.value.non_retryable
    env.info = dataclasses.replace(env.info, scheduled_time=now, schedule_to_close_timeout=timedelta(seconds=60))
    await env.run(notifier.deliver, notification())
    env.info = dataclasses.replace(env.info, schedule_to_close_timeout=None)  # after the window: no limit
    await env.run(notifier.deliver, notification())
    # a window shorter than an attempt (a test policy): attempts begin in its first half
    env.info = dataclasses.replace(env.info, scheduled_time=datetime.now(timezone.utc), schedule_to_close_timeout=timedelta(seconds=4))
    await env.run(notifier.deliver, notification())
    assert channel.keys == [notification().key] * 3
    assert notifier.attempt_seconds == 6.0
