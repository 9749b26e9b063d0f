"""The console's first reads, sent the moment it starts, before the rest of it is imported.

Importing what turns the engine's answers into rows (the gateway, the models, the session, the
config) takes about as long as the engine takes to answer the first snapshot's reads. So, for an
engine on a unix socket named on the command line (``--host``) or by ``DOCKER_HOST``, the reads
the first snapshot makes (``Session._snapshot``: the engine's info, then its first list and a
manager's nodes; beside them, the image names and the networks) go out here first. The command
line hands their answers to the session it opens (``Session.prefetch(early=...)``), whose
gateway, sending the same GETs a moment later, takes them instead (``unix_http.ask_early``); no
other session can. Only those two plain cases are guessed: a guess the session does not confirm
costs reads nobody takes, and nothing else. Standard library and ``unix_http`` only: this runs
before anything else is imported.

The first list's rule lives here too (``first_list``): the session follows it, and so do the
reads sent ahead of it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

from carina_tui.gateways import unix_http

# On an engine with more containers than WHOLE_AT_ONCE, the first snapshot shows a first page:
# the FIRST_PAGE newest running containers (the top of the default order), or the newest of all
# when none runs; the whole list is asked for after it (at start-up, after the first frame).
WHOLE_AT_ONCE = 2000
FIRST_PAGE = 100
IMAGES = "/images/json"
NETWORKS = "/networks"
NODES = "/nodes"


def first_list(containers: int, running: int) -> dict[str, object]:
    """The first snapshot's list of an engine holding ``containers`` (``running`` of them running):
    the arguments of ``DockerGateway.containers``; none for the whole list."""
    if containers > WHOLE_AT_ONCE:
        # One request: each costs the engine a pass over every container.
        return {"running": running > 0, "limit": FIRST_PAGE}
    return {}


def containers_target(filters: Mapping[str, list[str]] | None = None, limit: int | None = None) -> str:
    """The engine API's list of containers (stopped ones too), as the gateway sends it."""
    from urllib.parse import urlencode  # (not before the head start has begun)

    query = {"all": "1", **({"limit": str(limit)} if limit else {}),
             **({"filters": json.dumps(filters)} if filters else {})}
    return f"/containers/json?{urlencode(query)}"


def swarm_role(info: Mapping) -> tuple[str, str]:
    """The swarm state and role an engine's ``/info`` document says ("inactive", "" when in none)."""
    swarm = info.get("Swarm") or {}
    state = swarm.get("LocalNodeState") or "inactive"
    role = ("manager" if swarm.get("ControlAvailable") else "worker") if state == "active" else ""
    return state, role


def begin(host: str | None, cluster: str | None,
          environ: Mapping[str, str] = os.environ) -> unix_http.EarlyAnswers | None:
    """Send the first snapshot's reads to the engine the console will most likely open: ``--host``,
    else ``DOCKER_HOST`` when no cluster is named; on a unix socket only, the API version unpinned
    (the gateway's paths then are these). Returns where their answers wait, for the session
    (``Session.prefetch(early=...)``); None when nothing went out."""
    url = (host or "").strip() or ("" if cluster else environ.get("DOCKER_HOST", "").strip())
    if not url.startswith("unix://") or environ.get("DOCKER_API_VERSION", "").strip():
        return None
    return unix_http.ask_early(url[len("unix://"):], "/info", _after_info, alongside=(NETWORKS, IMAGES))


def _after_info(answer: unix_http.Answer) -> list[str]:
    """What the session asks for after the engine's info (``Session._snapshot``'s ``load``)."""
    if answer.status != 200:
        return []
    info = answer.json()
    containers, running = int(info.get("Containers") or 0), int(info.get("ContainersRunning") or 0)
    page = first_list(containers, running)
    filters = {"status": ["running"]} if page.get("running") else None
    reads = [containers_target(filters, page.get("limit"))]  # type: ignore[arg-type]
    if swarm_role(info) == ("active", "manager"):
        reads.append(NODES)
    return reads
