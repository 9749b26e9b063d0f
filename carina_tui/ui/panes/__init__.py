"""The console's panes, one module each, and the registry that gives each its key (``registry.py``).

A new pane: a module here with its ``TablePane`` subclass, and one ``register`` line below. The
home panes (1-4) are on the first frame; the others are registered by a function that imports
their module, so that it loads when the pane is first needed, not at start-up.
"""

import importlib
from typing import Callable

from carina_tui.ui.panes.clusters import ClusterRow, ClustersPane
from carina_tui.ui.panes.containers import ContainersPane
from carina_tui.ui.panes.networks import NetworksPane
from carina_tui.ui.panes.registry import HOME, PANES, PaneEntry, register
from carina_tui.ui.panes.system import ProtectedRow, SystemPane


def _late(module: str, name: str) -> Callable[[], type]:
    """A pane class imported when it is first asked for (``PaneEntry.pane_class``)."""
    return lambda: getattr(importlib.import_module(f"{__name__}.{module}"), name)


register("1", "clusters", "Clusters", ClustersPane)
register("2", "networks", "Networks", NetworksPane)
register("3", "containers", "Containers", ContainersPane)
register("4", "system", "System", SystemPane)
register("5", "services", "Services", _late("services", "ServicesPane"))
register("6", "images", "Images", _late("storage", "ImagesPane"))
register("7", "volumes", "Volumes", _late("storage", "VolumesPane"))

__all__ = ["HOME", "PANES", "ClusterRow", "ClustersPane", "ContainersPane", "NetworksPane", "PaneEntry", "ProtectedRow",
           "SystemPane", "register"]
