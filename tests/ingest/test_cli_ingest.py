"""`rolloutctl ingest` and `rolloutctl schema lint` as a user runs them: real processes, exit codes, output."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from ingest.schema_lint import fast_path_coverage, lint
from rolloutctl.core.layout import EVENT_SCHEMA_DIR
from tests.support.ingest_support import FEATURE_OF, JSON_KEYS, SCHEMA_DIR, cli, count

SAVE = ('{"event":"autosave.save.completed","ts":"2026-03-01T12:00:00+05:30","phase":"A-1","feature":"autosave",'
        '"duration_ms":%s,"retry_count":0,"bytes":1}')


def logs(tmp_path: Path, *durations: str) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir(exist_ok=True)
    (folder / "a.jsonl").write_text("".join(SAVE % d + "\n" for d in durations))
    return folder


def no_traceback(proc) -> None:
    assert b"Traceback" not in proc.stderr and b"Traceback" not in proc.stdout


def test_json_output_is_one_object_with_exactly_the_documented_keys(tmp_path):
    folder = logs(tmp_path, "1", "-5", "2.5")
    proc = cli("ingest", "--json", str(folder), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)  # stdout holds the object and nothing else
    assert set(out) == JSON_KEYS
    assert {k: v for k, v in out.items() if k != "seconds"} == {
        "files": 1, "lines": 3, "loaded": 2, "rejected": 1, "duplicates": 0, "pending_partial": 0}
    assert isinstance(out["seconds"], (int, float)) and out["seconds"] >= 0
    assert count(tmp_path / "home", "raw.events") == 2


def test_human_output_summarises_and_points_at_the_rejects(tmp_path):
    proc = cli("ingest", str(logs(tmp_path, "1", "-5")), home=tmp_path / "home")
    assert proc.returncode == 0
    err = proc.stderr.decode()
    assert "1 loaded" in err and "1 rejected" in err and "raw.rejected_events" in err
    assert ".jsonl:2: duration_ms: -5 is less than the minimum of 0" in " ".join(err.split())  # file:line: why
    assert proc.stdout == b""  # not a terminal: no progress bar, people-facing text on stderr
    no_traceback(proc)


def test_rejects_do_not_fail_the_run_unless_strict(tmp_path):
    folder = logs(tmp_path, "1", "-5")
    assert cli("ingest", str(folder), home=tmp_path / "h1").returncode == 0
    strict = cli("ingest", "--strict", "--json", str(folder), home=tmp_path / "h2")
    assert strict.returncode == 3
    assert json.loads(strict.stdout)["rejected"] == 1  # the load still happened
    assert count(tmp_path / "h2", "raw.events") == 1


def test_strict_without_rejects_exits_zero(tmp_path):
    proc = cli("ingest", "--strict", str(logs(tmp_path, "1", "2")), home=tmp_path / "home")
    assert proc.returncode == 0


def test_a_missing_path_is_a_usage_error_naming_it(tmp_path):
    missing = tmp_path / "nope" / "x.jsonl"
    proc = cli("ingest", str(logs(tmp_path, "1")), str(missing), home=tmp_path / "home")
    assert proc.returncode == 2
    assert str(missing) in proc.stderr.decode() and "does not exist" in proc.stderr.decode()
    no_traceback(proc)
    assert not (tmp_path / "home" / "warehouse" / "rollout.duckdb").exists() or \
        count(tmp_path / "home", "raw.events") == 0  # nothing half-loaded


@pytest.mark.parametrize("args", [["ingest"], ["ingest", "--bogus", "x"]])
def test_bad_usage_exits_2(tmp_path, args):
    proc = cli(*args, home=tmp_path / "home")
    assert proc.returncode == 2
    assert b"Usage" in proc.stderr
    no_traceback(proc)


def test_home_that_is_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "file").write_text("x")
    proc = cli("ingest", str(logs(tmp_path, "1")), home=tmp_path / "file")
    assert proc.returncode == 2 and b"not a folder" in proc.stderr
    no_traceback(proc)


def test_a_busy_warehouse_is_a_failure_with_a_clear_message(tmp_path):
    folder = logs(tmp_path, "1")
    assert cli("ingest", str(folder), home=tmp_path / "home").returncode == 0
    holder = duckdb.connect(str(tmp_path / "home" / "warehouse" / "rollout.duckdb"))  # this process holds the lock
    try:
        # no wait: how long a command waits for a holder is tests/reliability/test_lock_wait.py's subject
        proc = cli("ingest", str(folder), home=tmp_path / "home", env={"ROLLOUT_LOCK_WAIT": "0"})
    finally:
        holder.close()
    assert proc.returncode == 1
    err = proc.stderr.decode()
    assert "in use" in err and "rollout.duckdb" in err
    no_traceback(proc)


def test_rolloutctl_home_env_is_honoured(tmp_path):
    import os
    import subprocess

    from tests.support.ingest_support import ROLLOUTCTL
    env = {**os.environ, "ROLLOUT_HOME": str(tmp_path / "envhome")}
    proc = subprocess.run([str(ROLLOUTCTL), "ingest", "--json", str(logs(tmp_path, "1"))], capture_output=True,
                          env=env, cwd=tmp_path)
    assert proc.returncode == 0
    assert count(tmp_path / "envhome", "raw.events") == 1


# --- schema lint -------------------------------------------------------------------------------------------------

def test_schema_lint_passes_on_the_shipped_schemas():
    proc = cli("schema", "lint")
    assert proc.returncode == 0, proc.stderr
    assert b"9 event schemas valid" in proc.stdout
    out = cli("schema", "lint", "--json")
    shipped = {p.name: str(p) for p in sorted(EVENT_SCHEMA_DIR.glob("*.json"))}
    fast = [{"event": e, "fast": "all", "deferred": []} for e in sorted(FEATURE_OF)]
    assert json.loads(out.stdout) == {"schemas": 9, "problems": [], "files": shipped, "fast_path": fast}
    assert lint() == ([], 9)


def broken_copy(tmp_path: Path, edit) -> Path:
    folder = tmp_path / "schemas"
    shutil.copytree(SCHEMA_DIR, folder)
    edit(folder)
    return folder


def _edit_def(file: str, event: str, change):
    def edit(folder: Path):
        doc = json.loads((folder / file).read_text())
        change(doc["$defs"][event])
        (folder / file).write_text(json.dumps(doc))
    return edit


def _drop_def(file: str, event: str):
    def edit(folder: Path):
        doc = json.loads((folder / file).read_text())
        del doc["$defs"][event]
        (folder / file).write_text(json.dumps(doc))
    return edit


BROKEN = {
    "an event without schema": (_drop_def("rollout.json", "bug.reported"),
                                "event bug.reported of the spec has no schema"),
    "not a valid schema": (
        _edit_def("autosave.json", "autosave.save.completed", lambda s: s["properties"]["bytes"].update(type="int")),
        "autosave.json#/$defs/autosave.save.completed: not a valid Draft 2020-12 schema"),
    "event name mismatch": (
        _edit_def("rollout.json", "app.session.ended", lambda s: s["properties"]["event"].update(const="app.x")),
        "rollout.json#/$defs/app.session.ended: must name its event"),
    "not JSON": (lambda folder: (folder / "merge.json").write_text("{ nope"), "merge.json: not valid JSON"),
    "not an object": (lambda folder: (folder / "merge.json").write_text("[]"), "merge.json: must be an object"),
    "not a schema": (lambda folder: (folder / "merge.json").write_text('{"$defs": {"x.y": 5}}'),
                     "merge.json#/$defs/x.y: must be an object schema"),
    "an event defined twice": (
        lambda folder: (folder / "extra.json").write_text((folder / "merge.json").read_text()),
        "merge.json: event merge.diff.apply is also defined in extra.json"),
    "a time that is not a date-time": (
        _edit_def("merge.json", "merge.diff.apply", lambda s: s["properties"]["ts"].pop("format")),
        "its time 'ts' must be a required property with type string and format date-time"),
    "a phase that is not a phase": (
        _edit_def("merge.json", "merge.diff.apply", lambda s: s["properties"]["phase"].update(enum=["A-0", "Z"])),
        "its phase 'phase' must be a required property whose enum (or const) holds only phases"),
    "a feature unfit for a folder": (
        _edit_def("merge.json", "merge.diff.apply", lambda s: s.update({"x-feature": "../up"})),
        "its feature '../up' must be lower-case letters"),
    "a spec event under another feature": (
        _edit_def("merge.json", "merge.diff.apply", lambda s: s.update({"x-feature": "other"})),
        "merge.json#/$defs/merge.diff.apply: feature 'other', the spec says 'merge'"),
    "a $ref that does not resolve": (
        _edit_def("merge.json", "merge.diff.apply", lambda s: s["properties"]["hunk_count"].update(
            {"$ref": "#/$defs/nowhere"})),
        "$ref '#/$defs/nowhere' does not resolve"),
    "another draft": (
        _edit_def("merge.json", "merge.diff.apply",
                  lambda s: s.update({"$schema": "http://json-schema.org/draft-07/schema#"})),
        "$schema must be https://json-schema.org/draft/2020-12/schema"),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_schema_lint_reports_a_broken_schema_folder(tmp_path, name):
    edit, expected = BROKEN[name]
    problems, _ = lint(broken_copy(tmp_path, edit))
    assert problems, name
    assert any(expected in p for p in problems), problems


# Valid schemas the fast path does not (wholly) translate: accepted, and the deferral is named.
DEFERRED = {
    "an untranslated keyword": (
        _edit_def("merge.json", "merge.diff.apply", lambda s: s["properties"]["event_id"].update(
            dependentRequired={"a": ["b"]})),  # an optional property: only lines carrying it defer
        "merge.diff.apply", "partial", "/properties/event_id", "dependentRequired"),
    "open to unknown properties": (
        _edit_def("autosave.json", "autosave.lock.error", lambda s: s.update(additionalProperties={"type": "string"})),
        "autosave.lock.error", "none", "/", "additionalProperties"),
    "an `if` that is not a const check": (
        _edit_def("autosave.json", "autosave.restore.result",
                  lambda s: s["if"]["properties"]["success"].update(type="boolean")),
        "autosave.restore.result", "none", "/if", "if"),
    "a property name the fast path cannot quote": (
        _edit_def("rollout.json", "incident.declared",
                  lambda s: s["properties"].update({'bad"name': {"type": "string"}})),
        "incident.declared", "none", "/", "properties"),
    "a property named like another in other letter case": (  # DuckDB's names are case-insensitive
        _edit_def("rollout.json", "bug.reported", lambda s: s["properties"].update(Phase={"type": "string"})),
        "bug.reported", "none", "/", "properties"),
    "a pattern outside the whitelist": (
        _edit_def("rollout.json", "bug.reported", lambda s: s["properties"]["bug_id"].update(pattern=r"\bx")),
        "bug.reported", "none", "/properties/bug_id", "pattern"),
}


@pytest.mark.parametrize("name", sorted(DEFERRED))
def test_schema_lint_accepts_what_the_fast_path_defers_and_names_it(tmp_path, name):
    edit, event, fast, where, keyword = DEFERRED[name]
    folder = broken_copy(tmp_path, edit)
    assert lint(folder) == ([], 9)
    covered = {c.event: c.as_json() for c in fast_path_coverage(folder)}
    assert covered[event]["fast"] == fast
    assert {"where": where, "keyword": keyword} in [{k: d[k] for k in ("where", "keyword")}
                                                   for d in covered[event]["deferred"]]
    assert all(c["fast"] == "all" for e, c in covered.items() if e != event)


def test_schema_lint_accepts_a_boolean_property_subschema(tmp_path):
    folder = broken_copy(tmp_path, _edit_def("rollout.json", "bug.reported",
                                             lambda s: s["properties"].update(note=True)))
    assert lint(folder) == ([], 9)


# --- progress bar ------------------------------------------------------------------------------------------------

def _run_on_terminal(args: list[str]) -> tuple[int, bytes, bytes]:
    """Run with stderr on a pseudo-terminal (as in an interactive shell); stdout stays a pipe."""
    import os
    import pty
    import subprocess

    from tests.support.ingest_support import ROLLOUTCTL
    master, slave = pty.openpty()
    proc = subprocess.Popen([str(ROLLOUTCTL), *args], stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    err = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    out = proc.stdout.read()
    proc.stdout.close()
    return proc.wait(timeout=120), out, err


def test_a_progress_bar_on_a_terminal_and_none_otherwise(tmp_path):
    folder = logs(tmp_path, *["1"] * 2000)
    code, _, err = _run_on_terminal(["--home", str(tmp_path / "h1"), "ingest", str(folder)])
    assert code == 0
    assert b"ingest" in err and b"bytes" in err and b"\x1b[" in err  # a drawn bar
    piped = cli("ingest", str(folder), home=tmp_path / "h2")
    assert b"\x1b[" not in piped.stderr and b"bytes" not in piped.stderr
    code, out, err = _run_on_terminal(["--home", str(tmp_path / "h3"), "ingest", "--json", str(folder)])
    assert code == 0 and json.loads(out)["loaded"] == 2000
    assert b"bytes" not in err
