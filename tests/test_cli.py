"""The staff command line end to end (issue 4): the real ``yuqing`` console script as a subprocess
against the session's Temporal dev server and worker, every command, its ``--json`` and its tables."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.testing import WorkflowEnvironment

from starter import service
from starter.timefmt import SHANGHAI, countdown, jsonable, parse_time, span
from tests.cli_support import Cli, cli, cli_env, eventually, failed, free_port, ok, parse_status, record  # noqa: F401
from tests.conftest import Clock
from yuqing.models import IncidentState, OpinionLevel

H = timedelta(hours=1)
CONTRACT = {"incident_id", "state", "opinion_level", "event", "responsible_unit", "discovered_at",
            "obligations", "escalations", "reports", "rejected"}  # fmt: skip
OFFSET = "+08:00"


def new_id(prefix: str = "cli") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def times_in_shanghai(document: object) -> bool:
    """Every ISO time string in a JSON document carries +08:00."""
    found = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?([+-]\d\d:\d\d|Z)", str(document))
    return bool(found) and set(found) == {OFFSET}


# ------------------------------------------------------------ times (no server)


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
    """`yuqing list` filters in Temporal visibility on the Yuqing* attributes, never by querying workflows."""
    query = service.incident_query(
        state=IncidentState.OPEN, overdue=True, unit="370102-jyj", opinion_level=OpinionLevel.MAJOR
    )
    assert query == (
        "WorkflowType = 'IncidentWorkflow' AND ExecutionStatus != 'ContinuedAsNew' AND YuqingState = 'open' "
        "AND ExecutionStatus = 'Running' AND YuqingOverdue = true AND YuqingUnit = '370102-jyj' "
        "AND YuqingOpinionLevel = 'major'"
    )
    with pytest.raises(service.StarterError):
        service.incident_query(unit="x' OR '1'='1")


# ------------------------------------------------------------------ commands


async def test_help_in_chinese_with_english_terms(cli: Cli) -> None:
    main = ok(await cli("--help"))
    for command in ("open", "accept", "analysis", "respond", "dispose", "major", "reclassify", "close",
                    "status", "list", "units", "notices"):  # fmt: skip
        assert f"    {command} " in main.out
    assert "立案" in main.out and "退出码 exit codes" in main.out
    # python -m starter is the same command line
    sub = ok(await cli("respond", "--help", module=True))
    assert "回应方式 way (P3.b)" in sub.out and "新闻发布会（press_conference）" in sub.out


async def test_open_generates_a_readable_id_and_prints_deadlines(cli: Cli, env: WorkflowEnvironment) -> None:
    """P3.a, A3.3: without --id a readable unique id is generated; the deadline is printed in Asia/Shanghai."""
    result = ok(await cli("open", "--title", "某校食堂食品安全舆情", "--unit", "370102-jyj",
                          "--opinion-level", "较大", "--source", "网络媒体"))  # fmt: skip
    found = re.search(r"已立案 opened: (YQ-\d{8}-\d{4}-[0-9a-f]{4})", result.out)
    assert found, result.out
    assert "予以回应" in result.out and "A3.3" in result.out and OFFSET in result.out
    assert re.search(r"剩余 1天23小时", result.out)
    status = parse_status((await record(env, found.group(1))))
    assert status.title == "某校食堂食品安全舆情" and status.source == "网络媒体"
    assert status.obligations[0].due_at - status.discovered_at == 48 * H


async def test_open_json_with_discovery_time_and_sudden_event(cli: Cli, env: WorkflowEnvironment) -> None:
    """A3.1, A3.2, P3.a: a naive discovery time means Asia/Shanghai; a 重大 event owes 5 h and 24 h from it."""
    incident_id = new_id()
    discovered = (datetime.now(SHANGHAI) - timedelta(minutes=30)).replace(second=0, microsecond=0, tzinfo=None)
    result = ok(await cli("open", "--json", "--id", incident_id, "--title", "化工厂爆炸舆情", "--unit", "370100",
                          "--opinion-level", "major", "--event-grade", "Ⅱ", "--event-category", "accident",
                          "--discovered-at", discovered.isoformat(timespec="minutes")))  # fmt: skip
    document = result.json()
    assert CONTRACT <= set(document) and times_in_shanghai(document)
    assert document["discovered_at"] == discovered.isoformat() + OFFSET
    status = parse_status(document)
    assert status.incident_id == incident_id
    assert {o.kind.value: o.due_at - status.discovered_at for o in status.obligations} == {
        "authoritative_info": 5 * H,
        "press_conference": 24 * H,
    }
    assert parse_status(await record(env, incident_id)) == status


async def test_every_report_command_sends_an_update_and_prints_what_is_owed(cli: Cli, env: WorkflowEnvironment) -> None:
    """A4.1/A4.2 accept, A4.3 analysis/respond/dispose, P3.b ways, A4.4 major, P3.c reclassify, close."""
    incident_id = new_id()
    opened = ok(await cli("open", "--json", "--id", incident_id, "--title", "转办舆情", "--unit", "sz-jyt",
                          "--opinion-level", "一般", "--transfer", "--state-council"))  # fmt: skip
    kinds = {o["kind"] for o in opened.json()["obligations"]}
    assert kinds == {"response", "acceptance"} and opened.json()["transfer"]["from_state_council"] is True

    accepted = ok(await cli("accept", incident_id))  # A4.2, text defaults
    assert "已提交 filed: 接收 acceptance #1" in accepted.out and "已满足 met: 接收转办" in accepted.out
    assert "予以回应" in accepted.out and "剩余" in accepted.out and "接收转办" in accepted.out

    analysis = ok(await cli("analysis", incident_id, "--text", "研判：关注度上升", "--by", "办公室", "--json"))
    last = analysis.json()["reports"][-1]
    assert (last["type"], last["by"], last["via"]) == ("analysis", "办公室", "update")
    assert times_in_shanghai(analysis.json())

    # P3.b: an online post meets the 48 h response and starts a continued release (P3.d)
    responded = ok(await cli("respond", incident_id, "--way", "政务网站", "--text", "官网发布情况说明"))
    assert "已满足 met: 予以回应" in responded.out and "持续发布" in responded.out

    major = ok(await cli("major", incident_id, "--text", "出现人员伤亡", "--json"))  # A4.4
    assert major.json()["reports"][-1]["type"] == "major_situation"

    # P3.c: up to a 重大 sudden event starts the 5 h and 24 h clocks now
    up = ok(await cli("reclassify", incident_id, "--event-grade", "重大", "--event-category", "社会安全事件",
                      "--opinion-level", "重大", "--reason", "事态升级", "--json"))  # fmt: skip
    status = parse_status(up.json())
    assert status.event is not None and status.event.grade.value == "major" and status.opinion_level.value == "major"
    assert {"authoritative_info#1", "press_conference#1"} <= {o.id for o in status.obligations}

    # P3.b: a press conference meets both the 5 h and the 24 h obligation
    conference = ok(await cli("respond", incident_id, "--way", "press_conference", "--text", "召开新闻发布会", "--json"))
    met = set(parse_status(conference.json()).reports[-1].met)
    assert {"authoritative_info#1", "press_conference#1"} <= met

    disposed = ok(await cli("dispose", incident_id, "--text", "已约谈涉事单位"))
    assert "已提交 filed: 处置 disposition" in disposed.out

    closed = ok(await cli("close", incident_id, "--reason", "舆情平息", "--json"))
    final = parse_status(closed.json())
    assert final.state == IncidentState.CLOSED and final.close_reason == "舆情平息"
    assert [r.type for r in final.reports] == [
        "acceptance", "analysis", "response", "major_situation", "reclassification", "response", "disposition"
    ]  # fmt: skip
    # the closed record is still readable, from the workflow's result
    assert parse_status(ok(await cli("status", incident_id, "--json")).json()) == final

    # the outbox delivered the opening and the major situation to the provincial office (A4.4, P4.b)
    notices = ok(await cli("notices", incident_id, "--json")).json()
    assert {(n["kind"], n["target"]) for n in notices} >= {("opened", "sz-jyt"), ("major_situation", "sz-bgt")}
    assert all(n["incident_id"] == incident_id and n["at"].endswith(OFFSET) for n in notices)
    table = ok(await cli("notices", incident_id))
    assert "通知记录" in table.out and "重大情况" in table.out and "山东省人民政府办公厅" in table.out


async def test_final_disposition_closes_and_status_is_read_without_a_query(cli: Cli) -> None:
    """A4.3: a final disposition ends the incident; `status` reads the completed workflow's result."""
    incident_id = new_id()
    ok(await cli("open", "--id", incident_id, "--title", "测试", "--unit", "370102", "--opinion-level", "一般"))
    closed = ok(await cli("dispose", incident_id, "--final", "--text", "处置完毕"))
    assert "事件已办结 closed" in closed.out
    table = ok(await cli("status", incident_id))
    assert "已办结（closed）" in table.out and "已免除" in table.out and "处置（最终）" in table.out


async def test_status_table_after_a_missed_deadline(cli: Cli, env: WorkflowEnvironment) -> None:
    """A3.1, D.esc, P4.a: after the 5 h mark the table shows the lateness, the escalations and the reports in Chinese."""
    incident_id = new_id()
    ok(await cli("open", "--id", incident_id, "--title", "危化品泄漏舆情", "--unit", "370102-jyj",
                 "--opinion-level", "重大", "--event-grade", "特别重大", "--event-category", "事故灾难"))  # fmt: skip
    handle = env.client.get_workflow_handle(incident_id)
    # the workflow was started by the CLI process: fast_forward enables its time skipping here
    assert await env.fast_forward(handle, 6 * H)
    await Clock.settle(handle)

    table = ok(await cli("status", incident_id)).out
    for expected in ("时限义务 obligations", "发布权威信息", "A3.1", "已逾期", "逾期 1小时", "未到期",
                     "督办记录 escalations", "催办", "督促", "济南市历下区人民政府", "预警记录 warnings",
                     "报告记录 reports：无 none", "被拒记录 rejections：无 none", OFFSET):  # fmt: skip
        assert expected in table, f"{expected!r} missing from:\n{table}"
    assert re.search(r"举行新闻发布会 +A3\.2 .* 剩余 1[78]小时", table), table

    document = ok(await cli("status", incident_id, "--json")).json()
    assert CONTRACT <= set(document) and document["overdue"] is True and times_in_shanghai(document)
    assert parse_status(document) == parse_status(await record(env, incident_id))
    assert [(e["level"], e["action"]) for e in document["escalations"]] == [(1, "urge"), (2, "supervise")]

    # the overdue incident lists through YuqingOverdue; escalations reached the outbox (P4.b)
    async def listed() -> bool:
        result = ok(await cli("list", "--overdue", "--unit", "370102-jyj", "--json"))
        return incident_id in {i["incident_id"] for i in result.json()}

    await eventually(listed)
    notices = ok(await cli("notices", incident_id, "--json")).json()
    assert [(n["level"], n["target"]) for n in notices if n["kind"] == "escalation"] == [
        (1, "370102-jyj"), (2, "370102")
    ]  # fmt: skip

    late = ok(await cli("respond", incident_id, "--way", "发布权威信息", "--text", "发布权威信息"))
    assert "已满足 met: 发布权威信息" in late.out
    after = ok(await cli("status", incident_id)).out
    assert "逾期完成" in after and "逾期 1小时后完成" in after


async def test_list_filters_through_search_attributes(cli: Cli) -> None:
    """`yuqing list`: open/closed, by unit, by level, from visibility; a table and a JSON list."""
    tag = uuid.uuid4().hex[:6]
    a, b, c = f"list-a-{tag}", f"list-b-{tag}", f"list-c-{tag}"
    for incident_id, unit, level in ((a, "370200", "重大"), (b, "370200", "一般"), (c, "370300", "重大")):
        ok(await cli("open", "--id", incident_id, "--title", f"列表{incident_id}", "--unit", unit, "--opinion-level", level))
    ok(await cli("close", c, "--reason", "测试办结"))

    async def ids(*args: str) -> set[str]:
        result = ok(await cli("list", "--json", *args))
        document = result.json()
        assert isinstance(document, list) and all("incident_id" in i for i in document)
        return {i["incident_id"] for i in document} & {a, b, c}

    async def settled() -> bool:
        return await ids("--state", "all") == {a, b, c} and await ids("--state", "closed") == {c}

    await eventually(settled)
    assert await ids() == {a, b}  # default: open
    assert await ids("--unit", "370200") == {a, b}
    assert await ids("--unit", "370200", "--opinion-level", "major") == {a}
    assert await ids("--state", "已办结", "--opinion-level", "重大") == {c}
    assert await ids("--overdue", "--state", "all") == set()

    table = ok(await cli("list", "--unit", "370200", "--opinion-level", "重大")).out
    assert "事件列表 incidents（办理中 open，单位 unit 370200，舆情等级 重大）" in table
    assert a in table and b not in table and "青岛市人民政府" in table


async def test_units_and_notices_without_a_server(cli: Cli) -> None:
    """`units` and `notices` read local files: they work while the server is down."""
    down = {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    units = ok(await cli("--json", "units", env=down)).json()
    assert {"code", "name", "kind", "parent", "leader", "section"} <= set(units[0])
    assert {u["code"] for u in units} >= {"sz-bgt", "370102-jyj"}
    table = ok(await cli("units", env=down)).out
    assert "单位名录" in table and "山东省人民政府办公厅" in table and "省政府办公厅" in table
    everything = ok(await cli("notices", "--json", env=down)).json()
    assert isinstance(everything, list)


async def test_connection_from_temporal_profile_and_address_override(cli: Cli, cli_env: dict[str, str], tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Like the `temporal` CLI: a profile in temporal.toml is read; --address overrides it."""
    dead = f"127.0.0.1:{free_port()}"
    profile = tmp_path / "temporal.toml"
    profile.write_text(f'[profile.yuqing]\naddress = "{dead}"\nnamespace = "default"\n', encoding="utf-8")
    env = {"TEMPORAL_ADDRESS": None, "TEMPORAL_CONFIG_FILE": str(profile), "TEMPORAL_PROFILE": "yuqing"}
    failed(await cli("list", "--json", env=env), 3, "无法连接", dead)
    ok(await cli("list", "--json", "--address", cli_env["TEMPORAL_ADDRESS"], env=env))
