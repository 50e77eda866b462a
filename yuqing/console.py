"""The command-line kit shared by ``yuqing`` and ``yuqing audit``: Click commands, option types, output.

Built on Click (no prefix matching of options, the closest option suggested for a typo, shell
completion). Errors are one bilingual line on stderr; ``--json`` prints exactly one JSON document on
stdout; help is in Chinese with the English term beside it, wrapped by display width.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import select
import sys
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, TypeVar, cast

import click
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.text import Text

from yuqing.errors import UsageError
from yuqing.models import ObligationStatus, ZhEnum, parse_incident_id
from yuqing.timefmt import TimeFormatError, jsonable, parse_time

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
DEFAULT_TIMEOUT = 30.0

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
    "timed_out": "超时",
    "stuck": "卡住",
}


class BadValue(ValueError):
    """A value an option cannot take; ``str()`` is the bilingual reason (shown after the option's name)."""


# ------------------------------------------------------------------ help in Chinese, by display width


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` cells (a Chinese character takes two), broken at spaces and Chinese
    punctuation, never inside a word."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = " ".join(paragraph.split())
        line = ""
        for piece in re.split(r"(?<=[ 、，；）：])", paragraph):
            if line and cell_len(line + piece.rstrip()) > width:
                lines.append(line.rstrip())
                line = piece.lstrip()
            else:
                line += piece
        lines.append(line.rstrip())
    return lines


class HelpFormatter(click.HelpFormatter):
    """Click's help formatter, wrapping by display width (Click measures characters, not cells)."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法 usage: ")

    def write_text(self, text: str) -> None:
        width = max(self.width - self.current_indent, 20)
        for line in wrap(text, width):
            self.write(" " * self.current_indent + line + "\n")

    def write_raw(self, text: str) -> None:
        """An epilog of examples: kept as written (its lines are laid out by hand)."""
        for line in text.rstrip().split("\n"):
            self.write((" " * self.current_indent + line).rstrip() + "\n")

    def write_dl(self, rows: Any, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = list(rows)
        first = min(max((cell_len(term) for term, _ in rows), default=0), col_max)
        indent = " " * self.current_indent
        for term, help_text in rows:
            self.write(f"{indent}{term}")
            if not help_text:
                self.write("\n")
                continue
            if cell_len(term) <= first:
                self.write(" " * (first - cell_len(term) + col_spacing))
            else:
                self.write("\n" + indent + " " * (first + col_spacing))
            width = max(self.width - first - col_spacing - self.current_indent, 20)
            lines = wrap(help_text, width)
            self.write(lines[0] + "\n")
            for line in lines[1:]:
                self.write(f"{indent}{' ' * (first + col_spacing)}{line}\n")


click.Context.formatter_class = HelpFormatter

HELP = "显示帮助 show this help and exit"


class _Headings:
    """Chinese headings and help option for commands and groups."""

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)  # type: ignore[misc]
        if option is not None:
            option.help = HELP
        return cast("click.Option | None", option)

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        text = cast(click.Command, self).help
        if text:
            formatter.write_paragraph()
            with formatter.indentation():
                formatter.write_text(text)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        epilog = cast(click.Command, self).epilog
        if epilog:
            formatter.write_paragraph()
            cast(HelpFormatter, formatter).write_raw(epilog)

    def format_arguments(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pass  # listed with the options, in Chinese

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        command = cast(click.Command, self)
        positional: list[tuple[str, str]] = []
        own: list[tuple[str, str]] = []
        common: list[tuple[str, str]] = []
        for param in command.get_params(ctx):
            record = param.get_help_record(ctx)
            if isinstance(param, click.Argument):
                help_text = getattr(param, "help", "") or ""
                positional.append((param.human_readable_name, help_text))
            elif record is not None:
                (common if getattr(param, "common", False) else own).append(record)
        for title, rows in (("位置参数 arguments", positional), ("选项 options", own), ("通用选项 common options", common)):
            if rows:
                with formatter.section(title):
                    formatter.write_dl(rows)


class Command(_Headings, click.Command):
    """A ``yuqing`` command: help in Chinese with the English term, errors raised (never printed)."""


class Group(_Headings, click.Group):
    """The ``yuqing`` group (and ``yuqing audit``): commands listed in Chinese; an unknown command named,
    with the closest one suggested."""

    command_class = Command

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_options(ctx, formatter)
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.short_help or command.help or ""))
        if rows:
            with formatter.section("命令 commands"):
                with formatter.indentation():
                    formatter.write_dl(rows)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(self.commands)  # in the order of the work: open, reports, reading, audit

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        pass  # listed in format_options, in Chinese

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0]
        if self.get_command(ctx, name) is None and not name.startswith("-") and not ctx.resilient_parsing:
            close = difflib.get_close_matches(name, self.list_commands(ctx), n=1)
            hint = f"；您是否要用 did you mean {close[0]}" if close else ""
            raise UsageError(f"未知命令 unknown command {name!r}{hint}（see `{ctx.command_path} --help`）")
        return super().resolve_command(ctx, args)


class Option(click.Option):
    """An option; ``ask`` makes it a field a clerk is asked for in a terminal when it is missing (it is
    then required: without a terminal, or with ``--json``, a missing one is a usage error). ``common``
    lists it under 通用选项."""

    def __init__(
        self, *args: Any, ask: str | None = None, ask_when: Callable[[Any], bool] | None = None,
        ask_convert: Callable[[str], Any] | None = None, common: bool = False, **kwargs: Any,
    ) -> None:  # fmt: skip
        super().__init__(*args, **kwargs)
        self.ask, self.ask_when, self.ask_convert, self.common = ask, ask_when, ask_convert, common


class Argument(click.Argument):
    """A positional argument with a help text (Click's have none) and, like ``Option``, ``ask``."""

    def __init__(self, *args: Any, help: str = "", ask: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)
        self.help, self.ask = help, ask


def param_name(param: click.Parameter | None) -> str:
    """``--opinion-level`` for an option, ``ID`` for an argument."""
    if param is None:
        return ""
    if isinstance(param, click.Option):
        return max(param.opts, key=len)
    return param.human_readable_name


_CLICK_ZH = (
    (r"Option '([^']+)' requires an argument\.?", r"选项 \1 缺少取值 \1 needs a value"),
    (r"Got unexpected extra arguments? \((.*)\)", r"多余的参数 unexpected extra argument: \1"),
    (r"Option '([^']+)' does not take a value\.?", r"选项 \1 不带取值 \1 takes no value"),
    (r"Missing command\.?", r"缺少命令 missing command"),
)


def usage_message(err: click.ClickException) -> str:
    """Click's parsing errors as one line in Chinese and English (the closest option suggested)."""
    if isinstance(err, click.NoSuchOption):
        close = list(err.possibilities or ())
        command = err.ctx.command if err.ctx is not None else None
        if command is not None:  # what the typed start begins: a suggestion, never taken for it (no prefix matching)
            started = [o for p in command.params for o in getattr(p, "opts", ()) if o.startswith(err.option_name)]
            close = started[:3] or close[:1]
        hint = f"；您是否要用 did you mean {' / '.join(close[:3])}" if close else ""
        message = f"未知选项 unknown option {err.option_name}{hint}"
    elif isinstance(err, click.MissingParameter):
        message = f"缺少必填参数 missing required argument: {param_name(err.param)}"
    elif isinstance(err, click.BadParameter):
        message = f"参数 argument {param_name(err.param)}: {err.message}"
    else:
        message = err.message
        for pattern, chinese in _CLICK_ZH:
            message = re.sub(pattern, chinese, message)
    ctx: click.Context | None = getattr(err, "ctx", None)
    context = ctx.command_path if ctx is not None else "yuqing"
    return f"{message}（see `{context} --help`）"


class Converted(click.ParamType):  # type: ignore[type-arg]  # generic in newer Click only
    """A Click type from a function ``str -> value`` that raises ``BadValue`` with a bilingual reason."""

    def __init__(self, convert: Callable[[str], Any], metavar: str) -> None:
        self.function = convert
        self.name = metavar

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.name

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return self.function(value)
        except BadValue as err:
            self.fail(str(err), param, ctx)


E = TypeVar("E", bound=ZhEnum)


def enum_type(
    cls: type[E], zh: str, en: str, *, extra: dict[str, Any] | None = None, hint: Callable[[str], str | None] | None = None
) -> Callable[[str], Any]:
    """Parse an enum from its English id, its Chinese term or an alias (full-width letters too);
    ``hint`` may explain a miss."""

    def convert(text: str) -> Any:
        key = unicodedata.normalize("NFKC", text).strip()
        if extra and key.lower() in extra:
            return extra[key.lower()]
        try:
            return cast(Any, cls)(key)  # by value, Chinese term or alias (ZhEnum._missing_)
        except ValueError:
            more = "".join(f"、{k}" for k in (extra or {}) if "（" in k)
            why = (hint(text) if hint else None) or ""
            raise BadValue(f"未知{zh} unknown {en} {text!r}{why}; 可选 choose from: {cls.choices()}{more}") from None

    convert.__name__ = en
    convert.choices = list(cls)  # type: ignore[attr-defined]  # offered as a numbered list at a prompt
    convert.label = f"{zh} {en}"  # type: ignore[attr-defined]
    return convert


def text_type(zh: str, en: str, limit: int, *, allow_empty: bool = False) -> Callable[[str], str]:
    """A free text: stripped, not empty (unless allowed), at most ``limit`` characters."""

    def convert(text: str) -> str:
        value = text.strip()
        if not value and not allow_empty:
            raise BadValue(f"{zh}不能为空 {en} must not be empty")
        if len(value) > limit:
            raise BadValue(f"{zh}过长 {en} too long: {len(value)} characters, at most {limit}")
        return value

    convert.__name__ = en
    return convert


def time_type(text: str) -> Any:
    try:
        return parse_time(text)
    except TimeFormatError as err:
        raise BadValue(str(err)) from None


def id_type(text: str) -> str:
    try:
        return parse_incident_id(unicodedata.normalize("NFKC", text).strip())
    except ValueError as err:
        raise BadValue(str(err)) from None


def positive_int(text: str) -> int:
    try:
        value = int(unicodedata.normalize("NFKC", text))
    except ValueError:
        value = 0
    if value <= 0:
        raise BadValue(f"须为正整数 must be a positive integer: {text!r}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(unicodedata.normalize("NFKC", text))
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise BadValue(f"须为正数 must be a positive number: {text!r}")
    return value


def choices_zh(cls: type[ZhEnum]) -> str:
    """'中文（id）' for every member of an enum, for help texts."""
    return "、".join(f"{m.zh}（{m.value}）" for m in cls)


class OutputClosed(Exception):
    """Whoever reads stdout stopped reading (``yuqing list | head``): the command ends quietly."""


def _closed() -> None:
    raise OutputClosed


class Output:
    """stdout for results (tables or one JSON document), stderr for the one-line errors and warnings."""

    def __init__(self, json_mode: bool) -> None:
        self.json_mode = json_mode
        width = None
        if not sys.stdout.isatty() and not os.environ.get("COLUMNS"):
            width = 200
        self.out = Console(highlight=False, width=width)
        self.out.on_broken_pipe = _closed  # type: ignore[method-assign]  # rich would raise SystemExit in a task
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)

    def json(self, data: Any) -> None:
        try:
            sys.stdout.write(json.dumps(jsonable(data), ensure_ascii=False, indent=2) + "\n")
            sys.stdout.flush()
        except BrokenPipeError:
            raise OutputClosed from None

    def show(self, *renderables: RenderableType | str) -> None:
        for renderable in renderables:
            self.out.print(renderable)

    def error(self, message: str) -> None:
        line = " ".join(str(message).split())
        self.err.print(Text(f"yuqing: {line}", style="bold red"))

    def warn(self, message: str) -> None:
        line = " ".join(str(message).split())
        self.err.print(Text(f"yuqing: {line}", style="yellow"))


# ------------------------------------------------------------------ from Click to a command's handler


COMMON = ("json", "address", "namespace", "timeout")
"""Options every ``yuqing`` command takes before or after its name (the group's and its own)."""


class Args(SimpleNamespace):
    """A command's options by name (``args.title``), as its handler reads them."""


Handler = Callable[[Any, "Output"], Awaitable[int]]


@dataclass
class Plan:
    """What a Click callback returns: the handler to run and its options (run outside Click, under
    asyncio, so every outcome becomes an exit code in one place)."""

    handler: Handler
    args: Args


def interactive(json_mode: bool) -> bool:
    """A clerk at a terminal (stdin is one) and no ``--json``: missing fields are asked for."""
    try:
        return not json_mode and sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):
        return False


def plan(handler: Handler, kwargs: dict[str, Any], **defaults: Any) -> Plan:
    """The callback's result: its options merged with the group's common ones, missing fields asked for
    in a terminal (``Option(ask=…)``) or refused as a usage error."""
    ctx = click.get_current_context()
    root = ctx.find_root().params
    values = {**defaults, **kwargs}
    values["json"] = bool(kwargs.get("json") or root.get("json"))
    for key in ("address", "namespace"):
        values[key] = kwargs.get(key) or root.get(key)
    if "timeout" not in defaults:
        values["timeout"] = kwargs.get("timeout") or root.get("timeout") or DEFAULT_TIMEOUT
    args = Args(**values)
    ask = interactive(args.json)
    for param in ctx.command.get_params(ctx):
        question = getattr(param, "ask", None)
        name = param.name or ""
        if not question or getattr(args, name, None) not in (None, "", ()):
            continue
        when = getattr(param, "ask_when", None)
        if when is not None and not when(args):
            continue
        if ask:
            setattr(args, name, prompt(param, question))
        elif when is None:  # a required field: without a terminal it is a usage error, as ever
            raise UsageError(f"缺少必填参数 missing required argument: {param_name(param)}（see `{ctx.command_path} --help`）")
    return Plan(handler, args)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (ValueError, OSError):
        return False


ASK_POLL_SECONDS = 0.1


def ask_line(question: str) -> str:
    """One answer (never empty) typed after ``question`` on stderr; Ctrl-C or end of input: click.Abort.

    At a terminal the wait for the answer is a loop in Python, not one blocking read: a Ctrl-C that lands
    as the question is written (after Python last looked for signals, before the read began) would
    otherwise be echoed and then ignored until the clerk pressed Enter. Here it is taken within 0.1 s.
    """
    stream = sys.stdin
    while True:
        click.echo(f"{question}：", nl=False, err=True)
        try:
            if os.name == "posix" and _is_terminal(stream):
                _wait_readable(stream)
            line = stream.readline()
        except KeyboardInterrupt:
            click.echo(err=True)
            raise click.Abort() from None
        if not line:  # end of input (Ctrl-D)
            click.echo(err=True)
            raise click.Abort()
        if line.strip():
            return line.rstrip("\r\n")


def _wait_readable(stream: Any) -> None:
    """Until a line is typed, looking for signals every ``ASK_POLL_SECONDS``; a stream ``select`` cannot
    watch is simply read (as before)."""
    try:
        while not select.select([stream], [], [], ASK_POLL_SECONDS)[0]:
            pass
    except (OSError, ValueError):
        return


def prompt(param: click.Parameter, question: str) -> Any:
    """Ask for one field on stderr; a list of choices is numbered (the number or the name is taken);
    a wrong answer is said and asked again. Ctrl-C or end of input ends the command (click.Abort)."""
    kind = param.type
    convert: Callable[[str], Any] = getattr(param, "ask_convert", None) or (
        kind.function if isinstance(kind, Converted) else str
    )
    choices = getattr(convert, "choices", None)
    if choices:
        click.echo(f"{question}：", err=True)
        for number, choice in enumerate(choices, 1):
            click.echo(f"  {number}. {choice.zh}（{choice.value}）", err=True)
    hint = "请填序号或名称 number or name" if choices else question
    while True:
        value = " ".join(ask_line(hint if choices else question).split())
        if choices and value.isdigit() and 1 <= int(value) <= len(choices):
            return choices[int(value) - 1]
        try:
            return convert(value)
        except BadValue as err:
            click.echo(f"输入有误 invalid: {err}", err=True)
