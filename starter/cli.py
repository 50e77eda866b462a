"""``yuqing``: the staff command line over ``starter.service`` (also ``python -m starter``).

Every command prints Chinese tables for people, or exactly one JSON document with ``--json``
for scripts. Exit codes: 0 success, 1 refused by the system, 2 usage error, 3 server unreachable
(or no answer in time); every failure is one line in Chinese and English on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timezone
from typing import Any, NoReturn

from pydantic import ValidationError
from rich.console import Console, RenderableType
from rich.text import Text

from starter import render, service
from starter.timefmt import TimeFormatError, jsonable, parse_time, show
from yuqing import config
from yuqing.directory import Directory, DirectoryError, load_directory
from yuqing.models import (
    REPORT_TYPES_ZH,
    TEXT_MAX,
    AcceptanceReport,
    AnalysisReport,
    DispositionReport,
    EventCategory,
    EventGrade,
    Incident,
    IncidentState,
    MajorSituationReport,
    OpinionLevel,
    ReclassificationReport,
    ResponseReport,
    ResponseWay,
    SuddenEvent,
    Transfer,
    parse_incident_id,
)
from yuqing.policy import PolicyError
from yuqing.process import exit_now

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
DEFAULT_TIMEOUT = 30.0
TITLE_MAX = 200
SOURCE_MAX = 200
BY_MAX = 100


class UsageError(Exception):
    """The command line is wrong (exit 2); the message is one line in Chinese and English."""


# ------------------------------------------------------------------ parsing


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Chinese headings; help wrapped by display width (a Chinese character takes two cells)."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix if prefix is not None else "用法 usage: ")

    def _split_lines(self, text: str, width: int) -> list[str]:
        from rich.cells import cell_len

        text = " ".join(text.split())
        lines: list[str] = []
        line = ""
        for piece in re.split(r"(?<=[ 、，；）])", text):
            if line and cell_len(line + piece.rstrip()) > width:
                lines.append(line.rstrip())
                line = piece.lstrip()
            else:
                line += piece
        if line.strip():
            lines.append(line.rstrip())
        return lines


_ARGPARSE_ZH = (
    ("the following arguments are required: ", "缺少必填参数 missing required arguments: "),
    ("unrecognized arguments: ", "无法识别的参数 unrecognized arguments: "),
    ("expected one argument", "缺少取值 expected a value"),
    ("not allowed with argument", "不能与以下参数同用 not allowed with"),
    ("invalid choice: ", "取值无效 invalid choice: "),
    ("invalid float value: ", "不是数字 not a number: "),
    ("invalid int value: ", "不是整数 not an integer: "),
    ("ignored explicit argument ", "多余的取值 unexpected value "),
)


class Parser(argparse.ArgumentParser):
    """argparse whose errors are one bilingual line (raised, so ``main`` owns the exit code)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs.setdefault("add_help", False)
        super().__init__(*args, **kwargs)
        self._positionals.title = "位置参数 positional arguments"
        self._optionals.title = "选项 options"
        self.add_argument("-h", "--help", action="help", help="显示帮助 show this help and exit")

    def error(self, message: str) -> NoReturn:
        for english, chinese in _ARGPARSE_ZH:
            message = message.replace(english, chinese)
        if message.startswith("argument COMMAND: "):
            message = "未知命令 unknown command: " + message.removeprefix("argument COMMAND: 取值无效 invalid choice: ")
        elif message.startswith("argument "):
            message = "参数 argument " + message.removeprefix("argument ")
        raise UsageError(f"{message}（see `{self.prog} --help`）")


def enum_type(cls: Any, zh: str, en: str, extra: dict[str, Any] | None = None) -> Callable[[str], Any]:
    """Parse an enum from its English id, its Chinese term or an alias."""

    def convert(text: str) -> Any:
        if extra and text.strip().lower() in extra:
            return extra[text.strip().lower()]
        try:
            return cls(text)
        except ValueError:
            more = "".join(f", {k}" for k in (extra or {}) if k.isascii())
            raise argparse.ArgumentTypeError(
                f"未知{zh} unknown {en} {text!r}; 可选 choose from: {cls.choices()}{more}"
            ) from None

    convert.__name__ = en
    return convert


def text_type(zh: str, en: str, limit: int, *, allow_empty: bool = False) -> Callable[[str], str]:
    """A free text: stripped, not empty (unless allowed), at most ``limit`` characters."""

    def convert(text: str) -> str:
        value = text.strip()
        if not value and not allow_empty:
            raise argparse.ArgumentTypeError(f"{zh}不能为空 {en} must not be empty")
        if len(value) > limit:
            raise argparse.ArgumentTypeError(
                f"{zh}过长 {en} too long: {len(value)} characters, at most {limit}"
            )
        return value

    convert.__name__ = en
    return convert


def time_type(text: str) -> Any:
    try:
        return parse_time(text)
    except TimeFormatError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def id_type(text: str) -> str:
    try:
        return parse_incident_id(text.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"须为正整数 must be a positive integer: {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"须为正数 must be a positive number: {text!r}")
    return value


STATE_ALL = "all"
state_type = enum_type(IncidentState, "状态", "state", extra={"all": STATE_ALL, "全部": STATE_ALL})
level_type = enum_type(OpinionLevel, "舆情等级", "opinion level")
grade_type = enum_type(EventGrade, "突发事件等级", "event grade")
category_type = enum_type(EventCategory, "突发事件类别", "event category")
way_type = enum_type(ResponseWay, "回应方式", "response way")


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


def _report_options(parser: argparse.ArgumentParser, *, text_required: bool = True, text_help: str,
                    text_flags: Sequence[str] = ("--text",), text_default: str | None = None) -> None:
    parser.add_argument(*text_flags, dest="text", required=text_required, default=text_default,
                        type=text_type("内容", "text", TEXT_MAX), metavar="TEXT", help=text_help)
    parser.add_argument("--by", default="", type=text_type("报告人", "by", BY_MAX, allow_empty=True),
                        help="报告人或单位 who files it (informational)")
    parser.add_argument("--published-at", metavar="TIME", type=time_type,
                        help="声称的发布时间 claimed publication time, recorded only: the arrival time "
                             "counts for deadlines (P4.e)")


EPILOG = """\
示例 examples:
  yuqing open --title "某校食堂食品安全舆情" --unit 370102-jyj --opinion-level 较大
  yuqing respond YQ-20261125-1432-7f3a --way 发布权威信息 --text "区教体局发布情况通报"
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
        sub = commands.add_parser(name, help=help, description=description or help)
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
    p.add_argument("--unit", required=True, metavar="CODE",
                   help="责任单位代码 responsible unit code (see `yuqing units`; A1.1, A1.2)")
    p.add_argument("--opinion-level", required=True, type=level_type, metavar="LEVEL",
                   help=f"舆情等级 opinion level: {render.choices_zh(OpinionLevel)}")
    p.add_argument("--event-grade", type=grade_type, metavar="GRADE",
                   help=f"突发事件等级 sudden-event grade (needs --event-category): {render.choices_zh(EventGrade)}")
    p.add_argument("--event-category", type=category_type, metavar="CATEGORY",
                   help=f"突发事件类别 sudden-event category: {render.choices_zh(EventCategory)}")
    p.add_argument("--discovered-at", type=time_type, metavar="TIME",
                   help="发现时间 discovery time, ISO 8601 (default: now; not in the future, P3.a)")
    p.add_argument("--id", type=id_type, help="事件编号 incident id (default: generated, e.g. YQ-20261125-1432-7f3a)")
    p.add_argument("--source", default="", type=text_type("来源", "source", SOURCE_MAX, allow_empty=True),
                   help="舆情来源 source (e.g. 网络媒体)")
    p.add_argument("--transfer", action="store_true",
                   help="省政府办公厅转办 transferred by the provincial general office (A4.1): acceptance due in 1 h (P4.c)")
    p.add_argument("--transferred-at", type=time_type, metavar="TIME",
                   help="转办时间 transfer time (implies --transfer; default now)")
    p.add_argument("--state-council", action="store_true",
                   help="国务院办公厅转我省办理 handed over by the State Council General Office (implies --transfer)")

    # reports
    p = command("accept", "接收转办事件 accept a transferred incident (A4.2)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_required=False, text_default="已接收 accepted", text_help="说明 note (default 已接收)")
    p.set_defaults(report=AcceptanceReport)

    p = command("analysis", "报送研判情况 report the analysis (研判, A4.3)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_help="研判内容 analysis")
    p.set_defaults(report=AnalysisReport)

    p = command("respond", "报送回应情况 report a response (回应, A3.1-A3.4, P3.b)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--way", required=True, type=way_type, metavar="WAY",
                   help=f"回应方式 way (P3.b): {render.choices_zh(ResponseWay)}")
    _report_options(p, text_help="回应内容 what was published")
    p.set_defaults(report=ResponseReport)

    p = command("dispose", "报送处置情况 report the disposition (处置, A4.3)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--final", action="store_true", help="最终处置，事件办结 final disposition: closes the incident")
    _report_options(p, text_help="处置内容 disposition")
    p.set_defaults(report=DispositionReport)

    p = command("major", "报告重大情况 report a major situation to the provincial government at once (A4.4, D4)",
                cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_help="重大情况 the situation")
    p.set_defaults(report=MajorSituationReport)

    p = command("reclassify", "重新定级 reclassify (P3.c): new opinion level and/or sudden-event grade", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    p.add_argument("--opinion-level", type=level_type, metavar="LEVEL",
                   help=f"新舆情等级 new opinion level: {render.choices_zh(OpinionLevel)}")
    p.add_argument("--event-grade", type=grade_type, metavar="GRADE",
                   help=f"新突发事件等级 new sudden-event grade: {render.choices_zh(EventGrade)}")
    p.add_argument("--event-category", type=category_type, metavar="CATEGORY",
                   help=f"突发事件类别 sudden-event category: {render.choices_zh(EventCategory)}")
    p.add_argument("--no-event", action="store_true", help="不涉及突发事件 the incident concerns no sudden event")
    _report_options(p, text_flags=("--reason", "--text"), text_help="理由 reason (required)")
    p.set_defaults(report=ReclassificationReport)

    p = command("close", "办结 close the incident with a reason (what is not yet due is waived)", cmd_report)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")
    _report_options(p, text_flags=("--reason", "--text"), text_help="办结理由 reason (required)")
    p.set_defaults(report=None)

    # reading
    p = command("status", "查看事件 show an incident: obligations, escalations, reports, rejections", cmd_status)
    p.add_argument("id", metavar="ID", type=id_type, help="事件编号 incident id")

    p = command("list", "事件列表 list incidents from Temporal visibility (search attributes)", cmd_list)
    p.add_argument("--state", type=state_type, default=IncidentState.OPEN, metavar="STATE",
                   help="办理中 open（默认 default）、已办结 closed、全部 all")
    p.add_argument("--overdue", action="store_true", help="只看逾期 overdue only")
    p.add_argument("--unit", metavar="CODE", help="责任单位代码 responsible unit code")
    p.add_argument("--opinion-level", type=level_type, metavar="LEVEL",
                   help=f"舆情等级 opinion level: {render.choices_zh(OpinionLevel)}")
    p.add_argument("--limit", type=positive_int, default=200, help="最多条数 at most this many (default 200)")

    command("units", "单位名录 the unit directory (A1.3)", cmd_units)

    p = command("notices", "通知记录 what the outbox delivered (P4.b)", cmd_notices)
    p.add_argument("id", metavar="ID", nargs="?", type=id_type, help="事件编号 incident id (default: all)")

    from audit.cli import register_audit  # auditors' commands (issue 5): export, replay, ledger

    register_audit(commands)
    return parser


# ----------------------------------------------------------------- output


class Output:
    """stdout for results (tables or one JSON document), stderr for the one-line errors."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        width = None
        if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
            width = 200
        self.out = Console(highlight=False, width=width)
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, data: Any) -> None:
        sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2) + "\n")
        sys.stdout.flush()

    def show(self, *renderables: RenderableType | str) -> None:
        for renderable in renderables:
            self.out.print(renderable)

    def error(self, message: str) -> None:
        line = " ".join(str(message).split())
        self.err.print(Text(f"yuqing: {line}", style="bold red"))


OUT = Output(False)


def directory() -> Directory:
    return load_directory()


def check_unit(code: str) -> str:
    code = code.strip()
    if code not in directory():
        raise UsageError(f"未知单位 unknown unit {code!r} (see `yuqing units`)")
    return code


# --------------------------------------------------------------- commands


async def cmd_open(args: argparse.Namespace) -> int:
    unit = check_unit(args.unit)
    event = None
    if args.event_grade or args.event_category:
        if not (args.event_grade and args.event_category):
            raise UsageError(
                "突发事件须同时给出等级和类别 a sudden event needs both --event-grade and --event-category"
            )
        event = SuddenEvent(grade=args.event_grade, category=args.event_category)
    transfer = None
    if args.transfer or args.transferred_at or args.state_council:
        transfer = Transfer(
            at=args.transferred_at or datetime.now(timezone.utc),
            by=directory().provincial_office.code,
            from_state_council=args.state_council,
        )

    def incident(incident_id: str) -> Incident:
        try:
            return Incident(
                id=incident_id, title=args.title, summary=args.summary, source=args.source,
                opinion_level=args.opinion_level, event=event, discovered_at=args.discovered_at,
                responsible_unit=unit, transfer=transfer,
            )  # fmt: skip
        except ValidationError as err:
            raise UsageError(_validation_message(err)) from None

    client = await service.connect(args.address, args.namespace)
    attempts = 1 if args.id else 5
    for attempt in range(attempts):
        try:
            handle = await service.open_incident(client, incident(args.id or service.new_incident_id()))
            break
        except service.IncidentExists:
            if args.id or attempt == attempts - 1:
                raise
    try:  # the first workflow task computes the deadlines: leave time to say why it did not
        status, now = await asyncio.wait_for(service.read_incident(client, handle.id), args.timeout * 0.8)
    except asyncio.TimeoutError:
        problem = await service.workflow_task_problem(client, handle.id)
        raise service.Unreachable(
            f"事件已立案但期限未知 incident {handle.id} was opened but its deadlines are not known yet: {problem}"
        ) from None
    if OUT.json_mode:
        OUT.json(status)
    else:
        OUT.show(
            Text.assemble(("已立案 opened: ", "bold green"), (status.incident_id, "bold"), f"  {status.title}"),
            f"责任单位 unit: {status.responsible_unit_name}（{status.responsible_unit}）  "
            f"发现时间 discovered: {show(status.discovered_at)}",
        )
        for rejection in status.rejected:
            OUT.show(Text(f"注意 note: {rejection.reason}", style="yellow"))
        OUT.show(render.owed(status, now))
    return EXIT_OK


async def cmd_report(args: argparse.Namespace) -> int:
    fields: dict[str, Any] = {"text": args.text, "by": args.by, "published_at": args.published_at}
    kind = args.report
    if kind is ResponseReport:
        fields["way"] = args.way
    elif kind is DispositionReport:
        fields["final"] = args.final
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
        report = kind(**fields) if kind is not None else None
    except ValidationError as err:
        raise UsageError(_validation_message(err)) from None

    client = await service.connect(args.address, args.namespace)
    if report is None:
        status = await service.close_incident(client, args.id, args.text, by=args.by)
        label = "办结 close"
    else:
        status = await service.file_report(client, args.id, report)
        label = f"{REPORT_TYPES_ZH[report.type]} {report.type}"
    if OUT.json_mode:
        OUT.json(status)
        return EXIT_OK
    now = await service.incident_clock(client, args.id)
    seq = f" #{status.reports[-1].seq}" if report is not None and status.reports else ""
    OUT.show(Text.assemble(("已提交 filed: ", "bold green"), f"{label}{seq} → ", (status.incident_id, "bold"),
                           f"  {status.title}"))
    if report is not None and status.reports and status.reports[-1].met:
        kinds = {o.id: o.kind.zh for o in status.obligations}
        met = "、".join(kinds.get(m, m) for m in status.reports[-1].met)
        OUT.show(Text(f"已满足 met: {met}", style="green"))
    OUT.show(render.owed(status, now))
    return EXIT_OK


async def cmd_status(args: argparse.Namespace) -> int:
    client = await service.connect(args.address, args.namespace)
    status, now = await service.read_incident(client, args.id)
    if OUT.json_mode:
        OUT.json(status)
    else:
        OUT.show(render.incident(status, now))
    return EXIT_OK


async def cmd_list(args: argparse.Namespace) -> int:
    unit = check_unit(args.unit) if args.unit else None
    state = None if args.state == STATE_ALL else args.state
    client = await service.connect(args.address, args.namespace)
    items = await service.list_incidents(
        client, state=state, overdue=args.overdue, unit=unit, opinion_level=args.opinion_level, limit=args.limit
    )
    if OUT.json_mode:
        OUT.json(items)
        return EXIT_OK
    filters = [f"{state.zh} {state.value}" if state else "全部 all"]
    if args.overdue:
        filters.append("逾期 overdue")
    if unit:
        filters.append(f"单位 unit {unit}")
    if args.opinion_level:
        filters.append(f"舆情等级 {args.opinion_level.zh}")
    OUT.show(render.incident_list(items, f"事件列表 incidents（{'，'.join(filters)}）：{len(items)} 件"))
    return EXIT_OK


async def cmd_units(args: argparse.Namespace) -> int:
    units = directory()
    if OUT.json_mode:
        OUT.json([u.model_dump(mode="json") for u in units])
    else:
        OUT.show(render.units(units))
    return EXIT_OK


async def cmd_notices(args: argparse.Namespace) -> int:
    from activities.channels.outbox import SqliteOutbox

    path = config.outbox_path()
    rows = await asyncio.to_thread(SqliteOutbox(path).rows, args.id)
    if OUT.json_mode:
        result = []
        for row in rows:
            item = dict(row)
            item["payload"] = json.loads(item["payload"])
            for key in ("at", "recorded_at"):
                item[key] = parse_time(item[key])
            result.append(item)
        OUT.json(result)
        return EXIT_OK
    title = f"通知记录 notifications{'（' + args.id + '）' if args.id else ''}：{len(rows)} 条 · {path}"
    OUT.show(render.notices(rows, title))
    return EXIT_OK


def _validation_message(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "input"
    return f"输入有误 invalid input: {where}: {first['msg']}"


# -------------------------------------------------------------------- main


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code (never raises, never prints a traceback)."""
    global OUT
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure") and (stream.encoding or "").lower().replace("-", "") != "utf8":
            stream.reconfigure(encoding="utf-8", errors="replace")
    OUT = Output("--json" in (argv if argv is not None else sys.argv[1:]))
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:
        OUT.error(f"用法错误 usage error: {err}")
        return EXIT_USAGE
    except SystemExit as done:  # --help
        return done.code if isinstance(done.code, int) else EXIT_OK
    OUT = Output(args.json)
    from yuqing.logging import configure

    configure(level=os.environ.get("YUQING_LOG_LEVEL") or "ERROR")
    try:
        return asyncio.run(asyncio.wait_for(args.handler(args), args.timeout))
    except UsageError as err:
        OUT.error(f"用法错误 usage error: {err}")
        return EXIT_USAGE
    except service.Unreachable as err:
        OUT.error(str(err))
        return EXIT_UNREACHABLE
    except (TimeoutError, asyncio.TimeoutError):
        OUT.error(
            f"等待超时 timed out after {args.timeout:g}s: no worker answered on task queue "
            f"{config.task_queue()!r} (is `make run` or `yuqing-worker` running?); "
            "已发出的请求稍后仍可能生效 a request already sent may still take effect"
        )
        return EXIT_UNREACHABLE
    except service.StarterError as err:
        OUT.error(str(err))
        return EXIT_REJECTED
    except (DirectoryError, PolicyError) as err:
        OUT.error(str(err))
        return EXIT_REJECTED
    except KeyboardInterrupt:
        OUT.error("已中断 interrupted")
        return 130
    except Exception as err:  # the contract: one line, never a traceback
        if os.environ.get("YUQING_DEBUG"):
            raise
        OUT.error(f"内部错误 internal error: {type(err).__name__}: {err}")
        return EXIT_REJECTED


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script; leaves through ``exit_now`` (no finalization: sdk-python#300)."""
    exit_now(run(argv))


if __name__ == "__main__":
    main()
