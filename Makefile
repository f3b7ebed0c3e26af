# make demo: a month of synthetic ML billing, loaded end to end.   make test: the whole test suite.
# Both create .venv on first use; `make test` also installs the FOCUS validator when a Python >= 3.12 exists.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
VALIDATOR := .venv-validator
# A Python >= 3.12 for the FinOps Foundation focus-validator (it cannot run on 3.11).
PY312 := $(shell for p in python3.13 python3.12 $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3; do \
	"$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
DEMO_DIR := demo
DEMO_MONTH := 2026-10

.PHONY: install demo test lint validator bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("finops needs Python >= 3.11; set PYTHON=python3.11" if sys.version_info < (3, 11) else 0)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

# The demo month end to end: generate and load it (AWS half as CUR 2.0, GCP half as a BigQuery export),
# attribute it, check budgets (exit 1 = an alert fired, as it should here), and write the monthly report.
demo: $(STAMP)
	$(BIN)/finops --db $(DEMO_DIR)/finops.duckdb demo --out $(DEMO_DIR)/data --month $(DEMO_MONTH) \
		--write-config $(DEMO_DIR)/finops.toml
	$(BIN)/finops --config $(DEMO_DIR)/finops.toml alert --dry-run || [ $$? -eq 1 ]
	@echo "report:"
	@$(BIN)/finops --config $(DEMO_DIR)/finops.toml report --period $(DEMO_MONTH) -o $(DEMO_DIR)/finops-$(DEMO_MONTH).html
	@echo "next: $(BIN)/finops --config $(DEMO_DIR)/finops.toml status   (or: ... sql \"SELECT ...\", query list)"

$(VALIDATOR)/bin/focus-validator:
	@if [ -z "$(PY312)" ]; then echo "note: no Python >= 3.12 here; the focus-validator test will be skipped (and fail under CI)"; \
	else "$(PY312)" -m venv $(VALIDATOR) && \
	     $(VALIDATOR)/bin/python -m pip install --quiet focus-validator==2.2.1 'pyarrow<20'; fi

validator: $(VALIDATOR)/bin/focus-validator

# Benchmarks (not tests): finops against DuckDB alone on the same generated files. ROWS=… to size;
# BENCH_ARGS=--also-10m adds the 10M-line month; BENCH_ARGS=--peers also runs focus-converter and a
# pandas script on the same files (installed from PyPI into their own venv, not finops dependencies).
ROWS ?= 1000000
bench: $(STAMP)
	$(BIN)/python -m bench --rows $(ROWS) $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check finops tests bench
	$(BIN)/ruff format --check finops tests bench
	$(BIN)/mypy

test: $(STAMP) validator lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(VALIDATOR) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache .hypothesis
