"""Encrypted payloads (issue 11): the AES-GCM codec, its key file, rotation, and the Web UI's codec endpoint.

No Temporal server here: the live run is in ``test_encryption_live.py``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from tests.conftest import make_incident
from yuqing import codec, config
from yuqing.codec import (
    KEYS_ENV,
    DecryptionError,
    EncryptionCodec,
    KeyFileError,
    UnknownKeyError,
    load_keys,
    parse_keys,
)
from yuqing.codec_server import build_app, read_token

TITLE = "某化工厂爆炸事故舆情：三人受伤"


def key_line(key_id: str) -> str:
    return codec.new_key_line(key_id)


@pytest.fixture
def keyfile(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "keys.txt"
    path.write_text(f"# 测试密钥 test keys\n\n{key_line('key-a')}\n", encoding="utf-8")
    monkeypatch.setenv(KEYS_ENV, str(path))
    return path


async def test_without_the_variable_the_converter_is_plain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEYS_ENV, raising=False)
    assert config.data_converter() is config.DATA_CONVERTER
    [payload] = await config.data_converter().encode([make_incident(title=TITLE)])
    assert TITLE.encode() in payload.data  # the default stays readable (and the goldens replay with it)


async def test_round_trip_encrypts_titles_and_reports(keyfile: Path) -> None:
    converter = config.data_converter()
    incident = make_incident(title=TITLE, summary="伤者姓名与医院")
    [payload] = await converter.encode([incident])
    assert payload.metadata["encoding"] == b"binary/encrypted"
    assert payload.metadata["encryption-key-id"] == b"key-a"
    assert TITLE.encode() not in payload.data and b"title" not in payload.data
    assert "伤者".encode() not in payload.SerializeToString()
    [back] = await converter.decode([payload], [type(incident)])
    assert back == incident
    # the same value twice never gives the same bytes (a fresh nonce each time)
    [again] = await converter.encode([incident])
    assert again.data != payload.data


async def test_rotation_new_key_encrypts_old_keys_decrypt(keyfile: Path) -> None:
    [under_a] = await config.data_converter().encode([TITLE])
    keyfile.write_text(keyfile.read_text() + key_line("key-b") + "\n")  # rotate: B as the last line
    rotated = config.data_converter()
    [under_b] = await rotated.encode([TITLE])
    assert under_b.metadata["encryption-key-id"] == b"key-b"
    assert await rotated.decode([under_a, under_b]) == [TITLE, TITLE]
    # remove A: what was written under it no longer opens, and the error names the key id
    keyfile.write_text("\n".join(line for line in keyfile.read_text().splitlines() if not line.startswith("key-a")))
    without_a = config.data_converter()
    assert await without_a.decode([under_b]) == [TITLE]
    with pytest.raises(UnknownKeyError) as caught:
        await without_a.decode([under_a])
    assert caught.value.key_id == "key-a"
    assert "key-a" in str(caught.value) and "未知密钥" in str(caught.value) and "unknown" in str(caught.value)


async def test_payloads_in_clear_still_decode_once_encryption_is_on(keyfile: Path) -> None:
    """Incidents opened before the key was configured go on: their payloads pass through."""
    [clear] = await config.DATA_CONVERTER.encode([TITLE])
    assert await config.data_converter().decode([clear]) == [TITLE]


async def test_an_altered_payload_is_refused(keyfile: Path) -> None:
    [payload] = await config.data_converter().encode([TITLE])
    tampered = Payload(metadata=dict(payload.metadata), data=payload.data[:-1] + bytes([payload.data[-1] ^ 1]))
    with pytest.raises(DecryptionError, match="key-a"):
        await config.data_converter().decode([tampered])
    other = parse_keys(key_line("key-a"))  # another key under the same id
    with pytest.raises(DecryptionError):
        await EncryptionCodec(other).decode([payload])


async def test_without_the_key_file_an_encrypted_payload_asks_for_it(keyfile: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    [payload] = await config.data_converter().encode([TITLE])
    monkeypatch.delenv(KEYS_ENV)
    error = codec.unknown_key(codec.key_id_of(payload) or "", None)
    assert "key-a" in str(error) and KEYS_ENV in str(error) and "需要密钥" in str(error)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ("holds no key",)),
        ("# only a comment\n\n", ("holds no key",)),
        ("key-a 3q2+7w==\n", ("line 1", "key-id: base64-key")),
        ("\n\nkey-a: not base64!\n", ("第 3 行", "line 3", "not valid base64")),
        (f"key-a: {base64.b64encode(b'x' * 16).decode()}\n", ("line 1", "16 bytes", "32")),
        (f"{key_line('k')}\n{key_line('k')}\n", ("line 2", "duplicate", "line 1")),
        (f"bad id: {base64.b64encode(b'x' * 32).decode()}\n", ("line 1", "invalid key id")),
        (": abc\n", ("line 1",)),
    ],
    ids=["empty", "comment-only", "no-colon", "not-base64", "short-key", "duplicate-id", "bad-id", "no-id"],
)
def test_a_bad_key_file_names_the_line_and_why(tmp_path: Path, text: str, fragments: tuple[str, ...]) -> None:
    path = tmp_path / "keys.txt"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KeyFileError) as caught:
        load_keys(path)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    assert "\n" not in message and str(path) in message


def test_a_key_never_appears_in_an_error(tmp_path: Path) -> None:
    secret = base64.b64encode(b"s" * 31).decode()
    path = tmp_path / "keys.txt"
    path.write_text(f"key-a: {secret}\n")
    with pytest.raises(KeyFileError) as caught:
        load_keys(path)
    assert secret not in str(caught.value)


def test_a_missing_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEYS_ENV, str(tmp_path / "nowhere.txt"))
    with pytest.raises(KeyFileError, match="key file not found"):
        config.data_converter()


def test_keygen_makes_a_usable_line_and_check_reads_the_file(tmp_path: Path) -> None:
    run = [sys.executable, "-m", "yuqing.codec"]
    made = subprocess.run([*run, "keygen", "--id", "2026-07"], capture_output=True, text=True, check=True)
    path = tmp_path / "keys.txt"
    path.write_text(made.stdout)
    ring = load_keys(path)
    assert ring.ids == ["2026-07"] and len(ring.keys[0][1]) == 32
    checked = subprocess.run([*run, "check", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0 and "2026-07" in checked.stdout
    path.write_text("2026-07: short\n")
    refused = subprocess.run([*run, "check", str(path)], capture_output=True, text=True,
                             env={**os.environ, KEYS_ENV: ""})  # fmt: skip
    assert refused.returncode == 1 and "Traceback" not in refused.stderr and "line 1" in refused.stderr


# ------------------------------------------------------------------ the Web UI's codec endpoint

UI = "http://localhost:8233"


def ui_json(payloads: list[Payload]) -> dict[str, object]:
    """The body the Web UI posts: proto-JSON Payloads, bytes as base64, written out by hand."""
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


async def serve(token: str | None = None) -> tuple[TestClient[object, object], EncryptionCodec]:
    """The endpoint on a free port, and a codec with the same keys to make test payloads."""
    ring = parse_keys(key_line("key-a"))
    app = build_app(EncryptionCodec(ring), origins=[UI, "http://127.0.0.1:8233"], token=token)
    client: TestClient[object, object] = TestClient(TestServer(app))
    await client.start_server()
    return client, EncryptionCodec(ring)


async def test_decode_answers_the_ui_request() -> None:
    client, keys = await serve()
    try:
        encrypted = await keys.encode(config.DATA_CONVERTER.payload_converter.to_payloads([TITLE, 7]))
        response = await client.post("/decode", json=ui_json(encrypted),
                                     headers={"Origin": UI, "X-Namespace": "default"})  # fmt: skip
        assert response.status == 200, await response.text()
        assert response.headers["Access-Control-Allow-Origin"] == UI
        assert response.headers["Content-Type"].startswith("application/json")
        decoded = json_format.Parse(await response.text(), Payloads())
        assert config.DATA_CONVERTER.payload_converter.from_payloads(list(decoded.payloads)) == [TITLE, 7]
        # any prefix: only the last part of the path counts (Temporal's codec protocol)
        prefixed = await client.post("/codec/default/decode", json=ui_json(encrypted))
        assert prefixed.status == 200
        # and /encode gives what decodes again
        plain = config.DATA_CONVERTER.payload_converter.to_payloads([TITLE])
        encoded = await client.post("/encode", json=json.loads(json_format.MessageToJson(Payloads(payloads=plain))))
        again = json_format.Parse(await encoded.text(), Payloads())
        assert again.payloads[0].metadata["encoding"] == b"binary/encrypted"
        assert TITLE.encode() not in again.payloads[0].data
        assert await keys.decode(list(again.payloads)) == list(plain)
    finally:
        await client.close()


async def test_cors_preflight_as_the_browser_sends_it() -> None:
    client, keys = await serve()
    try:
        response = await client.options("/decode", headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-namespace,authorization",
        })  # fmt: skip
        assert response.status in (200, 204)
        assert response.headers["Access-Control-Allow-Origin"] == UI
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        allowed = {h.strip().lower() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"content-type", "x-namespace", "authorization"} <= allowed
        # another origin gets no CORS headers, and its requests are refused
        foreign = await client.options("/decode", headers={"Origin": "http://evil.example",
                                                           "Access-Control-Request-Method": "POST"})  # fmt: skip
        assert "Access-Control-Allow-Origin" not in foreign.headers
        posted = await client.post("/decode", json={"payloads": []}, headers={"Origin": "http://evil.example"})
        assert posted.status == 403 and "Access-Control-Allow-Origin" not in posted.headers
    finally:
        await client.close()


async def test_token_check(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    client, _ = await serve(token=read_token(token_file))
    try:
        body = {"payloads": []}
        missing = await client.post("/decode", json=body, headers={"Origin": UI})
        assert missing.status == 401 and missing.headers["Access-Control-Allow-Origin"] == UI
        assert "Bearer" in missing.headers["WWW-Authenticate"]
        wrong = await client.post("/decode", json=body, headers={"Origin": UI, "Authorization": "Bearer nope"})
        assert wrong.status == 403
        basic = await client.post("/decode", json=body, headers={"Authorization": "Basic s3cret-token"})
        assert basic.status == 403
        right = await client.post("/decode", json=body, headers={"Origin": UI, "Authorization": "Bearer s3cret-token"})
        assert right.status == 200 and json.loads(await right.text()) == {}
        # the preflight never carries the token and must pass
        preflight = await client.options("/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST"})
        assert preflight.status in (200, 204)
    finally:
        await client.close()


async def test_unknown_key_and_malformed_requests_are_clear() -> None:
    client, keys = await serve()
    try:
        other = await EncryptionCodec(parse_keys(key_line("key-z"))).encode(
            config.DATA_CONVERTER.payload_converter.to_payloads([TITLE])
        )
        unknown = await client.post("/decode", json=ui_json(other), headers={"Origin": UI})
        assert unknown.status == 422
        assert "key-z" in (await unknown.json())["error"]
        malformed = await client.post("/decode", data=b"not json", headers={"Content-Type": "application/json"})
        assert malformed.status == 400 and "payloads" in (await malformed.json())["error"]
        nowhere = await client.post("/", json={"payloads": []})
        assert nowhere.status == 404
    finally:
        await client.close()


async def test_histories_from_before_encryption_still_replay_with_a_key(keyfile: Path) -> None:
    """Turning encryption on breaks nothing recorded before: the goldens' clear payloads pass through."""
    from audit.replay import replay_files
    from tests.test_golden_replay import golden_files

    files = golden_files()[:4]
    reports = await replay_files(files)
    assert [r.outcome for r in reports] == ["identical"] * len(files), [r.reasons for r in reports]


async def test_yuqing_codec_server_command_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    """``yuqing codec-server`` as staff start it: without keys one line and exit 2; with keys it answers the
    UI's /decode on the port given, and Ctrl-C stops it with exit 0."""
    import asyncio
    import signal
    import socket
    import urllib.request

    keys = tmp_path / "keys.txt"
    keys.write_text(key_line("key-a") + "\n", encoding="utf-8")
    bare = {k: v for k, v in os.environ.items() if k != codec.KEYS_ENV}
    refused = subprocess.run([sys.executable, "-m", "starter", "codec-server"], env=bare, capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "未配置密钥 no keys" in refused.stderr and "Traceback" not in refused.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "starter", "codec-server", "--port", str(port)],
        env={**bare, codec.KEYS_ENV: str(keys)}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        encrypted = await EncryptionCodec(parse_keys(keys.read_text())).encode(
            config.DATA_CONVERTER.payload_converter.to_payloads([TITLE])
        )
        body = json.dumps(ui_json(encrypted)).encode()
        for _ in range(100):
            try:
                request = urllib.request.Request(f"http://127.0.0.1:{port}/decode", data=body, headers={"Origin": UI})
                answer = urllib.request.urlopen(request, timeout=5).read()
                break
            except OSError:
                await asyncio.sleep(0.2)
        else:
            raise AssertionError("the codec server never answered")
        decoded = json_format.Parse(answer, Payloads())
        assert config.DATA_CONVERTER.payload_converter.from_payloads(list(decoded.payloads)) == [TITLE]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
