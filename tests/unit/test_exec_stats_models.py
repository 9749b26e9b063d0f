"""``[exec]`` in the config (the command a shell runs, per image pattern) and the stats reading
as the gateway converts it (issue 16); no engine."""

from __future__ import annotations

import pytest

from carina_tui.core.config import parse_config
from carina_tui.core.errors import ConfigError
from carina_tui.core.exec_models import StatsSample, command_for, per_second, short_bytes
from carina_tui.core.models import ContainerInfo
from carina_tui.gateways.exec_gateway import stats_sample

EXEC = """
theme = "nord"

[exec]
"postgres" = "psql -U 'the admin'"
"carina/consul*" = ["consul", "members"]
"*:debug" = "/bin/ash"
"""


def box(image: str, *refs: str) -> ContainerInfo:
    return ContainerInfo(id="c1", name="web", state="running", image=image, image_refs=refs)


def test_exec_lines_give_a_command_per_image_pattern():
    config = parse_config(EXEC, "/etc/carina/clusters.toml")
    first, consul, debug = config.exec_commands
    assert first.command == ("psql", "-U", "the admin")
    assert first.where == "the config file /etc/carina/clusters.toml, line 5"
    assert consul.command == ("consul", "members")
    # a repository matches whatever its tag; a glob matches the full name or the repository
    assert command_for(box("postgres:16"), config.exec_commands) is first
    assert command_for(box("sha256:abc", "carina/consul:0.5"), config.exec_commands) is consul
    assert command_for(box("web:debug"), config.exec_commands) is debug
    assert command_for(box("busybox:latest"), config.exec_commands) is None
    assert parse_config("").exec_commands == ()


@pytest.mark.parametrize("body, says", [
    ('"postgres" = "psql -U \'admin"', 'line 3, exec "postgres" = "psql -U \'admin" cannot be read as a command'),
    ('"postgres" = 5', 'line 3, exec "postgres" must be a command in quotes'),
    ('"postgres" = ["psql", 5]', 'exec "postgres" must be a command in quotes'),
    ('"postgres" = "  "', 'line 3, exec "postgres" gives no command'),
    ('"" = "sh"', 'has no image pattern'),
])
def test_a_bad_exec_line_is_a_sentence_naming_its_line(body, says):
    with pytest.raises(ConfigError) as err:
        parse_config(f"\n[exec]\n{body}\n", "/etc/carina/clusters.toml")
    assert says in str(err.value)
    assert "/etc/carina/clusters.toml" in str(err.value)


def test_exec_must_be_a_table():
    with pytest.raises(ConfigError) as err:
        parse_config('exec = "sh"\n')
    assert "must be a table written as [exec]" in str(err.value)


def reading(total, before_total, system, before_system, **extra) -> dict:
    return {
        "read": "2026-12-02T18:33:54.250000000Z",
        "cpu_stats": {"cpu_usage": {"total_usage": total}, "system_cpu_usage": system, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": before_total}, "system_cpu_usage": before_system},
        **extra,
    }


def test_a_cgroup_v2_reading_as_docker_stats_reckons_it():
    sample = stats_sample(reading(
        1_500, 1_000, 20_000, 10_000,
        memory_stats={"usage": 10_000, "limit": 50_000, "stats": {"inactive_file": 4_000}},
        networks={"eth0": {"rx_bytes": 100, "tx_bytes": 7}, "eth1": {"rx_bytes": 20, "tx_bytes": 3}},
        blkio_stats={"io_service_bytes_recursive": [{"op": "read", "value": 9}, {"op": "write", "value": 4},
                                                    {"op": "read", "value": 1}]},
    ))
    assert sample.cpu_percent == pytest.approx(10.0)  # 500 of 10,000 on 2 cores
    assert (sample.mem_usage, sample.mem_limit) == (6_000, 50_000)  # the page cache left out
    assert (sample.net_rx, sample.net_tx, sample.blk_read, sample.blk_write) == (120, 10, 10, 4)
    assert sample.at % 60 == pytest.approx(54.25)


def test_a_cgroup_v1_first_reading_has_no_cpu_yet():
    sample = stats_sample(reading(
        1_500, 0, 20_000, 0,
        memory_stats={"usage": 10_000, "limit": 50_000, "stats": {"total_inactive_file": 1_000, "cache": 3_000}},
        blkio_stats={"io_service_bytes_recursive": [{"op": "Read", "value": 5}, {"op": "Write", "value": 6}]},
    ))
    assert sample.cpu_percent is None
    assert sample.mem_usage == 9_000
    assert (sample.blk_read, sample.blk_write, sample.net_rx) == (5, 6, 0)


def test_rates_between_two_readings():
    before = StatsSample(10.0, 1.0, 0, 0, net_rx=1_000, net_tx=0, blk_read=0, blk_write=0)
    after = StatsSample(12.0, 1.0, 0, 0, net_rx=5_000, net_tx=0, blk_read=0, blk_write=0)
    assert per_second(before, after, "net_rx") == 2_000
    assert per_second(None, after, "net_rx") == 0.0
    assert per_second(after, before, "net_rx") == 0.0  # not forward in time: no rate
    assert (short_bytes(312), short_bytes(1536), short_bytes(3 * 1024 ** 3)) == ("312B", "1.5K", "3.0G")
