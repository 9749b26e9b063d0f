"""One private Docker engine in a network namespace of its own.

Used by the test suite (one engine per test run), by ``make demo`` when no
engine answers, and by the multi-node sandbox (one engine per node).

Why it is done this way (checked on the machines we run on):

* ``ip netns exec`` remounts ``/sys`` and hides the cgroups, and dockerd then
  refuses to start. We enter the namespace with ``nsenter --net=...`` and add a
  private mount namespace with ``unshare --mount --uts --propagation slave``,
  so container mounts stay off the host; ``_nsinit.py`` drops the copies of
  other engines' mounts that unshare brings along and sets the hostname.
* Two engines in one network namespace interfere (one deletes the other's
  ``docker0``; an engine sets the FORWARD policy to DROP), so every engine
  gets a namespace of its own, and none is ever started in the host's.
* Every engine has its own data root, exec root (hence its own containerd),
  pidfile, socket, address pool and cgroup parent, and ``deprecated-key-path``
  in its ``daemon.json`` (not accepted as a flag): without it all engines share
  one key file and report the same engine ID.
* A graceful stop takes 10-13 s when containers ignore SIGTERM: the running
  containers are removed by force first (the others go with the data root),
  then dockerd gets SIGTERM, then SIGKILL after a short grace. PID 1 may reap
  slowly, so a zombie counts as gone, and stale pidfiles and the shim sockets
  of killed shims are removed.

Everything an engine owns lives under its ``base_dir``, except its network
namespace (``/run/netns/<netns>``), its cgroups (``<parent>``, under the
cgroup of the process that started it) and containerd's shim sockets
(``/run/containerd/s/<hash>``, a place containerd 1.6 does not let us move).
``stop_engine`` removes all of them and ``leftovers`` checks it did.

This module uses subprocess and the standard library only: never docker-py,
never textual.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from carina_tui.core.errors import CarinaError

NETNS_DIR = Path("/run/netns")
SHIM_SOCKET_DIR = Path("/run/containerd/s")
NSINIT = Path(__file__).with_name("_nsinit.py")
STATE_FILE = "engine.json"
DEFAULT_CLI_DIR = Path("/tmp/carina-engines")
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
# A Unix socket path must fit in 108 bytes; containerd's lives deepest.
_LONGEST_SUFFIX = len("/x/containerd/containerd.sock.ttrpc")


class EngineError(CarinaError):
    title = "Private engine"


@dataclass(frozen=True, slots=True)
class EngineTLS:
    """Server-side TLS files for an engine that listens on TCP (``--tlsverify``)."""

    ca: str
    cert: str
    key: str


@dataclass(frozen=True, slots=True)
class Engine:
    """A private engine that runs (or ran): where it lives and how to reach it."""

    name: str
    netns: str
    base_dir: Path
    pid: int
    hosts: tuple[str, ...] = ()  # extra --host addresses, e.g. tcp://10.x.y.z:2376
    cgroups: tuple[str, ...] = field(default=())  # cgroup folders its containers go to

    @property
    def socket(self) -> Path:
        return self.base_dir / "docker.sock"

    @property
    def url(self) -> str:
        """The engine's address for ``docker -H`` / ``DOCKER_HOST``."""
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> Path:
        return self.base_dir / "data"

    @property
    def exec_root(self) -> Path:
        return self.base_dir / "x"

    @property
    def pidfile(self) -> Path:
        return self.base_dir / "docker.pid"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "dockerd.log"

    @property
    def containerd_address(self) -> str:
        return str(self.exec_root / "containerd" / "containerd.sock")

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns


# --------------------------------------------------------------------------- small helpers


def clean_env() -> dict[str, str]:
    """The environment for our docker CLI calls: nothing of the user's engine choice."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOCKER_")}
    return env


def run(cmd: list[str], *, check: bool = True, input: bytes | None = None, timeout: float = 60,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command; on failure raise EngineError with the command's own words."""
    try:
        done = subprocess.run(cmd, input=input, capture_output=True, timeout=timeout,
                              env=env if env is not None else clean_env())
    except FileNotFoundError as exc:
        raise EngineError(
            f"The program {cmd[0]} is not installed: install it (apt-get install) and try again."
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise EngineError(f"`{' '.join(cmd[:5])}` did not finish within {timeout:.0f} s.") from exc
    if check and done.returncode != 0:
        said = (done.stderr or done.stdout).decode(errors="replace").strip()
        # The docker CLI ends a failure with a hint (``Run 'docker run --help' …``): the reason is above it.
        lines = [line.strip() for line in said.splitlines()
                 if line.strip() and not line.strip().startswith(("Run '", "See '"))]
        last = lines[-1] if lines else f"exit status {done.returncode}"
        raise EngineError(f"`{' '.join(cmd[:5])}` failed: {last}")
    return done


def docker(url: str, *args: str, check: bool = True, input: bytes | None = None, timeout: float = 60) -> str:
    """Run the docker CLI against one engine and return its standard output."""
    return run(["docker", "-H", url, *args], check=check, input=input, timeout=timeout).stdout.decode(
        errors="replace"
    )


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (exited, not yet reaped) counts as gone."""
    if pid <= 0:
        return False
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    end = stat.rfind(b")")
    return stat[end + 2 : end + 3] not in (b"Z", b"X")


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except OSError:
        pass  # not our child: PID 1 reaps it


def wait_gone(pids: list[int], timeout: float) -> list[int]:
    """Wait until every pid is gone; return those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.02)
        for p in alive:
            _reap(p)
        alive = [p for p in alive if pid_alive(p)]
    return alive


def _kill(pids: list[int], sig: int = signal.SIGKILL) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def read_pid(path: Path) -> int:
    try:
        return int(path.read_text().strip() or 0)
    except (OSError, ValueError):
        return 0


def ping(socket_path: Path | str, timeout: float = 1.0) -> bool:
    """True when an engine answers ``GET /_ping`` on the Unix socket ``socket_path``."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(socket_path))
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            answer = sock.recv(1024)
    except OSError:
        return False
    return answer.split(b"\r\n", 1)[0].split(b" ")[1:2] == [b"200"]


def ping_url(url: str, timeout: float = 1.0) -> bool:
    """``ping`` for a ``unix://`` URL; other schemes are asked through the docker CLI."""
    if url.startswith("unix://"):
        return ping(url[len("unix://") :], timeout)
    return run(["docker", "-H", url, "version", "--format", "{{.Server.Version}}"],
               check=False, timeout=max(timeout, 5)).returncode == 0


# --------------------------------------------------------------------------- namespaces


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def netns_add(name: str) -> None:
    """Create a network namespace (with loopback up) unless it exists."""
    if not netns_exists(name):
        run(["ip", "netns", "add", name])
    run(["ip", "-n", name, "link", "set", "lo", "up"])


def _ns_inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return 0


def netns_pids(name: str) -> list[int]:
    """Every process whose network namespace is ``name`` (what `ip netns pids` prints)."""
    inode = _ns_inode(str(NETNS_DIR / name))
    if not inode:
        return []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _ns_inode(f"/proc/{entry}/ns/net") == inode and pid_alive(int(entry)):
            found.append(int(entry))
    return found


def netns_del(name: str) -> None:
    if netns_exists(name):
        run(["ip", "netns", "del", name], check=False)
    if netns_exists(name):  # `ip netns del` leaves the file when the unmount failed
        subprocess.run(["umount", "-l", str(NETNS_DIR / name)], capture_output=True)
        (NETNS_DIR / name).unlink(missing_ok=True)


# --------------------------------------------------------------------------- cgroups


def _cgroup_mounts() -> dict[frozenset[str], str]:
    """Each mounted cgroup hierarchy, keyed by its controllers (``{""}`` for cgroup2)."""
    mounts: dict[frozenset[str], str] = {}
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            left, _, right = line.partition(" - ")
            parts = right.split()
            if len(parts) < 3 or parts[0] not in ("cgroup", "cgroup2"):
                continue
            point = left.split()[4]
            if parts[0] == "cgroup2":
                mounts.setdefault(frozenset({""}), point)
            else:
                opts = {o for o in parts[2].split(",") if o not in ("rw", "ro") and "=" not in o or o.startswith("name=")}
                mounts.setdefault(frozenset(opts), point)
    return mounts


def _cgroup_dirs_for(pid: int, parent: str) -> tuple[str, ...]:
    """Where a relative cgroup parent of the process ``pid`` lives, in every hierarchy."""
    mounts = _cgroup_mounts()
    found = []
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return ()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        key = frozenset(controllers.split(",")) if controllers else frozenset({""})
        point = next((m for k, m in mounts.items() if key <= k), None)
        if point:
            found.append(os.path.join(point, path.lstrip("/"), parent))
    return tuple(sorted(set(found)))


def _cgroup_pids(folders: tuple[str, ...]) -> list[int]:
    pids: set[int] = set()
    for top in folders:
        for dirpath, _dirs, files in os.walk(top):
            if "cgroup.procs" in files:
                try:
                    pids.update(int(p) for p in Path(dirpath, "cgroup.procs").read_text().split())
                except (OSError, ValueError):
                    pass
    return sorted(p for p in pids if pid_alive(p))


def _remove_cgroups(folders: tuple[str, ...]) -> None:
    for top in folders:
        for dirpath, _dirs, _files in sorted(os.walk(top), key=lambda t: len(t[0]), reverse=True):
            try:
                os.rmdir(dirpath)
            except OSError:
                pass


# --------------------------------------------------------------------------- mounts


def mounts_under(*dirs: Path) -> list[str]:
    """Mount points (in our mount namespace) at or under any of ``dirs``."""
    prefixes = tuple(str(d).rstrip("/") + "/" for d in dirs)
    exact = {str(d).rstrip("/") for d in dirs}
    found = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4].replace("\\040", " ")
            if point in exact or point.startswith(prefixes):
                found.append(point)
    return found


# --------------------------------------------------------------------------- engine


def _state_path(base_dir: Path) -> Path:
    return Path(base_dir) / STATE_FILE


def _save(engine: Engine) -> None:
    data = asdict(engine)
    data["base_dir"] = str(engine.base_dir)
    _state_path(engine.base_dir).write_text(json.dumps(data, indent=2) + "\n")


def load_engine(base_dir: Path) -> Engine | None:
    """The engine recorded in ``base_dir`` (running or not), or None."""
    try:
        data = json.loads(_state_path(base_dir).read_text())
        return Engine(
            name=data["name"], netns=data["netns"], base_dir=Path(data["base_dir"]), pid=int(data["pid"]),
            hosts=tuple(data.get("hosts", ())), cgroups=tuple(data.get("cgroups", ())),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def is_running(engine: Engine) -> bool:
    return pid_alive(engine.pid) and ping(engine.socket)


def default_netns(name: str) -> str:
    return f"carina-{name}"


def default_address_pool(name: str) -> str:
    """A /16 in 10.128.0.0/10 picked from the name: engines live in separate namespaces,
    so pools may repeat, but distinct ones keep `docker network inspect` readable."""
    return f"10.{128 + int(hashlib.sha256(name.encode()).hexdigest(), 16) % 64}.0.0/16"


def _daemon_json(engine: Engine, address_pool: str, options: dict | None) -> dict:
    config: dict[str, object] = {
        "deprecated-key-path": str(engine.base_dir / "key.json"),
        "cgroup-parent": f"carina-{engine.name}",
        # cgroupfs always: with systemd's driver a parent must be a slice, and ours is a folder
        "exec-opts": ["native.cgroupdriver=cgroupfs"],
        "default-address-pools": [{"base": address_pool, "size": 24}],
        "log-level": "warn",
    }
    config.update(options or {})
    return config


def _command(engine: Engine, hostname: str, tls: EngineTLS | None, debug: bool) -> list[str]:
    cmd = [
        "nsenter", f"--net={engine.netns_path}", "--",
        "unshare", "--mount", "--uts", "--propagation", "slave", "--",
        sys.executable, "-S", str(NSINIT), hostname, str(engine.base_dir), "--",
        "dockerd",
        "--config-file", str(engine.base_dir / "daemon.json"),
        "--data-root", str(engine.data_root),
        "--exec-root", str(engine.exec_root),
        "--pidfile", str(engine.pidfile),
        "--host", engine.url,
    ]
    for host in engine.hosts:
        cmd += ["--host", host]
    if tls is not None:
        cmd += ["--tlsverify", "--tlscacert", tls.ca, "--tlscert", tls.cert, "--tlskey", tls.key]
    if debug:
        cmd += ["--debug"]
    return cmd


def _check_can_start(name: str, base_dir: Path) -> None:
    if not NAME_RE.match(name):
        raise EngineError(
            f'The engine name "{name}" is not usable: use up to 40 lower-case letters, digits, "-" or "_", '
            "starting with a letter or digit."
        )
    if os.geteuid() != 0:
        raise EngineError("Starting a private Docker engine needs root: run this as root.")
    if sys.platform != "linux":
        raise EngineError("Private Docker engines need Linux network namespaces: run this on Linux.")
    for program, package in (("dockerd", "docker.io"), ("docker", "docker.io"), ("nsenter", "util-linux"),
                             ("unshare", "util-linux"), ("ip", "iproute2")):
        if not shutil.which(program):
            raise EngineError(f"{program} is not installed: run `apt-get install {package}` and try again.")
    if len(str(base_dir)) + _LONGEST_SUFFIX >= 104:
        raise EngineError(
            f"The folder {base_dir} is too long a path for the engine's sockets: use a shorter one "
            "(at most about 65 characters), for example under /tmp."
        )


def _clear_stale(engine: Engine) -> None:
    """Remove what a killed engine left (pidfiles, socket) so that dockerd starts again. The
    containerd a killed dockerd left running is stopped too: a new dockerd that reused it timed out
    waiting for it under load ("failed to start containerd: timeout waiting for containerd to
    start"); its containers' shims run on and the new containerd finds them."""
    containerd = engine.exec_root / "containerd" / "containerd.pid"
    left = read_pid(containerd)  # 0 when there is no pidfile
    if pid_alive(left) and not pid_alive(read_pid(engine.pidfile)):
        _kill([left])
        wait_gone([left], 10)
    for pidfile in (engine.pidfile, containerd):
        if pidfile.exists() and not pid_alive(read_pid(pidfile)):
            pidfile.unlink(missing_ok=True)
    if engine.socket.exists() and not pid_alive(read_pid(engine.pidfile)):
        engine.socket.unlink(missing_ok=True)


_children: dict[int, subprocess.Popen] = {}


def start_engine(
    name: str,
    base_dir: Path | str,
    *,
    address_pool: str | None = None,
    extra_hosts: list[str] | tuple[str, ...] = (),
    daemon_options: dict | None = None,
    netns: str | None = None,
    hostname: str | None = None,
    tls: EngineTLS | None = None,
    timeout: float = 40.0,
    debug: bool = False,
) -> Engine:
    """Start a private dockerd in network namespace ``netns`` and wait until it answers.

    Everything lives under ``base_dir`` (socket ``docker.sock``, data, exec root,
    pidfile, log, daemon.json). ``netns`` defaults to ``carina-<name>`` and is
    created when missing (the sandbox creates and wires its own first).
    ``extra_hosts`` are more ``--host`` addresses (``tcp://ADDR:2376``), served
    with ``tls`` when given. Idempotent: an engine already answering there is
    returned as it is. Raises EngineError with dockerd's own words on failure.
    """
    base_dir = Path(base_dir).absolute()
    _check_can_start(name, base_dir)
    netns = netns or default_netns(name)
    known = load_engine(base_dir)
    if known is not None and is_running(known):
        if known.netns != netns:
            raise EngineError(
                f"An engine already runs in {base_dir} in namespace {known.netns}: stop it first "
                f"(python -m carina_tui.sandbox.engine stop {known.name} --dir {base_dir})."
            )
        return known
    if known is not None and pid_alive(known.pid):
        raise EngineError(
            f"The engine {known.name} (pid {known.pid}) runs but does not answer on {known.socket}: "
            f"stop it (python -m carina_tui.sandbox.engine stop {known.name} --dir {base_dir}) and start it again."
        )
    # A crashed engine restarts on its data (_clear_stale stops the containerd it left).
    base_dir.mkdir(parents=True, exist_ok=True)
    engine = Engine(name=name, netns=netns, base_dir=base_dir, pid=0, hosts=tuple(extra_hosts))
    _clear_stale(engine)
    (base_dir / "daemon.json").write_text(
        json.dumps(_daemon_json(engine, address_pool or default_address_pool(name), daemon_options), indent=2)
        + "\n"
    )
    netns_add(netns)
    with open(engine.log_file, "ab") as log:
        proc = subprocess.Popen(
            _command(engine, hostname or name, tls, debug), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True, close_fds=True, env=clean_env(),
        )
    _children[proc.pid] = proc
    engine = Engine(name=name, netns=netns, base_dir=base_dir, pid=proc.pid, hosts=tuple(extra_hosts),
                    cgroups=_cgroup_dirs_for(os.getpid(), f"carina-{name}"))
    _save(engine)
    if not _wait_ping(engine, timeout, proc):
        sentence = _failure_sentence(engine, "did not start")
        stop_engine(engine, keep_log=True)
        raise EngineError(sentence)
    return engine


def _wait_ping(engine: Engine, timeout: float, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(engine.socket, timeout=0.5):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.03)
    return False


def _failure_sentence(engine: Engine, what: str) -> str:
    last = ""
    try:
        lines = [ln for ln in engine.log_file.read_text(errors="replace").splitlines() if ln.strip()]
        bad = [ln for ln in lines if "level=error" in ln or "level=fatal" in ln or "failed" in ln.lower()]
        last = (bad or lines or [""])[-1]
    except OSError:
        pass
    detail = f' It said: "{last.strip()[-300:]}".' if last else ""
    return f"The private Docker engine {engine.name} {what}.{detail} Its log is {engine.log_file}."


def container_ids(engine: Engine) -> list[str]:
    """Ids of every container the engine holds: from its data root, so it works when it is down."""
    folder = engine.data_root / "containers"
    try:
        return sorted(p.name for p in folder.iterdir() if len(p.name) == 64)
    except OSError:
        return []


def shim_socket(engine: Engine, container_id: str, namespace: str = "moby") -> Path:
    """Where containerd 1.6 puts one container's shim socket: a hash of address, namespace and id."""
    digest = hashlib.sha256(os.path.join(engine.containerd_address, namespace, container_id).encode()).hexdigest()
    return SHIM_SOCKET_DIR / digest


def kill_engine(engine: Engine) -> None:
    """SIGKILL dockerd alone, as a crash would: containerd and containers stay.

    For tests of an engine that goes away; ``start_engine`` brings it back.
    """
    if pid_alive(engine.pid):
        _kill([engine.pid])
        wait_gone([engine.pid], 10)


def _engine_pids(engine: Engine) -> list[int]:
    """Every process of the engine: in its network namespace or in its containers' cgroups."""
    pids = set(netns_pids(engine.netns)) | set(_cgroup_pids(engine.cgroups))
    pids.discard(os.getpid())
    return sorted(pids)


def stop_engine(engine: Engine, *, grace: float = 2.0, keep_log: bool = False) -> None:
    """Stop the engine and remove everything it made; idempotent.

    Its running containers are removed by force first (busybox ignores SIGTERM;
    swarm waits its stop grace), then dockerd gets SIGTERM, then SIGKILL after
    ``grace`` seconds. Whatever is left of it (containerd, shims, container
    processes) is killed; its cgroups, shim sockets, namespace and folder are
    removed, and with the folder every container that was not running.
    """
    ids = container_ids(engine)
    if ids and pid_alive(engine.pid) and ping(engine.socket, timeout=0.5):
        _remove_running(engine)
    if pid_alive(engine.pid):
        _kill([engine.pid], signal.SIGTERM)
        if wait_gone([engine.pid], grace):
            _kill([engine.pid])
            wait_gone([engine.pid], 5)
    for _ in range(5):
        pids = _engine_pids(engine)
        if not pids:
            break
        _kill(pids)
        wait_gone(pids, 5)
    _children.pop(engine.pid, None)
    for cid in ids:
        shim_socket(engine, cid).unlink(missing_ok=True)
    for point in sorted(mounts_under(engine.base_dir), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True)
    _remove_cgroups(engine.cgroups)
    netns_del(engine.netns)
    if keep_log:
        for child in engine.base_dir.iterdir() if engine.base_dir.is_dir() else ():
            if child.name not in ("dockerd.log",):
                shutil.rmtree(child, ignore_errors=True) if child.is_dir() else child.unlink(missing_ok=True)
        return
    shutil.rmtree(engine.base_dir, ignore_errors=True)


def _remove_running(engine: Engine) -> None:
    """Remove the running containers by force, so that dockerd stops at once. Only those: an
    engine holding 20,000 containers did not remove them all within the 30 s given, and the stop
    gave up there, leaving the engine running. Best effort: an engine that does not answer in
    time is killed below, with every process it started."""
    try:
        running = docker(engine.url, "ps", "--quiet", "--no-trunc", timeout=30).split()
        if running:
            docker(engine.url, "rm", "--force", "--volumes", *running, check=False, timeout=30)
    except EngineError:
        pass


def leftovers(engine: Engine) -> list[str]:
    """What the engine left on the machine, one phrase each; empty when it is all gone."""
    found: list[str] = []
    pids = _engine_pids(engine)
    if pids:
        found.append(f"processes {pids}")
    if pid_alive(engine.pid):
        found.append(f"dockerd (pid {engine.pid})")
    if netns_exists(engine.netns):
        found.append(f"network namespace {engine.netns}")
    found += [f"mount {p}" for p in mounts_under(engine.base_dir)]
    found += [f"cgroup {c}" for c in engine.cgroups if os.path.isdir(c)]
    found += [f"shim socket {s}" for s in (shim_socket(engine, c) for c in container_ids(engine)) if s.exists()]
    if engine.base_dir.exists():
        found.append(f"folder {engine.base_dir}")
    return found


# --------------------------------------------------------------------------- images


def ensure_busybox_image(url: str, tag: str = "busybox:latest", *, labels: dict[str, str] | None = None) -> bool:
    """Make ``tag`` on the engine at ``url`` by ``docker import`` of a busybox folder, unless it is
    there already. True when it was imported. See ``carina_tui.sandbox.images``."""
    from carina_tui.sandbox.images import ensure_image

    return ensure_image(url, tag, labels=labels)


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m carina_tui.sandbox.engine",
        description="Start or stop a private Docker engine in a network namespace of its own.",
    )
    sub = parser.add_subparsers(dest="action", required=True)
    for action in ("start", "stop", "status"):
        p = sub.add_parser(action)
        p.add_argument("name", help="engine name (lower-case letters, digits, -)")
        p.add_argument("--dir", type=Path, help=f"the engine's folder (default {DEFAULT_CLI_DIR}/NAME)")
        if action == "start":
            p.add_argument("--no-image", action="store_true", help="do not import the busybox image")
    args = parser.parse_args(argv)
    base_dir = args.dir or DEFAULT_CLI_DIR / args.name
    try:
        if args.action == "start":
            engine = start_engine(args.name, base_dir)
            if not args.no_image:
                ensure_busybox_image(engine.url)
            print(engine.url)
            return 0
        engine = load_engine(base_dir)
        if args.action == "status":
            running = engine is not None and is_running(engine)
            print(f"{engine.url} running" if running and engine else f"{args.name}: not running")
            return 0 if running else 1
        if engine is None:
            print(f"{args.name}: no engine recorded in {base_dir}; nothing to stop.", file=sys.stderr)
            return 0
        stop_engine(engine)
        if args.dir is None:
            try:
                DEFAULT_CLI_DIR.rmdir()  # only when no other engine lives there
            except OSError:
                pass
        left = leftovers(engine)
        if left:
            print(f"The engine {args.name} left behind: {'; '.join(left)}.", file=sys.stderr)
            return 1
        return 0
    except CarinaError as err:
        print(str(err), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
