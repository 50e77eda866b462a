"""The assessment (考核) as data: the JSON ``yuqing assess`` prints and the 通报 is written from (A5.2, A5.3).

Built from the auditors' ledger (``audit.ledger``), never from a second store. Keys follow the issue's
contract; more may be added. Lateness is in minutes; rates are fractions (0.0-1.0) or ``null``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from yuqing.models import ObligationKind, OpinionLevel

FindingKind = Literal["通报批评", "约谈整改"]


class _Model(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Period(_Model):
    """Asia/Shanghai calendar days, both ends included (A5.2)."""

    from_: date = Field(alias="from")
    to: date


class KindCounts(_Model):
    """One obligation kind's outcomes: due = met + late + overdue + waived + pending."""

    due: int = 0
    met: int = 0
    late: int = 0
    overdue: int = 0
    waived: int = 0
    pending: int = 0


class Totals(_Model):
    incidents: int = 0
    obligations: dict[ObligationKind, KindCounts] = Field(default_factory=dict)


class EvaluationCounts(_Model):
    """A5.1: evaluations that found fault."""

    evaluated: int = 0
    improper_response: int = 0
    ineffective_disposition: int = 0


class Row(_Model):
    """A unit's (or a city's) record over the period (A5.2)."""

    code: str
    name: str
    city: str | None = None
    """The city code the unit belongs to; ``None`` for a provincial unit (its own row in ``cities``)."""
    city_name: str | None = None
    incidents: int = 0
    obligations: dict[ObligationKind, KindCounts] = Field(default_factory=dict)
    on_time_rate: float | None = None
    """met ÷ (met + late + overdue); ``None`` when none of those."""
    median_lateness_minutes: float | None = None
    worst_lateness_minutes: float | None = None
    escalations: dict[str, int] = Field(default_factory=dict)
    """By level: ``{"1": n, "2": n, …}``."""
    explanations: int = 0
    credited_reports: int = 0
    evaluations: EvaluationCounts = Field(default_factory=EvaluationCounts)


class Finding(_Model):
    """A5.3: a unit's 通报批评 (one incident against it in the look-back window) or 约谈整改 (two or more)."""

    unit: str
    unit_name: str
    finding: FindingKind
    incidents: list[str]
    facts: list[str]
    """In Chinese: obligation, due time, lateness, escalations, evaluation and its reason."""


class Listed(_Model):
    """The same facts on an incident below 重大: listed, not found (A5.3)."""

    unit: str
    unit_name: str
    incident: str
    opinion_level: OpinionLevel
    facts: list[str]


class Assessment(_Model):
    period: Period
    generated_at: datetime
    look_back_days: int = 365
    """P5.a: the window a repeated finding is counted in, ending at the period's end."""
    totals: Totals
    units: list[Row]
    cities: list[Row]
    findings: list[Finding]
    listed: list[Listed]

