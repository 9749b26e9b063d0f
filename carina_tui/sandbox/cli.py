"""``carina-tui sandbox up|status|down``: the command line of the multi-node sandbox.

``register(subparsers)`` adds the ``sandbox`` command to carina-tui's parser and
sets ``handler`` (``run``) on its namespace; ``run(args)`` returns the exit status.
Also runnable alone: ``python -m carina_tui.sandbox.cli up --nodes 3``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from carina_tui.core.errors import CarinaError
from carina_tui.sandbox import cluster


def register(subparsers) -> argparse.ArgumentParser:
    """Add ``sandbox`` (with ``up``, ``status``, ``down``) to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "sandbox",
        help="a real multi-node Docker swarm on this machine (root, Linux)",
        description="A Carina-like cluster on this machine: one dockerd per node in network namespaces of "
        "their own, a swarm, an overlay network, a protected Consul agent per node, TLS, and a cluster "
        "entry `sandbox` for carina-tui.",
    )
    add_arguments(parser)
    parser.set_defaults(handler=run)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="sandbox_action", metavar="ACTION")
    up = actions.add_parser("up", help="build the sandbox (does nothing when it is up)")
    up.add_argument("--nodes", type=int, default=2, metavar="N", help=f"nodes, 1 to {cluster.MAX_NODES} (default 2)")
    up.add_argument("--managers", type=int, default=1, metavar="M", help="swarm managers among them (default 1)")
    up.add_argument("--name", default=cluster.DEFAULT_NAME,
                    help=f"the sandbox's name: its cluster entry, node and namespace names (default {cluster.DEFAULT_NAME}); "
                    "two sandboxes up at once need two names, two --dir and two --subnet")
    up.add_argument("--subnet", default=cluster.DEFAULT_SUBNET, help=f"the nodes' subnet (default {cluster.DEFAULT_SUBNET})")
    up.add_argument("--consul", choices=("double", "httpd"), default="double",
                    help="what answers the Consul API: the test double (default) or static files")
    actions.add_parser("status", help="the nodes and whether they answer")
    actions.add_parser("down", help="remove the sandbox and everything it made")
    for sub in actions.choices.values():
        sub.add_argument("--dir", type=Path, default=None, metavar="PATH",
                         help=f"where the sandbox keeps its state (default {cluster.DEFAULT_BASE})")


def _print_status(status: cluster.SandboxStatus) -> None:
    state = status.state
    if state is None:
        print("No sandbox is up. `carina-tui sandbox up` builds one.")
        return
    print(f"Sandbox {state.name}: {len(state.nodes)} node(s) on {state.subnet}, "
          f"{'up' if status.up else 'NOT all up'}.")
    print(f"{'NODE':<14} {'ROLE':<8} {'ENDPOINT':<24} {'ENGINE':<8} {'SWARM':<9} {'CONSUL':<10} CONTAINERS")
    for node in status.nodes:
        print(f"{node.name:<14} {'manager' if node.manager else 'worker':<8} {node.endpoint:<24} "
              f"{'ok' if node.engine else 'down':<8} {node.swarm or '-':<9} {node.consul_text:<10} "
              f"{node.containers}")
    print(f"Credentials: {state.bundle_dir}  Config: {state.config_file} [clusters.{state.name}]")
    print(f"Open it with: carina-tui --cluster {state.name}")


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "sandbox_action", None)
    base = getattr(args, "dir", None)
    try:
        if action == "up":
            started = time.monotonic()
            state = cluster.sandbox_up(
                nodes=args.nodes, managers=args.managers, base_dir=base, name=args.name, subnet=args.subnet,
                consul=args.consul,
                progress=lambda step: print(f"  {step} ...", file=sys.stderr, flush=True),
            )
            print(f"Sandbox up in {time.monotonic() - started:.1f} s.", file=sys.stderr)
            _print_status(cluster.sandbox_status(state.base_dir))
            return 0
        if action == "status":
            status = cluster.sandbox_status(base)
            _print_status(status)
            return 0 if status.state is None or status.up else 1
        if action == "down":
            started = time.monotonic()
            removed = cluster.sandbox_down(base)
            if removed:
                print(f"Sandbox removed ({', '.join(removed)}) in {time.monotonic() - started:.1f} s; nothing is left.")
            else:
                print("No sandbox is up: nothing to remove.")
            return 0
        print("Say what to do: carina-tui sandbox up | status | down.", file=sys.stderr)
        return 2
    except CarinaError as err:
        print(f"carina-tui sandbox: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("carina-tui sandbox: interrupted; run `carina-tui sandbox down` to remove what was made.",
              file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carina_tui.sandbox.cli")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
