"""Pairing beside a live input (stdin, a network stream), which may never end: the colour of a camera
piped in that runs on after a depth file (``--pair nearest``, as documented for colour that runs
longer), or frames that do not pair. Before, pairing read every input to its end (to count the
colour frames skipped, or to list every unpaired frame), so the run finished, or said what was
wrong, only when the live stream stopped: ``(cat color.nut; sleep 30) | igde-stream - depth.mkv
--pair nearest`` wrote its file 30 s late, and never with a camera that keeps sending.

Now a live colour is read only as far as the depth frames need (plus the one frame read ahead,
which is not counted, as when ``--max-frames`` ends a run), and an unpaired frame ends the run at
once, the counts said to be those read so far. Files are still read to their ends."""

from __future__ import annotations

import io
import sys
import threading
import time
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.errors import PairingError
from igde_stream.stream.frame_set import FrameSet
from igde_stream.stream.info import Frame
from igde_stream.stream.pairing import pair_frames, pair_nearest

T = 1 / 30


def frames(n: int, start: int = 0):
    return [Frame(i, i, i * T, i * T, np.zeros((2, 2), np.uint8)) for i in range(start, start + n)]


class Live:
    """A colour stream that gives ``n`` frames and then would wait for ever (the test fails instead)."""

    def __init__(self, n: int) -> None:
        self.items, self.pulled = frames(n), 0

    def __iter__(self):
        for f in self.items:
            self.pulled += 1
            yield f
        raise AssertionError("read past the frames a live source had sent: the run would wait here")


def test_nearest_beside_live_colour_stops_after_the_last_depth_frame():
    colour = Live(10)
    tally: dict[str, int] = {}
    got = list(pair_nearest(iter(colour), frames(4), 0.5 * T, ("-", "d.mkv"), tally))
    assert [(c.index, d.index) for c, d in got] == [(0, 0), (1, 1), (2, 2), (3, 3)]
    assert colour.pulled == 5  # frame 4 read ahead to know frame 3 is the nearest
    assert tally == {"color_frames": 4, "color_skipped": 0, "color_reused": 0}  # the read-ahead not counted


def test_nearest_beside_a_colour_file_still_counts_every_colour_frame():
    tally: dict[str, int] = {}
    list(pair_nearest(iter(frames(10)), frames(4), 0.5 * T, ("c.mkv", "d.mkv"), tally))
    assert tally == {"color_frames": 10, "color_skipped": 6, "color_reused": 0}


def test_exact_with_live_colour_running_longer_is_said_at_its_first_extra_frame():
    colour = Live(6)
    with pytest.raises(PairingError) as e:
        list(pair_frames(iter(colour), frames(4), 0.5 * T, ("-", "d.mkv")))
    assert colour.pulled == 5
    assert "frame 4 (0.133 s) of the colour stream has no depth frame (5 colour frames, 4 depth frames read so far: " \
           "a live input is not read to its end)" in e.value.problem


def test_depth_frame_without_colour_beside_a_live_depth_ends_at_once():
    depth = Live(10)  # the live one is the depth here: it would be read to its end
    with pytest.raises(PairingError) as e:
        list(pair_nearest(iter(frames(3)), iter(depth), 0.5 * T, ("c.mkv", "-")))
    assert depth.pulled == 4  # frames 0-2 paired (3 colour frames); frame 3 has none: no further
    assert "frame 3 (0.100 s) of the depth stream (3 colour frames, 4 depth frames read so far" in e.value.problem


class _Camera(io.RawIOBase):
    """stdin of a source that sent ``data`` and keeps the pipe open: a read past it waits (at most
    ``hold`` s, then end of file, so that a regression fails on time rather than hanging)."""

    def __init__(self, data: bytes, hold: float) -> None:
        self.data, self.pos, self.hold, self.waited = data, 0, hold, False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        if self.pos >= len(self.data):
            self.waited = True
            threading.Event().wait(self.hold)
            return 0
        n = min(len(b), len(self.data) - self.pos, 4096)
        b[:n] = self.data[self.pos:self.pos + n]
        self.pos += n
        return n


def test_live_colour_on_stdin_that_runs_on_does_not_hold_the_run(tiny_model, enhancer, tmp_path, monkeypatch):
    colors, depths, _ = scene(120, (32, 24), bits=16, seed=3)
    buf = io.BytesIO()
    with av.open(buf, "w", format="nut") as out:
        s = out.add_stream("ffv1", rate=30)
        s.width, s.height, s.pix_fmt = 32, 24, "bgr0"
        for c in colors:
            for p in s.encode(av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="bgr0")):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    depth = write_video(tmp_path / "d.mkv", depths[:4], fmt="gray16le", rate=Fraction(30))
    camera = _Camera(buf.getvalue(), hold=20.0)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BufferedReader(camera)))
    out = tmp_path / "out.mkv"
    t0 = time.monotonic()
    assert main(["-", str(depth), "-o", str(out), "--pair", "nearest", "--model", str(tiny_model),
                 "--backend", "torch", "-q"]) == 0
    assert time.monotonic() - t0 < 10 and not camera.waited
    with av.open(str(out)) as c:
        got = np.stack([f.to_ndarray() for f in c.decode(video=0)])
    np.testing.assert_array_equal(got, enhancer.enhance(np.stack(colors[:4]), np.stack(depths[:4])))


def test_live_depth_that_ended_beside_a_longer_colour_file_lists_every_extra_colour_frame():
    """The live input ended (its writer stopped): the colour file is still read to its end for the list."""
    with pytest.raises(PairingError) as e:
        list(pair_frames(iter(frames(10)), iter(frames(4)), 0.5 * T, ("c.mkv", "-")))
    assert "frames 4 (0.133 s), 5 (0.167 s), 6 (0.200 s), 7 (0.233 s), 8 (0.267 s), 9 (0.300 s) of the colour " \
           "stream have no depth frame (10 colour frames, 4 depth frames);" in e.value.problem
    assert "read so far" not in e.value.problem


class _Unmatched:
    """The part of ``PsnrReport`` the matcher feeds with ground-truth frames no output frame met."""

    def __init__(self) -> None:
        self.unmatched: list[int] = []
        self.gt_compared = FrameSet()  # the numbers of the ground-truth frames compared (PsnrReport's)

    def add_unmatched_gt(self, index: int, pts_time: float) -> None:
        self.unmatched.append(index)


@pytest.mark.parametrize("gt_name", ["-", "udp://127.0.0.1:5004"])
def test_live_ground_truth_is_not_read_past_the_last_output_frame(gt_name):
    """``--gt -`` from a source that runs on after the depth: before, the writer read it to its end to
    list the ground-truth frames without output (a run with ``(cat gt.nut; sleep 30) | igde-stream C D
    --gt -`` finished 30 s late)."""
    from igde_stream.stream.outputs import GtMatcher

    gt, stopped = Live(10), []
    matcher = GtMatcher(iter(gt), 0.5 * T, _Unmatched(), usable=True, names=("d.mkv", gt_name),
                        on_cut=lambda: stopped.append(True))
    assert [matcher.match(d.time).index for d in frames(4)] == [0, 1, 2, 3]
    matcher.finish()
    assert stopped == [True] and gt.pulled == 5 and matcher.report.unmatched == []


def test_ground_truth_file_longer_than_the_output_is_listed_as_before():
    from igde_stream.stream.outputs import GtMatcher

    matcher = GtMatcher(iter(frames(7)), 0.5 * T, _Unmatched(), usable=True, names=("d.mkv", "g.mkv"))
    assert [matcher.match(d.time).index for d in frames(4)] == [0, 1, 2, 3]
    matcher.finish()
    assert matcher.report.unmatched == [4, 5, 6]
