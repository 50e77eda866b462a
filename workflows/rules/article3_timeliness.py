"""Article 三 提高回应时效 — the clocks an incident runs on.

对涉及特别重大、重大突发事件的政务舆情，最迟要在5小时内发布权威信息、24小时内举行新闻发布会，
对其他政务舆情应在48小时内予以回应，并根据工作进展情况，持续发布权威信息。
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta

from yuqing.models import (
    Obligation,
    ObligationKind,
    ObligationStatus,
    Policy,
    ReportRef,
    ResponseWay,
    SuddenEvent,
    clip,
)
from yuqing.timefmt import beijing

# P3.b: which ways of responding meet which obligation (any channel; the 24 h one needs its speaker,
# which the report model requires for a press conference).
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
"""A3.1, A3.2: the clocks of a 特别重大/重大 sudden event."""
MAJOR_ONLY = (*MAJOR_CLOCKS, ObligationKind.CONTINUED_RELEASE)
"""The obligations that exist and escalate only while the event is graded 特别重大/重大 (P3.c, P3.d)."""

AFTER_DUE = timedelta(milliseconds=1)
"""P3.f: the due instant belongs to the unit; the obligation is overdue from the next millisecond
(the resolution of Temporal's timers), so the workflow wakes then."""


def check_discovery(discovered_at: datetime, now: datetime) -> str | None:
    """P3.a: a discovery time in the future is refused; returns why, or ``None``."""
    if discovered_at > now:
        return f"发现时间 {beijing(discovered_at)} 晚于当前时间 the discovery time is in the future (P3.a)"
    return None


def has_major_clocks(event: SuddenEvent | None) -> bool:
    """A3.1, A3.2: only a sudden event graded 特别重大 or 重大 runs the 5 h and 24 h clocks."""
    return event is not None and event.grade.is_major


def number_of(obligation_id: str) -> int:
    """The ``n`` of an obligation id ``kind#n``."""
    return int(obligation_id.rpartition("#")[2] or 0)


def new_obligation(
    kind: ObligationKind,
    clock_start: datetime,
    policy: Policy,
    existing: Iterable[Obligation],
    *,
    issued: Mapping[ObligationKind, int] | None = None,
    not_after: datetime | None = None,
) -> Obligation:
    """An obligation of ``kind`` whose clock starts at ``clock_start``, warned at P3.e.

    Its id ``kind#n`` follows every one of that kind in ``existing`` and the ``issued`` count of those
    the record let go of, so an id (and the idempotency keys built on it, P4.b) is never reused.
    ``not_after`` (P3.c): a deadline this kind already had; the new one is never later, so its clock
    runs from where that one's did.
    """
    rule = policy.of(kind)
    due_at = clock_start + rule.window
    if not_after is not None and not_after < due_at:
        due_at, clock_start = not_after, not_after - rule.window
    number = 1 + max([(issued or {}).get(kind, 0), *(number_of(o.id) for o in existing if o.kind == kind)])
    return Obligation(
        id=f"{kind.value}#{number}",
        kind=kind,
        rule=rule.rule,
        clock_start=clock_start,
        due_at=due_at,
        warn_at=clock_start + rule.window * policy.warning_fraction,
        escalation_interval=rule.escalation_interval,
    )


def opening_obligations(event: SuddenEvent | None, discovered_at: datetime, policy: Policy) -> list[Obligation]:
    """What an incident owes when it opens; every clock runs from discovery (P3.a).

    A3.1 + A3.2 for a 特别重大/重大 sudden event, A3.3 for every other incident.
    """
    kinds = MAJOR_CLOCKS if has_major_clocks(event) else (ObligationKind.RESPONSE,)
    obligations: list[Obligation] = []
    for kind in kinds:
        obligations.append(new_obligation(kind, discovered_at, policy, obligations))
    return obligations


def on_time(obligation: Obligation, at: datetime) -> bool:
    """P3.f: the due instant belongs to the unit — a report at exactly the due time is on time."""
    return at <= obligation.due_at


def fulfil(obligation: Obligation, at: datetime, seq: int) -> Obligation:
    """The obligation met by report ``seq`` counted at ``at`` (P4.h): ``met`` or ``late``."""
    return obligation.model_copy(
        update={
            "status": ObligationStatus.MET if on_time(obligation, at) else ObligationStatus.LATE,
            "met_at": at,
            "met_by": seq,
        }
    )


def apply_release(
    obligations: Sequence[Obligation],
    way: ResponseWay,
    at: datetime,
    seq: int,
    policy: Policy,
    event: SuddenEvent | None,
    issued: Mapping[ObligationKind, int] | None = None,
) -> tuple[list[Obligation], list[str]]:
    """A response (回应) in ``way`` counted at ``at``.

    It meets every open obligation its way qualifies for (P3.b; one release may meet several, P3.c).
    For a 特别重大/重大 sudden event the next release is then due within 24 h (A3.4, P3.d); for other
    incidents further releases are recorded with no clock.
    Returns the new obligations and the ids the release met.
    """
    result: list[Obligation] = []
    met: list[str] = []
    for obligation in obligations:
        if obligation.open and way in MEETS.get(obligation.kind, frozenset()):
            obligation = fulfil(obligation, at, seq)
            met.append(obligation.id)
        result.append(obligation)
    if has_major_clocks(event):
        result.append(new_obligation(ObligationKind.CONTINUED_RELEASE, at, policy, result, issued=issued))
    return result, met


def reclassify(
    obligations: Sequence[Obligation],
    old_event: SuddenEvent | None,
    new_event: SuddenEvent | None,
    at: datetime,
    discovered_at: datetime,
    first_response: ReportRef | None,
    reason: str,
    policy: Policy,
    first_due: Mapping[ObligationKind, datetime],
    issued: Mapping[ObligationKind, int] | None = None,
) -> list[Obligation]:
    """P3.c: the obligations after a change of event grade at ``at``.

    Up to 特别重大/重大: the 5 h and 24 h clocks start now — never later than a clock of the same kind
    this incident already had (``first_due``: up, down and up again keeps the first deadline); a kind
    already met or still open is not owed twice; a pending 48 h response stays (a release meets both).
    Down from it: 5 h, 24 h and continued-release obligations not yet due at ``at`` are waived with the
    reason (one already past its due time is overdue, even if no timer has marked it yet), and the 48 h
    response from discovery applies (met by the first response already made, if any).
    Nothing already met or escalated is rewritten: an overdue obligation stays overdue on the record
    (it stops escalating while the event is not 特别重大/重大: ``escalates``).
    ``issued``: how many of each kind the record let go of, so new ids never repeat old ones.
    """
    was, becomes = has_major_clocks(old_event), has_major_clocks(new_event)
    result = list(obligations)
    if becomes and not was:
        for kind in MAJOR_CLOCKS:
            if any(o.kind == kind and o.status != ObligationStatus.WAIVED for o in result):
                continue
            result.append(new_obligation(kind, at, policy, result, issued=issued, not_after=first_due.get(kind)))
    elif was and not becomes:
        why = clip(f"降级 reclassified down: {reason}", 100, 300)
        result = [waive(o, at, why) if o.kind in MAJOR_ONLY else o for o in result]
        if not any(o.kind == ObligationKind.RESPONSE for o in result) and not (issued or {}).get(ObligationKind.RESPONSE):
            response = new_obligation(ObligationKind.RESPONSE, discovered_at, policy, result, issued=issued)
            if first_response is not None:
                response = fulfil(response, first_response.at, first_response.seq)
            result.append(response)
    return result


def waive(obligation: Obligation, at: datetime, why: str) -> Obligation:
    """A pending obligation waived at ``at`` (P3.c, 办结) — unless its due instant had already passed: then
    it was missed, and stays on the record as overdue (P3.f), whether or not a timer had marked it yet
    (a close can arrive in the same workflow task as the deadline, or after an outage)."""
    if obligation.status != ObligationStatus.PENDING:
        return obligation
    if at > obligation.due_at:
        return obligation.model_copy(update={"status": ObligationStatus.OVERDUE})
    return obligation.model_copy(update={"status": ObligationStatus.WAIVED, "waived_reason": why})


def waive_on_close(obligations: Sequence[Obligation], reason: str, at: datetime) -> list[Obligation]:
    """Closing (办结) at ``at`` waives what is not yet due; what is overdue stays overdue, for assessment (A5.3)."""
    why = clip(f"办结 closed: {reason}", 100, 300)
    return [waive(o, at, why) for o in obligations]


def warning_due(obligation: Obligation, now: datetime) -> bool:
    """P3.e: warn once, when the warning share of the window has passed and the deadline has not
    (an incident opened already past that point is warned at once)."""
    return (
        obligation.status == ObligationStatus.PENDING
        and obligation.warned_at is None
        and obligation.warn_at <= now <= obligation.due_at
    )


def becomes_overdue(obligation: Obligation, now: datetime) -> bool:
    """P3.f: a pending obligation is overdue only after its due instant."""
    return obligation.status == ObligationStatus.PENDING and now > obligation.due_at


def escalates(obligation: Obligation, event: SuddenEvent | None) -> bool:
    """Whether an overdue obligation escalates now (D.esc): the 5 h, 24 h and continued-release ones
    only while the event is graded 特别重大/重大 (P3.c, P3.d); every other one until it is met."""
    return obligation.kind not in MAJOR_ONLY or has_major_clocks(event)


def next_clock(obligation: Obligation) -> datetime | None:
    """The next time article 三 needs the workflow awake for this obligation."""
    if obligation.status != ObligationStatus.PENDING:
        return None
    if obligation.warned_at is None and obligation.warn_at < obligation.due_at:
        return obligation.warn_at
    return obligation.due_at + AFTER_DUE
