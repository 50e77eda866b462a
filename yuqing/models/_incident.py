"""An incident as it is opened, the units that answer for it and the transfer that brought it."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints

from yuqing.models._base import TEXT_MAX, AwareDatetime, IncidentId, Model, ShortText, UnitCode
from yuqing.models._enums import EventCategory, EventGrade, OpinionLevel, UnitKind


class SuddenEvent(Model):
    """The sudden event (突发事件) an incident concerns, if any."""

    grade: EventGrade
    category: EventCategory


class Unit(Model):
    """A unit of the directory: who answers (A1.1, A1.2) and who does the work (A1.3)."""

    code: UnitCode
    name: ShortText
    kind: UnitKind
    parent: UnitCode | None = None
    leader: ShortText
    """分管负责人 (A1.3): a role, never a person's name."""
    section: ShortText
    """承担工作的科（处、室） (A1.3)."""


class Transfer(Model):
    """A transfer (转交) by the provincial general office (A4.1, S3)."""

    at: AwareDatetime
    by: UnitCode
    from_state_council: bool = False
    """国务院办公厅转我省办理: the State Council General Office handed it to the province."""
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""


class Incident(Model):
    """One public-opinion incident as it is opened (D1)."""

    id: IncidentId
    title: ShortText
    summary: Annotated[str, StringConstraints(strip_whitespace=True, max_length=TEXT_MAX)] = ""
    source: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    opinion_level: OpinionLevel
    event: SuddenEvent | None = None
    discovered_at: AwareDatetime | None = None
    """发现时间 (P3.a); ``None`` means the opening time."""
    responsible_unit: UnitCode
    transfer: Transfer | None = None
