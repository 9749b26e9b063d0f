"""What a pane asks the console for: requests posted by the panes, handled in one place (the app).

A pane knows its rows and its keys; what an action needs beyond the pane (the guard, a
confirmation, a worker, another cluster's session) is the app's. A new pane posts these (or
adds its own here) instead of calling the app's methods.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.models import ContainerInfo, NetworkInfo


@dataclass
class SwitchRequested(Message):
    """Move the console to another cluster."""

    spec: ClusterSpec


@dataclass
class DetailsRequested(Message):
    """Show what the engine says of a container, a network or a node (a Clusters pane row)."""

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
