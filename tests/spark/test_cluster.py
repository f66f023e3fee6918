"""The gate against a real Spark topology (issue 17): a standalone master, a worker and a Spark Thrift Server, three
JVMs that scripts/spark_cluster.py started, and rolloutctl talking to them over the network only.

Runs with ROLLOUT_SPARK_CLUSTER_TESTS=1, which `make test-spark-cluster` sets after starting the topology (and
stops it afterwards, whatever happened). The shared rollout (conftest.py `homes`) was built and decided on it.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.spark.conftest import CLI, ROOT, TARGET

pytestmark = pytest.mark.skipif(os.environ.get("ROLLOUT_SPARK_CLUSTER_TESTS") != "1",
                                reason="needs the local topology: make test-spark-cluster")

CLUSTER = [sys.executable, str(ROOT / "scripts" / "spark_cluster.py")]
CLASSES = {"master": "org.apache.spark.deploy.master.Master", "worker": "org.apache.spark.deploy.worker.Worker",
           "thrift": "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"}


def cluster(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*CLUSTER, *args], capture_output=True, text=True, env={**os.environ, **(env or {})},
                          timeout=600)


def cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def test_the_target_is_the_cluster():
    assert TARGET == "spark_cluster"


def test_master_worker_and_endpoint_are_three_jvms_and_the_sql_runs_on_the_worker():
    status = cluster("status", "--json")
    state = json.loads(status.stdout)
    assert status.returncode == 0 and state["up"], state
    pids = state["processes"]
    assert len(set(pids.values())) == 3
    for name, pid in pids.items():
        line = cmdline(pid)
        assert Path(line.split()[0]).name == "java" and CLASSES[name] in line, (name, line[:200])
    # the endpoint is a driver submitted to the master, not a local[*] Spark: its executors run under the worker
    assert f"--master {state['master']}" in cmdline(pids["thrift"])
    assert state["alive_workers"] == 1 and state["application"]["cores"] > 0
    executors = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and _parent(int(p.name)) ==
                 pids["worker"] and "CoarseGrainedExecutorBackend" in _safe_cmdline(int(p.name))]
    assert executors, "no executor process under the worker"


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def _safe_cmdline(pid: int) -> str:
    try:
        return cmdline(pid)
    except OSError:
        return ""


def test_the_gate_ran_with_no_spark_in_its_process(homes):
    *_, on_spark, process = homes
    assert process["exit_code"] in (0, 3, 4) and on_spark["decision"]
    assert process["pyspark_imported"] == []       # so no SparkSession, no py4j gateway
    assert process["spark_session"] is False
    assert process["java_descendants"] == []       # no JVM started below the rolloutctl process


def test_the_marts_were_read_back_over_the_connection(homes):
    _, spark, *_ = homes
    # nothing of Spark's own storage in the home: the catalog and the tables are the cluster's
    assert not (spark / "spark" / "metastore_db").exists() and not (spark / "spark" / "warehouse").exists()
    con = duckdb.connect(str(spark / "warehouse" / "rollout.duckdb"), read_only=True)
    try:
        copied = {r[0] for r in con.execute("select table_name from duckdb_tables() where schema_name = 'marts'")
                  .fetchall()}
        eval_type = con.execute("select data_type from information_schema.columns where table_schema = 'marts' "
                                "and table_name = 'gate_decisions' and column_name = 'eval_at'").fetchone()[0]
    finally:
        con.close()
    assert {"metrics_windowed", "metric_status", "gate_rule_results", "gate_decisions", "gate_verdicts"} <= copied
    assert eval_type == "TIMESTAMP WITH TIME ZONE"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _files(home: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(home)): (p.stat().st_size, p.stat().st_mtime_ns) for p in home.rglob("*") if p.is_file()}


def test_a_down_endpoint_is_one_clear_line_and_nothing_is_written(homes):
    _, spark, *_ = homes
    port = _free_port()                        # nothing listens there
    before = _files(spark)
    result = subprocess.run([*CLI, "--home", str(spark), "gate", "--phase", "A-2", "--target", "spark_cluster"],
                            capture_output=True, text=True, env={**os.environ, "ROLLOUT_SPARK_PORT": str(port)},
                            timeout=600)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"Error: the Spark SQL endpoint of target spark_cluster, 127.0.0.1:{port}, does not answer (Connection "
        f"refused); start the local topology with `make spark-cluster-start` (or `python scripts/spark_cluster.py "
        f"start`), or "
        f"point ROLLOUT_SPARK_HOST and ROLLOUT_SPARK_PORT at a running Spark Thrift Server. Nothing was built or "
        f"written"]
    assert result.stdout == ""
    assert _files(spark) == before             # the lake, the warehouse, the reports: not a byte changed


def test_starting_it_again_is_refused_and_says_what_runs():
    result = cluster("start")
    assert result.returncode == 1
    line = result.stderr.strip()
    assert line.startswith("spark_cluster: already running from ") and "`stop` first" in line
    for name in ("master", "worker", "thrift"):
        assert f"{name} (pid " in line
    assert cluster("status").returncode == 0   # and left as it was


def test_stop_with_nothing_running_is_not_an_error(tmp_path):
    for _ in range(2):
        result = cluster("stop", env={"ROLLOUT_SPARK_CLUSTER_DIR": str(tmp_path / "none")})
        assert result.returncode == 0 and result.stdout.strip() == f"nothing running from {tmp_path / 'none'}"
