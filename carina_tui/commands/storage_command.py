"""``carina-tui images`` and ``carina-tui volumes``: what every engine of the cluster holds.

Each row names the containers that use it (running or stopped) and, when a protected
container uses it, that container and its rule: such an image or volume is never
removed or pruned. ``--json`` prints one list (the README shows both). Exit status 0,
or 1 when an engine did not answer (what the others hold is printed all the same).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import TextIO

from carina_tui.core.errors import EngineUnreachable
from carina_tui.core.models import ContainerInfo, age
from carina_tui.core.storage_models import Image, Stored, size_text, users_text


def container_ref(c: ContainerInfo, **more) -> dict:
    """A container that uses an image or a volume, as ``--json`` names it."""
    return {"id": c.id, "name": c.name, "node": c.node, "state": c.state, **more}


def _protected(item: Stored) -> dict | None:
    if item.protected_by is None or item.rule is None:
        return None
    return container_ref(item.protected_by, rule=item.rule.describe())


def stored_item(item: Stored, **more) -> dict:
    """An image or a volume as ``--json`` prints it (also in ``cleanup --images/--volumes``)."""
    if isinstance(item, Image):
        out = {"id": item.id, "name": item.name, "node": item.node, "tags": list(item.tags),
               "digests": list(item.digests), "size": item.size, "created": int(item.created),
               "dangling": item.dangling}
    else:
        out = {"id": item.name, "name": item.name, "node": item.node, "driver": item.driver,
               "mountpoint": item.mountpoint, "size": item.size, "created": int(item.created)}
    out.update(more)
    return out


def listing_item(item: Stored) -> dict:
    return stored_item(item, used_by=[container_ref(c) for c in item.users], protected=_protected(item))


def _mark(item: Stored, qualify: bool) -> str:
    if item.protected_by is not None and item.rule is not None:
        who = item.protected_by.qualified_name if qualify else item.protected_by.name
        return f"protected: {who} ({item.protected_by.state}) by {item.rule.describe()}"
    return ""


def print_table(items: list[Stored], out: TextIO, *, qualify: bool) -> None:
    """Aligned columns under a header; a protected one's reason on the line below it."""
    now = time.time()
    if items and isinstance(items[0], Image):
        header = ("NODE", "REPOSITORY:TAG", "IMAGE ID", "SIZE", "CREATED", "USED BY")
        rows = [(i.node, i.names_text + (" (dangling)" if i.dangling else ""), i.short_id, size_text(i.size),
                 age(i.created, now), users_text(i, qualify=qualify)) for i in items]
    else:
        header = ("NODE", "NAME", "DRIVER", "SIZE", "CREATED", "USED BY", "MOUNTPOINT")
        rows = [(v.node, v.name, v.driver, size_text(v.size), age(v.created, now), users_text(v, qualify=qualify),
                 v.mountpoint) for v in items]
    widths = [max(len(r[n]) for r in [header, *rows]) for n in range(len(header))]
    for row, item in zip([header, *rows], [None, *items]):
        print("   ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip(), file=out)
        mark = _mark(item, qualify) if item is not None else ""
        if mark:
            print(" " * (widths[0] + 3) + mark, file=out)


def _order(item: Stored) -> tuple:
    return (item.node, item.dangling if isinstance(item, Image) else False, item.name, item.id)


def _run(args: argparse.Namespace, which: str, stdout: TextIO, stderr: TextIO) -> int:
    from carina_tui.services.storage import list_images, list_volumes
    from carina_tui.services.targets import open_session

    session, _config = open_session(args)
    try:
        snapshot = session.snapshot()
        if not any(e.reachable for e in snapshot.engines):
            raise EngineUnreachable(snapshot.errors[0] if snapshot.errors else
                                    f"No engine of cluster {session.spec.name} answers.")
        listed = (list_images if which == "images" else list_volumes)(session, snapshot.containers)
        items = sorted(listed.items, key=_order)
        errors = tuple(dict.fromkeys(snapshot.errors + listed.errors))
        for error in errors:
            print(f"carina-tui: {error} Its {which} are not listed.", file=stderr)
        if getattr(args, "json", False):
            print(json.dumps([listing_item(i) for i in items], indent=2), file=stdout)
        elif items:
            print_table(items, stdout, qualify=session.multi_node)
        else:
            print(f"No {which}.", file=stdout)
        return 1 if errors else 0
    finally:
        session.close()


def run_images(args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    return _run(args, "images", stdout or sys.stdout, stderr or sys.stderr)


def run_volumes(args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    return _run(args, "volumes", stdout or sys.stdout, stderr or sys.stderr)
