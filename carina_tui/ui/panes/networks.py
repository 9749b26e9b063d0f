"""Pane 2, Networks: the cluster's networks, with how many containers each holds and, for a swarm
network, how many addresses of its subnet are in use across the nodes (``Addrs``).

The rows come from the console screen; the address use is the pane's own: read in an
``addresses`` worker (``services.overlay.address_uses``: a verbose inspect per engine and swarm
network) once the list is on screen, and again when networks, services or the containers on the
networks change, at most once per ``ADDRESS_DELAY`` however many events come (a read under way
when more news comes is followed by one more). From ``WARN_AT`` (80 %) the cell is marked and the
network's details say what fails next.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.binding import Binding
from textual.message import Message

from carina_tui.core.models import NetworkInfo
from carina_tui.ui.messages import DetailsRequested, RemoveRequested
from carina_tui.ui.columns import natural
from carina_tui.ui.tables import TablePane

if TYPE_CHECKING:  # pragma: no cover
    from carina_tui.core.overlay_addresses import AddressUse

WARNING_STYLE = "bold red"  # as the swarm view (W) marks a subnet filling up


@dataclass
class AddressesRead(Message):
    """What an ``addresses`` worker found: network key -> its address use, for ``session``."""

    uses: dict[str, AddressUse] | None
    session: object


class NetworksPane(TablePane[NetworkInfo]):
    TITLE = "Networks"
    EMPTY = "No networks."
    SORTS = ("name", "driver", "scope", "subnet", "count")
    DEFAULT_SORT = "name"
    KEEP = ("name", "driver", "count", "subnet", "addrs")
    STALE_COLUMN = "name"
    COLUMNS = (
        ("name", "Name", None),
        ("driver", "Driver", None),
        ("scope", "Scope", None),
        ("subnet", "Subnet", None),
        ("count", "Ctrs", None),
        ("addrs", "Addrs", None),
    )
    ADDRESS_DELAY = 0.5  # seconds from the first news to the read of the address use it calls for

    BINDINGS = [
        Binding("enter", "details", "Details", id="networks.details", show=False),
        Binding("n", "create", "New network", id="networks.create"),
        Binding("c", "connect", "Connect container", id="networks.connect"),
        Binding("x", "disconnect", "Disconnect", id="networks.disconnect"),
        Binding("d", "remove", "Remove", id="networks.remove"),
        Binding("p", "prune", "Prune", id="networks.prune"),
    ]
    MUTATING = frozenset({"create", "connect", "disconnect", "remove", "prune"})

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.counts: Counter[str] = Counter()
        self.uses: dict[str, AddressUse] = {}  # swarm network key -> its address use (the last read)
        self._addresses_due = None  # the timer of the next read, while one is due
        self._addresses_reading = False
        self._addresses_again = False  # news came while a read was under way

    qualify = False  # node/name for a node's own (local) networks, in clusters of several nodes

    def cells(self, n: NetworkInfo):
        return (n.display_name(self.qualify), n.driver, n.scope, n.subnets_text, str(self.counts.get(n.id, 0)),
                self.addresses_cell(n))

    def addresses_cell(self, n: NetworkInfo):
        """``9/253`` for a swarm network (``≥`` when a node did not answer), marked from 80 %; blank
        for a node's own network and before the first read."""
        use = self.uses.get(n.key) if n.scope == "swarm" else None
        if use is None:
            return ""
        text = f"{'≥' if use.unseen else ''}{use.used}/{use.capacity}"
        return Text(text, style=WARNING_STYLE) if use.warning else text

    def sort_key(self, n: NetworkInfo, column: str, cells):
        if column == "count":
            return (-self.counts.get(n.id, 0), natural(n.name))  # the busiest first
        return (super().sort_key(n, column, cells), natural(n.name))

    def endpoint_of(self, n: NetworkInfo) -> str:
        return "" if n.scope == "swarm" else n.endpoint  # one row for the whole swarm

    def set_counts(self, containers) -> None:
        counts: Counter[str] = Counter()
        for c in containers:
            for att in c.networks:
                counts[att.network_id or att.network] += 1
        if counts != self.counts:
            self.counts = counts
            self.rerender()
            self.addresses_changed()  # a task or an attached container came or went

    # -- address use (the pane's own worker) ----------------------------------------------

    def replace_all(self, items, *, expected=None) -> None:
        super().replace_all(items, expected=expected)
        self.addresses_changed()

    def update_items(self, changed, removed=()) -> None:
        super().update_items(changed, removed)
        self.addresses_changed()

    def addresses_changed(self) -> None:
        """News that may change the address use: read it again in ``ADDRESS_DELAY``, once for all
        the news until then."""
        if self._addresses_reading:
            self._addresses_again = True
        elif self._addresses_due is None and self.is_mounted:
            self._addresses_due = self.set_timer(self.ADDRESS_DELAY, self._read_addresses)

    def _read_addresses(self) -> None:
        self._addresses_due = None
        swarm = [n for n in self.items.values() if n.scope == "swarm" and n.ipam]
        if not swarm:
            if self.uses:
                self.uses = {}
                self.rerender()
            return
        self._addresses_reading = True
        self._addresses(self.app.session, swarm)

    @work(thread=True, group="addresses", exit_on_error=False)
    def _addresses(self, session, networks: list[NetworkInfo]) -> None:
        from carina_tui.services.overlay import address_uses

        uses = None
        try:
            uses = address_uses(session, networks)
        finally:
            self.post_message(AddressesRead(uses, session))  # None: the read failed (the worker says why)

    @on(AddressesRead)
    def _addresses_read(self, message: AddressesRead) -> None:
        message.stop()
        self._addresses_reading = False
        if self._addresses_again:  # news came while it was read: once more
            self._addresses_again = False
            self.addresses_changed()
        if message.uses is None or message.session is not self.app.session:
            return  # failed, or read on a cluster switched away from
        if message.uses != self.uses:
            self.uses = message.uses
            self.rerender()

    def action_details(self) -> None:
        net = self.selected
        if net is not None:
            self.post_message(DetailsRequested(net))

    def action_create(self) -> None:
        from carina_tui.ui.forms import open_create_network

        open_create_network(self.app)

    def action_connect(self) -> None:
        if (net := self.target()) is not None:
            from carina_tui.ui.forms import open_connect

            open_connect(self.app, network=net)

    def action_disconnect(self) -> None:
        if (net := self.target()) is not None:
            from carina_tui.ui.forms import open_disconnect

            open_disconnect(self.app, net)

    def action_remove(self) -> None:
        if (net := self.target()) is not None:
            self.post_message(RemoveRequested(net))

    def action_prune(self) -> None:
        from carina_tui.ui.forms import open_prune

        open_prune(self.app)
