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
from textual.binding import Binding
from textual.message import Message
from textual.timer import Timer

from carina_tui.core.errors import CarinaError
from carina_tui.core.swarm_models import ServiceInfo
from carina_tui.ui.screens import ConfirmScreen
from carina_tui.ui.columns import natural
from carina_tui.ui.tables import TablePane

if TYPE_CHECKING:  # pragma: no cover
    from carina_tui.ui.app import CarinaApp
    from carina_tui.ui.service_screens import TasksScreen

# The screens the pane opens live in ``ui/service_screens.py`` (forms, logs: loaded when first
# opened, not at start-up); they are still found here by name.
SCREENS = frozenset({"TasksScreen", "ServiceFieldScreen", "ScaleScreen", "UpdateImageScreen", "CreateServiceScreen",
                     "ServiceLogScreen", "MODE_CHOICES", "ENDPOINT_CHOICES"})


def __getattr__(name: str) -> Any:
    if name in SCREENS:
        from carina_tui.ui import service_screens

        return getattr(service_screens, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
            from carina_tui.ui.service_screens import TasksScreen

            self.tasks_screen = TasksScreen(s, self.rule_of(s))
            self.app.push_screen(self.tasks_screen)

    def action_scale(self) -> None:
        if (s := self.target()) is None:
            return
        if s.mode == "global":
            self.app.notify(f"{s.qualified_name} is global: it runs one task on every node and has no count "
                            "to scale.", severity="warning")
            return
        from carina_tui.ui.service_screens import ScaleScreen

        self.app.push_screen(ScaleScreen(s))  # a protected one may be scaled up: the guard judges the count

    def action_create(self) -> None:
        from carina_tui.ui.service_screens import CreateServiceScreen

        self.app.push_screen(CreateServiceScreen())

    def action_update(self) -> None:
        if (s := self.target()) is not None and not self._refused("service.update", s):
            from carina_tui.ui.service_screens import UpdateImageScreen

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
            from carina_tui.ui.service_screens import ServiceLogScreen

            self.app.push_screen(ServiceLogScreen(self.carina.session, s))
