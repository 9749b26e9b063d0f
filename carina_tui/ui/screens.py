"""Modal screens shared by the panes: help, text details, confirmation; and type-ahead.

Type-ahead: keys typed while a screen opens go to it, in order. Textual hands a key to
the focused widget's queue and checks the (non-priority) bindings only when the key
comes back up to the app, so in a burst such as ``N web ctrl+s`` the keys after ``N``
were already handed to the table when ``N`` opened the form, and a form with no focused
field yet drops what it is given. ``TypeAheadApp`` hands keys that were typed on the
screen below to the ``TypeAheadScreen`` that opened meanwhile; the screen holds every
key until its first field has focus, then gives them to it in the order typed. A ``tab`` (or
``shift+tab``) among them moves the focus in its turn, so ``abc tab 10.1`` typed in one go fills
two fields, not one.
"""

from __future__ import annotations

import sys
from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from carina_tui.core.errors import CarinaError


def field_lines(rows, width: int = 11) -> Text:
    """``label  value`` lines for a details screen; rows with an empty value are left out."""
    body = Text()
    for label, value in rows:
        if value:
            body.append(f"{label:{width}}", style="bold")
            body.append(f"{value}\n")
    return body


def report_worker_error(node, event: Worker.StateChanged) -> None:
    """A worker's error as a notification: a CarinaError's sentence, anything else as a bug."""
    if event.state != WorkerState.ERROR:
        return
    error = event.worker.error
    if isinstance(error, CarinaError):
        node.notify(str(error), title=error.title, severity="error", timeout=10)
    else:
        node.notify(f"{type(error).__name__}: {error}. This is a bug in carina-tui; the console keeps running.",
                    title="Unexpected error", severity="error", timeout=15)


class HelpScreen(ModalScreen[None]):
    """Every binding of the focused pane (and the app's), with disabled ones marked."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="help.close"),
        Binding("question_mark", "dismiss", "Close", show=False, id="help.close2"),
        Binding("q", "dismiss", "Close", show=False, id="help.close3"),
    ]

    def __init__(self, title: str, rows: list[tuple[str, str, bool]]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable  # loaded on the first ``?``: the first frame has no DataTable

        with Vertical(id="help-box", classes="modal-box"):
            yield Static(Text(self.title_text, style="bold"), id="help-title")
            table = DataTable(id="help-table", cursor_type="row", show_cursor=False)
            table.add_column("Key", key="key", width=12)
            table.add_column("Action", key="action")
            for key, description, enabled in self.rows:
                if not key:  # a section's heading
                    table.add_row("", Text(description, style="bold underline"))
                elif enabled:
                    table.add_row(key, description)
                else:
                    table.add_row(Text(key, style="dim"), Text(f"{description} (disabled: read-only)", style="dim"))
            yield table
            yield Static("escape closes", classes="modal-hint")


class TextScreen(ModalScreen[None]):
    """A scrollable block of text (details, inspect data)."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close", id="text.close"),
        Binding("q", "dismiss", "Close", show=False, id="text.close2"),
    ]

    def __init__(self, title: str, body) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box wide"):
            yield Static(Text(self.title_text, style="bold"), classes="modal-title")
            with VerticalScroll(classes="modal-scroll"):
                yield Static(self.body, classes="modal-body")
            yield Static("escape closes", classes="modal-hint")


class ConfirmScreen(ModalScreen[bool]):
    """``y`` confirms, ``n`` or ``escape`` cancels."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "Cancel", show=False, id="confirm.cancel"),
    ]

    def __init__(self, question: str, detail: Text | str = "") -> None:
        super().__init__()
        self.question = question
        self.detail = detail

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box"):
            yield Static(Text(self.question, style="bold"), classes="modal-title")
            if self.detail:
                with VerticalScroll(classes="modal-scroll"):
                    yield Static(self.detail, classes="modal-body")
            yield Static("y confirms · n or escape cancels", classes="modal-hint")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class TypeAheadScreen(ModalScreen[Any]):
    """A modal screen that receives, in order, the keys typed while it opens.

    Until ``ready`` has focused its first field, it holds the keys given to it (the
    app gives them to the screen itself while nothing on it has focus, and
    ``TypeAheadApp`` gives it those typed on the screen below); ``ready`` focuses the
    field at once (``Widget.focus`` would wait for the next idle) and replays them there.
    """

    AUTO_FOCUS = ""  # ``ready`` focuses, in the same step as the replay
    # Keys that move the focus (Textual's screen bindings, ``app.focus_next``): a binding acts
    # when the key comes back up to the app, after the keys typed behind it were handed to the
    # field it leaves (``abc tab 10.1`` typed in one go filled the first field with it all).
    # Here they move the focus in their turn, as the app receives them (``TypeAheadApp``).
    FOCUS_MOVES = {"tab": 1, "shift+tab": -1}

    def __init__(self) -> None:
        super().__init__()
        self._held: list[events.Key] | None = []

    def _forward_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self._held is not None:
            self._held.append(event)
            return
        super()._forward_event(event)

    def take_key(self, event: events.Key) -> None:
        """A key typed before this screen was on top, or a ``tab`` (``moves_focus``): it is this
        screen's, after those before it."""
        if self._held is not None:
            self._held.append(event)
        else:
            self._give(event)

    def ready(self, first: Widget | None) -> None:
        """Focus ``first`` and hand it the keys held so far, in the order typed (a ``tab`` among
        them moves the focus there and then: the keys after it go to the next field)."""
        if first is not None:
            self.set_focus(first)
        held, self._held = self._held or [], None
        for key in held:
            self._give(key)

    @classmethod
    def moves_focus(cls, event: events.Key) -> bool:
        return event.key in cls.FOCUS_MOVES

    def _give(self, key: events.Key) -> None:
        """One key, in its turn: ``tab`` moves the focus at once; another goes to what has it."""
        if self.moves_focus(key):
            self.focus_next() if self.FOCUS_MOVES[key.key] > 0 else self.focus_previous()
        elif not edit_in_turn(self.focused, key):
            (self.focused or self)._forward_event(self._copy(key))

    def _copy(self, key: events.Key) -> events.Key:
        return fresh_key(self.app, key)


def fresh_key(app, key: events.Key) -> events.Key:
    """``key`` again, to hand on: a fresh event, sent by the app and forwarded, as the app
    forwards the driver's. One sent by a screen would stop bubbling at the screen, and one not
    marked forwarded would be taken for new input by the app; either way its bindings (ctrl+s)
    would go unchecked."""
    fresh = events.Key(key.key, key.character)
    fresh.set_sender(app)
    return fresh


LEAVE_KEYS = ("enter", "escape")
# An Input's editing keys are bindings, acted on when the key comes back up to the app; the
# printable keys behind them are inserted as the Input receives them. ``abc backspace d`` read in
# one go (a fast typist over SSH, a paste) gave ``ab`` (the d, then the backspace). They are
# applied in their turn instead (``edit_in_turn``).
EDIT_KEYS = frozenset({"backspace", "delete", "left", "right", "home", "end"})


def edit_in_turn(widget, event: events.Key) -> bool:
    """When ``widget`` is an Input and ``event`` one of its editing keys: queue the key's action on
    the Input, behind the keys handed to it before, and say so (True)."""
    if event.key not in EDIT_KEYS:
        return False
    module = sys.modules.get("textual.widgets._input")  # no Input made yet: nothing to edit
    if module is None or not isinstance(widget, module.Input):
        return False
    for binding in widget._bindings.key_to_bindings.get(event.key, ()):
        widget.call_later(widget.run_action, binding.action)
        return True
    return False


class TypeAheadApp:
    """App mixin: a key typed on one screen that reaches the app (unhandled by the
    widgets) after a ``TypeAheadScreen`` opened on top goes to that screen, not to
    its bindings or to nowhere."""

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and not event.is_forwarded:
            screen = self.screen  # type: ignore[attr-defined]
            event.typed_on = screen  # type: ignore[attr-defined]
            event.typed_to = screen.focused  # type: ignore[attr-defined]
            if isinstance(screen, TypeAheadScreen) and screen.moves_focus(event):
                screen.take_key(event)  # in its turn: held with the others, or the focus moves now
                return
            box = screen.focused
            if edit_in_turn(box, event):
                return
            if event.key in LEAVE_KEYS and getattr(box, "leave_to", None) is not None:
                # Enter or escape in a pane's filter hands the focus back to the table as the app
                # receives it: ``enter j`` typed in one go moves the cursor, it does not filter by j.
                self._give_box(box, event)
                return
        await super().on_event(event)  # type: ignore[misc]

    def _give_box(self, box, event: events.Key) -> None:
        """``event`` for a box that takes type-ahead, after the keys handed to it before; enter or
        escape hand the focus to its ``leave_to`` at once, so the keys behind them go there."""
        leave_to = getattr(box, "leave_to", None)
        if event.key == "enter" and leave_to is not None:
            # Submitted in its turn; enter is a binding, and the box loses the focus now, so the
            # key itself would be the table's (its details).
            box.call_later(box.action_submit)
        elif not edit_in_turn(box, event):
            box._forward_event(fresh_key(self, event))
        if event.key in LEAVE_KEYS and leave_to is not None:
            self.screen.set_focus(leave_to)  # type: ignore[attr-defined]

    async def _on_key(self, event: events.Key) -> None:
        # Textual calls the ``_on_key`` of every class in the MRO: this one runs before App's
        # (which checks the bindings) and, when it takes the key, prevents it.
        screen = self.screen  # type: ignore[attr-defined]
        typed_on = getattr(event, "typed_on", screen)
        if isinstance(screen, TypeAheadScreen) and typed_on in self.screen_stack[:-1]:  # type: ignore[attr-defined]
            event.prevent_default()
            event.stop()
            screen.take_key(event)
            return
        # On the same screen: a key handed to what had the focus when it was typed (the table),
        # after which a box that takes type-ahead (a pane's filter, opened by ``/`` in the same
        # burst) got the focus, is the box's: ``/web`` typed in one go filters by web, and the
        # ``w`` is never taken for the table's binding.
        focused = screen.focused
        typed_to = getattr(event, "typed_to", focused)
        if (typed_on is screen and focused is not typed_to and getattr(focused, "takes_type_ahead", False)):
            event.prevent_default()
            event.stop()
            self._give_box(focused, event)
