"""Fixtures and settings every test folder shares: the tiers' hypothesis profiles, and the demo rollout."""
from __future__ import annotations

import os

import pytest
from hypothesis import settings

from tests.support.tiers import LONG, SAMPLE_SEED

# dbt's own log file (the home's warehouse/dbt.log) costs a small build a tenth of its time; the tests read what
# run_dbt returns, and one test (test_metrics_build) turns the log on to check where it goes. Subprocesses inherit it.
os.environ.setdefault("ROLLOUT_DBT_LOG_LEVEL", "none")
# dbt's work per node is Python under one lock: on the tests' small warehouses a second dbt thread costs CPU (a tenth
# more per build, measured) and saves no time, and the suite already runs a process per core. Subprocesses inherit it.
os.environ.setdefault("ROLLOUT_DBT_THREADS", "1")

settings.register_profile("long", deadline=None, print_blob=True)
settings.register_profile("fast", deadline=None, print_blob=True)
settings.load_profile("long" if LONG else "fast")


def pytest_report_header(config):
    return f"test tier: {'long' if LONG else 'fast'}; ROLLOUT_SAMPLE_SEED={SAMPLE_SEED}"


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The demo's whole rollout (ten days in daily steps: a regression, a rollback, an RCA, GA), built once per
    session for every test that reads it (they share an xdist group, so one worker builds it). Its final build with
    every unit and data test runs in the long tier (the fast tier's `make test-dbt` runs them on its own warehouse)."""
    from rolloutctl.simulation.demo import run_demo

    return run_demo(tmp_path_factory.mktemp("demo") / "home", days=10, events_per_day=30_000, step_hours=24,
                    final_tests=LONG)
