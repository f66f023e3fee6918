"""Helpers of the reliability tests: real `rolloutctl` processes and home copies."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROLLOUTCTL = [sys.executable, "-c", "from rolloutctl.cli import main; main()"]


def copy_home(source: Path, target: Path) -> Path:
    shutil.copytree(source, target, symlinks=True)
    return target


def rolloutctl(home: Path, *args: str, env: dict, **kw) -> subprocess.CompletedProcess:
    """Run `rolloutctl --home HOME ARGS` in a process of its own; text output captured."""
    return subprocess.run([*ROLLOUTCTL, "--home", str(home), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, **kw)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The error a failed command printed: exactly one line starting `Error: `, no traceback."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error: ")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


EVENTS_SQL = """select event_id, event, feature, phase, event_at, payload::varchar, line_key, source_file, line_no
                from raw.events order by source_file, line_no"""
REJECTS_SQL = """select source_file, line_no, raw_line, line_bytes, json_path, message
                 from raw.rejected_events order by source_file, line_no"""


def warehouse_tables(home: Path) -> tuple[list, list]:
    """raw.events and raw.rejected_events, in a stable order (opened read-only)."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "rollout.duckdb"), read_only=True)
    try:
        return con.execute(EVENTS_SQL).fetchall(), con.execute(REJECTS_SQL).fetchall()
    finally:
        con.close()
