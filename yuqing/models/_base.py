"""Base classes and field types shared by every model: times, texts, codes, and clipping."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer, StringConstraints

TEXT_MAX = 4000
"""Longest report text we accept: a report is a summary, documents go elsewhere."""

INCIDENT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$"
UNIT_CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{1,31}$"
REPORT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$"


EARLIEST_YEAR, LATEST_YEAR = 2000, 2199
"""A time from outside lies in these years: any offset of them still converts (to UTC, to Beijing)
without overflowing, so no crafted ``0001-01-01T00:00+23:59`` can break a rule or a view."""


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("time must carry a UTC offset (时间须带时区)")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(
            f"time out of range: the year must be {EARLIEST_YEAR}-{LATEST_YEAR} "
            f"(时间须在{EARLIEST_YEAR}年至{LATEST_YEAR}年之间)"
        )
    return value


def _iso(value: datetime) -> str:
    return value.isoformat()


Timestamp = Annotated[datetime, PlainSerializer(_iso, when_used="json")]
"""A time that serializes as ISO 8601 with an explicit offset (``+00:00``, never ``Z``)."""
AwareDatetime = Annotated[datetime, AfterValidator(_aware), PlainSerializer(_iso, when_used="json")]
"""A time from outside (a client): refused without a UTC offset or outside 2000-2199."""
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TEXT_MAX)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
UnitCode = Annotated[str, StringConstraints(strip_whitespace=True, pattern=UNIT_CODE_PATTERN)]
IncidentId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=INCIDENT_ID_PATTERN)]
ReportId = Annotated[str, StringConstraints(strip_whitespace=True, pattern=REPORT_ID_PATTERN)]
"""A report's client-generated id: 8-64 letters, digits, '.', '_', ':' or '-' (a UUID fits)."""


class Model(BaseModel):
    """Values that cross the wire (workflow input, messages, notifications, answers).

    Unknown fields are ignored, not refused: a worker one release behind its starters must still
    decode a newer incident's input, or that workflow's task would fail and retry forever.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)


class Record(BaseModel):
    """Mutable records inside the workflow state; unknown fields are ignored for the same reason."""

    model_config = ConfigDict(extra="ignore")


def clip(text: str, chars: int, max_bytes: int | None = None) -> str:
    """``text`` cut to ``chars`` characters (and ``max_bytes`` UTF-8 bytes), marked with '…' when cut."""
    cut = text if len(text) <= chars else text[: chars - 1] + "…"
    if max_bytes is not None and len(cut.encode("utf-8")) > max_bytes:
        encoded = cut.encode("utf-8")[: max_bytes - 3]
        cut = encoded.decode("utf-8", errors="ignore") + "…"
    return cut


def sha256_text(text: str) -> str:
    """The digest by which a report's full text in its history is referenced (hex SHA-256 of UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
