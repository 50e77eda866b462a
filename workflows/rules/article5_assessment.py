"""Article 五 建立考核问责制度 — what the workflow keeps for the assessment.

省政府办公厅对各市、各部门政务舆情回应处置工作进行评价……对政务舆情回应不妥当、处置不得力……的，予以
通报批评；情节严重的，约谈整改。

The workflow records the provincial office's evaluation (A5.1, S6) and, after 办结, waits for it through
an evaluation window with every clock stopped (P5.b). The assessment itself (A5.2, A5.3) is built from
the histories by ``assessment/``, never here.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from yuqing.models import IncidentRecord, IncidentState, OpinionLevel, Policy


def evaluation_until(closed_at: datetime, policy: Policy) -> datetime:
    """P5.b (ours): a closed incident takes the office's evaluation for this long (30 days)."""
    return closed_at + policy.evaluation_window


def awaiting_evaluation(record: IncidentRecord, now: datetime) -> bool:
    """P5.b: closed, not yet evaluated, and the window still open: the workflow waits, clocks stopped."""
    return (
        record.state == IncidentState.CLOSED
        and not record.evaluations
        and record.evaluation_until is not None
        and now < record.evaluation_until
    )


def evaluation_open(record: IncidentRecord, now: datetime) -> bool:
    """A5.1: an evaluation is taken while the incident is open or within its evaluation window (P5.b)."""
    if record.state == IncidentState.OPEN:
        return True
    return record.evaluation_until is not None and now < record.evaluation_until


def peak(current: OpinionLevel | None, level: OpinionLevel) -> OpinionLevel:
    """A5.3: the highest opinion level an incident ever had (重大 or above at any time counts)."""
    return level if current is None or level.rank > current.rank else current


CHINA = timezone(timedelta(hours=8))
"""Asia/Shanghai without a time-zone database (no I/O in a workflow; no DST in China since 1991)."""


def previous_month(now: datetime) -> tuple[date, date]:
    """A5.2: the calendar month before ``now``'s, in Beijing time: what a monthly circular covers."""
    first_this = now.astimezone(CHINA).date().replace(day=1)
    last_before = first_this - timedelta(days=1)
    return last_before.replace(day=1), last_before
