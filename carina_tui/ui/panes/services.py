"""Pane 5, Services: the swarm's services, live from the managers' events (issue 15).

The pane owns its data and its workers: it reads the list from a manager (``session.swarm``) in a
``services`` worker when it starts, when the cluster changes and when an engine's events say a
service, a node or a task's container changed (``ServicesChanged``, posted by the console from the
event followers); never on a timer. A protected service is marked ``◆`` (the rule: ``enter``).

Keys: ``enter`` its tasks (current, then the history Swarm keeps), ``S`` scale, ``N`` create,
``u`` update the image, ``R`` force a rolling restart, ``l`` the merged logs of its tasks, ``d``
remove (``y`` confirms). Every change goes through the guard, which refuses removing, scaling to 0,
updating and restarting a protected service with its rule. Before the guard, in the form's worker, a
create or a scale that a swarm network's subnet cannot hold is refused with the sentence that says so
(``services.overlay.check_create``/``check_scale``): Swarm would take it and leave the tasks pending.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Label, Select, SelectionList, Static

from carina_tui.core import swarm_validate
from carina_tui.core.errors import CarinaError
from carina_tui.core.models import SWARM_PLUMBING, age
from carina_tui.core.swarm_models import DEFAULT_ENDPOINT_MODE, ServiceInfo, TaskInfo
from carina_tui.ui.forms import FormScreen
from carina_tui.ui.logs import TAIL, LogScreen, StreamEnded
from carina_tui.ui.screens import ConfirmScreen
from carina_tui.ui.tables import TablePane, natural

if TYPE_CHECKING:  # pragma: no cover
    from carina_tui.ui.app import CarinaApp

PROTECTED_MARK = "◆ "
# After engine news the list is read again this many seconds after the last news (the manager's
# task counts settle a moment after the containers' events; no event says they did).
SETTLE = (1.0, 2.0, 4.0, 8.0)


@dataclass
class ServicesLoaded(Message):
    services: list[ServiceInfo]
    error: str = ""
    asked: int = 0  # which reading this is: one asked earlier that answers later is not shown


class ServicesPane(TablePane[ServiceInfo]):
    TITLE = "Services"
    NUMBER = 5
    EMPTY = "No services on this swarm."
    SORTS = ("name", "mode", "replicas", "image", "updated")
    DEFAULT_SORT = "name"
    KEEP = ("name", "replicas", "image", "mode", "updated")
    TICK = 60.0  # "updated 3m" is redrawn once a minute
    COLUMNS = (
        ("name", "Name", None),
        ("mode", "Mode", None),
        ("replicas", "Replicas", None),
        ("image", "Image", None),
        ("ports", "Ports", None),
        ("networks", "Networks", None),
        ("updated", "Last update", None),
    )

    BINDINGS = [
        Binding("enter", "tasks", "Tasks", id="services.tasks", show=False),
        Binding("S", "scale", "Scale", id="services.scale"),
        Binding("N", "create", "New service", id="services.create"),
        Binding("u", "update", "Update image", id="services.update", show=False),
        Binding("R", "restart", "Force restart", id="services.restart", show=False),
        Binding("l", "logs", "Logs", id="services.logs"),
        Binding("d", "remove", "Remove", id="services.remove", show=False),
    ]
    MUTATING = frozenset({"scale", "create", "update", "restart", "remove"})
    ENTER_ACTION = "tasks"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.error = ""  # why the list could not be read (no manager answers), shown in the subtitle
        self.tasks_screen: TasksScreen | None = None
        self.now = time.time  # the clock "updated 3m" is read from
        self._asked = itertools.count(1)
        self._shown_asked = 0
        self._settle: Timer | None = None
        self._pauses_told: set[tuple[str, float, str]] = set()  # (service, since, state): one toast each

    @property
    def carina(self) -> CarinaApp:
        return self.app  # type: ignore[return-value]

    # -- rows -----------------------------------------------------------------------------

    def rule_of(self, s: ServiceInfo):
        return self.carina.session.guard.classify(s)  # type: ignore[arg-type]

    def cells(self, s: ServiceInfo):
        name = Text(PROTECTED_MARK, style="bold yellow") + Text(s.name) if self.rule_of(s) else Text("  " + s.name)
        short = s.running < s.desired
        replicas = Text(s.replicas_text, style="bold red" if short and s.running == 0 else "yellow" if short else "")
        return (name, s.mode, replicas, s.plain_image, s.ports_text, s.networks_text, s.update_text(self.now(), coarse=True))

    def sort_key(self, s: ServiceInfo, column: str, cells):
        if column == "name":
            return natural(s.name)  # not the cell, which starts with the protected mark
        if column == "replicas":
            return (s.running - s.desired, natural(s.name))  # the shortest of tasks first
        if column == "updated":
            return (-(s.updated or s.created), natural(s.name))
        return (super().sort_key(s, column, cells), natural(s.name))

    def endpoint_of(self, s: ServiceInfo) -> str:
        return ""  # the swarm's, not one engine's

    def search_text(self, s: ServiceInfo) -> str:
        return f"{s.name} {s.image} {s.mode} {s.networks_text}"

    # -- loading --------------------------------------------------------------------------

    def on_mount(self) -> None:
        super().on_mount()
        self.reload()

    def changed(self) -> None:
        """Engine news (a service, a node or a task's container changed): read now, and again
        ``SETTLE`` seconds after the last news while a service has not reached its count. A
        manager's task counts lag the task's container (its agent reports the task running a
        moment after the container's start event, and no event follows that report): a reading
        made at the event can say 0/1 for good (QA)."""
        self.reload()
        self._settle_step(0)

    def _settling(self) -> bool:
        """A service the last reading shows short of (or over) its count, or updating: the
        manager's counts may not have caught up yet."""
        return any(s.running != s.desired or s.update_state == "updating" for s in self.items.values())

    def _settle_step(self, step: int) -> None:
        if self._settle is not None:
            self._settle.stop()
            self._settle = None
        if step < len(SETTLE):
            delay = SETTLE[step] - (SETTLE[step - 1] if step else 0.0)
            self._settle = self.set_timer(delay, lambda: self._settle_read(step))

    def _settle_read(self, step: int) -> None:
        """Read again only while something is still settling: a swarm at its counts costs no call."""
        if self._settling():
            self.reload()
            self._settle_step(step + 1)
        else:
            self._settle = None

    @work(thread=True, group="services", exclusive=True, exit_on_error=False)
    def reload(self) -> None:
        """The list from a manager, in a worker; what it says arrives as ``ServicesLoaded``."""
        asked = next(self._asked)
        try:
            found = self.carina.session.swarm.services()
        except CarinaError as err:
            self.post_message(ServicesLoaded([], str(err), asked))
            return
        self.post_message(ServicesLoaded(found, asked=asked))

    @on(ServicesLoaded)
    def _loaded(self, message: ServicesLoaded) -> None:
        message.stop()
        if message.asked < self._shown_asked:
            return  # a reading overtaken by a later one
        self._shown_asked = message.asked
        self.error = message.error
        if message.error and self.items:
            self.border_subtitle = f"stale: {message.error}"  # what was read last stays, said stale
        else:
            self.border_subtitle = message.error or (f"{PROTECTED_MARK.strip()} protected" if any(
                self.rule_of(s) for s in message.services) else "")
            self.replace_all(message.services)
            self._tell_pauses(message.services)
        if self.tasks_screen is not None and self.tasks_screen.is_attached:
            self.tasks_screen.reload()

    def _tell_pauses(self, services: list[ServiceInfo]) -> None:
        """A warning, once, when a service's update (or rollback) is seen paused, with the engine's reason."""
        for s in services:
            if not s.update_paused:
                continue
            key = (s.id, s.updated, s.update_state)
            if key not in self._pauses_told:
                self._pauses_told.add(key)
                self.app.notify(f"{s.qualified_name}: {s.paused_sentence} Fix it and update again, or roll "
                                "it back with docker service rollback.", title="Service update paused",
                                severity="warning", timeout=15)

    # -- keys -----------------------------------------------------------------------------

    def _refused(self, action: str, s: ServiceInfo) -> bool:
        """True when the guard would refuse: then the guard looks again, says why and audits the
        refusal (``check_service`` never acts)."""
        guard = self.carina.session.guard
        if not guard.would_refuse_service(action, s):
            return False
        self.carina.guarded(lambda: guard.check_service(action, s))
        return True

    def action_tasks(self) -> None:
        if (s := self.selected) is not None:
            self.tasks_screen = TasksScreen(s, self.rule_of(s))
            self.app.push_screen(self.tasks_screen)

    def action_scale(self) -> None:
        if (s := self.target()) is None:
            return
        if s.mode == "global":
            self.app.notify(f"{s.qualified_name} is global: it runs one task on every node and has no count "
                            "to scale.", severity="warning")
            return
        self.app.push_screen(ScaleScreen(s))  # a protected one may be scaled up: the guard judges the count

    def action_create(self) -> None:
        self.app.push_screen(CreateServiceScreen())

    def action_update(self) -> None:
        if (s := self.target()) is not None and not self._refused("service.update", s):
            self.app.push_screen(UpdateImageScreen(s))

    def action_restart(self) -> None:
        if (s := self.target()) is not None and not self._refused("service.restart", s):
            guard = self.carina.session.guard
            self.carina.guarded(lambda: guard.restart_service(s),
                                f"Restarting every task of {s.qualified_name}, one after another (rolling).")

    def action_remove(self) -> None:
        if (s := self.target()) is None or self._refused("service.remove", s):
            return
        guard = self.carina.session.guard

        def answered(yes: bool | None) -> None:
            if yes:
                self.carina.guarded(lambda: guard.remove_service(s), f"Removed {s.qualified_name}.")

        detail = f"Its {s.running} running task{'s' if s.running != 1 else ''} stop and its containers go."
        self.app.push_screen(ConfirmScreen(f"Remove {s.qualified_name}?", detail), answered)

    def action_logs(self) -> None:
        if (s := self.selected) is not None:
            self.app.push_screen(ServiceLogScreen(self.carina.session, s))


# -- tasks ----------------------------------------------------------------------------------------


class TasksScreen(ModalScreen[None]):
    """A service's tasks: the current ones, then the history Swarm keeps (dim). Read again whenever
    the pane's list is (the managers' events)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="tasks.close"),
        Binding("q", "dismiss", "Close", show=False, id="tasks.close2"),
    ]
    COLUMNS = ("Task", "Node", "State", "Desired", "Error", "Container", "Age")

    def __init__(self, service: ServiceInfo, rule) -> None:
        super().__init__()
        self.service = service
        self.rule = rule
        self.tasks: list[TaskInfo] = []

    def compose(self) -> ComposeResult:
        s = self.service
        with Vertical(classes="modal-box wide"):
            title = Text(f"Tasks of {s.qualified_name}", style="bold")
            title.append(f"  {s.mode} · {s.replicas_text} running · {s.plain_image}", style="")
            yield Static(title, classes="modal-title")
            if s.update_paused:
                yield Static(Text(s.paused_sentence, style="bold magenta"), id="tasks-update")
            if self.rule is not None:
                yield Static(Text(f"{PROTECTED_MARK}protected by the rule {self.rule.describe()}: it is never "
                                  "removed, scaled to 0, updated or restarted here.", style="yellow"))
            table = DataTable(id="tasks-table", cursor_type="row", zebra_stripes=False)
            table.add_columns(*self.COLUMNS)
            yield table
            yield Static("", id="tasks-status")
            yield Static("current tasks first, then the history Swarm keeps (dim) · escape closes",
                         classes="modal-hint")

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.reload()

    @work(thread=True, group="tasks", exclusive=True, exit_on_error=False)
    def reload(self) -> None:
        session = self.app.session  # type: ignore[attr-defined]
        try:
            tasks = session.swarm.tasks(self.service)
        except CarinaError as err:
            self.app.call_from_thread(self._show_error, str(err))
            return
        self.app.call_from_thread(self._show, tasks)

    def _show_error(self, sentence: str) -> None:
        if self.is_attached:
            self.query_one("#tasks-status", Static).update(Text(sentence, style="red"))

    def _show(self, tasks: list[TaskInfo]) -> None:
        if not self.is_attached:
            return
        self.tasks = sorted(tasks, key=lambda t: not t.current)  # stable: by slot, newest first within
        table = self.query_one(DataTable)
        table.clear()
        for t in self.tasks:
            style = "" if t.current else "dim"
            error = Text(t.error, style="red" if t.current else "dim red") if t.error else ""
            table.add_row(Text(t.name, style=style), Text(t.node or "-", style=style),
                          Text(t.state, style=("green" if t.state == "running" else "") if t.current else style),
                          Text(t.desired_state, style=style), error, Text(t.short_container, style=style),
                          Text(age(t.updated) if t.updated else "", style=style), key=t.id)
        current = sum(1 for t in tasks if t.current)
        self.query_one("#tasks-status", Static).update(
            f"{current} current, {len(tasks) - current} in the history Swarm keeps")


# -- forms ----------------------------------------------------------------------------------------


class ServiceFieldScreen(FormScreen):
    """A form of one field about one service (scale, update image): ``FIELD`` is read with
    ``check`` on the main thread, ``act`` calls the guard in the form's worker."""

    FIELD = ""
    LABEL = ""

    def __init__(self, service: ServiceInfo) -> None:
        super().__init__()
        self.service = service

    def initial(self) -> str:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def check(self, text: str) -> Any:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def act(self, value: Any) -> None:  # pragma: no cover - every form overrides it
        raise NotImplementedError

    def fields(self) -> ComposeResult:
        yield self.row(self.LABEL, Input(self.initial(), id=f"f-{self.FIELD}", compact=True))

    def values(self) -> dict[str, Any]:
        return {"value": self.check(self.text(self.FIELD))}

    def execute(self, values: dict[str, Any]) -> Any:
        self.act(values["value"])
        return values["value"]


class ScaleScreen(ServiceFieldScreen):
    HINT = "ctrl+s scales · escape cancels"
    FIELD, LABEL = "replicas", "Replicas"

    def title_text(self) -> str:
        return f"Scale {self.service.qualified_name} ({self.service.replicas_text} running)"

    def initial(self) -> str:
        return str(self.service.replicas or 0)

    def check(self, text: str) -> int:
        return swarm_validate.replicas(text)

    def act(self, value: int) -> None:
        from carina_tui.services.overlay import check_scale

        session = self.carina.session
        check_scale(session, self.service, value)  # more tasks than the subnet holds: said here, never sent
        session.guard.scale_service(self.service, value)

    def finished(self, result: Any) -> str:
        return f"Scaling {self.service.qualified_name} to {result}."


class UpdateImageScreen(ServiceFieldScreen):
    HINT = "ctrl+s updates (a rolling update, task by task) · escape cancels"
    FIELD, LABEL = "image", "Image"

    def title_text(self) -> str:
        return f"Update the image of {self.service.qualified_name}"

    def initial(self) -> str:
        return self.service.plain_image

    def check(self, text: str) -> str:
        return swarm_validate.image(text)

    def act(self, value: str) -> None:
        self.carina.session.guard.update_service_image(self.service, value)

    def finished(self, result: Any) -> str:
        return f"Updating {self.service.qualified_name} to {result}, task by task."


MODE_CHOICES = [("replicated", "replicated"), ("global (one task per node)", "global")]
ENDPOINT_CHOICES = [("dnsrr (DNS round robin; no IPVS needed)", "dnsrr"), ("vip (virtual IP; needs IPVS)", "vip")]


class CreateServiceScreen(FormScreen):
    TITLE = "New service"
    HINT = "tab moves · space ticks a network · ctrl+s creates · escape cancels"

    def fields(self) -> ComposeResult:
        yield self.row("Name", Input(placeholder="web", id="f-name", compact=True))
        yield self.row("Image", Input(placeholder="busybox:latest (on every node: no pulls)", id="f-image",
                                      compact=True))
        yield self.row("Mode", Select(MODE_CHOICES, value="replicated", allow_blank=False, id="f-mode", compact=True))
        yield self.row("Replicas", Input("1", id="f-replicas", compact=True))
        yield Label("Networks (space ticks; the swarm's overlay networks)", classes="form-label wide")
        yield SelectionList[str](id="f-networks", classes="form-pick", compact=True)
        yield self.row("Publish", Input(placeholder="8080:80, 53/udp", id="f-ports", compact=True))
        yield self.row("Env", Input(placeholder='KEY=value OTHER="two words"', id="f-env", compact=True))
        yield self.row("Constraints", Input(placeholder="node.hostname==sandbox-n1, node.role!=manager",
                                            id="f-constraints", compact=True))
        yield self.row("Endpoint", Select(ENDPOINT_CHOICES, value=DEFAULT_ENDPOINT_MODE, allow_blank=False,
                                          id="f-endpoint_mode", compact=True))
        yield self.row("Command", Input(placeholder="httpd -f -p 80 (empty: the image's own)", id="f-command",
                                        compact=True))
        yield self.row("Labels", Input(placeholder="key=value", id="f-labels", compact=True))

    def on_mount(self) -> None:
        super().on_mount()
        swarm_networks = [n for n in self.carina.pane("networks").items.values()
                          if n.scope == "swarm" and n.name not in SWARM_PLUMBING]
        self.query_one("#f-networks", SelectionList).add_options(
            [(n.name, n.name) for n in sorted(swarm_networks, key=lambda n: n.name)])

    @on(Select.Changed, "#f-mode")
    def _mode_changed(self, event: Select.Changed) -> None:
        self.query_one("#f-replicas", Input).disabled = event.value == "global"

    def values(self) -> dict[str, Any]:
        return dict(
            name=self.text("name"),
            image_text=self.text("image"),
            mode=self.chosen("mode") or "replicated",
            replicas_text=self.text("replicas"),
            networks=tuple(self.query_one("#f-networks", SelectionList).selected),
            ports_text=self.text("ports"),
            env=self.text("env"),
            constraints_text=self.text("constraints"),
            endpoint_mode=self.chosen("endpoint_mode") or DEFAULT_ENDPOINT_MODE,
            command=self.text("command"),
            labels=self.text("labels"),
        )

    def execute(self, values: dict[str, Any]) -> tuple[str, Any]:
        from carina_tui.services.overlay import check_create

        swarm = self.carina.session.swarm
        spec = swarm_validate.service_spec(**values, existing=swarm.services())
        check_create(self.carina.session, spec)  # a network whose subnet cannot hold it: said here, never sent
        sid = self.carina.session.guard.create_service(swarm.manager().key, spec)
        return sid, spec

    def finished(self, result: Any) -> str:
        _, spec = result
        count = "one task on every node" if spec.mode == "global" else \
            f"{spec.replicas} task{'s' if spec.replicas != 1 else ''}"
        return f"Created service {spec.name} ({spec.image}, {count}, {spec.endpoint_mode})."


# -- logs ----------------------------------------------------------------------------------------


class ServiceLogScreen(LogScreen):
    """The merged logs of every task (``services.swarm.ServiceLogs``): each line ``task@node | text``;
    the log screen's bound, follow and ``/`` search as for a container."""

    def __init__(self, session, service: ServiceInfo) -> None:
        super().__init__(session, service)  # type: ignore[arg-type]
        self.service_logs = None

    def _follow(self) -> None:
        """Starts the readers (threads of their own, ``carina-logs:``) and returns."""
        from carina_tui.services.swarm import ServiceLogs

        self.service_logs = ServiceLogs(self.session, self.container, tail=TAIL, on_line=self._add,  # type: ignore[arg-type]
                                        on_end=lambda sentence: self._post(StreamEnded(sentence)))
        self.service_logs.start()
        if self._stopping:
            self.service_logs.stop()

    def _close_stream(self) -> None:
        if self.service_logs is not None:
            self.service_logs.stop()
