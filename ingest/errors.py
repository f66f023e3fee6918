"""The library's exceptions; the CLI maps them to exit codes in one place."""
from __future__ import annotations

import errno
import re
import sys
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
    """Another process holds the DuckDB file (and kept it for as long as we were willing to wait)."""

    def __init__(self, path: Path, detail: str, waited: float | None = None):
        holder = re.search(r"\(PID (\d+)\)", detail) or re.search(r"PID (\d+)", detail)
        pid = int(holder.group(1)) if holder else None
        who = f"process {pid}{_command_of(pid)}" if pid else "another process"
        after = f" (waited {waited:g} s, {LOCK_WAIT_ENV})" if waited else ""
        super().__init__(
            f"the warehouse {path} is in use by {who}{after}; wait for it to finish "
            f"(an ingest, build or gate) or close that session, then retry"
        )
        self.path = path
        self.holder_pid = pid


LOCK_WAIT_ENV = "ROLLOUT_LOCK_WAIT"


def _command_of(pid: int) -> str:
    """` (its command line)` when the system says (Linux /proc), else ``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            argv = [a.decode("utf-8", "replace") for a in fh.read().split(b"\0") if a]
    except OSError:
        return ""
    if not argv:
        return ""
    text = " ".join(" ".join(Path(argv[0]).name if i == 0 else a for i, a in enumerate(argv)).split())  # one line
    return f" ({text[:120]}{'…' if len(text) > 120 else ''})"


# What to do about a failure of the machine rather than of the data: errno → advice.
_OS_ADVICE = {
    errno.ENOSPC: "no space left on the device: free some space (or use a --home on a larger disk), then run the "
                  "same command again; it resumes from what was committed",
    errno.EDQUOT: "disk quota exceeded: free some space, then run the same command again; it resumes from what was "
                  "committed",
    errno.EROFS: "the file system is read-only: use a --home on a writable disk",
    errno.EACCES: "permission denied: run as a user who may use it, or fix its permissions",
    errno.EPERM: "operation not permitted: run as a user who may use it, or fix its permissions",
    errno.ENOENT: "no such file or folder",
    errno.EIO: "input/output error: the disk is failing; copy what you can elsewhere and check the device",
}
_DUCKDB_ERRNO = (("No space left on device", errno.ENOSPC), ("Disk quota exceeded", errno.EDQUOT),
                 ("Read-only file system", errno.EROFS), ("Permission denied", errno.EACCES))


def from_os_error(exc: OSError) -> RolloutError:
    """An OSError (full disk, read-only or unreadable file, …) as a one-line error naming the file and what to do."""
    where = exc.filename if exc.filename is not None else "a file"
    advice = _OS_ADVICE.get(exc.errno) or (exc.strerror or str(exc))
    return RolloutError(f"{where}: {advice}")


def filesystem_advice(text: str) -> str | None:
    """What to do when a DuckDB message is the file system's error (full disk, read-only, permissions), else None."""
    for needle, code in _DUCKDB_ERRNO:
        if needle in text:
            return _OS_ADVICE[code]
    return None


def from_duckdb_error(exc: Exception, path: Path | None = None) -> RolloutError:
    """A DuckDB error that escaped the library, as one line: the file system's advice when it is one."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    quoted = re.search(r'"(/[^"]+)"', first)        # DuckDB quotes the file it failed on
    where = path or (quoted.group(1) if quoted else "the warehouse")
    advice = filesystem_advice(text)
    if advice:
        return RolloutError(f"{where}: {advice} ({first})")
    return RolloutError(f"DuckDB failed on {where}: {first}")


def as_rollout_error(exc: BaseException) -> RolloutError | None:
    """An error a user can act on, as a RolloutError: itself, an OSError (the machine, not the data: full disk,
    read-only home, unreadable file) or a DuckDB error (e.g. the disk filled up under DuckDB); None for anything
    else (a bug: its traceback should show)."""
    if isinstance(exc, RolloutError):
        return exc
    if isinstance(exc, OSError):
        return from_os_error(exc)
    duckdb = sys.modules.get("duckdb")   # loaded only by the commands that open a warehouse
    if duckdb is not None and isinstance(exc, duckdb.Error):
        return from_duckdb_error(exc)
    return None
