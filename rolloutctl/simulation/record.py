"""The last simulation's figures, kept in a home so that the backtest and the report can show, beside each verdict,
how often the policy the gate acts on is wrong: its false-rollback rate on A/A rollouts and its detection rate and
delay on each injected regression (rolloutctl simulate, STATISTICS.md).

    save(home, result.as_json())      # <home>/warehouse/gate-trials.json
    measured(home)                    # the current policy's figures, or None: not simulated yet
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from rolloutctl.core.errors import DataError
from rolloutctl.core.files import atomic_write_text
from rolloutctl.core.layout import GATE_TRIALS_RELPATH

# the policy the gate acts on: marts.gate_decisions, the seed's rules
CURRENT_POLICY = "seed"
# the regressions an operator reads first: the sizes the Done-when names
HEADLINE_SCENARIOS = ("p95_+50%", "restore_-1pt")


def save(home: Path, trials: dict, now: datetime | None = None) -> Path:
    """Write the figures of a simulation (TrialsResult.as_json()) into the home; return the file's relative path."""
    stamped = {"simulated_at": (now or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"), **trials}
    atomic_write_text(Path(home) / GATE_TRIALS_RELPATH, json.dumps(stamped, indent=2) + "\n")
    return GATE_TRIALS_RELPATH


def load(home: Path) -> dict | None:
    """The last simulation's figures, or None when the home has none. A file that is not a simulation's raises
    DataError naming it (the file is left as it is)."""
    path = Path(home) / GATE_TRIALS_RELPATH
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{GATE_TRIALS_RELPATH}: not JSON ({exc}); run `rolloutctl simulate` again") from exc
    if not isinstance(data, dict) or not isinstance(data.get("summary"), list) or "rollouts" not in data:
        raise DataError(f"{GATE_TRIALS_RELPATH}: not the output of `rolloutctl simulate` (no summary or rollouts); "
                         "run it again")
    return data


def measured(home: Path, policy: str = CURRENT_POLICY) -> dict | None:
    """`policy`'s figures from the last simulation: false-rollback rate on A/A rollouts, and per regression scenario
    its detection rate and median / p90 delay (minutes); None when the home was not simulated yet."""
    data = load(home)
    if data is None:
        return None
    rows = [r for r in data["summary"] if r.get("policy") == policy]
    aa = next((r for r in rows if r.get("scenario") == "aa"), None)
    return {
        "policy": policy,
        "simulated_at": data.get("simulated_at"),
        "rollouts": data["rollouts"],
        "seed": data.get("seed"),
        "false_rollback_rate": aa["false_rollback_rate"] if aa else None,
        "regressions": [{k: r.get(k) for k in ("scenario", "detection_rate", "median_delay_min", "p90_delay_min")}
                        for r in rows if r.get("detection_rate") is not None],
    }


def describe(figures: dict | None) -> list[str]:
    """Plain sentences of `measured`'s figures, for the CLI and the report: the headline regressions only."""
    if figures is None:
        return ["not simulated yet: `rolloutctl simulate` measures the gate's false-rollback rate and detection delay"]

    def pct(v):
        return "—" if v is None else f"{100 * v:.1f}%"

    def hours(v):
        return "—" if v is None else f"{v / 60:.1f} h"

    lines = [f"policy `{figures['policy']}`: false rollback {pct(figures['false_rollback_rate'])} of healthy (A/A) "
             f"rollouts ({figures['rollouts']} simulated per scenario, seed {figures['seed']}, "
             f"{figures['simulated_at']})"]
    for r in figures["regressions"]:
        if r["scenario"] in HEADLINE_SCENARIOS:
            lines.append(f"{r['scenario']}: detected {pct(r['detection_rate'])}, median delay "
                         f"{hours(r['median_delay_min'])} (p90 {hours(r['p90_delay_min'])})")
    return lines


def lines_for(home: Path) -> list[str]:
    """describe(measured(home)) for the report and the dashboard, which must not fail over this file: a damaged one
    becomes a sentence saying so."""
    try:
        return describe(measured(home))
    except DataError as exc:
        return [f"the last simulation's figures cannot be read: {exc}"]
