"""The assessment (考核) of a period: per unit and per city, the province's totals, findings and the list
(A5.2, A5.3, P5.a), from verified ledger lines only.

Decisions (ours, documented in the report of issue 10):

- The period's numbers cover the incidents *discovered* in it (Asia/Shanghai calendar days, both ends
  included, A5.2). An incident counts for its responsible unit at the end of its history (after any
  transfer, A4.1).
- Lateness is in whole minutes (floored) over late and overdue obligations of every kind; an overdue
  one is measured to the ledger's ``as_of`` (its close, or the last event of a running incident).
- The look-back window (P5.a) is the ``look_back_days`` calendar days ending with the period's last
  day, widened to the period's first day when the period is longer. A unit is found only for an
  incident of the period; the window's earlier incidents only make the finding heavier
  (one → 通报批评, two or more → 约谈整改), and the finding cites every incident it counted.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, timedelta

from assessment.models import (
    Assessment,
    EvaluationCounts,
    Finding,
    FindingKind,
    KindCounts,
    Listed,
    Period,
    Row,
    Totals,
)
from assessment.outcomes import Outcome, fact, outcome
from audit.ledger import IncidentLedger
from yuqing.directory import Directory
from yuqing.models import ObligationKind
from yuqing.timefmt import SHANGHAI

CRITICISM: FindingKind = "通报批评"
SUMMONS: FindingKind = "约谈整改"
RATE_DIGITS = 4


def in_period(day: date, period: Period) -> bool:
    """A5.2: both ends included."""
    return period.from_ <= day <= period.to


def window_start(period: Period, look_back_days: int) -> date:
    """P5.a: the first day of the look-back window (``look_back_days`` days ending with ``period.to``,
    never starting after the period does)."""
    if look_back_days < 0:
        raise ValueError(f"回溯天数不能为负 look_back_days must not be negative: {look_back_days}")
    return min(period.from_, period.to - timedelta(days=look_back_days - 1))


def finding_kind(count: int) -> FindingKind:
    """A5.3: one incident in the window → 通报批评; two or more → 约谈整改."""
    return SUMMONS if count >= 2 else CRITICISM


def _sum_counts(outcomes: Iterable[Outcome]) -> dict[ObligationKind, KindCounts]:
    total = {kind: KindCounts() for kind in ObligationKind}
    for o in outcomes:
        for kind, c in o.obligations.items():
            t = total[kind]
            t.due += c.due
            t.met += c.met
            t.late += c.late
            t.overdue += c.overdue
            t.waived += c.waived
            t.pending += c.pending
    return total


def _row(code: str, name: str, city: str | None, city_name: str | None, outcomes: list[Outcome]) -> Row:
    """A5.2: one unit's (or city's) numbers over its incidents of the period."""
    counts = _sum_counts(outcomes)
    met = sum(c.met for c in counts.values())
    judged = met + sum(c.late + c.overdue for c in counts.values())
    lateness = [m for o in outcomes for m in o.lateness_minutes]
    escalations: dict[int, int] = {}
    for o in outcomes:
        for level, n in o.escalations.items():
            escalations[level] = escalations.get(level, 0) + n
    return Row(
        code=code,
        name=name,
        city=city,
        city_name=city_name,
        incidents=len(outcomes),
        obligations=counts,
        on_time_rate=round(met / judged, RATE_DIGITS) if judged else None,
        median_lateness_minutes=float(statistics.median(lateness)) if lateness else None,
        worst_lateness_minutes=float(max(lateness)) if lateness else None,
        escalations={str(level): escalations[level] for level in sorted(escalations)},
        explanations=sum(o.explanations for o in outcomes),
        credited_reports=sum(o.credited_reports for o in outcomes),
        evaluations=EvaluationCounts(
            evaluated=sum(1 for o in outcomes if o.evaluation is not None),
            improper_response=sum(1 for o in outcomes if o.improper_response),
            ineffective_disposition=sum(1 for o in outcomes if o.ineffective_disposition),
        ),
    )


def _namer(directory: Directory | None) -> Callable[[str, str], str]:
    """A unit's name: the directory's where given (its current name), else the one in the record."""

    def name(code: str, recorded: str) -> str:
        return directory.get(code).name if directory is not None and code in directory else recorded

    return name


def _grouped(outcomes: Iterable[Outcome], key: Callable[[Outcome], str]) -> dict[str, list[Outcome]]:
    groups: dict[str, list[Outcome]] = {}
    for o in outcomes:
        groups.setdefault(key(o), []).append(o)
    return dict(sorted(groups.items()))


def assess(
    incidents: Sequence[IncidentLedger],
    period: Period,
    *,
    look_back_days: int = 365,
    units_directory: Directory | None = None,
    now: datetime,
) -> Assessment:
    """A5.2, A5.3, P5.a: the assessment of ``period`` over verified ledger lines (those of the look-back
    window too, for repeated findings). Units, cities and findings by code; deterministic."""
    start = window_start(period, look_back_days)
    name = _namer(units_directory)
    outcomes = sorted((outcome(i) for i in incidents), key=lambda o: (o.discovered_at, o.incident_id))
    current = [o for o in outcomes if in_period(o.discovered_on, period)]
    window = [o for o in outcomes if start <= o.discovered_on <= period.to]

    units = [
        _row(code, name(code, group[0].unit_name), group[0].city,
             name(group[0].city, group[0].city_name or "") if group[0].city else None, group)
        for code, group in _grouped(current, lambda o: o.unit).items()
    ]  # fmt: skip
    cities = []
    for code, group in _grouped(current, lambda o: o.city or o.unit).items():
        first = group[0]
        if first.city is None:  # a provincial department is its own row
            cities.append(_row(code, name(code, first.unit_name), None, None, group))
        else:
            city_name = name(code, first.city_name or code)
            cities.append(_row(code, city_name, code, city_name, group))

    findings = []
    for code, group in _grouped((o for o in current if o.found), lambda o: o.unit).items():
        counted = [o for o in window if o.unit == code and o.found]
        findings.append(
            Finding(
                unit=code,
                unit_name=name(code, group[0].unit_name),
                finding=finding_kind(len(counted)),
                incidents=[o.incident_id for o in counted],
                facts=[fact(o) for o in counted],
            )
        )
    listed = [
        Listed(unit=o.unit, unit_name=name(o.unit, o.unit_name), incident=o.incident_id, opinion_level=o.peak_level,
               facts=[fact(o)])
        for o in sorted(current, key=lambda o: (o.unit, o.discovered_at, o.incident_id))
        if o.has_facts and not o.major
    ]  # fmt: skip
    return Assessment(
        period=period,
        generated_at=now.astimezone(SHANGHAI),
        look_back_days=look_back_days,
        totals=Totals(incidents=len(current), obligations=_sum_counts(current)),
        units=units,
        cities=cities,
        findings=findings,
        listed=listed,
    )
