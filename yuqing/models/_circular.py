"""The periodic circular's workflow input and result (A5.2): what ``workflows.circular`` and the
assessment activity exchange, kept here so the workflow imports nothing heavier."""

from __future__ import annotations

from datetime import date

from yuqing.models._base import Model
from yuqing.models._incident import Unit

WRITE_CIRCULAR = "write_circular"
"""The activity that collects, assesses and writes a circular (``activities.assessment``)."""


class CircularRequest(Model):
    """Which period to circulate and where to write it."""

    period_from: date | None = None
    period_to: date | None = None
    """Both ``None``: the month before the run (a monthly schedule)."""
    out_dir: str
    """An absolute directory on the worker's machine; each period gets its own subdirectory."""
    look_back_days: int = 365
    """P5.a: the window a repeated finding is counted in."""


class CircularResult(Model):
    period_from: date
    period_to: date
    title: str
    directory: str
    files: dict[str, str]
    incidents: int
    criticisms: int
    summons: int
    problems: list[str]


class CircularInput(Model):
    """What the schedule starts the circular workflow with."""

    request: CircularRequest
    office: Unit
    """The provincial general office, told where the circular is (resolved from the directory)."""
