"""One incident's outcome for the assessment (A5.1-A5.3), derived from its ledger line only.

Pure functions of ``audit.ledger.IncidentLedger``: the same code that builds the auditors' ledger
decides every number here, so the assessment and the audit cannot drift (issue 10).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict

from assessment.models import KindCounts
from audit.ledger import IncidentLedger, ObligationLine
from yuqing.models import (
    DispositionVerdict,
    Evaluation,
    IncidentState,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ResponseVerdict,
    UnitKind,
)
from yuqing.timefmt import SHANGHAI, clock

FINDING_LEVEL = OpinionLevel.MAJOR
"""A5.3: an incident of opinion level 重大 or above (at any time) can be found against its unit."""
REPORTING_KINDS: tuple[ObligationKind, ...] = (
    ObligationKind.AUTHORITATIVE_INFO,  # A3.1, 5 h
    ObligationKind.PRESS_CONFERENCE,  # A3.2, 24 h
    ObligationKind.RESPONSE,  # A3.3, 48 h
    ObligationKind.ACCEPTANCE,  # P4.c
    ObligationKind.ANALYSIS,  # P4.f
)
"""A5.3 报告不及时: these obligations late or overdue; a continued release (P3.d) is not among them."""
LATE_STATUSES = (ObligationStatus.LATE, ObligationStatus.OVERDUE)


class LateObligation(BaseModel):
    """A reporting obligation late or overdue (A5.3), as the facts tell it."""

    model_config = ConfigDict(frozen=True)

    obligation_id: str
    kind: ObligationKind
    rule: str
    due_at: datetime
    status: ObligationStatus
    lateness_minutes: int
    """Whole minutes (floored), measured to the ledger's ``as_of`` while overdue."""
    escalated_to: int | None
    """The highest escalation level this obligation reached (P4.a, P4.d)."""
    explanation: str | None
    """超时说明 (P4.g): its text (the ledger's whole line where the record no longer holds it); shown,
    never excusing."""


class Outcome(BaseModel):
    """What one incident counts for in the assessment (A5.2) and whether it is found against (A5.3)."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    title: str
    unit: str
    unit_name: str
    city: str | None
    """The city government in the responsible unit's chain (P4.d); ``None`` for a provincial unit."""
    city_name: str | None
    discovered_at: datetime
    discovered_on: date
    """The Asia/Shanghai calendar day of the discovery (A5.2)."""
    opinion_level: OpinionLevel
    peak_level: OpinionLevel
    """The highest opinion level the incident ever had (A5.3: at any time)."""
    state: IncidentState
    as_of: datetime
    closed: bool
    obligations: dict[ObligationKind, KindCounts]
    """Every kind, in ``ObligationKind`` order."""
    lateness_minutes: list[int]
    """Of every late or overdue obligation (any kind), in ledger order."""
    escalations: dict[int, int]
    """Escalations by level (every round counts)."""
    explanations: int
    credited_reports: int
    evaluation: Evaluation | None
    """The latest evaluation (A5.1), if any."""
    late_reports: list[LateObligation]
    """A5.3 报告不及时: the reporting obligations late or overdue."""

    @property
    def improper_response(self) -> bool:
        return self.evaluation is not None and self.evaluation.response == ResponseVerdict.IMPROPER

    @property
    def ineffective_disposition(self) -> bool:
        return self.evaluation is not None and self.evaluation.disposition == DispositionVerdict.INEFFECTIVE

    @property
    def has_facts(self) -> bool:
        """A5.3: evaluated 回应不妥当 or 处置不得力, or a reporting obligation late or overdue."""
        return bool(self.late_reports) or self.improper_response or self.ineffective_disposition

    @property
    def major(self) -> bool:
        """A5.3: 重大 or above at any time."""
        return self.peak_level.rank >= FINDING_LEVEL.rank

    @property
    def found(self) -> bool:
        """A5.3: counts against its unit (major and with facts); below 重大 it is only listed."""
        return self.major and self.has_facts


def minutes(seconds: int | None) -> int:
    """Whole minutes, floored (as the ledger's ``span`` reads them)."""
    return max(seconds or 0, 0) // 60


def peak_level(ledger: IncidentLedger) -> OpinionLevel:
    """A5.3: ``record.peak_opinion_level`` (never below the current level); the current level where
    the record predates that field."""
    record = ledger.record
    levels = [record.opinion_level, ledger.opinion_level]
    if record.peak_opinion_level is not None:
        levels.append(record.peak_opinion_level)
    return max(levels, key=lambda level: level.rank)


def city_of(ledger: IncidentLedger) -> tuple[str | None, str | None]:
    """The city government (code, name) in the responsible unit's chain; ``(None, None)`` for a provincial unit."""
    for unit in ledger.record.chain:
        if unit.kind == UnitKind.CITY_GOVERNMENT:
            return unit.code, unit.name
    return None, None


def kind_counts(lines: list[ObligationLine]) -> dict[ObligationKind, KindCounts]:
    """A5.2: per kind ``due`` (every obligation) and how each ended."""
    counts = {kind: KindCounts() for kind in ObligationKind}
    for line in lines:
        c = counts[line.kind]
        c.due += 1
        match line.status:
            case ObligationStatus.MET:
                c.met += 1
            case ObligationStatus.LATE:
                c.late += 1
            case ObligationStatus.OVERDUE:
                c.overdue += 1
            case ObligationStatus.WAIVED:
                c.waived += 1
            case ObligationStatus.PENDING:
                c.pending += 1
    return counts


def latest_evaluation(ledger: IncidentLedger) -> Evaluation | None:
    """A5.1: the last evaluation counts."""
    evaluations = ledger.record.evaluations
    return max(evaluations, key=lambda e: (e.seq, e.at)) if evaluations else None


def outcome(ledger: IncidentLedger) -> Outcome:
    """The outcome of one verified incident (A5.2, A5.3, P4.g, P4.h)."""
    city, city_name = city_of(ledger)
    top: dict[str, int] = {}
    for e in ledger.escalations:
        top[e.obligation_id] = max(top.get(e.obligation_id, 0), e.level)
    late = [o for o in ledger.obligations if o.status in LATE_STATUSES]
    explained = {o.id: o.explanation.text for o in ledger.record.obligations if o.explanation is not None}
    return Outcome(
        incident_id=ledger.incident_id,
        title=ledger.title,
        unit=ledger.responsible_unit,
        unit_name=ledger.responsible_unit_name,
        city=city,
        city_name=city_name,
        discovered_at=ledger.discovered_at,
        discovered_on=ledger.discovered_at.astimezone(SHANGHAI).date(),
        opinion_level=ledger.opinion_level,
        peak_level=peak_level(ledger),
        state=ledger.state,
        as_of=ledger.as_of,
        closed=ledger.closed_at is not None,
        obligations=kind_counts(ledger.obligations),
        lateness_minutes=[minutes(o.lateness_seconds) for o in late],
        escalations=dict(sorted(Counter(e.level for e in ledger.escalations).items())),
        explanations=sum(1 for o in ledger.obligations if o.explanation),
        credited_reports=len(ledger.credited),
        evaluation=latest_evaluation(ledger),
        late_reports=[
            LateObligation(
                obligation_id=o.obligation_id,
                kind=o.kind,
                rule=o.rule,
                due_at=o.due_at,
                status=o.status,
                lateness_minutes=minutes(o.lateness_seconds),
                escalated_to=top.get(o.obligation_id),
                explanation=explained.get(o.obligation_id, o.explanation) if o.explanation else None,
            )  # fmt: skip
            for o in late
            if o.kind in REPORTING_KINDS
        ],
    )


# ------------------------------------------------------------------ facts, in Chinese (A5.3)


def duration_zh(total_minutes: int) -> str:
    """``35 分钟``, ``1 小时 20 分钟``, ``2 天 3 小时``; ``不足 1 分钟`` for 0."""
    if total_minutes <= 0:
        return "不足 1 分钟"
    days, rest = divmod(total_minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days} 天" if days else "", f"{hours} 小时" if hours else "", f"{mins} 分钟" if mins else ""]
    return " ".join(p for p in parts if p)


def _obligation_fact(o: LateObligation, result: Outcome) -> str:
    head = f"{o.kind.zh}（{o.rule}）应于 {clock(o.due_at)} 前完成，"
    if o.status == ObligationStatus.LATE:
        text = head + f"逾期 {duration_zh(o.lateness_minutes)}完成"
    elif result.closed:
        text = head + f"至 {clock(result.as_of)} 办结时仍未完成，逾期 {duration_zh(o.lateness_minutes)}"
    else:
        text = head + f"截至 {clock(result.as_of)} 仍未完成，已逾期 {duration_zh(o.lateness_minutes)}"
    if o.escalated_to:
        text += f"；督办至第 {o.escalated_to} 级"
    if o.explanation:
        text += f"；超时说明：{o.explanation}"
    return text


def fact(result: Outcome) -> str:
    """A5.3: what happened, in one Chinese sentence: each late or overdue reporting obligation with its
    due time (Asia/Shanghai), lateness, escalation reached and explanation, then the evaluation."""
    clauses = [_obligation_fact(o, result) for o in result.late_reports]
    if result.evaluation is not None:
        e = result.evaluation
        clauses.append(f"评价：{e.response.zh}、{e.disposition.zh}——{e.reason}")
    body = "；".join(clauses) if clauses else "无"
    return f"{result.incident_id}《{result.title}》（{result.peak_level.zh}）：{body}"
