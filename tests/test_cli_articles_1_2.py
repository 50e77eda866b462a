"""Articles 一 and 二 at the command line, as a clerk types them: ``open --domain --area`` (A1.1, A1.2,
N1.1), ``lead`` (A2.1, S5), ``transfer`` (A4.1, S3), ``notices --json`` naming roles (A1.3), ``units``
filters. The real ``yuqing`` script against the session's dev server and worker."""

from __future__ import annotations

import uuid

import pytest

from tests.cli_support import Cli, failed, ok

OFFICE = {"YUQING_UNIT": "sz-bgt"}
COUNTY = {"YUQING_UNIT": "370102"}


def new_id(prefix: str = "a12") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize(
    ("areas", "extra", "unit", "rule", "said"),
    [
        (["370102"], [], "370102-jyj", "A1.2", "历下区一地"),  # one county
        (["370102,370112"], [], "370100-jyj", "A1.2", "同属济南市"),  # two counties of one city
        (["370100"], [], "370100-jyj", "A1.2", "济南市"),  # the city as a whole
        (["370102", "370211"], [], "sz-jyt", "A1.2", "山东省教育厅"),  # two cities
        ([], ["--provincial-policy"], "sz-jyt", "A1.1", "重大政策"),  # a provincial policy
    ],
)
async def test_a1_open_by_domain_and_area(
    cli: Cli, areas: list[str], extra: list[str], unit: str, rule: str, said: str
) -> None:
    args = [arg for area in areas for arg in ("--area", area)]
    opened = ok(await cli("open", "--id", new_id(), "--title", "学校收费舆情", "--domain", "教育", *args, *extra,
                          "--opinion-level", "较大", "--json", env=OFFICE))  # fmt: skip
    status = opened.json()
    assert status["responsible_unit"] == unit
    responsibility = status["responsibility"]
    assert responsibility["rule"] == rule and responsibility["unit"] == unit and responsibility["override"] is None
    assert responsibility["domain"] == "教育" and said in responsibility["reason"]


async def test_n1_1_a_vertical_department_answers_the_one_above_coordinating(cli: Cli) -> None:
    opened = ok(await cli("open", "--id", new_id(), "--title", "税务舆情", "--domain", "税务", "--area", "370102",
                          "--opinion-level", "较大", env=OFFICE))  # fmt: skip
    assert "370102-shuiwu" in opened.out and "N1.1" in opened.out and "协调" in opened.out


async def test_a1_2_no_department_of_the_domain_at_that_level_the_government_answers(cli: Cli) -> None:
    status = ok(await cli("open", "--id", new_id(), "--title", "环境舆情", "--domain", "生态环境", "--area", "370102",
                          "--opinion-level", "较大", "--json", env=OFFICE)).json()  # fmt: skip
    assert status["responsible_unit"] == "370102" and status["responsibility"]["rule"] == "A1.2"


async def test_a1_a_named_unit_against_the_rule_is_an_override_with_a_warning(cli: Cli) -> None:
    opened = await cli("open", "--id", new_id(), "--title", "学校舆情", "--domain", "教育", "--area", "370102",
                       "--unit", "370100-jyj", "--opinion-level", "较大", "--json", env=OFFICE)  # fmt: skip
    assert opened.code == 0 and "370102-jyj" in opened.err and "override" in opened.err
    status = opened.json()
    assert status["responsible_unit"] == "370100-jyj"
    assert status["responsibility"]["unit"] == "370102-jyj" and status["responsibility"]["override"] == "370100-jyj"


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--domain", "教委", "--area", "370102"], "unknown domain"),
        (["--domain", "教育", "--area", "370102-jyj"], "370102"),  # a department is not a place
        (["--domain", "教育", "--area", "379999"], "379999"),
        (["--domain", "教育"], "--area"),
        (["--area", "370102"], "--domain"),
        ([], "--domain"),
        (["--unit", "370100-xcb"], "A2.3"),  # a coordination unit is never responsible
    ],
)
async def test_open_refuses_a_scope_it_cannot_read(cli: Cli, args: list[str], fragment: str) -> None:
    failed(await cli("open", "--title", "舆情", *args, "--opinion-level", "较大", env=OFFICE), 2, fragment)


async def test_a2_1_lead_and_a4_1_transfer_as_a_clerk_does(cli: Cli) -> None:
    incident_id = new_id()
    ok(await cli("open", "--id", incident_id, "--title", "校园安全舆情", "--domain", "教育", "--area", "370102",
                 "--opinion-level", "重大", env=OFFICE))  # fmt: skip
    failed(await cli("lead", incident_id, "--unit", "370100-jyj", env=COUNTY), 1, "S5")
    lead = ok(await cli("lead", incident_id, "--unit", "370102-gaj", env=COUNTY))
    assert "已登记 filed: 指定牵头部门" in lead.out
    ok(await cli("analysis", incident_id, "--text", "研判：关注度上升", env={"YUQING_UNIT": "370102-gaj"}))

    failed(await cli("transfer", incident_id, "--to", "370100-jyj", "--source", "重要政务舆情", env=COUNTY), 1, "S3")
    failed(await cli("transfer", incident_id, "--to", "370100-wxb", "--source", "重要政务舆情", env=OFFICE), 2, "A2.3")
    failed(await cli("transfer", incident_id, "--to", "370100-jyj", "--source", "别处", env=OFFICE), 2, "source")
    moved = ok(await cli("transfer", incident_id, "--to", "370100-jyj", "--source", "国务院办公厅转办", env=OFFICE))
    assert "接收转办" in moved.out and "P4.c" in moved.out
    failed(await cli("accept", incident_id, env={"YUQING_UNIT": "370102-jyj"}), 1, "S2")
    accepted = ok(await cli("accept", incident_id, env={"YUQING_UNIT": "370100-jyj"}))
    assert "报送研判" in accepted.out and "P4.f" in accepted.out
    failed(await cli("dispose", incident_id, "--final", "--text", "处置完毕", env={"YUQING_UNIT": "370100-jyj"}), 1, "P4.f")

    status = ok(await cli("status", incident_id, "--json")).json()
    assert status["responsible_unit"] == "370100-jyj" and status["lead_unit"] is None  # the lead was the county's
    assert [(t["previous"], t["to"], t["from_state_council"]) for t in status["transfers"]] == [("370102-jyj", "370100-jyj", True)]
    assert [u["code"] for u in status["chain"]] == ["370100-jyj", "370100", "sz-bgt"]
    table = ok(await cli("status", incident_id)).out
    for expected in ("转办 transfer", "国务院办公厅转办", "370102-jyj → 370100-jyj", "通报单位 informed", "中共济南市委宣传部"):
        assert expected in table, (expected, table)

    rows = ok(await cli("notices", incident_id, "--json")).json()
    kinds = {(r["kind"], r["target"], r["role"]) for r in rows}
    assert {("lead", "370102-gaj", "leader_in_charge"), ("transfer", "370100-jyj", "leader_in_charge"),
            ("coordination", "370100-xcb", "leader_in_charge")} <= kinds  # fmt: skip
    assert all(r["section"] for r in rows)
    listed = ok(await cli("notices", incident_id)).out
    assert "职务 role" in listed and "分管负责人" in listed and "通报协调单位" in listed


async def test_a2_2_principal_leaders_in_notices(cli: Cli) -> None:
    incident_id = new_id()
    ok(await cli("open", "--id", incident_id, "--title", "重大事故舆情", "--unit", "370102-yjj",
                 "--opinion-level", "特别重大", env=OFFICE))  # fmt: skip
    rows = ok(await cli("notices", incident_id, "--json")).json()
    leaders = sorted((r["target"], r["role"]) for r in rows if r["kind"] == "leadership")
    assert leaders == [("370100", "principal_leader"), ("370102", "principal_leader")]
    table = ok(await cli("notices", incident_id)).out
    assert "主要负责同志" in table


async def test_units_filters(cli: Cli) -> None:
    education = ok(await cli("units", "--domain", "教育", "--json")).json()
    assert education and all("教育" in u["domains"] for u in education)
    assert {"sz-jyt", "370100-jyj", "370102-jyj"} <= {u["code"] for u in education}
    jinan = ok(await cli("units", "--under", "370100", "--json")).json()
    assert {u["code"] for u in jinan} >= {"370100", "370102", "370102-jyj", "370100-xcb"}
    assert all(u["code"] == "370100" or u["parent"] is not None for u in jinan) and "370200" not in {u["code"] for u in jinan}
    table = ok(await cli("units", "--under", "370102")).out
    assert "领域 domains" in table and "区长" in table
    failed(await cli("units", "--domain", "教委"), 2, "unknown domain")


async def test_a_reader_that_stops_early_gets_no_traceback(cli: Cli, cli_env: dict[str, str]) -> None:
    """``yuqing … | head`` as clerks pipe it: the command's work stands, stderr stays empty (found while
    trying the new commands: rich raised SystemExit inside the asyncio task and a traceback followed)."""
    import asyncio

    from tests.cli_support import YUQING

    process = await asyncio.create_subprocess_shell(
        f"set -o pipefail; '{YUQING}' open --title 跨市交通舆情 --domain 交通运输 --area 370102 --area 370211 "
        f"--opinion-level 较大 --as sz-bgt | head -c 10",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**cli_env, "COLUMNS": "60"},
        executable="/bin/bash",
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0 and err.decode() == "" and out.decode().startswith("已立案")


async def test_a_report_id_reused_for_another_kind_of_report_is_refused_not_shown_as_filed(cli: Cli) -> None:
    """The finding: the same --report-id on a response and then a final disposition printed "filed" for the
    first report's receipt and filed neither (Temporal answers a known update id with its first result)."""
    incident_id = new_id()
    ok(await cli("open", "--id", incident_id, "--title", "舆情", "--unit", "370102-jyj", "--opinion-level", "较大",
                 env={"YUQING_UNIT": "370102-jyj"}))  # fmt: skip
    unit = {"YUQING_UNIT": "370102-jyj"}
    ok(await cli("analysis", incident_id, "--text", "已处理", "--report-id", "same-id-0002", env=unit))
    failed(await cli("respond", incident_id, "--way", "发布权威信息", "--channel", "政务微博", "--text", "已处理",
                     "--report-id", "same-id-0002", env=unit), 1, "same-id-0002")  # fmt: skip
    status = ok(await cli("status", incident_id, "--json")).json()
    assert [r["type"] for r in status["reports"]] == ["analysis"]


async def test_clerks_typing_codes_their_way(cli: Cli) -> None:
    """Upper-case codes and areas separated by 、 or spaces are what clerks type."""
    status = ok(await cli("open", "--id", new_id(), "--title", "学校舆情", "--domain", "教育", "--area", "370102、370112",
                          "--opinion-level", "较大", "--as", "SZ-BGT", "--json")).json()  # fmt: skip
    assert status["responsible_unit"] == "370100-jyj" and status["opened_by"] == "sz-bgt"
    failed(await cli("transfer", status["incident_id"], "--to", "sz-bgt", "--source", "重要政务舆情", env=OFFICE), 2, "A4.1")


async def test_a_transfer_source_given_as_the_opinions_source_gets_a_hint(cli: Cli) -> None:
    """Found trying the CLI as a clerk: --source 国务院办公厅转办 opened an ordinary incident without a word."""
    opened = await cli("open", "--id", new_id(), "--title", "舆情", "--unit", "370102-jyj", "--opinion-level", "较大",
                       "--source", "国务院办公厅转办", "--as", "sz-bgt")  # fmt: skip
    assert opened.code == 0 and "--transfer --state-council" in opened.err and "A4.1" in opened.err


def test_obligations_by_the_short_names_clerks_use() -> None:
    from yuqing.models import ObligationKind

    assert [ObligationKind(n) for n in ("回应", "权威信息", "发布会", "接收", "研判")] == [
        ObligationKind.RESPONSE, ObligationKind.AUTHORITATIVE_INFO, ObligationKind.PRESS_CONFERENCE,
        ObligationKind.ACCEPTANCE, ObligationKind.ANALYSIS,
    ]  # fmt: skip
