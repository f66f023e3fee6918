"""Fixtures of the reliability tests: a built home whose gate says promote, and the environment for real
`rolloutctl` processes. The gate tests' hand-made rollout (tests/gate/gate_scenarios.py) provides the events."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def dbt_target(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dbt-target-reliability")


@pytest.fixture(scope="session")
def cli_env() -> dict:
    """The environment of a real `rolloutctl` process: this checkout, no notification endpoints, a 30 s lock wait,
    dbt's target folder in each home (the default)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROLLOUT_")}
    env.update(PYTHONPATH=str(ROOT))
    for name in ("ROLLOUT_DBT_LOG_LEVEL", "ROLLOUT_DBT_THREADS"):   # the tests' settings (tests/conftest.py)
        if name in os.environ:
            env[name] = os.environ[name]
    return env


@pytest.fixture(scope="session")
def promote_home(tmp_path_factory, dbt_target) -> Path:
    """A-0 of the hand-made rollout, ingested and built: `gate` says promote to A-1. Copy it before changing it."""
    from ingest.loader import ingest
    from rolloutctl.warehouse import refresh
    from tests.support.gate_scenarios import build_events

    home = tmp_path_factory.mktemp("promote") / "home"
    events = build_events()
    events.lines = [e for e in events.lines if e["phase"] == "A-0"]
    events.write(home / "logs" / "a0.jsonl")
    assert ingest(home, [home / "logs"]).rejected == 0
    refresh.refresh(home, target_path=dbt_target)
    return home
