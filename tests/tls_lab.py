"""A real dockerd with --tlsverify in a network namespace of its own, for TLS tests.

It listens on 127.0.0.1:2376 inside its namespace (TLS, client certificates
required) and on a Unix socket. Relays make it reachable from here: on
127.0.0.1 (a name its certificate lists), on 127.0.0.2 (one it does not), and a
plain-HTTP TCP port onto its Unix socket. ``lab`` is a module-scoped fixture.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import tlsutil
from carina_tui.core.clusters import TLSFiles
from carina_tui.sandbox import engine as eng
from tcp_relay import TcpRelay

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"


class Lab:
    """What the module's engine test needs: CAs, certificates, the engine and its relays."""

    def __init__(self, base: Path) -> None:
        self.base = base
        now = datetime.now(timezone.utc)
        self.ca = tlsutil.CA(base / "ca", "Cluster CA")
        self.server = self.ca.issue(base / "server", "engine", server_names=("IP:127.0.0.1", "DNS:localhost"))
        self.client = self.ca.issue(base / "client", "client", client=True)
        self.other_ca = tlsutil.CA(base / "other-ca", "Another cluster's CA")
        self.other_client = self.other_ca.issue(base / "other-client", "client", client=True)
        self.expired_client = self.ca.issue(base / "expired", "client", client=True,
                                            start=now - timedelta(days=10), end=now - timedelta(days=1))
        self.engine: eng.Engine | None = None
        self.relays: list[TcpRelay] = []

    def start(self) -> None:
        self.engine = eng.start_engine(
            f"tls{os.getpid() % 100000}",
            Path(f"/tmp/carina-tls-{os.getpid()}"),
            extra_hosts=["tcp://127.0.0.1:2376"],
            tls=eng.EngineTLS(str(self.ca.cert), str(self.server.cert), str(self.server.key)),
        )
        self.tls_relay = self._relay(("127.0.0.1", 2376), self.engine.netns_path)
        self.wrong_name_relay = self._relay(("127.0.0.1", 2376), self.engine.netns_path, listen_host="127.0.0.2")
        self.plain_relay = self._relay(str(self.engine.socket))

    def _relay(self, target, netns=None, listen_host="127.0.0.1") -> TcpRelay:
        relay = TcpRelay(target, netns=netns, listen_host=listen_host)
        self.relays.append(relay)
        return relay

    def stop(self) -> list[str]:
        for relay in self.relays:
            relay.close()
        if self.engine is None:
            return []
        eng.stop_engine(self.engine)
        return eng.leftovers(self.engine)

    @property
    def files(self) -> TLSFiles:
        return TLSFiles(ca=str(self.ca.cert), cert=str(self.client.cert), key=str(self.client.key))

    def engine_id(self) -> str:
        return eng.docker(self.engine.url, "info", "--format", "{{.ID}}").strip()


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("tls-lab"))
    try:
        lab.start()
    except Exception as err:
        lab.stop()
        pytest.fail(f"The TLS test engine could not be started: {err}", pytrace=False)
    yield lab
    left = lab.stop()
    assert not left, f"the TLS test engine left things behind: {left}"
