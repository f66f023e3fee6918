"""On telemetry the models have never seen (the generator, several seeds, with and without the A-2 regression,
with a ledger that rolls back and re-enters phases), marts.gate_decisions and marts.gate_rule_results agree with an
independent Python implementation of SPEC §5–§7 (tests/gate/gate_oracle.py) at every grid time of every phase."""
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from ingest.loader import ingest
from ingest.warehouse import connect
from rolloutctl.warehouse import refresh
from tests.support.gate_oracle import Oracle, compare_with_oracle, events_from_warehouse
from tests.support.gate_support import t

REPO = Path(__file__).resolve().parents[2]


def _plan(days: float, regression: bool) -> dict:
    from rolloutctl.simulation import telemetry

    return telemetry.phase_timeline(days, regression=regression)


def _ledger(plan: dict) -> list[dict]:
    """Promotions at the planned phase ends, and a rollback A-2 → A-1 in the middle of A-2, re-entered later."""
    ends = {p["phase"]: t(p["end"]) for p in plan["phases"]}
    starts = {p["phase"]: t(p["start"]) for p in plan["phases"]}
    a2_mid = starts["A-2"] + (ends["A-2"] - starts["A-2"]) / 2
    steps = [("promote", "A-0", "A-1", ends["A-0"]), ("promote", "A-1", "A-2", ends["A-1"]),
             ("rollback", "A-2", "A-1", a2_mid), ("promote", "A-1", "A-2", a2_mid + timedelta(hours=2)),
             ("promote", "A-2", "B-0", ends["A-2"])]
    entries = []
    for i, (action, src, dst, when) in enumerate(steps, start=1):
        when = when.replace(minute=when.minute - when.minute % 15, second=0, microsecond=0)
        entries.append({"id": f"L{i:04d}", "action": action, "phase_from": src, "phase_to": dst,
                        "executor": "test", "timestamp": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "recorded_at": when.strftime("%Y-%m-%dT%H:%M:%SZ"), "reason": "test", "forced": False,
                        "trigger_rules": []})
    return entries


@pytest.mark.parametrize("seed,events,days,regression", [
    pytest.param(11, 60000, 9, True, marks=pytest.mark.long),    # the regression rollout: rollbacks, RCA blocks
    (23, 30000, 6, False),
])
def test_marts_agree_with_the_oracle_at_every_grid_time(tmp_path, seed, events, days, regression):
    home = tmp_path / "home"
    logs = home / "logs"
    args = [sys.executable, str(REPO / "scripts" / "generate_telemetry.py"), "--events", str(events), "--days",
            str(days), "--seed", str(seed), "--out", str(logs)] + (["--regression"] if regression else [])
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)
    ingest(home, [logs])
    entries = _ledger(_plan(days, regression))
    (home / "governance").mkdir()
    (home / "governance" / "phase-ledger.yaml").write_text(yaml.safe_dump(entries, sort_keys=False))
    refresh.refresh(home)

    con = connect(home, read_only=True)
    try:
        ledger = [{**e, "effective_at": t(e["timestamp"])} for e in entries]
        oracle = Oracle(events_from_warehouse(con), ledger=ledger, complete_rcas=set())
        assert compare_with_oracle(con, oracle) == []
        decisions = {d for (d,) in con.execute("select distinct decision from marts.gate_decisions").fetchall()}
    finally:
        con.close()
    # the data exercises more than one outcome (with the regression, a rollback)
    assert "promote" in decisions and "hold" in decisions
    if regression:
        assert "rollback" in decisions
