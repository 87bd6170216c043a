"""streams' choices by hand on stand-in streams (fast: no video): HDR / BT.2020 tags by PyAV's own
enums, the --color-stream / --depth-stream range, the bit-depth warning only where an 8-bit stream
is there to be the colour (also beside a stream without a decoder), and equal frame counts pairing."""

from __future__ import annotations

import logging
from fractions import Fraction
from types import SimpleNamespace as NS

import pytest
from av.video.reformatter import ColorPrimaries, ColorTrc

from igde_stream.errors import InputError, PairingError
from igde_stream.stream.streams import _depth_score, check_same_length, choose_stream


def _s(pix_fmt, trc=ColorTrc.BT709, primaries=ColorPrimaries.BT709):
    return NS(codec_context=NS(pix_fmt=pix_fmt, color_trc=int(trc), color_primaries=int(primaries)), disposition=0)


def _input(*streams):
    return NS(streams=NS(video=list(streams)))


@pytest.mark.parametrize("trc, primaries, score", [
    (ColorTrc.SMPTE2084, ColorPrimaries.BT709, -1),  # PQ
    (ColorTrc.ARIB_STD_B67, ColorPrimaries.BT709, -1),  # HLG
    (ColorTrc.BT709, ColorPrimaries.BT2020, -1),
    (ColorTrc.BT2020_10, ColorPrimaries.BT709, 1),  # SDR BT.2020 transfer: not HDR
    (ColorTrc.SMPTE428, ColorPrimaries.SMPTE428, 1),
    (ColorTrc.UNSPECIFIED, ColorPrimaries.UNSPECIFIED, 1),
])
def test_hdr_transfers_and_bt2020_primaries_mark_colour(trc, primaries, score):
    """A 10-bit YUV stream scores 1 (may be depth), -1 (colour for sure) when tagged PQ or HLG
    (ColorTrc SMPTE2084 / ARIB_STD_B67) or BT.2020 primaries, by PyAV's enums."""
    assert _depth_score(_s("yuv420p10le", trc, primaries)) == score


def test_a_stream_without_a_decoder_scores_as_other_and_the_warning_says_so(caplog):
    """The docstring: no codec context (no decoder) scores 0, like 8-bit YUV. Beside a 10-bit stream
    the depth is the 10-bit one, and the bit-depth warning names the other "no decoder" (it raised
    AttributeError on the missing codec context)."""
    nodec = NS(codec_context=None, disposition=0)
    assert _depth_score(nodec) == 0
    ten = _s("yuv420p10le")
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert choose_stream(_input(nodec, ten), "depth", None, "x.mkv") is ten
    (said,) = [m for m in caplog.messages if "by bit depth alone" in m]
    assert "depth taken from video stream 1 (yuv420p10le) and colour from stream 0 (no decoder)" in said
    assert "if they are the other way round, give --color-stream 1 --depth-stream 0" in said


def test_two_10_bit_streams_need_no_warning(caplog):
    """Nothing scores 0 (no 8-bit stream to be the colour): the first 10-bit stream is the depth, no
    bit-depth warning."""
    a, b = _s("yuv420p10le"), _s("yuv422p10le")
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert choose_stream(_input(a, b), "depth", None, "x.mkv") is a
        assert choose_stream(_input(a, b), "color", None, "x.mkv") is a
    assert not [m for m in caplog.messages if "bit depth alone" in m]


@pytest.mark.parametrize("role, option", [("color", "--color-stream"), ("depth", "--depth-stream")])
def test_a_stream_index_is_counted_from_0_among_video_streams(role, option):
    """Index 0 and 1 of two video streams are taken as given (even the gray one as colour); -1 and 2
    are refused naming the role's option and the range 0..1."""
    gray, yuv = _s("gray"), _s("yuv420p")
    c = _input(gray, yuv)
    assert choose_stream(c, role, 0, "x.mkv") is gray and choose_stream(c, role, 1, "x.mkv") is yuv
    for bad in (-1, 2):
        with pytest.raises(InputError, match=rf"^x.mkv: {option} {bad}: the input has 2 video streams \(0..1\)$"):
            choose_stream(c, role, bad, "x.mkv")
    with pytest.raises(InputError, match=rf"{option} 1: the input has 1 video stream \(0..0\)$"):
        choose_stream(_input(gray), role, 1, "x.mkv")


def _info(kind, frames):
    return NS(kind=kind, frames=frames, path=f"{kind}.x", rate=Fraction(25))


def test_untimed_inputs_of_equal_frame_counts_pair():
    check_same_length(_info("sequence", 5), _info("raw", 5))
    check_same_length(_info("file", 5), _info("sequence", 4))  # a video carries its own timing
    with pytest.raises(PairingError, match=r"has 5 frames and the depth raw 4: .*--pair nearest"):
        check_same_length(_info("sequence", 5), _info("raw", 4))
    with pytest.raises(PairingError, match=r"has 4 frames and the depth array 5: .*the same number\)?$"):
        check_same_length(_info("sequence", 4), _info("array", 5))


@pytest.mark.parametrize("order", [("gray", "gray16le"), ("gray16le", "gray")])
def test_gray_infrared_beside_16_bit_depth_takes_the_deeper_stream_for_depth(caplog, order):
    """An infrared or mono camera (8-bit gray) recorded beside 16-bit depth in one file: both are gray,
    and both roles took the first stream, so the run was refused as "colour and depth are the same video
    stream". The 16-bit stream is the depth, the 8-bit one the colour, with the bit-depth warning."""
    a, b = _s(order[0]), _s(order[1])
    deep, ir = (b, a) if order[1] == "gray16le" else (a, b)
    c = _input(a, b)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert choose_stream(c, "depth", None, "x.mkv") is deep
        assert choose_stream(c, "color", None, "x.mkv") is ir
    (said,) = [m for m in caplog.messages if "by bit depth alone" in m]
    d, i = (1, 0) if order[1] == "gray16le" else (0, 1)
    assert f"depth taken from video stream {d} (gray16le) and colour from stream {i} (gray)" in said


def test_gray_beside_yuv_colour_and_16_bit_depth_says_nothing_of_bit_depth(caplog):
    """8-bit YUV colour, an 8-bit infrared stream and 16-bit depth: the colour is the YUV stream as before
    (no warning), and the depth the 16-bit gray one."""
    yuv, ir, deep = _s("yuv420p"), _s("gray"), _s("gray16le")
    c = _input(yuv, ir, deep)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert choose_stream(c, "depth", None, "x.mkv") is deep and choose_stream(c, "color", None, "x.mkv") is yuv
    assert not [m for m in caplog.messages if "bit depth alone" in m]
