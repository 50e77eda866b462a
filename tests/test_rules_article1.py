"""Article 一 as pure functions: the first responsible subject (A1.1, A1.2, N1.1), an opener's override,
and the coordination units an incident is reported to (A2.3), on the shipped directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflows.rules import article1_responsibility as a1
from yuqing.directory import COLUMNS, Directory, load_directory
from yuqing.models import Responsibility, Scope


@pytest.fixture(scope="module")
def d() -> Directory:
    return load_directory()


def answer(d: Directory, domain: str, *areas: str, provincial_policy: bool = False) -> Responsibility:
    return a1.first_responsible(d, Scope(domain=domain, areas=list(areas), provincial_policy=provincial_policy))


# ------------------------------------------------------------------------------------- A1.2


def test_a1_2_one_county_its_department(d: Directory) -> None:
    r = answer(d, "教育", "370102")
    assert (r.unit, r.rule, r.coordinator, r.override) == ("370102-jyj", "A1.2", None, None)
    assert (r.domain, r.areas, r.provincial_policy) == ("教育", ["370102"], False)
    assert r.reason == "涉及济南市历下区一地，由该县（市、区）主管教育的部门济南市历下区教育和体育局负责（属地管理、分级负责、谁主管谁负责）"


def test_a1_2_a_department_of_two_domains(d: Directory) -> None:
    assert answer(d, "体育", "370102").unit == "370102-jyj"  # 教育和体育局
    assert answer(d, "公安", "370830").unit == "370830-gaj"


def test_a1_2_two_counties_of_one_city_the_city_department(d: Directory) -> None:
    r = answer(d, "教育", "370102", "370112")
    assert (r.unit, r.rule, r.areas) == ("370100-jyj", "A1.2", ["370102", "370112"])
    assert "济南市历下区、济南市历城区" in r.reason and "济南市教育局" in r.reason


def test_a1_2_the_same_county_twice_is_one_county(d: Directory) -> None:
    assert answer(d, "教育", "370102", "370102").unit == "370102-jyj"


def test_a1_2_a_city_code_the_city_department(d: Directory) -> None:
    r = answer(d, "卫生健康", "370200")
    assert (r.unit, r.rule) == ("370200-wjw", "A1.2")
    assert r.reason.startswith("涉及青岛市全市，由该市主管卫生健康的部门青岛市卫生健康委员会负责")


def test_a1_2_a_city_and_one_of_its_counties_the_city_department(d: Directory) -> None:
    assert answer(d, "教育", "370100", "370102").unit == "370100-jyj"


def test_a1_2_two_cities_the_provincial_department(d: Directory) -> None:
    r = answer(d, "教育", "370100", "370200")
    assert (r.unit, r.rule) == ("sz-jyt", "A1.2")
    assert "跨2个市" in r.reason and "山东省教育厅" in r.reason


def test_a1_2_counties_of_two_cities_the_provincial_department(d: Directory) -> None:
    r = answer(d, "住房城乡建设", "370102", "370211")
    assert (r.unit, r.rule) == ("sz-zjt", "A1.2")


def test_a1_2_many_areas_keep_the_reason_short(d: Directory) -> None:
    codes = [c.code for c in d.cities]
    r = answer(d, "应急管理", *codes)
    assert r.unit == "sz-yjt" and len(r.reason) <= 200 and "等地" in r.reason and "跨16个市" in r.reason


def test_a1_2_no_department_of_the_domain_at_the_county_its_government(d: Directory) -> None:
    """A county has no 生态环境 department in the directory: the county government answers."""
    r = answer(d, "生态环境", "370102")
    assert (r.unit, r.rule, r.coordinator) == ("370102", "A1.2", None)
    assert r.reason == "涉及济南市历下区一地，该县（市、区）无主管生态环境的部门，由济南市历下区人民政府负责（属地管理、分级负责、谁主管谁负责）"
    assert answer(d, "生态环境", "370102", "370112").unit == "370100-sthjj"  # the city has one


def _small(tmp_path: Path, *rows: str) -> Directory:
    path = tmp_path / "units.csv"
    header = ",".join(COLUMNS)
    office = "sz-bgt,山东省人民政府办公厅,provincial_office,,,否,分管副秘书长,政务公开处,省长"
    city = "370100,济南市人民政府,city_government,sz-bgt,,否,分管副市长,市政府办公厅政务公开处,市长"
    city2 = "370200,青岛市人民政府,city_government,sz-bgt,,否,分管副市长,市政府办公厅政务公开处,市长"
    path.write_text("\n".join([header, office, city, city2, *rows]) + "\n", encoding="utf-8")
    return load_directory(path)


def test_a1_2_no_department_at_the_city_or_the_province_their_government(tmp_path: Path) -> None:
    small = _small(tmp_path, "370100-hbj,济南市海洋局,department,370100,海洋,否,分管副局长,办公室,",
                   "370200-jyj,青岛市教育局,department,370200,教育,否,分管副局长,办公室,")  # fmt: skip
    r = a1.first_responsible(small, Scope(domain="教育", areas=["370100"]))
    assert (r.unit, r.rule) == ("370100", "A1.2") and "该市无主管教育的部门，由济南市人民政府负责" in r.reason
    r = a1.first_responsible(small, Scope(domain="教育", areas=["370100", "370200"]))
    assert (r.unit, r.rule) == ("sz-bgt", "A1.2") and "省级无主管教育的部门" in r.reason
    r = a1.first_responsible(small, Scope(domain="海洋", provincial_policy=True))
    assert (r.unit, r.rule) == ("sz-bgt", "A1.2") and "由山东省人民政府办公厅（代表省政府）负责" in r.reason


# ------------------------------------------------------------------------------------- A1.1


def test_a1_1_a_provincial_policy_the_provincial_department(d: Directory) -> None:
    r = answer(d, "医疗保障", provincial_policy=True)
    assert (r.unit, r.rule, r.provincial_policy, r.areas) == ("sz-ybj", "A1.1", True, [])
    assert r.reason == "涉及省政府重大政策、重要决策部署，由省政府主管部门山东省医疗保障局作为第一责任主体"


def test_a1_1_a_provincial_policy_wins_over_its_areas(d: Directory) -> None:
    r = answer(d, "教育", "370102", provincial_policy=True)
    assert (r.unit, r.rule, r.areas) == ("sz-jyt", "A1.1", ["370102"])


# ------------------------------------------------------------------------------------- N1.1


def test_n1_1_a_vertical_department_answers_the_one_above_coordinating(d: Directory) -> None:
    r = answer(d, "税务", "370102")
    assert (r.unit, r.rule, r.coordinator) == ("370102-shuiwu", "N1.1", "370100-shuiwu")
    assert "税务属垂直管理" in r.reason and "国家税务总局济南市税务局协调" in r.reason
    r = answer(d, "税务", "370100")
    assert (r.unit, r.rule, r.coordinator) == ("370100-shuiwu", "N1.1", "sz-shuiwu")
    r = answer(d, "税务", "370100", "370200")
    assert (r.unit, r.rule, r.coordinator) == ("sz-shuiwu", "N1.1", None)  # nothing above in the directory


# ------------------------------------------------------------------------------------ errors


def test_an_unknown_domain_lists_the_known_ones(d: Directory) -> None:
    with pytest.raises(ValueError, match="未知主管领域 unknown domain '航天'") as err:
        answer(d, "航天", "370102")
    assert "教育" in str(err.value) and "卫生健康" in str(err.value)


@pytest.mark.parametrize(
    ("areas", "message"),
    [
        (["371200"], "未知地区 unknown area '371200'"),  # 莱芜, merged into 济南 in 2019
        (["370102", "nowhere"], "未知地区 unknown area 'nowhere'"),
        (["370102-jyj"], "地区须为县（市、区）或市的代码 area '370102-jyj' is a department"),
        (["sz-bgt"], "area 'sz-bgt' is a provincial_office"),
        (["370100-xcb"], "area '370100-xcb' is a coordination"),
        ([], "须指明涉及的县（市、区）或市"),
    ],
)
def test_an_unknown_or_invalid_area(d: Directory, areas: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        answer(d, "教育", *areas)


# -------------------------------------------------------------------------------- overrides


def test_an_override_keeps_the_rules_choice_beside_it(d: Directory) -> None:
    r = answer(d, "教育", "370102")
    named = a1.check_override(d, r, "370100-jyj")
    assert (named.unit, named.override, named.rule, named.reason) == ("370102-jyj", "370100-jyj", "A1.2", r.reason)
    assert a1.check_override(d, r, "370102-jyj") == r  # the same unit: no override
    assert a1.check_override(d, named, "370102-jyj").override is None
    with pytest.raises(ValueError, match="未知单位"):
        a1.check_override(d, r, "nowhere")
    with pytest.raises(ValueError, match="协调单位不作为责任单位"):
        a1.check_override(d, r, "370100-xcb")


# ------------------------------------------------------------------------ A2.3 coordination


@pytest.mark.parametrize(
    ("unit", "expected"),
    [
        ("370102-jyj", ["370100-xcb", "370100-wxb", "sz-txglj"]),  # a county matter: its city's
        ("370102-shuiwu", ["370100-xcb", "370100-wxb", "sz-txglj"]),  # a vertical county department too
        ("370102", ["370100-xcb", "370100-wxb", "sz-txglj"]),
        ("370200-wjw", ["370200-xcb", "370200-wxb", "sz-txglj"]),  # a city matter: the city's
        ("370200", ["370200-xcb", "370200-wxb", "sz-txglj"]),
        ("sz-jyt", ["sz-xcb", "sz-wxb", "sz-txglj"]),  # a provincial matter: the province's
        ("sz-bgt", ["sz-xcb", "sz-wxb", "sz-txglj"]),
    ],
)
def test_a2_3_coordination_units(d: Directory, unit: str, expected: list[str]) -> None:
    assert [u.code for u in a1.coordination_units(d, unit)] == expected


def test_a2_3_a_city_without_its_own_falls_back_to_the_province(tmp_path: Path) -> None:
    small = _small(tmp_path, "sz-xcb,中共山东省委宣传部（省政府新闻办公室）,coordination,sz-bgt,宣传,否,分管副部长,新闻处,",
                   "sz-wxb,山东省委网络安全和信息化委员会办公室,coordination,sz-bgt,网信,否,分管副主任,网络舆情处,",
                   "sz-txglj,山东省通信管理局,coordination,sz-bgt,通信管理,是,分管副局长,网络安全管理处,",
                   "370100-xcb,中共济南市委宣传部,coordination,370100,宣传,否,分管副部长,新闻处,")  # fmt: skip
    assert [u.code for u in a1.coordination_units(small, "370100")] == ["370100-xcb", "sz-wxb", "sz-txglj"]


def test_a2_3_coordination_units_are_never_responsible(d: Directory) -> None:
    with pytest.raises(ValueError, match="协调单位不作为责任单位"):
        a1.coordination_units(d, "370100-xcb")
    with pytest.raises(KeyError, match="未知单位"):
        a1.coordination_units(d, "nowhere")


def test_a2_3_a_directory_without_coordination_units_gives_none(tmp_path: Path) -> None:
    small = _small(tmp_path, "370100-jyj,济南市教育局,department,370100,教育,否,分管副局长,办公室,")
    assert a1.coordination_units(small, "370100-jyj") == []
