"""The analysts' read-only snapshot of the warehouse, published after each build.

DuckDB lets one process write a file or many read it, not both: an analyst's open session on the working
warehouse would block the 15-minute gate. So analysts open `warehouse/analytics.duckdb`, a copy swapped in
atomically (copy to a temporary name, fsync, rename). A session already open keeps reading the file it opened
(the old inode lives on until it closes); a new session sees the new build.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ingest.warehouse import connect, fsync_path, warehouse_path
from rolloutctl.core.layout import analytics_file


def publish(home: Path) -> Path:
    """Checkpoint the warehouse (so the file alone holds everything) and swap in a copy for analysts."""
    source = warehouse_path(home)
    con = connect(home, create=False)
    try:
        con.execute("checkpoint")
    finally:
        con.close()
    target = analytics_file(home)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        shutil.copyfile(source, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
        fsync_path(target.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return target
