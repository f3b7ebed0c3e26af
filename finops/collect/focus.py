"""Any FOCUS 1.0–1.4 export (CSV, CSV.gz, Parquet) into cost_line_items.

Incremental semantics: the unit of replacement is (source "focus", BillingAccountId,
BillingPeriodStart). A load replaces every such scope present in its files, in one
transaction; scopes it does not contain are left alone, and a notice names the billing
accounts of the load's periods that were kept that way. Loading the same files again
(same content, same --fill) changes nothing. Give all files of a period in one command
(a directory or a glob): a scope is replaced by exactly the rows of this load.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb

from finops import focus, ingest
from finops.collect import readers
from finops.collect.files import SourceFile, csv_header, expand
from finops.errors import InputError
from finops.store import ident

SOURCE = "focus"
NULL_TEXTS = ("NULL", "null", "")
_KINDS_WITH_PROBLEMS = ("decimal", "timestamp", "tags", "json")
_ENUMS = {"ChargeCategory", "BillingCurrency"}


@dataclass(frozen=True)
class FileColumns:
    """How one file's columns map onto the store: FOCUS name -> the file's column."""

    mapped: dict[str, str]
    extras: list[str]  # x_ columns finops has no column for: kept in x_Extras
    ignored: list[str] = field(default_factory=list)


def collect(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[str],
    fill: Mapping[str, str] | None = None,
    notice: Callable[[str], None] = lambda message: None,
) -> ingest.LoadReport:
    """Load FOCUS files (files, directories or globs) and replace the scopes they cover."""
    fills = canonical_fill(fill or {})
    files = expand(paths, "FOCUS")
    settings = [f"fill:{name}={value}" for name, value in sorted(fills.items())]
    with ingest.Load(con, SOURCE, " ".join(paths), files, settings) as load:
        report = load.report() if load.unchanged else _write_and_commit(con, load, files, fills, notice)
    for message in ingest.other_accounts(con, report):
        notice(message)
    return report


def _write_and_commit(
    con: duckdb.DuckDBPyConnection,
    load: ingest.Load,
    files: Sequence[SourceFile],
    fills: Mapping[str, str],
    notice: Callable[[str], None],
) -> ingest.LoadReport:
    """Write every file (the first bad value stops the load), then replace the scopes they hold."""
    for source in files:
        columns, reader, params = _reader(con, source)
        if columns.ignored:
            notice(
                f"{source.path}: ignoring non-FOCUS column(s) {', '.join(columns.ignored)} "
                "(custom columns are kept when named x_…)"
            )
        missing = [name for name in focus.REQUIRED if name not in columns.mapped and name not in fills]
        if missing:
            example = "BillingCurrency=USD" if "BillingCurrency" in missing else "COLUMN=VALUE"
            raise InputError(
                f"{source.path}: missing mandatory FOCUS column(s) {', '.join(missing)}; add them to the "
                f"file, or give one value for every row with --fill {example}"
            )
        query, query_params = _select(columns, fills, reader, params)
        rows = load.write_file(source, query, query_params)
        if rows == 0:
            notice(f"{source.path}: no rows")
    return load.commit()


def canonical_fill(fill: Mapping[str, str]) -> dict[str, str]:
    """--fill names matched to FOCUS columns case-insensitively; unknown names are an error."""
    by_lower = {c.name.lower(): c.name for c in focus.FOCUS_COLUMNS}
    result = {}
    for name, value in fill.items():
        canonical = by_lower.get(name.strip().lower())
        if canonical is None:
            close = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.5)
            hint = f"; did you mean {by_lower[close[0]]}?" if close else ""
            raise InputError(f"--fill {name}={value}: {name} is not a FOCUS column{hint}")
        result[canonical] = value
    return result


def map_columns(header: Sequence[str], where: str) -> FileColumns:
    """Match a file's column names to FOCUS names: exact, case-insensitive, then pre-1.0 names."""
    known = {c.name.lower(): c.name for c in focus.FOCUS_COLUMNS + focus.EXTRAS if c.name != "x_Extras"}
    old = {k.lower(): v for k, v in focus.OLD_NAMES.items()}
    seen: set[str] = set()
    mapped: dict[str, str] = {}
    extras: list[str] = []
    ignored: list[str] = []
    for name in header:
        if not name:
            raise InputError(f"{where}: a column has an empty name in the header; name it or remove it")
        if name.lower() in seen:
            raise InputError(f"{where}: column {name} appears twice in the header; keep one")
        seen.add(name.lower())
        canonical = known.get(name.lower())
        if canonical is not None:
            mapped[canonical] = name
        elif name.lower().startswith("x_"):
            extras.append(name)
    for name in header:
        canonical = old.get(name.lower())
        if canonical is not None and canonical not in mapped:
            mapped[canonical] = name
        elif name not in mapped.values() and name not in extras:
            ignored.append(name)
    return FileColumns(mapped, extras, ignored)


def _reader(con: duckdb.DuckDBPyConnection, source: SourceFile) -> tuple[FileColumns, str, dict[str, object]]:
    """The file's column mapping and a table expression reading it with every column as text."""
    if source.format == "parquet":
        described = readers.describe_parquet(con, source)
        columns = map_columns([name for name, _ in described], str(source.path))
        types = dict(described)
        used = list(columns.mapped.values()) + columns.extras
        return columns, readers.parquet_reader(used, types), {"path": str(source.path)}
    header, delimiter = csv_header(source)
    columns = map_columns(header, str(source.path))
    return columns, readers.csv_reader(header, delimiter), {"path": str(source.path)}


def _select(
    columns: FileColumns, fills: Mapping[str, str], reader: str, reader_params: dict[str, object]
) -> tuple[str, dict[str, object]]:
    """A query producing the store's columns plus `_problem`, the first bad value of each row."""
    params: dict[str, object] = {}
    raw: dict[str, str] = {}
    for column in focus.FOCUS_COLUMNS + focus.EXTRAS:
        if column.name in columns.mapped:
            raw[column.name] = ident(columns.mapped[column.name])
        elif column.name in fills:
            key = f"fill_{len(params)}"
            raw[column.name] = f"CAST(${key} AS VARCHAR)"
            params[key] = fills[column.name]
    values = {c.name: _value(c, raw.get(c.name)) for c in focus.FOCUS_COLUMNS + focus.EXTRAS}
    provider = "coalesce(ProviderName, ServiceProviderName, HostProviderName, InvoiceIssuerName)"
    derived = {
        "ProviderName": f"coalesce({values['ProviderName']}, {values['ServiceProviderName']})",
        "PublisherName": f"coalesce({values['PublisherName']}, {values['ServiceProviderName']})",
        "x_Extras": _extras(columns.extras),
    }
    inner = [f"{derived.get(name, expr)} AS {name}" for name, expr in values.items()] + ["_row"]
    inner += [f"{expr} AS {ident('_raw_' + name)}" for name, expr in raw.items() if _checked(name)]
    problems = [p for c in focus.FOCUS_COLUMNS + focus.EXTRAS for p in _problems(c, c.name in raw)]
    problems += [
        "CASE WHEN ChargePeriodEnd < ChargePeriodStart THEN 'ChargePeriodEnd ' || ChargePeriodEnd || "
        "' is before ChargePeriodStart ' || ChargePeriodStart END",
        "CASE WHEN BillingPeriodEnd <= BillingPeriodStart THEN 'BillingPeriodEnd ' || BillingPeriodEnd || "
        "' is not after BillingPeriodStart ' || BillingPeriodStart END",
    ]
    query = (
        f"SELECT * EXCLUDE (x_Provider), coalesce(x_Provider, finops_provider_code({provider})) AS x_Provider, "
        f"coalesce({', '.join(problems)}) AS _problem FROM (SELECT {', '.join(inner)} FROM {reader})"
    )
    return query, {**params, **reader_params}


def _checked(name: str) -> bool:
    return focus.BY_NAME[name].kind in _KINDS_WITH_PROBLEMS or name in _ENUMS


def _value(column: focus.Column, raw: str | None) -> str:
    """SQL turning the raw text of one column into its stored value."""
    if raw is None:
        return f"CAST(NULL AS {focus.SQL_TYPES[column.kind]})"
    if column.name == "ChargeCategory":
        cases = " ".join(f"WHEN '{c.lower()}' THEN '{c}'" for c in focus.CHARGE_CATEGORIES)
        return f"CASE lower(trim({raw})) {cases} END"
    if column.name == "ChargeFrequency":
        cases = " ".join(f"WHEN '{c.lower()}' THEN '{c}'" for c in focus.CHARGE_FREQUENCIES)
        return f"CASE lower(trim({raw})) {cases} ELSE {raw} END"
    if column.name == "ChargeClass":
        return f"CASE WHEN lower(trim({raw})) = 'correction' THEN 'Correction' ELSE {raw} END"
    if column.name == "BillingCurrency":
        return f"upper(trim({raw}))"
    return {
        "string": raw,
        "decimal": f"finops_decimal({raw})",
        "timestamp": f"finops_timestamp({raw})",
        "tags": f"finops_tags({raw})",
        "json": f"CAST(CASE WHEN json_valid({raw}) THEN {raw} END AS JSON)",
    }[column.kind]


def _problems(column: focus.Column, present: bool) -> list[str]:
    """SQL expressions naming what is wrong with this column's value in a row, or NULL."""
    name, raw = column.name, ident("_raw_" + column.name)
    shown = f"'''' || left({raw}, 80) || ''''"
    found: list[str] = []
    if present and column.kind == "decimal":
        found.append(
            f"CASE WHEN {raw} IS NOT NULL AND {name} IS NULL THEN '{name}: ' || {shown} || "
            "' is not a number finops can store (a decimal with at most 20 digits before the point)' END"
        )
    elif present and column.kind == "timestamp":
        found.append(
            f"CASE WHEN {raw} IS NOT NULL AND {name} IS NULL THEN '{name}: ' || {shown} || "
            "' is not a date-time; use ISO 8601, e.g. 2024-09-01T00:00:00Z' "
            f"WHEN year({name}) NOT BETWEEN 1970 AND 2199 THEN '{name}: ' || {shown} || ' is out of range' END"
        )
    elif present and column.kind == "tags":
        found.append(
            f"CASE WHEN finops_tags_problem({raw}) IS NOT NULL THEN '{name}: ' || {shown} || ' ' || "
            f"finops_tags_problem({raw}) END"
        )
    elif present and column.kind == "json":
        found.append(
            f"CASE WHEN {raw} IS NOT NULL AND NOT json_valid({raw}) THEN '{name}: ' || {shown} || "
            "' is not valid JSON' END"
        )
    if present and name == "ChargeCategory":
        allowed = ", ".join(focus.CHARGE_CATEGORIES)
        found.append(
            f"CASE WHEN {raw} IS NOT NULL AND {name} IS NULL THEN '{name}: ' || {shown} || "
            f"' is not one of {allowed}' END"
        )
    if present and name == "BillingCurrency":
        found.append(
            f"CASE WHEN {raw} IS NOT NULL AND NOT regexp_full_match({name}, '[A-Z]{{3}}') "
            f"THEN '{name}: ' || {shown} || ' is not an ISO 4217 currency code such as USD' END"
        )
    if column.required:
        found.append(f"CASE WHEN {name} IS NULL THEN '{name} is empty; FOCUS requires a value on every row' END")
    return found


def _extras(extras: Sequence[str]) -> str:
    """x_ columns without a store column, as a MAP of their non-null values (NULL when none)."""
    if not extras:
        return "CAST(NULL AS MAP(VARCHAR, VARCHAR))"
    entries = ", ".join(
        "{'k': '" + name.replace("'", "''") + "', 'v': CAST(" + ident(name) + " AS VARCHAR)}" for name in extras
    )
    kept = f"map_from_entries(list_filter([{entries}], lambda e: e.v IS NOT NULL))"
    return f"CASE WHEN cardinality({kept}) > 0 THEN {kept} END"
