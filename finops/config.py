"""One typed, frozen Settings: finops.toml < FINOPS_* environment < flags the user typed."""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from finops.errors import ConfigError

CONFIG_NAME = "finops.toml"
DEFAULT_DATABASE = "finops.duckdb"


@dataclass(frozen=True)
class StoreSettings:
    """DuckDB resource settings; unset means DuckDB's own default."""

    memory_limit: str | None = None
    threads: int | None = None
    temp_directory: Path | None = None


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
    config_path: Path | None = None


# Environment variables and the Settings field each one overrides (dotted for nested tables).
ENVIRONMENT = {
    "FINOPS_DB": "database",
    "FINOPS_MEMORY_LIMIT": "store.memory_limit",
    "FINOPS_THREADS": "store.threads",
    "FINOPS_TEMP_DIRECTORY": "store.temp_directory",
    "FINOPS_TIMEZONE": "collect.timezone",
}

STARTER = """\
# finops configuration. Keys not listed here are rejected, so a typo cannot go unnoticed.
# Precedence: this file < FINOPS_* environment variables < command-line flags.

# The DuckDB store. A relative path is relative to this file. FINOPS_DB or --db override it.
database = "finops.duckdb"

[store]
# DuckDB memory limit; large months spill to temp_directory instead of failing.
# memory_limit = "8GB"
# threads = 2
# temp_directory = ".finops-tmp"

[collect]
# IANA time zone of sources that write local times without a zone (sacct, nvidia-smi logs).
# timezone = "Europe/Berlin"

[collect.mlflow]
# Which run tags carry what (first tag present wins).
# team_tags = ["team"]
# owner_tags = ["owner", "mlflow.user"]
# host_tags = ["host", "hostname", "node", "k8s_node"]
# resource_tags = ["resource_id", "aws_instance_id", "instance_id", "gce_instance", "sagemaker_job"]

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
        if not isinstance(raw, int) or isinstance(raw, bool) or raw <= 0:
            raise ConfigError(f"{source}: '{name}' must be a positive whole number, got {raw!r}")
        return raw
    if hint is bool:
        if not isinstance(raw, bool):
            raise ConfigError(f"{source}: '{name}' must be true or false, got {raw!r}")
        return raw
    if hint is str:
        if not isinstance(raw, str):
            raise ConfigError(f"{source}: '{name}' must be a string, got {raw!r}")
        if name.endswith("timezone"):
            check_timezone(raw, f"{source}: '{name}'")
        return raw
    raise ConfigError(f"{source}: '{name}' has an unsupported type")  # pragma: no cover - schema bug


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
