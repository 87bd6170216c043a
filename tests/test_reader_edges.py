"""The reader's rules at their edges, each worked out by hand: the frame count a duration implies, the
truncation check's half-frame margin, colour shrunk by area averaging and enlarged by interpolation,
depth enlarged along one side only, Matroska's container duration as the stream's end, and the file
names an image-sequence pattern stands for."""

from __future__ import annotations

import dataclasses
import types
from fractions import Fraction

import av
import numpy as np
import pytest
from conftest import write_video

from igde_stream.errors import CorruptInputError, InputError
from igde_stream.stream import VideoReader
from igde_stream.stream.info import check_complete
from igde_stream.stream.reader import VideoInfo
from igde_stream.stream.imageseq import _pattern_regex
from test_stream_roundtrip import depth_info


def _info(rate=Fraction(25), **kw) -> VideoInfo:
    """``test_stream_roundtrip.depth_info`` with the count and duration a test sets."""
    return dataclasses.replace(depth_info(rate, "gray"), **kw)


def test_expected_frames_from_the_declared_count_or_duration_times_rate():
    assert _info(frames=7, duration=2.0).expected_frames == 7
    assert _info(duration=2.0).expected_frames == 50  # 2 s at 25 fps
    assert _info(duration=0.5, rate=Fraction(30000, 1001)).expected_frames == 15  # 14.985 -> 15
    assert _info(duration=2.0, rate=None).expected_frames is None
    assert _info().expected_frames is None


@pytest.mark.parametrize("declared, refused", [
    (0.400, False),          # the ten frames end at 9 x 0.04 + 0.04 = 0.4 s: complete
    (0.421, False),          # within half a frame (0.02 s) and 2 ms of rounding
    (0.423, True),           # 23 ms short: more than half a frame and 2 ms
    (0.440, True),           # a whole frame missing
])
def test_a_stream_shorter_than_its_declared_duration_by_more_than_half_a_frame_is_refused(declared, refused):
    reader = types.SimpleNamespace(info=_info(duration=declared), path="in.mkv")
    check = lambda: check_complete(reader.info, reader.path, 10, 0.36, 0.36)  # noqa: E731
    if refused:
        with pytest.raises(CorruptInputError, match=f"decoded 10 frames \\(0.400 s\\) but the container declares "
                                                    f"{declared:.3f} s"):
            check()
    else:
        check()


def test_colour_is_shrunk_by_area_averaging_and_enlarged_by_interpolation(tmp_path):
    rng = np.random.default_rng(4)
    color = rng.integers(0, 256, (2, 24, 32, 3)).astype(np.uint8)
    write_video(tmp_path / "c.mkv", color, fmt="rgb24", codec="ffv1")
    with VideoReader(tmp_path / "c.mkv", "color", size=(16, 12)) as r:
        small = [f.data for f in r.frames()]
    blocks = color[0].reshape(12, 2, 16, 2, 3).astype(float).mean(axis=(1, 3))
    assert small[0].shape == (12, 16, 3) and np.abs(small[0] - blocks).max() <= 1.0  # 2x2 block means
    with VideoReader(tmp_path / "c.mkv", "color", size=(64, 48)) as r:
        big = [f.data for f in r.frames()][0].astype(int)
    assert big.shape == (48, 64, 3)
    # enlarged by bicubic interpolation (FFmpeg's, through PyAV), not by the area filter, which gives
    # other values when enlarging (it is the shrinking filter)
    frame = av.VideoFrame.from_ndarray(color[0], format="rgb24")
    np.testing.assert_array_equal(big, frame.reformat(64, 48, "rgb24", interpolation="BICUBIC").to_ndarray())
    area = frame.reformat(64, 48, "rgb24", interpolation="AREA").to_ndarray().astype(int)
    assert np.abs(big - area).max() > 8


def test_depth_can_be_enlarged_along_one_side_only(tmp_path):
    d = np.arange(16 * 8, dtype=np.uint8).reshape(8, 16)
    write_video(tmp_path / "d.mkv", [d], fmt="gray")
    with VideoReader(tmp_path / "d.mkv", "depth", size=(16, 16)) as r:
        out = [f.data for f in r.frames()][0]
        assert (r.info.width, r.info.height) == (16, 16)
    assert out.shape == (16, 16) and set(np.unique(out)) <= set(np.unique(d))  # nearest: stream values only
    np.testing.assert_array_equal(out[::2], d)
    with pytest.raises(InputError, match="larger than 16x4"):
        VideoReader(tmp_path / "d.mkv", "depth", size=(16, 4))


def test_matroska_container_duration_is_the_single_stream_end(tmp_path):
    frames = [np.full((8, 16), k, np.uint8) for k in range(5)]
    write_video(tmp_path / "d.mkv", frames, fmt="gray", rate=Fraction(25))
    with VideoReader(tmp_path / "d.mkv", "depth") as r:
        assert r.info.duration == pytest.approx(0.2, abs=0.0015) and r.info.duration_is_end
        assert r.info.expected_frames == 5
        assert len(list(r.frames())) == 5


@pytest.mark.parametrize("ext, start", [("nut", 0.0), ("nut", 1.0), ("mkv", 1.0)])
def test_the_frame_count_a_container_duration_implies(tmp_path, ext, start):
    """NUT's container duration is its index's largest pts, the last frame's start (0.2 s for five frames
    at 25 fps, as Matroska's end is); both count from 0, so a stream that starts at 1 s is not 30 frames."""
    frames = [np.full((8, 16), k, np.uint8) for k in range(5)]
    write_video(tmp_path / f"d.{ext}", frames, fmt="gray", rate=Fraction(25), start=start)
    with VideoReader(tmp_path / f"d.{ext}", "depth") as r:
        end = start + (0.16 if ext == "nut" else 0.2)
        assert r.info.duration == pytest.approx(end, abs=0.0015) and r.info.duration_is_end
        assert r.info.expected_frames == 5
        assert len(list(r.frames())) == 5


@pytest.mark.parametrize("pattern, name, match", [
    ("f%03d.png", "f007.png", True),
    ("f%03d.png", "f1234.png", True),         # at least the width
    ("f%03d.png", "f07.png", False),
    ("f%d.png", "f7.png", True),
    ("f%d.png", "f.png", False),
    ("a%%_%02d.png", "a%_03.png", True),      # %% is a literal %
    ("a%%_%02d.png", "a%%_03.png", False),
    ("a%%_%02d.png", "a_03.png", False),
])
def test_pattern_names(pattern, name, match):
    assert bool(_pattern_regex(pattern).fullmatch(name)) == match
    with pytest.raises(InputError, match="%d or %0Nd"):
        _pattern_regex("f%s.png")


def test_stdin_is_opened_once_and_closed_by_its_last_reader(tmp_path, monkeypatch):
    """Colour and depth from one container on stdin share one opening: each reader counts as a user,
    and only the last close closes the container and lets stdin be opened afresh."""
    import io
    import sys

    from igde_stream.stream import sources

    write_video(tmp_path / "d.mkv", [np.zeros((8, 16), np.uint8)] * 2, fmt="gray")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((tmp_path / "d.mkv").read_bytes())))
    first, kind, _ = sources.open_input("-", "color", None)
    second, _, _ = sources.open_input("-", "depth", None)
    assert kind == "stdin" and second is first and first.users == 2
    first.close()
    assert first.users == 1 and sources._stdin is first  # still open for the other reader
    second.close()
    assert first.users == 0 and sources._stdin is None  # the next opening is a new one


def test_a_cut_mp4_names_what_ffmpeg_found(tmp_path):
    write_video(tmp_path / "c.mp4", [np.zeros((8, 16, 3), np.uint8)] * 3, fmt="rgb24")
    (tmp_path / "cut.mp4").write_bytes((tmp_path / "c.mp4").read_bytes()[:40])
    with pytest.raises(InputError, match=r"not a video file, or a damaged one \(FFmpeg: invalid data: moov atom "
                                         r"not found\)"):
        VideoReader(tmp_path / "cut.mp4", "color")


def test_a_reader_reads_its_stream_once_and_not_after_close(tmp_path):
    """A second ``frames()`` would go on from where the first stopped with indices from 0 (wrong
    frames, no error), and one after a whole pass would blame the file ("no frame could be
    decoded"): both are a RuntimeError naming the way out; so is ``frames()`` after ``close()``."""
    from conftest import scene, write_video
    from igde_stream.stream import VideoReader

    d = write_video(tmp_path / "d.mkv", scene(6)[1], fmt="gray")
    with VideoReader(d, "depth") as r:
        first = r.frames()
        assert [next(first).index for _ in range(3)] == [0, 1, 2]
        with pytest.raises(RuntimeError, match=r"frames\(\) reads the stream once; open a new VideoReader"):
            next(r.frames())
        assert [f.index for f in first] == [3, 4, 5]  # the first pass goes on unharmed
    with pytest.raises(RuntimeError, match="the reader is closed; open a new VideoReader"):
        next(r.frames())
    with VideoReader(d, "depth") as again:
        assert len(list(again.frames())) == 6
