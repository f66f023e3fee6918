"""The error budget column of governance/metric_thresholds.csv (critical_budget_share): a thresholds file written before
it existed (a recorded seed copy replayed, an older backtest candidate) is read with the project's budgets."""
from __future__ import annotations

import csv
import io

from rolloutctl.verification.scratch import DEFAULT_BUDGET_SHARE, check_seed_file, seed_path, with_budget_column

OLD = ("metric,dimension,window,breach_when,warn_level,critical_level,min_samples,applies_from_phase,description\n"
       'autosave_p95,all,1h,above,700,900,20,A-1,"Save p95, 1 h"\n'
       "crash_rate,all,24h,above,0.01,0.02,50,A-2,not in the project's seed\n")


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_an_old_thresholds_file_gets_the_projects_budgets():
    got = rows(with_budget_column("metric_thresholds", OLD))
    assert [(r["metric"], r["critical_budget_share"], r["description"]) for r in got] == [
        ("autosave_p95", "0.02", "Save p95, 1 h"), ("crash_rate", DEFAULT_BUDGET_SHARE, "not in the project's seed")]
    assert list(got[0]) == list(rows(seed_path("metric_thresholds").read_text())[0])    # the project's column order


def test_files_with_the_column_and_other_seeds_are_left_alone():
    current = seed_path("metric_thresholds").read_text()
    assert with_budget_column("metric_thresholds", current) == current
    assert with_budget_column("gate_rules", OLD) == OLD


def test_an_old_thresholds_file_is_accepted_as_a_candidate(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(OLD)
    assert check_seed_file("metric_thresholds", path) == path
