"""What staff do to incidents, as typed async functions over a Temporal client.

The command line is a thin layer over these; so are the tests. Errors are raised as
``StarterError`` subclasses whose message is one clear line in Chinese and English.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.incident import WORKFLOW_NAME, IncidentInput, IncidentWorkflow
from workflows.rules.article3_timeliness import check_discovery
from workflows.rules.article4_supervision import escalation_chain
from yuqing import config
from yuqing import search_attributes as sa
from yuqing.directory import Directory, load_directory
from yuqing.models import (
    REPORT_ADAPTER,
    CloseRequest,
    EventGrade,
    Incident,
    IncidentState,
    IncidentStatus,
    OpinionLevel,
    Report,
)
from yuqing.policy import Policy, load_policy


class StarterError(Exception):
    """Something staff asked for cannot be done; ``str()`` is the message to show."""


class Rejected(StarterError):
    """The system refused the request (exit code 1 at the command line)."""


class UnknownIncident(Rejected):
    pass


class IncidentExists(Rejected):
    pass


class Unreachable(StarterError):
    """The server cannot be reached, or nothing answered in time (exit code 3)."""


CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the server to answer a connection before giving up."""


async def connect(address: str | None = None, namespace: str | None = None) -> Client:
    """A client configured like the ``temporal`` CLI (``yuqing.config``); ``Unreachable`` if down."""
    try:
        options = config.connect_config(address, namespace)
    except Exception as err:  # a broken temporal.toml or TEMPORAL_* variable
        raise StarterError(f"连接配置有误 invalid Temporal connection configuration: {err}") from None
    where = f"{options['target_host']} (namespace {options.get('namespace', 'default')})"
    try:
        return await asyncio.wait_for(
            Client.connect(**options, data_converter=config.DATA_CONVERTER), CONNECT_TIMEOUT
        )
    except (RuntimeError, OSError, asyncio.TimeoutError) as err:
        detail = _connect_detail(err)
        raise Unreachable(
            f"无法连接 Temporal 服务器 cannot reach the Temporal server at {where}: {detail}"
        ) from None


def _connect_detail(err: BaseException) -> str:
    """The useful part of the SDK's connection error (``Connection refused``, a DNS failure …)."""
    if isinstance(err, asyncio.TimeoutError):
        return f"no answer in {CONNECT_TIMEOUT:g}s"
    text = str(err)
    found = re.search(r'message: "([^"]+)"', text) or re.search(r'ConnectError\("([^"]+)"', text)
    if found:
        return found.group(1)
    return " ".join(text.split())[:160] or type(err).__name__


def new_incident_id(now: datetime | None = None) -> str:
    """A readable, unique id: ``YQ-20261125-1432-7f3a`` (Asia/Shanghai date and time, random suffix)."""
    from starter.timefmt import local

    stamp = local(now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M")
    return f"YQ-{stamp}-{secrets.token_hex(2)}"


async def open_incident(
    client: Client,
    incident: Incident,
    *,
    directory: Directory | None = None,
    policy: Policy | None = None,
    task_queue: str | None = None,
    now: datetime | None = None,
) -> WorkflowHandle[IncidentWorkflow, IncidentStatus]:
    """Start the incident's workflow (D1) with a copy of the policy and its escalation chain.

    Refuses an unknown unit, a discovery time in the future (P3.a) and an id that exists
    (open or closed: an incident is never overwritten).
    """
    directory = directory or load_directory()
    policy = policy or load_policy()
    if incident.responsible_unit not in directory:
        raise Rejected(f"未知单位 unknown unit {incident.responsible_unit!r} (see `yuqing units`)")
    if incident.discovered_at is not None:
        problem = check_discovery(incident.discovered_at, now or datetime.now(timezone.utc))
        if problem:
            raise Rejected(problem)
    if incident.transfer is not None and incident.transfer.at > (now or datetime.now(timezone.utc)):
        raise Rejected(f"转办时间晚于当前时间 transfer time {incident.transfer.at.isoformat()} is in the future (A4.1)")
    chain = escalation_chain(directory, incident.responsible_unit)
    try:
        return await client.start_workflow(
            IncidentWorkflow.run,
            IncidentInput(incident=incident, policy=policy, chain=chain),
            id=incident.id,
            task_queue=task_queue or config.task_queue(),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=incident.title,
            memo={"title": incident.title, "unit_name": chain[0].name},
        )
    except WorkflowAlreadyStartedError:
        raise IncidentExists(f"事件编号已存在 incident {incident.id!r} already exists; it is not overwritten") from None
    except RPCError as err:
        raise _rpc_error(err, incident.id) from None


def handle(client: Client, incident_id: str) -> WorkflowHandle[IncidentWorkflow, IncidentStatus]:
    return client.get_workflow_handle_for(IncidentWorkflow.run, incident_id)


async def file_report(client: Client, incident_id: str, report: Report | dict) -> IncidentStatus:
    """Send a report as an update: the caller learns at once whether it was taken (D3)."""
    parsed = REPORT_ADAPTER.validate_python(report) if isinstance(report, dict) else report
    try:
        return await handle(client, incident_id).execute_update(IncidentWorkflow.report, parsed)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        reason = cause.message if isinstance(cause, ApplicationError) else str(cause or err)
        raise Rejected(f"报告被拒绝 report rejected: {reason}") from None
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None


async def signal_report(client: Client, incident_id: str, payload: dict) -> None:
    """Send a report as a signal (fire and forget); a refusal lands in the incident's ``rejected``."""
    try:
        await handle(client, incident_id).signal("report", payload)
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None


async def get_status(client: Client, incident_id: str) -> IncidentStatus:
    try:
        return await handle(client, incident_id).query(IncidentWorkflow.status)
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None


async def close_incident(client: Client, incident_id: str, reason: str, by: str = "") -> IncidentStatus:
    """办结: the office closes the incident with its reason; what is not yet due is waived."""
    return await file_report(client, incident_id, CloseRequest(text=reason, by=by))


async def read_incident(client: Client, incident_id: str) -> tuple[IncidentStatus, datetime]:
    """The incident's record and its own clock (the time to count deadlines from).

    A completed incident is read from its result, so no worker is needed; a running one is
    queried. The clock is the server's virtual time where it skips time for this workflow
    (test servers), else the wall clock.
    """
    wf = handle(client, incident_id)
    try:
        description = await wf.describe()
        if description.status == WorkflowExecutionStatus.COMPLETED:
            status = await wf.result()
        else:
            status = await wf.query(IncidentWorkflow.status)
    except RPCError as err:
        raise _rpc_error(err, incident_id) from None
    return status, _clock(description.raw_description)


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
        return extended.time_skipping_info.current_time.ToDatetime().replace(tzinfo=timezone.utc)
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


def incident_query(
    *,
    state: IncidentState | None = None,
    overdue: bool = False,
    unit: str | None = None,
    opinion_level: OpinionLevel | None = None,
) -> str:
    """The visibility query for these filters, on the incidents' search attributes only.

    ``open`` means still supervised: ``YuqingState = 'open'`` on a running workflow (an incident
    terminated by an administrator is neither open nor closed). Runs that continued as new are
    left out, so each incident appears once.
    """
    clauses = [f"WorkflowType = '{WORKFLOW_NAME}'", "ExecutionStatus != 'ContinuedAsNew'"]
    if state is not None:
        clauses.append(f"{sa.STATE.name} = '{IncidentState(state).value}'")
        if state == IncidentState.OPEN:
            clauses.append("ExecutionStatus = 'Running'")
    if overdue:
        clauses.append(f"{sa.OVERDUE.name} = true")
    if unit is not None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,31}", unit):  # the UnitCode pattern: safe to quote
            raise StarterError(f"未知单位 unknown unit {unit!r} (see `yuqing units`)")
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
    """Incidents matching the filters, newest first, from visibility: no workflow is queried."""
    query = incident_query(state=state, overdue=overdue, unit=unit, opinion_level=opinion_level)
    result: list[IncidentSummary] = []
    try:
        async for execution in client.list_workflows(query, limit=limit):
            attrs = execution.typed_search_attributes
            memo = await execution.memo()
            result.append(
                IncidentSummary(
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
                    execution_status=execution.status.name.lower() if execution.status else "unknown",
                )
            )
    except RPCError as err:
        if "search attribute" in err.message:
            names = ", ".join(k.name for k in sa.ALL)
            raise StarterError(
                f"服务器未注册检索属性 the server lacks the incidents' search attributes ({names}): "
                f"start the worker once (it registers them) ({err.message})"
            ) from None
        raise _rpc_error(err, "") from None
    return result


def _enum(cls: Any, value: Any) -> Any:
    try:
        return cls(value) if value is not None else None
    except ValueError:
        return None


async def workflow_task_problem(client: Client, incident_id: str) -> str:
    """Why an incident does not answer: its workflow task keeps failing, or no worker polls."""
    try:
        raw = (await handle(client, incident_id).describe()).raw_description
    except RPCError as err:
        return f"服务器错误 server error: {err.message}"
    task = raw.pending_workflow_task
    if raw.HasField("pending_workflow_task") and task.attempt > 1:
        return (
            f"工作流任务反复失败 its workflow task keeps failing (attempt {task.attempt}): see the worker log "
            "(are the worker and this command of the same version?)"
        )
    return f"没有工作进程应答 no worker answered on task queue {raw.execution_config.task_queue.name!r}"


_TASK_FAILING = "Workflow Task in failed state"


def _rpc_error(err: RPCError, incident_id: str) -> StarterError:
    if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
        return Unreachable(f"服务器无应答 the Temporal server did not answer: {err.message}")
    if _TASK_FAILING in err.message:
        return Unreachable(
            f"事件 {incident_id} 的工作流任务失败 the incident's workflow task is failing on the worker "
            "(see the worker log; are the worker and this command of the same version?)"
        )
    if err.status == RPCStatusCode.NOT_FOUND:
        if "namespace" in err.message.lower():
            return StarterError(f"未知命名空间 unknown namespace: {err.message}")
        if "completed" in err.message or "closed" in err.message:
            return Rejected(f"事件已办结 incident {incident_id!r} is closed")
        return UnknownIncident(f"未知事件 unknown incident {incident_id!r}")
    return StarterError(f"服务器错误 server error: {err.message}")
