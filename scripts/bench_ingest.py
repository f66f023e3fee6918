"""Ingest benchmark: validated rows per second of the loader against two references, in one run.

The loader is timed as a user runs it: the whole `rolloutctl --home H ingest --json FILE` process, from its start
(Python, imports, schemas) to its exit (validated, de-duplicated, committed).

  (a) DuckDB's own `read_json` of the same file into a table with typed columns and no validation (the limit),
      timed inside its process: the statement and a checkpoint, not Python's start nor DuckDB's import (its whole
      process is reported beside it, as `process_seconds`);
  (b) a per-line loop: `json.loads` + `jsonschema` validate per line, rows gathered and bulk-inserted through Arrow
      (the loader most people write, with its insert made as cheap as possible). It runs on the first
      --loop-lines lines, since at ~30k rows/s the whole file would take minutes; its rate is rows per second.

Each variant runs in its own process (so peak RSS is its own), alternated, --repeat times; medians are reported.
Goals: loader whole process <= 3x (a) (issues 2 and 12), loader rate >= 25x (b) (issue 2).

    python scripts/bench_ingest.py [--events 2000000] [--repeat 3] [--out bench-out/ingest.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Every property of every event, typed: what read_json is asked to produce.
TYPED_COLUMNS = {
    "event": "VARCHAR", "event_id": "VARCHAR", "ts": "TIMESTAMPTZ", "timestamp": "TIMESTAMPTZ",
    "phase": "VARCHAR", "phase_from": "VARCHAR", "phase_to": "VARCHAR", "feature": "VARCHAR",
    "duration_ms": "DOUBLE", "retry_count": "BIGINT", "bytes": "BIGINT", "success": "BOOLEAN",
    "source": "VARCHAR", "retryable": "BOOLEAN", "code": "VARCHAR", "attempt": "BIGINT", "lease_id": "VARCHAR",
    "precision": "VARCHAR", "auto_accept_ratio": "DOUBLE", "auto_accepted": "BOOLEAN", "hunk_count": "BIGINT",
    "trigger_metric": "VARCHAR", "executor": "VARCHAR", "reason": "VARCHAR", "suite": "VARCHAR",
    "case_id": "VARCHAR", "result": "VARCHAR", "crashed": "BOOLEAN", "severity": "VARCHAR", "bug_id": "VARCHAR",
    "incident_id": "VARCHAR",
}


def _report(seconds: float, rows: int, **extra) -> None:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"seconds": seconds, "rows": rows, "peak_rss_bytes": peak, **extra}))


def run_read_json(path: str, workdir: str) -> None:
    import duckdb

    con = duckdb.connect(os.path.join(workdir, "ref.duckdb"))
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in TYPED_COLUMNS.items()) + "}"
    t = time.perf_counter()
    con.execute(f"create table events as select * from read_json(?, columns={cols}, format='newline_delimited')",
                [path])
    con.execute("checkpoint")
    seconds = time.perf_counter() - t
    rows = con.execute("select count(*) from events").fetchall()[0][0]
    _report(seconds, rows)


def run_loop(path: str, workdir: str, limit: int) -> None:
    import duckdb
    import pyarrow as pa
    from jsonschema import Draft202012Validator

    from ingest.events import load_schemas

    schemas = load_schemas()
    validators = {name: Draft202012Validator(s, format_checker=Draft202012Validator.FORMAT_CHECKER)
                  for name, s in schemas.by_event.items()}
    con = duckdb.connect(os.path.join(workdir, "loop.duckdb"))
    t = time.perf_counter()
    rows, bad = [], 0
    with open(path, "rb") as fh:
        for i, line in enumerate(fh):
            if i >= limit:
                break
            try:
                obj = json.loads(line)
                validators[obj["event"]].validate(obj)
            except Exception:
                bad += 1
                continue
            rows.append((obj.get("event_id"), obj["event"], obj.get("phase"), obj.get("ts"), line.decode()))
    table = pa.table({k: [r[i] for r in rows] for i, k in enumerate(["event_id", "event", "phase", "ts", "payload"])})
    con.register("t", table)
    con.execute("create table events as "
                "select event_id, event, phase, ts::timestamptz as ts, payload::json as payload from t")
    con.execute("checkpoint")
    seconds = time.perf_counter() - t
    _report(seconds, len(rows), rejected=bad)


def _timed(cmd: list[str]) -> tuple[float, float, int, str]:
    """Run `cmd`; its wall time from start to exit, its CPU time (user + system, all threads), its own peak RSS
    (bytes) and its stdout."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode:
            err.seek(0)
            raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err.read()}")
        out.seek(0)
        return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, out.read()


def child(variant: str, path: str, limit: int) -> dict:
    workdir = tempfile.mkdtemp(prefix=f"bench-{variant}-")
    try:
        if variant == "loader":  # the whole CLI process, as a user runs it
            cli = Path(sys.executable).with_name("rolloutctl")
            seconds, cpu, peak, out = _timed([str(cli), "--home", workdir, "ingest", "--json", path])
            result = json.loads(out)
            return {"seconds": seconds, "process_seconds": seconds, "process_cpu_seconds": cpu, "rows": result["loaded"],
                    "peak_rss_bytes": peak, "rejected": result["rejected"], "duplicates": result["duplicates"]}
        seconds, cpu, _, out = _timed([sys.executable, __file__, "--child", variant, "--file", path, "--workdir",
                                       workdir, "--loop-lines", str(limit)])
        return {**json.loads(out.strip().splitlines()[-1]), "process_seconds": seconds, "process_cpu_seconds": cpu}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--loop-lines", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--file", help="use this JSONL file instead of generating one")
    ap.add_argument("--out", default=str(ROOT / "bench-out" / "ingest.json"))
    ap.add_argument("--skip-loop", action="store_true", help="time only read_json and the loader (issue 12's ratio)")
    ap.add_argument("--child", choices=["read_json", "loop"], help=argparse.SUPPRESS)
    ap.add_argument("--workdir", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        {"read_json": lambda: run_read_json(args.file, args.workdir),
         "loop": lambda: run_loop(args.file, args.workdir, args.loop_lines)}[args.child]()
        return

    path = args.file
    if not path:
        path = str(ROOT / "bench-out" / f"events-{args.events}-{args.seed}.jsonl")
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events",
                            str(args.events), "--days", "30", "--seed", str(args.seed), "--out-file", path], check=True)
    size = os.path.getsize(path)
    runs: dict[str, list[dict]] = {"read_json": [], "loader": []} if args.skip_loop else \
        {"read_json": [], "loader": [], "loop": []}
    loads: list[list[float]] = []  # the machine's 1-minute load average before each round and after the last
    for _ in range(args.repeat):  # interleaved, so load on this shared machine hits every variant alike
        loads.append([round(x, 2) for x in os.getloadavg()])
        for variant in runs:
            runs[variant].append(child(variant, path, args.loop_lines))
    loads.append([round(x, 2) for x in os.getloadavg()])
    med = {v: statistics.median(r["seconds"] for r in rs) for v, rs in runs.items()}
    # Each round's own ratio too: its two processes met about the same load.
    round_ratios = [lo["seconds"] / rj["seconds"] for lo, rj in zip(runs["loader"], runs["read_json"])]
    # CPU time is less at the mercy of other work on the machine than wall time: the same ratio in CPU seconds,
    # whole process against whole process.
    cpu = {v: statistics.median(r["process_cpu_seconds"] for r in rs) for v, rs in runs.items()}
    rate = {v: runs[v][0]["rows"] / med[v] for v in runs}
    summary = {
        "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}",
        "file_bytes": size,
        "rows": runs["loader"][0]["rows"],
        "median_seconds": med,
        "rows_per_second": rate,
        "peak_rss_mib": {v: max(r["peak_rss_bytes"] for r in rs) / 2**20 for v, rs in runs.items()},
        "loader_time_vs_read_json": med["loader"] / med["read_json"],
        "loader_time_vs_read_json_per_round": round_ratios,
        "load_average_1_5_15min": loads,
        "median_process_cpu_seconds": cpu,
        "loader_cpu_vs_read_json_process_cpu": cpu["loader"] / cpu["read_json"],
        "loader_rate_vs_loop": rate["loader"] / rate["loop"] if "loop" in runs else None,
        "goals": {"loader_time_vs_read_json_max": 3.0, "loader_rate_vs_loop_min": 25.0},
        "runs": runs,
    }
    summary["goals_met"] = (summary["loader_time_vs_read_json"] <= 3.0
                            and (summary["loader_rate_vs_loop"] or 0) >= 25.0)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    Path(args.out).write_text(json.dumps(summary, indent=2))
    print(f"file: {size / 2**20:.0f} MiB, {summary['rows']} rows; {summary['machine']}")
    for v in runs:
        print(f"  {v:10s} median {med[v]:7.2f} s  {rate[v]:>12,.0f} rows/s  peak {summary['peak_rss_mib'][v]:7.0f} MiB"
              "  runs " + ", ".join(f"{r['seconds']:.2f}" for r in runs[v]))
    print(f"  loader time / read_json time = {summary['loader_time_vs_read_json']:.2f}x (goal <= 3); per round "
          + ", ".join(f"{r:.2f}x" for r in round_ratios))
    print("  load average (1 min) before each round and at the end: " + ", ".join(str(x[0]) for x in loads))
    print(f"  CPU seconds, whole processes: read_json {cpu['read_json']:.2f}, loader {cpu['loader']:.2f} "
          f"({summary['loader_cpu_vs_read_json_process_cpu']:.2f}x)")
    if "loop" in runs:
        print(f"  loader rate / per-line loop rate = {summary['loader_rate_vs_loop']:.1f}x (goal >= 25)")
        print("  goals met" if summary["goals_met"] else "  GOALS NOT MET")
    else:
        print("  issue 12 goal (loader <= 3x read_json) " + ("met" if summary["loader_time_vs_read_json"] <= 3.0
                                                            else "NOT MET"))


if __name__ == "__main__":
    main()
