"""SIGKILL `gate --apply`, `promote` and `rollback` at the file-system changes of their action, then run them again.

crashpoint.py numbers every change the action makes to the file system (open for writing, write, fsync, rename,
unlink, mkdir, chmod…) and kills the real process before the K-th (or, for a write, half-way through it). After
each kill the ledger, audit log, flag files, incident queue, RCA stubs, outbox and rollback event must each be
either as before the action or as after it (parseable, never half-written); running the same command again must
complete the action exactly once: the ledger and audit log hold one entry for it, `audit verify` and `flags verify`
pass, the incident is queued once with both notifications, the rollback.executed event is in the log once.

The long tier (ROLLOUT_TEST_TIER=long, or ROLLOUT_RELIABILITY_FULL=1) kills at every point, in both modes. The fast
tier kills at the first and the last point, at the point right after the plan (where a second kill lands in the
recovery), and at a sample of the points where a file becomes visible (before each rename and unlink from the
action's plan on, every write whole and torn), drawn fresh each run (ROLLOUT_SAMPLE_SEED, printed, repeats one).
Figures: RELIABILITY.md.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from rolloutctl.governance import audit, flags, ledger
from rolloutctl.governance.pending import PENDING_RELPATH
from tests.support.reliability_support import ROOT, copy_home, rolloutctl
from tests.support.tiers import LONG, sample

pytestmark = pytest.mark.xdist_group("action-kills")   # one worker builds the module's fixture, once
CRASHPOINT = Path(__file__).resolve().parents[1] / "support" / "crashpoint.py"
FULL = LONG or os.environ.get("ROLLOUT_RELIABILITY_FULL") == "1"
VISIBLE_SAMPLE = 1   # fast tier: visible points killed at per command, besides the three always chosen

COMMANDS = {
    "gate_apply": ["gate", "--apply", "--no-build", "--executor", "oncall-bot"],
    "promote": ["promote", "--to", "A-1", "--executor", "alice", "--reason", "QA sign-off", "--no-build"],
    "rollback": ["rollback", "--to", "A-0", "--executor", "bob", "--reason", "customer data loss report",
                 "--no-build"],
}


def crash(home: Path, args: list[str], kill_at: int, mode: str, log: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CRASHPOINT), str(kill_at), mode, str(log), "--", "--home", str(home),
                           *args], env=env, cwd=ROOT, capture_output=True, text=True)


def points(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def governance_state(home: Path, torn_lines: list | None = None) -> dict:
    """Every governance file, parsed (a half-written file raises here) and reduced to what the action changes.

    The rollback.executed event goes through the Collector, which appends to the day's log: a write killed half-way
    leaves a fragment there (the next append ends it, ingest rejects it with its file and line, the event is written
    again whole). Fragments are put in `torn_lines` when given, else they fail."""
    state = {"ledger": [(e.id, e.action, e.phase_from, e.phase_to, e.executor, e.reason, e.forced)
                        for e in ledger.read(home)]}
    lines, problems = audit.read_lines(home)
    assert not problems, problems
    state["audit"] = [(a.record["seq"], a.record["action"], a.record.get("ledger_entry"), a.record.get("phase_to"))
                      for a in lines]
    defaults = home / flags.FLAG_DEFAULTS_RELPATH
    state["flags"] = json.loads(defaults.read_text())["phase"] if defaults.exists() else None
    md = home / flags.FLAG_TABLE_RELPATH
    state["flags_md"] = re.search(r"phase \*\*(.+?)\*\*", md.read_text()).group(1) if md.exists() else None
    queue = home / "incident_queue.json"
    state["queue"] = [(q["id"], q["action"]) for q in json.loads(queue.read_text())] if queue.exists() else []
    events = []
    for log in sorted((home / "logs" / "rollout").glob("*.jsonl")):
        for raw in log.read_text().splitlines():
            try:
                events.append(json.loads(raw)["event_id"])
            except ValueError:
                if torn_lines is None:
                    raise
                torn_lines.append(raw)
    state["events"] = events
    rca = home / "reports" / "rca"
    state["rca"] = sorted(p.name for p in rca.glob("*.md")) if rca.is_dir() else []
    for p in rca.glob("*.md") if rca.is_dir() else []:
        assert yaml.safe_load(p.read_text().split("\n---", 1)[0].lstrip("-"))["status"] == "draft"
    outbox = home / "notifications" / "outbox"
    state["outbox"] = sorted(p.name for p in outbox.glob("*.json")) if outbox.is_dir() else []
    for p in outbox.glob("*.json") if outbox.is_dir() else []:
        json.loads(p.read_text())
    return state


def check_before_or_after(state: dict, before: dict, after: dict) -> list[str]:
    """Each file before or after; the outbox holds one file per notification, each before or after."""
    problems = [f"{key}: {state[key]!r} is neither {before[key]!r} nor {after[key]!r}"
                for key in state if key != "outbox" and state[key] not in (before[key], after[key])]
    if not set(before["outbox"]) <= set(state["outbox"]) <= set(after["outbox"]):
        problems.append(f"outbox: {state['outbox']!r} is not between {before['outbox']!r} and {after['outbox']!r}")
    return problems


def check_done_once(home: Path, after: dict, action: str, torn: list | None = None) -> list[str]:
    state = governance_state(home, torn)
    problems = [f"{key}: {v!r} != {after[key]!r}" for key, v in state.items() if v != after[key]]
    problems += [f"audit verify: {p}" for p in audit.verify(home)]
    problems += [f"flags verify: {p}" for p in flags.verify(home)]
    if (home / PENDING_RELPATH).exists():
        problems.append("the action's plan is still pending")
    if action == "rollback":
        [incident] = json.loads((home / "incident_queue.json").read_text())
        if [n["channel"] for n in incident.get("notifications", [])] != ["slack", "pagerduty"]:
            problems.append(f"notifications recorded: {incident.get('notifications')}")
    return problems


@pytest.fixture(scope="module")
def bases(promote_home, tmp_path_factory, cli_env) -> dict:
    """Per command: the home before the action, its state, the state after one uninterrupted run, its points."""
    root = tmp_path_factory.mktemp("action-kills")
    a1 = copy_home(promote_home, root / "in-a1")
    done = rolloutctl(a1, *COMMANDS["promote"], env=cli_env)
    assert done.returncode == 0, done.stderr
    out = {}
    for name, args in COMMANDS.items():
        base = promote_home if name != "rollback" else a1
        ref = copy_home(base, root / f"ref-{name}")
        log = root / f"ref-{name}.log"
        proc = crash(ref, args, 0, "before", log, cli_env)
        assert proc.returncode == 0, proc.stderr
        after = governance_state(ref)
        assert check_done_once(ref, after, "rollback" if name == "rollback" else "promote") == []
        before = governance_state(base)
        assert len(after["ledger"]) == len(before["ledger"]) + 1
        out[name] = {"base": base, "args": args, "before": before, "after": after, "points": points(log)}
    return out


def choose(pts: list[dict], few: bool) -> list[tuple[int, str]]:
    """(K, mode) to kill at: every point with FULL; else the first, the last, the one after the plan, and a sample of
    the points where a file becomes visible, from the plan on (`few`: the command shares its action with one tested
    at such points; only its own rerun path matters, so the ledger's rename instead of the sample)."""
    if FULL:
        return [(p["n"], "before") for p in pts] + [(p["n"], "torn") for p in pts if p["kind"] == "write"]
    plan_at = next(p["n"] for p in pts if "pending-action" in p["file"])
    chosen = {(1, "before"), (pts[-1]["n"], "before"), (plan_at + 1, "before")}
    if few:
        ledger_at = next(p["n"] for p in pts if "phase-ledger" in p["file"] and p["kind"] == "replace")
        return sorted(chosen | {(ledger_at, "before")})
    after_plan = [p for p in pts if p["n"] >= plan_at]
    visible = sorted({(p["n"], "before") for p in after_plan if p["kind"] in ("replace", "unlink", "write")}
                     | {(p["n"], "torn") for p in after_plan if p["kind"] == "write"})
    # always one file replaced and one removed (the ledger's rename, the plan's removal), then a fresh sample
    chosen |= {(next(p["n"] for p in after_plan if p["kind"] == "replace"), "before"),
               (next(p["n"] for p in reversed(after_plan) if p["kind"] == "unlink"), "before")}
    return sorted(chosen | set(sample(visible, VISIBLE_SAMPLE, f"kill points after the plan ({len(pts)} in all)")))


@pytest.mark.scaled
@pytest.mark.parametrize("name", list(COMMANDS))
def test_killed_action_is_before_or_after_and_a_rerun_completes_it_once(name, bases, tmp_path, cli_env):
    b = bases[name]
    action = "rollback" if name == "rollback" else "promote"
    chosen = choose(b["points"], few=name == "promote")
    plan_at = next(p["n"] for p in b["points"] if "pending-action" in p["file"])

    def one(point: tuple[int, str]) -> tuple[tuple[int, str], list[str], bool]:
        k, mode = point
        home = copy_home(b["base"], tmp_path / f"k{k}-{mode}")
        killed = crash(home, b["args"], k, mode, tmp_path / f"k{k}-{mode}.log", cli_env)
        if killed.returncode != -9:
            return point, [f"not killed: exit {killed.returncode}: {killed.stderr[-500:]}"], False
        torn: list[str] = []
        problems = check_before_or_after(governance_state(home, torn), b["before"], b["after"])
        if torn and mode != "torn":
            problems.append(f"a torn line without a torn write: {torn}")
        # once per command, a second kill in the middle of the recovery itself
        if k == plan_at + 1 and mode == "before":
            again = crash(home, b["args"], 5, "before", tmp_path / f"k{k}-recovery.log", cli_env)
            if again.returncode != -9:
                problems.append(f"recovery not killed: exit {again.returncode}")
            problems += check_before_or_after(governance_state(home, torn), b["before"], b["after"])
        rerun = rolloutctl(home, *b["args"], env=cli_env)
        # exit 0, or (killed after the action was complete) the plain refusal of a phase already reached
        if rerun.returncode != 0 and not (rerun.returncode == 1 and "the current phase is already" in rerun.stderr
                                          and "Traceback" not in rerun.stderr):
            return point, problems + [f"rerun exit {rerun.returncode}: {rerun.stderr[-800:]}"], True
        problems += check_done_once(home, b["after"], action, torn)
        third = rolloutctl(home, *b["args"], env=cli_env)      # and once more: nothing further happens
        if governance_state(home, [])["ledger"] != b["after"]["ledger"]:
            problems.append(f"a further run changed the ledger (exit {third.returncode})")
        return point, problems, True

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, chosen))
    failures = [(point, problems) for point, problems, _ in results if problems]
    assert not failures, "\n".join(f"kill at {p}: {'; '.join(ps)}" for p, ps in failures)
    assert len(results) == len(chosen) >= (len(b["points"]) if FULL else 4 if name == "promote" else 5)
    # the kills covered the whole action: before the plan, the plan, every file, the removal of the plan
    kinds = {next(p["kind"] for p in b["points"] if p["n"] == k) for k, _ in chosen}
    assert ({"replace"} if name == "promote" else {"replace", "unlink"}) <= kinds
    _record(name, len(b["points"]), chosen)


def _record(name: str, n_points: int, chosen: list) -> None:
    """With ROLLOUT_RELIABILITY_REPORT=DIR, leave the figures for RELIABILITY.md."""
    folder = os.environ.get("ROLLOUT_RELIABILITY_REPORT")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"action-kills-{name}.json").write_text(json.dumps(
            {"command": COMMANDS[name], "points": n_points, "kills": len(chosen),
             "torn": sum(1 for _, m in chosen if m == "torn"), "full": FULL}))
