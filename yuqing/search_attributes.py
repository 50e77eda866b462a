"""The search attributes incidents publish, so staff list and filter them in Temporal's UI and CLI.

The worker checks at start that they exist on its server and creates the missing ones
(``ensure``). The starter gives a new incident's values with its start (``at_start``: no visibility
write of its own); the workflow upserts them as the incident changes, and only what changed.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest, ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeKey, SearchAttributePair, SearchAttributeUpdate, TypedSearchAttributes
from temporalio.service import RPCError, RPCStatusCode

from yuqing.models import IncidentRecord, ObligationStatus

STATE = SearchAttributeKey.for_keyword("YuqingState")
"""``open`` / ``closed``."""
OPINION_LEVEL = SearchAttributeKey.for_keyword("YuqingOpinionLevel")
EVENT_GRADE = SearchAttributeKey.for_keyword("YuqingEventGrade")
"""The sudden event's grade, or ``none``."""
UNIT = SearchAttributeKey.for_keyword("YuqingUnit")
"""The responsible unit's code."""
NEXT_DEADLINE = SearchAttributeKey.for_datetime("YuqingNextDeadline")
OVERDUE = SearchAttributeKey.for_bool("YuqingOverdue")

ALL: tuple[SearchAttributeKey[Any], ...] = (STATE, OPINION_LEVEL, EVENT_GRADE, UNIT, NEXT_DEADLINE, OVERDUE)
_BY_NAME = {key.name: key for key in ALL}


class SearchAttributeError(Exception):
    """The server lacks our search attributes and we may not create them."""


def values_of(record: IncidentRecord) -> dict[str, Any]:
    """The search attribute values of an incident's record."""
    pending = [o.due_at for o in record.obligations if o.status == ObligationStatus.PENDING]
    return {
        STATE.name: record.state.value,
        OPINION_LEVEL.name: record.opinion_level.value,
        EVENT_GRADE.name: record.event.grade.value if record.event else "none",
        UNIT.name: record.responsible_unit,
        NEXT_DEADLINE.name: min(pending) if pending else None,
        OVERDUE.name: any(o.status == ObligationStatus.OVERDUE for o in record.obligations),
    }


DEADLINE_TOLERANCE = timedelta(minutes=1)
"""How far a next deadline given at the start may be from the workflow's own and still count as
published: an incident discovered "now" has its clocks run from the workflow's first task, a moment
after the starter computed them (a list shows deadlines to the minute; the next change sets it exactly)."""


def at_start(record: IncidentRecord) -> TypedSearchAttributes:
    """The values of a new incident's opening record, for ``start_workflow(search_attributes=…)``."""
    values = values_of(record)
    return TypedSearchAttributes(
        [SearchAttributePair(_BY_NAME[name], value) for name, value in values.items() if value is not None]
    )


def given(attributes: TypedSearchAttributes, values: dict[str, Any]) -> dict[str, Any]:
    """What a run's start already published of ``values`` (the workflow's own, at its first task)."""
    published: dict[str, Any] = {}
    for key in ALL:
        value = attributes.get(key)
        if value is None:
            continue
        ours = values.get(key.name)
        if isinstance(value, datetime) and isinstance(ours, datetime) and abs(value - ours) <= DEADLINE_TOLERANCE:
            value = ours
        published[key.name] = value
    return published


def updates(values: dict[str, Any]) -> list[SearchAttributeUpdate[Any]]:
    """Upserts for ``values``; ``None`` unsets."""
    result: list[SearchAttributeUpdate[Any]] = []
    for name, value in values.items():
        key = _BY_NAME[name]
        result.append(key.value_unset() if value is None else key.value_set(value))
    return result


async def ensure(client: Client) -> list[str]:
    """Create the search attributes the server lacks; return the names created.

    Idempotent. Where the server refuses (a cloud namespace, no operator rights), raise with the
    command an administrator can run instead.
    """
    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    present = set(listed.custom_attributes) | set(listed.system_attributes)
    missing = {k.name: IndexedValueType.ValueType(k.indexed_value_type.value) for k in ALL if k.name not in present}
    if not missing:
        return []
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS:
            return []
        commands = "; ".join(
            f"temporal operator search-attribute create --namespace {client.namespace} --name {name} "
            f"--type {_BY_NAME[name].indexed_value_type.name.title()}"
            for name in missing
        )
        raise SearchAttributeError(
            f"缺少检索属性且无权创建 search attributes {sorted(missing)} are missing on namespace "
            f"{client.namespace!r} and cannot be created here ({err.message}). An administrator can run: {commands}"
        ) from err
    return sorted(missing)

