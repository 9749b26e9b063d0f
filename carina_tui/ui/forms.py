"""The forms of the Networks and Containers panes: create, connect, disconnect, prune, run.

Every form is a modal screen: the first field has focus, ``tab`` moves,
``ctrl+s`` (or ``enter`` in a text field) submits from anywhere, ``escape``
cancels. On submit the values go to a thread worker that reads what it needs
fresh from the engine, validates them (``carina_tui.core.validate``) and calls
the guard. A validation error, a refusal or what the engine still refuses comes
back as a sentence on the form, which keeps its values; on success the form
closes and the panes follow the engine's events.

Which engine: the only one of a single-endpoint session; with several, the
engine chosen on the form (create, run), or the one owning the selected object.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Checkbox, Input, Label, OptionList, Select, SelectionList, Static
from textual.widgets.option_list import Option

from carina_tui.core import validate
from carina_tui.core.errors import CarinaError, NotFound, ValidationError
from carina_tui.core.models import NO_ALIASES, NOT_JOINABLE, SWARM_PLUMBING, ContainerInfo, NetworkInfo
from carina_tui.core.outcome import SETTLE, action_outcome
from carina_tui.core.specs import NetworkSpec, RunSpec
from carina_tui.guard import Outcome
from carina_tui.ui.screens import ConfirmScreen, TypeAheadScreen

if TYPE_CHECKING:  # pragma: no cover
    from carina_tui.ui.app import CarinaApp

# -- which engine --------------------------------------------------------------------------


def engine_choices(app: CarinaApp) -> list[tuple[str, str]]:
    """(label, endpoint key) for every engine of the session, named as the engine calls itself."""
    out = []
    for key, gw in app.session.gateways.items():
        state = app.engines.get(key)
        name = (state.info.name if state is not None and state.info is not None else "") or gw.node
        out.append((f"{name} ({gw.url})" if name else gw.url, key))
    return out


def only_engine(app: CarinaApp) -> str:
    return next(iter(app.session.gateways))


def manager_engine(app: CarinaApp) -> str:
    """The first engine known to be a swarm manager (overlay networks are made there), else the first."""
    for key in app.session.gateways:
        state = app.engines.get(key)
        if state is not None and state.info is not None and state.info.is_manager:
            return key
    return only_engine(app)


def networks_on(app: CarinaApp, endpoint: str) -> list[NetworkInfo]:
    """The networks a container on ``endpoint`` can see: its engine's own and the swarm's."""
    return [n for n in app.pane("networks").items.values() if n.endpoint == endpoint or n.scope == "swarm"]


def attached(c: ContainerInfo, net: NetworkInfo) -> bool:
    """``c`` is attached to ``net``, running or not (one created but never started knows only the name)."""
    if net.scope != "swarm" and c.endpoint != net.endpoint:
        return False
    return any(a.network_id == net.id or (not a.network_id and a.network == net.name) for a in c.networks)


# -- the form base -------------------------------------------------------------------------


class FormScreen(TypeAheadScreen):
    """A modal form. Subclasses yield their fields from ``fields()`` (ids ``f-<field>``)
    and do the work in ``execute`` (in a thread worker); ``finished`` runs after success.

    Keys typed while it opens land in its first field, in order (``TypeAheadScreen``), and
    ``ctrl+s`` is an ordinary binding: a priority one ran as the app received it, before the
    field had taken the text typed just before it."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Submit", id="form.submit"),
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
    ]
    TITLE = ""
    HINT = "tab moves · ctrl+s submits · escape cancels"

    def __init__(self) -> None:
        super().__init__()
        self.busy = False

    @property
    def carina(self) -> CarinaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box form-box"):
            yield Static(Text(self.title_text(), style="bold"), classes="modal-title")
            with VerticalScroll(classes="form-fields", can_focus=False):
                yield from self.fields()
            yield Static("", id="form-error", classes="form-error")
            yield Static(self.HINT, classes="modal-hint")

    def title_text(self) -> str:
        return self.TITLE

    def fields(self) -> ComposeResult:  # pragma: no cover - every form overrides it
        yield from ()

    @staticmethod
    def row(label: str, widget: Widget) -> Horizontal:
        return Horizontal(Label(label, classes="form-label"), widget, classes="form-row")

    # Rows the form needs besides its fields: borders 2, title 2, error line 2, hint 2.
    CHROME = 8

    def on_mount(self) -> None:
        self._fit()
        # Subclasses load their choices after this, in workers: the form is usable at once.
        self.ready(next((w for w in self.query(".form-fields *") if w.focusable), None))

    def on_resize(self) -> None:
        self._fit()

    def _fit(self) -> None:
        """The fields get what the screen leaves once the title, error line and hint are counted:
        they scroll to the focused field, and the error and the ctrl+s hint are never pushed off."""
        self.query_one(".form-fields").styles.max_height = max(3, self.app.size.height - self.CHROME)

    # -- errors on the form --------------------------------------------------------------

    @property
    def error(self) -> Static:
        return self.query_one("#form-error", Static)

    def show_error(self, error: CarinaError) -> None:
        self.busy = False
        if not self.is_attached:  # cancelled while the engine was working: say it where the user is
            self.app.notify(str(error), title=error.title, severity="error", timeout=10)
            return
        self.error.update(Text(str(error)))
        self.error.display = True
        field = getattr(error, "field", None)
        if field:
            try:
                widget = self.query_one(f"#f-{field}")
            except Exception:  # noqa: BLE001 - a field this form does not have: the sentence says it
                return
            self.set_focus(widget)  # now, with the sentence: the next key typed is for this field
            if isinstance(widget, Input):
                # Focus selects the whole value, so the next key would replace it; the user mends it.
                self.call_after_refresh(widget.action_end)

    # -- submit ----------------------------------------------------------------------------

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_submit(self) -> None:
        if self.busy:
            return
        try:
            values = self.values()
        except ValidationError as err:
            self.show_error(err)
            return
        self.busy = True
        self.error.update(Text("Working…", style="italic"))
        self.error.display = True
        self._execute(values)

    @on(Input.Submitted)
    def _enter_submits(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_submit()

    def values(self) -> dict[str, Any]:
        """What the fields hold, read on the main thread."""
        return {}

    @work(thread=True, group="form", exit_on_error=False)
    def _execute(self, values: dict[str, Any]) -> None:
        try:
            result = self.execute(values)
        except CarinaError as err:
            self.app.call_from_thread(self.show_error, err)
            return
        except Exception as err:  # noqa: BLE001 - a bug: say so on the form rather than hang on "Working…"
            self.app.call_from_thread(self.show_error, CarinaError(
                f"{type(err).__name__}: {err}. This is a bug in carina-tui; the form keeps your values."))
            return
        self.app.call_from_thread(self._succeeded, result)

    def execute(self, values: dict[str, Any]) -> Any:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def _succeeded(self, result: Any) -> None:
        self.busy = False
        message = self.finished(result)
        if self.is_attached:
            self.dismiss(result)
        if message:
            self.app.notify(message)

    def finished(self, result: Any) -> str:
        return ""

    # -- small helpers for the fields --------------------------------------------------------

    def text(self, field: str) -> str:
        return self.query_one(f"#f-{field}", Input).value

    def ticked(self, field: str) -> bool:
        return self.query_one(f"#f-{field}", Checkbox).value

    def chosen(self, field: str) -> str:
        value = self.query_one(f"#f-{field}", Select).value
        return "" if value is Select.BLANK or value is Select.NULL else str(value)

    def engine_field(self, endpoint: str) -> Iterable[Widget]:
        """The engine choice, on clusters of several engines."""
        if self.carina.session.multi_node:
            yield self.row(
                "Engine",
                Select(engine_choices(self.carina), value=endpoint, allow_blank=False, id="f-node", compact=True),
            )

    @work(thread=True, group="form-load", exclusive=True, exit_on_error=False)
    def load(self, fetch: Callable[[], Any], apply: Callable[[Any], None]) -> None:
        """Read what a field offers (``fetch``, in a thread) and hand it to ``apply`` on the main thread."""
        try:
            found = fetch()
        except CarinaError as err:
            self.app.call_from_thread(self.show_error, err)
            return
        self.app.call_from_thread(self._apply, apply, found)

    def _apply(self, apply: Callable[[Any], None], found: Any) -> None:
        if self.is_attached:  # not when the form was closed meanwhile
            apply(found)

    def endpoint(self) -> str:
        if self.carina.session.multi_node:
            return self.chosen("node") or only_engine(self.carina)
        return only_engine(self.carina)


# -- create network ----------------------------------------------------------------------------


class CreateNetworkScreen(FormScreen):
    TITLE = "New network"

    def fields(self) -> ComposeResult:
        yield self.row("Name", Input(placeholder="mynet", id="f-name", compact=True))
        yield from self.engine_field(manager_engine(self.carina))
        yield self.row(
            "Driver",
            Select([("bridge", "bridge"), ("overlay", "overlay")], value="bridge", allow_blank=False,
                   id="f-driver", compact=True),
        )
        yield self.row("Subnet", Input(placeholder="10.10.0.0/24 (empty: the engine picks)", id="f-subnet",
                                       compact=True))
        yield self.row("Gateway", Input(placeholder="10.10.0.1", id="f-gateway", compact=True))
        yield self.row("IP range", Input(placeholder="10.10.0.128/25", id="f-ip_range", compact=True))
        yield self.row("", Checkbox("Attachable (overlay: plain containers may join)", id="f-attachable",
                                    compact=True))
        yield self.row("", Checkbox("Internal (no outside access)", id="f-internal", compact=True))
        yield self.row("", Checkbox("IPv6", id="f-ipv6", compact=True))
        yield self.row("Labels", Input(placeholder='key=value team="web ops"', id="f-labels", compact=True))
        yield self.row("Options", Input(placeholder="com.docker.network.driver.mtu=1400", id="f-options",
                                        compact=True))

    _attachable_chosen = False
    _auto_attachable = False

    def on_mount(self) -> None:
        super().on_mount()
        self.watch(self.query_one("#f-driver", Select), "value", self._driver_set, init=False)
        self.watch(self.query_one("#f-attachable", Checkbox), "value", self._attachable_set, init=False)
        self._load_drivers(self.endpoint())

    @on(Select.Changed, "#f-node")
    def _engine_changed(self, event: Select.Changed) -> None:
        self._load_drivers(self.endpoint())

    def _driver_set(self, driver: object) -> None:
        # Carina's walk-through joins plain containers to its overlay: attachable is what an overlay
        # wants, and the only driver it applies to. A box the user ticked or cleared is left alone.
        # Watchers, not Changed messages: they run in the order the values were set.
        if self._attachable_chosen:
            return
        self._auto_attachable = True
        try:
            self.query_one("#f-attachable", Checkbox).value = driver == "overlay"
        finally:
            self._auto_attachable = False

    def _attachable_set(self, value: bool) -> None:
        if not self._auto_attachable:
            self._attachable_chosen = True

    def _load_drivers(self, endpoint: str) -> None:
        gateway = self.carina.session.gateways[endpoint]
        self.load(lambda: sorted((set(gateway.info().drivers) - validate.NOT_CREATABLE) | {"bridge", "overlay"}),
                  self._set_drivers)

    def _set_drivers(self, drivers: list[str]) -> None:
        select = self.query_one("#f-driver", Select)
        current = self.chosen("driver") or "bridge"
        select.set_options([(d, d) for d in drivers])
        select.value = current if current in drivers else "bridge"

    def values(self) -> dict[str, Any]:
        return dict(
            endpoint=self.endpoint(),
            name=self.text("name"),
            driver=self.chosen("driver") or "bridge",
            subnet_text=self.text("subnet"),
            gateway=self.text("gateway"),
            ip_range=self.text("ip_range"),
            attachable=self.ticked("attachable"),
            internal=self.ticked("internal"),
            ipv6=self.ticked("ipv6"),
            labels=self.text("labels"),
            options=self.text("options"),
        )

    def execute(self, values: dict[str, Any]) -> tuple[str, NetworkSpec]:
        endpoint = values.pop("endpoint")
        gateway = self.carina.session.gateways[endpoint]
        spec = validate.network_spec(**values, existing=gateway.networks(), engine=gateway.info(),
                                     qualify=self.carina.session.multi_node)
        return self.carina.session.guard.create_network(endpoint, spec), spec

    def finished(self, result: Any) -> str:
        _, spec = result
        return f"Network {spec.name} created ({spec.driver})."


def open_create_network(app: CarinaApp) -> None:
    app.push_screen(CreateNetworkScreen())


# -- connect / disconnect -------------------------------------------------------------------------


class PickerScreen(FormScreen):
    """A form whose first field filters a list of choices; the highlighted one is chosen."""

    NOUN = "choice"

    def __init__(self, choices: list[tuple[str, Any]]) -> None:
        super().__init__()
        self.choices = choices  # (label, value)

    def picker(self) -> ComposeResult:
        yield self.row("Filter", Input(placeholder=f"type to narrow the {self.NOUN}s", id="f-filter", compact=True))
        yield OptionList(*self._options(""), id="f-pick", classes="form-pick", compact=True)

    def _options(self, needle: str) -> list[Option]:
        words = needle.lower().split()
        return [Option(label, id=str(i)) for i, (label, _) in enumerate(self.choices)
                if all(w in label.lower() for w in words)]

    @on(Input.Changed, "#f-filter")
    def _narrow(self, event: Input.Changed) -> None:
        event.stop()
        pick = self.query_one("#f-pick", OptionList)
        pick.set_options(self._options(event.value))
        if pick.option_count:
            pick.highlighted = 0

    def on_mount(self) -> None:
        super().on_mount()
        pick = self.query_one("#f-pick", OptionList)
        if pick.option_count:
            pick.highlighted = 0

    @on(OptionList.OptionSelected, "#f-pick")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_submit()

    def picked(self) -> Any:
        pick = self.query_one("#f-pick", OptionList)
        option = pick.highlighted_option
        if option is None or option.id is None:
            raise ValidationError(f"Choose a {self.NOUN} from the list (the filter matches none).", field="filter")
        return self.choices[int(option.id)][1]


def joinable(c: ContainerInfo) -> bool:
    """Whether ``c`` can be connected to another network: not one on the host or none network, nor
    one sharing another container's network stack (it lists no network), as the engine refuses those."""
    names = {a.network for a in c.networks}
    return bool(names) and not names & {"host", "none"}


def _container_label(c: ContainerInfo) -> str:
    nets = c.networks_text or "no network"
    return f"{c.qualified_name}  ({c.state}, {c.image}, on {nets})"


def _network_label(n: NetworkInfo) -> str:
    subnet = f", {n.subnets_text}" if n.subnets_text else ""
    return f"{n.name}  ({n.driver}, {n.scope}{subnet})"


class ConnectScreen(PickerScreen):
    """Connect a container to a network: from a network (pick the container) or from a container
    (pick the network), with optional aliases and a fixed IPv4 address."""

    def __init__(self, *, network: NetworkInfo | None = None, container: ContainerInfo | None = None,
                 choices: list[tuple[str, Any]]) -> None:
        super().__init__(choices)
        self.network = network
        self.container = container
        self.NOUN = "container" if network is not None else "network"

    def title_text(self) -> str:
        if self.network is not None:
            return f"Connect a container to network {self.network.name}"
        assert self.container is not None
        return f"Connect {self.container.qualified_name} to a network"

    def fields(self) -> ComposeResult:
        yield from self.picker()
        yield self.row("Aliases", Input(placeholder="db, mysql (other names on this network)", id="f-aliases",
                                        compact=True))
        yield self.row("IPv4", Input(placeholder="fixed address in the subnet (optional)", id="f-ipv4",
                                     compact=True))

    def values(self) -> dict[str, Any]:
        choice = self.picked()
        network = self.network if self.network is not None else choice
        container = self.container if self.container is not None else choice
        return dict(network=network, container=container, aliases=self.text("aliases"), ipv4=self.text("ipv4"))

    def execute(self, values: dict[str, Any]) -> tuple[NetworkInfo, ContainerInfo]:
        network, container = values["network"], values["container"]
        aliases = validate.aliases(values["aliases"])
        if aliases and network.name in NO_ALIASES:
            raise ValidationError(
                f"Aliases work on user-defined networks only, not on {network.name}; leave them empty.",
                field="aliases",
            )
        ipv4 = validate.static_ipv4(values["ipv4"], network)
        self.carina.session.guard.connect(network, container, aliases=aliases, ipv4=ipv4)
        return network, container

    def finished(self, result: Any) -> str:
        network, container = result
        return f"{container.qualified_name} connected to {network.name}."


def open_connect(app: CarinaApp, network: NetworkInfo | None = None, container: ContainerInfo | None = None) -> None:
    if network is not None:
        if network.name in NOT_JOINABLE:
            app.notify(f"Containers cannot be connected to {network.name} after they were created.",
                       title="Not possible", severity="warning")
            return
        choices = [(_container_label(c), c) for c in sorted(app.pane("containers").items.values(),
                                                             key=lambda c: c.qualified_name)
                   if (network.scope == "swarm" or c.endpoint == network.endpoint) and not attached(c, network)
                   and joinable(c)]
        if not choices:
            app.notify(f"No container can join {network.name}: those that could are on it already, and a container "
                       "on the host or none network, or sharing another's, can join no other.",
                       title="Nothing to connect")
            return
        app.push_screen(ConnectScreen(network=network, choices=choices))
        return
    if container is None:
        return
    if not joinable(container):
        app.notify(f"{container.qualified_name} uses {container.networks_text or 'another container'}'s network "
                   "stack, so it can join no other network; run it anew on a user-defined network instead.",
                   title="Not possible", severity="warning")
        return
    nets = [n for n in sorted(networks_on(app, container.endpoint), key=lambda n: n.name)
            if n.name not in NOT_JOINABLE and not attached(container, n)
            and (n.scope != "swarm" or n.attachable)]
    if not nets:
        app.notify(f"There is no other network {container.qualified_name} can join; create one with n in the "
                   "Networks pane.", title="Nothing to connect")
        return
    app.push_screen(ConnectScreen(container=container, choices=[(_network_label(n), n) for n in nets]))


class DisconnectScreen(PickerScreen):
    NOUN = "container"

    def __init__(self, network: NetworkInfo, choices: list[tuple[str, Any]]) -> None:
        super().__init__(choices)
        self.network = network

    def title_text(self) -> str:
        return f"Disconnect a container from network {self.network.name}"

    def fields(self) -> ComposeResult:
        yield from self.picker()
        yield self.row("", Checkbox("Force (also when the container is not running or the engine disagrees)",
                                    id="f-force", compact=True))

    def values(self) -> dict[str, Any]:
        return dict(container=self.picked(), force=self.ticked("force"))

    def execute(self, values: dict[str, Any]) -> ContainerInfo:
        self.carina.session.guard.disconnect(self.network, values["container"], force=values["force"])
        return values["container"]

    def finished(self, result: Any) -> str:
        return f"{result.qualified_name} disconnected from {self.network.name}."


def open_disconnect(app: CarinaApp, network: NetworkInfo) -> None:
    members = sorted((c for c in app.pane("containers").items.values() if attached(c, network)),
                     key=lambda c: c.qualified_name)
    if not members:
        app.notify(f"No container is attached to network {network.name}.", title="Nothing to disconnect")
        return
    app.push_screen(DisconnectScreen(network, [(_container_label(c), c) for c in members]))


# -- prune ---------------------------------------------------------------------------------------------


def prune_plan(networks: Iterable[NetworkInfo], containers: Iterable[ContainerInfo]) -> list[NetworkInfo]:
    """The networks a prune removes: not predefined, and no container (running or not) refers to them.
    Swarm-scoped networks are counted once, whatever engine reported them."""
    used_ids, used_names = set(), set()
    for c in containers:
        for a in c.networks:
            used_ids.add(a.network_id)
            used_names.add((c.endpoint, a.network))
    plan: dict[str, NetworkInfo] = {}
    for n in networks:
        if n.predefined or n.id in used_ids or (n.endpoint, n.name) in used_names:
            continue
        plan.setdefault(n.key, n)
    return sorted(plan.values(), key=lambda n: (n.name, n.node))


def outcome_summary(outcomes: list[Outcome], noun: str = "network") -> tuple[str, bool]:
    """One paragraph saying what a bulk action did; and whether all went as planned."""
    removed = [o.name for o in outcomes if o.result == "removed"]
    other = [o for o in outcomes if o.result != "removed"]
    parts = [f"Removed {len(removed)} {noun}{'' if len(removed) == 1 else 's'}"
             + (f": {', '.join(removed)}." if removed else ".")]
    for o in other:
        parts.append(f"{o.name} {o.result}: {o.reason}")
    return "\n".join(parts), not other


def open_prune(app: CarinaApp) -> None:
    """Plan in a worker (fresh lists from every engine), then preview, confirm, prune."""

    session = app.session  # taken here: a worker reads nothing of the app's

    def plan() -> None:
        networks: list[NetworkInfo] = []
        containers: list[ContainerInfo] = []
        for gw in session.gateways.values():
            networks.extend(gw.networks())
            containers.extend(gw.containers())
        planned = prune_plan(networks, containers)
        app.call_from_thread(_confirm_prune, app, planned)

    app.run_worker(plan, thread=True, group="prune", exclusive=True, exit_on_error=False, name="plan prune")


def _confirm_prune(app: CarinaApp, planned: list[NetworkInfo]) -> None:
    if not planned:
        app.notify("No unused networks: nothing to prune.", title="Prune")
        return
    detail = Text()
    for n in planned:
        detail.append(f"{n.name:28}", style="bold")
        detail.append(f" {n.driver:8} {n.scope:6} {n.subnets_text or '-':18} {n.node}\n")
    count = len(planned)
    question = f"Remove {count} unused network{'' if count == 1 else 's'}?"

    def answered(yes: bool | None) -> None:
        if yes:
            app.guarded(lambda: app.session.guard.prune_networks(planned), then=lambda out: _pruned(app, out))

    app.push_screen(ConfirmScreen(question, detail), answered)


def _pruned(app: CarinaApp, outcomes: list[Outcome]) -> None:
    text, clean = outcome_summary(outcomes)
    app.notify(text, title="Prune", severity="information" if clean else "warning", timeout=10)


# -- run a container ---------------------------------------------------------------------------------


RESTART_CHOICES = [("no", "no"), ("always", "always"), ("unless-stopped", "unless-stopped"),
                   ("on-failure", "on-failure")]


class RunScreen(FormScreen):
    TITLE = "Run a container"
    HINT = "tab moves · space ticks a network · ctrl+s runs · escape cancels"

    def __init__(self, endpoint: str) -> None:
        super().__init__()
        self.start_endpoint = endpoint
        self.image_tags: list[str] | None = None

    def fields(self) -> ComposeResult:
        # The name first: it can be typed at once, while the images are still loading.
        yield self.row("Name", Input(placeholder="wordpress (empty: the engine picks one)", id="f-name",
                                     compact=True))
        yield self.row("Image", Select([], prompt="local image", id="f-image", compact=True))
        yield from self.engine_field(self.start_endpoint)
        yield Label("Networks (space ticks; the first ticked is joined at creation and gets the aliases)",
                    classes="form-label wide")
        yield SelectionList[str](id="f-networks", classes="form-pick", compact=True)
        yield self.row("Ports", Input(placeholder="8080:80, 53/udp", id="f-ports", compact=True))
        yield self.row("Env", Input(placeholder='KEY=value OTHER="two words"', id="f-env", compact=True))
        yield self.row("Command", Input(placeholder="httpd -f -p 80 (empty: the image's own)", id="f-command",
                                        compact=True))
        yield self.row("Restart", Select(RESTART_CHOICES, value="no", allow_blank=False, id="f-restart",
                                         compact=True))
        yield self.row("Labels", Input(placeholder="key=value", id="f-labels", compact=True))
        yield self.row("Aliases", Input(placeholder="names on the first network", id="f-aliases", compact=True))

    def on_mount(self) -> None:
        super().on_mount()
        self._fill_networks(self.start_endpoint)
        self._load_choices(self.start_endpoint)

    @on(Select.Changed, "#f-node")
    def _engine_changed(self, event: Select.Changed) -> None:
        self._fill_networks(self.endpoint())
        self._load_choices(self.endpoint())

    def _fill_networks(self, endpoint: str, fresh: Iterable[NetworkInfo] = ()) -> None:
        """What the pane knows at once, and what the engine itself lists once it has answered (a
        network made a moment ago may not have reached the pane yet)."""
        box = self.query_one("#f-networks", SelectionList)
        keep = set(box.selected)
        names = sorted({n.name for n in (*networks_on(self.carina, endpoint), *fresh)
                        if n.name not in SWARM_PLUMBING and (n.scope != "swarm" or n.attachable)})
        if names == [str(o.value) for o in box.options]:
            return
        box.clear_options()
        box.add_options([(name, name, name in keep) for name in names])

    def _load_choices(self, endpoint: str) -> None:
        gateway = self.carina.session.gateways[endpoint]

        def fetch():
            return sorted({t for i in gateway.images() for t in i.tags}), gateway.networks()

        def apply(found) -> None:
            tags, networks = found
            self._set_images(tags)
            if endpoint == self.endpoint():
                self._fill_networks(endpoint, networks)

        self.load(fetch, apply)

    def _set_images(self, tags: list[str]) -> None:
        self.image_tags = tags
        select = self.query_one("#f-image", Select)
        current = self.chosen("image")
        select.set_options([(t, t) for t in tags])
        if current in tags:
            select.value = current
        if not tags:
            self.show_error(ValidationError(
                "This engine holds no images, and images cannot be pulled here: load one with `docker load` "
                "or `docker import` first.", field="image"))

    def values(self) -> dict[str, Any]:
        endpoint = self.endpoint()
        return dict(
            endpoint=endpoint,
            image=self.chosen("image"),
            name=self.text("name"),
            networks=tuple(self.query_one("#f-networks", SelectionList).selected),
            ports_text=self.text("ports"),
            env=self.text("env"),
            command=self.text("command"),
            restart=self.chosen("restart") or "no",
            labels=self.text("labels"),
            aliases_text=self.text("aliases"),
            node=endpoint if self.carina.session.multi_node else "",
            # read here, on the main thread: the pane's dict changes under a worker's feet
            elsewhere=[c for c in self.carina.pane("containers").items.values() if c.endpoint != endpoint],
        )

    def execute(self, values: dict[str, Any]) -> tuple[str, RunSpec]:
        endpoint, elsewhere = values.pop("endpoint"), values.pop("elsewhere")
        session = self.carina.session
        gateway = session.gateways[endpoint]
        tags = {t for i in gateway.images() for t in i.tags}
        spec = validate.run_spec(**values, images=tags, existing=gateway.containers() + elsewhere)
        cid = session.guard.run_container(endpoint, spec)
        try:
            after = gateway.settled(cid, SETTLE)  # what to say is what the engine holds a moment later
        except NotFound:
            after = None
        return cid, spec, after

    def finished(self, result: Any) -> str:
        cid, spec, after = result
        ports = ", ".join(str(p) for p in spec.ports if p.host_port is not None)
        name = (after.container.name if after is not None else "") or spec.name or cid[:12]
        self.carina.say_outcome(*action_outcome("container.run", name, None, after,
                                                runs=f" ({spec.image}{f', publishing {ports}' if ports else ''})"))
        return ""


def open_run(app: CarinaApp) -> None:
    endpoint = only_engine(app)
    selected = app.pane("containers").selected
    if app.session.multi_node and selected is not None:
        endpoint = selected.endpoint
    app.push_screen(RunScreen(endpoint))


__all__ = [
    "ConnectScreen",
    "CreateNetworkScreen",
    "DisconnectScreen",
    "FormScreen",
    "RunScreen",
    "open_connect",
    "open_create_network",
    "open_disconnect",
    "open_prune",
    "open_run",
    "prune_plan",
]
