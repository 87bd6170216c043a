"""Output containers that would lose what the writer gives them: an FFV1 .ts / .mpg (stored as a data
stream, no video) is refused before the first frame; .avi and .y4m, whose muxers read the time base
as the frame rate, keep the depth's rate and frame count (a Matroska input's 1/1000 s made a 1000 fps
file of 240 declared frames for 6); 4:2:0 depth of odd size goes to a lossy encoder as gray; FFV1
frames 1 pixel wide are refused up front. Expected rates and counts read back with PyAV."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from igde_stream.errors import IGDEError, OutputError
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.views import ColorWriter
from igde_stream.stream.writer import DepthWriter


def _like(w=24, h=16, pix_fmt="gray", tb=Fraction(1, 1000), rate=Fraction(25)):
    return VideoInfo(path="in.mkv", codec="ffv1", width=w, height=h, pix_fmt=pix_fmt, time_base=tb, rate=rate,
                     start_pts=0, frames=None, duration=None)


def _frames(n=6, w=24, h=16):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (h, w)).astype(np.uint8) for _ in range(n)]


def _write(path, like, frames, pts, **kw):
    w = DepthWriter(path, like, **kw)
    for f, p in zip(frames, pts):
        w.write(f, p)
    w.commit()


@pytest.mark.parametrize("suffix", [".ts", ".m2ts", ".mpg", ".vob"])
def test_ffv1_into_an_mpeg_stream_is_refused_before_the_first_frame(tmp_path, suffix):
    out = tmp_path / f"out{suffix}"
    with pytest.raises(OutputError, match=r"cannot hold ffv1 video \(it would be stored as data"):
        DepthWriter(out, _like())
    assert list(tmp_path.iterdir()) == []  # no file, no partial file


@pytest.mark.parametrize("suffix", [".ts", ".mpg"])
def test_ffv1_16_bit_into_an_mpeg_stream_names_no_encoder_that_cannot_store_it(tmp_path, suffix):
    """16-bit depth: the refusal advised --codec libx264 / libx265, which refuse 16-bit depth in turn
    (x264 codes 10 bits at most, x265 12): an advice loop. It now points to .mkv / .nut alone."""
    out = tmp_path / f"out{suffix}"
    with pytest.raises(OutputError) as info:
        DepthWriter(out, _like(pix_fmt="gray16le"))
    said = str(info.value)
    assert "stored as data" in said and "stores 16-bit depth: use .mkv or .nut" in said and "libx26" not in said
    for codec in ("libx264", "libx265"):  # the old advice, taken: refused
        with pytest.raises(IGDEError, match="cannot store 16-bit depth"):
            DepthWriter(out, _like(pix_fmt="gray16le"), codec=codec)
    assert list(tmp_path.iterdir()) == []


def test_ffv1_12_bit_into_a_transport_stream_names_x265_only(tmp_path):
    """12-bit depth: of the two, only x265 stores it."""
    with pytest.raises(OutputError) as info:
        DepthWriter(tmp_path / "out.ts", _like(pix_fmt="gray12le"))
    assert "--codec libx265 (lossy) for .ts" in str(info.value) and "libx264" not in str(info.value)


@pytest.mark.parametrize("pix_fmt, dtype, peak", [("gray16le", np.uint16, 65535), ("gray10le", np.uint16, 1023),
                                                  ("gray", np.uint8, 255)])
def test_y4m_keeps_depth_above_8_bits(tmp_path, pix_fmt, dtype, peak):
    """.y4m with --codec wrapped_avframe (the advice for .y4m): YUV4MPEG calls mono16 / mono10
    unofficial and FFmpeg's muxer refused them at the header, so a 16-bit run failed at its first frame
    ("cannot write frame 0: Invalid argument") after the model's work. Now written (as ``ffmpeg -strict
    -1`` does) and read back value for value, by PyAV and by the depth reader."""
    from igde_stream.stream import VideoReader

    rng = np.random.default_rng(1)
    frames = [rng.integers(0, peak + 1, (16, 24)).astype(dtype) for _ in range(3)]
    out = tmp_path / "out.y4m"
    _write(out, _like(pix_fmt=pix_fmt), frames, [40 * k for k in range(3)], codec="wrapped_avframe")
    assert out.read_bytes().startswith(b"YUV4MPEG2 W24 H16 F25:1 ")
    with av.open(str(out)) as c:
        got = [f.to_ndarray() for f in c.decode(video=0)]
    assert len(got) == 3
    for a, b in zip(got, frames):
        np.testing.assert_array_equal(a, b)
    with VideoReader(out, "depth") as r:
        assert r.info.pix_fmt == pix_fmt
        for f, b in zip(r.frames(), frames):
            np.testing.assert_array_equal(f.data, b)


@pytest.mark.parametrize("suffix, codec", [(".avi", "ffv1"), (".y4m", "wrapped_avframe")])
def test_avi_and_y4m_keep_the_rate_and_the_frame_count_of_a_millisecond_time_base(tmp_path, suffix, codec):
    frames = _frames()
    out = tmp_path / f"out{suffix}"
    _write(out, _like(), frames, [40 * k for k in range(6)], codec=codec)  # 25 fps in a 1/1000 time base
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.average_rate == 25
        got = [(f.pts, f.to_ndarray()) for f in c.decode(s)]
    assert [p for p, _ in got] == [0, 1, 2, 3, 4, 5]
    for (_, a), b in zip(got, frames):
        np.testing.assert_array_equal(a, b)
    if suffix == ".y4m":
        assert out.read_bytes().startswith(b"YUV4MPEG2 W24 H16 F25:1 ")


def test_avi_of_a_variable_rate_input_is_refused_at_the_frame_that_meets_a_written_slot(tmp_path):
    out = tmp_path / "out.avi"
    w = DepthWriter(out, _like(), codec="ffv1")
    frames = _frames(3)
    w.write(frames[0], 0)
    w.write(frames[1], 40)
    with pytest.raises(OutputError, match=r"frame 2: .*frame slots of \.avi at 25 fps"):
        w.write(frames[2], 55)  # 55 ms: slot 1 again (round(1.375))
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_rgbd_and_views_in_avi_keep_the_rate(tmp_path):
    out = tmp_path / "views.avi"
    w = ColorWriter(out, "ffv1", Fraction(25), Fraction(1, 1000))
    for k in range(4):
        w.write(np.full((16, 24, 3), 40 * k, np.uint8), 40 * k)
    w.commit()
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.average_rate == 25 and [f.pts for f in c.decode(s)] == [0, 1, 2, 3]


def test_odd_sized_yuv420p_depth_goes_to_a_lossy_encoder_as_gray(tmp_path):
    frames = _frames(3, w=25, h=17)
    out = tmp_path / "out.mkv"
    _write(out, _like(25, 17, "yuv420p"), frames, [0, 40, 80], codec="libx264")
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        got = [f.to_ndarray(format="gray") for f in c.decode(s)]
    assert (s.codec_context.width, s.codec_context.height) == (25, 17) and len(got) == 3
    assert all(np.abs(a.astype(int) - b).mean() < 12 for a, b in zip(got, frames))  # lossy, but these frames


def test_ffv1_frames_one_pixel_wide_are_refused_up_front(tmp_path):
    with pytest.raises(OutputError, match=r"FFV1 cannot code frames 1 pixel wide \(1x40\): use --codec rawvideo"):
        DepthWriter(tmp_path / "out.mkv", _like(1, 40))
    assert list(tmp_path.iterdir()) == []
    _write(tmp_path / "one.nut", _like(1, 40), _frames(2, 1, 40), [0, 40], codec="rawvideo")
    _write(tmp_path / "row.mkv", _like(40, 1), _frames(2, 40, 1), [0, 40])  # one pixel high is fine


def _encoder_opens(codec, pix_fmt, w, h):
    """Whether FFmpeg's encoder (through PyAV) codes ``w`` x ``h`` frames of ``pix_fmt``: the oracle."""
    import io

    try:
        with av.open(io.BytesIO(), "w", format="matroska") as c:
            s = c.add_stream(codec, rate=25)
            s.width, s.height, s.pix_fmt = w, h, pix_fmt
            frame = av.VideoFrame.from_ndarray(np.full((h, w), 100, np.uint8), format="gray").reformat(format=pix_fmt)
            for p in [*s.encode(frame), *s.encode()]:
                c.mux(p)
        return True
    except (av.error.FFmpegError, NotImplementedError):
        return False


@pytest.mark.parametrize("codec, pix_fmt, sizes", [
    ("ffv1", "gray", [(1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]),
    ("libx264", "yuv420p", [(4, 4), (6, 6), (4, 6), (6, 4), (5, 4), (4, 5), (5, 5)]),
])
def test_size_problem_says_what_the_encoder_refuses(codec, pix_fmt, sizes):
    """``size_problem`` is None exactly for the sizes FFmpeg's encoder opens at (asked through PyAV):
    FFV1 refuses frames 1 pixel wide from 2 rows on (1 x 1 codes), 4:2:0 needs an even width and height.
    FFV1's limit is the sliced coder's (FFmpeg 8 picks it for every size; an older FFmpeg's
    unsliced version 0/1 may open 1 x N): a size refused up front that this build opens is a skip,
    never one this build refuses and size_problem lets through (a half-written output)."""
    from igde_stream.stream.containers import size_problem

    got = {size: size_problem(codec, pix_fmt, *size) is None for size in sizes}
    opens = {size: _encoder_opens(codec, pix_fmt, *size) for size in sizes}
    assert not [size for size in sizes if got[size] and not opens[size]], (got, opens)
    cautious = [size for size in sizes if opens[size] and not got[size]]
    if codec == "ffv1" and cautious and all(w == 1 for w, _ in cautious):
        pytest.skip(f"this FFmpeg ({av.ffmpeg_version_info}) opens FFV1 at {cautious}, 1 pixel wide: refused "
                    "up front for the FFmpeg builds that do not")
    assert got == opens


def test_container_problem_names_the_codec_each_raw_muxer_takes(tmp_path):
    """A raw muxer takes one codec (PyAV's ``supported_codecs``): .y4m wrapped_avframe, .yuv rawvideo;
    each refusal names its own; an MPEG stream takes the MPEG / H.26x encoders, Matroska FFV1."""
    import io

    from igde_stream.stream.containers import container_problem

    def supported(fmt):
        with av.open(io.BytesIO(), "w", format=fmt) as c:
            return c.supported_codecs

    y4m, yuv = supported("yuv4mpegpipe"), supported("rawvideo")
    assert y4m == {"wrapped_avframe"} and yuv == {"rawvideo"}
    why = container_problem("yuv4mpegpipe", "ffv1", tmp_path / "o.y4m", y4m)
    assert why is not None and "a .y4m output" in why and "--codec wrapped_avframe" in why and "rawvideo" not in why
    why = container_problem("rawvideo", "ffv1", tmp_path / "o.yuv", yuv)
    assert why is not None and "a .yuv output" in why and "--codec rawvideo" in why and "wrapped_avframe" not in why
    assert container_problem("yuv4mpegpipe", "wrapped_avframe", tmp_path / "o.y4m", y4m) is None
    assert container_problem("rawvideo", "rawvideo", tmp_path / "o.yuv", yuv) is None
    assert "cannot hold ffv1" in container_problem("mpegts", "ffv1", tmp_path / "o.ts", supported("mpegts"))
    assert container_problem("mpegts", "libx264", tmp_path / "o.ts", supported("mpegts")) is None
    assert container_problem("matroska", "ffv1", tmp_path / "o.mkv", supported("matroska")) is None


def test_slot_of_is_the_nearest_frame_slot_halves_up():
    """By hand, 25 frames/s (slots of 40 ms) from a 1/1000 s time base: 0-19 ms -> slot 0, 20 ms (half a
    slot) -> 1, 59 ms -> 1, 60 ms -> 2; a 1/90000 time base: 3600 ticks = 40 ms -> slot 1."""
    from igde_stream.stream.containers import slot_of

    ms, r = Fraction(1, 1000), Fraction(25)
    assert [slot_of(p, ms, r) for p in (0, 19, 20, 40, 59, 60, 1000)] == [0, 0, 1, 1, 1, 2, 25]
    assert slot_of(3600, Fraction(1, 90000), r) == 1 and slot_of(1799, Fraction(1, 90000), r) == 0
    assert slot_of(1001, Fraction(1, 30000), Fraction(30000, 1001)) == 1  # NTSC: one frame duration


@pytest.mark.parametrize("codec, fmt", [("libvpx-vp9", "vp9"), ("libsvtav1", "av1")])
@pytest.mark.parametrize("suffix", [".mov", ".3gp"])
def test_vp9_and_av1_outside_mp4_are_refused_before_the_first_frame(tmp_path, codec, fmt, suffix):
    """FFmpeg's MOV muxer writes VP9 and AV1 only in its MP4 mode ("vp9 only supported in MP4"), and
    says so when it writes the header: after the encoder's first packets (frame 24 for VP9)."""
    if codec not in av.codecs_available:
        pytest.skip(f"no {codec} in this FFmpeg build")
    out = tmp_path / f"out{suffix}"
    with pytest.raises(OutputError, match=rf"cannot hold {fmt} video \(FFmpeg writes it in \.mp4 only\)"):
        DepthWriter(out, _like(w=64, h=48), codec=codec)
    assert list(tmp_path.iterdir()) == []
    _write(tmp_path / "out.mp4", _like(w=64, h=48), [np.full((48, 64), 90, np.uint8)] * 3, [0, 40, 80], codec=codec)
    with av.open(str(tmp_path / "out.mp4")) as c:
        assert c.streams.video[0].codec_context.name in (fmt, "libdav1d", "libvpx-vp9", "libaom-av1")
        assert len(list(c.decode(video=0))) == 3


@pytest.mark.parametrize("suffix, muxer", [(".mkv", "matroska"), (".avi", "avi"), (".mov", "mov")])
def test_the_uncompressed_trial_keeps_ffmpegs_complaints_out_of_the_log(caplog, capfd, suffix, muxer):
    """The trial frame of --codec rawvideo made FFmpeg print "Invalid pixel format." / "gray16le rawvideo
    cannot be written to avi, ..." on stderr, before the refusal that says it in one line."""
    import logging

    import av.logging

    from igde_stream.stream.containers import raw_problem

    level = av.logging.get_level()
    av.logging.set_level(av.logging.WARNING)  # as a reader sets it (ERROR), or an application (WARNING)
    try:
        with caplog.at_level(logging.DEBUG):
            why = raw_problem(muxer, "rawvideo", "gray16le", Path("out" + suffix))
    finally:
        av.logging.set_level(level)
    assert why is not None and "\n" not in why and why.startswith(f"a {suffix} output ({muxer}) cannot hold")
    assert [r.getMessage() for r in caplog.records if r.name.startswith("libav")] == []
    assert capfd.readouterr().err == ""
