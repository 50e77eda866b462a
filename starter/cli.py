"""``yuqing``: the staff command line over ``starter.service`` (also ``python -m starter``).

Every command prints Chinese tables for people, or exactly one JSON document with ``--json`` for
scripts. Every command that sends names the acting unit (``--as CODE``, default ``$YUQING_UNIT``).
Exit codes: 0 success, 1 refused by the system, 2 usage error, 3 server unreachable (or no answer in
time); every failure is one line in Chinese and English on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, NoReturn

from pydantic import ValidationError
from rich.text import Text

from starter import render, service
from starter.unconfirmed import Unconfirmed, fingerprint
from workflows.rules import authority
from workflows.rules.article1_responsibility import coordination_units
from workflows.rules.article4_supervision import escalation_chain
from yuqing import config
from yuqing.console import (
    DEFAULT_TIMEOUT,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Output,
    OutputClosed,
    Parser,
    choices_zh,
    enum_type,
    id_type,
    positive_float,
    positive_int,
    text_type,
    time_type,
)
from yuqing.directory import Directory, DirectoryError, load_directory
from yuqing.errors import Rejected, Unreachable, UsageError, YuqingError
from yuqing.models import (
    REPORT_ID_PATTERN,
    TEXT_MAX,
    AcceptanceReport,
    AnalysisReport,
    CloseRequest,
    DispositionReport,
    DispositionVerdict,
    EvaluationReport,
    EventCategory,
    EventGrade,
    ExplanationReport,
    Incident,
    IncidentState,
    LeadDesignation,
    MajorSituationReport,
    ObligationKind,
    ObligationStatus,
    OpinionLevel,
    ReclassificationReport,
    ReleaseChannel,
    ReportType,
    ResponseReport,
    ResponseVerdict,
    ResponseWay,
    Responsibility,
    Scope,
    Speaker,
    SuddenEvent,
    Transfer,
    TransferOrder,
    TransferSource,
    sha256_text,
)
from yuqing.policy import PolicyError
from yuqing.process import exit_now
from yuqing.timefmt import show

TITLE_MAX = 200
SOURCE_MAX = 200
UNIT_ENV = "YUQING_UNIT"
OLD_DISCOVERY_DAYS = 7
"""A discovery time further back is most likely a typo (a wrong year escalates to the office at once):
the clerk confirms it with --backdated."""


# ------------------------------------------------------------------ parsing


def _channel_hint(text: str) -> str | None:
    try:
        channel = ReleaseChannel(text)
    except ValueError:
        return None
    return f" ({channel.zh} 是发布渠道 is a channel: give it as --channel {channel.zh})"


STATE_ALL = "all"
state_type = enum_type(IncidentState, "状态", "state", extra={"全部（all）": STATE_ALL, "all": STATE_ALL, "全部": STATE_ALL})
level_type = enum_type(OpinionLevel, "舆情等级", "opinion level")
grade_type = enum_type(EventGrade, "突发事件等级", "event grade")
category_type = enum_type(EventCategory, "突发事件类别", "event category")
way_type = enum_type(ResponseWay, "回应方式", "response way", hint=_channel_hint)
channel_type = enum_type(ReleaseChannel, "发布渠道", "channel")
speaker_type = enum_type(Speaker, "发言人", "speaker")
source_type = enum_type(TransferSource, "转办来源", "transfer source")
response_verdict_type = enum_type(ResponseVerdict, "回应评价", "response verdict")
disposition_verdict_type = enum_type(DispositionVerdict, "处置评价", "disposition verdict")


def report_id_type(text: str) -> str:
    value = text.strip()
    if not re.match(REPORT_ID_PATTERN, value):
        raise argparse.ArgumentTypeError(
            f"报告编号不合法 invalid report id {text!r}：须为 8-64 个字母、数字或 . _ : - 8-64 letters, digits, '.', '_', ':' or '-'"
        )
    return value


def _common(parser: argparse.ArgumentParser, *, suppress: bool) -> None:
    """Options every command takes, before or after the command name."""

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    group = parser.add_argument_group("通用选项 common options")
    group.add_argument("--json", action="store_true", default=default(False),
                       help="输出一个 JSON 文档 print exactly one JSON document on stdout")
    group.add_argument("--address", metavar="HOST:PORT", default=default(None),
                       help="Temporal 服务器地址 server address (overrides TEMPORAL_ADDRESS / profile)")
    group.add_argument("--namespace", metavar="NS", default=default(None),
                       help="命名空间 namespace (overrides TEMPORAL_NAMESPACE / profile)")
    group.add_argument("--timeout", metavar="SECONDS", type=positive_float, default=default(DEFAULT_TIMEOUT),
                       help=f"等待应答的秒数 seconds to wait for an answer (default {DEFAULT_TIMEOUT:.0f})")


def _acting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--as", dest="acting", metavar="CODE",
                        help=f"操作单位代码 the unit that acts (S1-S7; default ${UNIT_ENV}); see `yuqing units`")


def _report_options(parser: argparse.ArgumentParser, *, text_required: bool = True, text_help: str,
                    text_flags: Sequence[str] = ("--text",), text_default: str | None = None) -> None:
    parser.add_argument(*text_flags, dest="text", required=text_required, default=text_default,
                        type=text_type("内容", "text", TEXT_MAX), metavar="TEXT", help=text_help)
    _acting(parser)
    parser.add_argument("--report-id", type=report_id_type, metavar="ID",
                        help="报告编号 report id (default: generated; the same id is never filed twice)")


EPILOG = f"""\
示例 examples:
  export {UNIT_ENV}=370102-jyj        # 本单位代码，只需设置一次 your unit, set once
  yuqing open --title "某校食堂食品安全舆情" --domain 教育 --area 370102 --opinion-level 较大
  yuqing open --title "某校食堂食品安全舆情" --unit 370102-jyj --opinion-level 较大   # 直接指定责任单位
  yuqing respond YQ-20261125-1432-7f3a --way 发布权威信息 --channel 政务微博 --text "区教体局发布情况通报"
  yuqing lead YQ-20261125-1432-7f3a --unit 370102-gaj --as 370102      # 区政府指定牵头部门
  yuqing transfer YQ-20261125-1432-7f3a --to 370100-jyj --source 重要政务舆情 --as sz-bgt
  yuqing status YQ-20261125-1432-7f3a
  yuqing list --state open --overdue --json

退出码 exit codes: 0 成功 success · 1 被系统拒绝 rejected · 2 用法错误 usage error · 3 无法连接服务器 server unreachable
时间 times: ISO 8601；不带时区即北京时间 a time without offset means Asia/Shanghai.
"""


def build_parser() -> Parser:
    parser = Parser(
        prog="yuqing",
        description="政务舆情回应时限督办 · public-opinion response deadline supervision "
                    "(鲁政办发〔2018〕18号): 立案、报告、查询 open incidents, file reports, read status.",
        epilog=EPILOG,
    )
    _common(parser, suppress=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="命令 commands",
                                     parser_class=Parser, required=True)

    def command(name: str, help: str, handler: Callable[..., Awaitable[int]], description: str = "") -> Parser:
        sub: Parser = commands.add_parser(name, help=help, description=description or help)
        _common(sub, suppress=True)
        sub.set_defaults(handler=handler)
        return sub

    # open
    p = command("open", "立案：打开一个事件 open an incident (D1, A3.1-A3.3, P3.a)", cmd_open,
                "立案 open an incident: its clocks run from the discovery time (P3.a); prints the incident id "
                "and its deadlines.")
    p.add_argument("--title", required=True, type=text_type("标题", "title", TITLE_MAX), help="标题 title")
    p.add_argument("--summary", default="", type=text_type("摘要", "summary", TEXT_MAX, allow_empty=True),
                   help="摘要 summary")
    p.add_argument("--domain", metavar="DOMAIN",
                   help="主管领域 domain, e.g. 教育、卫生健康、公安 (A1.2 谁主管谁负责; with --area or "
                        "--provincial-policy the first responsible unit follows from the rule)")
    p.add_argument("--area", action="append", default=[], metavar="CODE",
                   help="涉及地区 county or city code involved (repeat, or comma-separated: 370102,370112; A1.2 属地)")
    p.add_argument("--provincial-policy", action="store_true",
                   help="涉及省政府重大政策、重要决策部署 a major provincial policy or decision: the provincial "
                        "department of the domain answers (A1.1)")
    p.add_argument("--unit", metavar="CODE",
                   help="责任单位代码 responsible unit code (see `yuqing units`); with --domain, a unit other than the "
                        "rule's is recorded as an override, with a warning")
    p.add_argument("--opinion-level", required=True, type=level_type, metavar="LEVEL",
                   help=f"舆情等级 opinion level: {choices_zh(OpinionLevel)}")
    p.add_argument("--event-grade", type=grade_type, metavar="GRADE",
                   help=f"突发事件等级 sudden-event grade (needs --event-category): {choices_zh(EventGrade)}")
    p.add_argument("--event-category", type=category_type, metavar="CATEGORY",
                   help=f"突发事件类别 sudden-event category: {choices_zh(EventCategory)}")
    p.add_argument("--discovered-at", type=time_type, metavar="TIME",
                   help="发现时间 discovery time, e.g. 2026-11-25 09:30 (default: now; not in the future, P3.a; more than "
                        f"{OLD_DISCOVERY_DAYS} days ago needs --backdated)")
    p.add_argument("--backdated", action="store_true",
                   help="确认补录较早发现的事件 confirm a discovery time long past (its deadlines may have passed: it "
                        "escalates at once)")
    p.add_argument("--id", type=id_type, help="事件编号 incident id (default: generated, e.g. YQ-20261125-1432-7f3a)")
    p.add_argument("--source", default="", type=text_type("来源", "source", SOURCE_MAX, allow_empty=True),
                   help="舆情来源 source (e.g. 网络媒体)")
    p.add_argument("--transfer", action="store_true",
                   help="省政府办公厅转办 transferred by the provincial general office (A4.1, S3: --as must be the "
                        "office): acceptance due in 1 h (P4.c)")
    p.add_argument("--transferred-at", type=time_type, metavar="TIME",
                   help="转办时间 transfer time (implies --transfer; default now)")
    p.add_argument("--state-council", action="store_true",
                   help="国务院办公厅转我省办理 handed over by the State Council General Office (implies --transfer)")
    _acting(p)

    p = command("transfer", "转办 transfer an incident to another unit, at any time (A4.1, S3: the provincial office)",
                cmd_report, "转办 transfer: the receiving unit and its chain take over; its acceptance is due within "
                "1 h (P4.c), then its analysis within 24 h (P4.f).")
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--to", required=True, metavar="CODE", help="接收单位代码 the receiving unit (see `yuqing units`)")
    p.add_argument("--source", required=True, type=source_type, metavar="SOURCE",
                   help=f"转办来源 source (A4.1): {choices_zh(TransferSource)}")
    _report_options(p, text_required=False, text_help="转办说明 note (default: source and receiving unit)")
    p.set_defaults(report=TransferOrder)

    p = command("lead", "指定牵头部门 designate the lead department (A2.1, S5)", cmd_report,
                "指定牵头部门 designate a lead department among the departments of the government the incident "
                "belongs to (S5: by that government, one above it, or the provincial office); the lead may file "
                "reports and receives the responsible unit's escalations.")
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--unit", required=True, metavar="CODE", help="牵头部门代码 the lead department (see `yuqing units`)")
    _report_options(p, text_required=False, text_help="说明 note (default: 指定…为牵头部门)")
    p.set_defaults(report=LeadDesignation)

    # reports
    p = command("accept", "接收转办事件 accept a transferred incident (A4.2, S2)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_required=False, text_default="已接收 accepted", text_help="说明 note (default 已接收)")
    p.set_defaults(report=AcceptanceReport)

    p = command("analysis", "报送研判情况 report the analysis (研判, A4.3)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_help="研判内容 analysis")
    p.set_defaults(report=AnalysisReport)

    p = command("respond", "报送回应情况 report a response (回应, A3.1-A3.4, P3.b)", cmd_report,
                "报送回应 report a response: its way (方式) and channel (渠道) decide what it meets (P3.b): the 5 h "
                "obligation — an authoritative release on any channel, a press conference or a briefing; the 24 h "
                "one — a press conference, with its speaker (N3.b); the 48 h one and continued releases — any way.")
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--way", required=True, type=way_type, metavar="WAY",
                   help=f"回应方式 way (P3.b): {choices_zh(ResponseWay)}")
    p.add_argument("--channel", type=channel_type, metavar="CHANNEL",
                   help=f"发布渠道 channel (P3.b; default 现场 for a press conference or briefing, 新闻媒体 for an "
                        f"interview; required for an authoritative release): {choices_zh(ReleaseChannel)}")
    p.add_argument("--speaker", type=speaker_type, metavar="ROLE",
                   help=f"发言人 speaker of a press conference or briefing (N3.b, required there): {choices_zh(Speaker)}")
    p.add_argument("--published-at", metavar="TIME", type=time_type,
                   help="声称的发布时间 claimed publication time, recorded only (P4.e)")
    _report_options(p, text_help="回应内容 what was published")
    p.set_defaults(report=ResponseReport)

    p = command("dispose", "报送处置情况 report the disposition (处置, A4.3)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--final", action="store_true",
                   help="最终处置 final disposition: the incident closes once the 5 h, 24 h, 48 h and acceptance "
                        "obligations are met (S3, S7)")
    _report_options(p, text_help="处置内容 disposition")
    p.set_defaults(report=DispositionReport)

    p = command("major", "报告重大情况 report a major situation to the provincial government at once (A4.4, D4)",
                cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_help="重大情况 the situation")
    p.set_defaults(report=MajorSituationReport)

    p = command("reclassify", "重新定级 reclassify (P3.c, S4): new opinion level and/or sudden-event grade", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--opinion-level", type=level_type, metavar="LEVEL",
                   help=f"新舆情等级 new opinion level: {choices_zh(OpinionLevel)}")
    p.add_argument("--event-grade", type=grade_type, metavar="GRADE",
                   help=f"新突发事件等级 new sudden-event grade: {choices_zh(EventGrade)}")
    p.add_argument("--event-category", type=category_type, metavar="CATEGORY",
                   help=f"突发事件类别 sudden-event category: {choices_zh(EventCategory)}")
    p.add_argument("--no-event", action="store_true", help="不涉及突发事件 the incident concerns no sudden event")
    _report_options(p, text_flags=("--reason", "--text"), text_help="理由 reason (required)")
    p.set_defaults(report=ReclassificationReport)

    p = command("explain", "报送超时说明 explain a missed deadline (P4.g)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--obligation", required=True, metavar="OBLIGATION",
                   help="时限义务编号或名称 the obligation explained: its id (authoritative_info#1, see `yuqing status`) "
                        "or its kind (发布权威信息) where only one of that kind was missed")
    _report_options(p, text_help="说明 the explanation")
    p.set_defaults(report=ExplanationReport)

    p = command("close", "办结 close the incident with a reason (S3: the provincial general office)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_flags=("--reason", "--text"), text_help="办结理由 reason (required)")
    p.set_defaults(report=CloseRequest)

    p = command("evaluate", "评价 evaluate an incident's response and disposition (A5.1, S6: the provincial office)",
                cmd_report, "评价 evaluate: whether the response was proper (回应妥当/不妥当) and the disposition "
                "effective (处置得力/不得力), with the reason; taken while the incident is open and for 30 days after "
                "办结 (P5.b), when the incident completes.")
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--response", required=True, type=response_verdict_type, metavar="VERDICT",
                   help=f"回应是否妥当 response: {choices_zh(ResponseVerdict)}")
    p.add_argument("--disposition", required=True, type=disposition_verdict_type, metavar="VERDICT",
                   help=f"处置是否得力 disposition: {choices_zh(DispositionVerdict)}")
    _report_options(p, text_flags=("--reason", "--text"), text_help="评价理由 reason (required)")
    p.set_defaults(report=EvaluationReport)

    # reading
    p = command("status", "查看事件 show an incident: obligations, escalations, reports, rejections", cmd_status)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")

    p = command("list", "事件列表 list incidents from Temporal visibility (search attributes)", cmd_list)
    p.add_argument("--state", type=state_type, default=IncidentState.OPEN, metavar="STATE",
                   help="办理中 open（默认 default，含已终止、失败的事件 with terminated and failed ones）、已办结 "
                        "closed、全部 all")
    p.add_argument("--overdue", action="store_true", help="只看逾期 overdue only")
    p.add_argument("--unit", metavar="CODE", help="责任单位代码 responsible unit code")
    p.add_argument("--opinion-level", type=level_type, metavar="LEVEL",
                   help=f"舆情等级 opinion level: {choices_zh(OpinionLevel)}")
    p.add_argument("--limit", type=positive_int, default=200, help="最多条数 at most this many (default 200)")

    p = command("units", "单位名录 the unit directory (A1.3): codes, domains, roles", cmd_units)
    p.add_argument("--domain", metavar="DOMAIN", help="只列此领域的单位 only units of this domain (e.g. 教育)")
    p.add_argument("--under", metavar="CODE", help="只列此单位及其下属 only this unit and the units under it (e.g. 370100)")

    p = command("notices", "通知记录 what the outbox delivered (P4.b)", cmd_notices)
    p.add_argument("id", metavar="ID", nargs="?", type=id_type, help="事件编号 incident id (default: all)")

    p = command("assess", "考核通报 assess a period and write the circular (A5.2, A5.3); `assess schedule`: monthly",
                cmd_assess,
                "考核 assess: 统计期内发现的事件（北京时间自然日，含首尾）的时限完成情况、督办、评价，依 A5.3 得出通报批评、约谈整改 "
                "the incidents discovered in the period (Asia/Shanghai days, both ends included), from their histories; "
                "findings by A5.3 over the look-back window (P5.a). `yuqing assess schedule --every month` keeps a "
                "Temporal Schedule that writes the previous month's circular and tells the provincial office; "
                "`--trigger` runs it now (不定期).")
    p.add_argument("action", nargs="?", choices=["schedule"], metavar="schedule",
                   help="schedule: 定期通报 keep the monthly Schedule (with --every month)")
    p.add_argument("--from", dest="period_from", type=date_type, metavar="DATE", help="起 first day, e.g. 2026-11-01")
    p.add_argument("--to", dest="period_to", type=date_type, metavar="DATE", help="止 last day, included")
    p.add_argument("--month", metavar="YYYY-MM", type=month_type, help="一个自然月 a calendar month (default: last month)")
    p.add_argument("--out", metavar="DIR", type=Path,
                   help="写出通报 write the circular (HTML, Markdown, CSV, JSON) into DIR; for schedule: where each "
                        "month's circular goes (default $YUQING_VAR/circulars)")
    p.add_argument("--look-back-days", type=positive_int, default=365, metavar="DAYS",
                   help="重复认定的回溯期 look-back window for a repeated finding (P5.a, default 365)")
    p.add_argument("--every", choices=["month"], help="schedule: 周期 how often (month)")
    p.add_argument("--trigger", action="store_true", help="schedule: 立即生成一次 run it now too (不定期)")
    p.set_defaults(overall_timeout=None)

    from audit.cli import register_audit  # auditors' commands: export, replay, ledger

    register_audit(commands)
    return parser


# ----------------------------------------------------------------- helpers


def directory() -> Directory:
    return load_directory()


def check_unit(code: str, what: str = "unit") -> str:
    code = code.strip().lower()  # codes are lower case; a clerk may type SZ-BGT
    if code not in directory():
        raise UsageError(f"未知单位 unknown {what} {code!r} (see `yuqing units`)")
    return code


def acting_unit(args: argparse.Namespace) -> str:
    """The unit that acts: ``--as``, else ``$YUQING_UNIT``; without either, a usage error."""
    code = args.acting or os.environ.get(UNIT_ENV, "").strip()
    if not code:
        raise UsageError(
            f"须指明操作单位（--as 单位代码，或设置环境变量 {UNIT_ENV}）who acts? give --as CODE or set {UNIT_ENV} "
            "(see `yuqing units`)"
        )
    source = "--as" if args.acting else UNIT_ENV
    return check_unit(code, f"acting unit（操作单位，{source}）")


def _validation_message(err: ValidationError) -> str:
    first = err.errors()[0]
    message = str(first["msg"]).removeprefix("Value error, ")
    where = ".".join(str(p) for p in first["loc"])
    return f"输入有误 invalid input: {where}: {message}" if where else message


# --------------------------------------------------------------- commands


def _responsibility(args: argparse.Namespace, out: Output) -> tuple[str, Responsibility | None]:
    """A1.1, A1.2, N1.1: the responsible unit from ``--domain``/``--area``/``--provincial-policy``, or the
    named ``--unit``; a named unit other than the rule's is recorded as an override, with a warning."""
    areas = [code.lower() for given in args.area for code in re.split(r"[,，、;；\s]+", given) if code.strip()]
    if args.domain is None:
        if areas or args.provincial_policy:
            raise UsageError("--area/--provincial-policy 须与 --domain 同用 give the domain too: --domain 教育 (A1.2)")
        if args.unit is None:
            raise UsageError(
                "须指明责任单位：给出 --domain 与 --area（或 --provincial-policy），或直接给出 --unit "
                "who answers? give --domain with --area (or --provincial-policy), or --unit (A1.1, A1.2)"
            )
        unit = check_unit(args.unit)
        problem = authority.may_be_responsible(directory().get(unit))
        if problem:
            raise UsageError(problem)
        return unit, None
    if not areas and not args.provincial_policy:
        raise UsageError("--domain 须与 --area 或 --provincial-policy 同用 give --area CODE or --provincial-policy (A1.1, A1.2)")
    named = check_unit(args.unit) if args.unit else None
    if named is not None and (problem := authority.may_be_responsible(directory().get(named))):
        raise UsageError(problem)
    try:
        scope = Scope(domain=args.domain, areas=areas, provincial_policy=args.provincial_policy)
    except ValidationError as err:
        raise UsageError(_validation_message(err)) from None
    try:
        found = service.responsibility(directory(), scope, named)
    except Rejected as err:  # an unknown domain or area: the clerk's input, not the system's refusal
        raise UsageError(str(err)) from None
    if found.override is not None:
        units = directory()
        out.warn(
            f"注意：按第一责任主体规则（{found.rule}）应由{units.get(found.unit).name}（{found.unit}）负责，现按 --unit "
            f"由{units.get(found.override).name}（{found.override}）负责，已记录为改定 warning: the rule gives "
            f"{found.unit}; {found.override} is recorded as an override"
        )
        return found.override, found
    return found.unit, found


async def cmd_open(args: argparse.Namespace, out: Output) -> int:
    unit, responsibility = _responsibility(args, out)
    by = acting_unit(args)
    try:  # --source is where the opinion was seen; a clerk may mean a transfer's source (A4.1)
        meant = TransferSource(args.source) if args.source and not (args.transfer or args.state_council) else None
    except ValueError:
        meant = None
    if meant is not None:
        out.warn(
            f"注意：--source 是舆情来源（如 网络媒体）；若为{meant.zh}，请用 --transfer"
            f"{' --state-council' if meant == TransferSource.STATE_COUNCIL else ''}（A4.1） note: --source is where the "
            "opinion was seen; a transfer is --transfer"
        )
    if args.discovered_at and not args.backdated:
        age = datetime.now(timezone.utc) - args.discovered_at
        if age > timedelta(days=OLD_DISCOVERY_DAYS):
            raise UsageError(
                f"发现时间 {show(args.discovered_at)} 已在 {age.days} 天前，请核对；确为补录请加 --backdated "
                f"the discovery time is {age.days} days ago: check it, or confirm with --backdated"
            )
    event = None
    if args.event_grade or args.event_category:
        if not (args.event_grade and args.event_category):
            raise UsageError("突发事件须同时给出等级和类别 a sudden event needs both --event-grade and --event-category")
        event = SuddenEvent(grade=args.event_grade, category=args.event_category)
    transfer = None
    if args.transfer or args.transferred_at or args.state_council:
        transfer = Transfer(
            at=args.transferred_at or datetime.now(timezone.utc),
            by=by,
            from_state_council=args.state_council,
        )

    def incident(incident_id: str) -> Incident:
        try:
            return Incident(
                id=incident_id, title=args.title, summary=args.summary, source=args.source,
                opinion_level=args.opinion_level, event=event, discovered_at=args.discovered_at,
                responsible_unit=unit, transfer=transfer, responsibility=responsibility,
            )  # fmt: skip
        except ValidationError as err:
            raise UsageError(_validation_message(err)) from None

    client = await service.connect(args.address, args.namespace)
    asked = {k: v for k, v in vars(args).items() if k not in ("handler", "timeout", "json", "address", "namespace")}
    key = fingerprint(client.service_client.config.target_host, client.namespace, "open", asked)
    store = Unconfirmed()
    remembered = None if args.id else store.recall(key)
    attempts = 1 if args.id or remembered else 5
    for attempt in range(attempts):
        incident_id = args.id or (remembered[0] if remembered else service.new_incident_id())
        if not args.id:  # the same command run again after a timeout opens the same incident, not a second
            store.remember(key, incident_id, datetime.now(timezone.utc))
        try:
            handle = await service.open_incident(client, incident(incident_id), opened_by=by)
            break
        except service.IncidentExists:
            if remembered:  # it was opened by the unconfirmed attempt: show it
                handle = service.handle(client, incident_id)
                break
            if args.id or attempt == attempts - 1:
                store.forget(key)
                raise
        except Rejected:
            store.forget(key)
            raise
    store.forget(key)
    try:  # the first workflow task computes the deadlines: leave time to say why it did not
        status, now, execution = await asyncio.wait_for(service.read_incident(client, handle.id), args.timeout * 0.8)
    except TimeoutError:
        problem = await service.workflow_task_problem(client, handle.id)
        raise Unreachable(
            f"事件已立案但期限未知 incident {handle.id} was opened but its deadlines are not known yet: {problem}"
        ) from None
    if status is None:
        raise YuqingError(f"事件未能立案 incident {handle.id} did not start: {execution.problem or execution.status}")
    if out.json_mode:
        out.json(status)
        return EXIT_OK
    out.show(
        Text.assemble(("已立案 opened: ", "bold green"), (status.incident_id, "bold"), f"  {status.title}"),
        f"责任单位 unit: {status.responsible_unit_name}（{status.responsible_unit}）  "
        f"发现时间 discovered: {show(status.discovered_at)}",
        f"督办链 chain: {' → '.join(f'{u.name}（{u.code}）' for u in status.chain)}",
    )
    if status.responsibility is not None:
        out.show(render.responsibility(status.responsibility))
    for rejection in status.rejected:
        out.show(Text(f"注意 note: {rejection.reason}", style="yellow"))
    out.show(render.owed(status.obligations, status, now))
    return EXIT_OK


def _report(args: argparse.Namespace, by: str, report_id: str, filed_at: datetime) -> Any:
    """The report the command asks for (a usage error where the fields do not make one)."""
    kind = args.report
    fields: dict[str, Any] = {"report_id": report_id, "as": by, "text": args.text, "filed_at": filed_at}
    if kind is ResponseReport:
        channel = args.channel
        if channel is None:
            if args.way in (ResponseWay.PRESS_CONFERENCE, ResponseWay.BRIEFING):
                channel = ReleaseChannel.ON_SITE
            elif args.way == ResponseWay.MEDIA_INTERVIEW:
                channel = ReleaseChannel.NEWS_MEDIA
            else:
                raise UsageError(f"须给出发布渠道 give --channel: {choices_zh(ReleaseChannel)} (P3.b)")
        fields.update(way=args.way, channel=channel, speaker=args.speaker, published_at=args.published_at)
    elif kind is DispositionReport:
        fields["final"] = args.final
    elif kind is ExplanationReport:
        fields["obligation_id"] = args.obligation.strip()
    elif kind is TransferOrder:  # A4.1: the receiving unit's chain and coordination units from the directory
        units = directory()
        to = check_unit(args.to, "receiving unit（接收单位，--to）")
        if to == units.provincial_office.code:
            raise UsageError("省政府办公厅转办给涉事市、部门，而非自身 the office transfers to the involved city or department, not to itself (A4.1)")
        problem = authority.may_be_responsible(units.get(to))
        if problem:
            raise UsageError(problem)
        fields.update(source=args.source, chain=escalation_chain(units, to), coordination=coordination_units(units, to))
        if not args.text:
            fields["text"] = f"{args.source.zh}：转{units.get(to).name}办理"
    elif kind is EvaluationReport:  # A5.1
        fields.update(response=args.response, disposition=args.disposition)
    elif kind is LeadDesignation:  # A2.1
        lead = directory().get(check_unit(args.unit, "lead department（牵头部门，--unit）"))
        fields["unit"] = lead
        if not args.text:
            fields["text"] = f"指定{lead.name}为牵头部门"
    elif kind is ReclassificationReport:
        if not (args.opinion_level or args.event_grade or args.event_category or args.no_event):
            raise UsageError(
                "须至少给出一项新定级 give at least one of --opinion-level, --event-grade, --event-category, --no-event"
            )
        if args.no_event and (args.event_grade or args.event_category):
            raise UsageError("--no-event 不能与 --event-grade/--event-category 同用 --no-event conflicts with them")
        fields.update(opinion_level=args.opinion_level, event_grade=args.event_grade,
                      event_category=args.event_category, remove_event=args.no_event)
    try:
        return kind(**fields)
    except ValidationError as err:
        raise UsageError(_validation_message(err)) from None


async def cmd_report(args: argparse.Namespace, out: Output) -> int:
    started = time.monotonic()
    by = acting_unit(args)
    if args.report is ResponseReport and args.way.needs_speaker and args.speaker is None:
        raise UsageError(f"{args.way.zh}须注明发言人 give --speaker：{choices_zh(Speaker)}（N3.b）")
    now = datetime.now(timezone.utc)
    draft = _report(args, by, args.report_id or service.new_report_id(), now)  # usage errors need no server
    client = await service.connect(args.address, args.namespace)
    if isinstance(draft, ExplanationReport) and "#" not in draft.obligation_id:
        draft = draft.model_copy(update={"obligation_id": await _obligation_id(client, args.id, draft.obligation_id)})
    asked = draft.model_dump(mode="json", exclude={"report_id", "filed_at"})
    key = fingerprint(client.service_client.config.target_host, client.namespace, args.id, asked)
    store = Unconfirmed()
    remembered = None if args.report_id else store.recall(key)
    report = draft
    if remembered is not None:  # the same command timed out before: send the same report again
        report = draft.model_copy(update={"report_id": remembered[0], "filed_at": remembered[1]})
    # remembered before it is sent: a timeout at any point leaves the same command able to resend it
    store.remember(key, report.report_id, report.filed_at or now)
    budget = args.timeout * 0.9 - (time.monotonic() - started)
    try:
        receipt = await service.file_report(client, args.id, report, timeout=max(1.0, budget))
    except Rejected:
        store.forget(key)
        raise
    store.forget(key)
    if receipt.type != report.type or receipt.by != report.as_ or (
        receipt.text_sha256 and receipt.text_sha256 != sha256_text(report.text)
    ):
        raise Rejected(
            f"报告编号 {report.report_id} 已登记为第 {receipt.seq} 号报告（{ReportType(receipt.type).zh}，{receipt.by}），内容不同；"
            f"本次未登记 the report id was used for report #{receipt.seq} ({receipt.type}) with other content: nothing was "
            f"filed now (give another --report-id)"
        )
    if out.json_mode:
        out.json(receipt)
        return EXIT_OK
    try:
        clock = await asyncio.wait_for(service.incident_clock(client, args.id), 5)
    except (TimeoutError, YuqingError):  # it is filed: show what is owed as of now
        clock = datetime.now(timezone.utc)
    if remembered is not None:
        out.show(Text(f"重发未确认的报告 re-sent the unconfirmed report {report.report_id}", style="yellow"))
    out.show(render.receipt(receipt, clock))
    return EXIT_OK


async def _obligation_id(client: Any, incident_id: str, given: str) -> str:
    """P4.g: an obligation named by its id (``authoritative_info#1``) or by its kind in Chinese or English
    (``发布权威信息``), where the incident has exactly one missed obligation of that kind."""
    given = given.strip()
    if "#" in given:
        return given
    try:
        kind = ObligationKind(given)
    except ValueError:
        raise UsageError(f"未知时限义务 unknown obligation {given!r}: 写义务编号如 authoritative_info#1，或义务名称 "
                         f"{choices_zh(ObligationKind)}") from None  # fmt: skip
    status = await service.get_status(client, incident_id)
    missed = [o.id for o in status.obligations if o.kind == kind and o.status in (ObligationStatus.LATE, ObligationStatus.OVERDUE)]
    if len(missed) != 1:
        ids = "、".join(o.id for o in status.obligations) or "无 none"
        raise UsageError(f"{kind.zh}有 {len(missed)} 项逾期义务，请写义务编号 give the obligation id; 本事件的义务 this "
                         f"incident's obligations: {ids}")  # fmt: skip
    return missed[0]


async def cmd_status(args: argparse.Namespace, out: Output) -> int:
    client = await service.connect(args.address, args.namespace)
    status, now, execution = await service.read_incident(client, args.id)
    if status is None:
        word = render.execution_zh(execution)
        raise YuqingError(f"事件 {args.id} {word}: {execution.problem or '—'}；记录暂不可读 its record cannot be read now")
    if out.json_mode:
        document = status.model_dump(mode="python")
        document["execution"] = execution.model_dump()
        out.json(document)
    else:
        out.show(render.incident(status, now, execution))
    return EXIT_OK


async def cmd_list(args: argparse.Namespace, out: Output) -> int:
    unit = check_unit(args.unit) if args.unit else None
    state = None if args.state == STATE_ALL else args.state
    client = await service.connect(args.address, args.namespace)
    items = await service.list_incidents(
        client, state=state, overdue=args.overdue, unit=unit, opinion_level=args.opinion_level, limit=args.limit
    )
    if out.json_mode:
        out.json(items)
        return EXIT_OK
    filters = [f"{state.zh} {state.value}" if state else "全部 all"]
    if args.overdue:
        filters.append("逾期 overdue")
    if unit:
        filters.append(f"单位 unit {unit}")
    if args.opinion_level:
        filters.append(f"舆情等级 {args.opinion_level.zh}")
    more = f"（只列出前 {args.limit} 件 the first {args.limit}; 用 --limit 查看更多）" if len(items) >= args.limit else ""
    out.show(render.incident_list(items, f"事件列表 incidents（{'，'.join(filters)}）：{len(items)} 件{more}"))
    return EXIT_OK


async def cmd_units(args: argparse.Namespace, out: Output) -> int:
    units = directory()
    chosen = list(units)
    title = f"单位名录 units（{units.source}）"
    if args.domain:
        domain = args.domain.strip()
        if domain not in units.domains:
            raise UsageError(f"未知领域 unknown domain {domain!r}; 可选 choose from: {'、'.join(sorted(units.domains))}")
        chosen = [u for u in chosen if domain in u.domains]
        title += f" · 领域 {domain}"
    if args.under:
        top = check_unit(args.under)
        chosen = [u for u in chosen if top in _ancestry(units, u)]
        title += f" · {units.get(top).name}及下属"
    if out.json_mode:
        out.json([u.model_dump(mode="json") for u in chosen])
    else:
        out.show(render.units(chosen, f"{title}：{len(chosen)} 个"))
    return EXIT_OK


def _ancestry(units: Directory, unit: Any) -> list[str]:
    codes = [unit.code]
    parent = units.parent(unit)
    while parent is not None:
        codes.append(parent.code)
        parent = units.parent(parent)
    return codes


def date_type(text: str) -> date:
    try:
        return date.fromisoformat(text.strip().replace("/", "-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"日期不合法 invalid date {text!r}: e.g. 2026-11-01") from None


def month_type(text: str) -> str:
    value = text.strip().replace("/", "-").replace("年", "-").rstrip("月")
    if not re.fullmatch(r"20\d\d-(0?[1-9]|1[0-2])", value):
        raise argparse.ArgumentTypeError(f"月份不合法 invalid month {text!r}: e.g. 2026-11")
    return value


async def cmd_assess(args: argparse.Namespace, out: Output) -> int:
    from assessment import service as assessing
    from assessment.document import write_circular

    if args.action == "schedule":
        if args.every is None:
            raise UsageError("须给出周期 give --every month")
        target = args.out or config.var_dir() / "circulars"
        client = await service.connect(args.address, args.namespace)
        schedule_id, created = await assessing.schedule_monthly(client, target, directory(), look_back_days=args.look_back_days)
        if args.trigger:
            await assessing.trigger(client)
        if out.json_mode:
            out.json({"schedule_id": schedule_id, "created": created, "out": str(target.resolve()), "triggered": args.trigger})
            return EXIT_OK
        word = "已创建 created" if created else "已更新 updated"
        out.show(f"{word}: 定期通报 {schedule_id}：每月1日9时（北京时间）生成上月通报，写入 {target.resolve()}，并通知省政府办公厅"
                 + ("；已立即生成一次 triggered now" if args.trigger else ""))  # fmt: skip
        return EXIT_OK
    if args.every or args.trigger:
        raise UsageError("--every/--trigger 只用于 `yuqing assess schedule` only with `assess schedule`")
    try:
        period = assessing.parse_period(args.period_from, args.period_to, args.month)
    except ValueError as err:
        raise UsageError(str(err)) from None
    client = await service.connect(args.address, args.namespace)
    result, problems = await assessing.assess_period(
        client, period, look_back_days=args.look_back_days, cache_dir=config.var_dir() / "assessment-cache",
        directory=directory(),
    )  # fmt: skip
    files = write_circular(result, args.out) if args.out else {}
    for problem in problems:
        out.warn(f"未计入 left out (its history did not verify): {problem}")
    if out.json_mode:
        out.json(result.model_dump(mode="json", by_alias=True))
        return EXIT_OK
    out.show(render.assessment_summary(result, files))
    return EXIT_OK


async def cmd_notices(args: argparse.Namespace, out: Output) -> int:
    from activities.channels.outbox import SqliteOutbox
    from yuqing.timefmt import parse_time

    path = config.outbox_path()
    rows = await asyncio.to_thread(SqliteOutbox(path).rows, args.id)
    if out.json_mode:
        result = []
        for row in rows:
            item = dict(row)
            item["payload"] = json.loads(item["payload"])
            item["role"] = item.get("role") or item["payload"].get("role", "leader_in_charge")  # an older outbox
            item["section"] = item.get("section") or item["payload"].get("target", {}).get("section")
            for key in ("at", "recorded_at"):
                item[key] = parse_time(item[key])
            result.append(item)
        out.json(result)
        return EXIT_OK
    title = f"通知记录 notifications{'（' + args.id + '）' if args.id else ''}：{len(rows)} 条 · {path}"
    if args.id and not rows:
        title += "（无记录：编号是否有误？no notifications for this id: is it right?）"
    out.show(render.notices(rows, title, one_incident=bool(args.id)))
    return EXIT_OK


# -------------------------------------------------------------------- main


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raises, never prints a traceback)."""
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8", errors="replace")
    out = Output("--json" in (argv if argv is not None else sys.argv[1:]))
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        out.error(f"用法错误 usage error: {err}")
        return EXIT_USAGE
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_OK
    out = Output(args.json)
    from yuqing.logging import configure

    configure(level=os.environ.get("YUQING_LOG_LEVEL") or "ERROR")
    try:
        overall = getattr(args, "overall_timeout", args.timeout)  # assess: --timeout bounds each request only
        return asyncio.run(asyncio.wait_for(args.handler(args, out), overall))
    except OutputClosed:  # the reader went away (| head): what the command did stands, so it succeeded
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        return EXIT_OK
    except UsageError as err:
        out.error(f"用法错误 usage error: {err}")
        return EXIT_USAGE
    except YuqingError as err:
        out.error(str(err))
        return err.exit_code
    except TimeoutError:
        out.error(
            f"等待超时 timed out after {args.timeout:g}s: no worker answered on task queue "
            f"{config.task_queue()!r} (is `make run` or `yuqing-worker` running?); "
            "已发出的请求稍后仍可能生效 a request already sent may still take effect"
        )
        return EXIT_UNREACHABLE
    except (DirectoryError, PolicyError) as err:
        out.error(str(err))
        return EXIT_REJECTED
    except KeyboardInterrupt:
        out.error("已中断 interrupted")
        return 130
    except Exception as err:  # the contract: one line, never a traceback
        if os.environ.get("YUQING_DEBUG"):
            raise
        out.error(f"内部错误 internal error: {type(err).__name__}: {err}")
        return EXIT_REJECTED


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script; leaves through ``exit_now`` (no finalization: sdk-python#300)."""
    exit_now(run(argv))


if __name__ == "__main__":
    main()
