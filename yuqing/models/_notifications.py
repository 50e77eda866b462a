"""Notifications as facts: what the workflow decided, for whom, about what.

The workflow sends facts only; the Chinese subject and body are written by the notification activity
from templates (``activities.messages``), so changing the wording is not a workflow change.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from yuqing.models._base import Model, Timestamp
from yuqing.models._enums import (
    EscalationAction,
    IncidentState,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    Role,
)
from yuqing.models._incident import SuddenEvent, Unit

NotificationKind = Literal[
    "opened", "warning", "escalation", "major_situation", "transfer", "lead", "leadership", "coordination",
    "circular",
]


class ObligationBrief(Model):
    """An obligation in a few facts: in notifications and receipts."""

    id: str
    kind: ObligationKind
    rule: str
    due_at: Timestamp
    status: ObligationStatus


class IncidentFacts(Model):
    """The incident at the moment of a decision, so a receiver needs no other lookup."""

    title: str
    responsible_unit: str
    responsible_unit_name: str
    state: IncidentState
    opinion_level: OpinionLevel
    event: SuddenEvent | None
    transferred: bool = False
    owed: list[ObligationBrief] = Field(default_factory=list)


class CircularFacts(Model):
    """A circular (通报) written for a period (A5.2): the provincial office is told where it is."""

    title: str
    period: str
    directory: str
    incidents: int
    criticisms: int
    summons: int
    problems: int = 0


class Notification(Model):
    """One message to a unit: an opening, a warning, an escalation, a major situation, a transfer, a
    lead designation, leadership (A2.2) or coordination (A2.3).

    ``key`` is its idempotency key (P4.b): workflow id, obligation, level and round.
    """

    key: str
    incident_id: str
    kind: NotificationKind
    at: Timestamp
    target: Unit
    role: Role = Role.LEADER_IN_CHARGE
    """Whom in the target it addresses (A1.3): its leader in charge, or a government's principal
    leader (A2.2); the target's section does the work either way."""
    incident: IncidentFacts | None
    """The incident at the decision; ``None`` only for a circular (通报, A5.2), which concerns many."""
    obligation: ObligationBrief | None = None
    level: int = 0
    round: int = 1
    action: EscalationAction | None = None
    skipped_steps: int = 0
    report_seq: int | None = None
    """For a major situation: the report it carries."""
    report_text: str | None = None
    report_by: str | None = None
    circular: CircularFacts | None = None
    """For a circular (A5.2): what it found and where it was written."""

    @property
    def about(self) -> str:
        """What the key names besides the incident: an obligation id, ``opened`` or ``major_situation#n``."""
        return self.key.rsplit("/", 3)[1]
