"""rolloutctl.simulation.telemetry (scripts/generate_telemetry.py): schema-valid, deterministic, phase-ordered,
healthy unless told otherwise."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from jsonschema import Draft202012Validator

from rolloutctl.simulation import telemetry

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "generate_telemetry.py"
PHASES = ["A-0", "A-1", "A-2", "B-0", "B-1"]
HOUR, DAY = 3_600_000, 86_400_000
FEATURE = {
    "autosave.save.completed": "autosave",
    "autosave.restore.result": "autosave",
    "autosave.lock.error": "autosave",
    "merge.diff.apply": "merge",
    "qa.case.result": "qa",
    "app.session.ended": "app",
    "bug.reported": "app",
    "incident.declared": "app",
}
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}(Z|[+-]\d\d:\d\d)$")


gt = telemetry


@pytest.fixture(scope="module")
def validators():
    out = {}
    for f in sorted((ROOT / "schemas" / "events").glob("*.json")):
        for name, schema in json.loads(f.read_text())["$defs"].items():
            schema = dict(schema)
            schema.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
            out[name] = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    return out


def _utc_ms(ts: str) -> int:
    return round(datetime.fromisoformat(ts).timestamp() * 1000)


def _parse(tel) -> list[dict]:
    return [json.loads(line) for line in tel]


def _hourly_p95(objs, phase=None) -> dict[int, tuple[float, int]]:
    by_hour = defaultdict(list)
    for o in objs:
        if o["event"] == "autosave.save.completed" and (phase is None or o["phase"] == phase):
            by_hour[_utc_ms(o["ts"]) // HOUR].append(o["duration_ms"])
    return {h: (float(np.percentile(v, 95)), len(v)) for h, v in by_hour.items()}


@pytest.fixture(scope="module")
def healthy():
    """20k events/day over 5 days: enough for hourly p95 and 24 h rates to mean something."""
    tel = gt.generate(100_000, 5, 11)
    return tel, _parse(tel)


@pytest.fixture(scope="module")
def regressed():
    tel = gt.generate(100_000, 5, 11, regression=True)
    return tel, _parse(tel)


# ------------------------------------------------------------------------------------------ schema


@pytest.mark.parametrize("seed,days,regression", [(1, 3, False), (2, 1, False), (3, 7, True)])
def test_every_line_is_valid_against_its_schema(validators, seed, days, regression):
    lines = gt.generate(5000, days, seed, regression=regression).lines()
    assert len(lines) == 5000
    seen = Counter()
    for line in lines:
        obj = json.loads(line)
        errors = list(validators[obj["event"]].iter_errors(obj))
        assert not errors, f"{line}: {errors[0].message}"
        seen[obj["event"]] += 1
    assert set(seen) == set(FEATURE)  # every generated event type, and never rollback.executed


def test_rare_variants_are_valid_too(validators, healthy):
    """Failed restores, crashes, all precisions, all offsets: validated wherever they occur."""
    _, objs = healthy
    variants = Counter()
    for o in objs:
        e = o["event"]
        if e == "autosave.restore.result":
            variants[("restore", o["success"], "retryable" in o)] += 1
        elif e == "app.session.ended":
            variants[("crashed", o["crashed"])] += 1
        elif e == "merge.diff.apply":
            variants[("merge", o["precision"], o["auto_accepted"])] += 1
        elif e == "autosave.lock.error":
            variants[("lock", o["retryable"])] += 1
        variants[("offset", o["ts"][23:])] += 1
        if e != "autosave.save.completed" or variants[("offset", o["ts"][23:])] % 50 == 0:
            errors = list(validators[e].iter_errors(o))
            assert not errors, f"{o}: {errors[0].message}"
    for key in [("restore", False, True), ("restore", True, True), ("restore", True, False),
                ("crashed", True), ("crashed", False), ("lock", True), ("lock", False),
                ("offset", "Z"), ("offset", "+05:30"), ("offset", "-08:00")]:
        assert variants[key] > 0, key
    assert ("restore", False, False) not in variants  # a failed restore always says retryable
    for precision in ("legacy", "beta", "stable"):
        assert variants[("merge", precision, True)] and variants[("merge", precision, False)], precision


def test_failed_restores_say_not_retryable(healthy):
    _, objs = healthy
    failed = [o for o in objs if o["event"] == "autosave.restore.result" and not o["success"]]
    assert failed and all(o["retryable"] is False for o in failed)


def test_times_are_ms_precise_offsets_of_the_right_instant(healthy):
    tel, objs = healthy
    times = []
    for i, o in enumerate(objs):
        assert TS_RE.match(o["ts"]), o["ts"]
        times.append(_utc_ms(o["ts"]))
        assert times[-1] == tel.ts_ms[i]
    assert times == sorted(times)  # written in time order
    offsets = Counter(o["ts"][23:] for o in objs)
    assert offsets["Z"] > 0.75 * len(objs) and offsets["+05:30"] > 0 and offsets["-08:00"] > 0


def test_value_types(healthy):
    _, objs = healthy
    saves = [o for o in objs if o["event"] == "autosave.save.completed"]
    assert all(type(o["bytes"]) is int and type(o["retry_count"]) is int for o in saves)
    assert sum(o["retry_count"] == 0 for o in saves) > 0.9 * len(saves)
    merges = [o for o in objs if o["event"] == "merge.diff.apply"]
    assert all((o["auto_accept_ratio"] == 1.0) == o["auto_accepted"] for o in merges)


# --------------------------------------------------------------------------- determinism, counts, ids


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for path, seed in ((a, 5), (b, 5), (c, 6)):
        subprocess.run([sys.executable, str(SCRIPT), "--events", "3000", "--days", "2", "--seed", str(seed),
                        "--regression", "--out-file", str(path)], check=True)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()
    assert a.read_bytes() == "".join(line + "\n" for line in gt.generate(3000, 2, 5, regression=True)).encode()


def test_regression_changes_only_saves_in_its_window(healthy, regressed):
    _, plain = healthy
    tel, reg = regressed
    window = tel.timeline["regression"]
    changed = [(p, r) for p, r in zip(plain, reg) if p != r]
    assert changed
    assert len(reg) == len(plain)
    others = Counter()
    for p, r in changed:
        assert p["ts"] == r["ts"] and p["event"] == r["event"]
        assert window["start_ms"] <= _utc_ms(p["ts"]) < window["end_ms"]
        if p["event"] != "autosave.save.completed":
            others[(p["event"], p["severity"], r["severity"])] += 1
    assert others == {("incident.declared", "sev3", "sev2"): 1, ("bug.reported", "minor", "major"): 1}


@pytest.mark.parametrize("n", [200, 5000, 12_345, 40_001])
def test_event_count_is_exact_and_ids_unique(n):
    lines = gt.generate(n, 2, 4).lines()
    assert len(lines) == n
    ids = [json.loads(line)["event_id"] for line in lines]
    assert len(set(ids)) == n
    assert all(i.startswith("e-4-") and len(i) <= 128 for i in ids)


def test_no_ids_and_too_few_events():
    assert not any('"event_id"' in line for line in gt.generate(1000, 2, 4, ids=False))
    with pytest.raises(ValueError, match="at least"):
        gt.generate(10, 2, 4)


def test_cli_count_suffixes_and_stdout(tmp_path):
    out = subprocess.run([sys.executable, str(SCRIPT), "--events", "1.5k", "--days", "1", "--seed", "2",
                          "--timeline"], check=True, capture_output=True, text=True)
    assert len(out.stdout.splitlines()) == 1500
    assert json.loads(out.stderr)["events"] == 1500  # timeline on stderr when events go to stdout


# -------------------------------------------------------------------------------------- phases


def test_phases_follow_the_order_and_the_timeline(healthy):
    tel, objs = healthy
    tl = tel.timeline
    assert [p["phase"] for p in tl["phases"]] == PHASES
    for p, q in zip(tl["phases"], tl["phases"][1:]):
        assert p["end_ms"] == q["start_ms"]
    spans = np.array([p["end_ms"] - p["start_ms"] for p in tl["phases"]], dtype=float)
    assert np.allclose(spans / spans.sum(), [0.10, 0.20, 0.25, 0.20, 0.25], atol=0.002)
    idx = [PHASES.index(o["phase"]) for o in objs]
    assert idx == sorted(idx) and set(idx) == set(range(5))
    for o in objs[:: 97]:
        p = tl["phases"][PHASES.index(o["phase"])]
        assert p["start_ms"] <= _utc_ms(o["ts"]) < p["end_ms"]


def test_event_shares_follow_time_and_mix():
    tel = gt.generate(200_000, 20, 3)  # whole days per phase: 2/4/5/4/5
    n = len(tel)
    by_phase = np.bincount(tel.phase, minlength=5) / n
    assert np.allclose(by_phase, [0.10, 0.20, 0.25, 0.20, 0.25], atol=0.01)
    share = {e: np.count_nonzero(tel.event == i) / n for i, e in enumerate(gt.EVENTS)}
    assert 0.68 <= share["autosave.save.completed"] <= 0.76
    assert 0.10 <= share["merge.diff.apply"] <= 0.13
    assert 0.055 <= share["autosave.restore.result"] <= 0.065
    assert 0.075 <= share["app.session.ended"] <= 0.085
    assert 0.017 <= share["autosave.lock.error"] <= 0.023
    merge = tel.event == gt.MERGE
    a_phase, b_phase = tel.phase <= 2, tel.phase >= 3
    assert np.count_nonzero(merge & a_phase) / np.count_nonzero(a_phase) < 0.03
    assert np.count_nonzero(merge & b_phase) / np.count_nonzero(b_phase) > 0.2
    # diurnal: the busiest hour of the day carries well over the quietest
    hours = np.bincount((tel.ts_ms % 86_400_000) // 3_600_000, minlength=24)
    assert hours.max() > 2 * hours.min()


def test_timeline_start_and_offsets():
    tl = gt.phase_timeline(10, "2026-11-01T09:00:00+09:00")
    assert tl["start"].startswith("2026-11-01T00:00:00")
    assert tl["phases"][0]["start_ms"] == _utc_ms("2026-11-01T00:00:00Z")
    assert tl["regression"] is None
    with pytest.raises(ValueError):
        gt.phase_timeline(10, "2026-11-01T00:00:00")  # no offset


# ---------------------------------------------------------------------------- gate inputs (SPEC §7)


def _latest(objs, phase, suite):
    latest = {}
    for o in sorted((o for o in objs if o["event"] == "qa.case.result"), key=lambda o: _utc_ms(o["ts"])):
        if o["phase"] == phase and o["suite"] == suite:
            latest[o["case_id"]] = o["result"]
    return latest


def test_qa_suites_pass_in_each_phase(healthy):
    _, objs = healthy
    a1 = _latest(objs, "A-1", "autosave_qa")
    assert sum(r == "pass" for r in a1.values()) >= 10
    a2 = _latest(objs, "A-2", "restore_qa")
    assert a2 == {f"rq-{i:02d}": "pass" for i in range(1, 13)}
    b0 = _latest(objs, "B-0", "merge_qa")
    assert sum(r == "pass" for r in b0.values()) >= 20
    assert "pass" in _latest(objs, "B-1", "release_notes").values()
    qa = [o for o in objs if o["event"] == "qa.case.result"]
    # early failures that pass later, in the same phase
    fails = {(o["phase"], o["case_id"]) for o in qa if o["result"] == "fail"}
    recovered = [k for k in fails if _latest(objs, k[0], {"A-1": "autosave_qa", "A-2": "restore_qa",
                                                          "B-0": "merge_qa", "B-1": "release_notes",
                                                          "A-0": "autosave_qa"}[k[0]]).get(k[1]) == "pass"]
    assert len(recovered) >= 4


def test_bugs_and_incidents_stay_below_the_rules(healthy):
    tel = gt.generate(2_000_000, 30, 8)  # 40 bugs (+1) over 30 days
    assert np.count_nonzero(tel.event == gt.BUG) == 41
    for days, seed in ((30, 1), (10, 2), (3, 3)):
        # the bug schedule of a 50M-event run: as many critical bugs as days, the tightest spacing
        tl = gt.phase_timeline(days)
        special = gt._special_events(tl, 50_000_000, seed, False)
        crit = np.array(sorted(t for t, kind, rec in special if kind == gt.BUG and rec["severity"] == "critical"))
        assert crit.size == days
        for t in crit:  # the fullest 24 h window starts at a critical bug
            assert np.count_nonzero((crit >= t) & (crit < t + DAY)) <= 3
        assert all(tl["phases"][0]["start_ms"] <= t < tl["phases"][-1]["end_ms"] for t, _, _ in special)
        bug_ids = [rec["bug_id"] for _, kind, rec in special if kind == gt.BUG]
        assert len(set(bug_ids)) == len(bug_ids)
    sev = [r["severity"] for r in tel.columns["incident.declared"]["records"]]
    assert sev and "sev1" not in sev
    _, objs = healthy
    assert not any(o["event"] == "incident.declared" and o["severity"] == "sev1" for o in objs)


def _grid(objs, phase):
    t = [_utc_ms(o["ts"]) for o in objs if o["phase"] == phase]
    q = 900_000
    return range((min(t) // q + 1) * q, (max(t) // q + 1) * q + 1, q)


def _rates_24h(objs, phase, event, flag, min_samples=50):
    rows = [(_utc_ms(o["ts"]), bool(flag(o))) for o in objs if o["event"] == event and o["phase"] == phase]
    t = np.array([r[0] for r in rows])
    cum = np.concatenate([[0], np.cumsum([r[1] for r in rows])])
    out = []
    for T in _grid(objs, phase):
        lo, hi = np.searchsorted(t, T - DAY, "left"), np.searchsorted(t, T, "left")
        if hi - lo >= min_samples:
            out.append((cum[hi] - cum[lo]) / (hi - lo))
    return np.array(out)


def test_healthy_24h_rates_keep_every_rule_green(healthy):
    _, objs = healthy
    sessions = [o for o in objs if o["event"] == "app.session.ended" and o["phase"] == "A-0"]
    baseline = sum(o["crashed"] for o in sessions) / len(sessions)
    assert 0.004 <= baseline <= 0.0065
    for phase in PHASES[1:]:
        restore = _rates_24h(objs, phase, "autosave.restore.result", lambda o: o["success"])
        assert restore.size and restore.min() > 0.995, phase
        crash = _rates_24h(objs, phase, "app.session.ended", lambda o: o["crashed"])
        assert crash.max() <= 1.05 * baseline, phase
        assert crash.mean() > 0.5 * baseline, phase  # crashes still happen after A-0
    for phase in ("B-0", "B-1"):
        merge = _rates_24h(objs, phase, "merge.diff.apply", lambda o: o["auto_accepted"])
        assert merge.min() >= 0.80 and 0.86 <= merge.mean() <= 0.92, phase
    restores = [o["success"] for o in objs if o["event"] == "autosave.restore.result"]
    assert 0.997 <= sum(restores) / len(restores) <= 0.9995


# ------------------------------------------------------------------------------------- latency


def test_healthy_latency_every_hour_p95_below_warn(healthy):
    _, objs = healthy
    hourly = _hourly_p95(objs)
    assert len(hourly) == 5 * 24
    assert all(n >= 20 for _, n in hourly.values())
    assert max(p for p, _ in hourly.values()) < 700
    durations = [o["duration_ms"] for o in objs if o["event"] == "autosave.save.completed"]
    assert 220 <= np.median(durations) <= 280
    assert 550 <= np.percentile(durations, 95) <= 650


def test_regression_breaches_2500_in_a2_only_inside_its_window(regressed):
    tel, objs = regressed
    window = tel.timeline["regression"]
    a2 = tel.timeline["phases"][2]
    assert window["phase"] == "A-2" and a2["start_ms"] <= window["start_ms"] < window["end_ms"] <= a2["end_ms"]
    assert window["hours"] >= 3
    hourly = _hourly_p95(objs, "A-2")
    breached = sorted(h for h, (p, n) in hourly.items() if p > 2500 and n >= 20)
    assert len(breached) >= 3  # enough breach hours for the daily rule too
    for h in breached:
        assert window["start_ms"] <= h * HOUR < window["end_ms"]
    inside = [v for h, v in hourly.items() if window["start_ms"] <= h * HOUR and (h + 1) * HOUR <= window["end_ms"]]
    assert inside and all(p > 2500 for p, _ in inside)
    in_window = [o["duration_ms"] for o in objs if o["event"] == "autosave.save.completed"
                 and window["start_ms"] <= _utc_ms(o["ts"]) < window["end_ms"]]
    assert 1300 <= np.median(in_window) <= 1700
    outside = [p for h, (p, _) in _hourly_p95(objs).items()
               if (h + 1) * HOUR <= window["start_ms"] or h * HOUR >= window["end_ms"]]
    assert max(outside) < 700


def test_regression_window_fits_short_runs():
    for days in (1, 2, 3, 30):
        reg = gt.phase_timeline(days, regression=True)["regression"]
        a2 = gt.phase_timeline(days)["phases"][2]
        assert a2["start_ms"] <= reg["start_ms"] < reg["end_ms"] <= a2["end_ms"]
    assert gt.phase_timeline(30, regression=True)["regression"]["hours"] == 6


# ------------------------------------------------------------------------------------- layout


def test_out_dir_collector_layout(tmp_path):
    out = tmp_path / "logs"
    single = tmp_path / "all.jsonl"
    args = ["--events", "8000", "--days", "3", "--seed", "9", "--regression"]
    res = subprocess.run([sys.executable, str(SCRIPT), *args, "--out", str(out), "--timeline"],
                         check=True, capture_output=True, text=True)
    info = json.loads(res.stdout)
    assert [p["phase"] for p in info["phases"]] == PHASES and info["regression"]["phase"] == "A-2"
    subprocess.run([sys.executable, str(SCRIPT), *args, "--out-file", str(single)], check=True)
    files = sorted(out.rglob("*"))
    files = [f for f in files if f.is_file()]
    assert {f.parent.name for f in files} == {"autosave", "merge", "qa", "app"}
    assert info["files"] == len(files)
    lines = []
    for f in files:
        assert f.parent.parent == out and re.fullmatch(r"\d{4}-\d\d-\d\d\.jsonl", f.name)
        content = f.read_text(encoding="utf-8")
        assert content.endswith("\n") and "\r" not in content
        times = []
        for line in content.splitlines():
            o = json.loads(line)
            assert FEATURE[o["event"]] == f.parent.name
            t = _utc_ms(o["ts"])
            assert datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%d") + ".jsonl" == f.name
            times.append(t)
            lines.append(line)
        assert times == sorted(times)
    assert len(lines) == 8000
    assert sorted(lines) == sorted(single.read_text(encoding="utf-8").splitlines())
    # a second run replaces the files rather than appending to them
    subprocess.run([sys.executable, str(SCRIPT), *args, "--out", str(out)], check=True)
    assert sum(len(f.read_text().splitlines()) for f in files) == 8000


# ------------------------------------------------------------------------------------------ control cohort


def test_a_control_cohort_marks_saves_restores_and_merges_and_changes_nothing_else(validators):
    tel = gt.generate(30_000, 3, 12, regression=True)
    plain = _parse(tel)
    both = _parse(gt.generate(30_000, 3, 12, regression=True, control_share=0.5))
    window = tel.timeline["regression"]
    cohorts, control_saves = Counter(), []
    for p, c in zip(plain, both, strict=True):
        assert not list(validators[c["event"]].iter_errors(c))
        cohort = c.pop("cohort", None)
        if p["event"] in ("autosave.save.completed", "autosave.restore.result", "merge.diff.apply"):
            cohorts[cohort] += 1
        else:
            assert cohort is None
        # a control save inside the regression window is drawn healthy (latency, retries); all else is the same line
        if cohort == "control" and p["event"] == "autosave.save.completed" and (
                window["start_ms"] <= _utc_ms(p["ts"]) < window["end_ms"]):
            control_saves.append(c["duration_ms"])
            c["duration_ms"], c["retry_count"] = p["duration_ms"], p["retry_count"]
        assert c == p
    assert set(cohorts) == {"treatment", "control"}
    assert control_saves and float(np.percentile(control_saves, 95)) < 900   # the regression's p95 is ≈ 2990 ms
    assert abs(cohorts["control"] / sum(cohorts.values()) - 0.5) < 0.03
    with pytest.raises(ValueError, match="control_share"):
        gt.generate(1000, 2, 4, control_share=1.0)
