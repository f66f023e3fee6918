"""The Parquet lake the Spark target reads its sources from: `<home>/lake` by default (ROLLOUT_PARQUET_DIR to point
elsewhere).

Layout (the same as `rolloutctl ingest --sink parquet DIR` lands):
    events/feature=<f>/event_date=YYYY-MM-DD/*.parquet     raw.events, Hive-style partitions
    rejected_events/*.parquet, loads/*.parquet, watermarks/*.parquet     the other raw.* tables the models read
    governance/phase_ledger/*.parquet, governance/rca_files/*.parquet    governance_mirror's mirror
    quality/build_test_failures/*.parquet                                 the latest build's failing data tests

On Spark, the on-run-start hook (macros/lake_sources.sql) turns each folder into a view raw.<table>,
governance.<table> or quality.<table>, so that source() reads the same names on both engines.

The raw tables are written by `rolloutctl ingest --sink parquet` (ingest/parquet_sink.py); this module writes the
governance and quality folders before each Spark run (publish_governance) and copies the marts Spark built back
into the home's DuckDB warehouse after it (mirror_spark_marts: from the in-process session, or over the network
through spark_remote). On a cluster the lake must be a path every executor reads (a shared mount, an object store).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from ingest.warehouse import connect
from rolloutctl.core.layout import lake_dir
from rolloutctl.warehouse import governance_mirror, spark_remote, test_failures
from rolloutctl.warehouse.dbt_project import project_for
from rolloutctl.warehouse.spark_target import SparkTarget


def write_table(con: duckdb.DuckDBPyConnection, query: str, folder: Path) -> None:
    """Replace `folder` with the rows of `query` as one Parquet file (written beside it, then renamed into place)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = folder.with_name(folder.name + ".writing")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    # the file is bound as a parameter; the query is a constant of this module
    con.execute(f"copy ({query}) to ? (format parquet)", [str(staging / "part-0.parquet")])
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


# staging views the CLI reads besides the marts (the report's recent incidents): small, copied as tables
STAGING_READ_BY_CLI = ("stg_telemetry__incident_declared",)

GOVERNANCE_TABLES = ("governance.phase_ledger", "governance.rca_files", "quality.build_test_failures")


def publish_governance(home: Path, parquet_dir: Path | str | None = None) -> Path:
    """Copy the tables rolloutctl keeps in the home's DuckDB warehouse (the ledger and RCA mirror of
    governance_mirror, the build's failing data tests of test_failures) into the lake, where the Spark target reads
    them.
    Every table is written, empty when there is nothing, so the Spark views always exist."""
    lake = lake_dir(home, parquet_dir)
    con = connect(Path(home))
    try:
        con.execute(governance_mirror.GOVERNANCE_DDL)
        con.execute(test_failures.QUALITY_DDL)
        con.execute("set TimeZone = 'UTC'")
        for table in GOVERNANCE_TABLES:
            schema, name = table.split(".")
            write_table(con, f"select * from {table}", lake / schema / name)
    finally:
        con.close()
    return lake


def mirror_spark_marts(home: Path, target: SparkTarget | None = None, project_dir: Path | str | None = None
                       ) -> list[str]:
    """Copy every table of the Spark target's `marts` schema into the home's DuckDB warehouse (replacing them), so
    that the gate, the report and the analysts' snapshot read the marts Spark built exactly as they read DuckDB's.

    The marts are small (one row per phase, grid time, metric and window at most), with the few staging views the
    CLI reads (STAGING_READ_BY_CLI). On the session target they come from the SparkSession dbt ran in this process;
    on a network target (a Thrift Server, a cluster) over a connection to it, as dbt connected (spark_remote), with
    no Spark in this process. All are replaced in one DuckDB transaction: a failed read leaves the last copy whole.
    raw.* stays in the lake: what reads it from DuckDB (the audit's raw.events counts, the dashboard's event
    charts) sees the home's DuckDB raw tables, empty when the events were landed as Parquet only. Returns the
    relations copied."""
    wanted = [("marts", None)] + [("staging", name) for name in STAGING_READ_BY_CLI]
    if target is not None and target.remote:
        rows = spark_remote.read_relations(target, project_dir or project_for(home), wanted)
    else:
        rows = _session_relations(wanted)
    con = connect(Path(home))
    copied = []
    try:
        con.execute("create schema if not exists marts")
        con.execute("create schema if not exists staging")
        con.execute("begin transaction")
        for schema, name, table in rows:
            con.register("spark_rows", table)
            # schema: marts or staging, constants of this module; name: Spark's own table names, from its catalog
            con.execute(f'create or replace table {schema}."{name}" as select * from spark_rows')
            con.unregister("spark_rows")
            copied.append(f"{schema}.{name}")
        con.execute("commit")
    finally:
        con.close()
    return copied


def _session_relations(wanted: list[tuple[str, str | None]]):
    """(schema, name, pyarrow Table) of each relation, from the session method's SparkSession in this process."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    for schema, name in wanted:
        names = [name] if name else sorted(row.tableName for row in spark.sql(f"show tables in {schema}").collect()
                                           if not row.isTemporary)
        for table in names:
            yield schema, table, spark.table(f"{schema}.`{table}`").toArrow()
