"""Interlaced colour whose stream carries no field order (AV_FIELD_UNKNOWN): DV 576i as recorded (AVI),
MPEG-2 1080i in MP4 / MOV without a ``fiel`` atom, H.264 in NUT. Before, it was read woven without a word,
where a tagged stream got one warning; now its first frame flagged interlaced gives that warning, naming
the order that frame says. Clips are coded by the ffmpeg command line; the expected order is
ffprobe's (Debian's FFmpeg 5.1: ``interlaced_frame`` / ``top_field_first`` of the first frame it flags),
and "untagged" is ffprobe's ``field_order=unknown``, both independent of the reader (FFmpeg 8.1 in PyAV)."""

from __future__ import annotations

import logging
import shutil
import subprocess
from fractions import Fraction

import av
import pytest

from conftest import scene, write_video

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None,
                                reason="needs the ffmpeg and ffprobe command lines to code and probe interlaced clips")

SRC = ["-f", "lavfi", "-i", "testsrc2=size=64x48:rate=25", "-frames:v", "3"]
FIELDS = ["-flags", "+ilme+ildct"]
UNTAGGED = ["-field_order", "0"]  # AV_FIELD_UNKNOWN: MP4 / MOV then write no fiel atom
CLIPS = {  # name: (file, ffmpeg arguments after the input)
    "mpeg2-tff.mp4": ("c.mp4", ["-vf", "setfield=tff", *FIELDS, "-top", "1", "-c:v", "mpeg2video", *UNTAGGED]),
    "mpeg2-bff.mov": ("c.mov", ["-vf", "setfield=bff", *FIELDS, "-top", "0", "-c:v", "mpeg2video", *UNTAGGED]),
    "h264-mbaff-tff.nut": ("c.nut", ["-vf", "setfield=tff", *FIELDS, "-c:v", "libx264", "-x264opts", "interlaced=1"]),
    "h264-mbaff-bff.nut": ("c.nut", ["-vf", "setfield=bff", *FIELDS, "-c:v", "libx264", "-x264opts",
                                     "interlaced=1:bff=1"]),
    "mpeg2-progressive.mp4": ("c.mp4", ["-c:v", "mpeg2video", *UNTAGGED]),
    # MBAFF-capable (frame_mbs_only_flag 0) but every frame progressive, as Blu-ray 1080p25 is coded
    "h264-fake-interlaced.nut": ("c.nut", ["-c:v", "libx264", "-x264opts", "fake-interlaced=1"]),
    "h264-progressive.nut": ("c.nut", ["-c:v", "libx264", "-profile:v", "high"]),
}


def _ffmpeg(out, args, src=SRC):
    run = subprocess.run(["ffmpeg", "-v", "error", "-y", *src, *args, str(out)], capture_output=True, text=True)
    if run.returncode and "Unknown encoder" in run.stderr:
        pytest.skip(f"this ffmpeg lacks an encoder: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    return out


def _probe(path):
    """(ffprobe's field order of the stream, [(interlaced_frame, top_field_first) of each frame])."""
    def entries(what):
        return subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", what, "-of",
                               "csv=p=0", str(path)], capture_output=True, text=True, check=True).stdout.split()
    frames = [tuple(int(x) for x in line.split(",")[:2]) for line in entries("frame=interlaced_frame,top_field_first")]
    return entries("stream=field_order")[0].strip(","), frames


def _said(path, order: str | None):
    """What ffprobe says a reader should say of ``path``: the order of its first frame flagged interlaced."""
    field_order, frames = _probe(path)
    assert field_order == "unknown", f"the clip carries a field order ({field_order}): the case needs none"
    flagged = [tff for interlaced, tff in frames if interlaced]
    want = None if not flagged else "top field first" if flagged[0] else "bottom field first"
    assert want == order, f"ffprobe reads the clip as {want}, the recipe meant {order}"
    return want


def _read(path, caplog):
    from igde_stream.stream import VideoReader

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(path, "color") as r:
            n = sum(1 for _ in r.frames())
    return n, [m for m in caplog.messages if "interlaced colour" in m]


@pytest.mark.parametrize("name, order", [("mpeg2-tff.mp4", "top field first"), ("mpeg2-bff.mov", "bottom field first"),
                                         ("h264-mbaff-tff.nut", "top field first"),
                                         ("h264-mbaff-bff.nut", "bottom field first")])
def test_untagged_interlaced_colour_is_said_once_naming_its_frames_field_order(tmp_path, caplog, name, order):
    file, args = CLIPS[name]
    c = _ffmpeg(tmp_path / file, args)
    said = _said(c, order)
    with av.open(str(c)) as f:  # the reader's FFmpeg finds no field order either: only the frames tell
        assert f.streams.video[0].codec_context.field_order == 0
    n, lines = _read(c, caplog)
    assert n == 3 and len(lines) == 1, lines
    assert f"interlaced colour ({said})" in lines[0] and "yadif" in lines[0]


def test_dv_576i_colour_is_said_bottom_field_first(tmp_path, caplog):
    """DV as camcorders record it and capture writes it (720 x 576, 4:2:0 PAL, bottom field first, in AVI):
    its container carries no field order (ffprobe: unknown, as in .dv, and .mov / .mkv copied from it),
    every frame says it."""
    c = _ffmpeg(tmp_path / "c.avi", ["-pix_fmt", "yuv420p", "-c:v", "dvvideo"],
                src=["-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25", "-frames:v", "2"])
    said = _said(c, "bottom field first")
    n, lines = _read(c, caplog)
    assert n == 2 and len(lines) == 1 and f"interlaced colour ({said})" in lines[0]


@pytest.mark.parametrize("name", ["mpeg2-progressive.mp4", "h264-fake-interlaced.nut", "h264-progressive.nut"])
def test_untagged_progressive_colour_says_nothing(tmp_path, caplog, name):
    file, args = CLIPS[name]
    c = _ffmpeg(tmp_path / file, args)
    assert _said(c, None) is None and all(not i for i, _ in _probe(c)[1])
    n, lines = _read(c, caplog)
    assert n == 3 and lines == []


def test_adam7_png_colour_is_not_called_interlaced(tmp_path, caplog):
    """A PNG saved interlaced (Adam7: a storage order, one instant) is flagged interlaced by FFmpeg 8.1's PNG
    decoder; it holds no fields, so nothing is said. The IHDR's interlace method (byte 28) is 1 by hand."""
    c = _ffmpeg(tmp_path / "c.png", ["-frames:v", "1", *FIELDS, "-c:v", "png"])
    assert c.read_bytes()[28] == 1
    with av.open(str(c)) as f:
        assert next(f.decode(video=0)).interlaced_frame  # what the reader sees
    n, lines = _read(c, caplog)
    assert n == 1 and lines == []


def test_tagged_interlaced_colour_is_said_once_not_again_from_its_frames(tmp_path, caplog):
    """H.264 in MPEG-TS: FFmpeg's parser gives the stream its field order (ffprobe: tt), and every frame is
    flagged too: still one warning."""
    c = _ffmpeg(tmp_path / "c.ts", CLIPS["h264-mbaff-tff.nut"][1])
    field_order, frames = _probe(c)
    assert field_order == "tt" and frames[0] == (1, 1)
    n, lines = _read(c, caplog)
    assert n == 3 and len(lines) == 1 and "interlaced colour (top field first)" in lines[0]


def test_untagged_interlaced_colour_is_said_once_by_the_main_command_and_views_render(tmp_path, capsys, tiny_model):
    from igde_stream.cli import main
    from igde_stream.views_cli import main as views_main

    c = _ffmpeg(tmp_path / "c.mp4", CLIPS["mpeg2-bff.mov"][1])
    said = _said(c, "bottom field first")
    d = write_video(tmp_path / "d.mkv", scene(3, (64, 48))[1], fmt="gray", rate=Fraction(25))
    capsys.readouterr()
    assert main([str(c), str(d), "-o", str(tmp_path / "o.mkv"), "--model", str(tiny_model)]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if "interlaced colour" in x]
    assert len(lines) == 1 and f"interlaced colour ({said})" in lines[0]
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]) == 0
    lines = [x for x in capsys.readouterr().err.splitlines() if "interlaced colour" in x]
    assert len(lines) == 1 and f"interlaced colour ({said})" in lines[0]


def test_untagged_interlaced_depth_is_not_called_interlaced_colour(tmp_path, caplog):
    """Depth carried in the luma of an interlaced MPEG-2 stream: the warning is the colour's (its fields guide
    the model), whatever the depth's frames say."""
    from igde_stream.stream import VideoReader

    d = _ffmpeg(tmp_path / "d.mov", ["-vf", "setfield=bff,hue=s=0", *FIELDS, "-top", "0", "-c:v", "mpeg2video",
                                     *UNTAGGED])  # gray: neutral chroma
    _said(d, "bottom field first")
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(d, "depth") as r:
            assert sum(1 for _ in r.frames()) == 3
    assert not [m for m in caplog.messages if "interlaced colour" in m]


@pytest.mark.parametrize("top", [True, False])
def test_a_tag_that_contradicts_the_frames_gives_way_to_them(tmp_path, caplog, top):
    """The ffmpeg 5.1 command line tags interlaced H.264 in Matroska ``tb`` (bottom field shown first, top
    coded first) where every frame is flagged top field first (ffprobe: field_order=tb, top_field_first=1),
    and ``bt`` for bottom field first. The warning names the order the frames are shown in."""
    c = _ffmpeg(tmp_path / "c.mkv", CLIPS["h264-mbaff-tff.nut" if top else "h264-mbaff-bff.nut"][1])
    field_order, frames = _probe(c)
    if field_order != ("tb" if top else "bt"):
        pytest.skip(f"this ffmpeg tags the clip {field_order}, not contradicting its frames")
    assert frames[0] == (1, int(top))
    n, lines = _read(c, caplog)
    assert n == 3 and len(lines) == 1, lines
    assert f"interlaced colour ({'top' if top else 'bottom'} field first)" in lines[0]
