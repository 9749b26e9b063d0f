"""A container's logs: the last 500 lines, then new ones as they come.

The stream is read on a dedicated daemon thread owned by the screen
(``carina-logs:<container>``, ``gateway.logs``), never on the worker pool: a
follow lasts as long as the screen. Lines are gathered in a bounded buffer and handed to the screen in batches (one message per batch, not
one per line). The view keeps at most ``MAX_LINES`` lines, so a chatty
container cannot grow memory. ``/`` searches: matches are highlighted and the
view jumps to the latest one; ``n``/``N`` step through them. ``escape`` closes
the search, then the screen; closing the screen (or quitting) closes the stream,
which ends the thread at once.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

from rich.highlighter import Highlighter
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Log, Static

from carina_tui.core.errors import CarinaError
from carina_tui.core.models import ContainerInfo
from carina_tui.runtime import start_loop

TAIL = 500
MAX_LINES = 10_000
NO_OUTPUT = "No output yet: the container has printed nothing; new lines show here as they come."


class SearchHighlighter(Highlighter):
    def __init__(self) -> None:
        self.term = ""

    def highlight(self, text: Text) -> None:
        if self.term:
            text.highlight_words([self.term], style="bold black on yellow", case_sensitive=False)


class SearchLog(Log):
    """A Log that highlights a search term."""

    def __init__(self, **kwargs) -> None:
        super().__init__(highlight=True, **kwargs)
        self.highlighter = SearchHighlighter()

    def set_term(self, term: str) -> None:
        self.highlighter.term = term  # type: ignore[attr-defined]
        self._render_line_cache.clear()  # the cached lines carry the old highlight
        self.refresh()


@dataclass
class LinesArrived(Message):
    pass


@dataclass
class StreamEnded(Message):
    sentence: str


class LogScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape", "close", "Close", id="logs.close"),
        Binding("slash", "search", "Search", id="logs.search"),
        Binding("n", "next_match(1)", "Next match", id="logs.next"),
        Binding("N", "next_match(-1)", "Previous match", id="logs.previous"),
        Binding("G", "end", "Follow the end", id="logs.end"),
        Binding("q", "app.quit", "Quit", show=False, id="logs.quit"),  # a modal screen hides the app's q
    ]

    def __init__(self, session, container: ContainerInfo) -> None:
        super().__init__()
        self.session = session
        self.container = container
        self._buffer: deque[str] = deque(maxlen=MAX_LINES)
        self._lock = threading.Lock()
        self._pending = False
        self._stopping = False
        self._stream = None
        self.thread = None
        self.term = ""
        self.matches: list[int] = []
        self.current = -1

    def compose(self) -> ComposeResult:
        with Vertical(classes="modal-box log-box"):
            yield Static(Text(f"Logs of {self.container.qualified_name}", style="bold"), classes="modal-title")
            yield Static(Text(NO_OUTPUT, style="dim italic"), id="log-empty")
            yield SearchLog(max_lines=MAX_LINES, id="log-view")
            yield Input(placeholder="search (enter keeps it, escape clears)", id="log-search")
            yield Static("", id="log-status")
            yield Static(f"last {TAIL} lines, then following · / searches · n/N next/previous · G end · "
                         "escape closes", classes="modal-hint")

    @property
    def view(self) -> SearchLog:
        return self.query_one("#log-view", SearchLog)

    def on_mount(self) -> None:
        self.query_one("#log-search", Input).display = False
        self.view.focus()
        self.thread = start_loop(f"carina-logs:{self.container.qualified_name}", self._follow)

    # -- the stream (its own thread) ------------------------------------------------------

    def _remember(self, stream) -> None:
        self._stream = stream
        if self._stopping:
            self._close_stream()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing from another thread may race the reader
                pass

    def _follow(self) -> None:
        gateway = self.session.gateways[self.container.endpoint]
        try:
            for line in gateway.logs(self.container.id, tail=TAIL, follow=True, on_stream=self._remember):
                if self._stopping:
                    return
                self._add(line)
        except CarinaError as err:
            self._post(StreamEnded(str(err)))
            return
        except Exception as exc:  # noqa: BLE001 - said on the screen; no worker would report it
            self._post(StreamEnded(f"{type(exc).__name__}: {exc}. This is a bug in carina-tui."))
            return
        self._post(StreamEnded("The log stream ended: the container is not running."))

    def _add(self, line: str) -> None:
        """One line read (on a reader's thread): into the buffer; one message per batch, not per line."""
        with self._lock:
            self._buffer.append(line)
            if self._pending:
                return
            self._pending = True
        self._post(LinesArrived())

    def _post(self, message) -> None:
        """From the reader's thread; nothing once the screen (or the app) is closing."""
        if self._stopping:
            return
        try:
            self.post_message(message)
        except RuntimeError:  # the event loop is closed: the app has ended
            pass

    @on(LinesArrived)
    def _drain(self) -> None:
        with self._lock:
            lines = list(self._buffer)
            self._buffer.clear()
            self._pending = False
        if lines:
            self.query_one("#log-empty", Static).display = False
            self.view.write_lines(lines)
            if self.term:
                self._find(jump=False)

    @on(StreamEnded)
    def _ended(self, message: StreamEnded) -> None:
        self._drain()
        self.view.border_subtitle = message.sentence

    def on_unmount(self) -> None:
        self._stopping = True
        self._close_stream()

    def action_close(self) -> None:
        box = self.query_one("#log-search", Input)
        if box.has_focus:
            self._set_term("")
            box.value = ""
            box.display = False
            self.view.focus()
            return
        self._stopping = True
        self._close_stream()
        self.dismiss(None)

    # -- search ---------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#log-search", Input)
        box.display = True
        box.focus()

    @on(Input.Changed, "#log-search")
    def _typed(self, event: Input.Changed) -> None:
        event.stop()
        self._set_term(event.value.strip())

    @on(Input.Submitted, "#log-search")
    def _kept(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value.strip():
            event.input.display = False
        self.view.focus()

    def _set_term(self, term: str) -> None:
        self.term = term
        self.view.set_term(term)
        self._find(jump=True)

    def _find(self, *, jump: bool) -> None:
        status = self.query_one("#log-status", Static)
        if not self.term:
            self.matches, self.current = [], -1
            status.update("")
            return
        needle = self.term.lower()
        self.matches = [i for i, line in enumerate(self.view.lines) if needle in line.lower()]
        if not self.matches:
            self.current = -1
            status.update(f"no line holds {self.term!r}")
            return
        if jump or self.current >= len(self.matches) or self.current < 0:
            self.current = len(self.matches) - 1
            self._jump()
        self._status()

    def _status(self) -> None:
        count = len(self.matches)
        self.query_one("#log-status", Static).update(
            f"{count} line{' holds' if count == 1 else 's hold'} {self.term!r}; showing {self.current + 1} of {count} "
            f"(line {self.matches[self.current] + 1})"
        )

    def _jump(self) -> None:
        view = self.view
        line = self.matches[self.current]
        view.auto_scroll = False
        view.scroll_to(y=max(0, line - view.size.height // 2), animate=False)

    def action_next_match(self, step: int) -> None:
        if not self.matches:
            return
        self.current = (self.current + step) % len(self.matches)
        self._jump()
        self._status()

    def action_end(self) -> None:
        view = self.view
        view.auto_scroll = True
        view.scroll_end(animate=False)
