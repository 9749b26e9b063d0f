"""Durations as people type them: ``90s``, ``10m``, ``2h``, ``7d``, ``1w``, ``1h30m``.

Used by cleanup's ``--until`` and the Containers filter's ``until=``, meaning
"created at least this long ago", like ``docker container prune --filter until=``.
"""

from __future__ import annotations

import re

from carina_tui.core.errors import ValidationError, clip

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
LONGEST = 100 * 365 * 86400  # a hundred years: longer is a typing mistake, not an age
_PART = re.compile(r"(\d+)([smhdw])")


def parse_duration(text: str, *, what: str = "--until") -> int:
    """Seconds in ``text``; a ValidationError with a sentence on anything else (empty included)."""
    raw = (text or "").strip().lower()
    pos, total = 0, 0
    for match in _PART.finditer(raw):
        if match.start() != pos:
            break
        digits = match.group(1).lstrip("0") or "0"
        # 13 digits of seconds are already 300 centuries; int() would refuse 4,300 of them
        total += (LONGEST + 1) if len(digits) > 12 else int(digits) * UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos != len(raw):
        raise ValidationError(
            f"{what} takes a duration such as 90s, 10m, 2h, 7d or 1h30m, not {clip(text or '')!r}.", field=what
        )
    if total > LONGEST:
        raise ValidationError(f"{what} {clip(text)} is longer than a hundred years; give a duration such as 7d.",
                              field=what)
    return total


def format_duration(seconds: int) -> str:
    """The inverse, for messages: 5400 -> ``1h30m``."""
    if seconds <= 0:
        return "0s"
    out = []
    for unit in ("w", "d", "h", "m", "s"):
        size = UNITS[unit]
        if seconds >= size:
            out.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(out)
