"""Which reports an incident refuses (D3, P3.c, P4.e, A4.2), as a pure function."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows.rules.article4_supervision import escalation_chain
from workflows.rules.validation import refusal
from yuqing.directory import Directory
from yuqing.models import (
    AnalysisReport,
    EventCategory,
    EventGrade,
    IncidentState,
    IncidentStatus,
    OpinionLevel,
    ReclassificationReport,
    ResponseReport,
    ResponseWay,
    SuddenEvent,
)

T0 = datetime(2026, 5, 22, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)


@pytest.fixture
def status(directory: Directory) -> IncidentStatus:
    chain = escalation_chain(directory, "370102-jyj")
    unit = chain[0]
    return IncidentStatus(
        incident_id="YQ-test",
        opinion_level=OpinionLevel.MAJOR,
        event=SuddenEvent(grade=EventGrade.MAJOR, category=EventCategory.ACCIDENT),
        responsible_unit=unit.code,
        discovered_at=T0,
        title="测试舆情",
        responsible_unit_name=unit.name,
        leader=unit.leader,
        section=unit.section,
        chain=chain,
        opened_at=T0,
        policy_name="test",
    )


def test_a_closed_incident_refuses_every_report(status: IncidentStatus) -> None:
    """办结: nothing more is taken, whatever it is."""
    assert refusal(status, AnalysisReport(text="研判"), T0 + H) is None
    closed = status.model_copy(update={"state": IncidentState.CLOSED})
    for report in (AnalysisReport(text="研判"), ResponseReport(text="回应", way=ResponseWay.ONLINE_POST)):
        assert "closed" in (refusal(closed, report, T0 + H) or "")


def test_p4_e_published_at_up_to_arrival_is_taken_later_is_refused(status: IncidentStatus) -> None:
    """P4.e: a claimed publication time is refused only when it is after the arrival (the future)."""
    now = T0 + 3 * H

    def response(published_at: datetime) -> ResponseReport:
        return ResponseReport(text="回应", way=ResponseWay.ONLINE_POST, published_at=published_at)

    assert refusal(status, response(now - H), now) is None
    assert refusal(status, response(now), now) is None
    assert "P4.e" in (refusal(status, response(now + timedelta(microseconds=1)), now) or "")


def test_p3_c_remove_event_and_set_a_grade_is_refused(status: IncidentStatus) -> None:
    """P3.c: 'no sudden event' and 'this grade' at once is a contradiction, refused with its reason."""
    both = ReclassificationReport(text="复核", remove_event=True, event_grade=EventGrade.GENERAL)
    assert "remove_event" in (refusal(status, both, T0 + H) or "")
    assert refusal(status, ReclassificationReport(text="复核", remove_event=True), T0 + H) is None
