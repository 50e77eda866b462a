"""The deadline policy as a value: durations, warning share, escalation intervals, grace for outages.

Loaded from a TOML file by ``yuqing.policy``; copied into every incident's input, so it is checked
here too: a workflow started with a window of a millisecond or of a thousand years fails at once
instead of escalating in a storm or never.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from yuqing.models._base import Model
from yuqing.models._enums import ObligationKind

MIN_HOURS = 1 / 60
"""Every window and interval is at least one minute …"""
MAX_HOURS = 30 * 24
"""… and at most thirty days."""


class ObligationPolicy(Model):
    rule: str
    window_hours: float = Field(ge=MIN_HOURS, le=MAX_HOURS)
    escalation_interval_hours: float = Field(ge=MIN_HOURS, le=MAX_HOURS)

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)

    @property
    def escalation_interval(self) -> timedelta:
        return timedelta(hours=self.escalation_interval_hours)


ANALYSIS_DEFAULT = {"rule": "P4.f", "window_hours": 24, "escalation_interval_hours": 1}
"""P4.f (ours): on a transferred incident the analysis is due 24 h after acceptance."""


class Policy(Model):
    """One province's deadlines (A3.1-A3.4, P3.d, P3.e, P4.a, P4.b, P4.c, P4.h).

    It tolerates unknown fields on the wire (an older worker must decode a newer policy); the file
    itself is checked strictly by ``yuqing.policy.load_policy``.
    """

    name: str = Field(min_length=1, max_length=200)
    warning_fraction: float = Field(gt=0, lt=1)
    notification_retry_hours: float = Field(default=1.0, ge=1 / 3600, le=MAX_HOURS)
    """P4.b (ours): how long a notification is retried before it is recorded as undelivered (a second
    at least: a shorter budget only records failures sooner, it cannot make a storm)."""
    filing_grace_minutes: float = Field(default=30.0, ge=0, le=24 * 60)
    """P4.h (ours): a report reaching the workflow at most this long after it was filed counts at
    its filing time."""
    evaluation_window_days: float = Field(default=30.0, ge=0, le=365)
    """P5.b (ours): after 办结 an incident takes the provincial office's evaluation for this long, every
    clock stopped; 0 ends it at 办结."""
    obligations: dict[ObligationKind, ObligationPolicy]

    @model_validator(mode="before")
    @classmethod
    def _analysis_default(cls, data: object) -> object:
        """P4.f came with the third release: a policy copied into an older incident has no entry for
        it, and must still decode (its histories replay); it gets the project's default."""
        if isinstance(data, dict) and isinstance(data.get("obligations"), dict):
            obligations = data["obligations"]
            if ObligationKind.ANALYSIS.value not in obligations and ObligationKind.ANALYSIS not in obligations:
                data = {**data, "obligations": {**obligations, ObligationKind.ANALYSIS.value: ANALYSIS_DEFAULT}}
        return data

    @model_validator(mode="after")
    def _every_kind(self) -> Policy:
        missing = [k.value for k in ObligationKind if k not in self.obligations]
        if missing:
            raise ValueError(f"missing [obligations.{missing[0]}]")
        return self

    def of(self, kind: ObligationKind) -> ObligationPolicy:
        return self.obligations[kind]

    @property
    def notification_retry(self) -> timedelta:
        return timedelta(hours=self.notification_retry_hours)

    @property
    def evaluation_window(self) -> timedelta:
        return timedelta(days=self.evaluation_window_days)

    @property
    def filing_grace(self) -> timedelta:
        return timedelta(minutes=self.filing_grace_minutes)
