"""SIGKILL `rolloutctl ingest` at many points; a rerun must leave exactly the tables of one uninterrupted run.

The data is new on every run: a fresh generator seed (ROLLOUT_KILL_SEED pins one; a failure names it), or
ROLLOUT_KILL_LOGS=DIR to kill ingests of a folder of logs this test has never seen."""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.reliability_support import ROLLOUTCTL, ROOT, warehouse_tables
from tests.support.tiers import LONG, sample

KILL_DELAYS = [0.05, 0.3, 0.6, 0.9, 1.2, 1.6, 2.0, 2.5, 3.0, 4.0]   # seconds after the start of an ingest
SEED = int(os.environ.get("ROLLOUT_KILL_SEED") or random.SystemRandom().randrange(1, 10**6))


def _make_logs(folder: Path) -> None:
    """Several files with valid, invalid, duplicate and id-less lines, drawn from SEED."""
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", "60000",
                    "--days", "6", "--seed", str(SEED), "--out", str(folder)], check=True, capture_output=True)
    rnd = random.Random(SEED)
    extra = folder / "extra" / "mixed.jsonl"
    extra.parent.mkdir(parents=True)
    lines = []
    for i in range(3000):
        kind = rnd.random()
        base = {"event": "app.session.ended", "ts": f"2026-11-02T10:{i % 60:02d}:00Z", "phase": "A-0",
                "crashed": False}
        if kind < 0.2:
            lines.append('{"event": "nope"}')
        elif kind < 0.4:
            lines.append(json.dumps(base))  # id-less
        elif kind < 0.6:
            lines.append(json.dumps(dict(base, event_id=f"dup-{i % 50}")))  # duplicates
        else:
            lines.append(json.dumps(dict(base, event_id=f"x-{i}")))
    extra.write_text("\n".join(lines) + "\n")


def _run(home: Path, logs: Path, env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen([*ROLLOUTCTL, "--home", str(home), "ingest", "--json", str(logs)], env=env,
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("logs")
    given = os.environ.get("ROLLOUT_KILL_LOGS")
    if given:
        shutil.copytree(given, folder, dirs_exist_ok=True)
    else:
        _make_logs(folder)
    return folder


@pytest.fixture(scope="module")
def env():
    e = dict(os.environ)
    e["ROLLOUT_INGEST_BLOCK_BYTES"] = str(512 * 1024)  # many commits per file: kills land between and inside them
    e["PYTHONPATH"] = str(ROOT)
    return e


@pytest.fixture(scope="module")
def reference(logs, env, tmp_path_factory):
    home = tmp_path_factory.mktemp("reference")
    proc = _run(home, logs, env)
    out, err = proc.communicate()
    assert proc.returncode == 0, err.decode()
    summary = json.loads(out)
    events, rejects = warehouse_tables(home)
    assert summary["loaded"] == len(events) and summary["rejected"] == len(rejects)
    if not os.environ.get("ROLLOUT_KILL_LOGS"):  # the generated logs exercise every path of the loader
        assert summary["duplicates"] > 0 and summary["rejected"] > 0
    return summary, events, rejects


@pytest.mark.scaled
def test_sigkill_at_many_points_then_rerun_equals_one_run(logs, env, reference, tmp_path):
    summary, ref_events, ref_rejects = reference
    killed_mid_run = 0
    # the long tier kills at every delay; the fast tier at 3 of the first 6, which land while ingest still runs
    delays = KILL_DELAYS if LONG else sample(KILL_DELAYS[:6], 3, "ingest kill delays")
    for attempt, delay in enumerate(delays):
        home = tmp_path / f"home{attempt}"
        proc = _run(home, logs, env)
        time.sleep(delay)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            killed_mid_run += 1
        proc.communicate()
        # A second kill during the first recovery run, for the runs killed early.
        if attempt % 3 == 0:
            proc = _run(home, logs, env)
            time.sleep(0.4)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.communicate()
        proc = _run(home, logs, env)
        out, err = proc.communicate()
        assert proc.returncode == 0, err.decode()
        events, rejects = warehouse_tables(home)
        assert len(events) == len(ref_events), f"kill after {delay}s (seed {SEED})"
        assert events == ref_events, f"kill after {delay}s (seed {SEED})"
        assert rejects == ref_rejects, f"kill after {delay}s (seed {SEED})"
        again = _run(home, logs, env)
        out, _ = again.communicate()
        assert json.loads(out)["loaded"] == 0
    assert killed_mid_run >= (5 if LONG else 3), "the kills must land while ingest runs"


KILLED_WHILE_CREATING = """
import os, signal, sys
from pathlib import Path
import duckdb
from ingest import warehouse

def dies_in_connect(path, *args, **kwargs):     # DuckDB has made the file but not yet written its header
    Path(path).touch()
    os.kill(os.getpid(), signal.SIGKILL)

warehouse.duckdb.connect = dies_in_connect
warehouse.connect(Path(sys.argv[1]))
"""


def test_a_kill_while_the_warehouse_is_created_leaves_no_damaged_file(tmp_path, env):
    """A first ingest killed while DuckDB creates the file: the next run must not find a 'damaged' warehouse."""
    home = tmp_path / "home"
    proc = subprocess.run([sys.executable, "-c", KILLED_WHILE_CREATING, str(home)], env=env, cwd=ROOT)
    assert proc.returncode == -signal.SIGKILL
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.jsonl").write_text('{"event":"app.session.ended","ts":"2026-11-02T10:00:00Z","phase":"A-0",'
                                  '"crashed":false,"event_id":"k-1"}\n')
    out, err = _run(home, logs, env).communicate()
    assert json.loads(out)["loaded"] == 1, err.decode()
    assert sorted(p.name for p in (home / "warehouse").iterdir()) == ["rollout.duckdb"]   # no leftover
