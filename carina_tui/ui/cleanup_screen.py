"""``x`` in the Containers pane: plan, confirm, remove, and say what happened.

The plan is made from exactly what the pane's filter shows (``pane.visible``),
by the pure planner (``carina_tui.core.planner``). The screen shows the lists:
to remove, protected and kept (with the rule), Swarm's task history (exited task
containers, kept unless ``t`` includes them: the plan is made again), hidden by
the filter (a count).
``d`` (or enter on the list) asks once, stating the count; removal then runs
on a thread of its own through the guard (``carina_tui.services.runner.CleanupRun``),
with a progress bar, and ends in a summary: removed, skipped (why), failed (why).
Escape, or quitting the console, stops it after the removals under way.

The same screen shows an image or volume prune plan (``p`` on the Images and Volumes
panes, ``plan_prune``): its own columns and words, the same confirm, per-item re-check
(``Guard.remove_stored``), progress and summary.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, DataTable, ProgressBar, Static

from carina_tui.core.errors import CarinaError, ValidationError
from carina_tui.core.planner import CANDIDATES, NOUN, ContainerFilter, Kept, Plan, parse_filter, plan_cleanup
from carina_tui.core.storage_models import Image, size_text
from carina_tui.services.runner import CleanupResult, CleanupRun
from carina_tui.core.models import ContainerInfo, age
from carina_tui.core.swarm_nodes import SERVICE_LABEL, task_of
from carina_tui.ui.screens import ConfirmScreen
from carina_tui.ui.columns import state_text


def pane_filter(pane) -> ContainerFilter | None:
    """The pane's filter text, parsed (cached); None when it is not valid filter language."""
    text = pane.filter_text
    cached = getattr(pane, "_cleanup_filter", None)
    if cached is None or cached[0] != text:
        try:
            parsed: ContainerFilter | None = parse_filter(text)
        except ValidationError:
            parsed = None
        cached = (text, parsed)
        pane._cleanup_filter = cached
    return cached[1]


def pane_shows(pane, c: ContainerInfo) -> bool:
    """What the Containers pane shows: ``node=``, ``name=``, ``label=``, ``until=`` and free words."""
    if not pane.filter_text:
        return True
    flt = pane_filter(pane)
    text = pane.search_text(c)
    if flt is None:  # not filter language (``until=soon``): plain words, as every pane does
        needle = pane.filter_text.lower()
        return all(part in text.lower() for part in needle.split())
    return flt.shows(c, time.time(), text=text)


def open_cleanup(app, pane) -> None:
    """Plan from what ``pane`` shows now and open the cleanup screen."""
    problem = ""
    if pane.filter_text and pane_filter(pane) is None:
        try:
            parse_filter(pane.filter_text)
        except ValidationError as err:
            problem = str(err)
    items, rules, shows = list(pane.items.values()), app.session.guard.rules, pane.visible

    def replan(include_task_history: bool) -> Plan:
        return plan_cleanup(items, rules, shows=shows, include_task_history=include_task_history)

    app.push_screen(CleanupScreen(replan(False), pane.filter_text, problem, qualify=getattr(pane, "qualify", False),
                                  replan=replan))


@dataclass
class CleanupEnded(Message):
    result: CleanupResult | None


class CleanupScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("d", "confirm", "Remove…", id="cleanup.remove"),
        Binding("v", "toggle_volumes", "Anonymous volumes", id="cleanup.volumes"),
        Binding("t", "toggle_history", "Swarm task history", id="cleanup.history"),
        Binding("escape", "close", "Close", id="cleanup.close"),
        Binding("q", "app.quit", "Quit", show=False, id="cleanup.quit"),  # a modal screen hides the app's q
    ]

    def __init__(self, plan: Plan, filter_text: str = "", problem: str = "", *, qualify: bool = False,
                 replan: Callable[[bool], Plan] | None = None) -> None:
        super().__init__()
        self.replan = replan  # the plan again, with or without Swarm's task history
        self.qualify = qualify  # node/name, as the Containers pane shows names on a cluster of several nodes
        self.plan = plan
        self.filter_text = filter_text
        self.problem = problem
        self.result: CleanupResult | None = None
        self.running = False
        self.run: CleanupRun | None = None

    # -- layout ---------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # The lists are filled here, not on mount: rows added after the focus would scroll the plan.
        plan = self.plan
        kind = plan.kind
        remove = self._table("cleanup-remove", _REMOVE_COLUMNS[kind])
        kept = self._table("cleanup-kept", _KEPT_COLUMNS[kind if kind == "containers" else "stored"], cursor=False)
        history = self._table("cleanup-history", (("name", "Name"), ("node", "Node"), ("service", "Service"),
                                                  ("age", "Age")), cursor=False)
        self._rows(remove, kept, history)
        texts = self._texts()
        with Vertical(id="cleanup-box", classes="modal-box wide"):
            yield Static(Text(_TITLE[kind] if not plan.dangling_only else "Prune dangling images", style="bold"),
                         classes="modal-title")
            every = "dangling image" if plan.dangling_only else CANDIDATES[kind].replace("(s)", "")
            where = f"Filter: {self.filter_text}" if self.filter_text else f"No filter: every {every}"
            yield Static(Text(where + (f"  ({self.problem})" if self.problem else ""), style="dim"),
                         id="cleanup-filter")
            with VerticalScroll(id="cleanup-plan"):
                yield Static(texts["cleanup-remove-title"], classes="cleanup-heading", id="cleanup-remove-title")
                yield remove
                yield Static(texts["cleanup-kept-title"], classes="cleanup-heading", id="cleanup-kept-title")
                yield kept
                yield Static(texts["cleanup-history-title"], classes="cleanup-heading", id="cleanup-history-title")
                yield history
                yield Static(texts["cleanup-hidden"], id="cleanup-hidden")
            yield Checkbox("Also remove Swarm's task history (t)", self.plan.include_task_history,
                           id="cleanup-history-box")
            yield Checkbox("Also remove their anonymous volumes", False, id="cleanup-volumes")
            yield ProgressBar(total=max(self.plan.count, 1), show_eta=False, id="cleanup-progress")
            with VerticalScroll(id="cleanup-summary-box"):
                yield Static("", id="cleanup-summary")
            yield Static(texts["cleanup-hint"], classes="modal-hint", id="cleanup-hint")

    @staticmethod
    def _table(table_id: str, columns, cursor: bool = True) -> DataTable:
        table = DataTable(id=table_id, cursor_type="row", show_cursor=cursor, classes="cleanup-table")
        for key, label in columns:
            table.add_column(label, key=key)
        return table

    def _rows(self, remove: DataTable, kept: DataTable, history: DataTable) -> None:
        plan = self.plan
        for item in plan.to_remove:
            remove.add_row(*self._remove_row(item), key=_row_key(item))
        for k in plan.protected_kept:
            kept.add_row(*self._kept_row(k), key=_row_key(k.target))
        for c in plan.task_history:
            history.add_row(self._shown_name(c), c.node, c.label_map.get(SERVICE_LABEL, ""), age(c.created), key=c.id)

    @property
    def _has_history(self) -> bool:
        return bool(self.plan.task_history or any(isinstance(c, ContainerInfo) and task_of(c)
                                                  for c in self.plan.to_remove))

    def _texts(self) -> dict[str, Text | str]:
        """The titles and the hint for ``self.plan``, by widget id."""
        plan = self.plan
        included = sum(1 for c in plan.to_remove if isinstance(c, ContainerInfo) and task_of(c))
        history = (f"Swarm task history: {included} included above (t keeps it)" if plan.include_task_history else
                   f"Swarm task history, kept ({len(plan.task_history)}): Swarm shows these in docker service ps "
                   "and removes them itself; t includes them")
        containers = plan.kind == "containers"
        keys = [f"d removes these {plan.count}" if plan.count else "Nothing to remove",
                *(["v toggles volumes"] if plan.count and containers else []),
                *(["t task history"] if self._has_history else []), "escape closes"]
        return {
            "cleanup-remove-title": Text(f"To remove ({plan.count})", style="bold"),
            "cleanup-kept-title": Text(f"Protected and kept ({len(plan.protected_kept)})", style="bold"),
            "cleanup-history-title": Text(history, style="bold"),
            "cleanup-hidden": Text(f"Hidden by the filter: {plan.hidden_by_filter} {CANDIDATES[plan.kind]}, "
                                   "not touched.", style="bold"),
            "cleanup-hint": " · ".join(keys),
        }

    def _show_history(self) -> None:
        for widget in ("#cleanup-history-title", "#cleanup-history-box"):
            self.query_one(widget).display = self._has_history
        self.query_one("#cleanup-history").display = bool(self.plan.task_history)

    def _fill(self) -> None:
        """Show ``self.plan`` again (after ``t``): the lists, their titles, the hint."""
        tables = [self.query_one(f"#{t}", DataTable) for t in ("cleanup-remove", "cleanup-kept", "cleanup-history")]
        for table in tables:
            table.clear()
        self._rows(*tables)
        for widget, text in self._texts().items():
            self.query_one(f"#{widget}", Static).update(text)
        self._show_history()
        self.query_one("#cleanup-progress", ProgressBar).update(total=max(self.plan.count, 1))

    def _remove_row(self, item) -> tuple:
        if isinstance(item, ContainerInfo):
            return (self._shown_name(item), state_text(item.state), item.node, item.image, age(item.created))
        if isinstance(item, Image):
            name = Text(item.name + (" (dangling)" if item.dangling else ""))
            return (name, item.node, item.short_id, size_text(item.size), age(item.created))
        return (item.name, item.node, item.driver, size_text(item.size), age(item.created))

    def _kept_row(self, k: Kept) -> tuple:
        c = k.container
        if k.item is None:
            return (self._shown_name(c), state_text(c.state), c.node, k.rule.describe())
        user = Text(self._shown_name(c) + " ")
        user.append_text(state_text(c.state))
        return (k.item.name, k.item.node, user, k.rule.describe())

    def _shown_name(self, c: ContainerInfo) -> str:
        return c.qualified_name if self.qualify else c.name

    def on_mount(self) -> None:
        self._show_history()
        self.query_one("#cleanup-volumes").display = self.plan.kind == "containers"
        self.query_one("#cleanup-progress").display = False
        self.query_one("#cleanup-summary-box").display = False
        self.query_one("#cleanup-remove", DataTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "toggle_history":
            return None if self.running or self.result is not None or self.replan is None else True
        if action in ("confirm", "toggle_volumes"):
            if self.running or self.result is not None or not self.plan.count:
                return None
            if getattr(self.app, "read_only", False):
                return None
            if action == "toggle_volumes" and self.plan.kind != "containers":
                return None
        return True

    # -- actions --------------------------------------------------------------------

    def action_toggle_volumes(self) -> None:
        box = self.query_one("#cleanup-volumes", Checkbox)
        box.value = not box.value

    def action_toggle_history(self) -> None:
        box = self.query_one("#cleanup-history-box", Checkbox)
        box.value = not box.value  # the plan follows the box (below)

    @on(Checkbox.Changed, "#cleanup-history-box")
    def _history_changed(self, event: Checkbox.Changed) -> None:
        if self.replan is None or event.value == self.plan.include_task_history:
            return
        self.plan = self.replan(event.value)
        self._fill()
        self.refresh_bindings()

    @on(DataTable.RowSelected, "#cleanup-remove")
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if self.check_action("confirm", ()):
            self.action_confirm()

    def action_confirm(self) -> None:
        count, kind = self.plan.count, self.plan.kind
        if kind == "containers":
            volumes = self.query_one("#cleanup-volumes", Checkbox).value
            detail = ("Each one is checked again just before it is removed: one that is running, gone or "
                      "protected by then is skipped. ")
            detail += ("Their anonymous volumes are removed too." if volumes
                       else "Their volumes are kept.")
            question = f"Remove {count} stopped container{'s' if count != 1 else ''}?"
        else:
            volumes = False
            detail = ("Each one is checked again just before it is removed: one that a container uses by then "
                      "(a protected one on any node), or that is gone, is skipped.")
            question = f"Remove {count} unused {NOUN[kind]}{'s' if count != 1 else ''}?"

        def answered(yes: bool | None) -> None:
            if yes:
                self._start(volumes)

        self.app.push_screen(ConfirmScreen(question, detail), answered)

    def action_close(self) -> None:
        if self.running:
            self.run.stop()
            self.notify("Stopping after the removals under way; the rest are left as they are.",
                        title="Cleanup")
            return
        self.dismiss(None)

    # -- execution --------------------------------------------------------------------

    def _start(self, volumes: bool) -> None:
        self.running = True
        self.refresh_bindings()
        self.query_one("#cleanup-volumes", Checkbox).disabled = True
        self.query_one("#cleanup-history-box", Checkbox).disabled = True
        self.query_one("#cleanup-progress").display = True
        self.query_one("#cleanup-hint", Static).update("removing… escape stops after the removals under way")
        self._ticker = self.set_interval(0.1, self._tick)
        self.run = CleanupRun(self.app.session.guard, self.plan.to_remove, volumes=volumes,
                              kept=self.plan.protected_kept, on_done=self._ended).start()

    def _tick(self) -> None:
        # The run's threads only count; the ticker draws.
        self.query_one("#cleanup-progress", ProgressBar).update(progress=self.run.done)

    def _ended(self, result: CleanupResult | None) -> None:
        try:  # on the run's thread
            self.post_message(CleanupEnded(result))
        except RuntimeError:  # the app has ended (quit): the CLI says how far it got
            pass

    @on(CleanupEnded)
    def _stopped(self, message: CleanupEnded) -> None:
        self.running = False
        self._ticker.stop()
        self._tick()
        self.refresh_bindings()
        if message.result is not None:
            self._finished(message.result)
        elif isinstance(self.run.error, CarinaError):  # the audit log cannot be written: nothing was done
            self._not_done(str(self.run.error))
        else:
            error = self.run.error
            self.app.notify(f"{type(error).__name__}: {error}. This is a bug in carina-tui; the console keeps "
                            "running.", title="Cleanup", severity="error", timeout=15)

    def _not_done(self, sentence: str) -> None:
        self.query_one("#cleanup-plan").display = False
        self.query_one("#cleanup-volumes").display = False
        self.query_one("#cleanup-history-box").display = False
        self.query_one("#cleanup-progress").display = False
        self.query_one("#cleanup-summary-box").display = True
        self.query_one("#cleanup-summary", Static).update(Text(sentence, style="bold red"))
        self.query_one("#cleanup-hint", Static).update("escape closes")
        self.app.notify(sentence, title="Cleanup", severity="error", timeout=10)

    def _finished(self, result: CleanupResult) -> None:
        self.result = result
        self.query_one("#cleanup-plan").display = False
        self.query_one("#cleanup-volumes").display = False
        self.query_one("#cleanup-history-box").display = False
        self.query_one("#cleanup-summary-box").display = True
        self.query_one("#cleanup-summary", Static).update(summary_text(result, qualify=self.qualify))
        self.query_one("#cleanup-hint", Static).update("escape closes")
        severity = "error" if result.failed else "information"
        self.app.notify(result.summary(), title="Cleanup", severity=severity)


def _row_key(item) -> str:
    """A container by its id (as before); an image or volume by engine and id: the same image id can
    be on several nodes."""
    return item.id if isinstance(item, ContainerInfo) else item.key


_TITLE = {"containers": "Clean up stopped containers", "images": "Prune unused images",
          "volumes": "Prune unused volumes"}
_REMOVE_COLUMNS = {
    "containers": (("name", "Name"), ("state", "State"), ("node", "Node"), ("image", "Image"), ("age", "Age")),
    "images": (("name", "Repository:tag"), ("node", "Node"), ("id", "ID"), ("size", "Size"), ("age", "Age")),
    "volumes": (("name", "Name"), ("node", "Node"), ("driver", "Driver"), ("size", "Size"), ("age", "Age")),
}
_KEPT_COLUMNS = {
    "containers": (("name", "Name"), ("state", "State"), ("node", "Node"), ("rule", "Rule")),
    "stored": (("name", "Name"), ("node", "Node"), ("user", "Used by"), ("rule", "Rule")),
}


def summary_text(result: CleanupResult, *, qualify: bool = False) -> Text:
    def name(o) -> str:
        return o.name if qualify else o.plain_name

    text = Text()
    text.append(f"Removed ({len(result.removed)})\n", style="bold green")
    for o in result.removed:
        text.append(f"  {name(o)}\n")
        if o.reason:  # removed, but its audit line is missing
            text.append(f"    {o.reason}\n", style="red")
    for title, items, style in (("Skipped", result.skipped, "bold yellow"), ("Failed", result.failed, "bold red")):
        text.append(f"{title} ({len(items)})\n", style=style)
        for o in items:
            text.append(f"  {name(o)}: ", style="bold")
            text.append(f"{o.reason}\n")
    return text
