"""Which messages an incident refuses and who may send them (D3, P3.c, P4.e, A4.2, S1-S7), as pure functions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import CITY, COUNTY, OFFICE, UNIT, make
from workflows.rules import authority
from workflows.rules.article3_timeliness import new_obligation, opening_obligations
from workflows.rules.article4_supervision import escalation_chain
from workflows.rules.validation import refusal
from yuqing.directory import Directory
from yuqing.models import (
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    EventCategory,
    EventGrade,
    ExplanationReport,
    IncidentRecord,
    IncidentState,
    MajorSituationReport,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReclassificationReport,
    ReleaseChannel,
    ResponseReport,
    ResponseWay,
    SuddenEvent,
    Transfer,
    Unit,
)
from yuqing.policy import load_policy

T0 = datetime(2026, 5, 22, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
POLICY = load_policy()
MAJOR = SuddenEvent(grade=EventGrade.MAJOR, category=EventCategory.ACCIDENT)
OTHER_CITY_UNIT, OTHER_DEPARTMENT = "370200", "370100-gaj"


@pytest.fixture
def chain(directory: Directory) -> list[Unit]:
    return escalation_chain(directory, UNIT)


@pytest.fixture
def record() -> IncidentRecord:
    return IncidentRecord(
        incident_id="YQ-test", opinion_level=OpinionLevel.MAJOR, event=MAJOR, responsible_unit=UNIT,
        discovered_at=T0, opened_at=T0, opened_by=UNIT, obligations=opening_obligations(MAJOR, T0, POLICY),
    )  # fmt: skip


def response(by: str = UNIT, **fields: Any) -> ResponseReport:
    return make(ResponseReport, by=by, way=ResponseWay.AUTHORITATIVE_RELEASE, channel=ReleaseChannel.WEIBO, **fields)  # type: ignore[no-any-return]


def test_a_closed_incident_refuses_every_report(record: IncidentRecord, chain: list[Unit]) -> None:
    """办结: nothing more is taken, whatever it is and whoever sends it."""
    assert refusal(record, chain, make(AnalysisReport), T0 + H) is None
    closed = record.model_copy(update={"state": IncidentState.CLOSED})
    for report in (make(AnalysisReport), response(), make(CloseRequest, by=OFFICE)):
        assert "closed" in (refusal(closed, chain, report, T0 + H) or "")


def test_p4_e_published_at_up_to_arrival_is_taken_later_is_refused(record: IncidentRecord, chain: list[Unit]) -> None:
    """P4.e: a claimed publication time is refused only when it is after the arrival (the future)."""
    now = T0 + 3 * H
    assert refusal(record, chain, response(published_at=now - H), now) is None
    assert refusal(record, chain, response(published_at=now), now) is None
    assert "P4.e" in (refusal(record, chain, response(published_at=now + timedelta(microseconds=1)), now) or "")


def test_p3_c_remove_event_and_set_a_grade_is_refused(record: IncidentRecord, chain: list[Unit]) -> None:
    """P3.c: 'no sudden event' and 'this grade' at once is a contradiction, refused with its reason."""
    both = make(ReclassificationReport, by=COUNTY, remove_event=True, event_grade=EventGrade.GENERAL)
    assert "remove_event" in (refusal(record, chain, both, T0 + H) or "")
    assert refusal(record, chain, make(ReclassificationReport, by=COUNTY, remove_event=True), T0 + H) is None


# ------------------------------------------------------------------ S1: reports


@pytest.mark.parametrize("kind", [AnalysisReport, DispositionReport, MajorSituationReport])
@pytest.mark.parametrize(
    ("by", "allowed"),
    [(UNIT, True), (COUNTY, True), (CITY, True), (OFFICE, True), (OTHER_CITY_UNIT, False), (OTHER_DEPARTMENT, False)],
)
def test_s1_reports_from_the_unit_or_above_it_in_its_chain(
    record: IncidentRecord, chain: list[Unit], kind: Any, by: str, allowed: bool
) -> None:
    """S1: the responsible unit, or a unit above it in its chain; anyone else is refused, naming S1."""
    reason = refusal(record, chain, make(kind, by=by), T0 + H)
    assert (reason is None) == allowed, reason
    if not allowed:
        assert "S1" in (reason or "")
    assert (refusal(record, chain, response(by=by), T0 + H) is None) == allowed


def test_s1_lead_department_may_report(chain: list[Unit]) -> None:
    """S1 + A2.1: the lead department may file reports for the incident."""
    assert authority.may_report(OTHER_DEPARTMENT, chain, lead_unit=OTHER_DEPARTMENT) is None
    assert authority.may_report(OTHER_DEPARTMENT, chain) is not None


# ------------------------------------------------------------------ S2: acceptance


def test_s2_acceptance_without_a_transfer_is_refused(record: IncidentRecord, chain: list[Unit]) -> None:
    """S2 + A4.2: an incident that was not transferred has nothing to accept."""
    assert "A4.2" in (refusal(record, chain, make(AcceptanceReport), T0 + H) or "")


def test_s2_only_the_receiving_unit_accepts_a_pending_transfer(record: IncidentRecord, chain: list[Unit]) -> None:
    transferred = record.model_copy(update={"transfer": Transfer(at=T0, by=OFFICE)})
    assert refusal(transferred, chain, make(AcceptanceReport), T0 + H) is None
    for by in (COUNTY, OFFICE, OTHER_DEPARTMENT):
        assert "S2" in (refusal(transferred, chain, make(AcceptanceReport, by=by), T0 + H) or "")
    accepted = transferred.model_copy(update={"accepted_at": T0 + H})
    assert "already accepted" in (refusal(accepted, chain, make(AcceptanceReport), T0 + 2 * H) or "")


# ------------------------------------------------------------------ S3: close and final disposition


@pytest.mark.parametrize(("by", "allowed"), [(OFFICE, True), (UNIT, False), (COUNTY, False), (CITY, False)])
def test_s3_only_the_provincial_office_closes(record: IncidentRecord, chain: list[Unit], by: str, allowed: bool) -> None:
    reason = refusal(record, chain, make(CloseRequest, by=by, text="办结"), T0 + H)
    assert (reason is None) == allowed
    if not allowed:
        assert "S3" in (reason or "")


def test_s3_s7_what_a_final_disposition_cannot_waive() -> None:
    """S3 + S7: the 5 h, 24 h, 48 h and acceptance obligations still owed keep the incident open; a
    continued release does not; a 5 h one left overdue by a downgrade is no longer owed (P3.c)."""
    obs = [
        new_obligation(ObligationKind.AUTHORITATIVE_INFO, T0, POLICY, []),
        new_obligation(ObligationKind.CONTINUED_RELEASE, T0, POLICY, []),
    ]
    assert [o.kind for o in authority.owed_before_final(obs, MAJOR)] == [ObligationKind.AUTHORITATIVE_INFO]
    obs[0] = obs[0].model_copy(update={"status": ObligationStatus.OVERDUE})
    assert [o.kind for o in authority.owed_before_final(obs, MAJOR)] == [ObligationKind.AUTHORITATIVE_INFO]
    assert authority.owed_before_final(obs, None) == []  # downgraded: missed on the record, no longer owed
    obs[0] = obs[0].model_copy(update={"status": ObligationStatus.LATE})
    assert authority.owed_before_final(obs, MAJOR) == []


def test_s3_a_second_final_disposition_is_refused(record: IncidentRecord, chain: list[Unit]) -> None:
    from yuqing.models import ReportRef, ReportType

    first = ReportRef(seq=3, report_id="final-0001", type=ReportType.DISPOSITION, by=UNIT, at=T0, arrived_at=T0,
                      text="处置完毕", text_length=4, text_sha256="0" * 64, final=True)  # fmt: skip
    waiting = record.model_copy(update={"final_disposition": first})
    assert "#3" in (refusal(waiting, chain, make(DispositionReport, final=True), T0 + H) or "")
    assert refusal(waiting, chain, make(DispositionReport), T0 + H) is None  # an ordinary one is still taken


# ------------------------------------------------------------------ S4: reclassification


@pytest.mark.parametrize(
    ("by", "up", "down"),
    [
        (UNIT, True, False),  # the unit that owes the obligations never lowers them (S4, S7)
        (COUNTY, True, True),  # its government
        (CITY, True, True),  # the government above that
        (OFFICE, True, True),  # the provincial office
        (OTHER_CITY_UNIT, False, False),  # not in the chain
    ],
)
def test_s4_who_may_raise_and_who_may_lower(
    record: IncidentRecord, chain: list[Unit], by: str, up: bool, down: bool
) -> None:
    raise_ = make(ReclassificationReport, by=by, opinion_level=OpinionLevel.PARTICULARLY_MAJOR)
    lower = make(ReclassificationReport, by=by, event_grade=EventGrade.GENERAL)
    remove = make(ReclassificationReport, by=by, remove_event=True)
    assert (refusal(record, chain, raise_, T0 + H) is None) == up
    assert (refusal(record, chain, lower, T0 + H) is None) == down
    assert (refusal(record, chain, remove, T0 + H) is None) == down
    if not down:
        assert "S4" in (refusal(record, chain, lower, T0 + H) or "")


def test_s4_a_unit_outside_the_chain_learns_nothing(record: IncidentRecord, chain: list[Unit]) -> None:
    """S4: a unit outside the chain is refused as such, before the grading is compared (which would tell
    it the current grading)."""
    same = make(ReclassificationReport, by=OTHER_DEPARTMENT, opinion_level=OpinionLevel.MAJOR)
    assert "not in this incident's chain" in (refusal(record, chain, same, T0 + H) or "")


def test_s4_the_office_may_lower_its_own_incident(directory: Directory) -> None:
    """S4: "or the provincial office" — also where the office is itself the responsible unit."""
    office_chain = escalation_chain(directory, OFFICE)
    assert authority.may_reclassify(OFFICE, office_chain, down=True) is None


@pytest.mark.parametrize(
    ("level", "grade", "lowers"),
    [
        (OpinionLevel.RELATIVELY_MAJOR, EventGrade.MAJOR, True),  # opinion level down
        (OpinionLevel.MAJOR, EventGrade.RELATIVELY_MAJOR, True),  # event grade down
        (OpinionLevel.PARTICULARLY_MAJOR, EventGrade.RELATIVELY_MAJOR, True),  # mixed: down counts
        (OpinionLevel.PARTICULARLY_MAJOR, EventGrade.PARTICULARLY_MAJOR, False),
        (OpinionLevel.MAJOR, EventGrade.MAJOR, False),
    ],
)
def test_s4_what_lowers_a_grading(level: OpinionLevel, grade: EventGrade, lowers: bool) -> None:
    new_event = SuddenEvent(grade=grade, category=EventCategory.ACCIDENT)
    assert authority.lowers(OpinionLevel.MAJOR, MAJOR, level, new_event) == lowers
    assert authority.lowers(OpinionLevel.MAJOR, MAJOR, OpinionLevel.MAJOR, None)  # removing the event
    assert not authority.lowers(OpinionLevel.MAJOR, None, OpinionLevel.MAJOR, MAJOR)  # adding one


# ------------------------------------------------------------------ P4.g: explanations


def test_p4_g_explanation_from_the_unit_for_a_missed_obligation(record: IncidentRecord, chain: list[Unit]) -> None:
    info = record.obligations[0]
    explain = make(ExplanationReport, obligation_id=info.id, text="系统故障，延误发布")
    assert "P4.g" in (refusal(record, chain, explain, T0 + H) or "")  # still pending: nothing to explain
    record.obligations[0] = info.model_copy(update={"status": ObligationStatus.OVERDUE})
    assert refusal(record, chain, explain, T0 + 6 * H) is None
    assert "S1" in (refusal(record, chain, make(ExplanationReport, by=OTHER_CITY_UNIT, obligation_id=info.id), T0 + 6 * H) or "")
    assert "P4.g" in (refusal(record, chain, make(ExplanationReport, obligation_id="response#7"), T0 + 6 * H) or "")
