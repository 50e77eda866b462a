"""Write the shipped unit directory ``yuqing/data/units.csv`` from the small tables below.

    python -m yuqing.data.build_directory           # rewrite units.csv
    python -m yuqing.data.build_directory --check   # exit 1 if units.csv differs from what this writes

The file is generated, never edited by hand: a test checks that this script reproduces it byte for
byte. The output is deterministic (the tables' order, ``\\n`` line ends, no clock, no network).

What it holds (A1.1, A1.2, A1.3, A2.2, A2.3, N1.1):

- the provincial general office ``sz-bgt`` (it stands for the provincial government; principal 省长);
- the provincial departments (``sz-…``), each with its domains (主管领域); 国家税务总局山东省税务局 is
  vertically managed (垂直管理, N1.1);
- the coordination units of A2.3: 省委宣传部（省政府新闻办公室）, 省委网信办 and 山东省通信管理局 under the
  office, and each city's 市委宣传部 and 市委网信办 under its government;
- the 16 cities by their GB/T 2260 codes (莱芜 merged into 济南 in 2019: there is no 371200), each with its
  departments, and two or three counties (县、县级市、市辖区) each, with departments of ten domains
  (their tax bureau vertical).

Names follow each level's usual pattern (济南市教育局, 国家税务总局济南市历下区税务局 …); leaders, sections
and principals are **roles** (分管副局长, 办公室, 县长), never people. A deployment with real contacts
keeps them in its own file and points ``$YUQING_DIRECTORY`` at its own directory.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from yuqing.directory import COLUMNS, DEFAULT_DIRECTORY_PATH, DOMAIN_SEPARATOR

OFFICE = "sz-bgt"
Table = tuple[tuple[str, str, tuple[str, ...], bool, str, str], ...]
"""Departments: code (or code suffix), name (or name after the place's), domains, vertical, leader, section."""


@dataclass(frozen=True)
class Row:
    """One line of units.csv."""

    code: str
    name: str
    kind: str
    parent: str
    domains: tuple[str, ...]
    vertical: bool
    leader: str
    section: str
    principal: str = ""

    def cells(self) -> list[str]:
        return [
            self.code, self.name, self.kind, self.parent, DOMAIN_SEPARATOR.join(self.domains),
            "是" if self.vertical else "否", self.leader, self.section, self.principal,
        ]  # fmt: skip


# ------------------------------------------------------------------------------ the province

PROVINCIAL_COORDINATION = (
    # code, name, domain, vertical, leader, section (A2.3)
    ("sz-xcb", "中共山东省委宣传部（省政府新闻办公室）", "宣传", False, "分管副部长", "新闻处"),
    ("sz-wxb", "山东省委网络安全和信息化委员会办公室", "网信", False, "分管副主任", "网络舆情处"),
    ("sz-txglj", "山东省通信管理局", "通信管理", True, "分管副局长", "网络安全管理处"),
)

PROVINCIAL_DEPARTMENTS: Table = (
    # code, name, domains, vertical, leader, section
    ("sz-jyt", "山东省教育厅", ("教育",), False, "分管副厅长", "办公室（新闻宣传处）"),
    ("sz-gat", "山东省公安厅", ("公安",), False, "分管副厅长", "宣传处"),
    ("sz-wsjkw", "山东省卫生健康委员会", ("卫生健康",), False, "分管副主任", "宣传处"),
    ("sz-yjt", "山东省应急管理厅", ("应急管理",), False, "分管副厅长", "办公室"),
    ("sz-zjt", "山东省住房和城乡建设厅", ("住房城乡建设",), False, "分管副厅长", "办公室"),
    ("sz-sthjt", "山东省生态环境厅", ("生态环境",), False, "分管副厅长", "宣传教育处"),
    ("sz-scjgj", "山东省市场监督管理局", ("市场监管",), False, "分管副局长", "新闻宣传处"),
    ("sz-rst", "山东省人力资源和社会保障厅", ("人力资源社会保障",), False, "分管副厅长", "办公室"),
    ("sz-jtt", "山东省交通运输厅", ("交通运输",), False, "分管副厅长", "办公室"),
    ("sz-nynct", "山东省农业农村厅", ("农业农村",), False, "分管副厅长", "办公室"),
    ("sz-zrzyt", "山东省自然资源厅", ("自然资源",), False, "分管副厅长", "办公室"),
    ("sz-mzt", "山东省民政厅", ("民政",), False, "分管副厅长", "办公室"),
    ("sz-whhlyt", "山东省文化和旅游厅", ("文化和旅游",), False, "分管副厅长", "办公室"),
    ("sz-slt", "山东省水利厅", ("水利",), False, "分管副厅长", "办公室"),
    ("sz-swt", "山东省商务厅", ("商务",), False, "分管副厅长", "办公室"),
    ("sz-tyjrswt", "山东省退役军人事务厅", ("退役军人事务",), False, "分管副厅长", "办公室"),
    ("sz-ybj", "山东省医疗保障局", ("医疗保障",), False, "分管副局长", "办公室"),
    ("sz-xfj", "山东省信访局", ("信访",), False, "分管副局长", "办公室"),
    ("sz-gxt", "山东省工业和信息化厅", ("工业和信息化",), False, "分管副厅长", "办公室"),
    ("sz-czt", "山东省财政厅", ("财政",), False, "分管副厅长", "办公室"),
    ("sz-fgw", "山东省发展和改革委员会", ("发展改革",), False, "分管副主任", "办公室"),
    ("sz-tyj", "山东省体育局", ("体育",), False, "分管副局长", "办公室"),
    ("sz-shuiwu", "国家税务总局山东省税务局", ("税务",), True, "分管副局长", "办公室"),
)

# ----------------------------------------------------------------------------------- cities

CITIES = (
    # code, name (GB/T 2260); 济南 and 青岛 are sub-provincial: their offices have 处, the others 科
    ("370100", "济南市"), ("370200", "青岛市"), ("370300", "淄博市"), ("370400", "枣庄市"),
    ("370500", "东营市"), ("370600", "烟台市"), ("370700", "潍坊市"), ("370800", "济宁市"),
    ("370900", "泰安市"), ("371000", "威海市"), ("371100", "日照市"), ("371300", "临沂市"),
    ("371400", "德州市"), ("371500", "聊城市"), ("371600", "滨州市"), ("371700", "菏泽市"),
)  # fmt: skip
SUB_PROVINCIAL = frozenset({"370100", "370200"})

CITY_DEPARTMENTS: Table = (
    # code suffix, name after the city's, domains, vertical, leader, section
    ("jyj", "教育局", ("教育",), False, "分管副局长", "办公室"),
    ("tyj", "体育局", ("体育",), False, "分管副局长", "办公室"),
    ("gaj", "公安局", ("公安",), False, "分管副局长", "宣传处"),
    ("wjw", "卫生健康委员会", ("卫生健康",), False, "分管副主任", "宣传处"),
    ("yjj", "应急管理局", ("应急管理",), False, "分管副局长", "办公室"),
    ("zjj", "住房和城乡建设局", ("住房城乡建设",), False, "分管副局长", "办公室"),
    ("sthjj", "生态环境局", ("生态环境",), False, "分管副局长", "办公室"),
    ("scjgj", "市场监督管理局", ("市场监管",), False, "分管副局长", "办公室"),
    ("rsj", "人力资源和社会保障局", ("人力资源社会保障",), False, "分管副局长", "办公室"),
    ("jtysj", "交通运输局", ("交通运输",), False, "分管副局长", "办公室"),
    ("nyj", "农业农村局", ("农业农村",), False, "分管副局长", "办公室"),
    ("zrzyj", "自然资源和规划局", ("自然资源",), False, "分管副局长", "办公室"),
    ("mzj", "民政局", ("民政",), False, "分管副局长", "办公室"),
    ("whlyj", "文化和旅游局", ("文化和旅游",), False, "分管副局长", "办公室"),
    ("slj", "水利局", ("水利",), False, "分管副局长", "办公室"),
    ("swj", "商务局", ("商务",), False, "分管副局长", "办公室"),
    ("tyjrswj", "退役军人事务局", ("退役军人事务",), False, "分管副局长", "办公室"),
    ("ybj", "医疗保障局", ("医疗保障",), False, "分管副局长", "办公室"),
    ("xfj", "信访局", ("信访",), False, "分管副局长", "办公室"),
    ("gxj", "工业和信息化局", ("工业和信息化",), False, "分管副局长", "办公室"),
    ("czj", "财政局", ("财政",), False, "分管副局长", "办公室"),
    ("fgw", "发展和改革委员会", ("发展改革",), False, "分管副主任", "办公室"),
    ("shuiwu", "税务局", ("税务",), True, "分管副局长", "办公室"),  # 国家税务总局…市税务局 (N1.1)
)
CITY_NAME_EXCEPTIONS = {("370100", "slj"): "济南市水务局", ("370200", "slj"): "青岛市水务管理局"}

# --------------------------------------------------------------------------------- counties

COUNTIES = (
    # code (GB/T 2260), name, city; a name ending in 区 is a district (市辖区), in 市 a county-level city
    ("370102", "历下区", "370100"), ("370112", "历城区", "370100"), ("370116", "莱芜区", "370100"),
    ("370211", "黄岛区", "370200"), ("370281", "胶州市", "370200"),
    ("370303", "张店区", "370300"), ("370305", "临淄区", "370300"),
    ("370402", "市中区", "370400"), ("370481", "滕州市", "370400"),
    ("370502", "东营区", "370500"), ("370523", "广饶县", "370500"),
    ("370602", "芝罘区", "370600"), ("370681", "龙口市", "370600"),
    ("370705", "奎文区", "370700"), ("370783", "寿光市", "370700"),
    ("370811", "任城区", "370800"), ("370830", "汶上县", "370800"),
    ("370902", "泰山区", "370900"), ("370982", "新泰市", "370900"),
    ("371002", "环翠区", "371000"), ("371082", "荣成市", "371000"),
    ("371102", "东港区", "371100"), ("371122", "莒县", "371100"),
    ("371302", "兰山区", "371300"), ("371321", "沂南县", "371300"),
    ("371402", "德城区", "371400"), ("371481", "乐陵市", "371400"),
    ("371502", "东昌府区", "371500"), ("371581", "临清市", "371500"),
    ("371602", "滨城区", "371600"), ("371625", "博兴县", "371600"),
    ("371702", "牡丹区", "371700"), ("371721", "曹县", "371700"),
)  # fmt: skip

COUNTY_DEPARTMENTS: Table = (
    # code suffix, name after the county's, domains, vertical, leader, section
    ("jyj", "教育和体育局", ("教育", "体育"), False, "分管副局长", "办公室"),
    ("gaj", "公安局", ("公安",), False, "分管副局长", "宣传科"),  # a district's: 市公安局…分局
    ("wjj", "卫生健康局", ("卫生健康",), False, "分管副局长", "办公室"),
    ("yjj", "应急管理局", ("应急管理",), False, "分管副局长", "办公室"),
    ("zjj", "住房和城乡建设局", ("住房城乡建设",), False, "分管副局长", "办公室"),
    ("scjgj", "市场监督管理局", ("市场监管",), False, "分管副局长", "办公室"),
    ("nyj", "农业农村局", ("农业农村",), False, "分管副局长", "办公室"),
    ("mzj", "民政局", ("民政",), False, "分管副局长", "办公室"),
    ("rsj", "人力资源和社会保障局", ("人力资源社会保障",), False, "分管副局长", "办公室"),
    ("shuiwu", "税务局", ("税务",), True, "分管副局长", "办公室"),  # 国家税务总局…税务局 (N1.1)
)
"""Ten departments, eleven domains: a county has no 生态环境 department of its own here (the city's
answers for it: A1.2's "no department of that domain at that level" falls to the county government)."""

COUNTY_TYPES = {
    # the last character of the name: its head (principal), its leader in charge, its office's section
    "区": ("区长", "分管副区长", "区政府办公室政务公开科"),
    "市": ("市长", "分管副市长", "市政府办公室政务公开科"),
    "县": ("县长", "分管副县长", "县政府办公室政务公开股"),
}


def _tax_name(place: str) -> str:
    return f"国家税务总局{place}税务局"


def rows() -> Iterator[Row]:
    """Every unit in file order: the province, then each city followed by its counties."""
    yield Row(OFFICE, "山东省人民政府办公厅", "provincial_office", "", (), False, "分管副秘书长", "政务公开处", "省长")
    for code, name, domain, vertical, leader, section in PROVINCIAL_COORDINATION:
        yield Row(code, name, "coordination", OFFICE, (domain,), vertical, leader, section)
    for code, name, domains, vertical, leader, section in PROVINCIAL_DEPARTMENTS:
        yield Row(code, name, "provincial_department", OFFICE, domains, vertical, leader, section)
    for city, city_name in CITIES:
        office = "办公厅政务公开处" if city in SUB_PROVINCIAL else "办公室政务公开科"
        grade = "处" if city in SUB_PROVINCIAL else "科"
        yield Row(city, f"{city_name}人民政府", "city_government", OFFICE, (), False, "分管副市长", f"市政府{office}", "市长")
        yield Row(f"{city}-xcb", f"中共{city_name}委宣传部", "coordination", city, ("宣传",), False, "分管副部长", f"新闻{grade}")
        yield Row(f"{city}-wxb", f"中共{city_name}委网络安全和信息化委员会办公室", "coordination", city, ("网信",),
                  False, "分管副主任", f"网络舆情{grade}")  # fmt: skip
        for suffix, unit, domains, vertical, leader, section in CITY_DEPARTMENTS:
            name = _tax_name(city_name) if suffix == "shuiwu" else CITY_NAME_EXCEPTIONS.get((city, suffix), city_name + unit)
            yield Row(f"{city}-{suffix}", name, "department", city, domains, vertical, leader, section)
        for county, county_name, parent in COUNTIES:
            if parent != city:
                continue
            principal, leader, section = COUNTY_TYPES[county_name[-1]]
            place = city_name + county_name if county_name.endswith("区") else county_name
            yield Row(county, f"{place}人民政府", "county_government", city, (), False, leader, section, principal)
            for suffix, unit, domains, vertical, dept_leader, dept_section in COUNTY_DEPARTMENTS:
                if suffix == "shuiwu":
                    name = _tax_name(place)
                elif suffix == "gaj" and county_name.endswith("区"):
                    name = f"{city_name}公安局{county_name}分局"
                else:
                    name = place + unit
                yield Row(f"{county}-{suffix}", name, "department", county, domains, vertical, dept_leader, dept_section)


def render() -> str:
    """The text of units.csv."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows():
        writer.writerow(row.cells())
    return out.getvalue()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m yuqing.data.build_directory", description="写出单位名录 write the shipped unit directory (units.csv)")
    parser.add_argument("--out", type=Path, default=DEFAULT_DIRECTORY_PATH, help=f"where to write (default {DEFAULT_DIRECTORY_PATH})")
    parser.add_argument("--check", action="store_true", help="只检查 only check that the file is what this script writes")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.out.read_bytes() if args.out.exists() else b""
        if current != text.encode("utf-8"):
            print(f"单位名录与生成脚本不一致 {args.out} differs: run python -m yuqing.data.build_directory", file=sys.stderr)
            return 1
        print(f"{args.out}: up to date ({text.count(chr(10)) - 1} units)")
        return 0
    args.out.write_bytes(text.encode("utf-8"))
    print(f"{args.out}: {text.count(chr(10)) - 1} units")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
