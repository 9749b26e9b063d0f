"""``carina-tui clusters`` and ``carina-tui status``: the Clusters and System panes, headless."""

from __future__ import annotations

import json
from collections import Counter

from carina_tui.core.config import load_config
from carina_tui.core.consul_models import ConsulSnapshot
from carina_tui.core.errors import CarinaError
from carina_tui.core.models import swarm_size
from carina_tui.services.targets import all_clusters, open_session, probe, resolve


def run_clusters(args) -> int:
    config = load_config(args.config)
    current = resolve(args, config) if (args.host or args.cluster) else None
    specs = all_clusters(config, current) if current is not None else _discover(config)
    out = []
    for spec in specs:
        spec = config.claim(spec)  # the TLS it is reached with, when it is a configured cluster's engine
        entry = {
            "name": spec.name,
            "source": spec.source,
            "endpoints": list(spec.endpoints),
            "tls": spec.tls is not None,
            "reachable": False,
            "error": spec.problem or "",
            "version": "",
            "swarm_role": "",
            "nodes": 0,
            "origin": spec.origin,
        }
        if not spec.problem and spec.endpoints:
            try:
                states = probe(spec, config)
            except CarinaError as err:
                entry["error"] = str(err)
            else:
                up = [s for s in states if s.reachable]
                entry["reachable"] = bool(up)
                entry["error"] = "" if len(up) == len(states) else next(s.error for s in states if not s.reachable)
                if up:
                    info = up[0].info
                    entry["version"] = info.version
                    entry["swarm_role"] = info.swarm_role
                    entry["nodes"] = swarm_size((s.info for s in up), len(spec.endpoints))
        out.append(entry)
    if args.json:
        print(json.dumps(out, indent=2))
        return 0
    rows = [(e["name"], e["source"], "up" if e["reachable"] else "DOWN", str(e["nodes"] or "-"),
             "yes" if e["tls"] else "no", e["version"] or "-", ", ".join(e["endpoints"]) or "-") for e in out]
    lines = aligned(("NAME", "SOURCE", "STATE", "NODES", "TLS", "VERSION", "ENDPOINTS"), rows)
    print(lines[0])
    indent = " " * (lines[0].index("SOURCE"))
    for e, line in zip(out, lines[1:]):
        print(line)
        if e["error"]:
            print(f"{indent}{e['error']}")
    return 0


def aligned(header: tuple[str, ...], rows: list[tuple[str, ...]], gap: int = 3) -> list[str]:
    """The header and the rows in columns as wide as their widest cell, like ``docker ps``."""
    widths = [max(len(cell) for cell in column) for column in zip(header, *rows)]
    return [(" " * gap).join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in (header, *rows)]


def _discover(config):
    from carina_tui.gateways import discovery

    return discovery.discover(config)


def _addresses(use) -> dict:
    """A swarm network's address use for ``status --json``."""
    return {"used": use.used, "capacity": use.capacity, "free": use.free,
            "by_kind": {kind: use.count(kind) for kind in ("task", "container", "load balancer", "virtual IP")},
            "unseen_nodes": list(use.unseen)}


def run_status(args) -> int:
    from carina_tui.services.overlay import address_uses
    from carina_tui.services.system_report import build_report

    session, _config = open_session(args)
    try:
        snapshot = session.snapshot()
        report = build_report(session, snapshot)
        uses = address_uses(session, snapshot.networks)
    finally:
        session.close()
    engines = [
        {"endpoint": s.url, "reachable": s.reachable, "error": s.error,
         "name": s.info.name if s.info else "", "version": s.info.version if s.info else "",
         "api_version": s.info.api_version if s.info else "",
         "swarm_role": s.info.swarm_role if s.info else ""}
        for s in snapshot.engines
    ]
    nodes = [
        {"hostname": n.hostname, "role": n.role, "availability": n.availability, "status": n.status,
         "manager_reachability": n.manager_reachability, "leader": n.leader, "engine_version": n.engine_version}
        for n in snapshot.nodes
    ] or [{"hostname": e["name"], "role": e["swarm_role"] or "standalone", "status": "ready" if e["reachable"] else "down"}
          for e in engines]
    qualify = session.multi_node  # node/name for local networks, as the console's Networks pane names them
    networks = sorted(snapshot.networks, key=lambda n: n.display_name(qualify))
    by_state = Counter(c.state for c in snapshot.containers)
    protected = []
    for c in snapshot.containers:
        rule = session.guard.classify(c)
        if rule is not None:
            protected.append({"id": c.id, "name": c.qualified_name, "node": c.node, "state": c.state,
                              "rule": rule.describe()})
    consul: dict = {"address": report.address}
    if isinstance(report.consul, ConsulSnapshot):
        consul.update({
            "leader": report.consul.leader,
            "datacenter": report.consul.agent.datacenter,
            "version": report.consul.agent.version,
            "members": [{"name": m.name, "addr": m.addr, "status": m.status} for m in report.consul.members],
        })
    elif isinstance(report.consul, CarinaError):
        consul["error"] = str(report.consul)
    doc = {
        "cluster": session.spec.name,
        "engines": engines,
        "nodes": nodes,
        "containers": {"total": len(snapshot.containers), **dict(sorted(by_state.items()))},
        "networks": [{"name": n.name, "node": "" if n.scope == "swarm" else n.node, "driver": n.driver,
                      "scope": n.scope, "subnet": n.subnets_text,
                      **({"addresses": _addresses(uses[n.key])} if n.key in uses else {})}
                     for n in networks],
        "protected": protected,
        "consul": consul,
        "warnings": [w.as_json() for w in report.warnings] + [
            {"severity": "warning", "code": "subnet-nearly-full", "sentence": u.warning, "node": "",
             "network": u.network, "container": ""} for u in uses.values() if u.warning],
    }
    if args.json:
        print(json.dumps(doc, indent=2))
    else:
        print(f"Cluster {doc['cluster']}")
        for e in engines:
            up = f"up {e['version']} (API {e['api_version']})"
            print(f"  engine {e['name'] or e['endpoint']}: {up if e['reachable'] else e['error']}")
        print(f"  nodes: {', '.join(n['hostname'] for n in nodes)}")
        print("  containers: " + ", ".join(f"{k} {v}" for k, v in doc["containers"].items()))
        print(f"  networks: {', '.join(n.display_name(qualify) for n in networks)}")
        for p in protected:
            print(f"  protected: {p['name']} ({p['state']}) by {p['rule']}")
        if consul.get("address"):
            print(f"  consul {consul['address']}: " + (consul.get("error") or f"leader {consul.get('leader') or 'none'}"))
        for w in report.warnings:
            print(f"  WARNING: {w.sentence}")
        for u in uses.values():
            if u.warning:
                print(f"  WARNING: {u.warning}")
    return 0 if all(e["reachable"] for e in engines) else 1
