"""History files and the export manifest.

A history file is the raw history JSON, exactly as ``WorkflowHistory.to_json()`` or
``temporal workflow show --output json`` writes it, so Temporal's own tools read our exports and we
read theirs. The JSON has no workflow id: our exports put it in the file name,
``<workflow id>__<run id>.json``; for any other file the incident id in the start input is used
(an incident's workflow id is its incident id).

Beside the files an export writes ``manifest.json``: every file with its workflow id, run id,
SHA-256 and the ids of the keys its payloads are encrypted under (``key_ids``, empty when in clear:
an auditor needs those keys in ``YUQING_ENCRYPTION_KEYS`` to replay it), and the export time. An
export copies the histories as stored: encrypted payloads stay encrypted in the files. A file in a directory that has a manifest must be listed there with
the same hash, or it is reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.json_format import ParseError
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from yuqing import config
from yuqing.codec import EncryptionCodec, encrypted_key_ids

MANIFEST_NAME = "manifest.json"
MANIFEST_FORMAT = "yuqing-audit-export/1"
SEPARATOR = "__"

CLOSE_EVENTS = {
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED: "completed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED: "failed",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT: "timed_out",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED: "canceled",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED: "terminated",
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW: "continued_as_new",
}


class HistoryError(Exception):
    """A file that is not a usable history; the message is one line in Chinese and English."""


def file_name(workflow_id: str, run_id: str) -> str:
    """``<workflow id>__<run id>.json``; characters unsafe in a file name are %-escaped."""
    return f"{quote(workflow_id, safe='')}{SEPARATOR}{run_id}.json"


def parse_file_name(name: str) -> tuple[str, str] | None:
    """The workflow id and run id an export's file name carries, or ``None``."""
    if not name.endswith(".json") or SEPARATOR not in name:
        return None
    stem = name[: -len(".json")]
    workflow_id, _, run_id = stem.rpartition(SEPARATOR)
    if not workflow_id or not run_id:
        return None
    return unquote(workflow_id), run_id


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def utc(ts: Any) -> datetime:
    """A protobuf ``Timestamp`` as an aware datetime (microseconds, as the SDK's ``workflow.now()``)."""
    return ts.ToDatetime(tzinfo=timezone.utc)


def event_name(event: HistoryEvent) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")


@dataclass
class HistoryFile:
    """One run's history, read from a file."""

    path: Path
    data: bytes
    history: WorkflowHistory
    workflow_id: str
    run_id: str
    sha256: str
    by_id: dict[int, HistoryEvent] = field(default_factory=dict)

    @property
    def events(self) -> Sequence[HistoryEvent]:
        return self.history.events

    @property
    def started(self) -> Any:
        return self.events[0].workflow_execution_started_event_attributes

    @property
    def workflow_type(self) -> str:
        return str(self.started.workflow_type.name)

    @property
    def continued_from(self) -> str | None:
        """The run this one continued from (continue-as-new), if any."""
        return self.started.continued_execution_run_id or None

    @property
    def close_event(self) -> HistoryEvent | None:
        last = self.events[-1]
        return last if last.event_type in CLOSE_EVENTS else None

    @property
    def execution(self) -> str:
        """``running`` (the history was exported while it ran) or how the run closed."""
        last = self.close_event
        return CLOSE_EVENTS[last.event_type] if last is not None else "running"

    @property
    def continued_to(self) -> str | None:
        last = self.close_event
        if last is not None and last.HasField("workflow_execution_continued_as_new_event_attributes"):
            return last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
        return None

    @property
    def first_time(self) -> datetime:
        return utc(self.events[0].event_time)

    @property
    def last_time(self) -> datetime:
        return utc(self.events[-1].event_time)


def parse_history(data: bytes, *, path: Path, workflow_id: str | None = None) -> HistoryFile:
    """Read the bytes of a history file; raise ``HistoryError`` with why it cannot be used."""
    try:
        parsed = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as err:
        raise HistoryError(f"不是 JSON 文件 not a JSON file: {err}") from None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("events"), list):
        raise HistoryError('不是工作流历史 not a workflow history: no "events" list')
    try:
        history = WorkflowHistory.from_json(workflow_id or "", parsed)
    except (ParseError, ValueError, TypeError, KeyError) as err:
        raise HistoryError(f"历史格式有误 malformed history: {' '.join(str(err).split())[:200]}") from None
    if not history.events or not history.events[0].HasField("workflow_execution_started_event_attributes"):
        raise HistoryError("历史不以工作流启动开头 the history does not begin with the workflow's start")
    run_id = history.run_id
    named = parse_file_name(path.name)
    if workflow_id is None:
        if named is not None and named[1] == run_id:
            workflow_id = named[0]
        else:
            workflow_id = _incident_id(history) or path.stem
        history = WorkflowHistory(workflow_id, history.events)
    result = HistoryFile(
        path=path, data=data, history=history, workflow_id=workflow_id, run_id=run_id, sha256=sha256(data)
    )
    result.by_id = {e.event_id: e for e in history.events}
    return result


def read_history(path: Path) -> HistoryFile:
    try:
        data = path.read_bytes()
    except OSError as err:
        raise HistoryError(f"无法读取 cannot read {path}: {err.strerror}") from None
    return parse_history(data, path=path)


def _incident_id(history: WorkflowHistory) -> str | None:
    """The incident id in the start input (an incident's workflow id), for files named otherwise."""
    started = history.events[0].workflow_execution_started_event_attributes
    if not started.input.payloads:
        return None
    try:
        payload = started.input.payloads[0]
        codec = config.data_converter().payload_codec
        if isinstance(codec, EncryptionCodec):  # encrypted: readable with the key, else the file name will do
            payload = codec.decrypt_payload(payload)
        value = config.DATA_CONVERTER.payload_converter.from_payload(payload)
    except Exception:  # not our payload: the file name will do
        return None
    if isinstance(value, dict) and isinstance(value.get("incident"), dict):
        incident_id = value["incident"].get("id")
        return incident_id if isinstance(incident_id, str) else None
    return None


def payloads_of(messages: Iterable[Message]) -> Iterator[Payload]:
    """Every payload inside ``messages`` (history events): inputs, results, memo, headers, failure
    details, search attributes — wherever the protocol nests them."""
    for message in messages:
        if isinstance(message, Payload):
            yield message
            continue
        for descriptor, value in message.ListFields():
            if descriptor.type != FieldDescriptor.TYPE_MESSAGE:
                continue
            if descriptor.message_type.GetOptions().map_entry:
                if descriptor.message_type.fields_by_name["value"].type == FieldDescriptor.TYPE_MESSAGE:
                    yield from payloads_of(value.values())
            elif descriptor.is_repeated:
                yield from payloads_of(value)
            else:
                yield from payloads_of([value])


# ------------------------------------------------------------------ discovery


def discover(paths: Iterable[Path]) -> list[Path]:
    """The history files among ``paths``: files as given, directories searched for ``*.json``
    (recursively, manifests left out). Raises ``FileNotFoundError`` for a path that does not exist."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*.json") if p.name != MANIFEST_NAME and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(str(path))
    unique: dict[Path, None] = {}
    for path in found:
        unique.setdefault(path.resolve(), None)
    return list(unique)


# ------------------------------------------------------------------ manifest


def manifest_entry(history: HistoryFile, file: str) -> dict[str, Any]:
    return {
        "file": file,
        "workflow_id": history.workflow_id,
        "run_id": history.run_id,
        "sha256": history.sha256,
        "events": len(history.events),
        "execution": history.execution,
        "continued_from": history.continued_from,
        "continued_to": history.continued_to,
        "key_ids": sorted(encrypted_key_ids(payloads_of(history.events))),
    }


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of an export directory, or ``None`` if it has none.

    Raises ``HistoryError`` for a manifest that cannot be read: an auditor must not fall back to
    unverified files silently.
    """
    path = directory / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if manifest.get("format") != MANIFEST_FORMAT or not isinstance(files, list):
            raise ValueError(f"unknown format {manifest.get('format')!r}")
        for entry in files:
            if not isinstance(entry, dict) or not {"file", "sha256"} <= set(entry):
                raise ValueError("an entry lacks file or sha256")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise HistoryError(f"清单无法读取 cannot read manifest {path}: {err}") from None
    return manifest


def check_against_manifests(files: Sequence[Path]) -> tuple[dict[Path, str], list[tuple[Path, str]]]:
    """Check every file against the manifest of its directory (if it has one).

    Returns the problem of each file that fails (hash differs, not listed) and the files a
    manifest lists that are missing, with why. Manifests are found beside the files.
    """
    problems: dict[Path, str] = {}
    missing: list[tuple[Path, str]] = []
    by_dir: dict[Path, list[Path]] = {}
    for path in files:
        by_dir.setdefault(path.parent, []).append(path)
    for directory, paths in by_dir.items():
        manifest = read_manifest(directory)
        if manifest is None:
            continue
        listed = {entry["file"]: entry for entry in manifest["files"]}
        for path in paths:
            entry = listed.get(path.name)
            if entry is None:
                problems[path] = f"清单未列出此文件 not listed in {MANIFEST_NAME}: its content cannot be verified"
                continue
            actual = sha256(path.read_bytes())
            if actual != entry["sha256"]:
                problems[path] = (
                    f"文件已被改动 content altered: sha256 {actual[:16]}… differs from the manifest's "
                    f"{str(entry['sha256'])[:16]}…"
                )
        present = {p.name for p in paths}
        for name in listed:
            if name not in present and not (directory / name).exists():
                missing.append((directory / name, f"清单所列文件缺失 listed in {MANIFEST_NAME} but missing"))
    return problems, missing


def write_json(path: Path, data: Any) -> bytes:
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    raw = text.encode("utf-8")
    path.write_bytes(raw)
    return raw
