"""Structured logs for the worker, the activities and the command line, through structlog.

Inside workflows we log with ``workflow.logger`` (it stays quiet on replay); its stdlib records are
rendered by the same structlog processors, with the incident id lifted out of Temporal's extras.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog


def _lift_temporal(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """``temporal_workflow`` / ``temporal_activity`` extras become ``incident_id`` (and a few more)."""
    for key in ("temporal_workflow", "temporal_activity"):
        info = event.pop(key, None)
        if isinstance(info, dict):
            event.setdefault("incident_id", info.get("workflow_id"))
            if key == "temporal_activity":
                event.setdefault("activity", info.get("activity_type"))
                event.setdefault("attempt", info.get("attempt"))
            else:
                event.setdefault("run_id", info.get("run_id"))
    return event


def configure(level: str | None = None, json: bool | None = None) -> None:
    """Set up structlog and the stdlib root logger once (``YUQING_LOG_LEVEL``, ``YUQING_LOG_FORMAT``)."""
    level = (level or os.environ.get("YUQING_LOG_LEVEL") or "INFO").upper()
    if json is None:
        json = os.environ.get("YUQING_LOG_FORMAT", "console") == "json"
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=False),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json
        # plain tracebacks: Rich's formatter imports modules, which the workflow sandbox forbids
        # (a workflow task failure logged from inside it would otherwise be lost)
        else structlog.dev.ConsoleRenderer(
            colors=sys.stderr.isatty(), exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        # filter_by_level first: a debug call below the level costs a comparison, not the processors
        processors=[structlog.stdlib.filter_by_level, *shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder(), _lift_temporal],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Temporal's workflow logger appends the workflow info to the message; we render it as fields.
    from temporalio import workflow

    workflow.logger.workflow_info_on_message = False
    workflow.logger.workflow_info_on_extra = True
