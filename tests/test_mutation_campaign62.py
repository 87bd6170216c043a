"""Mutation campaign 62: the gaps its survivors showed in the modules written in session 62 (timecodes,
colour conversion, the live inputs' ends, the Enhancer's input checks, the strips' reach, the
outputs' start). Expected values come from FFmpeg's own command line or messages, NumPy, or by hand
from the documented definitions; never from the function under test."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest


# ---- stream/timecode.py ------------------------------------------------------------------------

def test_a_rate_the_muxer_refuses_anyway_is_not_the_timecodes_refusal():
    """``timecode_refused`` is a bool, and False where the muxer refuses the untagged file as well:
    FFmpeg's MXF muxer takes no 7 fps file at all (``ffmpeg ... -r 7 -f mxf``: "Unsupported frame rate
    7/1"), so the timecode is not what it refuses; at 1000 fps MOV refuses only the tagged file
    ("fps 1000 is too large" from its tmcd track)."""
    from igde_stream.stream.timecode import timecode_refused

    assert timecode_refused("mxf", Fraction(7), "01:00:00:00") is False
    assert timecode_refused("mov", Fraction(1000), "01:00:00:00") is True
    assert timecode_refused("mov", Fraction(25), "01:00:00:00") is False


# ---- stream/rgb.py -----------------------------------------------------------------------------

def _yuv422p10(h=32, w=64, seed=0):
    """A 10-bit 4:2:2 BT.709 limited-range frame of random samples (chroma differs pixel to pixel)."""
    import av

    rng = np.random.default_rng(seed)
    f = av.VideoFrame(w, h, "yuv422p10le")
    planes = []
    for p, (lo, hi) in zip(f.planes, [(64, 941), (64, 961), (64, 961)]):
        a = rng.integers(lo, hi, (p.height, p.width)).astype("<u2")
        np.frombuffer(p, np.uint8).reshape(p.height, -1)[:, :2 * p.width] = a.view(np.uint8)
        planes.append(a.astype(float))
    f.colorspace, f.color_range = 1, 1
    return f, planes


def test_exact_path_interpolates_chroma_bilinearly_and_converts_by_bt709():
    """``EXACT``'s chroma: each 4:2:2 sample sits between its two luma columns, so a full-resolution
    column takes 3/4 of its own sample and 1/4 of the neighbour on its side (the edge one repeated);
    then the BT.709 limited-range formulas, rounded. Written out in NumPy; bicubic interpolation (or
    swscale's default kernel) is up to 51 levels off on this random chroma."""
    import av

    from igde_stream.stream.rgb import colour_rgb

    f, (y, u, v) = _yuv422p10()

    def up(c):
        prev, nxt = np.concatenate([c[:, :1], c[:, :-1]], 1), np.concatenate([c[:, 1:], c[:, -1:]], 1)
        out = np.empty((c.shape[0], 2 * c.shape[1]))
        out[:, 0::2], out[:, 1::2] = 0.75 * c + 0.25 * prev, 0.75 * c + 0.25 * nxt
        return out

    yy, uu, vv = (y - 64) / 876, (up(u) - 512) / 896, (up(v) - 512) / 896
    kr, kb = 0.2126, 0.0722
    r, b = yy + 2 * (1 - kr) * vv, yy + 2 * (1 - kb) * uu
    g = (yy - kr * r - kb * b) / (1 - kr - kb)
    want = np.clip(np.rint(np.stack([r, g, b], -1) * 255), 0, 255)
    got = colour_rgb(f, av.video.reformatter.VideoReformatter())
    err = np.abs(got.astype(float) - want)
    assert got.shape == (32, 64, 3) and err.max() <= 1 and err.mean() < 0.05, (err.max(), err.mean())


def test_nine_bit_yuv_takes_the_exact_path():
    """"More than 8 bits a component": 9-bit YUV is on the exact path, 8-bit is not."""
    import av

    from igde_stream.stream.rgb import exact_path

    assert exact_path(av.VideoFormat("yuv420p9le")) and exact_path(av.VideoFormat("yuv444p9le"))
    assert not exact_path(av.VideoFormat("yuv444p"))


@pytest.mark.parametrize("size", [(32, 16), (128, 64), (20, 50), (50, 20), (16, 200)])
def test_a_resized_colour_is_shrunk_by_area_and_enlarged_bicubically(size):
    """The documented choice, by the pixel counts: fewer pixels than the frame -> swscale's area
    averaging, as many or more -> bicubic (each reference PyAV's named interpolation on the same 8-bit
    frame); a halving is the 2 x 2 block means (NumPy) within a level."""
    import av

    from igde_stream.stream.rgb import colour_rgb

    rgb = np.random.default_rng(1).integers(0, 256, (32, 64, 3)).astype(np.uint8)
    f = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    kernel = "BICUBIC" if size[0] * size[1] >= 64 * 32 else "AREA"
    other = {"AREA": "BICUBIC", "BICUBIC": "AREA"}[kernel]
    want = f.reformat(*size, "rgb24", interpolation=kernel).to_ndarray()
    assert np.abs(want.astype(int) - f.reformat(*size, "rgb24", interpolation=other).to_ndarray()).max() > 2
    got = colour_rgb(f, av.video.reformatter.VideoReformatter(), size)
    assert got.shape == (size[1], size[0], 3) and np.array_equal(got, want)
    if size == (32, 16):
        means = rgb.reshape(16, 2, 32, 2, 3).mean(axis=(1, 3))
        assert np.abs(got - means).max() <= 1


def test_an_enlarged_high_bit_colour_keeps_its_flat_colours_exactly():
    """Enlarged 2x on the exact path: inside flat 16 x 16 patches (4 pixels in from their edges, 8 at
    the double size) every pixel is the BT.709 arithmetic's colour within a level (NumPy on the stored
    planes); swscale's default path is up to 3 levels off there."""
    import av

    from igde_stream.stream.rgb import colour_rgb

    pal = np.random.default_rng(3).integers(0, 256, (2, 4, 3)).astype(np.uint8)
    rgb = np.kron(pal, np.ones((16, 16, 1), np.uint8))
    f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format="yuv422p10le", dst_colorspace=1,
                                                                  dst_color_range=1)
    f.colorspace, f.color_range = 1, 1
    y, u, v = (np.frombuffer(p, "<u2").reshape(p.height, -1)[:, :p.width].astype(float) for p in f.planes[:3])
    yy, uu, vv = (y - 64) / 876, (np.repeat(u, 2, 1) - 512) / 896, (np.repeat(v, 2, 1) - 512) / 896
    kr, kb = 0.2126, 0.0722
    r, b = yy + 2 * (1 - kr) * vv, yy + 2 * (1 - kb) * uu
    g = (yy - kr * r - kb * b) / (1 - kr - kb)
    want = np.clip(np.rint(np.stack([r, g, b], -1) * 255), 0, 255).repeat(2, 0).repeat(2, 1)
    inside = np.zeros((32, 64), bool)
    for i in range(0, 32, 16):
        for j in range(0, 64, 16):
            inside[i + 4:i + 12, j + 4:j + 12] = True
    got = colour_rgb(f, av.video.reformatter.VideoReformatter(), (128, 64))
    err = np.abs(got.astype(float) - want)[inside.repeat(2, 0).repeat(2, 1)]
    assert got.shape == (64, 128, 3) and err.max() <= 1, err.max()


# ---- stream/containers.py: keep_start, mp4_rate_note -------------------------------------------

def _output(muxer, codec="mpeg4"):
    import io

    import av

    c = av.open(io.BytesIO(), "w", format=muxer)
    s = c.add_stream(codec, rate=25)
    s.width, s.height, s.pix_fmt = 16, 16, "yuv420p"
    return c, s


@pytest.mark.parametrize("first, timescale", [(Fraction(3, 2), None), (Fraction(0), None),
                                              (Fraction(1, 1000), None), (Fraction(3003, 2000), "2000")])
def test_mp4_keeps_the_default_movie_timescale_where_it_holds_the_start(first, timescale):
    """1/1000 s holds 1.5 s, 0 and 1 ms exactly (the default time scale stays: no option); 1.5015 s =
    3003/2000 needs 1/2000."""
    from igde_stream.stream.containers import keep_start

    c, s = _output("mp4")
    try:
        keep_start(c, s, first, Fraction(25))
        assert c.options.get("movie_timescale") == timescale
    finally:
        c.close()


@pytest.mark.parametrize("b_frames, said", [(0, None), (1, "without B-frames"), (2, "without B-frames")])
def test_mpegts_near_zero_turns_off_only_b_frames_that_are_on(b_frames, said):
    """MPEG-TS, first frame at 0 (within the reordering delay): an encoder with B-frames is set to none
    and the log says so; one without B-frames is left as it is and nothing is said."""
    from igde_stream.stream.containers import keep_start

    c, s = _output("mpegts")
    try:
        s.codec_context.max_b_frames = b_frames
        note = keep_start(c, s, Fraction(0), Fraction(25))
        assert s.codec_context.max_b_frames == 0
        assert (note if note is None else said in note and "0.000 s" in note) == (said if said is None else True)
    finally:
        c.close()


@pytest.mark.parametrize("frames, dts, pts, said", [
    (3, Fraction(12, 100), Fraction(8, 100), "18.750 fps, not 25.000"),  # a frame apart: 3 / 0.16, 3 / 0.12
    (2, Fraction(10, 100), Fraction(4, 100), "14.286 fps, not 25.000"),  # 2 / 0.14, 2 / 0.08
    (2, Fraction(7, 100), Fraction(4, 100), "18.182 fps, not 25.000"),  # 3/4 frame apart: 2 / 0.11
    (2, Fraction(6, 100), Fraction(4, 100), None),  # exactly half a frame apart: within
    (2, Fraction(56, 1000), Fraction(4, 100), None),  # 0.4 frame apart
    (1, Fraction(0), Fraction(0), None),
])
def test_mp4_rate_note_by_hand(frames, dts, pts, said):
    """At 25 fps (a frame 0.04 s): the track's average as MP4 reads it, frames / (dts span + a frame),
    against frames / (pts span + a frame); nothing said within half a frame (0.02 s)."""
    from igde_stream.stream.containers import mp4_rate_note

    note = mp4_rate_note("mp4", frames, dts, pts, Fraction(25))
    assert (note is None) if said is None else (said in note and note.startswith("mp4 ")), note
    assert mp4_rate_note("matroska", frames, dts, pts, Fraction(25)) is None


# ---- stream/imagehead.py: headers written by hand from the formats' specifications ----------------

def _sof(marker, comps=((1, 0x22, 0), (2, 0x11, 1), (3, 0x11, 1)), h=16, w=32):
    """A JPEG SOFn segment (ITU T.81 B.2.2): length, precision 8, height, width, components."""
    import struct

    body = struct.pack(">BHHB", 8, h, w, len(comps)) + b"".join(bytes(c) for c in comps)
    return b"\xff" + bytes([marker]) + struct.pack(">H", 2 + len(body)) + body


def _header_of(tmp_path, data, name="x.img"):
    from igde_stream.stream.imagehead import read_header

    (tmp_path / name).write_bytes(data)
    return read_header(str(tmp_path / name))


@pytest.mark.parametrize("before", [b"", b"\xff\xd7", b"\xff\xd0\xff\xd7"])
def test_a_jpeg_sof_gives_its_size_and_each_components_sampling(tmp_path, before):
    """SOF0 of three components sampled 2x2, 1x1, 1x1 (4:2:0) at 32 x 16; restart markers RST0..RST7
    (FFD0..FFD7) carry no length and are passed over."""
    got = _header_of(tmp_path, b"\xff\xd8" + before + _sof(0xC0) + b"\xff\xda\x00\x02")
    assert got == ((32, 16), ("jpeg", 0xC0, 8, 3, (0x22, 0x11, 0x11), None))


def test_an_arithmetic_coded_jpeg_sof9_is_a_frame_header(tmp_path):
    """SOF9 (FFC9, extended sequential, arithmetic coding) is a start of frame like SOF0 (T.81 B.1.1.3)."""
    got = _header_of(tmp_path, b"\xff\xd8" + _sof(0xC9, comps=((1, 0x11, 0),)) + b"\xff\xda\x00\x02")
    assert got == ((32, 16), ("jpeg", 0xC9, 8, 1, (0x11,), None))


def test_a_jpeg_that_ends_before_any_sof_has_no_header(tmp_path):
    """EOI (FFD9) before a frame header: no image, whatever bytes follow."""
    assert _header_of(tmp_path, b"\xff\xd8\xff\xd9\x00\x02" + _sof(0xC0)) is None


def test_a_png_cut_right_after_its_ihdr_fields_still_gives_them(tmp_path):
    """26 bytes: the signature, IHDR's length and name, width, height, bit depth and colour type."""
    import struct

    data = b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + struct.pack(">IIBB", 40, 30, 16, 0)
    assert len(data) == 26 and _header_of(tmp_path, data) == ((40, 30), ("png", 16, 0))


def test_a_bmp_cut_after_its_compression_field_still_gives_the_size(tmp_path):
    """BITMAPINFOHEADER (40 bytes) cut at byte 40: width, height (negative: top-down), bits and
    compression are all in the first 34 bytes."""
    import struct

    data = b"BM" + struct.pack("<IHHI", 0, 0, 0, 54) + struct.pack("<IiiHHI", 40, 24, -10, 1, 24, 0)
    data += b"\0" * (40 - len(data))
    assert _header_of(tmp_path, data) == ((24, 10), ("bmp", 40, 24, 0, b""))


def _exr_head(flags):
    """An OpenEXR header (openexr.com, "OpenEXR File Layout"): magic, version 2 with ``flags``, a
    ``channels`` chlist of one FLOAT channel Z, a 40 x 30 ``displayWindow``, the empty name ending it."""
    import struct

    def attr(name, kind, value):
        return name + b"\0" + kind + b"\0" + struct.pack("<i", len(value)) + value

    chlist = b"Z\0" + struct.pack("<iB3xii", 2, 0, 1, 1) + b"\0"
    return (b"\x76\x2f\x31\x01" + bytes([2, flags, 0, 0]) + attr(b"channels", b"chlist", chlist)
            + attr(b"displayWindow", b"box2i", struct.pack("<4i", 0, 0, 39, 29)) + b"\0")


def test_exr_signature_keeps_the_version_flags(tmp_path):
    """A scan-line and a tiled (flag bit 9) file of the same channels differ in signature."""
    lines, tiles = _header_of(tmp_path, _exr_head(0), "a.exr"), _header_of(tmp_path, _exr_head(2), "b.exr")
    assert lines == ((40, 30), ("exr", b"\x02\x00\x00\x00", (("Z", 2),)))
    assert tiles[0] == (40, 30) and tiles[1][1] == b"\x02\x02\x00\x00" and tiles != lines


# ---- stream/netends.py ---------------------------------------------------------------------------

def _packet(stream, pts, dts=None, size=10):
    from types import SimpleNamespace

    return SimpleNamespace(stream=stream, pts=pts, dts=dts, size=size)


def _stream(index=0, rate=None, time_base=Fraction(1, 90000)):
    from types import SimpleNamespace

    return SimpleNamespace(index=index, average_rate=rate, guessed_rate=None, base_rate=None, time_base=time_base)


@pytest.mark.parametrize("rate, time_base, step", [
    (None, Fraction(1, 90000), 3600),  # no rate given: 25 fps, 90000 / 25 ticks a frame
    (Fraction(30000, 1001), Fraction(1, 90000), 3003),
    (Fraction(50), Fraction(1, 25), 1),  # a frame shorter than a tick: one tick apart, still in order
    (Fraction(25), None, 1),  # no time base: one unit apart
])
def test_leading_untimed_packets_go_one_frame_apart_before_the_first_timed_one(rate, time_base, step):
    """Two untimed RTP packets, then one at pts 100000 (dts 99000, as a B-frame stream's): the held
    ones get pts and dts 2 and 1 frames earlier, each from its own of the two (by hand)."""
    from igde_stream.stream.netends import _Leading

    s = _stream(rate=rate, time_base=time_base)
    lead = _Leading()
    a, b, c = _packet(s, None), _packet(s, None), _packet(s, 100000, 99000)
    assert lead.feed(a) == [] and lead.feed(b) == []
    got = lead.feed(c)
    assert got == [a, b, c]
    assert [(p.pts, p.dts) for p in got] == [(100000 - 2 * step, 99000 - 2 * step),
                                              (100000 - step, 99000 - step), (100000, 99000)]


def test_a_stall_is_told_from_a_waiting_time_of_nine_tenths_of_the_timeout():
    """A failure after waiting 0.9 x --net-timeout or more is the timeout's (9 s of 10 is)."""
    from types import SimpleNamespace

    from igde_stream.stream.netends import stall_problem

    shared, exc = SimpleNamespace(net_timeout=10.0), ValueError("Invalid data found when processing input")
    assert stall_problem(shared, exc, 9.0) == "nothing received within 10 s (--net-timeout)"
    assert stall_problem(shared, exc, 8.99) is None


def test_udp_silence_after_a_packet_ends_the_stream_with_a_warning(caplog):
    """A datagram input that times out after its first packet: the packet, then one empty (draining)
    packet per video stream, and the warning names the timeout; nothing is raised."""
    import logging
    from types import SimpleNamespace

    import av

    from igde_stream.stream.netends import live_packets

    class Container:
        streams = SimpleNamespace(video=[])

    shared = SimpleNamespace(datagram=True, closes=False, rtp=False, net_timeout=5.0, name="udp://127.0.0.1:5000",
                             container=Container())

    def demux():
        yield "first"
        raise av.error.ExitError(-0x54495845, "Immediate exit requested")

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        got = list(live_packets(shared, demux()))
    assert got == ["first"]
    assert any(m.startswith("udp://127.0.0.1:5000: nothing more received within 5 s (--net-timeout): taken as the end")
               for m in caplog.messages), caplog.messages


# ---- enhancer_inputs.py --------------------------------------------------------------------------

@pytest.mark.parametrize("shape, have", [
    ((8, 16, 4), "4 channels (RGBA? drop alpha: color[..., :3])"),
    ((8, 16, 5), "5 channels; wanted"),
    ((2, 8, 16, 1), "1 channel (gray? np.repeat(color, 3, axis=-1) is the RGB the command reads gray colour as)"),
    ((3, 8, 16), "16 channels (channels first? move them last)"),
    ((2, 3, 8, 16), "16 channels (channels first? move them last)"),
    ((8, 16, 2), "2 channels; wanted"),
])
def test_a_colour_of_the_wrong_channels_is_named_with_its_likely_cause(shape, have):
    """Four channels: RGBA, drop alpha; a 3 before the two image axes: channels first; else the count."""
    from igde_stream.enhancer_inputs import check_layout
    from igde_stream.errors import EnhancerError

    depth = np.zeros(shape[:-1] if shape[-1] in (4, 5, 1) else (8, 16), np.uint16)
    with pytest.raises(EnhancerError) as err:
        check_layout(np.zeros(shape, np.uint8), depth)
    said = str(err.value)
    assert said.startswith(f"colour is {' x '.join(map(str, shape))}: {have}"), said
    assert ("RGBA" in said) == (shape[-1] == 4) and ("channels first" in said) == (shape[-3] == 3)


# ---- strips.py: DEN + CBPN's reach, by hand from the convolutions' arithmetic ---------------------

def test_one_back_projection_stage_reach_by_hand():
    """A 6 x 6 conv at stride 2, padding 2: low row j reads full rows 2j - 2 .. 2j + 3; its transpose
    gives full row i from low rows ceil((i - 3) / 2) .. floor((i + 2) / 2). Up (transposed) then down
    (strided), three times, back from output rows lo..hi:
    0..0 -> -1..1 -> -4..5 -> -3..3 -> -8..9 -> -5..5 -> -12..13;
    -1..1 -> -2..1 -> -6..5 -> -4..3 -> -10..9 -> -6..5 -> -14..13;
    -14..13 -> -8..7 -> -18..17 -> -10..9 -> -22..21 -> -12..11 -> -26..25."""
    from igde_stream.strips import _dbpn_stage

    assert _dbpn_stage(0, 0) == (-12, 13)
    assert _dbpn_stage(-1, 1) == (-14, 13)
    assert _dbpn_stage(-14, 13) == (-26, 25)


@pytest.mark.parametrize("stages, reach", [(1, 14), (2, 26)])
def test_den_cbpn_rows_read_adds_the_feature_conv_the_den_and_an_odd_row(stages, reach):
    """The 3x3 head (rows -1..1), the stages' reach (above), then one row for the feature conv,
    den_depth for the DEN's 3x3 convs, one for the DEN's head and one for an odd frame's last row."""
    from igde_stream.strips import rows_read

    cfg = {"den_width": 8, "den_depth": 3, "width": 8, "stages": stages}
    assert rows_read(cfg) == reach + 1 + 3 + 1 + 1
