"""Rollback notifications: Slack (incoming webhook) and PagerDuty (Events API v2).

Sent with a real HTTP POST (urllib) to the URLs configured in the environment, with a timeout and retries:

  ROLLOUT_SLACK_WEBHOOK_URL        Slack incoming-webhook URL
  ROLLOUT_PAGERDUTY_URL            Events API v2 endpoint (https://events.pagerduty.com/v2/enqueue)
  ROLLOUT_PAGERDUTY_ROUTING_KEY    the integration's routing key
  ROLLOUT_NOTIFY_TIMEOUT           seconds per attempt (default 5)
  ROLLOUT_NOTIFY_ATTEMPTS          attempts per notification (default 3; 5xx, 429 and network errors are retried)

A channel with no URL, or a send that still fails after its attempts, is written to notifications/outbox/ (never
lost; `flush_outbox` sends it once the channel works) and never stops the rollback. URLs and the routing key are
secrets: they are read from the environment at send time and never printed or written (the outbox holds the payload
without the routing key; error messages are scrubbed).
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from rolloutctl.core.files import atomic_write_json
from rolloutctl.core.layout import OUTBOX_RELDIR, SENT_RELDIR
from rolloutctl.core.timestamps import iso_z, utc_now

SLACK_URL_ENV = "ROLLOUT_SLACK_WEBHOOK_URL"
PAGERDUTY_URL_ENV = "ROLLOUT_PAGERDUTY_URL"
PAGERDUTY_KEY_ENV = "ROLLOUT_PAGERDUTY_ROUTING_KEY"
TIMEOUT_ENV = "ROLLOUT_NOTIFY_TIMEOUT"
ATTEMPTS_ENV = "ROLLOUT_NOTIFY_ATTEMPTS"
SLACK_CHANNEL = "#launch-autosave"


@dataclass
class Notification:
    id: str                 # unique per notification, e.g. L0003-slack
    channel: str            # slack | pagerduty
    payload: dict           # without secrets

    def as_json(self) -> dict:
        return {"id": self.id, "channel": self.channel, "payload": self.payload}


@dataclass
class Delivery:
    id: str
    channel: str
    status: str             # sent | queued
    attempts: int
    detail: str             # what happened, free of secrets
    outbox_file: str | None = None

    def as_json(self) -> dict:
        return {"id": self.id, "channel": self.channel, "status": self.status, "attempts": self.attempts,
                "detail": self.detail, "outbox_file": self.outbox_file}


def rollback_notifications(incident: dict) -> list[Notification]:
    """The Slack and PagerDuty payloads for a rollback recorded in incident_queue.json."""
    rules = ", ".join(incident.get("trigger_rules") or []) or "manual"
    summary = (f"Rollback {incident['phase_from']} → {incident['phase_to']}: {rules} "
               f"(evaluated at {incident['eval_at']})")
    details = {k: incident.get(k) for k in ("id", "phase_from", "phase_to", "eval_at", "executor", "reason",
                                            "trigger_rules", "metrics_file", "rca_file")}
    slack = {
        "channel": SLACK_CHANNEL,
        "text": f":rotating_light: {summary}",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"Rollback {incident['phase_from']} → "
                                                                     f"{incident['phase_to']}"}},
            {"type": "section", "fields": [
                {"type": "mrkdwn", "text": f"*Rules*\n{rules}"},
                {"type": "mrkdwn", "text": f"*Evaluated at*\n{incident['eval_at']}"},
                {"type": "mrkdwn", "text": f"*Executor*\n{incident.get('executor', '')}"},
                {"type": "mrkdwn", "text": f"*RCA*\n{incident.get('rca_file') or '-'}"},
            ]},
            {"type": "section", "text": {"type": "mrkdwn", "text": incident.get("reason") or ""}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Dashboard: {incident['dashboard']}"}]},
        ],
    }
    pagerduty = {
        "event_action": "trigger",
        "dedup_key": f"rolloutctl-{incident['id']}",
        "payload": {
            "summary": summary[:1024],
            "source": "rolloutctl",
            "severity": "critical",
            "timestamp": incident["created_at"],
            "component": "phased-rollout",
            "group": incident["phase_from"],
            "class": "rollback",
            "custom_details": details,
        },
        "links": [{"href": incident["dashboard"], "text": "AutoSave / Merge dashboard"}],
        "client": "rolloutctl",
    }
    return [Notification(f"{incident['id']}-slack", "slack", slack),
            Notification(f"{incident['id']}-pagerduty", "pagerduty", pagerduty)]


def _settings(channel: str) -> tuple[str | None, list[str]]:
    """(URL or None, secrets to scrub) for a channel, from the environment."""
    if channel == "slack":
        url = os.environ.get(SLACK_URL_ENV) or None
        return url, [url] if url else []
    url = os.environ.get(PAGERDUTY_URL_ENV) or None
    key = os.environ.get(PAGERDUTY_KEY_ENV) or None
    if url and not key:
        return None, [url]
    return url, [s for s in (url, key) if s]


def _body(note: Notification) -> bytes:
    payload = dict(note.payload)
    if note.channel == "pagerduty":
        payload = {"routing_key": os.environ.get(PAGERDUTY_KEY_ENV, ""), **payload}
    return json.dumps(payload).encode("utf-8")


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _post(url: str, body: bytes, timeout: float) -> tuple[bool, bool, str]:
    """One POST: (ok, worth retrying, what happened)."""
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "rolloutctl"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return True, False, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, exc.code >= 500 or exc.code == 429, f"HTTP {exc.code}"
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return False, True, f"network error: {reason}"


def send(note: Notification) -> tuple[bool, int, str]:
    """Send with retries: (sent, attempts made, what happened)."""
    url, secrets = _settings(note.channel)
    if not url:
        return False, 0, "not configured"
    timeout = float(os.environ.get(TIMEOUT_ENV, "5"))
    attempts = max(1, int(os.environ.get(ATTEMPTS_ENV, "3")))
    body = _body(note)
    detail = ""
    for attempt in range(1, attempts + 1):
        ok, retry, detail = _post(url, body, timeout)
        if ok:
            return True, attempt, _scrub(detail, secrets)
        if not retry or attempt == attempts:
            return False, attempt, _scrub(detail, secrets)
        time.sleep(min(0.2 * 2 ** (attempt - 1), 2.0))
    return False, attempts, _scrub(detail, secrets)


def _outbox_write(home: Path, note: Notification, detail: str) -> str:
    rel = OUTBOX_RELDIR / f"{note.id}.json"
    atomic_write_json(Path(home) / rel, {**note.as_json(), "queued_at": iso_z(utc_now()), "last_error": detail})
    return str(rel)


def deliver(home: Path, notes: list[Notification]) -> list[Delivery]:
    """Send each notification; whatever is not sent goes to the outbox."""
    results = []
    for note in notes:
        sent, attempts, detail = send(note)
        if sent:
            results.append(Delivery(note.id, note.channel, "sent", attempts, detail))
        else:
            results.append(Delivery(note.id, note.channel, "queued", attempts, detail,
                                    _outbox_write(home, note, detail)))
    return results


def flush_outbox(home: Path) -> list[Delivery]:
    """Send what waits in the outbox for channels that are configured now; sent files move to notifications/sent/."""
    folder = Path(home) / OUTBOX_RELDIR
    results = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        doc = json.loads(path.read_text(encoding="utf-8"))
        note = Notification(doc["id"], doc["channel"], doc["payload"])
        if _settings(note.channel)[0] is None:
            continue
        sent, attempts, detail = send(note)
        if sent:
            target = Path(home) / SENT_RELDIR / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
            results.append(Delivery(note.id, note.channel, "sent", attempts, detail))
        else:
            results.append(Delivery(note.id, note.channel, "queued", attempts, detail,
                                    str(path.relative_to(home))))
    return results
