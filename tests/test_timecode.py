"""The SMPTE timecode of the input (a MOV ``tmcd`` track, Matroska's ``TIMECODE`` tag, MXF's and
NUT's ``timecode``) is written on the enhanced depth and on the views / RGB-D outputs: the depth's,
else the colour's. Inputs are made with PyAV (FFmpeg's muxers write the tags and the tmcd track from
the ``timecode`` metadata, as ``ffmpeg -timecode`` does) and the outputs read back by FFmpeg's
demuxers; ffprobe, where installed, reads them too."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from igde_stream.stream import enhance_file
from igde_stream.stream.outputs import ViewsOptions

H, W, N = 32, 32, 3
NTSC_FILM = Fraction(24000, 1001)


def _clip(path, frames, pix_fmt, codec, rate=NTSC_FILM, container_tc=None, stream_tc=None):
    """``frames`` (rgb24 or gray16le arrays) at ``rate``; the timecode as container and / or stream metadata."""
    with av.open(str(path), "w") as out:
        if container_tc:
            out.metadata["timecode"] = container_tc
        s = out.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = W, H, pix_fmt
        if stream_tc:
            s.metadata["timecode"] = stream_tc
        for k, a in enumerate(frames):
            f = av.VideoFrame.from_ndarray(a, format="rgb24" if a.ndim == 3 else "gray16le").reformat(format=pix_fmt)
            f.pts, f.time_base = k, 1 / rate
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


def _colours():
    return [np.full((H, W, 3), 40 * (k + 1), np.uint8) for k in range(N)]


def _depths():
    d = np.full((H, W), 20000, np.uint16)
    d[8:24, 8:24] = 50000
    return [d] * N


def _timecodes(path):
    """Every ``timecode`` FFmpeg's demuxer gives for ``path`` (case-insensitive key), with where it was:
    ("format" | stream type, value), and the stream types."""
    with av.open(str(path)) as c:
        found = [("format", v) for k, v in c.metadata.items() if k.lower() == "timecode"]
        for s in c.streams:
            found += [(s.type, v) for k, v in s.metadata.items() if k.lower() == "timecode"]
        return found, [s.type for s in c.streams]


def _ffprobe_timecodes(path):
    if shutil.which("ffprobe") is None:
        return None
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    tags = [info.get("format", {}).get("tags", {})] + [s.get("tags", {}) for s in info.get("streams", [])]
    return {v for t in tags for k, v in t.items() if k.lower() == "timecode"}


def test_depth_timecode_kept_in_matroska(tmp_path, enhancer):
    color = _clip(tmp_path / "c.mkv", _colours(), "bgr0", "ffv1")
    depth = _clip(tmp_path / "d.mkv", _depths(), "gray16le", "ffv1", container_tc="01:02:03:04")
    out = tmp_path / "out.mkv"
    summary = enhance_file(color, depth, out, enhancer=enhancer)
    assert summary["timecode"] == "01:02:03:04"  # the summary (and a report's header) say it too
    found, _ = _timecodes(out)
    assert ("format", "01:02:03:04") in found  # Matroska's global TIMECODE tag, as ffmpeg -timecode writes it
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == NTSC_FILM
    if (probed := _ffprobe_timecodes(out)) is not None:
        assert probed == {"01:02:03:04"}


def test_colour_tmcd_goes_to_a_mov_output_with_its_drop_frame(tmp_path, enhancer):
    """A camera's QuickTime colour (tmcd track, 29.97 drop-frame) and a depth without timecode: the
    output .mov gets a tmcd track of the same timecode."""
    rate = Fraction(30000, 1001)
    color = _clip(tmp_path / "c.mov", _colours(), "rgb24", "png", rate=rate, stream_tc="00:59:59;28")
    assert "data" in _timecodes(color)[1]  # the input has its tmcd track
    depth = _clip(tmp_path / "d.mkv", _depths(), "gray16le", "ffv1", rate=rate)
    out = tmp_path / "out.mov"
    enhance_file(color, depth, out, codec="png", enhancer=enhancer)
    found, types = _timecodes(out)
    assert types == ["video", "data"]  # the tmcd track
    assert ("video", "00:59:59;28") in found and ("data", "00:59:59;28") in found
    if (probed := _ffprobe_timecodes(out)) is not None:
        assert probed == {"00:59:59;28"}


def test_depth_timecode_wins_and_views_keep_it(tmp_path, enhancer):
    color = _clip(tmp_path / "c.mov", _colours(), "rgb24", "png", stream_tc="10:00:00:00")
    depth = _clip(tmp_path / "d.mkv", _depths(), "gray16le", "ffv1", container_tc="01:00:00:00")
    out, views, rgbd = tmp_path / "out.mkv", tmp_path / "views.mkv", tmp_path / "rgbd.mp4"
    enhance_file(color, depth, out, enhancer=enhancer, views_path=views, rgbd_path=rgbd,
                 views=ViewsOptions(codec="h264"))
    for path in (out, views, rgbd):
        found, _ = _timecodes(path)
        assert found and {v for _, v in found} == {"01:00:00:00"}, path


def test_no_timecode_in_none_out(tmp_path, enhancer):
    color = _clip(tmp_path / "c.mkv", _colours(), "bgr0", "ffv1")
    depth = _clip(tmp_path / "d.mkv", _depths(), "gray16le", "ffv1")
    out = tmp_path / "out.mov"
    assert enhance_file(color, depth, out, codec="png", enhancer=enhancer)["timecode"] is None
    found, types = _timecodes(out)
    assert found == [] and types == ["video"]


@pytest.mark.parametrize("bad", ["", "tomorrow", "1:2:3"])
def test_a_timecode_that_is_not_one_is_not_copied(tmp_path, enhancer, bad):
    """MOV's muxer fails on a timecode it cannot parse (after the model's work on the first frames);
    a tag that is not HH:MM:SS:FF is left out."""
    color = _clip(tmp_path / "c.mkv", _colours(), "bgr0", "ffv1")
    depth = _clip(tmp_path / "d.mkv", _depths(), "gray16le", "ffv1", container_tc=bad or None)
    out = tmp_path / "out.mov"
    enhance_file(color, depth, out, codec="png", enhancer=enhancer)
    assert _timecodes(out)[0] == []


def test_a_timecode_mov_cannot_count_is_left_out_with_a_warning(tmp_path, enhancer, caplog):
    """FFmpeg's MOV muxer builds no tmcd track at 1000 fps and fails the file's header (at the first
    frame, after the model's work): the run writes the file without it and says so."""
    rate = Fraction(1000)
    color = _clip(tmp_path / "c.mkv", _colours(), "bgr0", "ffv1", rate=rate)
    depth = _clip(tmp_path / "d.mkv", _depths(), "gray16le", "ffv1", rate=rate, container_tc="01:00:00:00")
    out = tmp_path / "out.mov"
    enhance_file(color, depth, out, codec="png", enhancer=enhancer)
    assert _timecodes(out) == ([], ["video"])
    assert "timecode 01:00:00:00 is not written" in caplog.text


def test_views_render_keeps_the_colour_timecode(tmp_path):
    """``igde-stream views render``: the views of a depth without timecode get the colour's."""
    from igde_stream.stream.views import render_file

    color = _clip(tmp_path / "c.mov", _colours(), "rgb24", "png", stream_tc="10:00:00:00")
    depth = _clip(tmp_path / "d.mkv", _depths(), "gray16le", "ffv1")
    _, files = render_file(color, depth, tmp_path / "views.mkv")
    assert [_timecodes(f)[0] for f in files] == [[("format", "10:00:00:00")]]
