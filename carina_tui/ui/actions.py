"""What the panes ask for, handled in one place: container and network actions, details, inspect.

``ConsoleActions`` is mixed into the console screen (``ui/console_screen.py``): the panes'
requests (``ui/messages.py``) bubble up to it. Each action goes through the guard in a
``mutate`` worker; details and inspect read in a ``details`` worker and open a ``TextScreen``.
Workers get what they need as arguments and never read a widget.
"""

from __future__ import annotations

from typing import Callable

from rich.text import Text
from textual import work

from carina_tui.core.errors import CarinaError
from carina_tui.core.models import ContainerInfo, NetworkInfo
from carina_tui.core.outcome import SETTLE, UNDER_WAY, action_outcome
from carina_tui.ui.messages import ActionRequested, DetailsRequested, InspectRequested, RemoveRequested, SwitchRequested
from carina_tui.ui.screens import ConfirmScreen, TextScreen, field_lines
from carina_tui.ui.tables import TablePane

# How long a row may say "stopping…" when the engine's event never comes.
UNDER_WAY_LIMIT = 10.0


class ConsoleActions:
    """Handlers of the panes' requests (a mixin of ``ConsoleScreen``: ``self`` is the screen)."""

    # -- the requests (ui/messages.py; named handlers: ``@on`` is not collected on a mixin) -----

    def on_switch_requested(self, message: SwitchRequested) -> None:
        self.app.switch_cluster(message.spec)

    def on_details_requested(self, message: DetailsRequested) -> None:
        item = message.item
        if isinstance(item, NetworkInfo):
            self._inspect_network(self.app.session, item)
        elif isinstance(item, ContainerInfo):
            self._inspect_container(self.app.session, item)

    def on_inspect_requested(self, message: InspectRequested) -> None:
        self._show_inspect(self.app.session.gateways[message.container.endpoint], message.container)

    def on_action_requested(self, message: ActionRequested) -> None:
        c = message.container
        if message.action == "start_stop":
            self.container_action("container.stop" if c.running else "container.start", c)
        else:
            self.container_action(message.action, c)

    def on_remove_requested(self, message: RemoveRequested) -> None:
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
            self.app.call_from_thread(self.notify, done)
        if then is not None:
            self.app.call_from_thread(then, result)

    def container_action(self, action: str, c: ContainerInfo, **kwargs) -> None:
        """One container action through the guard. Its row says at once that it is under way
        ("stopping…") until the engine's news replaces that, or until the call fails (the row is
        as before and the error is said); what is said after is what the engine holds then."""
        guard = self.app.session.guard
        token = None
        if action in UNDER_WAY and not guard.would_refuse(action, c):
            token = [(pane, pane.mark(c.key, "state", UNDER_WAY[action])) for pane in self._container_panes()]
        self._act(guard, action, c, kwargs, token)

    def _container_panes(self) -> list[TablePane]:
        return [self.pane("containers"), self.pane("system")]

    @work(thread=True, group="mutate", exit_on_error=False)
    def _act(self, guard, action: str, c: ContainerInfo, kwargs: dict, marks) -> None:
        settle = SETTLE if action in ("container.start", "container.restart") else 0.0
        try:
            acted = guard.act(action, c, settle=settle, **kwargs)
        except CarinaError as err:
            self.app.call_from_thread(self._not_acted, c, err, marks)
            return
        self.app.call_from_thread(self._acted, action, c, acted, marks)

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

    def confirm_remove_container(self, c: ContainerInfo) -> None:
        refusal = self.app.session.guard.would_refuse("container.remove", c)
        if refusal:
            # Say it now, and let the guard write the refusal to the audit log.
            self.container_action("container.remove", c)
            return
        running = c.running
        question = f"Remove container {c.qualified_name}{' (running: it will be killed)' if running else ''}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.container_action("container.remove", c, force=running)

        self.app.push_screen(ConfirmScreen(question, f"{c.id}\nimage {c.image}\nnode {c.node}"), answered)

    def confirm_remove_network(self, n: NetworkInfo) -> None:
        from carina_tui.ui.forms import attached as is_attached

        guard = self.app.session.guard
        attached = [c for c in self.pane("containers").items.values() if is_attached(c, n)]
        if guard.would_refuse_network("network.remove", n, attached):
            # The guard looks again and says why (predefined, read-only, a protected member, running or
            # not) and audits the refusal; it never removes here: only after the question below.
            self.guarded(lambda: guard.check_network_removal(n), then=lambda _detail: self._confirm_network_removal(n))
            return
        if attached:
            self.notify(f"Network {n.name} still has containers attached "
                        f"({', '.join(c.qualified_name for c in attached)}); disconnect them first (x).",
                        title="Not removed", severity="warning")
            return
        self._confirm_network_removal(n)

    def _confirm_network_removal(self, n: NetworkInfo) -> None:
        guard = self.app.session.guard

        def answered(yes: bool | None) -> None:
            if yes:
                self.guarded(lambda: guard.remove_network(n), f"Network {n.name} removed.")

        self.app.push_screen(ConfirmScreen(f"Remove network {n.name}?", f"{n.id}\ndriver {n.driver}, scope {n.scope}"),
                             answered)

    # -- details and inspect ------------------------------------------------------------------

    def _show_text(self, title: str, body) -> None:
        """From a worker: open a TextScreen with what it read."""
        self.app.call_from_thread(self.app.push_screen, TextScreen(title, body))

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _show_inspect(self, gateway, c: ContainerInfo) -> None:
        from rich.syntax import Syntax

        detail = gateway.inspect_container(c.id)
        self._show_text(f"Inspect {c.qualified_name}", Syntax(detail.raw_json, "json", word_wrap=True, theme="ansi_dark"))

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _inspect_container(self, session, c: ContainerInfo) -> None:
        detail = session.gateways[c.endpoint].inspect_container(c.id)
        info = detail.container
        rule = session.guard.classify(info)
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
        self._show_text(f"Container {info.qualified_name}", body)

    @work(thread=True, group="details", exclusive=True, exit_on_error=False)
    def _inspect_network(self, session, n: NetworkInfo) -> None:
        detail = session.network_gateway(n).network(n.id, aliases=True)
        net = detail.network
        use = None
        if net.scope == "swarm":  # its address use across the nodes, read now
            from carina_tui.services.overlay import address_uses

            use = address_uses(session, [n]).get(n.key)
        body: Text = field_lines((
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
            *((("Addresses", f"{use.text} in use on every node: {use.breakdown}"),) if use is not None else ()),
        ))
        if use is not None and use.warning:
            body.append(f"\n{use.warning}\n", style="bold red")
        body.append("\nContainers\n", style="bold underline")
        if not detail.members:
            body.append("none attached\n", style="dim")
        for m in detail.members:
            body.append(f"{m.name:24} {m.ipv4:16} {' '.join(m.aliases)}\n")
        self._show_text(f"Network {net.name}", body)
