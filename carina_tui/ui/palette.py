"""The command palette's own commands: every action of every pane, and switching clusters.

Each registered pane's ``BINDINGS`` are its actions (create network, run, cleanup, prune,
Consul view, ...): the palette lists them as "Pane: description (key)" and runs the chosen
one on that pane, shown and focused, exactly as its key would. The clusters the console knows
are offered as "Switch to cluster NAME".
"""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterator

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from carina_tui.ui.panes import PANES


def pane_bindings(pane) -> Iterator[Binding]:
    """The bindings a pane's classes declare (its own first), each action once, escape ones left out."""
    seen: set[str] = set()
    for cls in type(pane).__mro__:
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.action not in seen and binding.key != "escape":
                seen.add(binding.action)
                yield binding


class ConsoleCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        app = self.app
        console = getattr(app, "console_screen", None)
        if console is None or not console.query("#containers"):
            return []
        out = []
        for name, entry in PANES.items():
            found = console.query(f"#{name}")
            pane = found.first() if found else entry.pane_class()()  # one not shown yet: its class says its keys
            for binding in pane_bindings(pane):
                if pane.check_action(binding.action, ()) is not True:
                    continue  # read-only: the palette offers what can be done
                key = app.get_key_display(binding)
                out.append((f"{pane.TITLE}: {binding.description}", f"the {key} key in the {pane.TITLE} pane",
                            partial(app.run_pane_action, name, binding.action)))
        for spec in app.clusters:
            if spec is not app.session.spec and spec.name != app.session.spec.name:
                out.append((f"Switch to cluster {spec.name}", f"{spec.source}: {', '.join(spec.endpoints) or '-'}",
                            partial(app.switch_cluster, spec)))
        return out

    async def discover(self) -> Hits:
        for text, help_text, callback in self._commands():
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, help_text, callback in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, help=help_text)
