"""A home's own policy and schemas, layered over the project's without forking it: <home>/governance/<seed>.csv
replaces that seed (for dbt, the checks, the flags and the audit), <home>/schemas/events/*.json replaces the
project's file of the same name (or adds one); the checks name the files in force."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
from click.testing import CliRunner, Result

from rolloutctl.cli import cli as rolloutctl
from rolloutctl.core import layout
from rolloutctl.warehouse.dbt_project import project_for
from rolloutctl.warehouse.dbt_runner import run_dbt

P95_CRITICAL = "autosave_p95,all,1h,above,700,900,"


def cli(*args: str, home: Path | None = None) -> Result:
    return CliRunner().invoke(rolloutctl, [*(["--home", str(home)] if home else []), *args], env={"ROLLOUT_HOME": None})


def own_thresholds(home: Path, critical: str) -> Path:
    """The home's metric_thresholds.csv: the project's, with autosave_p95's 1h critical level changed."""
    text = layout.policy_file("metric_thresholds").read_text(encoding="utf-8")
    assert P95_CRITICAL in text
    path = home / "governance" / "metric_thresholds.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(P95_CRITICAL, f"autosave_p95,all,1h,above,700,{critical},"), encoding="utf-8")
    return path


def test_a_home_without_a_policy_of_its_own_builds_with_the_installed_project(tmp_path):
    assert project_for(tmp_path) == layout.PROJECT_DIR
    assert layout.policy_overrides(tmp_path) == {}
    assert not (tmp_path / "warehouse").exists()


def test_the_homes_seed_is_what_dbt_builds_and_the_copy_is_remade_only_when_it_changes(tmp_path):
    home = tmp_path / "home"
    own = own_thresholds(home, "850")
    project = project_for(home)
    assert project == home / layout.DBT_PROJECT_RELDIR
    assert (project / "governance" / "metric_thresholds.csv").read_bytes() == own.read_bytes()
    assert (project / "governance" / "gate_rules.csv").read_bytes() == layout.policy_file("gate_rules").read_bytes()
    made = (project / "dbt_project.yml").stat().st_mtime_ns
    assert project_for(home) == project and (project / "dbt_project.yml").stat().st_mtime_ns == made

    run_dbt(home, ["seed"], select="metric_thresholds")
    con = duckdb.connect(str(layout.warehouse_file(home)), read_only=True)
    try:
        assert con.execute("select critical_level from marts.metric_thresholds where metric = 'autosave_p95' "
                           "and \"window\" = '1h'").fetchone()[0] == 850
    finally:
        con.close()
    assert (home / layout.DBT_TARGET_RELDIR).is_dir()       # dbt's target folder is the home's

    own_thresholds(home, "800")
    assert (project_for(home) / "governance" / "metric_thresholds.csv").read_text().count(",700,800,") == 1


def test_config_check_names_the_homes_seed_and_its_errors(tmp_path):
    home = tmp_path / "home"
    own = own_thresholds(home, "850")
    proc = cli("config", "check", "--json", home=home)
    assert proc.exit_code == 0, proc.stderr
    files = json.loads(proc.stdout)["files"]
    assert files["metric_thresholds.csv"] == str(own)
    assert files["gate_rules.csv"] == str(layout.policy_file("gate_rules"))
    text = cli("config", "check", home=home)
    assert f"metric_thresholds.csv: {own} (home)" in text.stdout
    # where dbt run by hand finds the project in force
    assert cli("config", "project-dir", home=home).stdout.strip() == str(home / layout.DBT_PROJECT_RELDIR)
    assert cli("config", "project-dir").stdout.strip() == str(layout.PROJECT_DIR)

    own.write_text(own.read_text().replace("breach_when", "breach"), encoding="utf-8")
    broken = cli("config", "check", home=home)
    assert broken.exit_code == 1
    assert "governance/metric_thresholds.csv" in broken.stderr
    assert cli("config", "check").exit_code == 0                      # the project's own policy is untouched


def test_flag_defaults_come_from_the_homes_phase_flags(tmp_path):
    home = tmp_path / "home"
    text = layout.policy_file("phase_flags").read_text(encoding="utf-8")
    line = next(row for row in text.splitlines() if row.startswith("A-1,"))
    (home / "governance").mkdir(parents=True)
    (home / "governance" / "phase_flags.csv").write_text(
        text.replace(line, line.replace("qa_accounts", "internal_staff")), encoding="utf-8")
    proc = cli("flags", "push", "--phase", "A-1", home=home)
    assert proc.exit_code == 0, proc.stderr
    defaults = json.loads((home / layout.FLAG_DEFAULTS_RELPATH).read_text())
    assert defaults["autosave_audience"] == "internal_staff"


def test_the_homes_event_schema_replaces_the_projects_for_lint_and_ingest(tmp_path):
    strict, plain = tmp_path / "strict", tmp_path / "plain"
    doc = json.loads((layout.EVENT_SCHEMA_DIR / "autosave.json").read_text(encoding="utf-8"))
    doc["$defs"]["autosave.save.completed"]["properties"]["duration_ms"]["maximum"] = 1000
    own = strict / "schemas" / "events" / "autosave.json"
    own.parent.mkdir(parents=True)
    own.write_text(json.dumps(doc), encoding="utf-8")

    lint = cli("schema", "lint", "--json", home=strict)
    assert lint.exit_code == 0, lint.stdout + lint.stderr
    files = json.loads(lint.stdout)["files"]
    assert files["autosave.json"] == str(own) and files["merge.json"] == str(layout.EVENT_SCHEMA_DIR / "merge.json")

    event = {"event": "autosave.save.completed", "ts": "2026-03-01T00:00:00Z", "phase": "A-1",
             "feature": "autosave", "duration_ms": 5000, "retry_count": 0, "bytes": 10}
    log = tmp_path / "events.jsonl"
    log.write_text(json.dumps(event) + "\n")
    counts = {}
    for home in (strict, plain):
        proc = cli("ingest", "--json", str(log), home=home)
        assert proc.exit_code == 0, proc.stderr
        counts[home.name] = (json.loads(proc.stdout)["loaded"], json.loads(proc.stdout)["rejected"])
    assert counts == {"strict": (0, 1), "plain": (1, 0)}

    own.write_text("{ not json", encoding="utf-8")
    broken = cli("schema", "lint", home=strict)
    assert broken.exit_code == 1 and "autosave.json: not valid JSON" in broken.stderr
    shutil.rmtree(strict / "schemas")
    assert cli("schema", "lint", home=strict).exit_code == 0
