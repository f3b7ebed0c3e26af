"""Budgets as code: the checks [[budgets]], [[notify]] and [anomalies] get on load, and budget periods.

Pure: no store access. The spend of a budget's scope comes from the named query
`daily_spend_by_budget_scope` (see finops/alerts.py), whose parameters `scope_params` builds.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from finops.config import BudgetScope, BudgetSettings, Settings
from finops.errors import ConfigError
from finops.periods import month_bounds
from finops.rollups import BASES

PERIODS = ("monthly", "quarterly")
CHANNEL_TYPES = ("terminal", "jsonl", "slack", "webhook", "smtp")
WORKLOAD_KINDS = ("training", "deployment", "batch", "notebook")
ANOMALY_SCOPES = ("service", "team", "workload")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_QUERY_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def check(settings: Settings, source: str) -> None:
    """Refuse budgets and channels that cannot work, naming the key (`budgets[1].amount`)."""
    channels = [n.name for n in settings.notify]
    for i, channel in enumerate(settings.notify):
        _check_channel(channel, f"notify[{i}]", source)
    _unique(channels, "notify", source)
    for i, budget in enumerate(settings.budgets):
        _check_budget(budget, f"budgets[{i}]", source, channels)
    _unique([b.name for b in settings.budgets], "budgets", source)
    anomalies = settings.anomalies
    for scope in anomalies.scopes:
        if scope not in ANOMALY_SCOPES:
            _fail(source, "anomalies.scopes", f"has {scope!r}; choose from {', '.join(ANOMALY_SCOPES)}")
    for key in ("sensitivity", "min_impact", "min_percent"):
        if getattr(anomalies, key) < 0:
            _fail(source, f"anomalies.{key}", f"must not be negative, got {getattr(anomalies, key)}")
    _check_channels(anomalies.notify, "anomalies.notify", source, channels)


def _check_budget(budget: BudgetSettings, key: str, source: str, channels: list[str]) -> None:
    if not budget.name:
        _fail(source, f"{key}.name", "is required: give the budget a name that alerts can cite")
    if budget.amount is None:
        _fail(source, f"{key}.amount", "is required: the budget's limit per period, e.g. 5000")
    elif budget.amount <= 0:
        _fail(source, f"{key}.amount", f"must be positive, got {budget.amount}")
    if not _CURRENCY.match(budget.currency):
        _fail(source, f"{key}.currency", f"must be an ISO 4217 code such as USD, got {budget.currency!r}")
    if budget.period not in PERIODS:
        _fail(source, f"{key}.period", f"must be one of {', '.join(PERIODS)}, got {budget.period!r}")
    if budget.basis not in BASES:
        _fail(source, f"{key}.basis", f"must be one of {', '.join(BASES)}, got {budget.basis!r}")
    for name in ("thresholds", "forecast_thresholds"):
        for i, threshold in enumerate(getattr(budget, name)):
            if threshold <= 0:
                _fail(source, f"{key}.{name}[{i}]", f"must be a positive percentage, got {threshold}")
    scope = budget.scope
    if scope.workload_kind is not None and scope.workload_kind not in WORKLOAD_KINDS:
        _fail(source, f"{key}.scope.workload_kind", f"must be one of {', '.join(WORKLOAD_KINDS)}")
    if scope.query is not None:
        if not _QUERY_NAME.match(scope.query):
            _fail(source, f"{key}.scope.query", f"must name a query file (its stem), got {scope.query!r}")
        others = [
            f for f in ("team", "workload_kind", "workload", "tags", "service", "sub_account") if getattr(scope, f)
        ]
        if others:
            _fail(source, f"{key}.scope.query", f"replaces the other filters; remove scope.{others[0]}")
    _check_channels(budget.notify, f"{key}.notify", source, channels)


def _check_channel(channel: Any, key: str, source: str) -> None:
    if not channel.name:
        _fail(source, f"{key}.name", "is required: budgets name their channels by it")
    if channel.type not in CHANNEL_TYPES:
        _fail(source, f"{key}.type", f"must be one of {', '.join(CHANNEL_TYPES)}, got {channel.type!r}")
    needs = {"slack": ("url_env",), "webhook": ("url_env",), "smtp": ("host", "sender", "to")}.get(channel.type, ())
    for field in needs:
        if not getattr(channel, field):
            _fail(source, f"{key}.{field}", f"is required for a {channel.type} channel")
    for field in ("url_env", "secret_env", "username_env", "password_env"):
        value = getattr(channel, field)
        if value is not None and not _ENV_NAME.match(value):
            _fail(source, f"{key}.{field}", f"names an environment variable (like FINOPS_SLACK_WEBHOOK), got {value!r}")
    if channel.security not in ("starttls", "plain"):
        _fail(source, f"{key}.security", f"must be starttls or plain, got {channel.security!r}")
    if channel.security == "plain" and (channel.host not in LOOPBACK or channel.password_env):
        _fail(source, f"{key}.security", "plain SMTP is only for a relay on localhost, without a password")


def _check_channels(names: tuple[str, ...], key: str, source: str, channels: list[str]) -> None:
    for name in names:
        if name not in channels:
            known = ", ".join(channels) or "none defined"
            _fail(source, key, f"unknown channel {name!r}; channels in [[notify]]: {known}")


def _unique(names: list[str], key: str, source: str) -> None:
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            _fail(source, f"{key}[{i}].name", f"{name!r} is used twice; names must be unique")
        seen.add(name)


def _fail(source: str, key: str, message: str) -> None:
    raise ConfigError(f"{source}: '{key}' {message}")


def period_bounds(budget: BudgetSettings, month: str) -> tuple[date, date]:
    """[start, end) of the budget's period that holds billing month `month` (YYYY-MM)."""
    start, _ = month_bounds(month)
    first = start.month if budget.period == "monthly" else (start.month - 1) // 3 * 3 + 1
    last = first if budget.period == "monthly" else first + 2
    return date(start.year, first, 1), month_bounds(f"{start.year}-{last:02d}")[1].date()


def uses_allocations(scope: BudgetScope) -> bool:
    """Whether the scope filters on attributed spend (team, workload kind or name)."""
    return bool(scope.team or scope.workload_kind or scope.workload)


def scope_params(scope: BudgetScope) -> dict[str, Any]:
    """The scope filters as the bound parameters of daily_spend_by_budget_scope.sql (NULL: no filter)."""
    return {
        "attributed": uses_allocations(scope),
        "team": scope.team,
        "workload_kind": scope.workload_kind,
        "workload": scope.workload,
        "tag_keys": list(scope.tags) or None,
        "tag_values": list(scope.tags.values()) or None,
        "services": list(scope.service) or None,
        "sub_accounts": list(scope.sub_account) or None,
    }


def percent(amount: Decimal, limit: Decimal) -> Decimal:
    """amount as a percentage of limit, to 2 decimals."""
    return (amount * 100 / limit).quantize(Decimal("0.01"))
