"""Article 二 加强组织协调与联动 — who leads and who is told.

涉及市、县（市、区）的政务舆情，由当地政府负责组织协调、督促指导，必要时指定牵头部门……对特别重大
政务舆情，市、县（市、区）政府主要负责同志要切实负起领导责任……重要舆情信息和敏感事件信息要及时
向宣传、网信、通信管理部门通报。

The lead department (A2.1) is checked in ``authority.may_designate_lead`` (S5); the coordination units
of an incident (A2.3) are resolved from the directory at opening or transfer
(``article1_responsibility.coordination_units``); here is when each is told.
"""

from __future__ import annotations

from yuqing.models import OpinionLevel, Unit, UnitKind

LEADING_GOVERNMENTS = (UnitKind.COUNTY_GOVERNMENT, UnitKind.CITY_GOVERNMENT)
"""A2.2: the governments whose principal leaders take leadership responsibility."""


def tells_leadership(before: OpinionLevel | None, after: OpinionLevel) -> bool:
    """A2.2: principal leaders are told at once when an incident is opened at 特别重大 (``before`` is
    ``None``) or a reclassification raises it to 特别重大."""
    return after == OpinionLevel.PARTICULARLY_MAJOR and before != OpinionLevel.PARTICULARLY_MAJOR


def tells_coordination(before: OpinionLevel | None, after: OpinionLevel) -> bool:
    """A2.3: 宣传, 网信 and 通信管理 are told when an incident is opened at 重大 or above, or a
    reclassification raises it to 重大 or above (a major situation tells them each time)."""
    threshold = OpinionLevel.MAJOR.rank
    return after.rank >= threshold and (before is None or before.rank < threshold)


def addresses_principal(target: Unit, level: OpinionLevel) -> bool:
    """A2.2: at 特别重大, escalations addressed to a county or city government go to its principal leader."""
    return level == OpinionLevel.PARTICULARLY_MAJOR and target.kind in LEADING_GOVERNMENTS
