"""Collect the verified ledger lines an assessment needs, straight from a Temporal server (A5.2, P5.a).

The incidents have no search attribute for their discovery time (``yuqing.search_attributes``), so the
visibility query narrows by start time only: an incident is never started before it was discovered
(P3.a refuses a future discovery), so every run of an incident discovered in the window started after
the window's first day (less a day's margin for clock skew). Every chain found is fetched whole
(``audit.export.fetch_chain``, concurrently), replayed and verified (``audit.replay.audit``) and
turned into its ledger line (``audit.ledger.build_ledger``); then the discovery time decides.

A chain whose last run has closed never changes again: its verified ledger line is cached as JSON under
``cache_dir/<namespace>/<last run id>.json`` and a later assessment reads it instead of replaying.
Chains that do not verify are reported as problems and never cached. A line's ``files`` are the history
file names an export would write (the histories are replayed from a temporary folder).
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from datetime import datetime, time, timedelta, timezone
from pathlib import Path

from pydantic import ValidationError
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from assessment.assess import window_start
from assessment.models import Period
from audit.export import ExportError, fetch_chain
from audit.histories import HistoryError, file_name
from audit.ledger import IncidentLedger, build_ledger, ledger_from_result
from audit.replay import audit
from workflows.incident import WORKFLOW_NAME
from yuqing.models import IncidentStatus
from yuqing.timefmt import SHANGHAI

CONCURRENCY = 16
"""Chains fetched at once."""
CACHE_FORMAT = "yuqing-assessment-ledger/1"
START_MARGIN = timedelta(days=1)
"""Slack on the start-time filter: a client clock ahead of the server's never hides an incident."""


def visibility_query(since: datetime) -> str:
    """The last run of every incident chain started at or after ``since``."""
    stamp = since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"WorkflowType = '{WORKFLOW_NAME}' AND ExecutionStatus != 'ContinuedAsNew' AND StartTime >= '{stamp}'"


def _cache_path(cache_dir: Path, namespace: str, run_id: str) -> Path:
    return cache_dir / namespace / f"{run_id}.json"


def read_cached(cache_dir: Path, namespace: str, run_id: str) -> IncidentLedger | None:
    """The cached ledger line of the closed chain ending with ``run_id``; ``None`` if absent or unusable."""
    path = _cache_path(cache_dir, namespace, run_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != CACHE_FORMAT or data.get("run_id") != run_id:
            return None
        line = IncidentLedger.model_validate(data["ledger"])
    except (OSError, ValueError, KeyError, TypeError, ValidationError):
        return None
    return line if line.run_ids and line.run_ids[-1] == run_id else None


def write_cached(cache_dir: Path, namespace: str, line: IncidentLedger) -> None:
    """Cache a closed chain's verified line by its last run id (written whole or not at all)."""
    run_id = line.run_ids[-1]
    path = _cache_path(cache_dir, namespace, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(
        {"format": CACHE_FORMAT, "run_id": run_id, "ledger": line.model_dump(mode="json")}, ensure_ascii=False
    )
    fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temp, path)


async def collect(
    client: Client, period: Period, look_back_days: int, *, cache_dir: Path | None
) -> tuple[list[IncidentLedger], list[str]]:
    """The verified ledger lines of the incidents discovered in the look-back window ending with the
    period (``assessment.assess.window_start`` … ``period.to``, Asia/Shanghai days), ordered by
    discovery, and the problems (chains that could not be fetched or did not verify)."""
    first_day = window_start(period, look_back_days)
    since = datetime.combine(first_day, time(), SHANGHAI) - START_MARGIN
    ends: dict[str, tuple[str, bool]] = {}  # chain's last run id -> (workflow id, closed)
    completed: dict[str, bool] = {}
    async for execution in client.list_workflows(visibility_query(since)):
        closed = execution.status not in (None, WorkflowExecutionStatus.RUNNING)
        ends[execution.run_id] = (execution.id, closed)
        completed[execution.run_id] = execution.status == WorkflowExecutionStatus.COMPLETED

    lines: list[IncidentLedger] = []
    problems: list[str] = []
    to_fetch: list[tuple[str, str | None]] = []  # (workflow id, last run id or None for the latest)
    to_read: list[tuple[str, str]] = []  # completed chains: their result first
    for run_id, (workflow_id, closed) in ends.items():
        cached = read_cached(cache_dir, client.namespace, run_id) if cache_dir is not None and closed else None
        if cached is not None:
            lines.append(cached)
        elif completed.get(run_id):
            to_read.append((workflow_id, run_id))
        else:  # a running chain is fetched at its latest run: it may have continued as new meanwhile
            to_fetch.append((workflow_id, run_id if closed else None))

    async def from_result(workflow_id: str, run_id: str) -> None:
        """A completed incident's ledger line from its result where it holds everything (no replay)."""
        async with gate:
            try:
                status = await client.get_workflow_handle(workflow_id, run_id=run_id, result_type=IncidentStatus).result()
            except Exception:  # any doubt: replay it
                status = None
        try:
            line = ledger_from_result(status, run_id, workflow_id) if status is not None else None
        except Exception:  # any doubt: replay it
            line = None
        if line is None:
            to_fetch.append((workflow_id, run_id))
            return
        lines.append(line)
        if cache_dir is not None:
            write_cached(cache_dir, client.namespace, line)

    gate = asyncio.Semaphore(CONCURRENCY * 2)
    await asyncio.gather(*(from_result(w, r) for w, r in to_read))

    if to_fetch:
        with tempfile.TemporaryDirectory(prefix="yuqing-assess-") as temp:
            folder = Path(temp)
            semaphore = asyncio.Semaphore(CONCURRENCY)

            async def one(workflow_id: str, last_run: str | None) -> None:
                async with semaphore:
                    try:
                        runs = await fetch_chain(client, workflow_id, None, last_run)
                    except (ExportError, HistoryError, RPCError) as err:
                        problems.append(f"{workflow_id}: {err}")
                        return
                for run_id, data in runs:
                    (folder / file_name(workflow_id, run_id)).write_bytes(data)

            await asyncio.gather(*(one(w, r) for w, r in to_fetch))
            result = await audit([folder])
        ledger = build_ledger(result)
        executions = {r.run_id: r.execution for r in result.runs}
        problems.extend(f"{p.subject}: {'; '.join(p.reasons)}" for p in ledger.problems)
        for line in ledger.incidents:
            line = line.model_copy(update={"files": [Path(f).name for f in line.files]})  # the temporary folder goes
            lines.append(line)
            if cache_dir is not None and executions.get(line.run_ids[-1]) not in (None, "running"):
                write_cached(cache_dir, client.namespace, line)

    wanted = [line for line in lines if first_day <= line.discovered_at.astimezone(SHANGHAI).date() <= period.to]
    wanted.sort(key=lambda line: (line.discovered_at, line.incident_id, line.run_ids))
    return wanted, sorted(problems)
