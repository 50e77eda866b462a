"""Article 四 as pure functions: the chain (P4.d), the steps (P4.a), keys (P4.b), credited times (P4.h),
explanations (P4.g)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from workflows.rules import article4_supervision as a4
from workflows.rules.article3_timeliness import new_obligation
from yuqing.directory import Directory
from yuqing.models import EscalationAction, ObligationKind, ObligationStatus, Transfer
from yuqing.policy import load_policy

T0 = datetime(2026, 5, 22, 9, 0, tzinfo=timezone.utc)
H = timedelta(hours=1)
M = timedelta(minutes=1)
US = timedelta(microseconds=1)
POLICY = load_policy()


@pytest.mark.parametrize(
    ("unit", "chain"),
    [
        # P4.d (revised): a county department's chain passes its county AND its city
        ("370102-jyj", ["370102-jyj", "370102", "370100", "sz-bgt"]),
        ("370100-gaj", ["370100-gaj", "370100", "sz-bgt"]),  # city department -> city -> office
        ("370102", ["370102", "370100", "sz-bgt"]),  # county government -> city -> office
        ("370100", ["370100", "sz-bgt"]),  # city government -> office
        ("sz-jyt", ["sz-jyt", "sz-bgt"]),  # provincial department -> office: collapses
        ("sz-bgt", ["sz-bgt"]),
    ],
)
def test_p4_d_chain(directory: Directory, unit: str, chain: list[str]) -> None:
    assert [u.code for u in a4.escalation_chain(directory, unit)] == chain


def test_p4_d_unknown_unit(directory: Directory) -> None:
    with pytest.raises(KeyError, match="未知单位"):
        a4.escalation_chain(directory, "nowhere")


def test_p4_a_steps_levels_rounds_and_actions(directory: Directory) -> None:
    """P4.a + P4.d: 催办 the unit, 督促 its county and its city, 督办 the office, then the office every interval."""
    chain = a4.escalation_chain(directory, "370102-jyj")
    ob = new_obligation(ObligationKind.AUTHORITATIVE_INFO, T0, POLICY, [])
    steps = [a4.step(ob, k, chain) for k in range(6)]
    assert [(s.level, s.round, s.target.code, s.action) for s in steps] == [
        (1, 1, "370102-jyj", EscalationAction.URGE),
        (2, 1, "370102", EscalationAction.SUPERVISE),
        (3, 1, "370100", EscalationAction.SUPERVISE),
        (4, 1, "sz-bgt", EscalationAction.OVERSEE),
        (4, 2, "sz-bgt", EscalationAction.OVERSEE),
        (4, 3, "sz-bgt", EscalationAction.OVERSEE),
    ]
    assert [s.scheduled_at for s in steps] == [T0 + (5 + k) * H for k in range(6)]


def test_p4_a_interval_is_6h_for_48h_obligation() -> None:
    ob = new_obligation(ObligationKind.RESPONSE, T0, POLICY, [])
    assert [a4.step_at(ob, k) for k in range(3)] == [T0 + 48 * H, T0 + 54 * H, T0 + 60 * H]


def test_p4_a_due_steps_only_when_overdue() -> None:
    ob = new_obligation(ObligationKind.AUTHORITATIVE_INFO, T0, POLICY, [])
    assert a4.due_steps(ob, T0 + 6 * H) == []  # pending: the workflow marks it overdue first
    overdue = ob.model_copy(update={"status": ObligationStatus.OVERDUE})
    assert a4.due_steps(overdue, T0 + 5 * H + US) == [0]
    fired = overdue.model_copy(update={"next_step": 1, "escalations": 1})
    assert a4.due_steps(fired, T0 + 6 * H - US) == []
    assert a4.due_steps(fired, T0 + 6 * H) == [1]
    assert a4.next_step_at(fired) == T0 + 6 * H
    assert a4.due_steps(ob.model_copy(update={"status": ObligationStatus.LATE}), T0 + 20 * H) == []


def test_p4_a_after_a_gap_one_round_with_the_units_own_urge() -> None:
    """P4.a (revised): steps that fell due while nobody could act collapse into one round — the current
    step, and a 催办 to the responsible unit if it had none yet; never a burst."""
    overdue = new_obligation(ObligationKind.AUTHORITATIVE_INFO, T0, POLICY, []).model_copy(
        update={"status": ObligationStatus.OVERDUE}
    )
    assert a4.due_steps(overdue, T0 + 9 * H + 30 * M) == [0, 4]  # nothing sent yet: the unit's 催办 too
    urged = overdue.model_copy(update={"next_step": 1, "escalations": 1})
    assert a4.due_steps(urged, T0 + 9 * H + 30 * M) == [4]  # it had its 催办: only the current step
    assert a4.due_steps(overdue, T0 + 5 * H + 30 * M) == [0]  # no gap: just the first step


def test_p4_c_acceptance_within_1h_of_transfer() -> None:
    ob = a4.acceptance_obligation(Transfer(at=T0, by="sz-bgt"), POLICY)
    assert (ob.kind, ob.due_at, ob.escalation_interval) == (ObligationKind.ACCEPTANCE, T0 + H, H)


def test_a4_4_major_situation_goes_to_the_provincial_office(directory: Directory) -> None:
    for unit in ("370102-jyj", "sz-jyt", "370100"):
        assert a4.major_situation_target(a4.escalation_chain(directory, unit)).code == "sz-bgt"


def test_p4_b_idempotency_key_names_workflow_obligation_level_round() -> None:
    assert a4.idempotency_key("YQ-1", "response#1", 3, 2) == "YQ-1/response#1/3/2"


@pytest.mark.parametrize(
    ("delay", "credited"),
    [
        (timedelta(0), True),  # arrived at once
        (4 * timedelta(seconds=1), True),  # the outage of the issue: 4 s
        (30 * M, True),  # at the edge of the grace: still its filing time
        (30 * M + US, False),  # beyond it: its arrival
        (-US, False),  # filed "in the future": its arrival
    ],
)
def test_p4_h_a_report_counts_at_its_filing_time_within_the_grace(delay: timedelta, credited: bool) -> None:
    """P4.h: an outage of the workers never makes a unit late: a report reaching the workflow at most
    30 min after it was filed counts at its filing time; otherwise (or filed in the future) at arrival."""
    arrived = T0 + 5 * H
    filed = arrived - delay
    assert a4.counted_time(filed, arrived, POLICY.filing_grace) == (filed if credited else arrived)
    assert a4.counted_time(None, arrived, POLICY.filing_grace) == arrived


@pytest.mark.parametrize(
    ("last_ran", "credited"),
    [
        (None, True),  # the run has not run before this report (its first task)
        (-10 * M, True),  # last ran before the report was filed: the workers were down since
        (timedelta(0), True),  # last ran at the filing instant itself
        (US, False),  # ran after the filing without the report: it was sent later than it says
        (10 * M, False),  # ran at the deadline and escalated: a back-dated filed_at earns nothing
    ],
)
def test_p4_h_credit_needs_the_workflow_not_to_have_run_since_filing(last_ran: timedelta | None, credited: bool) -> None:
    """P4.h, S7: the credit is for an outage. A unit 10 min late that claims it filed before its
    deadline gets nothing when the workflow ran (at the deadline) after that claimed time."""
    filed = T0 + 5 * H - US
    arrived = filed + 10 * M + US
    ran = None if last_ran is None else filed + last_ran
    assert a4.counted_time(filed, arrived, POLICY.filing_grace, ran) == (filed if credited else arrived)


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (ObligationStatus.LATE, True),
        (ObligationStatus.OVERDUE, True),
        (ObligationStatus.PENDING, False),
        (ObligationStatus.MET, False),
        (ObligationStatus.WAIVED, False),
    ],
)
def test_p4_g_an_explanation_is_for_a_missed_obligation(status: ObligationStatus, allowed: bool) -> None:
    ob = new_obligation(ObligationKind.RESPONSE, T0, POLICY, []).model_copy(update={"status": status})
    assert (a4.explanation_refusal(ob, ob.id) is None) == allowed
    assert "P4.g" in (a4.explanation_refusal(None, "response#9") or "")


@pytest.mark.parametrize(
    ("unit", "ladder"),
    [
        # a collapsed chain: the provincial office oversees (督办) from level 2, and takes the repeats
        ("sz-jyt", [(1, 1, "sz-jyt", EscalationAction.URGE), (2, 1, "sz-bgt", EscalationAction.OVERSEE), (2, 2, "sz-bgt", EscalationAction.OVERSEE)]),
        ("370100", [(1, 1, "370100", EscalationAction.URGE), (2, 1, "sz-bgt", EscalationAction.OVERSEE), (2, 2, "sz-bgt", EscalationAction.OVERSEE)]),
    ],
)
def test_p4_a_d_esc_actions_on_collapsed_chains(
    directory: Directory, unit: str, ladder: list[tuple[int, int, str, EscalationAction]]
) -> None:
    """D.esc + P4.d: the action follows whom a step reaches, not its level number."""
    chain = a4.escalation_chain(directory, unit)
    ob = new_obligation(ObligationKind.AUTHORITATIVE_INFO, T0, POLICY, [])
    steps = [a4.step(ob, k, chain) for k in range(3)]
    assert [(s.level, s.round, s.target.code, s.action) for s in steps] == ladder
