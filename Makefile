# Two commands on a fresh machine: `make demo` and `make test`. Both create/update .venv.
VENV        ?= .venv
PY          := $(VENV)/bin/python
PYTHON      ?= python3
# llama.cpp is compiled once (about 7 minutes on 2 cores) into a wheel cache outside the tree.
WHEELS      ?= $(HOME)/.cache/magray-wheels
LLAMA_CPP   := 0.3.36
# Portable build: a native (-march=native) build crashes on some VMs' CPUs at the first decode.
export CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF
# node-gyp compiles native npm modules (code-server's argon2, when no prebuilt binary fits)
# against Node's headers, and would download those from nodejs.org. Node ships them in its own
# prefix (Debian's nodejs: /usr/include/node), so point npm there for every install below.
NODE_PREFIX := $(shell node -p 'require("path").resolve(process.execPath, "../..")' 2>/dev/null)
ifeq ($(origin npm_config_nodedir),undefined)
  ifneq ($(wildcard $(NODE_PREFIX)/include/node/common.gypi),)
    export npm_config_nodedir := $(NODE_PREFIX)
  endif
endif

.PHONY: venv system demo test lint bench bench-venv bench-run clean editors vscode vscode-schema

venv: $(VENV)/.installed
	@:

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip
	@if ! ls $(WHEELS)/llama_cpp_python-$(LLAMA_CPP)-*.whl >/dev/null 2>&1; then \
		echo ">> compiling llama.cpp (llama-cpp-python $(LLAMA_CPP)) once: about 7 minutes..."; \
		$(PY) -m pip wheel -q --no-cache-dir --no-deps -w $(WHEELS) llama-cpp-python==$(LLAMA_CPP); \
	fi
	@$(PY) -m pip install -q --find-links $(WHEELS) -e '.[local,test]'
	@# bytecode up front: with PYTHONDONTWRITEBYTECODE set, every start would recompile (~0.2 s)
	@$(PY) -m compileall -q server >/dev/null
	@touch $@

demo: venv
	@echo ">> magray-lsp explain examples/http_headers.py:14 — offline, on the embedded SmolLM2-135M model"
	@$(VENV)/bin/magray-lsp explain examples/http_headers.py:14 --model local

# Debian packages the suite drives for real (Redis, Chromium, ...); installs what is missing.
system:
	@bash scripts/install-system-deps.sh

# Real editors the suite drives (tests/editors/); each part is idempotent and cached.
editors: vscode

# VS Code: the extension's .vsix (npm ci, unit tests, tsc, esbuild, vsce) and code-server
# 4.100.3 (real VS Code 1.100), installed once into ~/.cache/magray-code-server (~1.5 min).
VSCODE_EXT := editors/vscode
vscode: $(VSCODE_EXT)/magray-vscode.vsix
	@bash tests/editors/vscode/install-code-server.sh

$(VSCODE_EXT)/node_modules/.package-lock.json: $(VSCODE_EXT)/package-lock.json
	@cd $(VSCODE_EXT) && npm ci --no-audit --no-fund --loglevel=error

$(VSCODE_EXT)/magray-vscode.vsix: $(VSCODE_EXT)/node_modules/.package-lock.json \
		$(VSCODE_EXT)/package.json $(VSCODE_EXT)/README.md $(VSCODE_EXT)/schemas/magray.schema.json \
		$(wildcard $(VSCODE_EXT)/src/*.ts $(VSCODE_EXT)/test/*.ts $(VSCODE_EXT)/scripts/*.mjs)
	@cd $(VSCODE_EXT) && npm test --silent && npm run --silent package

# After a config change on the server: refresh the extension's schema copy and its settings.
vscode-schema: venv
	@$(VENV)/bin/magray-lsp schema > $(VSCODE_EXT)/schemas/magray.schema.json
	@cd $(VSCODE_EXT) && node scripts/generate-configuration.mjs

# The installs are independent, so they run side by side: on a fresh machine npm and code-server
# download while llama.cpp compiles (their output interleaves, line by line).
test:
	@$(MAKE) --no-print-directory -j3 venv system editors
	@$(VENV)/bin/pytest -q

# lint-imports: the layers and the no-cycle contracts in .importlinter (the architecture)
lint: venv
	@$(VENV)/bin/ruff check server tests bench scripts
	@$(VENV)/bin/ruff format --check server tests bench scripts
	@$(VENV)/bin/mypy
	@$(VENV)/bin/mypy --explicit-package-bases --exclude 'tests/data/' tests
	@$(VENV)/bin/lint-imports --no-cache --no-logo

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache

# `make bench`: every benchmark against a baseline run alongside it, then docs/benchmarks.md
# (its generated part). `make bench BENCH_QUICK=1`: a tiny setting, about a minute, kept apart in
# bench/results/quick/ with its own benchmarks.md. `bench-run` is the same without the installs
# (tests/test_bench_smoke.py runs it with BENCH_RESULTS in a temporary folder).
BENCH_QUICK   ?=
BENCH_FLAGS   := $(if $(filter-out 0,$(BENCH_QUICK)),--quick)
BENCH_RESULTS ?= $(if $(BENCH_FLAGS),bench/results/quick,bench/results)
BENCH_REPORT  ?= $(if $(BENCH_FLAGS),$(BENCH_RESULTS)/benchmarks.md,docs/benchmarks.md)
# Each script takes --quick and writes $(BENCH_RESULTS)/<name>.md + .json (bench/_common.py).
BENCH_SCRIPTS ?= bench_startup bench_editor bench_cache_value bench_prompt_cache bench_context bench_answers bench_local_threads bench_gateway bench_adapters bench_dashboard bench_team
# Those that drive LiteLLM (in bench/.venv-litellm, never in our venv); the smoke test leaves
# them out, as `make test` does not install LiteLLM.
BENCH_LITELLM_SCRIPTS ?= bench_litellm bench_throughput bench_faults

bench: venv bench-venv
	@$(MAKE) --no-print-directory bench-run

# LiteLLM's venv: bench/_compare.py holds its pinned version and creates or updates it.
bench-venv: venv
	@$(PY) -c 'import sys; sys.path.insert(0, "bench"); import _compare; _compare.litellm_python()'

bench-run:
	@mkdir -p $(BENCH_RESULTS) && rm -f $(BENCH_RESULTS)/*.md $(BENCH_RESULTS)/*.json
	@for script in $(BENCH_SCRIPTS) $(BENCH_LITELLM_SCRIPTS); do \
		echo ">> bench/$$script.py $(BENCH_FLAGS)"; \
		BENCH_RESULTS="$(abspath $(BENCH_RESULTS))" $(PY) bench/$$script.py $(BENCH_FLAGS) || exit 1; \
	done
	@BENCH_RESULTS="$(abspath $(BENCH_RESULTS))" $(PY) bench/report.py --out $(BENCH_REPORT) \
		--command "make bench$(if $(BENCH_FLAGS), BENCH_QUICK=1)"
