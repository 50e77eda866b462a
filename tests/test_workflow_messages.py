"""Reports, refusals, who may act, reclassification, explanations and the major situation in a running
workflow (D3, D4, P3.c, P4.g, P4.h, A4.x, S1-S7)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.channels import SqliteOutbox
from starter import service
from tests.conftest import CITY, COUNTY, OFFICE, UNIT, Clock, make, make_incident, query_status, release
from yuqing.models import (
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    EventGrade,
    ExplanationReport,
    IncidentState,
    MajorSituationReport,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    Receipt,
    ReclassificationReport,
    ReleaseChannel,
    ResponseWay,
    Transfer,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)
S = timedelta(seconds=1)


async def running(handle) -> bool:  # type: ignore[no-untyped-def]
    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


# ------------------------------------------------------------- A4.3 reports


async def test_a4_3_analysis_response_disposition_are_recorded_at_arrival(clock: Clock) -> None:
    """A4.3 + P4.e: each report is recorded with who filed it and its arrival; a claimed publication time
    is kept beside it, never used."""
    handle = await clock.open(make_incident())
    await clock.to(handle, 3 * H)
    claimed = datetime.now(timezone.utc) - 2 * H
    await clock.file(handle, make(AnalysisReport, text="研判：关注度上升"))
    await clock.file(handle, release(ResponseWay.AUTHORITATIVE_RELEASE, ReleaseChannel.GOVERNMENT_WEBSITE, published_at=claimed))
    status = await clock.file(handle, make(DispositionReport, text="已约谈涉事学校"))
    assert [(r.type, r.by, r.seq) for r in status.reports] == [("analysis", UNIT, 1), ("response", UNIT, 2), ("disposition", UNIT, 3)]
    response = status.reports[1]
    assert response.published_at == claimed and response.channel == ReleaseChannel.GOVERNMENT_WEBSITE
    # P4.e: the time that counts is arrival, about 3 h after discovery, not the claimed time
    assert response.at - status.discovered_at >= 3 * H and not response.credited
    assert status.obligation("response#1").met_at == response.at
    assert response.text_length == len("通过政务微博发布情况通报") and len(response.text_sha256) == 64
    assert status.state == IncidentState.OPEN


async def test_s3_final_disposition_closes_once_nothing_required_is_owed(clock: Clock) -> None:
    """A4.3 + S3: a final disposition by the unit ends the incident when no 5 h, 24 h, 48 h or acceptance
    obligation is owed; what is not yet due (a continued release) is waived; later reports are refused."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 2 * H)
    await clock.file(handle, release(ResponseWay.PRESS_CONFERENCE))
    receipt = await service.file_report(clock.client, handle.id, make(DispositionReport, text="处置完毕", final=True))
    assert receipt.state == IncidentState.CLOSED and receipt.closed_at is not None
    status = await handle.result()
    assert status.state == IncidentState.CLOSED and status.closed_by == UNIT
    assert status.obligation("continued_release#1").status == ObligationStatus.WAIVED
    assert status.obligation("press_conference#1").status == ObligationStatus.MET
    with pytest.raises(service.Rejected, match="closed"):
        await service.file_report(clock.client, handle.id, make(DispositionReport, text="再次最终处置", final=True))


async def test_s3_a_final_disposition_at_4h59_waives_nothing(clock: Clock) -> None:
    """S3 + S7: a final disposition filed at 4 h 59 min while the 5 h and 24 h obligations are owed is
    recorded, and the incident stays open: the 5 h obligation still escalates at 5 h; it closes once
    both are met (the first release let the unit waive its own obligations this way)."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 4 * H + 59 * M)
    receipt = await service.file_report(clock.client, handle.id, make(DispositionReport, text="处置完毕", final=True))
    assert receipt.state == IncidentState.OPEN
    assert receipt.note is not None and "authoritative_info#1" in receipt.note and "press_conference#1" in receipt.note
    status = await clock.to(handle, 5 * H + M)
    assert status.obligation("authoritative_info#1").status == ObligationStatus.OVERDUE
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("authoritative_info#1", 1)]
    assert status.final_disposition is not None and status.final_disposition.seq == 1
    status = await clock.file(handle, release())
    assert status.state == IncidentState.OPEN  # the 24 h press conference is still owed
    status = await clock.file(handle, release(ResponseWay.PRESS_CONFERENCE))
    assert status.state == IncidentState.CLOSED and status.closed_by == UNIT
    assert "final disposition #1" in (status.close_reason or "")
    assert status.obligation("authoritative_info#1").status == ObligationStatus.LATE
    assert not await running(handle) or (await handle.result()).state == IncidentState.CLOSED


async def test_s3_close_by_provincial_office_keeps_overdue_for_assessment(clock: Clock) -> None:
    """S3 办结 by the provincial office, with a reason and who closed it: overdue obligations stay overdue
    (A5.3 reads them), pending ones are waived."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 5 * H + M)
    receipt = await service.close_incident(clock.client, handle.id, "省政府办公厅决定办结", by=OFFICE)
    assert receipt.state == IncidentState.CLOSED and receipt.by == OFFICE
    status = await handle.result()
    assert (status.close_reason, status.closed_by) == ("省政府办公厅决定办结", OFFICE)
    assert status.obligation("authoritative_info#1").status == ObligationStatus.OVERDUE
    assert status.obligation("press_conference#1").status == ObligationStatus.WAIVED
    assert not await running(handle)


@pytest.mark.parametrize("by", [UNIT, COUNTY, CITY])
async def test_s3_nobody_but_the_office_closes(clock: Clock, by: str) -> None:
    """S3: closing by the responsible unit (or any government below the office) is refused; the record,
    the clocks and the workflow are untouched (the first release closed anonymously for anyone)."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    before = await clock.status(handle)
    with pytest.raises(service.Rejected, match="S3"):
        await service.close_incident(clock.client, handle.id, "自行办结", by=by)
    await service.signal_report(clock.client, handle.id, make(CloseRequest, by=by, text="自行办结").model_dump(mode="json", by_alias=True))
    status = await clock.status(handle)
    assert status.state == IncidentState.OPEN and [o.status for o in status.obligations] == [o.status for o in before.obligations]
    [rejection] = status.rejected
    assert (rejection.via, rejection.by, rejection.type) == ("signal", by, "close") and "S3" in rejection.reason
    assert await running(handle)


# ----------------------------------------------------- S4 reclassification


async def test_s4_the_unit_cannot_downgrade_its_own_event(clock: Clock) -> None:
    """S4 + S7: the unit that owes the 5 h and 24 h obligations cannot lower the grading and so waive them;
    its government can."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 4 * H)
    down = make(ReclassificationReport, text="自行降级", event_grade=EventGrade.GENERAL)
    with pytest.raises(service.Rejected, match="S4"):
        await service.file_report(clock.client, handle.id, down)
    status = await clock.status(handle)
    assert status.event is not None and status.event.grade == EventGrade.MAJOR
    assert status.obligation("authoritative_info#1").status == ObligationStatus.PENDING
    status = await clock.file(handle, make(ReclassificationReport, by=COUNTY, text="经核实为一般事件", event_grade=EventGrade.GENERAL))
    assert status.obligation("authoritative_info#1").status == ObligationStatus.WAIVED
    assert status.reports[-1].by == COUNTY
    # raising is anyone's in the chain, the unit included
    status = await clock.file(handle, make(ReclassificationReport, text="舆情升温", opinion_level=OpinionLevel.PARTICULARLY_MAJOR))
    assert status.opinion_level == OpinionLevel.PARTICULARLY_MAJOR


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        (make(ReclassificationReport, by=COUNTY, text="复核", opinion_level=OpinionLevel.RELATIVELY_MAJOR), "定级未变"),
        (make(ReclassificationReport, by=COUNTY, text="复核", event_grade=EventGrade.MAJOR), "类别"),
        (make(AcceptanceReport, text="已接收"), "A4.2"),  # nothing was transferred
        (make(AnalysisReport, by="370200", text="外市越权报送"), "S1"),
    ],
)
async def test_rejected_update_leaves_workflow_running_and_record_intact(clock: Clock, report: object, reason: str) -> None:
    """D3: an update the rules refuse is rejected to its caller; the workflow and its record are untouched."""
    handle = await clock.open(make_incident(level=OpinionLevel.RELATIVELY_MAJOR))
    await clock.file(handle, make(AnalysisReport, text="研判"))
    before = await clock.status(handle)
    with pytest.raises(service.Rejected, match=reason):
        await service.file_report(clock.client, handle.id, report)  # type: ignore[arg-type]
    after = await clock.status(handle)
    assert await running(handle)
    assert after.model_dump() == before.model_dump()


async def test_published_at_in_future_is_refused(clock: Clock) -> None:
    """P4.e: a claimed publication time in the future is refused, never used."""
    handle = await clock.open(make_incident())
    future = datetime.now(timezone.utc) + 2 * H
    with pytest.raises(service.Rejected, match="P4.e"):
        await service.file_report(clock.client, handle.id, release(published_at=future))
    status = await clock.status(handle)
    assert status.reports == [] and status.obligation("response#1").status == ObligationStatus.PENDING


async def test_invalid_signals_are_recorded_as_rejected_and_never_block(clock: Clock) -> None:
    """D3: a signal cannot be refused to its sender: the workflow records why, who sent it and the start of
    what was sent, and keeps running."""
    handle = await clock.open(make_incident())
    await clock.file(handle, make(AnalysisReport, text="研判"))
    good = release().model_dump(mode="json", by_alias=True)
    bad = [
        {**good, "report_id": str(uuid.uuid4()), "way": None},  # no way
        {**good, "report_id": str(uuid.uuid4()), "way": "飞鸽传书"},  # unknown way
        {**good, "report_id": str(uuid.uuid4()), "way": "政务网站"},  # a channel, not a way (P3.b)
        {**good, "report_id": str(uuid.uuid4()), "text": "   "},  # empty text
        {**good, "report_id": str(uuid.uuid4()), "text": "长" * 5000},  # over the limit
        {**good, "report_id": str(uuid.uuid4()), "type": "gossip"},  # unknown type
        {**good, "report_id": str(uuid.uuid4()), "as": None},  # nobody acts
        "not even an object",
        make(ReclassificationReport, by=COUNTY, text="复核").model_dump(mode="json", by_alias=True),  # changes nothing
    ]
    for payload in bad:
        await service.signal_report(clock.client, handle.id, payload)
    await service.signal_report(clock.client, handle.id, good)
    status = await clock.status(handle)
    assert len(status.rejected) == status.rejected_total == len(bad)
    assert all(r.reason and r.via == "signal" for r in status.rejected)
    assert "way" in status.rejected[0].reason and "定级未变" in status.rejected[-1].reason
    assert status.rejected[5].type == "gossip" and status.rejected[0].by == UNIT
    assert [(r.type, r.via) for r in status.reports] == [("analysis", "update"), ("response", "signal")]
    assert status.obligation("response#1").status == ObligationStatus.MET
    assert await running(handle)
    status = await clock.file(handle, make(AnalysisReport, text="再研判"))  # updates still work afterwards
    assert len(status.reports) == 3


async def test_p3_a_future_discovery_is_refused_at_the_starter(clock: Clock) -> None:
    """P3.a: a discovery time in the future is rejected before any workflow starts."""
    incident = make_incident(discovered_at=datetime.now(timezone.utc) + H)
    with pytest.raises(service.Rejected, match="P3.a"):
        await service.open_incident(clock.client, incident, opened_by=UNIT)
    with pytest.raises(service.UnknownIncident):
        await service.get_status(clock.client, incident.id)


async def test_existing_id_is_never_overwritten(clock: Clock) -> None:
    """An incident id is opened once; a second open is refused, even after the first is closed."""
    incident = make_incident()
    handle = await clock.open(incident)
    await clock.file(handle, make(AnalysisReport, text="研判"))
    with pytest.raises(service.IncidentExists):
        await service.open_incident(clock.client, incident, opened_by=UNIT)
    await service.close_incident(clock.client, handle.id, "办结", by=OFFICE)
    await handle.result()
    with pytest.raises(service.IncidentExists):
        await service.open_incident(clock.client, incident, opened_by=UNIT)
    assert [r.type for r in (await query_status(handle)).reports] == ["analysis", "close"]


# ------------------------------------------------------------ idempotent filing


async def test_a_resent_report_is_answered_never_filed_twice(clock: Clock) -> None:
    """Idempotent filing: the same report id sent again — as an update or a signal — files nothing and is
    answered with the first filing's number."""
    handle = await clock.open(make_incident())
    report = release()
    first = await service.file_report(clock.client, handle.id, report)
    again = await service.file_report(clock.client, handle.id, report)
    assert (again.seq, again.report_id) == (first.seq, first.report_id)
    await service.signal_report(clock.client, handle.id, report.model_dump(mode="json", by_alias=True))
    # Temporal answers the same update id with the first receipt; under another update id (another
    # client, or after continue-as-new) the workflow's own memory of report ids answers
    resent = report.model_copy(update={"text": "同一编号重发"})
    duplicate = await handle.execute_update("report", resent, id=str(uuid.uuid4()), result_type=Receipt)
    assert duplicate.duplicate and duplicate.seq == first.seq
    status = await clock.status(handle)
    assert [r.seq for r in status.reports] == [1] and status.rejected == []


# --------------------------------------------------------------- P4.g explanation


async def test_p4_g_explanation_beside_a_missed_obligation_changes_no_status(clock: Clock) -> None:
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    with pytest.raises(service.Rejected, match="P4.g"):
        await service.file_report(clock.client, handle.id, make(ExplanationReport, obligation_id="authoritative_info#1", text="尚未逾期"))
    await clock.to(handle, 5 * H + 30 * M)
    status = await clock.file(handle, make(ExplanationReport, obligation_id="authoritative_info#1", text="现场通信中断，延误发布"))
    info = status.obligation("authoritative_info#1")
    assert info.status == ObligationStatus.OVERDUE
    assert info.explanation is not None and (info.explanation.by, info.explanation.text) == (UNIT, "现场通信中断，延误发布")
    assert status.reports[-1].obligation_id == "authoritative_info#1"
    status = await clock.to(handle, 6 * H + M)
    assert [e.level for e in status.escalations] == [1, 2]  # it changed nothing: the escalation goes on


# ------------------------------------------------------ A4.4 major situation


async def test_a4_4_major_situation_reaches_the_provincial_office_with_no_time_passing(
    clock: Clock, outbox: SqliteOutbox
) -> None:
    """A4.4, D4: 遇有重大情况，随时向省政府报告 — the notification carries the report's own instant."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 2 * H)
    before = await clock.now(handle)
    receipt = await service.file_report(clock.client, handle.id, make(MajorSituationReport, text="现场出现人员伤亡"))
    await clock.settle(handle)
    [row] = [r for r in outbox.rows(handle.id) if r["kind"] == "major_situation"]
    assert row["target"] == OFFICE
    assert row["key"] == f"{handle.id}/major_situation#{receipt.seq}/0/1"
    assert receipt.at is not None and datetime.fromisoformat(row["at"]) == receipt.at
    assert receipt.at - before < timedelta(seconds=5)  # no timer in between
    assert "现场出现人员伤亡" in row["body"] and UNIT in row["body"]


# --------------------------------------------------------- P3.c reclassification


async def test_p3_c_reclassified_up_starts_5h_and_24h_clocks_and_keeps_48h(clock: Clock) -> None:
    """P3.c up: 5 h and 24 h clocks start at the reclassification; the 48 h response stays; one release meets both."""
    handle = await clock.open(make_incident(grade=EventGrade.RELATIVELY_MAJOR))
    await clock.to(handle, 10 * H)
    status = await clock.file(handle, make(ReclassificationReport, text="伤亡人数上升", event_grade=EventGrade.MAJOR))
    at = status.reports[-1].at
    info, press = status.obligation("authoritative_info#1"), status.obligation("press_conference#1")
    assert (info.clock_start, info.due_at, press.due_at) == (at, at + 5 * H, at + 24 * H)
    response = status.obligation("response#1")
    assert response.status == ObligationStatus.PENDING and response.due_at == status.discovered_at + 48 * H
    assert status.event is not None and status.event.grade == EventGrade.MAJOR
    assert status.reports[-1].changes["event"]["to"]["grade"] == "major"  # type: ignore[index]
    status = await clock.to(handle, 14 * H + 59 * M)  # 4 h 59 min after the reclassification: still pending
    assert status.obligation("authoritative_info#1").status == ObligationStatus.PENDING
    status = await clock.file(handle, release())
    assert status.reports[-1].met == ["response#1", "authoritative_info#1"]
    status = await clock.to(handle, 15 * H + M)
    assert status.escalations == []


async def test_p3_c_up_down_up_keeps_the_first_5h_deadline(clock: Clock) -> None:
    """P3.c (revised): up at 1 h, down at 2 h, up again at 3 h — the 5 h deadline stays at 6 h (the first
    release moved it to 8 h), and it escalates there."""
    handle = await clock.open(make_incident(grade=EventGrade.RELATIVELY_MAJOR))
    await clock.to(handle, 1 * H)
    await clock.file(handle, make(ReclassificationReport, text="升级", event_grade=EventGrade.MAJOR))
    await clock.to(handle, 2 * H)
    await clock.file(handle, make(ReclassificationReport, by=COUNTY, text="降级", event_grade=EventGrade.RELATIVELY_MAJOR))
    await clock.to(handle, 3 * H)
    status = await clock.file(handle, make(ReclassificationReport, text="再次升级", event_grade=EventGrade.MAJOR))
    first, second = (o for o in status.obligations if o.kind == ObligationKind.AUTHORITATIVE_INFO)
    assert first.status == ObligationStatus.WAIVED and second.due_at == first.due_at
    status = await clock.to(handle, first.due_at - status.discovered_at - M)
    assert status.escalations == []
    status = await clock.to(handle, first.due_at - status.discovered_at + M)
    assert [(e.obligation_id, e.level) for e in status.escalations] == [(second.id, 1)]


async def test_p3_c_downgrade_keeps_the_escalated_obligation_overdue_and_stops_its_escalation(clock: Clock) -> None:
    """P3.c (revised) down: the pending 24 h obligation is waived with the reason; the 5 h one, already
    escalated, stays overdue on the record and stops escalating; the 48 h one from discovery is met by the
    first response."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 1 * H)
    first = await service.file_report(clock.client, handle.id, release(ResponseWay.MEDIA_INTERVIEW, ReleaseChannel.NEWS_MEDIA))
    await clock.to(handle, 6 * H + M)  # an interview does not meet the 5 h obligation (P3.b): levels 1 and 2
    status = await clock.file(handle, make(ReclassificationReport, by=COUNTY, text="经核实为一般事件", event_grade=EventGrade.GENERAL))
    info, press = status.obligation("authoritative_info#1"), status.obligation("press_conference#1")
    assert (info.status, press.status) == (ObligationStatus.OVERDUE, ObligationStatus.WAIVED)
    assert "经核实为一般事件" in (press.waived_reason or "") and info.waived_reason is None
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("authoritative_info#1", 1), ("authoritative_info#1", 2)]
    response = status.obligation("response#1")
    assert response.due_at == status.discovered_at + 48 * H
    assert (response.status, response.met_at, response.met_by) == (ObligationStatus.MET, first.at, first.seq)
    status = await clock.to(handle, 12 * H)  # no longer 重大: it stays overdue, and escalates no more
    assert len(status.escalations) == 2 and status.obligation("authoritative_info#1").status == ObligationStatus.OVERDUE


async def test_p3_c_reclassified_down_without_response_runs_48h_from_discovery(clock: Clock) -> None:
    """P3.c down: with no response made, the 48 h obligation runs from discovery and escalates after 48 h."""
    handle = await clock.open(make_incident(grade=EventGrade.PARTICULARLY_MAJOR))
    await clock.to(handle, 2 * H)
    status = await clock.file(handle, make(ReclassificationReport, by=OFFICE, text="降级", remove_event=True))
    assert status.event is None
    assert status.obligation("response#1").status == ObligationStatus.PENDING
    status = await clock.to(handle, 47 * H + 59 * M)
    assert status.escalations == []
    status = await clock.to(handle, 48 * H + M)
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("response#1", 1)]


# --------------------------------------------------------- A4.1, A4.2, P4.c


async def test_p4_c_transferred_incident_must_be_accepted_within_1h(clock: Clock) -> None:
    """A4.1, A4.2, P4.c: a transfer by the provincial office owes acceptance within 1 h; it escalates like any other."""
    now = datetime.now(timezone.utc)
    handle = await clock.open(make_incident(transfer=Transfer(at=now, by=OFFICE, from_state_council=True)))
    status = await clock.status(handle)
    acceptance = status.obligation("acceptance#1")
    assert acceptance.due_at == now + H and acceptance.rule == "P4.c" and status.opened_by == OFFICE
    status = await clock.to(handle, 59 * M)
    assert status.obligation("acceptance#1").status == ObligationStatus.PENDING
    status = await clock.to(handle, 61 * M)
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("acceptance#1", 1)]
    with pytest.raises(service.Rejected, match="S2"):  # only the receiving unit accepts
        await service.file_report(clock.client, handle.id, make(AcceptanceReport, by=COUNTY, text="代为接收"))
    status = await clock.file(handle, make(AcceptanceReport, text="即接即办"))
    assert status.obligation("acceptance#1").status == ObligationStatus.LATE
    assert (status.accepted_at, status.accepted_by) == (status.reports[-1].at, UNIT)


async def test_s3_a_transfer_is_opened_by_the_provincial_office_only(clock: Clock) -> None:
    with pytest.raises(service.Rejected, match="S3"):
        await service.open_incident(
            clock.client, make_incident(transfer=Transfer(at=datetime.now(timezone.utc), by=OFFICE)), opened_by=UNIT
        )


async def test_concurrent_reports_are_all_recorded(clock: Clock) -> None:
    """D3: reports racing each other are each recorded once, numbered in arrival order."""
    handle = await clock.open(make_incident())
    await asyncio.gather(*(service.file_report(clock.client, handle.id, make(AnalysisReport, text=f"研判 {i}")) for i in range(10)))
    status = await clock.status(handle)
    assert sorted(r.text for r in status.reports) == sorted(f"研判 {i}" for i in range(10))
    assert [r.seq for r in status.reports] == list(range(1, 11))


async def test_an_update_is_decoded_once_and_racing_updates_keep_their_own(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 13: the validator's decoding is the handler's (not done twice); updates arriving in one
    workflow task each file their own report."""
    from workflows.rules import intake

    decoded: list[str] = []
    decode = intake.message

    def counting(*args: object, **kwargs: object) -> object:
        found = decode(*args, **kwargs)  # type: ignore[arg-type]
        decoded.append(getattr(found, "report_id", ""))
        return found

    monkeypatch.setattr(intake, "message", counting)
    handle = await clock.open(make_incident())
    reports = [make(AnalysisReport, text=f"研判 {i}") for i in range(6)]
    receipts = await asyncio.gather(*(service.file_report(clock.client, handle.id, r) for r in reports))
    ours = {r.report_id for r in reports}
    assert sorted(x for x in decoded if x in ours) == sorted(ours)  # once each: before, validator and handler
    assert {r.report_id: r.seq for r in receipts} == {
        r.report_id: s.seq for s in (await clock.status(handle)).reports for r in reports if r.text == s.text
    }
