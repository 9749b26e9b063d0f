"""``carina-tui services``: the Services pane, headless. Each service with its protection and its
tasks (the history Swarm keeps included), read from a manager."""

from __future__ import annotations

import json

from carina_tui.commands.clusters_command import aligned
from carina_tui.services.swarm import ServiceRow
from carina_tui.services.targets import open_session


def as_json(row: ServiceRow) -> dict:
    s = row.service
    return {
        "name": s.name,
        "mode": s.mode,
        "running": s.running,
        "desired": s.desired,
        "image": s.plain_image,
        "ports": [str(p) for p in s.ports],
        "networks": list(s.networks),
        "protected": row.rule.describe() if row.rule is not None else None,
        "tasks": [{"name": t.name, "node": t.node, "state": t.state, "desired_state": t.desired_state,
                   "error": t.error} for t in row.tasks],
    }


def run_services(args) -> int:
    session, _config = open_session(args)
    try:
        rows = session.swarm.rows()
    finally:
        session.close()
    if args.json:
        print(json.dumps([as_json(r) for r in rows], indent=2))
        return 0
    if not rows:
        print(f"No services in {session.spec.name}.")
        return 0
    table = [(r.service.name, r.service.mode, r.service.replicas_text, r.service.plain_image,
              r.service.ports_text or "-", r.service.networks_text or "-",
              "yes" if r.rule is not None else "-") for r in rows]
    lines = aligned(("NAME", "MODE", "REPLICAS", "IMAGE", "PORTS", "NETWORKS", "PROTECTED"), table)
    print(lines[0])
    for row, line in zip(rows, lines[1:]):
        print(line)
        if row.rule is not None:
            print(f"  protected by {row.rule.describe()}")
        for t in row.tasks:
            wanted = "" if t.desired_state == t.state else f" (desired {t.desired_state})"
            error = f": {t.error}" if t.error else ""
            print(f"  {t.name}  {t.node or '-'}  {t.state}{wanted}{error}")
    return 0
