"""Data-quality preconditions of the gate: the build's failing data tests, recorded in the warehouse.

`dbt build` skips every model downstream of a failing data test, which would leave the gate reading stale marts (or
none). `build_recording_failures` runs the dbt build, records the data tests that failed in
quality.build_test_failures (as governance_mirror mirrors the ledger), and then builds the skipped models and
marts.data_quality with its dependants anyway (`dbt run`, no tests): the marts stay current, rollback rules still
fire, and the gate holds with reason `data_quality`, naming the tests. Any other failure (a model error, a failing
unit test: the logic itself is wrong) is not a data-quality finding and fails the build as before.
"""
from __future__ import annotations

from pathlib import Path

from ingest.warehouse import connect
from rolloutctl.core.timestamps import utc_now
from rolloutctl.warehouse.dbt_runner import run_dbt

QUALITY_DDL = """
create schema if not exists quality;

create table if not exists quality.build_test_failures (
    test_name    varchar     not null,    -- dbt's name of the data test
    status       varchar     not null,    -- fail | error
    message      varchar,
    recorded_at  timestamptz not null
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


def build_recording_failures(home: Path, **dbt_options):
    """dbt build, with failing data tests recorded and the models they made dbt skip built anyway.

    Returns the build's BuildResult (unsuccessful when anything failed, data tests included). Never raises
    BuildFailed itself: the caller decides (see `only_data_tests_failed`).
    """
    dbt_options.pop("check", None)
    record_test_failures(home, [])          # this build's findings replace the last build's
    result = run_dbt(home, check=False, **dbt_options)
    if only_data_tests_failed(result):
        record_test_failures(home, data_test_failures(result))
        rerun = {k: v for k, v in dbt_options.items() if k in _PASS_THROUGH}
        run_dbt(home, ["run"], select=[*result.skipped, DEPENDANTS], **rerun)
    return result
