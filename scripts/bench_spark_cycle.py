"""The gate's 15-minute cycle on a Spark cluster against DuckDB (issue 17): the same events, the same
`rolloutctl gate`, in one run.

    python scripts/spark_cluster.py start --fresh       # the local topology (or ROLLOUT_SPARK_HOST/PORT elsewhere)
    python scripts/bench_spark_cycle.py [--events 200k] [--days 7] [--seed 1] [--targets duckdb,spark_cluster]
                                        [--work bench-out/spark-cycle] [--out bench-out/spark-cycle.json]

Set-up (not timed): the generator's rollout (with the A-2 regression), its last quarter hour of events held back
in a file of its own; the rest loaded into a DuckDB home (`rolloutctl ingest`) and into a Spark home's lake
(`rolloutctl ingest --sink parquet`).
Timed, each a whole `rolloutctl --home H gate --json --phase A-2 [--target T]` process:
  first   on the new home: the cycle on a new warehouse (selectors.yml gate_cycle: every model and seed, the
          gate_input tests; on the cluster a fresh catalog, so its views and seeds are created too)
  cycle   after the held-back quarter hour is ingested (not timed): the steady-state cycle (gate_cycle_data: the
          models holding data and the gate_input tests; DuckDB incrementally, Spark rebuilds them whole)
Each with the load average before it, the peak resident memory of the rolloutctl process tree and, on the cluster,
of the topology's JVMs (master, worker, executor, Thrift Server), sampled every 0.2 s. Both engines must decide the
same; the script fails otherwise.

The machine is shared and has 2 cores: read the figures as one run's, with its load.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import spark_cluster  # noqa: E402
from bench_spark import _count, _tree_rss  # noqa: E402

GIB = 1024 ** 3
CLI = str(Path(sys.executable).with_name("rolloutctl"))
QUARTER_MS = 15 * 60 * 1000


def _event_ms(line: str) -> int:
    from datetime import datetime

    record = json.loads(line)
    stamp = record.get("ts") or record["timestamp"]
    return int(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() * 1000)


def _split(logs: Path, base: Path, last: Path) -> dict:
    """Every event of `logs` into base/ (same file names) or last.jsonl (the last quarter hour's)."""
    lines = [(p, line, _event_ms(line)) for p in sorted(logs.rglob("*.jsonl")) for line in p.read_text().splitlines()
             if line.strip()]
    cut = (max(ms for *_, ms in lines) // QUARTER_MS) * QUARTER_MS
    held = [line for _, line, ms in lines if ms >= cut]
    by_file: dict[Path, list[str]] = {}
    for path, line, ms in lines:
        if ms < cut:
            by_file.setdefault(base / path.relative_to(logs), []).append(line)
    for path, kept in by_file.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join(kept) + "\n")
    last.write_text("\n".join(held) + "\n")
    return {"events": len(lines), "held_back": len(held)}


def _cluster_rss(config: spark_cluster.Config) -> int:
    return sum(_tree_rss(pid) for name in ("master", "worker", "thrift")
               if (pid := spark_cluster.running_pid(config, name)))


def _measure(args: list[str], config: spark_cluster.Config | None) -> dict:
    load = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen([CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = cluster_peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak, cluster_peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            if config:
                cluster_peak = max(cluster_peak, _cluster_rss(config))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode not in (0, 3, 4):
        raise SystemExit(f"rolloutctl {' '.join(args)} failed ({proc.returncode}):\n{err[-3000:]}")
    decision = json.loads(out)
    row = {"seconds": round(seconds, 1), "load_before": [round(x, 2) for x in load], "peak_rss_bytes": peak,
           "decision": {k: decision[k] for k in ("phase", "eval_at", "decision", "deciding_rule_ids")}}
    if config:
        row["cluster_peak_rss_bytes"] = cluster_peak
    return row


def _machine(config: spark_cluster.Config) -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "")
    mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[:1]
    import duckdb

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / GIB, 1),
            "python": platform.python_version(), "duckdb": duckdb.__version__, "java": java[0] if java else "",
            "cluster": {"endpoint": config.endpoint, "worker_cores": config.worker_cores,
                        "executor_memory": config.executor_memory, "driver_memory": config.driver_memory,
                        "dbt_threads": os.environ.get("ROLLOUT_SPARK_THREADS", "4")}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="200k")
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--targets", default="duckdb,spark_cluster", help="comma-separated dbt targets")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "spark-cycle")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "spark-cycle.json")
    args = parser.parse_args(argv)
    config = spark_cluster.Config.from_env()
    targets = args.targets.split(",")
    if any(t != "duckdb" for t in targets) and not spark_cluster.status(config)["up"]:
        raise SystemExit(f"the Spark topology is not up at {config.endpoint}: python scripts/spark_cluster.py start")

    size = _count(args.events)
    work = args.work / f"{size}"
    shutil.rmtree(work, ignore_errors=True)
    logs, base, last = work / "logs", work / "base", work / "last-quarter.jsonl"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", str(size),
                    "--days", str(args.days), "--seed", str(args.seed), "--regression", "--out", str(logs)],
                   check=True, stdout=subprocess.DEVNULL)
    setup = _split(logs, base, last)
    results = {}
    for target in targets:
        home = work / f"{target}-home"
        sink = [] if target == "duckdb" else ["--sink", "parquet", str(home / "lake")]
        on = [] if target == "duckdb" else ["--target", target]
        cluster = None if target == "duckdb" else config
        subprocess.run([CLI, "--home", str(home), "ingest", *sink, str(base)], check=True, capture_output=True)
        gate = ["--home", str(home), "gate", "--json", "--phase", "A-2", *on]
        first = _measure(gate, cluster)
        subprocess.run([CLI, "--home", str(home), "ingest", *sink, str(last)], check=True, capture_output=True)
        cycle = _measure(gate, cluster)
        results[target] = {"first": first, "cycle": cycle}
        print(f"{target:>14}: first {first['seconds']:7.1f} s (load {first['load_before'][0]:.1f})   "
              f"cycle {cycle['seconds']:7.1f} s (load {cycle['load_before'][0]:.1f})   "
              f"decision {cycle['decision']['decision']} at {cycle['decision']['eval_at']}", flush=True)
    decisions = {t: (r["first"]["decision"], r["cycle"]["decision"]) for t, r in results.items()}
    if len({json.dumps(d, sort_keys=True) for d in decisions.values()}) != 1:
        raise SystemExit(f"the engines decided differently: {decisions}")

    report = {"machine": _machine(config), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "events": size, "days": args.days, "setup": setup,
              "command": "rolloutctl gate --json --phase A-2 [--target T]", "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
