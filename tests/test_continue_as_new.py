"""Long incidents continue-as-new when Temporal suggests it, losing no state, timer or report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from activities.channels import SqliteOutbox
from starter import service
from tests.conftest import Clock, escalations_of, make_incident, start_env
from worker import build_worker
from workflows.incident import IncidentWorkflow
from yuqing.models import AnalysisReport, ObligationStatus, ResponseReport, ResponseWay

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest_asyncio.fixture(scope="module")
async def small_history_env() -> AsyncIterator[WorkflowEnvironment]:
    """A server that suggests continue-as-new after 40 events, so a test reaches it in seconds."""
    environment = await start_env(["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"])
    yield environment
    await environment.shutdown()


async def test_continue_as_new_keeps_record_timers_and_reports(small_history_env: WorkflowEnvironment, tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = small_history_env
    outbox = SqliteOutbox(tmp_path / "outbox.db")
    async with build_worker(env.client, [outbox], task_queue="can"):
        clock = Clock(env, env.client)
        handle = await service.open_incident(env.client, make_incident(), task_queue="can")
        await clock.settle(handle)
        first_run = (await handle.describe()).run_id
        await clock.to(handle, 2 * H)
        for i in range(15):
            await service.file_report(env.client, handle.id, AnalysisReport(text=f"研判 {i}"))
        status = await clock.status(handle)
        assert status.runs >= 2, "the server should have suggested continue-as-new"
        assert (await env.client.get_workflow_handle(handle.id).describe()).run_id != first_run
        assert [r.text for r in status.reports] == [f"研判 {i}" for i in range(15)]
        assert [r.seq for r in status.reports] == list(range(1, 16))
        # the 48 h clock still runs from discovery in the new run, and escalates once, on time
        status = await clock.to(handle, 47 * H + 59 * M)
        assert status.escalations == []
        status = await clock.to(handle, 48 * H + M)
        assert escalations_of(status, "response#1") == [(1, 1, "370102-jyj")]
        # a report after continue-as-new meets the obligation carried over
        status = await service.file_report(env.client, handle.id, ResponseReport(text="回应", way=ResponseWay.ONLINE_POST))
        assert status.obligation("response#1").status == ObligationStatus.LATE
        keys = [r["key"] for r in outbox.rows(handle.id)]
        # opened, the 80% warning, one escalation: nothing sent twice across runs (P4.b)
        assert sorted(keys) == sorted(f"{handle.id}/{k}" for k in ("opened/0/1", "response#1/0/1", "response#1/1/1"))
        # ... and none delivered twice either: the new run does not announce the incident again
        assert [r["attempts"] for r in outbox.rows(handle.id)] == [1, 1, 1]
        result_handle = env.client.get_workflow_handle_for(IncidentWorkflow.run, handle.id)
        assert (await result_handle.query(IncidentWorkflow.status)).runs == status.runs
