"""dbt_runner.run_dbt: dbt through its Python API, progress, failures, and the DuckDB file released."""
from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import duckdb
import numpy as np
import pytest

from ingest.errors import ConfigError, WarehouseBusy
from ingest.warehouse import connect, warehouse_path
from rolloutctl.core.layout import DBT_PROJECT_FILES, PROJECT_DIR, dbt_log_dir
from rolloutctl.warehouse.dbt_runner import BuildFailed, BuildResult, run_dbt
from tests.support.metrics_reference import insert_events, random_events

SELECT = "+metrics_windowed"
MODELS_AND_SEEDS = ["build", "--resource-type", "model", "--resource-type", "seed"]


@pytest.fixture(scope="module")
def dbt_target(tmp_path_factory):
    return tmp_path_factory.mktemp("dbt-target")


@pytest.fixture
def home(tmp_path):
    events = random_events(np.random.default_rng(3), 40, start=datetime(2026, 6, 1, tzinfo=UTC), hours=5)
    insert_events(tmp_path, events)
    return tmp_path


def test_run_reports_nodes_progress_and_timings(home, dbt_target):
    seen = []
    result = run_dbt(home, MODELS_AND_SEEDS, select=SELECT, target_path=dbt_target, progress=seen.append)

    assert isinstance(result, BuildResult) and result.success and result.failures == []
    names = {t.name for t in result.timings}
    assert {"metrics_windowed", "stg_telemetry__save_completed", "phase_flags"} <= names
    assert all(t.seconds >= 0 for t in result.timings)
    finished = [p for p in seen if p.status != "started"]
    assert {p.name for p in finished} == names
    assert all(p.total == len(names) and 1 <= p.index <= p.total for p in seen)
    assert result.as_json()["success"] is True


def test_the_file_is_free_after_the_run(home, dbt_target):
    run_dbt(home, MODELS_AND_SEEDS, select=SELECT, target_path=dbt_target)
    path = warehouse_path(home)

    con = duckdb.connect(str(path))  # read-write, in this process
    assert con.execute("select count(*) from marts.metrics_windowed").fetchone()[0] > 0
    con.close()
    probe = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(path)!r}).execute('select 1')"],
        capture_output=True, text=True, timeout=60)
    assert probe.returncode == 0, probe.stderr


def test_a_file_held_by_another_process_is_reported(home, dbt_target, monkeypatch):
    monkeypatch.setenv("ROLLOUT_LOCK_WAIT", "0")    # report at once (waiting: tests/reliability/test_lock_wait.py)
    path = warehouse_path(home)
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import duckdb, sys, time
            con = duckdb.connect({str(path)!r})
            print("held", flush=True)
            time.sleep(60)
        """)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(WarehouseBusy) as caught:
            run_dbt(home, ["run"], select=SELECT, target_path=dbt_target)
        assert f"process {holder.pid}" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()


def test_failures_are_returned_or_raised(home, dbt_target):
    con = connect(home)  # an event whose phase is not in governance/phase_flags.csv breaks a relationships test
    con.execute("update raw.events set phase = 'Z-9' where rowid = (select min(rowid) from raw.events)")
    con.close()

    result = run_dbt(home, ["build", "--exclude-resource-type", "unit_test"],
                     select="stg_telemetry__events phase_flags",
                     target_path=dbt_target, check=False)
    assert not result.success
    assert any(f.resource_type == "test" and "relationships" in f.name for f in result.failures)

    with pytest.raises(BuildFailed) as caught:
        run_dbt(home, ["build", "--exclude-resource-type", "unit_test"], select="stg_telemetry__events phase_flags",
                target_path=dbt_target)
    assert caught.value.result.failures and "relationships" in str(caught.value)


def test_dbt_runs_on_the_threads_chosen(home, dbt_target, monkeypatch):
    monkeypatch.setenv("ROLLOUT_DBT_LOG_LEVEL", "info")
    for threads in ("1", "2"):
        monkeypatch.setenv("ROLLOUT_DBT_THREADS", threads)
        run_dbt(home, ["run"], select="stg_telemetry__events", target_path=dbt_target)
        last_run = (dbt_log_dir(home) / "dbt.log").read_text().rsplit("Concurrency:", 1)[1]
        assert last_run.startswith(f" {threads} threads")
    monkeypatch.setenv("ROLLOUT_DBT_THREADS", "many")
    with pytest.raises(ConfigError, match="ROLLOUT_DBT_THREADS='many': expected a whole number of threads"):
        run_dbt(home, ["run"], select="stg_telemetry__events", target_path=dbt_target)


def test_an_unparseable_project_is_a_failure_not_a_crash(home, tmp_path_factory):
    broken = tmp_path_factory.mktemp("broken-project")
    (broken / "dbt_project.yml").write_text("name: [unclosed\n")
    result = run_dbt(home, ["run"], project_dir=broken, check=False)
    assert not result.success and result.failures[0].resource_type == "run"


def test_dbt_logs_to_the_home_at_the_chosen_level(home, dbt_target, monkeypatch):
    monkeypatch.setenv("ROLLOUT_DBT_LOG_LEVEL", "info")
    run_dbt(home, ["run"], select="stg_telemetry__events", target_path=dbt_target)
    log = (dbt_log_dir(home) / "dbt.log").read_text()
    assert "stg_telemetry__events" in log

    monkeypatch.setenv("ROLLOUT_DBT_LOG_LEVEL", "chatty")
    with pytest.raises(ConfigError, match="ROLLOUT_DBT_LOG_LEVEL='chatty': expected one of debug, info"):
        run_dbt(home, ["run"], select="stg_telemetry__events", target_path=dbt_target)


def test_a_changed_model_is_parsed_again_within_one_process(home, tmp_path_factory):
    """The process keeps dbt's parse of a project between runs; a changed definition must never run from it."""
    project = tmp_path_factory.mktemp("project")
    for name in DBT_PROJECT_FILES:
        source = PROJECT_DIR / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    probe = project / "models" / "probe.sql"
    target = project / "target"

    def built_value() -> int:
        run_dbt(home, ["run"], select="probe", project_dir=project, target_path=target)
        with duckdb.connect(str(warehouse_path(home)), read_only=True) as con:
            return con.execute("select v from probe").fetchone()[0]

    probe.write_text("select 1 as v\n")
    assert built_value() == 1
    probe.write_text("select 2 as v\n")
    assert built_value() == 2
