"""Scale-out on the engine (issue 11): worker processes on one task queue share the incidents, one killed
hands its incidents to the other with nothing lost; the worker's metrics; the alarm on a history the
worker's code cannot replay."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
import urllib.request
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.channels import SqliteOutbox
from activities.notify import Notifier
from starter import service
from tests.broken import ChangedIncident
from tests.conftest import POLICY, ROOT, UNIT, Clock, make_incident, release, serving
from worker import build_worker
from yuqing import config, telemetry
from yuqing.models import ObligationKind, ObligationStatus


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def start_worker(env: WorkflowEnvironment, queue: str, outbox: Path, cwd: Path) -> asyncio.subprocess.Process:
    """``python worker.py`` as staff run it, on ``queue``; returns once it polls."""
    variables = {
        **os.environ,
        "TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "YUQING_TASK_QUEUE": queue,
        "YUQING_OUTBOX": str(outbox),
        "YUQING_CHANNELS": "outbox",
        "YUQING_LOG_FORMAT": "json",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "worker.py"), env=variables, cwd=cwd, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stderr is not None
    seen = b""
    while b"worker started" not in seen:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
        assert line, seen.decode()
        seen += line
    asyncio.get_running_loop().create_task(_drain(proc))
    return proc


async def _drain(proc: asyncio.subprocess.Process) -> None:
    assert proc.stderr is not None
    while await proc.stderr.readline():
        pass


async def task_identities(handle: WorkflowHandle[object, object]) -> list[str]:
    """The identity (``pid@host``) of the worker that completed each workflow task, in order."""
    return [
        e.workflow_task_completed_event_attributes.identity
        async for e in handle.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    ]


async def test_two_worker_processes_share_incidents_and_a_killed_one_loses_nothing(
    env: WorkflowEnvironment, tmp_path: Path
) -> None:
    """Two workers on one task queue; the one that ran more incidents is SIGKILLed mid-way. Its incidents
    move to the other: every later report is filed once, every deadline escalates, every notification
    is in the shared outbox once, and no incident failed."""
    queue, outbox_path = f"scale-{uuid.uuid4().hex[:6]}", tmp_path / "outbox.db"
    workers = [await start_worker(env, queue, outbox_path, tmp_path) for _ in range(2)]
    try:
        clock = Clock(env, env.client)
        handles = [await clock.open(make_incident(), task_queue=queue) for _ in range(6)]
        owners = Counter([(await task_identities(h))[-1].split("@")[0] for h in handles])
        pids = {str(p.pid) for p in workers}
        assert set(owners) <= pids
        victim = max(workers, key=lambda p: owners.get(str(p.pid), 0))
        survivor = next(p for p in workers if p is not victim)
        victim.send_signal(signal.SIGKILL)
        await victim.wait()
        answered = handles[::2]
        for handle in answered:  # the survivor takes the update (after the dead worker's sticky queue times out)
            await asyncio.wait_for(service.file_report(env.client, handle.id, release()), 60)
        past_due = POLICY.of(ObligationKind.RESPONSE).window + timedelta(minutes=1)  # A3.3: 48 h, then 催办
        statuses = [await clock.to(h, past_due) for h in handles]
        outbox = SqliteOutbox(outbox_path)
        for handle, status in zip(handles, statuses, strict=True):
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
            response = status.obligation("response#1")
            if handle in answered:
                assert response.status == ObligationStatus.MET and status.reports_total == 1
                assert status.escalations == []
            else:
                assert response.status == ObligationStatus.OVERDUE and [e.level for e in status.escalations][:1] == [1]
            keys = [r["key"] for r in outbox.rows(handle.id)]
            assert len(keys) == len(set(keys))  # once each (P4.b)
            expected = {"opened", *(f"response#1/{e.level}/{e.round}" for e in status.escalations)}
            assert {k.split("/", 1)[1].removesuffix("/0/1") for k in keys} >= expected
            assert status.delivery_failures == []
            after_kill = (await task_identities(handle))[-1].split("@")[0]
            assert after_kill == str(survivor.pid)
    finally:
        for proc in workers:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 30)


async def test_a_history_the_code_cannot_replay_is_alarmed_with_the_incident_id_and_counted(
    env: WorkflowEnvironment, worker: Worker
) -> None:
    """A worker running changed code (no ``workflow.patched``) meets an incident recorded by the real code:
    it logs at error level with the incident id and counts ``yuqing_nondeterminism`` on /metrics, beside
    the SDK's own metrics the README names."""
    queue = f"nd-{uuid.uuid4().hex[:6]}"
    address = f"127.0.0.1:{free_port()}"
    alarm = telemetry.watch_nondeterminism()
    before = alarm.count
    async with serving(build_worker(env.client, [], task_queue=queue)):
        handle = await service.open_incident(env.client, make_incident(), opened_by=UNIT, task_queue=queue, policy=POLICY)
        await Clock.settle(handle)
    runtime = telemetry.runtime(address)
    assert runtime is not None
    client = await Client.connect(
        env.client.service_client.config.target_host, runtime=runtime, data_converter=config.data_converter()
    )
    alarm.counter = runtime.metric_meter.create_counter(telemetry.NONDETERMINISM_METRIC)
    changed = Worker(
        client, task_queue=queue, workflows=[ChangedIncident], activities=[Notifier([]).deliver],
        interceptors=[telemetry.RunIds()], max_cached_workflows=10,
    )  # fmt: skip
    async with serving(changed):
        await handle.signal("nonsense")  # any new task makes the worker replay the history
        deadline = time.monotonic() + 40
        while alarm.count == before:
            assert time.monotonic() < deadline, "no alarm for a history the code cannot replay"
            await asyncio.sleep(0.2)
        assert alarm.last["incident_id"] == handle.id
        assert "Nondeterminism" in (alarm.last["reason"] or "")
        metrics = urllib.request.urlopen(f"http://{address}/metrics", timeout=5).read().decode()
    assert any(line.startswith(telemetry.NONDETERMINISM_METRIC) and not line.endswith(" 0") for line in metrics.splitlines())
    for name in (
        "temporal_workflow_task_schedule_to_start_latency", "temporal_workflow_task_execution_failed",
        "temporal_sticky_cache_size",
    ):  # fmt: skip
        assert name in metrics, name
    await handle.terminate("test over")
