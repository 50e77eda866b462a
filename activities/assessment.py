"""The assessment activity: collect the period's incidents from their histories, assess them (A5.2,
A5.3) and write the circular (通报) where the provincial office reads it.

Runs in an activity (it reads histories and writes files); the schedule's workflow
(``workflows.circular``) only decides the period and tells the office.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import structlog
from temporalio import activity

from assessment.assess import assess
from assessment.collect import collect
from assessment.document import period_label, write_circular
from assessment.models import Period
from yuqing.directory import load_directory
from yuqing.models import WRITE_CIRCULAR, CircularRequest, CircularResult


@activity.defn(name=WRITE_CIRCULAR)
async def write_circular_activity(request: CircularRequest) -> CircularResult:
    """Collect, assess, write; idempotent (a retry writes the same files again)."""
    if request.period_from is None or request.period_to is None:
        raise ValueError("the workflow gives the period")
    period = Period(from_=request.period_from, to=request.period_to)
    log = structlog.get_logger("yuqing.assessment").bind(period=f"{period.from_}..{period.to}")
    out = Path(request.out_dir)
    ledgers, problems = await collect(activity.client(), period, request.look_back_days, cache_dir=out / ".cache")
    result = assess(
        ledgers, period, look_back_days=request.look_back_days, units_directory=load_directory(),
        now=datetime.now(timezone.utc),
    )  # fmt: skip
    target = out / f"{period.from_.isoformat()}_{period.to.isoformat()}"
    files = write_circular(result, target)
    log.info("circular written", directory=str(target), incidents=result.totals.incidents, problems=len(problems))
    return CircularResult(
        period_from=period.from_,
        period_to=period.to,
        title=f"关于{period_label(result)}政务舆情回应处置情况的通报",
        directory=str(target),
        files={name: str(path) for name, path in files.items()},
        incidents=result.totals.incidents,
        criticisms=sum(1 for f in result.findings if f.finding == "通报批评"),
        summons=sum(1 for f in result.findings if f.finding == "约谈整改"),
        problems=problems,
    )
