"""Rich tables for staff: every heading and status in Chinese, every time in Asia/Shanghai.

Pure functions from records to renderables; the command line prints them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from starter.service import IncidentSummary
from starter.timefmt import countdown, show, span
from yuqing.directory import Directory
from yuqing.models import (
    REPORT_TYPES_ZH,
    IncidentState,
    IncidentStatus,
    Obligation,
    ObligationStatus,
    SuddenEvent,
    UnitKind,
)

STATUS_STYLE = {
    ObligationStatus.PENDING: "yellow",
    ObligationStatus.MET: "green",
    ObligationStatus.LATE: "dark_orange",
    ObligationStatus.OVERDUE: "bold red",
    ObligationStatus.WAIVED: "dim",
}
EXECUTION_ZH = {
    "running": "运行中",
    "completed": "已完成",
    "failed": "失败",
    "canceled": "已取消",
    "terminated": "已终止",
    "continued_as_new": "已续跑",
    "timed_out": "已超时",
}


SHORT_COLUMNS = {
    "起算", "期限", "完成时间", "时间", "下一期限", "编号", "状态", "舆情等级", "突发事件", "逾期", "义务",
    "依据", "级别", "轮次", "方式", "序号", "类型", "代码", "类别", "级别/轮次", "投递次数", "剩余/逾期", "途径",
    "事件",
}  # fmt: skip
"""Columns of one time, id or term each: never wrapped; free text folds instead."""


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAVY, show_lines=False)
    for column in columns:
        if column in SHORT_COLUMNS:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold", min_width=8)
    return table


def event_zh(event: SuddenEvent | None) -> str:
    if event is None:
        return "不涉及 none"
    return f"{event.grade.zh}（{event.grade.value}）· {event.category.zh}"


def left(obligation: Obligation, now: datetime) -> Text:
    """The 剩余/逾期 cell: countdown, lateness, or how it ended."""
    status = obligation.status
    if status == ObligationStatus.PENDING:
        return Text(countdown(obligation.due_at, now), style="bold red" if now > obligation.due_at else "")
    if status == ObligationStatus.OVERDUE:
        return Text(f"逾期 {span(now - obligation.due_at)}", style="bold red")
    if status == ObligationStatus.MET and obligation.met_at is not None:
        return Text(f"提前 {span(obligation.due_at - obligation.met_at)}完成", style="green")
    if status == ObligationStatus.LATE and obligation.met_at is not None:
        return Text(f"逾期 {span(obligation.met_at - obligation.due_at)}后完成", style="dark_orange")
    return Text(obligation.waived_reason or "—", style="dim")


def status_cell(status: ObligationStatus) -> Text:
    return Text(status.zh, style=STATUS_STYLE.get(status, ""))


def owed(status: IncidentStatus, now: datetime) -> RenderableType:
    """What the incident now owes: its open obligations with due time and countdown."""
    if status.state == IncidentState.CLOSED:
        return Text(f"事件已办结 closed {show(status.closed_at)}：{status.close_reason or ''}", style="bold")
    open_ones = [o for o in status.obligations if o.open]
    if not open_ones:
        return Text("当前无待办时限 nothing owed now", style="green")
    table = _table("待办时限 owed", "义务", "依据", "期限", "剩余/逾期", "状态")
    for o in sorted(open_ones, key=lambda o: o.due_at):
        table.add_row(o.kind.zh, o.rule, show(o.due_at), left(o, now), status_cell(o.status))
    return table


def header(status: IncidentStatus) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    state_style = "green" if status.state == IncidentState.OPEN else "dim"
    rows: list[tuple[str, Any]] = [
        ("编号 id", status.incident_id),
        ("标题 title", status.title),
        ("状态 state", Text(f"{status.state.zh}（{status.state.value}）", style=state_style)),
        ("舆情等级 opinion level", f"{status.opinion_level.zh}（{status.opinion_level.value}）"),
        ("突发事件 sudden event", event_zh(status.event)),
        ("责任单位 unit", f"{status.responsible_unit_name}（{status.responsible_unit}）"),
        ("分管负责人 leader", status.leader),
        ("承办科室 section", status.section),
        ("发现时间 discovered", show(status.discovered_at)),
        ("立案时间 opened", show(status.opened_at)),
    ]
    if status.summary:
        rows.insert(2, ("摘要 summary", status.summary))
    if status.source:
        rows.append(("来源 source", status.source))
    if status.transfer is not None:
        origin = "国务院办公厅转办，" if status.transfer.from_state_council else ""
        rows.append(("转办 transfer", f"{origin}{status.transfer.by} {show(status.transfer.at)}"))
        rows.append(("接收时间 accepted", show(status.accepted_at, empty="未接收 not yet")))
    if status.state == IncidentState.CLOSED:
        rows.append(("办结 closed", f"{show(status.closed_at)}：{status.close_reason or ''}"))
    rows.append(("督办链 chain", " → ".join(f"{u.name}（{u.code}）" for u in status.chain)))
    rows.append(("时限政策 policy", status.policy_name))
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def obligations(status: IncidentStatus, now: datetime) -> Table:
    table = _table("时限义务 obligations", "义务", "依据", "起算", "期限", "剩余/逾期", "状态", "完成时间")
    for o in status.obligations:
        table.add_row(
            o.kind.zh, o.rule, show(o.clock_start), show(o.due_at), left(o, now), status_cell(o.status), show(o.met_at)
        )
    return table


def escalations(status: IncidentStatus) -> Table:
    table = _table("督办记录 escalations", "义务", "级别", "轮次", "对象", "方式", "时间")
    for e in status.escalations:
        when = show(e.at)
        if e.skipped_steps:
            when += f"（合并 {e.skipped_steps} 步 skipped）"
        table.add_row(e.obligation.zh, str(e.level), str(e.round), f"{e.target_name}（{e.target}）", e.action.zh, when)
    return table


def reports(status: IncidentStatus) -> Table:
    kinds = {o.id: o.kind.zh for o in status.obligations}
    table = _table("报告记录 reports", "序号", "类型", "时间", "方式", "内容", "报告人", "满足")
    for r in status.reports:
        kind = REPORT_TYPES_ZH.get(r.type, r.type)
        if r.type == "disposition" and r.final:
            kind += "（最终）"
        when = show(r.at)
        if r.published_at is not None:
            when += f"\n发布 {show(r.published_at)}"
        table.add_row(
            str(r.seq),
            kind,
            when,
            r.way.zh if r.way else "",
            r.text,
            r.by,
            "、".join(kinds.get(m, m) for m in r.met),
        )
    return table


def rejections(status: IncidentStatus) -> Table:
    table = _table("被拒记录 rejections", "时间", "类型", "途径", "原因")
    for r in status.rejected:
        table.add_row(show(r.at), REPORT_TYPES_ZH.get(r.type or "", r.type or ""), r.via, r.reason)
    return table


def warnings(status: IncidentStatus) -> Table:
    table = _table("预警记录 warnings", "义务", "对象", "时间")
    for w in status.warnings:
        table.add_row(w.obligation.zh, w.target, show(w.at))
    return table


def incident(status: IncidentStatus, now: datetime) -> RenderableType:
    """The whole record for ``yuqing status``; empty sections say so in one line."""
    parts: list[RenderableType] = [header(status), Text(""), obligations(status, now)]
    sections: list[tuple[Sequence[Any], Table, str]] = [
        (status.warnings, warnings(status), "预警记录 warnings：无 none"),
        (status.escalations, escalations(status), "督办记录 escalations：无 none"),
        (status.reports, reports(status), "报告记录 reports：无 none"),
        (status.rejected, rejections(status), "被拒记录 rejections：无 none"),
    ]
    for records, table, none in sections:
        parts.append(table if records else Text(none, style="dim"))
    if status.delivery_failures:
        failures = _table("投递失败 delivery failures", "键", "时间", "错误")
        for f in status.delivery_failures:
            failures.add_row(f.key, show(f.at), f.error)
        parts.append(failures)
    parts.append(Text(f"按 {show(now)} 计 counted at", style="dim"))
    return Group(*parts)


def incident_list(items: Iterable[IncidentSummary], title: str) -> Table:
    table = _table(title, "编号", "标题", "状态", "舆情等级", "突发事件", "责任单位", "下一期限", "逾期")
    for i in items:
        state = i.state.zh if i.state else "—"
        if i.execution_status not in ("running", "completed"):
            state += f"（{EXECUTION_ZH.get(i.execution_status, i.execution_status)}）"
        table.add_row(
            i.incident_id,
            i.title,
            state,
            i.opinion_level.zh if i.opinion_level else "—",
            i.event_grade.zh if i.event_grade else "不涉及",
            f"{i.unit_name}（{i.unit}）" if i.unit_name else (i.unit or "—"),
            show(i.next_deadline, seconds=False),
            Text("是", style="bold red") if i.overdue else "否",
        )
    return table


def units(directory: Directory) -> Table:
    table = _table(f"单位名录 units（{directory.source}）", "代码", "名称", "类型", "上级", "分管负责人", "承办科室")
    for u in directory:
        table.add_row(u.code, u.name, UnitKind(u.kind).zh, u.parent or "—", u.leader, u.section)
    return table


NOTICE_KIND_ZH = {"opened": "立案通知", "warning": "预警", "escalation": "督办", "major_situation": "重大情况"}


def notices(rows: Iterable[dict[str, Any]], title: str) -> Table:
    from starter.timefmt import parse_time

    table = _table(title, "时间", "事件", "类别", "对象", "级别/轮次", "主题", "投递次数")
    for row in rows:
        kind = NOTICE_KIND_ZH.get(row["kind"], row["kind"])
        level = f"{row['level']}/{row['round']}" if row["kind"] == "escalation" else "—"
        table.add_row(
            show(parse_time(row["at"])),
            row["incident_id"],
            kind,
            f"{row['target_name']}（{row['target']}）",
            level,
            row["subject"],
            str(row["attempts"]),
        )
    return table


def choices_zh(cls: Any) -> str:
    """'中文（id）' for every member of an enum, for help texts."""
    return "、".join(f"{m.zh}（{m.value}）" for m in cls)

