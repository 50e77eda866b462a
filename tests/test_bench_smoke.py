"""The benchmark suite's quick run (``python -m bench.suite --quick``): every measure runs and reports.

A smoke test so the suite never rots; nothing here asserts a speed (bench/RESULTS.md records those).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

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
