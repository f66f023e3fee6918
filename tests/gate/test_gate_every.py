"""`rolloutctl gate --every`: the gate as a resident process. Between cycles the warehouse is free (another
process ingests into it, with no wait allowed), the next cycle decides on what was loaded meanwhile, a failed cycle
(the warehouse held by someone else) is reported and the loop goes on. (A JSON line per decided cycle:
test_cli_gate.py, on the built scenario.)"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from ingest.errors import WarehouseBusy
from ingest.loader import ingest
from ingest.warehouse import warehouse_path
from rolloutctl.cli import cli
from rolloutctl.governance.gate_loop import gate_every
from tests.support.ingest_support import cli as rolloutctl

ROOT = Path(__file__).resolve().parents[2]
HOLD = "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"


def _split_rollout(tmp_path: Path) -> tuple[Path, Path, int]:
    """A generated rollout: its first four fifths in time in logs/, the rest in later/; and how many lines."""
    generated = tmp_path / "generated"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", "3000", "--days",
                    "2", "--seed", "5", "--out", str(generated)], check=True, capture_output=True)
    lines = [line for f in sorted(generated.rglob("*.jsonl")) for line in f.read_text().splitlines()]
    lines.sort(key=lambda line: datetime.fromisoformat(json.loads(line)["ts"]))
    first, later = tmp_path / "logs", tmp_path / "later"
    cut = len(lines) * 4 // 5
    for folder, part in ((first, lines[:cut]), (later, lines[cut:])):
        folder.mkdir()
        (folder / "events.jsonl").write_text("\n".join(part) + "\n")
    return first, later, len(lines)


def test_cycles_release_the_warehouse_see_new_data_and_outlive_a_failed_cycle(tmp_path, monkeypatch):
    home = tmp_path / "home"
    first, later, ingested = _split_rollout(tmp_path)
    ingest(home, [first])
    monkeypatch.setenv("ROLLOUT_LOCK_WAIT", "0")     # a held warehouse fails a cycle at once
    holder: list[subprocess.Popen] = []
    between: list[str] = []

    def meanwhile(_seconds: float) -> None:
        """What happens between cycles, by other processes: an ingest, then a reader holding the file, then not."""
        if not between:
            loaded = rolloutctl("ingest", "--json", str(later), home=home, env={"ROLLOUT_LOCK_WAIT": "0"})
            assert loaded.returncode == 0, loaded.stderr.decode()     # the loop left the warehouse free
            between.append("ingested")
        elif len(between) == 1:
            proc = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse_path(home))], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, text=True)
            assert proc.stdout.readline().strip() == "held"
            holder.append(proc)
            between.append("held")
        else:
            holder[0].communicate("")
            between.append("released")

    try:
        outcomes = list(gate_every(home, 0, 4, sleep=meanwhile))
    finally:
        for proc in holder:
            if proc.poll() is None:
                proc.kill()
    assert between == ["ingested", "held", "released"]
    zero, one, busy, three = outcomes
    assert isinstance(busy, WarehouseBusy) and busy.exit_code == 1
    assert zero.as_json()["data_quality"]["ingested_lines"] < ingested
    assert one.as_json()["data_quality"]["ingested_lines"] == ingested          # the cycle after the ingest saw it
    assert zero.as_json()["finality"]["watermark_at"] < one.as_json()["finality"]["watermark_at"]
    # the cycle after the failed one decides as the last good one did, on the same data
    same = ("phase", "eval_at", "decision", "next_phase", "rollback_to", "deciding_rule_ids", "metrics_sha256")
    assert {k: three.as_json()[k] for k in same} == {k: one.as_json()[k] for k in same}


def test_a_failed_cycle_is_a_json_line_and_the_exit_status_is_the_last_ones(tmp_path):
    result = CliRunner().invoke(cli, ["--home", str(tmp_path / "home"), "gate", "--every", "0s", "--cycles", "2",
                                      "--no-build", "--json"])
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(line["cycle"], line["exit_code"]) for line in lines] == [(0, 1), (1, 1)]
    assert all("no warehouse at" in line["error"] for line in lines)
    assert result.exit_code == 1


@pytest.mark.parametrize("args,message", [
    (["--every", "15"], "expected a number and a unit"),
    (["--cycles", "2"], "--cycles counts the cycles of --every"),
    (["--every", "1s", "--at", "2026-01-01T00:00:00Z"], "cannot be repeated with --every"),
    (["--every", "0s", "--cycles", "2", "--executor", "bot"], "--executor and --to only make sense with --apply"),
])
def test_usage_errors_end_the_loop_before_any_cycle(tmp_path, args, message):
    home = tmp_path / "home"
    result = CliRunner().invoke(cli, ["--home", str(home), "gate", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not os.path.exists(home / "reports")
