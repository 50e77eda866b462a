"""What the incident workflow keeps: a bounded record, carried over continue-as-new, and a journal of
what the current run decided.

The record stays small whatever the incident's age or traffic (``workflows.rules.bounds``): report
texts stay in the histories and are referenced by sequence number and SHA-256; escalations, warnings,
rejections and delivery failures keep their last entries and a count. The journal holds every
decision of the current run for the status view and the audit, and is emptied at continue-as-new.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, computed_field

from yuqing.models._base import Record, Timestamp
from yuqing.models._enums import (
    DispositionVerdict,
    EscalationAction,
    IncidentState,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReleaseChannel,
    ReportType,
    ResponseVerdict,
    ResponseWay,
    Role,
    Speaker,
)
from yuqing.models._incident import SuddenEvent, Transfer, Unit
from yuqing.models._notifications import Notification

TRANSIT = timedelta(seconds=1)
"""A report arriving within this of its filing time was merely in transit; later, it was delayed (P4.h)."""


class ReportRef(Record):
    """A report as filed: its facts, an excerpt of its text, and the digest of the whole text.

    ``at`` is the time that counts for deadlines (P4.h: ``filed_at`` where credited, else the
    arrival); ``arrived_at`` is when the workflow received it.
    """

    seq: int
    report_id: str
    type: ReportType
    by: str
    """The unit that acted (S1-S7)."""
    via: Literal["update", "signal"] = "update"
    at: Timestamp
    arrived_at: Timestamp
    filed_at: Timestamp | None = None
    published_at: Timestamp | None = None
    text: str
    """An excerpt; the whole text is in the history, named by ``text_sha256``."""
    text_length: int
    text_sha256: str
    way: ResponseWay | None = None
    channel: ReleaseChannel | None = None
    speaker: Speaker | None = None
    final: bool | None = None
    obligation_id: str | None = None
    """For an explanation (P4.g): the obligation it explains."""
    met: list[str] = Field(default_factory=list)
    """Obligation ids this report met."""
    changes: dict[str, Any] | None = None
    """For a reclassification: what changed, from and to."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def credited(self) -> bool:
        """P4.h: counted at its client filing time because it arrived later than a message's transit
        (an outage of the workers): the ledger lists these."""
        return self.arrived_at - self.at > TRANSIT


class Explanation(Record):
    """超时说明 beside a missed obligation (P4.g)."""

    seq: int
    by: str
    at: Timestamp
    text: str
    text_sha256: str


class Obligation(Record):
    """One deadline an incident owes (A3.1-A3.4, P4.c) and how far its escalation went (P4.a)."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z_]+#[1-9][0-9]{0,8}$")]
    """``kind#n``: unique in the incident, used in idempotency keys (P4.b)."""
    kind: ObligationKind
    rule: str
    clock_start: Timestamp
    due_at: Timestamp
    status: ObligationStatus = ObligationStatus.PENDING
    met_at: Timestamp | None = None
    met_by: int | None = None
    """``seq`` of the report that met it."""
    waived_reason: str | None = None
    warn_at: Timestamp
    warned_at: Timestamp | None = None
    escalation_interval: Annotated[timedelta, Field(ge=timedelta(minutes=1), le=timedelta(days=30))]
    next_step: int = Field(default=0, ge=0)
    """The next escalation step to fire (P4.a): step k is due at ``due_at + k * interval``."""
    escalations: int = 0
    """How many escalations this obligation has fired, in every run."""
    last_level: int | None = None
    last_escalated_at: Timestamp | None = None
    explanation: Explanation | None = None

    @property
    def open(self) -> bool:
        return self.status in (ObligationStatus.PENDING, ObligationStatus.OVERDUE)


class WarningRecord(Record):
    """A warning (预警) sent before a deadline (P3.e)."""

    obligation: ObligationKind
    obligation_id: str
    target: str
    at: Timestamp


class Escalation(Record):
    """One escalation decision (D.esc, P4.a, P4.d)."""

    obligation: ObligationKind
    obligation_id: str
    level: int
    round: int
    target: str
    target_name: str
    action: EscalationAction
    at: Timestamp
    due_at: Timestamp
    """When this step was scheduled; ``at`` is later only where the workflow caught up."""
    skipped_steps: int = 0
    """Steps that fell due while nobody could act, collapsed into this one (P4.a): never a burst."""
    role: Role = Role.LEADER_IN_CHARGE
    """Whom in the target it addressed (A2.2: a government's principal leader at 特别重大)."""


class NoticeRecord(Record):
    """A notification beyond warnings and escalations: a transfer (A4.1), a lead designation (A2.1), the
    lead's copy of an escalation, leadership (A2.2) or coordination (A2.3). ``key`` is its idempotency
    key (P4.b); the audit matches every one to the history."""

    kind: str
    key: str
    target: str
    role: Role
    at: Timestamp


class Evaluation(Record):
    """评价 (A5.1): the provincial office's verdicts on an incident, with who, when and why."""

    seq: int
    by: str
    at: Timestamp
    response: ResponseVerdict
    disposition: DispositionVerdict
    reason: str
    reason_sha256: str


class Rejection(Record):
    """A message that was refused, with why; it never fails the workflow. Reason and value are clipped."""

    at: Timestamp
    reason: str
    type: str | None = None
    via: Literal["update", "signal", "start"] = "signal"
    by: str | None = None
    value: str | None = None
    """The start of what was sent, for the record."""


DeliveryState = Literal["pending", "refused", "undelivered", "delivered"]


class DeliveryFailure(Record):
    """A notification not delivered within the retry window (P4.b).

    ``pending``: still being retried, it leaves the list once delivered; ``refused``: the channel
    refused it for good (a 4xx of a webhook), it is not retried; ``undelivered``: given up (only
    incidents recorded before the fifth release, or beyond what a pressing continue-as-new carries).
    ``delivered`` appears only in a run's journal: a pending one got through and left the list
    (``rules.bounds.note_failure``).
    """

    key: str
    at: Timestamp
    error: str
    state: DeliveryState = "undelivered"
    kind: str | None = None
    target: str | None = None


class IncidentRecord(Record):
    """The incident as the workflow keeps it and carries over continue-as-new (bounded)."""

    incident_id: str
    state: IncidentState = IncidentState.OPEN
    opinion_level: OpinionLevel
    event: SuddenEvent | None
    responsible_unit: str
    discovered_at: Timestamp
    opened_at: Timestamp
    opened_by: str
    obligations: list[Obligation] = Field(default_factory=list)
    """Every open obligation and the latest closed ones (older ones are in the histories)."""
    first_due: dict[ObligationKind, Timestamp] = Field(default_factory=dict)
    """The earliest deadline each kind ever had (P3.c: up, down and up again keeps the first)."""
    issued: dict[ObligationKind, int] = Field(default_factory=dict)
    """The highest number of each kind the record let go of: ids (and keys, P4.b) never repeat."""
    escalations: list[Escalation] = Field(default_factory=list)
    escalations_total: int = 0
    warnings: list[WarningRecord] = Field(default_factory=list)
    warnings_total: int = 0
    reports: list[ReportRef] = Field(default_factory=list)
    reports_total: int = 0
    """The last ``seq`` given."""
    seen: dict[str, int] = Field(default_factory=dict)
    """Report ids already filed (by ``bounds.report_key``), with their ``seq``: a re-sent report is
    answered, not filed twice."""
    first_response: ReportRef | None = None
    """The first response (P3.c: it meets a 48 h obligation that applies after a downgrade)."""
    rejected: list[Rejection] = Field(default_factory=list)
    rejected_total: int = 0
    delivery_failures: list[DeliveryFailure] = Field(default_factory=list)
    delivery_failures_total: int = 0
    delivery_pending: int = 0
    """Notifications past their retry window and still being retried now (P4.b): the list above
    shows the latest of them; this counts them all."""
    transfer: Transfer | None = None
    accepted_at: Timestamp | None = None
    accepted_by: str | None = None
    final_disposition: ReportRef | None = None
    """A final disposition filed while something the notice requires was still owed (S3): the
    incident closes when that is met."""
    closed_at: Timestamp | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    pending: list[Notification] = Field(default_factory=list)
    """Notifications still being delivered when the previous run continued as new: sent again."""
    pending_overdue: list[str] = Field(default_factory=list)
    """Keys of those already past their retry window (listed as pending): retried without a new window."""
    awake_at: Timestamp | None = None
    """When the workflow last ran (P4.h: a report filed before it, arriving after it, was not held
    up by an outage of the workers)."""
    runs: int = 1
    # Articles 一 and 二 (the third release): who answers and who is told
    articles_1_2: bool | None = None
    """Whether this incident runs the third release's rules (``workflow.patched``; ``False`` on
    histories recorded before it, which replay as they ran)."""
    chain: list[Unit] | None = Field(default=None, max_length=8)
    """After a transfer (A4.1): the receiving unit's chain (P4.d); ``None``: the input's."""
    coordination: list[Unit] | None = Field(default=None, max_length=8)
    """After a transfer: the coordination units of the receiving unit's level (A2.3); ``None``: the input's."""
    transfers: list[Transfer] = Field(default_factory=list)
    """Every transfer, the latest last (the last ``KEEP_TRANSFERS``; ``transfers_total`` counts them all)."""
    transfers_total: int = 0
    lead_unit: Unit | None = None
    """The lead department (牵头部门, A2.1, S5): may report (S1), receives the responsible unit's steps."""
    lead_by: str | None = None
    lead_at: Timestamp | None = None
    on_file: dict[ReportType, int] = Field(default_factory=dict)
    """Report types filed since the latest transfer, with the first one's ``seq`` (P4.f: analysis,
    response, disposition)."""
    notices: list[NoticeRecord] = Field(default_factory=list)
    """The latest notifications beyond warnings and escalations (``notices_total`` counts them all)."""
    notices_total: int = 0
    # Article 五 (the fourth release)
    article_5: bool | None = None
    """Whether this incident runs the fourth release's evaluation window (``workflow.patched``)."""
    peak_opinion_level: OpinionLevel | None = None
    """The highest opinion level the incident ever had (A5.3: 重大 or above at any time)."""
    evaluations: list[Evaluation] = Field(default_factory=list)
    """A5.1: the latest evaluations (the last counts); ``evaluations_total`` counts them all."""
    evaluations_total: int = 0
    evaluation_until: Timestamp | None = None
    """P5.b: after 办结, evaluations are taken until then, every clock stopped; then the workflow completes."""

    def obligation(self, obligation_id: str) -> Obligation | None:
        return next((o for o in self.obligations if o.id == obligation_id), None)

    @property
    def transferred(self) -> bool:
        return self.transfer is not None


class RunJournal(Record):
    """Everything the current run decided (not carried over): the audit's view of one run."""

    reports: list[ReportRef] = Field(default_factory=list)
    escalations: list[Escalation] = Field(default_factory=list)
    warnings: list[WarningRecord] = Field(default_factory=list)
    failures: list[DeliveryFailure] = Field(default_factory=list)
    notices: list[NoticeRecord] = Field(default_factory=list)
    dropped: list[Obligation] = Field(default_factory=list)
    """Closed obligations the record let go of during this run, as they were then."""
    signals: int = 0
    updates: int = 0
