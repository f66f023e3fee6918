"""Where everything is: the project's own files (schemas, dbt project, policy, templates) and the files of a home.

The one place that knows a path. Project paths are absolute; home paths are relative to the home (`home / X`),
so messages can name them as an operator sees them.
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path

# The files of the project ship inside the package: the built wheel carries them under rolloutctl/project/ (pyproject:
# hatchling's `sources`, and scripts/hatch_project_files.py for the top-level files). A checkout (the editable install,
# the tests, CI) is itself the project: its root holds them, one level above the package.
PROJECT_PACKAGE_DIR = "project"


def _project_dir() -> Path:
    package = Path(str(files("rolloutctl")))
    packaged = package / PROJECT_PACKAGE_DIR
    return packaged if (packaged / "dbt_project.yml").is_file() else package.parent


# The project: the dbt project (dbt_project.yml, profiles.yml, models/, macros/, data-tests/), the rollout policy
# (governance/: the dbt seeds, the RCA template, the schemas of the ledger and the audit line), the event schemas
# and the report and dashboard templates.
PROJECT_DIR = _project_dir()
POLICY_DIR = PROJECT_DIR / "governance"
POLICY_SCHEMA_DIR = POLICY_DIR / "schemas"
RCA_TEMPLATE = POLICY_DIR / "templates" / "rca_stub.md"
EVENT_SCHEMA_DIR = PROJECT_DIR / "schemas" / "events"
REPORT_TEMPLATE_DIR = PROJECT_DIR / "templates" / "reports"
DASHBOARD_TEMPLATE_DIR = PROJECT_DIR / "templates" / "dashboard"
# what dbt reads of the project: a scratch warehouse copies it, dbt_runner.definitions_hash hashes it
DBT_PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "selectors.yml", "models", "macros", "governance",
                     "data-tests")
# everything the wheel carries under rolloutctl/project/ (tests/packaging/test_wheel.py compares the wheel with it)
PROJECT_FILES = (*DBT_PROJECT_FILES, "schemas", "templates")


def policy_file(name: str, home: Path | None = None) -> Path:
    """A policy seed in force, e.g. policy_file("gate_rules") → governance/gate_rules.csv: the home's own copy
    (<home>/governance/gate_rules.csv) when it has one, else the project's."""
    own = policy_override(name, home) if home is not None else None
    return own or POLICY_DIR / f"{name}.csv"


def policy_names() -> list[str]:
    """The project's policy seeds (governance/*.csv), by name."""
    return sorted(p.stem for p in POLICY_DIR.glob("*.csv"))


def policy_override(name: str, home: Path) -> Path | None:
    """The home's own copy of a policy seed, if it holds one (the project's own file is not an override: a home
    inside the checkout)."""
    own = Path(home) / POLICY_OVERRIDE_RELDIR / f"{name}.csv"
    default = POLICY_DIR / f"{name}.csv"
    if own.is_file() and not (default.exists() and own.resolve() == default.resolve()):
        return own
    return None


def policy_overrides(home: Path | None) -> dict[str, Path]:
    """Every policy seed the home replaces: name → its file."""
    if home is None:
        return {}
    found = {name: policy_override(name, home) for name in policy_names()}
    return {name: path for name, path in found.items() if path is not None}


def event_schema_files(home: Path | None = None) -> tuple[Path, ...]:
    """The event schema files in force: the project's schemas/events/*.json, with the home's own
    (<home>/schemas/events/*.json) layered over them: a file of the same name replaces the project's, others add."""
    chosen = {p.name: p for p in EVENT_SCHEMA_DIR.glob("*.json")}
    if home is not None:
        own_dir = Path(home) / EVENT_SCHEMA_OVERRIDE_RELDIR
        if own_dir.is_dir() and own_dir.resolve() != EVENT_SCHEMA_DIR.resolve():
            chosen.update({p.name: p for p in own_dir.glob("*.json")})
    return tuple(chosen[name] for name in sorted(chosen))


# A home (--home / ROLLOUT_HOME): the live state of one rollout.
WAREHOUSE_RELPATH = Path("warehouse") / "rollout.duckdb"          # the working warehouse
ANALYTICS_RELPATH = Path("warehouse") / "analytics.duckdb"        # the analysts' read-only snapshot
ANALYTICS_HISTORY_RELDIR = Path("warehouse") / "analytics-history"  # its raw rows: one Parquet file per load
DBT_LOG_RELDIR = Path("warehouse")                                # dbt.log: dbt's own log of its runs
DBT_TARGET_RELDIR = Path("warehouse") / "dbt-target"              # dbt's target folder (compiled SQL, run results)
DBT_PROJECT_RELDIR = Path("warehouse") / "dbt-project"            # the project with the home's own policy
SCRATCH_RELDIR = Path("warehouse") / "scratch"                    # replay and backtest warehouses
BACKTESTS_RELDIR = Path("warehouse") / "backtests"
GATE_TRIALS_RELPATH = Path("warehouse") / "gate-trials.json"     # the last `rolloutctl simulate` of this home
LOGS_RELDIR = Path("logs")                                        # the Collector's output
POLICY_OVERRIDE_RELDIR = Path("governance")                       # the home's own policy seeds, if any
EVENT_SCHEMA_OVERRIDE_RELDIR = Path("schemas") / "events"         # the home's own event schemas, if any
LEDGER_RELPATH = Path("governance") / "phase-ledger.yaml"
AUDIT_RELDIR = Path("governance") / "audit" / "phase_rollout"
PENDING_RELPATH = Path("governance") / "pending-action.json"
LOCK_RELPATH = Path("governance") / ".lock"
SEED_COPIES_RELDIR = Path("governance") / "seeds"                 # the seeds each recorded decision was made with
METRICS_RELDIR = Path("metrics") / "autosave_merge"               # analyzer output
METRICS_SNAPSHOTS_RELDIR = METRICS_RELDIR / "snapshots"           # frozen by each action
REPORT_RELDIR = Path("reports") / "rollout"
RCA_RELDIR = Path("reports") / "rca"
DASHBOARD_RELDIR = Path("dashboards") / "autosave-merge"
INCIDENT_QUEUE_RELPATH = Path("incident_queue.json")
FLAGS_RELDIR = Path("flags")
FLAG_DEFAULTS_RELPATH = FLAGS_RELDIR / "defaults.json"
FLAG_TABLE_RELPATH = FLAGS_RELDIR / "CONFIG_FLAGS.md"
FLAG_OVERRIDE_RELPATH = FLAGS_RELDIR / "local-override.json"
OUTBOX_RELDIR = Path("notifications") / "outbox"
SENT_RELDIR = Path("notifications") / "sent"
SPARK_RELDIR = Path("spark")                                      # the Spark target's metastore and tables
LAKE_RELDIR = Path("lake")                                        # the Spark target's Parquet sources

# Every top-level entry rolloutctl may write in a home (.gitignore lists them too: a home inside a checkout is never
# committed). The operator's own inputs (governance/<seed>.csv, schemas/events/) are not among what it writes.
HOME_ENTRIES = ("warehouse", "logs", "governance", "metrics", "reports", "dashboards", "flags", "notifications",
                "incident_queue.json", "spark", "lake")


def warehouse_file(home: Path) -> Path:
    return Path(home) / WAREHOUSE_RELPATH


def dbt_log_dir(home: Path) -> Path:
    return Path(home) / DBT_LOG_RELDIR


def dbt_target_dir(home: Path) -> Path:
    return Path(home) / DBT_TARGET_RELDIR


def analytics_file(home: Path) -> Path:
    return Path(home) / ANALYTICS_RELPATH


def analytics_history_dir(home: Path) -> Path:
    return Path(home) / ANALYTICS_HISTORY_RELDIR


def lake_dir(home: Path, parquet_dir: Path | str | None = None) -> Path:
    """Where the Spark target's Parquet lives: parquet_dir, else ROLLOUT_PARQUET_DIR, else <home>/lake."""
    chosen = parquet_dir or os.environ.get("ROLLOUT_PARQUET_DIR") or Path(home) / LAKE_RELDIR
    return Path(chosen).expanduser().resolve()
