"""Loading the deadline policy file (the ``Policy`` value itself is in ``yuqing.models``).

The file (default ``yuqing/data/policy.toml``: the notice's values and our P defaults) is read by
the starter, never by the workflow: the starter copies the policy into each incident's input, so a
changed file never moves a running incident's clocks. The file is checked strictly (an unknown
entry is a typo, not a newer field); every window and interval must lie between one minute and
thirty days.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from pydantic import ValidationError

from yuqing.models import ObligationPolicy, Policy

DEFAULT_POLICY_PATH = Path(__file__).parent / "data" / "policy.toml"

__all__ = ["DEFAULT_POLICY_PATH", "Policy", "PolicyError", "load_policy"]


class PolicyError(Exception):
    """The policy file cannot be used; the message names the file and the entry."""


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
