"""The console's panes, one module each, and the registry that gives each its key (``registry.py``).

A new pane: a module here with its ``TablePane`` subclass, and one ``register`` line below. The
home panes (1-4) are on the first frame; the others are registered by a function that imports
their module, so that it loads when the pane is first needed, not at start-up.
"""

from typing import Any

from carina_tui.ui.panes.clusters import ClusterRow, ClustersPane
from carina_tui.ui.panes.containers import ContainersPane
from carina_tui.ui.panes.networks import NetworksPane
from carina_tui.ui.panes.registry import HOME, PANES, PaneEntry, register
from carina_tui.ui.panes.system import ProtectedRow, SystemPane


def _services() -> type:
    from carina_tui.ui.panes.services import ServicesPane

    return ServicesPane


def _images() -> type:
    from carina_tui.ui.panes.storage import ImagesPane

    return ImagesPane


def _volumes() -> type:
    from carina_tui.ui.panes.storage import VolumesPane

    return VolumesPane


register("1", "clusters", "Clusters", ClustersPane)
register("2", "networks", "Networks", NetworksPane)
register("3", "containers", "Containers", ContainersPane)
register("4", "system", "System", SystemPane)
register("5", "services", "Services", _services)
register("6", "images", "Images", _images)
register("7", "volumes", "Volumes", _volumes)

_LATE = {"ServicesPane": _services, "ImagesPane": _images, "VolumesPane": _volumes}


def __getattr__(name: str) -> Any:
    if name in _LATE:
        return _LATE[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["HOME", "PANES", "ClusterRow", "ClustersPane", "ContainersPane", "ImagesPane", "NetworksPane", "PaneEntry",
           "ProtectedRow", "ServicesPane", "SystemPane", "VolumesPane", "register"]
