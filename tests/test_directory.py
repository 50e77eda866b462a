"""The unit directory of the province (A1.1, A1.2, A1.3, A2.2, A2.3, N1.1, P4.d): the shipped file, its
generator, its checks (roles never people), and the look-ups the rules use."""

from __future__ import annotations

from pathlib import Path

import pytest

from yuqing.data import build_directory
from yuqing.directory import (
    COLUMNS,
    DEFAULT_DIRECTORY_PATH,
    Directory,
    DirectoryError,
    is_role,
    is_section,
    load_directory,
)
from yuqing.models import UnitKind

HEADER = ",".join(COLUMNS) + "\n"
OFFICE = "sz-bgt,山东省人民政府办公厅,provincial_office,,,否,分管副秘书长,政务公开处,省长\n"
CITY = "370100,济南市人民政府,city_government,sz-bgt,,否,分管副市长,市政府办公厅政务公开处,市长\n"
COUNTY = "370102,济南市历下区人民政府,county_government,370100,,否,分管副区长,区政府办公室政务公开科,区长\n"
SMALL = HEADER + OFFICE + CITY + COUNTY  # lines 2, 3, 4

CITY_CODES = {
    "370100", "370200", "370300", "370400", "370500", "370600", "370700", "370800",
    "370900", "371000", "371100", "371300", "371400", "371500", "371600", "371700",
}  # fmt: skip
"""The 16 cities (GB/T 2260); 莱芜 (371200) merged into 济南 in 2019."""
LISTED_DOMAINS = {
    "教育", "卫生健康", "公安", "应急管理", "生态环境", "住房城乡建设", "交通运输", "市场监管", "农业农村",
    "自然资源", "人力资源社会保障", "民政", "文化和旅游", "水利", "商务", "退役军人事务", "医疗保障", "信访",
    "税务", "工业和信息化", "财政",
}  # fmt: skip


@pytest.fixture(scope="module")
def d() -> Directory:
    return load_directory()


# ------------------------------------------------------------------------ the shipped file


def test_the_generator_reproduces_the_shipped_file_byte_for_byte() -> None:
    """units.csv is generated (python -m yuqing.data.build_directory), never edited by hand."""
    assert build_directory.render().encode("utf-8") == DEFAULT_DIRECTORY_PATH.read_bytes()


def test_the_generator_writes_and_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "units.csv"
    assert build_directory.main(["--out", str(out)]) == 0
    assert out.read_bytes() == DEFAULT_DIRECTORY_PATH.read_bytes()
    assert build_directory.main(["--check", "--out", str(out)]) == 0
    out.write_text(out.read_text(encoding="utf-8").replace("分管副局长", "张三", 1), encoding="utf-8")
    assert build_directory.main(["--check", "--out", str(out)]) == 1
    assert "单位名录与生成脚本不一致" in capsys.readouterr().err


def test_the_shipped_file_loads(d: Directory) -> None:
    assert d.source == str(DEFAULT_DIRECTORY_PATH)
    assert d.provincial_office.code == "sz-bgt" and d.provincial_office.principal == "省长"
    assert len(d) > 500


def test_the_sixteen_cities(d: Directory) -> None:
    assert {c.code for c in d.cities} == CITY_CODES
    assert "371200" not in d
    assert all(c.parent == "sz-bgt" and c.principal == "市长" for c in d.cities)


def test_every_county_belongs_to_a_city_and_every_city_has_two(d: Directory) -> None:
    counties = [u for u in d if u.kind == UnitKind.COUNTY_GOVERNMENT]
    assert all(d.get(c.parent or "").kind == UnitKind.CITY_GOVERNMENT for c in counties)
    assert all(len(d.counties(city.code)) >= 2 for city in d.cities)
    assert {c.code for c in d.counties("370100")} >= {"370102", "370112"}
    assert {c.principal for c in counties} == {"区长", "县长", "市长"}  # districts, counties, county-level cities


def test_every_county_has_departments_of_eight_domains_one_vertical(d: Directory) -> None:
    for county in (u for u in d if u.kind == UnitKind.COUNTY_GOVERNMENT):
        departments = [u for u in d if u.parent == county.code and u.kind == UnitKind.DEPARTMENT]
        assert len({domain for u in departments for domain in u.domains}) >= 8, county.code
        assert any(u.vertical and "税务" in u.domains for u in departments), county.code  # N1.1


def test_provincial_departments_cover_the_listed_domains(d: Directory) -> None:
    provincial = [u for u in d if u.kind == UnitKind.PROVINCIAL_DEPARTMENT]
    assert len(provincial) >= 20
    assert all(u.parent == "sz-bgt" and u.domains for u in provincial)
    assert LISTED_DOMAINS <= d.domains
    for domain in LISTED_DOMAINS:
        department = d.department("sz-bgt", domain)
        assert department is not None and department.kind == UnitKind.PROVINCIAL_DEPARTMENT, domain
    tax = d.department("sz-bgt", "税务")
    assert tax is not None and tax.name == "国家税务总局山东省税务局" and tax.vertical


def test_every_city_has_its_departments(d: Directory) -> None:
    for city in d.cities:
        for domain in LISTED_DOMAINS:
            department = d.department(city.code, domain)
            assert department is not None and department.code.startswith(f"{city.code}-"), (city.code, domain)


def test_coordination_units_at_province_and_every_city(d: Directory) -> None:
    """A2.3: 宣传 and 网信 at the province and in each city, the provincial 通信管理局 (vertical)."""
    assert [u.name for u in d.coordination("sz-bgt")] == [
        "中共山东省委宣传部（省政府新闻办公室）",
        "山东省委网络安全和信息化委员会办公室",
    ]
    admin = d.communications_administration
    assert (admin.name, admin.parent, admin.kind, admin.vertical) == ("山东省通信管理局", "sz-bgt", UnitKind.COORDINATION, True)
    for city in d.cities:
        units = d.coordination(city.code)
        assert [u.domains for u in units] == [["宣传"], ["网信"]], city.code
        assert all(u.kind == UnitKind.COORDINATION and u.parent == city.code for u in units)
    assert d.domains.isdisjoint({"宣传", "网信", "通信管理"})  # coordination units answer for no domain


@pytest.mark.parametrize(
    ("code", "kind", "parent", "name"),
    [  # the codes the rest of the suite relies on keep their kind, parent and name
        ("sz-bgt", UnitKind.PROVINCIAL_OFFICE, None, "山东省人民政府办公厅"),
        ("sz-jyt", UnitKind.PROVINCIAL_DEPARTMENT, "sz-bgt", "山东省教育厅"),
        ("370100", UnitKind.CITY_GOVERNMENT, "sz-bgt", "济南市人民政府"),
        ("370200", UnitKind.CITY_GOVERNMENT, "sz-bgt", "青岛市人民政府"),
        ("370300", UnitKind.CITY_GOVERNMENT, "sz-bgt", "淄博市人民政府"),
        ("370102", UnitKind.COUNTY_GOVERNMENT, "370100", "济南市历下区人民政府"),
        ("370102-jyj", UnitKind.DEPARTMENT, "370102", "济南市历下区教育和体育局"),
        ("370100-gaj", UnitKind.DEPARTMENT, "370100", "济南市公安局"),
        ("370100-jyj", UnitKind.DEPARTMENT, "370100", "济南市教育局"),
        ("370211-zjj", UnitKind.DEPARTMENT, "370211", "青岛市黄岛区住房和城乡建设局"),
    ],
)
def test_codes_the_suite_uses_are_kept(d: Directory, code: str, kind: UnitKind, parent: str | None, name: str) -> None:
    unit = d.get(code)
    assert (unit.kind, unit.parent, unit.name) == (kind, parent, name)


def test_roles_never_people_in_the_shipped_file(d: Directory) -> None:
    """A1.3, A2.2: leader, section and principal are roles."""
    assert all(is_role(u.leader) and is_section(u.section) for u in d)
    assert all(u.principal is None or is_role(u.principal) for u in d)


@pytest.mark.parametrize("value", ["分管副局长", "分管副厅长", "分管副秘书长", "分管副主任", "常务副市长", "县长", "主要负责同志"])
def test_is_role_accepts_roles(value: str) -> None:
    assert is_role(value)


@pytest.mark.parametrize("value", ["张三", "李四", "张局长", "王主任", "欧阳副区长", "局长张三", "13800000000", ""])
def test_is_role_refuses_people(value: str) -> None:
    assert not is_role(value)


@pytest.mark.parametrize("value", ["办公室", "办公室（新闻宣传处）", "区政府办公室政务公开科", "县政府办公室政务公开股", "宣传科"])
def test_is_section_accepts_sections(value: str) -> None:
    assert is_section(value)


@pytest.mark.parametrize("value", ["张三", "办公室（张三）", "王同志", "办公室 0531-12345678", "a@b.cn", "处", "（办公室）"])
def test_is_section_refuses_people_and_contacts(value: str) -> None:
    assert not is_section(value)


# ------------------------------------------------------------------------------- look-ups


def test_government_of(d: Directory) -> None:
    assert d.government_of(d.get("370102-jyj")).code == "370102"
    assert d.government_of(d.get("370100-gaj")).code == "370100"
    assert d.government_of(d.get("sz-jyt")).code == "sz-bgt"
    assert d.government_of(d.get("370102")).code == "370102"
    assert d.government_of(d.get("sz-bgt")).code == "sz-bgt"
    assert d.government_of(d.get("370100-xcb")).code == "370100"


def test_city_of(d: Directory) -> None:
    assert [getattr(d.city_of(c), "code", None) for c in ("370102-jyj", "370102", "370100", "370100-gaj", "sz-jyt", "sz-bgt")] == [
        "370100", "370100", "370100", "370100", None, None,
    ]  # fmt: skip
    with pytest.raises(KeyError, match="未知单位"):
        d.city_of("nowhere")


def test_department(d: Directory) -> None:
    assert getattr(d.department("370102", "教育"), "code", None) == "370102-jyj"
    assert getattr(d.department("370102", "体育"), "code", None) == "370102-jyj"  # 教育和体育局: two domains
    assert getattr(d.department("370100", "教育"), "code", None) == "370100-jyj"
    assert getattr(d.department("sz-bgt", "教育"), "code", None) == "sz-jyt"
    assert d.department("370102", "生态环境") is None  # no county department of that domain
    assert d.department("370102", "宣传") is None  # coordination units are not departments
    assert d.department("nowhere", "教育") is None


def test_counties_cities_and_domains_are_sorted_sets(d: Directory) -> None:
    assert [c.code for c in d.cities] == sorted(CITY_CODES)
    assert d.counties("370102") == [] and d.counties("nowhere") == []
    assert isinstance(d.domains, set)


def test_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """$YUQING_DIRECTORY chooses another file; the first release's $YUQING_UNITS still works, second."""
    mine, legacy = tmp_path / "mine.csv", tmp_path / "legacy.csv"
    mine.write_text(SMALL, encoding="utf-8")
    legacy.write_text(HEADER + OFFICE, encoding="utf-8")
    monkeypatch.delenv("YUQING_DIRECTORY", raising=False)
    monkeypatch.setenv("YUQING_UNITS", str(legacy))
    assert load_directory().source == str(legacy) and len(load_directory()) == 1
    monkeypatch.setenv("YUQING_DIRECTORY", str(mine))
    assert load_directory().source == str(mine) and len(load_directory()) == 3
    assert load_directory(legacy).source == str(legacy)  # an explicit path wins


def test_a_small_directory_without_coordination_units(tmp_path: Path) -> None:
    path = tmp_path / "units.csv"
    path.write_text(SMALL, encoding="utf-8")
    small = load_directory(path)
    assert small.coordination("370100") == [] and small.domains == set()
    with pytest.raises(DirectoryError, match="单位名录缺少省通信管理局"):
        small.communications_administration  # noqa: B018


# --------------------------------------------------------------------------- broken files

DEPT = "370102-jyj,济南市历下区教育和体育局,department,370102,教育|体育,否,分管副局长,办公室,\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        # the columns
        ("code,name,kind,parent,leader,section\n" + "sz-bgt,办公厅,provincial_office,,分管副秘书长,政务公开处\n",
         "line 1: 列名不对 columns must be code,name,kind,parent,domains,vertical,leader,section,principal (the first release's six columns"),
        (HEADER.replace("domains", "domain") + OFFICE, "line 1: 列名不对"),
        (SMALL + "370102-jyj,教育局,department,370102\n", "line 5: 列数不对 expected 9 columns"),
        (SMALL + "370102-jyj,教育局,department,370102,教育,否,分管副局长,办公室,,x\n", "line 5: 列数不对"),
        (SMALL + DEPT.replace(",否,", ",也许,"), "line 5: vertical"),
        (SMALL + DEPT.replace("department", "bureau"), "line 5: kind"),
        (SMALL + DEPT.replace("370102-jyj", "370102_JYJ"), "line 5: code"),
        # parents, codes and cycles
        (SMALL + DEPT.replace(",370102,", ",370199,"), "line 5: unit '370102-jyj' names unknown parent '370199'"),
        (SMALL + DEPT + DEPT.replace("教育|体育", "公安"), "line 6: 单位代码重复 duplicate code '370102-jyj' (first on line 5)"),
        (HEADER + OFFICE + "370100,济南市人民政府,city_government,370102,,否,分管副市长,办公室,市长\n" + COUNTY,
         "line 3: parents form a cycle: 370100 -> 370102 -> 370100"),
        (HEADER + OFFICE + OFFICE.replace("sz-bgt", "sz-2"), "exactly one provincial_office (省政府办公厅) is needed, found 2"),
        (HEADER + CITY.replace("sz-bgt", ""), "exactly one provincial_office"),
        (SMALL + CITY.replace("370100", "370200").replace("sz-bgt", ""), "line 5: unit '370200' (city_government) needs the government it belongs to"),
        # persons' names in role columns (A1.3)
        (SMALL + DEPT.replace("分管副局长", "张三"), "line 5: leader: 须填职务而非人名 '张三'"),
        (SMALL + DEPT.replace("分管副局长", "张局长"), "line 5: leader: 须填职务而非人名 '张局长'"),
        (SMALL + DEPT.replace("办公室", "张三"), "line 5: section: 须填科（处、室）而非人名 '张三'"),
        (SMALL + DEPT.replace("办公室", "办公室（王五 13800000000）"), "line 5: section"),
        (SMALL.replace(",区长\n", ",张三\n"), "line 4: principal: 须填职务而非人名 '张三'"),
        # structure
        (SMALL + DEPT.replace(",370102,", ",sz-bgt,"), "line 5: 上级单位类型不对 unit '370102-jyj' (department) must belong to a city_government or county_government, not to 'sz-bgt'"),
        (SMALL + DEPT + "370102-x,某科,department,370102-jyj,财政,否,分管副局长,办公室,\n", "line 6: 上级单位类型不对"),
        (SMALL + "sz-jyt,山东省教育厅,provincial_department,370100,教育,否,分管副厅长,办公室,\n", "line 5: 上级单位类型不对 unit 'sz-jyt' (provincial_department) must belong to a provincial_office"),
        (HEADER + OFFICE + COUNTY.replace("370100", "sz-bgt", 1), "line 3: 上级单位类型不对 unit '370102' (county_government) must belong to a city_government"),
        (SMALL + DEPT.replace("教育|体育", ""), "line 5: 部门须有主管领域 department '370102-jyj' names no domains"),
        (SMALL + DEPT + DEPT.replace("370102-jyj", "370102-tyj").replace("教育|体育", "体育"),
         "line 6: 同一政务主管领域重复 '370102' has two units of domain '体育': '370102-jyj' (line 5) and '370102-tyj'"),
        (SMALL + "370100-xcb,中共济南市委宣传部,coordination,370100,新闻,否,分管副部长,新闻处,\n", "line 5: 协调单位须为宣传、网信或通信管理"),
        (SMALL + "370100-xcb,中共济南市委宣传部,coordination,370100-jyj,宣传,否,分管副部长,新闻处,\n"
         "370100-jyj,济南市教育局,department,370100,教育,否,分管副局长,办公室,\n", "line 5: 上级单位类型不对 unit '370100-xcb' (coordination)"),
        (SMALL.replace(",区长\n", ",\n"), "line 4: 人民政府须写明主要负责同志 government '370102' needs a principal, one of 区长/县长/市长/旗长"),
        (SMALL.replace(",市长\n", ",区长\n"), "line 3: 人民政府须写明主要负责同志 government '370100' needs a principal, one of 市长 (got '区长')"),
        (SMALL + DEPT.replace("办公室,", "办公室,县长"), "line 5: 只有人民政府有主要负责同志 unit '370102-jyj' (department) has a principal"),
        (SMALL.replace(",,否,分管副区长", ",教育,否,分管副区长"), "line 4: 人民政府不设主管领域"),
    ],
)  # fmt: skip
def test_a_broken_directory_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "units.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryError) as err:
        load_directory(path)
    assert message in str(err.value), str(err.value)
    assert str(err.value).startswith(f"单位名录有误 {path}")


def test_an_unreadable_directory(tmp_path: Path) -> None:
    with pytest.raises(DirectoryError, match="单位名录无法读取 cannot read unit directory"):
        load_directory(tmp_path / "missing.csv")


def test_vertical_words(tmp_path: Path) -> None:
    rows = [DEPT.replace(",否,", f",{word},").replace("370102-jyj", f"370102-{i}").replace("教育|体育", f"领域{i}")
            for i, word in enumerate(["是", "否", "true", "False", "TRUE", ""])]  # fmt: skip
    path = tmp_path / "units.csv"
    path.write_text(SMALL + "".join(rows), encoding="utf-8")
    small = load_directory(path)
    assert [small.get(f"370102-{i}").vertical for i in range(6)] == [True, False, True, False, True, False]
