"""The deadline ledger (时限台账), derived from replayed histories only.

For every incident: every obligation with its clock start, due time, met time, status, lateness and
explanation (P4.g); each warning and escalation with its level, target and time and whether its
notification was delivered; every report credited with its filing time (P4.h); the latest rejected
messages. The workflow keeps a bounded record, so the ledger joins what each run of the incident's
continue-as-new chain decided (its journal, from the replay) to the latest run's record; it is used
only if every run of the chain replayed identically and passed every check, and the chain is whole.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from pydantic import BaseModel, Field
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from audit.replay import OUTCOME_ZH, AuditResult, RunReport
from workflows.rules import bounds
from yuqing.console import STATUS_STYLE
from yuqing.models import (
    Escalation,
    EscalationAction,
    IncidentState,
    IncidentStatus,
    Obligation,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReportRef,
    ReportType,
    SuddenEvent,
    WarningRecord,
)
from yuqing.timefmt import show, span

DELIVERY_ZH = {"delivered": "已送达", "failed": "未送达", "pending": "送达中", "unknown": "无记录"}


class ObligationLine(BaseModel):
    obligation_id: str
    kind: ObligationKind
    rule: str
    clock_start: datetime
    due_at: datetime
    met_at: datetime | None
    met_by: int | None
    status: ObligationStatus
    lateness_seconds: int | None
    """``met_at - due_at`` when met late; ``as_of - due_at`` while overdue; else ``None``."""
    still_late: bool
    """Overdue and not met by the end of the history: the lateness is still growing."""
    warned_at: datetime | None
    escalations: int
    waived_reason: str | None
    explanation: str | None = None
    """超时说明 (P4.g): who explained, when, and an excerpt (the whole text is in the history)."""


class WarningLine(BaseModel):
    obligation_id: str
    kind: ObligationKind
    target: str
    at: datetime
    delivery: str


class EscalationLine(BaseModel):
    obligation_id: str
    kind: ObligationKind
    level: int
    round: int
    action: EscalationAction
    target: str
    target_name: str
    due_at: datetime
    at: datetime
    skipped_steps: int
    delivery: str


class CreditedLine(BaseModel):
    """A report counted at its client filing time, earlier than its arrival (P4.h)."""

    seq: int
    type: ReportType
    by: str
    filed_at: datetime
    arrived_at: datetime
    met: list[str]


class RejectionLine(BaseModel):
    at: datetime
    via: str
    type: str | None
    reason: str


class IncidentLedger(BaseModel):
    incident_id: str
    title: str
    responsible_unit: str
    responsible_unit_name: str
    opinion_level: OpinionLevel
    event: SuddenEvent | None
    state: IncidentState
    discovered_at: datetime
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str | None
    as_of: datetime
    """The end of the history: the close, or the last event of a running incident."""
    runs: int
    run_ids: list[str]
    files: list[str]
    obligations: list[ObligationLine]
    warnings: list[WarningLine]
    escalations: list[EscalationLine]
    credited: list[CreditedLine] = Field(default_factory=list)
    reports: int = 0
    rejected: list[RejectionLine]
    rejected_total: int = 0
    record: IncidentStatus
    """The whole record the histories imply: what the ``status`` query answers."""


class Problem(BaseModel):
    subject: str
    """An incident id or a file."""
    reasons: list[str]


class Ledger(BaseModel):
    generated_at: datetime
    files: int
    incidents: list[IncidentLedger] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    """Files and incidents left out because they did not verify: the ledger never shows them as fine."""
    refused: list[Problem] = Field(default_factory=list)
    """Workflows that refused their start input (they failed at once): never an incident."""


# ------------------------------------------------------------------ building


def _chains(runs: list[RunReport]) -> list[tuple[list[RunReport], list[str]]]:
    """The continue-as-new chains among the runs of one workflow id, each in order with what is wrong
    with it. One id may have several executions (a later start reusing a closed incident's id): each is
    its own chain, so one never hides another."""
    by_id = {r.run_id: r for r in runs}
    duplicated = len(by_id) != len(runs)
    heads = [r for r in by_id.values() if r.continued_from not in by_id]
    result: list[tuple[list[RunReport], list[str]]] = []
    for head in sorted(heads, key=lambda r: r.first_event_at or datetime.min):
        problems: list[str] = ["同一运行出现多次 the same run appears in more than one file"] if duplicated else []
        if head.continued_from is not None:
            problems.append(f"缺少更早的运行 the run {head.continued_from} this chain continues from is missing")
        chain = [head]
        while chain[-1].continued_to is not None:
            nxt = by_id.get(chain[-1].continued_to)
            if nxt is None:
                problems.append(f"缺少后续运行 the run {chain[-1].continued_to} this chain continued as is missing")
                break
            if nxt.carried_digest != chain[-1].handed_on_digest:
                problems.append(f"运行 {nxt.run_id} 的起始记录与上一运行交出的不同 its carried record differs from the one handed on")
            chain.append(nxt)
        result.append((chain, problems))
    return result


def _lateness(o: Any, as_of: datetime) -> tuple[int | None, bool]:
    if o.status == ObligationStatus.LATE and o.met_at is not None:
        return int((o.met_at - o.due_at).total_seconds()), False
    if o.status == ObligationStatus.OVERDUE:
        return int((as_of - o.due_at).total_seconds()), True
    return None, False


def _obligation_line(o: Obligation, as_of: datetime, escalations: Sequence[Any]) -> ObligationLine:
    """One obligation as the ledger lists it: its lateness as of ``as_of`` and its escalations."""
    seconds, still = _lateness(o, as_of)
    explained = o.explanation
    return ObligationLine(
        obligation_id=o.id, kind=o.kind, rule=o.rule, clock_start=o.clock_start, due_at=o.due_at,
        met_at=o.met_at, met_by=o.met_by, status=o.status, lateness_seconds=seconds, still_late=still,
        warned_at=o.warned_at, escalations=sum(1 for e in escalations if e.obligation_id == o.id),
        waived_reason=o.waived_reason,
        explanation=f"#{explained.seq} {explained.by} {show(explained.at)}：{explained.text}" if explained else None,
    )  # fmt: skip


def incident_ledger(chain: Sequence[RunReport]) -> IncidentLedger:
    """One incident's ledger: the latest record joined with every run's decisions."""
    latest = chain[-1]
    record = latest.record()
    assert record is not None
    as_of = record.closed_at or latest.last_event_at or record.opened_at
    deliveries: dict[str, str] = {}
    failed: set[str] = set()
    pending: set[str] = set()
    obligations: dict[str, Obligation] = {}
    journals = []
    for run in chain:
        for key, outcome in run.deliveries.items():  # a later run's delivery of a handed-over one wins
            if deliveries.get(key) != "delivered":
                deliveries[key] = outcome
        journal, view = run.decisions(), run.record()
        if journal is not None:
            journals.append(journal)
            obligations.update((o.id, o) for o in journal.dropped)
            failed.update(f.key for f in journal.failures if f.state not in ("delivered", "pending"))
            pending.update(f.key for f in journal.failures if f.state == "pending")
        if view is not None:
            obligations.update((o.id, o) for o in view.obligations)
            failed.update(f.key for f in view.delivery_failures if f.state != "pending")
            pending.update(f.key for f in view.delivery_failures if f.state == "pending")
    for key in pending:  # past the retry window and still retried (P4.b) unless its delivery is on record
        if deliveries.get(key) != "delivered":
            deliveries[key] = "pending"
    for key in failed:  # refused or given up (P4.b), whatever an abandoned activity last said
        if deliveries.get(key) != "delivered":
            deliveries[key] = "failed"
    escalations = [e for j in journals for e in j.escalations]
    warnings = [w for j in journals for w in j.warnings]
    reports = [r for j in journals for r in j.reports]

    def delivery(obligation_id: str, level: int, round_: int) -> str:
        return deliveries.get(f"{record.incident_id}/{obligation_id}/{level}/{round_}", "unknown")

    return _line(
        record, as_of, [_obligation_line(o, as_of, escalations) for o in obligations.values()], escalations,
        warnings, reports, delivery, run_ids=[r.run_id or "" for r in chain], files=[r.file for r in chain],
    )  # fmt: skip


def ledger_from_result(status: IncidentStatus, run_id: str, workflow_id: str | None = None) -> IncidentLedger | None:
    """The ledger line of a completed incident from its workflow's result alone, where the result holds
    everything the line needs: one run, and every escalation, warning, report and obligation still on
    the record (nothing let go of by ``bounds``). Otherwise ``None``: replay the history.

    What it cannot know is whether each notification was delivered (``delivery`` is ``unknown``);
    ``tests/test_audit_live.py`` shows it equal to the replayed line in everything else.
    """
    if status.state != IncidentState.CLOSED or status.closed_at is None or status.runs != 1:
        return None
    if workflow_id is not None and status.incident_id != workflow_id:
        return None  # not this workflow's own record
    if status.peak_opinion_level is None:
        return None  # a result of a release before 0.4: replay computes what it lacks
    lettable = sum(1 for o in status.obligations if bounds.lettable(o))
    if lettable >= bounds.KEEP_CLOSED:
        return None  # closed obligations may have been let go of (bounds.compact_obligations)
    if (status.escalations_total, status.warnings_total, status.reports_total) != (
        len(status.escalations), len(status.warnings), len(status.reports)
    ):
        return None
    numbers: dict[ObligationKind, list[int]] = {}
    for o in status.obligations:
        number = o.id.rsplit("#", 1)[-1]
        if not number.isdigit():
            return None
        numbers.setdefault(o.kind, []).append(int(number))
    if any(sorted(found) != list(range(1, len(found) + 1)) for found in numbers.values()):
        return None  # an obligation was let go of: only the history has it
    as_of = status.closed_at
    lines = [_obligation_line(o, as_of, status.escalations) for o in status.obligations]
    return _line(
        status, as_of, lines, status.escalations, status.warnings, status.reports, lambda *_: "unknown",
        run_ids=[run_id], files=[],
    )  # fmt: skip


def _line(
    record: IncidentStatus,
    as_of: datetime,
    obligations: list[ObligationLine],
    escalations: Sequence[Escalation],
    warnings: Sequence[WarningRecord],
    reports: Sequence[ReportRef],
    delivery: Callable[[str, int, int], str],
    *,
    run_ids: list[str],
    files: list[str],
) -> IncidentLedger:
    """An incident's ledger line from its record and its decisions (both paths: replayed, or a result)."""
    return IncidentLedger(
        incident_id=record.incident_id,
        title=record.title,
        responsible_unit=record.responsible_unit,
        responsible_unit_name=record.responsible_unit_name,
        opinion_level=record.opinion_level,
        event=record.event,
        state=record.state,
        discovered_at=record.discovered_at,
        opened_at=record.opened_at,
        closed_at=record.closed_at,
        close_reason=record.close_reason,
        as_of=as_of,
        runs=len(run_ids),
        run_ids=run_ids,
        files=files,
        obligations=obligations,
        warnings=[
            WarningLine(obligation_id=w.obligation_id, kind=w.obligation, target=w.target, at=w.at,
                        delivery=delivery(w.obligation_id, 0, 1))
            for w in warnings
        ],  # fmt: skip
        escalations=[
            EscalationLine(
                obligation_id=e.obligation_id, kind=e.obligation, level=e.level, round=e.round, action=e.action,
                target=e.target, target_name=e.target_name, due_at=e.due_at, at=e.at, skipped_steps=e.skipped_steps,
                delivery=delivery(e.obligation_id, e.level, e.round),
            )  # fmt: skip
            for e in escalations
        ],
        credited=[
            CreditedLine(seq=r.seq, type=r.type, by=r.by, filed_at=r.at, arrived_at=r.arrived_at, met=r.met)
            for r in reports
            if r.credited
        ],
        reports=len(reports),
        rejected=[RejectionLine(at=r.at, via=r.via, type=r.type, reason=r.reason) for r in record.rejected],
        rejected_total=record.rejected_total,
        record=record,
    )


def build_ledger(result: AuditResult, *, now: datetime | None = None) -> Ledger:
    """The ledger of every incident whose whole chain verified; the rest become problems."""
    ledger = Ledger(generated_at=now or datetime.now(timezone.utc), files=len(result.runs))
    groups: dict[str, list[RunReport]] = {}
    for run in result.runs:
        if run.workflow_id is None or run.outcome in ("unreadable", "missing"):
            ledger.problems.append(Problem(subject=run.file, reasons=[OUTCOME_ZH[run.outcome], *run.reasons]))
            continue
        groups.setdefault(run.workflow_id, []).append(run)
    for workflow_id, runs in groups.items():
        for chain, problems in _chains(runs):
            for run in chain:
                if not run.ok:
                    problems.append(f"{run.file}: {OUTCOME_ZH[run.outcome]} {run.outcome}: {'; '.join(run.reasons)}")
            if not problems and chain[-1].refused_start is not None:
                ledger.refused.append(Problem(subject=workflow_id, reasons=[chain[-1].refused_start]))
                continue
            if problems or chain[-1].status is None:
                ledger.problems.append(Problem(subject=workflow_id, reasons=problems or ["无记录 no record"]))
                continue
            ledger.incidents.append(incident_ledger(chain))
    ledger.incidents.sort(key=lambda i: (i.discovered_at, i.incident_id))
    return ledger


# ------------------------------------------------------------------ output


def lateness_text(seconds: int | None, still: bool) -> str:
    if seconds is None:
        return ""
    text = span(timedelta(seconds=seconds))
    return f"≥{text}" if still else text


def _cell(value: datetime | None) -> str:
    return show(value, empty="")


def _short(value: datetime | None) -> str:
    """Tables show the minute (CSV and JSON keep every digit)."""
    return show(value, empty="", seconds=False)


TIME_COLUMNS = ("起算", "期限", "完成", "预警", "时间")


def _table(title: str, *columns: str) -> Table:
    """Times and ids never wrap (an auditor reads them whole); words and reasons fold."""
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAVY)
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column.startswith((*TIME_COLUMNS, "义务")))
    return table


def render(ledger: Ledger) -> RenderableType:
    """Rich tables: per incident its obligations, then its warnings and escalations, then rejections."""
    parts: list[RenderableType] = [
        Text(
            f"时限台账 deadline ledger：{len(ledger.incidents)} 件事件 incidents，{ledger.files} 个历史文件 history files"
            f"（生成于 generated {show(ledger.generated_at)}）",
            style="bold",
        )
    ]
    for inc in ledger.incidents:
        event = f"{inc.event.grade.zh}{inc.event.category.zh}" if inc.event else "不涉及突发事件"
        parts.append(
            Text.assemble(
                "\n",
                ("事件 incident ", "bold"), (inc.incident_id, "bold cyan"), f"  {inc.title}\n",
                f"责任单位 unit: {inc.responsible_unit_name}（{inc.responsible_unit}）  舆情等级 level: "
                f"{inc.opinion_level.zh}  突发事件 event: {event}\n",
                f"状态 state: {inc.state.zh}  发现 discovered: {show(inc.discovered_at)}  截至 as of: {show(inc.as_of)}"
                f"  运行 runs: {inc.runs}",
                *( [f"\n办结 closed: {show(inc.closed_at)}  {inc.close_reason or ''}"] if inc.closed_at else [] ),
            )  # fmt: skip
        )
        table = _table(
            "义务 obligations",
            "义务 obligation", "事项 kind", "依据 rule", "起算 clock start", "期限 due", "完成 met", "状态 status",
            "逾期 lateness", "预警 warned", "督办 escalations",
        )  # fmt: skip
        for o in inc.obligations:
            table.add_row(
                o.obligation_id, o.kind.zh, o.rule, _short(o.clock_start), _short(o.due_at), _short(o.met_at),
                Text(o.status.zh, style=STATUS_STYLE[o.status]), lateness_text(o.lateness_seconds, o.still_late),
                _short(o.warned_at), str(o.escalations) if o.escalations else "",
            )  # fmt: skip
        parts.append(table)
        if inc.warnings or inc.escalations:
            table = _table(
                "预警与督办 warnings and escalations",
                "时间 time", "义务 obligation", "类型 type", "级别/轮次 level/round", "对象 target", "送达 delivery",
            )  # fmt: skip
            lines: list[tuple[datetime, tuple[str, ...]]] = []
            for w in inc.warnings:
                lines.append((w.at, (_cell(w.at), w.obligation_id, "预警 warning", "", w.target, DELIVERY_ZH[w.delivery])))
            for e in inc.escalations:
                skipped = f"（补 {e.skipped_steps} 步 caught up）" if e.skipped_steps else ""
                lines.append((e.at, (
                    _cell(e.at), e.obligation_id, f"{e.action.zh} escalation", f"{e.level}/{e.round}{skipped}",
                    f"{e.target_name}（{e.target}）", DELIVERY_ZH[e.delivery],
                )))  # fmt: skip
            for _, row in sorted(lines, key=lambda x: x[0]):
                table.add_row(*row)
            parts.append(table)
        explained = [o for o in inc.obligations if o.explanation]
        if explained:
            table = _table("超时说明 explanations (P4.g)", "义务 obligation", "说明 explanation")
            for o in explained:
                table.add_row(o.obligation_id, o.explanation or "")
            parts.append(table)
        if inc.credited:
            table = _table("按报送时间计 credited reports (P4.h)", "报告 report", "单位 by", "报送 filed", "到达 arrived",
                           "满足 met")  # fmt: skip
            for c in inc.credited:
                table.add_row(f"#{c.seq} {c.type.zh}", c.by, _cell(c.filed_at), _cell(c.arrived_at), "、".join(c.met))
            parts.append(table)
        if inc.rejected:
            more = f"（最近 {len(inc.rejected)} 条，共 {inc.rejected_total} 条）" if inc.rejected_total > len(inc.rejected) else ""
            table = _table(f"拒收 rejected reports{more}", "时间 time", "途径 via", "类型 type", "原因 reason")
            for r in inc.rejected:
                table.add_row(_cell(r.at), r.via, r.type or "", r.reason)
            parts.append(table)
    if ledger.refused:
        parts.append(Text("\n拒绝启动的工作流 workflows that refused their start input (never an incident):", style="yellow"))
        for p in ledger.refused:
            parts.append(Text(f"  {p.subject}: {'; '.join(p.reasons)}", style="yellow"))
    if ledger.problems:
        parts.append(Text("\n未通过核验，未列入台账 not verified, left out of the ledger:", style="bold red"))
        for p in ledger.problems:
            parts.append(Text(f"  {p.subject}: {'; '.join(p.reasons)}", style="red"))
    return Group(*parts)


CSV_COLUMNS = (
    "事件 incident", "标题 title", "记录 record", "义务 obligation", "事项 kind", "依据 rule", "起算 clock start",
    "期限 due", "完成 met", "状态 status", "逾期 lateness", "逾期秒数 lateness seconds", "级别 level", "轮次 round",
    "督办方式 action", "对象 target", "时间 time", "送达 delivery", "说明 note",
)  # fmt: skip


def csv_rows(ledger: Ledger) -> list[dict[str, Any]]:
    """One row per obligation, warning, escalation and rejection; filter on 记录 record in Excel."""
    rows: list[dict[str, Any]] = []
    for inc in ledger.incidents:
        base = {"事件 incident": inc.incident_id, "标题 title": inc.title}
        for o in inc.obligations:
            note = o.waived_reason or (f"由第 {o.met_by} 号报告完成 met by report #{o.met_by}" if o.met_by else "")
            if o.explanation:
                note = f"{note}；超时说明 explanation {o.explanation}".lstrip("；")
            rows.append({
                **base, "记录 record": "义务 obligation", "义务 obligation": o.obligation_id,
                "事项 kind": f"{o.kind.zh} {o.kind.value}", "依据 rule": o.rule, "起算 clock start": _cell(o.clock_start),
                "期限 due": _cell(o.due_at), "完成 met": _cell(o.met_at), "状态 status": f"{o.status.zh} {o.status.value}",
                "逾期 lateness": lateness_text(o.lateness_seconds, o.still_late),
                "逾期秒数 lateness seconds": "" if o.lateness_seconds is None else o.lateness_seconds,
                "说明 note": note,
            })  # fmt: skip
        for w in inc.warnings:
            rows.append({
                **base, "记录 record": "预警 warning", "义务 obligation": w.obligation_id,
                "事项 kind": f"{w.kind.zh} {w.kind.value}", "对象 target": w.target, "时间 time": _cell(w.at),
                "送达 delivery": f"{DELIVERY_ZH[w.delivery]} {w.delivery}",
            })  # fmt: skip
        for e in inc.escalations:
            rows.append({
                **base, "记录 record": "督办 escalation", "义务 obligation": e.obligation_id,
                "事项 kind": f"{e.kind.zh} {e.kind.value}", "期限 due": _cell(e.due_at), "级别 level": e.level,
                "轮次 round": e.round, "督办方式 action": f"{e.action.zh} {e.action.value}",
                "对象 target": f"{e.target_name}（{e.target}）", "时间 time": _cell(e.at),
                "送达 delivery": f"{DELIVERY_ZH[e.delivery]} {e.delivery}",
                "说明 note": f"补发，跳过 {e.skipped_steps} 步 caught up {e.skipped_steps} steps" if e.skipped_steps else "",
            })  # fmt: skip
        for c in inc.credited:
            rows.append({
                **base, "记录 record": "补记 credited report", "事项 kind": f"{c.type.zh} {c.type.value}",
                "时间 time": _cell(c.filed_at), "对象 target": c.by,
                "说明 note": f"#{c.seq} 按报送时间计，到达 {_cell(c.arrived_at)} counted at filing time (P4.h); met {', '.join(c.met)}",
            })  # fmt: skip
        for r in inc.rejected:
            rows.append({
                **base, "记录 record": "拒收 rejection", "事项 kind": r.type or "", "时间 time": _cell(r.at),
                "说明 note": f"{r.via}: {r.reason}",
            })  # fmt: skip
    return rows


def to_csv(ledger: Ledger) -> str:
    """The ledger as CSV text (write it with ``encoding="utf-8-sig"`` so Excel reads the Chinese)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, extrasaction="raise", lineterminator="\r\n")
    writer.writeheader()
    for row in csv_rows(ledger):
        writer.writerow({column: row.get(column, "") for column in CSV_COLUMNS})
    return buffer.getvalue()
