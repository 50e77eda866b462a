"""The policy file and the unit directory: the shipped defaults, and clear errors for broken files."""

from __future__ import annotations

from pathlib import Path

import pytest

from yuqing.directory import DirectoryError, load_directory
from yuqing.models import ObligationKind, UnitKind
from yuqing.policy import PolicyError, load_policy

HEADER = "code,name,kind,parent,domains,vertical,leader,section,principal\n"
OFFICE = "sz-bgt,山东省人民政府办公厅,provincial_office,,,否,分管副秘书长,政务公开处,省长\n"


def test_default_policy_is_the_notice_and_our_defaults() -> None:
    """A3.1 5 h, A3.2 24 h, A3.3 48 h, P3.d 24 h, P4.c 1 h, P4.f 24 h, P3.e 80%, P4.a intervals 1/1/6 h."""
    p = load_policy()
    hours = {k.value: (p.of(k).window_hours, p.of(k).escalation_interval_hours, p.of(k).rule) for k in ObligationKind}
    assert hours == {
        "authoritative_info": (5, 1, "A3.1"),
        "press_conference": (24, 1, "A3.2"),
        "response": (48, 6, "A3.3"),
        "continued_release": (24, 6, "P3.d"),
        "acceptance": (1, 1, "P4.c"),
        "analysis": (24, 1, "P4.f"),
    }
    assert p.warning_fraction == 0.8 and p.name == "鲁政办发〔2018〕18号"
    assert p.filing_grace_minutes == 30  # P4.h (ours): a report delayed by an outage counts at its filing time
    assert p.notification_retry_hours == 1  # P4.b (ours): the retry budget before a delivery failure is recorded
    assert p.evaluation_window_days == 30  # P5.b (ours): a closed incident takes its evaluation for 30 days


def test_policy_found_next_to_code_not_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_policy().of(ObligationKind.RESPONSE).window_hours == 48
    assert len(load_directory()) > 30


def test_another_province_is_another_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = (Path(load_policy.__code__.co_filename).parent / "data" / "policy.toml").read_text(encoding="utf-8")
    other = tmp_path / "other.toml"
    other.write_text(text.replace('name = "鲁政办发〔2018〕18号"', 'name = "某省"').replace("window_hours = 48", "window_hours = 36"), encoding="utf-8")
    monkeypatch.setenv("YUQING_POLICY", str(other))
    p = load_policy()
    assert (p.name, p.of(ObligationKind.RESPONSE).window_hours) == ("某省", 36)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'x'\nwarning_fraction = 1.5\n", "warning_fraction"),
        ("name = 'x'\nwarning_fraction = 0.8\n[obligations.response]\nrule='A3.3'\nwindow_hours=48\nescalation_interval_hours=6\n", "missing [obligations."),
        ("name = \n", "not valid TOML"),
        ("name = 'x'\nwarning_fraction = 0.8\nobligations = {}\nspeed = 3\n", "speed"),
    ],
)
def test_broken_policy_names_the_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PolicyError, match="policy file") as err:
        load_policy(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_shipped_directory() -> None:
    """A1.3: every unit names its leader in charge and its section; the 16 cities are there."""
    d = load_directory()
    assert sum(1 for u in d if u.kind == UnitKind.CITY_GOVERNMENT) == 16
    assert d.provincial_office.code == "sz-bgt"
    assert all(u.leader and u.section for u in d)
    assert {UnitKind(k) for k in UnitKind} == {u.kind for u in d}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + OFFICE + "a1,甲,department,nowhere,教育,否,副局长,办公室,\n", "line 3: unit 'a1' names unknown parent 'nowhere'"),
        (HEADER + OFFICE + "a1,甲,department,a2,教育,否,副局长,办公室,\na2,乙,department,a1,公安,否,副局长,办公室,\n", "line 3: parents form a cycle"),
        (HEADER + OFFICE + "a1,甲,provincial_department,sz-bgt,教育,否,副厅长,办公室,\na1,乙,provincial_department,sz-bgt,公安,否,副厅长,办公室,\n", "line 4: 单位代码重复 duplicate code 'a1' (first on line 3)"),
        (HEADER + OFFICE + "a1,甲,ministry,sz-bgt,教育,否,副局长,办公室,\n", "line 3: kind"),
        (HEADER + OFFICE + "a1,甲,department,sz-bgt\n", "line 3: 列数不对 expected 9 columns"),
        ("a1,甲,department,,教育,否,副局长,办公室,\n", "line 1: 列名不对 columns must be"),
        (HEADER + "a1,甲,provincial_department,,教育,否,副局长,办公室,\n", "exactly one provincial_office"),
    ],
)
def test_broken_directory_names_the_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "units.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DirectoryError) as err:
        load_directory(path)
    assert message in str(err.value), str(err.value)
    assert "单位名录" in str(err.value)


def test_policy_file_typo_is_refused(tmp_path: Path) -> None:
    """The file is strict (a typo never passes) even though the wire model tolerates new fields."""
    text = (Path(load_policy.__code__.co_filename).parent / "data" / "policy.toml").read_text(encoding="utf-8")
    path = tmp_path / "policy.toml"
    path.write_text(text.replace("escalation_interval_hours = 6 # P4.a (ours)", "escalation_intervall_hours = 6"), encoding="utf-8")
    with pytest.raises(PolicyError, match="obligations.response.escalation_intervall_hours"):
        load_policy(path)


def test_older_worker_decodes_a_newer_policy_and_incident() -> None:
    """Wire tolerance: fields a newer starter adds are ignored by an older worker instead of failing its task."""
    from workflows.rules.article4_supervision import escalation_chain
    from yuqing.directory import load_directory
    from yuqing.models import IncidentInput

    policy = load_policy().model_dump(mode="json") | {"added_in_a_later_release": 1}
    incident = {"id": "YQ-1", "title": "t", "opinion_level": "general", "responsible_unit": "370100", "new_field": "x"}
    chain = [u.model_dump(mode="json") for u in escalation_chain(load_directory(), "370100")]
    parsed = IncidentInput.model_validate(
        {"incident": incident, "policy": policy, "chain": chain, "opened_by": "370100", "future": True}
    )
    assert parsed.policy.of(ObligationKind.RESPONSE).window_hours == 48


@pytest.mark.parametrize(
    ("old", "new", "entry"),
    [
        ("window_hours = 48", "window_hours = 0.01", "obligations.response.window_hours"),  # 36 s: under a minute
        ("window_hours = 48", "window_hours = 721", "obligations.response.window_hours"),  # over thirty days
        ("escalation_interval_hours = 6 # P4.a (ours)", "escalation_interval_hours = 0", "escalation_interval_hours"),
        ("filing_grace_minutes = 30", "filing_grace_minutes = -1", "filing_grace_minutes"),
    ],
)
def test_policy_bounds_every_window_and_interval(tmp_path: Path, old: str, new: str, entry: str) -> None:
    """Every window and interval lies between one minute and thirty days: a policy out of bounds is refused
    with the entry named (the workflow refuses such an input too, at once)."""
    text = (Path(load_policy.__code__.co_filename).parent / "data" / "policy.toml").read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "policy.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError, match=entry):
        load_policy(path)
