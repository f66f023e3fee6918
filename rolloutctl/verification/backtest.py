"""Backtests: what the gate would have decided over past data with other rules or thresholds.

    result = backtest(home, rules="my_rules.csv", since=t0, until=t1)
    result.phases       # per phase: grid times, how many change decision, the transitions
    result.rollbacks    # per rollback: when it fires under the current and the candidate seeds

The candidate seeds run in a scratch warehouse (scratch.py) on the raw rows the production marts were built from
(up to marts.data_quality.loaded_through) and the governance state mirrored with them, so that the only
difference from the production build is the seeds. The production warehouse is only read. The comparison is of
the rules' decision (marts.gate_decisions, SPEC §7) at every grid time in [since, until].

The result is also a DuckDB file an analyst can open, `<home>/warehouse/backtests/<id>.duckdb`, schema backtest:
`runs` (one row: the files and seeds compared), `decisions` (every grid time under both), `phase_summary`,
`rollbacks` (each rollback episode: when it fires under each rule set, earlier / later / same / never / new), and
the candidate seeds (`candidate_gate_rules`, `candidate_metric_thresholds`).

A rollback episode is a run of consecutive grid times where the current rules roll back; the candidate's onset for
it is its first rollback after the previous episode ended, up to this one's end. Candidate rollbacks after the
last episode are episodes of their own (`new`).
"""
from __future__ import annotations

import csv
import io
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from ingest.warehouse import connect, fsync_path, warehouse_path
from rolloutctl.core.errors import ConfigError, DataError, UsageError
from rolloutctl.core.layout import BACKTESTS_RELDIR
from rolloutctl.core.timestamps import iso_z, utc_now
from rolloutctl.governance.policy_check import check_seeds
from rolloutctl.verification.scratch import Scratch, check_seed_file, seed_hashes, seed_path, with_budget_column
from rolloutctl.warehouse.dbt_project import project_for

# What the comparison reads: the rules' decisions and the candidate seeds, with every model and seed they are built
# from (no data test: the candidate's decisions are compared, the data were tested when production built them).
MODELS_ONLY = ("build", "--resource-type", "seed", "--resource-type", "model", "--select", "+gate_decisions")


@dataclass
class PhaseSummary:
    phase: str
    grid_times: int
    changed: int
    transitions: dict[str, int]           # "rollback→hold": n
    current_rollbacks: int
    candidate_rollbacks: int

    def as_json(self) -> dict:
        return vars(self)


@dataclass
class RollbackEpisode:
    phase: str
    episode: int
    current_first_at: datetime | None
    current_last_at: datetime | None
    candidate_first_at: datetime | None
    change: str                           # same | earlier | later | never | new
    shift_minutes: int | None             # candidate − current
    current_rule_ids: list[str]
    candidate_rule_ids: list[str]

    def as_json(self) -> dict:
        return {**vars(self), **{k: iso_z(getattr(self, k)) if getattr(self, k) else None
                                 for k in ("current_first_at", "current_last_at", "candidate_first_at")}}


@dataclass
class BacktestResult:
    id: str
    file: str                             # relative to home
    since: datetime | None
    until: datetime | None
    candidate_files: dict[str, str]       # seed → the file given
    seeds: dict[str, dict[str, str]]      # seed → {"current": sha, "candidate": sha}
    phases: list[PhaseSummary] = field(default_factory=list)
    rollbacks: list[RollbackEpisode] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        return sum(p.changed for p in self.phases)

    def as_json(self) -> dict:
        return {"id": self.id, "file": self.file, "from": iso_z(self.since) if self.since else None,
                "to": iso_z(self.until) if self.until else None, "candidate_files": self.candidate_files,
                "seeds": self.seeds, "changed": self.changed, "phases": [p.as_json() for p in self.phases],
                "rollbacks": [r.as_json() for r in self.rollbacks], "seconds": round(self.seconds, 1)}


def backtest(home: Path, *, rules: Path | None = None, thresholds: Path | None = None,
             since: datetime | None = None, until: datetime | None = None, keep: bool = False) -> BacktestResult:
    started = time.perf_counter()
    home = Path(home)
    if rules is None and thresholds is None:
        raise UsageError("give --rules FILE and/or --thresholds FILE: the seeds to compare with the current ones")
    if since and until and since > until:
        raise UsageError("--from is after --to")
    given = {name: check_seed_file(name, path) for name, path in (("gate_rules", rules),
                                                                  ("metric_thresholds", thresholds)) if path}
    loaded_through = _production_state(home)
    run_id = f"{utc_now().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"
    with Scratch.create(home, f"backtest-{run_id}", keep=keep) as s:
        for name, path in given.items():
            seed_path(name, s.project).write_text(_normalised(name, path), encoding="utf-8")
        errors = [p for p in check_seeds(s.project) if p.severity == "error"]
        if errors:
            files = ", ".join(f"{name}: {path}" for name, path in given.items())
            raise ConfigError(f"the candidate seeds ({files}) have errors:\n" + "\n".join(f"  {p}" for p in errors))
        s.copy_raw(home, loaded_through)
        s.copy_governance_tables(home)
        s.build(MODELS_ONLY)
        current, candidate = seed_hashes(project_for(home)), seed_hashes(s.project)
        result = BacktestResult(run_id, str(BACKTESTS_RELDIR / f"{run_id}.duckdb"), since, until,
                                {k: str(v) for k, v in given.items()},
                                {k: {"current": current[k], "candidate": candidate[k]} for k in current})
        con = s.connect(read_only=False)
        try:
            _compare(con, home, result)
            _publish(con, home / result.file)
        finally:
            con.close()
    result.seconds = time.perf_counter() - started
    return result


def _production_state(home: Path) -> datetime | None:
    """The raw rows the production marts were built from end at marts.data_quality.loaded_through."""
    con = connect(home, read_only=True, create=False)
    try:
        try:
            row = con.execute("select loaded_through from marts.data_quality").fetchone()
            con.execute("select 1 from marts.gate_decisions limit 1")
        except duckdb.CatalogException:
            raise DataError("the gate marts are not built yet: run `rolloutctl build` first") from None
    finally:
        con.close()
    return row[0] if row else None


def _normalised(name: str, path: Path) -> str:
    """The seed as given; a gate_rules file of the format before `bound` gets an empty bound column, a
    metric_thresholds file without critical_budget_share the project's budgets (scratch.with_budget_column)."""
    text = with_budget_column(name, path.read_text(encoding="utf-8"))
    if name != "gate_rules":
        return text
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "bound" in rows[0]:
        return text
    at = rows[0].index("window") + 1
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for i, row in enumerate(rows):
        writer.writerow(row[:at] + ["bound" if i == 0 else ""] + row[at:])
    return out.getvalue()


def _compare(con: duckdb.DuckDBPyConnection, home: Path, result: BacktestResult) -> None:
    """Write the backtest.* tables into the scratch warehouse and fill `result` from them."""
    con.execute("attach ? as production (read_only)", [str(warehouse_path(home))])
    con.execute("create schema backtest")
    window = "where coalesce(eval_at >= $1, true) and coalesce(eval_at <= $2, true)"
    params = [result.since, result.until]
    con.execute(f"""
        create table backtest.decisions as
        with cur as (select * from production.marts.gate_decisions {window}),
             cand as (select * from marts.gate_decisions {window})
        select
            coalesce(cur.phase, cand.phase) as phase,
            coalesce(cur.eval_at, cand.eval_at) as eval_at,
            cur.decision as current_decision,
            cand.decision as candidate_decision,
            cur.decision is distinct from cand.decision as is_changed,
            cur.reason as current_reason,
            cand.reason as candidate_reason,
            cur.deciding_rule_ids as current_rule_ids,
            cand.deciding_rule_ids as candidate_rule_ids
        from cur
        full outer join cand
            on cand.phase = cur.phase
            and cand.eval_at = cur.eval_at
        order by phase, eval_at""", params)
    rows = con.execute("""select phase, eval_at, current_decision, candidate_decision, current_rule_ids,
                                 candidate_rule_ids from backtest.decisions order by phase, eval_at""").fetchall()
    by_phase: dict[str, list[tuple]] = {}
    for row in rows:
        by_phase.setdefault(row[0], []).append(row)
    for phase, prow in by_phase.items():
        transitions: dict[str, int] = {}
        for _, _, a, b, _, _ in prow:
            if a != b:
                key = f"{a or 'none'}→{b or 'none'}"
                transitions[key] = transitions.get(key, 0) + 1
        result.phases.append(PhaseSummary(
            phase, len(prow), sum(transitions.values()), dict(sorted(transitions.items())),
            sum(1 for r in prow if r[2] == "rollback"), sum(1 for r in prow if r[3] == "rollback")))
        result.rollbacks += _episodes(phase, prow)
    con.execute("""create table backtest.phase_summary (phase varchar, grid_times bigint, changed bigint,
                   transitions varchar, current_rollbacks bigint, candidate_rollbacks bigint)""")
    con.executemany("insert into backtest.phase_summary values (?, ?, ?, ?, ?, ?)",
                    [(p.phase, p.grid_times, p.changed, ", ".join(f"{k} {v}" for k, v in p.transitions.items()),
                      p.current_rollbacks, p.candidate_rollbacks) for p in result.phases])
    con.execute("""create table backtest.rollbacks (phase varchar, episode integer, current_first_at timestamptz,
                   current_last_at timestamptz, candidate_first_at timestamptz, change varchar,
                   shift_minutes integer, current_rule_ids varchar[], candidate_rule_ids varchar[])""")
    con.executemany("insert into backtest.rollbacks values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(r.phase, r.episode, r.current_first_at, r.current_last_at, r.candidate_first_at, r.change,
                      r.shift_minutes, r.current_rule_ids, r.candidate_rule_ids) for r in result.rollbacks])
    con.execute("""create table backtest.runs (id varchar, created_at timestamptz, from_at timestamptz,
                   to_at timestamptz, seed varchar, candidate_file varchar, current_sha256 varchar,
                   candidate_sha256 varchar)""")
    con.executemany("insert into backtest.runs values (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(result.id, utc_now(), result.since, result.until, name, result.candidate_files.get(name),
                      sha["current"], sha["candidate"]) for name, sha in result.seeds.items()])
    con.execute("create table backtest.candidate_gate_rules as select * from marts.gate_rules")
    con.execute("create table backtest.candidate_metric_thresholds as select * from marts.metric_thresholds")
    con.execute("detach production")


def _episodes(phase: str, rows: list[tuple]) -> list[RollbackEpisode]:
    """Rollback episodes of one phase from its (phase, eval_at, current, candidate, cur_ids, cand_ids) rows."""
    runs: list[tuple[int, int]] = []          # index ranges of consecutive current rollbacks
    for i, row in enumerate(rows):
        if row[2] == "rollback":
            if runs and runs[-1][1] == i - 1:
                runs[-1] = (runs[-1][0], i)
            else:
                runs.append((i, i))
    episodes, after = [], -1
    for n, (first, last) in enumerate(runs, start=1):
        onset = next((i for i in range(after + 1, last + 1) if rows[i][3] == "rollback"), None)
        cur_at = rows[first][1]
        if onset is None:
            change, cand_at, shift = "never", None, None
        else:
            cand_at = rows[onset][1]
            shift = int((cand_at - cur_at).total_seconds() // 60)
            change = "same" if shift == 0 else "earlier" if shift < 0 else "later"
        episodes.append(RollbackEpisode(phase, n, cur_at, rows[last][1], cand_at, change, shift,
                                        list(rows[first][4] or []),
                                        list(rows[onset][5] or []) if onset is not None else []))
        after = last
    for i in range(after + 1, len(rows)):        # candidate rollbacks after the last current episode
        if rows[i][3] == "rollback" and (i == after + 1 or rows[i - 1][3] != "rollback"):
            episodes.append(RollbackEpisode(phase, len(episodes) + 1, None, None, rows[i][1], "new", None, [],
                                            list(rows[i][5] or [])))
    return episodes


def _publish(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """The backtest.* tables, alone, in their own DuckDB file (written aside, then renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    con.execute("attach ? as published", [str(tmp)])
    try:
        con.execute("create schema published.backtest")
        for (table,) in con.execute("select table_name from duckdb_tables() where database_name = current_database() "
                                    "and schema_name = 'backtest' order by 1").fetchall():
            con.execute(f"create table published.backtest.{table} as select * from backtest.{table}")
    finally:
        con.execute("detach published")
    tmp.replace(path)
    fsync_path(path.parent)
