"""How long assessing a period takes (A5.2), against fetching the same histories and nothing else.

    .venv/bin/python -m bench.assess [--incidents 1000]

Opens ``--incidents`` incidents on a fresh dev server (a mix: met, late, missed, closed and evaluated),
then measures, in one run:

- fetch: every run's history fetched concurrently, nothing else (the floor: what any assessment
  from histories must pay);
- cold: ``yuqing assess``'s path with an empty cache (fetch, replay, verify, ledger, assess);
- warm: the same again, completed incidents' ledger lines read from the cache by run id.

Prints a table and one JSON document; the issue's budget is 30 s for 1,000 incidents, cold. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from temporalio.client import Client

from assessment.assess import assess
from assessment.collect import collect
from assessment.models import Period
from assessment.service import last_month
from starter import service
from tests.conftest import OFFICE, POLICY, TASK_QUEUE, make, make_incident, release, start_env
from worker import build_worker
from yuqing.logging import configure
from yuqing.models import CloseRequest, DispositionVerdict, EvaluationReport, OpinionLevel, ResponseVerdict
from yuqing.process import exit_now
from yuqing.timefmt import SHANGHAI

UNITS = ["370102-jyj", "370100-jyj", "370211-jyj", "370300-jyj", "sz-jyt", "370102-gaj", "370100-wjw"]
LEVELS = [OpinionLevel.GENERAL, OpinionLevel.RELATIVELY_MAJOR, OpinionLevel.MAJOR, OpinionLevel.PARTICULARLY_MAJOR]


async def populate(client: Client, count: int, concurrency: int = 32, task_queue: str = TASK_QUEUE) -> None:
    """``count`` incidents discovered over the last days; every third answered, every second closed and
    evaluated by the office (a closed, evaluated incident completes: its ledger line is cacheable)."""
    gate = asyncio.Semaphore(concurrency)
    now = datetime.now(timezone.utc)

    async def one(i: int) -> None:
        async with gate:
            unit = UNITS[i % len(UNITS)]
            incident = make_incident(unit=unit, level=LEVELS[i % len(LEVELS)], discovered_at=now - timedelta(hours=i % 40))
            handle = await service.open_incident(client, incident, opened_by=OFFICE, task_queue=task_queue, policy=POLICY)
            if i % 3 == 0:
                await service.file_report(client, handle.id, release(by=unit))
            if i % 2 == 0:
                await service.file_report(client, handle.id, make(EvaluationReport, by=OFFICE, text="评价",
                                          response=ResponseVerdict.PROPER if i % 4 else ResponseVerdict.IMPROPER,
                                          disposition=DispositionVerdict.EFFECTIVE))  # fmt: skip
                await service.file_report(client, handle.id, make(CloseRequest, by=OFFICE, text="办结"))

    await asyncio.gather(*(one(i) for i in range(count)))


async def fetch_only(client: Client, since: datetime) -> int:
    """Every incident run's history, fetched concurrently: the floor."""
    gate = asyncio.Semaphore(16)
    runs = [e async for e in client.list_workflows(f"WorkflowType = 'IncidentWorkflow' AND StartTime >= '{since.isoformat()}'")]

    async def one(workflow_id: str, run_id: str) -> int:
        async with gate:
            history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
            return len(history.events)

    await asyncio.gather(*(one(e.id, e.run_id) for e in runs))
    return len(runs)


async def measure_assess(
    client: Client, count: int, *, task_queue: str, cache: Path, visibility_lag: float = 2.0
) -> dict[str, Any]:
    """Populate ``count`` incidents (a worker polls ``task_queue``) and time the assessment of their period,
    cold then warm (``cache``: the ledger cache, empty at first). The server should hold no other incidents."""
    started = time.perf_counter()
    await populate(client, count, task_queue=task_queue)
    populated = time.perf_counter() - started
    await asyncio.sleep(visibility_lag)  # visibility catches up
    today = datetime.now(SHANGHAI).date()
    period = Period(from_=today - timedelta(days=3), to=today)
    t0 = time.perf_counter()
    runs = await fetch_only(client, datetime.now(timezone.utc) - timedelta(hours=2))
    fetch = time.perf_counter() - t0
    cache.mkdir(parents=True, exist_ok=True)
    measured: dict[str, float] = {}
    for name in ("cold", "warm"):
        t0 = time.perf_counter()
        ledgers, problems = await collect(client, period, 365, cache_dir=cache)
        result = assess(ledgers, period, now=datetime.now(timezone.utc))
        measured[name] = time.perf_counter() - t0
    assert result.totals.incidents == count, (result.totals.incidents, count, problems[:3])
    return {
        "incidents": count, "runs": runs, "populate_s": round(populated, 1), "fetch_s": round(fetch, 2),
        "cold_s": round(measured["cold"], 2), "warm_s": round(measured["warm"], 2),
        "cold_over_fetch": round(measured["cold"] / fetch, 2), "warm_over_fetch": round(measured["warm"] / fetch, 2),
        "problems": len(problems), "findings": len(result.findings), "default_period": str(last_month().from_),
    }  # fmt: skip


async def main_async(count: int) -> dict[str, Any]:
    configure(level="ERROR")
    env = await start_env()
    try:
        async with build_worker(env.client, [], task_queue=TASK_QUEUE):
            with tempfile.TemporaryDirectory() as cache:
                return await measure_assess(env.client, count, task_queue=TASK_QUEUE, cache=Path(cache))
    finally:
        await env.shutdown()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.assess", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--incidents", type=int, default=1000)
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args.incidents))
    sys.stderr.write(
        f"{result['incidents']} incidents: fetch {result['fetch_s']} s · assess cold {result['cold_s']} s "
        f"({result['cold_over_fetch']}× fetch) · warm {result['warm_s']} s ({result['warm_over_fetch']}× fetch)\n"
    )
    sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    exit_now(0)


if __name__ == "__main__":
    main()
