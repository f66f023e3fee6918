"""Issue 2's "done when": on event files it has not seen, `rolloutctl ingest --json` reports exactly the right
loaded / rejected / duplicates / pending_partial, the tables hold exactly those rows, and a second run loads nothing.

The expected tally is known by construction (each line is written as valid-new, valid-without-id, a duplicate of an
id already written, invalid, or blank); the reference verdict is then used only to confirm the construction.
"""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tests.support.event_lines import random_valid_event, surely_invalid
from tests.support.ingest_support import expect, ingest_json, rows


def build(root: Path, seed: int) -> dict:
    rng = random.Random(seed)
    tally = {"lines": 0, "loaded": 0, "rejected": 0, "duplicates": 0, "pending_partial": 0, "ids": 0, "no_id": 0}
    ids: list[str] = []
    partial_files: list[Path] = []
    files = [root / "a.jsonl", root / "autosave" / "2026-03-01.jsonl", root / "x" / "y" / "z.jsonl"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        out = []
        for _ in range(rng.randint(150, 350)):
            kind = rng.choices(["new", "no_id", "dup", "invalid", "blank"], [40, 20, 10, 20, 10])[0]
            if kind == "dup" and not ids:
                kind = "new"
            if kind == "blank":
                text = rng.choice([b"", b"  ", b"\t", b" \r"])
            elif kind == "invalid":
                text = surely_invalid(rng)
                tally["rejected"] += 1
            else:
                if kind == "new":
                    event_id = f"{seed}-{len(ids)}-{rng.choice(['a', 'é', '日'])}"
                    ids.append(event_id)
                    tally["loaded"] += 1
                    tally["ids"] += 1
                elif kind == "no_id":
                    event_id = None
                    tally["loaded"] += 1
                    tally["no_id"] += 1
                else:
                    event_id = rng.choice(ids)
                    tally["duplicates"] += 1
                obj = random_valid_event(rng, event_id=event_id)
                text = json.dumps(obj, ensure_ascii=rng.random() < 0.3).encode()
            if kind != "blank":
                tally["lines"] += 1
            out.append(text + rng.choice([b"\n", b"\n", b"\r\n"]))
        data = b"".join(out)
        if rng.random() < 0.7:  # a producer still writing its last line
            data += json.dumps(random_valid_event(rng, event_id=f"{seed}-partial-{path.name}")).encode()
            tally["pending_partial"] += 1
            partial_files.append(path)
        path.write_bytes(data)
    (root / "README.txt").write_text("not a log")
    tally["partial_files"] = partial_files
    return tally


def reference_tally(root: Path) -> tuple[int, int, int, int]:
    seen: set[str] = set()
    lines = loaded = rejected = dups = 0
    for path in sorted(root.rglob("*.jsonl")):
        complete = path.read_bytes().split(b"\n")[:-1]
        exp = expect([x[:-1] if x.endswith(b"\r") else x for x in complete], seen)
        lines += exp.lines
        loaded += len(exp.loaded)
        rejected += len(exp.rejected)
        dups += exp.duplicates
    return lines, loaded, rejected, dups


@pytest.mark.parametrize("seed", [11, 23, 37])
def test_unseen_mixed_files_are_tallied_exactly(tmp_path, seed):
    logs, home = tmp_path / "logs", tmp_path / "home"
    t = build(logs, seed)
    assert reference_tally(logs) == (t["lines"], t["loaded"], t["rejected"], t["duplicates"])

    out = ingest_json(home, logs)
    assert {k: v for k, v in out.items() if k != "seconds"} == {
        "files": 3, "lines": t["lines"], "loaded": t["loaded"], "rejected": t["rejected"],
        "duplicates": t["duplicates"], "pending_partial": t["pending_partial"]}
    assert rows(home, "select count(*), count(event_id), count(distinct event_id) from raw.events") == [
        (t["loaded"], t["ids"], t["ids"])]
    assert rows(home, "select count(*) from raw.rejected_events") == [(t["rejected"],)]
    assert rows(home, "select count(*) from raw.ingest_files") == [(3,)]

    again = ingest_json(home, logs)
    assert {k: v for k, v in again.items() if k != "seconds"} == {
        "files": 3, "lines": 0, "loaded": 0, "rejected": 0, "duplicates": 0,
        "pending_partial": t["pending_partial"]}
    assert rows(home, "select count(*) from raw.events") == [(t["loaded"],)]

    for path in t["partial_files"]:  # the producers finish their lines
        with open(path, "ab") as fh:
            fh.write(b"\n")
    last = ingest_json(home, logs)
    n = len(t["partial_files"])
    assert (last["lines"], last["loaded"], last["rejected"], last["duplicates"], last["pending_partial"]) == (
        n, n, 0, 0, 0)
    assert rows(home, "select count(*) from raw.events where event_id like '%-partial-%'") == [(n,)]
