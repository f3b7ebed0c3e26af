"""Slack and generic webhooks against a real local HTTP server: payloads, HMAC, failures retried once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import date

import pytest

from tests import billdata
from tests.conftest import one_line_error, query
from tests.httpfake import serve

SLACK_PATH = "/services/T0001/B0002/slack-token-s3cr3t"
HOOK_PATH = "/hooks/finops-hook-s3cr3t"
HMAC_KEY = "hmac-key-s3cr3t"
CONFIG = (
    billdata.CONFIG
    + """
[[notify]]
name = "slack"
type = "slack"
url_env = "FINOPS_TEST_SLACK_URL"

[[notify]]
name = "hook"
type = "webhook"
url_env = "FINOPS_TEST_HOOK_URL"
secret_env = "FINOPS_TEST_HOOK_KEY"
timeout = 1
"""
)


class Receiver:
    """Routes for the fake server; `hook` answers what `answers` says next (then 200)."""

    def __init__(self) -> None:
        self.answers: list[str] = []
        self.acknowledged: list[bytes] = []

    def slack(self, request):
        self.acknowledged.append(request.body)
        return 200, b"ok"  # what Slack answers: not JSON

    def hook(self, request):
        answer = self.answers.pop(0) if self.answers else "ok"
        if answer == "500":
            return 500, {"message": f"no receiver configured for {request.path}"}  # echoes the secret path
        if answer == "slow":
            time.sleep(1.5)
            return 200, b""
        self.acknowledged.append(request.body)
        return 204, b""


@pytest.fixture
def hooks(run, tmp_path, db, monkeypatch):
    receiver = Receiver()
    routes = {("POST", SLACK_PATH): receiver.slack, ("POST", HOOK_PATH): receiver.hook}
    with serve(routes) as server:
        monkeypatch.setenv("FINOPS_TEST_SLACK_URL", server.url + SLACK_PATH)
        monkeypatch.setenv("FINOPS_TEST_HOOK_URL", server.url + HOOK_PATH)
        monkeypatch.setenv("FINOPS_TEST_HOOK_KEY", HMAC_KEY)
        (tmp_path / "finops.toml").write_text(CONFIG)
        billdata.load_file(db, billdata.october(tmp_path / "bill.csv", date(2026, 11, 1)))
        yield run, server, receiver


def secrets_absent(db, *texts: str) -> None:
    stored = query(db, "SELECT CAST(alert_events AS VARCHAR) FROM alert_events") + query(
        db, "SELECT CAST(alert_deliveries AS VARCHAR) FROM alert_deliveries"
    )
    for text in [*texts, *(str(row) for row in stored)]:
        for secret in ("slack-token-s3cr3t", "finops-hook-s3cr3t", HMAC_KEY):
            assert secret not in text


def test_slack_block_kit_and_signed_webhook(hooks, db):
    run, server, receiver = hooks
    result = run("alert", "--as-of", "2026-11-05")
    assert result.exit_code == 1, result.output
    slack = next(r for r in server.requests if r.path == SLACK_PATH).json()
    assert slack["text"] == "Budget nlp (2026-10): actual spend 3,400.00 USD is 113.33% of 3,000.00 USD, over 100%"
    header, numbers, drivers, context = slack["blocks"]
    assert header == {"type": "header", "text": {"type": "plain_text", "text": slack["text"]}}
    assert [f["text"] for f in numbers["fields"]] == [
        "*Actual*\n3,400.00 USD (113.33%)",
        "*Forecast*\n3,400.00 USD (113.33%)",
        "*Budget*\n3,000.00 USD (effective cost)",
        "*Period*\n2026-10-01 to 2026-10-31",
    ]
    assert drivers["text"]["text"] == "*Top drivers*\n• service EC2: 3,100.00 USD\n• service Support: 300.00 USD"
    assert context["type"] == "context"

    hook = next(r for r in server.requests if r.path == HOOK_PATH)
    body = hook.json()
    assert (body["budget"], body["kind"], body["threshold"], body["status"]) == ("nlp", "actual", "100", "firing")
    assert (body["actual"], body["amount"], body["forecast"]) == ("3400.00", "3000.00", "3400.00")
    stamp = hook.headers["x-finops-timestamp"]
    expected = hmac.new(HMAC_KEY.encode(), stamp.encode() + b"." + hook.body, hashlib.sha256).hexdigest()
    assert hook.headers["x-finops-signature"] == f"sha256={expected}"
    assert abs(int(stamp) - time.time()) < 60
    assert json.loads(receiver.acknowledged[0])["text"] == slack["text"]
    assert query(db, "SELECT channel, attempts, sent_at IS NOT NULL FROM alert_deliveries ORDER BY 1") == [
        ("hook", 1, True),
        ("slack", 1, True),
    ]
    secrets_absent(db, result.stdout, result.stderr)


@pytest.mark.parametrize("failure", ["500", "slow"])
def test_a_failing_webhook_is_retried_next_run_and_delivered_once(hooks, db, failure):
    run, _, receiver = hooks
    receiver.answers = [failure]
    first = run("alert", "--as-of", "2026-11-05")
    error = one_line_error(first)
    assert "1 channel(s) failed; their messages stay pending" in error
    reason = (
        "HTTP 500 Internal Server Error: no receiver configured for ***" if failure == "500" else "no answer within 1 s"
    )
    assert reason in first.stderr
    assert len(receiver.acknowledged) == 1  # Slack got it anyway
    assert query(db, "SELECT channel, attempts, sent_at IS NULL FROM alert_deliveries ORDER BY 1") == [
        ("hook", 1, True),
        ("slack", 1, False),
    ]
    second = run("alert", "--as-of", "2026-11-06")
    assert second.exit_code == 1, second.output  # nothing new fired, but the pending message went out
    third = run("alert", "--as-of", "2026-11-07")
    assert third.exit_code == 0, third.output
    hooked = [json.loads(b) for b in receiver.acknowledged[1:]]
    assert [(m["budget"], m["threshold"]) for m in hooked] == [("nlp", "100")]  # exactly once
    assert len(receiver.acknowledged) == 2
    secrets_absent(db, *(r.stdout + r.stderr for r in (first, second, third)))


def test_missing_secret_and_bad_url_are_named(hooks, monkeypatch):
    run, server, _ = hooks
    monkeypatch.delenv("FINOPS_TEST_HOOK_KEY")
    error = one_line_error(run("alert"))
    assert "'notify[1].secret_env': environment variable FINOPS_TEST_HOOK_KEY is not set" in error
    monkeypatch.setenv("FINOPS_TEST_HOOK_KEY", HMAC_KEY)
    monkeypatch.setenv("FINOPS_TEST_SLACK_URL", "file:///etc/passwd")
    error = one_line_error(run("alert"))
    assert "'notify[0].url_env': FINOPS_TEST_SLACK_URL must hold an http(s) URL" in error
    assert "passwd" not in error
    assert server.requests == []
