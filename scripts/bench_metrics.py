"""Metrics benchmark (issue 3, SPEC §9): marts.metrics_windowed built from scratch against Polars computing the exact
rolling p95 over 1h, 24h and 7d per phase on the same events, and one incremental 15-minute cycle against the full
build — in one run, with peak memory.

    python scripts/bench_metrics.py [--events 10M] [--days 30] [--seed 1] [--repeat 3] [--cycles 3]
                                    [--work bench-out/metrics] [--out bench-out/metrics.json]

Set-up (not timed, cached in --work): the generator writes the rollout; its last --cycles x 15 minutes are held
back, the rest is loaded with the real loader (ingest.loader.ingest), and the seeds and staging views are built.

Measured, each in a fresh process (so that peak RSS is its own):
  full   `dbt run --select int_telemetry_events_parsed metrics_windowed --full-refresh` on a copy of that warehouse:
         every payload parsed into the typed intermediate, then every (phase, T, metric, dimension, window) row.
  cycle  then, --cycles times: the next 15 minutes of events are loaded (not timed) and the same `dbt run` without
         --full-refresh is timed — what a 15-minute `rolloutctl build` does to these models.
  polars the save events (phase, ts, duration_ms) of that warehouse, typed, read from Parquet (not timed); timed:
         df.rolling(index_column='ts', period=P, group_by='phase', closed='left')
           .agg(pl.col('duration_ms').quantile(0.95, interpolation='linear')) for P in 1h, 24h, 7d.
Polars and the full build alternate (the machine may be shared); times are the median of --repeat runs of each
(cycles: the median cycle). dbt times are the invocation through dbt's Python
API (project parse, compile, SQL, hooks) and, separately, the SQL of the two models as dbt reports it.

Goals: full build <= 1.0 x Polars; cycle <= 0.2 x full build; peak memory < 4 GiB.
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

MODELS = ["int_telemetry_events_parsed", "metrics_windowed"]
QUARTER_MS = 15 * 60 * 1000
GIB = 1024 ** 3


def _count(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 10**3, "m": 10**6}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def _maxrss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ---------------------------------------------------------------------------------------------------------------
# measurement processes (invoked as `bench_metrics.py _dbt …` / `_polars …`); each prints one JSON object


def _measure_dbt(home: str, full_refresh: bool, target_path: str) -> dict:
    import dbt.cli.main  # noqa: F401 — imported before the clock starts: a long-running process pays it once

    from rolloutctl.warehouse.dbt_runner import run_dbt

    started = time.perf_counter()
    result = run_dbt(home, ["run"], select=MODELS, full_refresh=full_refresh, target_path=target_path)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "model_seconds": {t.name: t.seconds for t in result.timings},
        "maxrss_bytes": _maxrss_bytes(),
    }


def _measure_polars(saves_parquet: str) -> dict:
    import polars as pl

    df = pl.read_parquet(saves_parquet)  # phase, ts (UTC), duration_ms, sorted by phase and ts; not timed
    periods = {}
    for period in ("1h", "24h", "7d"):
        started = time.perf_counter()
        out = df.rolling(index_column="ts", period=period, group_by="phase", closed="left").agg(
            pl.col("duration_ms").quantile(0.95, interpolation="linear"))
        periods[period] = time.perf_counter() - started
        assert out.height == df.height
        del out
    return {
        "save_events": df.height,
        "periods": periods,
        "seconds": sum(periods.values()),
        "maxrss_bytes": _maxrss_bytes(),
    }


def _child(args: list[str]) -> dict:
    proc = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"measurement {args[0]} failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------------------------
# set-up


def _prepare(work: Path, events: int, days: float, seed: int, cycles: int,
             target_path: Path) -> tuple[Path, list[Path], dict]:
    """A warehouse with everything but the last `cycles` quarter hours loaded, and one JSONL per held-back quarter."""
    from ingest.loader import ingest
    from rolloutctl.simulation.telemetry import generate
    from rolloutctl.warehouse.dbt_runner import run_dbt

    stamp = {"events": events, "days": days, "seed": seed, "cycles": cycles, "layout": 2}
    pristine = work / "pristine"
    cycle_files = [work / f"cycle-{k}.jsonl" for k in range(cycles)]
    stamp_file = work / "stamp.json"
    if stamp_file.exists() and json.loads(stamp_file.read_text()).get("stamp") == stamp:
        return pristine, cycle_files, json.loads(stamp_file.read_text())["setup"]

    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    tel = generate(events=events, days=days, seed=seed)
    last = int(tel.ts_ms[-1])
    holdback = (last // QUARTER_MS - (cycles - 1)) * QUARTER_MS  # the last `cycles` quarters, the last one partial
    cuts = [int(tel.ts_ms.searchsorted(holdback + k * QUARTER_MS)) for k in range(cycles)] + [len(tel)]
    files = [work / "base.jsonl", *cycle_files]
    parts = list(zip([0, *cuts[:-1]], cuts))  # [first, end) event index of each file; events are in time order
    handles = [open(f, "w", encoding="utf-8") for f in files]
    try:
        for a, b, lines in tel.iter_chunks():
            for handle, (lo, hi) in zip(handles, parts):
                first, end = max(lo, a), min(hi, b)
                if first < end:
                    handle.write("\n".join(lines[first - a:end - a]) + "\n")
    finally:
        for fh in handles:
            fh.close()
    generated = time.perf_counter() - started

    started = time.perf_counter()
    loaded = ingest(pristine, [files[0]])
    ingested = time.perf_counter() - started
    run_dbt(pristine, ["build", "--resource-type", "seed", "--resource-type", "model"], select="+metrics_windowed",
            exclude=MODELS, target_path=target_path)
    # the input Polars gets: the same save events, typed, from the loaded warehouse (the loader's UTC times)
    import duckdb

    con = duckdb.connect(str(pristine / "warehouse" / "rollout.duckdb"), read_only=True)
    con.execute("set TimeZone = 'UTC'")
    con.execute("""copy (
        select phase, timezone('UTC', saved_at) as ts, duration_ms
        from staging.stg_telemetry__save_completed order by phase, ts
    ) to ? (format parquet)""", [str(work / "saves.parquet")])
    con.close()
    setup = {
        "generate_seconds": round(generated, 1),
        "ingest_seconds": round(ingested, 1),
        "base_events": loaded.loaded,
        "cycle_events": [cuts[k + 1] - cuts[k] for k in range(cycles)],
        "save_events_total": int((tel.event == 0).sum()),
    }
    stamp_file.write_text(json.dumps({"stamp": stamp, "setup": setup}))
    return pristine, cycle_files, setup


def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        mem = 0
    import duckdb
    import polars

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem / GIB, 1), "python": platform.python_version(),
            "duckdb": duckdb.__version__, "polars": polars.__version__, "platform": platform.platform()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="10M", help="events in the rollout (default 10M)")
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="full builds and Polars runs (median reported)")
    parser.add_argument("--cycles", type=int, default=3, help="incremental 15-minute cycles (median reported)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "metrics")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "metrics.json")
    args = parser.parse_args(argv)
    events = _count(args.events)
    work = args.work / f"{events}-{args.days:g}d-s{args.seed}"
    target_path = args.work / "dbt-target"

    print(f"set-up: {events:,} events over {args.days:g} days (seed {args.seed}) …", file=sys.stderr)
    pristine, cycle_files, setup = _prepare(work, events, args.days, args.seed, args.cycles, target_path)
    print(f"  {json.dumps(setup)}", file=sys.stderr)

    # Polars and the full build alternate, so that both meet the same machine (this one is shared)
    home = work / "home"
    polars_runs, fulls = [], []
    for i in range(args.repeat):
        polars_runs.append(_child(["_polars", str(work / "saves.parquet")]))
        per_period = ", ".join(f"{p} {v:.2f}s" for p, v in polars_runs[-1]["periods"].items())
        print(f"polars {i + 1}: {polars_runs[-1]['seconds']:.2f}s ({per_period})", file=sys.stderr)
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(pristine, home)
        os.sync()  # the copy's dirty pages must not compete with the build's own writes
        fulls.append(_child(["_dbt", str(home), "full", str(target_path)]))
        print(f"full build {i + 1}: {fulls[-1]['seconds']:.2f}s {fulls[-1]['model_seconds']}", file=sys.stderr)
    polars = {
        "runs": polars_runs,
        "save_events": polars_runs[0]["save_events"],
        "periods": {p: statistics.median(r["periods"][p] for r in polars_runs) for p in ("1h", "24h", "7d")},
        "seconds": statistics.median(r["seconds"] for r in polars_runs),
        "maxrss_bytes": max(r["maxrss_bytes"] for r in polars_runs),
    }

    from ingest.loader import ingest

    cycles = []
    for i, path in enumerate(cycle_files):
        ingest(home, [path])
        cycles.append(_child(["_dbt", str(home), "incremental", str(target_path)]))
        print(f"cycle {i + 1}: {cycles[-1]['seconds']:.2f}s {cycles[-1]['model_seconds']}", file=sys.stderr)

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    def median_models(runs):
        return statistics.median(sum(r["model_seconds"].values()) for r in runs)

    full_s, cycle_s = median(fulls, "seconds"), median(cycles, "seconds")
    full_m, cycle_m = median_models(fulls), median_models(cycles)
    peak = max([polars["maxrss_bytes"]] + [r["maxrss_bytes"] for r in fulls + cycles])
    report = {
        "machine": _machine(),
        "setup": setup,
        "polars": polars,
        "full_build": {"runs": fulls, "seconds": full_s, "model_seconds": full_m},
        "cycle": {"runs": cycles, "seconds": cycle_s, "model_seconds": cycle_m},
        "ratios": {
            "full_vs_polars": full_s / polars["seconds"],
            "full_models_vs_polars": full_m / polars["seconds"],
            "cycle_vs_full": cycle_s / full_s,
            "cycle_models_vs_full_models": cycle_m / full_m,
        },
        "peak_rss_gib": peak / GIB,
        "goals": {
            "full_build_at_most_polars": full_s <= polars["seconds"],
            "cycle_at_most_0.2_full": cycle_s <= 0.2 * full_s,
            "peak_memory_under_4_gib": peak < 4 * GIB,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))

    r = report["ratios"]
    goals = ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in report["goals"].items())
    print(f"""
metrics benchmark — {events:,} events, {args.days:g} days, {setup['save_events_total']:,} saves
  Polars rolling p95 (1h+24h+7d)   {polars['seconds']:7.2f} s   peak {polars['maxrss_bytes'] / GIB:.2f} GiB
  full build (dbt run)             {full_s:7.2f} s   models {full_m:.2f} s   {r['full_vs_polars']:.2f}x Polars (models {r['full_models_vs_polars']:.2f}x)   peak {max(x['maxrss_bytes'] for x in fulls) / GIB:.2f} GiB
  15-minute cycle (dbt run)        {cycle_s:7.2f} s   models {cycle_m:.2f} s   {r['cycle_vs_full']:.2f}x full (models {r['cycle_models_vs_full_models']:.2f}x)   peak {max(x['maxrss_bytes'] for x in cycles) / GIB:.2f} GiB
  goals: {goals}
  written to {args.out}""")
    return 0 if all(report["goals"].values()) else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_dbt":
        print(json.dumps(_measure_dbt(sys.argv[2], sys.argv[3] == "full", sys.argv[4])))
    elif len(sys.argv) > 1 and sys.argv[1] == "_polars":
        print(json.dumps(_measure_polars(sys.argv[2])))
    else:
        sys.exit(main())
