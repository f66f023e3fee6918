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
