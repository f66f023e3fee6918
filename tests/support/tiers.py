"""The two test tiers (README "Tests").

`make test` runs the fast tier: every behaviour at least once, at sizes that keep a fresh clone's whole run within
ten minutes here. `make test-long` (CI runs it after `make test`) sets ROLLOUT_TEST_TIER=long and runs the long
forms: the tests marked `long` (only there) and the tests marked `scaled` again at their long sizes (every crash
point, more hypothesis examples, more soak cycles). A test asks the tier for its size with `sized(fast, long)`.
"""
from __future__ import annotations

import os
import random

LONG = os.environ.get("ROLLOUT_TEST_TIER") == "long"
# Which sample of a scaled test's cases the fast tier takes: fresh each run (printed, so a failure can be rerun with
# ROLLOUT_SAMPLE_SEED), the long tier takes them all.
SAMPLE_SEED = int(os.environ.get("ROLLOUT_SAMPLE_SEED") or random.SystemRandom().randrange(1, 10**6))


def sized(fast, long):
    """The fast tier's size, or the long tier's."""
    return long if LONG else fast


def sample(cases: list, k: int, label: str) -> list:
    """All of `cases` in the long tier; else `k` of them chosen by SAMPLE_SEED (named in the test output)."""
    if LONG or len(cases) <= k:
        return list(cases)
    chosen = sorted(random.Random(f"{SAMPLE_SEED}:{label}").sample(range(len(cases)), k))
    print(f"{label}: {k} of {len(cases)} cases, ROLLOUT_SAMPLE_SEED={SAMPLE_SEED}")
    return [cases[i] for i in chosen]
