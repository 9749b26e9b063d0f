"""Shared fixtures. The engine machinery lives in ``harness.py``; read its docstring.

Engine fixtures:

* ``docker_host`` (session): the ``unix://`` (or ``tcp://``) URL of a real engine:
  ``CARINA_TEST_DOCKER_HOST`` if set, else a private dockerd in a network
  namespace of its own, with the busybox images, stopped at the end of the run.
  When no engine can be had, every test that needs one FAILS with the reason.
* ``test_engine`` (session): the same engine as a ``harness.TestEngine``
  (``.docker(...)``, ``.ids(...)``, ``.kill()`` / ``.restart()`` for a private one).
* ``scratch`` (function): ``harness.Scratch``: containers and networks with names
  unique to the test, removed when the test ends.
* ``stock`` (function): ``storage_helpers.Stock``, images and volumes for one test.
* ``unique_name`` (function): a name no other test uses, e.g. ``t1a2b3c``.
* ``docker_env`` (function): ``DOCKER_HOST`` set to the test engine, for code that
  finds its engine the way the docker CLI does.
* ``sandbox_cluster`` (module): a real 2-node sandbox (``carina_tui.sandbox.cluster``,
  a ``SandboxState``) with a per-run name and subnet; its TLS bundle and its
  ``clusters.toml`` live in a tmp dir (``state.bundle_dir``, ``state.config_file``:
  pass ``--config state.config_file --cluster state.name`` to the console). It is
  taken down at the end of the module (a test may take it down earlier).

Watchdog (autouse): a test that runs longer than ``CARINA_TEST_TIMEOUT`` seconds
(default 240) fails with a traceback of where it hung, instead of holding the
whole run (CI has 90 minutes for everything).

Isolation (autouse): ``isolated_environment`` points the XDG folders, ``HOME``,
``CARINA_HOME`` and ``DOCKER_CONFIG`` into the test's tmp dir and clears the
variables that choose an engine or a token, so no test reads or writes the
machine's own settings. ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` stay as the
machine has them: the product must cope with them.
"""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
import traceback

import pytest

import harness
from carina_tui.core.errors import CarinaError


def pytest_configure(config):
    """SIGTERM ends the run like Ctrl-C, so that the session's engine is still stopped."""

    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupted)


def pytest_report_header(config):
    given = os.environ.get("CARINA_TEST_DOCKER_HOST")
    if given:
        return f"docker engine: {given} (CARINA_TEST_DOCKER_HOST)"
    return "docker engine: a private dockerd in a network namespace, started on first use"


@pytest.fixture(scope="session")
def test_engine():
    try:
        found = harness.engine_for_session()
    except CarinaError as err:
        pytest.fail(f"The tests need a Docker engine and none could be had: {err}", pytrace=False)
    yield found
    left = harness.stop_session_engine(found)
    if left:
        pytest.fail(f"The private test engine left things behind: {'; '.join(left)}.", pytrace=False)


@pytest.fixture(scope="session")
def docker_host(test_engine: harness.TestEngine) -> str:
    return test_engine.url


@pytest.fixture(scope="module")
def sandbox_cluster(tmp_path_factory):
    try:
        state = harness.start_test_sandbox(tmp_path_factory.mktemp("sandbox-home"))
    except CarinaError as err:
        pytest.fail(f"The test sandbox did not come up: {err}", pytrace=False)
    yield state
    harness.stop_test_sandbox(state)


@pytest.fixture
def scratch(test_engine: harness.TestEngine):
    box = harness.Scratch(test_engine)
    yield box
    box.cleanup()


@pytest.fixture
def engine_to_kill():
    """A private engine of this test's own, for a test that kills and restarts its engine. The
    session's engine is shared by every test of the worker: a restart that failed under load
    ("timeout waiting for containerd to start") once took it away, and 58 later tests with it."""
    if os.environ.get("CARINA_TEST_DOCKER_HOST", "").strip():
        pytest.skip("needs a private engine it may kill (CARINA_TEST_DOCKER_HOST names one to keep)")
    try:
        own = harness.start_private_engine()
        harness.ensure_local_images(own.url)
    except CarinaError as err:
        pytest.fail(f"A private engine for this test did not start: {err}", pytrace=False)
    box = harness.Scratch(own)
    yield own, box
    harness.stop_session_engine(own)


@pytest.fixture
def stock(test_engine: harness.TestEngine, scratch: harness.Scratch):
    """``storage_helpers.Stock``: images and volumes with a label only this test uses, removed after
    its containers."""
    from storage_helpers import Stock

    made = Stock(test_engine, scratch)
    yield made
    made.cleanup()


@pytest.fixture
def unique_name() -> str:
    return f"t{secrets.token_hex(3)}"


@pytest.fixture
def docker_env(docker_host: str, monkeypatch) -> str:
    monkeypatch.setenv("DOCKER_HOST", docker_host)
    return docker_host


TEST_TIMEOUT = float(os.environ.get("CARINA_TEST_TIMEOUT", "240"))


class TimedOut(Exception):
    pass


@pytest.fixture(autouse=True)
def watchdog(request):
    """Fail a test that hangs: SIGALRM in the main thread interrupts a blocked event loop."""
    if TEST_TIMEOUT <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expired(signum, frame):
        names = {t.ident: t.name for t in threading.enumerate()}
        for ident, stack in sys._current_frames().items():
            print(f"--- thread {names.get(ident, ident)}:\n{''.join(traceback.format_stack(stack))}", file=sys.stderr)
        raise TimedOut(f"{request.node.nodeid} ran longer than {TEST_TIMEOUT:.0f} s (CARINA_TEST_TIMEOUT)")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, TEST_TIMEOUT)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_CLEARED = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_CONTEXT", "DOCKER_API_VERSION",
            "CONSUL_HTTP_TOKEN",
            "CONSUL_HTTP_ADDR", "CARINA_CLUSTER", "CARINA_CLUSTER_NAME")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    home = tmp_path_factory.mktemp("home")
    for var, sub in (
        ("XDG_CONFIG_HOME", "config"),
        ("XDG_DATA_HOME", "data"),
        ("XDG_STATE_HOME", "state"),
        ("XDG_CACHE_HOME", "cache"),
        ("DOCKER_CONFIG", "docker"),
        ("CARINA_HOME", "carina"),
    ):
        path = home / sub
        path.mkdir()
        monkeypatch.setenv(var, str(path))
    monkeypatch.setenv("HOME", str(home))
    for var in _CLEARED:
        monkeypatch.delenv(var, raising=False)
    yield home
