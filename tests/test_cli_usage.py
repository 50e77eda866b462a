"""The command line's own checks, run in process (no server is needed to refuse a bad command line):
exit 2 for a usage error, 3 when the server cannot be reached; one line in Chinese and English on stderr,
never a traceback, nothing on stdout."""

from __future__ import annotations

import socket
from datetime import datetime, timedelta, timezone

import pytest

from starter import cli, service
from starter.unconfirmed import Unconfirmed, fingerprint
from tests.cli_support import CJK, ENGLISH
from yuqing.models import TEXT_MAX, IncidentState, OpinionLevel
from yuqing.timefmt import SHANGHAI, countdown, jsonable, parse_time, span

H = timedelta(hours=1)
ID = "YQ-20261125-1432-7f3a"


def dead_address() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(autouse=True)
def _environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for key in ("TEMPORAL_ADDRESS", "TEMPORAL_PROFILE", "TEMPORAL_CONFIG_FILE", "YUQING_UNIT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TEMPORAL_ADDRESS", dead_address())
    monkeypatch.setenv("YUQING_VAR", str(tmp_path))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.run(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def refused(capsys: pytest.CaptureFixture[str], code: int, args: tuple[str, ...], *fragments: str) -> None:
    got, out, err = run(capsys, *args)
    assert got == code, (args, got, out, err)
    assert out == "" and "Traceback" not in err, err
    [line] = err.strip().splitlines()
    assert CJK.search(line) and ENGLISH.search(line), line
    for fragment in fragments:
        assert fragment in line, (fragment, line)


OPENING = ("open", "--title", "新舆情", "--unit", "370102-jyj", "--opinion-level", "较大", "--as", "370102-jyj")
RESPOND = ("respond", ID, "--as", "370102-jyj", "--text", "发布")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("open", "--title", "x", "--unit", "no-such-unit", "--opinion-level", "较大", "--as", "370102-jyj"), ("未知单位", "unknown unit")),
        (("open", "--title", "x", "--unit", "370102-jyj", "--opinion-level", "超级"), ("未知舆情等级", "opinion level")),
        ((*OPENING, "--event-grade", "Ⅴ", "--event-category", "事故灾难"), ("未知突发事件等级", "event grade")),
        ((*OPENING, "--event-grade", "重大", "--event-category", "火灾"), ("未知突发事件类别", "event category")),
        ((*OPENING, "--event-grade", "重大"), ("须同时给出等级和类别",)),
        ((*RESPOND, "--way", "飞鸽传书"), ("未知回应方式", "response way")),
        ((*RESPOND, "--way", "政务微博"), ("政务微博 是发布渠道", "is a channel", "--channel")),  # P3.b
        ((*RESPOND, "--way", "发布权威信息"), ("须给出发布渠道", "--channel")),
        ((*RESPOND, "--way", "发布权威信息", "--channel", "飞信"), ("未知发布渠道", "channel")),
        ((*RESPOND, "--way", "新闻发布会"), ("须注明发言人", "speaker", "N3.b")),
        ((*RESPOND, "--way", "新闻发布会", "--speaker", "局长张三"), ("未知发言人", "speaker")),
        ((*OPENING, "--discovered-at", "昨天下午"), ("无法识别的时间", "unparseable time")),
        (("open", "--title", "   ", "--unit", "370102-jyj", "--opinion-level", "较大", "--as", "370102-jyj"), ("标题不能为空", "title")),
        (("analysis", ID, "--as", "370102-jyj", "--text", ""), ("内容不能为空", "text must not be empty")),
        (("analysis", ID, "--as", "370102-jyj", "--text", "长" * (TEXT_MAX + 1)), ("内容过长", f"at most {TEXT_MAX}")),
        (("analysis", ID, "--as", "370102-jyj", "--text", "x", "--report-id", "short"), ("报告编号不合法",)),
        (("open", "--id", "not an id!", *OPENING[1:]), ("事件编号不合法",)),
        (("open", "--title", "x", "--unit", "370102-jyj"), ("缺少必填参数", "--opinion-level")),
        (("reclassify", ID, "--as", "370102", "--reason", "无变化"), ("须至少给出一项新定级",)),
        (("reclassify", ID, "--as", "370102", "--no-event", "--event-grade", "一般", "--reason", "x"), ("--no-event",)),
        (("explain", ID, "--as", "370102-jyj", "--text", "说明"), ("缺少必填参数", "--obligation")),
        (("frobnicate",), ("未知命令", "unknown command")),
        (("list", "--limit", "0"), ("须为正整数",)),
        (("status", ID, "--timeout", "-1"), ("须为正数",)),
        # S1-S7: who acts is part of every message — without --as or YUQING_UNIT a sending command is a usage error
        (("analysis", ID, "--text", "研判"), ("须指明操作单位", "--as", "YUQING_UNIT")),
        (("open", "--title", "x", "--unit", "370102-jyj", "--opinion-level", "较大"), ("须指明操作单位",)),
        (("close", ID, "--reason", "办结"), ("须指明操作单位",)),
        (("analysis", ID, "--as", "no-such-unit", "--text", "研判"), ("未知单位", "acting unit")),
    ],
)
def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], fragments: tuple[str, ...]) -> None:
    refused(capsys, 2, args, "用法错误 usage error", *fragments)


def test_yuqing_unit_is_the_default_acting_unit(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """A clerk sets their unit once (YUQING_UNIT); then the command goes as far as the (dead) server: exit 3."""
    monkeypatch.setenv("YUQING_UNIT", "370102-jyj")
    refused(capsys, 3, ("analysis", ID, "--text", "研判"), "无法连接", "cannot reach")
    monkeypatch.setenv("YUQING_UNIT", "nowhere")
    refused(capsys, 2, ("analysis", ID, "--text", "研判"), "未知单位")


@pytest.mark.parametrize(
    "args",
    [("status", ID), (*RESPOND, "--way", "发布权威信息", "--channel", "政务微博"), OPENING, ("list",), ("audit", "export", "--all", "--out", "x")],
)
def test_an_unreachable_server_exits_3(capsys: pytest.CaptureFixture[str], args: tuple[str, ...], tmp_path) -> None:  # type: ignore[no-untyped-def]
    if args[0] == "audit":
        args = (*args[:-1], str(tmp_path / "export"))
    refused(capsys, 3, args, "无法连接 Temporal 服务器", "cannot reach")


def test_json_failure_leaves_stdout_empty(capsys: pytest.CaptureFixture[str]) -> None:
    refused(capsys, 2, ("--json", "frobnicate"), "未知命令")
    refused(capsys, 3, ("status", ID, "--json"), "无法连接")


def test_help_in_chinese_with_english_terms(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("open", "accept", "analysis", "respond", "dispose", "major", "reclassify", "explain", "close",
                    "status", "list", "units", "notices", "audit"):  # fmt: skip
        assert f"    {command} " in out
    assert "立案" in out and "退出码 exit codes" in out and "YUQING_UNIT" in out
    code, out, _ = run(capsys, "respond", "--help")
    assert code == 0
    assert "回应方式 way (P3.b)" in out and "新闻发布会（press_conference）" in out and "政务微博（weibo）" in out
    assert "主要负责同志（principal_leader）" in out and "--as CODE" in out and "--report-id" in out


# ------------------------------------------------------------ pieces (no server)


def test_times_without_offset_mean_shanghai_and_print_with_offset() -> None:
    assert parse_time("2026-11-25T14:32") == datetime(2026, 11, 25, 6, 32, tzinfo=timezone.utc)
    assert parse_time("2026-11-25 14:32:05+00:00") == datetime(2026, 11, 25, 14, 32, 5, tzinfo=timezone.utc)
    assert parse_time("2026-11-25T06:32Z").astimezone(SHANGHAI).hour == 14
    assert jsonable({"t": datetime(2026, 11, 25, 6, 32, tzinfo=timezone.utc), "d": 2 * H}) == {
        "t": "2026-11-25T14:32:00+08:00",
        "d": "PT2H",
    }
    at = datetime(2026, 11, 25, 6, 0, tzinfo=timezone.utc)
    assert countdown(at + timedelta(hours=3, minutes=12), at) == "剩余 3小时12分"
    assert countdown(at, at + timedelta(hours=1, minutes=5)) == "逾期 1小时5分"
    assert span(timedelta(days=1, hours=23, minutes=59)) == "1天23小时"


def test_list_query_reads_only_search_attributes() -> None:
    """`yuqing list` filters in Temporal visibility on the Yuqing* attributes; the default ``open`` list
    also shows incidents whose workflow died, so nobody misses one."""
    query = service.incident_query(
        state=IncidentState.OPEN, overdue=True, unit="370102-jyj", opinion_level=OpinionLevel.MAJOR
    )
    assert query == (
        "WorkflowType = 'IncidentWorkflow' AND ExecutionStatus != 'ContinuedAsNew' AND "
        "(((YuqingState = 'open' OR YuqingState IS NULL) AND ExecutionStatus = 'Running') OR "
        "ExecutionStatus IN ('Terminated', 'Failed', 'TimedOut', 'Canceled')) "
        "AND YuqingOverdue = true AND YuqingUnit = '370102-jyj' AND YuqingOpinionLevel = 'major'"
    )
    with pytest.raises(service.YuqingError):
        service.incident_query(unit="x' OR '1'='1")


def test_an_unconfirmed_report_is_remembered_for_the_same_command(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """After a timeout the same command reuses the report id and filing time (so it is never filed twice);
    a different command does not; a confirmed one is forgotten; a day later it has expired."""
    store = Unconfirmed(tmp_path / "u.json")
    key = fingerprint("host", "default", ID, {"type": "analysis", "text": "研判"})
    other = fingerprint("host", "default", ID, {"type": "analysis", "text": "另一份研判"})
    filed = datetime.now(timezone.utc)
    assert store.recall(key) is None
    store.remember(key, "report-0001", filed)
    assert store.recall(key) == ("report-0001", filed) and store.recall(other) is None
    assert store.recall(key, now=filed + timedelta(days=2)) is None
    store.forget(key)
    assert store.recall(key) is None
