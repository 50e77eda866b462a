"""Times as staff read and type them: Asia/Shanghai, always with the offset.

Input accepts ISO 8601 (``2026-11-25T14:32``, ``2026-11-25 14:32:05+08:00``, ``…Z``); a time
without an offset means Asia/Shanghai. Output is ISO 8601 in Asia/Shanghai with its offset.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    SHANGHAI: tzinfo = ZoneInfo("Asia/Shanghai")
except (ImportError, ZoneInfoNotFoundError):  # no tz database on the machine
    # China has kept UTC+8 without daylight saving since 1991: the fixed offset is exact since then.
    SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


class TimeFormatError(ValueError):
    """A time that cannot be read; the message is one line in Chinese and English."""


_CHINESE = re.compile(
    r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*(?:(\d{1,2})[时:：](?:(\d{1,2})分?)?(?:(\d{1,2})秒)?)?$"
)


def _normalised(value: str) -> str:
    """``2026/11/26 08:00`` and ``2026年11月26日08时30分`` as ISO 8601 (the forms clerks type)."""
    found = _CHINESE.match(value)
    if found:
        year, month, day, hour, minute, second = (int(g) if g else 0 for g in found.groups())
        return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}"
    if re.match(r"^\d{4}/\d{1,2}/\d{1,2}", value):
        date, _, rest = value.partition(" ")
        y, m, d = date.split("/")
        return f"{int(y):04d}-{int(m):02d}-{int(d):02d}" + (f"T{rest.strip()}" if rest.strip() else "")
    return value


def parse_time(text: str) -> datetime:
    """An aware datetime from ISO 8601 (or ``2026/11/26 08:00``, ``2026年11月26日08时30分``); without an
    offset, Asia/Shanghai is meant."""
    value = text.strip()
    if not value:
        raise TimeFormatError("时间不能为空 time must not be empty")
    try:
        parsed = datetime.fromisoformat(_normalised(value))
    except ValueError:
        raise TimeFormatError(
            f"无法识别的时间 unparseable time {text!r}：请写成 2026-11-25 14:32、2026/11/25 14:32 或 2026年11月25日14时32分"
            "（北京时间）e.g. 2026-11-25T14:32 or 2026-11-25T14:32+08:00"
        ) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        parsed = parsed.replace(tzinfo=SHANGHAI)
    return parsed


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
