"""Pane 2, Networks: the cluster's networks, with how many containers each holds."""

from __future__ import annotations

from collections import Counter

from textual.binding import Binding

from carina_tui.core.models import NetworkInfo
from carina_tui.ui.messages import DetailsRequested, RemoveRequested
from carina_tui.ui.tables import TablePane, natural


class NetworksPane(TablePane[NetworkInfo]):
    TITLE = "Networks"
    EMPTY = "No networks."
    SORTS = ("name", "driver", "scope", "subnet", "count")
    DEFAULT_SORT = "name"
    KEEP = ("name", "driver", "count", "subnet")
    STALE_COLUMN = "name"
    COLUMNS = (
        ("name", "Name", None),
        ("driver", "Driver", None),
        ("scope", "Scope", None),
        ("subnet", "Subnet", None),
        ("count", "Ctrs", None),
    )

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

    qualify = False  # node/name for a node's own (local) networks, in clusters of several nodes

    def cells(self, n: NetworkInfo):
        return (n.display_name(self.qualify), n.driver, n.scope, n.subnets_text, str(self.counts.get(n.id, 0)))

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
