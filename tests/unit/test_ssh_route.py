"""``ssh.resolve``: where ``ssh://alias`` leads once ~/.ssh/config is applied, as ssh decides it."""

from __future__ import annotations

import getpass

import pytest

from carina_tui.core.errors import SSHProblem
from carina_tui.gateways import ssh

CONFIG = """\
Host prod
  HostName 203.0.113.7
  Port 2222
  User deploy
  IdentityFile ~/.ssh/prod_key
  IdentityFile ~/.ssh/other_key
  ProxyJump bastion

Host bastion
  HostName 198.51.100.1
  ProxyJump none

Host broken
  Port twenty
"""


@pytest.fixture
def home(isolated_environment):
    (isolated_environment / ".ssh").mkdir()
    (isolated_environment / ".ssh" / "config").write_text(CONFIG)
    return isolated_environment


def test_the_alias_gives_host_port_user_keys_and_jump(home):
    route = ssh.resolve("ssh://prod")
    assert (route.host, route.port, route.user) == ("203.0.113.7", 2222, "deploy")
    assert route.keys == (str(home / ".ssh/prod_key"), str(home / ".ssh/other_key"))
    assert route.proxy_jump == "bastion" and route.proxy_command == ""
    assert route.known_hosts[0] == str(home / ".ssh/known_hosts")
    assert str(route) == "prod (deploy@203.0.113.7:2222 from ~/.ssh/config)"
    assert route.host_key_name == "[203.0.113.7]:2222"


def test_the_urls_user_and_port_win_over_the_config(home):
    route = ssh.resolve("ssh://ops@prod:2200")
    assert (route.host, route.port, route.user) == ("203.0.113.7", 2200, "ops")


def test_no_entry_means_ssh_defaults(home):
    route = ssh.resolve("ssh://198.51.100.9")
    assert (route.host, route.port, route.user, route.keys) == ("198.51.100.9", 22, getpass.getuser(), ())
    assert str(route) == f"{getpass.getuser()}@198.51.100.9:22" and route.host_key_name == "198.51.100.9"
    assert ssh.resolve("ssh://bastion").proxy_jump == ""


def test_a_port_that_is_no_number_is_a_sentence(home):
    with pytest.raises(SSHProblem, match='gives broken the port "twenty", which is not a number'):
        ssh.resolve("ssh://broken")


def test_no_config_file_at_all(isolated_environment):
    assert ssh.resolve("ssh://prod").port == 22


def test_the_clusters_pane_says_ssh_for_engines_reached_over_ssh():
    from carina_tui.core.endpoints import protection

    assert protection(["ssh://prod", "SSH://root@10.0.0.2:2222"], tls=False) == "ssh"
    assert protection(["ssh://prod", "tcp://10.0.0.3:2376"], tls=True) == "on"
    assert protection(["tcp://10.0.0.3:2375"], tls=False) == "off"
    assert protection([], tls=False) == "off"
