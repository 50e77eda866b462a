"""The worker: runs incident workflows and delivers their notifications, in the background.

    python worker.py            # or: yuqing-worker

Connects like the ``temporal`` CLI (environment configuration, default the embedded server),
makes sure the server knows the incidents' search attributes, then polls until Ctrl-C / SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Sequence
from typing import NoReturn

import structlog
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.assessment import write_circular_activity
from activities.channels import Channel, build_channels, close_channels
from activities.notify import Notifier
from workflows.circular import CircularWorkflow
from workflows.incident import IncidentWorkflow
from yuqing import config, search_attributes, telemetry
from yuqing.errors import YuqingError
from yuqing.logging import configure
from yuqing.process import exit_now

log = structlog.get_logger("yuqing.worker")

WORKFLOW_RUNNER = SandboxedWorkflowRunner(restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows"))
"""The sandbox, with the workflow modules passed through like the rules and models they import: the
sandbox would otherwise execute ``workflows/incident.py`` again for every new workflow instance (about
a third of a short incident's worker CPU and most of an open incident's memory, bench/RESULTS.md).
Workflow code is kept deterministic by ``ruff`` (TID251: no clocks, randomness or uuid4 in
``workflows/``) and by the golden histories, as the rules it calls always were."""


def build_worker(client: Client, channels: Sequence[Channel], task_queue: str | None = None) -> Worker:
    """The worker for ``client``: the incident and circular workflows, the notification and assessment
    activities.

    The worker's own payload-size check is off: with it on, one oversized update from any client
    fails the incident's workflow task forever (the SDK refuses to upload the acceptance or rejection
    that echoes it). With it off the server drops such an update and the incident goes on; the
    workflow never accepts a message near the limit (``rules.intake.MAX_MESSAGE_BYTES``), and its own
    payloads stay within budget (``rules.bounds``).
    """
    return Worker(
        client,
        task_queue=task_queue or config.task_queue(),
        workflows=[IncidentWorkflow, CircularWorkflow],
        activities=[Notifier(channels).deliver, write_circular_activity],
        interceptors=[telemetry.RunIds()],
        disable_payload_error_limit=True,
        workflow_runner=WORKFLOW_RUNNER,
    )


async def run(stop: asyncio.Event) -> bool:
    """Serve until ``stop`` is set; False if the worker had to leave before its shutdown finished."""
    channels = build_channels(config.channel_names(), config.outbox_path())  # a bad channel setting stops us first
    runtime = telemetry.runtime()
    client = await config.connect(runtime=runtime)
    telemetry.watch_nondeterminism(runtime)
    created = await search_attributes.ensure(client)
    if created:
        log.info("search attributes created", names=created)
    worker = build_worker(client, channels)
    log.info(
        "worker started",
        address=client.service_client.config.target_host,
        namespace=client.namespace,
        task_queue=worker.task_queue,
        outbox=str(config.outbox_path()),
        channels=[c.name for c in channels],
        metrics=telemetry.metrics_address(),
    )
    running = asyncio.create_task(worker.run())
    stopping = asyncio.create_task(stop.wait())
    stopped = False
    try:
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if running.done():
            running.result()  # a fatal worker error: raised, exit 1
        stopped = await stop_within(worker, SHUTDOWN_SECONDS)
    finally:
        stopping.cancel()
        running.cancel()  # before the channels close: nothing of the worker's may still be using them
        await close_channels(channels)
    log.info("worker stopped" if stopped else "worker left before its shutdown finished")
    return stopped


SHUTDOWN_SECONDS = 30.0
"""How long a stopping worker waits for its tasks in hand. Nothing is lost by leaving after it: what the
worker had not completed, the server gives to the next worker."""


async def stop_within(worker: Worker, seconds: float) -> bool:
    """Shut ``worker`` down, waiting at most ``seconds``; False if it had not stopped by then.

    The SDK's own shutdown waits for ever on a run it could not evict: a run whose workflow task its
    deadlock detector interrupted on a starved machine can be left so ("Eviction processed, but N tasks
    remain"). A worker asked to stop must stop all the same, or SIGTERM and Ctrl-C would hang.
    """
    try:
        await asyncio.wait_for(worker.shutdown(), seconds)
        return True
    except TimeoutError:
        log.error("worker did not stop in time; leaving: the server gives its unfinished tasks to the next worker",
                  seconds=seconds)  # fmt: skip
        return False


def run_worker() -> int:
    """Run until SIGINT/SIGTERM/SIGHUP; the exit code (1 when the worker cannot start, or left before its
    shutdown finished)."""
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal of `make run` was closed
        loop.add_signal_handler(sig, stop.set)
    try:
        if not loop.run_until_complete(run(stop)):
            return 1  # a supervisor (systemd Restart=on-failure) starts it again
    except (search_attributes.SearchAttributeError, YuqingError, ValueError, RuntimeError) as err:
        log.error("worker cannot start", error=str(err))
        return 1
    finally:
        loop.close()
    return 0


def main() -> NoReturn:
    configure()
    exit_now(run_worker())


if __name__ == "__main__":
    main()
