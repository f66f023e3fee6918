"""Fixtures of the data-quality, replay and backtest tests. The gate tests' hand-made rollout is reused from
tests/gate (gate_scenarios)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dbt-target")


@pytest.fixture(scope="session")
def verdict_built(tmp_path_factory) -> Path:
    """The verdict rollout (verdict_home.py), ingested and built once: A-1's saves at 300 ms from 08:00, then
    3000 ms from 09:00, so A-1 rolls back from 09:15 (p95 over 1 h above the 900 ms critical level)."""
    from ingest.loader import ingest
    from rolloutctl.warehouse import refresh
    from tests.support.verdict_home import write_events

    home = tmp_path_factory.mktemp("verdicts") / "home"
    home.mkdir()
    assert ingest(home, [write_events(home)]).rejected == 0
    refresh.refresh(home)
    return home


@pytest.fixture
def verdict_copy(verdict_built, tmp_path) -> Path:
    """A copy of the built verdict rollout, for a test that changes it."""
    copy = tmp_path / "home"
    shutil.copytree(verdict_built, copy)
    return copy
