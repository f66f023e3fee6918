"""The library's exceptions; the CLI maps them to exit codes in one place."""
from __future__ import annotations

import re
from pathlib import Path


class RolloutError(Exception):
    """Base of every error a user can act on (no traceback shown)."""

    exit_code = 1


class UsageError(RolloutError):
    exit_code = 2


class ConfigError(RolloutError):
    pass


class DataError(RolloutError):
    pass


class WarehouseError(RolloutError):
    pass


class WarehouseBusy(WarehouseError):
    """Another process holds the DuckDB file."""

    def __init__(self, path: Path, detail: str):
        holder = re.search(r"\(PID (\d+)\)", detail) or re.search(r"PID (\d+)", detail)
        who = f"process {holder.group(1)}" if holder else "another process"
        super().__init__(
            f"the warehouse {path} is in use by {who}; wait for it to finish "
            f"(an ingest, build or gate) or close that session, then retry"
        )
        self.path = path
        self.holder_pid = int(holder.group(1)) if holder else None
