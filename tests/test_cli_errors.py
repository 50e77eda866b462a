"""Bad input at the staff command line (issue 4), each through the real console script against the real
server: exit 2 usage error, 1 refused by the system, 3 server unreachable; one line in Chinese and
English on stderr, never a traceback; and nothing recorded before the bad input is lost."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.testing import WorkflowEnvironment

from starter import service
from tests.cli_support import Cli, cli, cli_env, failed, free_port, ok, record  # noqa: F401
from yuqing.models import TEXT_MAX


def new_id() -> str:
    return f"bad-{uuid.uuid4().hex[:10]}"


async def test_bad_input_is_refused_and_the_record_is_kept(cli: Cli, env: WorkflowEnvironment) -> None:
    """Unknown unit/level/grade/category/way, bad discovery time (P3.a), empty or long text, an id that
    exists, an unknown incident, the same grading again (P3.c), the server down."""
    base = new_id()
    ok(await cli("open", "--id", base, "--title", "原始标题", "--unit", "370102-jyj", "--opinion-level", "较大",
                 "--event-grade", "较大", "--event-category", "公共卫生事件"))  # fmt: skip
    ok(await cli("analysis", base, "--text", "研判：已关注"))
    before = await record(env, base)
    assert [r["type"] for r in before["reports"]] == ["analysis"]

    opening = ["open", "--title", "新舆情", "--unit", "370102-jyj", "--opinion-level", "较大"]
    down = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    cases: list[tuple[tuple[str, ...], dict[str, str] | None, int, tuple[str, ...]]] = [
        # usage errors: exit 2
        (("open", "--title", "x", "--unit", "no-such-unit", "--opinion-level", "较大"), None, 2, ("未知单位", "unknown unit")),
        (("open", "--title", "x", "--unit", "370102-jyj", "--opinion-level", "超级"), None, 2, ("未知舆情等级", "opinion level")),
        ((*opening, "--event-grade", "Ⅴ", "--event-category", "事故灾难"), None, 2, ("未知突发事件等级", "event grade")),
        ((*opening, "--event-grade", "重大", "--event-category", "火灾"), None, 2, ("未知突发事件类别", "event category")),
        (("respond", base, "--way", "微博", "--text", "x"), None, 2, ("未知回应方式", "response way")),
        ((*opening, "--discovered-at", "昨天下午"), None, 2, ("无法识别的时间", "unparseable time")),
        (("open", "--title", "   ", "--unit", "370102-jyj", "--opinion-level", "较大"), None, 2, ("标题不能为空", "title")),
        (("analysis", base, "--text", ""), None, 2, ("内容不能为空", "text must not be empty")),
        (("analysis", base, "--text", "长" * (TEXT_MAX + 1)), None, 2, ("内容过长", f"at most {TEXT_MAX}")),
        (("open", "--id", "not an id!", *opening[1:]), None, 2, ("事件编号不合法",)),
        (("open", "--title", "x", "--unit", "370102-jyj"), None, 2, ("缺少必填参数", "--opinion-level")),
        (("reclassify", base, "--reason", "无变化"), None, 2, ("须至少给出一项新定级",)),
        (("frobnicate",), None, 2, ("未知命令", "unknown command")),
        # refused by the system: exit 1
        ((*opening, "--discovered-at", "2099-01-01T08:00"), None, 1, ("发现时间晚于当前时间", "P3.a")),
        (("open", "--id", base, "--title", "覆盖标题", "--unit", "370100", "--opinion-level", "重大"), None, 1,
         ("事件编号已存在", "not overwritten")),
        (("analysis", "no-such-incident-1", "--text", "x"), None, 1, ("未知事件", "unknown incident")),
        (("reclassify", base, "--event-grade", "Ⅲ", "--reason", "同级"), None, 1, ("定级未变", "P3.c")),
        (("reclassify", base, "--opinion-level", "较大", "--reason", "同级"), None, 1, ("定级未变", "P3.c")),
        # server down: exit 3
        (("status", base), down, 3, ("无法连接", "cannot reach")),
        (("respond", base, "--way", "发布权威信息", "--text", "x"), down, 3, ("无法连接",)),
        ((*opening,), down, 3, ("无法连接",)),
        (("--address", down["TEMPORAL_ADDRESS"], "list"), None, 3, ("无法连接", down["TEMPORAL_ADDRESS"])),
    ]
    # with --json, stdout stays empty on failure too: one case of each exit code again with it
    with_json = [case for case in cases if case[0][0] in ("frobnicate", "--address")]
    with_json += [case for case in cases if case[2] == 1][:2]
    runs = [cli(*args, env=env_) for args, env_, _, _ in cases]
    runs += [cli(*args, "--json", env=env_) for args, env_, _, _ in with_json]
    results = await asyncio.gather(*runs)
    for (args, _, code, fragments), result in zip([*cases, *with_json], results):
        failed(result, code, *fragments)

    after = await record(env, base)
    assert after == before
    assert after["title"] == "原始标题" and after["rejected"] == []


async def test_reports_to_a_closed_incident_are_refused(cli: Cli, env: WorkflowEnvironment) -> None:
    """A final disposition twice, any report or close after it: exit 1 事件已办结; the record stays."""
    incident_id = new_id()
    ok(await cli("open", "--id", incident_id, "--title", "已办结舆情", "--unit", "370102", "--opinion-level", "一般"))
    ok(await cli("dispose", incident_id, "--final", "--text", "处置完毕"))
    before = await record(env, incident_id)
    assert before["state"] == "closed"

    results = await asyncio.gather(
        cli("dispose", incident_id, "--final", "--text", "再次最终处置"),
        cli("analysis", incident_id, "--text", "迟到的研判"),
        cli("respond", incident_id, "--way", "接受采访", "--text", "迟到的回应", "--json"),
        cli("accept", incident_id),
        cli("major", incident_id, "--text", "重大情况"),
        cli("reclassify", incident_id, "--opinion-level", "重大", "--reason", "升级"),
        cli("close", incident_id, "--reason", "再次办结"),
    )
    for result in results:
        failed(result, 1, "事件已办结", "is closed")
    assert await record(env, incident_id) == before
    status, _ = await service.read_incident(env.client, incident_id)
    assert [r.type for r in status.reports] == ["disposition"]
