"""`ingest --sink parquet DIR`: the warehouse's validation and de-duplication, landed as Hive-partitioned Parquet.

The DuckDB sink is the reference: the same files ingested both ways must give the same counts and the same rows,
every raw.* table the models read must be there with the warehouse's columns, a rerun adds nothing, and a process
killed at any step of the sink's protocol, then run again, leaves exactly the rows of one clean run.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from ingest.loader import ingest
from ingest.parquet_sink import STATE_NAME, TEMP_SUFFIX, ingest_parquet
from tests.support.ingest_support import FEATURE_OF, JSON_KEYS, REPO, cli

BLOCK = 256 * 1024   # a block per file or so: several commits per run, so kills land between and inside them
COUNTS = ("files", "lines", "loaded", "rejected", "duplicates", "pending_partial")
KEY_COLUMNS = "event_id, event, feature, phase, event_at, payload, line_key, source_file, line_no"
FILE_NAME = re.compile(r"events/feature=([a-z]+)/event_date=(\d{4}-\d{2}-\d{2})/[0-9a-f]{32}-\d+\.parquet")


def _make_logs(folder: Path) -> None:
    """Generated telemetry, plus a file of bad, duplicate, id-less and slow-path lines with an unterminated tail."""
    subprocess.run([sys.executable, str(REPO / "scripts" / "generate_telemetry.py"), "--events", "3000",
                    "--days", "2", "--seed", "11", "--out", str(folder)], check=True, capture_output=True)
    first = sorted(folder.rglob("*.jsonl"))[0].read_text().splitlines()
    base = {"event": "app.session.ended", "ts": "2026-11-01T23:30:00-02:00", "phase": "A-0", "crashed": False}
    lines = first[:40]                                        # events landed from another file: duplicates
    lines += ['{"event": "nope"}', "not json", '{"event":"autosave.save.completed","ts":"yesterday"}', "   "]
    lines += [json.dumps(dict(base, event_id=f"x-{i % 7}")) for i in range(20)]   # 13 duplicates within the file
    lines += [json.dumps(base)] * 3                            # id-less: keyed by line, all three load
    lines += ['{"event":"app.session.ended","ts":"2026-11-02T01:00:00Z","phase":"A-0","crashed":false,'
              '"event_id":"sur-\\ud800"}']                     # a lone surrogate: jsonschema's path accepts it
    extra = folder / "extra" / "mixed.jsonl"
    extra.parent.mkdir(parents=True)
    extra.write_text("\n".join(lines) + "\n" + json.dumps(base))   # the last line waits (no newline)


def _events(con, source: str) -> list[tuple]:
    return con.execute(f"select {KEY_COLUMNS} from {source} order by source_file, line_no").fetchall()


def _parquet_events(sink: Path) -> list[tuple]:
    con = _con()
    return _events(con, f"read_parquet('{sink}/events/**/*.parquet', hive_partitioning = true)")


def _con():
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    return con


def _warehouse(home: Path):
    con = duckdb.connect(str(home / "warehouse" / "rollout.duckdb"), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    return con


REJECT_COLUMNS = "source_file, line_no, raw_line, line_bytes, json_path, message"


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("logs")
    _make_logs(folder)
    return folder


@pytest.fixture(scope="module")
def duck(logs, tmp_path_factory):
    """The reference: the same logs ingested into a warehouse."""
    home = tmp_path_factory.mktemp("home")
    result = ingest(home, [logs], block_bytes=BLOCK)
    con = _warehouse(home)
    try:
        tables = {
            "events": con.execute(f"select {KEY_COLUMNS.replace('payload', 'payload::varchar')} from raw.events "
                                  "order by source_file, line_no").fetchall(),
            "rejects": con.execute(f"select {REJECT_COLUMNS} from raw.rejected_events "
                                   "order by source_file, line_no").fetchall(),
            "watermarks": con.execute("select feature, max_event_at from raw.watermarks order by feature").fetchall(),
            "describe": {t: con.execute(f"describe raw.{t}").fetchall()
                         for t in ("events", "rejected_events", "loads", "watermarks")},
        }
    finally:
        con.close()
    return result, tables, home


@pytest.fixture(scope="module")
def sink(logs, tmp_path_factory):
    folder = tmp_path_factory.mktemp("lake") / "sink"
    return ingest_parquet(folder, [logs], block_bytes=BLOCK), folder


def _copy(folder: Path, to: Path) -> Path:
    shutil.copytree(folder, to)
    return to


def _visible(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.parquet"))


def _temps(folder: Path) -> list[Path]:
    return list(folder.rglob("*" + TEMP_SUFFIX))


# ---- the same as the warehouse

def test_counts_equal_the_duckdb_sinks(duck, sink):
    ref, _, _ = duck
    result, _ = sink
    assert {k: getattr(result, k) for k in COUNTS} == {k: getattr(ref, k) for k in COUNTS}
    # the input exercises every outcome
    assert result.rejected == 3 and result.duplicates == 40 + 13 and result.pending_partial == 1
    assert result.loaded > 2500


def test_rows_read_back_equal_raw_events(duck, sink):
    _, tables, _ = duck
    _, folder = sink
    got = _parquet_events(folder)
    assert len(got) == len(tables["events"])
    assert got == tables["events"]
    assert any(r[0] == "sur-\\ud800" for r in got)        # the slow path's rows land too
    assert sum(r[0] is None for r in got) == 3             # id-less lines keep their line_key


def test_rejects_equal_raw_rejected_events(duck, sink):
    _, tables, _ = duck
    _, folder = sink
    got = _con().execute(f"select {REJECT_COLUMNS} from read_parquet('{folder}/rejected_events/*.parquet') "
                         "order by source_file, line_no").fetchall()
    assert got == tables["rejects"] and len(got) == 3


def test_watermarks_and_loads_are_landed_beside_the_events(duck, sink):
    _, tables, _ = duck
    result, folder = sink
    con = _con()
    assert con.execute(f"select feature, max_event_at from read_parquet('{folder}/watermarks/*.parquet') "
                       "order by feature").fetchall() == tables["watermarks"]
    loads = con.execute(f"select load_id, files, lines, loaded, rejected, duplicates, pending_partial, "
                        f"finished_at is not null from read_parquet('{folder}/loads/*.parquet')").fetchall()
    assert loads == [(result.load_id, *(getattr(result, k) for k in COUNTS), True)]


def test_every_raw_table_the_models_read_has_the_warehouse_columns(duck, sink):
    """events (with feature and event_date from the folders), rejected_events, loads, watermarks: the names and
    types of the warehouse's tables (payload JSON as text)."""
    _, tables, _ = duck
    _, folder = sink
    con = _con()
    for table, described in tables["describe"].items():
        source = (f"read_parquet('{folder}/events/**/*.parquet', hive_partitioning = true)" if table == "events"
                  else f"read_parquet('{folder}/{table}/*.parquet')")
        got = [(c[0], c[1]) for c in con.execute(f"describe select * from {source}").fetchall()]
        want = [(c[0], "VARCHAR" if c[1] == "JSON" else c[1]) for c in described]
        if table == "events":
            assert got[-2:] == [("event_date", "DATE"), ("feature", "VARCHAR")]   # from the partition folders
            got = got[:-2]
            want = [c for c in want if c[0] != "feature"]
        assert got == want, table


def test_events_are_partitioned_by_feature_and_utc_date(sink):
    _, folder = sink
    con = _con()
    files = [f for f in _visible(folder) if f.startswith("events/")]
    assert files and all(FILE_NAME.fullmatch(f) for f in files), files
    for f in files:
        feature, day = FILE_NAME.fullmatch(f).groups()
        # plain read: the file holds no partition column; every row belongs to its folder
        rows = con.execute("select event, strftime(event_at at time zone 'UTC', '%Y-%m-%d') "
                           "from read_parquet(?, hive_partitioning = false)", [str(folder / f)]).fetchall()
        assert rows and {FEATURE_OF[e] for e, _ in rows} == {feature} and {d for _, d in rows} == {day}
    # an event sent at 23:30 -02:00 on Nov 1 is Nov 2 in UTC
    assert (folder / "events" / "feature=app" / "event_date=2026-11-02").is_dir()
    assert _temps(folder) == [] and (folder / STATE_NAME).is_file()


# ---- idempotent

def test_a_rerun_adds_nothing(sink, logs, tmp_path):
    result, folder = sink
    copy = _copy(folder, tmp_path / "sink")
    before_files, before_rows = _visible(copy), _parquet_events(copy)
    again = ingest_parquet(copy, [logs], block_bytes=BLOCK)
    assert (again.loaded, again.rejected, again.duplicates, again.lines) == (0, 0, 0, 0)
    assert [f for f in _visible(copy) if not f.startswith("loads/") and not f.startswith("watermarks/")] == \
        [f for f in before_files if not f.startswith("loads/") and not f.startswith("watermarks/")]
    assert _parquet_events(copy) == before_rows


def test_events_already_landed_count_as_duplicates_as_in_the_warehouse(sink, duck, logs, tmp_path):
    """A new file repeating events of another one: every line a duplicate, in both sinks."""
    _, folder = sink
    _, _, home = duck
    copy, home_copy = _copy(folder, tmp_path / "sink"), _copy(home, tmp_path / "home")
    again = tmp_path / "again.jsonl"
    shutil.copy(sorted(logs.rglob("*.jsonl"))[1], again)
    via_parquet = ingest_parquet(copy, [again])
    via_duckdb = ingest(home_copy, [again])
    assert via_parquet.duplicates == via_duckdb.duplicates == via_parquet.lines > 0
    assert via_parquet.loaded == via_duckdb.loaded == 0


# ---- killed, then run again

KILLS = [("torn", 3), ("write", 1), ("write", 4), ("commit", 1), ("commit", 4), ("rename", 3)]


@pytest.mark.parametrize("step,k", KILLS)
def test_a_kill_at_any_step_then_a_rerun_equals_one_clean_run(step, k, logs, duck, tmp_path):
    _, tables, _ = duck
    folder = tmp_path / "sink"
    env = {key: v for key, v in os.environ.items() if not key.startswith("ROLLOUT_")}
    env.update(PYTHONPATH=str(REPO), ROLLOUT_INGEST_BLOCK_BYTES=str(BLOCK))
    harness = Path(__file__).resolve().parents[1] / "support" / "parquet_crash.py"
    proc = subprocess.run([sys.executable, str(harness), step, str(k), "--",
                           "ingest", "--json", "--sink", "parquet", str(folder), str(logs)],
                          env=env, cwd=REPO, capture_output=True, timeout=120)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    # what readers see meanwhile: whole files only, and no row a later run would withdraw
    seen = _parquet_events(folder) if any(folder.rglob("events/**/*.parquet")) else []
    assert set(seen) <= set(tables["events"])
    if step in ("commit", "rename"):     # the kill left committed files not yet renamed, or not yet marked so
        state = duckdb.connect(str(folder / STATE_NAME), read_only=True)
        try:
            assert state.execute("select count(*) from sink.files where not published").fetchall()[0][0] > 0
        finally:
            state.close()
        assert step == "rename" or _temps(folder)
    result = ingest_parquet(folder, [logs], block_bytes=BLOCK)
    assert _parquet_events(folder) == tables["events"]
    assert _temps(folder) == []
    got = _con().execute(f"select {REJECT_COLUMNS} from read_parquet('{folder}/rejected_events/*.parquet') "
                         "order by source_file, line_no").fetchall()
    assert got == tables["rejects"]
    again = ingest_parquet(folder, [logs], block_bytes=BLOCK)
    assert (again.loaded, again.lines) == (0, 0) and result.loaded <= len(tables["events"])


# ---- the command

def test_the_command_lands_parquet_and_prints_the_same_summary(logs, duck, tmp_path):
    ref, _, _ = duck
    proc = cli("ingest", "--json", "--sink", "parquet", str(tmp_path / "lake"), str(logs), home=tmp_path / "home")
    assert proc.returncode == 0, proc.stderr.decode()
    out = json.loads(proc.stdout)
    assert set(out) == JSON_KEYS
    assert {k: out[k] for k in COUNTS} == {k: getattr(ref, k) for k in COUNTS}
    assert not (tmp_path / "home").exists()        # no warehouse touched
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"event": "nope"}\n')
    human = cli("ingest", "--sink", "parquet", str(tmp_path / "lake2"), str(bad), home=tmp_path / "home")
    err = "".join(human.stderr.decode().split())   # rich wraps long lines anywhere
    assert human.returncode == 0 and "1rejected" in err and "bad.jsonl:1:" in err
    assert f"fromread_parquet('{tmp_path / 'lake2' / 'rejected_events'}/*.parquet')whereload_id" in err


def _one_error(proc) -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, err
    return errors[0]


def test_a_sink_dir_that_is_a_file_is_a_usage_error(logs, tmp_path):
    (tmp_path / "file").write_text("x")
    proc = cli("ingest", "--sink", "parquet", str(tmp_path / "file"), str(logs), home=tmp_path)
    assert proc.returncode == 2
    assert _one_error(proc) == f"Error: Invalid value for '--sink parquet DIR': {tmp_path / 'file'} is not a folder"


@pytest.mark.parametrize("where", ["/etc", "{tmp}/../../../../../../../etc", "/usr"])
def test_a_system_folder_is_refused_however_it_is_reached(logs, tmp_path, where):
    where = where.format(tmp=tmp_path)
    proc = cli("ingest", "--sink", "parquet", where, str(logs), home=tmp_path)
    assert proc.returncode == 2
    assert _one_error(proc).endswith("is a system folder; give a folder of your own")


def test_a_folder_holding_other_things_is_refused_and_left_alone(logs, tmp_path):
    proc = cli("ingest", "--sink", "parquet", str(logs), str(logs), home=tmp_path)
    assert proc.returncode == 2
    assert "not a Parquet sink folder" in _one_error(proc)
    assert not (logs / STATE_NAME).exists() and not (logs / "events").exists()


def test_dir_without_files_is_a_usage_error(tmp_path):
    proc = cli("ingest", "--sink", "parquet", str(tmp_path / "lake"), home=tmp_path)
    assert proc.returncode == 2
    assert _one_error(proc) == "Error: --sink parquet needs DIR, then the files or folders to load"
    assert not (tmp_path / "lake").exists()


# ---- what the warehouse's loader does, the sink does too

def test_a_file_that_grew_lands_only_its_new_lines_as_in_the_warehouse(tmp_path):
    log = tmp_path / "logs" / "app.jsonl"
    log.parent.mkdir()
    line = ('{"event":"app.session.ended","ts":"2026-11-01T10:%02d:00Z","phase":"A-0","crashed":false,'
            '"event_id":"g-%d"}\n')
    log.write_text("".join(line % (i, i) for i in range(5)) + line[:30])   # an unterminated tail waits
    lake, home = tmp_path / "lake", tmp_path / "home"
    first = (ingest_parquet(lake, [log]), ingest(home, [log]))
    with log.open("a") as fh:
        fh.write(line[30:] % (5, 5) + "".join(line % (i, i % 8) for i in range(6, 12)))   # 6..7 new, then repeats
    second = (ingest_parquet(lake, [log]), ingest(home, [log]))
    for a, b in (first, second):
        assert {k: getattr(a, k) for k in COUNTS} == {k: getattr(b, k) for k in COUNTS}
    assert (first[0].loaded, first[0].pending_partial, second[0].loaded, second[0].duplicates) == (5, 1, 3, 4)
    con = _warehouse(home)
    try:
        assert _parquet_events(lake) == con.execute(
            f"select {KEY_COLUMNS.replace('payload', 'payload::varchar')} from raw.events "
            "order by source_file, line_no").fetchall()
    finally:
        con.close()


def test_a_sink_another_ingest_holds_makes_the_next_wait_then_say_who(logs, tmp_path, monkeypatch):
    from ingest.errors import WarehouseBusy

    lake = tmp_path / "lake"
    lake.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                               "print('ok', flush=True); time.sleep(60)", str(lake / STATE_NAME)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        monkeypatch.setenv("ROLLOUT_LOCK_WAIT", "0.3")
        with pytest.raises(WarehouseBusy, match=f"{lake / STATE_NAME} is in use by process {holder.pid}"):
            ingest_parquet(lake, [logs])
    finally:
        holder.kill()
        holder.wait()
    assert not any(lake.rglob("*.parquet"))


def test_a_damaged_state_is_one_line_saying_what_to_do(logs, tmp_path):
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / STATE_NAME).write_bytes(os.urandom(4096))
    proc = cli("ingest", "--sink", "parquet", str(lake), str(logs), home=tmp_path)
    assert proc.returncode == 1
    error = _one_error(proc)
    assert error.startswith(f"Error: the Parquet sink's state {lake / STATE_NAME} is damaged (")
    assert error.endswith("ingest the logs into a new sink folder")


def test_a_missing_input_is_a_usage_error_and_creates_no_sink(tmp_path):
    proc = cli("ingest", "--sink", "parquet", str(tmp_path / "lake"), str(tmp_path / "nope.jsonl"), home=tmp_path)
    assert proc.returncode == 2
    assert _one_error(proc) == f"Error: {tmp_path / 'nope.jsonl'} does not exist"
    assert not (tmp_path / "lake").exists()
