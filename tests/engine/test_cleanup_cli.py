"""``carina-tui cleanup`` headless, on the real engine: the JSON report, protected containers kept
and audited, dry run, asking (and refusing to guess without a terminal), --until, --label,
read-only from the option and from the config, rules from the config, bad input as a sentence."""

from __future__ import annotations

import io
import json
import subprocess
import sys

import pytest

import harness
from harness import exists, write_config
from carina_tui.cli import build_parser, main
from carina_tui.commands import cleanup_command as command
from carina_tui.core.audit import AuditLog
from carina_tui.core.paths import audit_log_path

KEYS = {"planned", "protected", "removed", "skipped", "failed"}


class Terminal(io.StringIO):
    """What a person types at the prompt."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def batch(scratch, test_engine):
    """Two plain exited containers and two protected ones, all with a label only this test uses."""
    tag = {"carina.cleanup": scratch.tag}
    plain = [scratch.exited("job1", labels=tag), scratch.exited("job2", code=3, labels=tag)]
    keeper = scratch.exited("keeper", labels={**tag, "carina.protected": "true"})
    agent = scratch.name("agent")
    scratch.containers.append(agent)
    test_engine.docker("create", "--name", agent, "--label", harness.TEST_LABEL, "--label",
                       f"carina.cleanup={scratch.tag}", harness.CONSUL_IMAGE, "true")
    return {"tag": scratch.tag, "plain": plain, "keeper": keeper, "agent": agent}


def cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def names(items: list[dict]) -> list[str]:
    return sorted(i["name"] for i in items)


def test_json_cleanup_removes_the_plan_and_keeps_the_protected(docker_host, test_engine, batch, capsys):
    code, out, err = cli(capsys, "cleanup", "--host", docker_host, "--label", f"carina.cleanup={batch['tag']}",
                         "--yes", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert KEYS <= set(report)
    assert names(report["planned"]) == names(report["removed"]) == sorted(batch["plain"])
    assert {p["name"]: p["rule"] for p in report["protected"]} == {
        batch["keeper"]: 'label "carina.protected=true" (default)',
        batch["agent"]: 'image repository "carina/consul" (default)',
    }
    assert report["skipped"] == [] and report["failed"] == []
    assert all(item["id"] and item["name"] for key in KEYS for item in report[key])
    assert not any(exists(test_engine, n) for n in batch["plain"])
    assert exists(test_engine, batch["keeper"]) and exists(test_engine, batch["agent"])
    # the audit log names containers as Carina's docker ps did: node/name
    lines = {(line["target_name"].rsplit("/", 1)[-1], line["action"], line["outcome"], line.get("rule", ""))
             for line in AuditLog(audit_log_path()).read()}
    assert (batch["keeper"], "container.remove", "refused", 'label "carina.protected=true" (default)') in lines
    assert (batch["agent"], "container.remove", "refused", 'image repository "carina/consul" (default)') in lines
    assert {(n, "container.remove", "done", "") for n in batch["plain"]} <= lines


def test_dry_run_removes_nothing_and_prints_the_plan(docker_host, test_engine, batch, capsys):
    code, out, err = cli(capsys, "cleanup", "--host", docker_host, "--label", f"carina.cleanup={batch['tag']}",
                         "--dry-run")
    assert code == 0, err
    assert "To remove (2):" in out and "Protected and kept (2):" in out
    assert 'label "carina.protected=true" (default)' in out
    assert all(exists(test_engine, n) for n in batch["plain"])
    assert not audit_log_path().exists()


def test_without_yes_and_without_a_terminal_it_refuses_to_guess(docker_host, test_engine, batch, capsys):
    code, out, err = cli(capsys, "cleanup", "--host", docker_host, "--label", f"carina.cleanup={batch['tag']}")
    assert code == 2
    assert "there is no terminal to ask on" in err and "--yes" in err and "Traceback" not in err
    assert all(exists(test_engine, n) for n in batch["plain"])


@pytest.mark.parametrize("answer, removed", [("n\n", False), ("\n", False), ("y\n", True)])
def test_it_asks_on_the_terminal(docker_host, test_engine, batch, answer, removed):
    args = build_parser().parse_args(["cleanup", "--host", docker_host, "--label",
                                      f"carina.cleanup={batch['tag']}"])
    out, err = io.StringIO(), io.StringIO()
    assert command.run(args, stdin=Terminal(answer), stdout=out, stderr=err) == 0
    assert "Remove these 2 containers? [y/N]" in err.getvalue()
    assert all(exists(test_engine, n) != removed for n in batch["plain"])
    assert exists(test_engine, batch["keeper"])
    if removed:
        assert "2 removed, 0 skipped, 0 failed." in out.getvalue()
    else:
        assert "Nothing was removed." in out.getvalue()


def test_until_keeps_young_containers(docker_host, test_engine, batch, capsys):
    code, out, err = cli(capsys, "cleanup", "--host", docker_host, "--label", f"carina.cleanup={batch['tag']}",
                         "--until", "1h", "--yes", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["planned"] == [] and report["removed"] == [] and report["protected"] == []
    assert report["hidden_by_filter"] >= 4
    assert all(exists(test_engine, n) for n in batch["plain"])


@pytest.mark.parametrize("argv, words", [
    (["--until", "soon"], "--until takes a duration such as 90s"),
    (["--until", "5"], "--until takes a duration such as 90s"),
    (["--label", "=web"], "--label takes KEY or KEY=VALUE"),
])
def test_bad_input_is_one_sentence(docker_host, capsys, argv, words):
    code, out, err = cli(capsys, "cleanup", "--host", docker_host, "--yes", *argv)
    assert code == 2 and words in err and "Traceback" not in err and out == ""


def test_an_engine_that_does_not_answer_is_a_sentence(tmp_path, capsys):
    code, out, err = cli(capsys, "cleanup", "--host", f"unix://{tmp_path}/no.sock", "--yes")
    assert code == 1
    assert err.startswith("carina-tui: ") and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_read_only_option_refuses_and_audits(docker_host, test_engine, batch, capsys):
    code, out, err = cli(capsys, "cleanup", "--host", docker_host, "--read-only", "--label",
                         f"carina.cleanup={batch['tag']}", "--yes", "--json")
    assert code == 1
    assert "read-only" in err
    report = json.loads(out)
    assert report["removed"] == [] and names(report["skipped"]) == sorted(batch["plain"])
    assert all("read-only" in s["reason"] for s in report["skipped"])
    assert all(exists(test_engine, n) for n in batch["plain"])
    outcomes = {line["outcome"] for line in AuditLog(audit_log_path()).read()}
    assert outcomes == {"refused"}


def test_read_only_from_the_config(docker_host, test_engine, batch, capsys):
    write_config(f'[clusters.frozen]\nendpoints = ["{docker_host}"]\nread_only = true\n')
    code, out, err = cli(capsys, "cleanup", "--cluster", "frozen", "--label", f"carina.cleanup={batch['tag']}",
                         "--yes")
    assert code == 1
    assert "Cluster frozen is open read-only" in err
    assert all(exists(test_engine, n) for n in batch["plain"])


def test_a_clusters_own_rule_protects(docker_host, test_engine, batch, capsys):
    write_config(f'[clusters.mine]\nendpoints = ["{docker_host}"]\n'
                 f'protect = [{{ name = "{batch["plain"][0]}" }}]\n')
    code, out, err = cli(capsys, "cleanup", "--cluster", "mine", "--label", f"carina.cleanup={batch['tag']}",
                         "--yes", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert names(report["removed"]) == [batch["plain"][1]]
    assert {p["name"]: p["rule"] for p in report["protected"]}[batch["plain"][0]] == \
        f'name "{batch["plain"][0]}" (cluster:mine)'
    assert exists(test_engine, batch["plain"][0])


def test_the_installed_command_prints_one_json_object(docker_host, test_engine, batch):
    proc = subprocess.run(
        [sys.executable, "-m", "carina_tui", "cleanup", "--host", docker_host, "--label",
         f"carina.cleanup={batch['tag']}", "--yes", "--json"],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert names(report["removed"]) == sorted(batch["plain"])
    assert not any(exists(test_engine, n) for n in batch["plain"])
