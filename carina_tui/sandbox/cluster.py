"""``carina-tui sandbox``: a real multi-node Carina-like cluster on one machine.

What ``sandbox_up`` builds (root, Linux):

* a bridge ``br0`` in a network namespace of its own (``carina-<name>-br``), and a
  private /24 (``subnet``, default 10.213.7.0/24) that the sandbox owns;
* one network namespace per node (``carina-<name>-n<i>``), joined to the bridge by
  a veth pair (``eth0`` in the node, ``n<i>`` on the bridge), address ``.1<i>``;
* a veth from the host's namespace into the bridge (host side ``crn<tag>``,
  address ``.1``): the only change to the host's network, so that carina-tui and
  the docker CLI reach the nodes' TCP endpoints. Nothing routes beyond the subnet;
* one dockerd per node (``carina_tui.sandbox.engine``), on a Unix socket and on
  ``tcp://<node>:2376`` with TLS from a CA made for the sandbox;
* a swarm: node 1 manager, ``managers`` managers in all, the others workers;
* on every node: the busybox image and a local ``carina/consul`` image, and a
  protected ``carina-svcd`` agent container (label ``carina.protected=true``,
  host network); the Consul HTTP API at ``http://<node>:8500`` is answered by the
  Consul test double (``carina_tui.sandbox.consul_agent``), run in the node's
  namespace (``consul="httpd"`` serves a few static answers from the agent
  container instead);
* an attachable overlay network ``mynet``; Carina's ``mysql`` (unpublished,
  ``MYSQL_ROOT_PASSWORD``) on node 1 and ``wordpress`` (``8080->80``,
  ``WORDPRESS_DB_HOST=mysql``) on node 2, busybox stand-ins; a few exited containers;
* a Carina credentials bundle in ``$CARINA_HOME`` (or ``~/.carina``)
  ``/clusters/<user>/<name>/`` (``docker.env``, ``ca.pem``, ``cert.pem``,
  ``key.pem``) and ``[clusters.<name>]`` in carina-tui's ``clusters.toml``.

``sandbox_down`` removes all of it and checks that nothing is left (processes,
namespaces, links, mounts, cgroups, sockets, folders, the bundle, the entry).
Both are idempotent. State lives in ``<base_dir>/state.json``.
"""

from __future__ import annotations

import getpass
import hashlib
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from carina_tui.sandbox import engine as eng
from carina_tui.sandbox import tls
from carina_tui.sandbox.engine import EngineError, docker, run
from carina_tui.sandbox.images import BUSYBOX_IMAGE, CONSUL_IMAGE, load_images

DEFAULT_NAME = "sandbox"
DEFAULT_BASE = Path(os.environ.get("CARINA_SANDBOX_DIR", "/var/lib/carina-sandbox"))
DEFAULT_SUBNET = "10.213.7.0/24"
SWARM_POOL = "10.200.0.0/16"
MAX_NODES = 5
DOCKER_PORT = 2376
CONSUL_PORT = 8500
STATE_FILE = "state.json"
BRIDGE = "br0"
PROTECTED_LABEL = "carina.protected=true"
SANDBOX_LABEL = "carina.sandbox"
AGENT = "carina-svcd"


class SandboxError(EngineError):
    title = "Sandbox"


@dataclass(frozen=True)
class NodeState:
    index: int
    name: str  # hostname and swarm node name, e.g. sandbox-n1
    netns: str
    address: str
    engine_dir: str
    manager: bool
    pid: int = 0
    consul_pid: int = 0

    @property
    def url(self) -> str:
        """The node's engine on its Unix socket (the sandbox's own way in)."""
        return f"unix://{self.engine_dir}/docker.sock"

    @property
    def endpoint(self) -> str:
        """The node's engine over TCP with TLS (what carina-tui and the bundle use)."""
        return f"tcp://{self.address}:{DOCKER_PORT}"

    @property
    def consul(self) -> str:
        return f"http://{self.address}:{CONSUL_PORT}"


@dataclass(frozen=True)
class SandboxState:
    name: str
    base_dir: str
    subnet: str
    host_address: str
    host_link: str
    bridge_netns: str
    nodes: tuple[NodeState, ...]
    tls_dir: str = ""
    bundle_dir: str = ""
    config_file: str = ""
    config_created: bool = False
    made_dirs: tuple[str, ...] = ()  # folders of the bundle's path that up created
    consul_mode: str = "double"
    created: float = field(default_factory=time.time)

    @property
    def endpoints(self) -> tuple[str, ...]:
        return tuple(n.endpoint for n in self.nodes)

    @property
    def consul(self) -> str:
        return self.nodes[0].consul if self.nodes else ""

    @property
    def tls_files(self) -> dict[str, str]:
        return {"ca": f"{self.bundle_dir}/ca.pem", "cert": f"{self.bundle_dir}/cert.pem",
                "key": f"{self.bundle_dir}/key.pem"}


@dataclass(frozen=True)
class NodeStatus:
    name: str
    address: str
    endpoint: str
    manager: bool
    engine: bool  # dockerd answers
    swarm: str  # the node's swarm state (active, pending, inactive, ...) or "" when unknown
    consul: bool  # the Consul API answers
    containers: int
    agent: str = ""  # the carina-svcd container's state (running, exited, ...); "missing"; "" when unknown

    @property
    def consul_text(self) -> str:
        """``ok`` only when the agent container runs and the Consul API answers; else what is wrong:
        the agent's state (``exited``, ``created``, ...), ``missing``, ``down`` (it runs, the API is
        silent) or ``unknown`` (the engine does not answer, so the agent cannot be seen)."""
        if not self.engine:
            return "unknown"
        if self.agent != "running":
            return self.agent or "unknown"
        return "ok" if self.consul else "down"


@dataclass(frozen=True)
class SandboxStatus:
    state: SandboxState | None
    nodes: tuple[NodeStatus, ...] = ()

    @property
    def up(self) -> bool:
        return self.state is not None and bool(self.nodes) and all(n.engine for n in self.nodes)


# --------------------------------------------------------------------------- state


def _state_path(base_dir: Path) -> Path:
    return base_dir / STATE_FILE


def save_state(state: SandboxState) -> None:
    data = asdict(state)
    path = _state_path(Path(state.base_dir))
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n")
    tmp.replace(path)


def load_state(base_dir: Path | str | None = None) -> SandboxState | None:
    path = _state_path(Path(base_dir or DEFAULT_BASE))
    try:
        data = json.loads(path.read_text())
        data["nodes"] = tuple(NodeState(**n) for n in data["nodes"])
        data["made_dirs"] = tuple(data.get("made_dirs", ()))
        return SandboxState(**data)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SandboxError(
            f"The sandbox state in {path} cannot be read ({exc}): remove the folder {path.parent} "
            "after stopping its engines by hand."
        ) from exc


# --------------------------------------------------------------------------- plan


def _tag(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:6]


def plan(name: str, nodes: int, managers: int, base_dir: Path, subnet: str, consul_mode: str,
         carina_home: Path | None, config_file: Path | None) -> SandboxState:
    """The sandbox to build, before anything is touched. Bad input is a SandboxError."""
    if not re.match(r"^[a-z][a-z0-9-]{0,19}$", name):
        raise SandboxError(
            f'The sandbox name "{name}" is not usable: use up to 20 lower-case letters, digits or "-", '
            "starting with a letter."
        )
    if not 1 <= nodes <= MAX_NODES:
        raise SandboxError(f"A sandbox has 1 to {MAX_NODES} nodes; {nodes} was asked for.")
    if not 1 <= managers <= nodes:
        raise SandboxError(f"A sandbox of {nodes} node(s) has 1 to {nodes} managers; {managers} was asked for.")
    if consul_mode not in ("double", "httpd"):
        raise SandboxError(f'The Consul mode "{consul_mode}" is unknown: use "double" or "httpd".')
    try:
        net = ipaddress.ip_network(subnet)
    except ValueError as exc:
        raise SandboxError(f'The subnet "{subnet}" is not an IPv4 network such as 10.213.7.0/24.') from exc
    if net.version != 4 or net.num_addresses < 32 or not net.is_private:
        raise SandboxError(f"The subnet {subnet} must be a private IPv4 network of at least 32 addresses.")
    hosts = list(net.hosts())
    base = Path(base_dir).absolute()
    node_states = tuple(
        NodeState(
            index=i,
            name=f"{name}-n{i}",
            netns=f"carina-{name}-n{i}",
            address=str(hosts[9 + i]),  # .11, .12, ... as Carina's nodes
            engine_dir=str(base / f"n{i}"),
            manager=i <= managers,
        )
        for i in range(1, nodes + 1)
    )
    home = Path(carina_home or os.environ.get("CARINA_HOME") or Path.home() / ".carina")
    if config_file is None:
        from carina_tui.core import paths

        config_file = paths.config_file()
    return SandboxState(
        name=name,
        base_dir=str(base),
        subnet=str(net),
        host_address=str(hosts[0]),
        host_link=f"crn{_tag(name)}",
        bridge_netns=f"carina-{name}-br",
        nodes=node_states,
        tls_dir=str(base / "tls"),
        bundle_dir=str(home / "clusters" / getpass.getuser() / name),
        config_file=str(config_file),
        consul_mode=consul_mode,
    )


def _check_machine(state: SandboxState) -> None:
    if sys.platform != "linux":
        raise SandboxError("The sandbox needs Linux network namespaces: run it on Linux.")
    if os.geteuid() != 0:
        raise SandboxError("The sandbox needs root (network namespaces, dockerd): run it as root.")
    tls.check_openssl()
    net = ipaddress.ip_network(state.subnet)
    routes = run(["ip", "-4", "-o", "route", "show", "table", "all"], check=False).stdout.decode()
    for line in routes.splitlines():
        words = line.split()
        if not words or words[0] in ("default", "broadcast", "local", "unreachable", "prohibit"):
            continue
        dev = words[words.index("dev") + 1] if "dev" in words else ""
        if dev == state.host_link:
            continue
        try:
            other = ipaddress.ip_network(words[0], strict=False)
        except ValueError:
            continue
        if other.overlaps(net):
            raise SandboxError(
                f"The sandbox subnet {state.subnet} overlaps {other} (on {dev or 'this machine'}): "
                "choose another with --subnet."
            )


# --------------------------------------------------------------------------- network


def _ip(*args: str, netns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    return run(["ip", *(["-n", netns] if netns else []), *args], check=check)


def _link_exists(link: str) -> bool:
    return Path("/sys/class/net", link).exists()


def build_network(state: SandboxState) -> None:
    """The bridge namespace, one namespace per node joined to it, and the host's veth."""
    prefix = ipaddress.ip_network(state.subnet).prefixlen
    eng.netns_add(state.bridge_netns)
    _ip("link", "add", BRIDGE, "type", "bridge", netns=state.bridge_netns)
    _ip("link", "set", BRIDGE, "up", netns=state.bridge_netns)
    for node in state.nodes:
        eng.netns_add(node.netns)
        port = f"n{node.index}"
        _ip("link", "add", "eth0", "netns", node.netns, "type", "veth", "peer", "name", port,
            "netns", state.bridge_netns)
        _ip("link", "set", port, "master", BRIDGE, "up", netns=state.bridge_netns)
        _ip("addr", "add", f"{node.address}/{prefix}", "dev", "eth0", netns=node.netns)
        _ip("link", "set", "eth0", "up", netns=node.netns)
    _ip("link", "add", state.host_link, "type", "veth", "peer", "name", "host", "netns", state.bridge_netns)
    _ip("link", "set", "host", "master", BRIDGE, "up", netns=state.bridge_netns)
    _ip("addr", "add", f"{state.host_address}/{prefix}", "dev", state.host_link)
    _ip("link", "set", state.host_link, "up")


def remove_network(state: SandboxState) -> None:
    if _link_exists(state.host_link):
        _ip("link", "del", state.host_link, check=False)
    for node in state.nodes:
        eng.netns_del(node.netns)
    eng.netns_del(state.bridge_netns)


# --------------------------------------------------------------------------- pieces


def _parallel(fn, items) -> list:
    items = list(items)
    if len(items) <= 1:
        return [fn(i) for i in items]
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(fn, items))


def make_tls(state: SandboxState) -> None:
    folder = Path(state.tls_dir)
    tls.make_ca(folder)

    def one(node: NodeState) -> None:
        tls.make_cert(folder, f"{node.name}-", node.name, server_ips=(node.address, "127.0.0.1"),
                      server_names=(node.name, "localhost"))

    _parallel(one, state.nodes)
    tls.make_cert(folder, "client-", "carina-tui")


def start_engine_of(state: SandboxState, node: NodeState) -> NodeState:
    """The node's dockerd (Unix socket, and TCP with TLS) with the local images loaded."""
    folder = Path(state.tls_dir)
    started = eng.start_engine(
        node.name,
        node.engine_dir,
        address_pool=f"10.{160 + node.index}.0.0/16",
        extra_hosts=[node.endpoint],
        netns=node.netns,
        hostname=node.name,
        tls=eng.EngineTLS(ca=str(folder / "ca.pem"), cert=str(folder / f"{node.name}-cert.pem"),
                          key=str(folder / f"{node.name}-key.pem")),
        daemon_options={"labels": [f"{SANDBOX_LABEL}={state.name}", f"carina.node={node.name}"]},
    )
    load_images(started.url)
    return replace(node, pid=started.pid)


def _consul_files(node: NodeState, state: SandboxState) -> str:
    """A shell line writing a few static Consul answers for busybox httpd (``consul="httpd"``)."""
    members = [{"Name": n.name, "Addr": n.address, "Port": 8301, "Status": 1,
                "Tags": {"role": "consul", "dc": "dc1", "port": "8300"}} for n in state.nodes]
    files = {
        "v1/status/leader": json.dumps(f"{state.nodes[0].address}:8300"),
        "v1/status/peers": json.dumps([f"{n.address}:8300" for n in state.nodes]),
        "v1/agent/members": json.dumps(members),
        "v1/agent/self": json.dumps({"Config": {"NodeName": node.name, "Datacenter": "dc1", "Server": True,
                                                "Version": "0.6.4"},
                                     "Member": members[node.index - 1]}),
    }
    return " && ".join(
        f"mkdir -p /www/{os.path.dirname(path)} && printf '%s' '{body}' > /www/{path}" for path, body in files.items()
    )


def start_consul_double(state: SandboxState, node: NodeState) -> NodeState:
    """The Consul test double for ``node``, in the node's namespace on ``<address>:8500``."""
    members = ",".join(f"{n.name}={n.address}" for n in state.nodes)
    Path(node.engine_dir).mkdir(parents=True, exist_ok=True)
    with open(Path(node.engine_dir).parent / f"consul-{node.name}.log", "ab") as log:
        proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{node.netns}", "--", sys.executable, "-m",
             "carina_tui.sandbox.consul_agent", "--bind", node.address, "--port", str(CONSUL_PORT),
             "--node", node.name, "--members", members],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True, close_fds=True,
            env=eng.clean_env() | {"PYTHONPATH": _package_root()},
        )
    eng._children[proc.pid] = proc
    return replace(node, consul_pid=proc.pid)


def run_agent(state: SandboxState, node: NodeState) -> None:
    """The protected ``carina-svcd`` container, on the node's own network (host mode)."""
    if state.consul_mode == "httpd":
        command = ["sh", "-c", f"{_consul_files(node, state)} && exec httpd -f -p {CONSUL_PORT} -h /www"]
    else:
        command = ["sleep", "2147483647"]  # the API is the double's, in the same namespace
    docker(node.url, "run", "--detach", "--name", AGENT, "--network", "host",
           "--restart", "unless-stopped", "--label", PROTECTED_LABEL,
           "--label", "carina.role=consul-agent", "--label", f"{SANDBOX_LABEL}={state.name}",
           CONSUL_IMAGE, *command)


def run_exited(state: SandboxState, node: NodeState) -> None:
    """A few exited containers: a finished setup job on node 1, a failed backup on node 2."""
    last = min(2, len(state.nodes))
    jobs = {1: [("wp-setup", 0)], last: [("db-backup", 1)]} if last > 1 else {1: [("wp-setup", 0), ("db-backup", 1)]}
    for cname, code in jobs.get(node.index, []):
        docker(node.url, "run", "--detach", "--name", cname, "--label", f"{SANDBOX_LABEL}={state.name}",
               BUSYBOX_IMAGE, "sh", "-c", f"exit {code}")


ATTACH_TRIES = 3


def _run_on_mynet(url: str, name: str, *args: str, timeout: float) -> None:
    """``docker run --detach --name NAME --network mynet …``; tried again when the engine could not
    attach the container to the overlay in time. A node that has just joined the swarm asks the
    manager for the attachment, and under load that request can time out ("attaching to network
    failed ... context deadline exceeded"). The container it made is removed before the next try."""
    for attempt in range(1, ATTACH_TRIES + 1):
        try:
            docker(url, "run", "--detach", "--name", name, "--network", "mynet", *args, timeout=timeout)
            return
        except EngineError as err:
            if "attaching to network failed" not in str(err) or attempt == ATTACH_TRIES:
                raise
            docker(url, "rm", "--force", name, check=False)
            time.sleep(2.0 * attempt)


def run_mysql(state: SandboxState, node: NodeState) -> None:
    _run_on_mynet(node.url, "mysql",
                  "--label", f"{SANDBOX_LABEL}={state.name}",
                  "--env", "MYSQL_ROOT_PASSWORD=sandbox", "--env", "MYSQL_DATABASE=wordpress",
                  BUSYBOX_IMAGE, "sh", "-c", "echo 'mysql stand-in' > /www/index.html && exec httpd -f -p 3306 -h /www",
                  timeout=90)


def run_wordpress(state: SandboxState, node: NodeState) -> None:
    _run_on_mynet(node.url, "wordpress",
                  "--label", f"{SANDBOX_LABEL}={state.name}",
                  "--env", "WORDPRESS_DB_HOST=mysql", "--env", "WORDPRESS_DB_PASSWORD=sandbox",
                  "--publish", "8080:80", BUSYBOX_IMAGE, "sh", "-c",
                  "echo '<html><body><h1>WordPress (carina-tui sandbox stand-in)</h1></body></html>'"
                  " > /www/index.html && exec httpd -f -p 80 -h /www", timeout=90)


class _Build:
    """One pipeline per node, in threads: engine and images, agent, exited jobs, swarm, workloads.

    Node 1 makes the swarm and ``mynet`` as soon as its engine answers; the others join
    when their engines answer (managers one at a time); nobody waits for the slowest.
    """

    def __init__(self, state: SandboxState) -> None:
        import threading

        self.state = state
        self.swarm_ready = threading.Event()
        self.mynet_ready = threading.Event()
        self.failed = threading.Event()
        self.join_lock = threading.Lock()
        self.tokens: dict[str, str] = {}

    def _wait(self, event) -> None:
        while not event.wait(0.05):
            if self.failed.is_set():
                raise SandboxError("Another node of the sandbox failed; see the first error.")

    def node(self, node: NodeState) -> NodeState:
        try:
            return self._node(node)
        except BaseException:
            self.failed.set()
            raise

    def _node(self, node: NodeState) -> NodeState:
        state = self.state
        first = state.nodes[0]
        wordpress_node = state.nodes[1] if len(state.nodes) > 1 else first
        node = start_engine_of(state, node)
        with ThreadPoolExecutor(max_workers=1) as side:  # local containers, beside the swarm work
            local = side.submit(lambda: (run_agent(state, node), run_exited(state, node)))
            self._swarm_part(node, first, wordpress_node)
            local.result()
        return node

    def _swarm_part(self, node: NodeState, first: NodeState, wordpress_node: NodeState) -> None:
        state = self.state
        if node.index == 1:
            docker(node.url, "swarm", "init", "--advertise-addr", node.address,
                   "--listen-addr", f"{node.address}:2377", "--default-addr-pool", SWARM_POOL,
                   "--task-history-limit", "1", timeout=60)
            self.tokens.update({role: docker(node.url, "swarm", "join-token", "--quiet", role).strip()
                                for role in ("manager", "worker")})
            self.swarm_ready.set()
            docker(node.url, "network", "create", "--driver", "overlay", "--attachable",
                   "--label", f"{SANDBOX_LABEL}={state.name}", "mynet")
            self.mynet_ready.set()
            run_mysql(state, node)
        else:
            self._wait(self.swarm_ready)
            join = ["swarm", "join", "--token", self.tokens["manager" if node.manager else "worker"],
                    "--advertise-addr", node.address, "--listen-addr", f"{node.address}:2377",
                    f"{first.address}:2377"]
            if node.manager:
                with self.join_lock:  # each manager changes the Raft membership: one at a time
                    docker(node.url, *join, timeout=60)
            else:
                docker(node.url, *join, timeout=60)
        if node.index == wordpress_node.index:
            self._wait(self.mynet_ready)
            run_wordpress(state, node)


def _parallel_calls(*calls) -> list:
    return _parallel(lambda f: f(), calls)


def _package_root() -> str:
    """Where this package lives, for the double's ``python -m`` (the caller may run from anywhere)."""
    root = str(Path(__file__).resolve().parents[2])
    old = os.environ.get("PYTHONPATH", "")
    return f"{root}:{old}" if old else root


def wait_consul(state: SandboxState, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    for node in state.nodes:
        while not _consul_answers(node, timeout=1):
            if time.monotonic() > deadline:
                raise SandboxError(
                    f"The Consul API of {node.name} does not answer at {node.consul}; "
                    f"see {Path(node.engine_dir).parent / f'consul-{node.name}.log'}."
                )
            time.sleep(0.05)


def _consul_answers(node: NodeState, timeout: float) -> bool:
    try:
        with _no_proxy().open(f"{node.consul}/v1/status/leader", timeout=timeout) as answer:
            return answer.status == 200
    except OSError:
        return False


def _no_proxy():
    """urllib without the machine's proxy settings: the nodes are on our own subnet."""
    import urllib.request

    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --------------------------------------------------------------------------- bundle and config


def _missing_ancestors(folder: Path) -> tuple[str, ...]:
    """``folder`` and those of its parents that do not exist yet, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(str(folder))
        folder = folder.parent
    return tuple(missing)


def write_bundle(state: SandboxState) -> None:
    """The Carina credentials bundle: docker.env, ca.pem, cert.pem, key.pem."""
    folder = Path(state.bundle_dir)
    folder.mkdir(parents=True, exist_ok=True)
    tls_dir = Path(state.tls_dir)
    for source, target in (("ca.pem", "ca.pem"), ("client-cert.pem", "cert.pem"), ("client-key.pem", "key.pem")):
        shutil.copyfile(tls_dir / source, folder / target)
    os.chmod(folder / "key.pem", 0o600)
    (folder / "docker.env").write_text(
        "# Carina credentials for the carina-tui sandbox (removed by `carina-tui sandbox down`)\n"
        f"export DOCKER_HOST={state.nodes[0].endpoint}\n"
        "export DOCKER_TLS_VERIFY=1\n"
        f"export DOCKER_CERT_PATH={folder}\n"
        f"export CARINA_CLUSTER_NAME={state.name}\n"
    )


def _section_pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"^\[clusters\.(?:{re.escape(name)}|\"{re.escape(name)}\")\]\s*$")


def _without_section(text: str, name: str) -> str:
    """``text`` without the ``[clusters.<name>]`` table (up to the next table header)."""
    out, skipping = [], False
    header = _section_pattern(name)
    for line in text.splitlines(keepends=True):
        stripped = line.strip()
        if header.match(stripped):
            skipping = True
            # drop our marker comment right above it
            while out and out[-1].startswith("# carina-tui sandbox"):
                out.pop()
            continue
        if skipping and stripped.startswith("[") and not stripped.startswith(f"[clusters.{name}."):
            skipping = False
        if not skipping:
            out.append(line)
    return "".join(out)


def _toml_str(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string for these paths


def write_config_entry(state: SandboxState) -> bool:
    """Add (or replace) ``[clusters.<name>]`` in clusters.toml. True when the file was created."""
    path = Path(state.config_file)
    created = not path.exists()
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "" if created else _without_section(path.read_text(), state.name)
    if text and not text.endswith("\n"):
        text += "\n"
    files = state.tls_files
    endpoints = ", ".join(_toml_str(e) for e in state.endpoints)
    text += (
        ("\n" if text.strip() else "")
        + "# carina-tui sandbox: written by `carina-tui sandbox up`, removed by `carina-tui sandbox down`\n"
        f"[clusters.{state.name}]\n"
        f"endpoints = [{endpoints}]\n"
        f"tls_ca = {_toml_str(files['ca'])}\n"
        f"tls_cert = {_toml_str(files['cert'])}\n"
        f"tls_key = {_toml_str(files['key'])}\n"
        f"consul = {_toml_str(state.consul)}\n"
    )
    path.write_text(text)
    return created


def remove_config_entry(state: SandboxState) -> None:
    path = Path(state.config_file)
    try:
        text = path.read_text()
    except FileNotFoundError:
        return
    rest = _without_section(text, state.name)
    if state.config_created and not rest.strip():
        path.unlink()
    elif rest != text:
        path.write_text(rest.rstrip("\n") + "\n" if rest.strip() else "")


# --------------------------------------------------------------------------- up, status, down


def sandbox_up(nodes: int = 2, managers: int = 1, base_dir: Path | str | None = None, *,
               name: str = DEFAULT_NAME, subnet: str = DEFAULT_SUBNET, consul: str = "double",
               carina_home: Path | None = None, config_file: Path | None = None,
               progress=None) -> SandboxState:
    """Build the sandbox (see the module docstring) and return its state. Idempotent: a sandbox
    that is up is returned as it is; a half-built or broken one is removed and built again."""
    say = progress or (lambda _text: None)
    base = Path(base_dir or DEFAULT_BASE).absolute()
    known = load_state(base)
    if known is not None:
        if len(known.nodes) != nodes or sum(n.manager for n in known.nodes) != managers:
            raise SandboxError(
                f"A sandbox with {len(known.nodes)} node(s) is already up in {base}: "
                "run `carina-tui sandbox down` first to build another."
            )
        if sandbox_status(base).up:
            return known
        say("The sandbox is broken; removing it first.")
        sandbox_down(base)
    state = plan(name, nodes, managers, base, subnet, consul, carina_home, config_file)
    _check_machine(state)
    for node in state.nodes:
        if eng.netns_exists(node.netns):
            if eng.netns_pids(node.netns):
                raise SandboxError(
                    f"The network namespace {node.netns} is in use: a sandbox named {name} is up with its state "
                    f"in another folder than {base} (`carina-tui sandbox status --dir PATH` shows it). Give this "
                    "one another name (--name) or take that one down with `carina-tui sandbox down --dir PATH`."
                )
            raise SandboxError(
                f"The network namespace {node.netns} exists, with nothing running in it and no sandbox state "
                f"in {base}: remove it (ip netns del {node.netns}) or give this sandbox another name (--name)."
            )
    base.mkdir(parents=True, exist_ok=True)
    save_state(state)  # from here on, `down` knows what to remove
    try:
        say("network and certificates")
        _parallel_calls(lambda: build_network(state), lambda: make_tls(state))
        if state.consul_mode == "double":
            state = replace(state, nodes=tuple(start_consul_double(state, n) for n in state.nodes))
        save_state(state)
        say("engines, swarm, agents and workloads")
        build = _Build(state)
        nodes_now = _parallel(build.node, state.nodes)
        state = replace(state, nodes=tuple(
            replace(n, consul_pid=old.consul_pid) for n, old in zip(nodes_now, state.nodes)))
        save_state(state)
        if state.consul_mode == "double":
            wait_consul(state)
        say("credentials and config")
        made = _missing_ancestors(Path(state.bundle_dir)) + _missing_ancestors(Path(state.config_file).parent)
        state = replace(state, made_dirs=tuple(sorted(set(made), key=lambda d: (-d.count("/"), d))))
        save_state(state)
        write_bundle(state)
        state = replace(state, config_created=write_config_entry(state))
        save_state(state)
    except BaseException:
        sandbox_down(base)
        raise
    return state


def _node_status(node: NodeState) -> NodeStatus:
    answers = eng.ping(Path(node.engine_dir) / "docker.sock", timeout=1)
    swarm, count, agent = "", 0, ""
    if answers:
        out = docker(node.url, "info", "--format", "{{.Swarm.LocalNodeState}} {{.Containers}}",
                     check=False, timeout=10).split()
        if len(out) == 2:
            swarm, count = out[0], int(out[1])
        # The API is answered by the test double, which runs whether the agent does or not: the
        # container's own state says whether the node has an agent.
        agent = docker(node.url, "ps", "--all", "--filter", f"name=^{AGENT}$", "--format", "{{.State}}",
                       check=False, timeout=10).strip() or "missing"
    consul_ok = _consul_answers(node, timeout=1)
    return NodeStatus(node.name, node.address, node.endpoint, node.manager, answers, swarm, consul_ok, count,
                      agent)


def sandbox_status(base_dir: Path | str | None = None) -> SandboxStatus:
    state = load_state(base_dir)
    if state is None:
        return SandboxStatus(None)
    return SandboxStatus(state, tuple(_parallel(_node_status, state.nodes)))


def kill_node(state: SandboxState, index: int) -> None:
    """Crash node ``index``'s dockerd (SIGKILL, containerd and containers stay), as a node
    that goes away. ``restart_node`` brings it back on its data, into the swarm again."""
    eng.kill_engine(_engine_of(state.nodes[index - 1]))


def restart_node(state: SandboxState, index: int) -> SandboxState:
    """Start node ``index``'s dockerd again after ``kill_node``; returns the updated state."""
    node = start_engine_of(state, state.nodes[index - 1])
    nodes = tuple(node if n.index == index else n for n in state.nodes)
    state = replace(state, nodes=nodes)
    save_state(state)
    return state


def _engine_of(node: NodeState) -> eng.Engine:
    known = eng.load_engine(Path(node.engine_dir))
    return known or eng.Engine(name=node.name, netns=node.netns, base_dir=Path(node.engine_dir), pid=node.pid)


def leftovers(state: SandboxState) -> list[str]:
    """What the sandbox left on the machine; empty when it is all gone."""
    found: list[str] = []
    for node in state.nodes:
        found += [f"{node.name}: {what}" for what in eng.leftovers(_engine_of(node))]
        if node.consul_pid and eng.pid_alive(node.consul_pid):
            found.append(f"{node.name}: Consul test double (pid {node.consul_pid})")
        if eng.netns_exists(node.netns):
            found.append(f"network namespace {node.netns}")
    if eng.netns_exists(state.bridge_netns):
        found.append(f"network namespace {state.bridge_netns}")
    if _link_exists(state.host_link):
        found.append(f"link {state.host_link}")
    found += [f"mount {m}" for m in eng.mounts_under(Path(state.base_dir))]
    for path in (state.base_dir, state.bundle_dir):
        if path and Path(path).exists():
            found.append(f"folder {path}")
    try:
        lines = Path(state.config_file).read_text().splitlines()
    except OSError:
        lines = []
    if any(_section_pattern(state.name).match(line.strip()) for line in lines):
        found.append(f"[clusters.{state.name}] in {state.config_file}")
    return found


def sandbox_down(base_dir: Path | str | None = None) -> list[str]:
    """Remove the sandbox and everything it made; idempotent. Returns what was removed
    (node names). Raises SandboxError naming whatever is still there afterwards."""
    state = load_state(base_dir)
    if state is None:
        return []
    engines = [_engine_of(n) for n in state.nodes]
    _parallel(lambda e: eng.stop_engine(e, grace=1.0), engines)
    for node in state.nodes:  # the doubles live in the nodes' namespaces: stop_engine killed them
        if node.consul_pid and eng.pid_alive(node.consul_pid):
            eng._kill([node.consul_pid])
            eng.wait_gone([node.consul_pid], 5)
        eng._children.pop(node.consul_pid, None)
    remove_network(state)
    remove_config_entry(state)
    if state.bundle_dir and Path(state.bundle_dir).is_dir():
        shutil.rmtree(state.bundle_dir, ignore_errors=True)
    for folder in state.made_dirs:  # deepest first; only those up created, and only when empty
        try:
            os.rmdir(folder)
        except OSError:
            pass
    shutil.rmtree(state.base_dir, ignore_errors=True)
    left = leftovers(state)
    if left:
        raise SandboxError(f"The sandbox was removed, but these remain: {'; '.join(left)}.")
    return [n.name for n in state.nodes]
