"""The command line: help, version, and a plain sentence when no engine answers."""

from __future__ import annotations

from harness import carina


def test_version_and_help():
    from carina_tui import __version__

    out = carina("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"carina-tui {__version__}"
    out = carina("--help")
    assert out.returncode == 0
    for word in ("--host", "--read-only", "--cluster", "cleanup", "clusters", "status"):
        assert word in out.stdout


def test_no_engine_is_one_sentence_and_exit_1(tmp_path):
    dead = f"unix://{tmp_path}/none.sock"
    out = carina("--host", dead)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f"carina-tui: No Docker engine answers at {dead}; start dockerd there, or choose another "
        "engine with --host, DOCKER_HOST or a Docker context."
    )
    assert "Traceback" not in out.stderr


def test_docker_host_is_used_like_the_docker_cli(tmp_path):
    dead = f"unix://{tmp_path}/env.sock"
    out = carina(env={"DOCKER_HOST": dead})
    assert out.returncode == 1 and dead in out.stderr


def test_bad_usage_exits_2():
    out = carina("--no-such-option")
    assert out.returncode == 2
    assert out.stderr == "carina-tui: Unrecognized arguments: --no-such-option; see `carina-tui --help`.\n"


def test_clusters_json_lists_every_cluster_with_reachability(docker_host, tmp_path):
    import json

    config = tmp_path / "clusters.toml"
    config.write_text(f'[clusters.here]\nendpoints = ["{docker_host}"]\n\n'
                      f'[clusters.gone]\nendpoints = ["unix://{tmp_path}/gone.sock"]\n')
    out = carina("clusters", "--config", str(config), "--json")
    assert out.returncode == 0, out.stderr
    found = {c["name"]: c for c in json.loads(out.stdout)}
    assert {"here", "gone", "default"} <= set(found)
    for entry in found.values():
        assert {"name", "source", "endpoints", "reachable", "error"} <= set(entry)
    assert found["here"]["reachable"] is True and found["here"]["source"] == "config"
    assert found["here"]["endpoints"] == [docker_host] and found["here"]["error"] == ""
    assert found["gone"]["reachable"] is False and "No Docker engine answers" in found["gone"]["error"]
