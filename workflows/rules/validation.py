"""Which messages an incident refuses, and why: one function for updates and signals alike.

An update is refused in its validator (the caller gets the reason, nothing enters the history); a
signal cannot be refused to its sender, so the workflow records the same reason in ``rejected``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from workflows.rules import authority, bounds
from workflows.rules.article4_supervision import explanation_refusal
from workflows.rules.article5_assessment import evaluation_open
from yuqing.models import (
    AcceptanceReport,
    CloseRequest,
    DispositionReport,
    EvaluationReport,
    ExplanationReport,
    IncidentRecord,
    IncidentState,
    LeadDesignation,
    OpinionLevel,
    ReclassificationReport,
    Report,
    SuddenEvent,
    TransferOrder,
    Unit,
)
from yuqing.timefmt import beijing


def reclassified(record: IncidentRecord, report: ReclassificationReport) -> tuple[OpinionLevel, SuddenEvent | None]:
    """The grading after ``report`` (P3.c): unset fields stay as they were.

    Raises ``ValueError`` where the request cannot be turned into a grading.
    """
    level = report.opinion_level or record.opinion_level
    if report.remove_event:
        if report.event_grade or report.event_category:
            raise ValueError("不能同时取消并设置突发事件 remove_event conflicts with event_grade/event_category")
        return level, None
    event = record.event
    if report.event_grade or report.event_category:
        grade = report.event_grade or (event.grade if event else None)
        category = report.event_category or (event.category if event else None)
        if grade is None or category is None:
            raise ValueError("新增突发事件须同时给出等级和类别 a new sudden event needs both its grade and its category")
        event = SuddenEvent(grade=grade, category=category)
    return level, event


def already_filed(record: IncidentRecord, report: Report) -> int | None:
    """Idempotent filing: the ``seq`` this unit's ``report_id`` was filed as (it is answered, not
    filed again), or ``None`` for a new report."""
    return record.seen.get(bounds.report_key(report.as_, report.report_id))


def refusal(record: IncidentRecord, chain: Sequence[Unit], report: Report, now: datetime) -> str | None:
    """Why the incident refuses ``report`` arriving at ``now``, or ``None`` if it takes it."""
    actor = report.as_
    if isinstance(report, EvaluationReport):  # A5.1, S6, P5.b
        if not evaluation_open(record, now):
            return f"评价期已过 the evaluation window of incident {record.incident_id} has ended (P5.b)"
        return authority.may_evaluate(actor, chain)
    if record.state == IncidentState.CLOSED:
        until = f"；评价期至 {beijing(record.evaluation_until)}，只接收评价 only evaluations until then (P5.b)" if (
            record.evaluation_until is not None and now < record.evaluation_until
        ) else ""
        return f"事件已办结，不再接收报告 incident {record.incident_id} is closed{until}"
    if report.published_at is not None and report.published_at > now:
        return f"发布时间 {beijing(report.published_at)} 晚于当前时间 published_at is in the future (P4.e)"
    if isinstance(report, AcceptanceReport):
        return authority.may_accept(actor, record)
    if isinstance(report, CloseRequest):
        return authority.may_close(actor, chain)
    strict = record.article_5 is not False  # 0.4's checks; an incident of 0.3.0 keeps its own
    if isinstance(report, TransferOrder):  # A4.1, S3
        problem = authority.may_transfer(actor, chain, report.chain, links=strict)
        if problem is None and strict:
            problem = authority.coordination_shape(report.coordination, report.chain)
        size = sum(len(u.model_dump_json().encode()) for u in [*report.chain, *report.coordination])
        if problem is None and strict and size > authority.MAX_TRANSFER_UNITS_BYTES:
            problem = f"转办单位信息过大 the transfer's units take {size} bytes, at most {authority.MAX_TRANSFER_UNITS_BYTES}"
        return problem
    if isinstance(report, LeadDesignation):  # A2.1, S5
        return authority.may_designate_lead(actor, chain, report.unit, record.lead_unit, strict=strict)
    if isinstance(report, ReclassificationReport):
        outside = authority.in_chain(actor, chain)
        if outside is not None:
            return outside
        try:
            level, event = reclassified(record, report)
        except ValueError as err:
            return str(err)
        if level == record.opinion_level and event == record.event:
            return "定级未变 the grading would not change (P3.c)"
        down = authority.lowers(record.opinion_level, record.event, level, event)
        return authority.may_reclassify(actor, chain, down)
    lead = record.lead_unit.code if record.lead_unit is not None else None
    problem = authority.may_report(actor, chain, lead)
    if problem is None and isinstance(report, ExplanationReport):
        problem = explanation_refusal(record.obligation(report.obligation_id), report.obligation_id)
    if problem is None and isinstance(report, DispositionReport) and report.final and record.final_disposition:
        first = record.final_disposition
        problem = f"已报最终处置（第 {first.seq} 号，{first.by}）a final disposition is already on file as report #{first.seq} (S3)"
    if problem is None and isinstance(report, DispositionReport) and report.final:
        missing = authority.missing_before_final(record)
        if missing:
            problem = (
                f"督办件须先报送{'、'.join(t.zh for t in missing)}情况，方可报最终处置 a transferred incident needs "
                f"its {', '.join(t.value for t in missing)} report(s) on file before a final disposition (P4.f); "
                f"the provincial office can still close it with a reason"
            )
    return problem
