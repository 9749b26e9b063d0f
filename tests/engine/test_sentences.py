"""Sentences name what the user knows: a container or network by its name, never a bare id."""

from __future__ import annotations

import pytest

from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import CarinaError
from carina_tui.session import Session


def test_an_engine_refusal_names_the_container_and_the_network(docker_host, scratch):
    net = scratch.network("named")
    on_host = scratch.run("hostnet", network="host")
    session = Session(ClusterSpec("test", "cli", (docker_host,)))
    try:
        snap = session.snapshot()
        container = next(c for c in snap.containers if c.name == on_host)
        network = next(n for n in snap.networks if n.name == net)
        with pytest.raises(CarinaError) as caught:
            session.guard.connect(network, container)
        sentence = str(caught.value)
        assert f"connect {on_host} to network {net}" in sentence, sentence
        assert container.id[:12] not in sentence and network.id[:12] not in sentence
    finally:
        session.close()


def test_a_container_never_seen_is_named_by_its_short_id(docker_host):
    session = Session(ClusterSpec("test", "cli", (docker_host,)))
    try:
        with pytest.raises(CarinaError) as caught:
            session.gateways[docker_host].inspect_container("0123456789abcdef0123")
        assert "0123456789ab" in str(caught.value)
    finally:
        session.close()
