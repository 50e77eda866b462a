"""The staff command line end to end: the real ``yuqing`` console script as a subprocess against the
session's Temporal dev server and worker, as a clerk uses it (in Chinese, ``YUQING_UNIT`` set once).
Its own checks of the command line run in process (``test_cli_usage``)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import datetime, timedelta

from temporalio.testing import WorkflowEnvironment

from tests.cli_support import Cli, eventually, failed, free_port, ok, parse_status, record
from tests.conftest import Clock, serving
from worker import build_worker
from yuqing.models import TEXT_MAX, IncidentState
from yuqing.timefmt import SHANGHAI

H = timedelta(hours=1)
CONTRACT = {"incident_id", "state", "opinion_level", "event", "responsible_unit", "discovered_at",
            "obligations", "escalations", "reports", "rejected", "title", "summary", "source",
            "responsible_unit_name", "leader", "section", "chain", "opened_at", "transfer", "accepted_at",
            "closed_at", "close_reason", "warnings", "delivery_failures", "policy_name", "runs",
            "next_deadline", "overdue"}  # fmt: skip
"""Every key of the first release's status JSON (more may be added)."""
OFFSET = "+08:00"
OFFICE = {"YUQING_UNIT": "sz-bgt"}
COUNTY = {"YUQING_UNIT": "370102"}


def new_id(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def times_in_shanghai(document: object) -> bool:
    """Every ISO time string in a JSON document carries +08:00."""
    found = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?([+-]\d\d:\d\d|Z)", str(document))
    return bool(found) and set(found) == {OFFSET}


async def test_a_clerks_day_open_report_reclassify_close(cli: Cli, env: WorkflowEnvironment) -> None:
    """Every sending command as a clerk types it (A4.1-A4.4, P3.b, P3.c, P4.g, S1-S4), its tables and its
    ``--json`` (the receipt of a report; the status contract for ``open`` and ``status``)."""
    incident_id = new_id()
    discovered = (datetime.now(SHANGHAI) - timedelta(minutes=30)).replace(second=0, microsecond=0, tzinfo=None)
    opened = ok(await cli("open", "--id", incident_id, "--title", "某小学食堂食品安全舆情", "--unit", "370102-jyj",
                          "--opinion-level", "较大", "--event-grade", "重大", "--event-category", "公共卫生事件",
                          "--source", "网络媒体", "--discovered-at", discovered.isoformat(timespec="minutes")))  # fmt: skip
    for expected in ("已立案 opened", incident_id, "济南市历下区教育和体育局", "督办链 chain", "济南市人民政府（370100）",
                     "发布权威信息", "A3.1", "举行新闻发布会", "剩余 4小时", OFFSET, "北京时间"):  # fmt: skip
        assert expected in opened.out, (expected, opened.out)

    analysis = ok(await cli("analysis", incident_id, "--text", "研判：本地关注度上升"))
    assert "已登记 filed: 研判，第 1 号报告 report #1" in analysis.out and "待办时限 owed" in analysis.out

    # P3.b: a 情况通报 on 政务微博 meets the 5 h obligation
    responded = ok(await cli("respond", incident_id, "--way", "情况通报", "--channel", "政务微博",
                             "--text", "区教体局通过政务微博发布情况通报", "--json"))  # fmt: skip
    receipt = responded.json()
    assert receipt["seq"] == 2 and [m["id"] for m in receipt["met"]] == ["authoritative_info#1"]
    assert {o["id"] for o in receipt["owed"]} == {"press_conference#1", "continued_release#1"} and times_in_shanghai(receipt)

    conference = ok(await cli("respond", incident_id, "--way", "新闻发布会", "--speaker", "新闻发言人",
                              "--text", "召开新闻发布会"))  # fmt: skip
    assert "已满足 met: 举行新闻发布会（按时完成）" in conference.out

    major = ok(await cli("major", incident_id, "--text", "有学生送医观察", "--json"))
    assert major.json()["type"] == "major_situation"

    # S4: the unit cannot lower its own grading; its county government can
    failed(await cli("reclassify", incident_id, "--event-grade", "一般", "--reason", "自行降级"), 1, "S4")
    ok(await cli("reclassify", incident_id, "--event-grade", "一般", "--reason", "经核实为一般事件", env=COUNTY))

    # S3: only the provincial office closes
    failed(await cli("close", incident_id, "--reason", "自行办结"), 1, "S3")
    closed = ok(await cli("close", incident_id, "--reason", "舆情平息", env=OFFICE))
    assert "事件已办结 closed" in closed.out
    waiting = ok(await cli("status", incident_id, "--json")).json()  # P5.b: closed, waiting for its evaluation
    assert waiting["state"] == "closed" and waiting["execution"]["status"] == "running" and waiting["evaluation_until"]
    assert "待评价 awaiting" in ok(await cli("status", incident_id)).out
    # A5.1, S6: only the provincial office evaluates; then the incident completes
    failed(await cli("evaluate", incident_id, "--response", "妥当", "--disposition", "得力", "--reason", "及时"), 1, "S6")
    ok(await cli("evaluate", incident_id, "--response", "妥当", "--disposition", "得力", "--reason", "回应及时",
                 env=OFFICE))  # fmt: skip

    document = ok(await cli("status", incident_id, "--json")).json()
    assert CONTRACT <= set(document) and times_in_shanghai(document)
    final = parse_status(document)
    assert final.state == IncidentState.CLOSED and (final.close_reason, final.closed_by) == ("舆情平息", "sz-bgt")
    assert [(r.type.value, r.by) for r in final.reports] == [
        ("analysis", "370102-jyj"), ("response", "370102-jyj"), ("response", "370102-jyj"),
        ("major_situation", "370102-jyj"), ("reclassification", "370102"), ("close", "sz-bgt"), ("evaluation", "sz-bgt"),
    ]  # fmt: skip
    assert [(e["response"], e["disposition"], e["by"]) for e in document["evaluations"]] == [("proper", "effective", "sz-bgt")]
    assert document["execution"]["status"] == "completed"
    assert parse_status(await record(env, incident_id)) == final
    table = ok(await cli("status", incident_id)).out
    for expected in ("已办结（closed）", "政务微博", "新闻发言人", "重大情况", "舆情平息", "被拒记录 rejections：无 none",
                     "回应妥当，处置得力"):  # fmt: skip
        assert expected in table, (expected, table)

    notices = ok(await cli("notices", incident_id, "--json")).json()
    assert {(n["kind"], n["target"]) for n in notices} >= {("opened", "370102-jyj"), ("major_situation", "sz-bgt")}
    assert all(n["incident_id"] == incident_id and n["at"].endswith(OFFSET) for n in notices)


async def test_status_table_after_a_missed_deadline_and_an_explanation(cli: Cli, env: WorkflowEnvironment) -> None:
    """A3.1, D.esc, P4.a, P4.d, P4.g: after the 5 h mark the table shows the lateness, the four-level chain's
    escalations, and the unit's explanation beside the obligation."""
    incident_id = new_id()
    ok(await cli("open", "--id", incident_id, "--title", "危化品泄漏舆情", "--unit", "370102-jyj",
                 "--opinion-level", "重大", "--event-grade", "特别重大", "--event-category", "事故灾难"))  # fmt: skip
    handle = env.client.get_workflow_handle(incident_id)
    assert await env.fast_forward(handle, 6 * H + timedelta(minutes=1))  # type: ignore[attr-defined]
    await Clock.settle(handle)
    explained = ok(await cli("explain", incident_id, "--obligation", "发布权威信息",  # the kind: one was missed
                             "--text", "现场通信中断，延误发布"))  # fmt: skip
    assert "已登记 filed: 超时说明，第 1 号报告 report #1" in explained.out
    table = ok(await cli("status", incident_id)).out
    for expected in ("时限义务 obligations", "发布权威信息", "authoritative_info#1", "A3.1", "已逾期", "逾期 1小时",
                     "未到期", "督办记录 escalations", "催办", "督促", "济南市历下区人民政府", "现场通信中断，延误发布",
                     "2次·至2级", "北京时间"):  # fmt: skip
        assert expected in table, f"{expected!r} missing from:\n{table}"

    async def listed() -> bool:
        result = ok(await cli("list", "--overdue", "--unit", "370102-jyj", "--json"))
        return incident_id in {i["incident_id"] for i in result.json()}

    await eventually(listed)
    notices = ok(await cli("notices", incident_id, "--json")).json()
    assert [(n["level"], n["target"]) for n in notices if n["kind"] == "escalation"] == [(1, "370102-jyj"), (2, "370102")]


async def test_a_timed_out_report_is_never_filed_twice(cli: Cli, cli_env: dict[str, str], env: WorkflowEnvironment) -> None:
    """Idempotent filing: with no worker the report times out (exit 3, 未确认 … 可用同一命令重试，不会重复登记);
    once a worker is back, the very same command is answered with the first filing, never a second."""
    queue = f"cli-down-{uuid.uuid4().hex[:6]}"
    down = {"YUQING_TASK_QUEUE": queue}
    incident_id = new_id()
    opened = await cli("open", "--id", incident_id, "--title", "无人值守", "--unit", "370102-jyj",
                       "--opinion-level", "一般", "--timeout", "4", env=down)  # fmt: skip
    failed(opened, 3, "已立案", "请勿重复立案", incident_id)
    respond = ("respond", incident_id, "--way", "发布权威信息", "--channel", "政府网站", "--text", "官网发布情况说明",
               "--timeout", "4")  # fmt: skip
    failed(await cli(*respond, env=down), 3, "未确认", "可用同一命令重试，不会重复登记")
    async with serving(build_worker(env.client, [], task_queue=queue)):
        again = ok(await cli(*respond, "--json", env=down)).json()
        status = parse_status(await record(env, incident_id))
    assert again["seq"] == 1 and [r.seq for r in status.reports] == [1]
    assert status.reports[0].text_sha256 and status.obligation("response#1").status.value == "met"


async def test_refused_by_the_system_exit_1_and_nothing_recorded_is_lost(cli: Cli, env: WorkflowEnvironment) -> None:
    """Exit 1 with one bilingual line (a rule, an existing id, an unknown incident, a closed incident, S1-S3),
    while everything recorded before stays."""
    base = new_id("bad")
    ok(await cli("open", "--id", base, "--title", "原始标题", "--unit", "370102-jyj", "--opinion-level", "较大",
                 "--event-grade", "较大", "--event-category", "公共卫生事件"))  # fmt: skip
    ok(await cli("analysis", base, "--text", "研判：已关注"))
    before = await record(env, base)
    opening = ["open", "--title", "新舆情", "--unit", "370102-jyj", "--opinion-level", "较大"]
    cases: list[tuple[tuple[str, ...], dict[str, str] | None, tuple[str, ...]]] = [
        ((*opening, "--discovered-at", "2099-01-01T08:00"), None, ("晚于当前时间", "P3.a")),
        ((*opening, "--transfer"), None, ("S3",)),  # only the provincial office transfers
        (("open", "--id", base, "--title", "覆盖", "--unit", "370100", "--opinion-level", "重大"), None,
         ("事件编号已存在", "not overwritten")),
        (("analysis", "no-such-incident-1", "--text", "x"), None, ("未知事件", "unknown incident")),
        (("reclassify", base, "--event-grade", "Ⅲ", "--reason", "同级"), COUNTY, ("定级未变", "P3.c")),
        (("accept", base), None, ("A4.2",)),  # nothing was transferred
        (("analysis", base, "--text", "越权报送"), {"YUQING_UNIT": "370200"}, ("S1",)),
        (("explain", base, "--obligation", "response#1", "--text", "说明"), None, ("P4.g",)),
        (("close", base, "--reason", "办结"), None, ("S3",)),
        (("analysis", base, "--text", "长" * TEXT_MAX, "--json"), None, ()),  # the longest text is taken
    ]
    results = await asyncio.gather(*(cli(*args, env=env_) for args, env_, _ in cases))
    for (_, _, fragments), result in zip(cases[:-1], results[:-1], strict=True):
        failed(result, 1, *fragments)
    ok(results[-1])
    after = await record(env, base)
    assert after["title"] == "原始标题" and after["rejected"] == []
    assert [r["seq"] for r in after["reports"]] == [1, 2] and after["obligations"] == before["obligations"]

    ok(await cli("close", base, "--reason", "办结", env=OFFICE))
    for result in await asyncio.gather(cli("analysis", base, "--text", "迟到的研判"), cli("accept", base)):
        failed(result, 1, "事件已办结", "is closed")


async def test_list_filters_and_units_without_a_server(cli: Cli) -> None:
    """`yuqing list` from visibility (open/closed, by unit, by level); `units` and `notices` read local files."""
    tag = uuid.uuid4().hex[:6]
    a, b, c = f"list-a-{tag}", f"list-b-{tag}", f"list-c-{tag}"
    await asyncio.gather(*(
        cli("open", "--id", incident_id, "--title", f"列表{incident_id}", "--unit", unit, "--opinion-level", level,
            env={"YUQING_UNIT": unit})
        for incident_id, unit, level in ((a, "370200", "重大"), (b, "370200", "一般"), (c, "370300", "重大"))
    ))  # fmt: skip
    ok(await cli("close", c, "--reason", "测试办结", env=OFFICE))

    async def ids(*args: str) -> set[str]:
        document = ok(await cli("list", "--json", *args)).json()
        assert isinstance(document, list) and all("incident_id" in i and "stuck" in i for i in document)
        return {i["incident_id"] for i in document} & {a, b, c}

    async def settled() -> bool:
        return await ids("--state", "all") == {a, b, c} and await ids("--state", "closed") == {c}

    await eventually(settled)
    assert await ids() == {a, b}
    assert await ids("--unit", "370200", "--opinion-level", "major") == {a}
    table = ok(await cli("list", "--unit", "370200", "--opinion-level", "重大")).out
    assert "事件列表 incidents（办理中 open，单位 unit 370200，舆情等级 重大）" in table and a in table and b not in table

    down = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    units = ok(await cli("--json", "units", env=down)).json()
    assert {u["code"] for u in units} >= {"sz-bgt", "370102-jyj"}
    assert isinstance(ok(await cli("notices", "--json", env=down)).json(), list)


async def test_connection_from_temporal_profile_and_address_override(cli: Cli, cli_env: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Like the `temporal` CLI: a profile in temporal.toml is read; --address overrides it."""
    dead = f"127.0.0.1:{free_port()}"
    profile = tmp_path / "temporal.toml"
    profile.write_text(f'[profile.yuqing]\naddress = "{dead}"\nnamespace = "default"\n', encoding="utf-8")
    env = {"TEMPORAL_ADDRESS": None, "TEMPORAL_CONFIG_FILE": str(profile), "TEMPORAL_PROFILE": "yuqing"}
    failed(await cli("list", "--json", env=env), 3, "无法连接", dead)
    ok(await cli("list", "--json", "--address", cli_env["TEMPORAL_ADDRESS"], env=env))
