"""Articles 一 and 二 end to end through the workflow: lead department (A2.1, S5), principal leaders
(A2.2), coordination (A2.3), transfers at any time (A4.1, A4.2, S2, S3) and P4.f, with time skipping.

The units are the shipped directory's: 370102-jyj (历下区教育和体育局) under 370102 (历下区) under 370100
(济南市); 370102-gaj a department of the same county; 370100-jyj the city's education bureau.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from activities.channels.outbox import SqliteOutbox
from starter import service
from tests.conftest import CITY, COUNTY, OFFICE, UNIT, Clock, escalations_of, make, make_incident, release, serving
from yuqing.directory import Directory
from yuqing.errors import Rejected
from yuqing.models import (
    AcceptanceReport,
    AnalysisReport,
    DispositionReport,
    EventGrade,
    IncidentState,
    MajorSituationReport,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReclassificationReport,
    Role,
    TransferSource,
)

H, M, S = timedelta(hours=1), timedelta(minutes=1), timedelta(seconds=1)
COUNTY_POLICE = "370102-gaj"
CITY_EDUCATION = "370100-jyj"
CITY_COORDINATION = ["370100-xcb", "370100-wxb", "sz-txglj"]
PROVINCE_COORDINATION = ["sz-xcb", "sz-wxb", "sz-txglj"]


def told(status: object, kind: str) -> list[tuple[str, str, str]]:
    """(about, target, role) of the notices of ``kind`` on the record."""
    return [(n.key.rsplit("/", 3)[1], n.target, n.role.value) for n in status.notices if n.kind == kind]  # type: ignore[attr-defined]


# ------------------------------------------------------------------ A2.3


async def test_a2_3_coordination_told_at_opening_at_major_and_not_below(clock: Clock) -> None:
    major = await clock.open(make_incident(level=OpinionLevel.MAJOR))
    relatively = await clock.open(make_incident(level=OpinionLevel.RELATIVELY_MAJOR))
    status = await clock.status(major)
    assert [(about, target) for about, target, _ in told(status, "coordination")] == [
        ("coordination#0", code) for code in CITY_COORDINATION
    ]
    assert [u.code for u in status.coordination] == CITY_COORDINATION
    assert told(await clock.status(relatively), "coordination") == []


async def test_a2_3_a_provincial_matter_tells_the_provincial_units(clock: Clock) -> None:
    handle = await clock.open(make_incident(unit="sz-jyt", level=OpinionLevel.PARTICULARLY_MAJOR))
    status = await clock.status(handle)
    assert [target for _, target, _ in told(status, "coordination")] == PROVINCE_COORDINATION


async def test_a2_3_coordination_at_each_trigger_and_never_twice(clock: Clock, outbox: SqliteOutbox) -> None:
    handle = await clock.open(make_incident(level=OpinionLevel.GENERAL))
    up = await service.file_report(clock.client, handle.id, make(ReclassificationReport, opinion_level=OpinionLevel.MAJOR))
    status = await clock.status(handle)
    assert [about for about, _, _ in told(status, "coordination")] == [f"coordination#{up.seq}"] * 3
    higher = make(ReclassificationReport, opinion_level=OpinionLevel.PARTICULARLY_MAJOR)
    await clock.file(handle, higher)  # already 重大 or above: not told again
    situation = make(MajorSituationReport, text="现场出现人员聚集")
    receipt = await service.file_report(clock.client, handle.id, situation)
    await service.file_report(clock.client, handle.id, situation)  # re-sent: answered, not filed again
    status = await clock.status(handle)
    abouts = [about for about, _, _ in told(status, "coordination")]
    assert abouts == [f"coordination#{up.seq}"] * 3 + [f"coordination#{receipt.seq}"] * 3
    rows = [r for r in outbox.rows(handle.id) if r["kind"] == "coordination"]
    assert len(rows) == 6 == len({r["key"] for r in rows}) and {r["attempts"] for r in rows} == {1}
    assert "现场出现人员聚集" in next(r["body"] for r in rows if f"coordination#{receipt.seq}" in r["key"])


# ------------------------------------------------------------------ A2.2


async def test_a2_2_principal_leaders_told_at_particularly_major_not_at_major(clock: Clock, outbox: SqliteOutbox) -> None:
    top = await clock.open(make_incident(level=OpinionLevel.PARTICULARLY_MAJOR))
    major = await clock.open(make_incident(level=OpinionLevel.MAJOR))
    assert told(await clock.status(top), "leadership") == [
        ("leadership#0", COUNTY, "principal_leader"),
        ("leadership#0", CITY, "principal_leader"),
    ]
    assert told(await clock.status(major), "leadership") == []
    bodies = {r["target"]: r["body"] for r in outbox.rows(top.id) if r["kind"] == "leadership"}
    assert "区长" in bodies[COUNTY] and "市长" in bodies[CITY]


async def test_a2_2_raised_to_particularly_major_tells_the_leaders_and_addresses_escalations_to_them(
    clock: Clock, outbox: SqliteOutbox
) -> None:
    handle = await clock.open(make_incident(level=OpinionLevel.MAJOR))
    raise_ = make(ReclassificationReport, by=COUNTY, opinion_level=OpinionLevel.PARTICULARLY_MAJOR)
    receipt = await service.file_report(clock.client, handle.id, raise_)
    status = await clock.to(handle, 48 * H + 6 * H + M)  # the 48 h response: 催办 at 48 h, 督促 the county at 54 h
    assert told(status, "leadership") == [
        (f"leadership#{receipt.seq}", COUNTY, "principal_leader"),
        (f"leadership#{receipt.seq}", CITY, "principal_leader"),
    ]
    assert escalations_of(status, "response#1") == [(1, 1, UNIT), (2, 1, COUNTY)]
    roles = {(r["level"], r["target"]): r["role"] for r in outbox.rows(handle.id) if r["kind"] == "escalation"}
    assert roles == {(1, UNIT): "leader_in_charge", (2, COUNTY): "principal_leader"}


async def test_a2_2_below_particularly_major_a_government_is_addressed_through_its_leader_in_charge(
    clock: Clock, outbox: SqliteOutbox
) -> None:
    handle = await clock.open(make_incident(level=OpinionLevel.MAJOR))
    await clock.to(handle, 54 * H + M)
    roles = {(r["level"], r["target"]): r["role"] for r in outbox.rows(handle.id) if r["kind"] == "escalation"}
    assert roles == {(1, UNIT): "leader_in_charge", (2, COUNTY): "leader_in_charge"}


# ------------------------------------------------------------------ A2.1, S5


async def test_a2_1_the_county_designates_a_lead_that_reports_and_hears_the_escalations(
    clock: Clock, directory: Directory, outbox: SqliteOutbox
) -> None:
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    receipt = await service.designate_lead(clock.client, handle.id, COUNTY_POLICE, by=COUNTY, directory=directory)
    status = await clock.status(handle)
    assert status.lead_unit is not None and status.lead_unit.code == COUNTY_POLICE
    assert told(status, "lead") == [(f"lead#{receipt.seq}", COUNTY_POLICE, "leader_in_charge")]
    await clock.file(handle, make(AnalysisReport, by=COUNTY_POLICE))  # S1: the lead files
    status = await clock.to(handle, 5 * H + M)
    assert escalations_of(status, "authoritative_info#1") == [(1, 1, UNIT)]
    copies = [r for r in outbox.rows(handle.id) if r["kind"] == "escalation" and r["target"] == COUNTY_POLICE]
    assert [(r["obligation_id"], r["level"]) for r in copies] == [("authoritative_info#1+lead", 1)]
    assert told(status, "escalation") == [("authoritative_info#1+lead", COUNTY_POLICE, "leader_in_charge")]
    status = await clock.file(handle, release(by=COUNTY_POLICE))  # the lead's release meets the obligation
    assert status.obligation("authoritative_info#1").status == ObligationStatus.LATE
    assert status.reports[-1].by == COUNTY_POLICE


@pytest.mark.parametrize(
    ("by", "lead", "why"),
    [
        (UNIT, COUNTY_POLICE, "S5"),  # the responsible unit does not pick its own lead
        (COUNTY_POLICE, COUNTY_POLICE, "S5"),
        (COUNTY, CITY_EDUCATION, "S5"),  # the county designates among its own departments only
        (COUNTY, UNIT, "A2.1"),  # the responsible unit is not its own lead
        (COUNTY, "370100-xcb", "S5"),  # a coordination unit is no department
        (COUNTY, CITY, "S5"),
    ],
)
async def test_s5_who_designates_a_lead_and_which(
    clock: Clock, directory: Directory, by: str, lead: str, why: str
) -> None:
    handle = await clock.open(make_incident())
    with pytest.raises(Rejected, match=why):
        await service.designate_lead(clock.client, handle.id, lead, by=by, directory=directory)
    assert (await clock.status(handle)).lead_unit is None


@pytest.mark.parametrize("by", [CITY, OFFICE])
async def test_s5_the_city_and_the_office_may_designate_too(clock: Clock, directory: Directory, by: str) -> None:
    handle = await clock.open(make_incident())
    lead = CITY_EDUCATION if by == CITY else COUNTY_POLICE
    await service.designate_lead(clock.client, handle.id, lead, by=by, directory=directory)
    status = await clock.status(handle)
    assert status.lead_unit is not None and status.lead_unit.code == lead


async def test_s1_a_department_that_is_not_the_lead_may_not_report(clock: Clock) -> None:
    handle = await clock.open(make_incident())
    with pytest.raises(Rejected, match="S1"):
        await service.file_report(clock.client, handle.id, make(AnalysisReport, by=COUNTY_POLICE))


# ------------------------------------------------------------- A4.1, A4.2, P4.c


async def test_a4_1_a_transfer_mid_incident_changes_the_unit_and_chain_acceptance_on_time(
    clock: Clock, directory: Directory
) -> None:
    handle = await clock.open(make_incident(grade=EventGrade.MAJOR))
    await clock.to(handle, 2 * H)
    receipt = await service.transfer_incident(
        clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory
    )
    status = await clock.status(handle)
    assert status.responsible_unit == CITY_EDUCATION and [u.code for u in status.chain] == [CITY_EDUCATION, CITY, OFFICE]
    assert [(t.previous, t.to, t.source) for t in status.transfers] == [(UNIT, CITY_EDUCATION, TransferSource.IMPORTANT)]
    acceptance = next(o for o in status.obligations if o.kind == ObligationKind.ACCEPTANCE)
    assert acceptance.due_at - acceptance.clock_start == H and acceptance.clock_start == receipt.at
    assert told(status, "transfer") == [(f"transfer#{receipt.seq}", CITY_EDUCATION, "leader_in_charge")]
    with pytest.raises(Rejected, match="S2"):  # only the receiving unit accepts
        await service.file_report(clock.client, handle.id, make(AcceptanceReport, by=UNIT))
    await clock.advance(handle, H - S)  # the due instant belongs to the unit (P3.f)
    status = await clock.file(handle, make(AcceptanceReport, by=CITY_EDUCATION))
    assert status.obligation(acceptance.id).status == ObligationStatus.MET
    status = await clock.to(handle, 5 * H + M)  # the 5 h obligation now escalates through the new chain
    assert escalations_of(status, "authoritative_info#1") == [(1, 1, CITY_EDUCATION)]


async def test_a4_2_acceptance_after_its_hour_is_late_and_escalated(clock: Clock, directory: Directory) -> None:
    handle = await clock.open(make_incident())
    await service.transfer_incident(
        clock.client, handle.id, CITY_EDUCATION, TransferSource.STATE_COUNCIL, by=OFFICE, directory=directory
    )
    status = await clock.advance(handle, H + 2 * S)
    acceptance = next(o for o in status.obligations if o.kind == ObligationKind.ACCEPTANCE)
    assert acceptance.status == ObligationStatus.OVERDUE
    assert escalations_of(status, acceptance.id) == [(1, 1, CITY_EDUCATION)]
    status = await clock.file(handle, make(AcceptanceReport, by=CITY_EDUCATION))
    assert status.obligation(acceptance.id).status == ObligationStatus.LATE
    assert status.transfers[-1].from_state_council


@pytest.mark.parametrize(
    ("by", "to", "why"),
    [
        (UNIT, CITY_EDUCATION, "S3"),  # only the provincial office transfers
        (CITY, CITY_EDUCATION, "S3"),
        (OFFICE, UNIT, "already"),  # to the unit already responsible
        (OFFICE, "370100-xcb", "A2.3"),  # a coordination unit is never responsible
    ],
)
async def test_s3_who_transfers_and_to_whom(clock: Clock, directory: Directory, by: str, to: str, why: str) -> None:
    handle = await clock.open(make_incident())
    with pytest.raises(Rejected, match=why):
        await service.transfer_incident(clock.client, handle.id, to, TransferSource.IMPORTANT, by=by, directory=directory)
    status = await clock.status(handle)
    assert status.responsible_unit == UNIT and status.transfers == []


async def test_a4_1_transferred_again_the_pending_acceptance_is_let_go(clock: Clock, directory: Directory) -> None:
    handle = await clock.open(make_incident())
    for to in (CITY_EDUCATION, "sz-jyt"):
        await service.transfer_incident(clock.client, handle.id, to, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    status = await clock.status(handle)
    acceptances = [(o.id, o.status) for o in status.obligations if o.kind == ObligationKind.ACCEPTANCE]
    assert acceptances == [("acceptance#1", ObligationStatus.WAIVED), ("acceptance#2", ObligationStatus.PENDING)]
    assert [u.code for u in status.chain] == ["sz-jyt", OFFICE] and status.transfers_total == 2
    assert [u.code for u in status.coordination] == PROVINCE_COORDINATION


# ------------------------------------------------------------------ P4.f


async def test_p4_f_analysis_due_24h_after_acceptance_and_escalates(clock: Clock, directory: Directory) -> None:
    handle = await clock.open(make_incident())
    await service.transfer_incident(clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    accepted = await service.file_report(clock.client, handle.id, make(AcceptanceReport, by=CITY_EDUCATION))
    status = await clock.status(handle)
    analysis = next(o for o in status.obligations if o.kind == ObligationKind.ANALYSIS)
    assert analysis.rule == "P4.f" and analysis.clock_start == accepted.at and analysis.due_at == accepted.at + 24 * H
    status = await clock.advance(handle, 24 * H + 2 * S)
    assert status.obligation(analysis.id).status == ObligationStatus.OVERDUE
    assert escalations_of(status, analysis.id) == [(1, 1, CITY_EDUCATION)]
    status = await clock.file(handle, make(AnalysisReport, by=CITY_EDUCATION))
    assert status.obligation(analysis.id).status == ObligationStatus.LATE


async def test_p4_f_analysis_on_time_at_the_due_instant(clock: Clock, directory: Directory) -> None:
    handle = await clock.open(make_incident())
    await service.transfer_incident(clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    await service.file_report(clock.client, handle.id, make(AcceptanceReport, by=CITY_EDUCATION))
    await clock.advance(handle, 24 * H - S)
    status = await clock.file(handle, make(AnalysisReport, by=CITY_EDUCATION))
    analysis = next(o for o in status.obligations if o.kind == ObligationKind.ANALYSIS)
    assert analysis.status == ObligationStatus.MET and status.escalations == []


async def test_p4_f_no_analysis_obligation_without_a_transfer(clock: Clock) -> None:
    handle = await clock.open(make_incident())
    status = await clock.file(handle, make(AnalysisReport))
    assert all(o.kind != ObligationKind.ANALYSIS for o in status.obligations)


async def test_p4_f_final_disposition_of_a_transferred_incident_waits_for_its_reports(
    clock: Clock, directory: Directory
) -> None:
    handle = await clock.open(make_incident())
    await service.transfer_incident(clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    await service.file_report(clock.client, handle.id, make(AcceptanceReport, by=CITY_EDUCATION))
    final = make(DispositionReport, by=CITY_EDUCATION, final=True)
    with pytest.raises(Rejected, match=r"P4\.f"):
        await service.file_report(clock.client, handle.id, final)
    for report in (make(AnalysisReport, by=CITY_EDUCATION), release(by=CITY_EDUCATION)):
        await service.file_report(clock.client, handle.id, report)
    with pytest.raises(Rejected, match="disposition"):
        await service.file_report(clock.client, handle.id, make(DispositionReport, by=CITY_EDUCATION, final=True))
    await service.file_report(clock.client, handle.id, make(DispositionReport, by=CITY_EDUCATION))
    receipt = await service.file_report(clock.client, handle.id, make(DispositionReport, by=CITY_EDUCATION, final=True))
    assert receipt.state == IncidentState.CLOSED


async def test_p4_f_the_office_can_still_close_a_transferred_incident_with_a_reason(
    clock: Clock, directory: Directory
) -> None:
    handle = await clock.open(make_incident())
    await service.transfer_incident(clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    receipt = await service.close_incident(clock.client, handle.id, "经核实舆情已平息", by=OFFICE)
    assert receipt.state == IncidentState.CLOSED


async def test_p4_f_a_refused_final_disposition_by_signal_is_recorded(clock: Clock, directory: Directory) -> None:
    handle = await clock.open(make_incident())
    await service.transfer_incident(clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    final = make(DispositionReport, by=CITY_EDUCATION, final=True)
    await service.signal_report(clock.client, handle.id, final.model_dump(mode="json", by_alias=True))
    status = await clock.status(handle)
    assert status.state == IncidentState.OPEN and "P4.f" in status.rejected[-1].reason


async def test_roles_are_named_on_every_notification(clock: Clock, outbox: SqliteOutbox) -> None:
    """A1.3: each row names the unit, the role addressed and the section."""
    handle = await clock.open(make_incident(level=OpinionLevel.PARTICULARLY_MAJOR))
    rows = outbox.rows(handle.id)
    assert sorted((r["kind"], r["target"], r["role"], r["section"]) for r in rows) == sorted([
        ("opened", UNIT, Role.LEADER_IN_CHARGE.value, "办公室"),
        ("leadership", COUNTY, Role.PRINCIPAL_LEADER.value, "区政府办公室政务公开科"),
        ("leadership", CITY, Role.PRINCIPAL_LEADER.value, "市政府办公厅政务公开处"),
        ("coordination", "370100-xcb", Role.LEADER_IN_CHARGE.value, "新闻处"),
        ("coordination", "370100-wxb", Role.LEADER_IN_CHARGE.value, "网络舆情处"),
        ("coordination", "sz-txglj", Role.LEADER_IN_CHARGE.value, "网络安全管理处"),
    ])  # fmt: skip
    bodies = {r["target"]: r["body"] for r in rows}
    assert "区长" in bodies[COUNTY] and "分管副局长" in bodies[UNIT]


# ------------------------------------------------- found by the review and the hostile probe


async def test_p4_f_a_final_disposition_from_before_a_transfer_never_closes_the_new_units_incident(
    clock: Clock, directory: Directory
) -> None:
    """The finding: the previous unit's held final disposition closed the incident as soon as the receiving
    unit accepted, with its analysis waived and none of its own reports on file."""
    handle = await clock.open(make_incident())
    held = await service.file_report(clock.client, handle.id, make(DispositionReport, final=True))
    assert held.state == IncidentState.OPEN  # the 48 h response is owed
    await service.transfer_incident(clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    await service.file_report(clock.client, handle.id, make(AcceptanceReport, by=CITY_EDUCATION))
    status = await clock.file(handle, release(by=CITY_EDUCATION))
    assert status.state == IncidentState.OPEN and status.final_disposition is None
    assert next(o for o in status.obligations if o.kind == ObligationKind.ANALYSIS).status == ObligationStatus.PENDING


async def test_a4_1_transferred_again_the_previous_units_pending_analysis_is_let_go(clock: Clock, directory: Directory) -> None:
    """The finding: A's analysis stayed open after a second transfer and escalated to B."""
    handle = await clock.open(make_incident())
    await service.transfer_incident(clock.client, handle.id, CITY_EDUCATION, TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    await service.file_report(clock.client, handle.id, make(AcceptanceReport, by=CITY_EDUCATION))
    await service.transfer_incident(clock.client, handle.id, "sz-jyt", TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    status = await clock.status(handle)
    analyses = [(o.id, o.status) for o in status.obligations if o.kind == ObligationKind.ANALYSIS]
    assert analyses == [("analysis#1", ObligationStatus.WAIVED)]


async def test_a4_1_a_back_dated_transfer_gives_the_unit_its_whole_hour(clock: Clock, directory: Directory) -> None:
    """The finding: the office's order credited with a filing time 29 min back left the unit 31 min."""
    from workflows.rules.article1_responsibility import coordination_units
    from workflows.rules.article4_supervision import escalation_chain
    from yuqing.models import TransferOrder

    handle = await clock.open(make_incident())
    filed = await clock.now(handle) + S  # filed after the workflow last ran, then 20 min in transit (P4.h)
    await clock.advance(handle, 20 * M)
    order = make(TransferOrder, by=OFFICE, source=TransferSource.IMPORTANT, chain=escalation_chain(directory, CITY_EDUCATION),
                 coordination=coordination_units(directory, CITY_EDUCATION), filed_at=filed)  # fmt: skip
    receipt = await service.file_report(clock.client, handle.id, order)
    status = await clock.status(handle)
    acceptance = next(o for o in status.obligations if o.kind == ObligationKind.ACCEPTANCE)
    assert receipt.credited and receipt.at == filed  # the report itself is credited, as any report …
    assert receipt.arrived_at is not None and acceptance.clock_start == receipt.arrived_at  # … not the unit's hour
    assert acceptance.due_at == receipt.arrived_at + H and status.transfers[-1].at == receipt.arrived_at


async def test_a2_after_a_transfer_the_new_chains_leaders_and_level_are_told(clock: Clock, directory: Directory) -> None:
    """The finding: transferred to 青岛, a 特别重大 incident told neither 青岛's leaders nor its 宣传 and 网信."""
    handle = await clock.open(make_incident(level=OpinionLevel.PARTICULARLY_MAJOR))
    receipt = await service.transfer_incident(clock.client, handle.id, "370200-jyj", TransferSource.IMPORTANT, by=OFFICE, directory=directory)
    status = await clock.status(handle)
    about = f"#{receipt.seq}"
    assert [(t, r) for a, t, r in told(status, "leadership") if a.endswith(about)] == [("370200", "principal_leader")]
    assert [t for a, t, _ in told(status, "coordination") if a.endswith(about)] == ["370200-xcb", "370200-wxb"]


async def test_a2_the_opening_notices_follow_the_opening_level(env: object, directory: Directory) -> None:
    """The finding: a raise to 特别重大 that reached the workflow in its first task (before ``run``) made the
    opening tell the leaders too: four leadership notices instead of two."""
    import uuid

    from tests.conftest import POLICY
    from worker import build_worker

    queue = f"first-task-{uuid.uuid4().hex[:6]}"
    client = env.client  # type: ignore[attr-defined]
    incident = make_incident(level=OpinionLevel.MAJOR)
    handle = await service.open_incident(client, incident, opened_by=UNIT, task_queue=queue, policy=POLICY)
    raise_ = make(ReclassificationReport, opinion_level=OpinionLevel.PARTICULARLY_MAJOR)
    await service.signal_report(client, handle.id, raise_.model_dump(mode="json", by_alias=True))
    async with serving(build_worker(client, [], task_queue=queue)):
        await Clock.settle(handle)
        status = await handle.query("status", result_type=type(await clock_status(handle)))
    assert len(told(status, "leadership")) == 2 and {a for a, _, _ in told(status, "coordination")} == {"coordination#0"}


async def clock_status(handle: object) -> object:
    from tests.conftest import query_status

    return await query_status(handle)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("forge", "why"),
    [
        ("skip-governments", "P4.d"),  # 370112-jyj straight to the office
        ("broken-parent-link", "P4.d"),  # a unit whose next one up is not its parent
        ("department-in-coordination", "A2.3"),
        ("oversized", "bytes"),
    ],
)
async def test_s3_a_transfer_whose_units_do_not_hold_together_is_refused(
    clock: Clock, directory: Directory, forge: str, why: str
) -> None:
    """The finding: the workflow took whatever units a raw client put in a transfer."""
    from workflows.rules.article1_responsibility import coordination_units
    from workflows.rules.article4_supervision import escalation_chain
    from yuqing.models import TransferOrder

    chain = escalation_chain(directory, "370112-jyj")
    coordination = coordination_units(directory, "370112-jyj")
    if forge == "skip-governments":
        chain = [chain[0], chain[-1]]
    elif forge == "broken-parent-link":  # a coordination unit posing as a department, its city claiming another parent
        fake = directory.get("370100-xcb").model_copy(update={"kind": "department"})
        chain = [fake, directory.get(CITY).model_copy(update={"parent": "nowhere"}), directory.get(OFFICE)]
        coordination = coordination_units(directory, CITY)
    elif forge == "department-in-coordination":
        coordination = [*coordination[:2], directory.get(COUNTY_POLICE)]
    elif forge == "oversized":
        chain = [u.model_copy(update={"name": "某" * 200, "leader": "分管副局长" * 30, "section": "办公室" * 60}) for u in chain]
        coordination = [u.model_copy(update={"name": "某" * 200, "leader": "分管副部长" * 30, "section": "办公室" * 60}) for u in coordination]
    handle = await clock.open(make_incident())
    order = make(TransferOrder, by=OFFICE, source=TransferSource.IMPORTANT, chain=chain, coordination=coordination)
    with pytest.raises(Rejected, match=why):
        await service.file_report(clock.client, handle.id, order)
    assert (await clock.status(handle)).responsible_unit == UNIT


async def test_a2_1_designating_the_lead_it_already_has_is_refused(clock: Clock, directory: Directory) -> None:
    handle = await clock.open(make_incident())
    await service.designate_lead(clock.client, handle.id, COUNTY_POLICE, by=COUNTY, directory=directory)
    with pytest.raises(Rejected, match="already"):
        await service.designate_lead(clock.client, handle.id, COUNTY_POLICE, by=COUNTY, directory=directory)
    assert len(told(await clock.status(handle), "lead")) == 1
