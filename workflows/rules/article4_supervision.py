"""Article 四 建立督办落实制度 — transfer, acceptance, reporting, escalation.

对国务院办公厅转我省办理的重大政务舆情，或群众关注度高、负面影响大的重要政务舆情，省政府办公厅按照
职责分工转交涉事市、部门进行办理。……对重要政务舆情即接即办……并及时报送舆情办理情况（包括研判、
回应、处置情况等）。遇有重大情况，随时向省政府报告。
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from workflows.rules.article3_timeliness import fulfil, new_obligation, waive
from yuqing.directory import Directory
from yuqing.models import (
    EscalationAction,
    Obligation,
    ObligationKind,
    ObligationStatus,
    Policy,
    ReportType,
    Transfer,
    Unit,
    UnitKind,
)


def escalation_chain(directory: Directory, unit_code: str) -> list[Unit]:
    """P4.d: bottom up, the responsible unit; its county government, if it belongs to a county; its
    city government, if it belongs to a city; the provincial general office (督办).

    Where two steps are the same unit they collapse: a county department has four levels, a city
    department three, a provincial department two.
    """
    unit = directory.get(unit_code)
    chain: list[Unit] = [unit]
    ancestor = directory.parent(unit)
    while ancestor is not None:
        if ancestor.kind in (UnitKind.COUNTY_GOVERNMENT, UnitKind.CITY_GOVERNMENT):
            chain.append(ancestor)
        ancestor = directory.parent(ancestor)
    office = directory.provincial_office
    if all(office.code != u.code for u in chain):
        chain.append(office)
    return chain


def acceptance_obligation(
    transfer: Transfer,
    policy: Policy,
    existing: Sequence[Obligation] = (),
    issued: Mapping[ObligationKind, int] | None = None,
) -> Obligation:
    """A4.1, A4.2, P4.c: a transferred incident is accepted (接收) within 1 h of the transfer."""
    return new_obligation(ObligationKind.ACCEPTANCE, transfer.at, policy, existing, issued=issued)


def retransfer(obligations: Sequence[Obligation], at: datetime, to: str, *, analysis: bool = True) -> list[Obligation]:
    """A4.1: transferred again, the previous receiving unit's pending acceptance and analysis (P4.f) are the
    office's to let go (S7 binds the unit, not the office); one already overdue stays missed on the record
    (P3.f) and is met, late, by the new unit's report."""
    why = f"改转 {to} transferred to {to}"
    unit_owed = (ObligationKind.ACCEPTANCE, ObligationKind.ANALYSIS) if analysis else (ObligationKind.ACCEPTANCE,)
    return [waive(o, at, why) if o.kind in unit_owed else o for o in obligations]


def analysis_obligation(
    accepted_at: datetime,
    policy: Policy,
    existing: Sequence[Obligation],
    issued: Mapping[ObligationKind, int],
    on_file: Mapping[ReportType, int],
) -> Obligation:
    """P4.f: on a transferred incident (督办件) the analysis (研判) is due within 24 h of acceptance; one
    already filed since the transfer meets it at once."""
    obligation = new_obligation(ObligationKind.ANALYSIS, accepted_at, policy, existing, issued=issued)
    seq = on_file.get(ReportType.ANALYSIS)
    return fulfil(obligation, accepted_at, seq) if seq is not None else obligation


def meet_analysis(obligations: Sequence[Obligation], at: datetime, seq: int) -> tuple[list[Obligation], list[str]]:
    """P4.f: an analysis report meets the open analysis obligation (late if after its due instant)."""
    kept, met = [], []
    for o in obligations:
        if o.kind == ObligationKind.ANALYSIS and o.open:
            o = fulfil(o, at, seq)
            met.append(o.id)
        kept.append(o)
    return kept, met


# ----------------------------------------------------------------- reports (P4.h)


def counted_time(
    filed_at: datetime | None, arrived_at: datetime, grace: timedelta, last_ran: datetime | None = None
) -> datetime:
    """P4.h: the time a report counts at. Its client filing time where it reached the workflow at
    most ``grace`` later and is not in the future; otherwise its arrival.

    The credit is for an outage of the workers, and ``last_ran`` (when the workflow last ran before
    this report arrived) is the evidence: a workflow that ran after ``filed_at`` without the report
    was up and did not have it, so the report was sent later than it claims (a unit that missed its
    deadline back-dating ``filed_at``, S7) and counts at its arrival.
    """
    if filed_at is None or filed_at > arrived_at or arrived_at - filed_at > grace:
        return arrived_at
    if last_ran is not None and last_ran > filed_at:
        return arrived_at
    return filed_at


# ---------------------------------------------------------------- escalation


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


def step(obligation: Obligation, index: int, chain: Sequence[Unit]) -> Step:
    """P4.a + P4.d: step k climbs the chain, one level a step; the top takes the repeats.

    Level 1 is 催办 to the responsible unit, each government above it 督促, the provincial office
    督办; at the top, round 1, 2, 3 … every interval.
    """
    top = len(chain)
    level = min(index + 1, top)
    target = chain[level - 1]
    if level == 1:
        action = EscalationAction.URGE
    elif target.kind == UnitKind.PROVINCIAL_OFFICE:
        action = EscalationAction.OVERSEE
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


def due_steps(obligation: Obligation, now: datetime) -> list[int]:
    """The escalation steps to fire now (D.esc, P4.a), in order; empty when none is due.

    Only an overdue obligation escalates. Where several steps fell due while nobody could act (a
    backdated discovery, an outage) one round fires: the current step, and a 催办 to the responsible
    unit (step 0) if it had none yet — never a burst.
    """
    if obligation.status != ObligationStatus.OVERDUE or now < step_at(obligation, obligation.next_step):
        return []
    current = int((now - obligation.due_at) / obligation.escalation_interval)
    if obligation.escalations == 0 and current > 0:
        return [0, current]
    return [current]


def next_step_at(obligation: Obligation) -> datetime | None:
    """When the next escalation of an overdue obligation falls due."""
    if obligation.status != ObligationStatus.OVERDUE:
        return None
    return step_at(obligation, obligation.next_step)


def major_situation_target(chain: Sequence[Unit]) -> Unit:
    """A4.4, D4: a major situation goes to the provincial government (its general office)."""
    return chain[-1]


def idempotency_key(workflow_id: str, obligation_id: str, level: int, round_: int) -> str:
    """P4.b: one notification per incident (its workflow id, never a value from the input),
    obligation, level and round."""
    return f"{workflow_id}/{obligation_id}/{level}/{round_}"


# --------------------------------------------------------------- explanation (P4.g)


def explanation_refusal(obligation: Obligation | None, obligation_id: str) -> str | None:
    """P4.g: an explanation (超时说明) is for an obligation that was missed (late or overdue)."""
    if obligation is None:
        return f"无此时限义务 no obligation {obligation_id!r} on record (P4.g)"
    if obligation.status not in (ObligationStatus.LATE, ObligationStatus.OVERDUE):
        return (
            f"{obligation.id} 未逾期（{obligation.status.zh}），无需超时说明 "
            f"obligation {obligation.id} was not missed ({obligation.status.value}) (P4.g)"
        )
    return None
