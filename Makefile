# ISECA merchant platform. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# Tests run on every core (pytest-xdist); PYTEST_ARGS= make test runs them in one process.
PYTEST_ARGS ?= -n auto
FLASK  := $(BIN)/flask --app app

.PHONY: run test install install-dev migrate clean

$(BIN)/python:
	@echo "== Creating the Python environment in $(VENV)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	@echo "== Installing Python packages into $(VENV) (the first run takes a minute or two)…"
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	@echo "== Installing the test tools into $(VENV)…"
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## run: the app with demo data on SQLite at http://127.0.0.1:$(PORT)
# The address in QR codes, PDFs and mails follows PORT, for every step
# (demo data and the server alike) unless ISECA_PUBLIC_BASE_URL is set.
run: export ISECA_PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
run: install
	@echo "== Preparing the database"
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo "== Serving $(ISECA_PUBLIC_BASE_URL) (Ctrl+C stops)"
	$(FLASK) run --host 127.0.0.1 --port $(PORT)

## test: the whole suite (SQLite; PostgreSQL too when ISECA_TEST_DATABASE_URL is set)
test: install-dev
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## migrate: a new migration from the models, e.g. make migrate m="add register retired_at"
migrate: install
	$(FLASK) db migrate -m "$(m)"

clean:
	rm -rf $(VENV) .pytest_cache
