"""What an incident's workflow starts with: everything it needs, so it never reads a file."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from pydantic import Field, StringConstraints

from yuqing.models._base import Model, UnitCode
from yuqing.models._incident import Incident, Unit
from yuqing.models._policy import Policy
from yuqing.models._record import IncidentRecord


class Limits(Model):
    """When a run hands over to a new one (continue-as-new): operational bounds, not the notice's.

    Temporal stops a workflow at 50 MB or 51,200 events of history, 10,000 signals and 2,000 updates
    per run; an incident continues as new well before any of them, whatever its traffic.
    """

    history_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=40 * 1024 * 1024)
    history_events: int = Field(default=8_000, ge=100, le=40_000)
    run_signals: int = Field(default=2_000, ge=10, le=8_000)
    run_updates: int = Field(default=1_000, ge=10, le=1_800)
    run_reports: int = Field(default=100, ge=5, le=100)
    """Reports in one run: the ``status`` view lists every one of them."""
    run_decisions: int = Field(default=300, ge=10, le=2_000)
    """Escalations, warnings and obligations let go of in one run (the journal)."""
    drain_seconds: float = Field(default=30, ge=1, le=600)
    """Before continuing as new, how long notifications in delivery may finish; the rest are handed
    over to the next run, which sends them again (idempotently, P4.b)."""

    @property
    def drain(self) -> timedelta:
        return timedelta(seconds=self.drain_seconds)


class IncidentInput(Model):
    """The start input of an incident's workflow (and of each run after continue-as-new)."""

    incident: Incident
    policy: Policy
    """A copy of the policy file at opening: a later edit never moves these clocks."""
    chain: list[Unit] = Field(min_length=1, max_length=8)
    """The escalation chain (P4.d), resolved from the unit directory at opening."""
    opened_by: UnitCode
    """The unit that opened the incident."""
    coordination: list[Unit] = Field(default_factory=list, max_length=8)
    """Who is told of important information (A2.3): 宣传 and 网信 of the responsible unit's level and the
    provincial communications administration, resolved from the directory at opening."""
    limits: Limits = Limits()
    search_attributes: bool = True
    """Publish the ``Yuqing*`` search attributes (``yuqing list``). Off only on a server that cannot
    store custom ones (Temporal's Java test server, which the suite uses to skip months in seconds)."""
    carried: IncidentRecord | None = None
    """The record carried over continue-as-new; ``None`` on the first run."""
    in_force: list[Annotated[str, StringConstraints(max_length=100)]] = Field(default_factory=list, max_length=1000)
    """The workflow changes in force when the incident was opened (``workflows.incident.IN_FORCE``): it
    runs them from its start with no version marker. Empty in the input of an incident opened before
    0.5.1, which asks ``workflow.patched`` as it ran. Bounds generous enough that no later release's
    list makes this release's workers refuse its input."""

    def chain_of(self, record: IncidentRecord) -> list[Unit]:
        """The chain now (P4.d): the receiving unit's after a transfer (A4.1), else the opening one."""
        return record.chain if record.chain else self.chain

    def coordination_of(self, record: IncidentRecord) -> list[Unit]:
        """The coordination units now (A2.3): the receiving level's after a transfer."""
        return record.coordination if record.coordination is not None else self.coordination
