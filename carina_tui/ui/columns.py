"""What a table row shows and how its columns fit, without Textual.

Shared by ``KeyTable``/``ContainersPane`` (``tables.py``, ``panes/containers.py``) and the frame
drawn before Textual has loaded (``early.py``): both must put the same characters in the same
cells, so there is one copy of each rule here. Only ``rich.text`` and ``rich.cells`` are imported.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, set_cell_size
from rich.text import Text

from carina_tui.core.models import ContainerInfo, age

Cell = str | Text

GAP = 2  # spaces between columns when everything fits; 1 when space is short
MIN_CUT = 8  # a value cut to fit shows at least this many characters (with its "…")
COMFORT = 16  # below this, a less important column is left out rather than cut further

SORT_MARKS = {False: "▲", True: "▼"}

STATE_STYLES = {
    "running": "green",
    "exited": "red",
    "dead": "bold red",
    "created": "yellow",
    "paused": "magenta",
    "restarting": "cyan",
    "removing": "dim",
}

_STATE_TEXTS: dict[str, Text] = {}

_NUMBERS = re.compile(r"(\d+)")


def natural(text: str) -> list:
    """Sort key that puts ``p2`` before ``p10``: digits compare as numbers (text first, always)."""
    parts = _NUMBERS.split(text.lower())
    parts[1::2] = [int(p) for p in parts[1::2]]
    return parts


def state_text(state: str) -> Text:
    """The state word in its colour (one shared Text per state: cells are compared, never changed)."""
    text = _STATE_TEXTS.get(state)
    if text is None:
        text = _STATE_TEXTS[state] = Text(state, style=STATE_STYLES.get(state, ""))
    return text


def plain(cell: Cell) -> str:
    return cell.plain if isinstance(cell, Text) else cell


def width(cell: Cell) -> int:
    text = cell.plain if isinstance(cell, Text) else cell
    return len(text) if text.isascii() else cell_len(text)


def fit_text(text: str, cells: int) -> str:
    """``text`` in exactly ``cells`` cells: cut with "…", or padded with spaces."""
    size = width(text)
    if size > cells:
        return set_cell_size(text, max(0, cells - 1)) + "…" if cells else ""
    return text + " " * (cells - size) if size < cells else text


def pane_title(number: int, title: str, *, shown: int, total: int, expected: int = 0, pending: bool = False,
               filter_text: str = "") -> str:
    """A pane's border title: "[3] Containers (1002)", "(12/1002) filter: web" while filtered,
    "(100 of 5002) loading…" while rows are still to come (``expected`` by the engine, or ``pending``)."""
    loading = pending or expected > total
    if loading:
        count = f"{shown} of {max(total, expected)}"
    else:
        count = f"{shown}/{total}" if filter_text else f"{total}"
    text = f"[{number}] {title} ({count})"
    if loading:
        text += " loading…"
    if filter_text:
        text += f" filter: {filter_text}"
    return text


# -- the Containers pane's rows -------------------------------------------------------------

CONTAINERS_TITLE = "Containers"
CONTAINER_COLUMNS = (
    ("name", "Name"),
    ("state", "State"),
    ("node", "Node"),
    ("ports", "Ports"),
    ("networks", "Networks"),
    ("image", "Image"),
    ("age", "Age"),
)
# Narrow: the node goes first (a name says node/name on a cluster of several engines).
CONTAINER_KEEP = ("name", "state", "age", "image", "networks", "ports")


def container_cells(c: ContainerInfo, *, qualify: bool, now: float) -> tuple[Cell, ...]:
    name = c.qualified_name if qualify else c.name
    return (name, state_text(c.state), c.node, c.ports_text if c.ports else "", c.networks_text, c.image,
            age(c.created, now, coarse=True))


def running_first(c: ContainerInfo) -> tuple:
    """The Containers pane's default order: running first, then the newest, as `docker ps`."""
    return (c.state != "running", -c.created, natural(c.name))


# -- columns --------------------------------------------------------------------------------

def header_label(label: str, sorted_here: bool, reverse: bool) -> str:
    return f"{label} {SORT_MARKS[reverse]}" if sorted_here else label


def keep_order(columns: list[str], keep: tuple[str, ...] | list[str]) -> list[int]:
    """The columns' indexes by importance: those named in ``keep`` first, the rest in their order."""
    named = [columns.index(k) for k in keep]
    return named + [i for i in range(len(columns)) if i not in named]


def fit(natural_widths: list[int], labels: list[str], keep: list[int], sorted_at: int,
        available: int) -> tuple[list[int], int]:
    """Fit the columns' natural widths into ``available`` cells: (widths, gap).

    The widest columns give way first (cut with "…"), never below their header's width (a header is
    never clipped) nor below ``MIN_CUT``; when that would cut them below ``COMFORT``, the least
    important column (the end of ``keep``; never the one sorted by, at ``sorted_at``) is left out
    and the rest fitted again. A width of 0 is a column left out."""
    n = len(natural_widths)
    least = [min(w, max(MIN_CUT, cell_len(labels[i]))) for i, w in enumerate(natural_widths)]
    droppable = [i for i in reversed(keep[1:]) if i != sorted_at]
    shown = list(range(n))
    while True:
        if sum(natural_widths[i] for i in shown) + GAP * len(shown) <= available:
            return [natural_widths[i] if i in shown else 0 for i in range(n)], GAP
        widths, gap = squeeze(natural_widths, shown, least, available - len(shown))
        if not droppable or (widths is not None and
                             all(widths[i] >= min(natural_widths[i], COMFORT) for i in shown)):
            return widths or [least[i] if i in shown else 0 for i in range(n)], gap
        shown.remove(droppable.pop(0))


def squeeze(natural_widths: list[int], shown: list[int], least: list[int], room: int) -> tuple[list[int] | None, int]:
    """Widths for ``shown`` in ``room`` with one space between: the largest cap that fits, columns
    wider than it cut to it (never below ``least``); None when even ``least`` does not fit."""
    if sum(least[i] for i in shown) > room:
        return None, 1
    low, high = 0, max(natural_widths[i] for i in shown)
    while low < high:
        cap = (low + high + 1) // 2
        if sum(max(least[i], min(natural_widths[i], cap)) for i in shown) <= room:
            low = cap
        else:
            high = cap - 1
    widths = [max(least[i], min(natural_widths[i], low)) if i in shown else 0 for i in range(len(natural_widths))]
    spare = room - sum(widths)
    for i in sorted(shown, key=lambda i: -natural_widths[i]):
        if spare <= 0:
            break
        if widths[i] < natural_widths[i]:
            widths[i] += 1
            spare -= 1
    return widths, 1
