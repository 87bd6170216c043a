"""The Spherical Video V2 ``st3d`` box of MP4 / MOV stereo pairs, read back by FFmpeg's own demuxer.

The reference is ffprobe (the system's FFmpeg, not the PyAV that wrote the file): its mov demuxer
turns ``st3d`` into the stream's "Stereo 3D" side data, type "side by side" for stereo_mode 2
(left-right, left eye on the left) and "top and bottom" for 1 (left eye on top), as the RFC
(google/spatial-media, docs/spherical-video-v2-rfc.md) numbers them; ``inverted`` 0 is left eye first.
The pictures must come through unchanged: a lossless MP4 decodes to the same pixels as the same run
written to Matroska.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, write_video
from igde_stream import views_cli
from igde_stream.errors import OutputError
from igde_stream.stream.st3d import add_st3d
from igde_stream.stream.view_writers import ColorWriter

FFPROBE = shutil.which("ffprobe")
pytestmark = pytest.mark.skipif(FFPROBE is None, reason="needs ffprobe")
H, W = 48, 64


@pytest.fixture()
def pair(tmp_path):
    """A near white square (depth 230) on a gray ramp at the screen plane (128), lossless colour."""
    color = np.zeros((2, H, W, 3), np.uint8)
    color[:, :, :, 1] = np.arange(W, dtype=np.uint8)[None, None] * 3
    color[:, 16:32, 24:40] = 255
    depth = np.full((2, H, W), 128, np.uint8)
    depth[:, 16:32, 24:40] = 230
    write_video(tmp_path / "c.mkv", list(color), fmt="rgb24", codec="ffv1")
    write_video(tmp_path / "d.mkv", list(depth), fmt="gray")
    return tmp_path


def _render(tmp, out, *extra):
    assert views_cli.main(["render", str(tmp / "c.mkv"), str(tmp / "d.mkv"), "-o", str(tmp / out), "-q",
                           "--baseline", "20", *extra]) == 0
    return tmp / out


def _streams(path):
    """ffprobe's streams, every frame decoded (``nb_read_frames``); a word from the demuxer or a
    decoder (a broken box: "missing mandatory atoms") fails the test."""
    r = subprocess.run([FFPROBE, "-v", "warning", "-count_frames", "-show_streams", "-of", "json", str(path)],
                       capture_output=True, text=True, check=True)
    # a timecode track has no decoder: "Unsupported codec with id 0 for input stream 1"
    assert [ln for ln in r.stderr.splitlines() if not ln.startswith("Unsupported codec with id 0")] == []
    return json.loads(r.stdout)["streams"]


def _stereo(stream):
    return [(s["type"], s.get("inverted")) for s in stream.get("side_data_list", [])
            if s.get("side_data_type") == "Stereo 3D"]


@pytest.mark.parametrize("layout, extra, codec, ext, want", [
    ("sbs", (), "ffv1", "mp4", "side by side"),
    ("sbs", ("--squeeze",), "h264", "mp4", "side by side"),
    ("tab", ("--squeeze",), "h264", "mov", "top and bottom"),
    ("tab", (), "hevc", "mp4", "top and bottom"),
])
def test_mp4_and_mov_stereo_pairs_carry_st3d(pair, layout, extra, codec, ext, want):
    """Any codec: HEVC, which has no frame-packing SEI from x265, and FFV1 say the packing too."""
    st = _streams(_render(pair, f"s.{ext}", "--layout", layout, "--codec", codec, *extra))
    assert len(st) == 1 and st[0]["nb_read_frames"] == "2"
    assert _stereo(st[0]) == [(want, 0)]


@pytest.mark.parametrize("layout", ["anaglyph", "grid"])
def test_other_layouts_carry_no_st3d(pair, layout):
    """An anaglyph is one picture for both eyes (st3d has no anaglyph mode); a grid is no pair."""
    out = _render(pair, "s.mp4", "--layout", layout, "--codec", "ffv1")
    assert _stereo(_streams(out)[0]) == []
    assert b"st3d" not in out.read_bytes()


def test_the_box_leaves_the_pictures_as_they_were(pair):
    """The same lossless pair in MP4 (with st3d) and Matroska: the same pixels and times, every frame."""
    mp4, _, facts = read_video(_render(pair, "s.mp4", "--layout", "sbs", "--codec", "ffv1"))
    mkv, _, _ = read_video(_render(pair, "s.mkv", "--layout", "sbs", "--codec", "ffv1"))
    assert len(mp4) == 2 and (facts["width"], facts["height"]) == (2 * W, H)
    assert all(np.array_equal(a, b) for a, b in zip(mp4, mkv))


def test_one_pass_views_out_mp4_carries_st3d(make_clip, tiny_model):
    from igde_stream import cli

    clip = make_clip(n=2, color_ext=".mkv")
    out = clip["out"].parent / "v.mp4"
    assert cli.main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--views-out", str(out),
                     "--layout", "tab", "--squeeze", "--views-codec", "h264", "--model", str(tiny_model),
                     "--backend", "torch", "-q"]) == 0
    assert _stereo(_streams(out)[0]) == [("top and bottom", 0)]


def test_only_the_video_track_and_a_timecode_kept(tmp_path):
    """With a timecode track beside the video, st3d goes into the video's sample entry alone and the
    timecode still reads back; a second call sets the box's mode, never adds a second box."""
    out = tmp_path / "s.mp4"
    w = ColorWriter(out, "ffv1", Fraction(25), Fraction(1, 25), stereo_mode="left_right", timecode="01:00:00:00")
    for k in range(2):
        w.write(np.full((16, 32, 3), 40 * k, np.uint8), k)
    w.commit()
    st = _streams(out)
    video = [s for s in st if s["codec_type"] == "video"]
    others = [s for s in st if s["codec_type"] != "video"]
    assert [_stereo(s) for s in video] == [[("side by side", 0)]] and others
    assert all(_stereo(s) == [] for s in others)
    assert video[0]["tags"].get("timecode", others[0].get("tags", {}).get("timecode")) == "01:00:00:00"
    assert add_st3d(out, "top_bottom")
    assert out.read_bytes().count(b"st3d") == 1
    assert _stereo([s for s in _streams(out) if s["codec_type"] == "video"][0]) == [("top and bottom", 0)]


def test_a_file_whose_movie_box_is_not_last_is_refused(tmp_path):
    """``faststart`` puts the movie box first; growing it there would move every chunk: refused."""
    import av

    out = tmp_path / "f.mp4"
    with av.open(str(out), "w", options={"movflags": "+faststart"}) as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 32, 16, "bgr0"
        for k in range(2):
            frame = av.VideoFrame.from_ndarray(np.zeros((16, 32, 3), np.uint8), format="rgb24")
            frame.pts = k
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
    before = out.read_bytes()
    assert before.index(b"moov") < before.index(b"mdat")  # movie box first
    with pytest.raises(OutputError, match="the movie box is not at the end of the file"):
        add_st3d(out, "left_right")
    assert out.read_bytes() == before
    assert not add_st3d(out, "anaglyph_cyan_red")  # no st3d mode: nothing done


def _plain_mp4(path):
    """A 2-frame FFV1 MP4 as the writer leaves it before ``add_st3d``: ftyp, free, mdat, moov (last)."""
    w = ColorWriter(path, "ffv1", Fraction(25), Fraction(1, 25))
    for k in range(2):
        w.write(np.full((16, 32, 3), 40 * k, np.uint8), k)
    w.commit()
    data = path.read_bytes()
    return data, data.rindex(b"moov") - 4


def test_a_movie_box_of_size_0_gets_its_size(tmp_path):
    """Size 0 is "to the end of the file" (ISO/IEC 14496-12 4.2), legal for the last box: growing that
    field by 13 made the movie box 13 bytes long and the file unreadable (ffprobe: no stream)."""
    import struct

    out = tmp_path / "z.mp4"
    data, moov = _plain_mp4(out)
    out.write_bytes(data[:moov] + b"\0\0\0\0" + data[moov + 4:])
    assert add_st3d(out, "left_right")
    after = out.read_bytes()
    assert struct.unpack(">I", after[moov:moov + 4])[0] == len(data) - moov + 13 == len(after) - moov
    st = _streams(out)
    assert st[0]["nb_read_frames"] == "2" and _stereo(st[0]) == [("side by side", 0)]


def test_a_broken_movie_box_is_refused_and_left_as_it_was(tmp_path):
    """A box of size 0 inside the movie box (mdia, the last in its track, can be read as running to
    its parent's end, but has no size to grow) and a 64-bit size cut short: an ``OutputError``, the
    file untouched."""
    import struct

    out = tmp_path / "b.mp4"
    data, moov = _plain_mp4(out)
    mdia = data.index(b"mdia") - 4
    trak = data.index(b"trak") - 4
    assert mdia + struct.unpack(">I", data[mdia:mdia + 4])[0] == trak + struct.unpack(">I", data[trak:trak + 4])[0]
    size = struct.unpack(">I", data[moov:moov + 4])[0]
    for broken in (data[:mdia] + b"\0\0\0\0" + data[mdia + 4:],
                   data[:moov] + struct.pack(">I", size + 8) + data[moov + 4:] + struct.pack(">I4s", 1, b"free")):
        out.write_bytes(broken)
        with pytest.raises(OutputError, match="cannot add the st3d stereo box"):
            add_st3d(out, "top_bottom")
        assert out.read_bytes() == broken
