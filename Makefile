# ISECA merchant platform. `make run` and `make test` do all set-up themselves.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PORT   ?= 5000
# Tests run on every core (pytest-xdist); PYTEST_ARGS= make test runs them in one process.
PYTEST_ARGS ?= -n auto
FLASK  := $(BIN)/flask --app app

.PHONY: run run-https https-address test lint install install-dev migrate clean translations i18n-extract i18n-update

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

install: $(VENV)/.installed translations
install-dev: $(VENV)/.installed-dev

## translations: compile the catalogues (iseca/translations/<part>/<lang>/LC_MESSAGES/messages.po → .mo).
# Japanese is the source language; each part of the product has its own
# catalogue (babel/<part>.cfg says which files): common and residents in
# English, Portuguese (Brazil) and Vietnamese, merchants and counter in English.
PYBABEL := $(BIN)/pybabel
I18N_PARTS := common residents merchants counter
I18N_LANGS_common := en pt_BR vi
I18N_LANGS_residents := en pt_BR vi
I18N_LANGS_merchants := en
I18N_LANGS_counter := en
I18N_PO := $(wildcard iseca/translations/*/*/LC_MESSAGES/messages.po)
I18N_MO := $(I18N_PO:.po=.mo)

translations: $(I18N_MO)

iseca/translations/%/LC_MESSAGES/messages.mo: iseca/translations/%/LC_MESSAGES/messages.po | $(VENV)/.installed
	@$(PYBABEL) compile -i $< -o $@ >/dev/null

## i18n-extract / i18n-update: after changing texts, refresh the .pot of each
# part and merge it into every language's .po (then translate what is new).
i18n-extract: $(VENV)/.installed
	@for part in $(I18N_PARTS); do \
	  $(PYBABEL) extract -F babel/$$part.cfg -k _l -k N_ --no-location --sort-output \
	    --project ISECA --copyright-holder "Isesaki City" \
	    -o iseca/translations/$$part/messages.pot . 2>/dev/null >/dev/null || exit 1; \
	done

i18n-update: i18n-extract
	@$(foreach part,$(I18N_PARTS),$(foreach lang,$(I18N_LANGS_$(part)),\
	  if [ -f iseca/translations/$(part)/$(lang)/LC_MESSAGES/messages.po ]; then \
	    $(PYBABEL) update --no-fuzzy-matching --ignore-obsolete --no-wrap \
	      -i iseca/translations/$(part)/messages.pot -d iseca/translations/$(part) -l $(lang) || exit 1; \
	  else \
	    $(PYBABEL) init -i iseca/translations/$(part)/messages.pot -d iseca/translations/$(part) -l $(lang) || exit 1; \
	  fi;))

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

## run-https: for a phone on the shop's network (the camera needs https):
# https://<this machine's address>:$(HTTPS_PORT) on every interface, with a
# self-signed certificate made once into instance/ for that address (the
# phone asks once to accept it). Only for trying it out: never in production.
HTTPS_PORT ?= 5443
LAN_ADDRESS ?= $(shell hostname -I 2>/dev/null | awk '{print $$1}')
HTTPS_CERT_DIR ?= instance
HTTPS_CERT = $(HTTPS_CERT_DIR)/https-$(LAN_ADDRESS).pem
HTTPS_KEY  = $(HTTPS_CERT_DIR)/https-$(LAN_ADDRESS).key
run-https: export ISECA_PUBLIC_BASE_URL ?= https://$(LAN_ADDRESS):$(HTTPS_PORT)
run-https: install https-address $(HTTPS_CERT)
	@echo "== Preparing the database"
	$(FLASK) db upgrade
	$(FLASK) demo --if-empty
	@echo "== Serving $(ISECA_PUBLIC_BASE_URL) to the local network (self-signed certificate $(HTTPS_CERT); Ctrl+C stops)"
	$(FLASK) run --host 0.0.0.0 --port $(HTTPS_PORT) --cert $(HTTPS_CERT) --key $(HTTPS_KEY)

https-address:
	@test -n "$(LAN_ADDRESS)" || { echo "No network address found: LAN_ADDRESS=192.168.x.y make run-https"; exit 1; }

$(HTTPS_CERT_DIR)/https-%.pem:
	@echo "== Making a self-signed certificate for $*"
	mkdir -p $(HTTPS_CERT_DIR)
	openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=ISECA trial $*" \
	  -addext "subjectAltName=IP:$*,IP:127.0.0.1,DNS:localhost" \
	  -keyout $(HTTPS_CERT_DIR)/https-$*.key -out $@ 2>/dev/null
	chmod 600 $(HTTPS_CERT_DIR)/https-$*.key

## test: the linter, then the whole suite (SQLite; PostgreSQL too when ISECA_TEST_DATABASE_URL is set)
test: install-dev translations lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## lint: ruff with the rules of ruff.toml (pyflakes, pycodestyle, bugbear, isort, pyupgrade, comprehensions)
lint: install-dev
	$(BIN)/ruff check .

## migrate: a new migration from the models, e.g. make migrate m="add register retired_at"
migrate: install
	$(FLASK) db migrate -m "$(m)"

clean:
	rm -rf $(VENV) .pytest_cache
