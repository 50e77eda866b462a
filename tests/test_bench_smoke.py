"""The benchmark suite's quick run (``python -m bench.suite --quick``): every measure runs and reports.

A smoke test so the suite never rots; nothing here asserts a speed (bench/RESULTS.md records those).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.suite import KEYS

ROOT = Path(__file__).resolve().parent.parent


def test_quick_run_reports_every_ratio(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.suite", "--quick", "--out", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    for key in KEYS:
        value = result["ratios"][key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, value)
    assert set(result["ratios"]) == set(KEYS)
    assert result["machine"]["cores"] >= 1 and result["machine"]["cpu"]
    assert result["rounds"] and all({"incident", "twin"} <= set(r) for r in result["rounds"])
    for run in (result["histories"]["released_daily"], result["histories"]["unanswered"]):
        assert run["runs"] and all(r["events"] > 0 and r["carried_bytes"] > 0 for r in run["runs"])
    assert "| lifecycles/s |" in result["table"] and "| lifecycles/s |" in done.stdout


def test_a_tiny_ratio_is_reported_not_rounded_to_zero() -> None:
    """Under double load a --quick run's six incidents showed the twin's memory growing by hundreds of KiB each and
    ours by nothing: three decimals made the ratio 0.0 and the smoke run failed. Three significant digits."""
    from bench.suite import ratios

    def side(kib: float) -> dict[str, Any]:
        lifecycle = {"per_s": 10.0, "cpu_ms_per_lifecycle": 30.0, "history_events": 44, "history_bytes": 9000}
        return {"lifecycle": lifecycle, "memory": {"kib_per_incident": kib},
                "escalation_4": {"p99_s": 1.0}, "escalation_6": {"p99_s": 1.0}}  # fmt: skip

    found = ratios([{"incident": side(-3.0), "twin": side(400.0)}], [{"ours": {"per_s": 3.0}, "plain": {"per_s": 1.0}}],
                   {"cold_s": 1.0}, (4, 6))  # fmt: skip
    assert found["memory_per_incident_ratio"] == 0.00025 and found["audit_replay_per_s"] == 3.0
