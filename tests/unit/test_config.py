"""The config file: its shape, its paths, and a clear sentence for every mistake in it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from carina_tui.core import paths
from carina_tui.core.clusters import TLSFiles
from carina_tui.core.config import Config, load_config, parse_config
from carina_tui.core.errors import ConfigError
from carina_tui.core.models import ContainerInfo
from carina_tui.core.rules import DEFAULT_RULES, Rule, matching_rule

EXAMPLE = """
[clusters.prod]
endpoints = ["tcp://203.0.113.10:2376", "tcp://203.0.113.11:2376"]  # one per node
tls_ca = "~/certs/prod/ca.pem"
tls_cert = "~/certs/prod/cert.pem"
tls_key = "~/certs/prod/key.pem"
consul = "http://203.0.113.10:8500"
colour = "red"
read_only = true
"""


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    monkeypatch.delenv(paths.CONFIG_ENV, raising=False)
    return home


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def error_of(text: str, file: str = "/etc/carina/clusters.toml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, file)
    return str(info.value)


# --------------------------------------------------------------------------- paths


def test_paths_follow_xdg_and_the_app_name(home, tmp_path):
    assert paths.config_dir() == tmp_path / "xdg-config" / "carina-tui"
    assert paths.config_file() == tmp_path / "xdg-config" / "carina-tui" / "clusters.toml"
    assert paths.audit_log_path().name == "audit.log"
    assert paths.audit_log_path().is_relative_to(tmp_path / "xdg-state")
    assert "carina-tui" in paths.audit_log_path().parts


def test_default_config_dir_is_under_home_dot_config(home, monkeypatch):
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert paths.config_file() == home / ".config" / "carina-tui" / "clusters.toml"


def test_config_option_and_variable_override_the_file(home, tmp_path, monkeypatch):
    assert paths.config_file(tmp_path / "mine.toml") == tmp_path / "mine.toml"
    assert paths.config_file("~/x.toml") == home / "x.toml"
    monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "env.toml"))
    assert paths.config_file() == tmp_path / "env.toml"
    assert paths.config_file(tmp_path / "mine.toml") == tmp_path / "mine.toml"  # the option wins


# --------------------------------------------------------------------------- reading


def test_missing_default_file_is_an_empty_config(home):
    config = load_config()
    assert config.clusters == ()
    assert config.rules == DEFAULT_RULES
    assert config.read_only is False
    assert config.exists is False


def test_a_named_file_that_is_missing_is_an_error(home, tmp_path):
    with pytest.raises(ConfigError, match=r"nowhere\.toml does not exist"):
        load_config(tmp_path / "nowhere.toml")
    # A missing file at an explicit path may still be allowed by the caller.
    assert load_config(tmp_path / "nowhere.toml", must_exist=False).clusters == ()


def test_the_example_of_the_issue_reads_into_a_cluster_spec(home):
    write(paths.config_file(), EXAMPLE)
    config = load_config()
    assert config.exists and config.path == str(paths.config_file())
    (prod,) = config.clusters
    assert prod.name == "prod" and prod.source == "config"
    assert prod.endpoints == ("tcp://203.0.113.10:2376", "tcp://203.0.113.11:2376")
    assert prod.tls == TLSFiles(
        ca=str(home / "certs/prod/ca.pem"),
        cert=str(home / "certs/prod/cert.pem"),
        key=str(home / "certs/prod/key.pem"),
        verify=True,
    )
    assert prod.consul == "http://203.0.113.10:8500"
    assert prod.colour == "red"
    assert prod.read_only is True and prod.insecure is False
    assert len(prod.endpoints) == 2
    assert prod.origin == str(paths.config_file())
    assert config.cluster("prod") is prod and config.cluster("nope") is None
    assert config.read_only_for(prod) and not config.read_only_for(None)


def test_every_cluster_key(tmp_path):
    config = parse_config(
        """
        read_only = true
        [clusters.swarm]
        endpoints = "tcp://10.0.0.1:2376"
        tls_ca = "certs/ca.pem"
        tls_verify = false
        insecure = true
        discover_nodes = true
        node_port = 12376
        consul_token = "s3cret"
        [clusters.local]
        endpoints = ["unix:///var/run/docker.sock"]
        [clusters.system-ca]
        endpoints = ["tcp://docker.example.com:2376"]
        tls = true
        """,
        tmp_path / "c.toml",
    )
    swarm, local, system_ca = config.clusters
    assert config.read_only
    assert swarm.endpoints == ("tcp://10.0.0.1:2376",)
    assert swarm.tls == TLSFiles(ca=str(tmp_path / "certs/ca.pem"), verify=False)  # relative to the file
    assert swarm.insecure and swarm.discover_nodes and swarm.node_port == 12376
    assert swarm.consul_token == "s3cret"
    assert local.tls is None
    assert system_ca.tls == TLSFiles()  # TLS on, verified with the system's CAs


def test_rules_add_to_the_defaults_which_cannot_be_removed(tmp_path):
    config = parse_config(
        """
        [[protect]]
        name = "vault"
        [[protect]]
        name_pattern = "db-*"
        [[protect]]
        image = "example/agent"
        [[protect]]
        label = "com.example.keep = yes"
        [[protect]]
        name = "carina-svcd"   # a default, said again: no duplicate
        [clusters.prod]
        endpoints = ["tcp://10.0.0.1:2376"]
        tls_ca = "/ca.pem"
        protect = [{ name = "billing" }, { label = "tier=gold" }]
        """,
        tmp_path / "c.toml",
    )
    assert config.rules[: len(DEFAULT_RULES)] == DEFAULT_RULES
    assert config.rules[len(DEFAULT_RULES):] == (
        Rule("name", "vault", "config"),
        Rule("name_pattern", "db-*", "config"),
        Rule("image", "example/agent", "config"),
        Rule("label", "com.example.keep=yes", "config"),
    )
    prod = config.cluster("prod")
    assert prod.rules == (Rule("name", "billing", "cluster:prod"), Rule("label", "tier=gold", "cluster:prod"))
    every = config.rules_for(prod)
    assert every == config.rules + prod.rules

    billing = ContainerInfo(id="1", name="node-1/billing", state="exited", image="x")
    kept = ContainerInfo(id="2", name="k", state="exited", image="x", labels=(("com.example.keep", "yes"),))
    agent = ContainerInfo(id="3", name="carina-svcd", state="exited", image="busybox")
    assert matching_rule(billing, every).source == "cluster:prod"
    assert matching_rule(billing, config.rules_for(None)) is None  # only that cluster's rule
    assert matching_rule(kept, config.rules).source == "config"
    assert matching_rule(agent, config.rules).source == "default"


# --------------------------------------------------------------------------- mistakes


def test_toml_syntax_error_names_file_and_line():
    sentence = error_of('[clusters.x]\nendpoints = ["unix:///a"\nread_only = true\n')
    assert "/etc/carina/clusters.toml" in sentence
    assert "not valid TOML" in sentence
    assert "line 3" in sentence and '"read_only = true"' in sentence


def test_unknown_key_names_it_and_suggests_the_right_one():
    sentence = error_of('[clusters.prod]\nendpoint = ["tcp://10.0.0.1:2376"]\n')
    assert sentence == (
        'In the config file /etc/carina/clusters.toml, clusters.prod.endpoint is not a key carina-tui knows; '
        'did you mean "endpoints"?'
    )
    assert "colours" in error_of("colours = 1\n") and "did you mean" not in error_of("wibble = 1\n")


@pytest.mark.parametrize(
    ("text", "key", "words"),
    [
        ('[clusters.a]\nendpoints = ["unix:///s"]\nread_only = "yes"\n', "clusters.a.read_only", 'not "yes"'),
        ("[clusters.a]\nendpoints = 5\n", "clusters.a.endpoints", "must be a list"),
        ('[clusters.a]\nendpoints = ["unix:///s"]\nnode_port = "2376"\n', "clusters.a.node_port", "port number"),
        ('[clusters.a]\nendpoints = ["unix:///s"]\nnode_port = 70000\n', "clusters.a.node_port", "70000"),
        ('[clusters.a]\nendpoints = ["unix:///s"]\ntls_ca = 1\n', "clusters.a.tls_ca", "string"),
        ('[clusters.a]\nendpoints = ["unix:///s"]\ncolour = ""\n', "clusters.a.colour", "empty"),
        ('read_only = 1\n', "read_only", "true or false"),
        ("clusters = 3\n", "clusters", "[clusters.NAME]"),
        ("[clusters.a]\n", "clusters.a", "has no endpoints"),
        ("[clusters.a]\nendpoints = []\n", "clusters.a.endpoints", "is empty"),
    ],
)
def test_wrong_types_name_the_key(text, key, words):
    sentence = error_of(text)
    assert sentence.startswith(f"In the config file /etc/carina/clusters.toml, {key} ")
    assert words in sentence


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("tcp://203.0.113.10", "has no port"),
        ("http://203.0.113.10:2375", 'scheme "http://"'),
        ("203.0.113.10:2376", "has no scheme"),
        ("tcp://:2376", "names no host"),
        ("tcp://10.0.0.1:99999", "not a valid address"),
        ("unix://", "names no socket"),
        ("tcp://10.0.0.1:2376/v1", "has a path"),
    ],
)
def test_bad_endpoint_url_is_named_with_its_reason(url, words):
    sentence = error_of(f'[clusters.a]\nendpoints = ["unix:///ok", "{url}"]\n')
    assert f'clusters.a.endpoints[1] ("{url}")' in sentence
    assert words in sentence


def test_a_rule_with_two_kinds_or_none_is_refused():
    two = error_of('[[protect]]\nname = "a"\nimage = "b"\n')
    assert "protect[0] must have exactly one of name, name_pattern, image or label; it has name and image" in two
    per_cluster = error_of('[clusters.a]\nendpoints = ["unix:///s"]\nprotect = [{ name = "a" }, {}]\n')
    assert "clusters.a.protect[1]" in per_cluster and "it has none of them" in per_cluster
    assert "did you mean \"name\"" in error_of('[[protect]]\nnmae = "a"\n')


def test_a_label_rule_needs_key_and_value():
    assert 'write it as "key=value"' in error_of('[[protect]]\nlabel = "carina.protected"\n')
    assert 'write it as "key=value"' in error_of('[[protect]]\nlabel = "=true"\n')


def test_cert_without_key_and_contradicting_tls_are_refused():
    assert "tls_cert without tls_key" in error_of(
        '[clusters.a]\nendpoints = ["tcp://h:1"]\ntls_cert = "c.pem"\n'
    )
    assert "clusters.a.tls is false" in error_of(
        '[clusters.a]\nendpoints = ["tcp://h:1"]\ntls = false\ntls_ca = "ca.pem"\n'
    )


def test_bad_consul_address_and_duplicate_endpoint():
    assert 'clusters.a.consul ("203.0.113.10:8500")' in error_of(
        '[clusters.a]\nendpoints = ["unix:///s"]\nconsul = "203.0.113.10:8500"\n'
    )
    assert "repeats" in error_of('[clusters.a]\nendpoints = ["unix:///s", "unix:///s"]\n')


def test_unreadable_files_are_sentences_not_tracebacks(home, tmp_path):
    folder = tmp_path / "dir.toml"
    folder.mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        load_config(folder)
    binary = write(tmp_path / "bin.toml", "")
    binary.write_bytes(b"\xff\xfe[clusters]\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(binary)


def test_an_empty_file_is_a_valid_config(tmp_path):
    config = load_config(write(tmp_path / "empty.toml", ""))
    assert config == Config(path=str(tmp_path / "empty.toml"), exists=True)


def test_config_is_frozen(tmp_path):
    config = parse_config(EXAMPLE, tmp_path / "c.toml")
    with pytest.raises(AttributeError):
        config.read_only = True  # type: ignore[misc]
    assert hash(config) == hash(parse_config(EXAMPLE, tmp_path / "c.toml"))


def test_variable_named_file_must_exist(home, tmp_path, monkeypatch):
    monkeypatch.setenv(paths.CONFIG_ENV, str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match="gone.toml does not exist"):
        load_config()
    write(tmp_path / "gone.toml", EXAMPLE)
    assert load_config().cluster("prod") is not None
    assert os.environ[paths.CONFIG_ENV].endswith("gone.toml")


# --------------------------------------------------------------------------- rules as people write them


def test_a_name_rule_written_as_the_plan_prints_it_is_normalised(tmp_path):
    config = parse_config('[[protect]]\nname = "/consul-a"\n[[protect]]\nname = "node-1/consul-b"\n'
                          '[[protect]]\nname = "consul-a"\n', tmp_path / "c.toml")
    assert config.rules[len(DEFAULT_RULES):] == (Rule("name", "consul-a", "config"), Rule("name", "consul-b", "config"))
    stopped = ContainerInfo(id="1", name="node-2/consul-b", state="exited", image="x")
    assert matching_rule(stopped, config.rules).value == "consul-b"


@pytest.mark.parametrize("rule, words", [
    ('name = "/"', 'protect[0].name is "/", which names no container'),
    ('name = "consul a"', 'protect[0].name is "consul a", which is not a container name Docker allows'),
    ('name_pattern = "consul *"', "which is not a container name pattern"),
    ('label = "carina.protected"', 'has no "="; write it as "key=value"'),
    ('label = " = true"', 'has no key before "="'),
])
def test_a_rule_that_could_never_match_is_refused_with_a_sentence(rule, words):
    sentence = error_of(f"[[protect]]\n{rule}\n")
    assert sentence.startswith("In the config file /etc/carina/clusters.toml, protect[0].")
    assert words in sentence and sentence.endswith(".")


def test_a_label_rule_and_a_label_compare_without_spaces_and_the_value_in_any_case(tmp_path):
    config = parse_config('[[protect]]\nlabel = " keep = Yes "\n', tmp_path / "c.toml")
    assert config.rules[-1] == Rule("label", "keep=Yes", "config")
    for labels in ((("keep", "yes"),), (("keep", " YES "),), (("carina.protected", " true"),)):
        assert matching_rule(ContainerInfo(id="1", name="x", state="exited", image="x", labels=labels), config.rules)


def test_twenty_thousand_rules_load_in_linear_time(tmp_path):
    """It took 93 s (a list searched for every rule added); the bound only catches a return to that."""
    import time

    from carina_tui.services.targets import session_for

    half = 10_000
    text = "".join(f'[[protect]]\nname = "keep-{i}"\n' for i in range(half))
    text += '[clusters.big]\nendpoints = ["unix:///nonexistent/docker.sock"]\n'
    text += "".join(f'[[clusters.big.protect]]\nname_pattern = "group-{i}-*"\n' for i in range(half))
    file = write(tmp_path / "big.toml", text)
    started = time.monotonic()
    config = load_config(file)
    session = session_for(config.cluster("big"), config)
    assert time.monotonic() - started < 10
    assert len(session.guard.rules) == len(DEFAULT_RULES) + 2 * half
    session.close()


# --------------------------------------------------------------------------- a file that is there but cannot be read


def test_a_dangling_link_is_an_error_not_the_default_rules(home, tmp_path):
    paths.config_dir().mkdir(parents=True)
    paths.config_file().symlink_to(tmp_path / "dotfiles" / "clusters.toml")
    with pytest.raises(ConfigError) as info:
        load_config()
    assert str(info.value) == (
        f"The config file {paths.config_file()} is a symbolic link to {tmp_path / 'dotfiles' / 'clusters.toml'}, "
        "which does not exist: fix the link or remove it."
    )


def test_a_config_folder_that_is_a_dangling_link_is_an_error(home, tmp_path):
    paths.config_dir().parent.mkdir(parents=True)
    paths.config_dir().symlink_to(tmp_path / "unmounted")
    with pytest.raises(ConfigError, match=r"its folder .*carina-tui is a symbolic link to .*unmounted"):
        load_config()


def test_a_fifo_is_refused_without_being_opened(home, tmp_path):
    import threading

    fifo = tmp_path / "clusters.toml"
    os.mkfifo(fifo)
    result: list = []

    def load() -> None:
        try:
            load_config(fifo)
        except ConfigError as err:
            result.append(str(err))

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # blocked in open(): let it go before failing
        with open(fifo, "wb"):
            pass
        pytest.fail("load_config opened the FIFO and waited for a writer")
    assert result == [f"The config file {fifo} is a named pipe (FIFO), not a regular file; carina-tui reads its "
                      "config only from a regular file: point --config at one, or remove it."]


def test_a_link_to_a_device_or_a_socket_is_refused(home, tmp_path):
    import socket

    device = tmp_path / "dev.toml"
    device.symlink_to("/dev/zero")
    with pytest.raises(ConfigError, match="is a character device, not a regular file"):
        load_config(device)
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "s.toml"))
        with pytest.raises(ConfigError, match="is a socket, not a regular file"):
            load_config(tmp_path / "s.toml")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a file whatever its mode")
def test_an_unreadable_file_is_an_error(home):
    file = write(paths.config_file(), EXAMPLE)
    file.chmod(0)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config()


@pytest.mark.parametrize("text, words", [
    ("[clusters.a]\nendpoints = [\"unix:///s\"]\nnode_port = " + "9" * 5000 + "\n", "has a number too long to read"),
    ("a = " + "[" * 3000 + "1" + "]" * 3000 + "\n", "nested too deep"),
    ('[clusters.a]\nendpoints = ["tcp://h:' + "9" * 5000 + '"]\n', "its port must be a number between 1 and 65535"),
    ("[clusters.a]\nendpoints = [\"unix:///s\"]\nnode_port = " + "9" * 4000 + "\n", "which is not a port number"),
])
def test_huge_values_are_a_short_sentence(text, words):
    sentence = error_of(text)
    assert words in sentence and len(sentence) < 400


# --------------------------------------------------------------------------- an engine named another way


@pytest.mark.parametrize("one, other", [
    ("tcp://10.0.0.1:2376", "tcp://10.0.0.1:2376/"),
    ("tcp://Docker.Example.COM:2376", "TCP://docker.example.com.:2376"),
    ("tcp://127.0.0.1:2375", "tcp://localhost:2375"),
    ("tcp://[::1]:2375", "tcp://127.0.0.1:2375"),
    ("tcp://[2001:db8::0001]:2376", "tcp://[2001:DB8::1]:2376"),
    ("ssh://me@host", "ssh://root@host:22"),
    ("unix:///var/run/docker.sock", "unix:///var/run//docker.sock/"),
    ("unix:///var/run/docker.sock", " unix:///var/./run/docker.sock "),
])
def test_one_engine_written_two_ways_has_one_key(one, other):
    from carina_tui.core.endpoints import endpoint_key

    assert endpoint_key(one) == endpoint_key(other)


def test_a_socket_reached_through_a_linked_folder_is_the_same_engine(tmp_path):
    from carina_tui.core.endpoints import endpoint_key

    (tmp_path / "run").mkdir()
    (tmp_path / "var").symlink_to(tmp_path / "run")
    assert endpoint_key(f"unix://{tmp_path}/var/docker.sock") == endpoint_key(f"unix://{tmp_path}/run/docker.sock")
    assert endpoint_key("tcp://10.0.0.1:2376") != endpoint_key("tcp://10.0.0.1:2377")
    assert endpoint_key("tcp://10.0.0.1:2376") != endpoint_key("tcp://10.0.0.2:2376")


CLAIMED = """
[clusters.frozen]
endpoints = ["tcp://10.0.0.1:2376", "tcp://10.0.0.2:2376"]
tls_ca = "/ca.pem"
tls_cert = "/cert.pem"
tls_key = "/key.pem"
read_only = true
protect = [{ name_pattern = "keep-*" }]
"""


@pytest.mark.parametrize("source", ["cli", "env", "context", "carina", "default"])
def test_an_engine_of_a_configured_cluster_keeps_its_rules_read_only_and_tls(tmp_path, source):
    from carina_tui.core.clusters import ClusterSpec

    config = parse_config(CLAIMED, tmp_path / "c.toml")
    frozen = config.cluster("frozen")
    named = ClusterSpec(name="x", source=source, endpoints=("tcp://10.0.0.2:2376/",))
    claimed = config.claim(named)
    assert claimed.read_only and config.read_only_for(claimed)
    assert claimed.tls == frozen.tls
    assert Rule("name_pattern", "keep-*", "cluster:frozen") in config.rules_for(claimed)
    assert (claimed.name, claimed.source, claimed.endpoints) == (named.name, named.source, named.endpoints)
    elsewhere = ClusterSpec(name="y", source=source, endpoints=("tcp://10.0.0.3:2376",))
    assert config.claim(elsewhere) is elsewhere


def test_a_cluster_entry_sharing_an_engine_gets_the_other_entrys_rules_but_keeps_its_tls(tmp_path):
    config = parse_config(CLAIMED + '[clusters.open]\nendpoints = ["tcp://10.0.0.1:2376"]\ninsecure = true\n',
                          tmp_path / "c.toml")
    claimed = config.claim(config.cluster("open"))
    assert claimed.read_only and claimed.tls is None and claimed.insecure
    assert config.claim(config.cluster("frozen")) == config.cluster("frozen")


def test_the_same_node_twice_in_one_entry_is_refused_however_written():
    assert "repeats" in error_of('[clusters.a]\nendpoints = ["unix:///s", "unix:///s/"]\n')
