"""Fixtures of the chart and dashboard tests: rollout homes built once per session."""
from __future__ import annotations

from pathlib import Path

import pytest

from dashboard_homes import pipeline_available, real_home, synthetic_home

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory) -> Path:
    """A home whose marts hold known rows (counts the chart tests can check exactly)."""
    return synthetic_home(tmp_path_factory.mktemp("synthetic-home"))


@pytest.fixture(scope="session")
def rollout_home(tmp_path_factory, synthetic) -> Path:
    """The real pipeline's home (generate → ingest → dbt build) once the metric models exist; else the synthetic."""
    if not pipeline_available():
        return synthetic
    return real_home(tmp_path_factory.mktemp("pipeline-home"))


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
