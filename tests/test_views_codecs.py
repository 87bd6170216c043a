"""The lossy view codecs: H.264 and HEVC frames are converted with the BT.709 matrix and tagged so
(a player assumes BT.709 for an untagged HD stream and BT.601 for an SD one), a frame beyond H.264's
largest level is refused before anything is encoded, and the one-pass command names its own preset
option in the quilt message."""

from __future__ import annotations

import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import x264_opens
from igde_stream.errors import IGDEError
from igde_stream.stream import views

GREEN, RED = (0, 255, 0), (255, 0, 0)


def _luma_bt709_limited(rgb):
    """Y' of BT.709 in limited range, by the recommendation's own constants."""
    r, g, b = rgb
    return 16 + 219 * (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


@pytest.mark.parametrize("codec, name", [("h264", "h264"), ("hevc", "hevc")])
def test_lossy_views_are_bt709_and_say_so(tmp_path, codec, name):
    img = np.zeros((32, 64, 3), np.uint8)
    img[:, :32], img[:, 32:] = GREEN, RED
    w = views.ColorWriter(tmp_path / "v.mkv", codec, Fraction(25), Fraction(1, 1000))
    w.write(img, 0)
    w.commit()
    with av.open(str(tmp_path / "v.mkv")) as c:
        cc = c.streams.video[0].codec_context
        assert cc.name == name
        assert (cc.colorspace, cc.color_primaries, cc.color_trc, cc.color_range) == (1, 1, 1, 1)
        frame = next(c.decode(video=0))
        y = frame.to_ndarray(format="yuv420p")[:32]  # the stored luma plane, no conversion of ours
        rgb = frame.reformat(format="rgb24", src_colorspace="ITU709").to_ndarray()
    # BT.709 green is Y' 173, BT.601 green 145: the stored value tells the matrix used
    assert abs(float(np.median(y[:, 4:28])) - _luma_bt709_limited(GREEN)) <= 1.5
    assert abs(float(np.median(y[:, 36:60])) - _luma_bt709_limited(RED)) <= 1.5
    assert np.abs(rgb[8:24, 4:28].astype(int) - GREEN).max() <= 4  # a BT.709 player sees green
    assert np.abs(rgb[8:24, 36:60].astype(int) - RED).max() <= 4


def test_a_frame_beyond_h264_is_refused_and_nothing_is_left(tmp_path):
    """8192 x 8192 (the 32-inch quilt) has 262,144 macroblocks, H.264 level 6.2 at most 139,264;
    8192 x 4320 (138,240) is inside. Only the shape is looked at: a broadcast view costs no memory."""
    big = np.broadcast_to(np.zeros(3, np.uint8), (8192, 8192, 3))
    w = views.ColorWriter(tmp_path / "q.mp4", "h264", Fraction(25), Fraction(1, 25))
    with pytest.raises(IGDEError, match="8192x8192 is beyond H.264 .262,144 macroblocks.*use the hevc or ffv1"):
        w.write(big, 0)
    w.abort()
    assert not list(tmp_path.iterdir())
    views._check_size("h264", 8192, 4320, tmp_path / "ok.mp4")  # the largest level's own example
    views._check_size("hevc", 8192, 8192, tmp_path / "ok.mp4")  # HEVC takes it


def _frame_allocates(w, h):
    try:
        av.VideoFrame(w, h, "gray")
        return True
    except (av.error.FFmpegError, ValueError, MemoryError):
        return False


@pytest.mark.parametrize("height", [1, 2, 7])
def test_ffmpegs_frame_bound_is_where_ffmpeg_itself_refuses(height):
    """``ffmpeg_size_problem`` switches exactly where FFmpeg's frame allocation starts to refuse (asked
    through PyAV, on frames a few rows high so that the widths near the bound stay a few MB)."""
    from igde_stream.stream.containers import ffmpeg_size_problem

    lo, hi = 1, 1 << 24  # the first refused width, by bisection on the function
    assert ffmpeg_size_problem(lo, height) is None and ffmpeg_size_problem(hi, height) is not None
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if ffmpeg_size_problem(mid, height) is None else (lo, mid)
    assert 1_000_000 < hi < 3_000_000
    assert _frame_allocates(hi - 1, height) and not _frame_allocates(hi, height)


@pytest.mark.parametrize("codec", ["ffv1", "hevc", "h264"])
def test_a_frame_beyond_ffmpeg_is_refused_in_one_line_and_nothing_is_left(tmp_path, codec):
    """A grid of 8 views of a 7680 x 4320 frame is 30720 x 8640: no encoder and no frame of FFmpeg
    holds it (before, PyAV failed with a traceback at the first frame). Broadcast: no memory."""
    big = np.broadcast_to(np.zeros(3, np.uint8), (8640, 30720, 3))
    w = views.ColorWriter(tmp_path / "g.mkv", codec, Fraction(25), Fraction(1, 25))
    with pytest.raises(IGDEError, match=r"30720x8640 is beyond (FFmpeg's largest frame|H\.264).*") as err:
        w.write(big, 0)
    assert "\n" not in str(err.value)
    if codec != "h264":
        assert "--layout views" in str(err.value)
    w.abort()
    assert not list(tmp_path.iterdir())


def test_a_side_beyond_x264_is_refused(tmp_path):
    """x264 opens no frame wider or taller than 16384, however few its macroblocks (asked through
    PyAV: 16384 x 16 opens, 16400 x 16 does not)."""
    assert x264_opens(tmp_path, 16384, 16) and not x264_opens(tmp_path, 16400, 16)
    views._check_size("h264", 16384, 16, tmp_path / "ok.mp4")
    with pytest.raises(IGDEError, match="16400x16 is beyond H.264"):
        views._check_size("h264", 16400, 16, tmp_path / "no.mp4")
    views._check_size("hevc", 16400, 64, tmp_path / "ok.mp4")  # x265 takes it


def test_a_hevc_view_narrower_than_64_px_is_refused_not_a_crash(tmp_path):
    """libx265 as PyAV's wheels bundle it aborts the whole process (glibc heap corruption) on 4:2:0
    frames 34-48 px wide; such a view video is refused in one line before the encoder opens. Run in a
    child process, so that the crash it guards against fails this test instead of ending pytest."""
    code = (
        "import sys, numpy as np; from fractions import Fraction\n"
        "from igde_stream.errors import IGDEError\n"
        "from igde_stream.stream.views import ColorWriter\n"
        "w = ColorWriter(sys.argv[1], 'hevc', Fraction(25), Fraction(1, 25))\n"
        "try:\n"
        "    [w.write(np.full((64, 40, 3), 90, np.uint8), k) for k in range(3)]; w.commit(); print('written')\n"
        "except IGDEError as exc:\n"
        "    w.abort(); print('refused:', exc)\n")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "v.mkv")], capture_output=True, text=True)
    assert r.returncode == 0, (r.returncode, r.stderr[-300:])
    assert r.stdout.startswith("refused:") and "40x64 is narrower than HEVC views take here (64 px" in r.stdout
    assert "use the h264 or ffv1 codec" in r.stdout
    assert not list(tmp_path.iterdir())
    views._check_size("hevc", 64, 64, tmp_path / "ok.mkv")  # one block wide: taken
    views._check_size("h264", 40, 64, tmp_path / "ok.mkv")  # x264 codes it


def test_the_one_pass_quilt_message_names_the_main_commands_preset_option(tmp_path):
    r = subprocess.run([sys.executable, "-m", "igde_stream", str(tmp_path / "c.mp4"), str(tmp_path / "d.mkv"),
                        "-o", str(tmp_path / "o.mkv"), "--views-out", str(tmp_path / "q.mkv"), "--layout", "quilt"],
                       capture_output=True, text=True)
    assert r.returncode == 2
    assert "--quilt COLUMNSxROWS or --quilt portrait|go|16in|32in|65in" in r.stderr
    assert "--device" not in r.stderr
    assert not list(tmp_path.iterdir())


class _Box:
    """A stand-in container that records the (pts, dts) of each packet it is given."""

    def __init__(self):
        self.got = []

    def mux(self, packet):
        self.got.append((packet.pts, packet.dts))


class _Packet:
    def __init__(self, pts, dts, time_base=None):
        self.pts, self.dts, self.time_base = pts, dts, time_base


def _muxed(packets):
    from igde_stream.stream.writer import mux

    box = _Box()
    for p in packets:
        mux(box, _Packet(*p))
    return box.got


def test_a_dts_after_its_pts_is_dropped_before_muxing():
    """The guard against libx265's occasional garbage dts: a packet whose dts lies after its pts
    reaches the muxer without a dts (Matroska refuses it otherwise); a valid one is left as it is."""
    got = _muxed([(0, 844437815230468), (40, -40), (80, 80), (120, None)])
    assert got == [(0, None), (40, -40), (80, 80), (120, None)]


def test_a_dts_far_before_its_pts_is_dropped_before_muxing():
    """libx265's garbage dts can also lie far below the pts (seen: -62551903713508 in a 1/1000 time
    base, two thousand years early), which MP4 / MOV refuse ("pts/dts pair unsupported", about one
    one-frame HEVC file in four): more than 60 s of lead is dropped; a reorder delay of a few frames,
    and 60 s exactly, are kept. A packet without a time base keeps any dts not after its pts."""
    from igde_stream.stream.writer import MAX_DECODE_LEAD

    assert MAX_DECODE_LEAD == 60
    ms = Fraction(1, 1000)
    got = _muxed([(0, -62551903713508, ms), (0, -4611756388245323776, ms), (40, -40, ms), (0, -60000, ms),
                  (0, -60001, ms), (0, -3, Fraction(1, 25)), (0, -62551903713508, None)])
    assert got == [(0, None), (0, None), (40, -40), (0, -60000), (0, None), (0, -3), (0, -62551903713508)]


def test_hevc_in_mp4_is_tagged_hvc1(tmp_path):
    """QuickTime and Apple players take HEVC in MP4 / MOV only as 'hvc1' (libx265's default there is
    'hev1'); Matroska has no such tag."""
    img = np.full((32, 64, 3), 90, np.uint8)
    for name in ("v.mp4", "v.mov"):
        w = views.ColorWriter(tmp_path / name, "hevc", Fraction(25), Fraction(1, 1000))
        w.write(img, 0)
        w.commit()
        with av.open(str(tmp_path / name)) as c:
            assert c.streams.video[0].codec_context.codec_tag == "hvc1"
            assert len(list(c.decode(video=0))) == 1
