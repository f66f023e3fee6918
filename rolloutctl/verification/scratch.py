"""Scratch warehouses: the gate recomputed from a home's raw events, with other seeds, never touching its marts.

A scratch is a folder under `<home>/warehouse/scratch/` holding its own ROLLOUT_HOME (`home/`), a copy of the dbt
project whose seeds may be replaced (`project/`), and dbt's target folder. `audit replay` and `backtest` fill it
with the raw rows of the home's warehouse (copied through DuckDB's ATTACH, read-only), the governance state they
need, and run dbt on it with run_dbt. The home's own warehouse is only ever read.

    with Scratch.create(home, "replay", seeds={"gate_rules": path}) as s:
        s.copy_raw(home, loaded_through=t)
        s.write_governance(entries, complete_rcas=["L0001"])
        s.build(["build", "--exclude-resource-type", "unit_test"])
        con = s.connect()
"""
from __future__ import annotations

import csv
import hashlib
import io
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from ingest.errors import WarehouseBusy, WarehouseError
from ingest.warehouse import connect, warehouse_path
from rolloutctl.core.errors import ConfigError
from rolloutctl.core.layout import PROJECT_DIR, SCRATCH_RELDIR
from rolloutctl.governance import ledger
from rolloutctl.governance.rca import RCA_RELDIR
from rolloutctl.warehouse import governance_mirror
from rolloutctl.warehouse.dbt_project import copy_project, project_for

# The seeds a gate decision depends on (their sha256 is recorded with every action; see replay.py).
DECISION_SEEDS = ("gate_rules", "metric_thresholds", "phase_flags", "gate_parameters", "watermark_lateness",
                  "metric_catalog")
# Columns added after seeds were first recorded: a file without them is read with their defaults.
BUDGET_COLUMN = "critical_budget_share"
DEFAULT_BUDGET_SHARE = "0.05"
OPTIONAL_COLUMNS = ("bound", BUDGET_COLUMN)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def seed_path(name: str, project_dir: Path = PROJECT_DIR) -> Path:
    return Path(project_dir) / "governance" / f"{name}.csv"


def seed_hashes(project_dir: Path = PROJECT_DIR) -> dict[str, str]:
    """sha256 of each decision seed file of the project."""
    return {name: sha256_bytes(seed_path(name, project_dir).read_bytes()) for name in DECISION_SEEDS}


def models_hash(project_dir: Path = PROJECT_DIR) -> str:
    """One sha256 over every file of models/, macros/ and dbt_project.yml: changes when the SQL does."""
    digest = hashlib.sha256()
    root = Path(project_dir)
    files = [root / "dbt_project.yml"] + sorted(p for d in ("models", "macros") for p in (root / d).rglob("*")
                                                if p.is_file())
    for path in files:
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@dataclass
class Scratch:
    root: Path          # <home>/warehouse/scratch/<kind>-…
    home: Path          # the scratch's ROLLOUT_HOME
    project: Path       # the dbt project copy
    target: Path        # dbt's target folder
    keep: bool = False

    @classmethod
    def create(cls, home: Path, kind: str, seeds: dict[str, Path] | None = None, keep: bool = False) -> Scratch:
        """A fresh scratch under `home`, with the home's project (its own policy, if any) whose seeds are then
        replaced by `seeds` (name → CSV file)."""
        parent = Path(home) / SCRATCH_RELDIR
        parent.mkdir(parents=True, exist_ok=True)
        root = Path(tempfile.mkdtemp(prefix=f"{kind}-", dir=parent))
        scratch = cls(root, root / "home", root / "project", root / "target", keep)
        scratch.home.mkdir()
        scratch.project.mkdir()
        copy_project(project_for(home), scratch.project)
        for name, path in (seeds or {}).items():
            seed_path(name, scratch.project).write_text(
                with_budget_column(name, Path(path).read_text(encoding="utf-8")), encoding="utf-8")
        return scratch

    def __enter__(self) -> Scratch:
        return self

    def __exit__(self, *exc) -> None:
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    @property
    def warehouse(self) -> Path:
        return warehouse_path(self.home)

    def connect(self, read_only: bool = True) -> duckdb.DuckDBPyConnection:
        return connect(self.home, read_only=read_only)

    def copy_raw(self, source_home: Path, loaded_through: datetime | None = None) -> dict[str, int]:
        """Copy the raw rows of `source_home`'s warehouse written up to `loaded_through` (all when None); the
        watermarks are recomputed from the events copied (they equal what the loader kept then). Returns the
        row counts copied per table."""
        source = warehouse_path(source_home)
        if not source.exists():
            raise WarehouseError(f"no warehouse at {source}: run `rolloutctl ingest` first")
        con = connect(self.home)
        try:
            try:
                con.execute("attach ? as src (read_only)", [str(source)])
            except duckdb.Error as exc:
                if "lock" in str(exc).lower():
                    raise WarehouseBusy(source, str(exc)) from None
                raise WarehouseError(f"cannot read {source}: {exc}") from None
            cut = "" if loaded_through is None else " where {col} <= $1"
            params = [] if loaded_through is None else [loaded_through]
            copied = {}
            con.execute("begin transaction")
            for table, col in (("events", "loaded_at"), ("rejected_events", "rejected_at"),
                               ("loads", "coalesce(finished_at, started_at)")):
                n = con.execute(f"insert into raw.{table} select * from src.raw.{table}" + cut.format(col=col),
                                params).fetchone()[0]
                copied[table] = n
            con.execute("""insert into raw.watermarks
                           select feature, max(event_at), max(loaded_at) from raw.events group by feature""")
            con.execute("commit")
            con.execute("detach src")
        finally:
            con.close()
        return copied

    def write_governance(self, entries: list[ledger.LedgerEntry], complete_rcas: list[str] = ()) -> None:
        """The ledger `entries` and a complete RCA for each id of `complete_rcas`, mirrored into the scratch
        warehouse the way a build mirrors the home's."""
        if entries:
            ledger.write(self.home, entries)
        folder = self.home / RCA_RELDIR
        for rollback_id in complete_rcas:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{rollback_id}.md").write_text(f"---\nrollback_id: {rollback_id}\nstatus: complete\n---\n")
        governance_mirror.sync(self.home)

    def copy_governance(self, source_home: Path) -> None:
        """The source home's ledger and RCA state as they are now."""
        from rolloutctl.governance import rca

        complete = [f.rollback_id for f in rca.scan(source_home) if f.is_complete]
        self.write_governance(ledger.read(source_home), complete)

    def copy_governance_tables(self, source_home: Path) -> None:
        """The governance state the source's marts were built with (its governance.* tables as last mirrored),
        rather than the files now: an action recorded after that build is not part of it."""
        con = connect(self.home)
        try:
            con.execute(governance_mirror.GOVERNANCE_DDL)
            con.execute("attach ? as src (read_only)", [str(warehouse_path(source_home))])
            for table in ("phase_ledger", "rca_files"):
                found = con.execute("select count(*) from duckdb_tables() where database_name = 'src' and "
                                    "schema_name = 'governance' and table_name = ?", [table]).fetchone()[0]
                if found:
                    con.execute(f"insert into governance.{table} select * from src.governance.{table}")
            con.execute("detach src")
        finally:
            con.close()

    def build(self, args=("build", "--exclude-resource-type", "unit_test"), *, selector: str | None = None,
              data_quality: bool = False):
        """Run dbt on the scratch (its project, its target folder), with a selector of selectors.yml if given. With
        data_quality, as the gate's build does: failing data tests are recorded and the models they skipped built
        anyway (test_failures.build_recording_failures)."""
        from rolloutctl.warehouse import test_failures
        from rolloutctl.warehouse.dbt_runner import BuildFailed, run_dbt

        options = {"args": list(args), "selector": selector, "project_dir": self.project, "target_path": self.target}
        if data_quality:
            result = test_failures.build_recording_failures(self.home, **options)
            if not (result.success or test_failures.only_data_tests_failed(result)):
                raise BuildFailed(result)
            return result
        return run_dbt(self.home, **options)


def with_budget_column(name: str, text: str) -> str:
    """A metric_thresholds seed written before critical_budget_share existed (a recorded copy, an older candidate
    file), with the column added: each threshold's budget from the project's seed, DEFAULT_BUDGET_SHARE for a
    threshold the project does not have. Any other seed, or one that has the column, is returned as it is. The budget
    feeds marts.error_budget only, never a decision, so a replay's verdict does not depend on it."""
    if name != "metric_thresholds":
        return text
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or BUDGET_COLUMN in rows[0] or "description" not in rows[0]:
        return text
    key = ("metric", "dimension", "window")
    with open(seed_path(name), newline="", encoding="utf-8") as fh:
        current = {tuple(r[k] for k in key): r.get(BUDGET_COLUMN) or "" for r in csv.DictReader(fh)}
    header, at = rows[0], rows[0].index("description")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header[:at] + [BUDGET_COLUMN] + header[at:])
    for row in rows[1:]:
        if not row:
            continue
        found = dict(zip(header, row))
        budget = current.get(tuple(found.get(k, "") for k in key)) or DEFAULT_BUDGET_SHARE
        writer.writerow(row[:at] + [budget] + row[at:])
    return out.getvalue()


def check_seed_file(name: str, path: Path) -> Path:
    """A seed file given on the command line: it must exist and have the header of the project's seed."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (the {name} seed to use)")
    expected = seed_path(name).read_text(encoding="utf-8").splitlines()[0].split(",")
    got = path.read_text(encoding="utf-8").splitlines()[:1]
    header = got[0].split(",") if got else []
    missing = [c for c in expected if c not in header and c not in OPTIONAL_COLUMNS]
    if missing:
        raise ConfigError(f"{path}: not a {name} seed: missing column(s) {', '.join(missing)} "
                          f"(expected {','.join(expected)})")
    return path


def scratch_dirs(home: Path) -> list[Path]:
    parent = Path(home) / SCRATCH_RELDIR
    return sorted(p for p in parent.iterdir() if p.is_dir()) if parent.is_dir() else []
