"""Fixtures of the data-quality, replay and backtest tests. The gate tests' hand-made rollout is reused from
tests/gate (gate_scenarios)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "gate"))


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dbt-target")
