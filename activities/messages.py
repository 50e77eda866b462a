"""The wording of notifications: Chinese subject and body written from the workflow's facts.

Kept apart from the flow (the workflow sends ``Notification`` facts only), so changing a sentence here
is not a workflow change and needs no ``workflow.patched``. Times read in Beijing time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yuqing.models import Notification, Role
from yuqing.timefmt import beijing


@dataclass(frozen=True)
class Letter:
    """A notification as its receiver reads it."""

    notification: Notification
    subject: str
    body: str


def _due(at: datetime | None) -> str:
    return beijing(at) if at is not None else "—"


def _owed(n: Notification) -> str:
    owed = n.incident.owed if n.incident else []
    return "；".join(f"{o.kind.zh}（{o.rule}）{beijing(o.due_at)} 前" for o in owed) or "暂无时限"


def _addressee(n: Notification) -> str:
    """A1.3, A2.2: the unit and whom in it the notification addresses (roles, never people)."""
    if n.role == Role.PRINCIPAL_LEADER:
        return f"{n.target.name}（{n.target.principal or Role.PRINCIPAL_LEADER.zh}，{n.target.section}）"
    if n.role == Role.SECTION:
        return f"{n.target.name}（{n.target.section}）"
    return f"{n.target.name}（{n.target.leader}，{n.target.section}）"


def _level(n: Notification) -> str:
    facts = n.incident
    if facts is None:
        return ""
    event = f"，{facts.event.grade.zh}{facts.event.category.zh}" if facts.event else ""
    return f"舆情等级{facts.opinion_level.zh}{event}"


def render(n: Notification) -> Letter:
    """The subject and body of ``n``."""
    if n.circular is not None:  # A5.2: the circular for a period, written
        c = n.circular
        problems = f"；另有 {c.problems} 件事件的历史未能核验，未计入" if c.problems else ""
        return Letter(
            n, f"通报已生成：{c.title}",
            f"{_addressee(n)}：{c.title}已生成（{c.period}，事件 {c.incidents} 件；通报批评 {c.criticisms} 个单位，"
            f"约谈整改 {c.summons} 个单位{problems}），见 {c.directory}。",
        )  # fmt: skip
    facts = n.incident
    if facts is None:
        raise ValueError(f"notification {n.key} has no incident facts")
    title = facts.title
    if n.kind == "opened":
        word = "转办" if facts.transferred else "立案"
        return Letter(n, f"{word}：{title}", f"{_addressee(n)}：{title}，请按时办理：{_owed(n)}。")
    if n.kind == "transfer":  # A4.1, A4.2
        return Letter(n, f"转办：{title}", f"{_addressee(n)}：省政府办公厅将“{title}”转你单位办理，请即接即办，立即接收：{_owed(n)}。")
    if n.kind == "lead":  # A2.1
        return Letter(
            n, f"指定牵头部门：{title}",
            f"{_addressee(n)}：你单位被指定为“{title}”的牵头部门（责任单位：{facts.responsible_unit_name}），"
            f"请组织协调、督促指导，并可代为报送办理情况。",
        )  # fmt: skip
    if n.kind == "leadership":  # A2.2
        return Letter(
            n, f"特别重大政务舆情：{title}",
            f"{_addressee(n)}：“{title}”为特别重大政务舆情（责任单位：{facts.responsible_unit_name}），"
            f"请切实负起领导责任。{_owed(n)}。",
        )  # fmt: skip
    if n.kind == "coordination":  # A2.3
        return Letter(
            n, f"舆情信息通报：{title}",
            f"{_addressee(n)}：通报重要舆情信息“{title}”（{_level(n)}；责任单位：{facts.responsible_unit_name}）。"
            f"{n.report_text or ''}",
        )  # fmt: skip
    obligation = n.obligation
    kind = obligation.kind.zh if obligation else ""
    rule = obligation.rule if obligation else ""
    if n.kind == "warning":
        return Letter(
            n,
            f"预警：{kind}将于 {_due(obligation.due_at if obligation else None)} 到期",
            f"{_addressee(n)}：{title}：{kind}（{rule}）时限将至，请及时办理。",
        )
    if n.kind == "escalation":
        action = n.action.zh if n.action else "督办"
        caught_up = f"（期间 {n.skipped_steps} 步未能发出，合并于此）" if n.skipped_steps else ""
        return Letter(
            n,
            f"{action}：{kind}已逾期（第{n.level}级第{n.round}轮）",
            f"{_addressee(n)}：{title}：{kind}（{rule}）应于 {_due(obligation.due_at if obligation else None)} 前完成，"
            f"已逾期。请{facts.responsible_unit_name}立即办理。{caught_up}",
        )
    # a major situation (A4.4): the report itself, with who filed it
    return Letter(
        n,
        f"重大情况报告：{title}",
        f"{n.report_text or ''}\n——{n.report_by or facts.responsible_unit}报送（第 {n.report_seq} 号报告，{beijing(n.at)}）",
    )
