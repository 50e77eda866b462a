"""What staff do to incidents, as typed async functions over a Temporal client.

The command line is a thin layer over these; so are the tests. Errors are ``yuqing.errors`` with a
message that is one clear line in Chinese and English.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import uuid
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.incident import IN_FORCE, REPORT, STATUS_QUERY, TASK_TIMEOUT, WORKFLOW_NAME, IncidentWorkflow
from workflows.rules import authority
from workflows.rules.article1_responsibility import coordination_units, first_responsible
from workflows.rules.article3_timeliness import check_discovery
from workflows.rules.article4_supervision import escalation_chain
from yuqing import config
from yuqing import search_attributes as sa
from yuqing.directory import Directory, load_directory
from yuqing.errors import IncidentExists, Rejected, Unconfirmed, UnknownIncident, Unreachable, YuqingError
from yuqing.models import (
    CloseRequest,
    EventGrade,
    Incident,
    IncidentInput,
    IncidentState,
    IncidentStatus,
    LeadDesignation,
    Limits,
    OpinionLevel,
    Policy,
    Receipt,
    Report,
    Responsibility,
    Scope,
    TransferOrder,
    TransferSource,
)
from yuqing.policy import load_policy
from yuqing.timefmt import local

connect = config.connect
"""A client configured like the ``temporal`` CLI; ``Unreachable`` if the server does not answer."""


def new_incident_id(now: datetime | None = None) -> str:
    """A readable, unique id: ``YQ-20261125-1432-7f3a`` (Asia/Shanghai date and time, random suffix)."""
    stamp = local(now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M")
    return f"YQ-{stamp}-{secrets.token_hex(2)}"


def new_report_id() -> str:
    """A report's client-generated id (idempotent filing): a UUID."""
    return str(uuid.uuid4())


def handle(client: Client, incident_id: str) -> WorkflowHandle[Any, IncidentStatus]:
    return client.get_workflow_handle(incident_id, result_type=IncidentStatus)


async def open_incident(
    client: Client,
    incident: Incident,
    *,
    opened_by: str,
    directory: Directory | None = None,
    policy: Policy | None = None,
    task_queue: str | None = None,
    now: datetime | None = None,
    limits: Limits | None = None,
    search_attributes: bool = True,
) -> WorkflowHandle[Any, IncidentStatus]:
    """Start the incident's workflow (D1) with a copy of the policy and its escalation chain.

    Refuses an unknown unit, a transfer by anyone but the provincial office (S3), a discovery or
    transfer time in the future (P3.a, A4.1) and an id that exists (an incident is never overwritten).
    """
    directory = directory or load_directory()
    policy = policy or load_policy()
    now = now or datetime.now(timezone.utc)
    for code in (incident.responsible_unit, opened_by):
        if code not in directory:
            raise Rejected(f"未知单位 unknown unit {code!r} (see `yuqing units`)")
    problem = authority.may_be_responsible(directory.get(incident.responsible_unit))
    if problem:
        raise Rejected(problem)
    chain = escalation_chain(directory, incident.responsible_unit)
    if incident.discovered_at is not None:
        problem = check_discovery(incident.discovered_at, now)
        if problem:
            raise Rejected(problem)
    if incident.transfer is not None:
        problem = authority.may_transfer(opened_by, chain)
        if problem:
            raise Rejected(problem)
        if incident.transfer.at > now:
            raise Rejected(f"转办时间晚于当前时间 transfer time {incident.transfer.at.isoformat()} is in the future (A4.1)")
    input = IncidentInput(
        incident=incident, policy=policy, chain=chain, opened_by=opened_by, limits=limits or Limits(),
        search_attributes=search_attributes, coordination=coordination_units(directory, incident.responsible_unit),
        in_force=list(IN_FORCE),
    )  # fmt: skip
    try:
        return await client.start_workflow(
            WORKFLOW_NAME,
            input,
            id=incident.id,
            search_attributes=_opening_attributes(input, now) if search_attributes else None,
            task_queue=task_queue or config.task_queue(),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            task_timeout=TASK_TIMEOUT,
            static_summary=incident.title,
            memo={"title": incident.title, "unit_name": chain[0].name},
            result_type=IncidentStatus,
        )
    except WorkflowAlreadyStartedError:
        raise IncidentExists(f"事件编号已存在 incident {incident.id!r} already exists; it is not overwritten") from None
    except RPCError as err:
        raise _rpc_error(err, incident.id) from None


def _opening_attributes(input: IncidentInput, now: datetime) -> TypedSearchAttributes | None:
    """The new incident's search attributes, given with its start: no visibility write of their own
    (the workflow upserts only what later changes). ``None`` where the opening record cannot be made
    here: the workflow then refuses the start itself."""
    try:
        return sa.at_start(IncidentWorkflow._opening_record(input, now))
    except Exception:
        return None


async def file_report(
    client: Client, incident_id: str, report: Report, *, timeout: float | None = None
) -> Receipt:
    """Send a report as an update, its ``report_id`` as the update id: the caller learns at once
    whether it was taken, and sending it again never files it twice (D3).

    ``Unconfirmed`` when no answer came within ``timeout`` seconds (the report may still be filed).
    """
    try:
        return await asyncio.wait_for(
            handle(client, incident_id).execute_update(REPORT, report, id=report.report_id, result_type=Receipt),
            timeout,
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        raise Rejected(f"报告被拒绝 report rejected: {reason}") from None
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        raise Unconfirmed(
            f"未确认 not confirmed: 报告 {report.report_id} 已发出，尚未得到系统确认 the report was sent but no worker "
            f"confirmed it in time；可用同一命令重试，不会重复登记 run the same command again: it will not be filed twice"
        ) from None
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None


async def signal_report(client: Client, incident_id: str, payload: Any) -> None:
    """Send a report as a signal (fire and forget); a refusal lands in the incident's ``rejected``."""
    try:
        await handle(client, incident_id).signal(REPORT, payload)
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None


async def close_incident(client: Client, incident_id: str, reason: str, *, by: str, report_id: str | None = None) -> Receipt:
    """办结 by the provincial office (S3): what is not yet due is waived, what is overdue stays."""
    return await file_report(client, incident_id, CloseRequest(report_id=report_id or new_report_id(), as_=by, text=reason))


def responsibility(directory: Directory, scope: Scope, named: str | None = None) -> Responsibility:
    """A1.1, A1.2, N1.1: who answers for an incident of ``scope``; a ``named`` unit that differs is
    recorded as an override, with the rule's choice beside it (the caller warns)."""
    try:
        found = first_responsible(directory, scope)
    except ValueError as err:
        raise Rejected(str(err)) from None
    if named is not None and named != found.unit:
        if named not in directory:
            raise Rejected(f"未知单位 unknown unit {named!r} (see `yuqing units`)")
        return found.model_copy(update={"override": named})
    return found


async def transfer_incident(
    client: Client,
    incident_id: str,
    to: str,
    source: TransferSource,
    *,
    by: str,
    text: str = "",
    directory: Directory | None = None,
    report_id: str | None = None,
) -> Receipt:
    """转办 at any time by the provincial office (A4.1, S3): the receiving unit with its chain (P4.d) and
    coordination units (A2.3) from the directory; its acceptance is due within 1 h (P4.c)."""
    directory = directory or load_directory()
    if to not in directory:
        raise Rejected(f"未知单位 unknown unit {to!r} (see `yuqing units`)")
    problem = authority.may_be_responsible(directory.get(to))
    if problem:
        raise Rejected(problem)
    order = TransferOrder(
        report_id=report_id or new_report_id(), as_=by, text=text or f"{source.zh}：转{directory.get(to).name}办理",
        source=source, chain=escalation_chain(directory, to), coordination=coordination_units(directory, to),
    )  # fmt: skip
    return await file_report(client, incident_id, order)


async def designate_lead(
    client: Client,
    incident_id: str,
    unit: str,
    *,
    by: str,
    text: str = "",
    directory: Directory | None = None,
    report_id: str | None = None,
) -> Receipt:
    """指定牵头部门 (A2.1, S5): by the government the incident belongs to, or the provincial office."""
    directory = directory or load_directory()
    if unit not in directory:
        raise Rejected(f"未知单位 unknown unit {unit!r} (see `yuqing units`)")
    lead = directory.get(unit)
    order = LeadDesignation(
        report_id=report_id or new_report_id(), as_=by, text=text or f"指定{lead.name}为牵头部门", unit=lead
    )
    return await file_report(client, incident_id, order)


# ------------------------------------------------------------------ reading


QUERY_TIMEOUT = 10.0
"""Seconds to wait for a worker to answer the ``status`` query."""


class Execution(BaseModel):
    """Temporal's own view of an incident's workflow, so nobody reads a dead incident as open."""

    model_config = ConfigDict(frozen=True)

    status: str
    """``running``, ``completed``, ``failed``, ``terminated``, ``timed_out``, ``canceled`` …"""
    stuck: bool = False
    """Running, but its workflow task keeps failing: nothing is decided until that is fixed."""
    problem: str | None = None
    """Why it is stuck, failed or terminated (the failure's message, the termination's reason)."""
    attempts: int = 0

    @property
    def healthy(self) -> bool:
        return self.status in ("running", "completed") and not self.stuck


async def get_status(client: Client, incident_id: str) -> IncidentStatus:
    try:
        return await handle(client, incident_id).query(STATUS_QUERY, result_type=IncidentStatus)
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None


async def read_incident(
    client: Client, incident_id: str
) -> tuple[IncidentStatus | None, datetime, Execution]:
    """The incident's record (``None`` where it cannot be read), its own clock, and its execution.

    A completed incident is read from its result (no worker needed); a running one is queried; a
    terminated, failed or timed-out one is queried for its last state where a worker can answer. The
    clock is the server's virtual time where it skips time for this workflow (test servers), else the
    wall clock.
    """
    wf = handle(client, incident_id)
    try:
        description = await wf.describe()
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None
    raw = description.raw_description
    now = _clock(raw)
    execution = await execution_of(client, incident_id, description.status, raw)
    status: IncidentStatus | None = None
    try:
        if description.status == WorkflowExecutionStatus.COMPLETED:
            status = await wf.result()
        elif not execution.stuck and execution.status != "failed":
            status = await asyncio.wait_for(wf.query(STATUS_QUERY, result_type=IncidentStatus), QUERY_TIMEOUT)
    except (TimeoutError, RPCError, WorkflowQueryFailedError) as err:
        if execution.healthy:  # it may have got stuck meanwhile: say so rather than time out
            again = await wf.describe()
            execution = await execution_of(client, incident_id, again.status, again.raw_description)
        if execution.healthy:
            if isinstance(err, RPCError):
                raise _rpc_error(err, incident_id) from None
            raise
    return status, now, execution


async def execution_of(client: Client, incident_id: str, status: Any, raw: Any = None) -> Execution:
    """Temporal's status of the workflow, whether its task is failing, and why it ended badly."""
    name = status.name.lower() if status is not None else "unknown"
    if status == WorkflowExecutionStatus.RUNNING:
        task = raw.pending_workflow_task if raw is not None and raw.HasField("pending_workflow_task") else None
        if task is not None and task.attempt > 1:
            problem = await _last_failure(client, incident_id, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED)
            return Execution(status=name, stuck=True, problem=problem, attempts=task.attempt)
        return Execution(status=name)
    if status in (WorkflowExecutionStatus.FAILED, WorkflowExecutionStatus.TERMINATED, WorkflowExecutionStatus.TIMED_OUT):
        return Execution(status=name, problem=await _last_failure(client, incident_id, None))
    return Execution(status=name)


async def _last_failure(client: Client, incident_id: str, event_type: Any) -> str | None:
    """The message of the latest event of ``event_type`` (or of the closing event) in the history."""
    try:
        response = await client.workflow_service.get_workflow_execution_history_reverse(
            GetWorkflowExecutionHistoryReverseRequest(
                namespace=client.namespace,
                execution={"workflow_id": incident_id},
                maximum_page_size=50,
            )
        )
    except RPCError:
        return None
    for event in response.history.events:
        if event_type is not None and event.event_type != event_type:
            continue
        if event.HasField("workflow_task_failed_event_attributes"):
            return _one_line(event.workflow_task_failed_event_attributes.failure.message)
        if event.HasField("workflow_execution_failed_event_attributes"):
            return _one_line(event.workflow_execution_failed_event_attributes.failure.message)
        if event.HasField("workflow_execution_terminated_event_attributes"):
            return _one_line(event.workflow_execution_terminated_event_attributes.reason or "terminated")
        if event.HasField("workflow_execution_timed_out_event_attributes"):
            return "工作流超时 the workflow timed out"
        if event_type is None:
            return None
    return None


def _one_line(text: str) -> str:
    return " ".join(text.split())[:300]


async def incident_clock(client: Client, incident_id: str) -> datetime:
    """The incident's own clock (see ``read_incident``)."""
    try:
        description = await handle(client, incident_id).describe()
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None
    return _clock(description.raw_description)


def _clock(raw: Any) -> datetime:
    extended = raw.workflow_extended_info
    if extended.HasField("time_skipping_info") and extended.time_skipping_info.HasField("current_time"):
        value: datetime = extended.time_skipping_info.current_time.ToDatetime().replace(tzinfo=timezone.utc)
        return value
    return datetime.now(timezone.utc)


class IncidentSummary(BaseModel):
    """One line of ``yuqing list``, read from Temporal visibility (search attributes, memo)."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    title: str
    state: IncidentState | None
    opinion_level: OpinionLevel | None
    event_grade: EventGrade | None
    unit: str | None
    unit_name: str
    next_deadline: datetime | None
    overdue: bool
    opened_at: datetime
    closed_at: datetime | None
    execution_status: str
    """Temporal's own status of the workflow: ``running``, ``completed``, ``terminated`` …"""
    stuck: bool = False
    problem: str | None = None


DEAD = ("Terminated", "Failed", "TimedOut", "Canceled")


def incident_query(
    *,
    state: IncidentState | None = None,
    overdue: bool = False,
    unit: str | None = None,
    opinion_level: OpinionLevel | None = None,
) -> str:
    """The visibility query for these filters, on the incidents' search attributes.

    ``open`` means still supervised (``YuqingState = 'open'`` on a running workflow, or one stuck before
    it ever published its state) and also lists the incidents whose workflow died (terminated, failed,
    timed out): they need someone's attention and must not vanish from the list. Runs that continued as
    new are left out.
    """
    clauses = [f"WorkflowType = '{WORKFLOW_NAME}'", "ExecutionStatus != 'ContinuedAsNew'"]
    if state == IncidentState.OPEN:
        dead = ", ".join(f"'{s}'" for s in DEAD)
        running = f"({sa.STATE.name} = 'open' OR {sa.STATE.name} IS NULL) AND ExecutionStatus = 'Running'"
        clauses.append(f"(({running}) OR ExecutionStatus IN ({dead}))")
    elif state is not None:
        clauses.append(f"{sa.STATE.name} = '{IncidentState(state).value}'")
    if overdue:
        clauses.append(f"{sa.OVERDUE.name} = true")
    if unit is not None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,31}", unit):  # the UnitCode pattern: safe to quote
            raise YuqingError(f"未知单位 unknown unit {unit!r} (see `yuqing units`)")
        clauses.append(f"{sa.UNIT.name} = '{unit}'")
    if opinion_level is not None:
        clauses.append(f"{sa.OPINION_LEVEL.name} = '{OpinionLevel(opinion_level).value}'")
    return " AND ".join(clauses)


async def list_incidents(
    client: Client,
    *,
    state: IncidentState | None = None,
    overdue: bool = False,
    unit: str | None = None,
    opinion_level: OpinionLevel | None = None,
    limit: int = 200,
) -> list[IncidentSummary]:
    """Incidents matching the filters, newest first, from visibility; each running one is described
    too (concurrently) so that a stuck incident says so."""
    query = incident_query(state=state, overdue=overdue, unit=unit, opinion_level=opinion_level)
    executions = []
    try:
        async for execution in client.list_workflows(query, limit=limit):
            executions.append(execution)
    except RPCError as err:
        if "search attribute" in err.message:
            names = ", ".join(k.name for k in sa.ALL)
            raise YuqingError(
                f"服务器未注册检索属性 the server lacks the incidents' search attributes ({names}): "
                f"start the worker once (it registers them) ({err.message})"
            ) from None
        raise _rpc_error(err, "") from None
    limiter = asyncio.Semaphore(16)

    async def summary(execution: Any) -> IncidentSummary:
        attrs = execution.typed_search_attributes
        memo = await execution.memo()
        facts = Execution(status=execution.status.name.lower() if execution.status else "unknown")
        if execution.status != WorkflowExecutionStatus.COMPLETED:
            async with limiter:
                try:
                    raw = (await handle(client, execution.id).describe()).raw_description
                    facts = await execution_of(client, execution.id, execution.status, raw)
                except RPCError:
                    pass
        return IncidentSummary(
            incident_id=execution.id,
            title=str(memo.get("title", "")),
            state=_enum(IncidentState, attrs.get(sa.STATE)),
            opinion_level=_enum(OpinionLevel, attrs.get(sa.OPINION_LEVEL)),
            event_grade=_enum(EventGrade, attrs.get(sa.EVENT_GRADE)),
            unit=attrs.get(sa.UNIT),
            unit_name=str(memo.get("unit_name", "")),
            next_deadline=attrs.get(sa.NEXT_DEADLINE),
            overdue=bool(attrs.get(sa.OVERDUE)),
            opened_at=execution.start_time,
            closed_at=execution.close_time,
            execution_status=facts.status,
            stuck=facts.stuck,
            problem=facts.problem,
        )

    return list(await asyncio.gather(*(summary(e) for e in executions)))


def _enum(cls: Any, value: Any) -> Any:
    try:
        return cls(value) if value is not None else None
    except ValueError:
        return None


async def workflow_task_problem(client: Client, incident_id: str) -> str:
    """Why an incident does not answer: its workflow task keeps failing, or no worker polls."""
    try:
        description = await handle(client, incident_id).describe()
    except RPCError as err:
        return f"服务器错误 server error: {err.message}"
    execution = await execution_of(client, incident_id, description.status, description.raw_description)
    if execution.stuck:
        return f"工作流任务反复失败 its workflow task keeps failing (attempt {execution.attempts}): {execution.problem}"
    if execution.status != "running":
        return f"工作流{execution.status} the workflow is {execution.status}: {execution.problem or ''}"
    queue = description.raw_description.execution_config.task_queue.name
    return f"没有工作进程应答 no worker answered on task queue {queue!r}"


_TASK_FAILING = "Workflow Task in failed state"


def _rpc_error(err: RPCError, incident_id: str) -> YuqingError:
    if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return Unreachable(f"服务器无应答 the Temporal server did not answer: {err.message}")
    if _TASK_FAILING in err.message:
        return Unreachable(
            f"事件 {incident_id} 卡住 stuck: its workflow task is failing on the worker (see `yuqing status {incident_id}`)"
        )
    if err.status == RPCStatusCode.NOT_FOUND:
        if "namespace" in err.message.lower():
            return YuqingError(f"未知命名空间 unknown namespace: {err.message}")
        if "completed" in err.message or "closed" in err.message:
            return Rejected(f"事件已办结 incident {incident_id!r} is closed")
        return UnknownIncident(f"未知事件 unknown incident {incident_id!r}")
    if err.status == RPCStatusCode.INVALID_ARGUMENT and "size exceeds" in err.message.lower():
        return Rejected(f"消息过大 the message is too large for the server: {err.message}")
    return YuqingError(f"服务器错误 server error: {err.message}")

