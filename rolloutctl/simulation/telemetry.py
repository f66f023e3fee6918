"""Generate realistic rolloutctl telemetry (JSONL) for the benchmarks, the demo and the tests.

A rollout laid out over ``--days`` days: phases A-0 → A-1 → A-2 → B-0 → B-1 take 10% / 20% / 25% /
20% / 25% of the time (boundaries on whole minutes), and every event carries the phase active at
its time. Traffic follows a diurnal curve (peak 14:00 UTC, trough 02:00 UTC at ~0.45 of the peak's
mean). Every line is valid against ``schemas/events/*.json`` (SPEC §3); ``rollback.executed`` is
never generated (the CLI emits it).

Event mix (share of all events):

* ``autosave.save.completed`` ~72% — ``duration_ms`` lognormal, median 250 ms, p95 ≈ 570 ms;
  ``retry_count`` > 0 for 3% of saves; ``bytes`` integer (lognormal, median 24 kB).
* ``merge.diff.apply`` ~11.5% — 2% of A-phase traffic (``legacy`` precision, 82% auto-accepted),
  23% of B-phase traffic (``beta`` in B-0, 88% auto-accepted; ``stable`` in B-1, 90%).
* ``app.session.ended`` 8% — crash rate 0.50% in A-0 (the baseline), 0.47% after.
* ``autosave.restore.result`` 6% — success 99.85%; a failure says ``retryable: false``; a quarter
  of the successes carry ``retryable: false`` too, the rest omit it. 20% read ``history``.
* ``autosave.lock.error`` 2%.
* ``qa.case.result`` (~65 per run): A-1 ``autosave_qa`` aq-01..aq-12, A-2 ``restore_qa``
  rq-01..rq-12, B-0 ``merge_qa`` mq-01..mq-24 (mq-24 keeps failing), B-1 ``release_notes``;
  each phase has early failures that pass later; all within the first half of the phase.
* ``bug.reported`` (2 per 100k events, at least 5): 3% critical, spaced so that no 24 h window
  holds more than 2; ``incident.declared`` (one per 5 days, sev2/sev3, never sev1).

Times have millisecond precision; ~85% are written in ``Z``, ~9% in ``+05:30``, ~6% in
``-08:00`` (same UTC instant). Events are written in time order; nothing depends on that order
(ids are unique, QA "latest result" follows the event time).

Healthy by construction, not just on average (so that the SPEC §7 gate promotes a healthy run):

* save latencies are stratified in blocks of 100 consecutive saves (each block holds one draw from
  every percentile band), so every hour's p95 sits close to 570 ms;
* restore failures, session crashes and merge non-acceptances are spread evenly (low-discrepancy:
  among the first k events of a phase at most floor(k·p) are flagged), and thinned where a 24 h
  window would hold too few events for the rate to stay inside its threshold (restore success
  > 0.995, crash rate ≤ 1.05 × the A-0 baseline, merge auto-acceptance ≥ 0.80). At low volume
  this means fewer or no restore failures/crashes after A-0.

Volume: with ~25k events per day or more (the 10M / 30-day benchmark has 333k) the healthy data
keeps every SPEC §7 rule green; much smaller runs may see an occasional noisy hourly p95.

``--regression``: in phase A-2, from the first whole hour after 40% of the phase, for 6 hours
(shorter if A-2 is shorter), save latency becomes lognormal with median 1500 ms and p95 ≈ 3000 ms
(every hour of the stretch has a 1h p95 > 2500 ms) and 25% of saves retry; a sev2 incident and a
major bug are declared 40 minutes in. The ``--timeline`` output describes the window. The planned
phases still follow the schedule after the regression (the generator does not play the gate).

Speed (measured on this 2-core Intel Xeon VM, numpy 2.4, Python 3.11, local disk):
10,000,000 events over 30 days with ``--out-file`` in 21.6–25.9 s wall (≈420k events/s; ~3 s of
it drawing the arrays, the rest formatting and writing), peak RSS 0.86 GB, 1.77 GB of JSONL;
with ``--out DIR`` 22.7 s.

Usage::

    python scripts/generate_telemetry.py --events 10M --days 30 --seed 1 --out-file /tmp/t.jsonl
    python scripts/generate_telemetry.py --events 200000 --days 10 --seed 7 --regression \\
        --out logs/ --timeline

Function API: ``generate(events, days, seed, start, regression)`` returns a :class:`Telemetry`
(numpy columns, iterable over JSONL lines, with writers); ``phase_timeline(days, start,
regression)`` returns the plan as a JSON-ready dict.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

PHASES = ("A-0", "A-1", "A-2", "B-0", "B-1")
PHASE_SHARES = (0.10, 0.20, 0.25, 0.20, 0.25)
DEFAULT_START = "2026-11-01T00:00:00Z"

EVENTS = (
    "autosave.save.completed",
    "autosave.restore.result",
    "autosave.lock.error",
    "merge.diff.apply",
    "app.session.ended",
    "qa.case.result",
    "bug.reported",
    "incident.declared",
)
SAVE, RESTORE, LOCK, MERGE, SESSION, QA, BUG, INCIDENT = range(len(EVENTS))
BULK = (SAVE, RESTORE, LOCK, MERGE, SESSION)
SPECIAL = (QA, BUG, INCIDENT)
# The collector's folder for each event (SPEC §3 table, "feature" column).
EVENT_FEATURE = ("autosave", "autosave", "autosave", "merge", "app", "qa", "app", "app")
FEATURE_OF = dict(zip(EVENTS, EVENT_FEATURE))

# Bulk mix per phase, in BULK order (save, restore, lock, merge, session).
MIX_A = (0.82, 0.06, 0.02, 0.02, 0.08)
MIX_B = (0.61, 0.06, 0.02, 0.23, 0.08)

OFFSETS = (("Z", 0), ("+05:30", 330), ("-08:00", -480))
OFFSET_SHARES = (0.85, 0.09, 0.06)

SAVE_MEDIAN_MS, SAVE_SIGMA = 250.0, 0.5  # p95 = 250·e^(1.645·0.5) ≈ 569 ms
REGRESSION_MEDIAN_MS, REGRESSION_SIGMA = 1500.0, 0.42  # p95 ≈ 2990 ms
REGRESSION_AT, REGRESSION_HOURS = 0.40, 6
SAVE_RETRY_P, REGRESSION_RETRY_P = 0.03, 0.25
STRATUM_BLOCK = 100

RESTORE_FAIL_P = 0.0015
CRASH_P_BASELINE, CRASH_P_AFTER = 0.0050, 0.0047
MERGE_ACCEPT = {"legacy": 0.82, "beta": 0.88, "stable": 0.90}
LOCK_CODES = (  # code, retryable, weight
    ("LOCK_TIMEOUT", True, 0.45),
    ("LOCK_CONFLICT", True, 0.25),
    ("LEASE_EXPIRED", True, 0.15),
    ("LEASE_NOT_FOUND", False, 0.10),
    ("LOCK_DENIED", False, 0.05),
)
QA_EXECUTORS = ("qa-bot", "qa-bot", "k.tanaka", "m.sato")

HOUR_MS, DAY_MS, MIN_MS = 3_600_000, 86_400_000, 60_000
_ID_PREFIX_RE = re.compile(r"^[A-Za-z0-9._:-]{0,100}$")


# ---------------------------------------------------------------------------------------- time


def _to_ms(start: str | datetime) -> int:
    if isinstance(start, str):
        try:
            start = datetime.fromisoformat(start.strip())
        except ValueError as exc:
            raise ValueError(f"start: {start!r} is not an ISO 8601 date-time") from exc
    if start.tzinfo is None:
        raise ValueError("start: give an offset (e.g. 2026-11-01T00:00:00Z)")
    return int(round(start.timestamp() * 1000))


def iso_ms(ms: int) -> str:
    """UTC RFC 3339 with milliseconds and Z."""
    return np.datetime_as_string(np.datetime64(int(ms), "ms"), unit="ms") + "Z"


def phase_timeline(days: float, start: str | datetime = DEFAULT_START, regression: bool = False) -> dict:
    """The planned phases (and the regression window) as a JSON-ready dict; times are UTC."""
    if not days > 0:
        raise ValueError("days must be > 0")
    t0 = _to_ms(start)
    span = int(round(days * DAY_MS))
    bounds = [t0]
    cum = 0.0
    for share in PHASE_SHARES[:-1]:
        cum += share
        bounds.append(t0 + int(round(cum * span / MIN_MS)) * MIN_MS)
    bounds.append(t0 + span)
    if any(b1 <= b0 for b0, b1 in zip(bounds, bounds[1:])):
        raise ValueError(f"days={days} is too short for five phases")
    phases = [
        {
            "phase": p,
            "start": iso_ms(b0),
            "end": iso_ms(b1),
            "start_ms": b0,
            "end_ms": b1,
            "hours": round((b1 - b0) / HOUR_MS, 3),
            "share": share,
        }
        for p, share, b0, b1 in zip(PHASES, PHASE_SHARES, bounds, bounds[1:])
    ]
    reg = None
    if regression:
        a2s, a2e = bounds[2], bounds[3]
        length = a2e - a2s
        rs = -(-(a2s + int(REGRESSION_AT * length)) // HOUR_MS) * HOUR_MS  # next whole hour
        cap = a2s + int(0.9 * length)
        re_ = min(rs + REGRESSION_HOURS * HOUR_MS, cap // HOUR_MS * HOUR_MS)
        if re_ - rs < HOUR_MS:  # A-2 too short for whole hours: use what fits
            rs = a2s + int(REGRESSION_AT * length)
            re_ = min(rs + REGRESSION_HOURS * HOUR_MS, cap)
        reg = {
            "phase": "A-2",
            "metric": "autosave_p95",
            "start": iso_ms(rs),
            "end": iso_ms(re_),
            "start_ms": rs,
            "end_ms": re_,
            "hours": round((re_ - rs) / HOUR_MS, 3),
            "median_ms": REGRESSION_MEDIAN_MS,
            "p95_ms": round(REGRESSION_MEDIAN_MS * math.exp(1.6448536 * REGRESSION_SIGMA)),
            "healthy_median_ms": SAVE_MEDIAN_MS,
            "healthy_p95_ms": round(SAVE_MEDIAN_MS * math.exp(1.6448536 * SAVE_SIGMA)),
        }
    return {
        "start": iso_ms(t0),
        "end": iso_ms(t0 + span),
        "days": days,
        "phases": phases,
        "regression": reg,
    }


# ------------------------------------------------------------------------------------ helpers


def _rng(seed: int, stream: int) -> np.random.Generator:
    return np.random.default_rng([seed, stream])


def _norm_ppf(q: np.ndarray) -> np.ndarray:
    """Inverse standard normal CDF (Acklam's rational approximation, |rel. error| < 1.2e-9)."""
    a = (-3.969683028665376e01, 2.209460984245205e02, -2.759285104469687e02,
         1.383577518672690e02, -3.066479806614716e01, 2.506628277459239e00)
    b = (-5.447609879822406e01, 1.615858368580409e02, -1.556989798598866e02,
         6.680131188771972e01, -1.328068155288572e01)
    c = (-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e00,
         -2.549732539343734e00, 4.374664141464968e00, 2.938163982698783e00)
    d = (7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e00, 3.754408661907416e00)
    q = np.asarray(q, dtype=np.float64)
    out = np.empty_like(q)
    lo, hi = q < 0.02425, q > 1 - 0.02425
    mid = ~(lo | hi)
    r = q[mid] - 0.5
    s = r * r
    out[mid] = (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (
        ((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1)
    for mask, sign, qq in ((lo, 1.0, q[lo]), (hi, -1.0, 1 - q[hi])):
        t = np.sqrt(-2 * np.log(qq))
        out[mask] = sign * (((((c[0] * t + c[1]) * t + c[2]) * t + c[3]) * t + c[4]) * t + c[5]) / (
            (((d[0] * t + d[1]) * t + d[2]) * t + d[3]) * t + 1)
    return out


def _stratified_normal(n: int, rng: np.random.Generator, block: int = STRATUM_BLOCK) -> np.ndarray:
    """n standard normal draws; every run of `block` consecutive draws holds one per 1/block band."""
    full, rest = divmod(n, block)
    strata = np.empty(n, dtype=np.float64)
    if full:
        strata[: full * block] = rng.permuted(np.tile(np.arange(block, dtype=np.float64), (full, 1)), axis=1).ravel()
    width = np.full(n, float(block))
    if rest:
        strata[full * block:] = rng.permutation(rest)
        width[full * block:] = rest
    u = np.clip(rng.random(n), 1e-12, None)
    return _norm_ppf((strata + u) / width)


def _spread_flags(ts: np.ndarray, phase: np.ndarray, p: float, bounds: list[int], limit, *, skip=(),
                  rounding: float = 0.0) -> np.ndarray:
    """Flag ~p of the events, evenly: among the first k events of a phase floor(k·p + rounding).

    `limit(phase_index) -> float | None`: where not None, flags are thinned so that every 24 h window
    of the phase holds fewer than limit × (the fewest events any 24 h window of the phase holds)."""
    flags = np.zeros(ts.size, dtype=bool)
    for ph in range(len(PHASES)):
        lo, hi = np.searchsorted(phase, ph, "left"), np.searchsorted(phase, ph, "right")
        n = hi - lo
        if n == 0:
            continue
        k = np.arange(n + 1, dtype=np.float64)
        cand = np.flatnonzero(np.diff(np.floor(k * p + rounding + 1e-9)) > 0)
        lim = None if ph in skip else limit(ph)
        t = ts[lo:hi]
        end = bounds[ph + 1]
        starts = np.flatnonzero(t + DAY_MS <= end)
        if lim is not None and starts.size:
            # A window [a, a+24h) with t_i < a ≤ t_{i+1} holds every event in (t_i, t_i + 24h).
            ends = np.searchsorted(t, t[starts] + DAY_MS, "left")
            fewest = int((ends - np.searchsorted(t, t[starts], "right")).min())
            cap = max(0, math.ceil(lim * fewest) - 1)
            kept: list[int] = []
            window: deque[int] = deque()
            for i in cand.tolist():
                ti = int(t[i])
                while window and window[0] <= ti - DAY_MS:
                    window.popleft()
                if len(window) < cap:
                    window.append(ti)
                    kept.append(i)
            cand = np.asarray(kept, dtype=np.int64)
        flags[lo + cand] = True
    return flags


# ------------------------------------------------------------------------------------- result


@dataclass
class Telemetry:
    """Generated events as numpy columns, in time order. Iterating yields JSONL lines (no newline)."""

    timeline: dict
    seed: int
    ts_ms: np.ndarray  # int64, UTC epoch milliseconds, non-decreasing
    event: np.ndarray  # int8 index into EVENTS
    phase: np.ndarray  # int8 index into PHASES
    offset: np.ndarray  # int8 index into OFFSETS (how `ts` is written)
    columns: dict[str, dict] = field(default_factory=dict)  # event name -> {"index": positions, field: array}
    ids: bool = True
    id_prefix: str = ""
    # per event type with a cohort (save, restore, merge): True where the event is the control cohort's; absent when
    # the generator emits no cohorts (then no line carries the property: the output is the same as before it existed)
    control: dict[int, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.ts_ms.size)

    def __iter__(self) -> Iterator[str]:
        for _, _, lines in self.iter_chunks():
            yield from lines

    def lines(self) -> list[str]:
        return list(self)

    # -- formatting

    def _templates(self) -> dict[int, str]:
        bodies = {
            SAVE: ',"feature":"autosave","duration_ms":%.1f,"retry_count":%d,"bytes":%d%s}',
            RESTORE: ',"feature":"autosave","success":%s,"source":"%s","duration_ms":%.1f%s%s}',
            LOCK: ',"feature":"autosave","code":"%s","retryable":%s,"attempt":%d,"lease_id":"lease-%08x"}',
            MERGE: (',"feature":"merge","precision":"%s","auto_accept_ratio":%.4f,"auto_accepted":%s,"hunk_count":%d'
                    '%s}'),
            SESSION: ',"crashed":%s}',
            QA: ",%s}",
            BUG: ",%s}",
            INCIDENT: ",%s}",
        }
        idpart = ',"event_id":"' + self.id_prefix.replace("%", "%%") + '%d"' if self.ids else ""
        return {t: '{"event":"' + EVENTS[t] + '"' + idpart + ',"ts":"%s%s","phase":"%s"' + body
                for t, body in bodies.items()}

    def iter_chunks(self, chunk: int = 500_000) -> Iterator[tuple[int, int, list[str]]]:
        """Yield (first index, end index, lines) for consecutive slices of the events."""
        tmpl = self._templates()
        suffix = np.array([o[0] for o in OFFSETS], dtype=object)
        off_ms = np.array([o[1] * MIN_MS for o in OFFSETS], dtype=np.int64)
        phase_names = np.array(PHASES, dtype=object)
        positions = {t: self.columns[EVENTS[t]]["index"] for t in range(len(EVENTS))}
        for a in range(0, len(self), chunk):
            b = min(a + chunk, len(self))
            off = self.offset[a:b]
            dt = np.datetime_as_string((self.ts_ms[a:b] + off_ms[off]).astype("datetime64[ms]"), unit="ms")
            et = self.event[a:b]
            ph = self.phase[a:b]
            out = np.empty(b - a, dtype=object)
            for t in range(len(EVENTS)):
                rows = np.flatnonzero(et == t)
                if rows.size == 0:
                    continue
                j0 = int(np.searchsorted(positions[t], a))
                j1 = j0 + rows.size
                args = [dt[rows].tolist(), suffix[off[rows]].tolist(), phase_names[ph[rows]].tolist()]
                args += self._fields(t, j0, j1)
                if self.ids:
                    args.insert(0, (rows + a).tolist())
                fmt = tmpl[t]
                out[rows] = [fmt % r for r in zip(*args)]
            yield a, b, out.tolist()

    def _fields(self, t: int, j0: int, j1: int) -> list[list]:
        values = self._payload(t, j0, j1)
        if t in (SAVE, RESTORE, MERGE):
            cohort = np.array(["", ',"cohort":"treatment"', ',"cohort":"control"'], dtype=object)
            marks = (1 + self.control[t][j0:j1].astype(np.int8)) if t in self.control else np.zeros(j1 - j0, int)
            values.append(cohort[marks].tolist())
        return values

    def _payload(self, t: int, j0: int, j1: int) -> list[list]:
        col = self.columns[EVENTS[t]]
        tf = np.array(["false", "true"], dtype=object)
        if t == SAVE:
            return [col[name][j0:j1].tolist() for name in ("duration_ms", "retry_count", "bytes")]
        if t == RESTORE:
            src = np.array(["current", "history"], dtype=object)
            frag = np.array(["", ',"retryable":false'], dtype=object)
            return [tf[col["success"][j0:j1].astype(np.int8)].tolist(),
                    src[col["source_history"][j0:j1].astype(np.int8)].tolist(),
                    col["duration_ms"][j0:j1].tolist(),
                    frag[col["has_retryable"][j0:j1].astype(np.int8)].tolist()]
        if t == LOCK:
            codes = np.array([c[0] for c in LOCK_CODES], dtype=object)
            code = col["code"][j0:j1]
            return [codes[code].tolist(), tf[col["retryable"][j0:j1].astype(np.int8)].tolist(),
                    col["attempt"][j0:j1].tolist(), col["lease"][j0:j1].tolist()]
        if t == MERGE:
            prec = np.array(["legacy", "beta", "stable"], dtype=object)
            return [prec[col["precision"][j0:j1]].tolist(), col["auto_accept_ratio"][j0:j1].tolist(),
                    tf[col["auto_accepted"][j0:j1].astype(np.int8)].tolist(), col["hunk_count"][j0:j1].tolist()]
        if t == SESSION:
            return [tf[col["crashed"][j0:j1].astype(np.int8)].tolist()]
        return [[json.dumps(r, separators=(",", ":"))[1:-1] for r in col["records"][j0:j1]]]

    # -- writers

    def write_jsonl(self, path: str | os.PathLike | None) -> int:
        """Write every event to one file (or stdout when path is None or '-'). Returns the line count."""
        if path is None or str(path) == "-":
            for _, _, lines in self.iter_chunks():
                sys.stdout.write("\n".join(lines) + "\n")
            sys.stdout.flush()
            return len(self)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            for _, _, lines in self.iter_chunks():
                fh.write("\n".join(lines) + "\n")
        return len(self)

    def write_collector_layout(self, directory: str | os.PathLike) -> dict[str, int]:
        """Write `<dir>/<feature>/<YYYY-MM-DD>.jsonl` (UTC date), as the collector does. Returns lines per file."""
        root = Path(directory)
        feat_names = sorted(set(EVENT_FEATURE))
        feat_of_type = np.array([feat_names.index(f) for f in EVENT_FEATURE], dtype=np.int8)
        handles: dict[tuple[int, int], object] = {}
        counts: dict[str, int] = {}
        try:
            for a, b, lines in self.iter_chunks():
                arr = np.empty(len(lines), dtype=object)
                arr[:] = lines
                feat = feat_of_type[self.event[a:b]]
                day = self.ts_ms[a:b] // DAY_MS
                first_day = int(day[0])
                for key in [k for k in handles if k[1] < first_day]:
                    handles.pop(key).close()
                for f in np.unique(feat).tolist():
                    rows = np.flatnonzero(feat == f)
                    d = day[rows]
                    cuts = np.flatnonzero(np.diff(d)) + 1
                    for seg in np.split(rows, cuts):
                        dd = int(day[seg[0]])
                        rel = f"{feat_names[f]}/{np.datetime_as_string(np.datetime64(dd, 'D'))}.jsonl"
                        if (f, dd) not in handles:
                            (root / feat_names[f]).mkdir(parents=True, exist_ok=True)
                            # first time in this run: replace; a file closed earlier in the run: append
                            handles[(f, dd)] = open(root / rel, "a" if rel in counts else "w",
                                                    encoding="utf-8", newline="")
                            counts.setdefault(rel, 0)
                        handles[(f, dd)].write("\n".join(arr[seg].tolist()) + "\n")
                        counts[rel] += int(seg.size)
        finally:
            for fh in handles.values():
                fh.close()
        return counts

    # -- summaries

    def summary(self) -> dict:
        """Counts per phase and event, and the A-0 crash baseline, for the --timeline output."""
        grid = np.bincount(self.phase.astype(np.int64) * len(EVENTS) + self.event,
                           minlength=len(PHASES) * len(EVENTS)).reshape(len(PHASES), len(EVENTS))
        by_phase = {p: {e: int(grid[i, t]) for t, e in enumerate(EVENTS)} for i, p in enumerate(PHASES)}
        s = self.columns[EVENTS[SESSION]]
        a0 = self.phase[s["index"]] == 0
        base = float(s["crashed"][a0].mean()) if a0.any() else None
        return {"events": len(self), "events_by_phase": by_phase, "crash_baseline_a0": base}


# ------------------------------------------------------------------------------------ generate


def _special_events(tl: dict, events: int, seed: int, regression: bool) -> list[tuple[int, int, dict]]:
    """QA results, bug reports and incidents: (ts_ms, type, fields after `phase`)."""
    rng = _rng(seed, 9)
    ph = {p["phase"]: (p["start_ms"], p["end_ms"]) for p in tl["phases"]}
    out: list[tuple[int, int, dict]] = []

    def at(phase: str, lo: float, hi: float) -> int:
        s, e = ph[phase]
        return s + int((lo + (hi - lo) * rng.random()) * (e - s))

    def qa(phase, suite, feature, cases, fails, stays_failing=()):
        for case in fails:
            out.append((at(phase, 0.05, 0.15), QA, {"suite": suite, "case_id": case, "result": "fail",
                                                    "executor": QA_EXECUTORS[rng.integers(len(QA_EXECUTORS))]}))
        for case in cases:
            result = "fail" if case in stays_failing else "pass"
            out.append((at(phase, 0.20, 0.50), QA, {"suite": suite, "case_id": case, "result": result,
                                                    "executor": QA_EXECUTORS[rng.integers(len(QA_EXECUTORS))]}))

    aq = [f"aq-{i:02d}" for i in range(1, 13)]
    rq = [f"rq-{i:02d}" for i in range(1, 13)]
    mq = [f"mq-{i:02d}" for i in range(1, 25)]
    qa("A-0", "autosave_qa", "autosave", [], ["aq-01", "aq-02", "aq-03"])  # dry run before the canary
    qa("A-1", "autosave_qa", "autosave", aq, ["aq-03", "aq-07", "aq-11"])
    qa("A-2", "restore_qa", "autosave", rq, ["rq-04", "rq-09", "rq-12"])
    qa("B-0", "merge_qa", "merge", mq, ["mq-05", "mq-13", "mq-21", "mq-24"], stays_failing=("mq-24",))
    qa("B-1", "release_notes", "rollout", ["rn-01", "rn-02"], ["rn-01"])

    t0, t1 = tl["phases"][0]["start_ms"], tl["phases"][-1]["end_ms"]
    span = t1 - t0
    days = span / DAY_MS
    n_bugs = max(5, round(events * 2e-5))
    n_crit = max(1, min(round(0.03 * n_bugs), int(days)))
    slot = span / n_crit  # ≥ 24 h when n_crit ≤ days; ±20% jitter keeps critical bugs ≥ 14.4 h apart
    bug_times = [int(t0 + (i + 0.5 + 0.4 * (rng.random() - 0.5)) * slot) for i in range(n_crit)]
    sev = ["critical"] * n_crit
    for _ in range(n_bugs - n_crit):
        bug_times.append(int(t0 + rng.random() * span))
        sev.append("major" if rng.random() < 0.3 else "minor")
    n_inc = max(1, round(days / 5))
    inc_times = [int(t0 + rng.random() * span) for _ in range(n_inc)]
    inc_sev = ["sev2" if rng.random() < 0.3 else "sev3" for _ in range(n_inc)]
    # The regression's incident and bug report; a healthy run has a sev3 and a minor bug at the same
    # times, so that --regression changes nothing but the saves in its window and these two severities.
    reg = tl["regression"] or phase_timeline(tl["days"], iso_ms(t0), True)["regression"]
    t_reg = reg["start_ms"] + min(40 * MIN_MS, (reg["end_ms"] - reg["start_ms"]) // 2)
    inc_times.append(t_reg)
    inc_sev.append("sev2" if regression else "sev3")
    bug_times.append(t_reg + MIN_MS)
    sev.append("major" if regression else "minor")
    for i, k in enumerate(np.argsort(bug_times, kind="stable").tolist()):
        out.append((bug_times[k], BUG, {"severity": sev[k], "bug_id": f"BUG-{seed % 1000:03d}{i + 1:05d}"}))
    for i, k in enumerate(np.argsort(inc_times, kind="stable").tolist()):
        incident_id = f"INC-{seed % 1000:03d}{i + 1:04d}"
        out.append((inc_times[k], INCIDENT, {"severity": inc_sev[k], "incident_id": incident_id}))
    return out


def generate(
    events: int,
    days: float = 30,
    seed: int = 0,
    start: str | datetime = DEFAULT_START,
    regression: bool = False,
    *,
    ids: bool = True,
    id_prefix: str | None = None,
    control_share: float = 0.0,
) -> Telemetry:
    """Generate `events` events (exactly) over `days` days from `start`; deterministic for a seed.

    control_share > 0: each save, restore and merge is the control cohort's with that probability (a control group
    running at the same time, `"cohort":"control"`, the others `"cohort":"treatment"`); the control's saves are
    never regressed. The draws of every other field are the same as without it (the cohort has its own streams)."""
    if seed < 0:
        raise ValueError("seed must be ≥ 0")
    if not 0.0 <= control_share < 1.0:
        raise ValueError("control_share must be in [0, 1): the share of saves, restores and merges in the control")
    prefix = f"e-{seed}-" if id_prefix is None else id_prefix
    if not _ID_PREFIX_RE.match(prefix):
        raise ValueError("id_prefix: letters, digits and . _ : - only, at most 100 characters")
    tl = phase_timeline(days, start, regression)
    bounds = [p["start_ms"] for p in tl["phases"]] + [tl["phases"][-1]["end_ms"]]
    t0, t1 = bounds[0], bounds[-1]

    special = _special_events(tl, events, seed, regression)
    n_bulk = events - len(special)
    if n_bulk < 0:
        raise ValueError(f"events must be at least {len(special)} (the QA, bug and incident events alone)")

    # -- bulk times: a diurnal rate over minute bins, an exact total.
    rng = _rng(seed, 1)
    bin_start = np.arange(t0, t1, MIN_MS, dtype=np.int64)
    width = np.minimum(bin_start + MIN_MS, t1) - bin_start
    hour = (bin_start % DAY_MS) / HOUR_MS
    weight = (1 + 0.55 * np.cos(2 * np.pi * (hour - 14) / 24)) * width
    counts = rng.multinomial(n_bulk, weight / weight.sum())
    ts = np.repeat(bin_start, counts) + (rng.random(n_bulk) * np.repeat(width, counts)).astype(np.int64)
    ts.sort()
    bphase = (np.searchsorted(np.asarray(bounds[1:-1]), ts, "right")).astype(np.int8)
    btype = np.empty(n_bulk, dtype=np.int8)
    u = _rng(seed, 2).random(n_bulk)
    for ph in range(len(PHASES)):
        lo, hi = np.searchsorted(bphase, ph, "left"), np.searchsorted(bphase, ph, "right")
        mix = np.cumsum(MIX_A if PHASES[ph].startswith("A") else MIX_B)
        picked = np.minimum(np.searchsorted(mix, u[lo:hi], "right"), len(BULK) - 1)
        btype[lo:hi] = np.asarray(BULK, dtype=np.int8)[picked]
    del u

    # -- merge in the special events (stable: bulk first on equal times).
    sp_ts = np.array([s[0] for s in special], dtype=np.int64)
    sp_type = np.array([s[1] for s in special], dtype=np.int8)
    all_ts = np.concatenate([ts, sp_ts])
    order = np.argsort(all_ts, kind="stable")
    ts_all = all_ts[order]
    etype = np.concatenate([btype, sp_type])[order]
    del all_ts, ts, btype, bphase
    phase = np.searchsorted(np.asarray(bounds[1:-1]), ts_all, "right").astype(np.int8)
    n = ts_all.size
    offset = _rng(seed, 3).choice(len(OFFSETS), size=n, p=OFFSET_SHARES).astype(np.int8)

    columns: dict[str, dict] = {}
    pos = {t: np.flatnonzero(etype == t) for t in range(len(EVENTS))}
    for t in SPECIAL:
        src = order[pos[t]] - n_bulk
        columns[EVENTS[t]] = {"index": pos[t], "records": [special[i][2] for i in src.tolist()]}
    del order

    reg = tl["regression"]

    # -- saves
    p_ = pos[SAVE]
    r = _rng(seed, 10)
    z = _stratified_normal(p_.size, r)
    mu = np.full(p_.size, math.log(SAVE_MEDIAN_MS))
    sg = np.full(p_.size, SAVE_SIGMA)
    retry_p = np.full(p_.size, SAVE_RETRY_P)
    control: dict[int, np.ndarray] = {}
    if control_share > 0:
        control = {t: _rng(seed, 14 + i).random(pos[t].size) < control_share for i, t in enumerate((SAVE, RESTORE,
                                                                                                       MERGE))}
    if reg:
        t = ts_all[p_]
        m = (t >= reg["start_ms"]) & (t < reg["end_ms"]) & ~control.get(SAVE, np.zeros(p_.size, bool))
        mu[m], sg[m], retry_p[m] = math.log(REGRESSION_MEDIAN_MS), REGRESSION_SIGMA, REGRESSION_RETRY_P
    dur = np.round(np.exp(mu + sg * z), 1)
    del z, mu, sg
    retries = np.where(r.random(p_.size) < retry_p, r.geometric(0.55, p_.size), 0).astype(np.int16)
    nbytes = np.exp(r.normal(math.log(24_000), 0.9, p_.size)).astype(np.int64)
    columns[EVENTS[SAVE]] = {"index": p_, "duration_ms": dur, "retry_count": retries, "bytes": nbytes}

    # -- restores
    p_ = pos[RESTORE]
    r = _rng(seed, 11)
    hist = r.random(p_.size) < 0.2
    rdur = np.round(np.exp(np.where(hist, math.log(850), math.log(380)) + 0.45 * r.normal(size=p_.size)), 1)
    fails = _spread_flags(ts_all[p_], phase[p_], RESTORE_FAIL_P, bounds, lambda ph: 0.005)
    has_retryable = fails | (r.random(p_.size) < 0.25)
    columns[EVENTS[RESTORE]] = {"index": p_, "success": ~fails, "source_history": hist, "duration_ms": rdur,
                                "has_retryable": has_retryable}

    # -- lock errors
    p_ = pos[LOCK]
    r = _rng(seed, 12)
    w = np.array([c[2] for c in LOCK_CODES])
    code = r.choice(len(LOCK_CODES), size=p_.size, p=w / w.sum()).astype(np.int8)
    columns[EVENTS[LOCK]] = {
        "index": p_,
        "code": code,
        "retryable": np.array([c[1] for c in LOCK_CODES])[code],
        "attempt": r.geometric(0.6, p_.size).astype(np.int16),
        "lease": r.integers(0, 2**32, p_.size, dtype=np.int64),
    }

    # -- merges
    p_ = pos[MERGE]
    r = _rng(seed, 13)
    mph = phase[p_]
    precision = np.select([mph == 3, mph == 4], [1, 2], 0).astype(np.int8)
    accepted = r.random(p_.size) < MERGE_ACCEPT["legacy"]
    gated = precision > 0
    not_acc = _spread_flags(ts_all[p_][gated], mph[gated], 1 - MERGE_ACCEPT["beta"], bounds, lambda ph: 0.20)
    stable_rows = precision[gated] == 2
    # B-1 (stable) takes its own, lower rate.
    not_acc_stable = _spread_flags(ts_all[p_][gated][stable_rows], mph[gated][stable_rows],
                                   1 - MERGE_ACCEPT["stable"], bounds, lambda ph: 0.20)
    not_acc[stable_rows] = not_acc_stable
    accepted[gated] = ~not_acc
    hunks = (1 + r.poisson(3.0, p_.size)).astype(np.int16)
    ratio = np.where(accepted, 1.0, np.floor(r.random(p_.size) * hunks) / hunks)
    columns[EVENTS[MERGE]] = {"index": p_, "precision": precision, "auto_accept_ratio": np.round(ratio, 4),
                              "auto_accepted": accepted, "hunk_count": hunks}

    # -- sessions: A-0 sets the crash baseline; later phases stay below 1.05 × baseline in every 24 h window.
    p_ = pos[SESSION]
    sts, sph = ts_all[p_], phase[p_]
    crashed = _spread_flags(sts, sph, CRASH_P_BASELINE, bounds, lambda ph: None, rounding=0.5)
    a0 = sph == 0
    baseline = float(crashed[a0].mean()) if a0.any() else CRASH_P_BASELINE
    # Every prefix of a later phase stays at or below its rate, so that rate must sit below 1.05 × baseline.
    p_after = min(CRASH_P_AFTER, 0.95 * baseline)
    later = _spread_flags(sts, sph, p_after, bounds, lambda ph: 1.05 * baseline, skip=(0,))
    crashed[~a0] = later[~a0]
    columns[EVENTS[SESSION]] = {"index": p_, "crashed": crashed}

    return Telemetry(timeline=tl, seed=seed, ts_ms=ts_all, event=etype, phase=phase, offset=offset,
                     columns=columns, ids=ids, id_prefix=prefix, control=control)


# ------------------------------------------------------------------------------------------ CLI


def _count(text: str) -> int:
    m = re.fullmatch(r"\s*([0-9_]+(?:\.[0-9]+)?)\s*([kKmM]?)\s*", text)
    if not m:
        raise argparse.ArgumentTypeError(f"not a count: {text!r} (e.g. 5000, 200k, 10M)")
    value = float(m.group(1).replace("_", "")) * {"": 1, "k": 1e3, "m": 1e6}[m.group(2).lower()]
    return int(round(value))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=_count, default=100_000,
                    help="total events, exact (accepts 200k, 10M); default 100k")
    ap.add_argument("--days", type=float, default=30.0, help="days the rollout spans (default 30)")
    ap.add_argument("--seed", type=int, default=0, help="random seed; the output is a pure function of the arguments")
    ap.add_argument("--start", default=DEFAULT_START, help=f"first instant, RFC 3339 (default {DEFAULT_START})")
    ap.add_argument("--regression", action="store_true",
                    help="a save-latency regression in A-2 (the gate must roll back)")
    dest = ap.add_mutually_exclusive_group()
    dest.add_argument("--out", metavar="DIR", help="write the collector layout DIR/<feature>/<YYYY-MM-DD>.jsonl")
    dest.add_argument("--out-file", metavar="FILE", help="write one JSONL file ('-' for stdout)")
    ap.add_argument("--control-share", type=float, default=0.0, metavar="F",
                    help="emit a control cohort: this share of saves, restores and merges carry cohort=control (never "
                         "regressed), the rest cohort=treatment; default 0: no cohort property at all")
    ap.add_argument("--no-ids", action="store_true", help="omit event_id (default: unique ids <prefix><n>)")
    ap.add_argument("--id-prefix", help="event_id prefix (default e-<seed>-)")
    ap.add_argument("--timeline", action="store_true",
                    help="print the phase timeline (and regression window, counts) as JSON: on stdout, "
                         "or on stderr when the events go to stdout")
    args = ap.parse_args(argv)
    if args.seed < 0:
        ap.error("--seed must be ≥ 0")
    try:
        tel = generate(args.events, args.days, args.seed, args.start, args.regression,
                       ids=not args.no_ids, id_prefix=args.id_prefix, control_share=args.control_share)
    except ValueError as exc:
        ap.error(str(exc))
    to_stdout = not args.out and (not args.out_file or args.out_file == "-")
    files = None
    if args.out:
        files = tel.write_collector_layout(args.out)
    else:
        tel.write_jsonl(None if to_stdout else args.out_file)
    if args.timeline:
        info = dict(tel.timeline, seed=args.seed, **tel.summary())
        if files is not None:
            info["files"] = len(files)
        print(json.dumps(info, indent=2), file=sys.stderr if to_stdout else sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
