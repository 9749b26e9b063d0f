"""Modal screens shared by the panes: help, text details, confirmation."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


def field_lines(rows, width: int = 11) -> Text:
    """``label  value`` lines for a details screen; rows with an empty value are left out."""
    body = Text()
    for label, value in rows:
        if value:
            body.append(f"{label:{width}}", style="bold")
            body.append(f"{value}\n")
    return body


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
        with Vertical(id="help-box", classes="modal-box"):
            yield Static(Text(self.title_text, style="bold"), id="help-title")
            table = DataTable(id="help-table", cursor_type="row", show_cursor=False)
            table.add_column("Key", key="key", width=12)
            table.add_column("Action", key="action")
            for key, description, enabled in self.rows:
                if enabled:
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
