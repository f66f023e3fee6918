"""Operational-cycle benchmark (issue 12): what a 15-minute cycle costs against a full build of the same events.

    python scripts/bench_cycle.py [--events 10M] [--days 30] [--seed 1] [--repeat 3] [--work bench-out/metrics]
                                  [--code DIR ...] [--out bench-out/cycle.json]

Set-up (not timed, cached in --work, shared with scripts/bench_metrics.py): the generator's rollout with its last
3 x repeat + 2 quarter hours held back, the rest loaded with the real loader.

Measured for each --code checkout (default: this one; pass an older checkout, e.g. a `git archive` of a commit, to
compare before and after in one run), each command a whole `python -m rolloutctl` process on a copy of that home:
  full         `rolloutctl build --full-refresh --json`: every model from scratch (and the tests that build runs),
               --repeat times, each on a fresh copy of the home
  all_tests    `rolloutctl build --all-tests --json` right after the last, when the checkout has that option
  full_all_tests  `rolloutctl build --full-refresh --all-tests --json` on a fresh copy: every model, unit test and
               data test from scratch (what every `rolloutctl build` ran when issue 12 was filed), once
  build        the next quarter hour ingested (not timed), then `rolloutctl build --json` (incremental), --repeat
               times
  gate         the next quarter hour ingested (not timed), then `rolloutctl gate --json` (build + decision + files),
               --repeat times
  resident     `rolloutctl gate --every` in one process (governance.gate_loop.gate_every): the next quarter hour
               ingested, its first cycle (imports and parse included), then --repeat cycles, each after another
               quarter hour ingested by another process between cycles (not timed); each cycle timed in the process
  publish      the analysts' snapshot published again once the last quarter hour is ingested (its own process)
Each with the load average before it. Ratios are medians to the median `full` of the same checkout: the machine
is shared, and one slow run should not make the figure.

Goals: build <= 0.2 x full; gate <= 0.2 x full.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_metrics import _count, _machine, _prepare  # noqa: E402

GIB = 1024 ** 3
# One resident gate process: argv = home, then the quarter files to ingest between its cycles. Prints the seconds
# of each cycle (the first includes the imports and dbt's parse) and their exit codes, as JSON.
RESIDENT = """
import json, subprocess, sys, time
from pathlib import Path
started = time.perf_counter()
from rolloutctl.governance.gate_loop import gate_every
home, files = Path(sys.argv[1]), iter(sys.argv[2:])
marks = {"start": started}

def ingest_next(_wait):
    subprocess.run([sys.executable, "-m", "rolloutctl", "--home", str(home), "ingest", next(files)], check=True,
                   capture_output=True)
    marks["start"] = time.perf_counter()

seconds, codes = [], []
for outcome in gate_every(home, 0, len(sys.argv) - 2, sleep=ingest_next):
    seconds.append(time.perf_counter() - marks["start"])
    codes.append(outcome.exit_code)
print(json.dumps({"seconds": seconds, "exit_codes": codes}))
"""
PUBLISH = ("import sys, time; from rolloutctl.warehouse.analyst_snapshot import publish; "
           "t = time.perf_counter(); publish(sys.argv[1]); print(time.perf_counter() - t)")


def _run(code: Path, args: list[str], ok=(0,)) -> dict:
    """One whole process with `code` first on the path; its wall time, peak RSS and the load before it."""
    env = {**os.environ, "PYTHONPATH": str(code), "ROLLOUT_DBT_TARGET_PATH": str(code / "target")}
    load = os.getloadavg()
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, *args], env=env, cwd=code, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    seconds = time.perf_counter() - started
    if proc.returncode not in ok:
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{out[-2000:]}\n{err[-4000:]}")
    return {"seconds": round(seconds, 3), "load_before": [round(x, 2) for x in load], "stdout": out[-4000:]}


def _cli(code: Path, home: Path, *args: str, ok=(0,)) -> dict:
    return _run(code, ["-m", "rolloutctl", "--home", str(home), *args], ok=ok)


def _resident(code: Path, home: Path, files: list[str], runs: dict) -> None:
    resident = _run(code, ["-c", RESIDENT, str(home), *files])
    cycles = json.loads(resident["stdout"].strip().splitlines()[-1])
    if any(c not in (0, 3, 4) for c in cycles["exit_codes"]):
        raise SystemExit(f"a resident cycle failed: {cycles}")
    runs["resident_first"] = [{"seconds": round(cycles["seconds"][0], 3), "load_before": resident["load_before"]}]
    runs["resident"] = [{"seconds": round(x, 3)} for x in cycles["seconds"][1:]]
    print(f"  resident: first {cycles['seconds'][0]:.1f}s, then "
          f"{', '.join(f'{x:.1f}s' for x in cycles['seconds'][1:])}", file=sys.stderr)


def _measure(code: Path, pristine: Path, cycle_files: list[Path], home: Path, repeat: int) -> dict:
    runs: dict[str, list[dict]] = {"full": [], "build": [], "gate": []}
    for _ in range(repeat):
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(pristine, home)
        os.sync()
        runs["full"].append(_cli(code, home, "build", "--full-refresh", "--json", ok=(0, 1)))
        print(f"  full {runs['full'][-1]['seconds']:.1f}s", file=sys.stderr)
    if "--all-tests" in _run(code, ["-m", "rolloutctl", "build", "--help"])["stdout"]:
        runs["all_tests"] = [_cli(code, home, "build", "--all-tests", "--json", ok=(0, 1))]
        print(f"  all tests {runs['all_tests'][0]['seconds']:.1f}s", file=sys.stderr)
        # the issue's own reference: a build from scratch that also runs every unit and data test, as every
        # `rolloutctl build` did when the issue was filed
        shutil.rmtree(home, ignore_errors=True)
        shutil.copytree(pristine, home)
        os.sync()
        runs["full_all_tests"] = [_cli(code, home, "build", "--full-refresh", "--all-tests", "--json", ok=(0, 1))]
        print(f"  full with all tests {runs['full_all_tests'][0]['seconds']:.1f}s", file=sys.stderr)
    quarters = iter(cycle_files)
    for command, ok in (("build", (0, 1)), ("gate", (0, 3, 4))):
        for _ in range(repeat):
            _cli(code, home, "ingest", str(next(quarters)))
            runs[command].append(_cli(code, home, command, "--json", ok=ok))
            print(f"  {command} {runs[command][-1]['seconds']:.1f}s", file=sys.stderr)
    _cli(code, home, "ingest", str(next(quarters)))
    resident_files = [str(next(quarters)) for _ in range(repeat)]
    if (code / "rolloutctl" / "governance" / "gate_loop.py").exists():      # a checkout with `gate --every`
        _resident(code, home, resident_files, runs)
    _cli(code, home, "ingest", str(next(quarters)))
    publish = _run(code, ["-c", PUBLISH, str(home)])
    publish["publish_seconds"] = round(float(publish["stdout"].strip().splitlines()[-1]), 3)
    runs["publish"] = [publish]
    print(f"  publish {publish['publish_seconds']:.2f}s", file=sys.stderr)
    warehouse = home / "warehouse"
    sizes = {p.name: p.stat().st_size for p in warehouse.iterdir() if p.is_file()}
    medians = {k: statistics.median(r["seconds"] for r in v) for k, v in runs.items() if k != "publish"}
    return {
        "runs": runs,
        "medians": {k: round(v, 3) for k, v in medians.items()},
        "warehouse_bytes": sizes,
        "ratios": {k: round(medians[k] / medians["full"], 3) for k in ("build", "gate", "resident")
                   if k in medians},
        "ratios_to_full_all_tests": {k: round(medians[k] / medians["full_all_tests"], 3)
                                     for k in ("build", "gate", "resident")
                                     if k in medians and "full_all_tests" in medians},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", default="10M")
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measured command (medians are reported)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench-out" / "metrics")
    parser.add_argument("--code", type=Path, action="append", help="checkout(s) to measure (default: this one)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-out" / "cycle.json")
    args = parser.parse_args(argv)
    events = _count(args.events)
    work = args.work / f"{events}-{args.days:g}d-s{args.seed}"
    print(f"set-up: {events:,} events over {args.days:g} days (seed {args.seed}) …", file=sys.stderr)
    pristine, cycle_files, setup = _prepare(work, events, args.days, args.seed, 3 * args.repeat + 2,
                                            args.work / "dbt-target")
    print(f"  {json.dumps(setup)}", file=sys.stderr)
    report = {"machine": _machine(), "setup": setup, "checkouts": {}}
    for code in [c.resolve() for c in (args.code or [ROOT])]:
        print(f"{code}:", file=sys.stderr)
        report["checkouts"][str(code)] = _measure(code, pristine, cycle_files, work / "cycle-home", args.repeat)
        shutil.rmtree(work / "cycle-home", ignore_errors=True)
    report["load_after"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2))
    for code, m in report["checkouts"].items():
        med, ratio = m["medians"], m["ratios"]
        print(f"{code}: full {med['full']:.1f}s  build {med['build']:.1f}s ({ratio['build']:.2f}x)  "
              f"gate {med['gate']:.1f}s ({ratio['gate']:.2f}x)  "
              + (f"resident gate cycle {med['resident']:.1f}s ({ratio['resident']:.2f}x)  " if "resident" in med else "")
              + (f"[to the full build with all tests, {med['full_all_tests']:.1f}s: "
                 + ", ".join(f"{k} {v:.2f}x" for k, v in m["ratios_to_full_all_tests"].items()) + "]  "
                 if "full_all_tests" in med else "")
              + f"publish {m['runs']['publish'][0]['publish_seconds']:.2f}s"
              f"  (medians of {args.repeat})")
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
