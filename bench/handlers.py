"""How much the incident workflow costs over a bare twin, measured in one run on one server.

    .venv/bin/python -m bench.handlers [--updates 200] [--signals 3000] [--days 5]

Three measures, each for the incident workflow and for ``bench.twin.BareTwin`` side by side:

- filing: sequential updates (reports), milliseconds per update as the client sees it;
- flood: garbage signals delivered in one batch (sent while no worker polls), seconds until the worker
  has processed them all;
- escalation: days of hourly escalations on Temporal's Java test server (time skipping), milliseconds per
  step (a timer, a workflow task, a notification activity).

Prints a table and one JSON document; the ratio (incident ÷ twin) is the figure to watch. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from bench.twin import BareTwin, twin_notify
from starter import service
from tests.conftest import OFFICE, UNIT, make, make_incident, release, start_env
from worker import build_worker
from yuqing import config
from yuqing.logging import configure
from yuqing.models import AnalysisReport, OpinionLevel, ResponseWay, Transfer
from yuqing.process import exit_now

H = timedelta(hours=1)


async def settle(handle: WorkflowHandle[Any, Any], timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        raw = (await handle.describe()).raw_description
        if not raw.HasField("pending_workflow_task") and not raw.pending_activities:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} did not settle")


async def timed(action: Callable[[], Awaitable[Any]]) -> float:
    start = time.perf_counter()
    await action()
    return time.perf_counter() - start


async def filing(client: Client, updates: int) -> dict[str, float]:
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    async with build_worker(client, [], task_queue=queue), Worker(client, task_queue=f"{queue}-twin", workflows=[BareTwin]):
        incident = await service.open_incident(client, make_incident(), opened_by=UNIT, task_queue=queue)
        twin = await client.start_workflow("Twin", id=f"twin-{uuid.uuid4().hex[:8]}", task_queue=f"{queue}-twin")
        await settle(incident)

        async def incident_updates() -> None:
            for i in range(updates):
                await service.file_report(client, incident.id, make(AnalysisReport, text=f"研判 {i}"))

        async def twin_updates() -> None:
            for i in range(updates):
                await twin.execute_update("report", make(AnalysisReport, text=f"研判 {i}"), id=str(uuid.uuid4()))

        return {"incident": await timed(incident_updates) / updates * 1000, "twin": await timed(twin_updates) / updates * 1000}


async def flood(client: Client, signals: int) -> dict[str, float]:
    queue = f"bench-{uuid.uuid4().hex[:6]}"
    garbage: list[Any] = [None, [], "x", 7, {"type": "analysis"}, {"type": "gossip", "text": "?"}, {"as": "nobody"}]
    async with build_worker(client, [], task_queue=queue), Worker(client, task_queue=f"{queue}-twin", workflows=[BareTwin]):
        incident = await service.open_incident(client, make_incident(), opened_by=UNIT, task_queue=queue)
        twin = await client.start_workflow("Twin", id=f"twin-{uuid.uuid4().hex[:8]}", task_queue=f"{queue}-twin")
        await settle(incident)
        await settle(twin)
    result: dict[str, float] = {}
    limiter = asyncio.Semaphore(32)

    async def one(handle: WorkflowHandle[Any, Any], i: int) -> None:
        async with limiter:
            await handle.signal("report", garbage[i % len(garbage)])

    for name, handle in (("incident", incident), ("twin", twin)):
        await asyncio.gather(*(one(handle, i) for i in range(signals)))  # no worker polls: they wait in one batch
        async with build_worker(client, [], task_queue=queue), Worker(client, task_queue=f"{queue}-twin", workflows=[BareTwin]):
            result[name] = await timed(lambda handle=handle: settle(handle))
    return result


async def escalation(days: int) -> dict[str, float]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(config.binary("temporal-test-server")), data_converter=config.data_converter()
    )
    try:
        client, steps = env.client, days * 24
        async with build_worker(client, [], task_queue="bench-months"):
            now = await env.get_current_time()
            incident = make_incident(level=OpinionLevel.GENERAL, transfer=Transfer(at=now, by=OFFICE))
            handle = await service.open_incident(
                client, incident, opened_by=OFFICE, task_queue="bench-months", search_attributes=False, now=now
            )
            await service.file_report(client, handle.id, release(ResponseWay.MEDIA_INTERVIEW))  # only acceptance escalates
            incident_seconds = await timed(lambda: _sleep_days(env, days))
            await handle.terminate(reason="benchmark done")
        async with Worker(client, task_queue="bench-twin", workflows=[BareTwin], activities=[twin_notify]):
            twin = await client.start_workflow("Twin", "hourly", id=f"twin-{uuid.uuid4().hex[:8]}", task_queue="bench-twin")
            twin_seconds = await timed(lambda: _sleep_days(env, days))
            await twin.terminate(reason="benchmark done")
        return {"incident": incident_seconds / steps * 1000, "twin": twin_seconds / steps * 1000}
    finally:
        await env.shutdown()


async def _sleep_days(env: WorkflowEnvironment, days: int) -> None:
    for _ in range(days):
        await env.sleep(24 * H)


async def main(updates: int, signals: int, days: int) -> dict[str, Any]:
    env = await start_env()
    try:
        measures = {
            "filing_ms_per_update": await filing(env.client, updates),
            "flood_seconds": await flood(env.client, signals),
        }
    finally:
        await env.shutdown()
    measures["escalation_ms_per_step"] = await escalation(days)
    for values in measures.values():
        values["ratio"] = values["incident"] / values["twin"] if values["twin"] else float("nan")
    return {
        "at": datetime.now(timezone.utc).isoformat(),
        "parameters": {"updates": updates, "signals": signals, "days": days},
        "measures": measures,
    }


def cli() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.handlers", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--updates", type=int, default=200)
    parser.add_argument("--signals", type=int, default=3000)
    parser.add_argument("--days", type=int, default=5)
    args = parser.parse_args()
    configure(level="ERROR")
    report = asyncio.run(main(args.updates, args.signals, args.days))
    lines = [f"{'measure':<24}{'incident':>12}{'twin':>12}{'ratio':>10}"]
    for name, values in report["measures"].items():
        lines.append(f"{name:<24}{values['incident']:>12.2f}{values['twin']:>12.2f}{values['ratio']:>10.2f}")
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stdout.write(json.dumps(report, indent=2) + "\n")
    exit_now(0)  # no interpreter finalization (temporalio/sdk-python#300)


if __name__ == "__main__":
    cli()
