"""From command-line options to a session: which cluster, which rules, read-only or not."""

from __future__ import annotations

import argparse

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.config import Config, load_config
from carina_tui.core.endpoints import check_endpoint
from carina_tui.core.errors import ConfigError
from carina_tui.services.session import Session


def resolve(args: argparse.Namespace, config: Config) -> ClusterSpec:
    """``--host`` wins, then ``--cluster``, then what the docker CLI would use."""
    from carina_tui.gateways import discovery

    host = getattr(args, "host", None)
    name = getattr(args, "cluster", None)
    if host:
        return discovery.host_target(host)
    if name:
        return discovery.find(name, config)
    return discovery.default_target()


def session_for(spec: ClusterSpec, config: Config, *, read_only: bool = False) -> Session:
    """A session on ``spec`` with the rules, read-only setting and TLS the config gives it,
    also when ``spec`` names a configured cluster's engine another way (``Config.claim``)."""
    if spec.problem:
        raise ConfigError(spec.problem)
    spec = config.claim(spec)
    check_endpoint(spec)
    return Session(spec, rules=config.rules_for(spec), read_only=read_only or config.read_only_for(spec))


def open_session(args: argparse.Namespace) -> tuple[Session, Config]:
    config = load_config(getattr(args, "config", None))
    spec = resolve(args, config)
    return session_for(spec, config, read_only=bool(getattr(args, "read_only", False))), config


def all_clusters(config: Config, current: ClusterSpec) -> list[ClusterSpec]:
    """Every cluster the user has, the one in use among them (added when it came from --host)."""
    from carina_tui.gateways import discovery

    found = discovery.discover(config)
    if not any(s.name == current.name and s.endpoints == current.endpoints for s in found):
        found.insert(0, current)
    return found


def probe(spec: ClusterSpec, config: Config, *, timeout: int = 5):
    """What each engine of ``spec`` says now (``EngineState``s), with a short timeout, for
    listing clusters; raises ``CarinaError`` when the entry itself cannot be used."""
    session = session_for(spec, config)
    for gw in session.gateways.values():
        gw.timeout = timeout
    try:
        return session.engine_states()
    finally:
        session.close()
