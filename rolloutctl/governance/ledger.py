"""The phase ledger, governance/phase-ledger.yaml: the ordered list of promotions and rollbacks.

The current phase is the last entry's phase_to (A-0 with no ledger). Entries are only ever appended, by rolloutctl,
under the governance lock, with an atomic rewrite of the file (temp + fsync + rename).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import yaml

from rolloutctl.core.errors import ConfigError
from rolloutctl.core.files import atomic_write_text
from rolloutctl.core.layout import LEDGER_RELPATH
from rolloutctl.core.phases import FIRST_PHASE, PHASES
from rolloutctl.core.timestamps import parse_utc

ACTIONS = ("promote", "rollback")
REPAIR = ("it is written only by rolloutctl: restore its last good copy (each entry is also in the audit log; "
          "`rolloutctl audit verify` shows what disagrees)")
HEADER = (
    "# Phase ledger: every promotion and rollback, oldest first. Written by rolloutctl (promote, rollback,\n"
    "# gate --apply) under a lock; do not edit by hand: `rolloutctl audit verify` checks it against the audit log.\n"
)


@dataclass
class LedgerEntry:
    id: str
    action: str                 # promote | rollback
    phase_from: str
    phase_to: str
    executor: str
    timestamp: str              # when the change took effect (the evaluation time T acted on), RFC 3339 UTC
    recorded_at: str            # wall clock when it was written
    reason: str
    forced: bool = False        # a promotion forced past a gate that did not say promote
    trigger_rules: list[str] = field(default_factory=list)
    metrics_file: str | None = None     # frozen analyzer output the action was taken on, relative to home
    metrics_sha256: str | None = None
    audit_seq: int | None = None        # the audit line recording this entry
    audit_hash: str | None = None
    rca_file: str | None = None         # rollbacks: the RCA stub opened for it, relative to home

    @property
    def effective_at(self) -> datetime:
        return parse_utc(self.timestamp)

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def ledger_path(home: Path) -> Path:
    return Path(home) / LEDGER_RELPATH


def read(home: Path) -> list[LedgerEntry]:
    path = ledger_path(home)
    if not path.exists():
        return []
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = " ".join(str(getattr(exc, "problem", None) or exc).split())
        raise ConfigError(f"{path}: not valid YAML{where} ({problem}); {REPAIR}") from None
    if doc is None:
        return []
    if not isinstance(doc, list):
        raise ConfigError(f"{path}: expected a list of entries, found {type(doc).__name__}")
    entries = []
    known = set(LedgerEntry.__dataclass_fields__)
    for i, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            raise ConfigError(f"{path}: entry {i} is not a mapping")
        unknown = set(item) - known
        if unknown:
            raise ConfigError(f"{path}: entry {i} has unknown keys {sorted(unknown)}")
        try:
            entry = LedgerEntry(**item)
            entry.effective_at  # noqa: B018 — parses the timestamp: a malformed one raises here
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: entry {i} is incomplete or malformed ({exc}); {REPAIR}") from None
        for key, allowed in (("action", ACTIONS), ("phase_from", PHASES), ("phase_to", PHASES)):
            if getattr(entry, key) not in allowed:
                raise ConfigError(f"{path}: entry {i} ({entry.id}) has {key} {getattr(entry, key)!r}, not one of "
                                  f"{', '.join(allowed)}; {REPAIR}")
        entries.append(entry)
    return entries


def current_phase(entries: list[LedgerEntry]) -> str:
    return entries[-1].phase_to if entries else FIRST_PHASE


def next_id(entries: list[LedgerEntry]) -> str:
    return f"L{len(entries) + 1:04d}"


def last_entry_into(entries: list[LedgerEntry], phase: str) -> LedgerEntry | None:
    for entry in reversed(entries):
        if entry.phase_to == phase:
            return entry
    return None


def write(home: Path, entries: list[LedgerEntry]) -> None:
    """Replace the ledger with `entries` atomically. Call under files.governance_lock."""
    body = yaml.safe_dump([e.as_dict() for e in entries], sort_keys=False, allow_unicode=True, width=100)
    atomic_write_text(ledger_path(home), HEADER + body)


def append(home: Path, entry: LedgerEntry) -> list[LedgerEntry]:
    """Append one entry (re-reading the file under the caller's lock) and return the new ledger."""
    entries = read(home)
    if any(e.id == entry.id for e in entries):
        raise ConfigError(f"ledger entry {entry.id} already exists")
    entries.append(entry)
    write(home, entries)
    return entries
