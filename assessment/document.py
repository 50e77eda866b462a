"""The 通报 as a document people read (A5.2, A5.3): printable HTML, Markdown, and the numbers as CSV and JSON.

``write_circular`` turns an :class:`~assessment.models.Assessment` into the files of ``yuqing assess --out DIR``.
The circular is built once as a list of neutral blocks (headings, paragraphs, lists, tables, figures) and
rendered twice, to HTML and to Markdown, so both say the same thing. Everything that comes from data (unit
names, facts, incident ids) is escaped; the HTML loads nothing from anywhere (inline CSS, inline SVG charts).
Standard library only: the document is small enough that string building stays readable.
"""

from __future__ import annotations

import csv
import html
import json
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from assessment.models import Assessment, Finding, KindCounts, Listed, Row
from yuqing.models import ObligationKind
from yuqing.timefmt import SHANGHAI

NOTICE_NO = "鲁政办发〔2018〕18号"
NOTICE_TITLE = "《山东省人民政府办公厅关于进一步做好政务舆情工作的通知》"
ADDRESSEES = "各市人民政府，省政府各部门、各直属机构："
NUMERALS = "一二三四五六七八九十"
TOP_N = 5
"""How many units section 二 names per problem (the tables and the CSVs have them all)."""

# ------------------------------------------------------------------------------------------------ blocks


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Para:
    text: str
    lead: str = ""
    """Bold words in front of the text (a numbered point such as ``（一）按时率偏低。``)."""
    cls: str = ""


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]
    ordered: bool = False


@dataclass(frozen=True)
class Table:
    caption: str
    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    align: str = ""
    """Per column: ``l`` text that wraps, ``n`` short text kept on one line, ``w`` a list (``a、b``) that wraps
    only between its items, ``r`` a number; default ``lrr…``.
    A newline in a head is a line break in HTML and a space in Markdown."""
    foot: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Figure:
    caption: str
    svg: str
    """Inline SVG markup, already escaped."""
    text: str
    """The same chart as monospaced text bars, for Markdown."""


@dataclass(frozen=True)
class Group:
    """Blocks kept on one page where possible (a finding with its facts)."""

    blocks: tuple[Block, ...]
    cls: str = "keep"


Block = Heading | Para | Items | Table | Figure | Group


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ API


def write_circular(assessment: Assessment, out_dir: Path, *, issuer: str = "山东省人民政府办公厅") -> dict[str, Path]:
    """Write the circular of ``assessment`` into ``out_dir`` (A5.2, A5.3) and return the paths by kind:
    ``html`` (circular.html), ``markdown`` (circular.md), ``units_csv``, ``cities_csv``, ``json``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    doc = build_document(assessment, issuer=issuer)
    paths = {
        "html": out_dir / "circular.html",
        "markdown": out_dir / "circular.md",
        "units_csv": out_dir / "units.csv",
        "cities_csv": out_dir / "cities.csv",
        "json": out_dir / "assessment.json",
    }
    paths["html"].write_text(render_html(doc), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(doc), encoding="utf-8")
    write_rows_csv(assessment.units, paths["units_csv"])
    write_rows_csv(assessment.cities, paths["cities_csv"])
    data = assessment.model_dump(mode="json", by_alias=True)
    paths["json"].write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return paths


def build_document(assessment: Assessment, *, issuer: str = "山东省人民政府办公厅") -> Document:
    """The circular's content in the order of a government 通报 (A5.2): head, 一 to 四, signature, annexes."""
    doc = Document(title=f"关于{period_label(assessment)}政务舆情回应处置情况的通报")
    doc.blocks += _head(assessment, issuer, doc.title)
    doc.blocks += _overview(assessment)
    doc.blocks += _problems(assessment)
    doc.blocks += _findings(assessment)
    doc.blocks += _requirements()
    doc.blocks.append(Para(f"{issuer}\n{chinese_date(issued_on(assessment))}", cls="sign"))
    doc.blocks += _annex_units(assessment)
    doc.blocks += _annex_listed(assessment)
    return doc


# ------------------------------------------------------------------------------------------------ formats


def chinese_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def issued_on(assessment: Assessment) -> date:
    """The circular's date: the day it was generated, Asia/Shanghai (A5.2)."""
    at: datetime = assessment.generated_at
    return (at.astimezone(SHANGHAI) if at.tzinfo else at).date()


def period_label(assessment: Assessment) -> str:
    """``2026年11月`` for a calendar month, ``2026年第四季度``, ``2026年``, otherwise the two days (A5.2)."""
    start, end = assessment.period.from_, assessment.period.to
    last = _month_end(end)
    if start.day == 1 and end == last and start.year == end.year:
        if start.month == end.month:
            return f"{start.year}年{start.month}月"
        if (start.month, end.month) == (1, 12):
            return f"{start.year}年"
        if start.month % 3 == 1 and end.month == start.month + 2:
            return f"{start.year}年第{NUMERALS[(start.month - 1) // 3]}季度"
    if start == end:
        return chinese_date(start)
    tail = f"{end.month}月{end.day}日" if end.year == start.year else chinese_date(end)
    return f"{chinese_date(start)}至{tail}"


def _month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.1%}"


def minutes_text(minutes: float | None) -> str:
    """Lateness as people say it: ``45分钟``, ``2小时5分钟``, ``1天3小时``."""
    if minutes is None:
        return "—"
    total = round(minutes)
    if total < 60:
        return f"{total}分钟"
    hours, mins = divmod(total, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days}天" if days else "", f"{hours}小时" if hours else "", f"{mins}分钟" if mins else ""]
    return "".join(parts)


def number(value: float | None) -> str:
    if value is None:
        return "—"
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}"


def _unit(name: str, code: str) -> str:
    return f"{name}（{code}）" if code and code != name else name


def _numbered(index: int) -> str:
    """（一）, （二）… for points inside a section."""
    return f"（{NUMERALS[index]}）" if index < len(NUMERALS) else f"（{index + 1}）"


# ------------------------------------------------------------------------------------------------ numbers


def summed(counts: Iterable[KindCounts]) -> KindCounts:
    out = KindCounts()
    for c in counts:
        for name in KindCounts.model_fields:
            setattr(out, name, getattr(out, name) + getattr(c, name))
    return out


def rate_of(c: KindCounts) -> float | None:
    """met ÷ (met + late + overdue), ``None`` when none of those (A5.2)."""
    decided = c.met + c.late + c.overdue
    return c.met / decided if decided else None


def escalation_levels(rows: Sequence[Row]) -> list[str]:
    """The escalation levels that occur in ``rows``, in order (``"1"``, ``"2"``…); at least ``"1"``."""
    keys = {k for row in rows for k, n in row.escalations.items() if n}
    return sorted(keys | {"1"}, key=lambda k: (not k.isdigit(), int(k) if k.isdigit() else 0, k))


def _level_label(key: str) -> str:
    return f"{key}级" if key.isdigit() else key


def office_level(row: Row) -> int | None:
    """The escalation level at which the provincial general office 督办 (P4.d), where the row alone says it:
    a provincial department's chain is unit → office, a city government's city → office. ``None`` otherwise
    (a city or county department: the level depends on the chain, which the row does not carry)."""
    if row.city is None or row.code == row.city:
        return 2
    return None


def _above_first(row: Row) -> dict[int, int]:
    return {int(k): n for k, n in row.escalations.items() if k.isdigit() and int(k) >= 2 and n}


# ------------------------------------------------------------------------------------------------ sections


def _head(a: Assessment, issuer: str, title: str) -> list[Block]:
    start, end = a.period.from_, a.period.to
    return [
        Para(issuer, cls="red-head"),
        Heading(title, level=1),
        Para(f"（统计期间：{chinese_date(start)}至{chinese_date(end)}）", cls="subtitle"),
        Para(ADDRESSEES, cls="addressee"),
        Para(
            f"按照{NOTICE_TITLE}（{NOTICE_NO}）关于建立考核问责制度的要求，省政府办公厅对{period_label(a)}"
            "各市、省政府各部门政务舆情回应处置情况进行了评估。现将有关情况通报如下："
        ),
    ]


def _overview(a: Assessment) -> list[Block]:
    """一、总体情况: the province's totals and per-kind on-time figures, the city table and charts (A5.2)."""
    total = summed(a.totals.obligations.values())
    active = sum(1 for u in a.units if u.incidents)
    blocks: list[Block] = [
        Heading("一、总体情况"),
        Para(
            f"{period_label(a)}，全省共发现政务舆情{a.totals.incidents}起，涉及责任单位{active}个。"
            f"各类时限事项应办{total.due}项，按时完成{total.met}项，逾期完成{total.late}项，超期未办{total.overdue}项，"
            f"依规免除{total.waived}项，尚未到期{total.pending}项，总体按时率{pct(rate_of(total))}"
            "（按时完成数÷（按时完成数＋逾期完成数＋超期未办数））。"
        ),
    ]
    if per_kind := _per_kind_sentence(a):
        blocks.append(Para(per_kind))
    blocks.append(Para(_escalation_and_evaluation_sentence(a)))
    province = rate_of(total)
    blocks += [_kind_table(a), _city_table(a), _rate_figure(a.cities, province), _lateness_figure(a.cities)]
    return blocks


def _kinds(a: Assessment) -> list[ObligationKind]:
    return [k for k in ObligationKind if k in a.totals.obligations]


def _per_kind_sentence(a: Assessment) -> str:
    parts = []
    for kind in _kinds(a):
        c = a.totals.obligations[kind]
        parts.append(
            f"{kind.zh}应办{c.due}项、按时{c.met}项、逾期完成{c.late}项、超期未办{c.overdue}项，按时率{pct(rate_of(c))}"
        )
    return ("分事项看：" + "；".join(parts) + "。") if parts else ""


def _escalation_and_evaluation_sentence(a: Assessment) -> str:
    levels = {k: sum(u.escalations.get(k, 0) for u in a.units) for k in escalation_levels(a.units)}
    total = sum(levels.values())
    evaluated = sum(u.evaluations.evaluated for u in a.units)
    improper = sum(u.evaluations.improper_response for u in a.units)
    ineffective = sum(u.evaluations.ineffective_disposition for u in a.units)
    by_level = "、".join(f"第{_level_label(k)}{n}次" for k, n in levels.items() if n)
    escalated = f"因逾期逐级发出升级提醒{total}次（{by_level}）" if total else "未发生逾期升级"
    explanations = sum(u.explanations for u in a.units)
    reached = [f.finding for f in a.findings]
    return (
        f"{escalated}；责任单位报送超时说明{explanations}份。省政府办公厅对{evaluated}起舆情的回应处置情况进行了评价，"
        f"其中回应不妥当{improper}起、处置不得力{ineffective}起。本期约谈整改{reached.count('约谈整改')}个单位、"
        f"通报批评{reached.count('通报批评')}个单位，另列示重大以下舆情{len(a.listed)}起。"
    )


def _kind_table(a: Assessment) -> Table:
    rows = []
    for kind in _kinds(a):
        c = a.totals.obligations[kind]
        rows.append((kind.zh, *map(str, (c.due, c.met, c.late, c.overdue, c.waived, c.pending)), pct(rate_of(c))))
    t = summed(a.totals.obligations.values())
    foot = ("合计", *map(str, (t.due, t.met, t.late, t.overdue, t.waived, t.pending)), pct(rate_of(t)))
    head = ("事项", "应办", "按时完成", "逾期完成", "超期未办", "依规免除", "尚未到期", "按时率")  # fmt: skip
    return Table("表1　各类时限事项完成情况", head, tuple(rows), foot=foot)


def _city_table(a: Assessment) -> Table:
    """The per-city table (A5.2): a provincial department is its own row."""
    levels = escalation_levels(a.cities)
    head = (
        "地区/部门", "舆情数", "按时率", "中位逾期\n（分钟）", "最长逾期\n（分钟）",
        *(f"升级\n{_level_label(k)}" for k in levels), "已评价", "回应\n不妥当", "处置\n不得力",
    )  # fmt: skip
    rows = tuple(_city_cells(row, levels) for row in a.cities)
    total = summed(a.totals.obligations.values())
    worst = max((r.worst_lateness_minutes for r in a.cities if r.worst_lateness_minutes is not None), default=None)
    foot = (
        "全省合计", str(a.totals.incidents), pct(rate_of(total)), "—", number(worst),
        *(str(sum(r.escalations.get(k, 0) for r in a.cities)) for k in levels),
        *(str(sum(getattr(r.evaluations, f) for r in a.cities)) for f in _EVALUATION_FIELDS),
    )  # fmt: skip
    return Table("表2　各市及省直部门政务舆情回应处置情况", head, rows, foot=foot)


_EVALUATION_FIELDS = ("evaluated", "improper_response", "ineffective_disposition")


def _city_cells(row: Row, levels: Sequence[str]) -> tuple[str, ...]:
    return (
        row.name, str(row.incidents), pct(row.on_time_rate),
        number(row.median_lateness_minutes), number(row.worst_lateness_minutes),
        *(str(row.escalations.get(k, 0)) for k in levels),
        *(str(getattr(row.evaluations, f)) for f in _EVALUATION_FIELDS),
    )  # fmt: skip


def _problems(a: Assessment) -> list[Block]:
    """二、存在的问题, read off the numbers (A5.2): lowest on-time rates, worst lateness, escalations, evaluations."""
    points = [p for p in (_low_rates(a), _lateness(a), _escalations(a), _evaluations(a)) if p is not None]
    blocks: list[Block] = [Heading("二、存在的问题")]
    if not points:
        blocks.append(Para("本期各责任单位均在时限内完成各项回应处置工作，未发现逾期、升级或评价不佳的情况。"))
        return blocks
    blocks.append(Para("从评估情况看，个别地方和部门仍存在回应不及时、处置不到位等问题，主要是："))
    blocks += [Para(text, lead=f"{_numbered(i)}{lead}") for i, (lead, text) in enumerate(points)]
    return blocks


def _low_rates(a: Assessment) -> tuple[str, str] | None:
    low = sorted(
        (u for u in a.units if u.on_time_rate is not None and u.on_time_rate < 1),
        key=lambda u: (u.on_time_rate, -u.incidents),
    )[:TOP_N]
    if not low:
        return None
    cities = sorted((c for c in a.cities if c.on_time_rate is not None and c.on_time_rate < 1),
                    key=lambda c: c.on_time_rate or 0.0)[:3]  # fmt: skip
    text = "按时率最低的责任单位是：" + "；".join(_rate_detail(u) for u in low) + "。"
    if cities:
        text += (
            "分地区和部门看，按时率较低的是" + "、".join(f"{c.name}（{pct(c.on_time_rate)}）" for c in cities) + "。"
        )
    return "回应处置不够及时。", text


def _rate_detail(u: Row) -> str:
    c = summed(u.obligations.values())
    return f"{u.name}{pct(u.on_time_rate)}（按时{c.met}项、逾期完成{c.late}项、超期未办{c.overdue}项）"


def _lateness(a: Assessment) -> tuple[str, str] | None:
    late = sorted(
        (u for u in a.units if u.worst_lateness_minutes),
        key=lambda u: -(u.worst_lateness_minutes or 0.0),
    )[:TOP_N]
    if not late:
        return None
    items = [
        f"{u.name}最长逾期{minutes_text(u.worst_lateness_minutes)}（中位逾期{minutes_text(u.median_lateness_minutes)}）"
        for u in late
    ]
    return "逾期时间较长。", "逾期最长的是：" + "；".join(items) + "。"


def _escalations(a: Assessment) -> tuple[str, str] | None:
    """Escalations beyond the first level (催办 to the unit itself): a government above was told to 督促, or the
    provincial office had to 督办 (P4.a, P4.d)."""
    rows = sorted((u for u in a.units if _above_first(u)), key=lambda u: -sum(_above_first(u).values()))
    if not rows:
        return None
    texts = []
    for u in rows[: TOP_N * 2]:
        above = _above_first(u)
        text = f"{u.name}升级提醒{sum(u.escalations.values())}次，最高至第{max(above)}级"
        level = office_level(u)
        if level is not None and above.get(level):
            text += f"（省政府办公厅督办{sum(n for k, n in above.items() if k >= level)}次）"
        texts.append(text)
    office = sum(1 for u in rows if (lv := office_level(u)) is not None and any(k >= lv for k in _above_first(u)))
    tail = f"其中{office}个单位的逾期事项已升级至省政府办公厅督办。" if office else ""
    if len(rows) > TOP_N * 2:
        texts[-1] += f"等{len(rows)}个单位（详见附件1）"
    lead = "逾期事项经催办仍未办结、升级至上级政府督促或省政府办公厅督办的有："
    return "逾期后逐级升级。", lead + "；".join(texts) + "。" + tail


def _evaluations(a: Assessment) -> tuple[str, str] | None:
    bad = [u for u in a.units if u.evaluations.improper_response or u.evaluations.ineffective_disposition]
    if not bad:
        return None
    bad.sort(key=lambda u: -(u.evaluations.improper_response + u.evaluations.ineffective_disposition))
    items = [u.name + _evaluation_issues(u).replace("、", "起、") + "起" for u in bad[: TOP_N * 2]]
    more = f"等{len(bad)}个单位（详见附件1）" if len(bad) > TOP_N * 2 else ""
    return "回应处置效果不佳。", "经省政府办公厅评价，" + "；".join(items) + more + "。"


def _findings(a: Assessment) -> list[Block]:
    """三、通报批评和约谈整改 (A5.3): 约谈整改 first, each finding with its incidents and facts."""
    blocks: list[Block] = [
        Heading("三、通报批评和约谈整改"),
        Para(
            f"依据{NOTICE_NO}第五条，对重大及以上政务舆情处置不得力、回应不妥当、报告不及时的涉事单位予以通报批评；"
            f"在{a.look_back_days}日内再次出现上述情形的，予以约谈整改。"
        ),
    ]
    for index, kind in enumerate(("约谈整改", "通报批评")):
        found = [f for f in a.findings if f.finding == kind]
        blocks.append(Heading(f"{_numbered(index)}{kind}（{len(found)}个单位）", level=3))
        blocks += [_finding(i, f) for i, f in enumerate(found, 1)] or [Para("本期无。")]
    return blocks


def _finding(index: int, f: Finding) -> Group:
    return Group((
        Heading(f"{index}. {_unit(f.unit_name, f.unit)}", level=4),
        Para("、".join(f.incidents) + "。", lead=f"涉及事件{len(f.incidents)}起："),
        Items(tuple(f.facts)),
    ))  # fmt: skip


def _requirements() -> list[Block]:
    """四、工作要求: fixed text, the notice's own requirements (articles 一, 三, 四, 五 of 鲁政办发〔2018〕18号)."""
    points = [
        ("切实落实主体责任。", "各市、各部门要按照属地管理、分级负责、谁主管谁负责的原则做好政务舆情回应，"
         "涉事责任部门是第一责任主体；要明确分管负责人和承担相关工作的科（处、室），健全工作机制。"),
        ("严格落实回应时限。", "对涉及特别重大、重大突发事件的政务舆情，要快速反应、及时发声，最迟要在5小时内"
         "发布权威信息、24小时内举行新闻发布会；对其他政务舆情应在48小时内予以回应，并根据工作进展情况，"
         "持续发布权威信息。"),
        ("做好督办件办理。", "对省政府办公厅转交办理的政务舆情，要即接即办，重点给予关注，并及时报送办理情况"
         "（包括研判、回应、处置情况等）；遇有重大情况，随时向省政府报告。"),
        ("认真抓好整改落实。", "被通报批评和约谈整改的单位要认真查找原因，切实整改。各市、各部门要切实增强"
         "责任感、紧迫感，提高政务舆情回应的主动性、针对性、有效性。"),
    ]  # fmt: skip
    return [
        Heading("四、工作要求"),
        Para(f"各市、各部门要严格按照{NOTICE_NO}要求，进一步做好政务舆情回应处置工作。"),
        *(Para(text, lead=f"{_numbered(i)}{lead}") for i, (lead, text) in enumerate(points)),
    ]


def _annex_units(a: Assessment) -> list[Block]:
    """附件1: every responsible unit's row (A5.2)."""
    head = ("责任单位", "所属市", "舆情数", "按时率", "中位逾期\n（分钟）", "最长逾期\n（分钟）", "升级提醒",
            "超时\n说明", "已评价", "回应\n不妥当", "处置\n不得力")  # fmt: skip
    levels = escalation_levels(a.units)
    rows = tuple(
        (
            u.name, u.city_name or ("省直" if u.city is None else u.city), str(u.incidents), pct(u.on_time_rate),
            number(u.median_lateness_minutes), number(u.worst_lateness_minutes),
            "、".join(f"{_level_label(k)}{u.escalations[k]}" for k in levels if u.escalations.get(k)) or "0",
            str(u.explanations), *(str(getattr(u.evaluations, f)) for f in _EVALUATION_FIELDS),
        )
        for u in a.units
    )  # fmt: skip
    return [Heading("附件1　各责任单位情况表", level=2), Table("", head, rows, align="lnrrrrwrrrr")]


def _evaluation_issues(u: Row) -> str:
    """``回应不妥当1、处置不得力2``, leaving out what is zero (A5.1)."""
    e = u.evaluations
    parts = [
        (f"回应不妥当{e.improper_response}", e.improper_response),
        (f"处置不得力{e.ineffective_disposition}", e.ineffective_disposition),
    ]
    return "、".join(text for text, n in parts if n)


def _annex_listed(a: Assessment) -> list[Block]:
    """附件2: incidents below 重大 with the same facts, listed and not found (A5.3)."""
    blocks: list[Block] = [
        Heading("附件2　列示事件（舆情等级重大以下）", level=2),
        Para("以下事件舆情等级在重大以下，依照第五条只列示有关事实，不作通报批评或约谈整改认定。"),
    ]
    blocks += [_listed(i, item) for i, item in enumerate(a.listed, 1)] or [Para("本期无。")]
    return blocks


def _listed(index: int, item: Listed) -> Group:
    title = f"{index}. {_unit(item.unit_name, item.unit)}　事件{item.incident}　舆情等级：{item.opinion_level.zh}"
    return Group((Heading(title, level=4), Items(tuple(item.facts))))


# ------------------------------------------------------------------------------------------------ charts

_W, _LABEL = 640, 150
_ROW = 24


def _label(text: str, limit: int = 11) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _svg(height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {_W} {height}" width="{_W}" height="{height}" role="img" '
        f'aria-label="{html.escape(title)}"><title>{html.escape(title)}</title>' + "".join(body) + "</svg>"
    )


def _row_label(y: float, name: str) -> str:
    return (
        f'<text x="{_LABEL - 8}" y="{y:.1f}" dy="0.35em" text-anchor="end" class="label">'
        f"<title>{html.escape(name)}</title>{html.escape(_label(name))}</text>"
    )


def _grid(ticks: Sequence[tuple[float, str]], top: int, bottom: int, plot: int) -> list[str]:
    out = []
    for frac, text in ticks:
        x = _LABEL + plot * frac
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" class="grid"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle" class="tick">{html.escape(text)}</text>')
    return out


def rate_chart(rows: Sequence[Row], title: str, province: float | None = None) -> str:
    """Horizontal bars of on-time rate per row, 0–100 % (A5.2); a dashed line at the province's rate, and the
    rows below it in red."""
    top, plot = 26, _W - _LABEL - 60
    bottom = top + _ROW * len(rows)
    body = [
        *_legend([("bar", "按时率"), ("bar low", "低于全省")]),
        *_grid([(t / 4, f"{t * 25}%") for t in range(5)], top, bottom, plot),
    ]
    for i, row in enumerate(rows):
        y = top + i * _ROW
        body.append(_row_label(y + _ROW / 2, row.name))
        if row.on_time_rate is None:
            body.append(f'<text x="{_LABEL + 4}" y="{y + _ROW / 2:.1f}" dy="0.35em" class="none">无已到期事项</text>')
            continue
        width = plot * max(0.0, min(1.0, row.on_time_rate))
        cls = "bar low" if province is not None and row.on_time_rate < province else "bar"
        body.append(f'<rect x="{_LABEL}" y="{y + 6}" width="{width:.1f}" height="{_ROW - 12}" class="{cls}"/>')
        body.append(
            f'<text x="{_LABEL + width + 4:.1f}" y="{y + _ROW / 2:.1f}" dy="0.35em" class="value">'
            f"{pct(row.on_time_rate)}</text>"
        )
    if province is not None:
        x = _LABEL + plot * province
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" class="province"/>')
        body.append(f'<text x="{x:.1f}" y="{top - 7}" text-anchor="middle" class="tick">全省{pct(province)}</text>')
    return _svg(bottom + 22, title, body)


def _legend(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Swatches and words across the top of a chart, left to right from the plot's start."""
    out, x = [], _LABEL
    for cls, text in entries:
        out.append(f'<rect x="{x}" y="0" width="12" height="10" class="{cls}"/>')
        out.append(f'<text x="{x + 16}" y="5" dy="0.35em" class="tick">{html.escape(text)}</text>')
        x += 28 + 11 * len(text)
    return out


def _duration_ticks(top: float) -> tuple[float, list[tuple[float, str]]]:
    """A round axis end for ``top`` minutes and about five ticks labelled as durations."""
    steps = [5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320, 10080]
    step = next((s for s in steps if top / s <= 5), steps[-1] * math.ceil(top / (5 * steps[-1])))
    end = step * max(1, math.ceil(top / step))
    n = round(end / step)
    return end, [(i / n, _tick_text(i * step, step)) for i in range(n + 1)]


def _tick_text(minutes: float, step: int) -> str:
    """In the step's unit, so an axis reads 0, 6小时, 12小时 … 30小时 (not 1天 among hours)."""
    m = round(minutes)
    if m == 0:
        return "0"
    if step % 1440 == 0:
        return f"{m // 1440}天"
    return f"{m // 60}小时" if step % 60 == 0 else f"{m}分钟"


def short_minutes(minutes: float | None) -> str:
    """A chart's short duration: ``45分``, ``5小时20分``, ``2天16小时`` (minutes dropped after a day)."""
    if minutes is None:
        return "—"
    total = round(minutes)
    hours, mins = divmod(total, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days}天" + (f"{hours}小时" if hours else "")
    return (f"{hours}小时" if hours else "") + (f"{mins}分" if mins or not hours else "")


def lateness_chart(rows: Sequence[Row], title: str) -> str:
    """Worst and median lateness per row (A5.2): two bars each, on a duration axis, each with its value."""
    worst = max((r.worst_lateness_minutes or 0.0 for r in rows), default=0.0)
    row_h, top, plot = 30, 30, _W - _LABEL - 90
    bottom = top + row_h * len(rows)
    end, ticks = _duration_ticks(worst or 60.0)
    body = [*_legend([("worst", "最长逾期"), ("median", "中位逾期")]), *_grid(ticks, top, bottom, plot)]
    for i, row in enumerate(rows):
        y = top + i * row_h
        body.append(_row_label(y + row_h / 2, row.name))
        if not row.worst_lateness_minutes:
            body.append(f'<text x="{_LABEL + 4}" y="{y + row_h / 2:.1f}" dy="0.35em" class="none">无逾期</text>')
            continue
        for offset, cls, value in (
            (5, "worst", row.worst_lateness_minutes),
            (16, "median", row.median_lateness_minutes),
        ):
            w = plot * min(1.0, (value or 0.0) / end)
            body.append(f'<rect x="{_LABEL}" y="{y + offset}" width="{w:.1f}" height="9" class="{cls}"/>')
            body.append(
                f'<text x="{_LABEL + w + 3:.1f}" y="{y + offset + 4.5:.1f}" dy="0.35em" class="small">'
                f"{html.escape(short_minutes(value))}</text>"
            )
    return _svg(bottom + 22, title, body)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def text_bars(rows: Sequence[tuple[str, float | None, str]], scale: float) -> str:
    """Monospaced bars for Markdown: ``name  ██████░░░░  value``; ``None`` draws no bar."""
    names = [_label(n, 11).replace("`", "'").replace("~", "-") for n, _, _ in rows]
    width = max((_width(n) for n in names), default=0)
    lines = []
    for name, (_, value, text) in zip(names, rows, strict=True):
        filled = 0 if value is None or scale <= 0 else round(20 * min(1.0, value / scale))
        lines.append(f"{_pad(name, width)}  {'█' * filled}{'░' * (20 - filled)}  {text}")
    return "\n".join(lines)


def _rate_figure(rows: Sequence[Row], province: float | None) -> Figure:
    title = "图1　各市及省直部门按时率"
    text = text_bars(
        [(r.name, r.on_time_rate, pct(r.on_time_rate) if r.on_time_rate is not None else "无已到期事项") for r in rows],
        1.0,
    )
    text += f"\n（全省按时率{pct(province)}）"
    return Figure(title, rate_chart(rows, title, province), text)


def _lateness_words(r: Row) -> str:
    if not r.worst_lateness_minutes:
        return "无逾期"
    return f"最长{minutes_text(r.worst_lateness_minutes)}／中位{minutes_text(r.median_lateness_minutes)}"


def _lateness_figure(rows: Sequence[Row]) -> Figure:
    title = "图2　各市及省直部门逾期时长（最长／中位）"
    worst = max((r.worst_lateness_minutes or 0.0 for r in rows), default=0.0)
    bars = [(r.name, r.worst_lateness_minutes, _lateness_words(r)) for r in rows]
    return Figure(title, lateness_chart(rows, title), text_bars(bars, worst))


# ------------------------------------------------------------------------------------------------ HTML

CSS = """
@page { size: A4; margin: 25mm 22mm 22mm 22mm;
  @bottom-center { content: "— " counter(page) " —"; font-size: 10pt; } }
:root { --red: #c00000; }
* { box-sizing: border-box; }
html { background: #e8e8e8; }
body { margin: 0; font-family: "Noto Serif CJK SC", "Source Han Serif SC", "Noto Sans CJK SC", "Source Han Sans SC",
  "SimSun", "Songti SC", serif; font-size: 12pt; line-height: 1.75; color: #111; }
.page { width: 210mm; margin: 8mm auto; padding: 25mm 22mm 22mm; background: #fff;
  box-shadow: 0 0 4mm rgba(0,0,0,.2); }
.red-head { color: var(--red); text-align: center; font-size: 24pt; font-weight: bold; letter-spacing: .12em;
  margin: 0 0 2mm; padding-bottom: 3mm; border-bottom: 2px solid var(--red); }
h1 { text-align: center; font-size: 18pt; line-height: 1.5; margin: 8mm 0 1mm; }
.subtitle { text-align: center; margin: 0 0 6mm; text-indent: 0; }
.addressee { text-indent: 0; }
h2 { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "SimHei", sans-serif; font-size: 14pt;
  margin: 6mm 0 2mm; break-after: avoid; page-break-after: avoid; }
h3 { font-size: 12pt; margin: 4mm 0 1mm; break-after: avoid; page-break-after: avoid; }
h4 { font-size: 12pt; font-weight: bold; margin: 3mm 0 1mm; break-after: avoid; page-break-after: avoid; }
p { margin: 0 0 2mm; text-indent: 2em; text-align: justify; }
p strong { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "SimHei", sans-serif; font-weight: bold; }
ul, ol { margin: 0 0 3mm 2em; padding-left: 1.2em; }
li { margin: 0 0 1mm; }
.sign { text-align: right; text-indent: 0; margin: 10mm 0 8mm; white-space: pre-line; }
table { width: 100%; border-collapse: collapse; font-size: 9pt; line-height: 1.4; margin: 2mm 0 5mm; }
caption { caption-side: top; font-weight: bold; font-size: 10.5pt; padding-bottom: 1.5mm; }
th, td { border: 1px solid #444; padding: 1mm 1.4mm; vertical-align: middle; }
th { background: #f1f1f1; font-weight: bold; text-align: center; }
th { word-break: keep-all; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.short { white-space: nowrap; }
td.list { word-break: keep-all; }
tfoot td { font-weight: bold; background: #fafafa; }
figure { margin: 3mm 0 6mm; }
figcaption { text-align: center; font-weight: bold; font-size: 10.5pt; margin-bottom: 1mm; }
svg.chart { display: block; width: 100%; max-width: 166mm; height: auto; margin: 0 auto; }
svg.chart text { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "SimHei", sans-serif; font-size: 12px;
  fill: #222; }
svg.chart .tick { font-size: 11px; fill: #555; }
svg.chart .none { fill: #888; }
svg.chart .small { font-size: 10px; fill: #333; }
svg.chart .province { stroke: #333; stroke-width: 1.2; stroke-dasharray: 4 3; }
svg.chart .grid { stroke: #ccc; stroke-width: 1; }
svg.chart .bar { fill: #35608f; }
svg.chart .bar.low { fill: #c0504d; }
svg.chart .worst { fill: #8b1a1a; }
svg.chart .median { fill: #e6a48e; }
.annex { break-before: page; page-break-before: always; }
@media print {
  html { background: none; }
  .page { width: auto; margin: 0; padding: 0; box-shadow: none; }
  table, figure, .keep { break-inside: avoid; page-break-inside: avoid; }
  tr { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  svg.chart { max-height: 230mm; }
}
"""


def render_html(doc: Document) -> str:
    """Self-contained HTML: inline CSS with @page A4 and print rules, inline SVG, nothing fetched."""
    body = "\n".join(_html_block(b) for b in doc.blocks)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(doc.title)}</title>\n<style>{CSS}</style>\n</head>\n"
        f'<body>\n<main class="page">\n{body}\n</main>\n</body>\n</html>\n'
    )


def _html_block(block: Block) -> str:
    e = html.escape
    match block:
        case Heading(text, level):
            cls = ' class="annex"' if text.startswith("附件") else ""
            return f"<h{level}{cls}>{e(text)}</h{level}>"
        case Para(text, lead, cls):
            attr = f' class="{e(cls)}"' if cls else ""
            return f"<p{attr}>" + (f"<strong>{e(lead)}</strong>" if lead else "") + e(text) + "</p>"
        case Items(items, ordered):
            tag = "ol" if ordered else "ul"
            return f"<{tag}>" + "".join(f"<li>{e(i)}</li>" for i in items) + f"</{tag}>"
        case Table():
            return _html_table(block)
        case Figure(caption, svg, _):
            return f"<figure><figcaption>{e(caption)}</figcaption>{svg}</figure>"
        case Group(blocks, cls):
            return f'<div class="{e(cls)}">' + "\n".join(_html_block(b) for b in blocks) + "</div>"
    raise TypeError(block)


def _aligns(t: Table) -> str:
    return (t.align or "l").ljust(len(t.head), "r")


def _html_cells(cells: Sequence[str], aligns: str) -> str:
    classes = {"l": "", "n": ' class="short"', "w": ' class="list"', "r": ' class="num"'}
    return "".join(
        f"<td{classes[a]}>" + html.escape(c).replace("、", "、<wbr>" if a == "w" else "、") + "</td>"
        for a, c in zip(aligns, cells, strict=False)
    )


def _html_table(t: Table) -> str:
    aligns = _aligns(t)
    caption = f"<caption>{html.escape(t.caption)}</caption>" if t.caption else ""
    head = "".join(f"<th>{html.escape(h).replace(chr(10), '<br>')}</th>" for h in t.head)
    rows = "".join(f"<tr>{_html_cells(r, aligns)}</tr>" for r in t.rows)
    if not t.rows:
        rows = f'<tr><td colspan="{len(t.head)}">本期无。</td></tr>'
    foot = f"<tfoot><tr>{_html_cells(t.foot, aligns)}</tr></tfoot>" if t.foot else ""
    return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody>{foot}</table>"


# ------------------------------------------------------------------------------------------------ Markdown

_MD_SPECIAL = set("\\`*_[]<>|#&!~")


def md(text: str) -> str:
    """Markdown-safe text: one line, every character Markdown could read as markup backslash-escaped
    (so ``<script>`` stays text when the Markdown is rendered)."""
    flat = " ".join(text.split())
    return "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in flat)


def render_markdown(doc: Document) -> str:
    """The same blocks as Markdown; tables as pipe tables, charts as text bars in a fenced block."""
    return "\n\n".join(_md_block(b) for b in doc.blocks) + "\n"


def _md_block(block: Block) -> str:
    match block:
        case Heading(text, level):
            return "#" * level + " " + md(text)
        case Para(text, lead, cls):
            if cls == "sign":
                return "  \n".join(md(line) for line in text.splitlines())
            return (f"**{md(lead)}**" if lead else "") + md(text)
        case Items(items, ordered):
            return "\n".join(f"{i}. {md(x)}" if ordered else f"- {md(x)}" for i, x in enumerate(items, 1))
        case Table():
            return _md_table(block)
        case Figure(caption, _, text):
            return f"**{md(caption)}**\n\n```text\n{text}\n```"
        case Group(blocks, _):
            return "\n\n".join(_md_block(b) for b in blocks)
    raise TypeError(block)


def _md_table(t: Table) -> str:
    lines = [f"**{md(t.caption)}**", ""] if t.caption else []
    lines.append("| " + " | ".join(md(h) for h in t.head) + " |")
    lines.append("|" + "|".join("---:" if a == "r" else ":---" for a in _aligns(t)) + "|")
    lines += ["| " + " | ".join(md(c) for c in r) + " |" for r in t.rows]
    if t.foot:
        lines.append("| " + " | ".join(f"**{md(c)}**" for c in t.foot) + " |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------ CSV


def _csv_head(levels: Sequence[str]) -> list[str]:
    head = ["代码 code", "名称 name", "城市代码 city", "城市 city_name", "舆情数 incidents"]
    for kind in ObligationKind:
        head += [f"{kind.zh}{zh} {kind.value}_{en}" for zh, en in _COUNT_FIELDS]
    head += ["按时率 on_time_rate", "中位逾期分钟 median_lateness_minutes", "最长逾期分钟 worst_lateness_minutes"]
    head += [f"升级{_level_label(k)} escalations_{k}" for k in levels]
    head += ["超时说明 explanations", "补记报告 credited_reports", "已评价 evaluated",
             "回应不妥当 improper_response", "处置不得力 ineffective_disposition"]  # fmt: skip
    return head


_COUNT_FIELDS = (("应办", "due"), ("按时", "met"), ("逾期完成", "late"), ("超期未办", "overdue"),
                 ("免除", "waived"), ("未到期", "pending"))  # fmt: skip


def _csv_row(row: Row, levels: Sequence[str]) -> list[object]:
    def blank(value: float | None) -> object:
        return "" if value is None else value

    text = [_csv_text(v) for v in (row.code, row.name, row.city or "", row.city_name or "")]
    cells: list[object] = [*text, row.incidents]
    for kind in ObligationKind:
        c = row.obligations.get(kind, KindCounts())
        cells += [getattr(c, en) for _, en in _COUNT_FIELDS]
    cells += [blank(row.on_time_rate), blank(row.median_lateness_minutes), blank(row.worst_lateness_minutes)]
    cells += [row.escalations.get(k, 0) for k in levels]
    e = row.evaluations
    cells += [row.explanations, row.credited_reports, e.evaluated, e.improper_response, e.ineffective_disposition]
    return cells


def _csv_text(value: str) -> str:
    """Text a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``…) starts with an apostrophe."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_rows_csv(rows: Sequence[Row], path: Path) -> None:
    """Rows as CSV (A5.2): UTF-8 with a byte-order mark so Excel reads the Chinese; headers 中文 English."""
    levels = escalation_levels(rows)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(_csv_head(levels))
        writer.writerows(_csv_row(r, levels) for r in rows)
