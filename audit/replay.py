"""Replay exported histories against the current workflow code and check every decision in them.

Each history is replayed with the production data converter (``yuqing.config.data_converter()``,
which decrypts with the keys of ``YUQING_ENCRYPTION_KEYS``) in the sandbox, as a worker would. A history
whose payloads are encrypted under a key the auditor does not hold is reported unreadable, naming the
key id, before any replay. Replay alone proves that today's code issues the same commands;
it does not look at values (the duration of a timer, what an update answered). So each replayed
run is also checked against the same history (``verify``):

- integrity: event ids run 1, 2, 3 … without a gap, and it is an incident's history;
- results: every update's recorded answer, the workflow's result and the input it continued as new
  with equal what the replayed code returns for them;
- notifications (P4.b, D.esc, P3.e, A4.4): every warning, escalation and major situation in the
  record has exactly one ``deliver_notification`` activity in the history with its idempotency key
  (incident/obligation/level/round), target and time, and no notification is unexplained;
  every recorded delivery failure is a failed activity and the other way round;
- timers (D2): every durable timer is set for a moment a rule names in the record (a warning time,
  a deadline or an escalation step), and no timer fired before that moment.

Histories are replayed on all cores: a pool of processes, one per core (spawned once and kept for the
next audit in the same process), each replaying a share of the files one after the other. The
project's own workflow is replayed without the sandbox: the sandbox guards workflow code against
calls that are not deterministic while it runs in a worker (where it stays on); a replay of code this
project ships and tests in the sandbox gains nothing from it but its cost (a fresh module per history).
The determinism checks are the core's and stay: every command is compared with the history, and an
activation over 2 s still fails. A history whose content was altered is reported, never passed.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import hashlib
import json
import logging
import multiprocessing
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from audit import capture
from audit.histories import (
    HistoryError,
    HistoryFile,
    check_against_manifests,
    discover,
    payloads_of,
    read_history,
    utc,
)
from audit.outcomes import OUTCOME_ZH
from workflows.incident import WORKFLOW_NAME, IncidentWorkflow
from workflows.rules import bounds
from workflows.rules.article3_timeliness import AFTER_DUE
from yuqing import codec, config
from yuqing.models import (
    IncidentInput,
    IncidentRecord,
    IncidentStatus,
    Notification,
    Obligation,
    ReportType,
    RunJournal,
)

NOTIFY_ACTIVITY = "deliver_notification"
POOL_MIN_FILES = 64
"""Below this many files one process is faster, unless the pool is already running: a spawned process
takes about 1.4 s to start and import, a history about 10 ms to replay and check without the sandbox
(bench/RESULTS.md)."""
TIMER_TOLERANCE = timedelta(milliseconds=1)

Outcome = Literal["identical", "nondeterministic", "failed", "inconsistent", "altered", "unreadable", "missing"]


class RunReport(BaseModel):
    """What the audit found in one history file (one workflow run)."""

    file: str
    outcome: Outcome
    reasons: list[str] = Field(default_factory=list)
    workflow_id: str | None = None
    run_id: str | None = None
    incident_id: str | None = None
    events: int = 0
    execution: str | None = None
    """``running`` or how the run closed: ``completed``, ``continued_as_new``, ``terminated`` …"""
    continued_from: str | None = None
    continued_to: str | None = None
    first_event_at: datetime | None = None
    last_event_at: datetime | None = None
    sha256: str | None = None
    carried_digest: str | None = None
    """SHA-256 of the record this run was started with (continue-as-new), to link the chain."""
    handed_on_digest: str | None = None
    """SHA-256 of the record this run continued as new with."""
    deliveries: dict[str, str] = Field(default_factory=dict)
    """Idempotency key → ``delivered`` / ``failed`` / ``pending``, from the activity events."""
    status: dict[str, Any] | None = None
    """The view (``IncidentStatus`` JSON) the replayed code computes from this history."""
    journal: dict[str, Any] | None = None
    """What this run decided (``RunJournal`` JSON): every report, warning and escalation of the run."""
    refused_start: str | None = None
    """Why the workflow refused its start input (it failed at once)."""
    missing_keys: list[str] = Field(default_factory=list)
    """Ids of the encryption keys this history needs and the auditor's key file lacks (it was not replayed)."""

    @property
    def ok(self) -> bool:
        return self.outcome == "identical"

    def record(self) -> IncidentStatus | None:
        return IncidentStatus.model_validate(self.status) if self.status is not None else None

    def decisions(self) -> RunJournal | None:
        return RunJournal.model_validate(self.journal) if self.journal is not None else None


class AuditResult(BaseModel):
    runs: list[RunReport]

    @property
    def failures(self) -> list[RunReport]:
        return [r for r in self.runs if not r.ok]

    def counts(self) -> dict[str, int]:
        counts = {"files": len(self.runs), "replayed": 0}
        for outcome in OUTCOME_ZH:
            counts[outcome] = 0
        for run in self.runs:
            counts[run.outcome] += 1
            if run.outcome not in ("unreadable", "missing"):
                counts["replayed"] += 1
        return counts


# ------------------------------------------------------------------ checks


def json_of(value: Any) -> Any:
    """What ``value`` looks like once serialized by the production converter."""
    return json.loads(config.DATA_CONVERTER.payload_converter.to_payload(value).data)


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


async def _decode(converter: DataConverter, payloads: Any, type_hint: Any = None) -> Any:
    values = await converter.decode(list(payloads), [type_hint] if type_hint is not None else None)
    return values[0] if values else None


def _ring(converter: DataConverter) -> codec.KeyRing | None:
    return converter.payload_codec.ring if isinstance(converter.payload_codec, codec.EncryptionCodec) else None


def missing_keys(hf: HistoryFile, converter: DataConverter) -> list[str]:
    """The ids of the keys ``hf``'s payloads are encrypted under that ``converter`` does not hold."""
    ring = _ring(converter)
    needed = sorted(codec.encrypted_key_ids(payloads_of(hf.events)))
    return [key_id for key_id in needed if ring is None or ring.key(key_id) is None]


def _deadlines(obligations: Sequence[Obligation]) -> list[datetime]:
    """Every moment a rule may need the workflow awake for these obligations (P3.e, P3.f, P4.a)."""
    moments: list[datetime] = []
    for o in obligations:
        moments.append(o.warn_at)
        moments.append(o.due_at + AFTER_DUE)
        moments.extend(o.due_at + o.escalation_interval * k for k in range(o.next_step + 1))
    return moments


def _first_problem(failure: BaseException) -> str:
    """The core's own message out of a replay failure (``[TMPRL1100] Nondeterminism error: …``)."""
    text = str(failure)
    found = re.search(r'message: "((?:[^"\\]|\\.)*)"', text)
    return " ".join((found.group(1) if found else text).split())[:400]


def tolerant_diff(recorded: Any, replayed: Any, path: str = "") -> str | None:
    """Where ``replayed`` differs from what a history ``recorded``, or ``None``.

    Tolerant of fields added later: a key the replayed value has and the recorded one lacks is
    ignored (an optional field added to the record must not break the replay of old histories);
    every key that was recorded must be replayed with the same value.
    """
    if isinstance(recorded, dict) and isinstance(replayed, dict):
        for key, value in recorded.items():
            if key not in replayed:
                return f"{path}.{key} missing"
            found = tolerant_diff(value, replayed[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(recorded, list) and isinstance(replayed, list):
        if len(recorded) != len(replayed):
            return f"{path}: {len(recorded)} entries recorded, {len(replayed)} replayed"
        for index, (a, b) in enumerate(zip(recorded, replayed, strict=True)):
            found = tolerant_diff(a, b, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if recorded == replayed else f"{path or '(value)'}: {str(recorded)[:80]!r} recorded, {str(replayed)[:80]!r} replayed"


async def verify(
    hf: HistoryFile, found: capture.Captured, converter: DataConverter | None = None
) -> tuple[IncidentStatus | None, RunJournal | None, list[str], dict[str, Any]]:
    """Check a replayed run against its own history. Returns the view, the run's journal, the
    problems, and facts (deliveries, digests linking the continue-as-new chain)."""
    converter = converter or config.data_converter()
    problems: list[str] = []
    facts: dict[str, Any] = {"deliveries": {}}
    events = hf.events
    instance = found.instance
    if instance is None:
        return None, None, ["重放未产生工作流实例 the replay produced no workflow instance"], facts
    record: IncidentRecord | None = instance.record()
    if record is None:  # a start input the workflow refused: it failed at once, and decided nothing
        facts["refused_start"] = instance._problem
        if any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED for e in events):
            problems.append("拒绝启动的工作流却发出了通知 a workflow that refused its start sent notifications")
        return None, None, problems, facts
    status: IncidentStatus = instance.status().model_copy(deep=True)
    journal: RunJournal = instance.journal().model_copy(deep=True)
    started_input: IncidentInput = await _decode(converter, hf.started.input.payloads, IncidentInput)
    carried = started_input.carried
    if carried is not None and hf.continued_from is None:
        problems.append("首次运行带入了记录 a first run started with a carried record: only a continued run carries one")
    if carried is not None:  # from the raw JSON, as the previous run's handed_on_digest
        raw_input = await _decode(converter, hf.started.input.payloads)
        facts["carried_digest"] = digest(raw_input.get("carried") if isinstance(raw_input, dict) else None)

    # -- results: what the history says the code answered, against what it answers now (tolerantly)
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
            attrs = e.workflow_execution_update_completed_event_attributes
            update_id = attrs.meta.update_id
            if not attrs.outcome.HasField("success"):
                continue
            if update_id not in found.updates:
                problems.append(f"事件 {e.event_id}：更新 {update_id} 未被重放 update not replayed")
                continue
            differs = tolerant_diff(await _decode(converter, attrs.outcome.success.payloads), json_of(found.updates[update_id]))
            if differs:
                problems.append(
                    f"事件 {e.event_id}：报告的应答与重放结果不同 the recorded answer to update {update_id} "
                    f"differs from the replayed one ({differs})"
                )
    close = hf.close_event
    if close is not None and close.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        recorded = await _decode(converter, close.workflow_execution_completed_event_attributes.result.payloads)
        differs = tolerant_diff(recorded, json_of(found.result)) if found.completed else "not completed"
        if differs:
            problems.append(f"工作流结果与重放结果不同 the recorded result differs from the replayed one ({differs})")
    if close is not None and close.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
        recorded = await _decode(converter, close.workflow_execution_continued_as_new_event_attributes.input.payloads)
        handed = instance.handed_over
        differs = tolerant_diff(recorded, json_of(handed)) if found.continued_as_new and handed else "not continued"
        if differs:
            problems.append(f"续新的输入与重放结果不同 the record handed to the next run differs from the replayed one ({differs})")
        if isinstance(recorded, dict):
            facts["handed_on_digest"] = digest(recorded.get("carried"))

    # -- the bounded record is the tail of what was carried plus what this run decided
    for kind, decided_in, keep in (
        ("escalations", "escalations", bounds.KEEP_ESCALATIONS),
        ("warnings", "warnings", bounds.KEEP_WARNINGS),
        ("delivery_failures", "failures", bounds.KEEP_FAILURES),
        ("notices", "notices", bounds.KEEP_NOTICES),
    ):
        before = getattr(carried, kind) if carried is not None else []
        decided = getattr(journal, decided_in)
        if kind == "delivery_failures":  # a pending one delivered later leaves the list (P4.b)
            expected_list = list(before)
            for failure in decided:
                expected_list = bounds.note_failure(expected_list, failure)
            decided = [f for f in decided if f.state != "delivered"]
        else:
            expected_list = bounds.last([*before, *decided], keep)
        if getattr(record, kind) != expected_list:
            problems.append(f"{kind} 记录与本次运行的决定不符 the record's {kind} are not the latest decisions")
        total_before = getattr(carried, f"{kind}_total") if carried is not None else 0
        if getattr(record, f"{kind}_total") != total_before + len(decided):
            problems.append(f"{kind} 计数不符 the record counts {kind} this run did not decide")
    reports_before = carried.reports_total if carried is not None else 0
    if record.reports_total != reports_before + len(journal.reports) or [r.seq for r in journal.reports] != list(
        range(reports_before + 1, record.reports_total + 1)
    ):
        problems.append("报告序号不连续 report numbers do not follow on from the previous run")

    incident = hf.workflow_id
    expected: dict[str, dict[str, Any]] = {}
    if carried is None:
        expected[f"{incident}/opened/0/1"] = {"kind": "opened", "target": started_input.chain[0].code}
    for n in carried.pending if carried is not None else []:
        expected[n.key] = {"kind": n.kind, "target": n.target.code, "at": n.at}
    for w in journal.warnings:
        expected[f"{incident}/{w.obligation_id}/0/1"] = {"kind": "warning", "target": w.target, "at": w.at}
    for x in journal.escalations:
        expected[f"{incident}/{x.obligation_id}/{x.level}/{x.round}"] = {
            "kind": "escalation", "target": x.target, "at": x.at, "action": x.action, "role": x.role,
        }  # fmt: skip
    for t in journal.notices:  # transfers, leads, leadership (A2.2), coordination (A2.3)
        expected[t.key] = {"kind": t.kind, "target": t.target, "at": t.at, "role": t.role}
    for r in journal.reports:
        if r.type == ReportType.MAJOR_SITUATION:
            expected[f"{incident}/major_situation#{r.seq}/0/1"] = {"kind": "major_situation", "at": r.arrived_at}

    # -- notifications in the history
    scheduled: dict[int, Notification] = {}
    closed: dict[int, tuple[str, int]] = {}
    last_task_completed = 0
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = e.activity_task_scheduled_event_attributes
            if attrs.activity_type.name != NOTIFY_ACTIVITY:
                problems.append(f"事件 {e.event_id}：未知活动 unexpected activity {attrs.activity_type.name!r}")
                continue
            scheduled[e.event_id] = await _decode(converter, attrs.input.payloads, Notification)
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            closed[e.activity_task_completed_event_attributes.scheduled_event_id] = ("delivered", e.event_id)
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            closed[e.activity_task_failed_event_attributes.scheduled_event_id] = ("failed", e.event_id)
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            closed[e.activity_task_timed_out_event_attributes.scheduled_event_id] = ("failed", e.event_id)
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            closed[e.activity_task_canceled_event_attributes.scheduled_event_id] = ("failed", e.event_id)
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            last_task_completed = e.event_id
    seen: dict[str, int] = {}
    first_sent: dict[str, Notification] = {}
    failed_keys: list[str] = []
    for event_id, n in scheduled.items():
        key = n.key
        outcome, closed_at = closed.get(event_id, ("pending", 0))
        if facts["deliveries"].get(key) != "delivered":
            facts["deliveries"][key] = outcome
        if key in seen:
            before, before_closed_at = closed.get(seen[key], ("pending", 0))
            seen[key] = event_id
            if before != "failed" or not 0 < before_closed_at < event_id:  # P4.b: again only after a failure
                problems.append(f"事件 {event_id}：通知重复 notification {key} scheduled twice (P4.b)")
                continue
            if n != first_sent[key]:  # sent again after its window: the same notification, word for word
                problems.append(f"事件 {event_id}：通知 {key} 重发内容不同 sent again with other content (P4.b)")
            if outcome == "failed" and last_task_completed > closed_at:
                failed_keys.append(key)
            continue
        seen[key] = event_id
        first_sent[key] = n
        want = expected.get(key)
        if want is None:
            problems.append(f"事件 {event_id}：通知 {key} 无对应记录 a notification the record does not explain")
            continue
        if n.kind != want["kind"] or n.incident_id != status.incident_id:
            problems.append(f"事件 {event_id}：通知 {key} 类型不符 kind {n.kind!r}, the record says {want['kind']!r}")
        if "target" in want and n.target.code != want["target"]:
            problems.append(f"事件 {event_id}：通知 {key} 对象不符 sent to {n.target.code}, the record says {want['target']}")
        if "at" in want and n.at != want["at"]:
            problems.append(f"事件 {event_id}：通知 {key} 时间不符 sent at {n.at.isoformat()}, the record says {want['at'].isoformat()}")
        if "role" in want and n.role != want["role"]:
            problems.append(f"事件 {event_id}：通知 {key} 对象职务不符 addressed to {n.role}, the record says {want['role']}")
        if "action" in want and n.action != want["action"]:
            problems.append(f"事件 {event_id}：通知 {key} 督办方式不符 action {n.action}, the record says {want['action']}")
        if outcome == "failed" and last_task_completed > closed_at:
            failed_keys.append(key)
    for key in expected.keys() - seen:
        problems.append(f"记录的决定 {key} 无通知活动 a recorded decision has no notification in the history")
    if sorted(f.key for f in journal.failures if f.state != "delivered") != sorted(failed_keys):
        problems.append("送达失败记录与失败的活动不符 the recorded delivery failures are not the failed activities")

    # -- timers: each fires at a moment a rule names (D2), and never before its time
    moments = sorted(_deadlines([*record.obligations, *journal.dropped]))
    if record.evaluation_until is not None:  # P5.b: the evaluation window after 办结
        moments.append(record.evaluation_until)
    fired: dict[int, datetime] = {
        e.timer_fired_event_attributes.started_event_id: utc(e.event_time)
        for e in events
        if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
    }
    for e in events:
        if e.event_type != EventType.EVENT_TYPE_TIMER_STARTED:
            continue
        attrs = e.timer_started_event_attributes
        task = hf.by_id.get(attrs.workflow_task_completed_event_id)
        started = hf.by_id.get(task.workflow_task_completed_event_attributes.started_event_id) if task else None
        if started is None:
            problems.append(f"事件 {e.event_id}：计时器无所属工作流任务 timer without its workflow task")
            continue
        duration = attrs.start_to_fire_timeout.ToTimedelta()
        fire_at = utc(started.event_time) + duration
        drain = duration == started_input.limits.drain  # the wait before a handover (continue-as-new)
        if not drain and not any(abs(fire_at - m) <= TIMER_TOLERANCE for m in moments):
            problems.append(
                f"事件 {e.event_id}：计时器 {attrs.start_to_fire_timeout.ToJsonString()} 到期于 {fire_at.isoformat()}，"
                "不对应任何时限 the timer fires at no warning, deadline or escalation time of the record"
            )
        if e.event_id in fired and fired[e.event_id] < fire_at - TIMER_TOLERANCE:
            problems.append(
                f"事件 {e.event_id}：计时器 {attrs.start_to_fire_timeout.ToJsonString()} 提前触发 the timer fired at "
                f"{fired[e.event_id].isoformat()}, before its time {fire_at.isoformat()}"
            )
    return status, journal, problems, facts


def integrity(hf: HistoryFile) -> list[str]:
    problems: list[str] = []
    if hf.workflow_type != WORKFLOW_NAME:
        problems.append(f"不是事件工作流 not an {WORKFLOW_NAME} history (type {hf.workflow_type!r})")
    for index, e in enumerate(hf.events, start=1):
        if e.event_id != index:
            problems.append(f"事件编号不连续 event ids jump from {index - 1} to {e.event_id}: events were removed or added")
            break
    return problems


# ------------------------------------------------------------------ replay


_RUNTIME: Runtime | None = None


def _runtime() -> Runtime:
    """A runtime of our own that does not log: a nondeterminism is reported, not printed by the core."""
    global _RUNTIME
    if _RUNTIME is None:
        _RUNTIME = Runtime(telemetry=TelemetryConfig(logging=None, metrics=None))
    return _RUNTIME


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The SDK logs a failing activation as a warning; the audit reports it instead."""
    logger = logging.getLogger("temporalio")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def make_replayer(
    workflows: Sequence[type] = (IncidentWorkflow,), *, data_converter: DataConverter | None = None, **options: Any
) -> Replayer:
    """A replayer with the production converter; the project's own workflow without the sandbox (the
    module docstring), any other (a test's altered copy) in it."""
    if list(workflows) == [IncidentWorkflow]:
        options.setdefault("workflow_runner", UnsandboxedWorkflowRunner())
    return Replayer(
        workflows=list(workflows),
        data_converter=data_converter or config.data_converter(),
        interceptors=[capture.CaptureInterceptor()],
        runtime=_runtime(),
        **options,
    )


def _base_report(path: Path, hf: HistoryFile) -> RunReport:
    return RunReport(
        file=str(path),
        outcome="identical",
        workflow_id=hf.workflow_id,
        run_id=hf.run_id,
        events=len(hf.events),
        execution=hf.execution,
        continued_from=hf.continued_from,
        continued_to=hf.continued_to,
        first_event_at=hf.first_time,
        last_event_at=hf.last_time,
        sha256=hf.sha256,
    )


async def replay_files(
    paths: Sequence[Path], *, workflows: Sequence[type] = (IncidentWorkflow,), **options: Any
) -> list[RunReport]:
    """Replay and verify ``paths`` one after the other in this process."""
    converter = config.data_converter()
    reports: dict[int, RunReport] = {}
    loaded: list[tuple[int, HistoryFile]] = []
    for index, path in enumerate(paths):
        try:
            hf = read_history(Path(path))
        except HistoryError as err:
            reports[index] = RunReport(file=str(path), outcome="unreadable", reasons=[str(err)])
            continue
        report = _base_report(Path(path), hf)
        problems = integrity(hf)
        if hf.workflow_type != WORKFLOW_NAME:
            report.outcome, report.reasons = "unreadable", problems
            reports[index] = report
            continue
        lacking = missing_keys(hf, converter)
        if lacking:  # encrypted under a key we lack: say so, never replay garbage
            report.outcome = "unreadable"
            report.reasons = [str(codec.unknown_key(", ".join(lacking), _ring(converter))), *problems]
            report.missing_keys = lacking
            reports[index] = report
            continue
        report.reasons = problems
        reports[index] = report
        loaded.append((index, hf))

    async def histories() -> AsyncIterator[WorkflowHistory]:
        for _, hf in loaded:
            yield hf.history

    with _quiet():
        async with make_replayer(workflows, data_converter=converter, **options).workflow_replay_iterator(
            histories()
        ) as results:
            position = 0
            async for result in results:
                index, hf = loaded[position]
                position += 1
                found = capture.CAPTURED.pop(hf.run_id, capture.Captured())
                report = reports[index]
                if result.replay_failure is not None:
                    kind = "nondeterministic" if isinstance(result.replay_failure, NondeterminismError) else "failed"
                    report.outcome = kind
                    report.reasons.insert(0, _first_problem(result.replay_failure))
                    continue
                try:
                    status, journal, problems, facts = await verify(hf, found, converter)
                except Exception as err:  # a payload that no longer decodes is a finding, not a crash
                    status, journal, problems, facts = None, None, [f"无法核对 cannot verify: {type(err).__name__}: {err}"], {}
                report.reasons.extend(problems)
                report.refused_start = facts.get("refused_start")
                if journal is not None:
                    report.journal = journal.model_dump(mode="json")
                report.deliveries = facts.get("deliveries", {})
                report.carried_digest = facts.get("carried_digest")
                report.handed_on_digest = facts.get("handed_on_digest")
                if status is not None:
                    report.incident_id = status.incident_id
                    report.status = status.model_dump(mode="json")
                if report.reasons:
                    report.outcome = "inconsistent"
    return [reports[i] for i in sorted(reports)]


def replay_batch(paths: list[str]) -> list[dict[str, Any]]:
    """The work of one process of the pool (picklable in and out)."""
    reports = asyncio.run(replay_files([Path(p) for p in paths]))
    return [r.model_dump(mode="json") for r in reports]


_POOL: tuple[ProcessPoolExecutor, int] | None = None


def _die_with_parent() -> None:
    """In each process of the pool (Linux): it ends with the process that made it, even one that
    leaves without shutting the pool down (``yuqing.process.exit_now``)."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _pool(workers: int) -> ProcessPoolExecutor:
    """The process pool, started once and reused by every later audit in this process."""
    global _POOL
    if _POOL is not None and _POOL[1] != workers:
        shutdown_pool()
    if _POOL is None:
        context = multiprocessing.get_context("spawn")
        _POOL = (ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_die_with_parent), workers)
        atexit.register(shutdown_pool)
    return _POOL[0]


def shutdown_pool() -> None:
    """Stop the pool's processes (they also end with this process)."""
    global _POOL
    if _POOL is not None:
        _POOL[0].shutdown(wait=False, cancel_futures=True)
        _POOL = None


def pool_running() -> bool:
    return _POOL is not None


def _chunks(paths: Sequence[Path], workers: int) -> list[list[str]]:
    """About four chunks per process, largest files first, so the processes finish together."""
    ordered = sorted(paths, key=lambda p: p.stat().st_size, reverse=True)
    count = min(len(ordered), workers * 4)
    chunks: list[list[str]] = [[] for _ in range(count)]
    for i, path in enumerate(ordered):
        chunks[i % count].append(str(path))
    return chunks


async def audit(
    paths: Sequence[Path],
    *,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> AuditResult:
    """Replay and verify every history file among ``paths`` (files or directories).

    ``workers``: processes to use (default: every core, or this process alone for fewer than
    ``POOL_MIN_FILES`` files); 1 replays in this process.
    ``progress(done, total)`` is called as files finish.
    """
    files = discover(paths)
    config.data_converter()  # a broken key file: one clear error here (KeyFileError), not one per process
    manifest_problems, missing = check_against_manifests(files)
    if workers is None:
        workers = (os.cpu_count() or 1) if len(files) >= POOL_MIN_FILES or pool_running() else 1
    workers = min(workers, max(len(files), 1))
    total = len(files)
    done = 0
    reports: list[RunReport] = []
    if progress:
        progress(0, total)
    if workers <= 1 or len(files) <= 1:
        reports = await replay_files(files)
        if progress:
            progress(total, total)
    else:
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):  # a pool whose processes died (their thread ended, a kill) is started anew
            pool = _pool(workers)
            futures = [loop.run_in_executor(pool, replay_batch, chunk) for chunk in _chunks(files, workers)]
            try:
                for future in asyncio.as_completed(futures):
                    batch = [RunReport.model_validate(r) for r in await future]
                    reports.extend(batch)
                    done += len(batch)
                    if progress:
                        progress(done, total)
                break
            except BrokenProcessPool:
                shutdown_pool()
                if attempt == 2:
                    raise
                reports, done = [], 0
        order = {str(p): i for i, p in enumerate(files)}
        reports.sort(key=lambda r: order.get(r.file, len(order)))
    for report in reports:
        problem = manifest_problems.get(Path(report.file))
        if problem is not None:
            report.reasons.insert(0, problem)
            report.outcome = "altered"
    lacking = sorted({key_id for report in reports for key_id in report.missing_keys})
    if lacking:  # a configuration problem, not a finding about the files: one clear error
        locked = sum(1 for report in reports if report.missing_keys)
        error = codec.unknown_key(", ".join(lacking), _ring(config.data_converter()))
        raise codec.UnknownKeyError(
            error.key_id, f"{error}（{locked} 个历史文件无法读取 {locked} history file(s) cannot be read）"
        )
    for path, why in missing:
        reports.append(RunReport(file=str(path), outcome="missing", reasons=[why]))
    link_chains(reports)
    return AuditResult(runs=reports)


def link_chains(reports: Sequence[RunReport]) -> None:
    """D1: a run that continued from another must start with the very record that one handed on.

    Each run replays consistently on its own whatever record it was started with, so an altered carried
    record is only visible across the chain: such a run is reported ``inconsistent``.
    """
    by_run = {r.run_id: r for r in reports if r.run_id}
    for report in reports:
        before = by_run.get(report.continued_from) if report.continued_from else None
        if before is None or before.handed_on_digest is None or report.carried_digest is None:
            continue
        if report.carried_digest != before.handed_on_digest:
            report.reasons.append(
                f"起始记录与上一运行交出的不同 the record this run started with differs from the one run "
                f"{before.run_id} handed on"
            )
            if report.outcome == "identical":
                report.outcome = "inconsistent"
