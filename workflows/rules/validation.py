"""Which messages an incident refuses, and why: one function for updates and signals alike.

An update is refused in its validator (the caller gets the reason, nothing enters the history);
a signal cannot be refused to its sender, so the workflow records the same reason in ``rejected``.
"""

from __future__ import annotations

from datetime import datetime

from yuqing.models import (
    AcceptanceReport,
    IncidentState,
    IncidentStatus,
    OpinionLevel,
    ReclassificationReport,
    SuddenEvent,
)


def reclassified(
    status: IncidentStatus, report: ReclassificationReport
) -> tuple[OpinionLevel, SuddenEvent | None]:
    """The grading after ``report`` (P3.c): unset fields stay as they were.

    Raises ``ValueError`` where the request cannot be turned into a grading.
    """
    level = report.opinion_level or status.opinion_level
    if report.remove_event:
        if report.event_grade or report.event_category:
            raise ValueError("不能同时取消并设置突发事件 remove_event conflicts with event_grade/event_category")
        return level, None
    event = status.event
    if report.event_grade or report.event_category:
        grade = report.event_grade or (event.grade if event else None)
        category = report.event_category or (event.category if event else None)
        if grade is None or category is None:
            raise ValueError("新增突发事件须同时给出等级和类别 a new sudden event needs both its grade and its category")
        event = SuddenEvent(grade=grade, category=category)
    return level, event


def refusal(status: IncidentStatus, report: object, now: datetime) -> str | None:
    """Why the incident refuses ``report`` arriving at ``now``, or ``None`` if it takes it."""
    if status.state == IncidentState.CLOSED:
        return f"事件已办结，不再接收报告 incident {status.incident_id} is closed"
    published_at = getattr(report, "published_at", None)
    if published_at is not None and published_at > now:
        return f"发布时间晚于当前时间 published_at {published_at.isoformat()} is in the future (P4.e)"
    if isinstance(report, AcceptanceReport) and status.accepted_at is not None:
        return f"已于 {status.accepted_at.isoformat()} 接收 already accepted (A4.2)"
    if isinstance(report, ReclassificationReport):
        try:
            level, event = reclassified(status, report)
        except ValueError as err:
            return str(err)
        if level == status.opinion_level and event == status.event:
            return "定级未变 the grading would not change (P3.c)"
    return None
