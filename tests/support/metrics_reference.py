"""Test support for the metrics marts: random telemetry, loading it into raw.events, and an independent reference.

The reference computes SPEC §5 straight from the definition with numpy — every phase's grid, every window
T − W ≤ time < T, numpy.percentile for the p95 — sharing no code or SQL with the dbt models.
"""
from __future__ import annotations

import json
import math
import uuid
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa

from ingest.warehouse import connect

PHASES = ("A-0", "A-1", "A-2", "B-0", "B-1")
BUCKET_US = 15 * 60 * 1_000_000
WINDOWS = {"1h": 3600 * 1_000_000, "24h": 24 * 3600 * 1_000_000, "7d": 7 * 24 * 3600 * 1_000_000}
CATALOG = (  # (metric, dimension, feature)
    ("autosave_p95", "all", "autosave"),
    ("autosave_retry_rate", "all", "autosave"),
    ("restore_success_rate", "overall", "autosave"),
    ("restore_success_rate", "current", "autosave"),
    ("restore_success_rate", "history", "autosave"),
    ("lock_error_count", "all", "autosave"),
    ("lock_error_count", "retryable", "autosave"),
    ("lock_error_count", "non_retryable", "autosave"),
    ("merge_auto_success_rate", "overall", "merge"),
    ("merge_auto_success_rate", "legacy", "merge"),
    ("merge_auto_success_rate", "beta", "merge"),
    ("merge_auto_success_rate", "stable", "merge"),
    ("crash_rate", "all", "app"),
    ("critical_bug_count", "all", "app"),
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(dt: datetime) -> int:
    return (dt - EPOCH) // timedelta(microseconds=1)


def from_us(us: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(us))


def rfc3339(us: int, offset_minutes: int) -> str:
    """The instant `us` written with a UTC offset (Z for 0), microseconds when it has them."""
    tz = timezone(timedelta(minutes=offset_minutes))
    local = from_us(us).astimezone(tz)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if local.microsecond:
        text += f".{local.microsecond:06d}"
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    return text + f"{sign}{abs(offset_minutes) // 60:02d}:{abs(offset_minutes) % 60:02d}"


def random_events(rng: np.random.Generator, n: int, *, start: datetime, hours: float, phases=PHASES,
                  boundary_share: float = 0.2) -> list[dict]:
    """`n` schema-valid events over `hours` from `start`: every metric's event type, offsets other than Z, some on
    exact 15-minute boundaries, integers written as 1.0, repeated durations."""
    start_us = to_us(start)
    span_us = int(hours * 3600 * 1_000_000)
    events = []
    kinds = ["save", "save", "save", "restore", "lock", "merge", "session", "bug", "qa", "incident"]
    for i in range(n):
        if rng.random() < boundary_share:  # on a bucket boundary, or one microsecond either side of it
            us = start_us + int(rng.integers(0, max(1, span_us // BUCKET_US))) * BUCKET_US
            us += int(rng.choice([0, 0, -1, 1]))
        else:
            us = start_us + int(rng.integers(0, span_us))
        offset = int(rng.choice([0, 0, 540, -300, 330, -630, 345]))
        phase = str(rng.choice(phases))
        kind = kinds[int(rng.integers(0, len(kinds)))]
        ev = {"event_id": f"ev-{i}-{uuid.uuid4().hex[:8]}", "ts": rfc3339(us, offset), "phase": phase}
        if kind == "save":
            duration = float(rng.choice([rng.lognormal(6.0, 0.7), 250.0, 1000.0, 0.0], p=[0.85, 0.07, 0.05, 0.03]))
            if rng.random() < 0.5:
                duration = round(duration, 3)
            retry = int(rng.choice([0, 0, 0, 1, 2]))
            ev.update(event="autosave.save.completed", feature="autosave", duration_ms=duration,
                      retry_count=float(retry) if rng.random() < 0.3 else retry, bytes=int(rng.integers(0, 10**6)))
        elif kind == "restore":
            success = bool(rng.random() < 0.9)
            ev.update(event="autosave.restore.result", feature="autosave", success=success,
                      source=str(rng.choice(["current", "history"])), duration_ms=float(rng.integers(1, 500)))
            if not success or rng.random() < 0.3:
                ev["retryable"] = False
        elif kind == "lock":
            ev.update(event="autosave.lock.error", feature="autosave", code="E_LOCK",
                      retryable=bool(rng.random() < 0.5),
                      attempt=int(rng.integers(1, 4)), lease_id=f"lease-{i}")
        elif kind == "merge":
            ratio = float(rng.random())
            ev.update(event="merge.diff.apply", feature="merge",
                      precision=str(rng.choice(["legacy", "beta", "stable"])),
                      auto_accept_ratio=ratio, auto_accepted=bool(ratio > 0.2), hunk_count=int(rng.integers(0, 30)))
        elif kind == "session":
            ev.update(event="app.session.ended", crashed=bool(rng.random() < 0.05))
        elif kind == "bug":
            ev.update(event="bug.reported", severity=str(rng.choice(["critical", "major", "minor"])), bug_id=f"bug-{i}")
        elif kind == "qa":
            ev.update(event="qa.case.result", suite="autosave_qa", case_id=f"case-{i % 7}",
                      result=str(rng.choice(["pass", "fail"])))
        else:
            ev.update(event="incident.declared", severity=str(rng.choice(["sev1", "sev2", "sev3"])),
                      incident_id=f"inc-{i}")
        events.append(ev)
    return events


def event_time_us(ev: dict) -> int:
    text = ev.get("ts") or ev["timestamp"]
    return to_us(datetime.fromisoformat(text.replace("Z", "+00:00")))


FEATURE = {"autosave": "autosave", "merge": "merge", "rollback": "rollout", "qa": "qa", "app": "app", "bug": "app",
           "incident": "app"}


def insert_events(home: Path, events: list[dict], *, load_id: str | None = None) -> str:
    """Append `events` to raw.events of `home` as the loader would (one load, loaded_at = now)."""
    load_id = load_id or uuid.uuid4().hex
    rows = {
        "event_id": [ev.get("event_id") for ev in events],
        "event": [ev["event"] for ev in events],
        "feature": [FEATURE[ev["event"].split(".")[0]] for ev in events],
        "phase": [ev.get("phase") or ev.get("phase_from") for ev in events],
        "event_at": pa.array([event_time_us(ev) for ev in events], pa.timestamp("us", tz="UTC")),
        "payload": [json.dumps(ev) for ev in events],
        "line_no": list(range(1, len(events) + 1)),
    }
    table = pa.table(rows)
    con = connect(home)
    try:
        con.register("batch", table)
        con.execute(
            """insert into raw.events
               select event_id, event, feature, phase, event_at, payload::json, null, 'test.jsonl', line_no,
                      ?, now() from batch""",
            [load_id],
        )
    finally:
        con.close()
    return load_id


def reference_metrics(events: list[dict]) -> dict[tuple, tuple[float | None, int]]:
    """(phase, eval_at µs, metric, dimension, window) → (value, sample_count), from the definition."""
    by_phase: dict[str, list[dict]] = {}
    for ev in events:
        by_phase.setdefault(ev.get("phase") or ev.get("phase_from"), []).append(ev)
    out: dict[tuple, tuple[float | None, int]] = {}
    for phase, evs in by_phase.items():
        times = np.array([event_time_us(ev) for ev in evs], dtype=np.int64)
        first = (times.min() // BUCKET_US) * BUCKET_US + BUCKET_US
        last = (times.max() // BUCKET_US) * BUCKET_US + BUCKET_US
        grid = np.arange(first, last + 1, BUCKET_US, dtype=np.int64)

        def series(name, pred=lambda ev: True, value=lambda ev: 1.0):
            chosen = [ev for ev in evs if ev["event"] == name and pred(ev)]
            t = np.array([event_time_us(ev) for ev in chosen], dtype=np.int64)
            v = np.array([value(ev) for ev in chosen], dtype=np.float64)
            order = np.argsort(t, kind="stable")
            return t[order], v[order]

        saves_t, saves_d = series("autosave.save.completed", value=lambda ev: float(ev["duration_ms"]))
        _, saves_retry = series("autosave.save.completed", value=lambda ev: float(ev["retry_count"] > 0))
        rates = {
            ("autosave_retry_rate", "all"): (saves_t, saves_retry),
            ("restore_success_rate", "overall"): series("autosave.restore.result",
                                                        value=lambda ev: float(ev["success"])),
            ("crash_rate", "all"): series("app.session.ended", value=lambda ev: float(ev["crashed"])),
            ("merge_auto_success_rate", "overall"): series("merge.diff.apply",
                                                           value=lambda ev: float(ev["auto_accepted"])),
        }
        for source in ("current", "history"):
            rates[("restore_success_rate", source)] = series(
                "autosave.restore.result", lambda ev, s=source: ev["source"] == s, lambda ev: float(ev["success"]))
        for precision in ("legacy", "beta", "stable"):
            rates[("merge_auto_success_rate", precision)] = series(
                "merge.diff.apply", lambda ev, p=precision: ev["precision"] == p, lambda ev: float(ev["auto_accepted"]))
        counts = {
            ("lock_error_count", "all"): series("autosave.lock.error")[0],
            ("lock_error_count", "retryable"): series("autosave.lock.error", lambda ev: ev["retryable"])[0],
            ("lock_error_count", "non_retryable"): series("autosave.lock.error", lambda ev: not ev["retryable"])[0],
            ("critical_bug_count", "all"): series("bug.reported", lambda ev: ev["severity"] == "critical")[0],
        }
        for window, width in WINDOWS.items():
            for T in grid:
                def window_slice(t):
                    return np.searchsorted(t, T - width, side="left"), np.searchsorted(t, T, side="left")

                lo, hi = window_slice(saves_t)
                x = saves_d[lo:hi]
                out[(phase, int(T), "autosave_p95", "all", window)] = (
                    float(np.percentile(x, 95)) if len(x) else None, int(len(x)))
                for key, (t, v) in rates.items():
                    lo, hi = window_slice(t)
                    n = hi - lo
                    out[(phase, int(T), *key, window)] = (float(v[lo:hi].sum() / n) if n else None, int(n))
                for key, t in counts.items():
                    lo, hi = window_slice(t)
                    out[(phase, int(T), *key, window)] = (float(hi - lo), int(hi - lo))
    return out


def read_metrics(home: Path) -> dict[tuple, tuple[float | None, int]]:
    con = connect(home, read_only=True)
    try:
        rows = con.execute(
            'select phase, epoch_us(eval_at), metric, dimension, "window", value, sample_count '
            'from marts.metrics_windowed'
        ).fetchall()
    finally:
        con.close()
    out = {}
    for phase, t, metric, dimension, window, value, count in rows:
        key = (phase, int(t), metric, dimension, window)
        assert key not in out, f"duplicate row {key}"
        out[key] = (value, count)
    return out


def compare(actual: dict, expected: dict, *, rel: float = 1e-9) -> list[str]:
    """Human-readable differences (empty when equal: same keys, same counts, values within `rel`)."""
    problems = []
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    if missing:
        problems.append(f"{len(missing)} rows missing, e.g. {missing[:3]}")
    if extra:
        problems.append(f"{len(extra)} unexpected rows, e.g. {extra[:3]}")
    for key in sorted(set(actual) & set(expected)):
        (av, ac), (ev, ec) = actual[key], expected[key]
        if ac != ec:
            problems.append(f"{key}: sample_count {ac} != {ec}")
        elif (av is None) != (ev is None):
            problems.append(f"{key}: value {av} != {ev}")
        elif av is not None and not math.isclose(av, ev, rel_tol=rel, abs_tol=0.0) and not (av == ev):
            problems.append(f"{key}: value {av!r} != {ev!r}")
        if len(problems) > 20:
            break
    return problems
