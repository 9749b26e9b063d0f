"""The console's panes, one module each, and the registry that gives each its key (``registry.py``).

A new pane: a module here with its ``TablePane`` subclass, and one ``register`` line below.
"""

from carina_tui.ui.panes.clusters import ClusterRow, ClustersPane
from carina_tui.ui.panes.containers import ContainersPane
from carina_tui.ui.panes.networks import NetworksPane
from carina_tui.ui.panes.registry import HOME, PANES, PaneEntry, register
from carina_tui.ui.panes.services import ServicesPane
from carina_tui.ui.panes.storage import ImagesPane, VolumesPane
from carina_tui.ui.panes.system import ProtectedRow, SystemPane

register("1", "clusters", "Clusters", ClustersPane)
register("2", "networks", "Networks", NetworksPane)
register("3", "containers", "Containers", ContainersPane)
register("4", "system", "System", SystemPane)
register("5", "services", "Services", ServicesPane)
register("6", "images", "Images", ImagesPane)
register("7", "volumes", "Volumes", VolumesPane)

__all__ = ["HOME", "PANES", "ClusterRow", "ClustersPane", "ContainersPane", "ImagesPane", "NetworksPane", "PaneEntry",
           "ProtectedRow", "ServicesPane", "SystemPane", "VolumesPane", "register"]
