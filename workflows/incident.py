"""One public-opinion incident, one long-running workflow (D1).

The workflow keeps the incident's bounded record, sleeps on durable timers until the next warning,
deadline or escalation (D2), takes the units' reports as updates or signals (D3), and sends a major
situation to the provincial government at once (D4). Every decision is a pure function of
``workflows.rules`` called with ``workflow.now()`` and the policy the incident was opened with; this
module applies them, sends notifications as facts, and hands over to a new run before the history
grows large (``rules.bounds``).

Its handlers are dynamic: they receive raw payloads and decode them themselves (``rules.intake``), so
no input of any shape, count or size can fail a workflow task. A start input that does not validate
fails the workflow at once, naming the field.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RawValue, RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.notify import Notifier
    from workflows.rules import article2_coordination as article2
    from workflows.rules import article3_timeliness as article3
    from workflows.rules import article4_supervision as article4
    from workflows.rules import article5_assessment as article5
    from workflows.rules import authority, bounds, intake, validation
    from workflows.rules.delivery import NOTIFY_ATTEMPT, NOTIFY_HEARTBEAT, NOTIFY_RETRY, until_delivered
    from yuqing import search_attributes as sa
    from yuqing.models import (
        AcceptanceReport,
        CloseRequest,
        DeliveryFailure,
        DeliveryState,
        DispositionReport,
        Escalation,
        EscalationAction,
        Evaluation,
        EvaluationReport,
        Explanation,
        ExplanationReport,
        IncidentFacts,
        IncidentInput,
        IncidentRecord,
        IncidentState,
        IncidentStatus,
        LeadDesignation,
        MajorSituationReport,
        NoticeRecord,
        Notification,
        NotificationKind,
        Obligation,
        ObligationKind,
        ObligationStatus,
        OpinionLevel,
        Receipt,
        ReclassificationReport,
        Rejection,
        Report,
        ReportRef,
        ReportType,
        ResponseReport,
        Role,
        RunJournal,
        Transfer,
        TransferOrder,
        TransferSource,
        Unit,
        WarningRecord,
        brief,
        clip,
        owed,
        receipt,
        sha256_text,
    )

WORKFLOW_NAME = "IncidentWorkflow"
BOUNDED_DISPATCH = "bounded-dispatch"
MAX_IN_FLIGHT = 100
"""Notifications in delivery at once; more wait their turn in order (``_dispatch``)."""
ARTICLE_5 = "article-5"
"""``workflow.patched`` id of the fourth release: evaluation (A5.1, S6) and its window after 办结 (P5.b)."""
ARTICLES_1_2 = "articles-1-2"
"""``workflow.patched`` id of the third release: lead department, transfers at any time, principal
leaders, coordination and P4.f (incidents recorded before it replay without them)."""
STATUS_QUERY = "status"
REPORT = intake.REPORT_NAME

DELIVER_UNTIL_DONE = "deliver-until-done"
"""``workflow.patched`` id of the fifth release: a notification not delivered within the retry window
is listed as pending and retried until delivered (P4.b); before it, it was given up."""
DUE_BEFORE_REPORT = "due-before-report"
"""``workflow.patched`` id of the fifth release: steps and deadlines due before a report counts are
applied before the report (``_due_before``), even when both reach the workflow in one task."""
IN_FORCE = (BOUNDED_DISPATCH, ARTICLES_1_2, ARTICLE_5, DELIVER_UNTIL_DONE, DUE_BEFORE_REPORT)
"""The changes in force when an incident is opened by this release's starter (``IncidentInput.in_force``):
such an incident runs them from its start, deciding from its input, with no ``workflow.patched`` marker
in its history (issue 13: two markers and the SDK's two version upserts were four of a lifecycle's
events). A history whose input does not list a change asks ``workflow.patched`` as it always did."""
TASK_TIMEOUT = timedelta(seconds=30)
"""Of one workflow task (Temporal's default is 10 s): a flood of thousands of signals arrives in one
task, and it must finish before its timeout, or every retry replays the same flood again."""


@workflow.defn(dynamic=True)
class IncidentWorkflow:
    """The incident workflow, registered for every workflow type; it runs ``IncidentWorkflow`` only."""

    @workflow.init
    def __init__(self, args: Sequence[RawValue]) -> None:
        info = workflow.info()
        started = intake.start_input(
            args,
            workflow.payload_converter(),
            workflow_id=info.workflow_id,
            workflow_type=info.workflow_type,
            expected_type=WORKFLOW_NAME,
            now=workflow.now(),
            continued=info.continued_run_id is not None,
        )
        self._problem: str | None = started if isinstance(started, str) else None
        self._input: IncidentInput | None = None
        self._record: IncidentRecord | None = None
        if isinstance(started, IncidentInput):
            try:  # a rule that cannot take this input fails the start at once, never a task forever
                self._record = started.carried or self._opening_record(started, workflow.now())
                self._input = started
                if started.carried is not None:  # begun before a release: it keeps the rules it ran with
                    self._record.articles_1_2 = self._record.articles_1_2 or False
                    self._record.article_5 = self._record.article_5 or False
            except Exception as err:
                self._problem = f"事件无法立案 the incident cannot be opened: {type(err).__name__}: {clip(str(err), 200)}"
        self._journal = RunJournal()
        self._ran_before: datetime | None = None
        self._rejected_unlogged = 0
        self._validated: tuple[str, Report | intake.Refused] | None = None
        """The update the validator just decoded, for its handler (issue 13: decoded once)."""
        self._changed = False
        self._deliveries: dict[asyncio.Task[None], Notification] = {}
        self._queued: deque[Notification] = deque()
        self._bounded: bool | None = None
        self._overdue: set[str] = set()
        """Keys of notifications in delivery past their retry window (listed as pending, P4.b)."""
        self._published: dict[str, Any] | None = None
        self.handed_over: IncidentInput | None = None
        """The input this run continued as new with (the audit compares it with the history)."""

    # ------------------------------------------------------------------ the run

    @workflow.run
    async def run(self, args: Sequence[RawValue]) -> IncidentStatus:
        if self._input is None or self._record is None:
            workflow.logger.error("incident cannot start", extra={"reason": self._problem})
            raise ApplicationError(self._problem or "invalid start input", type="InvalidStart", non_retryable=True)
        input, record = self._input, self._record
        if input.carried is None:
            self._notify_opened()
            if self._articles_1_2():
                self._open_articles_1_2()
        self._article_5()  # after the opening's notices: the order its histories recorded
        self._overdue = set(record.pending_overdue)
        for notification in record.pending:  # handed over undelivered: sent again (P4.b, idempotent)
            self._dispatch(notification)
        record.pending, record.pending_overdue = [], []
        while record.state == IncidentState.OPEN:
            now = workflow.now()
            self._awake()
            if self._rejected_unlogged:
                workflow.logger.warning("reports rejected", extra={"count": self._rejected_unlogged, "last": record.rejected[-1].reason})
                self._rejected_unlogged = 0
            self._tick(now)
            self._publish()
            size = self._run_size()
            reason = bounds.handover(size, self._journal, input.limits)
            if reason is not None:
                await self._continue_as_new(reason, size)
                now = workflow.now()  # postponed: the drain took time; the timer runs from here
            wake = self._next_wake(now)
            self._changed = False
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=(wake - now) if wake else None)
            except TimeoutError:
                pass
        if self._article_5():
            await self._evaluation_window()
        self._publish()
        if (self._deliveries or self._queued) and self._in_force(DELIVER_UNTIL_DONE):
            await self._deliver_before_completing()
        await self._drain(None)
        workflow.logger.info("incident closed", extra={"reason": record.close_reason, "closed_by": record.closed_by})
        return self.status()

    async def _deliver_before_completing(self) -> None:
        """Closed, the incident completes once every notification is delivered (P4.b: never given up). A
        channel down for long keeps it open, so meanwhile it still hands over to a new run when its
        history grows (rejected signals to a closed incident still enter it)."""
        input, _ = self._inputs()
        while self._deliveries or self._queued:
            self._awake()
            size = self._run_size()
            reason = bounds.handover(size, self._journal, input.limits)
            if reason is not None:
                await self._continue_as_new(reason, size)
            self._changed = False
            await workflow.wait_condition(lambda: self._changed or not (self._deliveries or self._queued))

    async def _evaluation_window(self) -> None:
        """P5.b: closed, the incident waits for the office's evaluation (A5.1) with every clock stopped,
        and completes when evaluated or when the window ends."""
        input, record = self._inputs()
        if record.evaluation_until is None and record.closed_at is not None:
            record.evaluation_until = article5.evaluation_until(record.closed_at, input.policy)
        while article5.awaiting_evaluation(record, now := workflow.now()):
            self._awake()
            self._publish()
            size = self._run_size()
            reason = bounds.handover(size, self._journal, input.limits)
            if reason is not None:
                await self._continue_as_new(reason, size)
                now = workflow.now()
            assert record.evaluation_until is not None
            self._changed = False
            try:
                await workflow.wait_condition(lambda: self._changed, timeout=record.evaluation_until - now)
            except TimeoutError:
                pass

    def _awake(self) -> datetime | None:
        """Note that the workflow runs now; return when it last ran before this task (P4.h)."""
        record, now = self._ready(), workflow.now()
        if record.awake_at != now:
            self._ran_before, record.awake_at = record.awake_at, now
        return self._ran_before

    def _tick(self, now: datetime, as_of: datetime | None = None) -> None:
        """Apply every warning (P3.e), deadline (A3.x, P3.f) and escalation (P4.a) due at ``as_of``
        (default ``now``), recorded as sent ``now``."""
        record = self._ready()
        as_of = as_of or now
        for obligation in record.obligations:
            if article3.warning_due(obligation, as_of):
                obligation.warned_at = now
                self._warn(obligation, now)
            if article3.becomes_overdue(obligation, as_of):
                obligation.status = ObligationStatus.OVERDUE
                workflow.logger.warning("deadline missed", extra={"obligation": obligation.id})
            if article3.escalates(obligation, record.event):
                for index in article4.due_steps(obligation, as_of):
                    self._escalate(obligation, index, now)
        self._keep_bounded()

    def _due_before(self, counted: datetime) -> None:
        """What fell due before a report counts is decided first (D.esc, P4.a): a report reaching the
        workflow in the same task as a deadline's timer (after an outage of the workers) and counted at
        its arrival must not hide the step due before it. Behind ``workflow.patched``, asked only when
        something is due."""
        record, as_of = self._ready(), counted - article3.AFTER_DUE
        due = any(
            article3.warning_due(o, as_of)
            or article3.becomes_overdue(o, as_of)
            or (article3.escalates(o, record.event) and article4.due_steps(o, as_of))  # (only an overdue one has steps)
            for o in record.obligations
        )
        if due and self._in_force(DUE_BEFORE_REPORT):
            self._tick(workflow.now(), as_of)

    def _next_wake(self, now: datetime) -> datetime | None:
        """The next moment a rule needs the workflow awake: a durable timer until then (D2)."""
        record = self._ready()
        times = [
            t
            for o in record.obligations
            for t in (
                article3.next_clock(o),
                article4.next_step_at(o) if article3.escalates(o, record.event) else None,
            )
            if t is not None and t > now
        ]
        return min(times, default=None)

    def _run_size(self) -> bounds.RunSize:
        info = workflow.info()
        return bounds.RunSize(
            suggested=info.is_continue_as_new_suggested(),
            history_bytes=info.get_current_history_size(),
            history_events=info.get_current_history_length(),
        )

    async def _continue_as_new(self, reason: str, size: bounds.RunSize) -> None:
        """Hand the bounded record to a new run; notifications still in delivery go with it.

        More of them than a record carries (a channel down for a while): the run goes on until they are
        delivered or recorded as undelivered (P4.b), unless the history presses (``bounds.pressing``).
        """
        input, record = self._inputs()
        await self._drain(input.limits.drain)
        waiting = [*self._deliveries.values(), *self._queued]
        keep = bounds.KEEP_PENDING
        if len(waiting) > keep and self._in_force(DELIVER_UNTIL_DONE):  # asked only when it matters
            keep = bounds.CARRY_PENDING
        if len(waiting) > keep and not bounds.pressing(size, input.limits):
            workflow.logger.info("continue-as-new postponed", extra={"reason": reason, "in_delivery": len(waiting)})
            return
        record.awake_at = workflow.now()
        handed, undelivered = bounds.carried(record, waiting, keep, self._overdue)
        handed.delivery_failures = [  # a pending one given up below is listed as given up instead
            f for f in handed.delivery_failures if f.state != "pending" or f.key in handed.pending_overdue
        ]
        for notification in undelivered:  # beyond what a record carries: recorded as undelivered (P4.b)
            handed.delivery_failures.append(
                DeliveryFailure(
                    key=notification.key, at=workflow.now(), error="续新前未送达 not delivered before continue-as-new",
                    kind=notification.kind, target=notification.target.code,
                )  # fmt: skip
            )
            handed.delivery_failures_total += 1
            workflow.logger.error("notification given up at continue-as-new", extra={"key": notification.key})
        handed.delivery_pending = len(handed.pending_overdue)
        bounds.trim(handed)
        self.handed_over = input.model_copy(update={"carried": handed})
        workflow.logger.info("continue-as-new", extra={"reason": reason, "runs": handed.runs})
        workflow.continue_as_new(args=[self.handed_over], workflow=WORKFLOW_NAME, task_timeout=TASK_TIMEOUT)

    async def _drain(self, timeout: timedelta | None) -> None:
        """No handler half done, and no notification in flight (or ``timeout`` passed)."""
        try:
            await workflow.wait_condition(
                lambda: workflow.all_handlers_finished() and not self._deliveries and not self._queued, timeout=timeout
            )
        except TimeoutError:
            workflow.logger.warning("notifications still in delivery", extra={"count": len(self._deliveries)})

    # ----------------------------------------------------------- the messages

    @workflow.query(name=STATUS_QUERY)
    def status(self) -> IncidentStatus:
        """The incident's record as staff read it: the status JSON contract."""
        if self._input is None or self._record is None:
            raise ApplicationError(f"事件未能立案 the incident did not start: {self._problem}")
        return IncidentStatus.of(self._input, self._record, self._journal)

    def journal(self) -> RunJournal:
        """What this run decided (for the audit, which reads it after a replay)."""
        return self._journal

    def record(self) -> IncidentRecord | None:
        return self._record

    @workflow.update(dynamic=True)
    def on_update(self, name: str, args: Sequence[RawValue]) -> Receipt:
        """File a report (D3) and answer with a small receipt; the validator refused what it cannot take."""
        self._articles_1_2()
        self._article_5()
        validated, self._validated = self._validated, None
        info = workflow.current_update_info()
        if validated is not None and info is not None and validated[0] == info.id:
            message: Report | intake.Refused = validated[1]  # decoded once (issue 13)
        else:  # on replay no validator runs: decoded here, to the same message
            message = intake.message(name, args, workflow.payload_converter(), self._types())
        if isinstance(message, intake.Refused):  # the validator refused it already; never on replay
            raise ApplicationError(message.reason, type="ReportRejected", non_retryable=True)
        record = self._ready()
        self._journal.updates += 1  # every accepted update counts toward Temporal's per-run limit
        self._changed = True
        seq = validation.already_filed(record, message)
        if seq is not None:
            return self._duplicate(message, seq)
        ref, note = self._apply(message, via="update")
        return receipt(record, ref, note=note)

    @on_update.validator
    def validate_update(self, name: str, args: Sequence[RawValue]) -> None:
        if self._input is None or self._record is None:
            raise ApplicationError(f"事件未能立案 the incident did not start: {self._problem}", non_retryable=True)
        message = intake.message(name, args, workflow.payload_converter(), self._types())
        if isinstance(message, intake.Refused):
            raise ApplicationError(message.reason, type="ReportRejected", non_retryable=True)
        if validation.already_filed(self._record, message) is None:  # a duplicate is answered, not filed again
            reason = validation.refusal(self._record, self._chain(), message, workflow.now())
            if reason is not None:
                raise ApplicationError(reason, type="ReportRejected", non_retryable=True)
        info = workflow.current_update_info()
        if info is not None:  # the handler runs next in the same task: it takes the message decoded here
            self._validated = (info.id, message)

    @workflow.signal(dynamic=True)
    def on_signal(self, name: str, args: Sequence[RawValue]) -> None:
        """The same reports for clients that cannot wait: what is refused is recorded, never raised.

        Every signal wakes the run, so continue-as-new is considered after a rejected one too.
        """
        self._journal.signals += 1
        self._changed = True
        if self._input is None or self._record is None:
            return  # the workflow is failing at its start; nothing to record into
        self._articles_1_2()
        self._article_5()
        try:  # pure functions of the input: whatever they raise on a message they did not foresee, refuse it
            message = intake.message(name, args, workflow.payload_converter(), self._types())
            if isinstance(message, intake.Refused):
                self._reject(message.reason, type=message.type, by=message.by, value=message.value)
                return
            filed = validation.already_filed(self._record, message)
            reason = None if filed is not None else validation.refusal(self._record, self._chain(), message, workflow.now())
        except Exception as err:  # never fail the workflow task on a message
            self._reject(f"无法处理的报告 a message that could not be taken: {type(err).__name__}", type=None, by=None)
            return
        if filed is not None:
            workflow.logger.info("report already filed", extra={"report_id": message.report_id, "seq": filed})
            return
        if reason is not None:
            self._reject(reason, type=message.type.value, by=message.as_)
            return
        self._apply(message, via="signal")

    def _reject(self, reason: str, *, type: str | None, by: str | None, value: str | None = None) -> None:
        """Record a refused signal: the last ``KEEP_REJECTED`` and a count. Kept cheap (a flood of
        thousands arrives in one workflow task): logged at debug level, summed up at the next wake."""
        record = self._ready()
        record.rejected.append(
            Rejection(at=workflow.now(), reason=bounds.reason(reason), type=type, via="signal", by=by, value=value)
        )
        if len(record.rejected) > bounds.KEEP_REJECTED:
            del record.rejected[0]
        record.rejected_total += 1
        self._rejected_unlogged += 1
        workflow.logger.debug("report rejected", extra={"reason": record.rejected[-1].reason})

    def _duplicate(self, message: Report, seq: int) -> Receipt:
        record = self._ready()
        ref = next((r for r in [*self._journal.reports, *record.reports] if r.seq == seq), None)
        if ref is not None:
            return receipt(record, ref, duplicate=True)
        return Receipt(
            incident_id=record.incident_id, report_id=message.report_id, seq=seq, type=message.type, by=message.as_,
            at=None, arrived_at=None, duplicate=True, owed=owed(record.obligations), state=record.state,
            closed_at=record.closed_at,
        )  # fmt: skip

    # ------------------------------------------------------------ the reports

    def _apply(self, report: Report, via: str) -> tuple[ReportRef, str | None]:
        """Record ``report`` at the time that counts (P4.h) and apply its rule; return it and a note."""
        input, record = self._inputs()
        now = workflow.now()
        counted = article4.counted_time(report.filed_at, now, input.policy.filing_grace, self._awake())
        transfer_at_arrival = isinstance(report, TransferOrder) and self._article_5()  # it applies at ``now``
        self._due_before(now if transfer_at_arrival else counted)
        ref = ReportRef(
            seq=record.reports_total + 1,
            report_id=report.report_id,
            type=report.type,
            by=report.as_,
            via="signal" if via == "signal" else "update",
            at=counted,
            arrived_at=now,
            filed_at=report.filed_at,
            published_at=report.published_at,
            text=bounds.excerpt(report.text),
            text_length=len(report.text),
            text_sha256=sha256_text(report.text),
        )
        if isinstance(report, ResponseReport):  # A3.1-A3.4, P3.b
            ref.way, ref.channel, ref.speaker = report.way, report.channel, report.speaker
            record.obligations, ref.met = article3.apply_release(
                record.obligations, report.way, counted, ref.seq, input.policy, record.event, record.issued
            )
            if record.first_response is None:
                record.first_response = ref
        elif isinstance(report, AcceptanceReport):  # A4.2
            record.accepted_at, record.accepted_by = counted, report.as_
            for i, o in enumerate(record.obligations):
                if o.kind == ObligationKind.ACCEPTANCE and o.open:
                    record.obligations[i] = article3.fulfil(o, counted, ref.seq)
                    ref.met.append(o.id)
            if self._articles_1_2():  # P4.f: the analysis of a transferred incident is due after acceptance
                record.obligations.append(
                    article4.analysis_obligation(counted, input.policy, record.obligations, record.issued, record.on_file)
                )
        elif isinstance(report, TransferOrder):  # A4.1, S3: at its arrival, never credited (0.4)
            self._transfer(report, ref, now if self._article_5() else counted)
        elif isinstance(report, LeadDesignation):  # A2.1, S5
            self._designate_lead(report, ref, now)
        elif isinstance(report, EvaluationReport):  # A5.1, S6
            self._evaluate(report, ref, now)
        elif isinstance(report, MajorSituationReport):  # A4.4, D4
            self._report_major_situation(ref, report.text)
        elif isinstance(report, ReclassificationReport):  # P3.c, S4
            self._reclassify(report, ref, counted)
        elif isinstance(report, DispositionReport):  # A4.3, S3
            ref.final = report.final
            if report.final:
                record.final_disposition = ref
        elif isinstance(report, CloseRequest):  # S3
            self._close(now, report.text, report.as_, counted)
        elif isinstance(report, ExplanationReport):  # P4.g
            ref.obligation_id = report.obligation_id
            obligation = record.obligation(report.obligation_id)
            if obligation is not None:
                obligation.explanation = Explanation(
                    seq=ref.seq, by=ref.by, at=now, text=ref.text, text_sha256=ref.text_sha256
                )
        if report.type in authority.REQUIRED_ON_FILE and record.transfer is not None and record.articles_1_2:  # P4.f
            record.on_file.setdefault(report.type, ref.seq)
            if report.type == ReportType.ANALYSIS:
                record.obligations, met = article4.meet_analysis(record.obligations, counted, ref.seq)
                ref.met.extend(met)
        record.reports_total = ref.seq
        record.reports.append(ref)
        record.seen[bounds.report_key(report.as_, report.report_id)] = ref.seq
        self._journal.reports.append(ref)
        note = self._settle_final_disposition(now)
        self._keep_bounded()
        self._changed = True
        workflow.logger.debug("report filed", extra={"type": ref.type.value, "seq": ref.seq, "by": ref.by, "credited": ref.credited})
        return ref, note

    def _settle_final_disposition(self, now: datetime) -> str | None:
        """S3 + S7: a final disposition ends the incident once nothing the notice requires is owed."""
        record = self._ready()
        final = record.final_disposition
        if final is None or record.state != IncidentState.OPEN:
            return None
        still = authority.owed_before_final(record.obligations, record.event, analysis=bool(record.article_5))
        if not still and record.article_5 and authority.missing_before_final(record):  # P4.f (0.4)
            return None
        if not still:
            self._close(now, f"最终处置 final disposition #{final.seq}: {final.text}", final.by, now)
            return f"第 {final.seq} 号最终处置所待的时限义务均已完成，事件办结 what final disposition #{final.seq} waited for is met: the incident is closed (S3)"
        kinds = "、".join(o.kind.zh for o in still)
        return (
            f"最终处置已记录；{kinds}办结前仍须完成 the final disposition is recorded; the incident closes once "
            f"{', '.join(o.id for o in still)} {'is' if len(still) == 1 else 'are'} met (S3)"
        )

    def _reclassify(self, report: ReclassificationReport, ref: ReportRef, at: datetime) -> None:
        input, record = self._inputs()
        level, event = validation.reclassified(record, report)
        ref.changes = {
            "opinion_level": {"from": record.opinion_level.value, "to": level.value},
            "event": {
                "from": record.event.model_dump(mode="json") if record.event else None,
                "to": event.model_dump(mode="json") if event else None,
            },
        }
        record.obligations = article3.reclassify(
            record.obligations,
            record.event,
            event,
            at,
            record.discovered_at,
            record.first_response,
            report.text,
            input.policy,
            record.first_due,
            record.issued,
        )
        raised_from = record.opinion_level
        record.opinion_level, record.event = level, event
        record.peak_opinion_level = article5.peak(record.peak_opinion_level or raised_from, level)
        if self._articles_1_2():
            if article2.tells_leadership(raised_from, level):  # A2.2
                self._tell_leadership(f"leadership#{ref.seq}")
            if article2.tells_coordination(raised_from, level):  # A2.3
                self._coordinate(f"coordination#{ref.seq}")

    def _close(self, now: datetime, reason: str, by: str, at: datetime) -> None:
        """办结 at ``now``; what was due by ``at`` (the time that counts) stays missed, the rest is waived."""
        input, record = self._inputs()
        record.state = IncidentState.CLOSED
        record.closed_at, record.closed_by = now, by
        record.close_reason = bounds.reason(reason)
        record.obligations = article3.waive_on_close(record.obligations, reason, at)
        if self._article_5():  # P5.b: the evaluation window opens
            record.evaluation_until = article5.evaluation_until(now, input.policy)

    def _evaluate(self, report: EvaluationReport, ref: ReportRef, now: datetime) -> None:
        """A5.1: the office's verdicts, with who, when and why; the latest counts."""
        record = self._ready()
        ref.changes = {"response": report.response.value, "disposition": report.disposition.value}
        record.evaluations.append(
            Evaluation(
                seq=ref.seq, by=report.as_, at=now, response=report.response, disposition=report.disposition,
                reason=ref.text, reason_sha256=ref.text_sha256,
            )
        )  # fmt: skip
        record.evaluations = record.evaluations[-bounds.KEEP_EVALUATIONS :]
        record.evaluations_total += 1
        self._changed = True

    def _keep_bounded(self) -> None:
        """Let go of old closed obligations (into the journal) and cut every list (``rules.bounds``)."""
        record = self._ready()
        for o in record.obligations:
            first = record.first_due.get(o.kind)
            if first is None or o.due_at < first:
                record.first_due[o.kind] = o.due_at
        record.obligations, dropped, record.issued = bounds.compact_obligations(record.obligations, record.issued)
        self._journal.dropped.extend(dropped)
        bounds.trim(record)

    # ------------------------------------------- Articles 一 and 二: who answers, who is told

    def _article_5(self) -> bool:
        """Whether this incident runs the fourth release: Article 五 (evaluation, its window) and the
        corrections of 0.3.0 found by its review (transfers, leads, P4.f). Decided once, on the record,
        behind ``workflow.patched``: an incident of 0.3.0 replays and runs on as it did."""
        record = self._ready()
        if record.article_5 is None:
            record.article_5 = self._in_force(ARTICLE_5)
        return record.article_5

    def _in_force(self, change: str) -> bool:
        """Whether this incident runs ``change``: listed in its input (opened by a release that has it),
        else ``workflow.patched`` — a history recorded before the change replays as it ran.

        A listed change records no marker. Replaying, it still asks ``workflow.patched`` (and runs the
        change whatever the answer): a worker one release behind its starters ignores the list and marks
        the change, and that marker must be matched here or the history would not replay. Not replaying,
        ``patched`` would record a marker, so it is not asked."""
        input = self._input
        if input is None or change not in input.in_force:
            return workflow.patched(change)
        if workflow.unsafe.is_replaying():
            workflow.patched(change)  # matches an older worker's marker; records nothing where there is none
        return True

    def _articles_1_2(self) -> bool:
        """Whether this incident runs the third release's rules: decided once, on the record, behind
        ``workflow.patched`` so histories recorded before it replay as they ran."""
        record = self._ready()
        if record.articles_1_2 is None:
            record.articles_1_2 = self._in_force(ARTICLES_1_2)
        return record.articles_1_2

    def _open_articles_1_2(self) -> None:
        """At opening: the transfer on the list (A4.1), principal leaders (A2.2), coordination (A2.3)."""
        input, record = self._inputs()
        if record.transfer is not None and not record.transfers:
            record.transfers, record.transfers_total = [record.transfer], 1
        # 0.4: the opening level, not one a first message already raised (0.3 read the record's). A first
        # message runs its handler before this and decides the flag; without one the two levels are equal.
        opened_at = input.incident.opinion_level if record.article_5 else record.opinion_level
        if article2.tells_leadership(None, opened_at):
            self._tell_leadership("leadership#0")
        if article2.tells_coordination(None, opened_at):
            self._coordinate("coordination#0")

    def _transfer(self, order: TransferOrder, ref: ReportRef, at: datetime) -> None:
        """A4.1, P4.c: the receiving unit and its chain take over; its acceptance is due within 1 h of the
        order's arrival (``at``: the office's order is never credited with a filing time, P4.h, so the
        unit's hour starts when it can be told)."""
        input, record = self._inputs()
        self._articles_1_2()
        before_chain = {u.code for u in self._chain()}
        before_coordination = {u.code for u in input.coordination_of(record)}
        to = order.chain[0]
        transfer = Transfer(
            at=at, by=order.as_, from_state_council=order.source == TransferSource.STATE_COUNCIL,
            note=clip(order.text, 100, 300), to=to.code, previous=record.responsible_unit,
        )  # fmt: skip
        ref.changes = {"to": to.code, "from": record.responsible_unit, "source": order.source.value}
        record.obligations = article4.retransfer(record.obligations, at, to.code, analysis=bool(record.article_5))
        record.obligations.append(article4.acceptance_obligation(transfer, input.policy, record.obligations, record.issued))
        record.transfer = transfer
        record.transfers.append(transfer)
        record.transfers_total = max(record.transfers_total, len(record.transfers) - 1) + 1
        record.chain, record.coordination = list(order.chain), list(order.coordination)
        record.responsible_unit = to.code
        record.accepted_at = record.accepted_by = None
        record.lead_unit = record.lead_by = record.lead_at = None  # the lead was the previous government's
        record.on_file = {}
        self._tell("transfer", to, f"transfer#{ref.seq}")
        if not record.article_5:
            return  # 0.3 stopped here
        record.final_disposition = None  # the previous unit's; the receiving unit files its own (P4.f)
        # A2.2, A2.3: the new chain's leaders and the new level's coordination units, if not told before
        if record.opinion_level == OpinionLevel.PARTICULARLY_MAJOR:
            self._tell_leadership(f"leadership#{ref.seq}", skip=before_chain)
        if record.opinion_level.rank >= OpinionLevel.MAJOR.rank:
            self._coordinate(f"coordination#{ref.seq}", skip=before_coordination)
        workflow.logger.warning("incident transferred", extra={"to": to.code, "from": transfer.previous})

    def _designate_lead(self, order: LeadDesignation, ref: ReportRef, at: datetime) -> None:
        """A2.1: the lead department may report (S1) and hears the responsible unit's escalations."""
        record = self._ready()
        ref.changes = {"lead": order.unit.code, "from": record.lead_unit.code if record.lead_unit else None}
        record.lead_unit, record.lead_by, record.lead_at = order.unit, order.as_, at
        self._tell("lead", order.unit, f"lead#{ref.seq}")

    def _tell_leadership(self, about: str, skip: Collection[str] = ()) -> None:
        """A2.2: the principal leaders of the county and city governments in the chain, at once."""
        for level, unit in enumerate(self._chain(), start=1):
            if unit.kind in article2.LEADING_GOVERNMENTS and unit.code not in skip:
                self._tell("leadership", unit, about, level=level, role=Role.PRINCIPAL_LEADER)

    def _coordinate(
        self, about: str, report: tuple[ReportRef, str] | None = None, skip: Collection[str] = ()
    ) -> None:
        """A2.3: 宣传 and 网信 of the responsible unit's level and the communications administration."""
        input, record = self._inputs()
        for level, unit in enumerate(input.coordination_of(record), start=1):
            if unit.code not in skip:
                self._tell("coordination", unit, about, level=level, report=report)

    def _role(self, target: Unit) -> Role:
        """A2.2: at 特别重大 a government is addressed through its principal leader."""
        record = self._ready()
        if record.articles_1_2 and article2.addresses_principal(target, record.opinion_level):
            return Role.PRINCIPAL_LEADER
        return Role.LEADER_IN_CHARGE

    def _tell(
        self,
        kind: NotificationKind,
        target: Unit,
        about: str,
        *,
        level: int = 0,
        round_: int = 1,
        role: Role | None = None,
        obligation: Obligation | None = None,
        action: EscalationAction | None = None,
        skipped: int = 0,
        report: tuple[ReportRef, str] | None = None,
    ) -> None:
        """Send a notification beyond warnings and escalations and record it (A1.3, P4.b)."""
        record = self._ready()
        role = role or self._role(target)
        key = article4.idempotency_key(workflow.info().workflow_id, about, level, round_)
        notice = NoticeRecord(kind=kind, key=key, target=target.code, role=role, at=workflow.now())
        record.notices.append(notice)
        record.notices_total += 1
        self._journal.notices.append(notice)
        bounds.trim(record)
        self._send(
            kind, target, obligation=obligation, key_id=about, level=level, round_=round_, action=action,
            skipped=skipped, role=role, report=report,
        )  # fmt: skip

    # ------------------------------------------------------- the notifications

    def _warn(self, obligation: Obligation, now: datetime) -> None:
        """P3.e: the responsible unit hears before the deadline."""
        record = self._ready()
        target = self._chain()[0]
        warning = WarningRecord(obligation=obligation.kind, obligation_id=obligation.id, target=target.code, at=now)
        record.warnings.append(warning)
        record.warnings_total += 1
        self._journal.warnings.append(warning)
        self._send("warning", target, obligation=obligation, role=self._role(target))

    def _escalate(self, obligation: Obligation, index: int, now: datetime) -> None:
        """D.esc, P4.a, P4.d: one step up the chain; the steps it skipped are recorded, not sent."""
        record = self._ready()
        step = article4.step(obligation, index, self._chain())
        skipped = index - obligation.next_step
        obligation.next_step = index + 1
        obligation.escalations += 1
        obligation.last_level, obligation.last_escalated_at = step.level, now
        escalation = Escalation(
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
            role=self._role(step.target),
        )
        record.escalations.append(escalation)
        record.escalations_total += 1
        self._journal.escalations.append(escalation)
        workflow.logger.warning(
            "escalation",
            extra={"obligation": obligation.id, "escalation_level": step.level, "round": step.round, "target": step.target.code},
        )
        self._send(
            "escalation", step.target, obligation=obligation, level=step.level, round_=step.round,
            action=step.action, skipped=skipped, role=escalation.role,
        )  # fmt: skip
        if step.level == 1 and record.lead_unit is not None:  # A2.1, P4.d: the lead hears what the unit hears
            self._tell(
                "escalation", record.lead_unit, f"{obligation.id}+lead", level=step.level, round_=step.round,
                obligation=obligation, action=step.action, skipped=skipped,
            )  # fmt: skip

    def _report_major_situation(self, ref: ReportRef, text: str) -> None:
        """A4.4, D4: 遇有重大情况，随时向省政府报告 — at once, no timer in between."""
        target = article4.major_situation_target(self._chain())
        self._send("major_situation", target, key_id=f"major_situation#{ref.seq}", report=(ref, text))
        if self._articles_1_2():  # A2.3: important information goes to 宣传, 网信 and 通信管理 too
            self._coordinate(f"coordination#{ref.seq}", report=(ref, text))

    def _notify_opened(self) -> None:
        """The responsible unit learns of the incident and its deadlines (A4.1 where transferred)."""
        self._send("opened", self._chain()[0], key_id="opened")

    def _send(
        self,
        kind: NotificationKind,
        target: Unit,
        *,
        obligation: Obligation | None = None,
        key_id: str | None = None,
        level: int = 0,
        round_: int = 1,
        action: EscalationAction | None = None,
        skipped: int = 0,
        report: tuple[ReportRef, str] | None = None,
        role: Role = Role.LEADER_IN_CHARGE,
    ) -> None:
        """A notification as facts (the activity writes its words), keyed by the workflow id (P4.b)."""
        input, record = self._inputs()
        unit = self._chain()[0]
        facts = IncidentFacts(
            title=input.incident.title,
            responsible_unit=unit.code,
            responsible_unit_name=unit.name,
            state=record.state,
            opinion_level=record.opinion_level,
            event=record.event,
            transferred=record.transfer is not None,
            owed=owed(record.obligations),
        )
        subject = key_id or (obligation.id if obligation is not None else kind)
        self._dispatch(
            Notification(
                key=article4.idempotency_key(workflow.info().workflow_id, subject, level, round_),
                incident_id=record.incident_id,
                kind=kind,
                at=workflow.now(),
                target=target,
                role=role,
                incident=facts,
                obligation=brief(obligation) if obligation is not None else None,
                level=level,
                round=round_,
                action=action,
                skipped_steps=skipped,
                report_seq=report[0].seq if report else None,
                report_text=report[1] if report else None,
                report_by=report[0].by if report else None,
            )
        )

    def _dispatch(self, notification: Notification) -> None:
        """Deliver ``notification``; beyond ``MAX_IN_FLIGHT`` at once it waits its turn, so a flood of
        accepted messages (thousands of major situations in one task) never schedules thousands of
        activities in one workflow task (the SDK's deadlock detector fails it after 2 s)."""
        if len(self._deliveries) >= MAX_IN_FLIGHT and self._bounded_dispatch():
            self._queued.append(notification)
            return
        task = asyncio.create_task(self._deliver(notification))
        self._deliveries[task] = notification
        task.add_done_callback(self._delivered)

    def _delivered(self, done: asyncio.Task[None]) -> None:
        self._deliveries.pop(done, None)
        while self._queued and len(self._deliveries) < MAX_IN_FLIGHT:
            self._dispatch(self._queued.popleft())

    def _bounded_dispatch(self) -> bool:
        """Behind ``workflow.patched``, asked only when the cap is reached: a history that once had more
        in flight replays as it ran."""
        if self._bounded is None:
            self._bounded = self._in_force(BOUNDED_DISPATCH)
        return self._bounded

    async def _deliver(self, notification: Notification) -> None:
        """Deliver with retries; a channel that stays down never fails or blocks the incident (P4.b).

        Past the retry window the notification is listed as pending in ``delivery_failures`` and
        retried until delivered (Temporal's retry policy, capped), then it leaves the list. Only a
        permanent refusal (``REFUSED``) ends the retries; it stays listed as refused."""
        input, _ = self._inputs()
        if notification.key not in self._overdue:  # handed over past its window: no second window
            try:
                await self._attempt(notification, input.policy.notification_retry, NOTIFY_RETRY)
                return
            except ActivityError as err:
                cause = err.cause or err
                refused = isinstance(cause, ApplicationError) and cause.non_retryable
                if refused or not self._in_force(DELIVER_UNTIL_DONE):
                    self._undelivered(notification, cause, "refused" if refused else "undelivered")
                    return
            self._overdue.add(notification.key)
            self._undelivered(notification, cause, "pending")
        try:
            await self._attempt(notification, None, until_delivered(workflow.random().random()))
        except ActivityError as err:  # only a permanent refusal ends the retries
            self._overdue.discard(notification.key)
            self._undelivered(notification, err.cause or err, "refused")
            return
        self._delivered_late(notification)

    async def _attempt(self, notification: Notification, window: timedelta | None, retry: RetryPolicy) -> None:
        await workflow.execute_activity_method(
            Notifier.deliver,
            notification,
            start_to_close_timeout=NOTIFY_ATTEMPT,
            heartbeat_timeout=NOTIFY_HEARTBEAT,
            schedule_to_close_timeout=window,
            retry_policy=retry,
        )

    def _undelivered(self, notification: Notification, cause: BaseException, state: DeliveryState) -> None:
        """List ``notification`` in ``delivery_failures`` (pending, refused or given up)."""
        record = self._ready()
        failure = DeliveryFailure(
            key=notification.key, at=workflow.now(), error=clip(str(cause), 200, 300),
            state=state, kind=notification.kind, target=notification.target.code,
        )  # fmt: skip
        record.delivery_failures = bounds.note_failure(record.delivery_failures, failure)
        record.delivery_failures_total += 1
        record.delivery_pending = len(self._overdue)
        self._journal.failures.append(failure)
        log = workflow.logger.warning if state == "pending" else workflow.logger.error
        log("notification not delivered", extra={"key": notification.key, "state": state, "error": str(cause)})

    def _delivered_late(self, notification: Notification) -> None:
        """A pending notification got through: it leaves the list (the journal keeps the fact)."""
        record = self._ready()
        done = DeliveryFailure(
            key=notification.key, at=workflow.now(), error="", state="delivered",
            kind=notification.kind, target=notification.target.code,
        )  # fmt: skip
        record.delivery_failures = bounds.note_failure(record.delivery_failures, done)
        self._journal.failures.append(done)
        self._overdue.discard(notification.key)
        record.delivery_pending = len(self._overdue)
        workflow.logger.info("notification delivered after its retry window", extra={"key": notification.key})

    # --------------------------------------------------------------- opening

    @staticmethod
    def _opening_record(input: IncidentInput, now: datetime) -> IncidentRecord:
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
        return IncidentRecord(
            incident_id=incident.id,
            opinion_level=incident.opinion_level,
            event=incident.event,
            responsible_unit=input.chain[0].code,
            discovered_at=discovered_at,
            opened_at=now,
            opened_by=input.opened_by,
            obligations=obligations,
            first_due={o.kind: o.due_at for o in obligations},
            rejected=rejected,
            rejected_total=len(rejected),
            transfer=incident.transfer,
            peak_opinion_level=incident.opinion_level,
        )

    # ----------------------------------------------------------- helpers

    def _ready(self) -> IncidentRecord:
        if self._record is None:
            raise ApplicationError(f"事件未能立案 the incident did not start: {self._problem}", non_retryable=True)
        return self._record

    def _types(self) -> Sequence[ReportType]:
        """The message types this incident takes (an incident of an earlier release: the earlier ones)."""
        record = self._record
        if record is None:
            return tuple(ReportType)
        return intake.types_for(articles_1_2=record.articles_1_2 is not False, article_5=record.article_5 is not False)

    def _chain(self) -> list[Unit]:
        """The chain now (P4.d): the receiving unit's after a transfer (A4.1)."""
        input, record = self._inputs()
        return input.chain_of(record)

    def _inputs(self) -> tuple[IncidentInput, IncidentRecord]:
        record = self._ready()
        assert self._input is not None
        return self._input, record

    def _publish(self) -> None:
        """Upsert the search attributes that changed, so incidents list and filter by them.

        A first run counts what its start already carried (``sa.at_start``, given by the starter) as
        published, and upserts only what differs. Replay-safe without a patch: it depends on the start
        event alone, and no history recorded before carries search attributes at the start of a first
        run (a continued run inherits them: it upserts at its start as it always did)."""
        input, record = self._inputs()
        if not input.search_attributes:
            return
        values = sa.values_of(record)
        if self._published is None:
            info = workflow.info()
            first = info.continued_run_id is None and input.carried is None
            self._published = sa.given(info.typed_search_attributes, values) if first else {}
        published = self._published
        changed = {name: value for name, value in values.items() if published.get(name) != value}
        if changed:
            workflow.upsert_search_attributes(sa.updates(changed))
            published.update(changed)
