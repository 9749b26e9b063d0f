"""Demo content for ``make demo``, and the choice of the engine it runs on.

``python -m carina_tui.sandbox.demo --host URL`` puts demo content on the engine
at URL when it holds no container yet (idempotent: an engine with containers,
ours or anyone's, is left as it is):

* a user-defined network ``mynet``;
* running busybox containers (a web server with a published port, a database
  and a cache stand-in on ``mynet``) and exited ones (one ok, one failed);
* two protected Consul agents from the local ``carina/consul`` image: a running
  ``carina-svcd`` and an exited ``carina-svcd-old`` (label ``carina.protected``).

``python -m carina_tui.sandbox.demo prepare`` picks the engine for ``make demo``
and prints the arguments for ``carina-tui``: the engine at ``DOCKER_HOST`` or at
the default socket if one answers (seeded as above), else (as root on Linux) the
multi-node sandbox (``carina-tui sandbox up``, which brings its own content).
Only the docker CLI is used, never docker-py.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from carina_tui.core.errors import CarinaError
from carina_tui.sandbox import engine as eng
from carina_tui.sandbox.images import BUSYBOX_IMAGE, CONSUL_IMAGE, ensure_local_images

DEMO_LABEL = "carina.demo=1"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
AGENT_COMMAND = ("httpd", "-f", "-p", "8500", "-h", "/www")


def is_empty(url: str) -> bool:
    return not eng.docker(url, "ps", "--all", "--quiet").split()


def _run(url: str, name: str, *args: str, detach: bool = True) -> None:
    eng.docker(url, "run", *(["--detach"] if detach else []), "--name", name, "--label", DEMO_LABEL, *args)


def seed(url: str) -> bool:
    """Put the demo content on the engine at ``url`` if it holds no container. True when it did."""
    if not is_empty(url):
        return False
    ensure_local_images(url)
    if eng.run(["docker", "-H", url, "network", "inspect", "mynet"], check=False).returncode != 0:
        eng.docker(url, "network", "create", "--label", DEMO_LABEL, "mynet")
    _run(url, "web", "--network", "mynet", "--publish", "127.0.0.1::80", BUSYBOX_IMAGE,
         "httpd", "-f", "-p", "80", "-h", "/www")
    _run(url, "mysql", "--network", "mynet", "--env", "MYSQL_ROOT_PASSWORD=demo", BUSYBOX_IMAGE, "sleep", "1d")
    _run(url, "cache", "--network", "mynet", BUSYBOX_IMAGE, "sleep", "1d")
    _run(url, "worker", BUSYBOX_IMAGE, "sleep", "1d")
    _run(url, "migrate", BUSYBOX_IMAGE, "true", detach=False)
    eng.docker(url, "create", "--name", "backup", "--label", DEMO_LABEL, BUSYBOX_IMAGE, "sh", "-c", "exit 3")
    eng.docker(url, "start", "--attach", "backup", check=False)
    agent = ("--label", "carina.protected=true", "--label", "carina.role=consul-agent")
    _run(url, "carina-svcd", *agent, CONSUL_IMAGE, *AGENT_COMMAND)
    eng.docker(url, "create", "--name", "carina-svcd-old", "--label", DEMO_LABEL, *agent, CONSUL_IMAGE, "true")
    eng.docker(url, "start", "--attach", "carina-svcd-old", check=False)
    return True


def _answers(url: str) -> bool:
    try:
        return eng.ping_url(url, timeout=2)
    except CarinaError:
        return False


def prepare() -> list[str]:
    """Pick (or start) the engine for ``make demo``, seed it, and return carina-tui's arguments."""
    given = os.environ.get("DOCKER_HOST", "").strip()
    for url in ([given] if given else []) + [DEFAULT_SOCKET]:
        if _answers(url):
            seed(url)
            print(f"Using the engine at {url}.", file=sys.stderr)
            return ["--host", url]
    if given:
        raise eng.EngineError(
            f"No Docker engine answers at DOCKER_HOST={given}: start it, or unset DOCKER_HOST "
            "so that make demo starts an engine of its own."
        )
    if os.geteuid() != 0 or sys.platform != "linux":
        raise eng.EngineError(
            "No Docker engine answers (DOCKER_HOST is not set and the default socket is silent), and "
            "starting one needs root on Linux: run make demo as root, or start dockerd and try again."
        )
    from carina_tui.sandbox import cluster

    state = cluster.sandbox_up()
    print(
        f"Using the sandbox cluster ({len(state.nodes)} nodes on {state.subnet}); "
        "`.venv/bin/carina-tui sandbox down` removes it.",
        file=sys.stderr,
    )
    return ["--cluster", state.name]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carina_tui.sandbox.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", nargs="?", choices=("seed", "prepare"), default="seed")
    parser.add_argument("--host", help="the engine to seed (a docker -H URL)")
    args = parser.parse_args(argv)
    try:
        if args.action == "prepare":
            print(shlex.join(prepare()))
            return 0
        url = args.host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
        if not _answers(url):
            print(f"No Docker engine answers at {url}: start it, or give another one with --host.", file=sys.stderr)
            return 1
        print("Demo content added." if seed(url) else "The engine already holds containers: left as it is.")
        return 0
    except CarinaError as err:
        print(str(err), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
