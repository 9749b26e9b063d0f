"""Panes 6 Images and 7 Volumes: what every node holds, who uses each, and pruning.

Each pane owns its data and its workers: it reads its list (``services.storage``) when it
is first shown, on ``r`` and after a removal, and works out who uses each row from the
containers the Containers pane holds (they follow the engines' events), so the "Used by"
column follows the containers between reads. A row a protected container uses says so
(``⚑`` and the container), a dangling image is marked; ``d`` removes one after a
confirmation, ``p`` (and ``P`` on Images: dangling only) opens the cleanup screen on a
prune plan made from a fresh list. Every removal goes through ``Guard.remove_stored``,
which looks again just before it.
"""

from __future__ import annotations

import time
from dataclasses import replace

from rich.text import Text
from textual.binding import Binding
from textual.worker import get_current_worker

from carina_tui.core.models import ContainerInfo, age
from carina_tui.core.planner import plan_prune
from carina_tui.core.storage_models import Image, Stored, size_text, users_text, with_users
from carina_tui.ui.panes.containers import ContainersPane
from carina_tui.ui.screens import ConfirmScreen
from carina_tui.ui.columns import natural
from carina_tui.ui.tables import TablePane

PROTECTED_MARK = "⚑ "


class StoredPane(TablePane[Stored]):
    """What the Images and Volumes panes share: loading, users, ``d`` and ``p``."""

    KIND = ""  # images | volumes
    SORTS = ("name", "node", "size", "age", "users")
    DEFAULT_SORT = "name"
    TICK = 60.0
    SETTLE = 0.5  # seconds an engine's image or volume news waits for more before the list is read again
    MUTATING = frozenset({"remove", "prune", "prune_dangling"})
    ENTER_ACTION = "remove_hint"

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.qualify = False  # node/name for the users, on a cluster of several nodes
        self.loaded = False
        self.now = time.time
        self._news = None  # the timer of a read asked for by the engines' events

    # -- what the rows say ---------------------------------------------------------

    def users_cell(self, item: Stored) -> Text:
        text = Text()
        if item.protected_by is not None and item.rule is not None:
            c = item.protected_by
            who = c.qualified_name if self.qualify else c.name
            if c.endpoint != item.endpoint or c not in item.users:
                text.append(f"{PROTECTED_MARK}{who} ({c.state})", style="bold yellow")
                if item.users:
                    text.append(", ")
            else:
                text.append(PROTECTED_MARK, style="bold yellow")
        text.append(users_text(item, qualify=self.qualify) if item.users or not text else "")
        return text

    def sort_key(self, item: Stored, column: str, cells):
        if column == "size":
            return (-(item.size or 0), natural(item.name))
        if column == "age":
            return (-item.created, natural(item.name))
        if column == "users":
            return (-len(item.users), natural(item.name))
        return (super().sort_key(item, column, cells), natural(item.node))

    def visible(self, item: Stored) -> bool:
        """The filter language of the Containers pane: node=, name=, label=, until= (age) and words."""
        if not self.filter_text:
            return True
        from carina_tui.ui.cleanup_screen import pane_shows

        return pane_shows(self, item)

    # -- data ------------------------------------------------------------------------

    def on_show(self) -> None:
        if not self.loaded:
            self.load()

    def _containers(self) -> list[ContainerInfo] | None:
        """The containers the Containers pane holds now (None when there is none to ask)."""
        found = self.screen.query(ContainersPane)
        return list(found.first().items.values()) if found else None

    def _read(self, containers: list[ContainerInfo] | None):
        from carina_tui.services import storage

        session = self.app.session
        if containers is None:
            containers = list(session.snapshot().containers)
        read = storage.list_images if self.KIND == "images" else storage.list_volumes
        return read(session, containers)

    def load(self, then=None) -> None:
        """Read the list in a worker; show it; then ``then()`` (on the main thread). Before the
        Containers pane has its first list, the worker reads the containers itself."""
        containers = self._containers() or None

        def work() -> None:
            listed = self._read(containers)
            if get_current_worker().is_cancelled and then is None:
                return  # a later read (r, the engines' news) was asked for: it shows what is newer
            self.app.call_from_thread(self._loaded, listed, then)

        self.run_worker(work, thread=True, group=f"{self.KIND}-load", exclusive=True, exit_on_error=False,
                        name=f"list {self.KIND}")

    def _loaded(self, listed, then=None) -> None:
        self.loaded = True
        self.replace_all(listed.items)
        # An engine's error in its own words (the console says the same of an engine that does
        # not answer: one toast, ``CarinaApp._on_notify``); what it costs this pane, in its subtitle.
        for error in listed.errors:
            self.app.notify(error, title=self.TITLE, severity="warning")
        missing = len(listed.errors)
        self.border_subtitle = (f"{self.KIND} of {missing} engine{'s' if missing != 1 else ''} not shown"
                                if missing else "")
        if then is not None:
            then()

    def containers_changed(self, containers) -> None:
        """Who uses each row again, from the containers as they are now (no engine call)."""
        if not self.items:
            return
        bare = [replace(i, users=(), protected_by=None, rule=None) for i in self.items.values()]
        fresh = with_users(bare, containers, self.app.session.guard.rules)
        changed = [i for i in fresh if self.items.get(i.key) != i]
        if changed:
            self.update_items(changed)

    def stored_changed(self) -> None:
        """The engines' events say this list changed (an image committed, a volume created...):
        read it again once the news settles, if the pane is shown; else when it is shown next."""
        if self._news is None:
            self._news = self.set_timer(self.SETTLE, self._after_news)

    def _after_news(self) -> None:
        self._news = None
        if self.display and self.is_attached:
            self.load()
        else:
            self.loaded = False  # on_show reads it

    def reload(self) -> None:
        """``r``, an engine back, a cluster switch (the console calls it while the pane is shown)."""
        self.load()

    def action_reload(self) -> None:
        self.load()

    # -- d: remove one ---------------------------------------------------------------

    def action_remove_hint(self) -> None:
        """enter: what the row is (every name of an image, its node) and what can be done with it."""
        item = self.selected
        if item is not None:
            names = f" (names: {item.names_text})" if isinstance(item, Image) and len(item.tags) > 1 else ""
            where = f" on node {item.node}" if item.node else ""
            self.app.notify(f"{self._what(item)}{names}{where}: d removes it, p plans removing every unused one.",
                            title=self.TITLE)

    def _what(self, item: Stored) -> str:
        return f"{'Image' if isinstance(item, Image) else 'Volume'} {item.qualified_name if self.qualify else item.name}"

    def action_remove(self) -> None:
        item = self.target()
        if item is None:
            return
        guard = self.app.session.guard
        if guard.read_only:
            self.app.notify(guard.would_refuse(f"{self.KIND[:-1]}.remove") or "", title=self.TITLE, severity="error")
            return
        if item.protected_by is not None and item.rule is not None:
            c = item.protected_by
            self.app.notify(f"{self._what(item)} is kept: the protected container {c.qualified_name} ({c.state}) "
                            f"uses it (rule {item.rule.describe()}).", title=self.TITLE, severity="error")
            return
        if item.users:
            names = ", ".join(f"{c.qualified_name if self.qualify else c.name} ({c.state})" for c in item.users)
            self.app.notify(f"{self._what(item)} is used by {names}; remove those containers first.",
                            title=self.TITLE, severity="error")
            return
        where = f" from node {item.node}" if item.node else ""
        detail = "It is checked again just before: if a container uses it by then, nothing is removed."
        if isinstance(item, Image) and len(item.tags) > 1:
            detail = f"All its names go{where}: {item.names_text}. " + detail
        if item.node:
            detail = f"Only node {item.node}'s copy goes; other nodes keep theirs. " + detail

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(lambda: self._remove(item), thread=True, group="mutate", exit_on_error=False,
                                name=f"remove {item.name}")

        kind = "image" if isinstance(item, Image) else "volume"
        question = f"Remove {kind} {item.name}{where}?" if item.node else f"Remove {self._what(item).lower()}?"
        self.app.push_screen(ConfirmScreen(question, detail), answered)

    def _remove(self, item: Stored) -> None:
        outcome = self.app.session.guard.remove_stored(item)
        self.app.call_from_thread(self._removed, item, outcome)

    def _removed(self, item: Stored, outcome) -> None:
        if outcome.result == "removed":
            self.app.notify(f"{self._what(item)} was removed." + (f" {outcome.reason}" if outcome.reason else ""),
                            title=self.TITLE)
            self.update_items([], [item.key])
        else:
            self.app.notify(f"{self._what(item)} was not removed: {outcome.reason}.", title=self.TITLE,
                            severity="error" if outcome.result == "failed" else "warning", timeout=10)
        self.load()

    # -- p: a prune plan ---------------------------------------------------------------

    def action_prune(self) -> None:
        self._plan(dangling_only=False)

    def action_prune_dangling(self) -> None:
        self._plan(dangling_only=True)

    def _plan(self, *, dangling_only: bool) -> None:
        """A fresh list first: the plan is made from what the engines hold now."""

        def show() -> None:
            from carina_tui.ui.cleanup_screen import CleanupScreen

            plan = plan_prune(self.KIND, self.items.values(), dangling_only=dangling_only, shows=self.visible)
            self.app.push_screen(CleanupScreen(plan, self.filter_text, qualify=self.qualify),
                                 lambda _: self.load())

        self.load(then=show)


class ImagesPane(StoredPane):
    TITLE = "Images"
    NUMBER = 6
    KIND = "images"
    EMPTY = "No images (or not read yet: r reads them)."
    KEEP = ("name", "users", "size", "node", "id", "age")
    COLUMNS = (
        ("name", "Repository:tag", None),
        ("node", "Node", None),
        ("id", "ID", None),
        ("size", "Size", None),
        ("age", "Created", None),
        ("users", "Used by", None),
    )
    BINDINGS = [
        Binding("d", "remove", "Remove", id="images.remove"),
        Binding("p", "prune", "Prune unused", id="images.prune"),
        Binding("P", "prune_dangling", "Prune dangling", id="images.prune_dangling"),
        Binding("r", "reload", "Refresh", id="images.reload", show=False),
    ]

    def cells(self, i: Image):
        name = Text(i.name, style="dim") if i.dangling else Text(i.name)
        if len(i.tags) > 1:  # its other names: enter lists them all
            name.append(f" +{len(i.tags) - 1}", style="cyan")
        if i.dangling:
            name.append(" dangling", style="yellow")
        return (name, i.node, i.short_id, size_text(i.size), age(i.created, self.now(), coarse=True), self.users_cell(i))

    def search_text(self, item: Image) -> str:
        """The filter finds an image by any of its names, not only the one shown."""
        return f"{super().search_text(item)} {' '.join(item.tags[1:])}"


class VolumesPane(StoredPane):
    TITLE = "Volumes"
    NUMBER = 7
    KIND = "volumes"
    EMPTY = "No volumes (or not read yet: r reads them)."
    KEEP = ("name", "users", "size", "node", "driver", "mountpoint")
    COLUMNS = (
        ("name", "Name", None),
        ("node", "Node", None),
        ("driver", "Driver", None),
        ("size", "Size", None),
        ("users", "Used by", None),
        ("mountpoint", "Mount point", None),
    )
    BINDINGS = [
        Binding("d", "remove", "Remove", id="volumes.remove"),
        Binding("p", "prune", "Prune unused", id="volumes.prune"),
        Binding("r", "reload", "Refresh", id="volumes.reload", show=False),
    ]
    SORTS = ("name", "node", "size", "users")

    def cells(self, v):
        return (v.name, v.node, v.driver, size_text(v.size), self.users_cell(v), v.mountpoint)
