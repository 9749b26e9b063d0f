"""The console's messages: what the engines' threads bring, and what a pane asks for.

News from the engines (posted from the session's threads and the load worker to the console
screen, handled there on the main thread). Requests: a pane knows its rows and its keys; what
an action needs beyond the pane (the guard, a confirmation, a worker, another cluster's
session) is handled in one place, ``ui/actions.py``. A new pane posts these (or its own
messages, defined on the pane) instead of calling the app's methods.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.models import ContainerInfo, NetworkInfo
from carina_tui.services.session import Snapshot

# -- news from the engines -------------------------------------------------------------------


@dataclass
class Loaded(Message):
    snapshot: Snapshot


@dataclass
class ContainersChanged(Message):
    endpoint: str
    found: list[ContainerInfo]
    gone: set[str]


@dataclass
class NetworksChanged(Message):
    endpoint: str
    networks: list[NetworkInfo]


@dataclass
class ServicesChanged(Message):
    """An engine's events say a service, a node or a task's container changed (issue 15)."""

    endpoint: str = ""


@dataclass
class StorageChanged(Message):
    """An engine's events say its images or volumes changed (``kind``: images | volumes)."""

    endpoint: str
    kind: str


@dataclass
class EngineDown(Message):
    endpoint: str
    sentence: str
    since: float  # when it last answered


@dataclass
class EngineUp(Message):
    endpoint: str


# -- what a pane asks for --------------------------------------------------------------------


@dataclass
class SwitchRequested(Message):
    """Move the console to another cluster."""

    spec: ClusterSpec


@dataclass
class DetailsRequested(Message):
    """Show what the engine says of a container or a network."""

    item: object


@dataclass
class InspectRequested(Message):
    container: ContainerInfo


@dataclass
class ActionRequested(Message):
    """``container.start``, ``container.restart`` or ``start_stop`` (whichever the state calls for)."""

    action: str
    container: ContainerInfo


@dataclass
class RemoveRequested(Message):
    """Remove a container or a network, asking first (the guard decides)."""

    item: ContainerInfo | NetworkInfo


def post_from_thread(node, message: Message) -> None:
    """``post_message`` from a dedicated thread; nothing when the app is already gone."""
    try:
        node.post_message(message)
    except RuntimeError:  # the event loop is closed: the app has ended
        pass
