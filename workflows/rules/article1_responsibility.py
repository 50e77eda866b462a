"""Article 一 认真落实主体责任 — who answers for an incident (A1.1, A1.2, N1.1), and whom it is reported to (A2.3).

对涉及省政府重大政策、重要决策部署的政务舆情，省政府主管部门是第一责任主体。对涉及市、县（市、区）的
政务舆情，按照属地管理、分级负责、谁主管谁负责的原则进行回应，涉事责任部门是第一责任主体。各市、各部门
要明确分管负责人、承担相关工作的科（处、室），健全工作机制，认真落实主体责任。

Made checkable as pure functions of an incident's scope (``Scope``) and the unit directory: its domain
picks the department (谁主管), its areas pick the level (属地管理、分级负责); a vertically managed department
answers at its level, the department one level up coordinating (国办发〔2016〕61号, N1.1). Where the opener
names another unit, the rule's choice is kept beside it (``check_override``). Article 二's coordination
units (宣传, 网信, 通信管理, A2.3) follow from the responsible unit (``coordination_units``).
"""

from __future__ import annotations

from yuqing.directory import CYBERSPACE, PROPAGANDA, Directory, DirectoryError
from yuqing.models import Responsibility, Scope, Unit, UnitKind, clip

PRINCIPLE = "属地管理、分级负责、谁主管谁负责"
LEVEL_ZH = {
    UnitKind.COUNTY_GOVERNMENT: "县（市、区）",
    UnitKind.CITY_GOVERNMENT: "市",
    UnitKind.PROVINCIAL_OFFICE: "省",
}
REASON_MAX = 200


def place(unit: Unit) -> str:
    """A government as a place: 济南市历下区人民政府 → 济南市历下区; the provincial office → 山东省."""
    if unit.kind == UnitKind.PROVINCIAL_OFFICE:
        return "山东省"
    return unit.name.removesuffix("人民政府")


def _areas(directory: Directory, scope: Scope) -> list[Unit]:
    """The scope's areas as governments, each checked: a county or a city, never a department."""
    units: list[Unit] = []
    for code in dict.fromkeys(scope.areas):  # each once, in the order given
        if code not in directory:
            raise ValueError(f"未知地区 unknown area {code!r}: give county (县、市、区) or city (市) codes, e.g. 370102, 370100")
        unit = directory.get(code)
        if unit.kind not in (UnitKind.COUNTY_GOVERNMENT, UnitKind.CITY_GOVERNMENT):
            raise ValueError(
                f"地区须为县（市、区）或市的代码 area {code!r} is a {unit.kind.value} ({unit.name}), "
                "not a county or a city: give the code of the place, e.g. 370102 or 370100"
            )
        units.append(unit)
    return units


def _level(directory: Directory, areas: list[Unit]) -> tuple[Unit, str]:
    """The government whose level answers (属地、分级) and how the areas read in the reason."""
    cities = list(dict.fromkeys((directory.city_of(a.code) or directory.provincial_office).code for a in areas))
    names = "、".join(place(a) for a in areas[:3]) + ("等地" if len(areas) > 3 else "")
    if len(cities) > 1:
        return directory.provincial_office, f"涉及{names}，跨{len(cities)}个市"
    city = directory.get(cities[0])
    if any(a.kind == UnitKind.CITY_GOVERNMENT for a in areas):
        return city, f"涉及{place(city)}全市"
    if len(areas) > 1:
        return city, f"涉及{names}，同属{place(city)}的{len(areas)}个县（市、区）"
    return areas[0], f"涉及{place(areas[0])}一地"


def first_responsible(directory: Directory, scope: Scope) -> Responsibility:
    """A1.1, A1.2, N1.1: the first responsible subject (第一责任主体) of an incident of this scope.

    - a provincial policy (省政府重大政策、重要决策部署) → the provincial department of the domain (A1.1);
    - one county → its department of the domain; several counties of one city, or the city → the city's;
      several cities → the provincial department (A1.2);
    - no department of the domain at that level → the government of that level (A1.2);
    - a vertically managed department (垂直管理) answers at its level, the department of the same domain
      one level up coordinating (N1.1).

    ``ValueError`` (Chinese and English) for an unknown domain, an unknown or non-area code, or a scope
    with neither areas nor a provincial policy.
    """
    domain = scope.domain
    if domain not in directory.domains:
        known = "、".join(sorted(directory.domains))
        raise ValueError(f"未知主管领域 unknown domain {domain!r}; known domains 已知领域: {known}")
    areas = _areas(directory, scope)
    if scope.provincial_policy:
        government, where = directory.provincial_office, "涉及省政府重大政策、重要决策部署"
    elif areas:
        government, where = _level(directory, areas)
    else:
        raise ValueError(
            "须指明涉及的县（市、区）或市，或注明涉及省政府重大政策 the scope needs its areas (county or city codes) "
            "or provincial_policy"
        )

    def answer(unit: Unit, rule: str, reason: str, coordinator: Unit | None = None) -> Responsibility:
        return Responsibility(
            unit=unit.code,
            rule=rule,
            domain=domain,
            areas=[a.code for a in areas],
            provincial_policy=scope.provincial_policy,
            reason=clip(reason, REASON_MAX),
            coordinator=coordinator.code if coordinator is not None else None,
        )

    department = directory.department(government.code, domain)
    if department is None:
        level = "省级" if government.kind == UnitKind.PROVINCIAL_OFFICE else f"该{LEVEL_ZH[government.kind]}"
        who = f"{government.name}（代表省政府）" if government.kind == UnitKind.PROVINCIAL_OFFICE else government.name
        basis = "" if scope.provincial_policy else f"（{PRINCIPLE}）"
        reason = f"{where}，{level}无主管{domain}的部门，由{who}负责{basis}"
        return answer(government, "A1.2", reason)
    if department.vertical:
        above = directory.parent(government)
        coordinator = directory.department(above.code, domain) if above is not None else None
        helper = f"，{coordinator.name}协调" if coordinator is not None else ""
        reason = f"{where}，{domain}属垂直管理，由{department.name}负责{helper}（国办发〔2016〕61号）"
        return answer(department, "N1.1", reason, coordinator)
    if scope.provincial_policy:
        reason = f"{where}，由省政府主管部门{department.name}作为第一责任主体"
        return answer(department, "A1.1", reason)
    level = LEVEL_ZH[government.kind]
    whose = "省政府" if government.kind == UnitKind.PROVINCIAL_OFFICE else f"该{level}"
    reason = f"{where}，由{whose}主管{domain}的部门{department.name}负责（{PRINCIPLE}）"
    return answer(department, "A1.2", reason)


def check_override(directory: Directory, responsibility: Responsibility, named_unit_code: str) -> Responsibility:
    """The opener named ``named_unit_code`` as responsible: the rule's choice stays in ``unit`` and the named
    unit is recorded in ``override`` where they differ (the incident's ``responsible_unit`` is the named one).

    ``ValueError`` for an unknown unit or a coordination unit (A2.3: never responsible).
    """
    if named_unit_code not in directory:
        raise ValueError(f"未知单位 unknown unit {named_unit_code!r} (see `yuqing units`)")
    named = directory.get(named_unit_code)
    if named.kind == UnitKind.COORDINATION:
        raise ValueError(
            f"协调单位不作为责任单位 {named.name} ({named_unit_code!r}) is a coordination unit (A2.3): informed, "
            "never responsible"
        )
    override = None if named_unit_code == responsibility.unit else named_unit_code
    return responsibility.model_copy(update={"override": override})


def coordination_units(directory: Directory, responsible_unit_code: str) -> list[Unit]:
    """A2.3: whom important public-opinion information is reported to — 宣传 and 网信 of the responsible
    unit's city (a county or city matter) or of the province (a provincial one), where a city lacks one
    the province's, and the provincial communications administration (山东省通信管理局). A directory
    without some of them gives the others; ``ValueError`` for a coordination unit (never responsible)."""
    unit = directory.get(responsible_unit_code)
    if unit.kind == UnitKind.COORDINATION:
        raise ValueError(f"协调单位不作为责任单位 {unit.name} ({unit.code!r}) is a coordination unit, never responsible")
    office = directory.provincial_office
    city = directory.city_of(unit.code)
    local = directory.coordination(city.code) if city is not None else []
    provincial = directory.coordination(office.code)
    chosen: list[Unit] = []
    for domain in (PROPAGANDA, CYBERSPACE):
        mine = [u for u in local if domain in u.domains] or [u for u in provincial if domain in u.domains]
        chosen.extend(u for u in mine if u not in chosen)
    try:
        chosen.append(directory.communications_administration)
    except DirectoryError:
        pass  # a deployment's directory without one: the others are still told
    return chosen
