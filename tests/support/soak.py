"""Soak: a simulated day of 15-minute cycles on a warehouse with a week of history, in one process.

    python tests/reliability/soak.py OUT_DIR [--cycles 96] [--mode metrics|gate] [--events 80000] [--seed 11]

The generator draws `--history-days` + 1 days of telemetry; the history is collected, ingested and built (the
gate's full build) once; then each cycle takes the next 15 minutes of events and runs collect (the Collector,
appending to logs/) → ingest → with --mode metrics, dbt of the metric models only (int_telemetry_events_parsed,
metrics_windowed: what a cycle must recompute), with --mode gate, `rolloutctl gate` (the full incremental build,
the snapshot, the decision, analyzer output and report). At the end the warehouse is copied and its
metrics_windowed rebuilt with --full-refresh; the two tables are compared row for row.

Prints one JSON object: per cycle its events and seconds by step and the resident memory after it, the peak
memory of the process, and whether the incremental table equals the full rebuild (with the first differing rows).
"""
from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from ingest.collector import collect  # noqa: E402
from ingest.loader import ingest  # noqa: E402
from ingest.warehouse import connect  # noqa: E402
from rolloutctl.governance import actions  # noqa: E402
from rolloutctl.warehouse import refresh  # noqa: E402
from rolloutctl.warehouse.dbt_runner import run_dbt  # noqa: E402

METRIC_MODELS = ["int_telemetry_events_parsed", "metrics_windowed"]
ROWS_SQL = """select eval_at, phase, feature, metric, dimension, "window", value, sample_count
              from marts.metrics_windowed order by phase, eval_at, metric, dimension, "window" """
START = datetime(2026, 11, 1, tzinfo=UTC)


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize() / 2**20


def event_minute(line: bytes) -> str:
    obj = json.loads(line)
    return (obj.get("ts") or obj["timestamp"])[:16]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--cycles", type=int, default=96)
    ap.add_argument("--mode", choices=("metrics", "gate"), default="metrics")
    ap.add_argument("--events", type=int, default=80000)
    ap.add_argument("--history-days", type=int, default=7)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--target-path", type=Path)
    args = ap.parse_args()
    out: Path = args.out
    home, source = out / "home", out / "telemetry.jsonl"
    target = args.target_path or out / "dbt-target"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "generate_telemetry.py"), "--events", str(args.events),
                    "--days", str(args.history_days + 1), "--seed", str(args.seed), "--start",
                    START.strftime("%Y-%m-%dT%H:%M:%SZ"), "--out-file", str(source)], check=True)
    day = START + timedelta(days=args.history_days)
    by_quarter: dict[int, list[bytes]] = {}
    history = []
    for line in source.read_bytes().splitlines():
        t = datetime.fromisoformat(event_minute(line) + ":00+00:00")
        if t < day:
            history.append(line)
        else:
            by_quarter.setdefault(int((t - day).total_seconds() // 900), []).append(line)

    started = time.perf_counter()
    collect(home / "logs", [("history", history)])
    ingest(home, [home / "logs"])
    refresh.refresh(home, target_path=target)
    setup_seconds = time.perf_counter() - started

    cycles = []
    for c in range(args.cycles):
        lines = by_quarter.get(c, [])
        t0 = time.perf_counter()
        written = collect(home / "logs", [(f"cycle {c}", lines)]).written
        t1 = time.perf_counter()
        loaded = ingest(home, [home / "logs"])
        t2 = time.perf_counter()
        if args.mode == "metrics":
            run_dbt(home, ["run"], select=METRIC_MODELS, target_path=target)
            decision = None
        else:
            outcome = actions.gate(home)
            decision = outcome.run.evaluation.decision
        t3 = time.perf_counter()
        cycles.append({"cycle": c, "events": len(lines), "written": written, "loaded": loaded.loaded,
                       "duplicates": loaded.duplicates, "rejected": loaded.rejected, "collect_s": round(t1 - t0, 3),
                       "ingest_s": round(t2 - t1, 3), "build_s": round(t3 - t2, 3), "total_s": round(t3 - t0, 3),
                       "rss_mib": round(rss_mib(), 1), "decision": decision})

    con = connect(home, read_only=True)
    incremental = con.execute(ROWS_SQL).fetchall()
    raw_events = con.execute("select count(*) from raw.events").fetchone()[0]
    con.close()
    copy = out / "full-refresh"
    (copy / "warehouse").mkdir(parents=True)
    shutil.copyfile(home / "warehouse" / "rollout.duckdb", copy / "warehouse" / "rollout.duckdb")
    run_dbt(copy, ["run"], select=METRIC_MODELS, full_refresh=True, target_path=target)
    con = connect(copy, read_only=True)
    full = con.execute(ROWS_SQL).fetchall()
    con.close()
    only_inc = sorted(set(incremental) - set(full))[:5]
    only_full = sorted(set(full) - set(incremental))[:5]
    print(json.dumps({
        "mode": args.mode, "cycles": cycles, "setup_seconds": round(setup_seconds, 2),
        "history_events": len(history), "raw_events": raw_events, "rows": len(incremental),
        "equal_to_full_refresh": incremental == full, "only_incremental": [list(map(str, r)) for r in only_inc],
        "only_full_refresh": [list(map(str, r)) for r in only_full],
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
