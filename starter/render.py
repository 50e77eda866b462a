"""Rich tables for staff: every heading and status in Chinese, every time in Beijing time.

Pure functions from records to renderables; the command line prints them. Tables are laid out for a
120-column terminal: one time a cell (``2026-11-25 14:32``, Beijing time, said once under the table),
ids and codes on a line of their own, free text folding.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from starter.service import Execution, IncidentSummary
from yuqing.console import EXECUTION_ZH, STATUS_STYLE
from yuqing.models import (
    EscalationAction,
    IncidentState,
    IncidentStatus,
    Obligation,
    ObligationBrief,
    ObligationStatus,
    Receipt,
    ReportType,
    Responsibility,
    Role,
    SuddenEvent,
    Unit,
    UnitKind,
)
from yuqing.timefmt import clock, countdown, show, span

BEIJING_NOTE = "时间均为北京时间 times in Beijing time (UTC+8)"


def _table(title: str, columns: Sequence[tuple[str, bool]]) -> Table:
    """``columns``: (heading, folds). A column that does not fold never wraps (a time, an id, a term)."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAVY, show_lines=False, pad_edge=False)
    for heading, folds in columns:
        if folds:
            table.add_column(heading, overflow="fold", ratio=1, min_width=10)
        else:
            table.add_column(heading, no_wrap=True)
    return table


def _unit(name: str, code: str) -> Text:
    return Text.assemble(name, "\n", (code, "dim"))


def unit_names(status: IncidentStatus) -> Callable[[str | None], str]:
    """``name（code）`` for a unit code on this incident's record: from its chain, lead and coordination
    units, else from the directory; a code the directory lacks is shown alone."""
    known = {u.code: u.name for u in (*status.chain, *status.coordination)}
    if status.lead_unit is not None:
        known[status.lead_unit.code] = status.lead_unit.name

    def label(code: str | None) -> str:
        if not code:
            return "—"
        name = known.get(code)
        if name is None:
            try:
                name = _directory().get(code).name
            except Exception:  # an unknown code or no directory: the code alone
                return code
        return f"{name}（{code}）"

    return label


@functools.lru_cache(maxsize=1)
def _directory() -> Any:
    from yuqing.directory import load_directory

    return load_directory()


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
        return Text(f"提前 {span(obligation.due_at - obligation.met_at)}", style="green")
    if status == ObligationStatus.LATE and obligation.met_at is not None:
        return Text(f"晚 {span(obligation.met_at - obligation.due_at)}", style="dark_orange")
    return Text("—", style="dim")


def status_cell(status: ObligationStatus) -> Text:
    return Text(status.zh, style=STATUS_STYLE.get(status, ""))


def _kind(obligation: Obligation | ObligationBrief) -> Text:
    return Text.assemble(obligation.kind.zh, "\n", (obligation.id, "dim"))


def owed(obligations: Sequence[Obligation | ObligationBrief], status: IncidentStatus | None, now: datetime) -> RenderableType:
    """What the incident now owes: its open obligations with due time and countdown."""
    if status is not None and status.state == IncidentState.CLOSED:
        return Text(f"事件已办结 closed {show(status.closed_at)}：{status.close_reason or ''}", style="bold")
    open_ones = [o for o in obligations if o.status in (ObligationStatus.PENDING, ObligationStatus.OVERDUE)]
    if not open_ones:
        return Text("当前无待办时限 nothing owed now", style="green")
    table = _table("待办时限 owed", [("义务 obligation", False), ("依据", False), ("期限 due", False),
                                      ("剩余/逾期", False), ("状态", False)])  # fmt: skip
    for o in sorted(open_ones, key=lambda o: o.due_at):
        table.add_row(_kind(o), o.rule, clock(o.due_at), left(o, now), status_cell(o.status))
    table.caption, table.caption_justify, table.caption_style = BEIJING_NOTE, "left", "dim"
    return table


def receipt(r: Receipt, now: datetime) -> RenderableType:
    """What a filed report did: its number, the time that counts, what it met, what is now owed."""
    parts: list[RenderableType] = [
        Text.assemble(
            ("已登记 filed: " if not r.duplicate else "已登记过 already filed: ", "bold green"),
            f"{ReportType(r.type).zh}，第 {r.seq} 号报告 report #{r.seq} → ",
            (r.incident_id, "bold"),
        ),
        Text(f"报告编号 report id: {r.report_id}", style="dim"),
    ]
    if r.duplicate:
        parts.append(Text("此报告此前已登记，未重复登记 this report was filed before; nothing was filed twice", style="yellow"))
    if r.credited and r.at is not None and r.arrived_at is not None:
        parts.append(
            Text(f"按报送时间 {show(r.at)} 计时（到达 {show(r.arrived_at)}，P4.h）counted at its filing time", style="cyan")
        )
    if r.met:
        met = "、".join(f"{m.kind.zh}（{m.status.zh}）" for m in r.met)
        parts.append(Text(f"已满足 met: {met}", style="green"))
    if r.note:
        parts.append(Text(f"说明 note: {r.note}", style="yellow"))
    if r.state == IncidentState.CLOSED:
        parts.append(Text(f"事件已办结 closed {show(r.closed_at)}：{r.close_reason or ''}", style="bold"))
    else:
        parts.append(owed(r.owed, None, now))
    return Group(*parts)


def header(status: IncidentStatus, execution: Execution | None = None) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
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
        ("分管负责人 leader", f"{status.leader}；承办科室 section：{status.section}"),
        ("发现时间 discovered", show(status.discovered_at)),
        ("立案 opened", f"{show(status.opened_at)}（{status.opened_by or '—'}）"),
    ]
    if status.summary:
        rows.insert(2, ("摘要 summary", status.summary))
    if status.source:
        rows.append(("来源 source", status.source))
    if status.responsibility is not None:
        at_opening = "（立案时 at opening）" if status.transfers else ""
        rows.append((f"责任认定 responsibility{at_opening}", _responsibility_line(status.responsibility)))
    if status.lead_unit is not None:
        by = f"，{status.lead_by} 指定于 {show(status.lead_at)}" if status.lead_by and status.lead_at else ""
        rows.append(("牵头部门 lead", f"{status.lead_unit.name}（{status.lead_unit.code}）{by}"))
    transfers = status.transfers or ([status.transfer] if status.transfer is not None else [])
    for t in transfers:
        origin = t.source.zh
        moved = f"{t.previous} → {t.to}，" if t.previous and t.to else ""
        rows.append(("转办 transfer", f"{origin}，{moved}{t.by} {show(t.at)}" + (f"：{t.note}" if t.note else "")))
    if transfers:
        accepted = show(status.accepted_at, empty="未接收 not yet")
        rows.append(("接收 accepted", f"{accepted}（{status.accepted_by}）" if status.accepted_by else accepted))
    if status.final_disposition is not None and status.state == IncidentState.OPEN:
        f = status.final_disposition
        rows.append(("最终处置 final", f"第 {f.seq} 号（{f.by}，{show(f.at)}）：待所欠时限义务完成后办结 closes once what is owed is met (S3)"))
    if status.state == IncidentState.CLOSED:
        rows.append(("办结 closed", f"{show(status.closed_at)}（{status.closed_by or '—'}）：{status.close_reason or ''}"))
    for e in status.evaluations:  # A5.1
        rows.append(("评价 evaluation", f"{e.response.zh}，{e.disposition.zh}（{e.by}，{show(e.at)}）：{e.reason}"))
    if status.state == IncidentState.CLOSED and not status.evaluations and status.evaluation_until is not None:
        rows.append(("待评价 awaiting", f"省政府办公厅评价期至 {show(status.evaluation_until)}，各时限已停止计时 (P5.b)"))
    rows.append(("督办链 chain", " → ".join(f"{u.name}（{u.code}）" for u in status.chain)))
    if status.coordination:
        rows.append(("通报单位 informed", "、".join(f"{u.name}（{u.code}）" for u in status.coordination) + "（A2.3）"))
    if status.notices:
        told = [n for n in status.notices if n.kind in ("leadership", "coordination")]
        if told:
            rows.append(("已通报 told", "；".join(
                f"{NOTICE_KIND_ZH.get(n.kind, n.kind)}→{n.target}（{Role(n.role).zh}，{clock(n.at)}）" for n in told
            )))
    rows.append(("时限政策 policy", status.policy_name + (f"；运行 runs {status.runs}" if status.runs > 1 else "")))
    for key, value in rows:
        grid.add_row(key, value)
    return grid


def obligations(status: IncidentStatus, now: datetime) -> Table:
    table = _table("时限义务 obligations", [
        ("义务 obligation", False), ("依据", False), ("期限 due", False), ("剩余/逾期", False), ("状态", False),
        ("完成 met", False), ("督办", False), ("说明 note", True),
    ])  # fmt: skip
    for o in status.obligations:
        escalated = f"{o.escalations}次·至{o.last_level}级" if o.escalations else ""
        note = ""
        if o.explanation:
            note = f"超时说明 #{o.explanation.seq}（{o.explanation.by}）：{o.explanation.text}"
        elif o.waived_reason:
            note = o.waived_reason
        table.add_row(
            _kind(o), o.rule, clock(o.due_at), left(o, now), status_cell(o.status), clock(o.met_at, empty=""),
            escalated, note,
        )  # fmt: skip
    return table


def _more(total: int, shown: int) -> str:
    return f"（最近 {shown} 条，共 {total} 条 latest {shown} of {total}）" if total > shown else ""


def escalations(status: IncidentStatus) -> Table:
    table = _table(f"督办记录 escalations{_more(status.escalations_total, len(status.escalations))}", [
        ("义务 obligation", False), ("级别/轮次", False), ("方式", False), ("对象 target", True), ("时间 time", False),
    ])  # fmt: skip
    for e in status.escalations:
        when = clock(e.at)
        if e.skipped_steps:
            when += f"\n（其间 {e.skipped_steps} 步未发，并入此次）"
        table.add_row(Text.assemble(e.obligation.zh, "\n", (e.obligation_id, "dim")), f"{e.level}/{e.round}",
                      e.action.zh, _unit(e.target_name, e.target), when)  # fmt: skip
    return table


def reports(status: IncidentStatus) -> Table:
    kinds = {o.id: o.kind.zh for o in status.obligations}
    label = unit_names(status)
    table = _table(f"报告记录 reports{_more(status.reports_total, len(status.reports))}", [
        ("序号", False), ("类型 type", False), ("单位 by", True), ("时间 time", False), ("方式·渠道", False),
        ("内容 text", True), ("满足 met", False),
    ])  # fmt: skip
    for r in status.reports:
        kind = r.type.zh
        if r.type == ReportType.DISPOSITION and r.final:
            kind += "（最终）"
        if r.obligation_id:
            kind += f"\n{r.obligation_id}"
        when = clock(r.at)
        if r.credited:
            when += f"\n到达 {clock(r.arrived_at)}（P4.h）"
        if r.published_at is not None:
            when += f"\n发布 {clock(r.published_at)}"
        way = ""
        if r.way is not None:
            way = r.way.zh + (f"\n{r.channel.zh}" if r.channel else "") + (f"\n{r.speaker.zh}" if r.speaker else "")
        more = f"…（全文 {r.text_length} 字）" if r.text_length > len(r.text) else ""
        table.add_row(str(r.seq), kind, label(r.by), when, way, r.text.rstrip("…") + more,
                      "\n".join(kinds.get(m, m) for m in r.met))  # fmt: skip
    return table


def rejections(status: IncidentStatus) -> Table:
    table = _table(f"被拒记录 rejections{_more(status.rejected_total, len(status.rejected))}", [
        ("时间 time", False), ("类型", False), ("单位", True), ("途径", False), ("原因 reason", True),
    ])  # fmt: skip
    label = unit_names(status)
    for r in status.rejected:
        kind = r.type or ""
        try:
            kind = ReportType(kind).zh if kind else ""
        except ValueError:
            pass
        table.add_row(clock(r.at), kind, label(r.by) if r.by else "", r.via, r.reason)
    return table


def warnings(status: IncidentStatus) -> Table:
    table = _table(f"预警记录 warnings{_more(status.warnings_total, len(status.warnings))}",
                   [("义务 obligation", False), ("对象 target", True), ("时间 time", False)])  # fmt: skip
    label = unit_names(status)
    for w in status.warnings:
        table.add_row(f"{w.obligation.zh}（{w.obligation_id}）", label(w.target), clock(w.at))
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
        states = Counter(f.state for f in status.delivery_failures)
        summary = "，".join(f"{n} 条{DELIVERY_STATE_ZH[k].split()[0]}" for k, n in states.items() if k in DELIVERY_STATE_ZH)
        failures = _table(f"投递失败 delivery failures：{summary}（累计 {status.delivery_failures_total} 次 in all）",
                          [("对象 to", True), ("通知 notice", True), ("状态 state", False), ("自 since", False),
                           ("原因 reason", True)])  # fmt: skip
        name = unit_names(status)
        for f in status.delivery_failures:
            failures.add_row(
                name(f.target) if f.target else "—", NOTICE_KIND_ZH.get(f.kind or "", f.kind or f.key),
                DELIVERY_STATE_ZH.get(f.state, f.state), clock(f.at), delivery_reason(f.state, f.error),
            )
        parts.append(failures)
    parts.append(Text(f"截至 as of {show(now)}；{BEIJING_NOTE}", style="dim"))
    return Group(*parts)


DELIVERY_STATE_ZH = {
    "pending": "重发中 pending",
    "refused": "被拒收 refused",
    "undelivered": "未送达 given up",
}
"""P4.b: pending ones are retried until delivered and leave the list; a refused one needs a person."""
NOTICE_KIND_ZH = {
    "opened": "立案通知", "warning": "预警", "escalation": "督办", "major_situation": "重大情况报告",
    "transfer": "转办", "lead": "指定牵头", "leadership": "领导责任", "coordination": "舆情信息通报", "circular": "通报",
}  # fmt: skip


def delivery_reason(state: str, error: str) -> str:
    """The reason a clerk can act on: what the channel said, without the error's type name."""
    if state == "pending":
        return "对方系统暂未接收，系统自动重发 not accepted yet; retried automatically"
    text = error.split(": ", 1)[1] if ": " in error and error.split(": ", 1)[0].isidentifier() else error
    if state == "refused":
        return f"需人工处理：请联系该单位或系统管理员 needs a person — {text}"
    return text


def incident_list(items: Sequence[IncidentSummary], title: str) -> RenderableType:
    problems = any(i.problem for i in items)
    columns = [("编号 id", False), ("标题 title", True), ("状态", False), ("舆情", False), ("突发事件", False),
               ("责任单位 unit", True), ("下一期限 next due", False), ("逾期", False)]  # fmt: skip
    if problems:
        columns.append(("问题 problem", True))
    table = _table(title, columns)
    for i in items:
        state = i.state.zh if i.state else "—"
        if i.stuck:
            state += "\n（卡住）"
        elif i.execution_status not in ("running", "completed"):
            state = f"{EXECUTION_ZH.get(i.execution_status, i.execution_status)}\n（{state}）"
        row: list[Any] = [
            i.incident_id,
            i.title,
            Text(state, style="bold red" if i.stuck or i.execution_status not in ("running", "completed") else ""),
            i.opinion_level.zh if i.opinion_level else "—",
            i.event_grade.zh if i.event_grade else "不涉及",
            _unit(i.unit_name, i.unit or "") if i.unit_name else (i.unit or "—"),
            clock(i.next_deadline),
            Text("是", style="bold red") if i.overdue else "否",
        ]
        if problems:
            row.append(i.problem or "")
        table.add_row(*row)
    return Group(table, Text(BEIJING_NOTE, style="dim"))


def units(units: Iterable[Unit], title: str) -> Table:
    table = _table(title, [("代码 code", False), ("名称 name", True), ("类型 kind", False), ("上级", False),
                   ("领域 domains", True), ("分管负责人", False), ("承办科室", True), ("主要负责同志", False)])  # fmt: skip
    for u in units:
        domains = "、".join(u.domains) + ("（垂直管理）" if u.vertical else "")
        table.add_row(u.code, u.name, UnitKind(u.kind).zh, u.parent or "—", domains or "—", u.leader, u.section,
                      u.principal or "—")  # fmt: skip
    return table


def _responsibility_line(r: Responsibility) -> str:
    line = f"{r.reason}（{r.rule}）"
    if r.override:
        line += f"；按规则应为 {r.unit}，立案时改定为 {r.override} override"
    return line


def responsibility(r: Responsibility) -> Table:
    """A1.1, A1.2, N1.1: how the responsible unit was found, for ``yuqing open``."""
    grid = Table.grid()
    grid.add_column(no_wrap=True)
    grid.add_column(overflow="fold")
    grid.add_row("责任认定 responsibility：", _responsibility_line(r))
    return grid


NOTICE_KIND_ZH = {
    "opened": "立案通知", "leadership": "主要负责同志", "coordination": "通报协调单位", "transfer": "转办",
    "lead": "牵头部门", "warning": "预警", "escalation": "督办", "major_situation": "重大情况",
}  # fmt: skip


def notices(rows: Iterable[dict[str, Any]], title: str, *, one_incident: bool) -> RenderableType:
    from yuqing.timefmt import parse_time

    columns = [("时间 time", False), *([] if one_incident else [("事件 incident", False)]), ("类别", False),
               ("对象 target", True), ("职务 role", False), ("级别/轮次", False), ("主题 subject", True),
               ("次数", False)]  # fmt: skip
    table = _table(title, columns)
    for row in notice_order(rows):
        kind = NOTICE_KIND_ZH.get(row["kind"], row["kind"])
        if row["kind"] == "escalation":  # P4.d: 催办 the unit, 督促 a government above it, 督办 the office
            kind = _action_zh(row) or kind
        level = f"{row['level']}/{row['round']}" if row["kind"] == "escalation" else "—"
        cells: list[Any] = [clock(parse_time(row["at"]))]
        if not one_incident:
            cells.append(row["incident_id"])
        role = Role(row["role"]).zh if row.get("role") else "—"
        cells += [kind, _unit(row["target_name"], row["target"]), role, level, row["subject"], str(row["attempts"])]
        table.add_row(*cells)
    return Group(table, Text(BEIJING_NOTE, style="dim"))


def _action_zh(row: dict[str, Any]) -> str | None:
    action = row.get("action")
    if not action:
        try:
            action = json.loads(row.get("payload") or "{}").get("action")
        except (TypeError, ValueError):
            action = None
    try:
        return EscalationAction(action).zh if action else None
    except ValueError:
        return None


def notice_order(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Notifications by time, then in the order the workflow decides them (opening, the units told, warnings,
    escalations by level and round), then as recorded."""
    from yuqing.timefmt import parse_time

    return sorted(rows, key=lambda r: (parse_time(str(r["at"])), NOTICE_ORDER.get(r["kind"], len(NOTICE_ORDER)),
                                       r.get("level") or 0, r.get("round") or 0))  # fmt: skip


NOTICE_ORDER = {kind: rank for rank, kind in enumerate(NOTICE_KIND_ZH)}
"""At one instant: the opening before who is told of it, before warnings and escalations."""


def assessment_summary(a: Any, files: dict[str, Any]) -> RenderableType:
    """``yuqing assess``: the totals, the cities and the findings in brief (the circular has it all)."""
    from assessment.document import period_label

    parts: list[RenderableType] = [
        Text(f"考核 assessment：{period_label(a)}（{a.period.from_} 至 {a.period.to}），事件 {a.totals.incidents} 件", style="bold")
    ]
    cities = _table("各市情况 by city", [("市 city", True), ("事件", False), ("按时率 on time", False),
                    ("中位逾期", False), ("最长逾期", False), ("督办", False), ("评价不妥/不得力", False)])  # fmt: skip
    for row in a.cities:
        rate = f"{row.on_time_rate:.0%}" if row.on_time_rate is not None else "—"
        median = f"{row.median_lateness_minutes:.0f}分" if row.median_lateness_minutes is not None else "—"
        worst = f"{row.worst_lateness_minutes:.0f}分" if row.worst_lateness_minutes is not None else "—"
        escalations = "、".join(f"{level}级{n}" for level, n in sorted(row.escalations.items())) or "—"
        faults = f"{row.evaluations.improper_response}/{row.evaluations.ineffective_disposition}"
        cities.add_row(f"{row.name}（{row.code}）", str(row.incidents), rate, median, worst, escalations, faults)
    parts.append(cities if a.cities else Text("本期无事件 no incidents in the period", style="dim"))
    if a.findings:
        findings = _table("通报批评与约谈整改 findings (A5.3)", [("单位 unit", True), ("认定", False), ("事件", True)])
        for f in a.findings:
            findings.add_row(f"{f.unit_name}（{f.unit}）", Text(f.finding, style="bold red"), "、".join(f.incidents))
        parts.append(findings)
    else:
        parts.append(Text("本期无通报批评、约谈整改 no findings", style="dim"))
    if files:
        parts.append(Text("通报已写出 written: " + "，".join(str(p) for p in files.values())))
    return Group(*parts)
