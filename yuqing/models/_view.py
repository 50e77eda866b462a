"""What the workflow answers: the ``status`` view (the JSON contract) and the receipt of a report.

Both are built from the record and the run's journal, never stored: the record stays small and the
answers stay within their budgets (the view under 256 KiB, a receipt under 4 KiB).
"""

from __future__ import annotations

from pydantic import Field, computed_field

from yuqing.models._base import Model, Record, Timestamp
from yuqing.models._enums import IncidentState, ObligationStatus, OpinionLevel, ReportType
from yuqing.models._incident import Responsibility, SuddenEvent, Transfer, Unit
from yuqing.models._input import IncidentInput
from yuqing.models._notifications import ObligationBrief
from yuqing.models._record import (
    TRANSIT,
    DeliveryFailure,
    Escalation,
    Evaluation,
    IncidentRecord,
    NoticeRecord,
    Obligation,
    Rejection,
    ReportRef,
    RunJournal,
    WarningRecord,
)

VIEW_REPORTS = 200
"""Reports the ``status`` view lists at most: every report of a run (a run hands over after at most
100, ``Limits.run_reports``), and the latest of a burst of more arriving in one workflow task."""

class IncidentStatus(Record):
    """The ``status`` query's answer: the incident's record as staff and scripts read it.

    The contract keys of the first release (``incident_id`` … ``rejected`` and the rest below) never
    change; more keys may be added. ``reports`` lists every report of the current run and the last
    ones before it; ``escalations``, ``warnings``, ``rejected`` and ``delivery_failures`` the latest,
    with their totals beside them.
    """

    incident_id: str
    state: IncidentState
    opinion_level: OpinionLevel
    event: SuddenEvent | None
    responsible_unit: str
    discovered_at: Timestamp
    obligations: list[Obligation]
    escalations: list[Escalation]
    reports: list[ReportRef]
    rejected: list[Rejection]
    title: str
    summary: str = ""
    source: str = ""
    responsible_unit_name: str
    leader: str
    section: str
    chain: list[Unit]
    opened_at: Timestamp
    opened_by: str | None = None
    transfer: Transfer | None = None
    accepted_at: Timestamp | None = None
    accepted_by: str | None = None
    final_disposition: ReportRef | None = None
    closed_at: Timestamp | None = None
    closed_by: str | None = None
    close_reason: str | None = None
    warnings: list[WarningRecord] = Field(default_factory=list)
    delivery_failures: list[DeliveryFailure] = Field(default_factory=list)
    policy_name: str
    runs: int = 1
    reports_total: int = 0
    escalations_total: int = 0
    warnings_total: int = 0
    rejected_total: int = 0
    delivery_failures_total: int = 0
    delivery_pending: int = 0
    """Notifications past their retry window, still being retried (they leave ``delivery_failures``
    once delivered)."""
    # Articles 一 and 二 (the third release)
    responsibility: Responsibility | None = None
    """How the responsible unit was found (A1.1, A1.2, N1.1), and an opener's override."""
    lead_unit: Unit | None = None
    """牵头部门 (A2.1)."""
    lead_by: str | None = None
    """Who designated it (S5) …"""
    lead_at: Timestamp | None = None
    """… and when."""
    transfers: list[Transfer] = Field(default_factory=list)
    """Every transfer (A4.1), the latest last; ``transfer`` is the latest."""
    transfers_total: int = 0
    coordination: list[Unit] = Field(default_factory=list)
    """Who is told of important information (A2.3): 宣传, 网信, 通信管理."""
    notices: list[NoticeRecord] = Field(default_factory=list)
    notices_total: int = 0
    # Article 五
    peak_opinion_level: OpinionLevel | None = None
    """The highest opinion level the incident ever had (A5.3)."""
    evaluations: list[Evaluation] = Field(default_factory=list)
    """A5.1: the provincial office's evaluations, the latest last."""
    evaluations_total: int = 0
    evaluation_until: Timestamp | None = None
    """P5.b: a closed incident takes evaluations until then."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def next_deadline(self) -> Timestamp | None:
        """The earliest due time among pending obligations."""
        due = [o.due_at for o in self.obligations if o.status == ObligationStatus.PENDING]
        return min(due) if due else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def overdue(self) -> bool:
        return any(o.status == ObligationStatus.OVERDUE for o in self.obligations)

    def obligation(self, obligation_id: str) -> Obligation:
        return next(o for o in self.obligations if o.id == obligation_id)

    @classmethod
    def of(cls, input: IncidentInput, record: IncidentRecord, journal: RunJournal) -> IncidentStatus:
        """The view of ``record``: the incident's facts from the input, the reports of this run."""
        incident, chain = input.incident, input.chain_of(record)
        unit = chain[0]
        reports = {r.seq: r for r in record.reports}
        reports.update((r.seq, r) for r in journal.reports[-VIEW_REPORTS:])
        return cls(
            incident_id=record.incident_id,
            state=record.state,
            opinion_level=record.opinion_level,
            event=record.event,
            responsible_unit=record.responsible_unit,
            discovered_at=record.discovered_at,
            obligations=record.obligations,
            escalations=record.escalations,
            reports=[reports[seq] for seq in sorted(reports)][-VIEW_REPORTS:],
            rejected=record.rejected,
            title=incident.title,
            summary=incident.summary,
            source=incident.source,
            responsible_unit_name=unit.name,
            leader=unit.leader,
            section=unit.section,
            chain=chain,
            opened_at=record.opened_at,
            opened_by=record.opened_by,
            transfer=record.transfer,
            accepted_at=record.accepted_at,
            accepted_by=record.accepted_by,
            final_disposition=record.final_disposition,
            closed_at=record.closed_at,
            closed_by=record.closed_by,
            close_reason=record.close_reason,
            warnings=record.warnings,
            delivery_failures=record.delivery_failures,
            policy_name=input.policy.name,
            runs=record.runs,
            reports_total=record.reports_total,
            escalations_total=record.escalations_total,
            warnings_total=record.warnings_total,
            rejected_total=record.rejected_total,
            delivery_failures_total=record.delivery_failures_total,
            delivery_pending=record.delivery_pending,
            responsibility=incident.responsibility,
            lead_unit=record.lead_unit,
            lead_by=record.lead_by,
            lead_at=record.lead_at,
            transfers=record.transfers,
            transfers_total=record.transfers_total,
            coordination=input.coordination_of(record),
            notices=record.notices,
            notices_total=record.notices_total,
            peak_opinion_level=record.peak_opinion_level,
            evaluations=record.evaluations,
            evaluations_total=record.evaluations_total,
            evaluation_until=record.evaluation_until,
        )


class Receipt(Model):
    """The answer to a filed report: what it met and what the incident now owes (under 4 KiB)."""

    incident_id: str
    report_id: str
    seq: int
    type: ReportType
    by: str
    at: Timestamp | None
    """The time that counts (P4.h); unknown only for a duplicate of a report filed long ago."""
    arrived_at: Timestamp | None
    duplicate: bool = False
    """The report id was already filed: nothing was filed again; this is the first filing's seq."""
    text_sha256: str | None = None
    """The digest of the text as filed (the history holds the text; the audit checks one against the other)."""
    met: list[ObligationBrief] = Field(default_factory=list)
    owed: list[ObligationBrief] = Field(default_factory=list)
    state: IncidentState
    closed_at: Timestamp | None = None
    close_reason: str | None = None
    note: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def credited(self) -> bool:
        """P4.h: counted at its filing time after a delay longer than transit (an outage)."""
        return self.at is not None and self.arrived_at is not None and self.arrived_at - self.at > TRANSIT


def brief(obligation: Obligation) -> ObligationBrief:
    return ObligationBrief(
        id=obligation.id,
        kind=obligation.kind,
        rule=obligation.rule,
        due_at=obligation.due_at,
        status=obligation.status,
    )


def owed(obligations: list[Obligation]) -> list[ObligationBrief]:
    """The open obligations, earliest deadline first."""
    return [brief(o) for o in sorted((o for o in obligations if o.open), key=lambda o: o.due_at)]


def receipt(record: IncidentRecord, ref: ReportRef, *, duplicate: bool = False, note: str | None = None) -> Receipt:
    met = [brief(o) for o in record.obligations if o.id in ref.met]
    return Receipt(
        incident_id=record.incident_id,
        report_id=ref.report_id,
        seq=ref.seq,
        type=ref.type,
        by=ref.by,
        at=ref.at,
        arrived_at=ref.arrived_at,
        duplicate=duplicate,
        text_sha256=ref.text_sha256,
        met=met,
        owed=owed(record.obligations),
        state=record.state,
        closed_at=record.closed_at,
        close_reason=record.close_reason,
        note=note,
    )

