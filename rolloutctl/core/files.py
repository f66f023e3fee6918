"""Files that survive crashes and concurrent operators: atomic rewrites, whole-line appends, the governance lock.

- `atomic_write_*`: write a temp file in the same folder, fsync it, rename it over the target, fsync the folder:
  after a crash the target holds either the old or the new content, never half of either.
- `append_line`: one whole line with O_APPEND under flock, then fsync.
- `governance_lock`: one exclusive, non-blocking fcntl lock per home for everything that changes governance state
  (ledger, audit, flag defaults, incident queue); a second operator gets ActionInProgress naming the holder.

Files are created readable by all but writable by their owner only (0644 at most, narrowed further by the umask),
and folders 0755 at most, whatever the umask: nobody else may edit or replace the ledger, audit log or flags.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import tempfile
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ingest.warehouse import fsync_path
from rolloutctl.core.errors import ActionInProgress
from rolloutctl.core.layout import LOCK_RELPATH

_UMASK = os.umask(0)
os.umask(_UMASK)
# owner writes; a umask of 0 or 002 must not make governance files writable by others
FILE_MODE = 0o644 & ~_UMASK
DIR_MODE = 0o755 & ~_UMASK


def make_dirs(path: Path) -> None:
    """mkdir -p whose new folders are writable by their owner only (DIR_MODE), whatever the umask."""
    path = Path(path)
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            continue
        os.chmod(folder, DIR_MODE)      # mkdir's mode is masked by the umask only, which may be 0


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)                # mkstemp makes 0600; these files are for every reader
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_path(path.parent)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def dump_json(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, dump_json(obj))


def append_line(path: Path, line: str) -> None:
    """Append one whole line (no newline inside) and fsync it."""
    assert "\n" not in line
    path = Path(path)
    make_dirs(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        data = (line + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def governance_lock(home: Path, purpose: str):
    """Hold the home's governance lock for `purpose`; raise ActionInProgress at once when another process has it."""
    path = Path(home) / LOCK_RELPATH
    make_dirs(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "another process"
            raise ActionInProgress(
                f"another rolloutctl action is in progress ({holder}); nothing was done here — "
                f"run the command again once it has finished"
            ) from None
        since = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, {purpose}, since {since}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
