"""What a worker tells its operators: Prometheus metrics, and a loud alarm on a history it cannot replay.

Metrics are the SDK runtime's own (``YUQING_METRICS_ADDRESS``, e.g. ``127.0.0.1:9464``, serves
``/metrics``); the few that matter are named in the README's deployment section. One is ours:
``yuqing_nondeterminism`` counts workflow tasks failed because this worker's code cannot replay an
incident's history (a workflow change shipped without ``workflow.patched``). Such a task is retried
for ever and the incident stands still, so it is also logged at error level with the incident id.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from typing import Any

import structlog
from temporalio.common import MetricCounter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import (
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
    WorkflowOutboundInterceptor,
)

log = structlog.get_logger("yuqing.worker")

NONDETERMINISM_METRIC = "yuqing_nondeterminism"
EVICTION_LOGGER = "temporalio.worker._workflow"
"""The SDK logs every eviction from the workflow cache here (at debug), with core's reason."""
KEEP_RUNS = 20_000
"""Run ids remembered with their incident ids (the worker caches 1,000 workflows by default)."""

_incidents: OrderedDict[str, str] = OrderedDict()
"""Run id → incident (workflow) id of the runs this worker began to run or replay."""


def metrics_address() -> str | None:
    """Where to serve Prometheus metrics (``YUQING_METRICS_ADDRESS``), or ``None``: no endpoint."""
    return os.environ.get("YUQING_METRICS_ADDRESS") or None


def runtime(address: str | None = None) -> Runtime | None:
    """A runtime serving the SDK's metrics at ``address`` (``host:port``), or ``None`` for the default."""
    address = address or metrics_address()
    if address is None:
        return None
    return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))


class RunIds(Interceptor):
    """Remembers which incident each workflow run belongs to, so an eviction (which names only the run)
    can be reported with the incident id."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _RememberRun


class _RememberRun(WorkflowInboundInterceptor):
    def init(self, outbound: WorkflowOutboundInterceptor) -> None:
        super().init(outbound)
        info = outbound.info()
        _incidents[info.run_id] = info.workflow_id
        while len(_incidents) > KEEP_RUNS:
            _incidents.popitem(last=False)


class NondeterminismAlarm(logging.Filter):
    """On the SDK's eviction logger: a task failed for nondeterminism is logged at error level with the
    incident id and counted in ``yuqing_nondeterminism``; other debug records pass on as before."""

    def __init__(self, counter: MetricCounter | None) -> None:
        super().__init__()
        self.counter = counter
        self.count = 0
        self.last: dict[str, str | None] = {}
        """The latest alarm's incident id, run id and reason (for the tests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            return self._check(record)
        except Exception:  # never break the SDK's own logging
            return True

    def _check(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            return True
        if not (isinstance(record.msg, str) and record.msg.startswith("Evicting workflow")):
            return logging.getLogger().isEnabledFor(logging.DEBUG)
        run_id, message = (record.args or ("", ""))[:2] if isinstance(record.args, tuple) else ("", "")
        if "Nondeterminism" in str(message) or "NonDeterministic" in str(message):
            self.count += 1
            if self.counter is not None:
                self.counter.add(1)
            self.last = {"incident_id": _incidents.get(str(run_id)), "run_id": str(run_id), "reason": str(message)}
            log.error(
                "历史无法重放 this worker's code cannot replay the incident's history: deploy the code it was "
                "recorded with, or put the change behind workflow.patched",
                incident_id=_incidents.get(str(run_id)),
                run_id=str(run_id),
                reason=str(message)[:400],
            )
        return logging.getLogger().isEnabledFor(logging.DEBUG)


def watch_nondeterminism(rt: Runtime | None = None) -> NondeterminismAlarm:
    """Install the alarm (once per process) and return it."""
    logger = logging.getLogger(EVICTION_LOGGER)
    for existing in logger.filters:
        if isinstance(existing, NondeterminismAlarm):
            return existing
    meter: Any = (rt or Runtime.default()).metric_meter
    counter = meter.create_counter(
        NONDETERMINISM_METRIC, "Workflow tasks failed because the code cannot replay the history", "tasks"
    )
    alarm = NondeterminismAlarm(counter)
    logger.setLevel(logging.DEBUG)  # the SDK logs evictions at debug; the filter keeps other debug out
    logger.addFilter(alarm)
    return alarm
