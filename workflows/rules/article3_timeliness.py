"""Article 三 提高回应时效 — the clocks an incident runs on.

对涉及特别重大、重大突发事件的政务舆情，最迟要在5小时内发布权威信息、24小时内举行新闻发布会，
对其他政务舆情应在48小时内予以回应，并根据工作进展情况，持续发布权威信息。
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from yuqing.models import (
    Obligation,
    ObligationKind,
    ObligationStatus,
    ReportRecord,
    ResponseWay,
    SuddenEvent,
)
from yuqing.policy import Policy

# P3.b: which ways of responding meet which obligation.
_ANY_WAY = frozenset(ResponseWay)
MEETS: dict[ObligationKind, frozenset[ResponseWay]] = {
    ObligationKind.AUTHORITATIVE_INFO: frozenset(
        {ResponseWay.AUTHORITATIVE_RELEASE, ResponseWay.PRESS_CONFERENCE, ResponseWay.BRIEFING}
    ),
    ObligationKind.PRESS_CONFERENCE: frozenset({ResponseWay.PRESS_CONFERENCE}),
    ObligationKind.RESPONSE: _ANY_WAY,
    ObligationKind.CONTINUED_RELEASE: _ANY_WAY,
}

MAJOR_CLOCKS = (ObligationKind.AUTHORITATIVE_INFO, ObligationKind.PRESS_CONFERENCE)


def check_discovery(discovered_at: datetime, now: datetime) -> str | None:
    """P3.a: a discovery time in the future is refused; returns why, or ``None``."""
    if discovered_at > now:
        return f"发现时间晚于当前时间 discovery time {discovered_at.isoformat()} is in the future (P3.a)"
    return None


def has_major_clocks(event: SuddenEvent | None) -> bool:
    """A3.1, A3.2: only a sudden event graded 特别重大 or 重大 runs the 5 h and 24 h clocks."""
    return event is not None and event.grade.is_major


def new_obligation(
    kind: ObligationKind, clock_start: datetime, policy: Policy, existing: Sequence[Obligation]
) -> Obligation:
    """An obligation of ``kind`` whose clock starts at ``clock_start``, its warning at P3.e."""
    rule = policy.of(kind)
    due_at = clock_start + rule.window
    number = 1 + sum(1 for o in existing if o.kind == kind)
    return Obligation(
        id=f"{kind.value}#{number}",
        kind=kind,
        rule=rule.rule,
        clock_start=clock_start,
        due_at=due_at,
        warn_at=clock_start + rule.window * policy.warning_fraction,
        escalation_interval=rule.escalation_interval,
    )


def opening_obligations(
    event: SuddenEvent | None, discovered_at: datetime, policy: Policy
) -> list[Obligation]:
    """What an incident owes when it opens; every clock runs from discovery (P3.a).

    A3.1 + A3.2 for a 特别重大/重大 sudden event, A3.3 for every other incident.
    """
    kinds = MAJOR_CLOCKS if has_major_clocks(event) else (ObligationKind.RESPONSE,)
    obligations: list[Obligation] = []
    for kind in kinds:
        obligations.append(new_obligation(kind, discovered_at, policy, obligations))
    return obligations


def on_time(obligation: Obligation, at: datetime) -> bool:
    """Boundaries are inclusive: a report at exactly the due time meets it (A3.1-A3.3)."""
    return at <= obligation.due_at


def fulfil(obligation: Obligation, at: datetime, seq: int) -> Obligation:
    """The obligation met by report ``seq`` arriving at ``at`` (P4.e): ``met`` or ``late``."""
    return obligation.model_copy(
        update={
            "status": ObligationStatus.MET if on_time(obligation, at) else ObligationStatus.LATE,
            "met_at": at,
            "met_by": seq,
        }
    )


def apply_release(
    obligations: Sequence[Obligation], way: ResponseWay, at: datetime, seq: int, policy: Policy
) -> tuple[list[Obligation], list[str]]:
    """A response (回应) in ``way`` arrives at ``at``.

    It meets every open obligation its way qualifies for (P3.b; one release may meet several,
    P3.c) and starts the next continued release, due 24 h later (A3.4, P3.d).
    Returns the new obligations and the ids the release met.
    """
    result: list[Obligation] = []
    met: list[str] = []
    for obligation in obligations:
        if obligation.open and way in MEETS.get(obligation.kind, frozenset()):
            obligation = fulfil(obligation, at, seq)
            met.append(obligation.id)
        result.append(obligation)
    result.append(new_obligation(ObligationKind.CONTINUED_RELEASE, at, policy, result))
    return result, met


def reclassify(
    obligations: Sequence[Obligation],
    old_event: SuddenEvent | None,
    new_event: SuddenEvent | None,
    at: datetime,
    discovered_at: datetime,
    reports: Iterable[ReportRecord],
    reason: str,
    policy: Policy,
    *,
    waive_overdue: bool = False,
) -> list[Obligation]:
    """P3.c: the obligations after a change of event grade at ``at``.

    Up to 特别重大/重大: the 5 h and 24 h clocks start now; a pending 48 h response stays.
    Down from it: pending 5 h and 24 h obligations are waived with the reason, and the 48 h
    response from discovery applies (met by the first response already made, if any).
    Nothing already met, late or escalated is rewritten: an overdue obligation stays overdue
    (a missed deadline is a fact for A5.3) and escalates until a release meets it.

    ``waive_overdue`` reproduces how incidents reclassified before patch ``p3c-keep-overdue``
    ran (they waived overdue obligations too); only their replay passes it.
    """
    was, becomes = has_major_clocks(old_event), has_major_clocks(new_event)
    result = list(obligations)
    if becomes and not was:
        for kind in MAJOR_CLOCKS:
            result.append(new_obligation(kind, at, policy, result))
    elif was and not becomes:
        result = [
            o.model_copy(update={"status": ObligationStatus.WAIVED, "waived_reason": f"降级 reclassified down: {reason}"})
            if o.kind in MAJOR_CLOCKS
            and (o.status == ObligationStatus.PENDING or (waive_overdue and o.status == ObligationStatus.OVERDUE))
            else o
            for o in result
        ]
        if not any(o.kind == ObligationKind.RESPONSE for o in result):
            response = new_obligation(ObligationKind.RESPONSE, discovered_at, policy, result)
            first = next((r for r in reports if r.type == "response"), None)
            if first is not None:
                response = fulfil(response, first.at, first.seq)
            result.append(response)
    return result


def waive_on_close(obligations: Sequence[Obligation], reason: str) -> list[Obligation]:
    """Closing (办结) waives what is not yet due; what is overdue stays overdue, for assessment."""
    return [
        o.model_copy(update={"status": ObligationStatus.WAIVED, "waived_reason": f"办结 closed: {reason}"})
        if o.status == ObligationStatus.PENDING
        else o
        for o in obligations
    ]


def warning_due(obligation: Obligation, now: datetime) -> bool:
    """P3.e: warn once, when the warning share of the window has passed and the deadline has not."""
    return (
        obligation.status == ObligationStatus.PENDING
        and obligation.warned_at is None
        and obligation.warn_at <= now < obligation.due_at
    )


def becomes_overdue(obligation: Obligation, now: datetime) -> bool:
    """A pending obligation is overdue from its due time on (a report at that instant is still on time)."""
    return obligation.status == ObligationStatus.PENDING and now >= obligation.due_at


def next_clock(obligation: Obligation) -> datetime | None:
    """The next time article 三 needs the workflow awake for this obligation."""
    if obligation.status != ObligationStatus.PENDING:
        return None
    if obligation.warned_at is None and obligation.warn_at < obligation.due_at:
        return obligation.warn_at
    return obligation.due_at
