"""The pane registry: a pane is one class plus one ``register`` entry, and the console does the rest.

A test-only pane (below) is registered for one test and the real app is driven on a real
engine: its key shows it in the focused pane's slot, the home pane's key brings that one
back, its own binding works and shows in ``?``, the footer and the palette, and 1-4 still
reach their panes.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pilot_helpers import SIZE, make_app, row_texts, started, wait_for
from textual.binding import Binding
from textual.widgets._footer import FooterKey

from carina_tui.ui.keymap import binding_ids
from carina_tui.ui.palette import ConsoleCommands
from carina_tui.ui.panes import PANES, PaneEntry
from carina_tui.ui.screens import HelpScreen
from carina_tui.ui.tables import TablePane


@dataclass(frozen=True)
class Note:
    key: str
    text: str


class NotesPane(TablePane[Note]):
    """A pane that exists only in this test: two rows of its own, one key of its own."""

    TITLE = "Notes"
    EMPTY = "No notes."
    COLUMNS = (("text", "Note", None),)
    BINDINGS = [Binding("w", "write", "Write a note", id="notes.write")]

    def on_mount(self) -> None:
        self.replace_all([Note("a", "first note"), Note("b", "second note")])

    def cells(self, note: Note):
        return (note.text,)

    def action_write(self) -> None:
        self.update_items([Note(f"n{len(self.items)}", f"note {len(self.items) + 1}")])


@pytest.fixture
def notes_pane(monkeypatch):
    """Register the test pane under key 9 for one test (the registry is as before afterwards)."""
    monkeypatch.setitem(PANES, "notes", PaneEntry("9", "notes", "Notes", NotesPane))


def slot_of(app, pane_id: str) -> str:
    """The slot (``slot-<home pane>``) that shows ``pane_id`` now; "" when none does."""
    for slot in app.console_screen.query("ContentSwitcher"):
        if slot.current == pane_id:
            return slot.id
    return ""


async def test_a_registered_pane_shows_in_the_focused_slot_and_lists_its_keys(docker_host, notes_pane):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        assert "app.focus_notes" in binding_ids(), "[keymap] can rebind the pane's key"

        # From the Networks pane, 9 shows the notes in the Networks pane's place, focused.
        await pilot.press("2", "9")
        notes = app.pane("notes")
        assert slot_of(app, "notes") == "slot-networks"
        assert app.focused_pane() is notes and notes.region.area
        assert not app.pane("networks").region.area, "the Networks pane gave its place"
        assert str(notes.border_title).startswith("[9] Notes (2)")
        assert [r[0] for r in row_texts(notes)] == ["first note", "second note"]
        for home in ("clusters", "containers", "system"):
            assert app.pane(home).region.area, f"the {home} pane keeps its place"

        # Its own key works, and shows in the footer.
        await pilot.press("w")
        assert "note 3" in [r[0] for r in row_texts(notes)]
        footer = [k.description for k in app.screen.query(FooterKey)]
        assert "Write a note" in footer

        # ? lists its key first, under its title.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), "? opens the help")
        rows = app.screen.rows
        assert rows[0] == ("", "Notes", True)
        order = [description for _, description, _ in rows]
        assert 0 < order.index("Write a note") < order.index("Console")
        assert "Notes" in order[order.index("Console"):], "the console's keys include 9 for the notes"
        await pilot.press("escape")

        # 2 brings the Networks pane back to its place; 1, 3, 4 reach theirs.
        await pilot.press("2")
        assert slot_of(app, "networks") == "slot-networks" and app.pane("networks").region.area
        assert not notes.region.area
        for key, home in (("1", "clusters"), ("3", "containers"), ("4", "system"), ("2", "networks")):
            await pilot.press(key)
            assert app.focused_pane() is app.pane(home), f"{key} focuses the {home} pane"

        # From the Containers pane, 9 shows the notes there (no longer in the Networks pane's slot).
        await pilot.press("3", "9")
        assert slot_of(app, "notes") == "slot-containers" and app.focused_pane() is app.pane("notes")
        assert slot_of(app, "networks") == "slot-networks" and app.pane("networks").region.area
        assert not app.pane("containers").region.area
        # 9 again from another pane, while the notes are on screen: it goes to them where they are.
        await pilot.press("1", "9")
        assert slot_of(app, "notes") == "slot-containers" and app.focused_pane() is app.pane("notes")
        await pilot.press("3")
        assert app.focused_pane() is app.pane("containers") and app.pane("containers").region.area

        # Zoomed (z), 9 shows the notes zoomed in the zoomed pane's place.
        await pilot.press("2", "z", "9")
        assert app.screen.maximized is app.pane("notes") and slot_of(app, "notes") == "slot-networks"
        assert app.pane("notes").region.height > SIZE[1] - 5


async def test_the_palette_offers_a_registered_panes_actions_and_runs_them(docker_host, notes_pane):
    app = make_app(docker_host)
    async with app.run_test(size=SIZE) as pilot:
        await started(pilot)
        await pilot.press("4")
        # Before the pane was ever shown: the palette lists its action, and running it shows the pane.
        commands = {text: run for text, _, run in ConsoleCommands(app.screen)._commands()}
        assert "Notes: Write a note" in commands
        await commands["Notes: Write a note"]()
        await wait_for(pilot, lambda: slot_of(app, "notes") == "slot-system", "the notes show in the System slot")
        assert "note 3" in [r[0] for r in row_texts(app.pane("notes"))]
