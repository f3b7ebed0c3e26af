"""The demo's finops.toml: budgets the demo month crosses, and the terminal as the alert channel.

The demo month (2026-10, seed 7) costs 176,675.84 USD effective in total, 60,249.66 of it attributed to
team nlp; the budgets below are set so `finops alert --dry-run` has something to show.
"""

from __future__ import annotations

import json
from pathlib import Path

TEMPLATE = """\
# finops configuration of the demo (written by `make demo`).
database = {database}

[[budgets]]
name = "nlp-training"
amount = 50000
currency = "USD"
basis = "effective"
thresholds = [50, 80, 100]
forecast_thresholds = [100]
scope = {{ team = "nlp" }}

[[budgets]]
name = "whole-bill"
amount = 200000
currency = "USD"
thresholds = [50, 80, 100]
forecast_thresholds = [100]

[[notify]]
name = "terminal"
type = "terminal"

[anomalies]
scopes = ["service", "team"]
min_impact = 1000
"""


def demo_config(database: Path) -> str:
    """finops.toml text for the demo store at `database` (as finops.toml names it: relative to the
    file's own folder, or absolute)."""
    return TEMPLATE.format(database=json.dumps(str(database)))
