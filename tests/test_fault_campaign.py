"""The small fault campaign (issue 11; P4.a, P4.b, D.esc, A4.4): a few incidents through their whole
lifecycles while a worker is SIGKILLed, the dev server restarted and the webhook channel down; nothing
lost, nothing duplicated, no workflow stuck or failed, and the figures add up.

It runs ``python -m faults.campaign --quick`` as anyone would (its own dev server, two workers, a
receiver): about a minute, mostly waiting. The expectations it checks against are computed by
``faults.plans.expect`` from the pure rules; ``test_expectations_…`` pin them on a timeline worked by hand.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

from faults.campaign import failed
from faults.plans import FULL, QUICK, SECONDS_PER_HOUR, Filed, campaign_policy, expect, hours
from yuqing.directory import load_directory
from yuqing.models._policy import MIN_HOURS

ROOT = Path(__file__).resolve().parent.parent


def test_campaign_policy_is_the_shipped_one_in_minutes() -> None:
    """The short policy keeps the shipped windows' proportions at the smallest scale the model allows."""
    policy = campaign_policy()
    for kind, rule in policy.obligations.items():
        assert rule.escalation_interval_hours >= MIN_HOURS, kind
    info = policy.obligations[next(k for k in policy.obligations if k.value == "authoritative_info")]
    assert info.window == timedelta(minutes=5) and info.escalation_interval == timedelta(minutes=1)
    assert policy.notification_retry == timedelta(seconds=10)  # shorter than the outage: the pending path runs
    assert policy.evaluation_window_days == 0
    assert SECONDS_PER_HOUR == 60


def test_expectations_of_a_chain_climb_follow_p4a_by_hand() -> None:
    """D.esc, P4.a, P4.d: 5 h due 0.2 h after opening, met at 3.7 h: steps at 0.2, 1.2, 2.2, 3.2 — the
    county department's four levels, once each; the step at 4.2 h is not due."""
    scenario = next(s for s in FULL if s.name == "up-the-chain")
    opened = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
    discovered = opened - hours(scenario.discovered_ago)
    filed = []
    for seq, action in enumerate(scenario.actions, start=1):
        when = opened + hours(action.at)
        filed.append(Filed(action, seq, scenario.unit, f"r-{seq:08d}", when, at=when, arrived_at=when))
    exp = expect("W", scenario, discovered, opened, filed, campaign_policy(), load_directory())
    steps = [(s.obligation, s.level, s.round) for s in exp.steps]
    assert steps == [("authoritative_info#1", level, 1) for level in (1, 2, 3, 4)]
    assert [s.due_at - opened for s in exp.steps] == [hours(0.2 + k) for k in range(4)]
    assert exp.closed_at == opened + hours(4.3)
    assert "W/opened/0/1" in exp.notifications and "W/authoritative_info#1/0/1" in exp.notifications  # P3.e at once


def test_expectations_of_a_major_situation_tell_the_province_and_coordination() -> None:
    """A4.4, A2.3: a major situation filed as report #1 goes to the provincial office and to 宣传, 网信, 通信管理."""
    scenario = next(s for s in QUICK if s.name == "major-sudden-late")
    opened = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)
    filed = [
        Filed(
            a,
            seq,
            scenario.unit,
            f"r-{seq:08d}",
            opened + hours(a.at),
            at=opened + hours(a.at),
            arrived_at=opened + hours(a.at),
        )
        for seq, a in enumerate(scenario.actions, start=1)
    ]
    exp = expect(
        "W", scenario, opened - hours(scenario.discovered_ago), opened, filed, campaign_policy(), load_directory()
    )
    kinds = exp.notifications
    assert kinds["W/major_situation#1/0/1"] == "major_situation"
    assert sorted(k for k, v in kinds.items() if v == "coordination") == [
        *(f"W/coordination#0/{n}/1" for n in (1, 2, 3)),
        *(f"W/coordination#1/{n}/1" for n in (1, 2, 3)),
    ]
    assert [(s.obligation, s.index) for s in exp.steps] == [("authoritative_info#1", 0)]  # late at 0.5 h: one 催办


def test_a_loss_or_a_duplicate_fails_the_verdict() -> None:
    """The exit code follows the figures: one lost notification, one duplicated report, one stuck workflow."""
    good = {
        "workflows": {"incidents": 2, "completed": 2},
        "reports": {"sent": 4, "recorded": 4},
        "escalations": {},
        "notifications": {},
        "problems": [],
    }
    assert failed(good) == []
    assert failed({**good, "notifications": {"lost": 1}})
    assert failed({**good, "reports": {"sent": 4, "recorded": 4, "duplicated": 1}})
    assert failed({**good, "workflows": {"incidents": 2, "completed": 1, "stuck": 1}})
    assert failed({**good, "escalations": {"missing": 1}})


def test_small_campaign_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """Issue 11: a worker SIGKILLed (twice), the server restarted, the webhook down 15 policy minutes."""
    out = tmp_path / "figures.json"
    run = subprocess.run(
        [sys.executable, "-m", "faults.campaign", "--quick", "--seed", "3", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr[-3000:]
    figures = json.loads(out.read_text(encoding="utf-8"))
    w, r, e, n, f = (figures[k] for k in ("workflows", "reports", "escalations", "notifications", "faults"))
    assert figures["verdict"] == "pass" and figures["problems"] == []
    assert f["worker_kills"] >= 1 and f["server_restarts"] >= 1 and len(f["outages"]) == 1
    assert w["incidents"] == w["completed"] == w["closed"] == 5
    assert w.get("workflow_task_failed", 0) == 0
    assert r["sent"] == r["recorded"] == r["planned"] == 15 and r["duplicated"] == 0
    assert r["attempts"] == r["sent"] + r["resent"]
    assert e["steps_due"] == e["steps_recorded"] == e["sent"] + e["folded_after_gap"] >= 3
    assert e["missing"] == e["unexpected"] == 0
    assert n["due"] == n["decided"] == n["outbox_delivered"] == n["webhook_delivered"] > 0
    assert n["due"] == sum(v for k, v in n.items() if k.startswith("due_"))
    assert n["lost"] == n["duplicated"] == n["pending_at_end"] == 0
    assert n["due_major_situation"] == 1 and n["due_transfer"] == 1  # A4.4, A4.1
    assert n["webhook_refused_503"] > 0  # the outage was felt
    assert "结论 verdict: 通过 PASS" in run.stdout
