"""Article 二 and the third release's authority rules as pure functions: who is told when (A2.2, A2.3),
who designates a lead (A2.1, S5), who transfers to whom (A4.1, S3), P4.f, and the policy default it
brought. The workflow applies them in ``tests/test_workflow_articles_1_2.py``."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows.rules import article2_coordination as a2
from workflows.rules import authority
from workflows.rules.article4_supervision import analysis_obligation, escalation_chain, meet_analysis, retransfer
from yuqing.directory import Directory
from yuqing.models import (
    IncidentRecord,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    Policy,
    ReportType,
    Transfer,
)
from yuqing.policy import load_policy

T0 = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
L = OpinionLevel
UNIT, COUNTY, CITY, OFFICE = "370102-jyj", "370102", "370100", "sz-bgt"


@pytest.mark.parametrize(
    ("before", "after", "told"),
    [
        (None, L.PARTICULARLY_MAJOR, True),  # opened at 特别重大
        (None, L.MAJOR, False),
        (L.MAJOR, L.PARTICULARLY_MAJOR, True),  # raised to it
        (L.GENERAL, L.PARTICULARLY_MAJOR, True),
        (L.PARTICULARLY_MAJOR, L.PARTICULARLY_MAJOR, False),  # already: never twice
        (L.PARTICULARLY_MAJOR, L.MAJOR, False),  # lowered
    ],
)
def test_a2_2_principal_leaders_are_told_at_particularly_major(before: L | None, after: L, told: bool) -> None:
    assert a2.tells_leadership(before, after) is told


@pytest.mark.parametrize(
    ("before", "after", "told"),
    [
        (None, L.MAJOR, True),
        (None, L.PARTICULARLY_MAJOR, True),
        (None, L.RELATIVELY_MAJOR, False),  # below 重大: not told
        (L.RELATIVELY_MAJOR, L.MAJOR, True),  # raised across the line
        (L.GENERAL, L.PARTICULARLY_MAJOR, True),
        (L.MAJOR, L.PARTICULARLY_MAJOR, False),  # already above it
        (L.GENERAL, L.RELATIVELY_MAJOR, False),
    ],
)
def test_a2_3_coordination_is_told_at_major_or_above(before: L | None, after: L, told: bool) -> None:
    assert a2.tells_coordination(before, after) is told


@pytest.mark.parametrize(("code", "level", "principal"), [
    (COUNTY, L.PARTICULARLY_MAJOR, True), (CITY, L.PARTICULARLY_MAJOR, True),
    (COUNTY, L.MAJOR, False), (UNIT, L.PARTICULARLY_MAJOR, False), (OFFICE, L.PARTICULARLY_MAJOR, False),
])  # fmt: skip
def test_a2_2_escalations_to_a_government_at_particularly_major_address_its_principal(
    directory: Directory, code: str, level: L, principal: bool
) -> None:
    assert a2.addresses_principal(directory.get(code), level) is principal


# ------------------------------------------------------------------ S5


@pytest.mark.parametrize(
    ("unit", "actor", "lead", "allowed"),
    [
        (UNIT, COUNTY, "370102-gaj", True),  # the county, one of its departments
        (UNIT, CITY, "370100-jyj", True),  # the city above, one of its departments
        (UNIT, OFFICE, "370102-gaj", True),  # the office, for the incident's government (the county)
        (UNIT, OFFICE, "sz-jyt", False),  # … for the incident's government: not a provincial department
        (UNIT, COUNTY, "370100-jyj", False),  # the county may not pick the city's department
        (UNIT, UNIT, "370102-gaj", False),  # the responsible unit never picks its lead
        (UNIT, "370102-gaj", "370102-gaj", False),
        (UNIT, COUNTY, UNIT, False),  # not itself
        (UNIT, COUNTY, COUNTY, False),  # a government is no department
        (UNIT, CITY, "370100-xcb", False),  # a coordination unit is no department
        ("370100-jyj", CITY, "370100-gaj", True),  # a city matter: the city
        ("370100-jyj", COUNTY, "370102-gaj", False),  # the county is not in a city department's chain
    ],
)
def test_s5_lead_department(directory: Directory, unit: str, actor: str, lead: str, allowed: bool) -> None:
    chain = escalation_chain(directory, unit)
    problem = authority.may_designate_lead(actor, chain, directory.get(lead))
    assert (problem is None) is allowed, problem


def test_a2_1_home_government_is_the_first_government_in_the_chain(directory: Directory) -> None:
    assert authority.home_government(escalation_chain(directory, UNIT)).code == COUNTY
    assert authority.home_government(escalation_chain(directory, "370100-jyj")).code == CITY
    assert authority.home_government(escalation_chain(directory, "sz-jyt")).code == OFFICE
    assert authority.home_government(escalation_chain(directory, COUNTY)).code == COUNTY


# ------------------------------------------------------------------ S3, A4.1


@pytest.mark.parametrize(
    ("actor", "to", "why"),
    [
        (OFFICE, "370100-jyj", None),
        (OFFICE, "sz-jyt", None),
        (OFFICE, CITY, None),  # to the city government itself
        (COUNTY, "370100-jyj", "S3"),
        (UNIT, "370100-jyj", "S3"),
        (OFFICE, UNIT, "already"),
        (OFFICE, OFFICE, "not to itself"),
        (OFFICE, "370100-wxb", "A2.3"),
        (OFFICE, "sz-txglj", "A2.3"),
    ],
)
def test_s3_transfer(directory: Directory, actor: str, to: str, why: str | None) -> None:
    chain = escalation_chain(directory, UNIT)
    to_chain = [directory.get(to)] if to == OFFICE else escalation_chain(directory, to)
    problem = authority.may_transfer(actor, chain, to_chain)
    assert (problem is None) if why is None else (problem is not None and why in problem), problem


def test_s3_a_forged_chain_is_refused(directory: Directory) -> None:
    """A transfer's chain comes from the client: one not ending at the same office, or with a coordination
    unit or a repeat in it, is refused (P4.d, A2.3)."""
    chain = escalation_chain(directory, UNIT)
    to = escalation_chain(directory, "370100-jyj")
    assert authority.may_transfer(OFFICE, chain, to[:-1]) is not None
    assert authority.may_transfer(OFFICE, chain, [*to[:-1], directory.get("370100-xcb"), to[-1]]) is not None
    assert authority.may_transfer(OFFICE, chain, [to[0], to[0], to[-1]]) is not None


# ------------------------------------------------------------------ P4.f


def _record(**fields: object) -> IncidentRecord:
    return IncidentRecord.model_validate({
        "incident_id": "t-1", "opinion_level": "major", "event": None, "responsible_unit": UNIT,
        "discovered_at": T0, "opened_at": T0, "opened_by": OFFICE, **fields,
    })  # fmt: skip


def test_p4_f_final_disposition_needs_analysis_response_and_disposition_on_a_transferred_incident() -> None:
    transfer = Transfer(at=T0, by=OFFICE).model_dump()
    new = {"articles_1_2": True}
    assert authority.missing_before_final(_record(**new)) == []  # not transferred
    assert authority.missing_before_final(_record(transfer=transfer, **new)) == list(authority.REQUIRED_ON_FILE)
    on_file = {ReportType.ANALYSIS: 2, ReportType.RESPONSE: 3}
    assert authority.missing_before_final(_record(transfer=transfer, on_file=on_file, **new)) == [ReportType.DISPOSITION]
    on_file[ReportType.DISPOSITION] = 4
    assert authority.missing_before_final(_record(transfer=transfer, on_file=on_file, **new)) == []
    # an incident begun before the third release (False), or not yet decided, keeps the rules it ran with
    assert authority.missing_before_final(_record(transfer=transfer, articles_1_2=False)) == []
    assert authority.missing_before_final(_record(transfer=transfer)) == []


def test_p4_f_analysis_due_24h_after_acceptance_and_met_at_once_if_on_file() -> None:
    policy = load_policy()
    pending = analysis_obligation(T0, policy, [], {}, {})
    assert (pending.kind, pending.rule, pending.due_at, pending.status) == (
        ObligationKind.ANALYSIS, "P4.f", T0 + 24 * H, ObligationStatus.PENDING,
    )  # fmt: skip
    met = analysis_obligation(T0, policy, [], {}, {ReportType.ANALYSIS: 7})
    assert met.status == ObligationStatus.MET and met.met_by == 7
    late, ids = meet_analysis([pending], T0 + 24 * H + timedelta(seconds=1), 9)
    assert ids == [pending.id] and late[0].status == ObligationStatus.LATE
    on_time, _ = meet_analysis([pending], T0 + 24 * H, 9)  # the due instant belongs to the unit (P3.f)
    assert on_time[0].status == ObligationStatus.MET


def test_a4_1_a_second_transfer_lets_go_of_a_pending_acceptance_but_not_of_a_missed_one() -> None:
    policy = load_policy()
    from workflows.rules.article4_supervision import acceptance_obligation

    first = acceptance_obligation(Transfer(at=T0, by=OFFICE), policy)
    waived = retransfer([first], T0 + 30 * timedelta(minutes=1), "370100-jyj")
    assert waived[0].status == ObligationStatus.WAIVED and "370100-jyj" in (waived[0].waived_reason or "")
    missed = retransfer([first], T0 + 2 * H, "370100-jyj")
    assert missed[0].status == ObligationStatus.OVERDUE
    second = acceptance_obligation(Transfer(at=T0 + 2 * H, by=OFFICE), policy, missed)
    assert second.id == "acceptance#2"


def test_p4_f_a_policy_copied_before_the_third_release_still_decodes() -> None:
    """An older incident's input has no ``analysis`` entry: it decodes with the project's default."""
    document = load_policy().model_dump(mode="json")
    del document["obligations"]["analysis"]
    policy = Policy.model_validate(document)
    assert policy.of(ObligationKind.ANALYSIS).window_hours == 24 and policy.of(ObligationKind.ANALYSIS).rule == "P4.f"
