"""The deadline policy: durations, warning share and escalation intervals, as data.

Loaded from a TOML file (default ``yuqing/data/policy.toml``, the notice's values and our P
defaults). The workflow never reads the file: the starter copies the policy into each
incident's input, so a changed file never moves a running incident's clocks.
"""

from __future__ import annotations

import os
import tomllib
from datetime import timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yuqing.models import ObligationKind

DEFAULT_POLICY_PATH = Path(__file__).parent / "data" / "policy.toml"


class PolicyError(Exception):
    """The policy file cannot be used; the message names the file and the entry."""


class ObligationPolicy(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    rule: str
    window_hours: float = Field(gt=0)
    escalation_interval_hours: float = Field(gt=0)

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.window_hours)

    @property
    def escalation_interval(self) -> timedelta:
        return timedelta(hours=self.escalation_interval_hours)


class Policy(BaseModel):
    """One province's deadlines (A3.1-A3.4, P3.d, P3.e, P4.a, P4.c).

    Copied into every incident's input, so it tolerates unknown fields on the wire (an older
    worker must decode a newer policy); the file itself is checked strictly by ``load_policy``.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    name: str
    warning_fraction: float = Field(gt=0, lt=1)
    notification_retry_hours: float = Field(default=1.0, gt=0)
    """P4.b (ours): how long a notification is retried before it is recorded as undelivered."""
    obligations: dict[ObligationKind, ObligationPolicy]

    @model_validator(mode="after")
    def _every_kind(self) -> "Policy":
        missing = [k.value for k in ObligationKind if k not in self.obligations]
        if missing:
            raise ValueError(f"missing [obligations.{missing[0]}]")
        return self

    def of(self, kind: ObligationKind) -> ObligationPolicy:
        return self.obligations[kind]

    @property
    def notification_retry(self) -> timedelta:
        return timedelta(hours=self.notification_retry_hours)


def load_policy(path: Path | str | None = None) -> Policy:
    """Read a policy file: ``path``, else ``$YUQING_POLICY``, else the shipped default."""
    chosen = Path(path or os.environ.get("YUQING_POLICY") or DEFAULT_POLICY_PATH)
    try:
        data = tomllib.loads(chosen.read_text(encoding="utf-8"))
    except OSError as err:
        raise PolicyError(f"时限政策文件无法读取 cannot read policy file {chosen}: {err.strerror}") from err
    except tomllib.TOMLDecodeError as err:
        raise PolicyError(f"时限政策文件格式错误 policy file {chosen} is not valid TOML: {err}") from err
    unknown = _unknown_entry(data)
    if unknown:
        raise PolicyError(f"时限政策文件有误 policy file {chosen}, entry {unknown}: unknown entry (a typo?)")
    try:
        return Policy.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top)"
        raise PolicyError(f"时限政策文件有误 policy file {chosen}, entry {where}: {first['msg']}") from err


def _unknown_entry(data: dict[str, object]) -> str | None:
    """The first entry of a policy file that no field reads: a typo must not pass silently."""
    for key, value in data.items():
        if key not in Policy.model_fields:
            return key
        if key == "obligations" and isinstance(value, dict):
            for kind, table in value.items():
                extra = [k for k in (table if isinstance(table, dict) else {}) if k not in ObligationPolicy.model_fields]
                if extra:
                    return f"obligations.{kind}.{extra[0]}"
    return None
