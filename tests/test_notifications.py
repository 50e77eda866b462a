"""Notifications: delivered at least once, recorded exactly once (P4.b); a failing channel never fails an incident."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.channels import SqliteOutbox, build_channels
from starter import service
from tests.conftest import Clock, make_incident
from worker import build_worker
from workflows.incident import IncidentWorkflow
from yuqing.models import EventGrade, Notification, ObligationStatus, Unit, UnitKind
from yuqing.policy import load_policy

H = timedelta(hours=1)


def notification(key: str = "x/response#1/1/1") -> Notification:
    unit = Unit(code="370102", name="历下区人民政府", kind=UnitKind.COUNTY_GOVERNMENT, parent="370100", leader="分管副区长", section="办公室")
    return Notification(
        key=key, incident_id="x", kind="escalation", at=datetime.now(timezone.utc), target=unit, subject="督促",
        body="已逾期", obligation_id="response#1", level=2, round=1, state="open", opinion_level="较大", event=None,
        obligations=[],
    )


def test_p4_b_outbox_records_a_key_once_and_counts_attempts(tmp_path: Path) -> None:
    """P4.b: the same notification delivered three times is one row with three attempts."""
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    n = notification()
    assert outbox.record(n) is True
    assert outbox.record(n) is False
    assert outbox.record(n) is False
    [row] = outbox.rows("x")
    assert (row["key"], row["attempts"], row["level"], row["target"]) == (n.key, 3, 2, "370102")
    outbox.record(notification("x/response#1/2/1"))
    assert len(outbox.rows("x")) == 2 and outbox.rows("other") == []


def test_unknown_channel_is_a_clear_error(tmp_path: Path) -> None:
    try:
        build_channels(["outbox", "pigeon"], tmp_path / "o.db")
    except ValueError as err:
        assert "pigeon" in str(err) and "未知通知渠道" in str(err)
    else:
        raise AssertionError("an unknown channel must be refused")


class FlakyChannel:
    """Fails the first ``failures`` calls for each key, after the outbox has already recorded it."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, int] = {}

    async def deliver(self, n: Notification) -> None:
        self.calls[n.key] = self.calls.get(n.key, 0) + 1
        if self.calls[n.key] <= self.failures:
            raise ConnectionError(f"channel down (call {self.calls[n.key]})")


async def test_p4_b_retried_activity_records_once(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """P4.b: a channel failing after the outbox wrote makes Temporal retry the activity; the outbox still has one row."""
    outbox, flaky = SqliteOutbox(tmp_path / "outbox.db"), FlakyChannel(failures=2)
    queue = f"flaky-{uuid.uuid4().hex[:6]}"
    async with build_worker(env.client, [outbox, flaky], task_queue=queue):
        handle = await service.open_incident(env.client, make_incident(), task_queue=queue)
        await Clock.settle(handle, timeout=30)
        [row] = outbox.rows(handle.id)
        assert row["kind"] == "opened" and row["attempts"] == 3
        assert flaky.calls == {row["key"]: 3}
        status = await handle.query(IncidentWorkflow.status)
        assert status.delivery_failures == []


class DeadChannel:
    name = "dead"

    async def deliver(self, n: Notification) -> None:
        raise ConnectionError("SMS gateway unreachable")


async def test_failing_channel_never_fails_the_workflow(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """P4.b: a channel down for longer than the retry budget is recorded as a delivery failure; deadlines go on."""
    queue = f"dead-{uuid.uuid4().hex[:6]}"
    async with build_worker(env.client, [DeadChannel()], task_queue=queue):
        quick = load_policy().model_copy(update={"notification_retry_hours": 0.005})  # 18 s of retries
        handle = await service.open_incident(
            env.client, make_incident(grade=EventGrade.MAJOR), task_queue=queue, policy=quick
        )
        assert await env.fast_forward(handle, 5 * H + timedelta(minutes=30))
        for _ in range(200):
            status = await handle.query(IncidentWorkflow.status)
            if len(status.delivery_failures) >= 2:
                break
            await asyncio.sleep(0.1)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        assert {f.key.split("/")[1] for f in status.delivery_failures} >= {"opened"}
        assert "unreachable" in status.delivery_failures[0].error
        assert status.obligation("authoritative_info#1").status == ObligationStatus.OVERDUE
        assert [e.level for e in status.escalations] == [1]
