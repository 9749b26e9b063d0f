# carina-tui: two commands on a fresh Debian machine, as root: `make demo` and `make test`.
#
#   make venv         .venv with the package and its test tools (pip install -e '.[test]')
#   make deps         the machine packages: docker.io, busybox-static, openssl, iproute2, openssh-server,
#                     chromium and chromium-driver (the ssh:// tests start an sshd of their own on loopback;
#                     apt starts none; the served console's browser tests drive chromium)
#   make test         deps + venv, then the whole suite: tests/unit (no engine), tests/engine and
#                     tests/ui (a private dockerd the run starts and stops, or the engine at
#                     CARINA_TEST_DOCKER_HOST), tests/cluster (the multi-node sandbox)
#   make test-unit    the fast tests alone (no engine, seconds)
#   make demo         deps + venv, an engine with demo content, then the console on it: the engine
#                     at DOCKER_HOST or the default socket if one answers, else the sandbox
#                     (`carina-tui sandbox up`: a 2-node swarm in network namespaces)
#   make bench        every benchmarks/*.py
#   make screenshots  SVG screenshots of the console, taken from the sandbox (screenshots/take.py)
#   make clean        the venv and caches, and the sandbox if one is up

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := docker.io busybox-static openssl iproute2 util-linux openssh-server openssh-client chromium \
                chromium-driver
PYTEST_ARGS ?= -q
# Two test processes, a test file each at a time (module fixtures such as a sandbox stay in one):
# most of a test's time is spent waiting on an engine, and every test makes its own names.
TEST_WORKERS ?= 2

.PHONY: venv deps test test-unit demo bench screenshots clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

# Installs only what is missing. A policy-rc.d keeps apt from starting a dockerd in the
# host's network namespace: that engine would set FORWARD to DROP and break our namespaces.
deps:
	@missing=""; \
	for tool in dockerd:docker.io docker:docker.io containerd:docker.io busybox:busybox-static \
	            openssl:openssl ip:iproute2 nsenter:util-linux unshare:util-linux \
	            sshd:openssh-server ssh-keygen:openssh-client ssh-agent:openssh-client \
	            chromium:chromium chromedriver:chromium-driver; do \
	  command -v $${tool%%:*} >/dev/null 2>&1 || missing="$$missing $${tool##*:}"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" != 0 ]; then echo "Missing:$$missing. Install them as root (apt-get install$$missing)."; exit 1; fi; \
	  echo "Installing:$$missing"; \
	  made_policy=""; \
	  if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; \
	    chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  status=0; apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null || status=$$?; \
	  if [ -n "$$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
	  exit $$status; \
	fi

test: deps venv
	$(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-unit: venv
	$(VENV)/bin/pytest $(PYTEST_ARGS) tests/unit

demo: deps venv
	@args="$$($(PY) -m carina_tui.sandbox.demo prepare)" || exit 1; \
	echo "carina-tui $$args"; \
	exec $(VENV)/bin/carina-tui $$args

bench: deps venv
	@status=0; for script in benchmarks/*.py; do \
	  [ -e "$$script" ] || continue; echo "== $$script"; $(PY) "$$script" || status=1; \
	done; exit $$status

screenshots: deps venv
	$(PY) screenshots/take.py

clean:
	-@if [ -x $(PY) ] && [ -e /var/lib/carina-sandbox/state.json ]; then $(PY) -m carina_tui.sandbox.cli down; fi
	rm -rf $(VENV) .pytest_cache .hypothesis .import_linter_cache build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
