"""The audit log is written before anything changes (issue 13, hole 7), on the real engine.

The guard opens the log before it acts: when it cannot (its folder replaced by a file, the
log a directory or immutable), nothing is done and one sentence names the path; a plan that
holds protected containers does not crash. A line that cannot be written after the action
(a full disk) never turns a removed container into a failed one. An existing log with a
looser mode is made 0600 again. These are real failures for root too (root ignores modes).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess

import pytest

from carina_tui.cli import main
from carina_tui.core.clusters import ClusterSpec
from carina_tui.core.errors import AuditUnwritable
from carina_tui.core.paths import audit_log_path
from carina_tui.session import Session


@pytest.fixture
def batch(scratch):
    """A plain exited container, a protected one and a running one, with a label only this test uses."""
    label = {"carina.cleanup": scratch.tag}
    return {
        "plain": scratch.exited("job", labels=label),
        "keeper": scratch.exited("keeper", labels={**label, "carina.protected": "true"}),
        "running": scratch.run("web", labels=label),
    }


def state(engine, name: str) -> str:
    return engine.docker("inspect", "--format", "{{.State.Status}}", name, check=False).strip()


def cleanup(capsys, host: str, tag: str) -> tuple[int, str, str]:
    code = main(["cleanup", "--host", host, "--label", f"carina.cleanup={tag}", "--yes", "--json"])
    out = capsys.readouterr()
    return code, out.out, out.err


def break_log(how: str) -> None:
    log = audit_log_path()
    if how == "its folder is a file":
        log.parent.parent.mkdir(parents=True, exist_ok=True)
        log.parent.write_text("not a folder\n")
    elif how == "it is a directory":
        log.mkdir(parents=True)
    elif how == "it is immutable":
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text("")
        made = subprocess.run(["chattr", "+i", str(log)], capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"chattr +i does not work here: {made.stderr.strip()}")
    else:
        raise AssertionError(how)


def mend_log(how: str) -> None:
    if how == "it is immutable":
        subprocess.run(["chattr", "-i", str(audit_log_path())], check=False)


@pytest.mark.parametrize("how", ["its folder is a file", "it is a directory", "it is immutable"])
def test_an_audit_log_that_cannot_be_written_stops_everything_before_it_starts(docker_host, test_engine, scratch,
                                                                               batch, capsys, how):
    break_log(how)
    try:
        code, out, err = cleanup(capsys, docker_host, scratch.tag)
        assert code == 1 and out == ""
        assert err.startswith(f"carina-tui: The audit log {audit_log_path()} cannot be written (")
        assert "so nothing was done" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1

        session = Session(ClusterSpec("test", "cli", (docker_host,)))
        gateway = session.gateways[docker_host]
        running = gateway.container(batch["running"])
        with pytest.raises(AuditUnwritable) as raised:
            session.guard.stop(running)
        assert str(audit_log_path()) in str(raised.value)
        with pytest.raises(AuditUnwritable):  # a refusal that cannot be audited is still a refusal
            session.guard.remove(gateway.container(batch["keeper"]), force=True)
        session.close()
    finally:
        mend_log(how)
    assert state(test_engine, batch["plain"]) == "exited" and state(test_engine, batch["keeper"]) == "exited"
    assert state(test_engine, batch["running"]) == "running"


def test_a_loose_audit_log_is_made_private_again(docker_host, test_engine, scratch, batch, capsys):
    log = audit_log_path()
    log.parent.mkdir(parents=True)
    log.write_text('{"earlier": "line"}\n')
    log.chmod(0o644)
    code, out, err = cleanup(capsys, docker_host, scratch.tag)
    assert code == 0, err
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    lines = log.read_text().splitlines()
    assert lines[0] == '{"earlier": "line"}' and len(lines) == 3  # kept (refused) and removed (done)


def test_a_line_that_cannot_be_written_after_the_removal_never_says_failed(docker_host, test_engine, scratch,
                                                                           batch, capsys):
    """A full disk: the log opens, the write fails. The removal happened and is reported so."""
    log = audit_log_path()
    log.parent.mkdir(parents=True)
    full_mode = stat.S_IMODE(os.stat("/dev/full").st_mode)
    log.symlink_to("/dev/full")
    session = Session(ClusterSpec("test", "cli", (docker_host,)))
    gateway = session.gateways[docker_host]
    plain = gateway.container(batch["plain"])
    from carina_tui.cleanup import execute

    result = execute(session.guard, [plain])
    assert [(o.name, o.result) for o in result.removed] == [(batch["plain"], "removed")]
    assert result.failed == [] and not result.ok
    assert "its audit line could not be written" in result.removed[0].reason
    assert "No space left on device" in result.removed[0].reason
    assert not test_engine.ids(f"name=^/{batch['plain']}$")

    other = gateway.container(scratch.exited("other"))
    with pytest.raises(AuditUnwritable) as raised:
        session.guard.remove(other)
    assert str(raised.value).startswith(f"The remove of {other.qualified_name} was done, but its audit line")
    assert not test_engine.ids(f"id={other.id}")
    session.close()
    assert stat.S_IMODE(os.stat("/dev/full").st_mode) == full_mode, "a device is never made 0600"


def test_the_headless_cleanup_on_a_full_disk(docker_host, test_engine, scratch, batch, capsys):
    """With a protected container in the plan, its refusal line cannot be written before anything is
    removed: nothing is. Without one, the removal is reported removed, not audited, and exits 1."""
    log = audit_log_path()
    log.parent.mkdir(parents=True)
    log.symlink_to("/dev/full")
    code, out, err = cleanup(capsys, docker_host, scratch.tag)
    assert code == 1 and out == "" and "Traceback" not in err
    assert err == (f"carina-tui: The audit log {log} cannot be written (No space left on device), so nothing was "
                   "done: every change is recorded there. Make it a file you can write in a folder you can write, "
                   "or point XDG_STATE_HOME at one.\n")
    assert test_engine.ids(f"name=^/{batch['plain']}$")

    test_engine.docker("rm", "--force", batch["keeper"])
    code, out, err = cleanup(capsys, docker_host, scratch.tag)
    report = json.loads(out)
    assert code == 1
    assert [r["name"] for r in report["removed"]] == [batch["plain"]] and report["failed"] == []
    assert "No space left on device" in report["removed"][0]["reason"]
    assert not test_engine.ids(f"name=^/{batch['plain']}$")
