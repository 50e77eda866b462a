"""The worker as staff run it, search attributes on a fresh server, visibility, the policy copy."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import RawValue
from temporalio.testing import WorkflowEnvironment

from activities.channels import SqliteOutbox
from starter import service
from tests.conftest import (
    OFFICE,
    POLICY,
    ROOT,
    TASK_QUEUE,
    UNIT,
    Clock,
    make,
    make_incident,
    query_status,
    release,
    serving,
)
from workflows.incident import IncidentWorkflow
from yuqing import config, search_attributes
from yuqing.models import AnalysisReport, CloseRequest, EventGrade, IncidentStatus, ObligationKind, OpinionLevel
from yuqing.policy import load_policy

H = timedelta(hours=1)


async def test_worker_process_creates_search_attributes_and_runs_incidents(tmp_path: Path) -> None:
    """D5: ``python worker.py`` against a fresh server (no custom attributes) reads TEMPORAL_ADDRESS,
    creates what is missing, runs an incident, and stops cleanly on SIGTERM."""
    fresh = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(config.binary("temporal")), data_converter=config.data_converter()
    )
    try:
        address = fresh.client.service_client.config.target_host
        env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "YUQING_TASK_QUEUE": "proc",
            "YUQING_OUTBOX": str(tmp_path / "outbox.db"),
            "YUQING_LOG_FORMAT": "json",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "worker.py"), env=env, cwd=tmp_path, stderr=asyncio.subprocess.PIPE
        )
        assert proc.stderr is not None
        lines: list[str] = []
        while not any("worker started" in line for line in lines):
            line = (await asyncio.wait_for(proc.stderr.readline(), 60)).decode()
            assert line, "".join(lines)
            lines.append(line)
        assert any("search attributes created" in line and "YuqingState" in line for line in lines)
        client = await Client.connect(address, data_converter=config.data_converter())
        handle = await service.open_incident(client, make_incident(), opened_by=UNIT, task_queue="proc")
        await Clock.settle(handle)
        assert [r["kind"] for r in SqliteOutbox(tmp_path / "outbox.db").rows(handle.id)] == ["opened"]
        # a second worker start finds the attributes there: nothing created (idempotent)
        assert await search_attributes.ensure(client) == []
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
    finally:
        await fresh.shutdown()


async def test_worker_refuses_to_start_without_server(tmp_path: Path) -> None:
    """A worker that cannot reach its server says so in one line and exits non-zero."""
    env = {**os.environ, "TEMPORAL_ADDRESS": "127.0.0.1:1", "YUQING_OUTBOX": str(tmp_path / "o.db")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "worker.py"), env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert b"worker cannot start" in err and b"Traceback" not in err


async def test_a_stopping_worker_leaves_within_its_bound_even_if_its_shutdown_never_ends(
    env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGTERM or Ctrl-C must stop the worker. The SDK's shutdown can wait for ever (on a run it could not
    evict: seen in a loaded suite); here it is made to, and the worker is given its bound, then leaves."""
    from worker import build_worker, stop_within

    worker = build_worker(env.client, [], task_queue=f"stuck-{uuid.uuid4().hex[:6]}")
    running = asyncio.create_task(worker.run())
    real_shutdown, never = worker.shutdown, asyncio.Event()

    async def shutdown_that_never_ends() -> None:
        await real_shutdown()  # the worker does stop polling ...
        await never.wait()  # ... but the call never returns, as with a run stuck in eviction

    monkeypatch.setattr(worker, "shutdown", shutdown_that_never_ends)
    started = asyncio.get_running_loop().time()
    assert await stop_within(worker, 2.0) is False
    assert 2.0 <= asyncio.get_running_loop().time() - started < 5
    await asyncio.wait_for(running, 10)  # (the real shutdown did end: nothing left running after the test)
    monkeypatch.setattr(worker, "shutdown", real_shutdown)
    assert await stop_within(worker, 10.0) is True


async def test_search_attributes_filter_incidents(clock: Clock) -> None:
    """Incidents list by state, unit, level, grade and overdue through visibility, not by fetching each one."""
    overdue = await clock.open(make_incident(unit="370211-zjj", grade=EventGrade.MAJOR))
    on_time = await clock.open(make_incident(unit="370211-zjj"))
    await clock.to(overdue, 5 * H + timedelta(minutes=1))
    query = "YuqingUnit = '370211-zjj' AND YuqingState = 'open'"
    for _ in range(100):
        everything = {w.id async for w in clock.client.list_workflows(query)}
        late = {w.id async for w in clock.client.list_workflows(query + " AND YuqingOverdue = true")}
        major = {w.id async for w in clock.client.list_workflows(query + " AND YuqingEventGrade = 'major'")}
        if late == {overdue.id} and everything == {overdue.id, on_time.id}:
            break
        await asyncio.sleep(0.1)
    assert everything == {overdue.id, on_time.id}
    assert late == {overdue.id}
    assert major == {overdue.id}
    desc = await on_time.describe()
    status = await query_status(on_time)
    published = desc.typed_search_attributes.get(search_attributes.NEXT_DEADLINE)
    assert published is not None and status.next_deadline is not None
    # given with the start, computed by the starter a moment before the workflow's first task
    assert abs(published - status.next_deadline) <= search_attributes.DEADLINE_TOLERANCE
    assert desc.typed_search_attributes.get(search_attributes.OPINION_LEVEL) == "relatively_major"


async def test_search_attributes_come_with_the_start_and_are_upserted_only_when_they_change(clock: Clock) -> None:
    """A new incident's attributes are given with its start (no visibility write of their own); the
    workflow upserts only what changes: a release moves the next deadline, nothing else is written."""
    discovered = datetime.now(timezone.utc) - timedelta(minutes=5)
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR, discovered_at=discovered))
    events = (await handle.fetch_history()).events
    started = events[0].workflow_execution_started_event_attributes
    assert set(started.search_attributes.indexed_fields) == {k.name for k in search_attributes.ALL}
    assert ours_upserted(events) == []
    desc = await handle.describe()
    status = await query_status(handle)
    assert desc.typed_search_attributes.get(search_attributes.NEXT_DEADLINE) == status.next_deadline  # exact: a given discovery
    await clock.file(handle, release())
    assert ours_upserted((await handle.fetch_history()).events) == [{search_attributes.NEXT_DEADLINE.name}]


def ours_upserted(events: Any) -> list[set[str]]:
    """Which of our attributes each upsert event sets (the SDK's own ``TemporalChangeVersion``, upserted
    for ``workflow.patched``, is not ours)."""
    ours = {k.name for k in search_attributes.ALL}
    found = [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields) & ours
        for e in events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    return [names for names in found if names]


async def test_policy_change_never_moves_running_clocks(clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Policy as data: the incident keeps the policy it was opened with; a later file applies to new incidents only."""
    before = await clock.open(make_incident())
    text = (ROOT / "yuqing" / "data" / "policy.toml").read_text(encoding="utf-8")
    edited = tmp_path / "policy.toml"
    edited.write_text(text.replace("window_hours = 48", "window_hours = 36"), encoding="utf-8")
    monkeypatch.setenv("YUQING_POLICY", str(edited))
    after = await clock.open(make_incident(), policy=None)  # the file now in force, as `yuqing open` reads it
    await service.file_report(clock.client, before.id, make(AnalysisReport, text="研判"))
    old = await clock.status(before)
    new = await clock.status(after)
    assert old.obligation("response#1").due_at == old.discovered_at + 48 * H
    assert new.obligation("response#1").due_at == new.discovered_at + 36 * H
    assert load_policy().of(ObligationKind.RESPONSE).window_hours == 36


class _RefusingOperator:
    """An operator service like a cloud namespace's: it lists, but may not create."""

    async def list_search_attributes(self, request, **_):  # type: ignore[no-untyped-def]
        from temporalio.api.operatorservice.v1 import ListSearchAttributesResponse

        return ListSearchAttributesResponse()

    async def add_search_attributes(self, request, **_):  # type: ignore[no-untyped-def]
        from temporalio.service import RPCError, RPCStatusCode

        raise RPCError("Request unauthorized.", RPCStatusCode.PERMISSION_DENIED, b"")


async def test_missing_search_attributes_without_rights_is_a_clear_error() -> None:
    """Where the worker may not create them, it says which and gives the administrator's command."""

    class FakeClient:
        namespace = "prod"
        operator_service = _RefusingOperator()

    with pytest.raises(search_attributes.SearchAttributeError) as err:
        await search_attributes.ensure(FakeClient())  # type: ignore[arg-type]
    message = str(err.value)
    assert "缺少检索属性" in message and "YuqingOverdue" in message
    assert "temporal operator search-attribute create --namespace prod --name YuqingState --type Keyword" in message


async def test_an_incident_opened_now_runs_every_change_with_no_version_marker(clock: Clock) -> None:
    """Issue 13: an incident opened by this release lists the changes in force in its input
    (``IN_FORCE``) and runs them with no ``workflow.patched`` marker and no version upsert; one whose
    input lists none (opened before 0.5.1) asks ``workflow.patched`` and is marked, as it always was."""
    from workflows.incident import ARTICLE_5, ARTICLES_1_2, IN_FORCE, WORKFLOW_NAME
    from workflows.rules.article1_responsibility import coordination_units
    from workflows.rules.article4_supervision import escalation_chain
    from yuqing.directory import load_directory
    from yuqing.models import IncidentInput, IncidentStatus, OpinionLevel

    def markers(events: Any) -> list[str]:
        return [str(e.marker_recorded_event_attributes.details) for e in events
                if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED]  # fmt: skip

    def version_upserts(events: Any) -> int:
        return sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
                   and "TemporalChangeVersion" in e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)  # fmt: skip

    incident = make_incident(grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR)
    now = await service.open_incident(clock.client, incident, opened_by=UNIT, task_queue=TASK_QUEUE, policy=load_policy())
    status = await clock.status(now)
    events = (await now.fetch_history()).events
    started = events[0].workflow_execution_started_event_attributes.input.payloads[0]
    assert IncidentInput.model_validate_json(started.data).in_force == list(IN_FORCE)
    assert markers(events) == [] and version_upserts(events) == 0
    assert status.coordination and status.notices  # A2.3 coordination at opening: Articles 一/二 in force

    directory = load_directory()
    before = IncidentInput(
        incident=make_incident(grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR), policy=load_policy(),
        chain=escalation_chain(directory, UNIT), opened_by=UNIT, coordination=coordination_units(directory, UNIT),
    )  # fmt: skip
    assert before.in_force == []
    old = await clock.client.start_workflow(WORKFLOW_NAME, before, id=before.incident.id, task_queue=TASK_QUEUE,
                                            result_type=IncidentStatus)  # fmt: skip
    old_status = await clock.status(old)
    patched = markers((await old.fetch_history()).events)
    assert any(ARTICLES_1_2 in m for m in patched) and any(ARTICLE_5 in m for m in patched)
    assert old_status.coordination == status.coordination  # the same rules, decided by the marker


@workflow.defn(dynamic=True)
class OneReleaseBehind(IncidentWorkflow):
    """A 0.5.0 worker: it ignores ``in_force`` (an unknown field to it) and asks ``workflow.patched``."""

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> IncidentStatus:
        return await super().run(args)

    def _in_force(self, change: str) -> bool:
        return workflow.patched(change)


async def test_a_history_marked_by_a_worker_one_release_behind_replays_on_this_one(env: WorkflowEnvironment, tmp_path: Path) -> None:
    """Issue 13 (review): an incident opened by this release's starter but worked by an older worker
    carries version markers; this release's worker must replay it (it asks ``workflow.patched`` while
    replaying a listed change), or the incident would stop on the first worker restart."""
    from temporalio.worker import Replayer, UnsandboxedWorkflowRunner, Worker

    from activities.notify import Notifier

    queue = f"behind-{uuid.uuid4().hex[:6]}"
    behind = Worker(env.client, task_queue=queue, workflows=[OneReleaseBehind], workflow_runner=UnsandboxedWorkflowRunner(),
                    activities=[Notifier([SqliteOutbox(tmp_path / "o.db")]).deliver])  # fmt: skip
    async with serving(behind):
        incident = make_incident(grade=EventGrade.MAJOR, level=OpinionLevel.MAJOR)
        handle = await service.open_incident(env.client, incident, opened_by=UNIT, task_queue=queue, policy=POLICY)
        await service.file_report(env.client, handle.id, release())
        await service.file_report(env.client, handle.id, make(CloseRequest, by=OFFICE, text="舆情平息"))
        await handle.result()
    history = await handle.fetch_history()
    assert any(e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED for e in history.events)  # marked, as 0.5.0 does
    result = await Replayer(workflows=[IncidentWorkflow], data_converter=config.data_converter()).replay_workflow(
        history, raise_on_replay_failure=False
    )
    assert result.replay_failure is None, result.replay_failure
