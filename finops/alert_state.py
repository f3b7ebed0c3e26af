"""The alert ledger: which thresholds have fired, what changed since the last run, and delivery per channel.

States live in `alert_events`, one row per budget (or anomaly scope) × kind × period × threshold,
`firing` or `resolved`, like AWS Budgets' OK/ALARM. A run compares the evaluation with them:

- thresholds crossed now and not firing fire (one message per budget and kind, naming the highest);
- firing thresholds no longer crossed (a restated bill dropped the spend) resolve (one message);
- an anomaly of the last `notify_days` complete days fires once; it never resolves.

Each change is recorded with one `alert_deliveries` row per channel in one transaction, then sent.
A channel that fails keeps its delivery pending and the next run retries it; the others are unaffected.
The caller holds the store's one write connection from evaluation to the last send, so a second
`finops alert` started meanwhile waits for it and then finds nothing new: nothing is sent twice.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, TextIO

import duckdb

from finops import alerts, queries, store
from finops.alerts import Evaluation
from finops.config import NotifySettings, Settings
from finops.errors import ConfigError, FinopsError
from finops.notify import DeliveryError, Sender, messages, open_channel
from finops.output import decimal_text

DEFAULT_CHANNELS = (NotifySettings(name="terminal", type="terminal"),)


@dataclass(frozen=True)
class Change:
    """An alert that fired or resolved in this run, with the message its channels get."""

    alert_key: str
    kind: str  # actual | forecast | anomaly
    period_start: date
    threshold: str  # the message's threshold: % for budgets, "anomaly" for anomalies
    status: str  # firing | resolved
    currency: str
    amount: Decimal
    limit_amount: Decimal | None
    channels: tuple[str, ...]
    message: dict[str, Any]
    rows: tuple[str, ...]  # every threshold whose alert_events row takes `status`


@dataclass(frozen=True)
class Outcome:
    """What a run changed, sent, and failed to send (failures stay pending)."""

    changes: list[Change]
    sent: int = 0
    failures: list[str] = field(default_factory=list)
    stranded: list[str] = field(default_factory=list)  # pending for channels no longer configured


def channels(settings: Settings) -> tuple[NotifySettings, ...]:
    """The configured [[notify]] channels, or the terminal when none is."""
    return settings.notify or DEFAULT_CHANNELS


def open_senders(settings: Settings, only: str | None, environ: Mapping[str, str], stdout: TextIO) -> dict[str, Sender]:
    """Open the channels (or just `only`), reading their secrets now so a missing one stops the run early."""
    configured = channels(settings)
    names = [c.name for c in configured]
    if only is not None and only not in names:
        raise ConfigError(f"--channel {only}: no [[notify]] channel of that name; channels: {', '.join(names)}")
    return {c.name: open_channel(c, i, environ, stdout) for i, c in enumerate(configured) if only in (None, c.name)}


def connect(settings: Settings, read_only: bool) -> duckdb.DuckDBPyConnection:
    """The store, waiting while another process holds it: [alerts] lock_wait seconds if set, else [store]'s."""
    if settings.alerts.lock_wait is not None:
        wait = dataclasses.replace(settings.store, lock_wait=settings.alerts.lock_wait)
        settings = dataclasses.replace(settings, store=wait)
    return store.connect(settings, read_only=read_only)


def changes(con: duckdb.DuckDBPyConnection, settings: Settings, evaluation: Evaluation) -> list[Change]:
    """What fired or resolved since the states recorded in alert_events."""
    rows = con.execute("SELECT alert_key, kind, period_start, threshold, status FROM alert_events").fetchall()
    state = {(key, kind, start, threshold): status for key, kind, start, threshold, status in rows}
    everyone = tuple(c.name for c in channels(settings))
    found: list[Change] = []
    for budget, status in zip(settings.budgets, evaluation.budgets, strict=True):
        targets = budget.notify or everyone
        for kind, configured in (("actual", budget.thresholds), ("forecast", budget.forecast_thresholds)):
            crossed = {decimal_text(t) for k, t in status.crossed if k == kind}
            known = {decimal_text(t) for t in configured}
            firing = {t for t in known if state.get((status.name, kind, status.period_start, t)) == "firing"}
            # a forecast threshold the actual spend has crossed says nothing new: neither fire nor resolve it
            covered = {t for t in known if kind == "forecast" and Decimal(t) * status.amount <= status.actual * 100}
            fired, resolved = crossed - firing - covered, firing - crossed - covered
            amount = status.actual if kind == "actual" else status.forecast
            for rows_, state_name, pick in ((fired, "firing", max), (resolved, "resolved", min)):
                if rows_:
                    shown = pick(rows_, key=Decimal)
                    message = messages.budget(status, kind, shown, state_name, evaluation)
                    found.append(
                        Change(
                            status.name,
                            kind,
                            status.period_start,
                            shown,
                            state_name,
                            status.currency,
                            amount or Decimal(0),
                            status.amount,
                            targets,
                            message,
                            tuple(sorted(rows_, key=Decimal)),
                        )
                    )
    recent = evaluation.cutoff - timedelta(days=settings.anomalies.notify_days)
    targets = settings.anomalies.notify or everyone
    for item in evaluation.anomalies:
        key = f"{item.scope_kind}:{item.scope_value}:{item.currency}"
        if item.day >= recent and (key, "anomaly", item.day, "anomaly") not in state:
            message = messages.anomaly(item, evaluation)
            found.append(
                Change(
                    key,
                    "anomaly",
                    item.day,
                    "anomaly",
                    "firing",
                    item.currency,
                    item.actual,
                    item.expected,
                    targets,
                    message,
                    ("anomaly",),
                )
            )
    return found


def record(con: duckdb.DuckDBPyConnection, found: Iterable[Change]) -> None:
    """Write the changes' states and their pending deliveries, all in one transaction."""
    now = datetime.now(UTC)
    with store.transaction(con):
        row = store.fetch_one(con, "SELECT coalesce(max(delivery_id), 0) FROM alert_deliveries")
        next_id = int(row[0]) + 1 if row else 1
        for change in found:
            # one id per change, the same on every channel and retry: receivers can drop a repeat
            details = json.dumps({**change.message, "event_id": uuid.uuid4().hex}, sort_keys=True)
            for threshold in change.rows:
                key = [change.alert_key, change.kind, change.period_start, threshold]
                updated = store.fetch_one(  # DuckDB answers an UPDATE with the count of rows it changed
                    con,
                    "UPDATE alert_events SET status = ?, amount = ?, limit_amount = ?, details = ?, channel = ? "
                    "WHERE alert_key = ? AND kind = ? AND period_start = ? AND threshold = ?",
                    [change.status, change.amount, change.limit_amount, details, ",".join(change.channels), *key],
                )
                if updated is None or not updated[0]:
                    con.execute(
                        "INSERT INTO alert_events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        [
                            *key[:3],
                            threshold,
                            change.status,
                            change.currency,
                            change.amount,
                            change.limit_amount,
                            ",".join(change.channels),
                            details,
                            now,
                        ],
                    )
            for channel in change.channels:
                con.execute(
                    "INSERT INTO alert_deliveries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL)",
                    [
                        next_id,
                        change.alert_key,
                        change.kind,
                        change.period_start,
                        change.threshold,
                        change.status,
                        channel,
                        details,
                        now,
                    ],
                )
                next_id += 1


def deliver(con: duckdb.DuckDBPyConnection, senders: Mapping[str, Sender]) -> tuple[int, list[str], list[str]]:
    """Send every pending delivery of an open channel, oldest first: (sent, failures, stranded channels)."""
    pending = con.execute(
        "SELECT delivery_id, alert_key, kind, period_start, threshold, channel, message "
        "FROM alert_deliveries WHERE sent_at IS NULL ORDER BY delivery_id"
    ).fetchall()
    sent, failures = 0, []
    stranded: set[str] = set()  # channels no longer in [[notify]]
    broken: set[str] = set()  # one failure per channel and run: the rest wait for the next run
    for delivery_id, key, kind, start, threshold, channel, message in pending:
        sender = senders.get(channel)
        if sender is None:
            stranded.add(channel)
            continue
        if channel in broken:
            continue
        try:
            sender.send(json.loads(message))
        except DeliveryError as exc:
            broken.add(channel)
            failures.append(str(exc))
            con.execute(
                "UPDATE alert_deliveries SET attempts = attempts + 1, last_error = ? WHERE delivery_id = ?",
                [str(exc), delivery_id],
            )
            continue
        now = datetime.now(UTC)
        with store.transaction(con):
            con.execute(
                "UPDATE alert_deliveries SET attempts = attempts + 1, sent_at = ?, last_error = NULL "
                "WHERE delivery_id = ?",
                [now, delivery_id],
            )
            con.execute(
                "UPDATE alert_events SET last_sent_at = ? WHERE alert_key = ? AND kind = ? AND period_start = ? "
                "AND threshold = ?",
                [now, key, kind, start, threshold],
            )
        sent += 1
    return sent, failures, sorted(stranded)


def default_period(con: duckdb.DuckDBPyConnection, as_of: date) -> str:
    """The latest billing month that starts on or before `as_of`: the open month, or the last one
    while the new month's bill has not arrived (the provider still restates it)."""
    row = store.fetch_one(con, queries.load("alert_latest_period").sql, {"as_of": as_of})
    if not row or row[0] is None:
        raise FinopsError("the store has no billing rows to alert on; load a bill with `finops collect ...` first")
    return str(row[0])


def run(
    settings: Settings,
    period: str | None,
    as_of: date | None,
    dry_run: bool,
    only: str | None,
    environ: Mapping[str, str],
    stdout: TextIO,
) -> Outcome:
    """Evaluate, record what changed and send it (and what earlier runs could not), on one write connection.

    A dry run opens the store read-only, records nothing and sends nothing: the changes it returns
    are what a real run would send now.
    """
    senders = open_senders(settings, only, environ, stdout)
    today = as_of or datetime.now(UTC).date()
    con = connect(settings, read_only=dry_run)
    try:
        evaluation = alerts.evaluate(con, settings, period or default_period(con, today), today)
        found = changes(con, settings, evaluation)
        if dry_run:
            return Outcome(found)
        record(con, found)
        sent, failures, stranded = deliver(con, senders)
        return Outcome(found, sent, failures, stranded)
    finally:
        con.close()
