"""The console: one screen, four live panes; short engine calls in named thread workers.

How a docker event becomes a row: ``EventFollower.follow`` (dedicated thread
``carina-events:<endpoint>``, owned by the session) reads the engine's stream and
notes the ids; ``EventFollower.sync`` (thread ``carina-sync:<endpoint>``) wakes,
waits 250 ms to gather more, lists just those ids in one call and posts
``ContainersChanged``; the handler here, on the main thread, hands the rows to
the panes, which apply them as row diffs inside ``batch_update``. Thread workers
run on our own pool (``runtime.DaemonExecutor``, installed as the event loop's
default executor at load): no long-lived loop ever holds one of its threads.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Footer, Static
from textual.widgets._footer import FooterKey
from textual.worker import Worker, WorkerState, get_current_worker

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.config import Config
from carina_tui.core.errors import CarinaError
from carina_tui.core.models import ContainerInfo, NetworkInfo, clock, swarm_size
from carina_tui.core.outcome import SETTLE, UNDER_WAY, action_outcome
from carina_tui.runtime import DaemonExecutor
from carina_tui.services.session import EngineState, Session, Snapshot
from carina_tui.ui.keymap import check_keymap, keep_theme, kept_theme
from carina_tui.ui.messages import ActionRequested, DetailsRequested, InspectRequested, RemoveRequested, SwitchRequested
from carina_tui.ui.palette import ConsoleCommands
from carina_tui.ui.panes import ClusterRow, ClustersPane, ContainersPane, NetworksPane, ProtectedRow, SystemPane
from carina_tui.ui.screens import ConfirmScreen, HelpScreen, TextScreen, TypeAheadApp, field_lines
from carina_tui.ui.tables import TablePane


# -- messages from workers (posted from threads; handled on the main thread) -------------


@dataclass
class Loaded(Message):
    snapshot: Snapshot


@dataclass
class ContainersChanged(Message):
    endpoint: str
    found: list[ContainerInfo]
    gone: set[str]


@dataclass
class NetworksChanged(Message):
    endpoint: str
    networks: list[NetworkInfo]


@dataclass
class EngineDown(Message):
    endpoint: str
    sentence: str
    since: float  # when it last answered


@dataclass
class EngineUp(Message):
    endpoint: str


@dataclass
class ClustersFound(Message):
    clusters: list[ClusterSpec]


@dataclass
class ClusterProbed(Message):
    key: str
    engines: tuple[EngineState, ...]


@dataclass
class SystemReported(Message):
    report: object  # carina_tui.services.system_report.SystemReport


# How long a row may say "stopping…" when the engine's event never comes.
UNDER_WAY_LIMIT = 10.0


@dataclass
class ConsulChanged(Message):
    pass


class ConsoleFooter(Footer):
    """The footer with ``?`` and ``q`` first: at 80 columns the pane's keys are cut off, never these two."""

    FIRST = ("help", "quit")

    def compose(self) -> ComposeResult:
        keys = list(super().compose())
        first = sorted((k for k in keys if isinstance(k, FooterKey) and k.action in self.FIRST),
                       key=lambda k: self.FIRST.index(k.action))
        yield from first + [k for k in keys if k not in first]


def cluster_key(spec: ClusterSpec) -> str:
    return f"{spec.source}|{spec.name}|{','.join(spec.endpoints)}"


class CarinaApp(TypeAheadApp, App):
    CSS_PATH = "app.tcss"
    TITLE = "carina-tui"
    AUTO_FOCUS = "#containers KeyTable"  # focused as the screen starts: its keys are in the first footer
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ConsoleCommands}

    BINDINGS = [
        Binding("1", "focus_pane('clusters')", "Clusters", id="app.focus_clusters", show=False),
        Binding("2", "focus_pane('networks')", "Networks", id="app.focus_networks", show=False),
        Binding("3", "focus_pane('containers')", "Containers", id="app.focus_containers", show=False),
        Binding("4", "focus_pane('system')", "System", id="app.focus_system", show=False),
        Binding("r", "refresh", "Refresh", id="app.refresh", show=False),
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("z", "zoom", "Zoom", show=False, id="app.zoom"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
    ]

    def __init__(self, session: Session, *, config: Config | None = None, read_only: bool = False,
                 discover: bool = True) -> None:
        super().__init__()
        self.session = session
        self.config = config if config is not None else Config()
        # The user's keys and theme; a bad line of the config stops here, as a sentence naming it.
        self.set_keymap(check_keymap(self.config))
        theme = kept_theme(self.config, self.available_themes)
        if theme:
            self.theme = theme
        self.cli_read_only = read_only
        self.discover = discover
        self.engines: dict[str, EngineState] = {}
        self.nodes = ()
        self.clusters: list[ClusterSpec] = [session.spec]
        self.probes: dict[str, tuple[EngineState, ...]] = {}
        self._loaded_once = False
        self._reported_once = False
        self._watching = ""
        # What loads client libraries in threads (discovery, the Consul report) waits until the
        # whole container list is on screen: meanwhile the cursor answers without competition.
        self._after_load: list[Callable[[], object]] = []
        self._consul_watch = None
        self.stopped_cleanups: list = []  # CleanupRuns stopped by quitting (the CLI says how far they got)

    # -- threads and quitting ----------------------------------------------------------

    def on_load(self) -> None:
        # Thread workers run on the loop's default executor: ours has a fixed size and daemon
        # threads, so neither the core count nor a blocked request can starve it or hold exit.
        self.executor = DaemonExecutor()
        asyncio.get_running_loop().set_default_executor(self.executor)

    async def action_quit(self) -> None:
        """Stop at once: a cleanup under way stops after the removals it has started (the CLI
        says how far it got); the engines' streams are closed on unmount."""
        from carina_tui.ui.cleanup_screen import CleanupScreen

        for screen in self.screen_stack:
            if isinstance(screen, CleanupScreen) and screen.run is not None and screen.running:
                screen.run.stop()
                self.stopped_cleanups.append(screen.run)
        self.exit()

    def _post(self, message: Message) -> None:
        """post_message from a dedicated thread; nothing when the app is already gone."""
        try:
            self.post_message(message)
        except RuntimeError:  # the event loop is closed: the app has ended
            pass

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield ClustersPane(id="clusters")
                yield NetworksPane(id="networks")
            with Vertical(id="right"):
                yield ContainersPane(id="containers")
                yield SystemPane(id="system")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.watch(self, "theme", self._theme_chosen, init=False)
        self._start_session()
        if self.discover:
            self._after_load.append(self.find_clusters)

    def _start_session(self) -> None:
        self._draw_header()
        self.query_one("#containers", ContainersPane).qualify = self.session.multi_node
        self.query_one("#networks", NetworksPane).qualify = self.session.multi_node
        self._redraw_clusters()  # the cluster in use and its engines, before anything answers
        ready = None if self.session.spec.discover_nodes else self.session.take_prefetched()
        if ready is not None:
            # Fetched while the interface was being built: the first frame shows it.
            self._loaded(Loaded(ready))
        if ready is None:
            self.load()
        elif ready.partial:
            self.call_after_refresh(self.load)  # the rest of a long list, once the first frame is out
        self._follow_events()

    def _stop_session(self) -> None:
        """Stop the cluster's loops (their streams are closed: the threads end at once)."""
        self.session.stop_events()
        if self._consul_watch is not None:
            self._consul_watch.stop()
            self._consul_watch = None
        for worker in list(self.workers):
            if worker.group in ("load", "consul", "details"):
                worker.cancel()

    def _theme_chosen(self, theme: str) -> None:
        """A theme chosen in the palette is kept for the next start (``ui.keymap.keep_theme``)."""
        problem = keep_theme(self.config, theme)
        if problem:
            self.notify(problem, title="Theme", severity="warning")

    def on_unmount(self) -> None:
        self._stop_session()

    # -- clusters ---------------------------------------------------------------------------

    @work(thread=True, group="discover", exclusive=True, exit_on_error=False)
    def find_clusters(self) -> None:
        from carina_tui.services.targets import all_clusters

        found = all_clusters(self.config, self.session.spec)
        self.post_message(ClustersFound(found))
        for spec in found:
            if cluster_key(spec) == cluster_key(self.session.spec) or spec.problem or not spec.endpoints:
                continue
            self.probe(spec)

    @work(thread=True, group="probe", exit_on_error=False)
    def probe(self, spec: ClusterSpec) -> None:
        from carina_tui.services.targets import probe

        try:
            states = probe(spec, self.config)
        except CarinaError as err:
            states = (EngineState("", "", error=str(err)),)
        self.post_message(ClusterProbed(cluster_key(spec), states))

    @on(ClustersFound)
    def _clusters_found(self, message: ClustersFound) -> None:
        self.clusters = message.clusters
        if self._panes_ready:
            self._redraw_clusters()

    @on(ClusterProbed)
    def _cluster_probed(self, message: ClusterProbed) -> None:
        self.probes[message.key] = message.engines
        if self._panes_ready:
            self._redraw_clusters()

    @property
    def _panes_ready(self) -> bool:
        """False while the app is shutting down and the main screen is gone."""
        return not self._exit and bool(self.screen_stack) and bool(self.query("#clusters"))

    def switch_cluster(self, spec: ClusterSpec) -> None:
        """Move the whole console to another cluster, without a restart."""
        if cluster_key(spec) == cluster_key(self.session.spec):
            self.notify(f"The console already shows {spec.name}.")
            return
        from carina_tui.services.targets import session_for

        try:
            session = session_for(spec, self.config, read_only=self.cli_read_only)
        except CarinaError as err:
            self.notify(str(err), title=err.title, severity="error", timeout=10)
            return
        self._stop_session()
        old, self.session = self.session, session
        old.close()
        self.engines = {}
        self.nodes = ()
        self._loaded_once = False
        self._reported_once = False
        self._watching = ""
        for name in ("containers", "networks", "system"):
            self.pane(name).replace_all([])
        self._start_session()
        self._redraw_clusters()
        self.refresh_bindings()
        self.notify(f"Now on cluster {spec.name} ({spec.source}).", title="Switched")

    def _draw_header(self) -> None:
        spec = self.session.spec
        text = Text()
        text.append(" carina-tui ", style="bold reverse")
        text.append(f"  {spec.name}", style="bold")
        text.append(f"  {', '.join(spec.endpoints)}", style="dim")
        served = " (served)" if self.is_web else ""  # carina-tui serve: the page says whether it can act
        if self.session.read_only:
            text.append("  ")
            text.append(f" READ-ONLY{served} ", style="bold white on red")
        elif served:
            text.append("  ")
            text.append(" CHANGES ALLOWED (served) ", style="bold black on yellow")
        header = self.query_one("#header", Static)
        header.update(text)
        if spec.colour:
            try:
                header.styles.background = spec.colour
            except Exception:  # noqa: BLE001 - an unknown colour name keeps the default
                pass

    # -- panes ------------------------------------------------------------------------

    def pane(self, name: str) -> TablePane:
        return self.query_one(f"#{name}", TablePane)

    def action_focus_pane(self, name: str) -> None:
        self.pane(name).table.focus()

    def focused_pane(self) -> TablePane | None:
        node = self.focused
        while node is not None:
            if isinstance(node, TablePane):
                return node
            node = node.parent
        return None

    def run_pane_action(self, name: str, action: str) -> None:
        """Run a pane's action as its key would, with the pane focused (the command palette)."""
        pane = self.pane(name)
        pane.table.focus()
        self.call_later(self.run_action, action, pane)

    def action_zoom(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        if self.screen.maximized is pane:
            self.screen.minimize()
        else:
            self.screen.maximize(pane, container=False)

    def action_help(self) -> None:
        pane = self.focused_pane()
        title = f"Keys: {pane.TITLE if pane else 'console'}"
        # The focused pane's own keys first, then the console's, the generic table keys last.
        sections: tuple[list, list, list] = ([], [], [])
        seen = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if binding.action in seen and not binding.description:
                continue
            seen.add(binding.action)
            node = active.node
            where = 0 if isinstance(node, TablePane) else 1 if node is self or node is self.screen else 2
            sections[where].append((binding.key_display or self.get_key_display(binding),
                                    binding.description or binding.action, active.enabled))
        rows: list[tuple[str, str, bool]] = []
        for heading, section in zip((pane.TITLE if pane else "Pane", "Console", "Tables"), sections):
            if section:
                rows.append(("", heading, True))
                rows.extend(section)
        self.push_screen(HelpScreen(title, rows))

    @property
    def read_only(self) -> bool:
        return self.session.read_only

    # -- loading ----------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def load(self) -> None:
        added = self.session.expand_nodes()
        # At start, a long list's first page goes on screen while the rest comes (``Snapshot.partial``).
        first_page = None if self._loaded_once else (lambda page: self.post_message(Loaded(page)))
        snapshot = self.session.snapshot(first_page)
        if added and any(key not in {e.key for e in snapshot.engines} for key in added):
            snapshot = self.session.snapshot()  # the prefetched one predates the new nodes
        if not get_current_worker().is_cancelled:
            self.post_message(Loaded(snapshot))

    def _follow_events(self) -> None:
        """Each engine's event loops, on the session's dedicated threads (new nodes too)."""
        self.session.follow_events(
            on_containers=lambda k, found, gone: self._post(ContainersChanged(k, found, gone)),
            on_networks=self._fetch_networks,
            on_down=lambda k, sentence: self._post(EngineDown(k, sentence, time.time())),
            on_up=lambda k: self._post(EngineUp(k)),
        )

    def _fetch_networks(self, key: str) -> None:
        # Called from the engine's sync thread.
        networks = self.session.gateways[key].networks()
        self._post(NetworksChanged(key, networks))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if not self._panes_ready:
            return
        snap = message.snapshot
        came_back = False
        for state in snap.engines:
            old = self.engines.get(state.key)
            came_back |= state.reachable and old is not None and not old.reachable
            if not state.reachable:  # stale since it last answered; 0: it never did
                since = time.time() if old is not None and old.reachable else (old.since if old else 0.0)
                state = EngineState(state.key, state.url, error=state.error, since=since)
            self.engines[state.key] = state
        self._follow_events()  # nodes found by discover_nodes
        self.query_one("#containers", ContainersPane).qualify = self.session.multi_node
        self.query_one("#networks", NetworksPane).qualify = self.session.multi_node
        self.nodes = snap.nodes
        reachable = {s.key for s in snap.engines if s.reachable}
        containers = self.pane("containers")
        # Rows of engines that did not answer stay as they were; the others are replaced.
        keep = [c for c in containers.items.values() if c.endpoint not in reachable]
        containers.replace_all(list(snap.containers) + keep, expected=snap.expected if snap.partial else None)
        networks = self.pane("networks")
        keep_n = [n for n in networks.items.values() if n.endpoint not in reachable and n.scope != "swarm"]
        networks.replace_all(list(snap.networks) + keep_n)
        self._mark_stale()
        self._derived()
        if came_back and self._reported_once:
            self.consul_report()  # the System pane stops saying it is unreachable
        self._redraw_clusters()
        if not snap.partial and self._after_load:
            waiting, self._after_load = self._after_load, []
            containers.when_applied(lambda: self.call_after_refresh(lambda: [call() for call in waiting]))
        if not self._loaded_once:
            self._loaded_once = True
            for state in snap.engines:
                if not state.reachable:
                    self.notify(state.error, title="Engine unreachable", severity="error", timeout=10)

    @on(ContainersChanged)
    def _containers_changed(self, message: ContainersChanged) -> None:
        if not self._panes_ready or message.endpoint not in self.session.gateways:
            return  # (or from a cluster switched away from)
        gone = {f"{message.endpoint}|{cid}" for cid in message.gone}
        self.pane("containers").update_items(message.found, gone)
        self._derived(message.found, gone)

    @on(NetworksChanged)
    def _networks_changed(self, message: NetworksChanged) -> None:
        if not self._panes_ready or message.endpoint not in self.session.gateways:
            return
        pane = self.pane("networks")
        fresh = {n.key: n for n in message.networks}
        # A worker lists only the swarm networks it uses; only a manager's list says one is gone.
        state = self.engines.get(message.endpoint)
        manager = state is not None and state.info is not None and state.info.is_manager
        stale = [k for k, n in pane.items.items() if n.endpoint == message.endpoint and k not in fresh
                 and (n.scope != "swarm" or manager)]
        pane.update_items(fresh.values(), stale)

    @on(EngineDown)
    def _engine_down(self, message: EngineDown) -> None:
        if not self._panes_ready or message.endpoint not in self.session.gateways:
            return  # (or from a cluster switched away from)
        old = self.engines.get(message.endpoint)
        url = self.session.gateways[message.endpoint].url
        since = message.since if old is not None and old.reachable else (old.since if old else 0.0)
        self.engines[message.endpoint] = EngineState(message.endpoint, url, info=None, error=message.sentence,
                                                     since=since)
        self._mark_stale()
        self._redraw_clusters()
        if old is None or old.reachable:
            self.notify(message.sentence, title="Engine unreachable", severity="error", timeout=10)
            self.consul_report()

    @on(EngineUp)
    def _engine_up(self, message: EngineUp) -> None:
        if message.endpoint not in self.session.gateways:
            return
        self.notify(f"{self.session.gateways[message.endpoint].url} answers again.", title="Reconnected")
        self.load()

    def _mark_stale(self) -> None:
        """Rows of engines that do not answer stay, dimmed and marked with when they last answered."""
        stale = {k: s.since for k, s in self.engines.items() if s is not None and not s.reachable and s.since}
        for name in ("containers", "networks", "system"):
            self.pane(name).set_stale(stale)

    def _derived(self, changed: list[ContainerInfo] | None = None, gone: set[str] = frozenset()) -> None:
        """Refresh what other panes derive from the containers: network counts, protected list.

        ``changed``/``gone`` (from an event batch) classify just those containers; None (a full
        load) classifies them all. The rules are only run on what the batch brought."""
        containers = self.pane("containers")
        self.query_one("#networks", NetworksPane).set_counts(containers.items.values())
        guard = self.session.guard
        system = self.pane("system")
        candidates = containers.items.values() if changed is None else changed
        want = {}
        for c in candidates:
            rule = guard.classify(c)
            if rule is not None:
                want[c.key] = ProtectedRow(c, rule)
        looked_at = set(system.items) if changed is None else {c.key for c in changed} | set(gone)
        stale = [k for k in system.items if k in looked_at and k not in want]
        new_rows = [r for k, r in want.items() if system.items.get(k) != r]
        system.update_items(new_rows, stale)
        if not self._reported_once:
            # The first report waits for the whole list: it imports the Consul client.
            self._reported_once = True
            self._after_load.append(self.consul_report)
        elif new_rows or stale:
            self.consul_report()
        self._redraw_clusters()

    # -- the System pane's Consul view ----------------------------------------------------

    def _system_snapshot(self) -> Snapshot:
        return Snapshot(
            engines=tuple(s for s in self.engines.values() if s is not None),
            containers=tuple(self.pane("containers").items.values()),
            networks=tuple(self.pane("networks").items.values()),
            nodes=tuple(self.nodes),
        )

    @work(thread=True, group="consul", exclusive=True, exit_on_error=False)
    def consul_report(self) -> None:
        from carina_tui.services.system_report import build_report

        snapshot = self.call_from_thread(self._system_snapshot)
        report = build_report(self.session, snapshot)
        if not get_current_worker().is_cancelled:
            self.post_message(SystemReported(report))

    def _watch_consul(self, address: str) -> None:
        """Blocking queries on Consul's health checks, on a dedicated thread: a new report when they change."""
        from carina_tui.services.system_report import ConsulWatch, consul_token

        if self._consul_watch is not None:
            self._consul_watch.stop()
        self._consul_watch = ConsulWatch(address, consul_token(self.session), lambda: self._post(ConsulChanged())).start()

    @on(ConsulChanged)
    def _consul_changed(self) -> None:
        if self._panes_ready:
            self.consul_report()

    @on(SystemReported)
    def _system_reported(self, message: SystemReported) -> None:
        if not self._panes_ready:
            return
        report = message.report
        system = self.query_one("#system", SystemPane)
        system.show_report(report)
        if report.address and report.address != self._watching:
            self._watching = report.address
            self._watch_consul(report.address)

    def _redraw_clusters(self) -> None:
        spec = self.session.spec
        counts: dict[str, int] = {}
        for c in self.pane("containers").items.values():
            counts[c.endpoint] = counts.get(c.endpoint, 0) + 1
        active_key = cluster_key(spec)
        clusters = self.clusters if any(cluster_key(c) == active_key for c in self.clusters) else [spec, *self.clusters]
        rows: list[ClusterRow] = []
        for cluster in clusters:
            key = cluster_key(cluster)
            active = key == active_key
            states = tuple(self.engines.get(k) for k in self.session.gateways) if active else self.probes.get(key, ())
            rows.append(self._cluster_row(cluster, key, active, states,
                                          str(sum(counts.values())) if active else ""))
            if active:
                for ekey, gw in self.session.gateways.items():
                    state = self.engines.get(ekey)
                    info = state.info if state else None
                    rows.append(ClusterRow(
                        key=f"node|{ekey}", kind="node",
                        name=(info.name if info else gw.node) or gw.url,
                        endpoint=gw.url,
                        tls="on" if spec.tls else "off",
                        reach="…" if state is None else ("yes" if state.reachable else
                                                         f"unreachable since {clock(state.since)}" if state.since
                                                         else "no"),
                        version=info.version if info else "",
                        role=(info.swarm_role or "-") if info else "",
                        nodes=str(info.swarm_nodes) if info and info.is_manager else "",
                        containers=str(counts.get(ekey, 0)),
                        state=state,
                    ))
        self.query_one("#clusters", ClustersPane).set_rows(rows)
        errors = [s.error for s in self.engines.values() if s is not None and not s.reachable]
        subtitle = errors[0][:160] if errors else ""
        pane = self.pane("clusters")
        if pane.border_subtitle != subtitle:
            pane.border_subtitle = subtitle

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
            endpoint=", ".join(cluster.endpoints) or "-", tls="on" if cluster.tls else "off",
            reach=reach, version=info.version if info else "", role=(info.swarm_role or "-") if info else "",
            nodes=nodes, containers=containers, active=active, spec=cluster,
            state=(known[0] if known and not up else None),
        )

    def show_node(self, row: ClusterRow) -> None:
        # Read on the main thread: the pane's dict changes under a worker's feet.
        counts = Counter(c.node for c in self.pane("containers").items.values())
        self._node_details(row.key.split("|", 1)[1], counts)

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _node_details(self, endpoint: str, counts: Counter[str]) -> None:
        gw = self.session.gateways[endpoint]
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
        self.call_from_thread(self.push_screen, TextScreen(f"Node {info.name}", body))

    # -- what the panes ask for (ui/messages.py) --------------------------------------------

    @on(SwitchRequested)
    def _switch_requested(self, message: SwitchRequested) -> None:
        self.switch_cluster(message.spec)

    @on(DetailsRequested)
    def _details_requested(self, message: DetailsRequested) -> None:
        item = message.item
        if isinstance(item, ClusterRow):
            self.show_node(item)
        elif isinstance(item, NetworkInfo):
            self.show_network(item)
        elif isinstance(item, ContainerInfo):
            self.show_container(item)

    @on(InspectRequested)
    def _inspect_requested(self, message: InspectRequested) -> None:
        self.show_inspect(message.container)

    @on(ActionRequested)
    def _action_requested(self, message: ActionRequested) -> None:
        if message.action == "start_stop":
            self.start_stop(message.container)
        else:
            self.container_action(message.action, message.container)

    @on(RemoveRequested)
    def _remove_requested(self, message: RemoveRequested) -> None:
        if isinstance(message.item, NetworkInfo):
            self.confirm_remove_network(message.item)
        else:
            self.confirm_remove_container(message.item)

    # -- actions through the guard -------------------------------------------------------

    def guarded(self, call: Callable[[], object], done: str = "", *, then: Callable[[object], None] | None = None) -> None:
        """Run one guarded engine call in a worker; refusals and failures become notifications."""
        self._guarded(call, done, then)

    @work(thread=True, group="mutate", exit_on_error=False)
    def _guarded(self, call, done, then) -> None:
        result = call()
        if done:
            self.call_from_thread(self.notify, done)
        if then is not None:
            self.call_from_thread(then, result)

    def container_action(self, action: str, c: ContainerInfo, **kwargs) -> None:
        """One container action through the guard. Its row says at once that it is under way
        ("stopping…") until the engine's news replaces that, or until the call fails (the row is
        as before and the error is said); what is said after is what the engine holds then."""
        token = None
        if action in UNDER_WAY and not self.session.guard.would_refuse(action, c):
            token = [(pane, pane.mark(c.key, "state", UNDER_WAY[action])) for pane in self._container_panes()]
        self._act(action, c, kwargs, token)

    def _container_panes(self) -> list[TablePane]:
        return [self.pane("containers"), self.pane("system")]

    @work(thread=True, group="mutate", exit_on_error=False)
    def _act(self, action: str, c: ContainerInfo, kwargs: dict, marks) -> None:
        settle = SETTLE if action in ("container.start", "container.restart") else 0.0
        try:
            acted = self.session.guard.act(action, c, settle=settle, **kwargs)
        except CarinaError as err:
            self.call_from_thread(self._not_acted, c, err, marks)
            return
        self.call_from_thread(self._acted, action, c, acted, marks)

    def say_outcome(self, sentence: str, as_asked: bool) -> None:
        self.notify(sentence, severity="information" if as_asked else "warning", timeout=10 if as_asked else 15)

    def _unmark(self, c: ContainerInfo, marks) -> None:
        for pane, token in marks or ():
            if token is not None:
                pane.unmark(c.key, token)

    def _not_acted(self, c: ContainerInfo, err: CarinaError, marks) -> None:
        self._unmark(c, marks)
        self.notify(str(err), title=err.title, severity="error", timeout=10)

    def _acted(self, action: str, c: ContainerInfo, acted, marks) -> None:
        self.say_outcome(*action_outcome(action, c.name, acted.before, acted.after))
        if not self._panes_ready:
            return
        shown = self.pane("containers").items.get(c.key)
        if acted.after is not None and shown is not None and shown.state == acted.after.container.state:
            self._unmark(c, marks)  # the row is true already (a restart): no news to wait for
        else:
            # The engine's event brings the new state; should it never come, the row stops saying so.
            self.set_timer(UNDER_WAY_LIMIT, lambda: self._unmark(c, marks))

    def start_stop(self, c: ContainerInfo) -> None:
        if c.running:
            self.container_action("container.stop", c)
        else:
            self.container_action("container.start", c)

    def confirm_remove_container(self, c: ContainerInfo) -> None:
        refusal = self.session.guard.would_refuse("container.remove", c)
        if refusal:
            # Say it now, and let the guard write the refusal to the audit log.
            self.container_action("container.remove", c)
            return
        running = c.running
        question = f"Remove container {c.qualified_name}{' (running: it will be killed)' if running else ''}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.container_action("container.remove", c, force=running)

        self.push_screen(ConfirmScreen(question, f"{c.id}\nimage {c.image}\nnode {c.node}"), answered)

    def confirm_remove_network(self, n: NetworkInfo) -> None:
        from carina_tui.ui.forms import attached as is_attached

        attached = [c for c in self.pane("containers").items.values() if is_attached(c, n)]
        if self.session.guard.would_refuse_network("network.remove", n, attached):
            # The guard looks again and says why (predefined, read-only, a protected member, running or
            # not) and audits the refusal; it never removes here: only after the question below.
            self.guarded(lambda: self.session.guard.check_network_removal(n),
                         then=lambda _detail: self._confirm_network_removal(n))
            return
        if attached:
            self.notify(f"Network {n.name} still has containers attached "
                        f"({', '.join(c.qualified_name for c in attached)}); disconnect them first (x).",
                        title="Not removed", severity="warning")
            return
        self._confirm_network_removal(n)

    def _confirm_network_removal(self, n: NetworkInfo) -> None:
        def answered(yes: bool | None) -> None:
            if yes:
                self.guarded(lambda: self.session.guard.remove_network(n), f"Network {n.name} removed.")

        self.push_screen(ConfirmScreen(f"Remove network {n.name}?", f"{n.id}\ndriver {n.driver}, scope {n.scope}"), answered)

    def show_inspect(self, c: ContainerInfo) -> None:
        self._show_inspect(c)

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _show_inspect(self, c: ContainerInfo) -> None:
        detail = self.session.gateways[c.endpoint].inspect_container(c.id)
        from rich.syntax import Syntax

        body = Syntax(detail.raw_json, "json", word_wrap=True, theme="ansi_dark")
        self.call_from_thread(self.push_screen, TextScreen(f"Inspect {c.qualified_name}", body))

    # -- details ----------------------------------------------------------------------

    def show_container(self, c: ContainerInfo) -> None:
        self._inspect_container(c)

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _inspect_container(self, c: ContainerInfo) -> None:
        detail = self.session.gateways[c.endpoint].inspect_container(c.id)
        info = detail.container
        rule = self.session.guard.classify(info)
        body = field_lines((
            ("Name", info.qualified_name),
            ("Id", info.id),
            ("State", f"{info.state} (exit code {detail.exit_code})" if info.state == "exited" else info.state),
            ("Image", info.image),
            ("Command", info.command),
            ("Node", info.node),
            ("Started", detail.started_at),
            ("Finished", detail.finished_at if info.state != "running" else ""),
            ("Restart", detail.restart_policy or "no"),
            ("Protected", rule.describe() if rule else "no"),
            ("Ports", info.all_ports_text or "none published"),
            *(("Network", f"{n.network}  {n.ipv4}  {' '.join(n.aliases)}") for n in info.networks),
            *(("Label", f"{k}={v}") for k, v in info.labels),
        ), width=10)
        self.call_from_thread(self.push_screen, TextScreen(f"Container {info.qualified_name}", body))

    def show_network(self, n: NetworkInfo) -> None:
        self._inspect_network(n)

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _inspect_network(self, n: NetworkInfo) -> None:
        detail = self.session.gateways[n.endpoint].network(n.id, aliases=True)
        net = detail.network
        body = field_lines((
            ("Name", net.name),
            ("Id", net.id),
            ("Driver", net.driver),
            ("Scope", net.scope),
            ("Attachable", "yes" if net.attachable else "no"),
            ("Internal", "yes" if net.internal else "no"),
            ("IPv6", "yes" if net.ipv6 else "no"),
            *(("Subnet", f"{c.subnet}  gateway {c.gateway or '-'}  range {c.ip_range or '-'}") for c in net.ipam),
            *(("Option", f"{k}={v}") for k, v in net.options),
            *(("Label", f"{k}={v}") for k, v in net.labels),
        ))
        body.append("\nContainers\n", style="bold underline")
        if not detail.members:
            body.append("none attached\n", style="dim")
        for m in detail.members:
            body.append(f"{m.name:24} {m.ipv4:16} {' '.join(m.aliases)}\n")
        self.call_from_thread(self.push_screen, TextScreen(f"Network {net.name}", body))

    # -- errors from workers ------------------------------------------------------------

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state != WorkerState.ERROR:
            return
        error = event.worker.error
        if isinstance(error, CarinaError):
            self.notify(str(error), title=error.title, severity="error", timeout=10)
        else:
            self.notify(
                f"{type(error).__name__}: {error}. This is a bug in carina-tui; the console keeps running.",
                title="Unexpected error",
                severity="error",
                timeout=15,
            )
