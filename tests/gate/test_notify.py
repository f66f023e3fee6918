"""Rollback notifications go to real HTTP endpoints (a local server here): success, a 500 then success, and a
timeout that ends in the outbox; secrets never reach a file or the output."""
from __future__ import annotations

import json

import pytest

from rolloutctl.governance import notify
from tests.support.gate_support import promoted_to, recorded_run
from tests.support.http_receiver import http_receiver

ROUTING_KEY = "R0UT1NGKEY-secret-0123456789"

INCIDENT = {"action": "notify_rollback", "id": "L0003", "created_at": "2026-11-05T06:00:02Z",
            "eval_at": "2026-11-05T06:00:00Z", "phase_from": "A-2", "phase_to": "A-1",
            "trigger_rules": ["a2_rollback_p95_critical"], "executor": "gate", "reason": "p95 critical",
            "metrics_file": "metrics/autosave_merge/snapshots/L0003.json", "rca_file": "reports/rca/x.md",
            "dashboard": "/dashboards/autosave-merge"}


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setenv(notify.TIMEOUT_ENV, "0.5")
    monkeypatch.setenv(notify.ATTEMPTS_ENV, "3")


def _configure(monkeypatch, slack_url=None, pd_url=None):
    for var in (notify.SLACK_URL_ENV, notify.PAGERDUTY_URL_ENV, notify.PAGERDUTY_KEY_ENV):
        monkeypatch.delenv(var, raising=False)
    if slack_url:
        monkeypatch.setenv(notify.SLACK_URL_ENV, slack_url + "/services/T000/B000/slack-secret-token")
    if pd_url:
        monkeypatch.setenv(notify.PAGERDUTY_URL_ENV, pd_url + "/v2/enqueue")
        monkeypatch.setenv(notify.PAGERDUTY_KEY_ENV, ROUTING_KEY)


def _all_text(home) -> str:
    return "\n".join(p.read_text(errors="replace") for p in home.rglob("*") if p.is_file()
                     and p.suffix in (".json", ".jsonl", ".yaml", ".md"))


def test_payloads_follow_slack_and_pagerduty_events_v2():
    slack, pd = notify.rollback_notifications(INCIDENT)
    assert slack.channel == "slack" and "A-2 → A-1" in slack.payload["text"]
    assert slack.payload["blocks"][0]["type"] == "header"
    assert pd.payload["event_action"] == "trigger"
    assert pd.payload["dedup_key"] == "rolloutctl-L0003"
    assert set(pd.payload["payload"]) >= {"summary", "source", "severity", "timestamp", "custom_details"}
    assert pd.payload["payload"]["severity"] == "critical"
    assert "routing_key" not in pd.payload


def test_success_sends_once_with_the_routing_key(home, quick, monkeypatch):
    with http_receiver(200) as slack, http_receiver(202) as pd:
        _configure(monkeypatch, slack.url, pd.url)
        results = notify.deliver(home, notify.rollback_notifications(INCIDENT))
    assert [(r.channel, r.status, r.attempts) for r in results] == [("slack", "sent", 1), ("pagerduty", "sent", 1)]
    assert slack.requests[0]["path"] == "/services/T000/B000/slack-secret-token"
    assert slack.requests[0]["content_type"] == "application/json"
    assert pd.requests[0]["body"]["routing_key"] == ROUTING_KEY
    assert pd.requests[0]["body"]["payload"]["summary"].startswith("Rollback A-2 → A-1")
    assert not (home / notify.OUTBOX_RELDIR).exists()


def test_a_500_is_retried_then_sent(home, quick, monkeypatch):
    with http_receiver(500, 200) as slack, http_receiver(503, 502, 202) as pd:
        _configure(monkeypatch, slack.url, pd.url)
        results = notify.deliver(home, notify.rollback_notifications(INCIDENT))
    assert [(r.status, r.attempts) for r in results] == [("sent", 2), ("sent", 3)]
    assert len(slack.requests) == 2 and len(pd.requests) == 3
    assert slack.requests[0]["body"] == slack.requests[1]["body"]


def test_a_timeout_goes_to_the_outbox_without_secrets_then_flushes(home, quick, monkeypatch):
    with http_receiver(("sleep", 1.5)) as slack, http_receiver(("sleep", 1.5)) as pd:
        _configure(monkeypatch, slack.url, pd.url)
        results = notify.deliver(home, notify.rollback_notifications(INCIDENT))
    assert [(r.status, r.attempts) for r in results] == [("queued", 3), ("queued", 3)]
    assert all("network error" in r.detail for r in results)
    outbox = sorted(p.name for p in (home / notify.OUTBOX_RELDIR).iterdir())
    assert outbox == ["L0003-pagerduty.json", "L0003-slack.json"]
    text = _all_text(home)
    assert ROUTING_KEY not in text and "slack-secret-token" not in text and "127.0.0.1" not in text
    queued = json.loads((home / notify.OUTBOX_RELDIR / "L0003-pagerduty.json").read_text())
    assert queued["payload"]["dedup_key"] == "rolloutctl-L0003"

    # the channels work again: the outbox is sent, with the routing key added at send time
    with http_receiver(200) as slack, http_receiver(202) as pd:
        _configure(monkeypatch, slack.url, pd.url)
        flushed = notify.flush_outbox(home)
    assert sorted((r.channel, r.status) for r in flushed) == [("pagerduty", "sent"), ("slack", "sent")]
    assert pd.requests[0]["body"]["routing_key"] == ROUTING_KEY
    assert list((home / notify.OUTBOX_RELDIR).iterdir()) == []
    assert sorted(p.name for p in (home / notify.SENT_RELDIR).iterdir()) == outbox


def test_a_client_error_is_not_retried_and_is_queued(home, quick, monkeypatch):
    with http_receiver(400) as slack:
        _configure(monkeypatch, slack_url=slack.url)
        [result] = notify.deliver(home, notify.rollback_notifications(INCIDENT)[:1])
    assert (result.status, result.attempts, result.detail) == ("queued", 1, "HTTP 400")
    assert len(slack.requests) == 1


def test_unconfigured_channels_write_the_outbox(home, monkeypatch):
    _configure(monkeypatch)
    results = notify.deliver(home, notify.rollback_notifications(INCIDENT))
    assert [(r.status, r.attempts, r.detail) for r in results] == [("queued", 0, "not configured")] * 2
    assert notify.flush_outbox(home) == []     # still nowhere to send: stays queued
    assert len(list((home / notify.OUTBOX_RELDIR).iterdir())) == 2


def test_a_rollback_completes_although_notifications_time_out(home, quick, monkeypatch):
    from rolloutctl.governance import actions, ledger

    promoted_to(home, "A-2")
    run = recorded_run(home, "A-2", "2026-11-05T06:00:00Z", "rollback", rules=["a2_rollback_p95_critical"])
    with http_receiver(("sleep", 1.5)) as slack, http_receiver(500) as pd:
        _configure(monkeypatch, slack.url, pd.url)
        result = actions.rollback_procedure(home, run, "A-1", "gate", "p95 critical", ["a2_rollback_p95_critical"])
    assert [e.phase_to for e in ledger.read(home)] == ["A-1", "A-2", "A-1"]
    assert [(d.channel, d.status) for d in result.notifications] == [("slack", "queued"), ("pagerduty", "queued")]
    queue = json.loads((home / "incident_queue.json").read_text())
    assert [q["action"] for q in queue] == ["notify_rollback"]
    assert [n["status"] for n in queue[0]["notifications"]] == ["queued", "queued"]
    assert ROUTING_KEY not in _all_text(home)
