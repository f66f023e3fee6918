"""A command that needs the warehouse while another process writes it waits a bounded time (ROLLOUT_LOCK_WAIT),
saying once who holds it, then either proceeds (the holder finished) or stops with one line naming the holder's PID —
never DuckDB's lock traceback. The holders are real processes: a DuckDB session, and a real `rolloutctl ingest`."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from ingest.warehouse import warehouse_path
from tests.support.reliability_support import ROLLOUTCTL, ROOT, copy_home, one_line_error, rolloutctl

HOLDER = textwrap.dedent("""
    import sys, duckdb
    con = duckdb.connect(sys.argv[1])           # a writer: DuckDB's exclusive file lock
    con.execute("select count(*) from raw.events").fetchall()
    print("held", flush=True)
    sys.stdin.readline()                        # hold until told
    con.close()
    print("released", flush=True)
    sys.stdin.readline()
""")


class Holder:
    """A second process holding the warehouse file until `release()`."""

    def __init__(self, home: Path):
        self.proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(warehouse_path(home))], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "held"
        self.pid = self.proc.pid

    def release(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "released"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def home(promote_home, tmp_path) -> Path:
    return copy_home(promote_home, tmp_path / "home")


@pytest.mark.parametrize("args", [["gate", "--json"], ["build"], ["gate", "--no-build"], ["ingest", "logs"]],
                         ids=["gate", "build", "gate-no-build", "ingest"])
def test_busy_warehouse_waits_then_names_the_holder(home, args, cli_env):
    holder = Holder(home)
    try:
        started = time.monotonic()
        proc = rolloutctl(home, *[str(home / a) if a == "logs" else a for a in args],
                          env={**cli_env, "ROLLOUT_LOCK_WAIT": "1.5"})
        waited = time.monotonic() - started
    finally:
        holder.close()
    error = one_line_error(proc)
    assert proc.returncode == 1
    assert error.startswith(f"Error: the warehouse {warehouse_path(home)} is in use by process {holder.pid} "
                            f"({Path(sys.executable).name} -c ")        # its command line, from /proc
    assert error.endswith("(waited 1.5 s, ROLLOUT_LOCK_WAIT); wait for it to finish (an ingest, build or gate) or "
                          "close that session, then retry")
    assert "IO Error" not in proc.stderr and "Conflicting lock" not in proc.stderr
    assert f"is in use by process {holder.pid}; waiting up to 1.5 s for it (ROLLOUT_LOCK_WAIT)" in proc.stderr
    assert waited >= 1.5                        # it did wait before giving up
    assert proc.stdout == ""                    # nothing half-printed on stdout (--json stays clean)


def _wait_for_line(stream, text: str) -> list[str]:
    seen = []
    for line in stream:
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"{text!r} never appeared: {seen}")


@pytest.mark.parametrize("how", ["gate-no-build", "run_dbt"])
def test_waiting_command_proceeds_once_the_holder_leaves(home, how, cli_env):
    if how == "run_dbt":        # dbt_runner.run_dbt's own path to the file, as the gate's build takes it
        argv = [sys.executable, "-c", "import sys; from rolloutctl.warehouse.dbt_runner import run_dbt; "
                "r = run_dbt(sys.argv[1], ['run'], select='stg_ingest__loads'); print('ok', r.success)", str(home)]
    else:
        argv = [*ROLLOUTCTL, "--home", str(home), "gate", "--no-build", "--json"]
    holder = Holder(home)
    try:
        proc = subprocess.Popen(argv, env={**cli_env, "ROLLOUT_LOCK_WAIT": "120"}, cwd=ROOT, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        _wait_for_line(proc.stderr, f"in use by process {holder.pid}; waiting up to 120 s")
        holder.release()
        out, err = proc.communicate()
    finally:
        holder.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    if how == "run_dbt":
        assert out.strip() == "ok True"
    else:
        assert '"decision": "promote"' in out


def test_gate_waits_for_a_running_ingest(home, cli_env, tmp_path):
    """The holder is a real `rolloutctl ingest`: the gate waits for it and then reads what it loaded."""
    logs = tmp_path / "more-logs"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", "15000", "--days",
                    "2", "--seed", "9", "--start", "2026-02-01T00:00:00Z", "--out", str(logs)], check=True,
                   capture_output=True)
    env = {**cli_env, "ROLLOUT_INGEST_BLOCK_BYTES": str(32 * 1024)}     # many small commits: a long-running writer
    ingest = subprocess.Popen([*ROLLOUTCTL, "--home", str(home), "ingest", "--json", str(logs)], env=env, cwd=ROOT,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_until_locked(warehouse_path(home), ingest)
        gate = rolloutctl(home, "gate", "--no-build", "--json", env={**cli_env, "ROLLOUT_LOCK_WAIT": "300"})
        out, err = ingest.communicate()
    finally:
        ingest.kill()
        ingest.wait()
    assert ingest.returncode == 0, err
    assert gate.returncode == 0, gate.stderr
    assert f"in use by process {ingest.pid}" in gate.stderr and "waiting up to 300 s" in gate.stderr
    assert "Traceback" not in gate.stderr


def _wait_until_locked(path: Path, proc: subprocess.Popen) -> None:
    """Until a read-only open of `path` fails on the lock (the ingest is writing)."""
    while proc.poll() is None:
        try:
            duckdb.connect(str(path), read_only=True).close()
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                return
            raise
        time.sleep(0.02)
    raise AssertionError(f"the ingest ended before it was seen holding the file: {proc.stderr.read()}")


def test_a_bad_lock_wait_setting_is_one_clear_line(home, cli_env):
    proc = rolloutctl(home, "gate", "--no-build", env={**cli_env, "ROLLOUT_LOCK_WAIT": "soon"})
    assert one_line_error(proc) == "Error: ROLLOUT_LOCK_WAIT='soon': expected a number of seconds (0 or more)"
