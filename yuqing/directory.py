"""The unit directory (单位名录): who answers for an incident and who stands above it.

A CSV file shipped with the project (``yuqing/data/units.csv``; ``$YUQING_UNITS`` for another):
one unit a line with its code, name, kind, the government it belongs to (``parent``), its
leader in charge (分管负责人) and its section (科（处、室）) (A1.3). The escalation chain (P4.d)
is derived from it in ``workflows.rules.article4_supervision``. A broken file fails at load
with a message naming the line.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from yuqing.models import Unit, UnitKind

DEFAULT_UNITS_PATH = Path(__file__).parent / "data" / "units.csv"
COLUMNS = ("code", "name", "kind", "parent", "leader", "section")


class DirectoryError(Exception):
    """The unit directory cannot be used; the message names the file and line."""


class Directory:
    """Units by code, checked whole: known parents, no cycles, one provincial office."""

    def __init__(self, units: dict[str, Unit], lines: dict[str, int], source: str) -> None:
        self._units = units
        self.source = source
        self._check(lines)

    def __iter__(self) -> Iterator[Unit]:
        return iter(self._units.values())

    def __len__(self) -> int:
        return len(self._units)

    def __contains__(self, code: object) -> bool:
        return code in self._units

    def get(self, code: str) -> Unit:
        """The unit with this code; ``KeyError`` with a clear message if there is none."""
        try:
            return self._units[code]
        except KeyError:
            raise KeyError(f"未知单位 unknown unit {code!r} (see `yuqing units`)") from None

    @property
    def provincial_office(self) -> Unit:
        return next(u for u in self if u.kind == UnitKind.PROVINCIAL_OFFICE)

    def parent(self, unit: Unit) -> Unit | None:
        return self._units[unit.parent] if unit.parent else None

    def _check(self, lines: dict[str, int]) -> None:
        def fail(code: str, message: str) -> DirectoryError:
            return DirectoryError(f"单位名录有误 {self.source}, line {lines.get(code, '?')}: {message}")

        offices = [u.code for u in self if u.kind == UnitKind.PROVINCIAL_OFFICE]
        if len(offices) != 1:
            raise DirectoryError(
                f"单位名录有误 {self.source}: exactly one provincial_office (省政府办公厅) is needed, found {len(offices)}"
            )
        for unit in self:
            if unit.parent is not None and unit.parent not in self._units:
                raise fail(unit.code, f"unit {unit.code!r} names unknown parent {unit.parent!r}")
            if unit.parent is None and unit.kind != UnitKind.PROVINCIAL_OFFICE:
                raise fail(unit.code, f"unit {unit.code!r} ({unit.kind.value}) needs the government it belongs to (parent)")
        for unit in self:
            seen = [unit.code]
            current = unit
            while current.parent is not None:
                current = self._units[current.parent]
                if current.code in seen:
                    raise fail(unit.code, f"parents form a cycle: {' -> '.join([*seen, current.code])}")
                seen.append(current.code)


def load_directory(path: Path | str | None = None) -> Directory:
    """Read the directory: ``path``, else ``$YUQING_UNITS``, else the shipped file."""
    chosen = Path(path or os.environ.get("YUQING_UNITS") or DEFAULT_UNITS_PATH)
    try:
        text = chosen.read_text(encoding="utf-8-sig")
    except OSError as err:
        raise DirectoryError(f"单位名录无法读取 cannot read unit directory {chosen}: {err.strerror}") from err
    reader = csv.DictReader(text.splitlines())
    if tuple(reader.fieldnames or ()) != COLUMNS:
        raise DirectoryError(f"单位名录有误 {chosen}, line 1: columns must be {','.join(COLUMNS)}")
    units: dict[str, Unit] = {}
    lines: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row or any(v is None for v in row.values()):
            raise DirectoryError(f"单位名录有误 {chosen}, line {line}: expected {len(COLUMNS)} columns")
        try:
            unit = Unit.model_validate({k: (v.strip() or None) for k, v in row.items()})
        except ValidationError as err:
            first = err.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise DirectoryError(f"单位名录有误 {chosen}, line {line}: {field}: {first['msg']}") from err
        if unit.code in units:
            raise DirectoryError(
                f"单位名录有误 {chosen}, line {line}: duplicate code {unit.code!r} (first on line {lines[unit.code]})"
            )
        units[unit.code] = unit
        lines[unit.code] = line
    return Directory(units, lines, str(chosen))
