"""What the console says after a container action: decided on the engine's fresh look at the
container after the call, never on what a row showed before it.

A container that exits at once after ``run``, ``start`` or ``restart`` is reported as exited with
its exit code; a start of a running container says it was running already; a stop says stopped.
"""

from __future__ import annotations

from carina_tui.core.models import STOPPED_STATES, ContainerDetail, ContainerInfo

# A container just started (run, start, restart) is watched this long (seconds) before the console
# says how it went: one that exits at once is reported with its exit code, not as running.
SETTLE = 1.0

# What a row shows while an action is under way, until the engine's news replaces it.
UNDER_WAY = {
    "container.start": "starting…",
    "container.stop": "stopping…",
    "container.restart": "restarting…",
    "container.remove": "removing…",
}

_DONE = {"container.start": "started", "container.restart": "restarted", "container.run": "runs"}


def action_outcome(action: str, name: str, before: ContainerInfo | None, after: ContainerDetail | None,
                   runs: str = "") -> tuple[str, bool]:
    """The sentence to say after ``action`` on ``name``, and whether the container is now as asked.

    ``before`` is the look the guard decided on (None for a new container), ``after`` the look
    right after the call (None: the container is gone); ``runs`` completes "name runs…".
    """
    if action == "container.remove":
        return f"{name} removed.", True
    if after is None:
        return f"{name} is gone.", False
    state, code = after.container.state, after.exit_code
    if action in _DONE:
        if state == "running":
            if action == "container.start" and before is not None and before.state == "running":
                return f"{name} was running already.", True
            return f"{name} {_DONE[action]}{runs}.", True
        if state == "restarting":
            return (f"{name} exited with code {code} and is being restarted by its restart policy; "
                    "see its logs (l)."), False
        if state in ("exited", "dead"):
            return f"{name} exited at once with code {code}; see its logs (l).", False
    elif action == "container.stop" and state in STOPPED_STATES:
        if before is not None and before.state in STOPPED_STATES:
            return f"{name} was not running.", True
        return f"{name} stopped.", True
    return f"{name} is {state} now.", False
