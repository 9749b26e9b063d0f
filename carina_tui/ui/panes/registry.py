"""The pane registry: which key shows which pane, under which widget id.

The console (``ui/console_screen.py``) has four slots, one per home pane (keys 1-4). Any
other registered pane is shown in the slot of the focused pane when its key is pressed,
and the home pane's key brings that one back. The keys are bindings of the console
screen (id ``app.focus_<id>``, so ``[keymap]`` can rebind them); ``?``, the footer and the
palette list a pane's own ``BINDINGS`` from the pane. See ARCHITECTURE.md, "Adding a pane".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from textual.binding import Binding

# The home panes, one per slot, in the layout's order: left column, then right column.
HOME = ("clusters", "networks", "containers", "system")


@dataclass(frozen=True)
class PaneEntry:
    key: str  # the key that shows it (its number on the pane's border)
    id: str  # its widget id: ``#id``, ``app.pane(id)``
    title: str  # what its key does, in ``?`` and the palette ("Services"; the border says ``cls.TITLE``)
    # A ``TablePane`` subclass, or a function that imports and returns it: a pane the first frame
    # does not show (5+) is loaded when it is first needed (its key, the palette, ``[keymap]``).
    cls: type | Callable[[], type]

    @property
    def home(self) -> bool:
        return self.id in HOME

    def binding(self) -> Binding:
        return Binding(self.key, f"show_pane('{self.id}')", self.title, show=False, id=f"app.focus_{self.id}")

    def pane_class(self) -> type:
        return self.cls if isinstance(self.cls, type) else self.cls()

    def make(self):
        pane = self.pane_class()(id=self.id)
        pane.NUMBER = self.key
        return pane


PANES: dict[str, PaneEntry] = {}  # id -> entry, in the order of their keys


def register(key: str, id: str, title: str, cls: type | Callable[[], type]) -> PaneEntry:
    PANES[id] = entry = PaneEntry(key, id, title, cls)
    return entry
