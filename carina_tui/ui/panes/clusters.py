"""Pane 1, Clusters: the clusters the user has and the nodes of the one in use."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.message import Message

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.api_versions import api_range
from carina_tui.core.endpoints import protection
from carina_tui.core.errors import CarinaError
from carina_tui.core.models import clock, swarm_size
from carina_tui.services.session import EngineState
from carina_tui.ui.messages import SwitchRequested
from carina_tui.ui.screens import TextScreen, field_lines
from carina_tui.ui.tables import TablePane


def cluster_key(spec: ClusterSpec) -> str:
    return f"{spec.source}|{spec.name}|{','.join(spec.endpoints)}"


@dataclass(frozen=True)
class ClusterRow:
    """A row of the Clusters pane: a cluster the user has, or a node of the one in use."""

    key: str
    kind: str  # cluster | node
    name: str
    source: str = ""
    endpoint: str = ""
    tls: str = ""
    reach: str = ""
    version: str = ""
    api: str = ""  # the Docker API version each engine speaks (a cluster: the range of its nodes')
    role: str = ""
    nodes: str = ""
    containers: str = ""
    active: bool = False
    spec: object = field(default=None, compare=False)
    state: object = field(default=None, compare=False)


@dataclass
class ClustersFound(Message):
    clusters: list[ClusterSpec]


@dataclass
class ClusterProbed(Message):
    key: str
    engines: tuple[EngineState, ...]


class ClustersPane(TablePane[ClusterRow]):
    """Its rows are its own: it finds the user's clusters and probes them in its workers
    (``discover``, ``probe``); the console hands it the cluster in use (``show_cluster``)."""

    TITLE = "Clusters"
    EMPTY = "Looking for clusters…"
    COLUMNS = (
        ("name", "Cluster / node", None),
        ("source", "Source", None),
        ("reach", "Up", None),
        ("role", "Swarm", None),
        ("nodes", "Nodes", None),
        ("containers", "Ctrs", None),
        ("version", "Engine", None),
        ("api", "API", None),
        ("tls", "TLS", None),
        ("endpoint", "Endpoint", None),
    )
    KEEP = ("name", "reach", "containers", "version", "role", "nodes")

    BINDINGS = [
        Binding("enter", "open", "Switch to cluster / node details", id="clusters.open", show=False),
    ]
    ENTER_ACTION = "open"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.clusters: list[ClusterSpec] = []  # every cluster found (the one in use is shown anyway)
        self.probes: dict[str, tuple[EngineState, ...]] = {}
        self._session = None
        self._engines: dict[str, EngineState] = {}
        self._containers: dict = {}  # the Containers pane's items (read on the main thread only)

    def cells(self, r: ClusterRow):
        if r.kind == "cluster":
            name = Text(("● " if r.active else "  ") + r.name, style="bold" if r.active else "")
        else:
            name = Text(f"  └ {r.name}")
        if r.reach in ("yes", ""):
            reach = Text(r.reach, style="green")
        elif r.reach in ("?", "…"):
            reach = Text(r.reach, style="dim")
        else:
            reach = Text(r.reach, style="bold red")
        return (name, r.source, reach, r.role, r.nodes, r.containers, r.version, r.api, r.tls, r.endpoint)

    def set_rows(self, rows: list[ClusterRow]) -> None:
        """The pane holds a handful of rows in a fixed order (each cluster, then its nodes), so
        it has no sort column. When that order changes (a switch, a new cluster) the rows are
        arranged again; otherwise only changed cells are updated."""
        keys = [r.key for r in rows]
        if keys != list(self.items):
            self.items = {r.key: r for r in rows}
            self._sync(None, relayout=True)  # in one step: the cursor stays on its row
        else:
            self.update_items(rows)

    # -- the clusters the user has ---------------------------------------------------------

    @work(thread=True, group="discover", exclusive=True, exit_on_error=False)
    def find_clusters(self, config, spec: ClusterSpec) -> None:
        from carina_tui.services.targets import all_clusters

        found = all_clusters(config, spec)
        self.post_message(ClustersFound(found))
        for other in found:
            if cluster_key(other) == cluster_key(spec) or other.problem or not other.endpoints:
                continue
            self.probe(other, config)

    @work(thread=True, group="probe", exit_on_error=False)
    def probe(self, spec: ClusterSpec, config) -> None:
        from carina_tui.services.targets import probe

        try:
            states = probe(spec, config)
        except CarinaError as err:
            states = (EngineState("", "", error=str(err)),)
        self.post_message(ClusterProbed(cluster_key(spec), states))

    @on(ClustersFound)
    def _clusters_found(self, message: ClustersFound) -> None:
        self.clusters = message.clusters
        self.redraw()

    @on(ClusterProbed)
    def _cluster_probed(self, message: ClusterProbed) -> None:
        self.probes[message.key] = message.engines
        self.redraw()

    # -- the cluster in use --------------------------------------------------------------------

    def show_cluster(self, session, engines: dict[str, EngineState], containers: dict) -> None:
        """The cluster in use, its engines' states and the containers (to count): redrawn now."""
        self._session, self._engines, self._containers = session, engines, containers
        self.redraw()

    def redraw(self) -> None:
        if self._session is None or self._table is None:  # not started, or being taken down
            return
        session, engines = self._session, self._engines
        spec = session.spec
        counts: dict[str, int] = {}
        for c in self._containers.values():
            counts[c.endpoint] = counts.get(c.endpoint, 0) + 1
        active_key = cluster_key(spec)
        clusters = self.clusters if any(cluster_key(c) == active_key for c in self.clusters) else [spec, *self.clusters]
        rows: list[ClusterRow] = []
        for cluster in clusters:
            key = cluster_key(cluster)
            active = key == active_key
            states = tuple(engines.get(k) for k in session.gateways) if active else self.probes.get(key, ())
            rows.append(self._cluster_row(cluster, key, active, states, str(sum(counts.values())) if active else ""))
            if active:
                for ekey, gw in session.gateways.items():
                    state = engines.get(ekey)
                    info = state.info if state else None
                    rows.append(ClusterRow(
                        key=f"node|{ekey}", kind="node",
                        name=(info.name if info else gw.node) or gw.url,
                        endpoint=gw.url,
                        tls=protection([gw.url], spec.tls),
                        reach="…" if state is None else ("yes" if state.reachable else
                                                         f"unreachable since {clock(state.since)}" if state.since
                                                         else "no"),
                        version=info.version if info else "",
                        api=info.api_version if info else "",
                        role=(info.swarm_role or "-") if info else "",
                        nodes=str(info.swarm_nodes) if info and info.is_manager else "",
                        containers=str(counts.get(ekey, 0)),
                        state=state,
                    ))
        self.set_rows(rows)
        errors = [s.error for s in engines.values() if s is not None and not s.reachable]
        subtitle = errors[0][:160] if errors else ""
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def _cluster_row(self, cluster: ClusterSpec, key: str, active: bool, states, containers: str = "") -> ClusterRow:
        known = [s for s in states if s is not None]
        up = [s for s in known if s.reachable]
        if cluster.problem:
            reach = "problem"
        elif not known:
            reach = "…" if active or cluster.endpoints else "?"
        elif len(up) == len(states):
            reach = "yes"
        elif up:
            reach = f"{len(up)}/{len(states)}"
        else:
            reach = "no"
        # A manager knows the swarm's size; a worker's info says 0.
        info = next((s.info for s in up if s.info.is_manager), up[0].info if up else None)
        nodes = str(swarm_size((s.info for s in up), len(cluster.endpoints))) if up else ""
        return ClusterRow(
            key=f"cluster|{key}", kind="cluster", name=cluster.name, source=cluster.source,
            endpoint=", ".join(cluster.endpoints) or "-", tls=protection(cluster.endpoints, cluster.tls),
            reach=reach, version=info.version if info else "", api=api_range(s.info for s in up), role=(info.swarm_role or "-") if info else "",
            nodes=nodes, containers=containers, active=active, spec=cluster,
            state=(known[0] if known and not up else None),
        )

    # -- keys --------------------------------------------------------------------------------

    def action_open(self) -> None:
        row = self.selected
        if row is None:
            return
        if row.kind == "cluster":
            self.post_message(SwitchRequested(row.spec))
        elif self._session is not None:
            # Counted here, on the main thread: the Containers pane's dict changes under a worker's feet.
            counts = Counter(c.node for c in self._containers.values())
            self._node_details(self._session.gateways[row.key.split("|", 1)[1]], counts)

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _node_details(self, gw, counts: Counter[str]) -> None:
        info = gw.info()
        body = field_lines((
            ("Engine", info.name), ("Endpoint", gw.url), ("Version", f"{info.version} (API {info.api_version})"),
            ("OS", info.os), ("Swarm", f"{info.swarm_state} {info.swarm_role}".strip()),
            ("Containers", f"{info.containers} ({info.running} running, {info.stopped} stopped)"),
        ), width=12)
        if info.is_manager:
            body.append("\nSwarm nodes\n", style="bold underline")
            for node in gw.nodes():
                mgr = f", manager {node.manager_reachability}{' (leader)' if node.leader else ''}" if node.role == "manager" else ""
                body.append(f"{node.hostname}", style="bold")
                body.append(f"  {node.role}, {node.availability}, {node.status}{mgr}, engine {node.engine_version}, "
                            f"{counts.get(node.hostname, 0)} containers here\n")
                for k, v in node.labels:
                    body.append(f"    label {k}={v}\n")
        self.app.call_from_thread(self.app.push_screen, TextScreen(f"Node {info.name}", body))
