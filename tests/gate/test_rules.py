"""Every default rule of SPEC §7 fires, stays clear and lacks data at known times of a hand-made rollout; the
boundaries (A-1 restore < 0.995, A-2 ≤ 0.995; p95 2500 and 900; the 96th evaluation; T = 00:00) are kept exactly;
the decision follows rollback > review > promote > hold; a rollback's missing RCA holds the promotion."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from ingest.warehouse import connect
from rolloutctl.warehouse import refresh
from tests.support.gate_oracle import compare_with_oracle
from tests.support.gate_scenarios import EXPECT, EXPECT_DECISIONS, write_rca
from tests.support.gate_support import t

pytestmark = pytest.mark.xdist_group("scenario")   # one worker builds the scenario (conftest.py)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def con(scenario_home):
    con = connect(scenario_home, read_only=True)
    yield con
    con.close()


def _rule(con, phase, at, rule_id):
    return con.execute("""
        select status, value, is_fired from marts.gate_rule_results
        where phase = ? and eval_at = ? and rule_id = ?""", [phase, t(at + ":00Z"), rule_id]).fetchone()


def _decision(con, phase, at):
    return con.execute("""
        select decision, reason, next_phase, rollback_to, deciding_rule_ids, blocking_rollback_ids
        from marts.gate_decisions where phase = ? and eval_at = ?""", [phase, t(at + ":00Z")]).fetchone()


@pytest.mark.parametrize("key", sorted(EXPECT), ids=[f"{r}@{a}" for p, a, r in sorted(EXPECT)])
def test_rule_outcome(con, key):
    phase, at, rule_id = key
    status, value = EXPECT[key]
    row = _rule(con, phase, at, rule_id)
    assert row is not None, f"no row for {key}"
    assert row[0] == status
    assert row[1] == (pytest.approx(value) if value is not None else None)
    assert row[2] == (status in ("fired", "passed"))


def test_every_default_rule_is_seen_both_ways():
    with open(REPO / "governance" / "gate_rules.csv", newline="") as fh:
        rules = {row["rule_id"] for row in csv.DictReader(fh)}
    seen: dict[str, set] = {}
    for (_p, _a, rule_id), (status, _v) in EXPECT.items():
        seen.setdefault(rule_id, set()).add(status)
    assert rules == set(seen)
    for rule_id, statuses in seen.items():
        positive = {"fired", "passed"} & statuses
        negative = {"clear", "not_met"} & statuses
        assert positive and negative, f"{rule_id} is only seen as {statuses}"
    lacking = {r for r, s in seen.items() if "insufficient_data" in s}
    # rules over counts and QA results cannot lack data; every other rule is seen lacking it
    assert lacking == rules - {"a0_review_breach_hours", "a1_rollback_breach_hours", "a2_rollback_breach_hours",
                               "a1_promote_autosave_qa", "a2_promote_restore_qa", "b0_promote_merge_qa",
                               "b0_rollback_critical_bugs", "b1_promote_release_notes", "b1_rollback_sev1_incident",
                               "a0_promote_no_review"}


@pytest.mark.parametrize("key", sorted(EXPECT_DECISIONS), ids=[f"{p}@{a}" for p, a in sorted(EXPECT_DECISIONS)])
def test_decision(con, key):
    phase, at = key
    row = _decision(con, *key)
    assert row is not None
    assert row[:4] == EXPECT_DECISIONS[key]


def test_rollback_beats_review_and_promote_in_one_evaluation(con):
    # A-1 at 2026-01-10T02:00: a rollback rule fires (critical p95) while no promote rule passes
    decision, reason, _n, rollback_to, deciding, _b = _decision(con, "A-1", "2026-01-10T02:00")
    assert (decision, rollback_to, deciding) == ("rollback", "A-0", ["a1_rollback_p95_critical"])


def test_the_rca_block_names_the_rollback(con):
    row = _decision(con, "A-1", "2026-01-16T00:30")
    assert row[0:2] == ("hold", "rca_missing")
    assert row[5] == ["L0001"]
    # the rollback took effect at 00:15: before it, nothing blocks
    assert _decision(con, "A-1", "2026-01-16T00:00")[5] == []


def test_phase_start_comes_from_the_ledger(con):
    rows = con.execute("""
        select eval_at, phase_started_at, phase_start_source from marts.gate_decisions
        where phase = 'A-2' and eval_at in (?, ?) order by eval_at""",
                       [t("2026-01-25T23:45:00Z"), t("2026-01-26T00:15:00Z")]).fetchall()
    assert [(r[1], r[2]) for r in rows] == [(t("2026-01-20T00:00:00Z"), "first_event"),
                                            (t("2026-01-26T00:00:00Z"), "ledger")]


def test_a_complete_rca_lifts_the_block(scenario_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(scenario_home, home)
    write_rca(home, "complete")
    refresh.refresh(home)
    con = connect(home, read_only=True)
    try:
        assert _decision(con, "A-1", "2026-01-16T00:30")[:3] == ("promote", "promote_rules_passed", "A-2")
    finally:
        con.close()


def test_the_independent_implementation_agrees_everywhere(con):
    from tests.support.gate_oracle import Oracle, events_from_warehouse
    from tests.support.gate_scenarios import LEDGER

    ledger = [{**e, "effective_at": t(e["timestamp"])} for e in LEDGER]
    oracle = Oracle(events_from_warehouse(con), ledger=ledger, complete_rcas=set())
    mismatches = compare_with_oracle(con, oracle)
    assert mismatches == []

