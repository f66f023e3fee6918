"""The home has no silent default: without --home or ROLLOUT_HOME a command that needs one says so and writes
nothing; and every file a home holds is ignored by git, should a home ever be pointed inside the checkout."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from rolloutctl.cli import cli
from rolloutctl.cli.options import NO_HOME
from rolloutctl.core import layout

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("args", [["gate", "--no-build"], ["ingest", "logs"], ["flags", "resolve"], ["build"]])
def test_no_home_is_a_usage_error_and_writes_nothing(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROLLOUT_HOME", raising=False)
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert NO_HOME in result.output
    assert list(tmp_path.iterdir()) == []


def test_commands_without_state_need_no_home(monkeypatch):
    monkeypatch.delenv("ROLLOUT_HOME", raising=False)
    assert CliRunner().invoke(cli, ["schema", "lint"]).exit_code == 0
    assert CliRunner().invoke(cli, ["config", "check"]).exit_code == 0


def test_gitignore_covers_every_file_a_home_holds():
    paths = [*layout.HOME_ENTRIES, layout.LEDGER_RELPATH, layout.AUDIT_RELDIR / "2026-11-05.jsonl",
             layout.PENDING_RELPATH, layout.LOCK_RELPATH, layout.SEED_COPIES_RELDIR / "gate_rules-0.csv"]
    shown = subprocess.run(["git", "check-ignore", "--no-index", *map(str, paths)], cwd=REPO, capture_output=True,
                           text=True).stdout.split()
    assert sorted(shown) == sorted(str(p) for p in paths if str(p) != "governance")
    # the checkout's own governance/ (the policy) is not ignored
    policy = subprocess.run(["git", "check-ignore", "--no-index", "governance/gate_rules.csv"], cwd=REPO,
                            capture_output=True, text=True)
    assert policy.returncode == 1


def test_a_gate_inside_the_checkout_with_no_home_writes_nothing_there(monkeypatch):
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("ROLLOUT_HOME", raising=False)
    before = sorted(p.name for p in REPO.iterdir()), sorted(p.name for p in (REPO / "governance").rglob("*"))
    result = CliRunner().invoke(cli, ["gate", "--apply", "--executor", "oncall-bot"])
    assert result.exit_code == 2 and NO_HOME in result.output
    assert (sorted(p.name for p in REPO.iterdir()), sorted(p.name for p in (REPO / "governance").rglob("*"))) == before
