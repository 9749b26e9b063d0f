"""The Services pane's screens: a service's tasks, the scale, update-image and new-service forms,
and the merged logs of a service's tasks (issue 15).

Kept apart from the pane (``ui/panes/services.py``) so that the forms, the log screen and the
widgets they use load when one of them is first opened, not at start-up: the console's first
frame shows none of them. ``carina_tui.ui.panes.services`` still gives these names.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Select, SelectionList, Static

from carina_tui.core import swarm_validate
from carina_tui.core.errors import CarinaError
from carina_tui.core.models import SWARM_PLUMBING, age
from carina_tui.core.swarm_models import DEFAULT_ENDPOINT_MODE, ServiceInfo, TaskInfo
from carina_tui.ui.forms import FormScreen
from carina_tui.ui.logs import TAIL, LogScreen, StreamEnded
from carina_tui.ui.panes.services import PROTECTED_MARK


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
