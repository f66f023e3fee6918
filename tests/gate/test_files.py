"""Governance files survive operators: one lock per home, atomic rewrites, whole-line appends."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from rolloutctl.core.errors import ActionInProgress
from rolloutctl.core.files import atomic_write_text, governance_lock
from rolloutctl.governance import ledger

HOLDER = textwrap.dedent("""
    import sys, time
    from rolloutctl.core.files import governance_lock
    with governance_lock(sys.argv[1], "gate --apply by bot"):
        print("locked", flush=True)
        sys.stdin.readline()
""")


def test_a_second_operator_is_told_who_holds_the_lock(home):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(home)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(ActionInProgress) as info:
            with governance_lock(home, "promote by alice"):
                pass
        assert f"pid {proc.pid}, gate --apply by bot" in str(info.value)
        assert "nothing was done" in str(info.value)
    finally:
        proc.stdin.write("\n")
        proc.stdin.close()
        proc.wait()
    with governance_lock(home, "promote by alice"):     # free again once the holder is gone
        pass


def test_atomic_write_leaves_no_temp_file_and_replaces_whole(home):
    path = home / "governance" / "phase-ledger.yaml"
    atomic_write_text(path, "- old\n")
    atomic_write_text(path, "- new\n")
    assert path.read_text() == "- new\n"
    assert os.listdir(path.parent) == ["phase-ledger.yaml"]


def test_a_damaged_ledger_is_a_clear_error(home):
    path = ledger.ledger_path(home)
    path.parent.mkdir(parents=True)
    path.write_text("- id: L0001\n  action: promote\n")
    with pytest.raises(Exception, match="entry 1 .*incomplete or malformed"):
        ledger.read(home)
