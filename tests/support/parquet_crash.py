"""Run `rolloutctl ARGS` and SIGKILL it at one step of the Parquet sink (fault injection on the real files).

    python parquet_crash.py STEP K -- ingest --sink parquet DIR logs/

STEP says where, K at which occurrence (1-based) the process kills itself:
  torn    in the middle of writing the K-th Parquet file: half its bytes on disk under the temporary name
  write   after the K-th file is written and listed, before the block's commit
  commit  after the K-th block's commit, before its files are renamed in place
  rename  after the K-th rename, before the block's files are marked published
The steps are ingest.parquet_sink.ParquetSink's own methods; the process dies with SIGKILL (no cleanup runs), as
tests/reliability/crashpoint.py does for the actions.
"""
from __future__ import annotations

import os
import signal
import sys

STEP, KILL_AT = sys.argv[1], int(sys.argv[2])
ARGS = sys.argv[sys.argv.index("--") + 1:]

from ingest import parquet_sink  # noqa: E402
from rolloutctl.cli import main  # noqa: E402

_seen = {"n": 0}


def _count() -> bool:
    _seen["n"] += 1
    return _seen["n"] == KILL_AT


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _after(name: str):
    real = getattr(parquet_sink.ParquetSink, name)

    def call(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        if _count():
            _die()
        return out
    setattr(parquet_sink.ParquetSink, name, call)


if STEP == "torn":
    real_write = parquet_sink.pq.write_table

    def torn_write(table, where, *args, **kwargs):
        real_write(table, where, *args, **kwargs)
        if str(where).endswith(parquet_sink.TEMP_SUFFIX) and "/events/" in str(where) and _count():
            size = os.path.getsize(where)
            os.truncate(where, size // 2)
            _die()
    parquet_sink.pq.write_table = torn_write
else:
    _after({"write": "_write_file", "commit": "_commit_state", "rename": "_rename"}[STEP])

sys.argv = ["rolloutctl", *ARGS]
main()
