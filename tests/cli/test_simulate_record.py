"""`rolloutctl simulate --home H` keeps its figures in H (warehouse/gate-trials.json); the report, the dashboard and
`rolloutctl backtest` read them back (rolloutctl.simulation.record): the current policy's false-rollback rate and
detection figures, "not simulated yet" without a file, and a clear message, the file untouched, when it is damaged."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rolloutctl.cli import cli
from rolloutctl.core.errors import DataError
from rolloutctl.core.layout import GATE_TRIALS_RELPATH
from rolloutctl.simulation import record


def test_simulate_keeps_its_figures_in_the_home_and_they_read_back(tmp_path, monkeypatch):
    monkeypatch.delenv("ROLLOUT_HOME", raising=False)
    result = CliRunner().invoke(cli, ["--home", str(tmp_path), "simulate", "--rollouts", "2", "--seed", "3",
                                      "--scenario", "aa", "--scenario", "p95_+50%", "--json"])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    kept = json.loads((tmp_path / GATE_TRIALS_RELPATH).read_text())
    assert printed["kept_in"] == str(GATE_TRIALS_RELPATH)
    assert kept["summary"] == printed["summary"] and kept["rollouts"] == 2 and kept["seed"] == 3
    figures = record.measured(tmp_path)
    seed_rows = {r["scenario"]: r for r in printed["summary"] if r["policy"] == "seed"}
    assert figures["false_rollback_rate"] == seed_rows["aa"]["false_rollback_rate"]
    assert figures["regressions"] == [{"scenario": "p95_+50%", **{k: seed_rows["p95_+50%"][k] for k in (
        "detection_rate", "median_delay_min", "p90_delay_min")}}]
    lines = record.lines_for(tmp_path)
    assert lines[0].startswith("policy `seed`: false rollback ") and "2 simulated per scenario, seed 3" in lines[0]
    assert lines[1].startswith("p95_+50%: detected ")


def test_not_simulated_yet(tmp_path):
    assert record.measured(tmp_path) is None
    assert record.lines_for(tmp_path) == [
        "not simulated yet: `rolloutctl simulate` measures the gate's false-rollback rate and detection delay"]


@pytest.mark.parametrize("text", ["{not json", '{"rollouts": 2}', "[1, 2]"])
def test_a_damaged_file_is_named_and_left_as_it_is(tmp_path, text):
    path = tmp_path / GATE_TRIALS_RELPATH
    path.parent.mkdir(parents=True)
    path.write_text(text)
    with pytest.raises(DataError, match="gate-trials.json"):
        record.measured(tmp_path)
    assert record.lines_for(tmp_path)[0].startswith("the last simulation's figures cannot be read: ")
    assert path.read_text() == text
