"""A stand-in session for RENDERING ONLY: the console on fixed model objects, with no engine.

Snapshot tests need the same screen every run, so the console is started on a
``RenderOnlySession`` that serves one fixed ``Snapshot`` (our own frozen dataclasses, below),
follows no events and whose engines are ``FixedEngine``s: they answer reads from that
snapshot and refuse every change with a ``CarinaError``. The guard in front of them is the
real one. Anything about behaviour is tested on the real engine, never here.
"""

from __future__ import annotations

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import CarinaError
from carina_tui.core.models import (
    ContainerDetail,
    ContainerInfo,
    EngineInfo,
    ImageInfo,
    IPAMConfig,
    NetworkAttachment,
    NetworkInfo,
    NodeInfo,
    PortBinding,
)
from carina_tui.core.swarm_models import ServiceInfo, ServicePort, TaskInfo
from carina_tui.services.session import EngineState, Session, Snapshot
from carina_tui.ui.app import CarinaApp

NOW = 1_767_225_600.0  # the moment the fixed data is seen from (ages are counted to it)
N1, N2 = "unix:///nonexistent/node-1.sock", "unix:///nonexistent/node-2.sock"


def _net(nid, name, driver, scope, endpoint, node, subnet="", attachable=False):
    return NetworkInfo(nid, name, driver, scope, endpoint=endpoint, node=node,
                       ipam=(IPAMConfig(subnet),) if subnet else (), attachable=attachable)


NETWORKS = (
    _net("a" * 64, "mynet", "overlay", "swarm", N1, "node-1", "10.200.1.0/24", attachable=True),
    _net("b" * 64, "bridge", "bridge", "local", N1, "node-1", "172.17.0.0/16"),
    _net("c" * 64, "bridge", "bridge", "local", N2, "node-2", "172.18.0.0/16"),
    _net("d" * 64, "host", "host", "local", N1, "node-1"),
)


def _c(cid, name, state, image, endpoint, node, hours, nets=(), ports=(), labels=()):
    return ContainerInfo(cid * 64 if len(cid) == 1 else cid, name, state, image, endpoint=endpoint, node=node,
                         created=NOW - hours * 3600, command="sh", labels=labels,
                         networks=tuple(NetworkAttachment(n, NETWORKS[0].id if n == "mynet" else "") for n in nets),
                         ports=tuple(ports))


CONTAINERS = (
    _c("1", "carina-svcd", "running", "carina/consul:latest", N1, "node-1", 72),
    _c("2", "carina-svcd", "exited", "carina/consul:latest", N2, "node-2", 72),
    _c("3", "mysql", "running", "busybox:latest", N2, "node-2", 30, nets=("mynet",)),
    _c("4", "wordpress", "running", "busybox:latest", N1, "node-1", 29, nets=("mynet",),
       ports=(PortBinding(80, host_port=8080),)),
    _c("5", "wp-setup", "exited", "busybox:latest", N1, "node-1", 28, nets=("bridge",)),
    _c("6", "db-backup-with-a-rather-long-name-that-gets-clipped", "exited", "busybox:latest", N2, "node-2", 2),
)


def _info(endpoint: str, name: str, manager: bool) -> EngineInfo:
    return EngineInfo(endpoint, name, version="20.10.24", api_version="1.41", os="Debian GNU/Linux",
                      swarm_state="active", swarm_role="manager" if manager else "worker",
                      swarm_nodes=2 if manager else 0, containers=3, running=2, stopped=1,
                      drivers=("bridge", "host", "overlay", "null"))


ENGINES = (EngineState(N1, N1, info=_info(N1, "node-1", True)), EngineState(N2, N2, info=_info(N2, "node-2", False)))
NODES = (NodeInfo("n1", "node-1", "manager", "active", "ready", leader=True, manager_reachability="reachable",
                  engine_version="20.10.24"),
         NodeInfo("n2", "node-2", "worker", "active", "ready", engine_version="20.10.24"))
SNAPSHOT = Snapshot(engines=ENGINES, containers=CONTAINERS, networks=NETWORKS, nodes=NODES)


SERVICES = (
    ServiceInfo("s" * 25, "web", "replicated", "busybox:latest", running=2, desired=3, replicas=3,
                ports=(ServicePort(80, 8088, mode="host"),), networks=("mynet",), endpoint_mode="dnsrr",
                created=NOW - 5 * 3600, updated=NOW - 600, update_state="completed", endpoint=N1),
    ServiceInfo("t" * 25, "consul-watch", "global", "carina/consul:latest", running=2, desired=2,
                endpoint_mode="dnsrr", created=NOW - 72 * 3600, updated=NOW - 72 * 3600, endpoint=N1),
)
TASKS = (
    TaskInfo("u" * 25, "s" * 25, "web.1", 1, "n1", "node-1", "running", "running", container_id="7" * 64,
             image="busybox:latest", created=NOW - 600, updated=NOW - 590),
    TaskInfo("v" * 25, "s" * 25, "web.1", 1, "n2", "node-2", "shutdown", "shutdown", container_id="8" * 64,
             image="busybox:latest", created=NOW - 5 * 3600, updated=NOW - 600),
    TaskInfo("w" * 25, "s" * 25, "web.2", 2, "n2", "node-2", "running", "running", container_id="9" * 64,
             image="busybox:latest", created=NOW - 600, updated=NOW - 580),
    TaskInfo("x" * 25, "s" * 25, "web.3", 3, "", "", "pending", "running",
             error="no suitable node (host-mode port already in use on 2 nodes)", image="busybox:latest",
             created=NOW - 600, updated=NOW - 570),
)


# ``docker network inspect --verbose mynet`` on each node: its task containers and load balancer.
VERBOSE = {
    N1: {"Containers": {"4" * 64: {"Name": "wordpress", "IPv4Address": "10.200.1.4/24"},
                        "lb-mynet": {"Name": "mynet-endpoint", "IPv4Address": "10.200.1.3/24"}}},
    N2: {"Containers": {"3" * 64: {"Name": "mysql", "IPv4Address": "10.200.1.5/24"},
                        "lb-mynet": {"Name": "mynet-endpoint", "IPv4Address": "10.200.1.6/24"}}},
}


class FixedEngine:
    """One engine of the stand-in: reads come from the fixed snapshot; every change is refused."""

    def __init__(self, url: str, node: str) -> None:
        self.url = self.key = url
        self.node = node
        self.timeout = 5

    def info(self) -> EngineInfo:
        return next(e.info for e in ENGINES if e.key == self.url)

    def containers(self, ids=None) -> list[ContainerInfo]:
        mine = [c for c in CONTAINERS if c.endpoint == self.url]
        return [c for c in mine if ids is None or c.id in ids]

    def networks(self) -> list[NetworkInfo]:
        return [n for n in NETWORKS if n.endpoint == self.url or n.scope == "swarm"]

    def nodes(self) -> list[NodeInfo]:
        return list(NODES)

    def services(self, ids=None) -> list[ServiceInfo]:
        return [s for s in SERVICES if ids is None or s.id in ids] if self.url == N1 else []

    def tasks(self, service_id=None) -> list[TaskInfo]:
        return [t for t in TASKS if service_id in (None, t.service_id)]

    def images(self) -> list[ImageInfo]:
        return [ImageInfo("sha256:" + "e" * 64, ("busybox:latest",)), ImageInfo("sha256:" + "f" * 64,
                                                                                ("carina/consul:latest",))]

    def inspect_container(self, cid: str) -> ContainerDetail:
        return ContainerDetail(next(c for c in CONTAINERS if c.id == cid))

    def _read(self, what: str, path: str, call):
        """The one raw read answered: ``network inspect --verbose`` of the swarm network (its address use)."""
        if path.startswith(f"/networks/{NETWORKS[0].id}?") and "verbose=true" in path:
            return VERBOSE[self.url]
        raise CarinaError(f"The rendering stand-in cannot {what}.")

    def close(self) -> None:
        pass

    def __getattr__(self, name: str):
        def refused(*args, **kwargs):
            raise CarinaError(f"The rendering stand-in makes no change ({name}).")

        return refused


class RenderOnlySession(Session):
    """A session on the fixed snapshot: no engine, no events, no change."""

    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__(ClusterSpec("carina-demo", "config", (N1, N2)), read_only=read_only)
        for key, node in ((N1, "node-1"), (N2, "node-2")):
            self.gateways[key] = FixedEngine(key, node)  # the guard holds this same dict

    def snapshot(self) -> Snapshot:
        return SNAPSHOT

    def take_prefetched(self) -> Snapshot:
        return SNAPSHOT

    def expand_nodes(self) -> list[str]:
        return []

    def follow_events(self, **callbacks) -> list[str]:
        return []


def render_app(**kwargs) -> CarinaApp:
    """The console on the stand-in, with no cluster discovery (it would read this machine's)."""
    return CarinaApp(RenderOnlySession(), discover=False, **kwargs)
