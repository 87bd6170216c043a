"""Seeded-bug review 61: the gaps that bugs planted by hand in session 61's changes went through.

Expected values are worked out independently of the code under test:
- H.264's largest frame: MaxFS 139,264 macroblocks at levels 6 to 6.2 (H.264 Table A-1), a partial
  macroblock counting as one; x264's widest and tallest frame, asked of x264 itself through PyAV;
- Matroska's StereoMode element (ID 0x53B8 in the track's Video element; RFC 9559: 1 side by side
  left eye first, 3 top-bottom left eye first, 10 anaglyph cyan/red), read from the file's bytes by
  a small EBML walker;
- H.264's frame-packing arrangement SEI (payload type 45, H.264 D.1.26: type 3 side by side, 4 top
  and bottom; content_interpretation_type 1 = frame 0 is the left view), read from the coded
  packets' NAL units, not from FFmpeg's decoding (which in Matroska may come from the container);
- the test-suite's logging fixture: the package loggers as they were before a command set them up.
"""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import x264_opens
from igde_stream import display
from igde_stream import multiview as mv
from igde_stream.errors import IGDEError
from igde_stream.stream import views
from igde_stream.stream.orientation import frame_side_data

# ------------------------------------------------------------------ H.264 and x264 size limits


def test_x264s_side_limit_holds_for_the_height_too(tmp_path):
    """x264 opens 16 x 16384 and not 16 x 16386 (nor 16386 x 16): the check refuses either side over
    16384, exactly from the first even size over it (4:2:0)."""
    assert x264_opens(tmp_path, 16, 16384) and not x264_opens(tmp_path, 16, 16386)
    views._check_size("h264", 16, 16384, tmp_path / "ok.mp4")
    for w, h in [(16, 16386), (16386, 16)]:
        with pytest.raises(IGDEError, match=f"{w}x{h} is beyond H.264"):
            views._check_size("h264", w, h, tmp_path / "no.mp4")


@pytest.mark.parametrize("w, h, mbs", [(8192, 4352, None), (4352, 8192, None), (8200, 4352, "139,536"),
                                       (8192, 4354, "139,776")])
def test_h264s_frame_limit_at_its_edge(tmp_path, w, h, mbs):
    """MaxFS 139,264 = 512 x 272 macroblocks: 8192 x 4352 is exactly the limit and is coded; a
    partial macroblock counts whole, so 8200 x 4352 is 513 x 272 = 139,536 and 8192 x 4354 is
    512 x 273 = 139,776: both refused."""
    if mbs is None:
        views._check_size("h264", w, h, tmp_path / "ok.mp4")
    else:
        with pytest.raises(IGDEError, match=f"{w}x{h} is beyond H.264 \\({mbs} macroblocks"):
            views._check_size("h264", w, h, tmp_path / "no.mp4")


def test_ffv1_views_of_odd_sizes_are_written(tmp_path):
    """FFV1 codes bgr0 (no chroma subsampling): a 33 x 17 frame is written and read back bit for bit;
    only the 4:2:0 codecs need even sizes."""
    img = np.random.default_rng(0).integers(0, 256, (17, 33, 3), np.uint8)
    w = views.ColorWriter(tmp_path / "odd.mkv", "ffv1", Fraction(25), Fraction(1, 25))
    w.write(img, 0)
    w.commit()
    with av.open(str(tmp_path / "odd.mkv")) as c:
        np.testing.assert_array_equal(next(c.decode(video=0)).to_ndarray(format="rgb24"), img)
    with pytest.raises(IGDEError, match="needs even sizes, got 33x17"):
        views._check_size("h264", 33, 17, tmp_path / "no.mp4")


# ------------------------------------------------------------------------------- stereo metadata


def _vint(buf, i, keep_marker):
    """An EBML variable-size integer at ``buf[i]``: (value, next index); the marker bit kept for IDs."""
    first = buf[i]
    n = 8 - first.bit_length() + 1
    value = first if keep_marker else first & ((1 << (8 - n)) - 1)
    for b in buf[i + 1 : i + n]:
        value = value << 8 | b
    unknown = not keep_marker and value == (1 << (7 * n)) - 1
    return (None if unknown else value), i + n


_SEGMENT, _TRACKS, _TRACK_ENTRY, _VIDEO, _STEREO_MODE, _CLUSTER = 0x18538067, 0x1654AE6B, 0xAE, 0xE0, 0x53B8, 0x1F43B675


def _matroska_stereo_mode(path):
    """The StereoMode element of the file's video track (Segment > Tracks > TrackEntry > Video), or
    None where it has none."""
    buf = path.read_bytes()

    def walk(i, end):
        while i < end:
            eid, i = _vint(buf, i, True)
            size, i = _vint(buf, i, False)
            stop = end if size is None else i + size
            if eid == _STEREO_MODE:
                return int.from_bytes(buf[i:stop], "big")
            if eid in (_SEGMENT, _TRACKS, _TRACK_ENTRY, _VIDEO):
                if (found := walk(i, stop)) is not None:
                    return found
            elif eid == _CLUSTER:  # the frames: the tracks came before them
                return None
            i = stop
        return None

    return walk(0, len(buf))


def _write_pair(path, codec, layout, size=(64, 32)):
    lay = display.make_layout(layout, mv.ViewConfig(2))
    w = views.ColorWriter(path, codec, Fraction(25), Fraction(1, 25), stereo_mode=lay.stereo_mode)
    img = np.zeros((size[1], size[0], 3), np.uint8)
    img[:, : size[0] // 2] = 200
    for k in range(2):
        w.write(img, k)
    w.commit()
    return path


@pytest.mark.parametrize("layout, number", [("sbs", 1), ("tab", 3), ("anaglyph", 10), ("grid", None)])
def test_matroska_stereo_mode_element_is_the_specs_number(tmp_path, layout, number):
    """The number in the file is the one the Matroska spec gives the packing (left eye first), and the
    one ``STEREO_MODES`` says it writes."""
    assert _matroska_stereo_mode(_write_pair(tmp_path / "s.mkv", "ffv1", layout)) == number
    mode = display.make_layout(layout, mv.ViewConfig(2)).stereo_mode
    if number is not None:
        assert display.STEREO_MODES[mode][0] == number


def _rbsp(nal):
    """The NAL unit's payload without its emulation-prevention bytes (00 00 03 -> 00 00)."""
    out, zeros = bytearray(), 0
    for b in nal:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


class _Bits:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def u(self, n):
        v = 0
        for _ in range(n):
            v = v << 1 | (self.data[self.pos // 8] >> (7 - self.pos % 8)) & 1
            self.pos += 1
        return v

    def ue(self):
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)


def _frame_packing_seis(path):
    """(frame_packing_arrangement_type, content_interpretation_type) of each frame-packing SEI
    (payload type 45) in the first coded frame (length-prefixed NAL units, 4 bytes: MP4 and Matroska)."""
    with av.open(str(path)) as c:
        data = bytes(next(p for p in c.demux(video=0) if p.size))
    found, i = [], 0
    while i + 4 <= len(data):
        n = int.from_bytes(data[i : i + 4], "big")
        nal, i = data[i + 4 : i + 4 + n], i + 4 + n
        if nal[0] & 0x1F != 6:  # SEI
            continue
        sei, j = _rbsp(nal[1:]), 0
        while j < len(sei) and sei[j] != 0x80:  # up to the rbsp trailing bits
            ptype = psize = 0
            while sei[j] == 0xFF:
                ptype, j = ptype + 255, j + 1
            ptype, j = ptype + sei[j], j + 1
            while sei[j] == 0xFF:
                psize, j = psize + 255, j + 1
            psize, j = psize + sei[j], j + 1
            if ptype == 45:
                b = _Bits(sei[j : j + psize])
                b.ue()  # frame_packing_arrangement_id
                if not b.u(1):  # not a cancel
                    kind = b.u(7)
                    b.u(1)  # quincunx_sampling_flag
                    found.append((kind, b.u(6)))
            j += psize
    return found


@pytest.mark.parametrize("layout, sei, number", [("sbs", (3, 1), 1), ("tab", (4, 1), 3)])
def test_h264_in_matroska_says_it_twice(tmp_path, layout, sei, number):
    """H.264 in Matroska: the StereoMode element and the frame-packing SEI both (a player reads one or
    the other), frame 0 the left view."""
    path = _write_pair(tmp_path / "s.mkv", "h264", layout)
    assert _matroska_stereo_mode(path) == number
    assert _frame_packing_seis(path) == [sei]


def test_h264_in_mp4_sei_as_coded(tmp_path):
    """The SEI in MP4 read from the NAL units: side by side, frame 0 the left view; an anaglyph is a
    plain picture (H.264 has no anaglyph arrangement): no frame-packing SEI, and no Stereo 3D side data
    decoded either."""
    assert _frame_packing_seis(_write_pair(tmp_path / "s.mp4", "h264", "sbs")) == [(3, 1)]
    path = _write_pair(tmp_path / "a.mp4", "h264", "anaglyph")
    assert _frame_packing_seis(path) == []
    with av.open(str(path)) as c:
        assert not [sd for sd in frame_side_data(next(c.decode(video=0))) if "STEREO" in str(sd.type).upper()]


def test_hevc_in_matroska_says_the_packing(tmp_path):
    """x265 writes no frame-packing SEI here; Matroska's StereoMode says it."""
    assert _matroska_stereo_mode(_write_pair(tmp_path / "s.mkv", "hevc", "sbs")) == 1


# -------------------------------------------------------------------- the suite's logging fixture

_LOGGERS = ("igde_stream", "igde_stream.stream", "igde_stream.cli", "libav")
_seen: dict = {}


def _state():
    return {n: (list(lg.handlers), lg.level, lg.propagate) for n in _LOGGERS for lg in [logging.getLogger(n)]}


def test_logging_a_command_sets_up_its_loggers():
    """What ``cli.main`` does in-process (``setup_logging``): stderr handlers, no propagation. The next
    test checks that the conftest fixture put the loggers back."""
    from igde_stream.cli_logging import setup_logging

    _seen.update(_state())
    setup_logging(quiet=False)
    assert _state() != _seen


def test_the_loggers_are_back_after_a_command():
    """As a new logger is (PyAV only sets libav's level): propagating, no stderr handler of a command."""
    from igde_stream.cli_logging import _Stderr

    if not _seen:
        pytest.skip("runs after test_logging_a_command_sets_up_its_loggers")
    assert _state() == _seen
    for name, (handlers, _, propagate) in _state().items():
        assert propagate and not [h for h in handlers if isinstance(h, _Stderr)], name
