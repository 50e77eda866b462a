"""Periodic circulation (A5.2): the monthly Schedule, triggered at once, writes the previous month's
circular and tells the provincial office; ``yuqing assess`` on demand and its usage errors."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels.outbox import SqliteOutbox
from assessment import service as assessing
from tests.cli_support import Cli, failed, ok
from tests.conftest import OFFICE, TASK_QUEUE
from workflows.rules.article5_assessment import previous_month
from yuqing.directory import Directory
from yuqing.models import CircularResult


async def _last_run(client: Client, timeout: float = 60) -> WorkflowHandle[object, CircularResult]:
    """The workflow the schedule's latest action started."""
    handle = client.get_schedule_handle(assessing.SCHEDULE_ID)
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        actions = (await handle.describe()).info.recent_actions
        if actions:
            started = actions[-1].action
            return client.get_workflow_handle(started.workflow_id, result_type=CircularResult)  # type: ignore[attr-defined]
        assert asyncio.get_running_loop().time() < deadline, "the schedule never started its workflow"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("now", [datetime(2026, 11, 25, 2, tzinfo=timezone.utc), datetime(2026, 1, 1, 16, 30, tzinfo=timezone.utc)])
def test_a5_2_the_monthly_circular_covers_the_month_before_in_beijing_time(now: datetime) -> None:
    start, end = previous_month(now)
    if now.month == 11:
        assert (start, end) == (date(2026, 10, 1), date(2026, 10, 31))
    else:  # 2026-01-01 16:30 UTC is already 2 January in Beijing: still December's circular
        assert (start, end) == (date(2025, 12, 1), date(2025, 12, 31))


async def test_a5_2_the_schedule_triggered_at_once_writes_the_circular_and_tells_the_office(
    env: WorkflowEnvironment, worker: Worker, directory: Directory, outbox: SqliteOutbox, tmp_path: Path
) -> None:
    schedule_id, created = await assessing.schedule_monthly(env.client, tmp_path, directory, task_queue=TASK_QUEUE)
    try:
        assert created
        again, created_again = await assessing.schedule_monthly(env.client, tmp_path, directory, task_queue=TASK_QUEUE)
        assert again == schedule_id and not created_again  # the same schedule, updated
        spec = (await env.client.get_schedule_handle(schedule_id).describe()).schedule.spec
        assert spec.time_zone_name == "Asia/Shanghai"
        assert [(c.day_of_month[0].start, c.hour[0].start) for c in spec.calendars] == [(1, 9)]

        await assessing.trigger(env.client)
        run = await _last_run(env.client)
        result = await asyncio.wait_for(run.result(), 120)
        start, end = previous_month(datetime.now(timezone.utc))
        assert (result.period_from, result.period_to) == (start, end)
        written = Path(result.directory)
        assert written.parent == tmp_path.resolve() and {p.name for p in written.iterdir()} >= {
            "circular.html", "circular.md", "units.csv", "cities.csv", "assessment.json",
        }  # fmt: skip
        assert f"{start.year}年{start.month}月" in (written / "circular.html").read_text(encoding="utf-8")
        told = [r for r in outbox.rows(run.id) if r["kind"] == "circular"]
        assert [(r["target"], r["role"]) for r in told] == [(OFFICE, "leader_in_charge")]
        assert result.title in told[0]["subject"] and str(written) in told[0]["body"]
    finally:
        await env.client.get_schedule_handle(schedule_id).delete()


async def test_assess_on_demand_at_the_command_line(cli: Cli, tmp_path: Path) -> None:
    today = datetime.now(timezone.utc).astimezone().date().isoformat()
    document = ok(await cli("assess", "--from", today, "--to", today, "--out", str(tmp_path / "c"), "--json")).json()
    assert document["period"] == {"from": today, "to": today} and {"totals", "units", "cities", "findings", "listed"} <= set(document)
    assert (tmp_path / "c" / "circular.html").exists()
    table = ok(await cli("assess", "--from", today, "--to", today)).out
    assert "考核 assessment" in table


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--from", "2026-11-01"], "--to"),
        (["--from", "2026-11-30", "--to", "2026-11-01"], "--from"),
        (["--month", "2026-13"], "month"),
        (["--from", "11/31"], "date"),
        (["schedule"], "--every"),
        (["--trigger"], "schedule"),
    ],
)
async def test_assess_usage_errors(cli: Cli, args: list[str], fragment: str) -> None:
    failed(await cli("assess", *args), 2, fragment)
