"""What a new event costs per line: `rolloutctl ingest` of the same lines of a new event whose schema the fast path
translates, and of the same event with one keyword it does not (so every line goes to jsonschema), in one run.

Each variant loads the same file into a fresh home, in its own process, alternated, --repeat times; medians.

    python scripts/bench_new_event.py [--lines 200000] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EVENT = "autosave.conflict.detected"
SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"const": EVENT},
        "event_id": {"type": "string", "minLength": 1, "maxLength": 128},
        "ts": {"type": "string", "format": "date-time"},
        "phase": {"enum": ["A-1", "A-2", "B-0", "B-1"]},
        "app_version": {"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+$"},
        "device": {"type": "object", "properties": {"os": {"enum": ["linux", "macos", "windows"]},
                                                    "model": {"type": "string", "maxLength": 20}},
                   "required": ["os"], "additionalProperties": False},
        "retry_delays_ms": {"type": "array", "items": {"type": "integer", "minimum": 0}, "maxItems": 4},
        "overlap_ratio": {"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.125},
    },
    "required": ["event", "ts", "phase", "app_version", "device", "retry_delays_ms"],
    "additionalProperties": False,
}
VARIANTS = {
    "fast": SCHEMA,
    # one keyword the fast path does not translate, at the top: every line of the event goes to jsonschema
    "deferred": {**SCHEMA, "dependentRequired": {"overlap_ratio": ["device"]}},
}


def write_lines(path: Path, n: int) -> None:
    rng = random.Random(15)
    with open(path, "w") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "event": EVENT, "event_id": f"c-{i}", "ts": f"2026-11-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:00Z",
                "phase": rng.choice(["A-1", "A-2", "B-0", "B-1"]), "app_version": f"1.{i % 9}.{i % 31}",
                "device": {"os": rng.choice(["linux", "macos"]), "model": "m" + str(i % 100)},
                "retry_delays_ms": [rng.randint(0, 500) for _ in range(rng.randint(0, 4))],
                "overlap_ratio": rng.randint(0, 8) / 8}) + "\n")


def run(variant: str, data: Path, work: Path, n: int) -> float:
    home = work / f"home-{variant}-{time.monotonic_ns()}"
    (home / "schemas" / "events").mkdir(parents=True)
    doc = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": {EVENT: VARIANTS[variant]}}
    (home / "schemas" / "events" / "conflicts.json").write_text(json.dumps(doc))
    cli = Path(sys.executable).with_name("rolloutctl")
    t = time.perf_counter()
    out = subprocess.run([str(cli), "--home", str(home), "ingest", "--json", str(data)], capture_output=True,
                         check=True)
    seconds = time.perf_counter() - t
    assert json.loads(out.stdout)["loaded"] == n, out.stdout
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "conflicts.jsonl"
        write_lines(data, args.lines)
        times: dict[str, list[float]] = {v: [] for v in VARIANTS}
        loads = [os.getloadavg()[0]]
        for _ in range(args.repeat):
            for variant in VARIANTS:
                times[variant].append(run(variant, data, work, args.lines))
            loads.append(os.getloadavg()[0])
        size = data.stat().st_size
    print(f"{args.lines} lines of {EVENT}, {size / 2 ** 20:.0f} MiB")
    for variant, runs in times.items():
        med = statistics.median(runs)
        print(f"  {variant:9} median {med:7.2f} s  {args.lines / med:10,.0f} lines/s  runs "
              + ", ".join(f"{r:.2f}" for r in runs))
    print("  load average (1 min) before each round and at the end: " + ", ".join(f"{x:.2f}" for x in loads))


if __name__ == "__main__":
    main()
