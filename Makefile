PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test test-fast lint bench clean golden docs

$(BIN)/python:
	@command -v $(PY) >/dev/null 2>&1 || { echo "Python 3.11 not found as $(PY); run: make PY=python3 ..." >&2; exit 2; }
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install -q -e '.[test]' --config-settings editable_mode=compat
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/billadmin demo

# The storage, integrity and file tests run a second time on SQLCipher-encrypted databases
# (every test can: `pytest --encrypted`); the whole suite twice would be over the time budget.
# The input-checking tests (test_import, test_hygiene: CSV and XLSX rows refused before anything
# is written) were in this list too; they test no storage and took half its time.
ENCRYPTED_TESTS := tests/test_db.py tests/test_crypto.py tests/test_audit.py tests/test_check.py \
	tests/test_clerk_ledger.py tests/test_outfile.py tests/test_x12_text.py \
	tests/test_remit_post.py tests/test_payments.py tests/test_render_width.py

# both runs spread over every core (pytest-xdist); tests are independent (own tmp folder and db)
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadgroup
	$(BIN)/python -m pytest -n auto --dist loadgroup --encrypted -m 'not slow' $(ENCRYPTED_TESTS)

# the non-slow, non-corpus tests: the quick loop while editing
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist loadgroup -m 'not slow and not corpus'

# the quality gates (CI runs them before the suite): lint, format and types, zero findings
lint: $(STAMP)
	$(BIN)/ruff check billadmin tests benchmarks scripts
	$(BIN)/ruff format --check billadmin tests benchmarks scripts
	$(BIN)/mypy

# rewrite tests/golden/*.expected.* on purpose (then review the git diff)
golden: $(STAMP)
	BILLADMIN_REGEN_GOLDEN=1 $(BIN)/python -m pytest tests/test_golden_files.py

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) billadmin-demo.db* out .pytest_cache

# regenerate docs/cli-reference.md and the transcripts in cog blocks (tests/test_docs.py checks them)
docs: $(STAMP)
	$(BIN)/python scripts/docgen.py
