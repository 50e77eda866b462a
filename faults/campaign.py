"""故障演练 The fault campaign: incidents through full lifecycles while workers, the server and the channel fail.

    python -m faults.campaign                 # the full run: 100 incidents, 100 worker kills, 10 server restarts
    python -m faults.campaign --quick         # a small run (about a minute)
    python -m faults.campaign --incidents 40 --worker-kills 30 --server-restarts 4 --outage 30 --seed 7 --json out.json

It starts its own Temporal dev server (SQLite in a temporary directory, WAL, loopback, a free port, the
project's server limits), two ``python worker.py`` processes (channels ``outbox,webhook``) and a signed-webhook
receiver in this process. Clerks open incidents with a short policy (``faults.plans``: one policy hour is a
real minute) and file their reports with report ids, re-sending the same id after any fault until it is
confirmed. Meanwhile it SIGKILLs workers (and restarts them), restarts the server on the same file
(SIGTERM and SIGKILL in turn) and takes the channel down (the receiver answers 503).

Then it compares what the rules say was due (computed from the driven timeline, ``faults.plans.expect``)
with what the workflows recorded and what the outbox and the receiver got, prints the figures, writes them
as JSON (``--json``), and exits 1 on any lost or duplicated report, escalation or notification, or any
workflow failed, terminated, timed out, stuck or with a failed workflow task. Exit 3: the campaign itself
could not run (the server did not start, or the campaign's own code failed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import structlog
from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

from faults.cluster import Cluster, Worker
from faults.plans import (
    FULL,
    OFFICE,
    QUICK,
    SECONDS_PER_HOUR,
    Action,
    Expected,
    Filed,
    Scenario,
    campaign_policy,
    expect,
    hours,
)
from faults.receiver import Receiver
from starter import service
from yuqing import config, search_attributes
from yuqing.directory import Directory, load_directory
from yuqing.errors import IncidentExists, Rejected, YuqingError
from yuqing.logging import configure
from yuqing.models import (
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    EventCategory,
    Incident,
    IncidentStatus,
    MajorSituationReport,
    Policy,
    Report,
    ResponseReport,
    Speaker,
    SuddenEvent,
    TransferSource,
)

log = structlog.get_logger("faults.campaign")

KINDS = ("server_restart", "outage", "worker_kill")
"""Fault kinds, in the order an escalation is attributed to one when windows overlap."""
AFTER = {"worker_kill": 20.0, "server_restart": 20.0, "outage": 60.0}
"""Seconds after a fault ends during which an escalation falling due counts as 'after' it."""
SEND_TIMEOUT = 10.0
"""Seconds a clerk waits for a receipt before sending the same report again (the quick run: half)."""


@dataclass
class Fault:
    kind: str
    start: float
    end: float = 0.0
    detail: str = ""


@dataclass
class Driven:
    """One incident as the clerk drove it."""

    id: str
    scenario: Scenario
    t0: float
    discovered_at: datetime | None = None
    opened_at: datetime | None = None
    open_attempts: int = 0
    filed: list[Filed] = field(default_factory=list)
    attempts: int = 0
    confirmed: int = 0
    refused: list[str] = field(default_factory=list)
    unit: str = ""


@dataclass
class Settings:
    incidents: int
    worker_kills: int
    server_restarts: int
    outage: float
    seed: int
    quick: bool
    spread: float
    """Seconds over which incidents are opened."""
    settle: float
    """Seconds to wait, after the last report, for every workflow to complete."""
    workers: int = 2
    json: Path | None = None
    keep: bool = False

    @property
    def scenarios(self) -> tuple[Scenario, ...]:
        return QUICK if self.quick else FULL


# ------------------------------------------------------------------- the clerk


def _report(action: Action, by: str, report_id: str, filed_at: datetime) -> Report:
    text = f"故障演练 {action.kind}（{action.at:g} 小时）"
    common: dict[str, Any] = {"report_id": report_id, "as_": by, "text": text, "filed_at": filed_at}
    if action.kind == "respond":
        assert action.way is not None and action.channel is not None
        speaker = Speaker.SPOKESPERSON if action.way.needs_speaker else None
        return ResponseReport(**common, way=action.way, channel=action.channel, speaker=speaker)
    if action.kind == "major":
        return MajorSituationReport(**common)
    if action.kind in ("dispose", "final"):
        return DispositionReport(**common, final=action.kind == "final")
    if action.kind == "close":
        return CloseRequest(**common)
    if action.kind == "accept":
        return AcceptanceReport(**common)
    if action.kind == "analysis":
        return AnalysisReport(**common)
    raise ValueError(action.kind)


class Clerk:
    """Drives one incident: opens it, files each report at its time, re-sends until confirmed."""

    def __init__(
        self, client: Client, policy: Policy, directory: Directory, task_queue: str, start: float, timeout: float
    ) -> None:
        self.client, self.policy, self.directory, self.task_queue, self.start = (
            client,
            policy,
            directory,
            task_queue,
            start,
        )
        self.timeout = timeout

    async def drive(self, d: Driven) -> None:
        await self._sleep_until(d.t0)
        now = datetime.now(timezone.utc)
        d.discovered_at = now - hours(d.scenario.discovered_ago)
        d.unit = d.scenario.unit
        incident = Incident(
            id=d.id, title=f"故障演练 {d.scenario.name}", summary=d.scenario.what, source="故障演练",
            opinion_level=d.scenario.level, responsible_unit=d.scenario.unit, discovered_at=d.discovered_at,
            event=SuddenEvent(grade=d.scenario.grade, category=EventCategory.NATURAL_DISASTER) if d.scenario.grade else None,
        )  # fmt: skip
        while True:
            d.open_attempts += 1
            try:
                await asyncio.wait_for(
                    service.open_incident(
                        self.client,
                        incident,
                        opened_by=d.scenario.unit,
                        directory=self.directory,
                        policy=self.policy,
                        task_queue=self.task_queue,
                        now=now,
                    ),  # fmt: skip
                    self.timeout,
                )
                break
            except IncidentExists:
                break  # the first attempt started it; its answer was lost
            except (YuqingError, TimeoutError) as err:
                log.info("open not confirmed, again", incident=d.id, error=str(err)[:120])
                await asyncio.sleep(1.0)
        d.opened_at = now
        for seq, action in enumerate(d.scenario.actions, start=1):
            await self._sleep_until(d.t0 + action.at * SECONDS_PER_HOUR)
            await self._file(d, seq, action)
            if action.kind == "transfer":
                assert action.to is not None
                d.unit = action.to

    async def _file(self, d: Driven, seq: int, action: Action) -> None:
        by = OFFICE if action.kind in ("transfer", "close") else d.unit
        filed = Filed(action=action, seq=seq, by=by, report_id=str(uuid.uuid4()), filed_at=datetime.now(timezone.utc))
        d.filed.append(filed)
        while True:
            d.attempts += 1
            try:
                if action.kind == "transfer":
                    assert action.to is not None
                    receipt = await asyncio.wait_for(
                        service.transfer_incident(
                            self.client,
                            d.id,
                            action.to,
                            TransferSource.IMPORTANT,
                            by=by,
                            directory=self.directory,
                            report_id=filed.report_id,
                        ),  # fmt: skip
                        self.timeout,
                    )
                else:
                    report = _report(action, by, filed.report_id, filed.filed_at)
                    receipt = await service.file_report(self.client, d.id, report, timeout=self.timeout)
            except Rejected as err:
                if action.kind in ("final", "close") and "已办结" in str(err):
                    return  # filed, its answer lost, and the incident completed: the record says (checked later)
                d.refused.append(f"{d.id} #{seq} {action.kind}: {err}")
                log.error("report refused", incident=d.id, seq=seq, kind=action.kind, error=str(err))
                return
            except (YuqingError, TimeoutError) as err:
                log.info("report not confirmed, again", incident=d.id, seq=seq, error=str(err)[:120])
                await asyncio.sleep(1.0)
                continue
            d.confirmed += 1
            filed.at, filed.arrived_at = receipt.at, receipt.arrived_at
            return

    async def _sleep_until(self, t: float) -> None:
        delay = self.start + t - time.time()
        if delay > 0:
            await asyncio.sleep(delay)


# ------------------------------------------------------------------ the faults


class Faults:
    """Kills workers, restarts the server and takes the channel down on a seeded schedule."""

    def __init__(
        self, cluster: Cluster, receiver: Receiver, settings: Settings, start: float, window: tuple[float, float]
    ):
        self.cluster, self.receiver, self.settings, self.start = cluster, receiver, settings, start
        self.window = window
        self.done: list[Fault] = []
        self.held: set[int] = set()
        self.rng = random.Random(settings.seed)
        self.server_down = False

    def schedule(self) -> list[tuple[float, str]]:
        w0, w1 = self.window
        span = max(w1 - w0, 1.0)
        s = self.settings
        events = [(w0 + span * (j + 0.5) / s.worker_kills + self.rng.uniform(-0.3, 0.3) * span / max(s.worker_kills, 1), "worker_kill")
                  for j in range(s.worker_kills)]  # fmt: skip
        events += [(w0 + span * (j + 0.7) / s.server_restarts, "server_restart") for j in range(s.server_restarts)]
        if s.outage > 0:  # the quick run: from the start, while the openings' notifications go out
            events.append((0.0 if s.quick else w0 + span * 0.3, "outage"))
        return sorted((t if kind == "outage" else max(t, w0), kind) for t, kind in events)

    async def run(self) -> None:
        restarts = 0
        for t, kind in self.schedule():
            delay = self.start + t - time.time()
            if delay > 0:
                await asyncio.sleep(delay)
            if kind == "worker_kill":
                await self._kill_worker()
            elif kind == "server_restart":
                await self._restart_server(signal.SIGTERM if restarts % 2 == 0 else signal.SIGKILL)
                restarts += 1
            else:
                asyncio.create_task(self._outage())

    async def _kill_worker(self) -> None:
        alive = [w for w in self.cluster.alive() if w.index not in self.held]
        if not alive:
            return
        worker = self.rng.choice(alive)
        self.held.add(worker.index)
        fault = Fault(
            "worker_kill",
            time.time(),
            detail=f"worker {worker.index} pid {worker.process.pid if worker.process else '?'}",
        )
        self.cluster.kill_worker(worker)
        await asyncio.sleep(self.rng.uniform(0.5, 2.5))
        await asyncio.to_thread(self.cluster.start_worker, worker)
        self.held.discard(worker.index)
        fault.end = time.time()
        self.done.append(fault)

    async def _restart_server(self, sig: signal.Signals) -> None:
        self.server_down = True
        fault = Fault("server_restart", time.time(), detail=sig.name)
        try:
            await asyncio.to_thread(self.cluster.stop_server, sig)
            await asyncio.sleep(self.rng.uniform(1.0, 4.0))
        finally:
            await asyncio.to_thread(self.cluster.start_server)
            self.server_down = False
        fault.end = time.time()
        self.done.append(fault)

    async def _outage(self) -> None:
        seconds = self.settings.outage / 60 * SECONDS_PER_HOUR
        fault = Fault(
            "outage", time.time(), detail=f"{self.settings.outage:g} policy minutes = {seconds:g} s of HTTP 503"
        )
        self.receiver.down = True
        try:
            await asyncio.sleep(seconds)
        finally:
            self.receiver.down = False
        fault.end = time.time()
        self.done.append(fault)


async def supervise(cluster: Cluster, faults: Faults, stop: asyncio.Event) -> None:
    """Restart a worker that exited on its own (say, it could not reach a restarting server)."""
    while not stop.is_set():
        for w in cluster.workers:
            if w.index in faults.held:
                continue
            if w.process is None or w.process.poll() is not None:
                await asyncio.to_thread(_revive_one, cluster, w)
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except TimeoutError:
            pass


def _revive_one(cluster: Cluster, worker: Worker) -> None:
    if worker.process is not None and worker.process.poll() is not None:
        worker.unplanned_exits.append(worker.process.returncode)
        worker.process = None
    if worker.process is None:
        cluster.start_worker(worker)


# ---------------------------------------------------------------- the figures


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 2) if values else None


def _max(values: Sequence[float]) -> float | None:
    return round(max(values), 2) if values else None


def _attribute(at: float, faults: Sequence[Fault]) -> str:
    """The fault an escalation due at ``at`` (epoch seconds) fell during or just after, by ``KINDS`` order."""
    for kind in KINDS:
        for f in faults:
            if f.kind == kind and f.start <= at <= (f.end or f.start) + AFTER[kind]:
                return kind
    return "none"


async def collect(
    client: Client, driven: Sequence[Driven], policy: Policy, directory: Directory, outbox: Path,
    receiver: Receiver, faults: Sequence[Fault],
) -> dict[str, Any]:  # fmt: skip
    """Compare what was due with what was recorded and delivered; the figures as one document."""
    problems: list[str] = []
    outbox_rows = _outbox(outbox)
    accepted: dict[str, list[float]] = defaultdict(list)
    for r in receiver.accepted():
        accepted[r.key].append(r.wall)
    unsigned = [r for r in receiver.requests if not r.signed]
    kills = sorted(f.start for f in faults if f.kind == "worker_kill")
    f_reports: Counter[str] = Counter()
    f_esc: Counter[str] = Counter()
    f_note: Counter[str] = Counter()
    f_wf: Counter[str] = Counter()
    lateness: dict[str, dict[str, list[float]]] = {k: {"recorded": [], "delivered": []} for k in (*KINDS, "none")}
    redelivered: list[str] = []
    seen_keys: set[str] = set()
    for d in driven:
        f_wf["incidents"] += 1
        status, execution = await _final(client, d.id)
        f_wf[execution] += 1
        if execution != "completed":
            problems.append(f"{d.id}: workflow {execution}")
        history, ran = await _history_counts(client, d.id)
        f_wf["workflow_task_failed"] += history.get("failed", 0)
        f_wf["workflow_task_failed_benign"] += history.get("failed_benign", 0)
        f_wf["workflow_task_timed_out"] += history.get("timed_out", 0)
        f_wf["activity_task_timed_out"] += history.get("activity_timed_out", 0)
        if history.get("failed"):
            causes = ", ".join(k.removeprefix("failed_cause_WORKFLOW_TASK_FAILED_CAUSE_") for k in history if k.startswith("failed_cause_"))
            problems.append(f"{d.id}: {history['failed']} workflow task(s) failed ({causes})")
        # ---- reports
        f_reports["sent"] += len(d.filed)
        f_reports["planned"] += len(d.scenario.actions)
        f_reports["attempts"] += d.attempts
        f_reports["resent"] += d.attempts - len(d.filed)
        f_reports["confirmed"] += d.confirmed
        f_reports["refused"] += len(d.refused)
        problems.extend(d.refused)
        if status is None:
            problems.append(f"{d.id}: no record to compare")
            continue
        mine = {f.report_id: f for f in d.filed}
        recorded_ids = Counter(r.report_id for r in status.reports if r.report_id in mine)
        f_reports["recorded"] += len(recorded_ids)
        f_reports["duplicated"] += sum(n - 1 for n in recorded_ids.values()) + max(
            0, status.reports_total - len(d.filed)
        )
        for f in d.filed:
            ref = next((r for r in status.reports if r.report_id == f.report_id), None)
            if ref is None:
                problems.append(f"{d.id}: report #{f.seq} ({f.action.kind}) {f.report_id} lost")
                continue
            if ref.seq != f.seq:
                problems.append(f"{d.id}: report {f.report_id} recorded as #{ref.seq}, sent as #{f.seq}")
            if f.at is None:  # its answer was lost (the incident completed): the record is the receipt
                f.at, f.arrived_at = ref.at, ref.arrived_at
            elif (f.at, f.arrived_at) != (ref.at, ref.arrived_at):
                problems.append(f"{d.id}: report #{f.seq}: the receipt and the record disagree")
            if f.at is not None and not (f.filed_at <= f.at <= (f.arrived_at or f.at)):
                problems.append(f"{d.id}: report #{f.seq} counted at {f.at}, outside [filed {f.filed_at}, arrived]")
        if d.discovered_at is None or d.opened_at is None:
            problems.append(f"{d.id}: never opened")
            continue
        exp: Expected = expect(d.id, d.scenario, d.discovered_at, d.opened_at, d.filed, policy, directory)
        problems.extend(exp.problems)
        # ---- escalations: every due step sent, or folded into a later one after a gap (P4.a)
        shadow = {o.id: o for o in exp.obligations}
        covered: dict[str, set[int]] = defaultdict(set)
        skipped: dict[str, set[int]] = defaultdict(set)
        sent_keys: list[str] = []
        for e in status.escalations:
            o = shadow.get(e.obligation_id)
            if o is None:
                problems.append(f"{d.id}: escalation of unknown obligation {e.obligation_id}")
                continue
            index = round((e.due_at - o.due_at) / o.escalation_interval)
            covered[o.id].add(index)
            for k in range(index - e.skipped_steps, index):
                covered[o.id].add(k)
                skipped[o.id].add(k)
            key = f"{d.id}/{e.obligation_id}/{e.level}/{e.round}"
            sent_keys.append(key)
            kind = _attribute(e.due_at.timestamp(), faults)
            lateness[kind]["recorded"].append((e.at - e.due_at).total_seconds())
            if accepted.get(key):
                lateness[kind]["delivered"].append(min(accepted[key]) - e.due_at.timestamp())
        if status.escalations_total != len(status.escalations):
            problems.append(f"{d.id}: {status.escalations_total} escalations, {len(status.escalations)} listed")
        due_steps = {(s.obligation, s.index) for s in exp.steps}
        recorded_steps = {(oid, k) for oid, ks in covered.items() for k in ks}
        f_esc["steps_due"] += len(due_steps)
        f_esc["steps_recorded"] += len(recorded_steps)
        f_esc["sent"] += len(status.escalations)
        f_esc["folded_after_gap"] += sum(len(v) for v in skipped.values())
        f_esc["missing"] += len(due_steps - recorded_steps)
        f_esc["unexpected"] += len(recorded_steps - due_steps)
        f_esc["max_level"] = max(f_esc["max_level"], max((e.level for e in status.escalations), default=0))
        for oid, k in sorted(due_steps - recorded_steps):
            problems.append(f"{d.id}: escalation step {oid} #{k} due, not recorded")
        for oid, k in sorted(recorded_steps - due_steps):
            problems.append(f"{d.id}: escalation step {oid} #{k} recorded, not due")
        dup_sent = [k for k, n in Counter(sent_keys).items() if n > 1]
        f_esc["duplicated"] += len(dup_sent)
        # ---- notifications
        due = dict(exp.notifications)
        decided = {f"{d.id}/opened/0/1"} | {f"{d.id}/{w.obligation_id}/0/1" for w in status.warnings}
        decided |= set(sent_keys) | {n.key for n in status.notices}
        decided |= {f"{d.id}/major_situation#{r.seq}/0/1" for r in status.reports if r.type.value == "major_situation"}
        for key, (begin, end) in exp.warning_windows.items():  # P3.e: no task seen running while it could warn
            if key not in decided and not any(begin <= t <= end for t in ran):
                del due[key]  # optional: a task at the window's very edge may still have sent it (then it counts)
                f_note["warnings_no_task_before_deadline"] += 1
        for s in exp.steps:
            if s.index not in skipped[s.obligation]:
                due[s.key] = "escalation"
        if status.warnings_total != len(status.warnings) or status.notices_total != len(status.notices):
            problems.append(f"{d.id}: warnings or notices trimmed; decisions not all listed")
        outbox_keys = Counter(r["key"] for r in outbox_rows if r["incident_id"] == d.id)
        decisions = Counter(
            (r["kind"], r["obligation_id"], r["level"], r["round"]) for r in outbox_rows if r["incident_id"] == d.id
        )
        web = {k: v for k, v in accepted.items() if k.startswith(f"{d.id}/")}
        seen_keys |= set(web)
        by_kind = Counter(due.values())
        for kind, n in by_kind.items():
            f_note[f"due_{kind}"] += n
        f_note["due"] += len(due)
        f_note["decided"] += len(decided)
        f_note["not_decided"] += len(set(due) - decided)
        f_note["decided_not_due"] += len(decided - set(due))
        f_note["outbox_delivered"] += len(set(due) & set(outbox_keys))
        f_note["webhook_delivered"] += len(set(due) & set(web))
        f_note["lost"] += len(set(due) - (set(outbox_keys) & set(web)))  # missing from either channel
        f_note["outbox_lost"] += len(set(due) - set(outbox_keys))
        f_note["webhook_lost"] += len(set(due) - set(web))
        f_note["outbox_unexpected"] += len(set(outbox_keys) - set(due))
        f_note["webhook_unexpected"] += len(set(web) - set(due))
        f_note["outbox_two_rows_one_decision"] += sum(n - 1 for n in decisions.values() if n > 1)
        f_note["outbox_attempts_over_one"] += sum(
            1 for r in outbox_rows if r["incident_id"] == d.id and r["attempts"] > 1
        )
        for key, times in web.items():
            if len(times) > 1:  # accepted twice: explained only by a worker killed between the two
                first, second = sorted(times)[:2]
                if any(first <= k <= second for k in kills):
                    redelivered.append(key)
                else:
                    f_note["webhook_accepted_twice"] += 1
                    problems.append(f"{key}: accepted twice by the receiver with no worker killed between")
        for key in sorted(set(due) - decided):
            problems.append(f"{d.id}: {due[key]} {key} due, never decided")
        for key in sorted(decided - set(due)):
            problems.append(f"{d.id}: {key} decided, not due")
        for key in sorted(set(due) - set(outbox_keys)):
            problems.append(f"{key}: not in the outbox")
        for key in sorted(set(due) - set(web)):
            problems.append(f"{key}: not received by the webhook")
        f_note["pending_at_end"] += status.delivery_pending
        f_note["listed_pending_during_run"] += status.delivery_failures_total
        for failure in status.delivery_failures:
            if failure.state in ("refused", "undelivered"):
                problems.append(f"{failure.key}: {failure.state}: {failure.error}")
        f_wf["closed"] += status.state.value == "closed"
    f_note["webhook_resent_after_lost_answer"] = len(redelivered)
    f_note["webhook_unsigned"] = len(unsigned)
    f_note["webhook_refused_503"] = len([r for r in receiver.requests if r.status == 503])
    f_note["duplicated"] = (
        f_note["webhook_accepted_twice"] + f_note["outbox_two_rows_one_decision"]
        + f_note["outbox_unexpected"] + f_note["webhook_unexpected"]
    )  # fmt: skip
    stray = [k for k in accepted if not any(k.startswith(f"{d.id}/") for d in driven)]
    if stray:
        problems.append(f"{len(stray)} webhook key(s) of no incident driven: {stray[:3]}")
    by_fault = {
        kind: {
            "faults": len([f for f in faults if f.kind == kind]) if kind != "none" else None,
            "escalations": len(v["recorded"]),
            "recorded_median_s": _median(v["recorded"]),
            "recorded_max_s": _max(v["recorded"]),
            "delivered_median_s": _median(v["delivered"]),
            "delivered_max_s": _max(v["delivered"]),
        }
        for kind, v in lateness.items()
    }
    return {
        "workflows": dict(f_wf),
        "reports": dict(f_reports),
        "escalations": dict(f_esc),
        "notifications": dict(f_note),
        "lateness_by_fault": by_fault,
        "problems": problems,
    }


async def _final(client: Client, workflow_id: str) -> tuple[IncidentStatus | None, str]:
    handle = client.get_workflow_handle(workflow_id, result_type=IncidentStatus)
    description = await handle.describe()
    name = description.status.name.lower() if description.status else "unknown"
    if description.status == WorkflowExecutionStatus.COMPLETED:
        return await handle.result(), name
    if description.status == WorkflowExecutionStatus.RUNNING:
        raw = description.raw_description
        if raw.HasField("pending_workflow_task") and raw.pending_workflow_task.attempt > 1:
            name = "stuck"
        try:
            return await asyncio.wait_for(service.get_status(client, workflow_id), 10), name
        except (YuqingError, TimeoutError):
            return None, name
    return None, name


BENIGN_TASK_FAILURES = {
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_RESET_STICKY_TASK_QUEUE,
}
"""Workflow task failures the server causes by design (a signal or update arrived while the task completed
the workflow or continued it as new; a sticky queue reset after a worker died): the task is retried."""


async def _history_counts(client: Client, workflow_id: str) -> tuple[Counter[str], list[datetime]]:
    """Workflow task failures and timeouts, activity timeouts, and when each completed workflow task
    started (``workflow.now()`` of that task): the moments the workflow could decide anything."""
    counts: Counter[str] = Counter()
    ran: list[datetime] = []
    started: datetime | None = None
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            started = event.event_time.ToDatetime().replace(tzinfo=timezone.utc)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED and started is not None:
            ran.append(started)
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            cause = event.workflow_task_failed_event_attributes.cause
            if cause in BENIGN_TASK_FAILURES:  # the server's own: a message arrived while the task completed
                counts["failed_benign"] += 1
            else:
                counts["failed"] += 1
                counts[f"failed_cause_{WorkflowTaskFailedCause.Name(cause)}"] += 1
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            counts["timed_out"] += 1
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            counts["activity_timed_out"] += 1
    return counts, ran


def _outbox(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [
            dict(r)
            for r in conn.execute(
                "SELECT key, incident_id, kind, obligation_id, level, round, attempts FROM notifications"
            )
        ]


# ------------------------------------------------------------------------ run


async def settle(client: Client, ids: Sequence[str], timeout: float) -> None:
    """Wait until every workflow has completed (or ``timeout``)."""
    deadline = time.monotonic() + timeout
    waiting = list(ids)
    while waiting and time.monotonic() < deadline:
        still = []
        for wid in waiting:
            try:
                description = await client.get_workflow_handle(wid).describe()
                if description.status == WorkflowExecutionStatus.RUNNING:
                    still.append(wid)
            except Exception:  # noqa: BLE001 (a server still coming up: ask again)
                still.append(wid)
        waiting = still
        if waiting:
            await asyncio.sleep(2.0)


async def campaign(settings: Settings, workdir: Path) -> dict[str, Any]:
    policy = campaign_policy()
    directory = load_directory()
    secret = secrets.token_bytes(32)
    secret_file = workdir / "webhook.secret"
    secret_file.write_bytes(secret)
    secret_file.chmod(0o600)
    outbox = workdir / "outbox.db"
    task_queue = f"yuqing-campaign-{settings.seed}"
    rng = random.Random(settings.seed)
    with Receiver(secret) as receiver:
        cluster = Cluster(
            workdir,
            workers=settings.workers,
            env={
                "YUQING_TASK_QUEUE": task_queue, "YUQING_VAR": str(workdir / "var"), "YUQING_OUTBOX": str(outbox),
                "YUQING_CHANNELS": "outbox,webhook", "YUQING_WEBHOOK_URL": receiver.url,
                "YUQING_WEBHOOK_SECRET_FILE": str(secret_file),
            },
        )  # fmt: skip
        try:
            await asyncio.to_thread(cluster.start_server)
            client = await config.connect(address=cluster.address, namespace="default")
            await search_attributes.ensure(client)
            for w in cluster.workers:
                cluster.start_worker(w)
            scenarios = list(settings.scenarios)
            start = time.time() + 2.0
            driven = []
            for i in range(settings.incidents):
                scenario = scenarios[i % len(scenarios)]
                t0 = settings.spread * i / max(settings.incidents, 1) + rng.uniform(0, 1)
                driven.append(Driven(id=f"FC{settings.seed}-{i:03d}-{scenario.name}", scenario=scenario, t0=t0))
            last = max(d.t0 + d.scenario.length * SECONDS_PER_HOUR for d in driven)
            faults = Faults(cluster, receiver, settings, start, (3.0, last - 2.0))
            stop = asyncio.Event()
            watcher = asyncio.create_task(supervise(cluster, faults, stop))
            injector = asyncio.create_task(faults.run())
            clerk = Clerk(
                client, policy, directory, task_queue, start, SEND_TIMEOUT / 2 if settings.quick else SEND_TIMEOUT
            )
            began = time.monotonic()
            log.warning("campaign driving", incidents=len(driven), until_s=round(last))
            await asyncio.gather(*(clerk.drive(d) for d in driven))
            driven_s = time.monotonic() - began
            await injector  # the schedule ends before the last report
            log.warning("campaign settling", after_s=round(driven_s))
            await settle(client, [d.id for d in driven], settings.settle)
            stop.set()
            await watcher
            figures = await collect(client, driven, policy, directory, outbox, receiver, faults.done)
        finally:
            await asyncio.to_thread(cluster.stop)
    unplanned = [c for w in cluster.workers for c in w.unplanned_exits]
    figures["faults"] = {
        "worker_kills": len([f for f in faults.done if f.kind == "worker_kill"]),
        "server_restarts": len([f for f in faults.done if f.kind == "server_restart"]),
        "server_restarts_sigterm": len([f for f in faults.done if f.detail == "SIGTERM"]),
        "server_restarts_sigkill": len([f for f in faults.done if f.detail == "SIGKILL"]),
        "server_down_s": [round(f.end - f.start, 1) for f in faults.done if f.kind == "server_restart"],
        "outages": [f.detail for f in faults.done if f.kind == "outage"],
        "worker_exits_unplanned": len(unplanned),
        "timeline": [
            {
                "kind": f.kind,
                "start": datetime.fromtimestamp(f.start, timezone.utc).isoformat(timespec="milliseconds"),
                "seconds": round(f.end - f.start, 2),
                "detail": f.detail,
            }
            for f in sorted(faults.done, key=lambda f: f.start)
        ],  # fmt: skip
        "worker_starts": sum(w.starts for w in cluster.workers),
    }
    figures["run"] = {
        "driven_s": round(driven_s, 1),
        "total_s": round(time.time() - start, 1),
        "scenarios": dict(Counter(d.scenario.name for d in driven)),
        "policy": policy.name,
        "seconds_per_policy_hour": SECONDS_PER_HOUR,
        "notification_retry_s": round(policy.notification_retry.total_seconds(), 1),
    }
    return figures


def failed(figures: dict[str, Any]) -> list[str]:
    """Why the run fails (empty: it passes)."""
    w, r, e, n = figures["workflows"], figures["reports"], figures["escalations"], figures["notifications"]
    why = []
    if w.get("completed", 0) != w.get("incidents", 0):
        why.append("工作流未全部完成 not every workflow completed")
    if w.get("workflow_task_failed", 0):
        why.append("工作流任务失败 workflow task(s) failed")
    if r.get("recorded", 0) != r.get("sent", 0) or r.get("duplicated", 0) or r.get("refused", 0):
        why.append("报告丢失、重复或被拒 a report lost, duplicated or refused")
    if e.get("missing", 0) or e.get("unexpected", 0) or e.get("duplicated", 0):
        why.append("督办步骤缺失或多余 an escalation step missing or unexpected")
    if n.get("lost", 0) or n.get("duplicated", 0) or n.get("not_decided", 0) or n.get("decided_not_due", 0):
        why.append("通知丢失或重复 a notification lost or duplicated")
    if n.get("pending_at_end", 0):
        why.append("通知仍待送达 notifications still pending")
    if figures["problems"] and not why:
        why.append("其他问题 other problems (see the list)")
    return why


def table(figures: dict[str, Any], settings: Settings) -> str:
    w, r, e, n, f = (figures[k] for k in ("workflows", "reports", "escalations", "notifications", "faults"))
    rows = [
        ("incidents 事件", f"{w.get('incidents', 0)} opened, {w.get('completed', 0)} completed, {w.get('closed', 0)} closed"),
        ("workflows 工作流", f"failed {w.get('failed', 0)}, terminated {w.get('terminated', 0)}, timed out {w.get('timed_out', 0)}, "
                             f"stuck {w.get('stuck', 0)}, running {w.get('running', 0)}; workflow tasks failed {w.get('workflow_task_failed', 0)} "
                             f"(+{w.get('workflow_task_failed_benign', 0)} by the server's design: a message during completion), "
                             f"timed out {w.get('workflow_task_timed_out', 0)}; activity attempts timed out {w.get('activity_task_timed_out', 0)}"),
        ("reports 报告", f"sent {r.get('sent', 0)} / recorded {r.get('recorded', 0)}; duplicated {r.get('duplicated', 0)}, "
                         f"refused {r.get('refused', 0)}; attempts {r.get('attempts', 0)} ({r.get('resent', 0)} re-sent with the same id)"),
        ("escalations 督办", f"steps due {e.get('steps_due', 0)} / recorded {e.get('steps_recorded', 0)} "
                             f"({e.get('sent', 0)} sent, {e.get('folded_after_gap', 0)} folded after a gap, P4.a); "
                             f"missing {e.get('missing', 0)}, unexpected {e.get('unexpected', 0)}; highest level {e.get('max_level', 0)}"),
        ("notifications 通知", f"due {n.get('due', 0)} / decided {n.get('decided', 0)} / outbox {n.get('outbox_delivered', 0)} / "
                               f"webhook {n.get('webhook_delivered', 0)}; lost {n.get('lost', 0)}, duplicated {n.get('duplicated', 0)}"),
        ("  of which", ", ".join(f"{k[4:]} {v}" for k, v in sorted(n.items()) if k.startswith("due_"))),
        ("  warnings", f"not sent because no workflow task ran between the warning point and the deadline or the report "
                       f"{n.get('warnings_no_task_before_deadline', 0)} (P3.e: a warning is for before the deadline; the 催办 follows)"),
        ("  channel", f"503 answers {n.get('webhook_refused_503', 0)}, listed pending during the run {n.get('listed_pending_during_run', 0)}, "
                      f"pending at the end {n.get('pending_at_end', 0)}; re-sent after a lost answer {n.get('webhook_resent_after_lost_answer', 0)} "
                      f"(at least once, P4.b; the receiver keeps a key once)"),
        ("faults 故障", f"worker SIGKILLs {f['worker_kills']}, server restarts {f['server_restarts']} "
                        f"(SIGTERM {f['server_restarts_sigterm']}, SIGKILL {f['server_restarts_sigkill']}), outage {', '.join(f['outages']) or 'none'}; "
                        f"worker exits on their own {f['worker_exits_unplanned']}"),
    ]  # fmt: skip
    width = max(len(k) for k, _ in rows)
    lines = [f"故障演练 fault campaign (seed {settings.seed}{', quick' if settings.quick else ''})", ""]
    lines += [f"{k.ljust(width)}  {v}" for k, v in rows]
    lines += ["", "escalation lateness after each fault, seconds (recorded `at` − step due; delivered = first webhook 2xx − step due)",
              f"{'fault':<16}{'faults':>7}{'escal.':>8}{'rec. median':>13}{'rec. max':>10}{'deliv. median':>15}{'deliv. max':>12}"]  # fmt: skip
    for kind, v in figures["lateness_by_fault"].items():
        lines.append(
            f"{kind:<16}{'' if v['faults'] is None else v['faults']:>7}{v['escalations']:>8}{_fmt(v['recorded_median_s']):>13}"
            f"{_fmt(v['recorded_max_s']):>10}{_fmt(v['delivered_median_s']):>15}{_fmt(v['delivered_max_s']):>12}"
        )
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def parse(argv: Sequence[str] | None) -> Settings:
    parser = argparse.ArgumentParser(
        prog="python -m faults.campaign",
        description="故障演练 fault campaign: incidents through full lifecycles under worker kills, server restarts and a channel outage",
    )
    parser.add_argument("--incidents", type=int, help="事件数 incidents (full 100, quick 5)")
    parser.add_argument("--worker-kills", type=int, help="工作进程 SIGKILL 次数 worker SIGKILLs (full 100, quick 2)")
    parser.add_argument(
        "--server-restarts",
        type=int,
        help="服务器重启次数 server restarts, SIGTERM and SIGKILL in turn (full 10, quick 1)",
    )
    parser.add_argument(
        "--outage", type=float, help="通知渠道中断时长（政策分钟）channel outage in policy minutes (full 30, quick 15)"
    )
    parser.add_argument("--seed", type=int, default=1, help="随机种子 seed (default 1)")
    parser.add_argument("--json", type=Path, help="把数字写入 JSON 文件 write the figures as JSON to this file")
    parser.add_argument("--quick", action="store_true", help="小规模快速演练 a small run of about a minute")
    parser.add_argument(
        "--keep", action="store_true", help="保留临时目录 keep the temporary directory (server and worker logs)"
    )
    args = parser.parse_args(argv)
    quick = bool(args.quick)
    defaults = (5, 2, 1, 15.0) if quick else (100, 100, 10, 30.0)
    values = [
        v if v is not None else d
        for v, d in zip((args.incidents, args.worker_kills, args.server_restarts, args.outage), defaults, strict=True)
    ]
    if any(v < 0 for v in values) or values[0] < 1:
        parser.error("数目须为非负数，至少一个事件 counts must not be negative, and at least one incident")
    settings = Settings(
        incidents=int(values[0]), worker_kills=int(values[1]), server_restarts=int(values[2]), outage=float(values[3]),
        seed=args.seed, quick=quick, spread=3.0 if quick else 180.0, settle=90.0 if quick else 300.0,
        json=args.json, keep=args.keep,
    )  # fmt: skip
    return settings


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse(argv)
    configure(level=os.environ.get("YUQING_LOG_LEVEL", "WARNING"))
    # the SDK core's own retry warnings while the server is down are the point of the exercise: not news
    quiet = TelemetryConfig(logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")))
    Runtime.set_default(Runtime(telemetry=quiet), error_if_already_set=False)
    workdir = Path(tempfile.mkdtemp(prefix="yuqing-campaign-"))
    began = datetime.now(timezone.utc)
    try:
        figures = asyncio.run(campaign(settings, workdir))
    except KeyboardInterrupt:
        sys.stderr.write(f"faults.campaign: 已中断 interrupted (logs: {workdir / 'logs'})\n")
        return 130
    except Exception as err:  # noqa: BLE001 (one line for whoever runs it, never a traceback)
        sys.stderr.write(
            f"faults.campaign: 演练无法进行 the campaign could not run: {type(err).__name__}: {err} (logs: {workdir / 'logs'})\n"
        )
        return 3
    why = failed(figures)
    figures["settings"] = {
        "incidents": settings.incidents, "worker_kills": settings.worker_kills, "server_restarts": settings.server_restarts,
        "outage_policy_minutes": settings.outage, "seed": settings.seed, "quick": settings.quick,
    }  # fmt: skip
    figures["machine"] = {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()}
    figures["started_at"] = began.isoformat(timespec="seconds")
    figures["verdict"] = "fail" if why else "pass"
    figures["failures"] = why
    figures["problems"] = figures["problems"][:100]
    sys.stdout.write(table(figures, settings) + "\n")
    if figures["problems"]:
        sys.stdout.write("\nproblems 问题:\n" + "\n".join(f"  - {p}" for p in figures["problems"][:30]) + "\n")
    verdict = "未发现丢失或重复 nothing lost, nothing duplicated" if not why else "；".join(why)
    sys.stdout.write(f"\n结论 verdict: {'通过 PASS' if not why else '失败 FAIL'} — {verdict}\n")
    if settings.json is not None:
        settings.json.write_text(json.dumps(figures, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    if why or settings.keep:
        sys.stderr.write(f"faults.campaign: 日志 logs kept in {workdir}\n")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if why else 0


if __name__ == "__main__":
    sys.exit(main())
