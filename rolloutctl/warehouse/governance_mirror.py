"""Mirror the governance files into the warehouse before a build, so the gate models can use them.

governance/phase-ledger.yaml becomes governance.phase_ledger (phase starts, rollbacks) and the RCA files of
reports/rca/ become governance.rca_files (the RCA block). rolloutctl owns both tables and replaces their rows in one
transaction each time; dbt reads them as the `governance` source.
"""
from __future__ import annotations

from pathlib import Path

from ingest.warehouse import connect
from rolloutctl.governance import ledger, rca

GOVERNANCE_DDL = """
create schema if not exists governance;

create table if not exists governance.phase_ledger (
    entry_id          varchar     not null,
    seq               integer     not null,
    action            varchar     not null,   -- promote | rollback
    phase_from        varchar     not null,
    phase_to          varchar     not null,
    executor          varchar     not null,
    effective_at      timestamptz not null,   -- the evaluation time T the action took effect at
    recorded_at       timestamptz,            -- wall clock when written
    reason            varchar,
    is_forced         boolean     not null,
    trigger_rule_ids  varchar[],
    metrics_file      varchar,
    metrics_sha256    varchar
);

create table if not exists governance.rca_files (
    rollback_id  varchar     not null,        -- ledger entry id of the rollback
    path         varchar     not null,        -- relative to ROLLOUT_HOME
    status       varchar,                     -- draft | complete | …
    is_complete  boolean     not null,
    modified_at  timestamptz
);
"""


def sync(home: Path) -> tuple[int, int]:
    """Replace the rows of governance.phase_ledger and governance.rca_files; return their counts."""
    entries = ledger.read(home)
    rcas = rca.scan(home)
    ledger_rows = [
        (e.id, seq, e.action, e.phase_from, e.phase_to, e.executor, e.effective_at,
         e.recorded_at and ledger.parse_utc(e.recorded_at), e.reason, bool(e.forced), list(e.trigger_rules),
         e.metrics_file, e.metrics_sha256)
        for seq, e in enumerate(entries, start=1)
    ]
    rca_rows = [(f.rollback_id, f.path, f.status, f.is_complete, f.modified_at) for f in rcas]
    con = connect(home)
    try:
        con.execute(GOVERNANCE_DDL)
        con.execute("begin transaction")
        con.execute("delete from governance.phase_ledger")
        con.execute("delete from governance.rca_files")
        if ledger_rows:
            con.executemany("insert into governance.phase_ledger values (?,?,?,?,?,?,?,?,?,?,?,?,?)", ledger_rows)
        if rca_rows:
            con.executemany("insert into governance.rca_files values (?,?,?,?,?)", rca_rows)
        con.execute("commit")
    finally:
        con.close()
    return len(ledger_rows), len(rca_rows)
