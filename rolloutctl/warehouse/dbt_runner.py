"""`dbt build` (or any dbt command) on a home's warehouse through dbt's Python API.

    result = run_dbt(home)                              # dbt build, incremental; raises BuildFailed on failure
    result = run_dbt(home, select="+metrics_windowed", full_refresh=True, check=False)
    for failure in result.failures: print(failure.name, failure.message)

The dbt project is the installed one (its dbt_project.yml and profiles.yml), or the home's copy with its own
policy (dbt_project.project_for); ROLLOUT_HOME points the profile at `<home>/warehouse/rollout.duckdb`, and dbt's
target folder and log are the home's (warehouse/dbt-target, warehouse/dbt.log). dbt-duckdb keeps its DuckDB
database open in a process-wide environment after a programmatic run; run_dbt closes it before returning, so the
file is free for the next writer (another process, or this one). A warehouse held by another process is waited
for (ROLLOUT_LOCK_WAIT seconds, default 30), then reported as WarehouseBusy, naming the process.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from ingest.errors import ConfigError, RolloutError, WarehouseBusy
from ingest.warehouse import connect, lock_wait_seconds, warehouse_path
from rolloutctl.core.garbage_collection import long_lived
from rolloutctl.core.layout import dbt_log_dir, dbt_target_dir, lake_dir
from rolloutctl.warehouse import manifest_cache
from rolloutctl.warehouse.dbt_project import definitions_hash, project_for
from rolloutctl.warehouse.spark_target import spark_target

SPARK_TARGET = "spark"   # profiles.yml: dbt-spark, session method; sources are the Parquet lake (spark_lake.py)
# (any output of `type: spark` is a Spark target, e.g. spark_cluster over Thrift: spark_target.spark_target)
DUCKDB_ONLY = "tag:duckdb_only"   # dbt unit tests whose given/expected rows are DuckDB SQL: not run on Spark
FAILED_STATUSES = {"error", "fail", "runtime error"}
# selectors.yml: what the operational cycle builds and tests. CYCLE_SELECTOR: every model and seed and the data tests
# guarding the gate's inputs; CYCLE_DATA_SELECTOR: the same once the views and seeds are in place (only the models
# holding data, the same tests), for as long as the project's definitions (definitions_hash) stay as they were.
CYCLE_SELECTOR = "gate_cycle"
CYCLE_DATA_SELECTOR = "gate_cycle_data"

_RUN_LOCK = threading.Lock()  # dbt's adapter state is process-wide: one run at a time per process
# dbt's parse of a project, per (project, target, definitions_hash): a process that runs dbt again (the demo's steps,
# a backtest, the test suite) skips the parse (about 3 s here). dbt's own partial parse cannot serve a second home:
# its check hashes the profile, whose path names the home. A few entries: scratch projects (backtests) come and go.
# The parse is also kept on disk in dbt's target folder (manifest_cache), so that the next 15-minute process skips it.
_MANIFESTS: dict[tuple[str, str, str], object] = {}
_MANIFESTS_KEPT = 4
# dbt's own log file: in the home (warehouse/dbt.log), at ROLLOUT_DBT_LOG_LEVEL (default info: a line per node;
# debug adds every statement and costs a small build about a fifth of its time; none writes no file).
DBT_LOG_LEVELS = ("debug", "info", "warn", "error", "none")


@dataclass(frozen=True)
class NodeFailure:
    """A model, seed or test that failed (or a failure of the run itself, with resource_type "run")."""

    name: str
    resource_type: str
    status: str
    message: str


@dataclass(frozen=True)
class NodeTiming:
    name: str
    resource_type: str
    status: str
    seconds: float


@dataclass(frozen=True)
class BuildProgress:
    """One progress event: a node started (status "started") or finished (its dbt status)."""

    name: str
    resource_type: str
    status: str
    index: int          # 1-based position among the run's nodes, 0 when dbt did not say
    total: int          # nodes in the run, 0 when dbt did not say
    seconds: float | None = None
    message: str | None = None


@dataclass
class BuildResult:
    success: bool
    command: list[str]
    seconds: float
    failures: list[NodeFailure] = field(default_factory=list)
    timings: list[NodeTiming] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "success": self.success,
            "command": self.command,
            "seconds": round(self.seconds, 3),
            "failures": [vars(f) for f in self.failures],
            "skipped": self.skipped,
            "nodes": [{**vars(t), "seconds": round(t.seconds, 3)} for t in self.timings],
        }

    def summary(self) -> str:
        if self.success:
            return f"dbt {' '.join(self.command[:1])}: {len(self.timings)} nodes OK in {self.seconds:.1f}s"
        lines = [f"dbt {' '.join(self.command[:1])} failed ({len(self.failures)} failure(s), "
                 f"{len(self.skipped)} skipped):"]
        for failure in self.failures:
            first = (failure.message or "").strip().splitlines()
            lines.append(f"  {failure.resource_type} {failure.name}: {first[0] if first else failure.status}")
        return "\n".join(lines)


class BuildFailed(RolloutError):
    """dbt ran and something failed: a model errored, a test failed, or dbt could not run at all."""

    exit_code = 1

    def __init__(self, result: BuildResult):
        super().__init__(result.summary())
        self.result = result


def run_dbt(
    home: Path | str,
    args: Sequence[str] = ("build",),
    select: str | Sequence[str] | None = None,
    full_refresh: bool = False,
    target: str | None = None,
    *,
    selector: str | None = None,
    exclude: str | Sequence[str] | None = None,
    progress: Callable[[BuildProgress], None] | None = None,
    check: bool = True,
    target_path: Path | str | None = None,
    project_dir: Path | str | None = None,
    write_artifacts: bool = False,
    quiet: bool = True,
    data_test_from: datetime | None = None,
) -> BuildResult:
    """Run `dbt <args>` on the warehouse of `home`; return what happened.

    args: the dbt command and any extra flags (default ["build"]). select/exclude: node selection (a string or a
    list). selector: a selector of selectors.yml (e.g. CYCLE_SELECTOR; dbt takes it instead of select/exclude).
    full_refresh: rebuild incremental models from scratch. target: a profile target (default: the profile's).
    progress: called for every node start and finish (from dbt's event stream). check: raise
    BuildFailed when dbt reports a failure (the result rides on the exception). target_path: dbt's target/
    folder (default env ROLLOUT_DBT_TARGET_PATH, else <home>/warehouse/dbt-target). project_dir: the dbt project
    (default: dbt_project.project_for(home)). write_artifacts: let build/run/test/seed write manifest.json and
    run_results.json to the target folder (off by default: writing the manifest costs a 15-minute cycle about
    0.4 s; the result returned here carries the failures and timings, and partial parsing works either way).
    data_test_from: the data tests of relations that declare a data-test scope check only rows loaded after it
    (macros/data_test_scope_filter.sql, test_failures); None: every row.

    Waits up to ROLLOUT_LOCK_WAIT seconds (default 30) while another process holds the warehouse file, then raises
    WarehouseBusy naming it.
    """
    dbtRunner = _dbt_runner_class()

    home = Path(home).expanduser().resolve()

    command = list(args)
    project_dir = str(Path(project_dir).resolve()) if project_dir else str(project_for(home))
    spark = spark_target(target, project_dir)
    if selector:
        command += ["--selector", selector]
    if select:
        command += ["--select", *([select] if isinstance(select, str) else select)]
    exclude = [exclude] if isinstance(exclude, str) else list(exclude or [])
    if spark and command and command[0] in ("build", "test") and not selector:
        exclude.append(DUCKDB_ONLY)   # (the cycle's selector holds no unit test)
    if exclude:
        command += ["--exclude", *exclude]
    if full_refresh:
        command.append("--full-refresh")
    if target:
        command += ["--target", target]
    target_path = target_path or os.environ.get("ROLLOUT_DBT_TARGET_PATH")
    if not target_path:
        # the home's own (never the installed project's folder): dbt's parse of the other target would be thrown
        # away at each switch, so Spark's has a folder of its own
        target_path = (dbt_target_dir(home) if not spark else home / "spark" / "dbt-target"
                       if spark.name == SPARK_TARGET else home / "spark" / f"dbt-target-{spark.name}")
    # no anonymous usage statistics: a rollout gate does not phone home (and dbt's attempt costs a second offline)
    flags = ["--project-dir", project_dir, "--profiles-dir", project_dir, "--no-send-anonymous-usage-stats",
             "--target-path", str(target_path), *_log_flags(home)]
    if quiet:
        flags.append("--quiet")
    if not write_artifacts and command and command[0] in ("build", "run", "test", "seed", "snapshot"):
        flags.append("--no-write-json")

    _check_threads()
    started = time.perf_counter()
    deadline = time.monotonic() + lock_wait_seconds()
    environment = {"ROLLOUT_HOME": str(home),
                   "ROLLOUT_DATA_TEST_FROM": data_test_from.isoformat() if data_test_from else None}
    if spark:
        _check_spark_installed(spark.remote)
        environment["ROLLOUT_PARQUET_DIR"] = str(lake_dir(home))
    while True:
        # Creates the file and the raw tables on a fresh home; waits (up to ROLLOUT_LOCK_WAIT) while another
        # process holds the file, then raises WarehouseBusy naming it.
        connect(home, wait=deadline - time.monotonic()).close()
        listener = _ProgressListener(progress)
        with _RUN_LOCK, _environment(**environment):
            try:
                # dbt prints errors on stdout even when quiet: send them to stderr, so `--json` output stays clean.
                with contextlib.redirect_stdout(sys.stderr):
                    if spark:   # the sources: views over the lake's folders (macros/lake_sources.sql)
                        outcome = dbtRunner(callbacks=[listener]).invoke(
                            ["run-operation", "lake_sources", "--target", target] + flags)
                    if not spark or outcome.success:
                        manifest = None if spark else _parsed_manifest(project_dir, target, flags, Path(target_path))
                        outcome = dbtRunner(manifest=manifest, callbacks=[listener]).invoke(command + flags)
            finally:
                _release_duckdb()
        result = _result(command, time.perf_counter() - started, outcome, listener)
        # Another process took the file between our check and dbt's own connect: dbt could not open it, so no
        # node ran; wait for it like connect does, then run again.
        busy = _lock_holder(result, home)
        if busy is None:
            break
        if time.monotonic() >= deadline:
            raise busy
        time.sleep(0.2)
    if check and not result.success:
        raise BuildFailed(result)
    return result


def _parsed_manifest(project_dir: str, target: str | None, flags: list[str], target_path: Path):
    """The project's parsed manifest, parsed once while its definitions stay the same (dbtRunner takes it instead of
    parsing again: dbt's documented reuse): from this process's memory, else from the copy in dbt's target folder
    (manifest_cache), else parsed and kept in both. None for Spark (a Spark build takes minutes: its parse is not
    what costs) or when the parse fails (the command then parses itself and reports the error as usual)."""
    if target == SPARK_TARGET:
        return None
    key = (project_dir, target or "", definitions_hash(project_dir, target))
    if key not in _MANIFESTS:
        with long_lived("dbt project"):    # the process's first project: usually its only one
            manifest = manifest_cache.load(target_path, key)
            if manifest is None:
                parsed = _dbt_runner_class()().invoke(
                    ["parse", *[f for f in flags if f != "--no-write-json"], "--no-write-json"])
                if not parsed.success or parsed.result is None:
                    return None
                manifest = parsed.result
                manifest_cache.save(target_path, key, manifest)
        while len(_MANIFESTS) >= _MANIFESTS_KEPT:
            _MANIFESTS.pop(next(iter(_MANIFESTS)))
        _MANIFESTS[key] = manifest
    return _MANIFESTS[key]


def _dbt_runner_class():
    """dbt's dbtRunner. Its import is heavy (about 1.3 s here): only when a build runs, and the first time as
    long-lived objects (core/garbage_collection.py)."""
    with long_lived("dbt modules"):
        from dbt.cli.main import dbtRunner
    return dbtRunner


def _check_threads() -> None:
    """ROLLOUT_DBT_THREADS (profiles.yml's threads; default 2) is a whole number of threads, 1 or more."""
    value = os.environ.get("ROLLOUT_DBT_THREADS")
    if value is not None and not (value.strip().isdigit() and int(value) > 0):
        raise ConfigError(f"ROLLOUT_DBT_THREADS={value!r}: expected a whole number of threads (1 or more)")


def _log_flags(home: Path) -> list[str]:
    level = os.environ.get("ROLLOUT_DBT_LOG_LEVEL", "info").strip().lower()
    if level not in DBT_LOG_LEVELS:
        raise ConfigError(f"ROLLOUT_DBT_LOG_LEVEL={level!r}: expected one of {', '.join(DBT_LOG_LEVELS)}")
    return ["--log-path", str(dbt_log_dir(home)), "--log-level-file", level]


def _check_spark_installed(remote: bool = False) -> None:
    """A Spark target needs dbt-spark (an optional extra): with PySpark for the session method, with PyHive for a
    network one (its import is only probed: no Spark starts in this process)."""
    import importlib.util

    needed = ("dbt.adapters.spark", "pyhive", "thrift_sasl") if remote else ("dbt.adapters.spark", "pyspark")
    if any(importlib.util.find_spec(module) is None for module in needed):
        extra, make = ("spark-cluster", "make test-spark-cluster") if remote else ("spark", "make test-spark")
        raise ConfigError(f"this Spark target needs {', '.join(needed[1:])} and dbt-spark: pip install -e "
                          f"'.[{extra}]' (or {make})")


def _result(command: list[str], seconds: float, outcome, listener: _ProgressListener) -> BuildResult:
    failures: list[NodeFailure] = []
    timings: list[NodeTiming] = []
    skipped: list[str] = []
    results = getattr(outcome.result, "results", None) or []
    for run_result in results:
        node = run_result.node
        status = str(getattr(run_result.status, "value", run_result.status))
        timings.append(NodeTiming(node.name, str(node.resource_type), status, float(run_result.execution_time or 0)))
        if status in FAILED_STATUSES:
            failures.append(NodeFailure(node.name, str(node.resource_type), status, str(run_result.message or "")))
        elif status == "skipped":
            skipped.append(node.name)
    if outcome.exception is not None:
        failures.append(NodeFailure("dbt", "run", "error", str(outcome.exception)))
    elif not outcome.success and not failures:
        failures.append(NodeFailure("dbt", "run", "error", "\n".join(listener.errors) or "dbt reported a failure"))
    return BuildResult(bool(outcome.success) and not failures, command, seconds, failures, timings, skipped)


def _lock_holder(result: BuildResult, home: Path) -> WarehouseBusy | None:
    """dbt's own connect failed on the file lock (another process took it after our check)."""
    for failure in result.failures:
        text = failure.message
        if "lock" in text.lower() and ("Conflicting lock" in text or "Could not set lock" in text):
            return WarehouseBusy(warehouse_path(home), text)
    return None


class _ProgressListener:
    """dbt event callback: node starts and finishes as BuildProgress; error lines kept for the result."""

    def __init__(self, progress: Callable[[BuildProgress], None] | None):
        self.progress = progress
        self.errors: list[str] = []
        self.totals: dict[str, tuple[int, int]] = {}

    def __call__(self, event) -> None:
        try:
            name = event.info.name
            if event.info.level == "error":
                self.errors.append(event.info.msg)
            if self.progress is None:
                return
            data = event.data
            if name == "LogStartLine":  # dbt's "n of N START …" line: the node started, with its position
                info = data.node_info
                self.totals[info.unique_id] = (int(data.index), int(data.total))
                self.progress(BuildProgress(info.node_name, info.resource_type, "started", int(data.index),
                                            int(data.total)))
            elif name == "NodeFinished":
                info = data.node_info
                index, total = self.totals.get(info.unique_id, (0, 0))
                run_result = data.run_result
                self.progress(BuildProgress(info.node_name, info.resource_type, run_result.status, index, total,
                                            float(run_result.execution_time or 0), run_result.message or None))
        except Exception:  # noqa: BLE001 — progress display must never break a build
            pass


class _environment:
    """Set (or, with None, unset) environment variables for the duration of a block, then restore them."""

    def __init__(self, **values: str | None):
        self.values = values
        self.saved: dict[str, str | None] = {}

    def __enter__(self):
        for key, value in self.values.items():
            self.saved[key] = os.environ.get(key)
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    def __exit__(self, *exc):
        for key, value in self.saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open process-wide, releasing the file lock."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # pragma: no cover — dbt-duckdb is a dependency
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        DuckDBConnectionManager._ENV = None
        if env is not None:
            try:
                env.close()
            except Exception:  # noqa: BLE001
                pass
    try:  # the adapter registry holds connections (and their cursors) too
        from dbt.adapters.factory import reset_adapters
        reset_adapters()
    except Exception:  # noqa: BLE001
        pass
