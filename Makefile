# govdata — `make demo` runs the platform with a demo city; `make test` runs every check CI runs.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 2

.PHONY: venv demo serve test lint typecheck test-sqlite test-postgresql test-citus system-deps bench clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

demo: venv
	$(BIN)/govdata demo

serve: venv
	$(BIN)/govdata serve

system-deps:
	bash scripts/install-system-deps.sh

lint: venv
	$(BIN)/ruff check src tests migrations bench
	$(BIN)/ruff format --check src tests migrations bench

typecheck: venv
	$(BIN)/mypy

test-sqlite: venv system-deps
	GOVDATA_TEST_DB=sqlite $(BIN)/pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile

test-postgresql: venv system-deps
	GOVDATA_TEST_DB=postgresql $(BIN)/pytest -p no:cacheprovider -n $(PYTEST_WORKERS) --dist loadfile

test: lint typecheck test-sqlite test-postgresql test-citus

# The data-plane tests on a three-node Citus cluster (builds Citus from ../shared/vendor/citus
# with scripts/citus's patch when that build is missing, decision 0023; skipped with a reason on
# a machine with neither). The last step of `test`.
test-citus: venv system-deps
	PYTEST=$(BIN)/pytest PYTEST_WORKERS=$(PYTEST_WORKERS) bash scripts/test-citus.sh

bench: venv
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/auth_endpoint.py
	$(BIN)/python bench/audit_chain.py

clean:
	rm -rf $(VENV) var bench/out .mypy_cache .ruff_cache .hypothesis
