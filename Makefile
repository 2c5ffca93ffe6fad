# The README's commands. Everything runs from the project's own .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: install run demo test test-unit test-integration test-ui chromium services definitions clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

## Run the broker API on 127.0.0.1:8000 with the three reference adapters in-process
## (embedded defaults: SQLite file var/mash.sqlite3, in-process transport).
run: install
	$(BIN)/mash-broker dev init
	$(BIN)/mash-broker migrate
	@echo ""
	@echo "Broker starting on http://127.0.0.1:8000 (OpenAPI at /docs). In another shell, open an enquiry:"
	@echo "  TOKEN=\$$(.venv/bin/mash-broker token issue --role mash_manager --sub demo.manager | tail -1)"
	@echo "  curl -si -X POST http://127.0.0.1:8000/enquiries -H \"Authorization: Bearer \$$TOKEN\" -H 'content-type: application/json' -d @var/dev/example-enquiry.json"
	@echo "then follow the Location header (same token): GET /enquiries/{id} and GET /enquiries/{id}/summary"
	@echo "or use the web UI: open http://127.0.0.1:8000/ and sign in with the development sign-in"
	@echo ""
	$(BIN)/mash-broker serve --host 127.0.0.1 --port 8000

## One enquiry end to end; prints the verified summary (exit 0 only if it verifies).
demo: install
	$(BIN)/mash-broker demo --out var/demo

## Start RabbitMQ and PostgreSQL if they are installed but stopped.
services:
	bash deploy/scripts/ensure-services.sh

## Every test: unit, integration (real RabbitMQ and PostgreSQL), end to end.
test: install services chromium
	$(BIN)/pytest -m "not ui"
	$(BIN)/pytest -m ui

## The browser suite alone (Playwright driving Debian's Chromium; its own pytest process).
test-ui: install services chromium
	$(BIN)/pytest -m ui

## Debian's Chromium for the browser tests (never `playwright install`: no browser downloads).
chromium:
	@test -x /usr/bin/chromium || (apt-get update -qq && apt-get install -y -qq chromium)

test-unit: install
	$(BIN)/pytest tests/unit

definitions: install
	MASH_AGREEMENTS_DIR=agreements/documents MASH_RECIPIENTS_DIR=agreements/recipients $(BIN)/mash-broker rabbitmq definitions --out deploy/rabbitmq/definitions.json

clean:
	rm -rf var .pytest_cache .hypothesis

## Benchmarks: the broker (PostgreSQL, then SQLite, over RabbitMQ) beside the bare AMQP floor,
## in one run; the last line printed is one JSON object. See BENCHMARKS.md.
.PHONY: bench
bench: install services
	$(BIN)/python -m bench $(BENCH_ARGS)
