"""From command-line options to a session: which cluster, which rules, read-only or not."""

from __future__ import annotations

import argparse

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.config import Config, load_config
from carina_tui.core.errors import ConfigError
from carina_tui.session import Session


def resolve(args: argparse.Namespace, config: Config) -> ClusterSpec:
    """``--host`` wins, then ``--cluster``, then what the docker CLI would use."""
    from carina_tui.gateways import discovery

    host = getattr(args, "host", None)
    name = getattr(args, "cluster", None)
    if host and name:
        raise ConfigError("Give either --host or --cluster, not both.")
    if host:
        return discovery.host_target(host)
    if name:
        return discovery.find(name, config)
    return discovery.default_target()


def open_session(args: argparse.Namespace) -> Session:
    config = load_config(getattr(args, "config", None))
    spec = resolve(args, config)
    if spec.problem:
        raise ConfigError(spec.problem)
    from carina_tui.gateways import tls

    tls.check_endpoint(spec)
    return Session(
        spec,
        rules=config.rules_for(spec),
        read_only=bool(getattr(args, "read_only", False)) or config.read_only_for(spec),
    )
