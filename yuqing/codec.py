"""Encrypted payloads: an AES-GCM payload codec and its key file (issue 11).

Every payload the project's converter writes (start inputs, reports, queries' answers, the
notifications given to activities, memo fields such as the title) is serialized as usual, then
encrypted here with AES-256-GCM before it leaves the process: Temporal's database, its histories
and its Web UI see ``binary/encrypted`` bytes and the id of the key that encrypted them
(after temporalio/samples-python ``encryption/codec.py``). Search attributes are not payloads
the codec sees: they stay in clear and carry no free text (``yuqing.search_attributes``).

Keys come from the file named by ``YUQING_ENCRYPTION_KEYS``, never from a history::

    # one key a line: key-id: base64 of 32 random bytes (AES-256)
    2026-01: 3q2+7w…=
    2026-07: q83vEj…=      <- the last line encrypts; every line decrypts

Rotation: append a new key as the last line; new payloads are encrypted under it, old ones still
decrypt with theirs. Remove a key only when nothing encrypted under it is still needed.

Make a key::

    python -m yuqing.codec keygen [--id ID] >> keys.txt
"""

from __future__ import annotations

import argparse
import base64
import binascii
import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

from yuqing.errors import UsageError, YuqingError

KEYS_ENV = "YUQING_ENCRYPTION_KEYS"
"""The variable naming the key file; unset or empty, payloads are not encrypted."""
ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32
"""AES-256."""
NONCE_BYTES = 12
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A key id travels in clear beside every payload: short, plain, never a secret."""


class KeyFileError(YuqingError):
    """The key file cannot be used: which file, which line, why."""


class UnknownKeyError(YuqingError, ValueError):
    """A payload was encrypted under a key the key file does not hold (or there is no key file)."""

    def __init__(self, key_id: str, message: str) -> None:
        super().__init__(message)
        self.key_id = key_id


class DecryptionError(YuqingError, ValueError):
    """A payload does not decrypt with the key its id names: another key under that id, or altered bytes."""


@dataclass(frozen=True)
class KeyRing:
    """The keys of a key file in order; the last one encrypts."""

    keys: tuple[tuple[str, bytes], ...]
    source: str = ""

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyFileError(f"密钥文件没有密钥 the key file {self.source} holds no key")

    @property
    def current(self) -> str:
        """The id of the key that encrypts: the last one."""
        return self.keys[-1][0]

    @property
    def ids(self) -> list[str]:
        return [key_id for key_id, _ in self.keys]

    def key(self, key_id: str) -> bytes | None:
        for kid, key in self.keys:
            if kid == key_id:
                return key
        return None


def parse_keys(text: str, source: str = "<text>") -> KeyRing:
    """The keys of a key file's text; ``KeyFileError`` names the line and why it is refused.

    The message never shows a key, only its id and the line number.
    """
    keys: list[tuple[str, bytes]] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = f"密钥文件 {source} 第 {number} 行 key file {source} line {number}"
        key_id, colon, encoded = line.partition(":")
        key_id, encoded = key_id.strip(), encoded.strip()
        if not colon or not key_id or not encoded:
            raise KeyFileError(f"{where}: 格式应为 expected 'key-id: base64-key'")
        if not KEY_ID_PATTERN.fullmatch(key_id):
            raise KeyFileError(
                f"{where}: 密钥编号 {key_id[:40]!r} 无效 invalid key id (letters, digits, '.', '_', '-'; at most 64)"
            )
        if key_id in seen:
            raise KeyFileError(f"{where}: 密钥编号 {key_id} 重复 duplicate key id (first on line {seen[key_id]})")
        try:
            key = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            raise KeyFileError(f"{where}: 密钥 {key_id} 不是 base64 the key of {key_id} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise KeyFileError(
                f"{where}: 密钥 {key_id} 长 {len(key)} 字节，应为 {KEY_BYTES} 字节 the key of {key_id} is "
                f"{len(key)} bytes, AES-256 needs {KEY_BYTES}"
            )
        seen[key_id] = number
        keys.append((key_id, key))
    return KeyRing(tuple(keys), source)


def load_keys(path: str | os.PathLike[str]) -> KeyRing:
    """The key ring of the file at ``path``; ``KeyFileError`` when it cannot be read or used."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise KeyFileError(f"密钥文件不存在 key file not found: {path} ({KEYS_ENV})") from None
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise KeyFileError(f"无法读取密钥文件 cannot read the key file {path}: {reason}") from None
    return parse_keys(text, str(path))


def keys_from_env() -> KeyRing | None:
    """The key ring named by ``YUQING_ENCRYPTION_KEYS``, or ``None`` when it is unset (no encryption)."""
    path = os.environ.get(KEYS_ENV, "").strip()
    return load_keys(path) if path else None


def key_id_of(payload: Payload) -> str | None:
    """The key id of an encrypted payload, ``None`` for a payload in clear."""
    if payload.metadata.get("encoding") != ENCODING:
        return None
    return payload.metadata.get(KEY_ID_METADATA, b"").decode("utf-8", "replace")


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over the serialized payload; the key id in clear in the metadata.

    Encodes with the ring's last key; decodes with whichever key the payload names. A payload that
    is not ``binary/encrypted`` passes through unchanged, so histories from before encryption was
    turned on still replay and their incidents go on.
    """

    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt_payload(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt_payload(p) for p in payloads]

    def encrypt_payload(self, payload: Payload) -> Payload:
        key_id = self.ring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()}, data=nonce + sealed)

    def decrypt_payload(self, payload: Payload) -> Payload:
        key_id = key_id_of(payload)
        if key_id is None:
            return payload
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise unknown_key(key_id, self.ring)
        try:
            return Payload.FromString(cipher.decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], None))
        except InvalidTag:
            raise DecryptionError(
                f"无法用密钥 {key_id} 解密 the payload does not decrypt with key {key_id}: the key file holds "
                "another key under that id, or the payload was altered"
            ) from None


def unknown_key(key_id: str, ring: KeyRing | None) -> UnknownKeyError:
    """The error for a payload under ``key_id`` that ``ring`` (``None``: no key file) cannot open."""
    if ring is None:
        return UnknownKeyError(
            key_id,
            f"数据已加密（密钥 {key_id}），需要密钥文件 the data is encrypted (key id {key_id}): "
            f"set {KEYS_ENV} to the key file that holds it",
        )
    return UnknownKeyError(
        key_id,
        f"未知密钥 {key_id}：密钥文件 {ring.source} 中没有 unknown encryption key id {key_id!r}: the key file "
        f"holds {', '.join(ring.ids)}; add the key {key_id} back to decrypt",
    )


def encrypted_key_ids(payloads: Iterable[Payload]) -> set[str]:
    return {kid for kid in (key_id_of(p) for p in payloads) if kid is not None}


# ------------------------------------------------------------------ keygen


def new_key_line(key_id: str) -> str:
    """A key file line with a fresh random AES-256 key."""
    return f"{key_id}: {base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m yuqing.codec keygen|check``: make a key line; check a key file."""
    parser = argparse.ArgumentParser(
        prog="python -m yuqing.codec",
        description="载荷加密密钥 payload encryption keys (YUQING_ENCRYPTION_KEYS)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    keygen = commands.add_parser(
        "keygen",
        help="生成一行新密钥 print a new key line; append it to the key file to make it the encrypting key",
    )
    keygen.add_argument("--id", dest="key_id", default=None,
                        help="密钥编号 key id (default: key-YYYYMMDD-HHMMSS, UTC)")  # fmt: skip
    check = commands.add_parser("check", help="检查密钥文件 check a key file (default $YUQING_ENCRYPTION_KEYS)")
    check.add_argument("path", nargs="?", default=None)
    args = parser.parse_args(argv)
    try:
        if args.command == "keygen":
            key_id = args.key_id or datetime.now(timezone.utc).strftime("key-%Y%m%d-%H%M%S")
            if not KEY_ID_PATTERN.fullmatch(key_id):
                raise UsageError(f"密钥编号无效 invalid key id {key_id!r} (letters, digits, '.', '_', '-'; at most 64)")
            sys.stdout.write(new_key_line(key_id) + "\n")
            return 0
        path = args.path or os.environ.get(KEYS_ENV, "").strip()
        if not path:
            raise UsageError(f"未指定密钥文件 no key file: give a path or set {KEYS_ENV}")
        ring = load_keys(path)
        sys.stdout.write(
            f"密钥文件可用 key file OK: {len(ring.keys)} 个密钥 keys ({', '.join(ring.ids)}); "
            f"加密用 encrypting with {ring.current}\n"
        )
        return 0
    except YuqingError as err:
        sys.stderr.write(f"{err}\n")
        return err.exit_code


if __name__ == "__main__":
    sys.exit(main())
