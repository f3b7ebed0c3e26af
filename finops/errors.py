"""The one error root of finops; the CLI prints these as `Error: …` and exits 2."""

from __future__ import annotations


class FinopsError(Exception):
    """Something the user can fix; the message says what and how."""


class ConfigError(FinopsError):
    """finops.toml, an environment variable or a flag is wrong."""


class InputError(FinopsError):
    """A source file or record cannot be loaded as given."""


class StoreError(FinopsError):
    """The DuckDB store is missing, busy, too new, or refuses the request."""


class QueryError(FinopsError):
    """A query failed: bad SQL, a refused write, a missing parameter."""
