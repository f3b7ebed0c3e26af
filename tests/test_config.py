"""finops.toml < FINOPS_* environment < flags; unknown keys and wrong types are named."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from finops import config, store
from finops.errors import ConfigError
from tests.conftest import one_line_error


def test_defaults_without_a_config_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = config.load(environ={})
    assert settings.database == Path("finops.duckdb")
    assert settings.config_path is None
    assert settings.store == config.StoreSettings()


def test_duckdb_gets_a_1gb_memory_limit_unless_told_otherwise(tmp_path, monkeypatch):
    """Bounded by default (a 10M-line month runs in ~1.2 GiB); a size or a share of RAM raises it."""
    monkeypatch.chdir(tmp_path)
    assert config.load(environ={}).store.memory_limit == "1GB"
    limits = {}
    for given in (None, "2GiB", "80%"):
        environ = {"FINOPS_MEMORY_LIMIT": given} if given else {}
        settings = dataclasses.replace(config.load(environ=environ), database=tmp_path / f"{len(limits)}.duckdb")
        con = store.connect(settings)
        limits[given] = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        con.close()
    assert limits[None] == "953.6 MiB"  # DuckDB counts 1GB as 10^9 bytes
    assert limits["2GiB"] == "2.0 GiB"
    assert limits["80%"] not in ("953.6 MiB", "2.0 GiB")


def test_file_then_environment_then_flags(tmp_path):
    path = tmp_path / "conf" / "finops.toml"
    path.parent.mkdir()
    path.write_text('database = "data/costs.duckdb"\n[store]\nmemory_limit = "2GB"\nthreads = 2\n')
    from_file = config.load(path, environ={})
    assert from_file.database == path.parent / "data" / "costs.duckdb"  # relative to the file
    assert (from_file.store.memory_limit, from_file.store.threads) == ("2GB", 2)
    from_env = config.load(path, environ={"FINOPS_DB": "/srv/env.duckdb", "FINOPS_THREADS": "1"})
    assert from_env.database == Path("/srv/env.duckdb")
    assert from_env.store.threads == 1
    from_flag = config.load(path, {"database": Path("flag.duckdb")}, environ={"FINOPS_DB": "/srv/env.duckdb"})
    assert from_flag.database == Path("flag.duckdb")


def test_finops_config_variable_picks_the_file(tmp_path):
    path = tmp_path / "elsewhere.toml"
    path.write_text('database = "x.duckdb"\n')
    assert config.load(environ={"FINOPS_CONFIG": str(path)}).database == tmp_path / "x.duckdb"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'databse = "x"\n',
            "unknown key 'databse'; known keys here: alerts, anomalies, attribution, aws, bridge, budgets, collect, database, gcp, notify, queries, store",
        ),
        (
            '[store]\nmemory = "1GB"\n',
            "unknown key 'store.memory'; known keys here: lock_wait, memory_limit, temp_directory, threads",
        ),
        ("[store]\nthreads = 'many'\n", "'store.threads' must be a positive whole number, got 'many'"),
        ('[store]\nmemory_limit = "lots"\n', '\'store.memory_limit\' must be a size such as "1GB", "512MB" or "80%"'),
        ('[store]\nmemory_limit = "4"\n', "'store.memory_limit' must be a size such as"),
        ("database = 3\n", "'database' must be a path string, got 3"),
        ("store = 1\n", "'store' must be a table ([store])"),
        ("database = \n", "not valid TOML"),
    ],
)
def test_bad_config_is_named(tmp_path, text, message):
    path = tmp_path / "finops.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        config.load(path, environ={})
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_bad_environment_value_is_named(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="environment variable FINOPS_THREADS"):
        config.load(None, environ={"FINOPS_THREADS": "zero"})


def test_collect_and_bridge_sections(tmp_path):
    path = tmp_path / "finops.toml"
    path.write_text(
        '[collect]\ntimezone = "America/Chicago"\n[collect.mlflow]\nhost_tags = ["node_name"]\n'
        '[bridge]\naliases = { gpu01 = "i-0abc" }\nalias_file = "hosts.csv"\n'
    )
    settings = config.load(path, environ={})
    assert settings.collect.timezone == "America/Chicago"
    assert settings.collect.mlflow.host_tags == ("node_name",)
    assert settings.collect.mlflow.team_tags == ("team",)  # defaults kept for keys not given
    assert settings.bridge.aliases == {"gpu01": "i-0abc"}
    assert settings.bridge.alias_file == tmp_path / "hosts.csv"
    assert config.load(path, environ={"FINOPS_TIMEZONE": "UTC"}).collect.timezone == "UTC"
    path.write_text('[collect]\ntimezone = "Mars/Olympus"\n')
    with pytest.raises(ConfigError, match=r"'collect.timezone': 'Mars/Olympus' is not an IANA time zone"):
        config.load(path, environ={})
    path.write_text('[collect.mlflow]\nhost_tags = "host"\n')
    with pytest.raises(ConfigError, match=r"'collect.mlflow.host_tags' must be a list of strings"):
        config.load(path, environ={})


def test_the_starter_shows_every_mlflow_key_with_its_default(tmp_path):
    start = config.STARTER.index("[collect.mlflow]\n")
    section = config.STARTER[start : config.STARTER.index("\n[", start)]
    examples = [line.removeprefix("# ") for line in section.splitlines() if " = " in line]
    keys = [example.split(" = ")[0] for example in examples]
    assert keys == [f.name for f in dataclasses.fields(config.MlflowSettings)]
    path = tmp_path / "finops.toml"
    path.write_text("[collect.mlflow]\n" + "\n".join(examples) + "\n")
    assert config.load(path, environ={}).collect.mlflow == config.MlflowSettings()
    path.write_text('[collect.mlflow]\nproject_tags = ["team_project"]\nkind_tag = "job_kind"\ngpu_tags = ["n_gpu"]\n')
    mlflow = config.load(path, environ={}).collect.mlflow
    assert (mlflow.project_tags, mlflow.kind_tag, mlflow.gpu_tags) == (("team_project",), "job_kind", ("n_gpu",))


def test_explicit_missing_config_is_an_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist; create it with `finops init"):
        config.load(tmp_path / "nope.toml", environ={})


def test_init_writes_a_starter_that_loads(run, tmp_path):
    result = run("init", use_db=False)
    assert result.exit_code == 0, result.output
    written = tmp_path / "finops.toml"
    assert "database" in written.read_text()
    assert config.load(written, environ={}).database == tmp_path / "finops.duckdb"
    assert "already exists; pass --force" in one_line_error(run("init", use_db=False))
    assert run("init", "--force", use_db=False).exit_code == 0


def test_cli_reads_the_config_file(run, tmp_path, sample):
    (tmp_path / "finops.toml").write_text('database = "from-config.duckdb"\n')
    assert run("collect", "focus", str(sample), use_db=False).exit_code == 0
    assert (tmp_path / "from-config.duckdb").exists()
    (tmp_path / "finops.toml").write_text('dataase = "typo.duckdb"\n')
    assert "unknown key 'dataase'" in one_line_error(run("status", use_db=False))


BUDGETS = """
[[budgets]]
name = "nlp"
amount = "40000.10"
thresholds = [50, 80.5, 100]
forecast_thresholds = [100]
notify = ["slack"]
scope = { team = "nlp", tags = { env = "prod" }, service = ["Amazon SageMaker"] }

[[budgets]]
name = "gpu"
amount = 1000
period = "quarterly"
basis = "billed"
[budgets.scope]
workload_kind = "training"
workload = "llm-*"

[[notify]]
name = "slack"
type = "slack"
url_env = "FINOPS_SLACK_WEBHOOK"

[[notify]]
name = "mail"
type = "smtp"
host = "smtp.example.com"
sender = "finops@example.com"
to = ["ml-leads@example.com"]
password_env = "FINOPS_SMTP_PASSWORD"
username_env = "FINOPS_SMTP_USER"

[anomalies]
min_impact = 250
scopes = ["service", "team"]
"""


def test_budgets_and_channels_as_code(tmp_path):
    path = tmp_path / "finops.toml"
    path.write_text(BUDGETS)
    settings = config.load(path, environ={})
    nlp, gpu = settings.budgets
    assert nlp.amount == Decimal("40000.10")  # exact, from a string
    assert nlp.thresholds == (Decimal(50), Decimal("80.5"), Decimal(100))
    assert nlp.scope.team == "nlp" and nlp.scope.tags == {"env": "prod"}
    assert nlp.scope.service == ("Amazon SageMaker",)
    assert (gpu.period, gpu.basis, gpu.scope.workload, gpu.currency) == ("quarterly", "billed", "llm-*", "USD")
    assert gpu.thresholds == (Decimal(50), Decimal(80), Decimal(100))  # the default
    assert [n.type for n in settings.notify] == ["slack", "smtp"]
    assert settings.notify[1].to == ("ml-leads@example.com",)
    assert settings.anomalies.min_impact == Decimal(250)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("thresholds = [50", "treshold = [50"), "unknown key 'budgets[0].treshold'; known keys here: amount, basis,"),
        (("amount = 1000", "amount = -5"), "'budgets[1].amount' must be positive, got -5"),
        (("amount = 1000", 'amount = "lots"'), "'budgets[1].amount' must be a number such as 5000"),
        (
            ('notify = ["slack"]', 'notify = ["slak"]'),
            "'budgets[0].notify' unknown channel 'slak'; channels in [[notify]]: slack, mail",
        ),
        (('type = "slack"', 'type = "teams"'), "'notify[0].type' must be one of terminal, jsonl, slack, webhook, smtp"),
        (('url_env = "FINOPS_SLACK_WEBHOOK"', 'url = "https://hooks.slack.com/x"'), "unknown key 'notify[0].url'"),
        (
            ('url_env = "FINOPS_SLACK_WEBHOOK"', 'url_env = "https://hooks.slack.com/x"'),
            "'notify[0].url_env' names an environment variable",
        ),
        (('period = "quarterly"', 'period = "weekly"'), "'budgets[1].period' must be one of monthly, quarterly"),
        (('workload_kind = "training"', 'workload_kind = "train"'), "'budgets[1].scope.workload_kind' must be one of"),
        (("scope = { team", 'scope = { colour = "red", team'), "unknown key 'budgets[0].scope.colour'"),
        (
            ("[budgets.scope]", "thresholds = [0]\n[budgets.scope]"),
            "'budgets[1].thresholds[0]' must be a positive percentage",
        ),
        (('name = "gpu"', 'name = "nlp"'), "'budgets[1].name' 'nlp' is used twice"),
        (
            ('host = "smtp.example.com"', 'host = "smtp.example.com"\nsecurity = "plain"'),
            "'notify[1].security' plain SMTP is only for a relay on localhost",
        ),
        (('scopes = ["service", "team"]', 'scopes = ["region"]'), "'anomalies.scopes' has 'region'"),
    ],
)
def test_bad_budgets_and_channels_are_named(tmp_path, change, message):
    path = tmp_path / "finops.toml"
    assert change[0] in BUDGETS
    path.write_text(BUDGETS.replace(change[0], change[1], 1))
    with pytest.raises(ConfigError) as caught:
        config.load(path, environ={})
    assert message in str(caught.value)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_the_starter_examples_load_when_uncommented(tmp_path):
    text = config.STARTER[config.STARTER.index("# Budgets as code") :]
    lines = []
    for line in text.splitlines():
        example = line.removeprefix("# ")
        if line.startswith("# ") and (example.startswith("[") or " = " in example.split("#")[0]):
            if not example.startswith("query"):  # a query scope replaces the other filters
                lines.append(example)
        elif not line.startswith("#"):
            lines.append(line)
    path = tmp_path / "finops.toml"
    path.write_text("\n".join(lines))
    settings = config.load(path, environ={})
    assert settings.budgets[0].scope.workload == "llm-*"
    assert [n.type for n in settings.notify] == ["slack", "webhook", "smtp"]
    assert settings.alerts.lag_days == 2


def test_one_lock_wait_for_every_command(tmp_path):
    assert config.Settings().store.lock_wait == 60 and config.Settings().alerts.lock_wait is None
    path = tmp_path / "finops.toml"
    path.write_text("[store]\nlock_wait = 0\n[alerts]\nlock_wait = 5\n")
    settings = config.load(path, environ={})
    assert (settings.store.lock_wait, settings.alerts.lock_wait) == (0, 5)
    assert config.load(path, environ={"FINOPS_LOCK_WAIT": "7"}).store.lock_wait == 7
    path.write_text("[store]\nlock_wait = -1\n")
    with pytest.raises(ConfigError, match=r"'store.lock_wait' must be a whole number of seconds, 0 or more"):
        config.load(path, environ={})
    path.write_text("")
    with pytest.raises(ConfigError, match="environment variable FINOPS_LOCK_WAIT"):
        config.load(path, environ={"FINOPS_LOCK_WAIT": "soon"})
