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

from starter.service import Execution, IncidentSummary
from yuqing.console import EXECUTION_ZH, STATUS_STYLE
from yuqing.directory import Directory
from yuqing.models import (
    IncidentState,
    IncidentStatus,
    Obligation,
    ObligationBrief,
    ObligationStatus,
    Receipt,
    ReportType,
    SuddenEvent,
    UnitKind,
)
from yuqing.timefmt import countdown, show, span

SHORT_COLUMNS = {
    "起算", "期限", "完成时间", "时间", "下一期限", "编号", "状态", "舆情等级", "突发事件", "逾期", "义务",
    "依据", "级别", "轮次", "方式", "序号", "类型", "代码", "类别", "级别/轮次", "投递次数", "剩余/逾期", "途径",
    "事件", "渠道", "单位", "义务编号",
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


def execution_zh(execution: Execution) -> str:
    """卡住, 已终止, 失败 … as a word, with the English beside it."""
    if execution.stuck:
        return f"卡住 stuck（工作流任务第 {execution.attempts} 次失败 workflow task failing）"
    return f"{EXECUTION_ZH.get(execution.status, execution.status)} {execution.status}"


def left(obligation: Obligation | ObligationBrief, now: datetime) -> Text:
    """The 剩余/逾期 cell: countdown, lateness, or how it ended."""
    status = obligation.status
    if status == ObligationStatus.PENDING:
        return Text(countdown(obligation.due_at, now), style="bold red" if now > obligation.due_at else "")
    if status == ObligationStatus.OVERDUE:
        return Text(f"逾期 {span(now - obligation.due_at)}", style="bold red")
    if isinstance(obligation, ObligationBrief):
        return Text("—", style="dim")
    if status == ObligationStatus.MET and obligation.met_at is not None:
        return Text(f"提前 {span(obligation.due_at - obligation.met_at)}完成", style="green")
    if status == ObligationStatus.LATE and obligation.met_at is not None:
        return Text(f"逾期 {span(obligation.met_at - obligation.due_at)}后完成", style="dark_orange")
    return Text(obligation.waived_reason or "—", style="dim")


def status_cell(status: ObligationStatus) -> Text:
    return Text(status.zh, style=STATUS_STYLE.get(status, ""))


def owed(obligations: Sequence[Obligation | ObligationBrief], status: IncidentStatus | None, now: datetime) -> RenderableType:
    """What the incident now owes: its open obligations with due time and countdown."""
    if status is not None and status.state == IncidentState.CLOSED:
        return Text(f"事件已办结 closed {show(status.closed_at)}：{status.close_reason or ''}", style="bold")
    open_ones = [o for o in obligations if o.status in (ObligationStatus.PENDING, ObligationStatus.OVERDUE)]
    if not open_ones:
        return Text("当前无待办时限 nothing owed now", style="green")
    table = _table("待办时限 owed", "义务编号", "义务", "依据", "期限", "剩余/逾期", "状态")
    for o in sorted(open_ones, key=lambda o: o.due_at):
        table.add_row(o.id, o.kind.zh, o.rule, show(o.due_at), left(o, now), status_cell(o.status))
    return table


def receipt(r: Receipt, now: datetime) -> RenderableType:
    """What a filed report did: its number, the time that counts, what it met, what is now owed."""
    parts: list[RenderableType] = [
        Text.assemble(
            ("已登记 filed: " if not r.duplicate else "已登记过 already filed: ", "bold green"),
            f"{ReportType(r.type).zh} {r.type} #{r.seq} → ",
            (r.incident_id, "bold"),
            f"  报告编号 report id {r.report_id}",
        )
    ]
    if r.duplicate:
        parts.append(Text("此报告此前已登记，未重复登记 this report was filed before; nothing was filed twice", style="yellow"))
    if r.at is not None and r.credited and r.arrived_at is not None:
        parts.append(
            Text(
                f"按报送时间计 counted at its filing time {show(r.at)}（到达 arrived {show(r.arrived_at)}，P4.h）",
                style="cyan",
            )
        )
    if r.met:
        met = "、".join(f"{m.kind.zh}（{m.status.zh}）" for m in r.met)
        parts.append(Text(f"已满足 met: {met}", style="green"))
    if r.note:
        parts.append(Text(f"说明 note: {r.note}", style="yellow"))
    if r.state == IncidentState.CLOSED:
        parts.append(Text(f"事件已办结 closed {show(r.closed_at)}", style="bold"))
    else:
        parts.append(owed(r.owed, None, now))
    return Group(*parts)


def header(status: IncidentStatus, execution: Execution | None = None) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    state_style = "green" if status.state == IncidentState.OPEN else "dim"
    state = Text(f"{status.state.zh}（{status.state.value}）", style=state_style)
    if execution is not None and not execution.healthy:
        state = Text(f"{execution_zh(execution)}：{execution.problem or ''}（最后记录为 last recorded: {status.state.zh}）",
                     style="bold red")  # fmt: skip
    rows: list[tuple[str, Any]] = [
        ("编号 id", status.incident_id),
        ("标题 title", status.title),
        ("状态 state", state),
        ("舆情等级 opinion level", f"{status.opinion_level.zh}（{status.opinion_level.value}）"),
        ("突发事件 sudden event", event_zh(status.event)),
        ("责任单位 unit", f"{status.responsible_unit_name}（{status.responsible_unit}）"),
        ("分管负责人 leader", status.leader),
        ("承办科室 section", status.section),
        ("发现时间 discovered", show(status.discovered_at)),
        ("立案时间 opened", f"{show(status.opened_at)}（{status.opened_by or '—'}）"),
    ]
    if status.summary:
        rows.insert(2, ("摘要 summary", status.summary))
    if status.source:
        rows.append(("来源 source", status.source))
    if status.transfer is not None:
        origin = "国务院办公厅转办，" if status.transfer.from_state_council else ""
        rows.append(("转办 transfer", f"{origin}{status.transfer.by} {show(status.transfer.at)}"))
        accepted = show(status.accepted_at, empty="未接收 not yet")
        rows.append(("接收 accepted", f"{accepted}（{status.accepted_by}）" if status.accepted_by else accepted))
    if status.final_disposition is not None and status.state == IncidentState.OPEN:
        f = status.final_disposition
        rows.append(("最终处置 final", f"#{f.seq} {f.by} {show(f.at)}：待时限义务完成后办结 closes once what is owed is met (S3)"))
    if status.state == IncidentState.CLOSED:
        rows.append(("办结 closed", f"{show(status.closed_at)}（{status.closed_by or '—'}）：{status.close_reason or ''}"))
    rows.append(("督办链 chain", " → ".join(f"{u.name}（{u.code}）" for u in status.chain)))
    rows.append(("时限政策 policy", status.policy_name))
    if status.runs > 1:
        rows.append(("运行 runs", f"{status.runs}（续新 continue-as-new）"))
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def obligations(status: IncidentStatus, now: datetime) -> Table:
    table = _table("时限义务 obligations", "义务编号", "义务", "依据", "起算", "期限", "剩余/逾期", "状态", "完成时间",
                   "督办", "超时说明")  # fmt: skip
    for o in status.obligations:
        escalated = f"{o.escalations} 次，至第 {o.last_level} 级" if o.escalations else ""
        explained = f"#{o.explanation.seq} {o.explanation.by}：{o.explanation.text}" if o.explanation else ""
        table.add_row(
            o.id, o.kind.zh, o.rule, show(o.clock_start), show(o.due_at), left(o, now), status_cell(o.status),
            show(o.met_at), escalated, explained,
        )  # fmt: skip
    return table


def _more(total: int, shown: int) -> str:
    return f"（最近 {shown} 条，共 {total} 条 latest {shown} of {total}）" if total > shown else ""


def escalations(status: IncidentStatus) -> Table:
    table = _table(f"督办记录 escalations{_more(status.escalations_total, len(status.escalations))}",
                   "义务", "级别", "轮次", "对象", "方式", "时间")  # fmt: skip
    for e in status.escalations:
        when = show(e.at)
        if e.skipped_steps:
            when += f"（合并 {e.skipped_steps} 步 skipped）"
        table.add_row(e.obligation.zh, str(e.level), str(e.round), f"{e.target_name}（{e.target}）", e.action.zh, when)
    return table


def reports(status: IncidentStatus) -> Table:
    kinds = {o.id: o.kind.zh for o in status.obligations}
    table = _table(f"报告记录 reports{_more(status.reports_total, len(status.reports))}",
                   "序号", "类型", "单位", "时间", "方式", "渠道", "内容", "满足")  # fmt: skip
    for r in status.reports:
        kind = r.type.zh
        if r.type == ReportType.DISPOSITION and r.final:
            kind += "（最终）"
        if r.obligation_id:
            kind += f" {r.obligation_id}"
        when = show(r.at)
        if r.credited:
            when += f"\n到达 {show(r.arrived_at)}（P4.h）"
        if r.published_at is not None:
            when += f"\n发布 {show(r.published_at)}"
        way = r.way.zh if r.way else ""
        if r.speaker is not None:
            way += f"（{r.speaker.zh}）"
        table.add_row(
            str(r.seq), kind, r.by, when, way, r.channel.zh if r.channel else "", r.text,
            "、".join(kinds.get(m, m) for m in r.met),
        )  # fmt: skip
    return table


def rejections(status: IncidentStatus) -> Table:
    table = _table(f"被拒记录 rejections{_more(status.rejected_total, len(status.rejected))}",
                   "时间", "类型", "单位", "途径", "原因")  # fmt: skip
    for r in status.rejected:
        kind = r.type or ""
        try:
            kind = ReportType(kind).zh if kind else ""
        except ValueError:
            pass
        table.add_row(show(r.at), kind, r.by or "", r.via, r.reason)
    return table


def warnings(status: IncidentStatus) -> Table:
    table = _table(f"预警记录 warnings{_more(status.warnings_total, len(status.warnings))}", "义务", "对象", "时间")
    for w in status.warnings:
        table.add_row(w.obligation.zh, w.target, show(w.at))
    return table


def incident(status: IncidentStatus, now: datetime, execution: Execution | None = None) -> RenderableType:
    """The whole record for ``yuqing status``; empty sections say so in one line."""
    parts: list[RenderableType] = [header(status, execution), Text(""), obligations(status, now)]
    sections: list[tuple[Sequence[Any], Table, str]] = [
        (status.warnings, warnings(status), "预警记录 warnings：无 none"),
        (status.escalations, escalations(status), "督办记录 escalations：无 none"),
        (status.reports, reports(status), "报告记录 reports：无 none"),
        (status.rejected, rejections(status), "被拒记录 rejections：无 none"),
    ]
    for records, table, none in sections:
        parts.append(table if records else Text(none, style="dim"))
    if status.delivery_failures:
        failures = _table(f"投递失败 delivery failures{_more(status.delivery_failures_total, len(status.delivery_failures))}",
                          "键", "时间", "错误")  # fmt: skip
        for f in status.delivery_failures:
            failures.add_row(f.key, show(f.at), f.error)
        parts.append(failures)
    parts.append(Text(f"按 {show(now)} 计 counted at", style="dim"))
    return Group(*parts)


def incident_list(items: Iterable[IncidentSummary], title: str) -> Table:
    table = _table(title, "编号", "标题", "状态", "舆情等级", "突发事件", "责任单位", "下一期限", "逾期", "问题")
    for i in items:
        state = i.state.zh if i.state else "—"
        if i.stuck:
            state += "（卡住）"
        elif i.execution_status not in ("running", "completed"):
            state = f"{EXECUTION_ZH.get(i.execution_status, i.execution_status)}（{state}）"
        table.add_row(
            i.incident_id,
            i.title,
            Text(state, style="bold red" if i.stuck or i.execution_status not in ("running", "completed") else ""),
            i.opinion_level.zh if i.opinion_level else "—",
            i.event_grade.zh if i.event_grade else "不涉及",
            f"{i.unit_name}（{i.unit}）" if i.unit_name else (i.unit or "—"),
            show(i.next_deadline, seconds=False),
            Text("是", style="bold red") if i.overdue else "否",
            i.problem or "",
        )
    return table


def units(directory: Directory) -> Table:
    table = _table(f"单位名录 units（{directory.source}）", "代码", "名称", "类型", "上级", "分管负责人", "承办科室")
    for u in directory:
        table.add_row(u.code, u.name, UnitKind(u.kind).zh, u.parent or "—", u.leader, u.section)
    return table


NOTICE_KIND_ZH = {"opened": "立案通知", "warning": "预警", "escalation": "督办", "major_situation": "重大情况"}


def notices(rows: Iterable[dict[str, Any]], title: str) -> Table:
    from yuqing.timefmt import parse_time

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
