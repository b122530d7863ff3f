# The interface of the repository: install, test, reproduce, bench, results.
# `make help` lists every target.

SHELL := /bin/bash
PACKAGES := sparc modular_hyperteacher mesa_optimization lru_universality memory_adam nar_latent async_gnn cl_transfer l2m
SCALE ?= quick
ARGS ?=
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed
INSTALL_INPUTS := constraints.txt shared/pyproject.toml $(foreach p,$(PACKAGES),$(p)/pyproject.toml) \
                  $(wildcard $(foreach p,$(PACKAGES),$(p)/requirements-nodeps.txt))

.DEFAULT_GOAL := help
.PHONY: help install test lint check-isolation reproduce results clean
# (the per-package pattern targets test-%, reproduce-%, bench-%, check-isolation-% are not
# declared .PHONY: make skips implicit-rule search for phony targets)

help: ## list every target
	@echo "Targets (SCALE=quick|full|gpu for reproduce-*, ARGS='...' passes extra flags):"
	@grep -hE '^[a-zA-Z_%-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  %-28s %s\n", $$1, $$2}'
	@echo "  per package (one of: $(PACKAGES)):"
	@for p in $(PACKAGES); do printf '    test-%s  reproduce-%s  bench-%s  check-isolation-%s\n' $$p $$p $$p $$p; done
	@echo "    test-shared"

install: $(STAMP) ## create .venv and install shared + all nine packages (editable, with test extras)

$(STAMP): $(INSTALL_INPUTS)
	@test -x $(PY) || python3 -m venv $(VENV)
	@echo "installing into $(VENV) (pins: constraints.txt) ..."
	$(PIP) install -qq -c constraints.txt "torch==2.13.0"
	$(PIP) install -qq -c constraints.txt ruff -e './shared[test,clrs]' $(foreach p,$(PACKAGES),-e './$(p)[test]')
	cat $(wildcard $(foreach p,$(PACKAGES),$(p)/requirements-nodeps.txt)) | grep -v '^#' | sort -u > $(VENV)/nodeps.txt
	$(PIP) install -qq --no-deps -c constraints.txt -r $(VENV)/nodeps.txt
	@touch $(STAMP)
	@echo "install done"

test: install ## run every package's test suite (one pytest process per package) and print a summary
	$(PY) tools/test_all.py shared $(PACKAGES)

test-%: install ## run one package's tests, e.g. make test-memory_adam
	$(PY) tools/test_all.py $*

lint: install ## ruff over the whole repository
	$(VENV)/bin/ruff check .

check-isolation: ## for each package: fresh venv, pip install ./shared ./<package> only, run its smoke tests
	tools/check_isolation.sh $(PACKAGES)

check-isolation-%: ## the isolation check for one package
	tools/check_isolation.sh $*

reproduce-%: install ## reproduce one paper at SCALE (default quick), e.g. make reproduce-memory_adam SCALE=full
	$(PY) -m $*.reproduce --scale $(SCALE) $(ARGS)

reproduce: install ## reproduce every paper at SCALE (default quick)
	@set -e; for p in $(PACKAGES); do $(PY) -m $$p.reproduce --scale $(SCALE) $(ARGS); done

bench-%: install ## a package's benchmark (ratios against the baseline its issue names)
	$(PY) -m $*.bench $(ARGS)

results: install ## regenerate RESULTS.md from every committed run record
	$(PY) -m repro_shared.report --root . --out RESULTS.md

clean: ## remove the virtual environments and caches (not the results)
	rm -rf $(VENV) .iso .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
