"""``yuqing audit export | replay | ledger``: the auditors' commands (D5).

Registered on the ``yuqing`` Click group by ``register_audit``; they follow its conventions: exit 0 when
everything verified, 1 when something was refused or failed verification, 2 on a usage error, 3 when
the server cannot be reached; failures are one line in Chinese and English on stderr; ``--json``
prints exactly one JSON document; times are in Asia/Shanghai with their offset.

``replay`` and ``ledger`` read files only and have no overall time limit; ``export``'s ``--timeout``
bounds each request to the server, not the export.
"""

from __future__ import annotations

import contextlib
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from temporalio.service import RPCError, RPCStatusCode

from audit.outcomes import OUTCOME_ZH
from yuqing.console import (
    DEFAULT_TIMEOUT,
    EXIT_OK,
    EXIT_REJECTED,
    Argument,
    Converted,
    Group,
    Option,
    Output,
    Plan,
    id_type,
    plan,
    positive_float,
    positive_int,
)
from yuqing.errors import Rejected, Unreachable, UsageError, YuqingError

F = TypeVar("F", bound=Callable[..., Any])

EXAMPLES = """\
示例 examples:
  yuqing audit export YQ-20261125-1432-7f3a --out audit-2026-11
  yuqing audit export --query "YuqingUnit = '370102-jyj'" --out audit-jyj
  yuqing audit export --all --out audit-all
  yuqing audit replay audit-all
  yuqing audit ledger audit-all --csv 台账.csv

审计说明 see AUDIT.md. 历史文件也可用 `temporal workflow show -w ID --output json > ID.json` 取得。
"""


def _option(*decls: str, **kwargs: Any) -> Callable[[F], F]:
    return click.option(*decls, cls=Option, **kwargs)


def _server(f: F) -> F:
    """The common options, as ``yuqing``'s other commands take them after the command name; ``--timeout``
    bounds each request (an audit takes as long as it takes)."""
    for decl in reversed([
        _option("--json", "json", is_flag=True, default=None, common=True,
                help="输出一个 JSON 文档 print exactly one JSON document on stdout"),
        _option("--address", metavar="HOST:PORT", common=True,
                help="Temporal 服务器地址 server address (overrides TEMPORAL_ADDRESS / profile)"),
        _option("--namespace", metavar="NS", common=True, help="命名空间 namespace (overrides TEMPORAL_NAMESPACE / profile)"),
        _option("--timeout", "rpc_timeout", type=Converted(positive_float, "SECONDS"), default=str(DEFAULT_TIMEOUT),
                common=True, help=f"每次请求等待的秒数 seconds to wait for each answer of the server "
                f"(default {DEFAULT_TIMEOUT:.0f}); the export itself has no time limit"),
    ]):  # fmt: skip
        f = decl(f)
    return f


def _local(f: F) -> F:
    f = _option("--workers", type=Converted(positive_int, "N"), common=True,
                help="重放进程数 processes replaying (default: every core for large inputs)")(f)  # fmt: skip
    return _option("--json", "json", is_flag=True, default=None, common=True,
                   help="输出一个 JSON 文档 print exactly one JSON document on stdout")(f)  # fmt: skip


def _paths_argument(f: F) -> F:
    return click.argument("paths", cls=Argument, nargs=-1, required=True, type=click.Path(path_type=Path),
                          metavar="FILE|DIR...", help="历史文件或目录 history files or directories")(f)  # fmt: skip


def register_audit(app: click.Group) -> None:
    """Add ``audit`` and its three commands to ``yuqing``'s group."""

    @app.group("audit", cls=Group, epilog=EXAMPLES,
               short_help="审计：导出、重放、时限台账 audit from exported histories: export, replay, deadline ledger (D5)",
               help="审计 audit: 只依据导出的工作流历史核查每一个时限决定 check every deadline decision from exported "
                    "workflow histories alone, without trusting the live system (D5). See AUDIT.md.")  # fmt: skip
    def audit() -> None:
        pass

    @audit.command("export", epilog=EXAMPLES,
                   short_help="导出事件历史 export incident histories: one JSON file per run, and a manifest",
                   help="导出 export: 每次运行一个 JSON 文件（续新链的每一次运行），另附清单 manifest.json（编号、运行号、"
                        "SHA-256、导出时间） one JSON file per workflow run (every run of a continue-as-new chain) and a "
                        "manifest (ids, run ids, SHA-256 of each file, export time).")  # fmt: skip
    @click.argument("ids", cls=Argument, nargs=-1, type=Converted(id_type, "ID"), metavar="[ID...]", help="事件编号 incident ids")
    @_option("--query", metavar="QUERY",
             help="可见性查询 a visibility query, e.g. \"YuqingUnit = '370102-jyj'\" (open and closed incidents)")
    @_option("--all", "everything", is_flag=True, help="全部事件 every incident")
    @_option("--out", type=click.Path(path_type=Path), metavar="DIR", ask="输出目录 output directory",
             help="输出目录（须为空） output directory (new or empty)（必填 required）")
    @_server
    def export(**kwargs: Any) -> Plan:
        return plan(cmd_export, kwargs, timeout=math.inf)

    @audit.command("replay", epilog=EXAMPLES,
                   short_help="重放历史 replay histories against the current workflow code (exit 1 on any failure)",
                   help="重放 replay: 用当前工作流代码和生产数据转换器重放每个历史，并核对记录与动作 replay each history with "
                        "the current workflow code and the production data converter, on all cores, and check the record "
                        "against the actions in the same history.")  # fmt: skip
    @_paths_argument
    @_local
    def replay(**kwargs: Any) -> Plan:
        return plan(cmd_replay, kwargs, timeout=math.inf)

    @audit.command("ledger", epilog=EXAMPLES,
                   short_help="时限台账 the deadline ledger derived from histories alone: table, CSV, JSON",
                   help="时限台账 deadline ledger: 每件事件的每项义务（起算、期限、完成、状态、逾期）、每次预警与督办、每份被拒"
                        "报告，全部由历史推出 every obligation, warning, escalation and rejected report, derived from the "
                        "histories alone.")  # fmt: skip
    @_paths_argument
    @_option("--csv", metavar="FILE",
             help="另存为 CSV（UTF-8 带 BOM，Excel 可直接打开）also write CSV; '-' prints CSV instead of tables")
    @_local
    def ledger(**kwargs: Any) -> Plan:
        return plan(cmd_ledger, kwargs, timeout=math.inf)


# ------------------------------------------------------------------ helpers


@contextlib.contextmanager
def progress_bar(label: str, out: Output) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr when it is a terminal (never with --json)."""
    if out.json_mode or not sys.stderr.isatty():
        yield lambda done, total: None
        return
    columns = (TextColumn(label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(label, total=None)
        yield lambda done, total: progress.update(task, completed=done, total=total)


def _fail(out: Output, message: str) -> int:
    out.error(message)
    return EXIT_REJECTED


def _paths(args: Any) -> list[Path]:
    from audit.histories import discover

    try:
        files = discover(args.paths)
    except FileNotFoundError as err:
        raise UsageError(f"路径不存在 no such file or directory: {err}") from None
    if not files:
        raise UsageError(
            f"没有历史文件 no history files (*.json) in {' '.join(str(p) for p in args.paths)}"
        )
    return args.paths


async def _audit(args: Any, out: Output) -> Any:
    from audit.histories import HistoryError
    from audit.replay import audit

    paths = _paths(args)
    try:
        with progress_bar("重放 replaying", out) as progress:
            return await audit(paths, workers=args.workers, progress=progress)
    except HistoryError as err:  # an unreadable manifest: nothing is verified against it
        raise Rejected(str(err)) from None


# ------------------------------------------------------------------ export


async def cmd_export(args: Any, out: Output) -> int:
    from audit.export import export
    from yuqing.config import connect

    if not (args.ids or args.query is not None or args.everything):
        raise UsageError("须给出事件编号、--query 或 --all give incident ids, --query or --all")
    target: Path = args.out
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise UsageError(f"输出目录须为空 the output directory must be new or empty: {target}")
    client = await connect(args.address, args.namespace)
    try:
        with progress_bar("导出 exporting", out) as progress:
            manifest, problems = await export(
                client, target, ids=args.ids, query=args.query, everything=args.everything,
                rpc_timeout=args.rpc_timeout, progress=progress,
            )  # fmt: skip
    except RPCError as err:
        if err.status == RPCStatusCode.INVALID_ARGUMENT:
            raise UsageError(f"查询无效 invalid visibility query: {err.message}") from None
        if err.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED):
            raise Unreachable(f"服务器无应答 the Temporal server did not answer: {err.message}") from None
        raise YuqingError(f"服务器错误 server error: {err.message}") from None
    files = manifest["files"]
    if out.json_mode:
        out.json({"out": str(target), "manifest": manifest, "problems": problems})
    else:
        table = Table(title=f"已导出 exported → {target}", title_justify="left")
        for column in ("事件 incident", "运行 run", "事件数 events", "执行状态 execution", "SHA-256"):
            table.add_column(column, no_wrap=True)
        for f in files:
            table.add_row(f["workflow_id"], f["run_id"], str(f["events"]), f["execution"], f["sha256"][:16] + "…")
        out.show(
            table,
            f"{manifest['incidents']} 件事件 incidents，{len(files)} 个运行 runs；清单 manifest: "
            f"{target / 'manifest.json'}",
            f"清单 SHA-256 manifest sha256: {manifest['manifest_sha256']}（请另行保存 keep it apart from the files）",
        )
    if problems:
        return _fail(out, f"部分事件未能导出 {len(problems)} incident(s) not exported: {'; '.join(problems)}")
    if not files:
        return _fail(out, "没有符合条件的事件 no incident matched: nothing was exported")
    return EXIT_OK


# ------------------------------------------------------------------ replay


def _summary(counts: dict[str, int]) -> str:
    parts = [f"重放 replayed {counts['replayed']}", f"一致 identical {counts['identical']}"]
    for outcome in ("nondeterministic", "failed", "inconsistent", "altered", "unreadable", "missing"):
        if counts[outcome]:
            parts.append(f"{OUTCOME_ZH[outcome]} {outcome} {counts[outcome]}")
    return "，".join(parts)


async def cmd_replay(args: Any, out: Output) -> int:
    result = await _audit(args, out)
    counts = result.counts()
    if out.json_mode:
        out.json({
            "summary": counts,
            "files": [
                r.model_dump(include={"file", "outcome", "reasons", "workflow_id", "run_id", "incident_id", "events",
                                      "execution", "sha256"})
                for r in result.runs
            ],
        })  # fmt: skip
    else:
        table = Table(title="重放结果 replay", title_justify="left")
        for column in ("文件 file", "事件 incident", "运行 run", "事件数 events", "结果 result", "原因 reason"):
            table.add_column(column, overflow="fold", no_wrap=column not in ("文件 file", "原因 reason"))
        for r in result.runs:
            style = "green" if r.ok else "bold red"
            table.add_row(
                Path(r.file).name, r.workflow_id or "", (r.run_id or "")[:13], str(r.events or ""),
                Text(f"{OUTCOME_ZH[r.outcome]} {r.outcome}", style=style), "\n".join(r.reasons),
            )  # fmt: skip
        out.show(table, Text(_summary(counts), style="bold"))
    failed = result.failures
    if failed:
        return _fail(out, f"{len(failed)}/{len(result.runs)} 个历史未通过 histories did not pass: {_summary(counts)}")
    return EXIT_OK


# ------------------------------------------------------------------ ledger


async def cmd_ledger(args: Any, out: Output) -> int:
    from audit.ledger import build_ledger, render, to_csv

    if args.csv == "-" and out.json_mode:
        raise UsageError("--json 与 --csv - 都要写标准输出 --json and --csv - both want stdout: give --csv a file")
    ledger = build_ledger(await _audit(args, out))
    if args.csv == "-":
        sys.stdout.write(to_csv(ledger))
        sys.stdout.flush()
    elif args.csv:
        try:
            Path(args.csv).write_text(to_csv(ledger), encoding="utf-8-sig", newline="")
        except OSError as err:
            raise UsageError(f"无法写入 cannot write {args.csv}: {err.strerror}") from None
    if out.json_mode and args.csv != "-":
        out.json(ledger)
    elif args.csv != "-":
        out.show(render(ledger))
        if args.csv:
            out.show(f"CSV → {args.csv}")
    if ledger.problems:
        subjects = ", ".join(p.subject for p in ledger.problems)
        return _fail(out, f"{len(ledger.problems)} 项未通过核验，未列入台账 not verified, left out of the ledger: {subjects}")
    return EXIT_OK
