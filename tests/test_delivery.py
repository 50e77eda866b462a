"""Every notification arrives, exactly once on record (P4.b, D.esc, A4.4; issue 11).

A notification not delivered within the retry window is listed as pending and retried until it is
delivered, then it leaves the list; a permanent refusal is listed as refused and not retried; an
attempt that gives up never writes afterwards; what is in delivery at a continue-as-new goes with
the record, escalations and major situations first.
"""

from __future__ import annotations

import asyncio
import io
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from rich.console import Console
from temporalio.client import WorkflowExecutionStatus
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from activities.channels.outbox import LOCK_TIMEOUT, OutboxBusy, SqliteOutbox
from activities.messages import Letter, render
from activities.notify import REFUSED
from audit.export import export
from audit.replay import audit
from starter import render as views
from starter import service
from tests.conftest import OFFICE, UNIT, make, make_incident, query_status, serving
from tests.test_notifications import notification
from worker import build_worker
from workflows.rules import bounds
from workflows.rules.delivery import NOTIFY_ATTEMPT, NOTIFY_HEARTBEAT
from yuqing.models import (
    CloseRequest,
    EventGrade,
    IncidentRecord,
    IncidentState,
    MajorSituationReport,
    OpinionLevel,
)
from yuqing.policy import load_policy

WINDOW = load_policy().model_copy(update={"notification_retry_hours": 2 / 3600, "evaluation_window_days": 0.0})
"""The retry window cut to 2 s: the outages below outlast it."""


def hold_lock(path: Path, seconds: float | None = None) -> Callable[[], None]:
    """Another process's long write: the outbox's write lock held for ``seconds`` or until the returned
    function is called (which waits for the release)."""
    ready, release = threading.Event(), threading.Event()

    def hold() -> None:
        conn = sqlite3.connect(path, timeout=5, isolation_level=None)
        conn.execute("BEGIN EXCLUSIVE")
        ready.set()
        release.wait(seconds)
        conn.execute("ROLLBACK")
        conn.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    ready.wait(5)

    def released() -> None:
        release.set()
        thread.join()

    return released


async def until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.2)


# ----------------------------------------------------------------- the outbox


def test_p4_b_a_locked_outbox_gives_up_within_its_lock_timeout_and_never_writes_later(tmp_path: Path) -> None:
    """The abandoned attempt: the lock wait is bounded well under the attempt's timeout, and an attempt
    that gave up has written nothing, neither then nor when the lock clears."""
    assert LOCK_TIMEOUT * 4 <= NOTIFY_ATTEMPT.total_seconds() and LOCK_TIMEOUT < NOTIFY_HEARTBEAT.total_seconds()
    outbox = SqliteOutbox(tmp_path / "outbox.db", lock_timeout=0.3)
    assert outbox.rows() == []  # the file and its table exist
    release = hold_lock(outbox.path, 1.5)
    started = time.monotonic()
    with pytest.raises(OutboxBusy, match="nothing written"):
        outbox.record(render(notification()))
    assert time.monotonic() - started < 1.0
    release()
    time.sleep(0.3)
    assert outbox.rows() == []
    assert outbox.record(render(notification())) is True  # the next attempt writes it, once
    assert len(outbox.rows()) == 1


# ------------------------------------------------------------- the workflow


async def test_p4_b_an_outage_beyond_the_retry_window_delays_and_loses_nothing(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """The outbox locked for longer than the retry window (the fault campaign's finding): the incident's
    notifications, the major situation to the provincial government (A4.4) among them, are listed as
    pending meanwhile, then every one arrives once and the list clears. The incident never fails."""
    outbox = SqliteOutbox(tmp_path / "outbox.db", lock_timeout=0.3)
    assert outbox.rows() == []
    queue = f"outage-{uuid.uuid4().hex[:6]}"
    release = hold_lock(outbox.path)
    async with serving(build_worker(env.client, [outbox], task_queue=queue)):
        handle = await service.open_incident(
            env.client, make_incident(grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR), opened_by=UNIT,
            task_queue=queue, policy=WINDOW,
        )  # fmt: skip
        await handle.execute_update(service.REPORT, make(MajorSituationReport, text="伤亡人数上升"), result_type=object)
        deadline = time.monotonic() + 60
        while True:
            pending = await query_status(handle)
            if "major_situation" in {f.kind for f in pending.delivery_failures} and pending.delivery_pending >= 2:
                break  # (the major situation's and the opening's: each past its window in its own time)
            assert time.monotonic() < deadline, "notifications past the window were never listed as pending"
            await asyncio.sleep(0.2)
        assert {f.state for f in pending.delivery_failures} == {"pending"}
        assert pending.delivery_pending >= 2
        release()
        listed = {f.key for f in pending.delivery_failures}
        deadline = time.monotonic() + 90
        while (status := await query_status(handle)).delivery_pending or (await handle.describe()).raw_description.pending_activities:
            assert time.monotonic() < deadline, f"still pending: {status.delivery_pending}"
            await asyncio.sleep(0.5)
        rows = outbox.rows(handle.id)
        assert listed <= {r["key"] for r in rows}
        assert status.delivery_failures == []
        assert len({r["key"] for r in rows}) == len(rows)  # each once
        assert "major_situation" in {r["kind"] for r in rows}
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        # the auditors' replay accepts a notification scheduled again after its window, and counts it delivered
        manifest, problems = await export(env.client, tmp_path / "export", ids=[handle.id])
        assert problems == [] and manifest["files"]
        result = await audit([tmp_path / "export"], workers=1)
        assert [(r.outcome, r.reasons) for r in result.runs] == [("identical", [])]
        assert {result.runs[0].deliveries[k] for k in listed} == {"delivered"}
        await handle.terminate("test over")


async def test_p4_b_a_closed_incident_completes_only_when_its_notifications_are_delivered(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Closed (办结) while the channel is down: the incident's workflow stays open until every notification
    is delivered (never given up), then completes with nothing pending."""
    outbox = SqliteOutbox(tmp_path / "outbox.db", lock_timeout=0.3)
    assert outbox.rows() == []
    queue = f"closing-{uuid.uuid4().hex[:6]}"
    release = hold_lock(outbox.path)
    async with serving(build_worker(env.client, [outbox], task_queue=queue)):
        handle = await service.open_incident(env.client, make_incident(), opened_by=UNIT, task_queue=queue, policy=WINDOW)
        await service.file_report(env.client, handle.id, make(CloseRequest, by=OFFICE, text="省政府办公厅决定办结"))
        deadline = time.monotonic() + 60
        while not (status := await query_status(handle)).delivery_pending:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        assert status.state == IncidentState.CLOSED
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # not completed: still delivering
        release()
        final = await asyncio.wait_for(handle.result(), 90)
    assert final.delivery_pending == 0 and final.delivery_failures == []
    assert [r["kind"] for r in outbox.rows(handle.id)] == ["opened"]


class RefusingChannel:
    """A receiver that refuses every notification for good (a webhook's 404)."""

    name = "refusing"

    def __init__(self) -> None:
        self.calls = 0

    async def deliver(self, letter: Letter) -> None:
        self.calls += 1
        raise ApplicationError("接收方拒收 refused: HTTP 404", type=REFUSED, non_retryable=True)


async def test_p4_b_a_permanent_refusal_is_listed_as_refused_and_not_retried(env: WorkflowEnvironment) -> None:
    channel = RefusingChannel()
    queue = f"refused-{uuid.uuid4().hex[:6]}"
    async with serving(build_worker(env.client, [channel], task_queue=queue)):
        handle = await service.open_incident(env.client, make_incident(), opened_by=UNIT, task_queue=queue, policy=WINDOW)
        await until(lambda: channel.calls >= 1, 10, "the channel was called")
        deadline = time.monotonic() + 10
        while not (status := await query_status(handle)).delivery_failures:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.2)
        await asyncio.sleep(3)  # past the window: nothing retried
        status = await query_status(handle)
        assert [(f.state, f.kind) for f in status.delivery_failures] == [("refused", "opened")] * channel.calls
        assert status.delivery_pending == 0 and "404" in status.delivery_failures[0].error
        console = Console(width=160, record=True, file=io.StringIO())
        console.print(views.incident(status, datetime.now(timezone.utc)))
        shown = console.export_text()
        assert "被拒收 refused" in shown and "404" in shown
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        await handle.terminate("test over")


# ------------------------------------------------------------ the handover


NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)


def _record() -> IncidentRecord:
    return IncidentRecord(
        incident_id="x", opinion_level=OpinionLevel.MAJOR, event=None, responsible_unit=UNIT,
        discovered_at=NOW, opened_at=NOW, opened_by=UNIT,
    )  # fmt: skip


def test_p4_b_a_handover_carries_a_days_outage_escalations_first() -> None:
    """A day of hourly escalations and other notices in delivery at a continue-as-new: all go with the
    record (no longer 3); beyond ``CARRY_PENDING`` the ones left behind are never escalations or major
    situations; keys past their window stay pending."""
    day = [notification(key=f"x/response#1/{i % 4}/{i}") for i in range(48)]
    opened = [notification(key=f"x/opened/0/{i}", kind="opened") for i in range(20)]
    handed, left = bounds.carried(_record(), [*opened, *day], bounds.CARRY_PENDING, {day[0].key})
    assert len(handed.pending) == 68 and left == []
    assert handed.pending_overdue == [day[0].key]
    assert bounds.size_of(handed.model_copy(update={"pending": []})) <= bounds.RECORD_BUDGET
    many = [*opened * 4, *[notification(key=f"x/response#1/1/{i}") for i in range(100)]]
    handed, left = bounds.carried(_record(), many, bounds.CARRY_PENDING)
    assert len(handed.pending) == bounds.CARRY_PENDING
    assert {n.kind for n in left} == {"opened"} and len(left) == len(many) - bounds.CARRY_PENDING
    assert sum(len(n.model_dump_json()) for n in handed.pending) <= bounds.PENDING_BUDGET


def test_the_workflow_knows_the_webhooks_permanent_refusal() -> None:
    from activities.channels import PERMANENT_REFUSAL
    from workflows.rules import delivery

    assert REFUSED == PERMANENT_REFUSAL == delivery.REFUSED
    assert delivery.NOTIFY_RETRY.non_retryable_error_types == [REFUSED]
    caps = {delivery.until_delivered(x / 10).maximum_interval for x in range(11)}
    assert min(caps) == timedelta(minutes=5) and max(caps) == timedelta(minutes=6) and len(caps) == 11


def test_before_the_fifth_release_a_handover_carried_three() -> None:
    """Histories recorded before the fifth release replay with the old bound (``workflow.patched``)."""
    handed, left = bounds.carried(_record(), [notification(key=f"x/o/0/{i}", kind="opened") for i in range(5)])
    assert len(handed.pending) == bounds.KEEP_PENDING == 3 and len(left) == 2
