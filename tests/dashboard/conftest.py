"""Fixtures of the chart and dashboard tests: rollout homes built once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.dashboard_homes import real_home, synthetic_home

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> Path:
    """A home whose marts hold known rows (counts the chart tests can check exactly)."""
    return synthetic_home(tmp_path_factory.mktemp("synthetic-home"))


@pytest.fixture(scope="session")
def rollout_home(tmp_path_factory) -> Path:
    """The real pipeline's home (generate → ingest → dbt build)."""
    return real_home(tmp_path_factory.mktemp("pipeline-home"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
