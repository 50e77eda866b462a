"""An incident as it is opened, the units that answer for it and the transfer that brought it."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from yuqing.models._base import TEXT_MAX, AwareDatetime, IncidentId, Model, ShortText, UnitCode
from yuqing.models._enums import EventCategory, EventGrade, OpinionLevel, TransferSource, UnitKind

Domain = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20)]
"""主管领域 (A1.2): 教育, 卫生健康, 公安 … as the directory names them."""


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
    domains: list[Domain] = Field(default_factory=list, max_length=12)
    """The domains a department is competent for (谁主管, A1.2); a coordination unit's own (宣传, 网信, 通信管理)."""
    vertical: bool = False
    """垂直管理 (N1.1): answers at its own level, the department one level up coordinating."""
    principal: ShortText | None = None
    """A government's 主要负责同志 (A2.2): 省长, 市长, 区长, 县长 — a role."""


class Scope(Model):
    """What an incident is about, from which its first responsible subject follows (A1.1, A1.2, N1.1)."""

    domain: Domain
    areas: list[UnitCode] = Field(default_factory=list, max_length=32)
    """County or city codes the incident involves; none for a provincial matter."""
    provincial_policy: bool = False
    """省政府重大政策、重要决策部署 (A1.1)."""


class Responsibility(Model):
    """Who answers and why (A1.1, A1.2, N1.1): the rule applied, in Chinese, recorded on the incident."""

    unit: UnitCode
    """The unit the rule gives."""
    rule: str
    domain: Domain
    areas: list[UnitCode] = Field(default_factory=list, max_length=32)
    provincial_policy: bool = False
    reason: ShortText
    coordinator: UnitCode | None = None
    """For a vertically managed department (N1.1): the department one level up, coordinating."""
    override: UnitCode | None = None
    """The unit the opener named instead of the rule's (recorded, with the rule's choice in ``unit``)."""


class Transfer(Model):
    """A transfer (转交) by the provincial general office (A4.1, S3), at opening or later."""

    at: AwareDatetime
    by: UnitCode
    from_state_council: bool = False
    """国务院办公厅转我省办理: the State Council General Office handed it to the province."""
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    to: UnitCode | None = None
    """The receiving unit; ``None`` on a transfer at opening (the incident's responsible unit)."""
    previous: UnitCode | None = None
    """The unit that was responsible before (a later transfer)."""

    @property
    def source(self) -> TransferSource:
        return TransferSource.STATE_COUNCIL if self.from_state_council else TransferSource.IMPORTANT


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
    responsibility: Responsibility | None = None
    """How the responsible unit was found (A1.1, A1.2, N1.1); ``None`` where the opener named it."""
