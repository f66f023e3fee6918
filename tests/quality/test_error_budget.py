"""marts.error_budget: per phase and thresholded metric, the share of the phase's grid times whose status was
critical against the threshold's critical_budget_share; the daily report shows it at T."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from ingest.warehouse import warehouse_path
from rolloutctl.cli import cli

pytestmark = pytest.mark.xdist_group("verdict")   # one worker builds verdict_built (conftest.py)


@pytest.fixture
def home(verdict_copy) -> Path:
    return verdict_copy


def budget(home: Path, phase: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse_path(home)), read_only=True)
    try:
        return con.execute("""
            select strftime(eval_at, '%H:%M'), metric, grid_times, evaluated_times, critical_times, critical_share,
                   budget_share, budget_remaining, is_exhausted, is_latest
            from marts.error_budget where phase = ? order by metric, eval_at""", [phase]).fetchall()
    finally:
        con.close()


def test_the_share_counts_every_grid_time_and_only_critical_ones(verdict_built):
    rows = budget(verdict_built, "A-1")
    p95 = [r for r in rows if r[1] == "autosave_p95"]
    # 08:15 and 08:30 hold fewer than 20 saves (insufficient_data), 08:45 and 09:00 are ok at 300 ms, and from
    # 09:15 the hour holds saves of 3000 ms: critical (above 900) at the five grid times 09:15 … 10:15
    assert [(t, grid, evaluated, critical) for t, _, grid, evaluated, critical, *_ in p95] == [
        ("08:15", 1, 0, 0), ("08:30", 2, 0, 0), ("08:45", 3, 1, 0), ("09:00", 4, 2, 0), ("09:15", 5, 3, 1),
        ("09:30", 6, 4, 2), ("09:45", 7, 5, 3), ("10:00", 8, 6, 4), ("10:15", 9, 7, 5)]
    last = p95[-1]
    assert last[5:] == (pytest.approx(5 / 9), 0.02, pytest.approx(0.02 - 5 / 9), True, True)
    assert p95[3][5:] == (0.0, 0.02, pytest.approx(0.02), False, False)
    # no restore events in A-1: every grid time lacks data, none is critical, the budget is untouched
    restore = [r for r in rows if r[1] == "restore_success_rate"]
    assert restore[-1][2:] == (9, 0, 0, 0.0, 0.05, pytest.approx(0.05), False, True)


def test_no_budget_where_no_threshold_applies(verdict_built):
    assert budget(verdict_built, "A-0") == []                                   # AutoSave thresholds start in A-1
    assert {r[1] for r in budget(verdict_built, "B-0")} == {"autosave_p95", "restore_success_rate",
                                                   "merge_auto_success_rate"}


def test_the_report_shows_the_budget_at_t(home):
    result = CliRunner().invoke(cli, ["--home", str(home), "gate", "--no-build", "--phase", "A-1", "--json"])
    assert result.exit_code == 3, result.output
    text = (home / json.loads(result.stdout)["report"]).read_text()
    assert "## Error budget (A-1, up to 2026-03-01T10:15:00Z)" in text
    assert "| autosave_p95 | all | 1h | 5 of 9 | 55.56% | 2.00% | -53.56 pts | **exhausted** |" in text
    assert "| restore_success_rate | overall | 24h | 0 of 9 | 0.00% | 5.00% | +5.00 pts | within budget |" in text
    result = CliRunner().invoke(cli, ["--home", str(home), "gate", "--no-build", "--phase", "A-1", "--json",
                                      "--at", "2026-03-01T09:30:00Z"])
    text = (home / json.loads(result.stdout)["report"]).read_text()
    assert "| autosave_p95 | all | 1h | 2 of 6 | 33.33% | 2.00% | -31.33 pts | **exhausted** |" in text


def test_the_report_says_when_no_threshold_applies(home):
    result = CliRunner().invoke(cli, ["--home", str(home), "gate", "--no-build", "--phase", "A-0", "--json"])
    assert result.exit_code == 0, result.output
    assert "No thresholded metric applies in A-0." in (home / json.loads(result.stdout)["report"]).read_text()
