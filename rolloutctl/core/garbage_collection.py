"""When Python's cyclic garbage collector looks at what dbt loads: once, not every cycle.

A build loads dbt's modules and its parsed project (hundreds of thousands of objects that live as long as the
process). Left alone, the collector's full passes walk all of them again and again while the cycle runs, and once
more at exit: together about 1 s of a 6–9 s gate cycle on the benchmark's home (BENCHMARKS.md, run 5). What is
made inside `long_lived(kind)` the first time is created with the collector paused and then frozen (gc.freeze:
moved out of its generations; reference counting still frees it); `at_exit()` freezes everything before the
interpreter's last collection, whose memory the exit returns anyway.
"""
from __future__ import annotations

import contextlib
import gc

_FROZEN: set[str] = set()   # the kinds frozen so far in this process


@contextlib.contextmanager
def long_lived(kind: str):
    """The first block of `kind` in this process (e.g. "dbt modules", "dbt project"): pause the collector while it
    creates objects meant to live as long as the process, then freeze every object there is, so that later passes
    skip them. Later blocks of the same kind (another project parsed by a backtest, or by the test suite) run as
    usual: a process that loads and drops many keeps none of them out of the collector's reach."""
    if kind in _FROZEN:
        yield
        return
    _FROZEN.add(kind)
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()


def at_exit() -> None:
    """The process is about to end: spare it the final collection over every frozen and live object."""
    gc.freeze()
