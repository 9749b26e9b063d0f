"""What Consul itself reports, as a scrollable screen from the System pane (``K``)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from carina_tui.core.consul_models import ConsulSnapshot
from carina_tui.ui.screens import TextScreen

STATUS_STYLE = {"alive": "green", "passing": "green", "warning": "yellow", "leaving": "yellow",
                "failed": "bold red", "critical": "bold red", "left": "dim"}


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", title_style="bold", expand=True, box=None,
                  header_style="bold", pad_edge=False)
    for col in columns:
        table.add_column(col)
    return table


def _or_none(table: Table, rows: int, why: str):
    """The table, or (when it has no rows) its title and a line saying there is nothing and why:
    headers over nothing read as a view that failed to load."""
    if rows:
        return table
    return Group(Text(str(table.title), style="bold"), Text(f"none: {why}", style="dim"))


def consul_screen(report) -> TextScreen:
    if report is None:
        return TextScreen("Consul", Text("Consul has not been asked yet; press r to refresh.", style="dim"))
    consul = report.consul
    if consul is None:
        return TextScreen("Consul", Text(
            "No Consul address is known for this cluster: set consul = \"http://host:8500\" in its "
            "clusters.toml entry, or publish the agent's port 8500.", style="dim"))
    if not isinstance(consul, ConsulSnapshot):
        return TextScreen(f"Consul at {report.address}", Text(str(consul), style="bold red"))
    parts: list = []
    head = Text()
    head.append(f"agent {consul.agent.node_name} · Consul {consul.agent.version} · datacenter "
                f"{consul.agent.datacenter} · {'server' if consul.agent.server else 'client'}\n")
    head.append(f"leader {consul.leader or 'NONE'} · peers {', '.join(consul.peers) or 'none'}"
                f"{' · read stale (no leader)' if consul.stale else ''}\n")
    for w in report.warnings:
        head.append(f"⚠ {w.sentence}\n", style="bold red" if w.severity == "error" else "yellow")
    parts.append(head)
    members = _table("Members", "Name", "Address", "Status", "Role")
    for m in consul.members:
        members.add_row(m.name, f"{m.addr}:{m.port}", Text(m.status, style=STATUS_STYLE.get(m.status, "")), m.role)
    parts.append(_or_none(members, len(consul.members), "the agent knows no members (it has not joined a cluster)"))
    checks = _table("Health checks", "Node", "Check", "Status", "Output")
    for c in consul.checks:
        checks.add_row(c.node, c.name, Text(c.status, style=STATUS_STYLE.get(c.status, "")), c.output.strip()[:80])
    parts.append(_or_none(checks, len(consul.checks), "no health checks are registered with this agent"))
    kv = report.kv
    if kv is not None:
        nets = _table(f"Networks in the KV store ({consul.kv_prefix})", "Name", "Id", "Driver", "Scope", "Endpoints")
        for n in kv.networks:
            nets.add_row(n.name, n.short_id, n.driver, n.scope, "" if n.endpoint_count is None else str(n.endpoint_count))
        nokeys = f"Consul's KV has no libnetwork keys under {consul.kv_prefix}"
        parts.append(_or_none(nets, len(kv.networks), f"{nokeys} for networks (no overlay network keeps its state here)"))
        subnets = _table("Subnets", "Network", "Subnet", "Gateway", "VNI", "Used")
        for s in kv.subnets:
            used = f"{s.used}/{s.size}" if s.used is not None and s.size else ""
            subnets.add_row(s.network_name or s.network_id[:12], s.subnet, s.gateway, "" if s.vni is None else str(s.vni), used)
        parts.append(_or_none(subnets, len(kv.subnets), f"{nokeys} for address pools"))
        eps = _table("Endpoints", "Name", "Network", "Address", "Node")
        for e in kv.endpoints:
            eps.add_row(e.name, e.network_name or e.network_id[:12], e.address, e.locator)
        parts.append(_or_none(eps, len(kv.endpoints), f"{nokeys} for endpoints (no container is attached to a "
                                                        "network kept here)"))
        keys = _table("Keys", "Key", "Index", "Kind", "Value")
        for r in kv.records:
            keys.add_row(r.key, str(r.modify_index), r.kind, r.summary[:60])
        parts.append(_or_none(keys, len(kv.records), f"{nokeys}"))
    for query, sentence in consul.problems:
        parts.append(Text(f"{query}: {sentence}", style="yellow"))
    return TextScreen(f"Consul at {report.address}", Group(*parts))
