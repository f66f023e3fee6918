"""Flags resolve environment → local override (A-0 and A-1 only) → the phase's defaults; push, rollback, verify."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from rolloutctl.cli import cli
from rolloutctl.core.errors import ConfigError
from rolloutctl.governance import flags
from tests.support.gate_support import promoted_to

NO_ENV: dict = {}


def _local(home, **values):
    path = home / flags.FLAG_OVERRIDE_RELPATH
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(values))


def test_defaults_of_the_current_phase(home):
    snap = flags.resolve(home, env=NO_ENV)
    assert snap.phase == "A-0"
    assert snap.flags == {"autosave.enabled": {"value": False, "source": "default"},
                          "merge.precision": {"value": "legacy", "source": "default"}}
    promoted_to(home, "B-0")
    snap = flags.resolve(home, env=NO_ENV)
    assert (snap.phase, snap.value("autosave.enabled"), snap.value("merge.precision")) == ("B-0", True, "beta")


def test_environment_beats_local_beats_default(home):
    promoted_to(home, "A-1")
    _local(home, **{"autosave.enabled": False, "merge.precision": "beta"})
    snap = flags.resolve(home, env={"ROLLOUT_FLAG_MERGE_PRECISION": "stable"})
    assert snap.flags == {"autosave.enabled": {"value": False, "source": "local"},
                          "merge.precision": {"value": "stable", "source": "env"}}


def test_local_override_is_ignored_from_a2_on(home):
    promoted_to(home, "A-2")
    _local(home, **{"autosave.enabled": False})
    snap = flags.resolve(home, env=NO_ENV)
    assert snap.flags["autosave.enabled"] == {"value": True, "source": "default"}
    assert snap.notes and "ignored" in snap.notes[0]


def test_a_bad_environment_value_is_an_error(home):
    with pytest.raises(ConfigError, match="ROLLOUT_FLAG_AUTOSAVE_ENABLED: autosave.enabled must be true or false"):
        flags.resolve(home, env={"ROLLOUT_FLAG_AUTOSAVE_ENABLED": "maybe"})


def test_push_writes_json_and_markdown_and_verify_follows_the_ledger(home):
    assert flags.verify(home) == [f"{flags.FLAG_DEFAULTS_RELPATH} is missing: run `rolloutctl flags push --phase A-0`"]
    doc = flags.write_defaults(home, "B-1", "push")
    assert doc["flags"] == {"autosave.enabled": True, "merge.precision": "stable"}
    table = (home / flags.FLAG_TABLE_RELPATH).read_text()
    assert "| `merge.precision` | `stable` | B-1 | everyone |" in table
    assert flags.verify(home) == [f"{flags.FLAG_DEFAULTS_RELPATH} holds phase B-1, the ledger says A-0",
                                  "autosave.enabled is True in flags/defaults.json, False for phase A-0",
                                  "merge.precision is 'stable' in flags/defaults.json, 'legacy' for phase A-0"]
    promoted_to(home, "A-2")            # a promotion writes the defaults of the phase it enters
    assert flags.verify(home) == []


def test_flags_commands(home, monkeypatch):
    monkeypatch.delenv("ROLLOUT_FLAG_AUTOSAVE_ENABLED", raising=False)
    monkeypatch.setenv("ROLLOUT_FLAG_MERGE_PRECISION", "beta")
    runner = CliRunner()
    result = runner.invoke(cli, ["--home", str(home), "flags", "resolve", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["flags"]["merge.precision"] == {"value": "beta", "source": "env"}
    assert runner.invoke(cli, ["--home", str(home), "flags", "verify"]).exit_code == 1
    assert runner.invoke(cli, ["--home", str(home), "flags", "rollback", "--phase", "A-0"]).exit_code == 0
    result = runner.invoke(cli, ["--home", str(home), "flags", "verify", "--json"])
    assert (result.exit_code, json.loads(result.output)) == (0, {"ok": True, "problems": []})
    result = runner.invoke(cli, ["--home", str(home), "flags", "push", "--phase", "Z-9"])
    assert result.exit_code == 2
