"""The Consul API of one sandbox node, answered by the Consul HTTP API TEST DOUBLE.

Not Consul. The sandbox runs one of these per node, inside the node's network
namespace, listening on ``<node>:8500`` (the protected ``carina-svcd`` container
shares that namespace: it runs with the host network). Every node's double knows
the whole cluster: the members, the catalog nodes with their health, the leader (node 1).

    python -m carina_tui.sandbox.consul_agent --bind 10.213.7.11 --node sandbox-n1 \\
        --members sandbox-n1=10.213.7.11,sandbox-n2=10.213.7.12

This is the hook to plug another implementation in: the sandbox only needs a
process that answers ``GET /v1/status/leader`` at ``http://<node>:8500``.
"""

from __future__ import annotations

import argparse
import sys

from carina_tui.sandbox.consul_double import ConsulDouble, serve


def parse_members(text: str) -> list[tuple[str, str]]:
    members = []
    for item in text.split(","):
        name, sep, addr = item.strip().partition("=")
        if not sep or not name or not addr:
            raise ValueError(f'"{item}" is not NAME=ADDRESS')
        members.append((name, addr))
    return members


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m carina_tui.sandbox.consul_agent", description=__doc__.split("\n\n")[0])
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, default=8500)
    parser.add_argument("--node", required=True, help="the node this agent runs on")
    parser.add_argument("--members", required=True, help="NAME=ADDRESS,... for every node, node 1 first")
    args = parser.parse_args(argv)
    try:
        members = parse_members(args.members)
    except ValueError as err:
        print(f"consul agent: --members: {err}.", file=sys.stderr)
        return 2
    double = ConsulDouble(args.bind, args.port, node_name=args.node, address=args.bind, server=True)
    for name, addr in members:  # the members, their catalog nodes and serfHealth checks
        double.add_node(name, addr, server=True)
    double.set_leader(f"{members[0][1]}:8300")
    double.set_peers([f"{addr}:8300" for _, addr in members])
    # No sample libnetwork records: the swarm keeps its own state, and Consul's KV holds
    # only what someone puts there, as on a real cluster.
    return serve(double, f"Consul HTTP API test double for {args.node}", f"{args.bind}:{args.port}")


if __name__ == "__main__":
    sys.exit(main())
