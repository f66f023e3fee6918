"""The phase order of SPEC §2: A-0 → A-1 → A-2 → B-0 → B-1."""
from __future__ import annotations

from rolloutctl.core.errors import UsageError

PHASES = ("A-0", "A-1", "A-2", "B-0", "B-1")
FIRST_PHASE = PHASES[0]


def check(phase: str) -> str:
    if phase not in PHASES:
        raise UsageError(f"unknown phase {phase!r}: expected one of {', '.join(PHASES)}")
    return phase


def next_phase(phase: str) -> str | None:
    i = PHASES.index(check(phase))
    return PHASES[i + 1] if i + 1 < len(PHASES) else None


def order(phase: str) -> int:
    return PHASES.index(check(phase))
