"""The Temporal Web UI's remote codec endpoint: staff read encrypted incidents in the UI (issue 11).

With ``YUQING_ENCRYPTION_KEYS`` set, Temporal stores every payload encrypted (``yuqing.codec``) and the
Web UI shows ``binary/encrypted`` bytes. The UI can send them to a *codec server* from the browser
(Settings → Data Encoder, or the server's ``--ui-codec-endpoint``): this one, after
temporalio/samples-python ``encryption/codec_server.py``.

Protocol (Temporal's remote codec protocol): ``POST …/decode`` and ``POST …/encode`` with the
proto-JSON form of ``temporal.api.common.v1.Payloads`` (``{"payloads": [{"metadata": {…}, "data":
"<base64>"}]}``), answered in the same form; only the last part of the path counts, so the endpoints
may sit under any prefix. The UI adds ``X-Namespace`` and, when configured to pass the user's token,
``Authorization``.

Who may ask:
- **CORS**: only the UI's origins (default ``http://localhost:8233`` and ``http://127.0.0.1:8233``;
  ``--origin`` or ``YUQING_CODEC_ORIGINS``) get CORS headers, including the preflight ``OPTIONS`` with
  the headers the UI sends; a request carrying another ``Origin`` is refused (403), so no web page
  in a clerk's browser can use the endpoint. Requests without ``Origin`` (the ``temporal`` CLI's
  ``--codec-endpoint``) are served.
- **Token**: with a token configured (``--token-file`` or ``YUQING_CODEC_TOKEN_FILE``), ``/encode`` and
  ``/decode`` need ``Authorization: Bearer <token>``: none gives 401, another gives 403.
- **Address**: loopback by default (``--host``, ``--port`` or ``YUQING_CODEC_HOST``/``YUQING_CODEC_PORT``,
  default ``127.0.0.1:8234``). Anyone who can reach it can decrypt: keep it where only staff can.

``make run`` starts it beside the dev server when a key file is configured (``for_devserver``).
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import os
import sys
import threading
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from aiohttp import hdrs, web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from yuqing.codec import KEYS_ENV, EncryptionCodec, keys_from_env
from yuqing.errors import UsageError, YuqingError

log = structlog.get_logger("yuqing.codec_server")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8234
"""Beside the dev server's Web UI (8233)."""
UI_PORT = 8233
ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"
"""What the Web UI sends with a codec request (and so asks for in its preflight)."""
MAX_BODY = 16 * 1024 * 1024
"""Bytes: a batch of payloads from the UI (each at most 2 MB on the server)."""
PREFLIGHT_MAX_AGE = "600"


class CodecServerError(YuqingError):
    """The codec server cannot start (its port is taken, no key file …)."""


def default_origins(ui_port: int = UI_PORT, host: str = DEFAULT_HOST) -> list[str]:
    """The origins a local Web UI is opened at."""
    return sorted({f"http://localhost:{ui_port}", f"http://127.0.0.1:{ui_port}", f"http://{host}:{ui_port}"})


def _env_origins() -> list[str]:
    return [o.strip().rstrip("/") for o in os.environ.get("YUQING_CODEC_ORIGINS", "").split(",") if o.strip()]


def read_token(path: str | os.PathLike[str] | None) -> str | None:
    """The bearer token in the file at ``path`` (its first line), ``None`` without a path."""
    if not path:
        return None
    try:
        token = Path(path).read_text(encoding="utf-8").strip().splitlines()
    except OSError as err:
        raise CodecServerError(f"无法读取令牌文件 cannot read the token file {path}: {err.strerror}") from None
    if not token or not token[0].strip():
        raise CodecServerError(f"令牌文件为空 the token file {path} is empty")
    return token[0].strip()


# ------------------------------------------------------------------ the application


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers)


def build_app(codec: EncryptionCodec, *, origins: Collection[str], token: str | None = None) -> web.Application:
    """The codec endpoint for ``codec``: CORS for ``origins``, the bearer ``token`` when given."""
    allowed = {o.rstrip("/") for o in origins}

    def cors_headers(request: web.Request) -> dict[str, str]:
        origin = request.headers.get(hdrs.ORIGIN)
        if origin is None or origin.rstrip("/") not in allowed:
            return {}
        return {
            hdrs.ACCESS_CONTROL_ALLOW_ORIGIN: origin,
            hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS: "true",  # the UI may send credentials (passCredentials)
            hdrs.VARY: "Origin",
        }

    @web.middleware
    async def guard(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        cors = cors_headers(request)
        if hdrs.ORIGIN in request.headers and not cors:
            log.warning("codec request refused", reason="origin", origin=request.headers[hdrs.ORIGIN])
            return _json_error(403, "来源不被允许 origin not allowed")
        if request.method == hdrs.METH_OPTIONS:  # the browser's preflight: never carries the token
            return web.Response(status=204, headers={
                **cors,
                hdrs.ACCESS_CONTROL_ALLOW_METHODS: "POST, OPTIONS",
                hdrs.ACCESS_CONTROL_ALLOW_HEADERS: ALLOWED_HEADERS,
                hdrs.ACCESS_CONTROL_MAX_AGE: PREFLIGHT_MAX_AGE,
            })  # fmt: skip
        if token is not None:
            given = request.headers.get(hdrs.AUTHORIZATION, "")
            if not given:
                return _json_error(401, "需要令牌 authorization required: Bearer token",
                                   {**cors, hdrs.WWW_AUTHENTICATE: "Bearer"})  # fmt: skip
            scheme, _, value = given.partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
                log.warning("codec request refused", reason="token", namespace=request.headers.get("X-Namespace"))
                return _json_error(403, "令牌无效 invalid token", cors)
        try:
            response = await handler(request)
        except web.HTTPException as err:
            err.headers.update(cors)
            raise
        response.headers.update(cors)
        return response

    async def apply(request: web.Request) -> web.StreamResponse:
        operation = request.match_info["tail"].rstrip("/").rpartition("/")[2]
        if operation not in ("encode", "decode"):
            return _json_error(404, "未知路径 unknown path: POST …/encode or …/decode")
        try:
            payloads = json_format.Parse(await request.read(), Payloads(), ignore_unknown_fields=True)
        except (json_format.ParseError, UnicodeDecodeError) as err:
            return _json_error(400, f"请求格式有误 malformed request: expected {{\"payloads\": [...]}}: {err}")
        try:
            if operation == "encode":
                result = await codec.encode(payloads.payloads)
            else:
                result = await codec.decode(payloads.payloads)
        except YuqingError as err:  # an unknown key id, a payload that does not decrypt
            log.warning("codec request failed", operation=operation, error=str(err))
            return _json_error(422, str(err))
        body = json_format.MessageToJson(Payloads(payloads=result))
        return web.Response(text=body, content_type="application/json")

    app = web.Application(middlewares=[guard], client_max_size=MAX_BODY)
    app.router.add_route(hdrs.METH_POST, "/{tail:.*}", apply)
    app.router.add_route(hdrs.METH_OPTIONS, "/{tail:.*}", apply)  # answered by the guard
    return app


# ------------------------------------------------------------------ running it


@dataclass
class BackgroundServer:
    """A codec server on its own event loop in a daemon thread (beside the dev server and worker)."""

    host: str
    port: int
    _loop: asyncio.AbstractEventLoop = field(repr=False)
    _runner: web.AppRunner = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        future = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        try:
            future.result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)


def serve_in_thread(app: web.Application, host: str, port: int) -> BackgroundServer:
    """Start ``app`` on ``host:port`` in a thread; raise ``CodecServerError`` if it cannot listen."""
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(app, access_log=None)
    ready = threading.Event()
    failure: list[BaseException] = []

    def run() -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, host, port).start())
        except BaseException as err:  # noqa: BLE001 - reported to the caller
            failure.append(err)
            ready.set()
            loop.close()
            return
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="yuqing-codec-server", daemon=True)
    thread.start()
    ready.wait(timeout=30)
    if failure or not ready.is_set():
        err = failure[0] if failure else TimeoutError("no answer in 30s")
        detail = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise CodecServerError(f"编解码服务无法启动 the codec server cannot listen on {host}:{port}: {detail}")
    actual = runner.addresses[0][1] if runner.addresses else port
    return BackgroundServer(host, int(actual), loop, runner, thread)


@dataclass
class DevCodec:
    """The codec server ``make run`` started, and the flags that point the dev server's UI at it."""

    server: BackgroundServer

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def server_flags(self) -> list[str]:
        """For ``temporal server start-dev``: the Web UI's remote codec endpoint."""
        return ["--ui-codec-endpoint", self.server.url]

    def stop(self) -> None:
        self.server.stop()


def for_devserver(host: str, ui_port: int) -> DevCodec | None:
    """``make run``'s codec server: ``None`` unless ``YUQING_ENCRYPTION_KEYS`` is set (off by default).

    Serves on ``host`` (loopback) at ``YUQING_CODEC_PORT`` (default 8234; 0 picks a free port) for the
    dev server's UI on ``ui_port`` (and ``YUQING_CODEC_ORIGINS``). A token (``YUQING_CODEC_TOKEN_FILE``) is
    not used here: the dev server's UI has no login to pass one. Raises ``YuqingError`` for a bad key
    file or a port in use.
    """
    ring = keys_from_env()
    if ring is None:
        return None
    port = _port(os.environ.get("YUQING_CODEC_PORT"), DEFAULT_PORT)
    origins = [*default_origins(ui_port, host), *_env_origins()]
    server = serve_in_thread(build_app(EncryptionCodec(ring), origins=origins), host, port)
    log.info("codec server started", url=server.url, keys=ring.ids, encrypting_with=ring.current)
    return DevCodec(server)


def _port(text: str | None, default: int) -> int:
    if text is None or not text.strip():
        return default
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise UsageError(f"端口无效 invalid port {text!r}")
    return port


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="yuqing codec-server",
        description="Web UI 远程编解码服务 the Temporal Web UI's remote codec endpoint: decrypts incidents for "
        f"staff in the UI with the keys of {KEYS_ENV}. Loopback only unless --host says otherwise.",
    )
    p.add_argument("--host", default=os.environ.get("YUQING_CODEC_HOST", DEFAULT_HOST),
                   help=f"监听地址 address to listen on (default {DEFAULT_HOST}, YUQING_CODEC_HOST)")  # fmt: skip
    p.add_argument("--port", default=os.environ.get("YUQING_CODEC_PORT"),
                   help=f"端口 port (default {DEFAULT_PORT}, YUQING_CODEC_PORT)")  # fmt: skip
    p.add_argument("--origin", action="append", default=None, metavar="URL",
                   help="允许的 Web UI 来源 the Web UI's origin, repeatable (default http://localhost:8233 and "
                        "http://127.0.0.1:8233, YUQING_CODEC_ORIGINS comma-separated)")  # fmt: skip
    p.add_argument("--token-file", default=os.environ.get("YUQING_CODEC_TOKEN_FILE"), metavar="FILE",
                   help="令牌文件 require 'Authorization: Bearer <token>' with the token in FILE "
                        "(YUQING_CODEC_TOKEN_FILE)")  # fmt: skip
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``yuqing-codec-server``: serve until Ctrl-C / SIGTERM; the exit code (1 cannot start, 2 usage)."""
    args = parser().parse_args(argv)
    return run(args.host, args.port, args.origin, args.token_file)


def run(host: str | None, port: str | int | None, origins: Sequence[str] | None, token_file: str | None) -> int:
    """Serve the codec endpoint (``yuqing codec-server`` and ``yuqing-codec-server``) until Ctrl-C / SIGTERM;
    ``None`` takes the environment's value or the default. Returns the exit code; errors are one line."""
    host = host or os.environ.get("YUQING_CODEC_HOST") or DEFAULT_HOST
    token_file = token_file or os.environ.get("YUQING_CODEC_TOKEN_FILE")
    try:
        port_number = _port(str(port) if port is not None else os.environ.get("YUQING_CODEC_PORT"), DEFAULT_PORT)
        ring = keys_from_env()
        if ring is None:
            raise UsageError(f"未配置密钥 no keys: set {KEYS_ENV} to the key file (python -m yuqing.codec keygen)")
        allowed = [o.rstrip("/") for o in origins] if origins else [*default_origins(), *_env_origins()]
        app = build_app(EncryptionCodec(ring), origins=allowed, token=read_token(token_file))
        return _serve(app, host, port_number, origins=allowed, ring_ids=ring.ids, token=token_file is not None)
    except YuqingError as err:
        sys.stderr.write(f"{err}\n")
        return err.exit_code


def _serve(app: web.Application, host: str, port: int, **facts: object) -> int:
    async def started(_: web.Application) -> None:
        log.info("codec server started", url=f"http://{host}:{port}", **facts)

    app.on_startup.append(started)
    try:
        web.run_app(app, host=host, port=port, print=None, access_log=None, handle_signals=True)
    except OSError as err:
        raise CodecServerError(
            f"编解码服务无法启动 the codec server cannot listen on {host}:{port}: {err.strerror or err}"
        ) from None
    log.info("codec server stopped")
    return 0


def console_main() -> None:
    """The ``yuqing-codec-server`` console script."""
    from yuqing.logging import configure

    configure()
    sys.exit(main())


if __name__ == "__main__":
    console_main()
