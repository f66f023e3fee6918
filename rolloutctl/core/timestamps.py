"""UTC timestamps as the files and reports show them: RFC 3339 with a Z."""
from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso_z(t: datetime) -> str:
    """2026-11-05T10:15:00Z (microseconds kept only when present)."""
    t = t.astimezone(UTC)
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if t.microsecond else "%Y-%m-%dT%H:%M:%SZ"
    return t.strftime(fmt)


def parse_utc(text: str) -> datetime:
    """Parse an RFC 3339 / ISO time; a time without offset is taken as UTC."""
    t = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC)
