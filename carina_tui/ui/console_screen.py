"""The console screen: the header, four slots of panes, the footer; the engines' news in, to the panes.

Slots: one ``ContentSwitcher`` per home pane (keys 1-4, ``panes.registry.HOME``). Any other
registered pane is shown in the slot of the focused pane (``show_pane``); the home pane's key
brings it back. How a docker event becomes a row: ``EventFollower.follow`` (dedicated thread
``carina-events:<endpoint>``, owned by the session) reads the engine's stream and notes the
ids; ``EventFollower.sync`` (thread ``carina-sync:<endpoint>``) waits 250 ms to gather more,
lists just those ids in one call and posts ``ContainersChanged`` here; the handler, on the main
thread, hands the rows to the panes, which apply them as row diffs. What the panes ask for is
handled by ``ConsoleActions`` (``ui/actions.py``).
"""

from __future__ import annotations

import gc
import time
from typing import Callable

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Footer, Static
from textual.widgets._footer import FooterKey
from textual.worker import Worker, get_current_worker

from carina_tui.core.models import ContainerInfo
from carina_tui.services.session import EngineState, Snapshot
from carina_tui.ui.actions import ConsoleActions
from carina_tui.ui.early import header_parts
from carina_tui.ui.messages import (ContainersChanged, EngineDown, EngineUp, Loaded, NetworksChanged,
                                    ServicesChanged, StorageChanged, post_from_thread)
from carina_tui.ui.panes import PANES, ProtectedRow
from carina_tui.ui.panes.system import ConsulChanged
from carina_tui.ui.screens import report_worker_error
from carina_tui.ui.tables import TablePane


# The Images and Volumes panes (``panes/storage.py``), by CSS type name: their module loads when
# the first of them is shown, not at start-up.
STORED = "StoredPane"


class ConsoleFooter(Footer):
    """The footer with ``?`` and ``q`` first: at 80 columns the pane's keys are cut off, never these two.

    Made again only when the keys it shows change. Textual's footer is made again on every
    bindings signal (the focus set at start, the app's focus, a pane's ``refresh_bindings``):
    four times in the console's first second, each a new row of widgets and a layout of the
    whole screen (all 50 lines written to the terminal again), competing with a long list
    still being put on screen."""

    FIRST = ("help", "quit")
    _shown: tuple | None = None  # what the keys shown were made from
    composed = 0  # how many times they were made (tests)

    def _keys(self) -> tuple:
        return tuple((binding.key, binding.description, binding.action, enabled, tooltip)
                     for _, binding, enabled, tooltip in self.screen.active_bindings.values()
                     if binding.show or binding.key == self.app.COMMAND_PALETTE_BINDING)

    def bindings_changed(self, screen) -> None:
        if self._shown is not None and screen is self.screen and self._keys() == self._shown:
            return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._keys()
            self.composed += 1
        keys = list(super().compose())
        first = sorted((k for k in keys if isinstance(k, FooterKey) and k.action in self.FIRST),
                       key=lambda k: self.FIRST.index(k.action))
        yield from first + [k for k in keys if k not in first]


class ConsoleScreen(ConsoleActions, Screen):
    AUTO_FOCUS = "#containers KeyTable"  # focused as the screen starts: its keys are in the first footer

    def __init__(self) -> None:
        super().__init__()
        self.engines: dict[str, EngineState] = {}
        self.nodes = ()
        self._loaded_once = False
        self._frozen = False  # gc.freeze() after the first frame of a long list, until the rest is on screen
        self._reported_once = False
        # What loads client libraries in threads (discovery, the Consul report) waits until the
        # whole container list is on screen: meanwhile the cursor answers without competition.
        self._after_load: list[Callable[[], object]] = []

    # -- layout -----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(id="header")
        with Horizontal(id="main"):
            with Vertical(id="left"):
                yield self._slot("clusters")
                yield self._slot("networks")
            with Vertical(id="right"):
                yield self._slot("containers")
                yield self._slot("system")
        yield ConsoleFooter()

    @staticmethod
    def _slot(home: str) -> ContentSwitcher:
        return ContentSwitcher(PANES[home].make(), id=f"slot-{home}", initial=home)

    def pane(self, name: str) -> TablePane:
        return self.query_one(f"#{name}", TablePane)

    def focused_pane(self) -> TablePane | None:
        node = self.focused
        while node is not None:
            if isinstance(node, TablePane):
                return node
            node = node.parent
        return None

    def _focused_slot(self) -> ContentSwitcher:
        node = self.focused
        while node is not None:
            if isinstance(node, ContentSwitcher) and (node.id or "").startswith("slot-"):
                return node
            node = node.parent
        return self.query_one("#slot-containers", ContentSwitcher)

    async def show_pane(self, pane_id: str) -> TablePane:
        """Show a pane and focus it: a home pane in its own slot; another where it is shown
        already, else in the focused pane's slot (made anew there when it was in another)."""
        entry = PANES[pane_id]
        if entry.home:
            slot = self.query_one(f"#slot-{pane_id}", ContentSwitcher)
        else:
            here = self._focused_slot()
            found = self.query(f"#{pane_id}")
            pane = found.first(TablePane) if found else None
            if pane is not None and (pane.parent is here or pane.display):
                slot = pane.parent
            else:
                if pane is not None:
                    await pane.remove()
                slot = here
                await slot.add_content(entry.make())
        slot.current = pane_id
        pane = self.pane(pane_id)
        # Focused now, not at the next idle (``Widget.focus``): the keys typed right after the
        # pane's key (``5 N`` pasted) are already queued, handed to the table focused before;
        # each comes back to the app for its bindings, which are looked up from what has focus
        # then. Focus set later would give ``N`` to the old pane (Run a container).
        self.set_focus(pane.table)
        if not entry.home and self.maximized is not None and self.maximized is not pane:
            self.maximize(pane, container=False)  # zoomed: the pane shown takes the zoom
        return pane

    async def run_pane_action(self, name: str, action: str) -> None:
        """Run a pane's action as its key would, with the pane shown and focused (the command palette)."""
        pane = await self.show_pane(name)
        await self.app.run_action(action, pane)

    def zoom(self) -> None:
        pane = self.focused_pane()
        if pane is None:
            return
        if self.maximized is pane:
            self.minimize()
        else:
            self.maximize(pane, container=False)

    @property
    def _panes_ready(self) -> bool:
        """False while the app is shutting down and the panes are gone."""
        return not self.app._exit and self.is_attached and bool(self.query("#clusters"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    def _on_resize(self, event: events.Resize) -> None:
        """A Resize to the size the screen is already laid out at changes nothing: Textual sends
        one for the screen's own first layout and one for the terminal's size at start, and each
        would lay out and write the whole screen again (22 KB at 160x50, over a slow link)."""
        if event.size == self._compositor.size:
            event.prevent_default()  # Screen's own handler is the one that lays out again

    # -- the session ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.start()

    def start(self) -> None:
        """Show the app's session: what was fetched at start-up at once, then the rest; follow its events."""
        session = self.app.session
        self._draw_header()
        self.pane("containers").qualify = session.multi_node
        self.pane("networks").qualify = session.multi_node
        self._redraw_clusters()  # the cluster in use and its engines, before anything answers
        if self.app.discover:
            self._after_load.append(lambda: self.pane("clusters").find_clusters(self.app.config, self.app.session.spec))
        ready = None if session.spec.discover_nodes else session.take_prefetched()
        if ready is not None:
            # Fetched while the interface was being built: the first frame shows it.
            self._loaded(Loaded(ready))
        if ready is None:
            self.load()
        elif ready.partial:
            self.call_after_refresh(self._load_rest)  # the rest of a long list, once the first frame is out
        else:
            self._reload_others()  # (a cluster switch) the panes 5+ shown read the new cluster
        self._follow_events()

    def on_screen_resume(self) -> None:
        # Textual writes the first frame as the screen resumes (``Screen._on_screen_resume``, which
        # runs after this handler): right after it, the engine is asked for the rest of a long list.
        # ``_load_rest`` comes 0.05 s later, after the footer's and the scroll bars' second layout;
        # the engine's answer takes longer than that (0.2 s for 5,000 containers).
        self.call_next(self.app.session.ask_rest)

    def _load_rest(self) -> None:
        """After the first frame: what start-up built (modules, styles, widgets) is taken out of
        the garbage collector's passes (``gc.freeze``) until the whole list is on screen
        (``_thaw``). The whole list brings some hundred thousand objects; each full pass they set
        off walked all of start-up's too (decoding 5,002 containers: 0.09 s with it, 0.02 s
        without, measured with a heap of 300,000 objects)."""
        gc.freeze()
        self._frozen = True
        self.load()

    def _thaw(self) -> None:
        """Once the whole list is on screen, start-up's objects go back to the collector: widgets
        dropped later (a cluster switch) and held in cycles would otherwise never be freed."""
        if self._frozen:
            self._frozen = False
            gc.unfreeze()

    def stop(self) -> None:
        """Stop the session's loops here (streams closed: the threads end at once) and the workers on it."""
        self.app.session.stop_events()
        if self._panes_ready:
            self.pane("system").stop_watch()
        for worker in list(self.app.workers):
            if worker.group in ("load", "consul", "details"):
                worker.cancel()

    def clear(self) -> None:
        """Forget the cluster shown (a switch): the next ``start`` shows another."""
        self.engines = {}
        self.nodes = ()
        self._loaded_once = False
        self._reported_once = False
        for entry in PANES.values():
            if entry.id != "clusters" and (found := self.query(f"#{entry.id}")):
                found.first(TablePane).replace_all([])

    def _draw_header(self) -> None:
        session = self.app.session
        spec = session.spec
        text = Text()
        for part, style in header_parts(spec, read_only=session.read_only, served=self.app.is_web):
            text.append(part, style=style)
        header = self.query_one("#header", Static)
        header.update(text)
        if spec.colour:
            try:
                header.styles.background = spec.colour
            except Exception:  # noqa: BLE001 - an unknown colour name keeps the default
                pass

    # -- loading ----------------------------------------------------------------------

    def load(self) -> None:
        """Read the cluster again (r, an engine back, a start): the home panes' lists here, the others' by their ``reload``."""
        self._load(self.app.session, self._loaded_once)
        self._reload_others()

    def _reload_others(self) -> None:
        for entry in PANES.values():
            if not entry.home and (found := self.query(f"#{entry.id}")):
                found.first(TablePane).reload()

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, session, loaded_once: bool) -> None:
        added = session.expand_nodes()
        # At start, a long list's first page goes on screen while the rest comes (``Snapshot.partial``).
        first_page = None if loaded_once else (lambda page: self.post_message(Loaded(page)))
        snapshot = session.snapshot(first_page)
        if added and any(key not in {e.key for e in snapshot.engines} for key in added):
            snapshot = session.snapshot()  # the prefetched one predates the new nodes
        if not get_current_worker().is_cancelled:
            self.post_message(Loaded(snapshot))

    def _follow_events(self) -> None:
        """Each engine's event loops, on the session's dedicated threads (new nodes too)."""
        session = self.app.session
        session.follow_events(
            on_containers=lambda k, found, gone: post_from_thread(self, ContainersChanged(k, found, gone)),
            on_networks=lambda k: post_from_thread(self, NetworksChanged(k, session.gateways[k].networks())),
            on_down=lambda k, sentence: post_from_thread(self, EngineDown(k, sentence, time.time())),
            on_up=lambda k: post_from_thread(self, EngineUp(k)),
            on_services=lambda k: post_from_thread(self, ServicesChanged(k)),
            on_storage=lambda k, kind: post_from_thread(self, StorageChanged(k, kind)),
        )

    def _ours(self, endpoint: str) -> bool:
        """News of an engine of the session shown (not of a cluster switched away from), while the panes are up."""
        return self._panes_ready and endpoint in self.app.session.gateways

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        if not self._panes_ready:
            return
        session = self.app.session
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
        self.pane("containers").qualify = session.multi_node
        self.pane("networks").qualify = session.multi_node
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
        if not snap.partial:
            containers.when_applied(self._thaw)
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
        if not self._ours(message.endpoint):
            return
        gone = {f"{message.endpoint}|{cid}" for cid in message.gone}
        self.pane("containers").update_items(message.found, gone)
        self._derived(message.found, gone)

    @on(ServicesChanged)
    def _services_changed(self, message: ServicesChanged) -> None:
        if not self._ours(message.endpoint):
            return
        self.pane("networks").addresses_changed()  # tasks, virtual IPs, load balancers came or went
        if found := self.query("#services"):
            found.first(TablePane).changed()  # type: ignore[attr-defined]

    @on(StorageChanged)
    def _storage_changed(self, message: StorageChanged) -> None:
        """Images or volumes came or went: their pane reads its list again (if it is up at all)."""
        if not self._ours(message.endpoint):
            return
        for stored in self.query(STORED):
            if stored.KIND == message.kind:
                stored.stored_changed()

    @on(NetworksChanged)
    def _networks_changed(self, message: NetworksChanged) -> None:
        if not self._ours(message.endpoint):
            return
        pane = self.pane("networks")
        # A worker lists only the swarm networks it uses; only a manager's list says one is gone,
        # and a swarm network's row, once shown, stays a manager's (a worker's copy goes when its
        # containers leave the network, and the row must not point at it then).
        state = self.engines.get(message.endpoint)
        manager = state is not None and state.info is not None and state.info.is_manager
        fresh = {n.key: n for n in message.networks
                 if manager or n.scope != "swarm" or n.key not in pane.items}
        stale = [k for k, n in pane.items.items() if n.endpoint == message.endpoint and k not in fresh
                 and (n.scope != "swarm" or manager)]
        pane.update_items(fresh.values(), stale)

    @on(EngineDown)
    def _engine_down(self, message: EngineDown) -> None:
        if not self._ours(message.endpoint):
            return
        old = self.engines.get(message.endpoint)
        url = self.app.session.gateways[message.endpoint].url
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
        gateways = self.app.session.gateways
        if message.endpoint not in gateways:
            return
        self.notify(f"{gateways[message.endpoint].url} answers again.", title="Reconnected")
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
        self.pane("networks").set_counts(containers.items.values())
        guard = self.app.session.guard
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
        for stored in self.query(STORED):  # Images, Volumes: who uses each row, without a read
            stored.containers_changed(list(containers.items.values()))
        if not self._reported_once:
            # The first report waits for the whole list: it imports the Consul client.
            self._reported_once = True
            self._after_load.append(self.consul_report)
        elif new_rows or stale:
            self.consul_report()
        self._redraw_clusters()

    def _redraw_clusters(self) -> None:
        self.pane("clusters").show_cluster(self.app.session, self.engines, self.pane("containers").items)

    # -- the System pane's Consul report --------------------------------------------------

    def consul_report(self) -> None:
        """A new report from the System pane, on what the console holds now (taken here, on the main thread)."""
        if not self._panes_ready:
            return
        snapshot = Snapshot(
            engines=tuple(s for s in self.engines.values() if s is not None),
            containers=tuple(self.pane("containers").items.values()),
            networks=tuple(self.pane("networks").items.values()),
            nodes=tuple(self.nodes),
        )
        self.pane("system").consul_report(self.app.session, snapshot)

    @on(ConsulChanged)
    def _consul_changed(self) -> None:
        self.consul_report()
