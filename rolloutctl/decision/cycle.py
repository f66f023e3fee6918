"""One evaluation cycle: mirror governance into the warehouse, bring the models up to date, read the decision, and
write the analyzer output and the daily report for it."""
from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from ingest.warehouse import connect
from rolloutctl.core.errors import UsageError
from rolloutctl.core.files import atomic_write_text, sha256_file
from rolloutctl.core.phases import check as check_phase
from rolloutctl.decision.charts import render_report_charts, start_renderer
from rolloutctl.decision.report import recent_incidents, write_report
from rolloutctl.decision.verdict import (
    Evaluation,
    analyzer_output,
    format_analyzer_output,
    metrics_relpath,
    read_error_budget,
    read_evaluation,
)
from rolloutctl.governance import ledger
from rolloutctl.verification import replay
from rolloutctl.warehouse import analyst_snapshot
from rolloutctl.warehouse.test_failures import only_data_tests_failed


@dataclass
class GateRun:
    evaluation: Evaluation
    current_phase: str               # the ledger's phase when evaluated
    metrics_file: str | None         # relative to home
    metrics_sha256: str | None
    report: str | None
    entered_at: datetime | None = None   # when the ledger last entered the evaluated phase (current phase only)
    provenance: dict | None = None       # what the decision was made from (replay.provenance), for the audit

    def as_json(self) -> dict:
        return {**self.evaluation.as_json(), "metrics_file": self.metrics_file,
                "metrics_sha256": self.metrics_sha256, "report": self.report}


def evaluate(home: Path, *, phase: str | None = None, at: datetime | None = None, rebuild: bool = True,
             write: bool = True, target: str | None = None) -> GateRun:
    """The decision for `phase` (default: the ledger's current phase) at its latest evaluation or at `at`.

    target: the dbt target the rebuild runs on (default: the profile's, DuckDB). On Spark the build copies the marts
    into the home's DuckDB warehouse afterwards (spark_lake.mirror_spark_marts), so the decision is read the same
    way."""
    home = Path(home)
    entries = ledger.read(home)
    current = ledger.current_phase(entries)
    phase = check_phase(phase) if phase else current
    entered = ledger.last_entry_into(entries, phase) if phase == current else None
    if rebuild and write:
        start_renderer()      # the report's charts: the engine starts while dbt builds
    if rebuild:
        # imported here: the pipeline pulls in dbt, which `--no-build` never needs
        from rolloutctl.warehouse.dbt_runner import BuildFailed
        from rolloutctl.warehouse.refresh import refresh

        result = refresh(home, check=False, target=target, publish=False)
        if not (result.success or only_data_tests_failed(result)):   # failing data tests: hold, below
            raise BuildFailed(result)
    entered_at = entered.effective_at if entered else None
    con = connect(home, read_only=True)
    # the analysts' snapshot of the new build (refresh publishes it otherwise), written from another thread while
    # this one reads the decision and draws the charts: DuckDB copies outside the GIL, on the other core
    background = ThreadPoolExecutor(max_workers=1) if rebuild else None
    snapshot = background.submit(analyst_snapshot.publish, home, con.cursor()) if background else None
    try:
        ev = read_evaluation(con, phase, at, not_before=entered_at)
        if write and ev.eval_at:
            doc = analyzer_output(con, ev)
            prov = replay.provenance(con, home, ev)
            doc.update(prov or {})
            incidents = recent_incidents(con, ev)
            budget = read_error_budget(con, ev.phase, ev.eval_at)
            charts = render_report_charts(home, ev.day, con=con)
    finally:
        if background:
            background.shutdown(wait=True)
        con.close()
    if snapshot:
        snapshot.result()     # a failed publish fails the cycle, as it fails a build
    if not (write and ev.eval_at):
        return GateRun(ev, current, None, None, None, entered_at)
    rel = metrics_relpath(ev.day)
    atomic_write_text(home / rel, format_analyzer_output(doc))
    report = write_report(home, ev, doc, incidents, str(rel), charts, budget=budget)
    return GateRun(ev, current, str(rel), sha256_file(home / rel), report, entered_at, prov)


def phase_on(entries: list[ledger.LedgerEntry], when: datetime) -> str:
    """The ledger's phase at `when`."""
    phase = ledger.FIRST_PHASE
    for e in entries:
        if e.effective_at <= when:
            phase = e.phase_to
    return phase


def report_for_day(home: Path, day: str, phase: str | None = None) -> GateRun:
    """Re-render reports/rollout/<day>.md (and its analyzer output) from the built marts, without a build.

    The phase defaults to the ledger's phase at the end of that day; the evaluation is the day's last one.
    """
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):     # the date names files: nothing else gets through
            raise ValueError(day)
        end = datetime.fromisoformat(f"{day}T00:00:00+00:00") + timedelta(days=1)
    except ValueError:
        raise UsageError(f"--date must be YYYY-MM-DD, not {day!r}") from None
    phase = check_phase(phase) if phase else phase_on(ledger.read(home), end)
    run = evaluate(home, phase=phase, at=end, rebuild=False)
    if run.evaluation.day != day:
        raise UsageError(f"{phase} has no evaluation on {day}")
    return run
