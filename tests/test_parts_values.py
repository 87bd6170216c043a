"""Output names (``stream.parts``): FFmpeg's protocol rule written out, the stale-part sweep's
liveness probe, and the same-file checks. Expected values by hand from the docstrings."""

from __future__ import annotations

import os
import string
import subprocess
import sys

import pytest

from igde_stream.errors import OutputError
from igde_stream.stream.parts import check_outputs, ffmpeg_name, remove_stale_parts, same_file, temp_path


def test_a_head_of_every_protocol_character_gets_the_file_prefix():
    """FFmpeg reads the text before the first ':' as a protocol when it is made of letters, digits, '+',
    '-' and '.' only: a head using every one of those characters is such a text too."""
    head = string.ascii_letters + string.digits + "+-."
    assert ffmpeg_name(head + ":final.mkv") == "file:" + head + ":final.mkv"
    assert ffmpeg_name(head + "_:final.mkv") == head + "_:final.mkv"  # '_' is no protocol character


def test_the_stale_part_sweep_only_probes_a_live_process(tmp_path):
    """A live process's partial file is left alone, and the probe (signal 0) does nothing to it."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        out = tmp_path / "out.mkv"
        part = temp_path(out, child.pid)
        part.write_bytes(b"x")
        assert remove_stale_parts(out) == []
        assert part.exists()
        with pytest.raises(subprocess.TimeoutExpired):  # still running half a second on: no signal was delivered
            child.wait(timeout=0.5)
    finally:
        child.kill()
        child.wait()


def test_the_sweep_of_a_missing_folder_removes_nothing(tmp_path):
    assert remove_stale_parts(tmp_path / "no such folder" / "out.mkv") == []


def test_same_file_by_inode_and_by_path(tmp_path):
    a = tmp_path / "a.mkv"
    a.write_bytes(b"x")
    os.link(a, tmp_path / "b.mkv")
    assert same_file(a, tmp_path / "b.mkv") is True  # one inode, two names
    assert same_file(tmp_path / "new.mkv", tmp_path / "sub" / ".." / "new.mkv") is True  # neither exists yet
    assert same_file(tmp_path / "new.mkv", tmp_path / "other.mkv") is False


def test_an_output_that_is_an_input_under_another_name_is_refused(tmp_path):
    depth = tmp_path / "depth.mkv"
    depth.write_bytes(b"x")
    (tmp_path / "link.mkv").symlink_to(depth)
    with pytest.raises(OutputError, match="same file as the depth input"):
        check_outputs([tmp_path / "link.mkv"], {"depth": depth}, overwrite=True)


def test_two_outputs_at_one_new_path_are_refused(tmp_path):
    (tmp_path / "sub").mkdir()
    outs = [tmp_path / "out.mkv", tmp_path / "sub" / ".." / "out.mkv"]
    with pytest.raises(OutputError, match="the same path is given for two outputs"):
        check_outputs(outs, {}, overwrite=False)
