"""Who may do what (S1-S7): every message names the unit that acts; anything else is refused.

The chain (P4.d) is the incident's own: the responsible unit first, the provincial general office
last. Acting-unit assertion is what the application checks; who may connect to Temporal at all is the
namespace's business (mTLS, API keys).
"""

from __future__ import annotations

from collections.abc import Sequence

from workflows.rules.article3_timeliness import escalates
from yuqing.models import (
    EventGrade,
    IncidentRecord,
    Obligation,
    ObligationKind,
    OpinionLevel,
    ReportType,
    SuddenEvent,
    Unit,
    UnitKind,
)
from yuqing.timefmt import beijing

REQUIRED_BEFORE_FINAL = (
    ObligationKind.AUTHORITATIVE_INFO,
    ObligationKind.PRESS_CONFERENCE,
    ObligationKind.RESPONSE,
    ObligationKind.ACCEPTANCE,
    ObligationKind.ANALYSIS,  # P4.f, on a transferred incident
)
"""S3 + S7: what the notice requires (A3.1-A3.3, A4.2) and a unit's own final disposition cannot waive."""


def _office(chain: Sequence[Unit]) -> Unit:
    return chain[-1]


def _is_office(actor: str, chain: Sequence[Unit]) -> bool:
    office = _office(chain)
    return office.kind == UnitKind.PROVINCIAL_OFFICE and actor == office.code


def _in_chain(actor: str, chain: Sequence[Unit]) -> bool:
    return any(u.code == actor for u in chain)


def may_report(actor: str, chain: Sequence[Unit], lead_unit: str | None = None) -> str | None:
    """S1: reports (研判, 回应, 处置, 重大情况, 超时说明) come from the responsible unit, its lead
    department (A2.1), or a unit above it in its chain."""
    if _in_chain(actor, chain) or (lead_unit is not None and actor == lead_unit):
        return None
    return (
        f"单位 {actor} 无权报送此事件 unit {actor} may not report on this incident: only the responsible "
        f"unit {chain[0].code}, its lead department or a unit above it in its chain (S1)"
    )


def may_accept(actor: str, record: IncidentRecord) -> str | None:
    """S2, A4.2: only the receiving unit accepts, and only a pending transfer."""
    if record.transfer is None:
        return "此事件未经转办，无需接收 the incident was not transferred: there is nothing to accept (A4.2, S2)"
    if record.accepted_at is not None:
        return f"已于 {beijing(record.accepted_at)} 接收 already accepted (A4.2, S2)"
    if actor != record.responsible_unit:
        return (
            f"只有接收单位 {record.responsible_unit} 可以接收 only the receiving unit {record.responsible_unit} "
            f"accepts, not {actor} (A4.2, S2)"
        )
    return None


def may_close(actor: str, chain: Sequence[Unit]) -> str | None:
    """S3: 办结 is the provincial general office's (a unit ends its incident by a final disposition)."""
    if _is_office(actor, chain):
        return None
    return (
        f"只有省政府办公厅 {_office(chain).code} 可以办结 only the provincial general office closes an incident, "
        f"not {actor}; the unit files a final disposition (S3, S7)"
    )


def may_evaluate(actor: str, chain: Sequence[Unit]) -> str | None:
    """S6, A5.1: evaluation (回应是否妥当、处置是否得力) is the provincial general office's."""
    if _is_office(actor, chain):
        return None
    return f"只有省政府办公厅 {_office(chain).code} 可以评价 only the provincial general office evaluates an incident, not {actor} (A5.1, S6)"


def may_transfer(
    actor: str, chain: Sequence[Unit], to_chain: Sequence[Unit] | None = None, *, links: bool = True
) -> str | None:
    """S3, A4.1: a transfer (转交) is the provincial general office's, to a unit that can answer: not a
    coordination unit (A2.3), not the office itself, not the unit already responsible; the receiving
    unit's chain ends at the same office."""
    if not _is_office(actor, chain):
        return f"只有省政府办公厅可以转办 only the provincial general office transfers an incident, not {actor} (A4.1, S3)"
    if to_chain is None:
        return None
    to = to_chain[0]
    problem = may_be_responsible(to)
    if problem is not None:
        return problem
    if to.code == chain[0].code:
        return f"事件已由 {to.code} 负责 the incident is already {to.code}'s: nothing to transfer (A4.1)"
    if to.kind == UnitKind.PROVINCIAL_OFFICE:
        return "省政府办公厅转办给涉事市、部门，而非自身 the office transfers to the involved city or department, not to itself (A4.1)"
    if to_chain[-1].code != _office(chain).code or to_chain[-1].kind != UnitKind.PROVINCIAL_OFFICE:
        return f"接收单位的督办链须止于省政府办公厅 {_office(chain).code} the receiving unit's chain must end at the office (P4.d)"
    if any(u.kind == UnitKind.COORDINATION for u in to_chain) or len({u.code for u in to_chain}) != len(to_chain):
        return "接收单位的督办链有误 the receiving unit's chain is not a chain of responsibility (P4.d, A2.3)"
    return chain_shape(to_chain) if links else None


def may_be_responsible(unit: Unit) -> str | None:
    """A2.3: the propaganda, cyberspace and communications units are told, never responsible."""
    if unit.kind == UnitKind.COORDINATION:
        return (
            f"{unit.name}（{unit.code}）是协调单位，只接收通报，不作为责任单位 {unit.code} is a coordination unit: "
            f"it is informed, never responsible and never in a chain (A2.3)"
        )
    return None


def home_government(chain: Sequence[Unit]) -> Unit:
    """The government the incident belongs to (A2.1): the first government in its chain (the
    responsible unit itself where it is one; the provincial office for a provincial department)."""
    return next(u for u in chain if u.kind.is_government)


def may_designate_lead(
    actor: str, chain: Sequence[Unit], lead: Unit, current: Unit | None = None, *, strict: bool = True
) -> str | None:
    """S5, A2.1: the government the incident belongs to, a government above it in the chain, or the
    provincial office designates a lead department (牵头部门) among that government's departments."""
    home = home_government(chain)
    governments = [u for u in chain if u.kind.is_government]
    if not any(u.code == actor for u in governments):
        return (
            f"只有事件所属政府 {home.code} 或其上级政府、省政府办公厅可以指定牵头部门 only the government the "
            f"incident belongs to ({home.code}), one above it or the provincial office designates a lead department, not {actor} (S5)"
        )
    if strict and current is not None and current.code == lead.code:
        return f"牵头部门未变 {lead.code} is the lead department already (A2.1)"
    if not lead.kind.is_department:
        return f"牵头部门须是政府部门 the lead must be a department, not {lead.code} ({lead.kind.zh}) (A2.1, S5)"
    if lead.code == chain[0].code:
        return f"{lead.code} 已是责任单位 {lead.code} is the responsible unit itself (A2.1)"
    if _is_office(actor, chain):  # 0.4: for the incident's own government; 0.3.0: any government in the chain
        allowed = [home] if strict else governments
    else:  # a government designates among its own departments
        allowed = [u for u in governments if u.code == actor]
    if not any(lead.parent == u.code for u in allowed):
        names = "、".join(u.code for u in allowed)
        return f"牵头部门须是 {names} 的部门 the lead department must be one of {names}'s departments, not {lead.code} (A2.1, S5)"
    if strict and any(u.code == lead.code for u in chain):
        return f"{lead.code} 已在督办链中 {lead.code} is in the incident's chain already (A2.1)"
    return None


def chain_shape(chain: Sequence[Unit]) -> str | None:
    """P4.d: a chain the workflow can trust the shape of (the units come from the client's directory): each
    unit's parent is the next one up, governments above the first unit, the office on top."""
    for lower, upper in zip(chain, chain[1:], strict=False):
        if lower.parent != upper.code:
            return f"督办链不连贯 the chain skips from {lower.code} to {upper.code}: the next unit up must be its parent (P4.d)"
    if any(u.kind not in (UnitKind.COUNTY_GOVERNMENT, UnitKind.CITY_GOVERNMENT) for u in chain[1:-1]):
        return "督办链中间只能是县、市政府 only county and city governments stand between the unit and the office (P4.d)"
    return None


def coordination_shape(coordination: Sequence[Unit], chain: Sequence[Unit]) -> str | None:
    """A2.3: at most 宣传, 网信 and 通信管理, each a coordination unit, none in the chain."""
    codes = {u.code for u in chain}
    if len(coordination) > 3 or len({u.code for u in coordination}) != len(coordination):
        return "通报单位至多为宣传、网信、通信管理各一 at most one 宣传, one 网信 and the communications administration (A2.3)"
    for u in coordination:
        if u.kind != UnitKind.COORDINATION or not set(u.domains) <= COORDINATION_DOMAINS or u.code in codes:
            return f"{u.code} 不是宣传、网信或通信管理部门 {u.code} is not a 宣传, 网信 or 通信管理 unit (A2.3)"
    return None


COORDINATION_DOMAINS = {"宣传", "网信", "通信管理"}
MAX_TRANSFER_UNITS_BYTES = 8 * 1024
"""A transfer's chain and coordination units together, as kept on the record (its 64 KiB budget)."""


REQUIRED_ON_FILE = (ReportType.ANALYSIS, ReportType.RESPONSE, ReportType.DISPOSITION)
"""P4.f: what a transferred incident (督办件) has on file before its final disposition."""


def missing_before_final(record: IncidentRecord) -> list[ReportType]:
    """P4.f: on a transferred incident the analysis, response and disposition reports must be on file
    (since the latest transfer) before a final disposition; the office can still close it with a reason."""
    if record.transfer is None or not record.articles_1_2:
        return []
    return [t for t in REQUIRED_ON_FILE if t not in record.on_file]


def lowers(
    old_level: OpinionLevel, old_event: SuddenEvent | None, new_level: OpinionLevel, new_event: SuddenEvent | None
) -> bool:
    """A reclassification lowers the grading if it lowers the opinion level, lowers the event grade or
    removes the event (S4): what it waives is the unit's to owe, not to waive (S7)."""
    if new_level.rank < old_level.rank:
        return True
    if old_event is not None and new_event is None:
        return True
    old_grade: EventGrade | None = old_event.grade if old_event else None
    new_grade: EventGrade | None = new_event.grade if new_event else None
    return old_grade is not None and new_grade is not None and new_grade.rank < old_grade.rank


def may_reclassify(actor: str, chain: Sequence[Unit], down: bool) -> str | None:
    """S4: up — any unit in the chain; down (or removing the event) — a government above the
    responsible unit in its chain or the provincial office, never the unit that owes the obligations."""
    if not _in_chain(actor, chain):
        return f"单位 {actor} 不在此事件的督办链中 unit {actor} is not in this incident's chain (S4)"
    if not down or _is_office(actor, chain):
        return None
    above = chain[1:]
    if any(u.code == actor and u.kind.is_government for u in above):
        return None
    return (
        f"降级只能由责任单位的上级政府或省政府办公厅决定 only a government above the responsible unit or the "
        f"provincial office may lower the grading, not {actor} (S4, S7)"
    )


def owed_before_final(
    obligations: Sequence[Obligation], event: SuddenEvent | None, *, analysis: bool = True
) -> list[Obligation]:
    """S3 + S7: the obligations the notice requires that are still owed: a final disposition filed
    now is recorded, and the incident closes once they are met. A 5 h or 24 h obligation left overdue
    by a downgrade is no longer owed (it stays missed on the record, P3.c)."""
    required = REQUIRED_BEFORE_FINAL if analysis else REQUIRED_BEFORE_FINAL[:-1]  # 0.3 did not wait for P4.f's
    return [o for o in obligations if o.open and o.kind in required and escalates(o, event)]


def in_chain(actor: str, chain: Sequence[Unit]) -> str | None:
    """Any rule that starts from the chain: a unit outside it learns nothing about the incident."""
    if _in_chain(actor, chain):
        return None
    return f"单位 {actor} 不在此事件的督办链中 unit {actor} is not in this incident's chain (S1, S4)"
