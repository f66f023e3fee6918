"""The Spark tier's shared rollout: generated events built and decided on DuckDB and on a Spark target.

ROLLOUT_SPARK_TARGET picks the target (default `spark`, the in-process session; `make test-spark-cluster` sets
`spark_cluster`, the Thrift Server of the local topology scripts/spark_cluster.py starts). The Spark gate runs
through cli_probe.py, which records what ran inside the rolloutctl process (test_cluster.py reads it).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLI = [str(Path(sys.executable).with_name("rolloutctl"))]
PROBE = [sys.executable, str(Path(__file__).with_name("cli_probe.py"))]
EVENTS, DAYS, SEED = 5000, 3, 7
TARGET = os.environ.get("ROLLOUT_SPARK_TARGET", "spark")


def run(*args: str, env: dict | None = None, command: list[str] = CLI) -> subprocess.CompletedProcess:
    result = subprocess.run([*command, *args], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})}, timeout=1800)
    assert result.returncode in (0, 3, 4), f"{args}: exit {result.returncode}\n{result.stderr[-4000:]}"
    return result


@pytest.fixture(scope="session")
def homes(tmp_path_factory):
    """(duckdb home, spark home, the gate's JSON on each, what ran in the Spark gate's process), both built from the
    same generated events."""
    base = tmp_path_factory.mktemp("parity")
    logs = base / "logs"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", str(EVENTS),
                    "--days", str(DAYS), "--seed", str(SEED), "--regression", "--out", str(logs)], check=True)
    duck, spark = base / "duckdb-home", base / "spark-home"
    run("--home", str(duck), "ingest", str(logs))
    on_duckdb = json.loads(run("--home", str(duck), "gate", "--json", "--phase", "A-2").stdout)
    run("--home", str(spark), "ingest", "--sink", "parquet", str(spark / "lake"), str(logs))
    evidence = base / "spark-gate-process.json"
    on_spark = json.loads(run(str(evidence), "--home", str(spark), "gate", "--json", "--phase", "A-2",
                              "--target", TARGET, command=PROBE).stdout)
    return duck, spark, on_duckdb, on_spark, json.loads(evidence.read_text())
