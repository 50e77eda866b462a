"""The command line as a clerk meets it (issue 12): times and units typed in Chinese, a typo'd option named,
fields asked for in a terminal, honest outcomes when no worker answers or the clerk presses Ctrl-C.

Each test here failed on the argparse command line it replaces."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import click
import pexpect
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from starter import cli
from tests.cli_support import CJK, ENGLISH, YUQING, Cli, failed, ok, parse_status, record
from tests.conftest import serving
from worker import build_worker
from yuqing.directory import UnknownUnit, load_directory
from yuqing.timefmt import SHANGHAI, TimeFormatError, parse_time

NOW = datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc)  # 2026-11-26 11:00 in Beijing


def beijing(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=SHANGHAI)  # type: ignore[misc]


# ------------------------------------------------------------------ times (P3.a)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("2026-11-25 09:30", beijing(2026, 11, 25, 9, 30)),
        ("2026/11/25 09:30", beijing(2026, 11, 25, 9, 30)),
        ("2026年11月25日09时30分", beijing(2026, 11, 25, 9, 30)),
        ("2026年11月25日 9:30", beijing(2026, 11, 25, 9, 30)),
        ("11月25日 9:30", beijing(2026, 11, 25, 9, 30)),  # this year
        ("今天 9:30", beijing(2026, 11, 26, 9, 30)),
        ("昨天 21:00", beijing(2026, 11, 25, 21, 0)),
        ("２０２６－１１－２５　０９：３０", beijing(2026, 11, 25, 9, 30)),  # full-width, as an input method types
        ("2026-11-25 09：30", beijing(2026, 11, 25, 9, 30)),  # a full-width colon only
        ("2026-11-25T09:30", beijing(2026, 11, 25, 9, 30)),  # ISO 8601 still
        ("2026-11-25T01:30Z", beijing(2026, 11, 25, 9, 30)),
        ("2026-11-25T09:30+08:00", beijing(2026, 11, 25, 9, 30)),
        ("4小时58分钟前", beijing(2026, 11, 26, 6, 2)),  # relative: the README's examples work on any day
        ("30分钟前", beijing(2026, 11, 26, 10, 30)),
        ("1天前", beijing(2026, 11, 25, 11, 0)),
        # the part of the day, as clerks say it (a finding of issue 12's clerk trial)
        ("昨天下午3点", beijing(2026, 11, 25, 15, 0)),
        ("昨天下午3点半", beijing(2026, 11, 25, 15, 30)),
        ("今天上午9点半", beijing(2026, 11, 26, 9, 30)),
        ("11月25日晚上9点", beijing(2026, 11, 25, 21, 0)),
        ("11月25日 下午3:30", beijing(2026, 11, 25, 15, 30)),
        ("2026年11月25日下午2时30分", beijing(2026, 11, 25, 14, 30)),
        ("今天中午12点", beijing(2026, 11, 26, 12, 0)),
        ("今天中午1点", beijing(2026, 11, 26, 13, 0)),
        ("昨天凌晨2点", beijing(2026, 11, 25, 2, 0)),
        ("昨天凌晨12点", beijing(2026, 11, 25, 0, 0)),
        ("昨天下午15点", beijing(2026, 11, 25, 15, 0)),  # 24-hour already
    ],
)
def test_times_as_clerks_type_them(typed: str, meant: datetime) -> None:
    assert parse_time(typed, NOW) == meant


@pytest.mark.parametrize(
    "typed",
    ["2026-11-25", "2026年11月25日", "11月25日", "今天", "09:30", "昨天下午", "2026-02-30 09:00", "前",
     "下午3点", "今天上午15点", "昨天晚上12点", "今天下午0点"],  # fmt: skip
)
def test_a_time_that_is_not_one_is_refused_with_an_example(typed: str) -> None:
    """A date alone used to be taken as 00:00 (clocks started up to a day early); every refusal says what to
    type, in Chinese, not just "use ISO 8601"."""
    with pytest.raises(TimeFormatError) as refused:
        parse_time(typed, NOW)
    message = str(refused.value)
    assert "2026-11-25 09:30" in message and "今天 9:30" in message and CJK.search(message), message


def test_open_refuses_a_date_without_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.run(["open", "--title", "t", "--unit", "370102-jyj", "--opinion-level", "较大", "--as", "370102-jyj",
                    "--discovered-at", "2026-11-25"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and "只有日期，没有时间" in err and "--discovered-at" in err, err


# ------------------------------------------------------------------ units (A1.3)


@pytest.mark.parametrize(
    "typed",
    ["370102-jyj", "370102-JYJ", "３７０１０２－ＪＹＪ", "370102–jyj", "济南市历下区教育和体育局", "历下区教育和体育局", " 济南市历下区教育和体育局 "],
)
def test_units_by_code_or_name(typed: str) -> None:
    assert load_directory().resolve(typed).code == "370102-jyj"


def test_an_unknown_unit_lists_the_three_closest_with_their_codes() -> None:
    with pytest.raises(UnknownUnit) as unknown:
        load_directory().resolve("历下区教体局")
    message = str(unknown.value)
    assert "未知单位" in message and "济南市历下区教育和体育局（370102-jyj）" in message and message.count("（") == 3
    with pytest.raises(UnknownUnit, match="单位不明确"):
        load_directory().resolve("教育局")  # part of sixteen names: ambiguous, never a guess


def test_the_acting_unit_by_name(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:1")  # nothing listens: the command gets as far as the server
    code = cli.run(["analysis", "YQ-20261125-1432-7f3a", "--as", "济南市历下区教育和体育局", "--text", "研判", "--timeout", "2"])
    _, err = capsys.readouterr()
    assert code == 3 and "无法连接" in err, err


def test_an_open_answered_but_slow_says_its_id_whichever_timeout_comes_first(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a loaded machine the start call took a fifth of ``--timeout``, so the command's overall timeout
    fired before the deadline read's: that message lacked the incident's id in （）, the one the clerk
    copies (test_open_again_after_no_worker_answered_shows_the_same_incident failed on it). One wording now."""
    from types import SimpleNamespace

    from starter import service

    monkeypatch.setenv("YUQING_VAR", str(tmp_path))

    async def connect(*_: Any) -> Any:
        return SimpleNamespace(namespace="default", service_client=SimpleNamespace(config=SimpleNamespace(target_host="x:1")))

    async def slow_start(client: Any, incident: Any, **_: Any) -> Any:
        await asyncio.sleep(1.5)  # half of --timeout: the read's 0.8 x timeout would end after the command's
        return SimpleNamespace(id=incident.id)

    async def no_worker(*_: Any) -> Any:
        await asyncio.sleep(3600)

    monkeypatch.setattr(service, "connect", connect)
    monkeypatch.setattr(service, "open_incident", slow_start)
    monkeypatch.setattr(service, "read_incident", no_worker)
    code = cli.run(["open", "--as", "370102-jyj", "--title", "某中学食堂舆情", "--unit", "370102-jyj",
                    "--opinion-level", "一般", "--timeout", "3"])  # fmt: skip
    err = capsys.readouterr().err
    opened = re.search(r"事件已立案（(YQ-[^）]+)）", err)
    assert code == 3 and opened is not None and "请勿重复立案" in err, err
    assert f"yuqing status {opened.group(1)}" in err


# ------------------------------------------------------------------ options


@pytest.mark.parametrize(
    ("typed", "suggested"),
    [("--titel", "--title"), ("--un", "--unit"), ("--op", "--opinion-level")],
)
def test_an_unknown_option_is_named_with_the_closest_and_never_taken_as_a_prefix(
    capsys: pytest.CaptureFixture[str], typed: str, suggested: str
) -> None:
    """``--titel`` said "missing --title"; ``--un`` and ``--op`` were silently taken as --unit, --opinion-level."""
    code = cli.run(["open", "--title", "t", typed, "x", "--as", "370102-jyj"])
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert code == 2 and out == "", err
    assert f"未知选项 unknown option {typed}" in line and f"did you mean {suggested}" in line, line
    assert CJK.search(line) and ENGLISH.search(line)


# ------------------------------------------------------------------ prompts (a pseudo-terminal)


def _spawn(args: list[str], env: dict[str, str]) -> pexpect.spawn:
    return pexpect.spawn(str(YUQING), args, env=env, encoding="utf-8", timeout=60, dimensions=(50, 200))


def test_no_prompt_with_json_even_in_a_terminal(cli_env: dict[str, str]) -> None:
    child = _spawn(["open", "--json"], cli_env)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2 and "缺少必填参数" in child.before and "标题" not in child.before.split("usage error")[0]


async def test_open_and_respond_ask_for_each_field_in_a_terminal(
    cli_env: dict[str, str], cli: Cli, env: WorkflowEnvironment
) -> None:
    """A clerk needs no flags: ``yuqing open`` asks for the title, the responsible unit (a name will do), the
    level (a numbered list) and who acts; ``respond`` for the id, the way, the speaker a conference needs,
    the text."""
    clerk = {k: v for k, v in cli_env.items() if k != "YUQING_UNIT"}

    def opening() -> str:
        child = _spawn(["open"], clerk)
        child.expect("标题 title")
        child.sendline("某校食堂舆情")
        child.expect("责任单位")
        child.sendline("历下区教育和体育局")
        child.expect("舆情等级")
        child.expect("3. 较大（relatively_major）")
        child.expect("序号或名称")
        child.sendline("9")  # not on the list: said, and asked again
        child.expect("输入有误")
        child.sendline("3")
        child.expect("操作单位")
        child.sendline("370102-JYJ")
        child.expect(r"已立案 opened: \S*?(YQ-\d{8}-\d{4}-[0-9a-f]{4})")
        incident_id = child.match.group(1)
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before
        return str(incident_id)

    incident_id = await asyncio.to_thread(opening)

    def responding() -> None:
        child = _spawn(["respond"], cli_env)
        child.expect("事件编号")
        child.sendline(incident_id)
        child.expect("回应方式")
        child.expect("序号或名称")
        child.sendline("新闻发布会")
        child.expect("发言人")
        child.expect("序号或名称")
        child.sendline("3")
        child.expect("回应内容")
        child.sendline("召开新闻发布会")
        child.expect("已登记 filed")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0, child.before

    await asyncio.to_thread(responding)
    status = parse_status(await record(env, incident_id))
    assert status.responsible_unit == "370102-jyj" and status.opinion_level.value == "relatively_major"
    assert [(r.way and r.way.value, r.speaker and r.speaker.value) for r in status.reports] == [
        ("press_conference", "spokesperson")
    ]


# ------------------------------------------------------------------ honest outcomes


async def test_no_worker_exit_3_unconfirmed_and_a_resend_files_once(cli: Cli, env: WorkflowEnvironment) -> None:
    """No worker answers: ``respond`` exits 3 with 未确认 and what to do, ``status`` exits 3 (it said 1); the
    same report sent again with its report id is filed once when a worker is back."""
    queue = f"clerk-down-{uuid.uuid4().hex[:6]}"
    down = {"YUQING_TASK_QUEUE": queue}
    incident_id = f"clerk-{uuid.uuid4().hex[:8]}"
    failed(await cli("open", "--id", incident_id, "--title", "无人值守", "--unit", "370102-jyj", "--opinion-level", "一般",
                     "--timeout", "3", env=down), 3, incident_id)  # fmt: skip
    failed(await cli("status", incident_id, "--timeout", "3", env=down), 3, "no answer")
    report_id = f"clerk-report-{uuid.uuid4().hex[:8]}"
    respond = ("respond", incident_id, "--way", "接受媒体采访", "--text", "接受采访", "--report-id", report_id,
               "--timeout", "3")  # fmt: skip
    failed(await cli(*respond, env=down), 3, "未确认", "可用同一命令重试，不会重复登记")
    async with serving(build_worker(env.client, [], task_queue=queue)):
        again = ok(await cli(*respond, "--json", env=down)).json()
        status = parse_status(await record(env, incident_id))
    assert again["seq"] == 1 and [r.report_id for r in status.reports] == [report_id]


async def test_open_again_after_no_worker_answered_shows_the_same_incident(cli: Cli, env: WorkflowEnvironment) -> None:
    """The worker did not answer an ``open``: it said the incident was opened; the same command again (as it
    advises) must show that incident, not open a second (a clerk's retry opened two)."""
    queue = f"clerk-open-{uuid.uuid4().hex[:6]}"
    down = {"YUQING_TASK_QUEUE": queue}
    title = f"无人值守-{uuid.uuid4().hex[:6]}"
    command = ("open", "--title", title, "--unit", "370102-jyj", "--opinion-level", "一般", "--timeout", "3")
    first = failed(await cli(*command, env=down), 3, "请勿重复立案")
    opened = re.search(r"（([^）]+)）", first.err)
    assert opened is not None
    async with serving(build_worker(env.client, [], task_queue=queue)):
        again = ok(await cli(*command, "--json", env=down)).json()
    assert again["incident_id"] == opened.group(1)


async def _exists(client: Client, incident_id: str) -> bool:
    try:
        await client.get_workflow_handle(incident_id).describe()
    except Exception:
        return False
    return True


async def test_ctrl_c_during_open_prints_the_incident_id(cli_env: dict[str, str], env: WorkflowEnvironment) -> None:
    """Ctrl-C after the start call: the incident exists, and the one line says its id (a retry would open a
    second); no traceback."""
    queue = f"clerk-int-{uuid.uuid4().hex[:6]}"  # no worker: ``open`` waits for the deadlines, the clerk gives up
    variables = {**cli_env, "YUQING_TASK_QUEUE": queue}
    title = f"中断{uuid.uuid4().hex[:6]}"
    proc = await asyncio.create_subprocess_exec(
        str(YUQING), "open", "--title", title, "--unit", "370102-jyj", "--opinion-level", "一般", "--timeout", "60",
        env=variables, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while True:  # started once it is in visibility
            found = [w.id async for w in env.client.list_workflows(f"TaskQueue = '{queue}'")]
            if found:
                break
            assert asyncio.get_running_loop().time() < deadline, "open never started"
            await asyncio.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
    finally:
        if proc.returncode is None:
            proc.kill()
    text = err.decode()
    [line] = text.strip().splitlines()
    assert proc.returncode == 130 and out == b"" and "Traceback" not in text, text
    assert "已中断 interrupted" in line and "已立案" in line and found[0] in line, line
    await env.client.get_workflow_handle(found[0]).terminate("test")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_ctrl_c_at_once_is_one_line_never_a_traceback(cli_env: dict[str, str]) -> None:
    """While the command line is still loading (the SDK takes a moment): one line, exit 130."""
    import subprocess
    import time

    proc = subprocess.Popen([str(YUQING), "status", "YQ-20261125-1432-7f3a"], env=cli_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + 30
    while "pydantic_core" not in Path(f"/proc/{proc.pid}/maps").read_text():  # loading: past Python's own start
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    text = err.decode()
    assert proc.returncode == 130 and "Traceback" not in text, text
    [line] = text.strip().splitlines()
    assert "已中断 interrupted" in line


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pseudo-terminal signals as on the deployment")
def test_ctrl_c_at_a_prompt(cli_env: dict[str, str]) -> None:
    child = _spawn(["open"], {k: v for k, v in cli_env.items() if k != "YUQING_UNIT"} | {"PYTHONUNBUFFERED": "1"})
    child.expect("标题 title")
    child.sendintr()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130 and "已中断 interrupted" in child.before and "Traceback" not in child.before



@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="POSIX signals and select, as on the deployment")
def test_ctrl_c_as_the_question_appears_is_never_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C that lands between the question being written and the read beginning (found under load:
    the clerk's Ctrl-C was echoed and the command went on waiting for an answer). Here the signal is caught
    by another thread, so the main thread's read is never interrupted by it, exactly as in that race: the
    prompt must still end (click.Abort) and not wait for a line that is written only 3 s later."""
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signal handlers run on the main thread")
    from yuqing import console

    read_fd, write_fd = os.pipe()
    monkeypatch.setattr(sys, "stdin", os.fdopen(read_fd, "r", encoding="utf-8"))
    monkeypatch.setattr(console, "_is_terminal", lambda stream: True)  # as at a clerk's terminal
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)

    def interrupt_then_answer() -> None:
        time.sleep(0.3)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)  # tripped here, not in the reading thread
        time.sleep(3)
        os.write(write_fd, "某中学食堂舆情\n".encode())

    helper = threading.Thread(target=interrupt_then_answer)
    started = time.monotonic()
    helper.start()
    try:
        with pytest.raises(click.Abort):
            console.ask_line("标题 title")
        assert time.monotonic() - started < 2.5
    finally:
        helper.join()
        signal.signal(signal.SIGINT, previous)
        os.close(write_fd)
        sys.stdin.close()


# ------------------------------------------------------------------ tables


def test_notices_name_each_escalation_by_its_level_and_come_in_order() -> None:
    """P4.d: 催办 the unit, 督促 a government above it, 督办 the office (every escalation said 督办); rows of one
    instant in the order they were decided (they came by key)."""
    from rich.console import Console

    from starter import render

    def row(kind: str, at: str, level: int = 0, action: str | None = None, key: str = "") -> dict[str, object]:
        return {"kind": kind, "at": at, "level": level, "round": 1, "action": action, "payload": "{}", "key": key,
                "target": "370102-jyj", "target_name": "济南市历下区教育和体育局", "role": "leader_in_charge",
                "subject": f"{kind}{level}", "attempts": 1, "incident_id": "x"}  # fmt: skip

    rows = [
        row("escalation", "2026-11-26T10:00:00+08:00", 10, "oversee", "a"),
        row("escalation", "2026-11-26T10:00:00+08:00", 2, "supervise", "b"),
        row("warning", "2026-11-26T09:00:00+08:00", key="c"),
        row("opened", "2026-11-26T09:00:00+08:00", key="d"),
        row("escalation", "2026-11-26T02:00:00+00:00", 1, "urge", "e"),  # 10:00 Beijing, written in UTC
    ]
    assert [(r["kind"], r["level"]) for r in render.notice_order(rows)] == [
        ("opened", 0), ("warning", 0), ("escalation", 1), ("escalation", 2), ("escalation", 10)
    ]
    console = Console(width=200, record=True)
    console.print(render.notices(rows, "t", one_incident=True))
    lines = [line for line in console.export_text().splitlines() if "escalation" in line]
    assert [next(w for w in ("催办", "督促", "督办") if w in line) for line in lines] == ["催办", "督促", "督办"]
