"""Fixtures of the gate tests."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loader import ingest
from rolloutctl.warehouse import refresh
from tests.support.gate_scenarios import build_events, write_governance


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture(scope="session")
def scenario_home(tmp_path_factory) -> Path:
    """The hand-made rollout of gate_scenarios, ingested and built once (tests that change it work on a copy)."""
    home = tmp_path_factory.mktemp("scenario") / "home"
    home.mkdir()
    build_events().write(home / "logs" / "scenario.jsonl")
    result = ingest(home, [home / "logs"])
    assert result.rejected == 0
    write_governance(home, rca_status="draft")
    refresh.refresh(home)
    return home
