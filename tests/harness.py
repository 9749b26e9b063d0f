"""The test harness: one real Docker engine per test run, and helpers to use it.

``engine_for_session()`` returns the engine the tests run against:

* ``CARINA_TEST_DOCKER_HOST`` names an engine someone else runs: we use it and
  never stop it; we only remove what the tests created (label ``carina.test``);
* otherwise we start a private dockerd in a network namespace of its own
  (``carina_tui.sandbox.engine``), in a fresh folder ``/tmp/carina-t-*`` with a
  per-run name, import the busybox images, and stop it at the end.

Private engines left by a killed test run (their pytest process is gone) are
swept at the next start. Everything a test creates carries ``carina.test=1``.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import BUSYBOX_IMAGE, CONSUL_IMAGE, ensure_local_images

TEST_LABEL = "carina.test=1"
TEST_DIR_PREFIX = "carina-t-"
OWNER_FILE = "owner.pid"


ROOT = Path(__file__).resolve().parents[1]


def carina(*args: str, env: dict | None = None, stdout=subprocess.PIPE, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run ``carina-tui ARGS`` as a user does: a new process, no terminal on stdin, the
    test's environment (plus ``env``); stdout and stderr as text."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "carina_tui", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, env=full_env, timeout=timeout, stdin=subprocess.DEVNULL)


def exists(engine: "TestEngine", name: str) -> bool:
    """True while the engine holds a container of exactly that name."""
    return bool(engine.ids(f"name=^/{name}$"))


def write_config(text: str, path: Path | None = None) -> Path:
    """Write a clusters.toml: at ``path``, else where carina-tui looks by default (the test's XDG dir)."""
    path = path or Path(os.environ["XDG_CONFIG_HOME"]) / "carina-tui" / "clusters.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@dataclass
class TestEngine:
    """A real engine for tests: its URL, the docker CLI pointed at it, and (for a
    private one) ``kill()``/``restart()`` to test an engine that goes away."""

    url: str
    engine: eng.Engine | None = None  # None: an engine someone else runs

    @property
    def private(self) -> bool:
        return self.engine is not None

    def docker(self, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 60) -> str:
        return eng.docker(self.url, *args, check=check, input=input, timeout=timeout)

    def ids(self, *filters: str, all: bool = True) -> list[str]:
        args = ["ps", "--quiet", "--no-trunc"] + (["--all"] if all else [])
        for f in filters:
            args += ["--filter", f]
        return self.docker(*args).split()

    def answers(self) -> bool:
        return eng.ping_url(self.url)

    def kill(self) -> None:
        """Crash the engine (SIGKILL dockerd alone); ``restart()`` brings it back on its data."""
        assert self.engine is not None, "only a private engine can be killed"
        eng.kill_engine(self.engine)

    def restart(self) -> None:
        """Start the engine again on its data (``start_engine`` stops the containerd left behind)."""
        assert self.engine is not None, "only a private engine can be restarted"
        self.engine = eng.start_engine(self.engine.name, self.engine.base_dir, netns=self.engine.netns)


@dataclass
class Scratch:
    """Containers and networks for one test, with names unique to it, removed afterwards."""

    engine: TestEngine
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)

    def name(self, base: str) -> str:
        """A name unique to this test: ``t<tag>-<base>``."""
        return f"t{self.tag}-{base}"

    def _labels(self, labels: dict[str, str] | None) -> list[str]:
        args = ["--label", TEST_LABEL]
        for key, value in sorted((labels or {}).items()):
            args += ["--label", f"{key}={value}"]
        return args

    def run(self, base: str, *command: str, image: str = BUSYBOX_IMAGE, network: str | None = None,
            labels: dict[str, str] | None = None, options: tuple[str, ...] = (), exact_name: bool = False) -> str:
        """``docker run -d`` a container (default command ``sleep 3600``); returns its name.

        ``exact_name`` uses ``base`` as given (for names the guard must see, such
        as ``carina-svcd``); the container is removed at the end all the same.
        """
        name = base if exact_name else self.name(base)
        args = ["run", "--detach", "--name", name, *self._labels(labels)]
        if network:
            args += ["--network", network]
        self.containers.append(name)
        self.engine.docker(*args, *options, image, *(command or ("sleep", "3600")))
        return name

    def create(self, base: str, *command: str, image: str = BUSYBOX_IMAGE, exact_name: bool = False,
               labels: dict[str, str] | None = None) -> str:
        """``docker create`` (state "created", never started); returns its name."""
        name = base if exact_name else self.name(base)
        self.containers.append(name)
        self.engine.docker("create", "--name", name, *self._labels(labels), image, *(command or ("true",)))
        return name

    def exited(self, base: str, code: int = 0, exact_name: bool = False,
               labels: dict[str, str] | None = None) -> str:
        """A container that ran and exited with ``code``; returns its name."""
        name = self.create(base, "sh", "-c", f"exit {code}", exact_name=exact_name, labels=labels)
        self.engine.docker("start", "--attach", name, check=False)
        return name

    def network(self, base: str, *options: str, exact_name: bool = False) -> str:
        name = base if exact_name else self.name(base)
        self.networks.append(name)
        self.engine.docker("network", "create", "--label", TEST_LABEL, *options, name)
        return name

    def cleanup(self) -> None:
        if self.containers:
            self.engine.docker("rm", "--force", "--volumes", *self.containers, check=False)
        for net in reversed(self.networks):
            self.engine.docker("network", "rm", net, check=False)


def sweep_stale_engines() -> list[str]:
    """Stop private test engines whose pytest process is gone (a killed run). Returns their folders."""
    swept = []
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), TEST_DIR_PREFIX + "*")):
        owner = eng.read_pid(Path(folder, OWNER_FILE))
        if owner and eng.pid_alive(owner):
            continue
        try:
            if not owner and time.time() - os.stat(folder).st_mtime < 120:
                continue  # just made by another run, which has not written its owner yet
        except OSError:
            continue
        if Path(folder, "sandbox", "state.json").exists():
            from carina_tui.sandbox import cluster

            try:
                cluster.sandbox_down(Path(folder, "sandbox"))
            except eng.EngineError:
                pass  # swept as far as it goes; the folder goes below
        for state in Path(folder).glob("*/engine.json"):
            known = eng.load_engine(state.parent)
            if known is not None:
                eng.stop_engine(known)
        shutil.rmtree(folder, ignore_errors=True)
        swept.append(folder)
    return swept


def _free_subnet() -> str:
    """A /24 in 10.214.0.0/16 that no route of this machine overlaps."""
    import ipaddress
    import subprocess

    routes = subprocess.run(["ip", "-4", "-o", "route", "show", "table", "all"], capture_output=True,
                            text=True).stdout
    taken = []
    for line in routes.split("\n"):
        try:
            taken.append(ipaddress.ip_network(line.split()[0], strict=False))
        except (ValueError, IndexError):
            pass
    for _ in range(100):
        net = ipaddress.ip_network(f"10.214.{secrets.randbelow(256)}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return str(net)
    raise eng.EngineError("No free /24 is left in 10.214.0.0/16 for a test sandbox: remove stale routes.")


def start_test_sandbox(home: Path, nodes: int = 2, managers: int = 1):
    """A sandbox of its own for tests: a per-run name and subnet, its state in ``/tmp/carina-t-*``
    (swept when its pytest process is gone), its bundle and ``clusters.toml`` under ``home``
    (``state.bundle_dir``, ``state.config_file``). Raises EngineError."""
    from carina_tui.sandbox import cluster

    sweep_stale_engines()
    folder = Path(tempfile.mkdtemp(prefix=TEST_DIR_PREFIX, dir="/tmp"))
    (folder / OWNER_FILE).write_text(f"{os.getpid()}\n")
    try:
        return cluster.sandbox_up(
            nodes=nodes, managers=managers, base_dir=folder / "sandbox", name=f"t{secrets.token_hex(3)}",
            subnet=_free_subnet(), carina_home=home / ".carina",
            config_file=home / "config" / "carina-tui" / "clusters.toml",
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


def stop_test_sandbox(state) -> None:
    """Take a test sandbox down (idempotent) and remove its folder."""
    from carina_tui.sandbox import cluster

    cluster.sandbox_down(state.base_dir)
    shutil.rmtree(Path(state.base_dir).parent, ignore_errors=True)


def start_private_engine() -> TestEngine:
    sweep_stale_engines()
    folder = Path(tempfile.mkdtemp(prefix=TEST_DIR_PREFIX, dir="/tmp"))
    (folder / OWNER_FILE).write_text(f"{os.getpid()}\n")
    name = f"test-{os.getpid()}-{secrets.token_hex(2)}"
    try:
        started = eng.start_engine(name, folder / "engine", address_pool="10.240.0.0/16")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return TestEngine(started.url, started)


def engine_for_session() -> TestEngine:
    """The engine for this test run (see the module docstring). Raises EngineError."""
    given = os.environ.get("CARINA_TEST_DOCKER_HOST", "").strip()
    if given:
        found = TestEngine(given)
        if not found.answers():
            raise eng.EngineError(
                f"No Docker engine answers at CARINA_TEST_DOCKER_HOST={given}: start it, or unset the "
                "variable so that the tests start a private engine."
            )
    else:
        found = start_private_engine()
    try:
        ensure_local_images(found.url)
    except BaseException:
        stop_session_engine(found)
        raise
    return found


def stop_session_engine(found: TestEngine) -> list[str]:
    """Stop a private engine (or clean a given one) and return what it left behind."""
    if found.engine is None:
        ids = found.ids(f"label={TEST_LABEL}")
        if ids:
            found.docker("rm", "--force", "--volumes", *ids, check=False)
        for net in found.docker("network", "ls", "--quiet", "--filter", f"label={TEST_LABEL}", check=False).split():
            found.docker("network", "rm", net, check=False)
        return []
    eng.stop_engine(found.engine)
    left = eng.leftovers(found.engine)
    shutil.rmtree(found.engine.base_dir.parent, ignore_errors=True)
    return left


__all__ = ["BUSYBOX_IMAGE", "CONSUL_IMAGE", "Scratch", "TEST_LABEL", "TestEngine", "engine_for_session", "in_ci"]
