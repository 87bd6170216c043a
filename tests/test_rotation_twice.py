"""Depth estimated on a phone video's displayed (upright) frames that kept the phone's display matrix
(a tool copied the tag): read, it turns again, one portrait beside one landscape. --no-autorotate,
which the warning advised, turns both back and leaves them apart; the warning now says to take the
turn off the depth, with the command, which is run here where the ffmpeg command line is installed
and its output read back as the depth written (display matrices written as in test_rotation)."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import scene
from igde_stream.stream import enhance_file
from test_rotation import CLOCKWISE, frames_of, tagged


def test_depth_that_keeps_the_phones_turn_is_told_to_take_it_off(tmp_path, enhancer, caplog):
    colors, depths, _ = scene(3, (48, 64))  # displayed: 48 wide, 64 high
    c, _ = tagged(tmp_path / "c", [np.rot90(f, 1) for f in colors], CLOCKWISE)
    d, _ = tagged(tmp_path / "d", list(depths), CLOCKWISE)  # upright, tagged all the same
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        enhance_file(c, d, tmp_path / "out.mkv", enhancer=enhancer)
    warned = [r.getMessage() for r in caplog.records if "one portrait and one landscape" in r.getMessage()]
    assert len(warned) == 1 and "both carry a display matrix that turns them" in warned[0]
    assert "needs --no-autorotate" not in warned[0]
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("the ffmpeg command line runs the advice")
    major = int(re.search(r"version n?(\d+)", subprocess.run([ffmpeg, "-version"], capture_output=True,
                                                             text=True).stdout).group(1))
    fixed = tmp_path / "depth_upright.mov"
    if major < 6:
        assert f"ffmpeg -i {d} -c copy -metadata:s:v:0 rotate=0" in warned[0]
        cmd = [ffmpeg, "-v", "error", "-i", str(d), "-c", "copy", "-metadata:s:v:0", "rotate=0", str(fixed)]
    else:
        assert f"ffmpeg -display_rotation 0 -i {d} -c copy" in warned[0]
        cmd = [ffmpeg, "-v", "error", "-display_rotation", "0", "-i", str(d), "-c", "copy", str(fixed)]
    subprocess.run(cmd, check=True)
    got, _ = frames_of(fixed, "depth")
    assert len(got) == 3 and all(np.array_equal(g, f) for g, f in zip(got, depths))
