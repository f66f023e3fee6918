"""Root-cause analyses in reports/rca/: the stub a rollback opens, and which rollbacks have a complete RCA.

An RCA file names its rollback in YAML front matter (`rollback_id: L0003`) and carries `status: draft` while being
written; setting `status: complete` lifts the block on promotion out of the phase rolled back to.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from rolloutctl.core.files import atomic_write_text
from rolloutctl.core.layout import RCA_RELDIR
from rolloutctl.core.templates import render
from rolloutctl.governance.ledger import LedgerEntry

COMPLETE = "complete"


@dataclass(frozen=True)
class RcaFile:
    rollback_id: str
    path: str               # relative to home
    status: str
    modified_at: datetime

    @property
    def is_complete(self) -> bool:
        return self.status == COMPLETE


def stub_relpath(entry: LedgerEntry) -> Path:
    day = entry.effective_at.strftime("%Y-%m-%d")
    return RCA_RELDIR / f"{day}-{entry.id}-{entry.phase_from}-to-{entry.phase_to}.md"


def open_stub(home: Path, entry: LedgerEntry, rules: list[dict]) -> Path:
    """Write the RCA stub for a rollback (kept as is when it already exists); return its path relative to home."""
    rel = stub_relpath(entry)
    path = Path(home) / rel
    if not path.exists():
        atomic_write_text(path, render("rca_stub.md", entry=entry, rules=rules))
    return rel


def front_matter(text: str) -> dict:
    if not text.startswith("---"):
        return {}
    parts = text.split("\n---", 1)
    if len(parts) < 2:
        return {}
    try:
        doc = yaml.safe_load(parts[0].lstrip("-"))
    except yaml.YAMLError:
        return {}
    return doc if isinstance(doc, dict) else {}


def scan(home: Path) -> list[RcaFile]:
    """Every file in reports/rca/ whose front matter names a rollback."""
    folder = Path(home) / RCA_RELDIR
    found = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        meta = front_matter(path.read_text(encoding="utf-8", errors="replace"))
        if not meta.get("rollback_id"):
            continue
        found.append(RcaFile(
            rollback_id=str(meta["rollback_id"]),
            path=str(path.relative_to(home)),
            status=str(meta.get("status", "")).strip().lower(),
            modified_at=datetime.fromtimestamp(path.stat().st_mtime, UTC),
        ))
    return found


def rollbacks_without_rca(home: Path, entries: list[LedgerEntry], phase: str) -> list[LedgerEntry]:
    """Rollbacks into `phase` whose RCA is not complete: promotion out of `phase` waits for them."""
    done = {f.rollback_id for f in scan(home) if f.is_complete}
    return [e for e in entries if e.action == "rollback" and e.phase_to == phase and e.id not in done]
