"""What ``yuqing assess`` does, as typed async functions: assess a period now (A5.2 不定期) and keep a
Temporal Schedule that circulates every month."""

from __future__ import annotations

from datetime import date, datetime, timezone
from pathlib import Path

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from assessment.assess import assess
from assessment.collect import collect
from assessment.models import Assessment, Period
from workflows.circular import CIRCULAR_WORKFLOW
from workflows.rules.article5_assessment import previous_month
from yuqing import config
from yuqing.directory import Directory
from yuqing.models import CircularInput, CircularRequest

SCHEDULE_ID = "yuqing-circular-monthly"
"""One schedule per namespace: creating it again updates it."""


def last_month(now: datetime | None = None) -> Period:
    """The calendar month before ``now`` (Asia/Shanghai): the default period."""
    start, end = previous_month(now or datetime.now(timezone.utc))
    return Period(from_=start, to=end)


async def assess_period(
    client: Client, period: Period, *, look_back_days: int, cache_dir: Path | None, directory: Directory
) -> tuple[Assessment, list[str]]:
    """A5.2, A5.3: the period's assessment from the incidents' histories, and what could not be verified."""
    ledgers, problems = await collect(client, period, look_back_days, cache_dir=cache_dir)
    result = assess(ledgers, period, look_back_days=look_back_days, units_directory=directory, now=datetime.now(timezone.utc))
    return result, problems


async def schedule_monthly(
    client: Client, out_dir: Path, directory: Directory, *, day: int = 1, hour: int = 9, look_back_days: int = 365,
    task_queue: str | None = None,
) -> tuple[str, bool]:
    """A5.2: a Schedule that writes the previous month's circular on ``day`` at ``hour`` (Beijing time) and
    tells the provincial office; returns its id and whether it was created (``False``: updated)."""
    request = CircularRequest(out_dir=str(out_dir.resolve()), look_back_days=look_back_days)
    action = ScheduleActionStartWorkflow(
        CIRCULAR_WORKFLOW,
        CircularInput(request=request, office=directory.provincial_office),
        id=f"{SCHEDULE_ID}-run",
        task_queue=task_queue or config.task_queue(),
    )
    spec = ScheduleSpec(
        calendars=[ScheduleCalendarSpec(day_of_month=[ScheduleRange(day)], hour=[ScheduleRange(hour)])],
        time_zone_name="Asia/Shanghai",
    )
    schedule = Schedule(action=action, spec=spec)
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
        return SCHEDULE_ID, True
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(SCHEDULE_ID).update(replace)
        return SCHEDULE_ID, False


async def trigger(client: Client) -> None:
    """A5.2 不定期: run the schedule's action now."""
    await client.get_schedule_handle(SCHEDULE_ID).trigger()


def parse_period(start: date | None, end: date | None, month: str | None) -> Period:
    """``--from``/``--to`` (both ends included), or ``--month 2026-11``, or the previous month."""
    if month is not None:
        year, number = (int(part) for part in month.split("-", 1))
        first = date(year, number, 1)
        following = date(year + (number == 12), number % 12 + 1, 1)
        return Period(from_=first, to=date.fromordinal(following.toordinal() - 1))
    if start is None and end is None:
        return last_month()
    if start is None or end is None:
        raise ValueError("须同时给出 --from 与 --to give both --from and --to (or --month)")
    if end < start:
        raise ValueError(f"--to {end} 早于 --from {start} the period ends before it starts")
    return Period(from_=start, to=end)
