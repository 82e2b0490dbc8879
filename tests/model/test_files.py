"""model.files: atomic writes keep the permissions a plain write would give."""

from __future__ import annotations

import os
import stat
import sys

import pytest

from model.files import atomic_write_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_permissions_of_a_plain_write(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "song.mbsession", "{}\n")
        (tmp_path / "plain.txt").write_text("x")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "song.mbsession") == _mode(tmp_path / "plain.txt") == 0o644
    assert (tmp_path / "song.mbsession").read_text() == "{}\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_rewritten_file_keeps_its_own_permissions(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text("old")
    os.chmod(path, 0o640)
    atomic_write_text(path, "new")
    assert _mode(path) == 0o640 and path.read_text() == "new"
