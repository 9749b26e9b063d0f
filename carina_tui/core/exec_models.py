"""What a shell in a container and a container's live stats are, as data (no library here).

* ``ExecChoice``: one line of ``[exec]`` in ``clusters.toml``: containers whose image matches
  ``pattern`` get ``command`` instead of the default shell (``/bin/bash`` if there, else
  ``/bin/sh``). ``command_for`` picks it.
* ``StatsSample``: one reading of a container's stats stream, as the gateway converts it;
  ``per_second`` turns two readings' counters into a rate.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from typing import Iterable

from carina_tui.core.models import ContainerInfo
from carina_tui.core.rules import image_repository

SHELLS = ("/bin/bash", "/bin/sh")  # tried in this order when no [exec] line matches


@dataclass(frozen=True, slots=True)
class ExecChoice:
    pattern: str  # a glob on the image's names: "postgres", "carina/consul*", "*:debug"
    command: tuple[str, ...]
    where: str = ""  # the config file and line, for a sentence

    def matches(self, container: ContainerInfo) -> bool:
        """True when any name of the container's image matches, with or without its tag."""
        return any(fnmatch.fnmatchcase(name, self.pattern) or fnmatch.fnmatchcase(image_repository(name), self.pattern)
                   for name in container.image_names)


def command_for(container: ContainerInfo, choices: Iterable[ExecChoice]) -> ExecChoice | None:
    """The first ``[exec]`` line for ``container``'s image, or None (then the default shell)."""
    return next((choice for choice in choices if choice.matches(container)), None)


@dataclass(frozen=True, slots=True)
class StatsSample:
    """One reading. Counters (network, block I/O) are totals since the container started."""

    at: float  # seconds (the engine's clock), to turn counters into rates
    cpu_percent: float | None  # of one core, as docker stats shows it; None on the first reading
    mem_usage: int
    mem_limit: int
    net_rx: int
    net_tx: int
    blk_read: int
    blk_write: int


def per_second(before: StatsSample | None, after: StatsSample, counter: str) -> float:
    """Bytes per second of ``counter`` between two readings (0 for the first, or a counter reset)."""
    if before is None or after.at <= before.at:
        return 0.0
    grown = getattr(after, counter) - getattr(before, counter)
    return max(0.0, grown / (after.at - before.at))


def short_bytes(value: float) -> str:
    """``312B``, ``1.5K``, ``23.5G`` (powers of 1024): a stats label fits beside its sparkline at 80x24."""
    for unit in ("B", "K", "M", "G"):
        if abs(value) < 1024 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}G"  # not reached
