"""The 通报 as a document (A5.2, A5.3): HTML, Markdown, CSV and JSON from a hand-built assessment, and the HTML
rendered in a real headless Chromium (screenshot and PDF)."""

from __future__ import annotations

import csv
import json
import re
import shutil
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from assessment.document import minutes_text, period_label, write_circular, write_rows_csv
from assessment.models import (
    Assessment,
    EvaluationCounts,
    Finding,
    KindCounts,
    Listed,
    Period,
    Row,
    Totals,
)
from yuqing.models import ObligationKind, OpinionLevel

K = ObligationKind
EVIL = "青岛市公安局<script>alert('x')</script>"
"""A unit name that would run as a script if the circular did not escape it."""


def _assessment() -> Assessment:
    """Three cities and a provincial department; one 约谈整改, one 通报批评, one listed incident.

    Totals by hand: 发布权威信息 2 due (1 met, 1 late); 予以回应 4 due (2 met, 1 late, 1 overdue);
    接收转办 1 due (late); 报送研判 1 due (met) → 8 due, 4 met, 3 late, 1 overdue: 50.0 % on time."""
    lixia = Row(
        code="370102-jyj", name="济南市历下区教育和体育局", city="370100", city_name="济南市", incidents=2,
        obligations={K.AUTHORITATIVE_INFO: KindCounts(due=2, met=1, late=1), K.RESPONSE: KindCounts(due=2, met=1, overdue=1)},
        on_time_rate=0.5, median_lateness_minutes=90, worst_lateness_minutes=1500,
        escalations={"1": 3, "2": 2, "3": 1}, explanations=1,
        evaluations=EvaluationCounts(evaluated=1, improper_response=1),
    )  # fmt: skip
    qingdao = Row(
        code="370200-gaj", name=EVIL, city="370200", city_name="青岛市", incidents=1,
        obligations={K.RESPONSE: KindCounts(due=1, met=1)}, on_time_rate=1.0,
    )  # fmt: skip
    zibo = Row(
        code="370300-wjw", name="淄博市卫生健康委员会", city="370300", city_name="淄博市", incidents=1,
        obligations={K.RESPONSE: KindCounts(due=1, late=1)}, on_time_rate=0.0,
        median_lateness_minutes=30, worst_lateness_minutes=30, escalations={"1": 1},
        evaluations=EvaluationCounts(evaluated=1, ineffective_disposition=1),
    )  # fmt: skip
    edu = Row(
        code="sz-jyt", name="山东省教育厅", city=None, incidents=1,
        obligations={K.ACCEPTANCE: KindCounts(due=1, late=1), K.ANALYSIS: KindCounts(due=1, met=1)},
        on_time_rate=0.5, median_lateness_minutes=45, worst_lateness_minutes=45, escalations={"1": 1, "2": 1},
    )  # fmt: skip
    cities = [
        lixia.model_copy(update={"code": "370100", "name": "济南市", "city": "370100"}),
        qingdao.model_copy(update={"code": "370200", "name": "青岛市", "city": "370200"}),
        zibo.model_copy(update={"code": "370300", "name": "淄博市", "city": "370300"}),
        edu,
    ]
    return Assessment(
        period=Period(from_=date(2026, 11, 1), to=date(2026, 11, 30)),
        generated_at=datetime(2026, 12, 1, 1, 0, tzinfo=timezone.utc),
        totals=Totals(
            incidents=5,
            obligations={
                K.AUTHORITATIVE_INFO: KindCounts(due=2, met=1, late=1),
                K.RESPONSE: KindCounts(due=4, met=2, late=1, overdue=1),
                K.ACCEPTANCE: KindCounts(due=1, late=1),
                K.ANALYSIS: KindCounts(due=1, met=1),
            },
        ),
        units=[lixia, qingdao, zibo, edu],
        cities=cities,
        findings=[
            Finding(
                unit="sz-jyt",
                unit_name="山东省教育厅",
                finding="通报批评",
                incidents=["YQ-2026-0004"],
                facts=["接收转办应于2026-11-20T10:00+08:00前完成，逾期45分钟；升级至第2级（督办）"],
            ),
            Finding(
                unit="370102-jyj",
                unit_name="济南市历下区教育和体育局",
                finding="约谈整改",
                incidents=["YQ-2026-0001", "YQ-2026-0002"],
                facts=[
                    "发布权威信息应于2026-11-03T15:00+08:00前完成，逾期1天1小时",
                    "评价：回应不妥当，理由：口径<b>前后矛盾</b>",
                ],
            ),
        ],  # fmt: skip
        listed=[
            Listed(
                unit="370300-wjw",
                unit_name="淄博市卫生健康委员会",
                incident="YQ-2026-0005",
                opinion_level=OpinionLevel.RELATIVELY_MAJOR,
                facts=["予以回应逾期30分钟；评价：处置不得力，理由：未及时核查"],
            )
        ],  # fmt: skip
    )


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return write_circular(_assessment(), tmp_path_factory.mktemp("circular"))


def test_files_written(written: dict[str, Path]) -> None:
    assert {p.name for p in written.values()} == {
        "circular.html", "circular.md", "units.csv", "cities.csv", "assessment.json",
    }  # fmt: skip
    assert all(p.stat().st_size > 0 for p in written.values())


def test_html_is_a_circular_with_the_key_figures(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    for text in (
        "关于2026年11月政务舆情回应处置情况的通报", "山东省人民政府办公厅", "2026年12月1日",
        "一、总体情况", "二、存在的问题", "三、通报批评和约谈整改", "四、工作要求", "鲁政办发〔2018〕18号",
        "全省共发现政务舆情5起", "应办8项", "按时完成4项", "逾期完成3项", "超期未办1项", "总体按时率50.0%",
        "发布权威信息应办2项", "最长逾期1天1小时", "省政府办公厅督办1次", "YQ-2026-0005", "舆情等级：较大",
        "5小时内发布权威信息", "48小时内予以回应",
    ):  # fmt: skip
        assert text in page, text
    # 约谈整改 before 通报批评 in section 三, and each finding with its incidents and facts
    three = page[page.index("三、通报批评和约谈整改") : page.index("四、工作要求")]
    assert three.index("济南市历下区教育和体育局") < three.index("山东省教育厅（sz-jyt）")
    assert "YQ-2026-0001、YQ-2026-0002" in three and "逾期1天1小时" in three


def test_html_table_and_charts(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    jinan = re.search(r"<tr><td>济南市</td>(.*?)</tr>", page)
    assert jinan, "济南市 has a row in the city table"
    assert re.findall(r">([^<]*)</td>", jinan.group(1))[:5] == ["2", "50.0%", "90", "1500", "3"]
    assert page.count("<svg") == 2 and 'class="bar low"' in page and 'class="worst"' in page
    assert "@page" in page and "A4" in page and "Noto Serif CJK SC" in page


def test_html_escapes_data_and_loads_nothing(written: dict[str, Path]) -> None:
    page = written["html"].read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "&lt;script&gt;" in page and "&lt;b&gt;前后矛盾&lt;/b&gt;" in page
    assert not re.search(r"https?:|//[a-z]|url\(|@import|<link|<img|src=", page, re.IGNORECASE)


def test_markdown_says_the_same(written: dict[str, Path]) -> None:
    text = written["markdown"].read_text(encoding="utf-8")
    assert text.startswith("山东省人民政府办公厅\n\n# 关于2026年11月政务舆情回应处置情况的通报")
    for heading in ("## 一、总体情况", "## 二、存在的问题", "## 三、通报批评和约谈整改", "## 四、工作要求"):
        assert heading in text
    assert "| 济南市 | 2 | 50.0% | 90 | 1500 | 3 | 2 | 1 | 1 | 1 | 0 |" in text
    assert "总体按时率50.0%" in text and "```text" in text and "█" in text
    prose = re.sub(r"```text\n.*?\n```", "", text, flags=re.DOTALL)  # charts: code blocks show text as it is
    assert "\\<script\\>" in prose and not re.search(r"(?<!\\)<", prose), "every < outside code is escaped"


def _csv(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf"), "UTF-8 with BOM for Excel"
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_csvs_parse_with_the_numbers(written: dict[str, Path]) -> None:
    units = {r["代码 code"]: r for r in _csv(written["units_csv"])}
    assert set(units) == {"370102-jyj", "370200-gaj", "370300-wjw", "sz-jyt"}
    lixia = units["370102-jyj"]
    assert lixia["舆情数 incidents"] == "2" and float(lixia["按时率 on_time_rate"]) == 0.5
    assert lixia["发布权威信息逾期完成 authoritative_info_late"] == "1"
    assert lixia["予以回应超期未办 response_overdue"] == "1"
    assert float(lixia["最长逾期分钟 worst_lateness_minutes"]) == 1500
    assert lixia["升级3级 escalations_3"] == "1" and lixia["回应不妥当 improper_response"] == "1"
    assert units["370200-gaj"]["名称 name"] == EVIL
    assert units["370200-gaj"]["中位逾期分钟 median_lateness_minutes"] == ""
    cities = {r["名称 name"]: r for r in _csv(written["cities_csv"])}
    assert list(cities) == ["济南市", "青岛市", "淄博市", "山东省教育厅"]
    assert cities["淄博市"]["按时率 on_time_rate"] == "0.0" and cities["山东省教育厅"]["城市代码 city"] == ""


def test_csv_text_cannot_run_as_a_formula(tmp_path: Path) -> None:
    """A name from data that a spreadsheet would evaluate is written with a leading apostrophe."""
    path = tmp_path / "units.csv"
    write_rows_csv([Row(code="x-1", name='=HYPERLINK("x","点我")', city="370100", incidents=1)], path)
    (row,) = _csv(path)
    assert row["名称 name"] == '\'=HYPERLINK("x","点我")' and row["舆情数 incidents"] == "1"


def test_json_is_the_assessment_by_alias(written: dict[str, Path]) -> None:
    raw = written["json"].read_text(encoding="utf-8")
    assert "约谈整改" in raw, "ensure_ascii=False"
    data = json.loads(raw)
    assert data["period"] == {"from": "2026-11-01", "to": "2026-11-30"}
    assert Assessment.model_validate(data) == _assessment()


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), "2026年11月"),
        (date(2026, 10, 1), date(2026, 12, 31), "2026年第四季度"),
        (date(2026, 1, 1), date(2026, 12, 31), "2026年"),
        (date(2026, 11, 3), date(2026, 11, 3), "2026年11月3日"),
        (date(2026, 11, 1), date(2026, 11, 15), "2026年11月1日至11月15日"),
        (date(2026, 12, 16), date(2027, 1, 15), "2026年12月16日至2027年1月15日"),
    ],
)
def test_period_label(start: date, end: date, label: str) -> None:
    a = _assessment().model_copy(update={"period": Period(from_=start, to=end)})
    assert period_label(a) == label


def test_minutes_text() -> None:
    assert [minutes_text(m) for m in (None, 0, 45, 60, 125, 1500, 2880)] == [
        "—", "0分钟", "45分钟", "1小时", "2小时5分钟", "1天1小时", "2天",
    ]  # fmt: skip


def _chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def test_renders_in_headless_chromium(written: dict[str, Path], tmp_path: Path) -> None:
    """The HTML as a person sees it: a real browser takes a screenshot and prints it to PDF (A4)."""
    browser = _chromium()
    if browser is None:
        pytest.skip("no Chromium installed: .ci/run installs Debian's chromium package")
    url = written["html"].resolve().as_uri()
    png, pdf = tmp_path / "circular.png", tmp_path / "circular.pdf"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    subprocess.run(
        [*common, f"--screenshot={png}", "--window-size=1240,1754", url], check=True, capture_output=True, timeout=120
    )
    subprocess.run(
        [*common, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", url], check=True, capture_output=True, timeout=120
    )
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 50_000
    assert pdf.read_bytes().startswith(b"%PDF") and pdf.stat().st_size > 20_000
