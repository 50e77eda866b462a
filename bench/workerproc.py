"""One worker process of the benchmark: the production incident worker, or the bare twin's.

    python -m bench.workerproc --address HOST:PORT --queue Q --kind incident|twin [--outbox PATH]

The incident's is ``worker.build_worker`` with the production default channel (``config.DEFAULT_CHANNELS``:
the SQLite outbox alone, whatever the caller's ``YUQING_CHANNELS``) and the production log level; the twin's has the same converter and worker settings. It prints
``ready`` once polling and stops on SIGTERM. With ``YUQING_BENCH_PROFILE=PATH`` it profiles every
thread (yappi, CPU time; ``pip install yappi``) and writes pstats to PATH.incident or PATH.twin when it stops. ``bench.suite`` reads its CPU time and memory from /proc.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bench.twin import BareTwin, twin_notify
from yuqing import config
from yuqing.logging import configure
from yuqing.process import exit_now


async def serve(address: str, queue: str, kind: str, outbox: Path) -> None:
    client = await Client.connect(address, data_converter=config.DATA_CONVERTER)
    if kind == "incident":
        from activities.channels import build_channels
        from worker import build_worker

        worker = build_worker(client, build_channels(config.DEFAULT_CHANNELS.split(","), outbox), task_queue=queue)
    else:
        worker = Worker(  # the same settings, its module passed through the sandbox as the incident's is
            client, task_queue=queue, workflows=[BareTwin], activities=[twin_notify], disable_payload_error_limit=True,
            workflow_runner=SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("bench")),
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    profile = os.environ.get("YUQING_BENCH_PROFILE")
    if profile:  # every thread (workflow activations run on the worker's executor threads)
        import yappi

        yappi.set_clock_type("cpu")
        yappi.start()
    async with worker:
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        await stop.wait()
    if profile:
        yappi.stop()
        yappi.get_func_stats().save(f"{profile}.{kind}", type="pstat")  # one file a side


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.workerproc")
    parser.add_argument("--address", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--kind", choices=("incident", "twin"), required=True)
    parser.add_argument("--outbox", type=Path, default=Path("bench-outbox.db"))
    args = parser.parse_args()
    configure()  # the production level (INFO unless YUQING_LOG_LEVEL says otherwise)
    asyncio.run(serve(args.address, args.queue, args.kind, args.outbox))
    exit_now(0)


if __name__ == "__main__":
    main()
