"""Two operators run `rolloutctl gate --apply` at the same moment: exactly one promotion is recorded, and the other
process says clearly why it did nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ingest.loader import ingest
from rolloutctl.governance import audit, ledger
from tests.support.gate_scenarios import build_events

ROLLOUTCTL = Path(sys.executable).with_name("rolloutctl")


def test_two_concurrent_applies_make_one_promotion(tmp_path):
    home = tmp_path / "home"
    events = build_events()
    events.lines = [e for e in events.lines if e["phase"] == "A-0"]   # A-0 promotes; A-1 has no data after it
    events.write(home / "logs" / "a0.jsonl")
    ingest(home, [home / "logs"])

    procs = [subprocess.Popen([str(ROLLOUTCTL), "--home", str(home), "gate", "--apply", "--executor", name, "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("alice", "bob")]
    outputs = [(p.wait(), *p.communicate()) for p in procs]

    entries = ledger.read(home)
    assert [(e.action, e.phase_from, e.phase_to) for e in entries] == [("promote", "A-0", "A-1")]
    assert audit.verify(home) == []
    winner = [o for o in outputs if o[0] == 0 and json.loads(o[1])["applied"]]
    assert len(winner) == 1
    assert entries[0].executor == json.loads(winner[0][1])["applied"]["ledger_entry"]["executor"]
    (code, out, err), = [o for o in outputs if o is not winner[0]]
    if code == 1:       # it ran while the other held the lock
        assert "another rolloutctl action is in progress (pid" in err and "gate --apply by" in err
        assert "nothing was done here" in err
    else:               # it ran after: the new phase has no evaluation yet, so nothing to apply
        doc = json.loads(out)
        assert (code, doc["phase"], doc["applied"], doc["note"]) == \
            (0, "A-1", None, "no evaluation of A-1 yet (no_data): nothing to apply")
