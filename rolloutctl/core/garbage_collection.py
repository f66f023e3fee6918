"""When Python's cyclic garbage collector looks at what dbt loads: once, not every cycle.

A build loads dbt's modules and its parsed project (hundreds of thousands of objects that live as long as the
process). Left alone, the collector's full passes walk all of them again and again while the cycle runs, and once
more at exit: together about 1 s of a 6–9 s gate cycle on the benchmark's home (BENCHMARKS.md, run 5). Objects made
inside `long_lived()` are created with the collector paused and then frozen (gc.freeze: moved out of its
generations; reference counting still frees them); `at_exit()` freezes everything before the interpreter's last
collection, whose memory the exit returns anyway.
"""
from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def long_lived():
    """Pause the collector while the block creates objects meant to live as long as the process, then freeze
    every object there is, so that later passes skip them. Use it for what a process loads once (a module, a parsed
    project), never in a loop: whatever cyclic garbage exists when it ends is never collected."""
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
