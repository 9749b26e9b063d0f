"""The audit log's file: made with its folders on first use, 0600, and a sentence when it cannot be."""

from __future__ import annotations

import os
import stat

import pytest

from carina_tui.core.audit import AuditEntry, AuditLog
from carina_tui.core.errors import AuditUnwritable


def test_the_first_change_makes_the_folders_and_a_private_log(tmp_path) -> None:
    log = AuditLog(tmp_path / "state" / "carina-tui" / "log" / "audit.log")
    log.write(AuditEntry("container.remove", "abc", "web", "refused", rule="name carina-svcd"))
    log.write(AuditEntry("container.remove", "def", "job", "skipped"))
    assert [(line["target_name"], line["outcome"]) for line in log.read()] == [("web", "refused"), ("job", "skipped")]
    assert stat.S_IMODE(os.stat(log.path).st_mode) == 0o600


def test_a_file_where_its_folder_should_be_is_a_sentence(tmp_path) -> None:
    (tmp_path / "state").write_text("not a folder")
    log = AuditLog(tmp_path / "state" / "log" / "audit.log")
    with pytest.raises(AuditUnwritable) as caught:
        log.check()
    assert f"({tmp_path / 'state'} is not a folder)" in str(caught.value)
    assert (tmp_path / "state").read_text() == "not a folder"

