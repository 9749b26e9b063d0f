"""``t`` on a container: its live CPU, memory, network and block I/O as sparklines.

One stats stream, for the selected container only (lazydocker streams every container and pays
for it in CPU): ``StatsView`` reads it on a dedicated daemon thread it owns
(``carina-stats:<container>``, ``gateway.stats``), never on the worker pool, and closes it when
the view closes or the selection moves (then the next container's stream opens). While the view
is closed nothing of it runs: no thread, no stream, no timer, so the idle console writes nothing.
When the container stops meanwhile, the stream ends and the view says so, with its state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Sparkline, Static

from carina_tui.core.errors import CarinaError, NotFound
from carina_tui.core.exec_models import StatsSample, per_second, short_bytes
from carina_tui.core.models import ContainerInfo
from carina_tui.runtime import start_loop

HISTORY = 120  # samples kept per sparkline (two minutes at one a second)
FOLLOW_EVERY = 0.25  # seconds between looks at the pane's selection while the view is open
WAITING = "waiting for the first reading…"
SECOND = "waiting for the second reading: CPU and the rates are measured between two…"

# (id, label) of each sparkline, two to a line: 5 lines in all with the rule and the title, so
# that the Containers pane keeps rows at 80x24.
ROWS = (
    ("cpu", "CPU"),
    ("mem", "mem"),
    ("rx", "net in"),
    ("tx", "net out"),
    ("read", "disk in"),
    ("write", "disk out"),
)


def toggle_stats(pane) -> None:
    """``t`` on the Containers pane: open the view under its table, or close it (and its stream).

    Safe at any speed (``t`` held down): a view asked to close is closed at once (its stream, its
    timer), though Textual takes it off the screen only a few turns later; until then it is still
    in the pane, and the next ``t`` must open a new view, not close that one again. A view closed
    before it was composed (Textual then mounts none of its children) does nothing on mount."""
    views = [view for view in pane.query(StatsView) if not view.closed]
    if views:
        for view in views:
            view.close()
            view.remove()
        return
    pane.mount(StatsView(pane))


@dataclass
class StatsArrived(Message):
    follow: "Follow"
    sample: StatsSample


@dataclass
class StatsEnded(Message):
    follow: "Follow"
    sentence: str


class Follow:
    """One container's stats stream on its own thread; ``stop`` closes the stream, which ends it."""

    def __init__(self, view: "StatsView", gateway, container: ContainerInfo) -> None:
        self.view = view
        self.gateway = gateway
        self.container = container
        self.stopping = False
        self.stream = None
        self.thread = start_loop(f"carina-stats:{container.qualified_name}", self._run)

    def _remember(self, stream) -> None:
        self.stream = stream
        if self.stopping:
            stream.close()

    def stop(self) -> None:
        self.stopping = True
        if self.stream is not None:
            self.stream.close()

    def _run(self) -> None:
        name = self.container.qualified_name
        try:
            for sample in self.gateway.stats(self.container.id, on_stream=self._remember):
                if self.stopping:
                    return
                self._post(StatsArrived(self, sample))
        except CarinaError as err:
            self._post(StatsEnded(self, str(err)))
            return
        except Exception as exc:  # noqa: BLE001 - said in the view; no worker would report it
            self._post(StatsEnded(self, f"{type(exc).__name__}: {exc}. This is a bug in carina-tui."))
            return
        if self.stopping:
            return
        try:
            now = self.gateway.inspect_container(self.container.id)
        except NotFound:
            sentence = f"{name} was removed: its stats ended."
        except CarinaError as err:
            sentence = f"The stats of {name} ended, and the engine could not be asked why: {err}"
        else:
            state = now.container.state
            code = f" with code {now.exit_code}" if state in ("exited", "dead") and now.exit_code is not None else ""
            sentence = (f"{name} stopped ({state}{code}): its stats ended; they come back when it runs again."
                        if state != "running" else f"The stats stream of {name} ended; press t twice to open it again.")
        self._post(StatsEnded(self, sentence))

    def _post(self, message: Message) -> None:
        if self.stopping:
            return
        try:
            self.view.post_message(message)
        except RuntimeError:  # the event loop is closed: the app has ended
            pass


class StatsView(Vertical):
    """The selected container's stats. ``pane`` is the Containers pane whose selection it follows."""

    DEFAULT_CSS = """
    StatsView { height: 5; border-top: solid $primary 40%; }
    StatsView #stats-title { height: 1; }
    StatsView #stats-say { height: 3; }
    StatsView .stats-row { height: 1; }
    StatsView .stats-label { width: 17; }
    StatsView .stats-line { width: 1fr; min-width: 3; margin: 0 1 0 0; }
    """

    def __init__(self, pane, **kwargs) -> None:
        super().__init__(**kwargs)
        self.pane = pane
        self.follow: Follow | None = None
        self.container: ContainerInfo | None = None
        self._last: StatsSample | None = None
        self._history: dict[str, deque[float]] = {key: deque(maxlen=HISTORY) for key, _ in ROWS}
        self._timer = None
        self.closed = False  # by ``t`` or by leaving the screen: nothing of it runs any more

    def compose(self) -> ComposeResult:
        yield Static("", id="stats-title")
        yield Static("", id="stats-say")  # instead of the sparklines while there is something to say
        for pair in (ROWS[0:2], ROWS[2:4], ROWS[4:6]):
            with Horizontal(classes="stats-row"):
                for key, label in pair:
                    yield Static(label, id=f"stats-{key}-label", classes="stats-label")
                    yield Sparkline([], id=f"stats-{key}", classes="stats-line")

    def on_mount(self) -> None:
        if self.closed:  # ``t`` twice before it was composed: it has no children, and goes
            return
        self.watch_selection()
        self._timer = self.set_interval(FOLLOW_EVERY, self.watch_selection)

    def on_unmount(self) -> None:
        self.close()

    def close(self) -> None:
        """Stop the stream (its thread ends at once) and the look at the selection."""
        self.closed = True
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.follow is not None:
            self.follow.stop()
            self.follow = None

    def watch_selection(self) -> None:
        """Follow the pane's cursor: another container, another stream (the old one closed first)."""
        if self.closed:
            return
        c, before = self.pane.selected, self.container
        if c is not None and before is not None and c.key == before.key:
            self.container = c
            if self.follow is None and c.state == "running" and before.state != "running":
                self._show(c)  # it runs again
            return
        self._show(c)

    def _show(self, c: ContainerInfo | None) -> None:
        if self.follow is not None:
            self.follow.stop()
            self.follow = None
        self.container = c
        self._last = None
        for series in self._history.values():
            series.clear()
        for key, label in ROWS:
            self.query_one(f"#stats-{key}", Sparkline).data = []
            self.query_one(f"#stats-{key}-label", Static).update(label)
        if c is None:
            self._status("no container selected")
            return
        if c.state != "running":
            self._status(f"{c.qualified_name} is {c.state}: stats exist only while a container runs.")
            return
        gateway = self.app.session.gateways.get(c.endpoint)
        if gateway is None:
            self._status(f"The engine of {c.qualified_name} is not part of this cluster any more.")
            return
        self._status(WAITING)
        self.follow = Follow(self, gateway, c)

    def _status(self, sentence: str) -> None:
        """Whose stats (the title), and what is to be said of them (waiting, ended, why) in the
        sparklines' place, where it has three lines."""
        name = self.container.qualified_name if self.container is not None else ""
        self.query_one("#stats-title", Static).update(
            Text.assemble(("Stats", "bold"), (f" of {name}" if name else "", "bold"), (" · t closes", "dim")))
        say = self.query_one("#stats-say", Static)
        say.update(Text(sentence, style="italic"))
        say.display = bool(sentence)
        for row in self.query(".stats-row"):
            row.display = not sentence

    @on(StatsArrived)
    def _arrived(self, message: StatsArrived) -> None:
        message.stop()
        if self.closed or message.follow is not self.follow:
            return  # a stream closed since (a late reading for a view closing: dropped)
        sample, before = message.sample, self._last
        self._last = sample
        if before is None:
            # CPU % and the rates are measured between two readings: the first is only where
            # they start from. Drawn now, each sparkline would hold one value, which Textual
            # draws as a full bar (it reads as 100 %): the view says what it waits for instead.
            self._status(SECOND)
            return
        rates = {key: per_second(before, sample, counter) for key, counter in
                 (("rx", "net_rx"), ("tx", "net_tx"), ("read", "blk_read"), ("write", "blk_write"))}
        values = {"cpu": sample.cpu_percent or 0.0, "mem": float(sample.mem_usage), **rates}
        for key, value in values.items():
            series = self._history[key]
            series.append(value)
            # One value is no line (and would be drawn full height): empty until there are two.
            self.query_one(f"#stats-{key}", Sparkline).data = list(series) if len(series) > 1 else []
        limit = f"/{short_bytes(sample.mem_limit)}" if sample.mem_limit else ""
        cpu = "–" if sample.cpu_percent is None else f"{sample.cpu_percent:.1f}%"
        texts = {"cpu": cpu, "mem": f"{short_bytes(sample.mem_usage)}{limit}",
                 **{key: f"{short_bytes(rate)}/s" for key, rate in rates.items()}}
        for key, label in ROWS:
            self.query_one(f"#stats-{key}-label", Static).update(f"{label} {texts[key]}")
        self._status("")

    @on(StatsEnded)
    def _ended(self, message: StatsEnded) -> None:
        message.stop()
        if self.closed or message.follow is not self.follow:
            return
        self.follow = None
        self._status(message.sentence)
