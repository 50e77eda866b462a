"""What staff do to incidents, as typed async functions over a Temporal client.

The command line is a thin layer over these; so are the tests. Errors are raised as
``StarterError`` subclasses whose message is one clear line in Chinese and English.
"""

from __future__ import annotations

from datetime import datetime, timezone

from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from workflows.incident import IncidentInput, IncidentWorkflow
from workflows.rules.article3_timeliness import check_discovery
from workflows.rules.article4_supervision import escalation_chain
from yuqing import config
from yuqing.directory import Directory, load_directory
from yuqing.models import REPORT_ADAPTER, Incident, IncidentStatus, Report
from yuqing.policy import Policy, load_policy


class StarterError(Exception):
    """Something staff asked for cannot be done; ``str()`` is the message to show."""


class Rejected(StarterError):
    """The system refused the request (exit code 1 at the command line)."""


class UnknownIncident(Rejected):
    pass


class IncidentExists(Rejected):
    pass


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
    chain = escalation_chain(directory, incident.responsible_unit)
    try:
        return await client.start_workflow(
            IncidentWorkflow.run,
            IncidentInput(incident=incident, policy=policy, chain=chain),
            id=incident.id,
            task_queue=task_queue or config.task_queue(),
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            static_summary=incident.title,
        )
    except WorkflowAlreadyStartedError:
        raise IncidentExists(f"事件编号已存在 incident {incident.id!r} already exists; it is not overwritten") from None


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


def _rpc_error(err: RPCError, incident_id: str) -> StarterError:
    if err.status == RPCStatusCode.NOT_FOUND:
        if "completed" in err.message or "closed" in err.message:
            return Rejected(f"事件已办结 incident {incident_id!r} is closed")
        return UnknownIncident(f"未知事件 unknown incident {incident_id!r}")
    return StarterError(f"服务器错误 server error: {err.message}")
