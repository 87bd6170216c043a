"""Tests added by seeded-bug review 64 (results/mutation.md, "Seeded-bug review 64"): each catches a bug
planted by hand in the seeking reads of ``--start`` (``stream/seek.py``, the reader's cut, ``Span``,
``pairing.reach``, ``views quality --start``) that the earlier tests let through, or a defect the review
found. Expected frames come from the frame times worked out by hand, from NumPy (raw video and image
files written here) or from PyAV decoding the whole file."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from conftest import scene
from igde_stream.stream.reader import VideoReader

cv2 = pytest.importorskip("cv2")
RATE = Fraction(25)


def _frames(path, cut, role="depth", **kwargs):
    """(index, time, pixels) of every frame a reader of ``path`` gives from ``cut`` s, and its ``passed``."""
    with VideoReader(str(path), role, **kwargs) as r:
        r.skip_before = cut
        got = [(f.index, round(f.time, 6), f.data) for f in r.frames()]
        return got, r.passed


def _sequence(folder, frames, first=0, name="d"):
    folder.mkdir(exist_ok=True)
    for i, a in enumerate(frames):
        cv2.imwrite(str(folder / f"{name}{i + first:03d}.png"), a)
    return str(folder / f"{name}%03d.png")


# ---- defects -----------------------------------------------------------------------------------------

def test_a_start_past_an_image_sequence_s_last_file_reads_it_from_the_start(tmp_path):
    """10 files numbered from 5 (d005..d014), 25 fps: frame k at k x 40 ms, the last (9) at 0.36 s. A cut at
    0.5 s aims the seek at 0.46 s, frame 11.5, past the last file, which FFmpeg's image2 demuxer refuses
    (EINVAL): the reader reads from the first file instead and passes over all ten."""
    depths = scene(10, bits=16)[1]
    pattern = _sequence(tmp_path / "d", depths, first=5)
    got, passed = _frames(pattern, 0.5)
    assert got == [] and passed == (9, 0.36)
    got, _ = _frames(pattern, 0.3)  # within it: frames 8 (0.32 s) and 9, the files d013 and d014
    assert [(i, t) for i, t, _ in got] == [(8, 0.32), (9, 0.36)]
    for (_, _, a), b in zip(got, depths[8:]):
        np.testing.assert_array_equal(a, b)


def test_views_render_from_a_start_past_a_shorter_colour_sequence_says_so_in_one_line(tmp_path, capsys):
    """Colour: 6 files (to 0.20 s), depth: 10 (to 0.36 s). From 0.32 s the depth's frames 8 and 9 (0.32 and
    0.36 s) have no colour frame, as a whole run says of frames 6 to 9: one line and exit 2, not a
    traceback from the colour reader's seek past its last file."""
    from igde_stream.views_cli import main as views_main

    colors, depths, _ = scene(10)
    color = _sequence(tmp_path / "c", [c[:, :, ::-1] for c in colors[:6]], name="c")
    depth = _sequence(tmp_path / "d", depths)
    assert views_main(["render", color, depth, "-o", str(tmp_path / "v.mkv"), "--start", "0.32", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "frames 8 (0.320 s), 9 (0.360 s) of the depth stream have no colour frame" in err[0]
    assert not (tmp_path / "v.mkv").exists()
