"""Run `rolloutctl ARGS` and SIGKILL it at the K-th file-system change of its action (fault injection, not a mock).

    python crashpoint.py K MODE LOGFILE -- --home H gate --apply --executor bob

From the moment the action starts (rolloutctl.governance.actions.record_transition, or complete_pending finishing an
interrupted one), every call that changes the file system is counted: os.open for writing, write, pwrite,
ftruncate, fsync, fchmod, chmod, mkdir, rename, replace, unlink, sendfile. Before the K-th one the process kills
itself with SIGKILL (MODE "before"), or, when it is a write, writes the first half of its bytes and then kills
itself (MODE "torn": what a kill in the middle of a large write leaves). K = 0 never kills. Every counted call is
logged to LOGFILE as one JSON line (kind and file), so a run with K = 0 tells the test how many points there are.
The calls themselves are the real ones, on the real files.
"""
from __future__ import annotations

import json
import os
import signal
import sys

KILL_AT, MODE, LOG = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ARGS = sys.argv[sys.argv.index("--") + 1:]

_state = {"armed": False, "n": 0}
_fd_paths: dict[int, str] = {}
_log = open(LOG, "a", buffering=1, encoding="utf-8")
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND


def _where(target) -> str:
    if isinstance(target, int):
        return _fd_paths.get(target, f"fd {target}")
    return os.fsdecode(target)


def _point(kind: str, target, data=None) -> None:
    """Count one change; die here when it is the K-th."""
    if not _state["armed"]:
        return
    _state["n"] += 1
    n = _state["n"]
    _log.write(json.dumps({"n": n, "kind": kind, "file": _where(target)}) + "\n")
    if n != KILL_AT:
        return
    if MODE == "torn" and data is not None and len(data) > 1:
        _real["write"](target, bytes(data)[: len(data) // 2])
    os.kill(os.getpid(), signal.SIGKILL)


_real = {name: getattr(os, name) for name in
         ("open", "write", "pwrite", "ftruncate", "fsync", "fchmod", "chmod", "mkdir", "rename", "replace", "unlink",
          "sendfile")}


def _open(path, flags, mode=0o777, *, dir_fd=None):
    if flags & _WRITE_FLAGS:
        _point("open", path)
    fd = _real["open"](path, flags, mode, dir_fd=dir_fd)
    _fd_paths[fd] = os.fsdecode(path)
    return fd


def _write(fd, data):
    _point("write", fd, data)
    return _real["write"](fd, data)


def _pwrite(fd, data, offset):
    _point("pwrite", fd)
    return _real["pwrite"](fd, data, offset)


def _simple(name):
    def call(target, *args, **kwargs):
        _point(name, target)
        return _real[name](target, *args, **kwargs)
    return call


def _sendfile(out_fd, in_fd, offset, count):
    _point("sendfile", out_fd)
    return _real["sendfile"](out_fd, in_fd, offset, count)


os.open, os.write, os.pwrite, os.sendfile = _open, _write, _pwrite, _sendfile
for _name in ("ftruncate", "fsync", "fchmod", "chmod", "mkdir", "rename", "replace", "unlink"):
    setattr(os, _name, _simple(_name))

from rolloutctl.cli import main  # noqa: E402
from rolloutctl.governance import actions  # noqa: E402  (after the patches: the modules see the counting os functions)


def _arming(fn):
    def call(*args, **kwargs):
        _state["armed"] = True
        return fn(*args, **kwargs)
    return call


actions.record_transition = _arming(actions.record_transition)
actions._carry_out = _arming(actions._carry_out)

sys.argv = ["rolloutctl", *ARGS]
main()
