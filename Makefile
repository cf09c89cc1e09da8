# Gian hàng 0 đồng — the two commands a newcomer needs:
#   make run    set everything up (venv, Python and npm packages, database, demo data) and serve
#               the app at http://127.0.0.1:5000 (another port: make run PORT=5077)
#   make test   run the whole test suite (SQLite; PostgreSQL too when TEST_DATABASE_URL is set)
PY ?= python3.11
PORT ?= 5000
VENV := .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi.py

.PHONY: run setup browser test test-sqlite test-postgres translations translations-update lint clean

run: setup
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/flask run --host 127.0.0.1 --port $(PORT)

setup: $(VENV)/.installed static/vendor/.installed translations

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

static/vendor/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund
	npm run vendor
	touch $@

translations: $(VENV)/.installed
	$(BIN)/pybabel compile -d app/translations -D messages >/dev/null

# Extract new strings and merge them into the English catalogue (then translate and commit;
# tests/test_i18n.py fails while a string is untranslated). Babel skips folders starting with
# "_" unless told otherwise: templates/_macros must be read.
translations-update: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 \
		--ignore-dirs='.* __pycache__ node_modules' -o /tmp/messages.pot . >/dev/null
	$(BIN)/pybabel update -i /tmp/messages.pot -d app/translations -D messages \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d app/translations -D messages --statistics

# Debian's Chromium for the real-browser tests: installed when missing on a Debian machine where we
# are root (CI, a fresh server); elsewhere those tests are skipped (failed with REQUIRE_BROWSER=1).
browser:
	@command -v chromium >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; } || \
	  echo "Chromium is not installed: the browser tests will be skipped (apt-get install chromium)."

test: setup browser
	@echo "== SQLite file"; env -u TEST_DATABASE_URL $(BIN)/pytest -q
	@if [ -n "$$TEST_DATABASE_URL" ]; then echo "== PostgreSQL: $$TEST_DATABASE_URL"; $(BIN)/pytest -q; fi

lint: setup
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) node_modules static/vendor instance/gianhang.db*
