"""One public-opinion incident, one long-running workflow (D1).

The workflow keeps the incident's record (``IncidentStatus``), sleeps on durable timers until the
next warning, deadline or escalation (D2), takes the unit's reports as updates or signals (D3),
and sends a major situation to the provincial government at once (D4). Every decision is made
by a pure function in ``workflows.rules`` from ``workflow.now()`` and the policy the incident
was opened with; this module only applies them and sends the notifications.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notifier
    from workflows.rules import article3_timeliness as article3
    from workflows.rules import article4_supervision as article4
    from workflows.rules.validation import reclassified, refusal
    from yuqing import search_attributes as sa
    from yuqing.models import (
        REPORT_ADAPTER,
        AcceptanceReport,
        AnalysisReport,
        CloseRequest,
        DeliveryFailure,
        DispositionReport,
        Escalation,
        Incident,
        IncidentState,
        IncidentStatus,
        MajorSituationReport,
        Notification,
        Obligation,
        ObligationBrief,
        ObligationKind,
        ObligationStatus,
        ReclassificationReport,
        Rejection,
        Report,
        ReportRecord,
        ResponseReport,
        Unit,
        WarningRecord,
        beijing,
    )
    from yuqing.policy import Policy

WORKFLOW_NAME = "IncidentWorkflow"

PATCH_P3C_KEEP_OVERDUE = "p3c-keep-overdue"
"""P3.c: a downgrade waives only pending obligations; what was escalated stays overdue.
Incidents reclassified down before this patch waived overdue ones too, and replay that way."""

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)


class IncidentInput(BaseModel):
    """What an incident starts with; everything the workflow needs, so it never reads a file.

    Unknown fields are ignored so that a worker one release behind can still start it.
    """

    model_config = ConfigDict(extra="ignore")

    incident: Incident
    policy: Policy
    """A copy of the policy file at opening: a later edit never moves these clocks."""
    chain: list[Unit] = Field(min_length=1)
    """The escalation chain (P4.d), resolved from the unit directory at opening."""
    carried: IncidentStatus | None = None
    """The record carried over continue-as-new; ``None`` on the first run."""


@workflow.defn(name=WORKFLOW_NAME)
class IncidentWorkflow:
    @workflow.init
    def __init__(self, input: IncidentInput) -> None:
        self._input = input
        self._status = input.carried or self._opening_record(input, workflow.now())
        self._changed = False
        self._deliveries: set[asyncio.Task[None]] = set()
        self._published: dict[str, Any] = {}

    # ------------------------------------------------------------------ the run

    @workflow.run
    async def run(self, input: IncidentInput) -> IncidentStatus:
        if input.carried is None:
            self._notify_opened()
        while self._status.state == IncidentState.OPEN:
            now = workflow.now()
            self._tick(now)
            self._publish()
            if workflow.info().is_continue_as_new_suggested():
                await self._drain()
                carried = self._status.model_copy(update={"runs": self._status.runs + 1})
                workflow.logger.info("continue-as-new", extra={"runs": carried.runs})
                workflow.continue_as_new(IncidentInput(incident=input.incident, policy=input.policy, chain=input.chain, carried=carried))
            wake = self._next_wake(now)
            self._changed = False
            try:
                await workflow.wait_condition(
                    lambda: self._changed, timeout=(wake - now) if wake else None
                )
            except asyncio.TimeoutError:
                pass
        self._publish()
        await self._drain()
        workflow.logger.info("incident closed", extra={"reason": self._status.close_reason})
        return self._status

    def _tick(self, now: datetime) -> None:
        """Apply every warning (P3.e), deadline (A3.x) and escalation (P4.a) due at ``now``."""
        for obligation in self._status.obligations:
            if article3.warning_due(obligation, now):
                obligation.warned_at = now
                self._warn(obligation, now)
            if article3.becomes_overdue(obligation, now):
                obligation.status = ObligationStatus.OVERDUE
                workflow.logger.warning("deadline missed", extra={"obligation": obligation.id})
            index = article4.due_step(obligation, now)
            if index is not None:
                self._escalate(obligation, index, now)

    def _next_wake(self, now: datetime) -> datetime | None:
        """The next moment a rule needs the workflow awake: a durable timer until then (D2)."""
        times = [
            t
            for o in self._status.obligations
            for t in (article3.next_clock(o), article4.next_step_at(o))
            if t is not None and t > now
        ]
        return min(times, default=None)

    # ----------------------------------------------------------- the messages

    @workflow.query
    def status(self) -> IncidentStatus:
        """The incident's record: the status JSON contract."""
        return self._status

    @workflow.update(name="report")
    def report(self, report: Report) -> IncidentStatus:
        """File a report (D3); the validator refuses what the incident cannot take."""
        self._apply(report, via="update")
        return self._status

    @report.validator
    def _validate_report(self, report: Report) -> None:
        reason = refusal(self._status, report, workflow.now())
        if reason is not None:
            raise ApplicationError(reason, type="ReportRejected", non_retryable=True)

    @workflow.signal(name="report")
    def report_signal(self, payload: Any) -> None:
        """The same reports for clients that cannot wait for an update: refusals are recorded."""
        kind = payload.get("type") if isinstance(payload, dict) else None
        try:
            report = REPORT_ADAPTER.validate_python(payload)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            self._reject(f"报告格式有误 invalid report: {where}: {first['msg']}", kind)
            return
        reason = refusal(self._status, report, workflow.now())
        if reason is not None:
            self._reject(reason, kind)
            return
        self._apply(report, via="signal")

    def _reject(self, reason: str, kind: Any) -> None:
        self._status.rejected.append(
            Rejection(at=workflow.now(), reason=reason, type=kind if isinstance(kind, str) else None)
        )
        workflow.logger.warning("report rejected", extra={"reason": reason})

    # ------------------------------------------------------------ the reports

    def _apply(self, report: Any, via: str) -> None:
        """Record ``report`` at its arrival, the time that counts (P4.e), and apply its rule."""
        now = workflow.now()
        status = self._status
        self._changed = True
        if isinstance(report, CloseRequest):
            self._close(now, report.text)
            return
        record = ReportRecord(
            seq=len(status.reports) + 1,
            type=report.type,
            at=now,
            text=report.text,
            by=report.by,
            via=via,
            published_at=report.published_at,
        )
        status.reports.append(record)
        workflow.logger.info("report received", extra={"type": report.type, "seq": record.seq})
        if isinstance(report, ResponseReport):  # A3.1-A3.4, P3.b
            record.way = report.way
            status.obligations, record.met = article3.apply_release(
                status.obligations, report.way, now, record.seq, self._input.policy
            )
        elif isinstance(report, AcceptanceReport):  # A4.2
            status.accepted_at = now
            for i, o in enumerate(status.obligations):
                if o.kind == ObligationKind.ACCEPTANCE and o.open:
                    status.obligations[i] = article3.fulfil(o, now, record.seq)
                    record.met.append(o.id)
        elif isinstance(report, MajorSituationReport):  # A4.4, D4
            self._report_major_situation(record)
        elif isinstance(report, ReclassificationReport):  # P3.c
            self._reclassify(report, record, now)
        elif isinstance(report, DispositionReport):  # A4.3
            record.final = report.final
            if report.final:
                self._close(now, f"最终处置 final disposition: {report.text}")
        else:
            assert isinstance(report, AnalysisReport)  # A4.3: recorded, no clock

    def _reclassify(self, report: ReclassificationReport, record: ReportRecord, now: datetime) -> None:
        status = self._status
        level, event = reclassified(status, report)
        record.changes = {
            "opinion_level": {"from": status.opinion_level, "to": level},
            "event": {
                "from": status.event.model_dump(mode="json") if status.event else None,
                "to": event.model_dump(mode="json") if event else None,
            },
        }
        waive_overdue = False
        if article3.has_major_clocks(status.event) and not article3.has_major_clocks(event):
            waive_overdue = not workflow.patched(PATCH_P3C_KEEP_OVERDUE)
        status.obligations = article3.reclassify(
            status.obligations,
            status.event,
            event,
            now,
            status.discovered_at,
            status.reports,
            report.text,
            self._input.policy,
            waive_overdue=waive_overdue,
        )
        status.opinion_level, status.event = level, event

    def _close(self, now: datetime, reason: str) -> None:
        status = self._status
        status.state = IncidentState.CLOSED
        status.closed_at = now
        status.close_reason = reason
        status.obligations = article3.waive_on_close(status.obligations, reason)

    # ------------------------------------------------------- the notifications

    def _warn(self, obligation: Obligation, now: datetime) -> None:
        """P3.e: the responsible unit hears before the deadline."""
        target = self._status.chain[0]
        self._status.warnings.append(
            WarningRecord(obligation=obligation.kind, obligation_id=obligation.id, target=target.code, at=now)
        )
        self._send(
            kind="warning",
            target=target,
            obligation_id=obligation.id,
            subject=f"预警：{obligation.kind.zh}将于 {beijing(obligation.due_at)} 到期",
            body=f"{self._status.title}：{obligation.kind.zh}（{obligation.rule}）时限将至，请及时办理。",
        )

    def _escalate(self, obligation: Obligation, index: int, now: datetime) -> None:
        """D.esc, P4.a, P4.d: one step up the chain; the steps it skipped are recorded, not sent."""
        step = article4.step(obligation, index, self._status.chain)
        skipped = index - obligation.next_step
        obligation.next_step = index + 1
        self._status.escalations.append(
            Escalation(
                obligation=obligation.kind,
                obligation_id=obligation.id,
                level=step.level,
                round=step.round,
                target=step.target.code,
                target_name=step.target.name,
                action=step.action,
                at=now,
                due_at=step.scheduled_at,
                skipped_steps=skipped,
            )
        )
        workflow.logger.warning(
            "escalation",
            extra={"obligation": obligation.id, "escalation_level": step.level, "round": step.round, "target": step.target.code},
        )
        self._send(
            kind="escalation",
            target=step.target,
            obligation_id=obligation.id,
            level=step.level,
            round_=step.round,
            action=step.action,
            subject=f"{step.action.zh}：{obligation.kind.zh}已逾期（第{step.level}级第{step.round}轮）",
            body=(
                f"{self._status.title}：{obligation.kind.zh}（{obligation.rule}）应于 {beijing(obligation.due_at)} 前完成，"
                f"已逾期。请{self._status.responsible_unit_name}立即办理。"
            ),
        )

    def _report_major_situation(self, record: ReportRecord) -> None:
        """A4.4, D4: 遇有重大情况，随时向省政府报告 — at once, no timer in between."""
        target = article4.major_situation_target(self._status.chain)
        self._send(
            kind="major_situation",
            target=target,
            obligation_id=f"major_situation#{record.seq}",
            subject=f"重大情况报告：{self._status.title}",
            body=record.text,
        )

    def _notify_opened(self) -> None:
        """The responsible unit learns of the incident and its deadlines (A4.1 where transferred)."""
        status = self._status
        owed = "；".join(f"{o.kind.zh} {beijing(o.due_at)} 前" for o in status.obligations)
        self._send(
            kind="opened",
            target=status.chain[0],
            obligation_id="opened",
            subject=f"{'转办' if status.transfer else '立案'}：{status.title}",
            body=f"请按时办理：{owed}。",
        )

    def _send(
        self,
        *,
        kind: Any,
        target: Unit,
        obligation_id: str,
        subject: str,
        body: str,
        level: int = 0,
        round_: int = 1,
        action: Any = None,
    ) -> None:
        status = self._status
        notification = Notification(
            key=article4.idempotency_key(status.incident_id, obligation_id, level, round_),
            incident_id=status.incident_id,
            kind=kind,
            at=workflow.now(),
            target=target,
            subject=subject,
            body=body,
            obligation_id=obligation_id,
            level=level,
            round=round_,
            action=action,
            state=status.state,
            opinion_level=status.opinion_level,
            event=status.event,
            obligations=[ObligationBrief(kind=o.kind, due_at=o.due_at, status=o.status) for o in status.obligations],
        )
        task = asyncio.create_task(self._deliver(notification))
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _deliver(self, notification: Notification) -> None:
        """Deliver with retries; a channel that stays down is recorded, never fails the incident (P4.b)."""
        try:
            await workflow.execute_activity_method(
                Notifier.deliver,
                notification,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=self._input.policy.notification_retry,
                retry_policy=NOTIFY_RETRY,
            )
        except ActivityError as err:
            cause = err.cause or err
            self._status.delivery_failures.append(
                DeliveryFailure(key=notification.key, at=workflow.now(), error=str(cause))
            )
            workflow.logger.error("notification not delivered", extra={"key": notification.key, "error": str(cause)})

    async def _drain(self) -> None:
        """Before completing or continuing-as-new: no handler half done, no notification in flight."""
        await workflow.wait_condition(lambda: workflow.all_handlers_finished() and not self._deliveries)

    # --------------------------------------------------------------- opening

    @staticmethod
    def _opening_record(input: IncidentInput, now: datetime) -> IncidentStatus:
        """The record of a new incident: its clocks run from discovery (P3.a)."""
        incident, policy = input.incident, input.policy
        rejected: list[Rejection] = []
        discovered_at = incident.discovered_at or now
        problem = article3.check_discovery(discovered_at, now)
        if problem is not None:
            rejected.append(Rejection(at=now, reason=f"{problem}; 以立案时间计 the opening time is used", via="start"))
            discovered_at = now
        obligations = article3.opening_obligations(incident.event, discovered_at, policy)
        if incident.transfer is not None:  # A4.1, A4.2, P4.c
            obligations.append(article4.acceptance_obligation(incident.transfer, policy))
        unit = input.chain[0]
        return IncidentStatus(
            incident_id=incident.id,
            opinion_level=incident.opinion_level,
            event=incident.event,
            responsible_unit=unit.code,
            discovered_at=discovered_at,
            obligations=obligations,
            rejected=rejected,
            title=incident.title,
            summary=incident.summary,
            source=incident.source,
            responsible_unit_name=unit.name,
            leader=unit.leader,
            section=unit.section,
            chain=input.chain,
            opened_at=now,
            transfer=incident.transfer,
            policy_name=policy.name,
        )

    # ----------------------------------------------------------- visibility

    def _publish(self) -> None:
        """Upsert the search attributes that changed, so incidents list and filter by them."""
        values = sa.values_of(self._status)
        changed = {name: value for name, value in values.items() if self._published.get(name) != value}
        if changed:
            workflow.upsert_search_attributes(sa.updates(changed))
            self._published.update(changed)
