"""Bring a home's warehouse up to date: the one sequence every build, gate cycle and replay relies on.

    [spark over the network] spark_remote.check_reachable    its endpoint answers, or stop before writing anything
    governance_mirror.sync   the ledger and RCA files into governance.* (the gate models read them)
    [spark] spark_lake.publish_governance    those tables, and the last build's failures, into the Parquet lake
    test_failures.build_recording_failures   dbt build; failing data tests recorded, skipped models built anyway
    [spark] spark_lake.mirror_spark_marts    the marts Spark built, copied into the home's DuckDB file
    analyst_snapshot.publish                 the analysts' read-only copy
"""
from __future__ import annotations

from pathlib import Path

from rolloutctl.warehouse import analyst_snapshot, governance_mirror, test_failures
from rolloutctl.warehouse.dbt_project import project_for
from rolloutctl.warehouse.dbt_runner import CYCLE_SELECTOR, BuildFailed, BuildResult
from rolloutctl.warehouse.spark_target import spark_target


def refresh(home: Path, *, check: bool = True, all_tests: bool = False, publish: bool = True,
            **dbt_options) -> BuildResult:
    """Run the sequence above (dbt_options: full_refresh, select, target, progress, target_path, …); return dbt's
    BuildResult.

    What dbt builds: by default the operational cycle (selectors.yml): the models holding data (every model and
    seed when the project's definitions changed), the incremental ones incrementally, and the data tests that guard
    the gate's inputs, over the rows loaded since the last passing build (test_failures: the data-test scope).
    all_tests: the full `dbt build` CI runs — every unit test and every data test, over all history. A `select` of
    the caller's is dbt's own (`dbt build --select …`).

    With check, raise BuildFailed when anything failed. Without it the caller decides: failing data tests alone
    leave usable marts (`test_failures.only_data_tests_failed`), on which the gate holds with reason
    `data_quality`; the snapshot is published whenever the marts are usable (publish=False: the caller publishes,
    as a gate cycle does while it reads its decision)."""
    home = Path(home)
    project_dir = dbt_options.get("project_dir") or project_for(home)
    on_spark = spark_target(dbt_options.get("target"), project_dir)
    if on_spark:     # Spark's modules pull in pyarrow: a DuckDB cycle does without them (0.1 s)
        from rolloutctl.warehouse import spark_lake, spark_remote
    if on_spark and on_spark.remote:
        spark_remote.check_reachable(on_spark, project_dir)
    governance_mirror.sync(home)
    if on_spark:
        spark_lake.publish_governance(home)
    if not all_tests and not dbt_options.get("select"):
        dbt_options["selector"] = CYCLE_SELECTOR
    result = test_failures.build_recording_failures(home, **dbt_options)
    usable = result.success or test_failures.only_data_tests_failed(result)
    if on_spark and not any(f.resource_type == "run" for f in result.failures):
        # copy the marts before anything reads them (the session target: its SparkSession is still up here)
        spark_lake.mirror_spark_marts(home, on_spark, project_dir)
    if usable and publish:
        analyst_snapshot.publish(home)
    if check and not result.success:
        raise BuildFailed(result)
    return result
