"""What a cluster is, before anyone connects to it: where it came from and how to reach it."""

from __future__ import annotations

from dataclasses import dataclass

from carina_tui.core.rules import Rule

# Where a cluster entry came from, in the order the console lists them.
SOURCES = ("config", "carina", "context", "env", "default", "cli")


@dataclass(frozen=True, slots=True)
class TLSFiles:
    ca: str = ""
    cert: str = ""
    key: str = ""
    verify: bool = True


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    name: str
    source: str
    endpoints: tuple[str, ...]
    tls: TLSFiles | None = None
    insecure: bool = False
    colour: str = ""
    read_only: bool = False
    rules: tuple[Rule, ...] = ()
    consul: str = ""
    consul_token: str = ""
    discover_nodes: bool = False
    node_port: int = 2376
    origin: str = ""  # file or context the entry was read from, for the user
    problem: str = ""  # why this entry cannot be used (a bad bundle, say), as a sentence; "" when fine

