"""Notifications: delivered at least once, recorded exactly once (P4.b); a failing channel never fails an incident."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.channels import SqliteOutbox, build_channels
from activities.messages import Letter, render
from starter import service
from tests.conftest import UNIT, Clock, make_incident, query_status, serving
from worker import build_worker
from yuqing.models import (
    EscalationAction,
    EventGrade,
    IncidentFacts,
    IncidentState,
    Notification,
    ObligationBrief,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    Unit,
    UnitKind,
)
from yuqing.policy import load_policy

H = timedelta(hours=1)


NOW = datetime(2026, 11, 25, 4, 0, tzinfo=timezone.utc)


def notification(key: str = "x/response#1/2/1", **fields: object) -> Notification:
    unit = Unit(code="370102", name="历下区人民政府", kind=UnitKind.COUNTY_GOVERNMENT, parent="370100", leader="分管副区长", section="办公室")
    brief = ObligationBrief(id="response#1", kind=ObligationKind.RESPONSE, rule="A3.3", due_at=NOW, status=ObligationStatus.OVERDUE)
    facts = IncidentFacts(title="某校食堂舆情", responsible_unit=UNIT, responsible_unit_name="济南市历下区教育和体育局",
                          state=IncidentState.OPEN, opinion_level=OpinionLevel.RELATIVELY_MAJOR, event=None, owed=[brief])  # fmt: skip
    values: dict[str, object] = dict(key=key, incident_id="x", kind="escalation", at=NOW, target=unit, incident=facts,
                                     obligation=brief, level=2, round=1, action=EscalationAction.SUPERVISE)  # fmt: skip
    values.update(fields)
    return Notification.model_validate(values)


def test_p4_b_outbox_records_a_key_once_and_counts_attempts(tmp_path: Path) -> None:
    """P4.b: the same notification delivered three times is one row with three attempts."""
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    letter = render(notification())
    assert outbox.record(letter) is True
    assert outbox.record(letter) is False
    assert outbox.record(letter) is False
    [row] = outbox.rows("x")
    assert (row["key"], row["attempts"], row["level"], row["target"], row["obligation_id"]) == (
        letter.notification.key, 3, 2, "370102", "response#1",
    )  # fmt: skip
    outbox.record(render(notification("x/response#1/3/1")))
    assert len(outbox.rows("x")) == 2 and outbox.rows("other") == []


def test_the_words_are_written_from_facts_in_beijing_time() -> None:
    """Text outside the workflow: subject and body come from templates (activities.messages), with the
    unit, its leader in charge and section as roles (A1.3), times in 北京时间."""
    escalation = render(notification())
    assert escalation.subject == "督促：予以回应已逾期（第2级第1轮）"
    assert "历下区人民政府（分管副区长，办公室）" in escalation.body and "2026-11-25 12:00（北京时间）" in escalation.body
    assert "请济南市历下区教育和体育局立即办理" in escalation.body
    caught_up = render(notification(skipped_steps=3))
    assert "期间 3 步未能发出" in caught_up.body
    opened = render(notification(kind="opened", obligation=None, level=0, action=None))
    assert opened.subject == "立案：某校食堂舆情" and "予以回应（A3.3）2026-11-25 12:00（北京时间） 前" in opened.body
    warning = render(notification(kind="warning", level=0, action=None))
    assert warning.subject == "预警：予以回应将于 2026-11-25 12:00（北京时间） 到期"
    major = render(notification(kind="major_situation", obligation=None, level=0, action=None, report_seq=3,
                                report_text="现场出现人员伤亡", report_by=UNIT))  # fmt: skip
    assert major.subject == "重大情况报告：某校食堂舆情" and major.body.startswith("现场出现人员伤亡")
    assert isinstance(major, Letter) and f"{UNIT}报送（第 3 号报告" in major.body


def test_unknown_channel_is_a_clear_error(tmp_path: Path) -> None:
    try:
        build_channels(["outbox", "pigeon"], tmp_path / "o.db")
    except ValueError as err:
        assert "pigeon" in str(err) and "未知通知渠道" in str(err)
    else:
        raise AssertionError("an unknown channel must be refused")


def test_a_production_worker_writes_to_the_outbox_only_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: the log channel is out of the production default (``make run`` adds it; test_devserver)."""
    from yuqing import config

    monkeypatch.delenv("YUQING_CHANNELS", raising=False)
    assert config.channel_names() == ["outbox"]
    monkeypatch.setenv("YUQING_CHANNELS", " outbox , log ")
    assert config.channel_names() == ["outbox", "log"]


class FlakyChannel:
    """Fails the first ``failures`` calls for each key, after the outbox has already recorded it."""

    name = "flaky"

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls: dict[str, int] = {}

    async def deliver(self, letter: Letter) -> None:
        n = letter.notification
        self.calls[n.key] = self.calls.get(n.key, 0) + 1
        if self.calls[n.key] <= self.failures:
            raise ConnectionError(f"channel down (call {self.calls[n.key]})")


async def test_p4_b_retried_activity_records_once(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """P4.b: a channel failing after the outbox wrote makes Temporal retry the activity; the outbox still has one row."""
    outbox, flaky = SqliteOutbox(tmp_path / "outbox.db"), FlakyChannel(failures=2)
    queue = f"flaky-{uuid.uuid4().hex[:6]}"
    async with serving(build_worker(env.client, [outbox, flaky], task_queue=queue)):
        handle = await service.open_incident(env.client, make_incident(), opened_by=UNIT, task_queue=queue)
        await Clock.settle(handle, timeout=30)
        [row] = outbox.rows(handle.id)
        assert row["kind"] == "opened" and row["attempts"] == 3
        assert flaky.calls == {row["key"]: 3}
        status = await query_status(handle)
        assert status.delivery_failures == []


class DeadChannel:
    name = "dead"

    async def deliver(self, letter: Letter) -> None:
        raise ConnectionError("SMS gateway unreachable")


async def test_failing_channel_never_fails_the_workflow(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """P4.b: a channel down for longer than the retry window: the notification is listed as pending (never a
    failed incident), the deadlines go on, and once a working channel is there it is delivered and leaves
    the list."""
    queue = f"dead-{uuid.uuid4().hex[:6]}"
    quick = load_policy().model_copy(update={"notification_retry_hours": 2 / 3600})  # 2 s of retries
    async with serving(build_worker(env.client, [DeadChannel()], task_queue=queue)):
        handle = await service.open_incident(
            env.client, make_incident(grade=EventGrade.MAJOR), opened_by=UNIT, task_queue=queue, policy=quick
        )
        for _ in range(300):
            status = await query_status(handle)
            if status.delivery_failures:
                break
            await asyncio.sleep(0.1)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        assert {(f.state, f.key.split("/")[1]) for f in status.delivery_failures} >= {("pending", "opened")}
        # the last attempt's reason: the channel's, or the window's end (no attempt begun that it would cut off)
        assert any(w in status.delivery_failures[0].error for w in ("unreachable", "WindowEnding"))
        assert status.delivery_pending >= 1
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    async with serving(build_worker(env.client, [outbox], task_queue=queue)):  # the channel is back
        status = await Clock(env, env.client).advance(handle, 5 * H + timedelta(minutes=30))
        for _ in range(300):
            status = await query_status(handle)
            if not status.delivery_pending:
                break
            await asyncio.sleep(0.2)
        assert status.obligation("authoritative_info#1").status == ObligationStatus.OVERDUE
        assert [e.level for e in status.escalations] == [1]
        assert status.delivery_failures == [] and status.delivery_pending == 0
        assert {r["kind"] for r in outbox.rows(handle.id)} >= {"opened", "escalation"}
        await handle.terminate("test over")
