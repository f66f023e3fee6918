"""rolloutctl.governance.policy_check.check_seeds: problems in the metric and gate seeds."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rolloutctl.governance.policy_check import check_seeds

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path):
    shutil.copytree(PROJECT / "governance", tmp_path / "governance")
    shutil.copytree(PROJECT / "macros", tmp_path / "macros")
    return tmp_path


def _edit(project: Path, name: str, old: str, new: str) -> None:
    path = project / "governance" / name
    text = path.read_text()
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1))


def _codes(problems):
    return sorted((p.severity, p.code) for p in problems)


def test_shipped_seeds_have_only_the_dead_restore_warn_band():
    problems = check_seeds(PROJECT)
    assert _codes(problems) == [("warning", "dead_warn_band")]
    (problem,) = problems
    assert problem.file == "governance/metric_thresholds.csv" and problem.line == 3
    assert "restore_success_rate" in problem.message and "0.97" in problem.message and "0.995" in problem.message
    assert str(problem).startswith("governance/metric_thresholds.csv:3: warning: ")


def test_dead_warn_band_above(project):
    _edit(project, "metric_thresholds.csv", "above,700,900", "above,900,900")
    assert ("warning", "dead_warn_band") in _codes(check_seeds(project))


def test_unknown_metric_dimension_window_and_phase(project):
    _edit(project, "metric_thresholds.csv", "autosave_p95,all,1h", "autosave_p99,all,1h")
    _edit(project, "metric_thresholds.csv", "restore_success_rate,overall,24h", "restore_success_rate,archive,12h")
    _edit(project, "metric_thresholds.csv", ",50,B-0,", ",50,C-0,")
    codes = _codes(check_seeds(project))
    for code in ("unknown_metric", "unknown_dimension", "unknown_window", "unknown_phase"):
        assert ("error", code) in codes


def test_bad_numbers(project):
    _edit(project, "metric_thresholds.csv", "above,700,900,20", "above,seven hundred,900,-1")
    _edit(project, "metric_thresholds.csv", "below,0.85,0.80,50", "sideways,0.85,inf,5.5")
    codes = _codes(check_seeds(project))
    for code in ("bad_level", "negative_min_samples", "bad_breach_when", "bad_min_samples"):
        assert ("error", code) in codes


def test_rate_levels_outside_unit_interval(project):
    _edit(project, "metric_thresholds.csv", "below,0.85,0.80", "below,85,80")
    assert ("warning", "level_out_of_range") in _codes(check_seeds(project))


def test_duplicates_and_missing_files(project):
    path = project / "governance" / "metric_thresholds.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines + [lines[1]]) + "\n")
    (project / "governance" / "metric_catalog.csv").unlink()
    problems = check_seeds(project)
    assert ("error", "duplicate_threshold") in _codes(problems)
    assert ("error", "missing_seed") in _codes(problems)


def test_phase_flags(project):
    _edit(project, "phase_flags.csv", "A-2,3,true", "A-2,3,maybe")
    _edit(project, "phase_flags.csv", "B-1,5,", "B-1,4,")
    codes = _codes(check_seeds(project))
    assert ("error", "bad_flag") in codes and ("error", "duplicate_phase_order") in codes


def test_gate_rule_reading_a_metric_without_threshold(project):
    rules = project / "governance" / "gate_rules.csv"
    if not rules.exists():
        pytest.skip("no gate rules seed")
    header = rules.read_text().splitlines()[0]
    assert header.startswith("phase,rule_id,kind,measure,metric,dimension,window")
    with rules.open("a") as fh:
        fh.write('B-1,b1_test_crash_critical,rollback,metric_critical,crash_rate,all,24h,=,,50,"test"\n')
        fh.write('B-1,b1_test_unknown,rollback,metric_value,crash_rate,everyone,2h,>,0.1,50,"test"\n')
    codes = _codes(check_seeds(project))
    for code in ("no_threshold", "unknown_dimension", "unknown_window"):
        assert ("error", code) in codes


def test_budget_share_must_be_a_share(project):
    _edit(project, "metric_thresholds.csv", ",A-1,0.02,", ",A-1,1.5,")
    _edit(project, "metric_thresholds.csv", ",B-0,0.05,", ",B-0,lots,")
    problems = [p for p in check_seeds(project) if p.code == "bad_budget_share"]
    assert [(p.severity, p.line) for p in problems] == [("error", 2), ("error", 4)]
    assert "critical_budget_share '1.5' is not a share in [0, 1]" in problems[0].message
