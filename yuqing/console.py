"""The command-line kit shared by ``yuqing`` and ``yuqing audit``: parser, option types, output.

Errors are one bilingual line on stderr; ``--json`` prints exactly one JSON document on stdout; help
is in Chinese with the English term beside it, wrapped by display width.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar, cast

from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.text import Text

from yuqing.errors import UsageError
from yuqing.models import ObligationStatus, ZhEnum, parse_incident_id
from yuqing.timefmt import TimeFormatError, jsonable, parse_time

EXIT_OK, EXIT_REJECTED, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
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


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Chinese headings; help wrapped by display width (a Chinese character takes two cells)."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, prefix if prefix is not None else "用法 usage: ")

    def _split_lines(self, text: str, width: int) -> list[str]:
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
    """argparse whose errors are one bilingual line (raised, so the caller owns the exit code)."""

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


E = TypeVar("E", bound=ZhEnum)


def enum_type(
    cls: type[E], zh: str, en: str, *, extra: dict[str, Any] | None = None, hint: Callable[[str], str | None] | None = None
) -> Callable[[str], Any]:
    """Parse an enum from its English id, its Chinese term or an alias; ``hint`` may explain a miss."""

    def convert(text: str) -> Any:
        if extra and text.strip().lower() in extra:
            return extra[text.strip().lower()]
        try:
            return cast(Any, cls)(text)  # by value, Chinese term or alias (ZhEnum._missing_)
        except ValueError:
            more = "".join(f", {k}" for k in (extra or {}) if k.isascii())
            why = (hint(text) if hint else None) or ""
            raise argparse.ArgumentTypeError(
                f"未知{zh} unknown {en} {text!r}{why}; 可选 choose from: {cls.choices()}{more}"
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
            raise argparse.ArgumentTypeError(f"{zh}过长 {en} too long: {len(value)} characters, at most {limit}")
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
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"须为正数 must be a positive number: {text!r}")
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
