"""Cut a block of bytes into complete lines, fast, and hand them to DuckDB as one Arrow column."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

_SCAN = 1 << 22  # scan for newlines 4 MiB at a time: it stays in cache and is ~5x faster than one pass


@dataclass
class LineBlock:
    """The complete lines of a block: `starts[i]:ends[i]` is line i without its line end."""

    data: bytes
    starts: np.ndarray
    ends: np.ndarray  # exclusive, before "\n" (and before a "\r" of "\r\n")
    consumed: int  # bytes up to and including the last "\n"

    def __len__(self) -> int:
        return len(self.starts)

    def line(self, i: int) -> bytes:
        return self.data[self.starts[i] : self.ends[i]]


def newline_positions(data: bytes) -> np.ndarray:
    buf = np.frombuffer(data, np.uint8)
    parts = [np.flatnonzero(buf[s : s + _SCAN] == 10) + s for s in range(0, len(buf), _SCAN)]
    return np.concatenate(parts) if parts else np.empty(0, np.int64)


def split_lines(data: bytes) -> LineBlock:
    """Complete lines only: bytes after the last newline are an unterminated line left for the next run."""
    nl = newline_positions(data).astype(np.int64)
    starts = np.empty(len(nl), np.int64)
    if len(nl):
        starts[0] = 0
        starts[1:] = nl[:-1] + 1
    ends = nl.copy()
    if len(nl):
        buf = np.frombuffer(data, np.uint8)
        has_cr = (ends > starts) & (buf[np.maximum(ends - 1, 0)] == 13)
        ends[has_cr] -= 1
    consumed = int(nl[-1]) + 1 if len(nl) else 0
    return LineBlock(data, starts, ends, consumed)


def as_arrow_lines(block: LineBlock, keep: np.ndarray | None = None) -> pa.Array | None:
    """The lines (without line ends) as an Arrow string-view array over the block's own memory: no copy of the
    text, and DuckDB scans it directly. `keep` selects lines by index. Returns None when the kept lines are not all
    valid UTF-8 (the caller then looks line by line)."""
    starts, ends = block.starts, block.ends
    if keep is not None:
        starts, ends = starts[keep], ends[keep]
    n = len(starts)
    lengths = (ends - starts).astype(np.int32)
    buf = np.frombuffer(block.data, np.uint8)
    # A view is 16 bytes: length, then either the string inline (<= 12 bytes) or its 4-byte prefix, the buffer
    # index and the offset (Arrow columnar format, "Variable-size Binary View Layout").
    views = np.zeros((n, 16), np.uint8)
    views[:, 0:4] = lengths.view(np.uint8).reshape(n, 4) if n else views[:, 0:4]
    last = max(len(buf) - 1, 0)
    for k in range(4):
        views[:, 4 + k] = np.where(k < lengths, buf[np.minimum(starts + k, last)], 0) if n else 0
    long_ = lengths > 12
    offs = views[:, 12:16]
    offs[long_] = starts[long_].astype(np.int32).view(np.uint8).reshape(-1, 4)
    for i in np.flatnonzero(~long_ & (lengths > 4)):  # short lines: the rest of the text inline
        text = block.data[starts[i] : ends[i]]
        views[i, 4 : 4 + len(text)] = np.frombuffer(text, np.uint8)
    arr = pa.StringViewArray.from_buffers(
        pa.string_view(), n, [None, pa.py_buffer(views.tobytes()), pa.py_buffer(block.data)]
    )
    try:
        arr.validate(full=True)
    except pa.ArrowInvalid:
        return None
    return arr
