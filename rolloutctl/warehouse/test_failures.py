"""Data-quality preconditions of the gate: the build's failing data tests, recorded in the warehouse.

`dbt build` skips every model downstream of a failing data test, which would leave the gate reading stale marts (or
none). `build_recording_failures` runs the dbt build, records the data tests that failed in
quality.build_test_failures (as governance_mirror mirrors the ledger), and then builds the skipped models and
marts.data_quality with its dependants anyway (`dbt run`, no tests): the marts stay current, rollback rules still
fire, and the gate holds with reason `data_quality`, naming the tests. Any other failure (a model error, a failing
unit test: the logic itself is wrong) is not a data-quality finding and fails the build as before.

The data-test scope (recorded in quality.data_test_scope; dbt gets it from run_dbt's data_test_from): the
operational cycle's data tests of relations whose rows are only ever appended or recomputed where new events fall
(raw.events, the telemetry staging views and int_telemetry_events_parsed by loaded_at; metrics_windowed by the
evaluation times new events touch: models and sources with `meta: {data_test_scope: …}`,
macros/data_test_scope_filter.sql) check the rows loaded after `test_from` only: the rows loaded up to
`checked_through`, the watermark of the last build whose data tests all passed, were tested then and have not
changed since. A build whose tests fail does not move it, so a failing row is tested, and holds promotion, until it
is fixed; a full build (--all-tests, --full-refresh, a selection of the caller's) tests everything.

It also records the definitions (dbt_runner.definitions_hash) that last build was made from: while they stay the
same, the cycle builds only the models that hold data (selectors.yml, gate_cycle_data), the views and seeds being
already in place.
"""
from __future__ import annotations

from pathlib import Path

from ingest.warehouse import connect
from rolloutctl.core.timestamps import utc_now
from rolloutctl.warehouse.dbt_project import definitions_hash, project_for
from rolloutctl.warehouse.dbt_runner import CYCLE_DATA_SELECTOR, CYCLE_SELECTOR, run_dbt
from rolloutctl.warehouse.spark_target import spark_target

QUALITY_DDL = """
create schema if not exists quality;

create table if not exists quality.build_test_failures (
    test_name    varchar     not null,    -- dbt's name of the data test
    status       varchar     not null,    -- fail | error
    message      varchar,
    recorded_at  timestamptz not null
);
"""

SCOPE_DDL = """
create schema if not exists quality;

create table if not exists quality.data_test_scope (
    test_from        timestamptz,   -- this build's scoped data tests check rows loaded after it (NULL: every row)
    checked_through  timestamptz,   -- rows loaded up to here passed the last complete run of the data tests
    definitions      varchar        -- dbt_runner.definitions_hash of that build: its views and seeds are in place
);
"""

# marts.data_quality and every model built on it read the recorded failures: rebuilt once they are recorded
DEPENDANTS = "data_quality+"
_PASS_THROUGH = ("target", "target_path", "project_dir")


def data_test_failures(result) -> list:
    """The failures of a BuildResult that are data tests (a test that found rows, or could not run)."""
    return [f for f in result.failures if f.resource_type == "test"]


def only_data_tests_failed(result) -> bool:
    failed = data_test_failures(result)
    return bool(failed) and len(failed) == len(result.failures)


def record_test_failures(home: Path, failures: list) -> None:
    """Replace the rows of quality.build_test_failures with `failures` (NodeFailure of data tests)."""
    now = utc_now()
    rows = [(f.name, f.status, (f.message or "").strip()[:2000], now) for f in failures]
    con = connect(Path(home))
    try:
        con.execute(QUALITY_DDL)
        con.execute("begin transaction")
        con.execute("delete from quality.build_test_failures")
        if rows:
            con.executemany("insert into quality.build_test_failures values (?, ?, ?, ?)", rows)
        con.execute("commit")
    finally:
        con.close()


def recorded_test_failures(home: Path) -> list[str]:
    con = connect(Path(home))
    try:
        con.execute(QUALITY_DDL)
        return [r[0] for r in con.execute("select test_name from quality.build_test_failures order by 1").fetchall()]
    finally:
        con.close()


def begin_test_scope(home: Path, *, everything: bool) -> tuple:
    """Set this build's data-test scope (see the module's docstring). Return its test_from (None: every row), the
    latest loaded_at of raw.events now (`end_test_scope` records it as checked once the build has passed) and the
    definitions hash of the last complete build."""
    con = connect(Path(home))
    try:
        con.execute(SCOPE_DDL)
        row = con.execute("select checked_through, definitions from quality.data_test_scope").fetchone()
        checked, definitions = row if row else (None, None)
        loaded_through = con.execute("select max(loaded_at) from raw.events").fetchone()[0]
        con.execute("begin transaction")
        con.execute("delete from quality.data_test_scope")
        test_from = None if everything else checked
        con.execute("insert into quality.data_test_scope values (?, ?, ?)", [test_from, checked, definitions])
        con.execute("commit")
        return test_from, loaded_through, definitions
    finally:
        con.close()


def end_test_scope(home: Path, loaded_through, definitions: str) -> None:
    """Every row loaded up to `loaded_through` passed this build's data tests; its views and seeds are
    `definitions`'."""
    con = connect(Path(home))
    try:
        con.execute("update quality.data_test_scope set checked_through = ?, definitions = ?",
                    [loaded_through, definitions])
    finally:
        con.close()


def data_test_scope(home: Path) -> dict:
    """The latest build's data-test scope: test_from, checked_through, definitions."""
    con = connect(Path(home))
    try:
        con.execute(SCOPE_DDL)
        cur = con.execute("select test_from, checked_through, definitions from quality.data_test_scope")
        row = cur.fetchone()
        return dict(zip([d[0] for d in cur.description], row or (None, None, None)))
    finally:
        con.close()


def build_recording_failures(home: Path, **dbt_options):
    """dbt build, with failing data tests recorded and the models they made dbt skip built anyway.

    Returns the build's BuildResult (unsuccessful when anything failed, data tests included). Never raises
    BuildFailed itself: the caller decides (see `only_data_tests_failed`).
    """
    dbt_options.pop("check", None)
    record_test_failures(home, [])          # this build's findings replace the last build's
    # the cycle (a selector) tests what is new since the last passing build; anything else tests every row
    scoped = bool(dbt_options.get("selector")) and not dbt_options.get("full_refresh")
    complete = not dbt_options.get("select")  # a selection of the caller's may leave tests out: checks nothing
    test_from, loaded_through, built_from = begin_test_scope(home, everything=not scoped)
    project_dir = dbt_options.get("project_dir") or project_for(home)
    definitions = definitions_hash(project_dir, dbt_options.get("target"))
    if dbt_options.get("selector") == CYCLE_SELECTOR and built_from == definitions and not dbt_options.get(
            "full_refresh"):
        dbt_options["selector"] = CYCLE_DATA_SELECTOR      # the views and seeds are those of the last build
    # (the scope's SQL is DuckDB's: a Spark build tests every row)
    on_spark = spark_target(dbt_options.get("target"), project_dir) is not None
    result = run_dbt(home, check=False, data_test_from=None if on_spark else test_from, **dbt_options)
    if complete and result.success:
        end_test_scope(home, loaded_through, definitions)
    if only_data_tests_failed(result):
        record_test_failures(home, data_test_failures(result))
        rerun = {k: v for k, v in dbt_options.items() if k in _PASS_THROUGH}
        run_dbt(home, ["run"], select=[*result.skipped, DEPENDANTS], **rerun)
    return result
