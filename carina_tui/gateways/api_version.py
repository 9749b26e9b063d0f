"""Which Docker API version the gateway speaks with one engine, and the sentences when a version
does not fit (see ``core.api_versions`` for the features and the versions they need).

Negotiated per engine: docker-py's ``version="auto"`` asks the engine (``GET /version``), and on
a unix socket the kept-alive requests take it from the ``Api-Version`` header of the engine's
last answer. ``DOCKER_API_VERSION`` pins it for every engine, as it does for the docker CLI
(docker-py itself ignores that variable). Three ways a version can fail, each a sentence:
docker-py refuses before sending (``InvalidVersion``: a feature or the engine is older than it
supports), the engine refuses the version in the path ("client version 1.50 is too new", an
engine replaced by an older one while the console runs, or a pin newer than the engine; "too
old", a pin older than the engine's minimum), or we refuse first (``require``).
"""

from __future__ import annotations

import os
import re

from carina_tui.core import api_versions as versions
from carina_tui.core.api_versions import ApiTooOld
from carina_tui.core.errors import ConfigError, clip

_TOO_NEW = re.compile(r"client version (\d+\.\d+) is too new\. maximum supported api version is (\d+\.\d+)", re.I)
_TOO_OLD = re.compile(r"client version (\d+\.\d+) is too old\. minimum supported api version is (\d+\.\d+)", re.I)
_VERSIONED = re.compile(r"^/v\d+\.\d+/")


def pinned_from_env() -> str:
    """``DOCKER_API_VERSION`` ('' when unset); ``ConfigError`` when it is not a version."""
    text = os.environ.get("DOCKER_API_VERSION", "").strip()
    if text and not re.fullmatch(r"\d+\.\d+", text):
        raise ConfigError(f'DOCKER_API_VERSION is "{clip(text)}", which is not an API version; write it like '
                          "1.41, or unset it to let each engine say its own.")
    if text and versions.older(text, versions.MINIMUM):
        raise ConfigError(f"DOCKER_API_VERSION is {text}, and carina-tui needs API {versions.MINIMUM} or newer"
                          f"{versions.release(versions.MINIMUM)}; unset it to let each engine say its own.")
    return text


def versioned(target: str, pinned: str) -> str:
    """A kept-alive request's path with the pinned version in front (unpinned: as given, which the
    engine answers in its own version, the one it says in ``Api-Version``)."""
    if not pinned or _VERSIONED.match(target):
        return target
    return f"/v{pinned}{target}"


def refused_version(message: str, engine: str, pinned: str) -> ApiTooOld | None:
    """The sentence for an engine's answer refusing the version in the path, else None."""
    found = _TOO_NEW.search(message)
    if found:
        asked, most = found.groups()
        if pinned:
            return ApiTooOld(f"{engine} speaks Docker API {most}{versions.release(most)} at most, older than "
                             f"DOCKER_API_VERSION={pinned}; set it to {most} or unset it.")
        return ApiTooOld(f"{engine} now speaks Docker API {most}{versions.release(most)}, older than the {asked} it "
                         "spoke before (was it replaced?); the next request asks it again: try once more.")
    found = _TOO_OLD.search(message)
    if found:
        asked, least = found.groups()
        how = f"DOCKER_API_VERSION={pinned} asks for {asked}" if pinned else f"carina-tui asked for {asked}"
        return ApiTooOld(f"{engine} speaks Docker API {least} and newer only, and {how}; "
                         + (f"unset DOCKER_API_VERSION or set it to {least} or newer." if pinned else "try once more."))
    return None


def invalid(text: str, what: str, engine: str, version: str) -> ApiTooOld:
    """docker-py's ``InvalidVersion`` (raised before anything is sent) as our sentence."""
    if "no longer supported" in text:  # the engine itself is older than docker-py supports
        return below_minimum(engine, version)
    spoken = f"Docker API {version}{versions.release(version)}" if version else "an older Docker API"
    return ApiTooOld(f"Could not {what}: {engine} speaks {spoken}, which does not have it "
                     f"({text.strip().rstrip('.')}); upgrade that engine.")


def below_minimum(engine: str, version: str) -> ApiTooOld:
    engine = engine[:1].upper() + engine[1:]
    spoken = f"Docker API {version}{versions.release(version)}" if version else "a Docker API older than that"
    return ApiTooOld(f"{engine} speaks {spoken}, and carina-tui needs API {versions.MINIMUM} or newer"
                     f"{versions.release(versions.MINIMUM)}; upgrade that engine to reach it from here.")


def check_minimum(engine: str, version: str) -> None:
    if version and versions.older(version, versions.MINIMUM):
        raise below_minimum(engine, version)
