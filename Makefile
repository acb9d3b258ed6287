# pulsewire developer entry points. See infra/kafka/README.md for the real-Kafka broker.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
KAFKA  := infra/kafka/kafka.sh
PYTEST_ARGS ?=

# Reinstall only when pyproject.toml changed (or the venv was removed).
SETUP_STAMP := $(VENV)/.pulsewire-setup

.PHONY: help setup demo test test-calendar kafka-up kafka-down kafka-status bench

help:
	@echo "make setup       create $(VENV) if missing and pip install -e '.[dev]'"
	@echo "make demo        setup, then run 'pulsewire demo'"
	@echo "make test        setup, start a real Kafka when java+mvn exist, run pytest, stop Kafka"
	@echo "                 (PULSEWIRE_REQUIRE_KAFKA=1: fail if the real broker is unavailable;"
	@echo "                  PULSEWIRE_TEST_KAFKA=host:port: use that broker instead; PYTEST_ARGS=...)"
	@echo "make test-calendar  the non-integration tests with the clock 400 days ahead (needs faketime)"
	@echo "make kafka-up    fetch and start the local broker; prints its bootstrap address"
	@echo "make kafka-down  stop it and remove its data"
	@echo "make bench       run every bench/bench_*.py"

setup: $(SETUP_STAMP)

$(SETUP_STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -e '.[dev]'
	@touch $@

demo: setup
	$(VENV)/bin/pulsewire demo

# with-kafka.sh starts a throwaway broker in its own state dir, exports PULSEWIRE_TEST_KAFKA,
# always stops it, and returns pytest's exit status unchanged.
test: setup
	infra/kafka/with-kafka.sh $(VENV)/bin/pytest $(PYTEST_ARGS)

# No test may depend on today's date (Debian package: faketime).
test-calendar: setup
	faketime -f '+400d' $(VENV)/bin/pytest -m "not integration" -p no:cacheprovider $(PYTEST_ARGS)

kafka-up:
	$(KAFKA) fetch
	$(KAFKA) start

kafka-down:
	$(KAFKA) stop

kafka-status:
	$(KAFKA) status

bench: setup
	@shopt -s nullglob; files=(bench/bench_*.py); \
	if [ $${#files[@]} -eq 0 ]; then echo "no bench/bench_*.py found"; exit 0; fi; \
	for f in "$${files[@]}"; do echo "== $$f"; $(PY) "$$f"; done
