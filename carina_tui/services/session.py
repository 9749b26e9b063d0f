"""A session: one cluster, its engines (one gateway per endpoint) and the guard.

Shared by the console and the headless commands. No Textual here: the console
calls these methods from thread workers.
"""

from __future__ import annotations

import functools
import threading
import time
from urllib.parse import urlsplit
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

from carina_tui.core.audit import AuditLog
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import CarinaError, EngineUnreachable
from carina_tui.core.models import ContainerInfo, EngineEvent, EngineInfo, NetworkInfo, NodeInfo
from carina_tui.core.rules import DEFAULT_RULES, Rule, merge_rules
from carina_tui.gateways import head_start
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.gateways.unix_http import EarlyAnswers
from carina_tui.guard import Guard
from carina_tui.runtime import run_each, start_loop


@dataclass(frozen=True)
class EngineState:
    """One endpoint of the cluster: what it said about itself, or why it did not answer."""

    key: str
    url: str
    info: EngineInfo | None = None
    error: str = ""
    since: float = 0.0  # unreachable: when it last answered (what the console still shows is from then)

    @property
    def reachable(self) -> bool:
        return self.info is not None


@dataclass(frozen=True)
class Snapshot:
    engines: tuple[EngineState, ...]
    containers: tuple[ContainerInfo, ...] = ()
    networks: tuple[NetworkInfo, ...] = ()
    nodes: tuple[NodeInfo, ...] = ()
    errors: tuple[str, ...] = field(default=())  # the sentences of the engines that did not answer
    partial: bool = False  # only the first page of a long list (the newest running ones): the rest follows
    expected: int = 0  # how many containers the engines said they hold (``info``)


RELEASE_AFTER = 3.0  # seconds a prefetched first page waits for the console to ask for the rest


class Session:
    def __init__(
        self,
        spec: ClusterSpec,
        *,
        rules: tuple[Rule, ...] = DEFAULT_RULES,
        read_only: bool = False,
        audit: AuditLog | None = None,
    ) -> None:
        self.spec = spec
        self.read_only = read_only or spec.read_only
        self._prefetched = None
        # Per engine, its time when its last snapshot began: its events are followed from then on,
        # so nothing that happened between that snapshot and the stream's start goes unseen.
        self.clocks: dict[str, str] = {}
        self.followers: dict[str, EventFollower] = {}
        self.gateways: dict[str, DockerGateway] = {
            url: DockerGateway(url, key=url, tls=spec.tls) for url in spec.endpoints
        }
        self.guard = Guard(
            self.gateways,
            rules=merge_rules(rules, spec.rules),
            read_only=self.read_only,
            audit=audit,
            cluster=spec.name,
        )

    def prefetch(self, early: EarlyAnswers | None = None) -> None:
        """Start the first snapshot in a background thread now, while the interface is still
        being imported and built; the console takes it over (``take_prefetched``, ``snapshot``).
        A long list comes in two: a first page, then the whole. ``early``: the answers to its reads
        sent ahead by the command line (``head_start``), taken instead of asking again."""
        if early is not None:
            for gw in self.gateways.values():
                gw.take_early(early)
        page: Future = Future()
        first = threading.Event()
        release = threading.Event()

        def on_page(snapshot: Snapshot) -> None:
            page.set_result(snapshot)
            first.set()
            # The whole list is asked for when the console asks for it (``snapshot()``), after
            # its first frame; should it never ask, soon all the same.
            release.wait(RELEASE_AFTER)

        def done(_) -> None:
            if not page.done():
                page.set_result(None)  # no first page: the whole list came at once
            first.set()
            if early is not None:
                early.forget()  # what was sent ahead and not taken (a long list is large)
                for gw in self.gateways.values():
                    gw.take_early(None)

        whole = _in_thread(lambda: self._snapshot(on_page), name="carina-prefetch")
        whole.add_done_callback(done)
        self._prefetched = (page, whole, first, release)

    def wait_prefetch(self, timeout: float) -> Snapshot | None:
        """The first prefetched snapshot (a first page, or the whole) if it is ready within
        ``timeout`` (it stays to be taken)."""
        if self._prefetched is None:
            return None
        page, whole, first, _ = self._prefetched
        if not first.wait(timeout):
            return None
        if whole.done():
            return None if whole.exception() is not None else whole.result()
        return page.result()

    def take_prefetched(self) -> Snapshot | None:
        """What the prefetch has now, never waiting: the whole snapshot (taken once), else the
        first page (``partial``; then ``snapshot()`` gives the whole), else None."""
        if self._prefetched is None:
            return None
        page, whole, first, release = self._prefetched
        if whole.done():
            if whole.exception() is not None:
                return None
            self._prefetched = None
            return whole.result()
        if page.done() and page.result() is not None:
            self._prefetched = (_taken(), whole, first, release)
            return page.result()
        return None

    def ask_rest(self) -> None:
        """The console's first frame is out: the rest of a long list is asked for now, not when the
        console takes it (``snapshot``, once Textual has done what follows a first frame)."""
        if self._prefetched is not None:
            _, _, _, release = self._prefetched
            release.set()

    @functools.cached_property
    def swarm(self):
        """The cluster's Swarm services, read from a manager (``services/swarm.py``)."""
        from carina_tui.services.swarm import Swarm

        return Swarm(self)

    @property
    def multi_node(self) -> bool:
        return len(self.gateways) > 1

    def _each(self, fn: Callable[[DockerGateway], object]) -> dict[str, object]:
        """Run ``fn`` on every engine at once (a slow node must not hold up the others)."""
        # Daemon threads: a request to a node that hangs never holds the process at exit.
        items = list(self.gateways.items())
        results = run_each(lambda item: _capture(fn, item[1]), items, workers=8, name="carina-each")
        return {key: result for (key, _), result in zip(items, results)}

    def engine_states(self) -> tuple[EngineState, ...]:
        results = self._each(lambda gw: gw.info())
        return tuple(self._state(key, r) for key, r in results.items())

    def _state(self, key: str, result: object) -> EngineState:
        url = self.gateways[key].url
        if isinstance(result, CarinaError):
            return EngineState(key, url, error=str(result))
        return EngineState(key, url, info=result)  # type: ignore[arg-type]

    def expand_nodes(self) -> list[str]:
        """With ``discover_nodes``, add an endpoint for every swarm node a manager lists
        (``Status.Addr`` + ``node_port``, the same TLS material). Returns the new keys."""
        if not self.spec.discover_nodes:
            return []
        added: list[str] = []
        for gw in list(self.gateways.values()):
            try:
                if not gw.info().is_manager:
                    continue
                nodes = gw.nodes()
            except CarinaError:
                continue
            known_hosts = {urlsplit(g.url).hostname for g in self.gateways.values()}
            for node in nodes:
                if not node.addr or node.addr in known_hosts or node.addr in ("0.0.0.0", "127.0.0.1"):
                    continue
                url = f"tcp://{node.addr}:{self.spec.node_port}"
                self.gateways[url] = DockerGateway(url, key=url, tls=self.spec.tls, node=node.hostname)
                known_hosts.add(node.addr)
                added.append(url)
            break
        return added

    def snapshot(self, on_page: Callable[[Snapshot], None] | None = None) -> Snapshot:
        """Everything the panes show, from every engine, in one round per engine. With
        ``on_page``, a long list's first page is handed to it first (see ``head_start.WHOLE_AT_ONCE``)."""
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is None:
            return self._snapshot(on_page)
        page, whole, _, release = prefetched
        if on_page is not None:
            first = page.result()
            if first is not None and not whole.done():
                on_page(first)
        release.set()
        return whole.result()

    def _snapshot(self, on_page: Callable[[Snapshot], None] | None = None) -> Snapshot:

        def load(gw: DockerGateway):
            # In this order, as ``head_start`` sends them ahead of the console.
            info = gw.info()  # first: it names the node that the rows carry
            self.clocks[gw.key] = info.clock
            page = head_start.first_list(info.containers, info.running) if on_page is not None else {}
            big = bool(page)  # a long list: a first page (head_start.WHOLE_AT_ONCE)
            containers = gw.containers(**page)  # type: ignore[arg-type]
            networks = gw.networks()
            nodes = gw.nodes() if info.is_manager else []
            return info, containers, networks, nodes, big

        results = self._each(load)
        big = [key for key, r in results.items() if not isinstance(r, CarinaError) and r[4]]  # type: ignore[index]
        if big:
            on_page(self._assemble(results, partial=True))  # type: ignore[misc]
            # Only now: asked for with the page, the engine answers both more slowly; and while
            # the console draws its first frame, the engine's work competes with it for the CPU.
            lists = {key: _in_thread(self.gateways[key].containers) for key in big}
            results.update({key: _whole(results[key], future) for key, future in lists.items()})
        return self._assemble(results)

    def _assemble(self, results: dict[str, object], partial: bool = False) -> Snapshot:
        engines, containers, networks, nodes, errors = [], [], {}, {}, []
        for key, result in results.items():
            if isinstance(result, CarinaError):
                engines.append(self._state(key, result))
                errors.append(str(result))
                continue
            info, cs, ns, nd, _ = result  # type: ignore[misc]
            engines.append(EngineState(key, self.gateways[key].url, info=info))
            containers.extend(cs)
            for n in ns:
                # A swarm network shows on a worker only while the worker uses it: a manager's row wins.
                if info.is_manager and n.scope == "swarm":
                    networks[n.key] = n
                else:
                    networks.setdefault(n.key, n)
            for node in nd:
                nodes.setdefault(node.id, node)
        return Snapshot(
            engines=tuple(engines),
            containers=tuple(containers),
            networks=tuple(networks.values()),
            nodes=tuple(sorted(nodes.values(), key=lambda n: n.hostname)),
            errors=tuple(errors),
            partial=partial,
            expected=sum(e.info.containers for e in engines if e.info is not None),
        )

    def network_gateway(self, network: NetworkInfo) -> DockerGateway:
        """The engine a network's row is read through: its own; a swarm-scoped network's, a manager
        (the guard removes it there too)."""
        return self.guard.network_home(network)

    def containers_on(self, key: str, ids: list[str]) -> tuple[list[ContainerInfo], set[str]]:
        """Fresh rows for ``ids`` on one engine, and the ids that are gone."""
        found = self.gateways[key].containers(ids)
        return found, set(ids) - {c.id for c in found}

    def follow_events(self, **callbacks) -> list[str]:
        """Follow the events of every engine not followed yet (``EventFollower``'s callbacks);
        returns the keys started. Safe to call again when nodes were added."""
        started = []
        for key in self.gateways:
            if key not in self.followers:
                self.followers[key] = EventFollower(self, key, **callbacks)
                self.followers[key].start()
                started.append(key)
        return started

    def stop_events(self) -> None:
        """Stop every engine's loops: their streams are closed, their threads end at once."""
        followers, self.followers = self.followers, {}
        for follower in followers.values():
            follower.stop()

    def close(self) -> None:
        self.stop_events()
        for gw in self.gateways.values():
            gw.close()


def _capture(fn, gw):
    try:
        return fn(gw)
    except CarinaError as err:
        return err


def _in_thread(fn: Callable[[], object], name: str = "carina-list") -> Future:
    """``fn()`` in a daemon thread of its own, from now."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn())
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def _whole(result: tuple, whole: Future) -> tuple | CarinaError:
    """A first-page result with its whole list in place of the page (or the list's error)."""
    info, _, networks, nodes, _ = result
    try:
        return info, whole.result(), networks, nodes, False
    except CarinaError as err:
        return err


def _taken() -> Future:
    """The first page, once the console has taken it: not to be handed over again."""
    future: Future = Future()
    future.set_result(None)
    return future


# The image and volume events after which the Images or Volumes pane reads its list again (not
# ``mount``/``unmount``, sent with every container start, nor ``push``/``save``).
IMAGE_LIST_CHANGES = frozenset({"pull", "tag", "untag", "delete", "import", "load", "create", "prune"})
VOLUME_LIST_CHANGES = frozenset({"create", "destroy", "prune"})

# How many more rounds (of ``window`` each) a container that died and is still listed as running
# is listed again.
DIED_RELISTS = 12


class EventFollower:
    """The long-lived loops of one engine; hands coalesced batches of changes to its callbacks.

    Two loops, each on a dedicated daemon thread (``start()``): ``follow``
    (``carina-events:<endpoint>``) reads the stream (and, while the engine is away,
    pings until it answers again), ``sync`` (``carina-sync:<endpoint>``) wakes on
    events, waits ``window`` seconds to gather more, then fetches only what
    changed. ``stop()`` closes the stream, so both end at once.
    """

    def __init__(
        self,
        session: Session,
        key: str,
        *,
        on_containers: Callable[[str, list[ContainerInfo], set[str]], None],
        on_networks: Callable[[str], None],
        on_down: Callable[[str, str], None],
        on_up: Callable[[str], None],
        on_services: Callable[[str], None] | None = None,
        on_storage: Callable[[str, str], None] | None = None,
        window: float = 0.25,
        retry: float = 1.0,
    ) -> None:
        self.session = session
        self.key = key
        self.gateway = session.gateways[key]
        self.on_containers = on_containers
        self.on_networks = on_networks
        self.on_down = on_down
        self.on_up = on_up
        self.on_services = on_services  # a service, a node, or a task's container changed (issue 15)
        self.on_storage = on_storage  # (key, "images" | "volumes"): that list changed on this engine
        self.window = window
        self.retry = retry
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._containers: set[str] = set()
        self._networks = False
        # Containers whose last event was a death: the engine says "die" before its list says so.
        self._died: dict[str, int] = {}
        self._services = False
        self._storage: set[str] = set()
        self._stream = None
        self.threads: tuple[threading.Thread, ...] = ()

    def start(self) -> None:
        self.threads = (start_loop(f"carina-events:{self.key}", self.follow),
                        start_loop(f"carina-sync:{self.key}", self.sync))

    def join(self, timeout: float) -> bool:
        """Wait up to ``timeout`` for both threads to end; True when they did."""
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing from another thread may race the reader
                pass

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _remember(self, stream) -> None:
        self._stream = stream
        if self._stop.is_set():
            stream.close()

    def _note(self, event: EngineEvent) -> None:
        with self._lock:
            if event.type == "container":
                self._containers.add(event.id)
                if event.action == "commit":  # docker commit: a new image (no image event says so)
                    self._storage.add("images")
                if event.action == "die":
                    self._died[event.id] = 0
                elif event.action in ("start", "restart", "destroy"):
                    self._died.pop(event.id, None)
            elif event.type == "network":
                self._networks = True
            elif event.type in ("service", "node"):
                self._services = True
            elif event.type == "image" and event.action in IMAGE_LIST_CHANGES:
                self._storage.add("images")
            elif event.type == "volume" and event.action in VOLUME_LIST_CHANGES:
                self._storage.add("volumes")
            else:
                return  # a volume mounted, an image pushed or saved: no list changed
        self._wake.set()

    def follow(self) -> None:
        down = False
        # The first stream starts where the snapshot shown began (``Session.clocks``); after an
        # outage, the console reads everything again (``on_up``).
        since = self.session.clocks.get(self.key, "")
        while not self._stop.is_set():
            try:
                if down:
                    self.gateway.ping()
                    down = False
                    self.on_up(self.key)
                events, since = self.gateway.events(on_stream=self._remember, since=since), ""
                for event in events:
                    self._note(event)
                    if self._stop.is_set():
                        return
                if self._stop.is_set():
                    return
                raise EngineUnreachable(f"The event stream of {self.gateway.url} ended.")
            except CarinaError as err:
                if self._stop.is_set():
                    return
                if not down:
                    down = True
                    self.on_down(self.key, str(err))
                self._stop.wait(self.retry)

    def _list_again_if_behind(self, found: list[ContainerInfo], gone: set[str]) -> None:
        """The engine sends a container's "die" event before its list stops saying "running"
        (seen here: a list 40 ms after the event still said running, and no event follows to
        correct it). Such a container is listed again with the next round, a few times at most."""
        with self._lock:
            for cid in gone:
                self._died.pop(cid, None)
            for c in found:
                tries = self._died.get(c.id)
                if tries is None:
                    continue
                if c.state != "running" or tries >= DIED_RELISTS:
                    del self._died[c.id]
                else:
                    self._died[c.id] = tries + 1
                    self._containers.add(c.id)
                    self._wake.set()

    def sync(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.wait(self.window):
                return
            self._wake.clear()
            with self._lock:
                ids, self._containers = self._containers, set()
                networks, self._networks = self._networks, False
                services, self._services = self._services, False
                storage, self._storage = self._storage, set()
            try:
                if ids:
                    found, gone = self.session.containers_on(self.key, sorted(ids))
                    self._list_again_if_behind(found, gone)
                    self.on_containers(self.key, found, gone)
                if networks:
                    self.on_networks(self.key)
                if services and self.on_services is not None:
                    self.on_services(self.key)
                if self.on_storage is not None:
                    for kind in sorted(storage):
                        self.on_storage(self.key, kind)
            except CarinaError:
                # The follower notices the engine going away and reports it.
                continue
