"""Reports, refusals, reclassification and the major situation in a running workflow (D3, D4, P3.c, A4.x)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.client import WorkflowExecutionStatus

from activities.channels import SqliteOutbox
from starter import service
from tests.conftest import Clock, make_incident
from workflows.incident import IncidentWorkflow
from yuqing.models import (
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    EventCategory,
    EventGrade,
    IncidentState,
    MajorSituationReport,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReclassificationReport,
    ResponseReport,
    ResponseWay,
    Transfer,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)


async def running(handle) -> bool:  # type: ignore[no-untyped-def]
    return (await handle.describe()).status == WorkflowExecutionStatus.RUNNING


# ------------------------------------------------------------- A4.3 reports


async def test_a4_3_analysis_response_disposition_are_recorded_at_arrival(clock: Clock) -> None:
    """A4.3 + P4.e: each report is recorded with its arrival time; a claimed publication time is kept beside it."""
    handle = await clock.open(make_incident())
    await clock.to(handle, 3 * H)
    claimed = datetime.now(timezone.utc) - 2 * H
    await service.file_report(clock.client, handle.id, AnalysisReport(text="研判：关注度上升"))
    status = await service.file_report(
        clock.client, handle.id, ResponseReport(text="官方回应", way=ResponseWay.ONLINE_POST, published_at=claimed)
    )
    status = await service.file_report(clock.client, handle.id, DispositionReport(text="已约谈涉事学校"))
    assert [r.type for r in status.reports] == ["analysis", "response", "disposition"]
    response = status.reports[1]
    assert response.published_at == claimed
    # P4.e: the time that counts is arrival, about 3 h after discovery, not the claimed time
    assert response.at - status.discovered_at >= 3 * H
    assert status.obligation("response#1").met_at == response.at
    assert status.state == IncidentState.OPEN


async def test_a4_3_final_disposition_closes_and_later_reports_are_refused(clock: Clock) -> None:
    """A4.3: a final disposition ends the incident; what is not yet due is waived, and reports are refused."""
    handle = await clock.open(make_incident())
    await service.file_report(clock.client, handle.id, ResponseReport(text="回应", way=ResponseWay.BRIEFING))
    status = await service.file_report(clock.client, handle.id, DispositionReport(text="处置完毕", final=True))
    assert status.state == IncidentState.CLOSED and status.closed_at is not None
    assert status.obligation("continued_release#1").status == ObligationStatus.WAIVED
    assert status.obligation("response#1").status == ObligationStatus.MET
    result = await handle.result()
    assert result.state == IncidentState.CLOSED
    with pytest.raises(service.Rejected):
        await service.file_report(clock.client, handle.id, DispositionReport(text="再次最终处置", final=True))
    after = await handle.query(IncidentWorkflow.status)
    assert [r.type for r in after.reports] == ["response", "disposition"]


async def test_close_by_provincial_office_keeps_overdue_for_assessment(clock: Clock) -> None:
    """办结 with a reason: overdue obligations stay overdue (A5.3 reads them), pending ones are waived."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 5 * H + M)
    status = await service.file_report(clock.client, handle.id, CloseRequest(text="省政府办公厅决定办结"))
    assert status.state == IncidentState.CLOSED and status.close_reason == "省政府办公厅决定办结"
    assert status.obligation("authoritative_info#1").status == ObligationStatus.OVERDUE
    assert status.obligation("press_conference#1").status == ObligationStatus.WAIVED
    await handle.result()
    assert not await running(handle)


# ----------------------------------------------------- D3 refusals and signals


@pytest.mark.parametrize(
    ("report", "reason"),
    [
        (ReclassificationReport(text="复核", opinion_level=OpinionLevel.RELATIVELY_MAJOR), "定级未变"),
        (ReclassificationReport(text="复核", event_grade=EventGrade.MAJOR), "类别"),
        (AcceptanceReport(text="已接收"), None),
    ],
)
async def test_rejected_update_leaves_workflow_running_and_record_intact(
    clock: Clock, report: object, reason: str | None
) -> None:
    """D3: an update the rules refuse is rejected to its caller; the workflow and its record are untouched."""
    handle = await clock.open(make_incident(level=OpinionLevel.RELATIVELY_MAJOR))
    await service.file_report(clock.client, handle.id, AnalysisReport(text="研判"))
    if reason is None:  # a second acceptance is the refused one (A4.2)
        await service.file_report(clock.client, handle.id, report)  # type: ignore[arg-type]
        reason = "already accepted"
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
        await service.file_report(
            clock.client, handle.id, ResponseReport(text="回应", way=ResponseWay.ONLINE_POST, published_at=future)
        )
    status = await clock.status(handle)
    assert status.reports == [] and status.obligation("response#1").status == ObligationStatus.PENDING


async def test_invalid_signals_are_recorded_as_rejected_and_never_block(clock: Clock) -> None:
    """D3: a signal cannot be refused to its sender: the workflow records why and keeps running."""
    handle = await clock.open(make_incident())
    await service.file_report(clock.client, handle.id, AnalysisReport(text="研判"))
    bad = [
        {"type": "response", "text": "回应"},  # no way
        {"type": "response", "text": "回应", "way": "飞鸽传书"},  # unknown way
        {"type": "analysis", "text": "   "},  # empty text
        {"type": "analysis", "text": "长" * 5000},  # over the limit
        {"type": "gossip", "text": "?"},  # unknown type
        "not even an object",
        {"type": "reclassification", "text": "复核"},  # changes nothing
    ]
    for payload in bad:
        await service.signal_report(clock.client, handle.id, payload)  # type: ignore[arg-type]
    await service.signal_report(clock.client, handle.id, {"type": "response", "text": "回应", "way": "新闻发布会"})
    status = await clock.status(handle)
    assert len(status.rejected) == len(bad)
    assert all(r.reason and r.via == "signal" for r in status.rejected)
    assert "way" in status.rejected[0].reason and "定级未变" in status.rejected[-1].reason
    assert [(r.type, r.via) for r in status.reports] == [("analysis", "update"), ("response", "signal")]
    assert status.obligation("response#1").status == ObligationStatus.MET
    assert await running(handle)
    # and updates still work afterwards
    status = await service.file_report(clock.client, handle.id, AnalysisReport(text="再研判"))
    assert len(status.reports) == 3


async def test_p3_a_future_discovery_is_refused_at_the_starter(clock: Clock) -> None:
    """P3.a: a discovery time in the future is rejected before any workflow starts."""
    incident = make_incident(discovered_at=datetime.now(timezone.utc) + H)
    with pytest.raises(service.Rejected, match="P3.a"):
        await service.open_incident(clock.client, incident)
    with pytest.raises(service.UnknownIncident):
        await service.get_status(clock.client, incident.id)


async def test_p3_a_future_discovery_from_another_client_is_recorded_not_fatal(clock: Clock, directory) -> None:  # type: ignore[no-untyped-def]
    """P3.a: a workflow started by another client with a future discovery uses the opening time and says so."""
    from workflows.incident import IncidentInput
    from workflows.rules.article4_supervision import escalation_chain
    from yuqing.policy import load_policy
    from tests.conftest import TASK_QUEUE

    incident = make_incident(discovered_at=datetime.now(timezone.utc) + 5 * H)
    handle = await clock.client.start_workflow(
        IncidentWorkflow.run,
        IncidentInput(incident=incident, policy=load_policy(), chain=escalation_chain(directory, incident.responsible_unit)),
        id=incident.id,
        task_queue=TASK_QUEUE,
    )
    status = await clock.status(handle)
    assert status.discovered_at == status.opened_at
    [rejection] = status.rejected
    assert rejection.via == "start" and "P3.a" in rejection.reason


async def test_existing_id_is_never_overwritten(clock: Clock) -> None:
    """An incident id is opened once; a second open is refused, even after the first is closed."""
    incident = make_incident()
    handle = await clock.open(incident)
    await service.file_report(clock.client, handle.id, AnalysisReport(text="研判"))
    with pytest.raises(service.IncidentExists):
        await service.open_incident(clock.client, incident)
    await service.file_report(clock.client, handle.id, CloseRequest(text="办结"))
    await handle.result()
    with pytest.raises(service.IncidentExists):
        await service.open_incident(clock.client, incident)
    assert [r.type for r in (await handle.query(IncidentWorkflow.status)).reports] == ["analysis"]


# ------------------------------------------------------ A4.4 major situation


async def test_a4_4_major_situation_reaches_the_provincial_office_with_no_time_passing(
    clock: Clock, outbox: SqliteOutbox
) -> None:
    """A4.4, D4: 遇有重大情况，随时向省政府报告 — the notification carries the report's own instant."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 2 * H)
    before = await clock.now(handle)
    status = await service.file_report(clock.client, handle.id, MajorSituationReport(text="现场出现人员伤亡"))
    report = status.reports[-1]
    await clock.settle(handle)
    [row] = [r for r in outbox.rows(handle.id) if r["kind"] == "major_situation"]
    assert row["target"] == "sz-bgt"
    assert row["key"] == f"{handle.id}/major_situation#{report.seq}/0/1"
    assert datetime.fromisoformat(row["at"]) == report.at
    assert report.at - before < timedelta(seconds=5)  # no timer in between
    assert "现场出现人员伤亡" in row["body"]


# --------------------------------------------------------- P3.c reclassification


async def test_p3_c_reclassified_up_starts_5h_and_24h_clocks_and_keeps_48h(clock: Clock) -> None:
    """P3.c up: 5 h and 24 h clocks start at the reclassification; the 48 h response stays; one release meets both."""
    handle = await clock.open(make_incident(grade=EventGrade.RELATIVELY_MAJOR))
    await clock.to(handle, 10 * H)
    status = await service.file_report(
        clock.client, handle.id, ReclassificationReport(text="伤亡人数上升", event_grade=EventGrade.MAJOR)
    )
    at = status.reports[-1].at
    info, press = status.obligation("authoritative_info#1"), status.obligation("press_conference#1")
    assert (info.clock_start, info.due_at, press.due_at) == (at, at + 5 * H, at + 24 * H)
    response = status.obligation("response#1")
    assert response.status == ObligationStatus.PENDING and response.due_at == status.discovered_at + 48 * H
    assert status.event is not None and status.event.grade == EventGrade.MAJOR
    assert status.reports[-1].changes["event"]["to"]["grade"] == "major"  # type: ignore[index]
    # 4 h 59 min after the reclassification (14 h 59 min after discovery): still pending
    status = await clock.to(handle, 14 * H + 59 * M)
    assert status.obligation("authoritative_info#1").status == ObligationStatus.PENDING
    status = await service.file_report(clock.client, handle.id, ResponseReport(text="发布", way=ResponseWay.AUTHORITATIVE_RELEASE))
    assert status.reports[-1].met == ["response#1", "authoritative_info#1"]
    status = await clock.to(handle, 15 * H + M)
    assert status.escalations == []


async def test_p3_c_reclassified_up_after_missing_nothing_escalates_from_new_clock(clock: Clock) -> None:
    """P3.c up: the new 5 h clock escalates 5 h after the reclassification, not after discovery."""
    handle = await clock.open(make_incident())
    await clock.to(handle, 10 * H)
    await service.file_report(
        clock.client,
        handle.id,
        ReclassificationReport(text="升级", event_grade=EventGrade.PARTICULARLY_MAJOR, event_category=EventCategory.PUBLIC_HEALTH),
    )
    status = await clock.to(handle, 15 * H + M)
    assert status.obligation("authoritative_info#1").status == ObligationStatus.OVERDUE
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("authoritative_info#1", 1)]


async def test_p3_c_reclassified_down_waives_pending_keeps_escalated_and_applies_48h(clock: Clock) -> None:
    """P3.c down: the pending 24 h obligation is waived with the reason; the 5 h one, already escalated,
    is not rewritten (it stays overdue and escalates until met); the 48 h one from discovery is already met."""
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 1 * H)
    first = await service.file_report(clock.client, handle.id, ResponseReport(text="通报", way=ResponseWay.ONLINE_POST))
    await clock.to(handle, 6 * H + M)  # an online post does not meet the 5 h obligation (P3.b): levels 1 and 2
    status = await service.file_report(
        clock.client, handle.id, ReclassificationReport(text="经核实为一般事件", event_grade=EventGrade.GENERAL)
    )
    info, press = status.obligation("authoritative_info#1"), status.obligation("press_conference#1")
    assert (info.status, press.status) == (ObligationStatus.OVERDUE, ObligationStatus.WAIVED)
    assert "经核实为一般事件" in (press.waived_reason or "") and info.waived_reason is None
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("authoritative_info#1", 1), ("authoritative_info#1", 2)]
    response = status.obligation("response#1")
    assert response.due_at == status.discovered_at + 48 * H
    assert (response.status, response.met_at, response.met_by) == (
        ObligationStatus.MET,
        first.reports[-1].at,
        first.reports[-1].seq,
    )
    status = await clock.to(handle, 7 * H + M)  # the escalated obligation goes on up the chain (D.esc)
    assert [(e.level, e.target) for e in status.escalations][-1] == (3, "sz-bgt")
    status = await service.file_report(clock.client, handle.id, ResponseReport(text="权威发布", way=ResponseWay.AUTHORITATIVE_RELEASE))
    assert status.obligation("authoritative_info#1").status == ObligationStatus.LATE
    status = await clock.to(handle, 24 * H)  # before the continued release falls due (7 h + 24 h)
    assert len(status.escalations) == 3  # met: it escalates no more


async def test_p3_c_reclassified_down_without_response_runs_48h_from_discovery(clock: Clock) -> None:
    """P3.c down: with no response made, the 48 h obligation runs from discovery and escalates at 48 h."""
    handle = await clock.open(make_incident(grade=EventGrade.PARTICULARLY_MAJOR))
    await clock.to(handle, 2 * H)
    status = await service.file_report(clock.client, handle.id, ReclassificationReport(text="降级", remove_event=True))
    assert status.event is None
    assert status.obligation("response#1").status == ObligationStatus.PENDING
    assert status.escalations == []
    status = await clock.to(handle, 47 * H + 59 * M)
    assert status.escalations == []
    status = await clock.to(handle, 48 * H + M)
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("response#1", 1)]


# --------------------------------------------------------- A4.1, A4.2, P4.c


async def test_p4_c_transferred_incident_must_be_accepted_within_1h(clock: Clock) -> None:
    """A4.1, A4.2, P4.c: a transfer by the provincial office owes acceptance within 1 h; it escalates like any other."""
    now = datetime.now(timezone.utc)
    handle = await clock.open(make_incident(transfer=Transfer(at=now, by="sz-bgt", from_state_council=True)))
    status = await clock.status(handle)
    acceptance = status.obligation("acceptance#1")
    assert acceptance.due_at == now + H and acceptance.rule == "P4.c"
    status = await clock.to(handle, 59 * M)
    assert status.obligation("acceptance#1").status == ObligationStatus.PENDING
    status = await clock.to(handle, 61 * M)
    assert [(e.obligation_id, e.level) for e in status.escalations] == [("acceptance#1", 1)]
    status = await service.file_report(clock.client, handle.id, AcceptanceReport(text="即接即办"))
    assert status.obligation("acceptance#1").status == ObligationStatus.LATE
    assert status.accepted_at == status.reports[-1].at


async def test_p4_c_acceptance_on_time(clock: Clock) -> None:
    """A4.2: the acceptance is recorded with its time; within the hour it is met."""
    handle = await clock.open(make_incident(transfer=Transfer(at=datetime.now(timezone.utc), by="sz-bgt")))
    await clock.to(handle, 30 * M)
    status = await service.file_report(clock.client, handle.id, AcceptanceReport(text="已接收"))
    assert status.obligation("acceptance#1").status == ObligationStatus.MET
    status = await clock.to(handle, 2 * H)
    assert status.escalations == []


async def test_concurrent_reports_are_all_recorded(clock: Clock) -> None:
    """D3: reports racing each other are each recorded once, numbered in arrival order."""
    handle = await clock.open(make_incident())
    await asyncio.gather(
        *(service.file_report(clock.client, handle.id, AnalysisReport(text=f"研判 {i}")) for i in range(10))
    )
    status = await clock.status(handle)
    assert sorted(r.text for r in status.reports) == sorted(f"研判 {i}" for i in range(10))
    assert [r.seq for r in status.reports] == list(range(1, 11))
