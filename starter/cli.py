"""``yuqing``: the staff command line over ``starter.service`` (also ``python -m starter``).

Every command prints Chinese tables for people, or exactly one JSON document with ``--json`` for
scripts. Every command that sends names the acting unit (``--as CODE``, default ``$YUQING_UNIT``).
Exit codes: 0 success, 1 refused by the system, 2 usage error, 3 server unreachable (or no answer in
time); every failure is one line in Chinese and English on stderr.
"""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_early(signum: int, frame: object) -> None:
    """Ctrl-C while the command line is still loading (nothing sent yet): one line, never a traceback."""
    os.write(2, "yuqing: 已中断 interrupted：未发出任何请求 nothing was sent\n".encode())
    os._exit(130)


if os.path.basename(sys.argv[0]) in ("yuqing", "__main__.py"):  # the console script or ``python -m starter``
    signal.signal(signal.SIGINT, _interrupted_early)  # ``run`` restores KeyboardInterrupt once loaded

import asyncio  # noqa: E402  (after the handler: importing the SDK takes a moment a clerk may interrupt)
import json  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402
import unicodedata  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from datetime import date, datetime, timedelta, timezone  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, NoReturn, TypeVar  # noqa: E402

import click  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from rich.text import Text  # noqa: E402
from temporalio.client import WorkflowUpdateRPCTimeoutOrCancelledError  # noqa: E402
from temporalio.service import RPCError, RPCStatusCode  # noqa: E402

from starter import render, service  # noqa: E402
from starter.unconfirmed import Unconfirmed, fingerprint  # noqa: E402
from workflows.rules import authority  # noqa: E402
from workflows.rules.article1_responsibility import coordination_units  # noqa: E402
from workflows.rules.article4_supervision import escalation_chain  # noqa: E402
from yuqing import config  # noqa: E402
from yuqing.console import (  # noqa: E402
    DEFAULT_TIMEOUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REJECTED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    Args,
    Argument,
    BadValue,
    Converted,
    Group,
    Option,
    Output,
    OutputClosed,
    Plan,
    choices_zh,
    enum_type,
    id_type,
    plan,
    positive_float,
    positive_int,
    text_type,
    time_type,
    usage_message,
)
from yuqing.directory import Directory, DirectoryError, UnknownUnit, load_directory, normalise  # noqa: E402
from yuqing.errors import Rejected, Unreachable, UsageError, YuqingError  # noqa: E402
from yuqing.models import (  # noqa: E402
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
    UnitKind,
    sha256_text,
)
from yuqing.policy import PolicyError  # noqa: E402
from yuqing.process import exit_now  # noqa: E402
from yuqing.timefmt import show  # noqa: E402

F = TypeVar("F", bound=Callable[..., Any])

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
        raise BadValue(
            f"报告编号不合法 invalid report id {text!r}：须为 8-64 个字母、数字或 . _ : - 8-64 letters, digits, '.', '_', ':' or '-'"
        )
    return value


def unit_type(text: str) -> str:
    """A unit as a clerk names it at a prompt: its code or its name (``yuqing units``)."""
    try:
        return directory().resolve(text).code
    except UnknownUnit as err:
        raise BadValue(str(err)) from None


def T(convert: Callable[[str], Any], metavar: str) -> Converted:  # noqa: N802 (reads as a type)
    return Converted(convert, metavar)


def option(*decls: str, **kwargs: Any) -> Callable[[F], F]:
    """``click.option`` with the project's Option (``ask=`` a field asked for in a terminal)."""
    return click.option(*decls, cls=Option, **kwargs)


def incident_argument(f: F) -> F:
    return click.argument("id", cls=Argument, type=T(id_type, "ID"), metavar="ID", help="事件编号 incident id",
                          ask="事件编号 incident id（如 YQ-20261125-1432-7f3a）")(f)  # fmt: skip


def common(f: F) -> F:
    """Options every command takes, before or after the command name."""
    for decl in reversed([
        option("--json", "json", is_flag=True, default=None, common=True,
               help="输出一个 JSON 文档（不提问）print exactly one JSON document on stdout (never asks)"),
        option("--address", metavar="HOST:PORT", common=True,
               help="Temporal 服务器地址 server address (overrides TEMPORAL_ADDRESS / profile)"),
        option("--namespace", metavar="NS", common=True,
               help="命名空间 namespace (overrides TEMPORAL_NAMESPACE / profile)"),
        option("--timeout", type=T(positive_float, "SECONDS"), common=True,
               help=f"等待应答的秒数 seconds to wait for an answer (default {DEFAULT_TIMEOUT:.0f})"),
    ]):  # fmt: skip
        f = decl(f)
    return f


def acting(f: F) -> F:
    return option("--as", "acting", metavar="CODE", ask="操作单位 acting unit（代码或名称 code or name）",
                  ask_when=lambda a: not os.environ.get(UNIT_ENV, "").strip(), ask_convert=unit_type,
                  help=f"操作单位代码 the unit that acts (S1-S7; default ${UNIT_ENV}); see `yuqing units`")(f)  # fmt: skip


def report_options(*, text_help: str, required: bool = True, flags: Sequence[str] = ("--text",),
                   default: str | None = None) -> Callable[[F], F]:  # fmt: skip
    def decorate(f: F) -> F:
        f = option("--report-id", type=T(report_id_type, "ID"),
                   help="报告编号 report id (default: generated; the same id is never filed twice)")(f)  # fmt: skip
        f = acting(f)
        return option(*flags, "text", type=T(text_type("内容", "text", TEXT_MAX), "TEXT"), default=default,
                      ask=text_help if required else None, help=text_help + ("（必填 required）" if required else ""))(f)  # fmt: skip

    return decorate


EPILOG = f"""\
示例 examples:
  export {UNIT_ENV}=370102-jyj        # 本单位代码，只需设置一次 your unit, set once
  yuqing open                         # 在终端中逐项提问 asks for each field in a terminal
  yuqing open --title "某校食堂食品安全舆情" --domain 教育 --area 370102 --opinion-level 较大
  yuqing open --title "某校食堂食品安全舆情" --unit 济南市历下区教育和体育局 --opinion-level 较大 --discovered-at "今天 9:30"
  yuqing respond YQ-20261125-1432-7f3a --way 发布权威信息 --channel 政务微博 --text "区教体局发布情况通报"
  yuqing lead YQ-20261125-1432-7f3a --unit 370102-gaj --as 370102      # 区政府指定牵头部门
  yuqing transfer YQ-20261125-1432-7f3a --to 370100-jyj --source 重要政务舆情 --as sz-bgt
  yuqing status YQ-20261125-1432-7f3a
  yuqing list --state open --overdue --json

退出码 exit codes: 0 成功 success · 1 被系统拒绝 rejected · 2 用法错误 usage error ·
                   3 无法连接或未确认 server unreachable or not confirmed · 130 已中断 interrupted
时间 times: 2026-11-25 09:30、2026/11/25 09:30、2026年11月25日9时30分、11月25日 9:30、今天 9:30、昨天下午3点半、2小时前；
            北京时间 Beijing time unless an offset is given (ISO 8601: 2026-11-25T09:30+08:00).
单位 units: 代码或名称 a code or a name (yuqing units).
命令补全 shell completion: eval "$(_YUQING_COMPLETE=bash_source yuqing)"   (zsh: zsh_source; fish: fish_source)
"""


@click.group(cls=Group, epilog=EPILOG, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
             help="政务舆情回应时限督办 · public-opinion response deadline supervision (鲁政办发〔2018〕18号): 立案、报告、"
                  "查询 open incidents, file reports, read status. 在终端中缺少的必填项会逐项提问 in a terminal, "
                  "missing fields are asked for.")  # fmt: skip
@common
def app(**_: Any) -> None:
    """The ``yuqing`` group; its common options are read by each command (``console.plan``).

    A new command is one function here: ``@app.command("name", help=…)``, its options, ``@common``, and a
    body ``return plan(handler, kwargs)`` where ``handler(args, out)`` is an async function returning the exit
    code (see ``status`` below)."""


# -------------------------------------------------------------------- open


@app.command("open", short_help="立案：打开一个事件 open an incident (D1, A3.1-A3.3, P3.a)",
             help="立案 open an incident: its clocks run from the discovery time (P3.a); prints the incident id and its "
                  "deadlines. 在终端中不带选项运行会逐项提问 run in a terminal without options, it asks for each field.")  # fmt: skip
@option("--title", type=T(text_type("标题", "title", TITLE_MAX), "TEXT"), ask="标题 title", help="标题 title（必填 required）")
@option("--summary", default="", type=T(text_type("摘要", "summary", TEXT_MAX, allow_empty=True), "TEXT"), help="摘要 summary")
@option("--domain", metavar="DOMAIN",
        help="主管领域 domain, e.g. 教育、卫生健康、公安 (A1.2 谁主管谁负责; with --area or --provincial-policy the first "
             "responsible unit follows from the rule)")  # fmt: skip
@option("--area", multiple=True, metavar="CODE",
        help="涉及地区 county or city code or name involved (repeat, or comma-separated: 370102,370112; A1.2 属地)")
@option("--provincial-policy", is_flag=True,
        help="涉及省政府重大政策、重要决策部署 a major provincial policy or decision: the provincial department of the "
             "domain answers (A1.1)")  # fmt: skip
@option("--unit", metavar="CODE", ask="责任单位 responsible unit（代码或名称 code or name）", ask_convert=unit_type,
        ask_when=lambda a: a.domain is None,
        help="责任单位代码或名称 responsible unit, code or name (see `yuqing units`); with --domain, a unit other than the "
             "rule's is recorded as an override, with a warning")  # fmt: skip
@option("--opinion-level", type=T(level_type, "LEVEL"), ask="舆情等级 opinion level",
        help=f"舆情等级 opinion level（必填 required）: {choices_zh(OpinionLevel)}")
@option("--event-grade", type=T(grade_type, "GRADE"),
        help=f"突发事件等级 sudden-event grade (needs --event-category): {choices_zh(EventGrade)}")
@option("--event-category", type=T(category_type, "CATEGORY"),
        help=f"突发事件类别 sudden-event category: {choices_zh(EventCategory)}")
@option("--discovered-at", type=T(time_type, "TIME"),
        help="发现时间 discovery time, e.g. 今天 9:30、2026-11-25 09:30 (default: now; not in the future, P3.a; more than "
             f"{OLD_DISCOVERY_DAYS} days ago needs --backdated)")  # fmt: skip
@option("--backdated", is_flag=True,
        help="确认补录较早发现的事件 confirm a discovery time long past (its deadlines may have passed: it escalates at once)")
@option("--id", "id", type=T(id_type, "ID"), help="事件编号 incident id (default: generated, e.g. YQ-20261125-1432-7f3a)")
@option("--source", default="", type=T(text_type("来源", "source", SOURCE_MAX, allow_empty=True), "TEXT"),
        help="舆情来源 source (e.g. 网络媒体)")
@option("--transfer", is_flag=True,
        help="省政府办公厅转办 transferred by the provincial general office (A4.1, S3: --as must be the office): "
             "acceptance due in 1 h (P4.c)")  # fmt: skip
@option("--transferred-at", type=T(time_type, "TIME"), help="转办时间 transfer time (implies --transfer; default now)")
@option("--state-council", is_flag=True,
        help="国务院办公厅转我省办理 handed over by the State Council General Office (implies --transfer)")
@acting
@common
def open_(**kwargs: Any) -> Plan:
    return plan(cmd_open, kwargs)


# ------------------------------------------------------------------ reports


@app.command("transfer", short_help="转办 transfer an incident to another unit, at any time (A4.1, S3: the provincial office)",
             help="转办 transfer: the receiving unit and its chain take over; its acceptance is due within 1 h (P4.c), "
                  "then its analysis within 24 h (P4.f).")  # fmt: skip
@incident_argument
@option("--to", metavar="CODE", ask="接收单位 receiving unit（代码或名称 code or name）", ask_convert=unit_type,
        help="接收单位代码或名称 the receiving unit (see `yuqing units`)（必填 required）")
@option("--source", type=T(source_type, "SOURCE"), ask="转办来源 source",
        help=f"转办来源 source (A4.1)（必填 required）: {choices_zh(TransferSource)}")
@report_options(required=False, text_help="转办说明 note (default: source and receiving unit)")
@common
def transfer(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=TransferOrder)


@app.command("lead", short_help="指定牵头部门 designate the lead department (A2.1, S5)",
             help="指定牵头部门 designate a lead department among the departments of the government the incident belongs "
                  "to (S5: by that government, one above it, or the provincial office); the lead may file reports and "
                  "receives the responsible unit's escalations.")  # fmt: skip
@incident_argument
@option("--unit", metavar="CODE", ask="牵头部门 lead department（代码或名称 code or name）", ask_convert=unit_type,
        help="牵头部门代码或名称 the lead department (see `yuqing units`)（必填 required）")
@report_options(required=False, text_help="说明 note (default: 指定…为牵头部门)")
@common
def lead(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=LeadDesignation)


@app.command("accept", help="接收转办事件 accept a transferred incident (A4.2, S2)")
@incident_argument
@report_options(required=False, default="已接收 accepted", text_help="说明 note (default 已接收)")
@common
def accept(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=AcceptanceReport)


@app.command("analysis", help="报送研判情况 report the analysis (研判, A4.3)")
@incident_argument
@report_options(text_help="研判内容 analysis")
@common
def analysis(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=AnalysisReport)


@app.command("respond", short_help="报送回应情况 report a response (回应, A3.1-A3.4, P3.b)",
             help="报送回应 report a response: its way (方式) and channel (渠道) decide what it meets (P3.b): the 5 h "
                  "obligation — an authoritative release on any channel, a press conference or a briefing; the 24 h one "
                  "— a press conference, with its speaker (N3.b); the 48 h one and continued releases — any way.")  # fmt: skip
@incident_argument
@option("--way", type=T(way_type, "WAY"), ask="回应方式 way", help=f"回应方式 way (P3.b)（必填 required）: {choices_zh(ResponseWay)}")
@option("--channel", type=T(channel_type, "CHANNEL"), ask="发布渠道 channel",
        ask_when=lambda a: a.way == ResponseWay.AUTHORITATIVE_RELEASE,
        help="发布渠道 channel (P3.b; default 现场 for a press conference or briefing, 新闻媒体 for an interview; required "
             f"for an authoritative release): {choices_zh(ReleaseChannel)}")  # fmt: skip
@option("--speaker", type=T(speaker_type, "ROLE"), ask="发言人 speaker",
        ask_when=lambda a: a.way is not None and a.way.needs_speaker,
        help=f"发言人 speaker of a press conference or briefing (N3.b, required there): {choices_zh(Speaker)}")
@option("--published-at", type=T(time_type, "TIME"), help="声称的发布时间 claimed publication time, recorded only (P4.e)")
@report_options(text_help="回应内容 what was published")
@common
def respond(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=ResponseReport)


@app.command("dispose", help="报送处置情况 report the disposition (处置, A4.3)")
@incident_argument
@option("--final", is_flag=True,
        help="最终处置 final disposition: the incident closes once the 5 h, 24 h, 48 h and acceptance obligations are "
             "met (S3, S7)")  # fmt: skip
@report_options(text_help="处置内容 disposition")
@common
def dispose(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=DispositionReport)


@app.command("major", help="报告重大情况 report a major situation to the provincial government at once (A4.4, D4)")
@incident_argument
@report_options(text_help="重大情况 the situation")
@common
def major(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=MajorSituationReport)


@app.command("reclassify", help="重新定级 reclassify (P3.c, S4): new opinion level and/or sudden-event grade")
@incident_argument
@option("--opinion-level", type=T(level_type, "LEVEL"), help=f"新舆情等级 new opinion level: {choices_zh(OpinionLevel)}")
@option("--event-grade", type=T(grade_type, "GRADE"), help=f"新突发事件等级 new sudden-event grade: {choices_zh(EventGrade)}")
@option("--event-category", type=T(category_type, "CATEGORY"),
        help=f"突发事件类别 sudden-event category: {choices_zh(EventCategory)}")
@option("--no-event", is_flag=True, help="不涉及突发事件 the incident concerns no sudden event")
@report_options(flags=("--reason", "--text"), text_help="理由 reason")
@common
def reclassify(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=ReclassificationReport)


@app.command("explain", help="报送超时说明 explain a missed deadline (P4.g)")
@incident_argument
@option("--obligation", metavar="OBLIGATION", ask="时限义务 obligation（如 authoritative_info#1 或 发布权威信息）",
        help="时限义务编号或名称 the obligation explained: its id (authoritative_info#1, see `yuqing status`) or its kind "
             "(发布权威信息) where only one of that kind was missed（必填 required）")  # fmt: skip
@report_options(text_help="说明 the explanation")
@common
def explain(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=ExplanationReport)


@app.command("close", help="办结 close the incident with a reason (S3: the provincial general office)")
@incident_argument
@report_options(flags=("--reason", "--text"), text_help="办结理由 reason")
@common
def close(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=CloseRequest)


@app.command("evaluate", short_help="评价 evaluate an incident's response and disposition (A5.1, S6: the provincial office)",
             help="评价 evaluate: whether the response was proper (回应妥当/不妥当) and the disposition effective "
                  "(处置得力/不得力), with the reason; taken while the incident is open and for 30 days after 办结 (P5.b), "
                  "when the incident completes.")  # fmt: skip
@incident_argument
@option("--response", type=T(response_verdict_type, "VERDICT"), ask="回应是否妥当 response",
        help=f"回应是否妥当 response（必填 required）: {choices_zh(ResponseVerdict)}")
@option("--disposition", type=T(disposition_verdict_type, "VERDICT"), ask="处置是否得力 disposition",
        help=f"处置是否得力 disposition（必填 required）: {choices_zh(DispositionVerdict)}")
@report_options(flags=("--reason", "--text"), text_help="评价理由 reason")
@common
def evaluate(**kwargs: Any) -> Plan:
    return plan(cmd_report, kwargs, report=EvaluationReport)


# ------------------------------------------------------------------ reading


@app.command("status", help="查看事件 show an incident: obligations, escalations, reports, rejections")
@incident_argument
@common
def status(**kwargs: Any) -> Plan:
    return plan(cmd_status, kwargs)


@app.command("list", help="事件列表 list incidents from Temporal visibility (search attributes)")
@option("--state", type=T(state_type, "STATE"), default=IncidentState.OPEN.value,
        help="办理中 open（默认 default，含已终止、失败的事件 with terminated and failed ones）、已办结 closed、全部 all")
@option("--overdue", is_flag=True, help="只看逾期 overdue only")
@option("--unit", metavar="CODE", help="责任单位代码或名称 responsible unit, code or name")
@option("--opinion-level", type=T(level_type, "LEVEL"), help=f"舆情等级 opinion level: {choices_zh(OpinionLevel)}")
@option("--limit", type=T(positive_int, "N"), default="200", help="最多条数 at most this many (default 200)")
@common
def list_(**kwargs: Any) -> Plan:
    return plan(cmd_list, kwargs)


@app.command("units", help="单位名录 the unit directory (A1.3): codes, domains, roles")
@option("--domain", metavar="DOMAIN", help="只列此领域的单位 only units of this domain (e.g. 教育)")
@option("--under", metavar="CODE", help="只列此单位及其下属 only this unit and the units under it (e.g. 370100)")
@common
def units_(**kwargs: Any) -> Plan:
    return plan(cmd_units, kwargs)


@app.command("notices", help="通知记录 what the outbox delivered (P4.b)")
@click.argument("id", cls=Argument, type=T(id_type, "ID"), metavar="[ID]", help="事件编号 incident id (default: all)")
@common
def notices(**kwargs: Any) -> Plan:
    return plan(cmd_notices, kwargs)


def date_type(text: str) -> date:
    try:
        return date.fromisoformat(unicodedata.normalize("NFKC", text).strip().replace("/", "-"))
    except ValueError:
        raise BadValue(f"日期不合法 invalid date {text!r}: e.g. 2026-11-01") from None


def month_type(text: str) -> str:
    value = unicodedata.normalize("NFKC", text).strip().replace("/", "-").replace("年", "-").rstrip("月")
    if not re.fullmatch(r"20\d\d-(0?[1-9]|1[0-2])", value):
        raise BadValue(f"月份不合法 invalid month {text!r}: e.g. 2026-11")
    return value


def schedule_type(text: str) -> str:
    if text.strip() not in ("schedule", "定期"):
        raise BadValue(f"未知操作 unknown action {text!r}: 定期通报 schedule")
    return "schedule"


@app.command("assess", short_help="考核通报 assess a period and write the circular (A5.2, A5.3); `assess schedule`: monthly",
             help="考核 assess: 统计期内发现的事件（北京时间自然日，含首尾）的时限完成情况、督办、评价，依 A5.3 得出通报批评、约谈整改 "
                  "the incidents discovered in the period (Asia/Shanghai days, both ends included), from their "
                  "histories; findings by A5.3 over the look-back window (P5.a). `yuqing assess schedule --every month` "
                  "keeps a Temporal Schedule that writes the previous month's circular and tells the provincial office; "
                  "`--trigger` runs it now (不定期).")  # fmt: skip
@click.argument("action", cls=Argument, type=T(schedule_type, "schedule"), metavar="[schedule]",
                help="schedule: 定期通报 keep the monthly Schedule (with --every month)")
@option("--from", "period_from", type=T(date_type, "DATE"), help="起 first day, e.g. 2026-11-01")
@option("--to", "period_to", type=T(date_type, "DATE"), help="止 last day, included")
@option("--month", type=T(month_type, "YYYY-MM"), help="一个自然月 a calendar month (default: last month)")
@option("--out", type=click.Path(path_type=Path), metavar="DIR",
        help="写出通报 write the circular (HTML, Markdown, CSV, JSON) into DIR; for schedule: where each month's "
             "circular goes (default $YUQING_VAR/circulars)")  # fmt: skip
@option("--look-back-days", type=T(positive_int, "DAYS"), default="365",
        help="重复认定的回溯期 look-back window for a repeated finding (P5.a, default 365)")
@option("--every", type=T(lambda t: "month" if t.strip() in ("month", "每月", "月") else _bad_every(t), "month"),
        help="schedule: 周期 how often: 每月 month")
@option("--trigger", is_flag=True, help="schedule: 立即生成一次 run it now too (不定期)")
@common
def assess(**kwargs: Any) -> Plan:
    return plan(cmd_assess, kwargs, overall_timeout=None)


def _bad_every(text: str) -> str:
    raise BadValue(f"未知周期 unknown period {text!r}; 可选 choose from: 每月（month）")


@app.command("codec-server", short_help="Web UI 解密服务 the Web UI's remote codec endpoint (with YUQING_ENCRYPTION_KEYS)",
             help="Web UI 远程编解码服务 the Temporal Web UI's remote codec endpoint: staff read encrypted incidents in the "
                  "UI (Settings → Codec Server → this URL). Serves until Ctrl-C. 仅本机 loopback only unless --host.")  # fmt: skip
@option("--host", metavar="HOST", help="监听地址 address (default 127.0.0.1, YUQING_CODEC_HOST)")
@option("--port", metavar="PORT", help="端口 port (default 8234, YUQING_CODEC_PORT)")
@option("--origin", multiple=True, metavar="URL",
        help="允许的 Web UI 来源 the Web UI's origin, repeatable (default the local UI; YUQING_CODEC_ORIGINS)")
@option("--token-file", metavar="FILE", help="令牌文件 require 'Authorization: Bearer <token>' (YUQING_CODEC_TOKEN_FILE)")
def codec_server_(host: str | None, port: str | None, origin: tuple[str, ...], token_file: str | None) -> int:
    from yuqing import codec_server
    from yuqing.logging import configure

    configure()
    return codec_server.run(host, port, list(origin) or None, token_file)


from audit.cli import register_audit  # noqa: E402  (auditors' commands: export, replay, ledger, on the same group)

register_audit(app)


# ----------------------------------------------------------------- helpers


def directory() -> Directory:
    return load_directory()


def check_unit(text: str, what: str = "unit") -> str:
    """The code of a unit named by its code (any case, full-width characters) or its name; a usage error
    naming the three closest units otherwise (A1.3: ``yuqing units`` lists them)."""
    try:
        return directory().resolve(text).code
    except UnknownUnit as err:
        message = str(err)
        if what != "unit":
            message = message.replace(" unit ", f" {what} ", 1)
        raise UsageError(message) from None


def acting_unit(args: Args) -> str:
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


def _responsibility(args: Args, out: Output) -> tuple[str, Responsibility | None]:
    """A1.1, A1.2, N1.1: the responsible unit from ``--domain``/``--area``/``--provincial-policy``, or the
    named ``--unit``; a named unit other than the rule's is recorded as an override, with a warning."""
    areas = [_area(code) for given in args.area for code in re.split(r"[,，、;；\s]+", given) if code.strip()]
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


def _area(text: str) -> str:
    """An area (A1.2) by its code or the name of its government (``历下区``, ``济南市``)."""
    code = normalise(text)
    units = directory()
    if code in units:
        return code
    governments = [u for u in units if u.kind in (UnitKind.CITY_GOVERNMENT, UnitKind.COUNTY_GOVERNMENT)]
    named = [u for u in governments if code and code in normalise(u.name)]
    return named[0].code if len(named) == 1 else code  # an unknown one is refused by the rule, naming it


async def cmd_open(args: Args, out: Output) -> int:
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
        OPENING["id"] = incident_id  # Ctrl-C from here on: say whether it was opened (``run``)
        try:
            handle = await service.open_incident(client, incident(incident_id), opened_by=by)
            OPENING["started"] = incident_id
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
    try:  # the first workflow task computes the deadlines: leave time to say why it did not
        status, now, execution = await asyncio.wait_for(service.read_incident(client, handle.id), args.timeout * 0.8)
    except TimeoutError:  # remembered still: the same command again shows this incident, never opens a second
        problem = await service.workflow_task_problem(client, handle.id)
        raise Unreachable(opened_but_unknown(handle.id, problem)) from None
    store.forget(key)
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


def _report(args: Args, by: str, report_id: str, filed_at: datetime) -> Any:
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


async def cmd_report(args: Args, out: Output) -> int:
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


async def cmd_status(args: Args, out: Output) -> int:
    client = await service.connect(args.address, args.namespace)
    try:
        status, now, execution = await asyncio.wait_for(service.read_incident(client, args.id), args.timeout * 0.9)
    except TimeoutError:
        problem = await service.workflow_task_problem(client, args.id)
        raise Unreachable(
            f"无应答 no answer: 事件 {args.id} 的记录暂不可读 its record cannot be read now: {problem}"
            "（请确认 `make run` 或 `yuqing-worker` 在运行 is `make run` or `yuqing-worker` running?）"
        ) from None
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


async def cmd_list(args: Args, out: Output) -> int:
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


async def cmd_units(args: Args, out: Output) -> int:
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


async def cmd_assess(args: Args, out: Output) -> int:
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


async def cmd_notices(args: Args, out: Output) -> int:
    from activities.channels.outbox import SqliteOutbox
    from yuqing.timefmt import parse_time

    path = config.outbox_path()
    rows = render.notice_order(await asyncio.to_thread(SqliteOutbox(path).rows, args.id))  # by time, then level
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


def opened_but_unknown(incident_id: str, why: str) -> str:
    """An ``open`` whose start was answered and whose deadlines were not: the one wording for it, whichever
    timeout came first, with the id in （） for the clerk to copy (the same command again shows it)."""
    return (
        f"事件已立案（{incident_id}），期限尚未算出，请勿重复立案；稍后用 `yuqing status {incident_id}` 或同一命令查看。"
        f"{why} — incident {incident_id} was opened but its deadlines are not known yet (do not open it again)"
    )


OPENING: dict[str, str] = {}
"""The incident id an ``open`` is starting (chosen before the start call), for an interrupted run."""


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raises, never prints a traceback)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # from here Ctrl-C is KeyboardInterrupt, handled
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8", errors="replace")
    given = list(argv if argv is not None else sys.argv[1:])
    out = Output("--json" in given)
    OPENING.clear()
    try:
        planned = app.main(given, prog_name="yuqing", standalone_mode=False)
    except click.exceptions.Exit as done:  # --help
        return done.exit_code
    except click.Abort:  # Ctrl-C or end of input at a prompt
        out.error("已中断 interrupted：未发出任何请求 nothing was sent")
        return EXIT_INTERRUPTED
    except click.ClickException as err:
        out.error(f"用法错误 usage error: {usage_message(err)}")
        return EXIT_USAGE
    except UsageError as err:
        out.error(f"用法错误 usage error: {err}")
        return EXIT_USAGE
    except (DirectoryError, PolicyError) as err:
        out.error(str(err))
        return EXIT_REJECTED
    except KeyboardInterrupt:
        out.error("已中断 interrupted：未发出任何请求 nothing was sent")
        return EXIT_INTERRUPTED
    if not isinstance(planned, Plan):  # `yuqing --help` handled above; a group alone prints its help
        return EXIT_OK if planned is None else int(planned)
    args = planned.args
    out = Output(args.json)
    from yuqing.logging import configure

    configure(level=os.environ.get("YUQING_LOG_LEVEL") or "ERROR")
    try:
        overall = getattr(args, "overall_timeout", args.timeout)  # assess, audit: --timeout bounds each request only
        if overall is not None and overall == float("inf"):
            overall = None
        return asyncio.run(asyncio.wait_for(planned.handler(args, out), overall))
    except OutputClosed:  # the reader went away (| head): what the command did stands, so it succeeded
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's own flush at exit must not fail again
        return EXIT_OK
    except click.Abort:
        out.error("已中断 interrupted：未发出任何请求 nothing was sent")
        return EXIT_INTERRUPTED
    except UsageError as err:
        out.error(f"用法错误 usage error: {err}")
        return EXIT_USAGE
    except YuqingError as err:
        out.error(str(err))
        return err.exit_code
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        if OPENING.get("started"):  # the start call was answered: the incident exists, its deadlines are unknown
            out.error(opened_but_unknown(OPENING["started"], (
                f"等待 {args.timeout:g} 秒无应答 no worker answered on task queue {config.task_queue()!r} in "
                f"{args.timeout:g}s (is `make run` or `yuqing-worker` running?)"
            )))  # fmt: skip
            return EXIT_UNREACHABLE
        out.error(
            f"未确认 not confirmed: 等待 {args.timeout:g} 秒无应答 no answer in {args.timeout:g}s: no worker answered on task "
            f"queue {config.task_queue()!r} (is `make run` or `yuqing-worker` running?); 已发出的请求稍后仍可能生效，"
            "可用同一命令重试 a request already sent may still take effect; running the same command again is safe"
        )
        return EXIT_UNREACHABLE
    except RPCError as err:
        out.error(f"服务器无应答 the Temporal server did not answer: {err.message}")
        return EXIT_UNREACHABLE if err.status in UNREACHABLE_CODES else EXIT_REJECTED
    except (DirectoryError, PolicyError) as err:
        out.error(str(err))
        return EXIT_REJECTED
    except KeyboardInterrupt:
        out.error(_interrupted(args))
        return EXIT_INTERRUPTED
    except Exception as err:  # the contract: one line, never a traceback
        if os.environ.get("YUQING_DEBUG"):
            raise
        out.error(f"内部错误 internal error: {type(err).__name__}: {err}")
        return EXIT_REJECTED


UNREACHABLE_CODES = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED)


def _interrupted(args: Args) -> str:
    """Ctrl-C: one line; for ``open``, whether the incident exists (its id was chosen before the start
    call), so the clerk neither loses it nor opens it twice."""
    incident_id = OPENING.get("id")
    if not incident_id:
        return "已中断 interrupted：已发出的请求可能已生效，可用同一命令重试 a request already sent may have taken effect; the same command again is safe"

    async def exists() -> bool | None:
        try:
            client = await asyncio.wait_for(service.connect(args.address, args.namespace), 3)
            await asyncio.wait_for(service.handle(client, incident_id).describe(), 3)
            return True
        except RPCError as err:
            return False if err.status == RPCStatusCode.NOT_FOUND else None
        except (TimeoutError, YuqingError):
            return None

    try:
        found = asyncio.run(exists())
    except KeyboardInterrupt:
        found = None
    if found:
        return (f"已中断 interrupted：事件已立案 the incident was opened: {incident_id}"
                f"（查看 see `yuqing status {incident_id}`；勿重复立案 do not open it again）")  # fmt: skip
    if found is False:
        return f"已中断 interrupted：事件未立案 no incident was opened ({incident_id} does not exist)"
    return (f"已中断 interrupted：事件 {incident_id} 是否已立案未知 whether {incident_id} was opened is unknown: "
            f"check with `yuqing status {incident_id}`")  # fmt: skip


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script; leaves through ``exit_now`` (no finalization: sdk-python#300)."""
    exit_now(run(argv))


if __name__ == "__main__":
    main()
