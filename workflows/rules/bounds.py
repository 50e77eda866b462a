"""What an incident keeps, and when a run hands over to a new one: bounded by design.

The record (``IncidentRecord``) carried over continue-as-new stays under ``RECORD_BUDGET`` whatever
the incident's age or traffic: lists keep their last entries and a count, report texts stay in the
histories (referenced by sequence number and SHA-256), closed continued-release obligations and
waived ones beyond the latest few are let go of (into the run's journal, so the audit still sees
them). The run itself continues as new before Temporal's own limits come near (``handover``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from workflows.rules.article3_timeliness import number_of
from yuqing.models import (
    DeliveryFailure,
    IncidentRecord,
    Limits,
    Notification,
    Obligation,
    ObligationKind,
    ObligationStatus,
    RunJournal,
    clip,
)

RECORD_BUDGET = 64 * 1024
"""Bytes of the record's JSON, carried over continue-as-new."""
VIEW_BUDGET = 256 * 1024
"""Bytes of the ``status`` view's JSON."""
RECEIPT_BUDGET = 4 * 1024
"""Bytes of a receipt's JSON."""

KEEP_ESCALATIONS = 20
KEEP_WARNINGS = 20
KEEP_REPORTS = 8
KEEP_REJECTED = 20
KEEP_FAILURES = 10
KEEP_NOTICES = 20
KEEP_TRANSFERS = 10
KEEP_EVALUATIONS = 5
KEEP_SEEN = 150
"""Report ids of earlier runs handed on, so a re-sent report is answered, not filed again (the current
run's are all kept: ``Limits.run_reports`` hands over after at most 100)."""

KEEP_CLOSED = 4
"""Closed continued-release obligations and waived ones kept besides the rest."""
KEEP_PENDING = 3
"""Notifications still in delivery handed to the next run before the fifth release; more were
recorded as undelivered."""
CARRY_PENDING = 120
"""Since the fifth release (P4.b: retried until delivered): notifications still in delivery handed to
the next run. A channel down for a day leaves an incident a few dozen (escalations every hour);
escalations and major situations go first, and a run only hands over with more when its history
presses (``pressing``)."""
PENDING_BUDGET = 512 * 1024
"""Bytes of the notifications handed over (besides ``RECORD_BUDGET``): the continue-as-new input
stays far under Temporal's 2 MB payload limit."""
EXCERPT_CHARS, EXCERPT_BYTES = 80, 240
"""Of a report's text in the record (the whole text is in the history, named by its SHA-256)."""
CLIP_CHARS, CLIP_BYTES = 300, 450
"""Of a rejection's reason, a close reason, a waived reason (a client's value: ``intake.CLIP_*``)."""

T = TypeVar("T")


def last(items: Sequence[T], count: int) -> list[T]:
    return list(items[-count:]) if count else []


def excerpt(text: str) -> str:
    return clip(text, EXCERPT_CHARS, EXCERPT_BYTES)


def reason(text: str) -> str:
    return clip(text, CLIP_CHARS, CLIP_BYTES)


def report_key(unit: str, report_id: str) -> str:
    """How the record remembers a report id filed by ``unit``: 16 hex digits of the SHA-256 of both
    (64 bits: two of one incident never meet), so the window of remembered ids stays small whatever
    ids clients send. The unit is part of it: another unit re-sending someone's id is not answered
    with that report's receipt, it is judged as its own report (S1)."""
    return hashlib.sha256(f"{unit}\n{report_id}".encode()).hexdigest()[:16]


def lettable(obligation: Obligation) -> bool:
    """An obligation the record may let go of: closed, and either a continued release or waived.
    Open ones and what the notice requires (5 h, 24 h, 48 h, acceptance) once met or missed are always
    kept: there is at most one of each that is not waived (P3.c), and A5.3 reads them."""
    if obligation.open:
        return False
    return obligation.kind == ObligationKind.CONTINUED_RELEASE or obligation.status == ObligationStatus.WAIVED


def compact_obligations(
    obligations: Sequence[Obligation], issued: dict[ObligationKind, int]
) -> tuple[list[Obligation], list[Obligation], dict[ObligationKind, int]]:
    """Keep every obligation but the oldest lettable ones beyond ``KEEP_CLOSED``.

    Returns the kept ones, the let-go ones (for the journal) and the ``issued`` counts updated, so
    that no obligation id is ever issued twice.
    """
    lettable_ids = [o.id for o in obligations if lettable(o)]
    drop = set(lettable_ids[: max(0, len(lettable_ids) - KEEP_CLOSED)])
    if not drop:
        return list(obligations), [], issued
    kept = [o for o in obligations if o.id not in drop]
    dropped = [o for o in obligations if o.id in drop]
    counts = dict(issued)
    for o in dropped:
        counts[o.kind] = max(counts.get(o.kind, 0), number_of(o.id))
    return kept, dropped, counts


def trim(record: IncidentRecord) -> None:
    """Cut every list of the record to its last entries (the totals keep counting). The ids of reports
    filed are cut only when the record is handed on, so every report of the current run is recognised."""
    record.escalations = last(record.escalations, KEEP_ESCALATIONS)
    record.warnings = last(record.warnings, KEEP_WARNINGS)
    record.reports = last(record.reports, KEEP_REPORTS)
    record.rejected = last(record.rejected, KEEP_REJECTED)
    record.delivery_failures = last(record.delivery_failures, KEEP_FAILURES)
    record.notices = last(record.notices, KEEP_NOTICES)
    record.transfers = last(record.transfers, KEEP_TRANSFERS)


def note_failure(failures: Sequence[DeliveryFailure], failure: DeliveryFailure) -> list[DeliveryFailure]:
    """The record's ``delivery_failures`` after ``failure`` (P4.b): a key's pending entry leaves the list
    when the key is delivered, refused or given up; any but ``delivered`` is appended, the list keeping
    its last ``KEEP_FAILURES``.
    The workflow and the audit (replaying a run's journal over the carried list) both use it."""
    still = [f for f in failures if not (f.key == failure.key and f.state == "pending")]  # no longer pending
    if failure.state == "delivered":
        return still
    return last([*still, failure], KEEP_FAILURES)


def size_of(record: IncidentRecord) -> int:
    """Bytes of the record's JSON, as the data converter writes it."""
    return len(record.model_dump_json().encode("utf-8"))


def fit(record: IncidentRecord, budget: int = RECORD_BUDGET, *, spare_pending: bool = False) -> None:
    """The last guard of the budget: while the record's JSON is over ``budget``, let go of the oldest
    entry of its longest list (the histories keep them all). With the limits above it rarely acts:
    only where every kept text is at its longest. ``spare_pending`` (fifth release): notifications
    handed over are not counted nor cut here (``carried`` bounds them on their own)."""
    exclude = {"pending"} if spare_pending else None
    while len(record.model_dump_json(exclude=exclude).encode("utf-8")) > budget:
        lists: list[list[Any]] = [
            record.rejected, record.reports, record.delivery_failures, record.escalations, record.warnings,
            *([] if spare_pending else [record.pending]),
        ]  # fmt: skip
        longest = max(lists, key=len)
        if longest:
            del longest[0]
        elif record.seen:
            del record.seen[next(iter(record.seen))]
        else:
            break


@dataclass(frozen=True)
class RunSize:
    """What the current run has grown to (from ``workflow.info()`` and the journal)."""

    suggested: bool
    history_bytes: int
    history_events: int


def pressing(size: RunSize, limits: Limits) -> bool:
    """The history has grown to twice a threshold: continue as new now, even if notifications still in
    delivery must be recorded as undelivered (Temporal's own limits are further still)."""
    return size.history_bytes >= 2 * limits.history_bytes or size.history_events >= 2 * limits.history_events


def handover(size: RunSize, journal: RunJournal, limits: Limits) -> str | None:
    """Why this run should continue as new now, or ``None``.

    Considered on every wake (a timer, a report, a rejected signal): Temporal's own suggestion, the
    history's size and length, and the run's signals, updates, reports and decisions, each well below
    the point where Temporal would refuse or terminate (10,000 signals, 2,000 updates, 50 MB).
    """
    if size.suggested:
        return "Temporal suggests continue-as-new"
    if size.history_bytes >= limits.history_bytes:
        return f"history {size.history_bytes} bytes"
    if size.history_events >= limits.history_events:
        return f"history {size.history_events} events"
    if journal.signals >= limits.run_signals:
        return f"{journal.signals} signals in this run"
    if journal.updates >= limits.run_updates:
        return f"{journal.updates} updates in this run"
    if len(journal.reports) >= limits.run_reports:
        return f"{len(journal.reports)} reports in this run"
    decisions = len(journal.escalations) + len(journal.warnings) + len(journal.dropped)
    if decisions >= limits.run_decisions:
        return f"{decisions} decisions in this run"
    return None


def carried(
    record: IncidentRecord,
    in_flight: Sequence[Notification],
    keep: int = KEEP_PENDING,
    overdue: Collection[str] = (),
) -> tuple[IncidentRecord, list[Notification]]:
    """The record handed to the next run, with up to ``keep`` notifications still in delivery (re-sent
    there, idempotently, P4.b; ``overdue`` keys stay listed as pending); the rest are returned to be
    recorded as undelivered. With ``keep`` above ``KEEP_PENDING`` (the fifth release) escalations and
    major situations go first and the handed notifications are bounded by ``PENDING_BUDGET``."""
    fifth = keep > KEEP_PENDING
    ordered = sorted(in_flight, key=_urgency) if fifth else list(in_flight)
    pending = [_clipped(n) for n in ordered[:keep]]
    while fifth and pending and sum(len(n.model_dump_json().encode("utf-8")) for n in pending) > PENDING_BUDGET:
        pending.pop()
    handed = record.model_copy(
        deep=True,
        update={
            "runs": record.runs + 1,
            "pending": pending,
            "pending_overdue": [n.key for n in pending if n.key in overdue],
        },
    )
    trim(handed)
    handed.seen = dict(list(handed.seen.items())[-KEEP_SEEN:])
    fit(handed, spare_pending=fifth)
    return handed, ordered[len(pending) :]


def _urgency(notification: Notification) -> int:
    """Escalations and major situations (D.esc, A4.4) are never the ones left behind."""
    return 0 if notification.kind in ("escalation", "major_situation") else 1


def _clipped(notification: Notification) -> Notification:
    """A notification small enough to carry: a major situation's text is cut, pointing to its report."""
    text = notification.report_text
    if text is None or len(text) <= EXCERPT_CHARS:
        return notification
    note = f"（全文见报告 #{notification.report_seq} see report #{notification.report_seq}）"
    return notification.model_copy(update={"report_text": excerpt(text) + note})
