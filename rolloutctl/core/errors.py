"""Errors of the gate and governance side; all are RolloutError, so the CLI maps them to exit codes in one place."""
from __future__ import annotations

from ingest.errors import ConfigError, DataError, RolloutError, UsageError

__all__ = ["ActionInProgress", "ActionRefused", "ConfigError", "DataError", "RcaMissing", "RolloutError",
           "UsageError"]


class ActionInProgress(RolloutError):
    """Another rolloutctl process holds the governance lock (two operators acting at once)."""


class ActionRefused(RolloutError):
    """A promotion or rollback that the rules do not allow (e.g. promote when the gate does not say promote)."""


class RcaMissing(ActionRefused):
    """Promotion out of a phase is blocked until the RCA of the rollback into it is complete."""
