"""Broken machines, not broken data: a missing or damaged warehouse file, a full disk, a read-only home, an unreadable
log file, a damaged ledger. Each gives one line naming the file and what to do, exit status 1, no traceback, and
nothing is lost: what failed is not half-recorded, and running the command again once the cause is gone completes it
(the tables equal one clean run; the action is recorded once).

The full disk and the read-only home are real: a small tmpfs mounted for the test (root only; skipped, saying why,
where mounting is impossible). The unreadable file is unreadable for real: as root the command runs as `nobody`.
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from ingest.warehouse import warehouse_path
from rolloutctl.governance import audit, ledger
from tests.support.reliability_support import ROOT, copy_home, one_line_error, rolloutctl, warehouse_tables

NOBODY = 65534


@contextmanager
def tmpfs(path: Path, size: str):
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=755", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.strip() or 'needs root'}): the full-disk and "
                    f"read-only cases need a real small file system")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True, capture_output=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def generate(out: Path, events: int, seed: int) -> Path:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", str(events),
                    "--days", "3", "--seed", str(seed), "--out", str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    return generate(tmp_path_factory.mktemp("clear-failures") / "logs", 40000, 21)


@pytest.fixture(scope="module")
def reference(logs, tmp_path_factory, cli_env):
    home = tmp_path_factory.mktemp("clear-failures-ref") / "home"
    done = rolloutctl(home, "ingest", str(logs), env=cli_env)
    assert done.returncode == 0, done.stderr
    return warehouse_tables(home)


# ---- the warehouse file

@pytest.mark.parametrize("args", [["gate", "--no-build"], ["report", "--date", "2026-01-02"],
                                  ["gate", "--apply", "--no-build", "--executor", "bob"]])
def test_a_missing_warehouse_is_one_line(tmp_path, args, cli_env):
    home = tmp_path / "home"
    home.mkdir()
    proc = rolloutctl(home, *args, env=cli_env)
    assert one_line_error(proc) == f"Error: no warehouse at {warehouse_path(home)}: run `rolloutctl ingest` first"
    assert proc.returncode == 1
    assert not warehouse_path(home).exists() and not (home / "governance" / "phase-ledger.yaml").exists()


def _damage(path: Path, how: str) -> None:
    if how == "random-bytes":
        path.write_bytes(os.urandom(300_000))
    else:       # a valid header, then garbage over the blocks after it
        with open(path, "r+b") as fh:
            fh.seek(12288)
            fh.write(os.urandom(200_000))


@pytest.mark.parametrize("how", ["random-bytes", "damaged-blocks"])
def test_a_damaged_warehouse_is_one_line_and_left_as_it_is(promote_home, tmp_path, how, cli_env):
    home = copy_home(promote_home, tmp_path / "home")
    path = warehouse_path(home)
    _damage(path, how)
    before = sha256(path)
    for args in (["gate", "--no-build"], ["gate"], ["build"], ["ingest", str(home / "logs")]):
        proc = rolloutctl(home, *args, env=cli_env)
        error = one_line_error(proc)
        assert proc.returncode == 1
        assert error.startswith(f"Error: the warehouse {path} is damaged (")
        assert error.endswith("move it aside, then put the last published copy (warehouse/analytics.duckdb) in its "
                              "place or rebuild it from the logs with `rolloutctl ingest`")
        assert sha256(path) == before, args          # nothing further damaged
    # and the advice works: the published copy in its place, the gate answers again
    shutil.move(path, tmp_path / "damaged.duckdb")
    shutil.copyfile(home / "warehouse" / "analytics.duckdb", path)
    proc = rolloutctl(home, "gate", "--no-build", "--json", env=cli_env)
    assert proc.returncode == 0 and json.loads(proc.stdout)["decision"] == "promote", proc.stderr


# ---- a full disk

def test_ingest_on_a_full_disk_commits_nothing_half_and_a_rerun_loads_everything(logs, reference, tmp_path,
                                                                                     cli_env):
    with tmpfs(tmp_path / "disk", "3m") as disk:
        home = disk / "home"
        for _attempt in range(2):            # fails, and fails again the same way while the disk is still full
            proc = rolloutctl(home, "ingest", str(logs), env=cli_env)
            error = one_line_error(proc)
            assert proc.returncode == 1
            assert error.startswith(f"Error: {warehouse_path(home)}")
            assert "no space left on the device: free some space (or use a --home on a larger disk), then run the " \
                   "same command again; it resumes from what was committed" in error
        events, rejects = warehouse_tables(home)
        assert 0 < len(events) < len(reference[0])     # some blocks committed whole, the rest not at all
        remount(disk, "size=64m")
        proc = rolloutctl(home, "ingest", "--json", str(logs), env=cli_env)
        assert proc.returncode == 0, proc.stderr
        assert warehouse_tables(home) == reference     # exactly one clean run's tables


def _fill(disk: Path) -> Path:
    """Write a filler file until the file system is full."""
    filler = disk / "filler"
    with open(filler, "wb") as fh:
        try:
            while True:
                fh.write(b"\0" * (1 << 20))
                fh.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_gate_apply_on_a_full_disk_records_nothing_and_a_rerun_records_it_once(promote_home, tmp_path, cli_env):
    with tmpfs(tmp_path / "disk", "48m") as disk:
        home = copy_home(promote_home, disk / "home")
        filler = _fill(disk)
        args = ["gate", "--apply", "--no-build", "--executor", "oncall-bot"]
        proc = rolloutctl(home, *args, env=cli_env)
        error = one_line_error(proc)
        assert proc.returncode == 1 and "no space left on the device" in error
        assert ledger.read(home) == [] and audit.read_lines(home) == ([], [])
        assert not (home / "flags" / "defaults.json").exists()
        filler.unlink()
        proc = rolloutctl(home, *args, "--json", env=cli_env)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["applied"]["ledger_entry"]["phase_to"] == "A-1"
        assert [(e.action, e.phase_to) for e in ledger.read(home)] == [("promote", "A-1")]
        assert audit.verify(home) == []


# ---- a read-only home

@pytest.mark.parametrize("args", [["gate", "--no-build"], ["ingest", "LOGS"], ["build"],
                                  ["gate", "--apply", "--no-build", "--executor", "bob"],
                                  ["promote", "--to", "A-1", "--executor", "bob", "--reason", "r", "--no-build"]])
def test_a_read_only_home_is_one_line_and_unchanged(promote_home, tmp_path, args, cli_env):
    with tmpfs(tmp_path / "disk", "64m") as disk:
        home = copy_home(promote_home, disk / "home")
        before = {p: sha256(p) for p in home.rglob("*") if p.is_file()}
        remount(disk, "ro")
        proc = rolloutctl(home, *[str(home / "logs") if a == "LOGS" else a for a in args], env=cli_env)
        error = one_line_error(proc)
        assert proc.returncode == 1
        assert "the file system is read-only: use a --home on a writable disk" in error, error
        assert str(home) in error                       # names the file
        remount(disk, "rw")
        assert {p: sha256(p) for p in home.rglob("*") if p.is_file()} == before


# ---- an unreadable log file

@contextmanager
def world_dir():
    """A folder every user may enter (pytest's tmp_path is private to root), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="rollout-reliability-"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _as_other_user(home: Path) -> list[str]:
    """Run as `nobody` when root (root reads every file); the home then belongs to nobody."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: a file cannot be made unreadable for root")
    os.chown(home, NOBODY, NOBODY)
    return ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]


def test_an_unreadable_log_file_stops_ingest_clearly_and_a_rerun_loads_everything(cli_env):
    with world_dir() as root:
        logs = generate(root / "logs", 6000, 22)
        for p in [logs, *logs.rglob("*")]:
            os.chmod(p, 0o755 if p.is_dir() else 0o644)
        files = sorted(logs.rglob("*.jsonl"))
        locked = files[len(files) // 2]
        reference = root / "reference"
        assert rolloutctl(reference, "ingest", str(logs), env=cli_env).returncode == 0
        home = root / "home"
        home.mkdir()
        prefix = _as_other_user(home)
        os.chmod(locked, 0o000)
        env = {**cli_env, "PYTHONDONTWRITEBYTECODE": "1"}
        run = lambda *args: subprocess.run([*prefix, sys.executable, "-c", "from rolloutctl.cli import main; main()",
                                            "--home", str(home), *args], env=env, cwd="/", capture_output=True,
                                           text=True)
        proc = run("ingest", str(logs))
        assert one_line_error(proc) == (
            f"Error: {locked}: cannot read it (Permission denied): fix its permissions or run as a user who may read "
            f"it, then ingest again (what was loaded so far stays; the rest loads then)")
        assert proc.returncode == 1
        collected = run("collect", "--log-dir", str(home / "collected"), str(locked))
        assert one_line_error(collected) == f"Error: Invalid value for '[FILES]...': File '{locked}' is not readable."
        assert collected.returncode == 2 and not (home / "collected").exists()
        os.chmod(locked, 0o644)
        proc = run("ingest", "--json", str(logs))
        assert proc.returncode == 0, proc.stderr
        assert warehouse_tables(home) == warehouse_tables(reference)


# ---- a damaged ledger

@pytest.mark.parametrize("damage, message", [
    ("- id: L0001\n  action: promote\n  phase_from: [A-0\n",
     "not valid YAML at line 4, column 1 (expected ',' or ']', but got '<stream end>')"),
    (None, "entry 1 (L0001) has phase_to 'Z-9', not one of A-0, A-1, A-2, B-0, B-1"),
])
def test_a_damaged_ledger_is_one_line_and_untouched(promote_home, tmp_path, damage, message, cli_env):
    home = copy_home(promote_home, tmp_path / "home")
    assert rolloutctl(home, "gate", "--apply", "--no-build", "--executor", "bob", env=cli_env).returncode == 0
    path = home / ledger.LEDGER_RELPATH
    text = damage if damage is not None else path.read_text().replace("phase_to: A-1", "phase_to: Z-9")
    path.write_text(text)
    for args in (["gate", "--no-build"], ["promote", "--to", "A-2", "--executor", "bob", "--reason", "r",
                                          "--no-build"], ["flags", "resolve"]):
        proc = rolloutctl(home, *args, env=cli_env)
        assert one_line_error(proc) == (
            f"Error: {path}: {message}; it is written only by rolloutctl: restore its last good copy (each entry is "
            f"also in the audit log; `rolloutctl audit verify` shows what disagrees)")
        assert proc.returncode == 1
        assert path.read_text() == text
