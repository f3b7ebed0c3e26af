"""One typed, frozen Settings: finops.toml < FINOPS_* environment < flags the user typed."""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from finops.errors import ConfigError

CONFIG_NAME = "finops.toml"
# What DuckDB's memory_limit takes: a number and a unit, or a share of RAM.
MEMORY_SIZE = re.compile(r"\s*\d+(\.\d+)?\s*([KMGT]i?B|B|bytes|%)\s*", re.IGNORECASE)
DEFAULT_DATABASE = "finops.duckdb"


@dataclass(frozen=True)
class StoreSettings:
    """DuckDB resource settings (threads and temp directory unset mean DuckDB's own default), and how long
    to wait for a busy store. The memory limit is 1 GB unless set: a 10M-line month runs in about 1.2 GiB
    resident, spilling to the temp directory, where DuckDB alone would take up to 80% of RAM."""

    memory_limit: str = "1GB"
    threads: int | None = None
    temp_directory: Path | None = None
    lock_wait: int = 60  # seconds any command waits while another finops process holds the store; 0 fails at once


@dataclass(frozen=True)
class MlflowSettings:
    """Which MLflow run tags name the team, owner, project, kind and the machine a run used."""

    team_tags: tuple[str, ...] = ("team",)
    owner_tags: tuple[str, ...] = ("owner", "mlflow.user")
    project_tags: tuple[str, ...] = ("project",)
    kind_tag: str = "kind"
    host_tags: tuple[str, ...] = ("host", "hostname", "node", "k8s_node")
    resource_tags: tuple[str, ...] = ("resource_id", "aws_instance_id", "instance_id", "gce_instance", "sagemaker_job")
    gpu_tags: tuple[str, ...] = ("gpus", "gpu_count")


@dataclass(frozen=True)
class CollectSettings:
    """Collector defaults: the IANA time zone of sources that write local times (sacct, nvidia-smi)."""

    timezone: str | None = None
    mlflow: MlflowSettings = field(default_factory=MlflowSettings)


@dataclass(frozen=True)
class BridgeSettings:
    """How host, node and instance names in workload records map to the bill's ResourceId."""

    aliases: dict[str, str] = field(default_factory=dict)
    alias_file: Path | None = None
    bill_tag_keys: tuple[str, ...] = ("hostname", "host", "node", "kubernetes.io/hostname", "Name")


@dataclass(frozen=True)
class AttributionSettings:
    """How `finops attribute` assigns each line item: the ordered rules and what each one looks at."""

    rules: tuple[str, ...] = ("direct", "time_share", "shared", "unattributed")
    run_tag_keys: tuple[str, ...] = ("training_run", "run_id", "mlflow_run_id", "training-run")
    deployment_tag_keys: tuple[str, ...] = ("deployment", "endpoint")
    team_tag_keys: tuple[str, ...] = ("team",)
    shared_mode: str = "proportional"  # proportional | even | keep
    shared_charge_categories: tuple[str, ...] = ("Tax",)
    shared_services: tuple[str, ...] = ("AWS Support (Business)", "AWS Support (Developer)", "AWS Support (Enterprise)")
    shared_commitments: bool = True  # unused commitment and commitment purchases


@dataclass(frozen=True)
class AwsSettings:
    """Where AWS billing lives and how boto3 reaches it; credentials always come from boto3's own chain."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None
    s3: str | None = None  # default for `finops collect aws-cur --s3`: s3://bucket/prefix/report-name


@dataclass(frozen=True)
class GcpSettings:
    """Where the Cloud Billing export lives; credentials come from application default credentials."""

    bigquery_table: str | None = None  # PROJECT.DATASET.TABLE of the billing export
    project: str | None = None  # project that runs (and pays for) the query jobs; default: the table's
    location: str | None = None  # BigQuery location of the dataset (US, EU, ...)


@dataclass(frozen=True)
class QueriesSettings:
    """Extra folders of named queries; a query here with the same name as a built-in one wins."""

    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetScope:
    """Which spend a budget counts: every filter given must match; none given means the whole bill.

    team, workload_kind and workload read attributed spend (`finops attribute`); tags, service and
    sub_account read the bill; query names a query returning (day, currency, cost) instead.
    """

    team: str | None = None
    workload_kind: str | None = None  # training | deployment | batch | notebook
    workload: str | None = None  # glob over run / deployment id or name: "llm-*"
    tags: dict[str, str] = field(default_factory=dict)
    service: tuple[str, ...] = ()
    sub_account: tuple[str, ...] = ()
    query: str | None = None


@dataclass(frozen=True)
class BudgetSettings:
    """One [[budgets]] entry: a limit per period on one currency and cost basis, with its thresholds."""

    name: str = ""
    amount: Decimal | None = None
    currency: str = "USD"
    period: str = "monthly"  # monthly | quarterly
    basis: str = "effective"  # effective | billed | list
    thresholds: tuple[Decimal, ...] = (Decimal(50), Decimal(80), Decimal(100))  # % of amount, actual spend
    forecast_thresholds: tuple[Decimal, ...] = (Decimal(100),)  # % of amount, forecast period-end spend
    scope: BudgetScope = field(default_factory=BudgetScope)
    notify: tuple[str, ...] = ()  # [[notify]] names; empty means every channel


@dataclass(frozen=True)
class NotifySettings:
    """One [[notify]] channel; secrets are named by environment variable, never written here."""

    name: str = ""
    type: str = ""  # terminal | jsonl | slack | webhook | smtp
    url_env: str | None = None  # slack, webhook: variable holding the URL
    secret_env: str | None = None  # webhook: variable holding the HMAC-SHA256 key
    timeout: int = 10  # seconds
    host: str | None = None  # smtp
    port: int | None = None
    security: str = "starttls"  # starttls | plain (only for a local relay)
    username_env: str | None = None
    password_env: str | None = None
    sender: str | None = None
    to: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnomalySettings:
    """Daily spend anomalies: a day far above the median of the same weekday in the weeks before."""

    enabled: bool = True
    scopes: tuple[str, ...] = ("service", "team", "workload")
    weeks: int = 4  # same-weekday days in the baseline
    sensitivity: Decimal = Decimal(3)  # robust z-score (scaled MAD) a day must exceed
    min_impact: Decimal = Decimal(100)  # and at least this much money above the baseline
    min_percent: Decimal = Decimal(20)  # and at least this % above it
    notify_days: int = 3  # anomalies of the last N complete days are sent
    notify: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlertSettings:
    """How `finops alert` treats the bill's lag and other writers."""

    lag_days: int = 2  # the last N days before --as-of are incomplete (CUR lag)
    lock_wait: int | None = None  # seconds to wait for another writer; unset: [store] lock_wait


@dataclass(frozen=True)
class Settings:
    """Everything finops reads from its configuration."""

    database: Path = Path(DEFAULT_DATABASE)
    store: StoreSettings = field(default_factory=StoreSettings)
    collect: CollectSettings = field(default_factory=CollectSettings)
    bridge: BridgeSettings = field(default_factory=BridgeSettings)
    attribution: AttributionSettings = field(default_factory=AttributionSettings)
    aws: AwsSettings = field(default_factory=AwsSettings)
    gcp: GcpSettings = field(default_factory=GcpSettings)
    queries: QueriesSettings = field(default_factory=QueriesSettings)
    budgets: tuple[BudgetSettings, ...] = ()
    notify: tuple[NotifySettings, ...] = ()
    anomalies: AnomalySettings = field(default_factory=AnomalySettings)
    alerts: AlertSettings = field(default_factory=AlertSettings)
    config_path: Path | None = None


# Environment variables and the Settings field each one overrides (dotted for nested tables).
ENVIRONMENT = {
    "FINOPS_DB": "database",
    "FINOPS_MEMORY_LIMIT": "store.memory_limit",
    "FINOPS_THREADS": "store.threads",
    "FINOPS_TEMP_DIRECTORY": "store.temp_directory",
    "FINOPS_LOCK_WAIT": "store.lock_wait",
    "FINOPS_TIMEZONE": "collect.timezone",
}

STARTER = """\
# finops configuration. Keys not listed here are rejected, so a typo cannot go unnoticed.
# Precedence: this file < FINOPS_* environment variables < command-line flags.

# The DuckDB store. A relative path is relative to this file. FINOPS_DB or --db override it.
database = "finops.duckdb"

[store]
# DuckDB memory limit (default 1GB); large months spill to temp_directory instead of failing.
# More is faster on a big machine: "8GB", or "80%" of RAM (DuckDB's own default).
# memory_limit = "1GB"
# threads = 2
# temp_directory = ".finops-tmp"
# Seconds every command (collect, attribute, alert, report, sql, ...) waits while another finops
# process holds the store, with a notice on stderr; then it fails with "store ... is busy" (exit 2).
# 0 fails at once. FINOPS_LOCK_WAIT overrides it.
# lock_wait = 60

[collect]
# IANA time zone of sources that write local times without a zone (sacct, nvidia-smi logs).
# timezone = "Europe/Berlin"

[collect.mlflow]
# Which run tags carry what (first tag present wins).
# team_tags = ["team"]
# owner_tags = ["owner", "mlflow.user"]
# project_tags = ["project"]
# kind_tag = "kind"                   # training, deployment, batch or notebook; training when absent
# host_tags = ["host", "hostname", "node", "k8s_node"]
# resource_tags = ["resource_id", "aws_instance_id", "instance_id", "gce_instance", "sagemaker_job"]
# gpu_tags = ["gpus", "gpu_count"]    # the run's GPU count, split equally between its hosts

[bridge]
# Host or node names in workload records -> the bill's ResourceId.
# aliases = { "gpu01" = "i-0123456789abcdef0", "ip-10-0-1-23.ec2.internal" = "i-0123456789abcdef0" }
# alias_file = "hosts.csv"            # CSV with columns alias,resource_id
# bill_tag_keys = ["hostname", "Name"] # bill tags whose value names the host of a ResourceId

[attribution]
# Rules in the order they claim line items; leave one out to switch it off.
# rules = ["direct", "time_share", "shared", "unattributed"]
# run_tag_keys = ["training_run", "run_id", "mlflow_run_id", "training-run"]
# deployment_tag_keys = ["deployment", "endpoint"]
# team_tag_keys = ["team"]
# How shared cost (tax, support, unused commitments) is spread: proportional to each team's
# workload cost, even across teams, or kept as "shared".
# shared_mode = "proportional"
# shared_charge_categories = ["Tax"]
# shared_services = ["AWS Support (Business)", "AWS Support (Developer)", "AWS Support (Enterprise)"]
# shared_commitments = true

[aws]
# Credentials come from boto3's chain (environment, ~/.aws, instance role); never put keys here.
# profile = "billing"
# region = "us-east-1"
# endpoint_url = "http://localhost:5000"   # S3-compatible endpoint; AWS_ENDPOINT_URL works too
# s3 = "s3://my-cur-bucket/cur/my-report"   # default for `finops collect aws-cur`

[gcp]
# Credentials come from application default credentials (gcloud auth application-default login).
# bigquery_table = "my-project.billing.gcp_billing_export_resource_v1_XXXXXX_XXXXXX_XXXXXX"
# project = "my-project"     # project that runs the query jobs
# location = "US"

[queries]
# Extra folders of named queries (*.sql); relative to this file. Same name as a built-in wins.
# paths = ["queries"]

# Budgets as code, checked by `finops alert` (run it from cron). One [[budgets]] table per budget.
# Thresholds are % of amount: `thresholds` on the spend so far, `forecast_thresholds` on the
# forecast period-end spend. Scope filters combine (all must match); none means the whole bill.
# [[budgets]]
# name = "nlp-training"
# amount = 50000                    # or "50000.00"; exact
# currency = "USD"                  # spend in other currencies is not counted
# period = "monthly"                # monthly | quarterly
# basis = "effective"               # effective (amortized) | billed | list
# thresholds = [50, 80, 100]
# forecast_thresholds = [100]
# notify = ["slack"]                # [[notify]] names; default: every channel
# [budgets.scope]
# team = "nlp"                      # attributed team (needs `finops attribute`)
# workload_kind = "training"        # training | deployment | batch | notebook (attributed)
# workload = "llm-*"                # glob over run / deployment id or name (attributed)
# tags = { env = "prod" }           # bill tags
# service = ["Amazon SageMaker"]    # ServiceName
# sub_account = ["123456789012"]    # SubAccountId or SubAccountName
# query = "my_spend"                # or: a named query returning day, currency, cost (params from, end, basis)

# Alert channels. Secrets come from environment variables named here, never from this file.
# [[notify]]
# name = "slack"
# type = "slack"                    # terminal | jsonl | slack | webhook | smtp
# url_env = "FINOPS_SLACK_WEBHOOK"
# [[notify]]
# name = "hook"
# type = "webhook"
# url_env = "FINOPS_WEBHOOK_URL"
# secret_env = "FINOPS_WEBHOOK_SECRET"   # signs the body: X-Finops-Signature: sha256=...
# [[notify]]
# name = "mail"
# type = "smtp"
# host = "smtp.example.com"
# port = 587
# security = "starttls"             # or "plain", only for a relay on localhost
# sender = "finops@example.com"
# to = ["ml-leads@example.com"]
# username_env = "FINOPS_SMTP_USER"
# password_env = "FINOPS_SMTP_PASSWORD"

[anomalies]
# A day is an anomaly when its spend is above the median of the same weekday over the last
# `weeks` weeks by more than `sensitivity` scaled MADs, min_impact money and min_percent %.
# enabled = true
# scopes = ["service", "team", "workload"]
# weeks = 4
# sensitivity = 3
# min_impact = 100
# min_percent = 20
# notify_days = 3                   # anomalies of the last N complete days are sent

[alerts]
# lag_days = 2                      # the last N days before today are incomplete on the bill
# lock_wait = 60                    # seconds to wait for a busy store; default: [store] lock_wait
"""


def load(
    config_path: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: typing.Mapping[str, str] | None = None,
) -> Settings:
    """Read finops.toml (explicit path, FINOPS_CONFIG, or ./finops.toml), then env, then overrides."""
    env = os.environ if environ is None else environ
    explicit = config_path or (Path(env["FINOPS_CONFIG"]) if env.get("FINOPS_CONFIG") else None)
    path = explicit or Path(CONFIG_NAME)
    settings = Settings()
    if path.is_file():
        settings = dataclasses.replace(_build(Settings, _read_toml(path), str(path), ""), config_path=path)
        from finops import budgets

        budgets.check(settings, str(path))
        if not settings.database.is_absolute():
            settings = dataclasses.replace(settings, database=path.parent / settings.database)
        alias_file = settings.bridge.alias_file
        if alias_file is not None and not alias_file.is_absolute():
            bridge = dataclasses.replace(settings.bridge, alias_file=path.parent / alias_file)
            settings = dataclasses.replace(settings, bridge=bridge)
    elif explicit is not None:
        raise ConfigError(f"config file {path} does not exist; create it with `finops init {path}`")
    for name, dotted in ENVIRONMENT.items():
        if env.get(name):
            settings = _set(settings, dotted, env[name], f"environment variable {name}")
    for dotted, value in (overrides or {}).items():
        if value is not None:
            settings = _set(settings, dotted, value, f"option for {dotted}")
    return settings


def write_starter(path: Path, force: bool = False) -> Path:
    """Write a commented starter finops.toml; refuse to overwrite unless forced."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; pass --force to overwrite it")
    path.write_text(STARTER, encoding="utf-8")
    return path


def check_timezone(name: str, where: str) -> ZoneInfo:
    """The IANA zone called `name`, or a ConfigError naming where it came from."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{where}: {name!r} is not an IANA time zone such as Europe/Berlin or UTC") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not valid TOML: the file is not UTF-8 text; save it as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _build(cls: type[Any], table: dict[str, Any], source: str, prefix: str) -> Any:
    """Make dataclass `cls` from a TOML table, rejecting unknown keys and wrong types by name."""
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls) if f.name != "config_path"}
    kwargs: dict[str, Any] = {}
    for key, raw in table.items():
        name = f"{prefix}{key}"
        if key not in known:
            choices = ", ".join(sorted(known))
            raise ConfigError(f"{source}: unknown key '{name}'; known keys here: {choices}")
        kwargs[key] = _coerce(hints[key], raw, source, name)
    return cls(**kwargs)


def _coerce(hint: Any, raw: Any, source: str, name: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _coerce(options[0], raw, source, name)
    if dataclasses.is_dataclass(hint):
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: '{name}' must be a table ([{name}])")
        return _build(typing.cast(type[Any], hint), raw, source, f"{name}.")
    if typing.get_origin(hint) is tuple and typing.get_args(hint)[0] is not str:
        if not isinstance(raw, (list, tuple)):
            raise ConfigError(f"{source}: '{name}' must be a list, got {raw!r}")
        item = typing.get_args(hint)[0]
        return tuple(_coerce(item, v, source, f"{name}[{i}]") for i, v in enumerate(raw))
    if typing.get_origin(hint) is tuple:
        if not isinstance(raw, (list, tuple)) or not all(isinstance(v, str) and v for v in raw):
            raise ConfigError(f"{source}: '{name}' must be a list of strings, got {raw!r}")
        return tuple(raw)
    if typing.get_origin(hint) is dict:
        if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
            raise ConfigError(f"{source}: '{name}' must be a table of strings, got {raw!r}")
        return dict(raw)
    if hint is Path:
        if isinstance(raw, Path):
            return raw
        if not isinstance(raw, str) or not raw:
            raise ConfigError(f"{source}: '{name}' must be a path string, got {raw!r}")
        return Path(raw)
    if hint is int:
        if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
            raw = int(raw)
        floor = 0 if name.endswith("lock_wait") else 1  # waiting 0 seconds means: fail at once
        if not isinstance(raw, int) or isinstance(raw, bool) or raw < floor:
            what = "a whole number of seconds, 0 or more" if floor == 0 else "a positive whole number"
            raise ConfigError(f"{source}: '{name}' must be {what}, got {raw!r}")
        return raw
    if hint is Decimal:
        return _decimal(raw, source, name)
    if hint is bool:
        if not isinstance(raw, bool):
            raise ConfigError(f"{source}: '{name}' must be true or false, got {raw!r}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{source}: '{name}' must be a string, got {raw!r}")
        if name.endswith("timezone"):
            check_timezone(raw, f"{source}: '{name}'")
        if name.endswith("memory_limit") and not MEMORY_SIZE.fullmatch(raw):
            raise ConfigError(f'{source}: \'{name}\' must be a size such as "1GB", "512MB" or "80%", got {raw!r}')
        return raw
    raise ConfigError(f"{source}: '{name}' has an unsupported type")  # pragma: no cover - schema bug


def _decimal(raw: Any, source: str, name: str) -> Decimal:
    """An exact amount from a TOML number or string ("1234.56" keeps every digit)."""
    if isinstance(raw, Decimal):
        return raw
    try:
        if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
            raise InvalidOperation
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ConfigError(f"{source}: '{name}' must be a number such as 5000 or \"5000.00\", got {raw!r}") from None
    if not value.is_finite():
        raise ConfigError(f"{source}: '{name}' must be a finite number, got {raw!r}")
    return value


def _set(settings: Settings, dotted: str, raw: Any, source: str) -> Settings:
    head, _, rest = dotted.partition(".")
    if not rest:
        hint = typing.get_type_hints(Settings)[head]
        return dataclasses.replace(settings, **{head: _coerce(hint, raw, source, head)})
    inner = getattr(settings, head)
    hint = typing.get_type_hints(type(inner))[rest]
    return dataclasses.replace(
        settings, **{head: dataclasses.replace(inner, **{rest: _coerce(hint, raw, source, dotted)})}
    )
