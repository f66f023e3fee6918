"""The action in flight: governance/pending-action.json, the whole plan of a promotion or rollback.

An action changes several files (flag defaults, audit log, ledger, and for a rollback the RCA stub, the
rollback.executed event, incident_queue.json and the outbox). Each is rewritten atomically, but a process killed
between two of them would leave the set half done. So `governance.actions` first writes the complete plan here
(atomically: this rename is the action's commit point), then carries out its steps, each idempotent, then removes
the file. Killed before the plan exists, nothing happened; killed after, the next promote, rollback or
`gate --apply` (under the governance lock) finishes the plan first, so the action happens exactly once.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ingest.warehouse import fsync_path
from rolloutctl.core.errors import ConfigError
from rolloutctl.core.files import atomic_write_json
from rolloutctl.core.layout import PENDING_RELPATH


def pending_path(home: Path) -> Path:
    return Path(home) / PENDING_RELPATH


def read(home: Path) -> dict | None:
    """The plan of an interrupted action, or None."""
    path = pending_path(home)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        plan = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); it is only ever written whole, so it was edited: "
                          f"restore it, or remove it once the ledger and audit log agree") from None
    if not isinstance(plan, dict) or not {"action", "entry", "audit", "flags"} <= set(plan):
        raise ConfigError(f"{path}: not an action plan (edited?); remove it once the ledger and audit log agree")
    return plan


def write(home: Path, plan: dict) -> None:
    atomic_write_json(pending_path(home), plan)


def clear(home: Path) -> None:
    path = pending_path(home)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    fsync_path(path.parent)


def describe(plan: dict) -> str:
    e = plan["entry"]
    return f"{e['action']} {e['phase_from']} → {e['phase_to']} ({e['id']}, by {e['executor']})"
