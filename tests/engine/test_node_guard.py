"""Drain and activate on an engine that is no swarm manager: a sentence, an audit line, nothing
changed; a bad availability never reaches an engine. (The swarm itself: tests/cluster/test_swarm_nodes.py.)"""

from __future__ import annotations

import pytest

from carina_tui.core.audit import AuditLog
from carina_tui.core.errors import EngineUnreachable, ValidationError
from carina_tui.core.models import NodeInfo
from carina_tui.gateways.docker_gateway import DockerGateway
from carina_tui.guard import Guard

NODE = NodeInfo(id="nodeid0123456789", hostname="far-away", role="worker", availability="active", status="ready")


def test_drain_without_a_manager_says_so_and_is_audited(docker_host, tmp_path):
    guard = Guard({docker_host: DockerGateway(docker_host)}, audit=AuditLog(tmp_path / "audit.log"))
    with pytest.raises(EngineUnreachable) as err:
        guard.set_availability(NODE, "drain")
    assert str(err.value).startswith("No manager of the swarm answers, so node far-away cannot be changed")
    (line,) = guard.audit.read()
    assert (line["action"], line["target_name"], line["outcome"]) == ("node.drain", "far-away", "failed")


def test_an_unknown_availability_is_a_sentence_before_any_engine(tmp_path):
    guard = Guard({}, audit=AuditLog(tmp_path / "audit.log"))
    with pytest.raises(ValidationError) as err:
        guard.set_availability(NODE, "asleep")
    assert str(err.value) == "A node's availability is one of active, pause, drain, not 'asleep'."
    assert not (tmp_path / "audit.log").exists()
