"""Times as staff read and type them: Asia/Shanghai, always with the offset.

Input accepts what clerks type (``parse_time``): ISO 8601, ``2026/11/25 14:32``, ``2026年11月25日14时32分``,
``11月25日 9:30``, ``今天 9:30``, ``昨天下午3点半``, full-width digits and colons; a time without an offset means Asia/Shanghai. Output is ISO 8601 in Asia/Shanghai with its offset.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")
except (ImportError, ZoneInfoNotFoundError):  # no tz database on the machine
    # China has kept UTC+8 without daylight saving since 1991: the fixed offset is exact since then.
    SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class TimeFormatError(ValueError):
    """A time that cannot be read; the message is one line in Chinese and English, with an example."""


EXAMPLES = "2026-11-25 09:30、2026/11/25 09:30、2026年11月25日9时30分、11月25日 9:30、今天 9:30、昨天下午3点半、2小时30分钟前"
"""What a clerk may type, said in every refusal."""

_DAYS = {"今天": 0, "今日": 0, "昨天": -1, "昨日": -1, "前天": -2}
_PERIODS = {"凌晨": "am", "早上": "am", "早晨": "am", "上午": "am", "中午": "noon", "下午": "pm", "傍晚": "pm", "晚上": "pm"}
"""The part of the day clerks say before a 12-hour time: 下午3点 is 15:00, 中午1点 13:00, 凌晨12点 0:00."""
_CLOCK = (
    r"(?P<ap>" + "|".join(_PERIODS) + r")?\s*"
    r"(?P<h>\d{1,2})(?:[:时点](?P<m>\d{1,2}|半)?(?:分)?(?:[:](?P<s>\d{1,2})|(?P<s2>\d{1,2})秒)?)?"
)
_DATE_TIME = re.compile(
    r"^(?:(?P<y>\d{4})[-/.年])?(?P<mo>\d{1,2})[-/.月](?P<d>\d{1,2})日?(?:(?:\s*|T)" + _CLOCK + r")?$"
)
_AGO = re.compile(r"^(?:(?P<d>\d+)天)?(?:(?P<h>\d+)个?小时)?(?:(?P<m>\d+)分钟?)?(?:以)?前$")
_RELATIVE = re.compile(r"^(?P<day>今天|今日|昨天|昨日|前天)\s*(?:" + _CLOCK + r")?$")


def _normalised(value: str) -> str:
    """Full-width digits, colon, slash, hyphen and space (as a Chinese input method types them) made plain."""
    value = unicodedata.normalize("NFKC", value)
    for dash in ("\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212"):
        value = value.replace(dash, "-")
    return " ".join(value.replace("\u3000", " ").split())


def _refuse(text: str, why: str) -> TimeFormatError:
    return TimeFormatError(
        f"{why} {text!r}：请写日期和时间，如 {EXAMPLES}（北京时间）"
        f"write a date and a time, e.g. 2026-11-25 09:30 (Beijing time)"
    )


def parse_time(text: str, now: datetime | None = None) -> datetime:
    """An aware datetime from what a clerk types (a time without an offset is Beijing time):

    ``2026-11-25 09:30``, ``2026/11/25 09:30``, ``2026年11月25日09时30分``, ``11月25日 9:30`` (this year),
    ``今天 9:30``, ``昨天 21:00``, ``昨天下午3点半`` (上午/中午/下午/晚上/凌晨 with a 12-hour time), ``4小时58分钟前``, ISO 8601 (``2026-11-25T09:30+08:00``, ``…Z``); full-width digits, colons
    and spaces too. A date without a time is refused (taking it as 00:00 would start the clocks up to a day
    early); so is anything else, with an example of what to type. ``now`` fixes "today" (tests).
    """
    value = _normalised(text.strip())
    if not value:
        raise TimeFormatError(f"时间不能为空 time must not be empty：请写如 {EXAMPLES} e.g. 2026-11-25 09:30")
    today = local(now or datetime.now(timezone.utc))
    found = _AGO.match(value)
    if found and any(found.groups()):  # 4小时58分钟前, 30分钟前, 1天前: what a clerk says when asked "when?"
        days, hours, minutes = (int(g or 0) for g in found.groups())
        return (today - timedelta(days=days, hours=hours, minutes=minutes)).replace(second=0, microsecond=0)
    found = _RELATIVE.match(value)
    if found:
        if found["h"] is None:
            raise _refuse(text, "请写明几点几分 a time of day is missing in")
        day = (today + timedelta(days=_DAYS[found["day"]])).date()
        return _at(text, day.year, day.month, day.day, found)
    found = _DATE_TIME.match(value)
    if found:
        if found["h"] is None:
            raise _refuse(text, "只有日期，没有时间 a date without a time of day")
        year = int(found["y"]) if found["y"] else today.year
        return _at(text, year, int(found["mo"]), int(found["d"]), found)
    if re.fullmatch(_CLOCK, value):
        raise _refuse(text, "只有时间，没有日期（今天请写 今天 9:30）a time without a date")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise _refuse(text, "无法识别的时间 unparseable time") from None
    if re.fullmatch(r"\d{4}-?\d\d-?\d\d", value):
        raise _refuse(text, "只有日期，没有时间 a date without a time of day")
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


def _at(text: str, year: int, month: int, day: int, found: re.Match[str]) -> datetime:
    hour, minute = _hour(text, found), 30 if found["m"] == "半" else int(found["m"] or 0)
    second = int(found["s"] or found["s2"] or 0)
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)
    except ValueError:
        raise _refuse(text, "日期或时间不存在 no such date or time") from None


def _hour(text: str, found: re.Match[str]) -> int:
    """The hour on a 24-hour clock; a part of the day that contradicts it (上午15点, 晚上12点) is refused."""
    hour, period = int(found["h"]), _PERIODS.get(found["ap"] or "")
    if period is None or hour > 12 and period != "am":  # 24-hour already (下午15点 is 15:00)
        return hour
    if period == "am" and hour <= 12:
        return 0 if hour == 12 and found["ap"] == "凌晨" else hour
    if period == "noon" and (hour == 12 or 1 <= hour <= 2):
        return 12 if hour == 12 else hour + 12
    if period == "pm" and 1 <= hour <= 12 and not (hour == 12 and found["ap"] == "晚上"):
        return hour if hour == 12 else hour + 12
    raise _refuse(text, f"「{found['ap']}{hour}点」不成立，请用 24 小时制 the part of the day contradicts the hour")


BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
"""UTC+8 without daylight saving (since 1991): notification texts need no tz database."""


def beijing(value: datetime) -> str:
    """A time for message texts staff read: ``2026-11-25 12:55（北京时间）``."""
    return f"{value.astimezone(BEIJING):%Y-%m-%d %H:%M}（北京时间）"


def local(value: datetime) -> datetime:
    """``value`` in Asia/Shanghai (a naive value is taken as UTC, as the SDK gives them)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(SHANGHAI)


def iso(value: datetime) -> str:
    """ISO 8601 in Asia/Shanghai with the offset: ``2026-11-25T14:32:05.123456+08:00``."""
    return local(value).isoformat()


def show(value: datetime | None, *, empty: str = "—", seconds: bool = True) -> str:
    """For tables: ``2026-11-25 14:32:05+08:00`` (Asia/Shanghai, offset; ``seconds=False`` drops them)."""
    if value is None:
        return empty
    return local(value).isoformat(sep=" ", timespec="seconds" if seconds else "minutes")


def now() -> datetime:
    return datetime.now(SHANGHAI)


def clock(value: datetime | None, *, empty: str = "—") -> str:
    """For narrow table cells: ``2026-11-25 14:32`` in Beijing time (the table says so once)."""
    if value is None:
        return empty
    return f"{local(value):%Y-%m-%d %H:%M}"


def span(delta: timedelta) -> str:
    """A duration in Chinese, to the minute: ``2天3小时5分``, ``45分钟``, ``不足1分钟``."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes == 0:
        return "不足1分钟"
    if minutes < 60:
        return f"{minutes}分钟"
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days}天")
    if hours:
        parts.append(f"{hours}小时")
    if mins and not days:
        parts.append(f"{mins}分")
    return "".join(parts) or f"{days}天"


def countdown(due_at: datetime, at: datetime) -> str:
    """``剩余 3小时12分`` before ``due_at``, ``逾期 1小时5分`` after it."""
    if at <= due_at:
        return f"剩余 {span(due_at - at)}"
    return f"逾期 {span(at - due_at)}"


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of ``value`` with every datetime in Asia/Shanghai (ISO 8601, offset).

    Timedeltas become ISO 8601 durations as pydantic writes them (``PT1H``), enums their ids.
    """
    from pydantic import TypeAdapter

    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, timedelta):
        return TypeAdapter(timedelta).dump_python(value, mode="json")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="python"))
    if isinstance(value, str):
        return str(value)  # StrEnum members become their ids
    return value
