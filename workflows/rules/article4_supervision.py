"""Article 四 建立督办落实制度 — transfer, acceptance, reporting and escalation.

对国务院办公厅转我省办理的重大政务舆情，或群众关注度高、负面影响大的重要政务舆情，省政府办公厅按照
职责分工转交涉事市、部门进行办理。……对重要政务舆情即接即办……并及时报送舆情办理情况（包括研判、
回应、处置情况等）。遇有重大情况，随时向省政府报告。
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yuqing.directory import Directory
from yuqing.models import (
    EscalationAction,
    Obligation,
    ObligationKind,
    ObligationStatus,
    Transfer,
    Unit,
    UnitKind,
)
from yuqing.policy import Policy
from workflows.rules.article3_timeliness import new_obligation


def escalation_chain(directory: Directory, unit_code: str) -> list[Unit]:
    """P4.d: the responsible unit, the people's government it belongs to, the provincial office.

    The government is the nearest ancestor that is one (county or city; for a provincial
    department the provincial general office stands for the provincial government). Where two
    steps are the same unit they collapse, so the chain has one to three units and always ends
    with the provincial general office.
    """
    unit = directory.get(unit_code)
    government = directory.parent(unit)
    while government is not None and not government.kind.is_government:
        government = directory.parent(government)
    chain: list[Unit] = []
    for step in (unit, government, directory.provincial_office):
        if step is not None and all(step.code != u.code for u in chain):
            chain.append(step)
    return chain


def acceptance_obligation(transfer: Transfer, policy: Policy) -> Obligation:
    """A4.1, A4.2, P4.c: a transferred incident is accepted (接收) within 1 h of the transfer."""
    return new_obligation(ObligationKind.ACCEPTANCE, transfer.at, policy, [])


@dataclass(frozen=True)
class Step:
    """One escalation step of an obligation (P4.a) and whom it reaches (P4.d)."""

    index: int
    level: int
    round: int
    target: Unit
    action: EscalationAction
    scheduled_at: datetime


def step_at(obligation: Obligation, index: int) -> datetime:
    """P4.a: step 0 at the deadline, step k one interval after step k-1."""
    return obligation.due_at + obligation.escalation_interval * index


def step(obligation: Obligation, index: int, chain: list[Unit]) -> Step:
    """P4.a + P4.d: step k climbs the chain, one level a step; the top takes the repeats.

    With a full chain: level 1 (催办 the unit), level 2 (督促 its government), then level 3
    (督办 the provincial office), round 1, 2, 3 … every interval.
    """
    top = len(chain)
    level = min(index + 1, top)
    target = chain[level - 1]
    if target.kind == UnitKind.PROVINCIAL_OFFICE and level > 1:
        action = EscalationAction.OVERSEE
    elif level == 1:
        action = EscalationAction.URGE
    else:
        action = EscalationAction.SUPERVISE
    return Step(
        index=index,
        level=level,
        round=index - level + 2 if level == top else 1,
        target=target,
        action=action,
        scheduled_at=step_at(obligation, index),
    )


def due_step(obligation: Obligation, now: datetime) -> int | None:
    """The escalation step to fire now, if any (D.esc).

    Only an overdue obligation escalates. Where several steps fell due while nobody could act
    (a backdated discovery, a worker outage), only the latest fires: one round, not a burst.
    """
    if obligation.status != ObligationStatus.OVERDUE or now < step_at(obligation, obligation.next_step):
        return None
    return int((now - obligation.due_at) / obligation.escalation_interval)


def next_step_at(obligation: Obligation) -> datetime | None:
    """When the next escalation of an overdue obligation falls due."""
    if obligation.status != ObligationStatus.OVERDUE:
        return None
    return step_at(obligation, obligation.next_step)


def major_situation_target(chain: list[Unit]) -> Unit:
    """A4.4, D4: a major situation goes to the provincial government (its general office)."""
    return chain[-1]


def idempotency_key(incident_id: str, obligation_id: str, level: int, round_: int) -> str:
    """P4.b: one notification per incident, obligation, level and round."""
    return f"{incident_id}/{obligation_id}/{level}/{round_}"
