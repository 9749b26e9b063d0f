"""Docker Engine API versions: which version a feature needs, and the sentence when an engine
speaks an older one. Pure: the docker gateway asks, the gateway knows each engine's version.

Carina's users ran engines of different versions side by side, so the version is per engine:
negotiated (the engine's own, as docker-py's ``version="auto"`` and the ``Api-Version`` header of
every answer say), or pinned for every engine by ``DOCKER_API_VERSION`` as the docker CLI does.
The versions are those of the Engine API version history (moby ``docs/api/version-history.md``)
and, for prune filters, of the docker CLI (``--filter`` on prune: 1.28, Docker 17.04).
"""

from __future__ import annotations

from dataclasses import dataclass

from carina_tui.core.errors import EngineRefused

MINIMUM = "1.24"  # docker-py 7 and carina-tui's reads need it (Docker 1.12, swarm mode)

# The Docker release that first spoke each API version, for the sentence.
RELEASES = {
    "1.23": "1.11", "1.24": "1.12", "1.25": "1.13", "1.26": "17.03", "1.27": "17.03.1", "1.28": "17.04",
    "1.29": "17.05", "1.30": "17.06", "1.31": "17.07", "1.32": "17.09", "1.33": "17.10", "1.35": "17.12",
    "1.37": "18.02", "1.38": "18.06", "1.39": "18.09", "1.40": "19.03", "1.41": "20.10",
}


@dataclass(frozen=True)
class Feature:
    needs: str  # the first API version that has it
    what: str  # as the sentence names it: "pruning networks needs ..."


FEATURES = {
    "swarm": Feature("1.24", "swarm mode (nodes, services, tasks)"),
    "swarm.services": Feature("1.24", "listing swarm services"),
    "network.attachable": Feature("1.25", "an attachable overlay network"),
    "network.prune": Feature("1.25", "pruning networks"),
    "container.prune": Feature("1.25", "pruning containers"),
    "image.prune": Feature("1.25", "pruning images"),
    "volume.prune": Feature("1.25", "pruning volumes"),
    "run.auto_remove": Feature("1.25", "removing a container when it exits (--rm)"),
    "run.init": Feature("1.25", "an init process in the container (--init)"),
    "prune.until": Feature("1.28", "an until filter on prune"),
    "prune.label": Feature("1.29", "a label filter on prune"),
}


class ApiTooOld(EngineRefused):
    """The engine speaks an API version older than a feature (or carina-tui) needs."""

    title = "Engine API too old"


def parse(version: str) -> tuple[int, ...]:
    """``"1.41"`` -> ``(1, 41)``; anything that is not a version -> ``()`` (older than every version)."""
    try:
        return tuple(int(part) for part in str(version).strip().split("."))
    except ValueError:
        return ()


def older(version: str, than: str) -> bool:
    return parse(version) < parse(than)


def release(version: str) -> str:
    """``"1.25"`` -> ``" (Docker 1.13)"``, or '' when not known."""
    name = RELEASES.get(version)
    return f" (Docker {name})" if name else ""


def too_old(engine: str, version: str, feature: str) -> str:
    """'' when ``version`` has ``feature``, else the sentence saying so."""
    need = FEATURES[feature]
    if not older(version, need.needs):
        return ""
    return (f"{engine} speaks Docker API {version}{release(version)}, and {need.what} needs API {need.needs} "
            f"or newer{release(need.needs)}; upgrade that engine, or do this on an engine that has it.")


def require(engine: str, version: str, feature: str) -> None:
    """Raise ``ApiTooOld`` with the sentence when ``version`` lacks ``feature``."""
    problem = too_old(engine, version, feature)
    if problem:
        raise ApiTooOld(problem)


def api_range(infos) -> str:
    """The API versions engines speak, for the Clusters pane: "1.41", or "1.24–1.41" when they differ."""
    versions = sorted({i.api_version for i in infos if i is not None and i.api_version}, key=parse)
    if not versions:
        return ""
    return versions[0] if len(versions) == 1 else f"{versions[0]}–{versions[-1]}"
