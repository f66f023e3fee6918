"""Soak: 15-minute cycles of collect → ingest → metric build on a warehouse with a week of history, then the
incremental marts.metrics_windowed must equal a --full-refresh rebuild on a copy, row for row, and every event of
every cycle must have been collected and loaded once.

`make test` runs 5 cycles (75 simulated minutes), `make test-long` 24 (six hours), ROLLOUT_SOAK_CYCLES any other
number; a cycle costs about a second here, mostly dbt's start-up. The whole simulated day (96 cycles) and 96 full
`gate` cycles were run with soak.py by hand: the figures (first against last cycle time, peak memory) are in
RELIABILITY.md; this test records its own with ROLLOUT_RELIABILITY_REPORT=DIR and asserts no timing.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.reliability_support import ROOT
from tests.support.tiers import sized

CYCLES = int(os.environ.get("ROLLOUT_SOAK_CYCLES") or sized(5, 24))


@pytest.mark.scaled
def test_cycles_on_a_growing_warehouse_equal_one_full_build(tmp_path, dbt_target, cli_env):
    soak = Path(__file__).resolve().parents[1] / "support" / "soak.py"
    proc = subprocess.run([sys.executable, str(soak), str(tmp_path), "--cycles",
                           str(CYCLES), "--events", str(sized(20_000, 40_000)), "--target-path", str(dbt_target)],
                          env=cli_env, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    cycles = doc["cycles"]
    assert len(cycles) == CYCLES
    assert all(c["events"] > 0 for c in cycles)                # each quarter of the day brings events
    assert [(c["written"], c["loaded"], c["rejected"]) for c in cycles] == \
        [(c["events"], c["events"], 0) for c in cycles]        # every event collected and loaded, once
    assert doc["raw_events"] == doc["history_events"] + sum(c["events"] for c in cycles)
    assert doc["rows"] > 0
    assert doc["equal_to_full_refresh"], (doc["only_incremental"], doc["only_full_refresh"])
    # memory stays bounded: the process holds no more after the last cycle than a little over the first's
    rss = [c["rss_mib"] for c in cycles]
    assert max(rss[len(rss) // 2:]) - rss[0] < 64, rss
    folder = os.environ.get("ROLLOUT_RELIABILITY_REPORT")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"soak-{CYCLES}.json").write_text(json.dumps(doc))
