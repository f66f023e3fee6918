"""DuckDB against Spark (issue 6, SPEC §11): the same `rolloutctl build` (every model, seed, unit and data test) on
the same generated events, on each engine, in one run — wall time and peak memory.

    python scripts/bench_spark.py [--events 20k,200k] [--days 7] [--seed 1] [--work bench-out/spark]
                                  [--out bench-out/spark.json]

Per size (not timed): the generator writes the rollout (with the A-2 regression), `rolloutctl ingest` loads it
into a DuckDB home and `rolloutctl ingest --sink parquet` into a Spark home's lake (<home>/lake).
Timed, each a fresh `rolloutctl build` process from scratch (a new home's warehouse; Spark: a new metastore and a
new JVM, so start-up is in the figure — as in a 15-minute cron job):
  duckdb  rolloutctl --home H build
  spark   rolloutctl --home H build --target spark   (dbt-spark session method, local[2], driver memory 2g)
Peak memory is the largest sum of the resident set sizes of the build's whole process tree (the Python process,
and on Spark its JVM), sampled every 0.1 s from /proc.

The machine is shared with other work and has 2 cores: the figures are noisy, read them as orders of magnitude.
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
GIB = 1024 ** 3
CLI = str(Path(sys.executable).with_name("rolloutctl"))


def _count(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def _tree_rss(pid: int) -> int:
    """Resident bytes of `pid` and all its descendants (0 for processes gone meanwhile)."""
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
                    break
            for task in Path(f"/proc/{p}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return total


def _measure(args: list[str]) -> dict:
    """Run `rolloutctl args`; wall seconds and the peak RSS of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen([CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak = 0
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise SystemExit(f"rolloutctl {' '.join(args)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"seconds": round(seconds, 2), "peak_rss_bytes": peak}


def _machine() -> dict:
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[:1]
    import duckdb
    import pyspark

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / GIB, 1), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pyspark": pyspark.__version__, "java": java[0] if java else "",
            "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="20k,200k", help="comma-separated sizes (e.g. 20k,200k,2M)")
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "spark")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "spark.json")
    args = parser.parse_args(argv)

    results = []
    for size in (_count(s) for s in args.events.split(",")):
        work = args.work / f"{size}"
        shutil.rmtree(work, ignore_errors=True)
        logs, duck, spark = work / "logs", work / "duckdb-home", work / "spark-home"
        subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", str(size),
                        "--days", str(args.days), "--seed", str(args.seed), "--regression", "--out", str(logs)],
                       check=True, stdout=subprocess.DEVNULL)
        subprocess.run([CLI, "--home", str(duck), "ingest", str(logs)], check=True, capture_output=True)
        subprocess.run([CLI, "--home", str(spark), "ingest", "--sink", "parquet", str(spark / "lake"), str(logs)],
                       check=True, capture_output=True)
        row = {"events": size, "days": args.days, "events_per_day": round(size / args.days)}
        row["duckdb"] = _measure(["--home", str(duck), "build"])
        row["spark"] = _measure(["--home", str(spark), "build", "--target", "spark"])
        results.append(row)
        print(f"{size:>10,} events / {args.days:g} days: "
              f"duckdb {row['duckdb']['seconds']:7.1f} s {row['duckdb']['peak_rss_bytes'] / GIB:5.2f} GiB   "
              f"spark {row['spark']['seconds']:7.1f} s {row['spark']['peak_rss_bytes'] / GIB:5.2f} GiB", flush=True)

    report = {"machine": _machine(), "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "command": "rolloutctl build [--target spark] (models, seeds, unit and data tests)", "runs": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
