"""Images and volumes of a cluster: every engine's list, with the containers that use each.

Shared by the Images and Volumes panes (in thread workers, with the containers the
Containers pane already holds) and the headless ``images``, ``volumes`` and
``cleanup --images/--volumes`` (which read the containers first). No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from carina_tui.core.errors import CarinaError
from carina_tui.core.models import ContainerInfo
from carina_tui.core.storage_models import Stored, with_users
from carina_tui.services.session import Session


@dataclass(frozen=True)
class StoredList:
    """Images or volumes of every engine that answered, and the sentences of those that did not."""

    items: tuple[Stored, ...] = ()
    errors: tuple[str, ...] = ()


def _gather(session: Session, read, containers: Iterable[ContainerInfo]) -> StoredList:
    results = session._each(read)
    items: list[Stored] = []
    errors = []
    for result in results.values():
        if isinstance(result, CarinaError):
            errors.append(str(result))
        else:
            items.extend(result)  # type: ignore[arg-type]
    return StoredList(tuple(with_users(items, containers, session.guard.rules)), tuple(errors))


def list_images(session: Session, containers: Iterable[ContainerInfo]) -> StoredList:
    """Every engine's images, each with the containers (of ``containers``) that use it."""
    return _gather(session, lambda gw: gw.stored_images(), containers)


def list_volumes(session: Session, containers: Iterable[ContainerInfo], *, sizes: bool = True) -> StoredList:
    """Every engine's volumes, each with its users; ``sizes``: also what ``/system/df`` knows of
    their sizes (an engine that cannot say leaves them unknown)."""

    def read(gw):
        volumes = gw.volumes()
        if not sizes or not volumes:
            return volumes
        try:
            known = gw.volume_sizes()
        except CarinaError:
            return volumes
        return [replace(v, size=known.get(v.name, v.size)) for v in volumes]

    return _gather(session, read, containers)


def volume_sizes(session: Session) -> dict[str, int]:
    """``endpoint|name`` -> bytes, from every engine that can say (``/system/df``)."""
    out: dict[str, int] = {}
    for key, result in session._each(lambda gw: gw.volume_sizes()).items():
        if not isinstance(result, CarinaError):
            out.update({f"{key}|{name}": size for name, size in result.items()})  # type: ignore[union-attr]
    return out
