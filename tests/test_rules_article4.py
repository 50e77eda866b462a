"""Article 四 as pure functions: the chain (P4.d), the steps (P4.a), idempotency keys (P4.b)."""

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
POLICY = load_policy()


@pytest.mark.parametrize(
    ("unit", "chain"),
    [
        ("370102-jyj", ["370102-jyj", "370102", "sz-bgt"]),  # county department -> county -> office
        ("370100-gaj", ["370100-gaj", "370100", "sz-bgt"]),  # city department -> city -> office
        ("370102", ["370102", "370100", "sz-bgt"]),  # county government -> city -> office
        ("370100", ["370100", "sz-bgt"]),  # city government -> (province = office): collapses
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
    chain = a4.escalation_chain(directory, "370102-jyj")
    ob = new_obligation(ObligationKind.AUTHORITATIVE_INFO, T0, POLICY, [])
    steps = [a4.step(ob, k, chain) for k in range(5)]
    assert [(s.level, s.round, s.target.code, s.action) for s in steps] == [
        (1, 1, "370102-jyj", EscalationAction.URGE),
        (2, 1, "370102", EscalationAction.SUPERVISE),
        (3, 1, "sz-bgt", EscalationAction.OVERSEE),
        (3, 2, "sz-bgt", EscalationAction.OVERSEE),
        (3, 3, "sz-bgt", EscalationAction.OVERSEE),
    ]
    assert [s.scheduled_at for s in steps] == [T0 + (5 + k) * H for k in range(5)]


def test_p4_a_interval_is_6h_for_48h_obligation() -> None:
    ob = new_obligation(ObligationKind.RESPONSE, T0, POLICY, [])
    assert [a4.step_at(ob, k) for k in range(3)] == [T0 + 48 * H, T0 + 54 * H, T0 + 60 * H]


def test_p4_a_due_step_only_when_overdue_and_collapses_missed_steps() -> None:
    ob = new_obligation(ObligationKind.AUTHORITATIVE_INFO, T0, POLICY, [])
    assert a4.due_step(ob, T0 + 6 * H) is None  # pending: the workflow marks it overdue first
    overdue = ob.model_copy(update={"status": ObligationStatus.OVERDUE})
    assert a4.due_step(overdue, T0 + 5 * H) == 0
    assert a4.due_step(overdue, T0 + 5 * H - timedelta(seconds=1)) is None
    assert a4.due_step(overdue, T0 + 9 * H + 30 * timedelta(minutes=1)) == 4  # steps 0-3 missed: one fires
    fired = overdue.model_copy(update={"next_step": 5})
    assert a4.due_step(fired, T0 + 9 * H + 59 * timedelta(minutes=1)) is None
    assert a4.next_step_at(fired) == T0 + 10 * H
    assert a4.due_step(ob.model_copy(update={"status": ObligationStatus.LATE}), T0 + 20 * H) is None


def test_p4_c_acceptance_within_1h_of_transfer() -> None:
    ob = a4.acceptance_obligation(Transfer(at=T0, by="sz-bgt"), POLICY)
    assert (ob.kind, ob.due_at, ob.escalation_interval) == (ObligationKind.ACCEPTANCE, T0 + H, H)


def test_a4_4_major_situation_goes_to_the_provincial_office(directory: Directory) -> None:
    for unit in ("370102-jyj", "sz-jyt", "370100"):
        assert a4.major_situation_target(a4.escalation_chain(directory, unit)).code == "sz-bgt"


def test_p4_b_idempotency_key_names_incident_obligation_level_round() -> None:
    assert a4.idempotency_key("YQ-1", "response#1", 3, 2) == "YQ-1/response#1/3/2"


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
