"""dbt's parse of the project, kept on disk from one process to the next.

A 15-minute cycle is a new process, and dbt's partial parse still costs it about a second (reading its saved state,
hashing every file again, rebuilding the graph); loading the manifest it would arrive at takes a few hundredths.

The file, `<dbt target folder>/rolloutctl-manifest.pickle`, starts with the key it was parsed for: the project's
folder, the target, definitions_hash (every file dbt parses), and the versions of Python, dbt-core, dbt-adapters and
dbt-duckdb. Any difference, or a file that cannot be read back, and it is ignored: dbt parses, and the file is
replaced. It is a pickle, so it is read only when it belongs to this user and nobody else may write to it (as ssh
treats its keys); it sits beside the warehouse, which that user can change anyway.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import pickle
import sys
from importlib import metadata
from pathlib import Path

FILE_NAME = "rolloutctl-manifest.pickle"
_PACKAGES = ("dbt-core", "dbt-adapters", "dbt-duckdb")


def stamp(key: tuple[str, ...]) -> dict:
    """What a saved manifest must have been parsed with to be reused."""
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {"key": list(key), "python": sys.version, "versions": versions}


def load(folder: Path, key: tuple[str, ...]):
    """The manifest saved in `folder` for `key`, or None (none saved, another key or version, not trusted, or
    unreadable)."""
    path = Path(folder) / FILE_NAME
    try:
        with open(path, "rb", opener=_no_follow) as fh:
            if not _trusted(os.fstat(fh.fileno())):
                return None
            if pickle.load(fh) != stamp(key):
                return None
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:   # a torn or foreign file is a cache miss, never a failed cycle: dbt parses instead
        return None


def save(folder: Path, key: tuple[str, ...], manifest) -> None:
    """Keep `manifest` for the next process (written aside, then renamed: a reader sees the old file or the new).
    A folder that cannot take it only costs the next process its parse."""
    folder = Path(folder)
    tmp = folder / f".{FILE_NAME}.{os.getpid()}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb", opener=_private) as fh:
            pickle.dump(stamp(key), fh, protocol=pickle.HIGHEST_PROTOCOL)
            _ManifestPickler(fh, protocol=pickle.HIGHEST_PROTOCOL).dump(manifest)
        os.replace(tmp, folder / FILE_NAME)
    except (OSError, pickle.PicklingError):
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)


class _ManifestPickler(pickle.Pickler):
    """dbt's Manifest.__reduce_ex__ passes its fields by position and misses some (dbt-core 1.11: `fixtures`), so
    every field after it lands one place off and source() fails on the copy. Pickled here by name instead, without
    its lookups and lock (the lookups are rebuilt on first use, as after a parse)."""

    def reducer_override(self, obj):
        from dbt.contracts.graph.manifest import Manifest

        if type(obj) is not Manifest:
            return NotImplemented
        state = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj) if not f.name.startswith("_")}
        return _manifest, (type(obj), state)


def _manifest(cls, state: dict):
    return cls(**state)


def _trusted(st: os.stat_result) -> bool:
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _no_follow(path: str, flags: int) -> int:
    return os.open(path, flags | os.O_NOFOLLOW)


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)
