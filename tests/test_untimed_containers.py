"""Containers that store no presentation times (``stream/timing.py``): AVI (frame slots in decode
order; H.264 with B-frames, a dropped frame's empty chunk) and raw H.264 elementary streams (no
timestamps; the rate is the bitstream's). Colour frame k is red 10 (k + 1), so the output of
``ColourCode`` shows which colour frame each depth frame was paired with; clips made with PyAV."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest

from conftest import read_video, write_video
from igde_stream.stream import enhance_file

H, W, N = 32, 32, 10


class ColourCode:
    """An enhancer whose output is the red value of the colour frame paired with the depth frame."""

    batch = 2
    backend_name = "colour-code"

    def enhance(self, color, depth):
        return np.broadcast_to(color[:, :, :, :1].transpose(0, 3, 1, 2)[:, 0], depth.shape).astype(depth.dtype)


def _encode(path, codec, pix_fmt, images, slots, options=None, fmt=None):
    """``images`` at ``slots`` (pts in 1/30 s); ``fmt``: the container format (None: by suffix)."""
    with av.open(str(path), "w", format=fmt) as out:
        s = out.add_stream(codec, rate=30, options=options or {})
        s.width, s.height, s.pix_fmt = W, H, pix_fmt
        for img, k in zip(images, slots):
            f = av.VideoFrame.from_ndarray(img, format="rgb24" if img.ndim == 3 else "gray").reformat(format=pix_fmt)
            f.pts, f.time_base = k, Fraction(1, 30)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


def _colours(n=N):
    return [np.full((H, W, 3), 10 * (k + 1), np.uint8) for k in range(n)]


def _depth(tmp_path, n=N, rate=Fraction(30)):
    return write_video(tmp_path / "d.mkv", [np.full((H, W), 200, np.uint8)] * n, fmt="gray", rate=rate)


def _reds(path):
    """Each output frame's red value, to the nearest 10 (H.264's YUV 4:2:0 rounds it by a level or two)."""
    return [10 * round(int(o[0, 0]) / 10) for o in read_video(path)[0]]


@pytest.mark.parametrize("options", [{"qp": "0"}, {"bf": "3", "qp": "10"}], ids=["intra", "b-frames"])
def test_avi_h264_is_read_in_its_slots(tmp_path, options):
    # FFmpeg guesses each AVI packet's pts from its slot in decode order, plus one for H.264: the
    # colour started a slot late (no depth frame within half a frame), and with B-frames its frames
    # came out as 1, 4, 3, 5, 2, ..., refused as "timestamps do not increase"
    c = _encode(tmp_path / "c.avi", "libx264", "yuv420p", _colours(), range(N), options)
    with av.open(str(c)) as probe:
        if "bf" in options and not probe.streams.video[0].codec_context.has_b_frames:
            pytest.skip("this libx264 wrote no B-frames")
    enhance_file(c, _depth(tmp_path), tmp_path / "out.mkv", enhancer=ColourCode())
    assert _reds(tmp_path / "out.mkv") == [10 * (k + 1) for k in range(N)]


def test_avi_with_an_empty_chunk_keeps_its_slot_free_and_is_not_truncated(tmp_path):
    # a depth AVI whose slot 4 is an empty chunk (a dropped frame: the muxer fills the gap); its frame
    # count holds the chunk: it was refused as truncated. Depth k holds 20 k, the colour is whole.
    slots = [k for k in range(N) if k != 4]
    d = _encode(tmp_path / "d.avi", "ffv1", "gray", [np.full((H, W), 20 * k, np.uint8) for k in slots], slots)
    c = write_video(tmp_path / "c.mkv", _colours(), fmt="rgb24", codec="ffv1", rate=Fraction(30))
    enhance_file(c, d, tmp_path / "out.mkv", enhancer=ColourCode(), pair="nearest")
    out, pts, facts = read_video(tmp_path / "out.mkv")
    assert [int(o[0, 0]) for o in out] == [10 * (k + 1) for k in slots]  # colour 4 skipped: no depth there
    assert [round(p * facts["time_base"] * 30) for p in pts] == slots
    from igde_stream.stream.reader import VideoReader

    with VideoReader(d, "depth") as r:
        assert len(list(r.frames())) == N - 1
        assert (r._decoder.empty, r._decoder.cut, r._decoder.dropped) == (1, 0, 1)
        assert r._decoder.dropped_why == "1 empty (dropped by the recorder)"


def test_raw_h264_stream_is_timed_at_its_bitstream_rate(tmp_path):
    # an elementary .h264 stream carries no timestamps; FFmpeg's demuxer says 25 fps unless told, the
    # stream's own timing says 30: read at 25 it did not pair with a 30 fps depth
    c = _encode(tmp_path / "c.h264", "libx264", "yuv420p", _colours(), range(N), {"bf": "2", "qp": "0"}, fmt="h264")
    enhance_file(c, _depth(tmp_path), tmp_path / "out.mkv", enhancer=ColourCode())
    out, pts, facts = read_video(tmp_path / "out.mkv")
    assert _reds(tmp_path / "out.mkv") == [10 * (k + 1) for k in range(N)]
    assert facts["rate"] == 30


def _packet(dts, size=100):
    return SimpleNamespace(dts=dts, size=size)


@pytest.mark.parametrize("tb, rate, step", [(Fraction(1, 30), 30, 1), (Fraction(1, 90000), 30, 3000)])
def test_slot_clock_counts_the_empty_slots_between_stored_frames(tb, rate, step):
    # stored frames in slots 0, 1, 2, 4, 7 (one slot = 1 / rate = step time-base units): slot 3 and
    # slots 5, 6 held empty chunks, 1 and 2 frames never shown; an empty packet (the demuxer's last)
    # and a packet without dts count nothing. The frames out, in order, take the stored slots.
    from igde_stream.stream.timing import SlotClock

    clock = SlotClock(SimpleNamespace(average_rate=Fraction(rate), guessed_rate=None, time_base=tb),
                      SimpleNamespace(format=SimpleNamespace(name="avi")))
    slots = [0, 1, 2, 4, 7]
    assert [clock.feed(_packet(step * k)) for k in slots] == [0, 0, 0, 1, 2]
    assert clock.feed(_packet(None, 0)) == 0 and clock.feed(None) == 0 and clock.feed(_packet(None)) == 0
    frames = [SimpleNamespace(pts=None) for _ in range(6)]  # one more than stored: the slot after the last
    assert [f.pts for f in clock.apply(frames)] == [step * k for k in (*slots, 8)]


def test_slot_clock_leaves_other_containers_as_decoded():
    from igde_stream.stream.timing import SlotClock

    clock = SlotClock(SimpleNamespace(average_rate=Fraction(30), guessed_rate=None, time_base=Fraction(1, 1000)),
                      SimpleNamespace(format=SimpleNamespace(name="matroska,webm")))
    assert clock.feed(_packet(0)) == 0 and clock.feed(_packet(100)) == 0
    frame = SimpleNamespace(pts=33)
    assert clock.apply([frame]) == [frame] and frame.pts == 33


@pytest.mark.parametrize("fmt, average, guessed, expected", [
    ("mov,mp4,m4a,3gp,3g2,mj2", Fraction(25), Fraction(30), Fraction(25)),  # a VFR MP4: frames / duration
    ("mov,mp4,m4a,3gp,3g2,mj2", None, Fraction(30), Fraction(30)),
    ("matroska,webm", None, None, None),
    ("h264", Fraction(25), Fraction(30), Fraction(30)),  # the demuxer's default 25 beside the bitstream's 30
    ("hevc", Fraction(25), Fraction(50), Fraction(50)),
    ("m4v", Fraction(25), None, Fraction(25)),  # a bitstream without timing: the demuxer's
    ("mpegvideo", None, Fraction(24000, 1001), Fraction(24000, 1001)),
])
def test_stream_rate_takes_the_bitstreams_rate_only_for_raw_streams(fmt, average, guessed, expected):
    from igde_stream.stream.timing import stream_rate

    stream = SimpleNamespace(average_rate=average, guessed_rate=guessed)
    assert stream_rate(stream, SimpleNamespace(format=SimpleNamespace(name=fmt))) == expected
