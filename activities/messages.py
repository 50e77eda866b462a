"""The wording of notifications: Chinese subject and body written from the workflow's facts.

Kept apart from the flow (the workflow sends ``Notification`` facts only), so changing a sentence here
is not a workflow change and needs no ``workflow.patched``. Times read in Beijing time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from yuqing.models import Notification
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
    return "；".join(f"{o.kind.zh}（{o.rule}）{beijing(o.due_at)} 前" for o in n.incident.owed) or "暂无时限"


def _addressee(n: Notification) -> str:
    """A1.3: the unit, its leader in charge and its section, as roles."""
    return f"{n.target.name}（{n.target.leader}，{n.target.section}）"


def render(n: Notification) -> Letter:
    """The subject and body of ``n``."""
    facts = n.incident
    title = facts.title
    if n.kind == "opened":
        word = "转办" if facts.transferred else "立案"
        return Letter(n, f"{word}：{title}", f"{_addressee(n)}：{title}，请按时办理：{_owed(n)}。")
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
