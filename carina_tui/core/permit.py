"""Permits: the only way into a mutating gateway method.

The guard (``carina_tui.guard``) is the only module that issues permits, after
it has checked the protection rules and read-only mode against a fresh look at
the target. Every mutating gateway method takes a permit for exactly that
action and target and refuses anything else with ``GuardBypass``. A test walks
the source tree and checks that nothing but the guard issues permits or calls
a mutating gateway method.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from carina_tui.core.errors import GuardBypass

_SEAL = object()


@dataclass(frozen=True, slots=True)
class Permit:
    action: str
    target: str
    seal: object = field(default=None, repr=False, compare=False)


def issue(action: str, target: str) -> Permit:
    """Called by the guard alone, once it has decided the action may go ahead."""
    return Permit(action, target, _SEAL)


def require(permit: object, action: str, target: str) -> None:
    """Raise unless ``permit`` was issued by the guard for this action on this target."""
    if not (
        isinstance(permit, Permit)
        and permit.seal is _SEAL
        and permit.action == action
        and permit.target == target
    ):
        raise GuardBypass(
            f"The {action} of {target or 'this object'} was attempted without the protection "
            "guard's permit and was stopped; this is a bug in carina-tui, please report it."
        )
