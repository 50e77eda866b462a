"""Export incident histories: one JSON file per workflow run, and a manifest.

Incidents are chosen by id or by a visibility query (open and closed alike). For each one every run
of its continue-as-new chain is exported: the latest run is fetched by workflow id and the chain is
followed back through each run's ``continued_execution_run_id`` to the first, so nothing depends on
visibility being up to date.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from audit.histories import (
    MANIFEST_FORMAT,
    MANIFEST_NAME,
    file_name,
    manifest_entry,
    parse_history,
    sha256,
    write_json,
)
from workflows.incident import WORKFLOW_NAME
from yuqing.timefmt import iso

CONCURRENCY = 8
"""Incidents fetched at once."""


class ExportError(Exception):
    """An incident that cannot be exported; the message is one line in Chinese and English."""


def incident_query(query: str | None) -> str:
    """The visibility query for incidents matching ``query`` (every incident if empty)."""
    base = f"WorkflowType = '{WORKFLOW_NAME}'"
    return f"{base} AND ({query})" if query and query.strip() else base


async def select(client: Client, query: str | None) -> list[str]:
    """Workflow ids of the incidents a visibility query matches, each once (every run shares its id)."""
    ids: dict[str, None] = {}
    async for execution in client.list_workflows(incident_query(query)):
        ids.setdefault(execution.id, None)
    return list(ids)


async def chain_ends(client: Client, workflow_id: str) -> list[str | None]:
    """The last run of every execution chain with this workflow id (``None``: the latest one). An id
    may be started again after its incident closed: each execution is exported, so none hides another."""
    ends: list[str | None] = [None]
    if "'" in workflow_id or "\\" in workflow_id:  # not an incident id: the latest execution only
        return ends
    try:
        query = f"WorkflowId = '{workflow_id}' AND ExecutionStatus != 'ContinuedAsNew'"
        async for execution in client.list_workflows(query):
            ends.append(execution.run_id)
    except RPCError as err:
        if err.status != RPCStatusCode.UNIMPLEMENTED:  # a test server without visibility
            raise
    return ends


async def fetch_chain(
    client: Client, workflow_id: str, rpc_timeout: float | None, last_run: str | None = None
) -> list[tuple[str, bytes]]:
    """Every run of one execution chain of ``workflow_id`` (the latest, or the one ending at
    ``last_run``), first to last, as (run id, history JSON bytes)."""
    runs: list[tuple[str, bytes]] = []
    run_id: str | None = last_run
    seen: set[str] = set()
    while True:
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        try:
            history = await handle.fetch_history(rpc_timeout=_timeout(rpc_timeout))
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                if run_id is None:
                    raise ExportError(f"未知事件 unknown incident {workflow_id!r}") from None
                raise ExportError(
                    f"事件 {workflow_id} 的前一次运行 {run_id} 已不在服务器上 an earlier run is no longer on the "
                    f"server (retention): the chain cannot be exported whole"
                ) from None
            raise
        data = history.to_json().encode("utf-8")
        hf = parse_history(data, path=Path(file_name(workflow_id, history.run_id)), workflow_id=workflow_id)
        if hf.run_id in seen:  # a loop cannot happen in Temporal; never spin on one
            break
        seen.add(hf.run_id)
        runs.append((hf.run_id, data))
        run_id = hf.continued_from
        if run_id is None:
            break
    runs.reverse()
    return runs


def _timeout(seconds: float | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds else None


async def export(
    client: Client,
    out_dir: Path,
    *,
    ids: Sequence[str] = (),
    query: str | None = None,
    everything: bool = False,
    rpc_timeout: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """Write the histories of the chosen incidents into ``out_dir`` and the manifest beside them.

    Returns the manifest and the problems (incidents that could not be exported).
    """
    chosen: dict[str, None] = {i: None for i in ids}
    if query is not None or everything:
        for workflow_id in await select(client, query):
            chosen.setdefault(workflow_id, None)
    out_dir.mkdir(parents=True, exist_ok=True)
    entries: dict[str, list[dict[str, Any]]] = {}
    problems: list[str] = []
    done = 0
    semaphore = asyncio.Semaphore(CONCURRENCY)
    if progress:
        progress(0, len(chosen))

    async def one(workflow_id: str) -> None:
        nonlocal done
        fetched: dict[str, bytes] = {}
        async with semaphore:
            try:
                for end in await chain_ends(client, workflow_id):
                    if end is None or end not in fetched:
                        fetched.update(await fetch_chain(client, workflow_id, rpc_timeout, end))
            except ExportError as err:
                problems.append(str(err))
                fetched = {}
        runs = list(fetched.items())
        written = []
        for run_id, data in runs:
            name = file_name(workflow_id, run_id)
            (out_dir / name).write_bytes(data)
            hf = parse_history(data, path=out_dir / name, workflow_id=workflow_id)
            written.append(manifest_entry(hf, name))
        entries[workflow_id] = written
        done += 1
        if progress:
            progress(done, len(chosen))

    await asyncio.gather(*(one(i) for i in chosen))
    manifest = {
        "format": MANIFEST_FORMAT,
        "exported_at": iso(now or datetime.now(timezone.utc)),
        "source": {
            "address": client.service_client.config.target_host,
            "namespace": client.namespace,
        },
        "selection": {"ids": list(ids), "query": incident_query(query) if (query is not None or everything) else None},
        "incidents": len([i for i in chosen if entries.get(i)]),
        "files": [entry for workflow_id in chosen for entry in entries.get(workflow_id, [])],
    }
    raw = write_json(out_dir / MANIFEST_NAME, manifest)
    manifest["manifest_sha256"] = sha256(raw)
    return manifest, problems
