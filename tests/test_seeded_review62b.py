"""Gaps found by the seeded-bug review 62b (``results/mutation.md``) in session 62's output timing,
timecode, colour conversion, post-production refusals, image header checks and live-input ends.
Each test fails with one planted bug that the area's tests let through. Expected values are by hand
from the spec (SMPTE 12M timecode, the BT.709 arithmetic, the TIFF / BMP / DPX / PFM / OpenEXR layouts, the RTP
rules) or from what FFmpeg decodes and writes (through PyAV)."""

from __future__ import annotations

import dataclasses
import logging
import struct
from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest

from igde_stream.errors import PairingError
from igde_stream.stream import DepthWriter
from igde_stream.stream.containers import MAX_REORDER, keep_start, start_shift
from igde_stream.stream.streams import check_timing
from igde_stream.stream.timecode import input_timecode, timecode_of

from test_stream_roundtrip import depth_info


# ---- check_timing: what an estimate from millisecond timestamps may be off --------------------------

def _seq(rate, frames):
    return SimpleNamespace(kind="sequence", rate=Fraction(rate), frames=frames, path="depth/")


def _video(rate, frames, time_base=Fraction(1, 1000)):
    return SimpleNamespace(kind="file", rate=Fraction(rate), frames=frames, path="c.mkv", time_base=time_base)


@pytest.mark.parametrize("off, meets", [(Fraction(5, 1000), True), (Fraction(7, 1000), False)])
def test_an_estimated_rate_may_be_off_by_two_ticks_over_the_shorter_count(off, meets):
    """The allowance (``rates_meet``): 1e-4, plus two ticks of the time base over the span of the
    shorter input. 11 frames of a 30 fps clip in 1 ms: 2 x 0.001 x 30 / 10 = 0.006, so a sequence
    0.5 % slower meets it and one 0.7 % slower does not; the video's 300 frames do not widen it (its
    rate was estimated from its own stamps, but the pair is only as long as the shorter input)."""
    seq, video = _seq(30 * (1 - off), 11), _video(30, 300)
    if meets:
        check_timing(video, seq, "colour")
    else:
        with pytest.raises(PairingError, match="carries no timing"):
            check_timing(video, seq, "colour")


# ---- keep_start / start_shift ------------------------------------------------------------------------

def _ts_stream(max_b=3):
    c = av.open("/dev/null", "w", format="mpegts")
    s = c.add_stream("libx264", rate=25)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    s.codec_context.max_b_frames = max_b
    return c, s


@pytest.mark.parametrize("frames_in, off", [(MAX_REORDER - 1, True), (16, True), (MAX_REORDER, False)])
def test_b_frames_go_within_17_frames_of_zero(frames_in, off):
    """x264 / x265 reorder up to 16 B-frames and one more for a B-pyramid: a first frame within 17
    frames of 0 in MPEG-TS is written without B-frames, one 17 frames in keeps them."""
    assert MAX_REORDER == 17
    c, s = _ts_stream(16)
    try:
        said = keep_start(c, s, Fraction(frames_in, 25), Fraction(25))
        assert (s.codec_context.max_b_frames == 0) is off and (said is not None) is off
    finally:
        c.close()


def test_nut_is_not_moved_so_no_start_shift_is_said():
    """NUT stores presentation times and its shift is turned off (``keep_start``): a negative decode
    time moves nothing there."""
    assert start_shift("nut", -2002, Fraction(1, 30000)) is None


def test_a_start_shift_is_said_once_however_many_decode_times_come_before_zero(tmp_path, caplog):
    """Frames 2 s apart from 0.6 s (18 frames of 1/30 s in: B-frames kept): x264's delay of two frames
    is 4 s, so the first two decode times are -3.4 s and -1.4 s, and MPEG-TS moves the stream 3.4 s
    later: one warning, with that figure."""
    out = tmp_path / "out.ts"
    rng = np.random.default_rng(1)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with DepthWriter(out, depth_info(Fraction(30), "gray", size=(64, 48), time_base=Fraction(1, 1000)),
                         codec="libx264") as w:
            for k in range(6):
                w.write(rng.integers(0, 256, (48, 64)).astype(np.uint8), 600 + 2000 * k)
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(said) == 1 and "3.400 s later" in said[0], said
    with av.open(str(out)) as c:
        assert next(c.decode(video=0)).time == pytest.approx(4.0, abs=1e-4)  # 0.6 s + 3.4 s, as it says


# ---- timecode ----------------------------------------------------------------------------------------

def _mov_timecode(tc, rate):
    """The timecode FFmpeg's MOV muxer and demuxer make of ``tc`` at ``rate`` (a one-frame file in memory)."""
    import io

    buf = io.BytesIO()
    with av.open(buf, "w", format="mov") as c:
        c.metadata["timecode"] = tc
        s = c.add_stream("png", rate=rate)
        s.width, s.height, s.pix_fmt = 16, 16, "gray"
        for p in [*s.encode(av.VideoFrame(16, 16, "gray")), *s.encode()]:
            c.mux(p)
    buf.seek(0)
    with av.open(buf) as c:
        return c.streams.video[0].metadata.get("timecode")


@pytest.mark.parametrize("tc, rate, back", [("1:00:00:00", 25, "01:00:00:00"), ("00:00:01:119", 120, "00:00:01:119")])
def test_timecodes_ffmpeg_takes_are_taken(tc, rate, back):
    """FFmpeg reads HH as one or two digits and writes frames past 99 with three (120 fps)."""
    assert _mov_timecode(tc, rate) == back
    assert timecode_of(tc) == tc


def test_a_timecode_with_more_after_it_is_not_taken():
    """Matroska and NUT copy the tag as it is: only HH:MM:SS:FF (or ;FF) goes on."""
    assert timecode_of("01:00:00:00 reel 2") is None
    assert timecode_of("01:00:00:0012") is None


def _clip(path, container_tc=None, stream_tc=None, rate=25, n=2):
    with av.open(str(path), "w") as c:
        if container_tc:
            c.metadata["timecode"] = container_tc
        s = c.add_stream("ffv1", rate=rate)
        s.width, s.height, s.pix_fmt = 16, 16, "gray16le"
        if stream_tc:
            s.metadata["timecode"] = stream_tc
        for k in range(n):
            f = av.VideoFrame.from_ndarray(np.full((16, 16), 1000 * (k + 1), np.uint16), format="gray16le")
            f.pts, f.time_base = k, Fraction(1, rate)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def test_a_tmcd_data_streams_timecode_is_read_where_the_video_has_none():
    data = SimpleNamespace(type="data", metadata={"timecode": "00:10:00:00"})
    video = SimpleNamespace(type="video", metadata={})
    container = SimpleNamespace(metadata={}, streams=[video, data])
    assert input_timecode(container, video) == "00:10:00:00"


def test_an_mp4_at_1000_fps_is_written_without_the_timecode_it_cannot_count(tmp_path, caplog):
    """FFmpeg's MP4 muxer, like MOV's, builds no tmcd track at 1000 fps (and fails the header)."""
    out = tmp_path / "out.mp4"
    like = dataclasses.replace(depth_info(Fraction(1000), "gray16le", size=(16, 16)), timecode="01:00:00:00")
    with DepthWriter(out, like, codec="ffv1") as w:
        for k in range(2):
            w.write(np.full((16, 16), 1000, np.uint16), k)
    assert "timecode 01:00:00:00 is not written" in caplog.text
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video"]


def test_a_non_drop_timecode_goes_on_a_mov_at_a_1001_rate(tmp_path):
    """The timecode's trial is at the output's rate (24000/1001 takes 01:00:00:00; 1000 fps would not)."""
    out = tmp_path / "out.mov"
    like = dataclasses.replace(depth_info(Fraction(24000, 1001), "gray16le", size=(16, 16),
                                          time_base=Fraction(1001, 24000)), timecode="01:00:00:00")
    with DepthWriter(out, like, codec="png") as w:
        for k in range(2):
            w.write(np.full((16, 16), 1000, np.uint16), k)
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "data"]
        assert c.streams.video[0].metadata.get("timecode") == "01:00:00:00"


def test_the_summary_says_the_colours_timecode_the_outputs_got(tmp_path, enhancer):
    from igde_stream.stream import enhance_file

    with av.open(str(tmp_path / "c.mkv"), "w") as c:
        c.metadata["timecode"] = "03:00:00:00"
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 16, 16, "bgr0"
        for k in range(2):
            f = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 60 * (k + 1), np.uint8), format="rgb24")
            f = f.reformat(format="bgr0")
            f.pts, f.time_base = k, Fraction(1, 25)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    depth = _clip(tmp_path / "d.mkv")
    out = tmp_path / "out.mkv"
    assert enhance_file(tmp_path / "c.mkv", depth, out, enhancer=enhancer)["timecode"] == "03:00:00:00"


# ---- image headers -----------------------------------------------------------------------------------

def _refused(files, want_a, want_b, at):
    from igde_stream.errors import InputError
    from igde_stream.stream.imagehead import check_image_headers

    with pytest.raises(InputError, match=rf"pixel format changes mid-stream at frame {at} .*: {want_a} before, "
                                         rf"{want_b} from there"):
        check_image_headers([str(f) for f in files], "depth", True, "d")


def test_8_bit_rgb_tiff_then_16_bit_is_refused(tmp_path):
    """BitsPerSample of RGB holds three values (6 bytes, at an offset): FFmpeg decodes rgb24, rgb48le."""
    from test_image_headers import decoded, image

    a = image(tmp_path / "a.tif", "tiff", "rgb24", 10, 6)
    b = image(tmp_path / "b.tif", "tiff", "rgb48le", 10, 6)
    assert (decoded(a)[1], decoded(b)[1]) == ("rgb24", "rgb48le")
    _refused([a, a, b], "rgb24", "rgb48le", 2)


def _adobe(path, base, transform):
    """``base`` (a JPEG) with an APP14 "Adobe" segment after its SOI: version, two flag words, then the
    colour transform (0: RGB, 1: YCbCr), as Adobe's DCT filter technote lays it out."""
    app14 = b"\xff\xee" + struct.pack(">H", 14) + b"Adobe" + struct.pack(">HHHB", 100, 0, 0, transform)
    path.write_bytes(base[:2] + app14 + base[2:])
    return path


def test_a_jpeg_whose_adobe_transform_says_rgb_is_refused_among_ycbcr_ones(tmp_path):
    from test_image_headers import decoded, image

    base = image(tmp_path / "base.jpg", "mjpeg", "yuvj444p", 10, 6).read_bytes()
    ycc, rgb = _adobe(tmp_path / "ycc.jpg", base, 1), _adobe(tmp_path / "rgb.jpg", base, 0)
    assert (decoded(ycc)[1], decoded(rgb)[1]) == ("yuvj444p", "gbrp")
    _refused([ycc, ycc, rgb], "yuvj444p", "gbrp", 2)


def test_progressive_jpegs_are_checked_for_size(tmp_path):
    """OpenCV writes progressive JPEGs (SOF2); FFmpeg decodes the sizes given."""
    cv2 = pytest.importorskip("cv2")
    from igde_stream.errors import InputError
    from igde_stream.stream.imagehead import check_image_headers
    from test_image_headers import decoded

    rng = np.random.default_rng(0)
    files = []
    for k, h in enumerate((6, 6, 8)):
        files.append(tmp_path / f"{k}.jpg")
        cv2.imwrite(str(files[-1]), rng.integers(0, 255, (h, 10)).astype(np.uint8), [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    assert files[0].read_bytes().find(b"\xff\xc2") > 0 and decoded(files[2])[0] == (10, 8)
    with pytest.raises(InputError, match=r"frame size changes mid-stream at frame 2 \(2\.jpg\): 10x6 before, 10x8"):
        check_image_headers([str(f) for f in files], "colour", False, "c/%d.jpg")


def test_a_top_down_bmp_has_its_height(tmp_path):
    """A BMP of negative height is stored top-down (the BITMAPINFOHEADER's biHeight): FFmpeg decodes it
    at its height, beside bottom-up ones of the same size."""
    from igde_stream.stream.imagehead import check_image_headers, read_header
    from test_image_headers import decoded, image

    up = image(tmp_path / "up.bmp", "bmp", "bgr24", 10, 6)
    raw = bytearray(up.read_bytes())
    struct.pack_into("<i", raw, 22, -6)
    rows = [raw[54 + 32 * y:54 + 32 * (y + 1)] for y in range(6)]  # 10 x 3 bytes a row, padded to 32
    raw[54:54 + 32 * 6] = b"".join(reversed(rows))
    down = tmp_path / "down.bmp"
    down.write_bytes(bytes(raw))
    assert decoded(down) == decoded(up) == ((10, 6), "bgr24")
    assert read_header(str(down))[0] == (10, 6)
    check_image_headers([str(up), str(down), str(up)], "depth", True, "d")


def test_pam_of_one_and_three_planes_is_refused(tmp_path):
    """FFmpeg's PAM decoder picks the format by DEPTH and MAXVAL (the TUPLTYPE alike here): gray, rgb24."""
    from test_image_headers import decoded

    gray, rgb = tmp_path / "g.pam", tmp_path / "c.pam"
    gray.write_bytes(b"P7\nWIDTH 10\nHEIGHT 6\nDEPTH 1\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n" + bytes(60))
    rgb.write_bytes(b"P7\nWIDTH 10\nHEIGHT 6\nDEPTH 3\nMAXVAL 255\nTUPLTYPE GRAYSCALE\nENDHDR\n" + bytes(180))
    assert (decoded(gray)[1], decoded(rgb)[1]) == ("gray", "rgb24")
    _refused([gray, rgb], "gray", "rgb24", 1)


def test_16_bit_gray_dpx_then_rgb_is_refused(tmp_path):
    """The DPX image element's descriptor (byte 800: 6 luma, 50 RGB) decides the format."""
    from test_image_headers import decoded, image

    a = image(tmp_path / "a.dpx", "dpx", "gray16le", 10, 6)
    b = image(tmp_path / "b.dpx", "dpx", "rgb48le", 10, 6)
    assert (a.read_bytes()[800], b.read_bytes()[800]) == (6, 50)
    want = decoded(a)[1], decoded(b)[1]
    assert want[0] != want[1]
    _refused([a, b], *want, 1)


def test_openexr_size_is_the_display_window_not_the_data_window(tmp_path):
    """A render cropped to its data window (8 x 4 of a 10 x 6 display window): FFmpeg decodes 10 x 6."""
    from igde_stream.stream.imagehead import read_header
    from test_image_headers import _attr, decoded

    chlist = b"Y\0" + struct.pack("<iB3xii", 2, 0, 1, 1) + b"\0"
    header = (b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + _attr("channels", "chlist", chlist)
              + _attr("compression", "compression", b"\0")
              + _attr("dataWindow", "box2i", struct.pack("<4i", 0, 0, 7, 3))
              + _attr("displayWindow", "box2i", struct.pack("<4i", 0, 0, 9, 5)) + _attr("lineOrder", "lineOrder", b"\0")
              + _attr("pixelAspectRatio", "float", struct.pack("<f", 1)) + _attr("screenWindowCenter", "v2f", bytes(8))
              + _attr("screenWindowWidth", "float", struct.pack("<f", 1)) + b"\0")
    line = np.full(8, 3.0, "<f4").tobytes()
    lines = [struct.pack("<ii", y, len(line)) + line for y in range(4)]
    offsets = [len(header) + 8 * 4 + y * len(lines[0]) for y in range(4)]
    path = tmp_path / "crop.exr"
    path.write_bytes(header + struct.pack("<4Q", *offsets) + b"".join(lines))
    assert read_header(str(path))[0] == decoded(path)[0] == (10, 6)


def test_a_depth_channel_named_depth_in_capitals_beside_rgb_is_read_as_the_depth(tmp_path):
    """A channel named Depth (any case) beside R, G, B is the depth: read from it (9), not from the
    colour channels (5), which FFmpeg alone would give (refused before the channel was read)."""
    import numpy as np

    from igde_stream.stream.reader import VideoReader
    from test_image_headers import _exr

    _exr(tmp_path / "0.exr", [("B", 5.0), ("Depth", 9.0), ("G", 5.0), ("R", 5.0)])
    with VideoReader(str(tmp_path / "0.exr"), "depth") as r:
        assert set(np.unique(next(r.frames()).data)) == {9.0}


# ---- live ends ---------------------------------------------------------------------------------------

def _live_shared(container, scheme, timeout=5.0):
    from igde_stream.stream import urls

    return SimpleNamespace(datagram=scheme in urls.DATAGRAM_SCHEMES, closes=scheme in urls.CLOSING_SCHEMES,
                           rtp=scheme in urls.RTP_SCHEMES, net_timeout=timeout, name=f"{scheme}://127.0.0.1/a",
                           container=container)


def test_an_rtmp_io_error_after_waiting_the_timeout_is_a_stall_not_the_end(two_stream_nut):
    """FFmpeg keeps an I/O error once its own timeout struck: after --net-timeout of silence (0.2 s
    here) an RTMP EIO is a stall, which goes up; only a close (EIO at once) ends the stream."""
    import time

    from igde_stream.stream.netends import live_packets

    def demux():
        it = two_stream_nut.demux()
        yield next(it)
        time.sleep(0.2)
        raise av.error.OSError(5, "Input/output error")

    with pytest.raises(av.error.OSError):
        list(live_packets(_live_shared(two_stream_nut, "rtmp", timeout=0.2), demux()))


def test_rtsp_packets_that_never_get_a_time_are_handed_on_at_the_end(two_stream_nut):
    """A stream that ends before any timed packet: its held packets come out, untimed, as they came."""
    from igde_stream.stream.netends import live_packets

    packets = [p for p in two_stream_nut.demux() if p.size]
    for p in packets:
        p.pts = p.dts = None
    got = list(live_packets(_live_shared(two_stream_nut, "rtsp"), iter(packets)))
    assert sorted(p.stream.index for p in got) == sorted(p.stream.index for p in packets)


# ---- colour conversion, post-production refusals -----------------------------------------------------

def test_high_bit_colour_shrunk_on_the_exact_path_is_area_averaged(tmp_path):
    """10-bit 4:4:4 noise halved: each pixel near the mean of its 2 x 2 block (BT.709 limited range by
    hand in NumPy); swscale's area kernel is within 3.1 levels on average here, its bicubic 12."""
    from igde_stream.stream.reader import VideoReader

    h, w = 32, 64
    rng = np.random.default_rng(5)
    y, u, v = (rng.integers(lo, hi, (h, w)).astype(np.uint16) for lo, hi in ((100, 900), (300, 700), (300, 700)))
    path = tmp_path / "c.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = w, h, "yuv444p10le"
        s.codec_context.colorspace, s.codec_context.color_range = 1, 1
        f = av.VideoFrame(w, h, "yuv444p10le")
        for p, a in zip(f.planes, (y, u, v)):
            np.frombuffer(p, np.uint16).reshape(p.height, -1)[:, :w] = a
        f.colorspace, f.color_range, f.pts, f.time_base = 1, 1, 0, Fraction(1, 25)
        for p in [*s.encode(f), *s.encode()]:
            c.mux(p)
    yf, uf, vf = (y.astype(float) - 64) / 876, (u.astype(float) - 512) / 896, (v.astype(float) - 512) / 896
    r, b = yf + 2 * (1 - 0.2126) * vf, yf + 2 * (1 - 0.0722) * uf
    g = (yf - 0.2126 * r - 0.0722 * b) / (1 - 0.2126 - 0.0722)
    want = np.clip(np.stack([r, g, b], -1) * 255, 0, 255).reshape(h // 2, 2, w // 2, 2, 3).mean((1, 3))
    with VideoReader(path, "color", size=(w // 2, h // 2)) as rd:
        got = next(iter(rd.frames())).data
    assert np.abs(got - want).mean() < 6


def test_ffv1_in_3gp_points_to_the_lossless_quicktime_codecs(tmp_path):
    """3GP is FFmpeg's MOV muxer in another mode: no FFV1 there either, PNG / TIFF / DPX are."""
    from igde_stream.errors import OutputError

    with pytest.raises(OutputError, match=r"png, tiff or dpx \(lossless gray\) in \.mov"):
        DepthWriter(tmp_path / "out.3gp", depth_info(Fraction(25), "gray16le", size=(16, 16)), codec="ffv1")


# ---- one stream read as colour and depth -------------------------------------------------------------

def _reader(path, n_video=1):
    stream = SimpleNamespace(index=0)
    container = SimpleNamespace(streams=SimpleNamespace(video=[stream, *[SimpleNamespace(index=k)
                                                                          for k in range(1, n_video)]]))
    return SimpleNamespace(path=path, packed_half=None, stream=stream, container=container,
                           info=SimpleNamespace(pix_fmt="yuv420p"))


def test_one_url_given_twice_says_the_stream_holds_one_video_stream():
    """A URL, like stdin, is read once: given as colour and depth it is one stream, and the message says
    how to send both (the second input, or one stream holding two)."""
    from igde_stream.errors import InputError
    from igde_stream.stream.roles import check_distinct

    url = "rtmp://127.0.0.1:1935/live/a"
    with pytest.raises(InputError, match=r"colour and depth both read the stream, which holds one video stream "
                                         r"\(yuv420p\): send one holding both video streams, give the depth as a "
                                         r"second input \(URL DEPTH -o OUT\)"):
        check_distinct(_reader(url), _reader(url))


def test_untimed_rtsp_packets_are_placed_a_frame_of_the_streams_own_rate_before(tmp_path):
    """29.97 fps in a 1/1000 s time base (frame k at round(k x 1001 / 30) ms: 0, 33, 67): the untimed
    first packet goes one frame (33 ticks) before the first timed one, at 0 where the file has it."""
    from igde_stream.stream.netends import live_packets

    path = tmp_path / "a.mkv"
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=Fraction(30000, 1001))
        s.width, s.height, s.pix_fmt = 16, 8, "gray"
        s.time_base = s.codec_context.time_base = Fraction(1, 1000)
        for k in range(4):
            f = av.VideoFrame.from_ndarray(np.full((8, 16), 9 * k, np.uint8), format="gray")
            f.pts, f.time_base = round(k * 1001 / 30), Fraction(1, 1000)
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    with av.open(str(path)) as c:
        packets = [p for p in c.demux() if p.size]
        assert [p.pts for p in packets] == [0, 33, 67, 100]
        packets[0].pts = packets[0].dts = None
        got = [p.pts for p in live_packets(_live_shared(c, "rtsp"), iter(packets))]
    assert got == [0, 33, 67, 100]


def _bmp32(path, alpha):
    """A 32-bit BI_BITFIELDS BMP (BITMAPV4HEADER, 108 bytes) of R, G, B masks 0xFF000000, 0xFF0000,
    0xFF00 and alpha mask ``alpha``: the four masks at bytes 54 to 70 of the file."""
    w, h = 10, 6
    data = bytes(4 * w * h)
    info = struct.pack("<IiiHHIIiiII", 108, w, h, 1, 32, 3, len(data), 2835, 2835, 0, 0)
    info = (info + struct.pack("<4I", 0xFF000000, 0xFF0000, 0xFF00, alpha)).ljust(108, b"\0")
    path.write_bytes(b"BM" + struct.pack("<IHHI", 14 + len(info) + len(data), 0, 0, 14 + len(info)) + info + data)
    return path


def test_a_bmp_whose_alpha_mask_goes_is_refused(tmp_path):
    """FFmpeg's BMP decoder reads the alpha mask of such a file: abgr with one, 0bgr without."""
    from test_image_headers import decoded

    a, b = _bmp32(tmp_path / "a.bmp", 0xFF), _bmp32(tmp_path / "b.bmp", 0)
    assert (decoded(a)[1], decoded(b)[1]) == ("abgr", "0bgr")
    _refused([a, a, b], "abgr", "0bgr", 2)


def test_an_rtsp_stream_that_ends_before_any_timestamp_decodes_its_frames(tmp_path):
    """Every packet untimed up to the end (one frame sent, say): PyAV's demuxer then gives the stream's
    empty end packet, which must come after the held packets; before, it went first, the decoder was
    drained before any frame, and the first held packet failed with "End of file"."""
    from test_pipes import nut_bytes

    from igde_stream.stream.netends import live_packets

    frames = [np.full((8, 16), 9 * i, np.uint8) for i in range(3)]
    (tmp_path / "a.nut").write_bytes(nut_bytes([("gray", frames)]))
    with av.open(str(tmp_path / "a.nut")) as c:
        packets = list(c.demux())  # the data packets, then the empty end packet
        assert [p.size > 0 for p in packets] == [True, True, True, False]
        for p in packets:
            p.pts = p.dts = None
        got = list(live_packets(_live_shared(c, "rtsp"), iter(packets)))
        assert [p.size > 0 for p in got] == [True, True, True, False]
        decoded = [f.to_ndarray() for p in got for f in p.decode()]
    assert [int(d[0, 0]) for d in decoded] == [0, 9, 18]


def test_the_timecode_is_the_chosen_streams(tmp_path):
    """A file of colour (stream 0, tagged 10:00:00:00) and depth (stream 1, tagged 01:00:00:00): the
    depth reader's timecode is its own stream's, as FFmpeg's demuxer gives each stream's tag."""
    from igde_stream.stream.reader import VideoReader

    path = tmp_path / "both.mkv"
    with av.open(str(path), "w") as c:
        sc, sd = c.add_stream("ffv1", rate=25), c.add_stream("ffv1", rate=25)
        sc.width, sc.height, sc.pix_fmt = 16, 16, "bgr0"
        sd.width, sd.height, sd.pix_fmt = 16, 16, "gray16le"
        sc.metadata["timecode"], sd.metadata["timecode"] = "10:00:00:00", "01:00:00:00"
        for k in range(2):
            fc = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 50, np.uint8), format="rgb24").reformat(format="bgr0")
            fd = av.VideoFrame.from_ndarray(np.full((16, 16), 3000, np.uint16), format="gray16le")
            for s, f in ((sc, fc), (sd, fd)):
                f.pts, f.time_base = k, Fraction(1, 25)
                for p in s.encode(f):
                    c.mux(p)
        for s in (sc, sd):
            for p in s.encode():
                c.mux(p)
    with av.open(str(path)) as c:
        tags = [{k.lower(): v for k, v in s.metadata.items()}.get("timecode") for s in c.streams.video]
    assert tags == ["10:00:00:00", "01:00:00:00"]  # Matroska's per-track TIMECODE tags
    with VideoReader(str(path), "depth") as r:
        assert r.stream.index == 1 and r.info.timecode == "01:00:00:00"


def test_views_in_mp4_keep_a_start_that_is_no_whole_millisecond(tmp_path):
    """Views at 25 fps from 1.5015 s in a 1/30000 s time base (frames 1200 ticks apart): MP4's edit
    list in 1/1000 s would say 1.501 s (or in a time scale from another figure than the start, 1/5 s
    for pts / rate = 45045 / 25, 1.4 s); the movie time scale goes to the start's own, 1/2000 s."""
    from igde_stream.stream.view_writers import ColorWriter

    out = tmp_path / "views.mp4"
    w = ColorWriter(out, "h264", Fraction(25), Fraction(1, 30000))
    for k in range(4):
        w.write(np.full((48, 64, 3), 30 * k, np.uint8), 45045 + 1200 * k)
    w.commit()
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    assert times == pytest.approx([1.5015 + k * 0.04 for k in range(4)], abs=1e-6)
