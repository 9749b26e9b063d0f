"""The app: start-up, the session and switching clusters, the global keys.

The console itself (header, panes, footer, the engines' news) is ``ConsoleScreen``
(``ui/console_screen.py``); what the panes ask for is handled in ``ui/actions.py``; each
pane owns the workers of its own data (``ui/panes/``). Thread workers run on our own pool
(``runtime.DaemonExecutor``, installed as the event loop's default executor at load): no
long-lived loop ever holds one of its threads.
"""

from __future__ import annotations

import asyncio
import sys

from textual.app import App
from textual.binding import Binding
from textual.notifications import Notify
from textual.worker import Worker

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.config import Config
from carina_tui.core.errors import CarinaError
from carina_tui.runtime import DaemonExecutor
from carina_tui.services.session import Session
from carina_tui.ui.console_screen import ConsoleScreen
from carina_tui.ui.keymap import check_keymap, keep_theme, kept_theme
from carina_tui.ui.palette import ConsoleCommands
from carina_tui.ui.panes import PANES
from carina_tui.ui.panes.clusters import cluster_key
from carina_tui.ui.screens import HelpScreen, TypeAheadApp, report_worker_error
from carina_tui.ui.tables import TablePane

GRAVITY = {"information": 0, "warning": 1, "error": 2}


class CarinaApp(TypeAheadApp, App):
    CSS_PATH = "app.tcss"
    TITLE = "carina-tui"
    AUTO_FOCUS = ""  # the console screen says what it focuses; the others focus what they choose, or nothing
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ConsoleCommands}

    BINDINGS = [
        # 1, 2, … show the registered panes (ui/panes/registry.py: ``app.focus_<id>``).
        *(entry.binding() for entry in PANES.values()),
        Binding("r", "refresh", "Refresh", id="app.refresh", show=False),
        # Writes the whole screen again, trusting nothing the terminal shows (ui/driver.py): after
        # another program wrote over the console (a `wall` message, a stray echo). A priority
        # binding: it works over a dialog too (those keep the app's other keys from their keys).
        Binding("ctrl+l", "redraw", "Redraw the screen", id="app.redraw", show=False, priority=True),
        Binding("W", "swarm", "Swarm nodes", id="app.swarm", show=False),  # issue 15: ui/swarm_screen.py
        Binding("question_mark", "help", "Keys", id="app.help"),
        Binding("z", "zoom", "Zoom", show=False, id="app.zoom"),
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="app.quit_ctrl_c"),
    ]

    def __init__(self, session: Session, *, config: Config | None = None, read_only: bool = False,
                 discover: bool = True, early=None) -> None:
        super().__init__()
        self.session = session
        self.early = early  # the frame drawn before Textual loaded (``ui/early.py``), for the driver
        if early is not None and not getattr(self.driver_class, "takes_early_frame", False):
            early.close()  # only CellDriver takes the terminal over from it: for another, it is put back
        self.config = config if config is not None else Config()
        self._bind_late_panes()
        # The user's keys and theme; a bad line of the config stops here, as a sentence naming it.
        self.set_keymap(check_keymap(self.config))
        theme = kept_theme(self.config, self.available_themes)
        if theme:
            self.theme = theme
        self.cli_read_only = read_only
        self.discover = discover
        self.console_screen: ConsoleScreen | None = None
        self.stopped_cleanups: list = []  # CleanupRuns stopped by quitting (the CLI says how far they got)

    def get_driver_class(self):
        """Textual's driver for this terminal; on Linux, one that writes only the cells that change
        (``ui/driver.py``). A driver named in TEXTUAL_DRIVER (the served console's) stays."""
        driver_class = super().get_driver_class()
        if driver_class.__module__ == "textual.drivers.linux_driver":
            from carina_tui.ui.driver import CellDriver

            return CellDriver
        return driver_class

    def _bind_late_panes(self) -> None:
        """Keys of panes registered after this class was made (BINDINGS has the others)."""
        bound = {b.id for bindings in self._bindings.key_to_bindings.values() for b in bindings}
        for entry in PANES.values():
            binding = entry.binding()
            if binding.id not in bound:
                self._bindings.key_to_bindings.setdefault(binding.key, []).append(binding)

    def get_default_screen(self) -> ConsoleScreen:
        self.console_screen = ConsoleScreen()
        return self.console_screen

    # -- threads and quitting ----------------------------------------------------------

    def on_load(self) -> None:
        # Thread workers run on the loop's default executor: ours has a fixed size and daemon
        # threads, so neither the core count nor a blocked request can starve it or hold exit.
        self.executor = DaemonExecutor()
        asyncio.get_running_loop().set_default_executor(self.executor)

    def on_mount(self) -> None:
        self.watch(self, "theme", self._theme_chosen, init=False)

    def on_unmount(self) -> None:
        if self.console_screen is not None:
            self.console_screen.stop()

    async def action_quit(self) -> None:
        """Stop at once: a cleanup under way stops after the removals it has started (the CLI
        says how far it got); the engines' streams are closed on unmount."""
        cleanup = sys.modules.get("carina_tui.ui.cleanup_screen")  # not loaded: no cleanup was ever opened
        for screen in self.screen_stack if cleanup is not None else ():
            if isinstance(screen, cleanup.CleanupScreen) and screen.run is not None and screen.running:
                screen.run.stop()
                self.stopped_cleanups.append(screen.run)
        self.exit()

    def _on_notify(self, event: Notify) -> None:
        """One toast per sentence. Several parts of the console find the same thing out (an
        engine that does not answer: the first load, its event stream, each pane that reads it)
        and say it in the same words: a sentence already on screen is raised again in its place,
        with the title it had, the graver severity and the longer time left, not stacked. Textual's
        own handler (``App._on_notify``, run after this one) then shows it."""
        new = event.notification
        for shown in list(self._notifications):
            if shown.message == new.message:
                new.title = shown.title or new.title
                if GRAVITY.get(shown.severity, 0) > GRAVITY.get(new.severity, 0):
                    new.severity = shown.severity
                new.timeout = max(new.timeout, shown.time_left)
                self._unnotify(shown, refresh=False)

    def _theme_chosen(self, theme: str) -> None:
        """A theme chosen in the palette is kept for the next start (``ui.keymap.keep_theme``)."""
        problem = keep_theme(self.config, theme)
        if problem:
            self.notify(problem, title="Theme", severity="warning")

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_error(self, event)

    # -- clusters ---------------------------------------------------------------------------

    @property
    def read_only(self) -> bool:
        return self.session.read_only

    @property
    def clusters(self) -> list[ClusterSpec]:
        """Every cluster found (the Clusters pane's)."""
        return self.pane("clusters").clusters or [self.session.spec]

    def switch_cluster(self, spec: ClusterSpec) -> None:
        """Move the whole console to another cluster, without a restart."""
        if cluster_key(spec) == cluster_key(self.session.spec):
            self.notify(f"The console already shows {spec.name}.")
            return
        from carina_tui.services.targets import session_for

        try:
            session = session_for(spec, self.config, read_only=self.cli_read_only)
        except CarinaError as err:
            self.notify(str(err), title=err.title, severity="error", timeout=10)
            return
        self.console_screen.stop()
        old, self.session = self.session, session
        old.close()
        self.console_screen.clear()
        self.console_screen.start()
        self.refresh_bindings()
        self.notify(f"Now on cluster {spec.name} ({spec.source}).", title="Switched")

    # -- global keys --------------------------------------------------------------------

    async def action_show_pane(self, name: str) -> None:
        await self.console_screen.show_pane(name)

    def action_refresh(self) -> None:
        self.console_screen.load()

    def action_redraw(self) -> None:
        forget = getattr(self._driver, "forget", None)
        if forget is not None:
            forget()
        self.screen.refresh()

    def action_swarm(self) -> None:
        from carina_tui.ui.swarm_screen import SwarmScreen

        self.push_screen(SwarmScreen())

    def action_zoom(self) -> None:
        self.console_screen.zoom()

    def action_help(self) -> None:
        pane = self.focused_pane()
        title = f"Keys: {pane.TITLE if pane else 'console'}"
        # The focused pane's own keys first, then the console's, the generic table keys last.
        sections: tuple[list, list, list] = ([], [], [])
        seen = set()
        for key, active in self.screen.active_bindings.items():
            binding = active.binding
            if binding.action in seen and not binding.description:
                continue
            seen.add(binding.action)
            node = active.node
            where = 0 if isinstance(node, TablePane) else 1 if node is self or node is self.screen else 2
            sections[where].append((binding.key_display or self.get_key_display(binding),
                                    binding.description or binding.action, active.enabled))
        rows: list[tuple[str, str, bool]] = []
        for heading, section in zip((pane.TITLE if pane else "Pane", "Console", "Tables"), sections):
            if section:
                rows.append(("", heading, True))
                rows.extend(section)
        self.push_screen(HelpScreen(title, rows))

    # -- what forms and screens reach the console by ----------------------------------------

    def pane(self, name: str) -> TablePane:
        return self.console_screen.pane(name)

    def focused_pane(self) -> TablePane | None:
        return self.console_screen.focused_pane()

    @property
    def engines(self):
        return self.console_screen.engines

    def guarded(self, call, done: str = "", *, then=None) -> None:
        self.console_screen.guarded(call, done, then=then)

    def container_action(self, action: str, c, **kwargs) -> None:
        self.console_screen.container_action(action, c, **kwargs)

    def say_outcome(self, sentence: str, as_asked: bool) -> None:
        self.console_screen.say_outcome(sentence, as_asked)

    async def run_pane_action(self, name: str, action: str) -> None:
        await self.console_screen.run_pane_action(name, action)
