"""A timecode carried in the video bitstream, where neither input's container has one, reaches the outputs,
the summary and the report header as a container's does: an H.264 pic_timing SEI's clock timestamp,
an HEVC time code SEI (broadcast encoders, many cameras), an MPEG-2 GOP header's time_code.

No encoder here writes SEI clock timestamps (libx264 writes pic_timing without them, libx265 no time
code SEI): the inputs are libx264 / libx265 streams from the ``ffmpeg`` command line whose pic_timing
SEI (x264's, with ``pic-struct``) is replaced, or before whose slices a time code SEI is put, by the
few bits below (ITU-T H.264 D.1.3 / E.2.2, H.265 D.2.27). MPEG-2's GOP timecode is FFmpeg's own
(``-timecode`` on mpeg2video). The expected timecodes are those ffprobe gives for the input's frames
(``-show_entries frame_tags=timecode``), not the code under test's."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess

import pytest

from igde_stream.stream import enhance_file
from igde_stream.stream.outputs import ViewsOptions
from igde_stream.stream.sources import InputOptions

FFMPEG, FFPROBE = shutil.which("ffmpeg"), shutil.which("ffprobe")
pytestmark = pytest.mark.skipif(FFMPEG is None or FFPROBE is None, reason="needs the ffmpeg and ffprobe command "
                                "line (apt-get install ffmpeg): they make the inputs and read the expected timecodes")
W, H, N = 64, 48, 6


def _ffmpeg(*args):
    subprocess.run([FFMPEG, "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _encoders():
    if FFMPEG is None:
        return ""
    return subprocess.run([FFMPEG, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout


def _needs(encoder):
    if f" {encoder} " not in _encoders():
        pytest.skip(f"the ffmpeg command line here has no {encoder}")


class _Bits:
    def __init__(self):
        self.value, self.count = 0, 0

    def put(self, value, width):
        self.value, self.count = self.value << width | value, self.count + width
        return self

    def payload(self):  # an SEI payload ends byte-aligned: a 1, then 0s
        if self.count % 8:
            self.put(1, 1).put(0, -self.count % 8)
        return self.value.to_bytes(self.count // 8, "big")


def _nal(header, payload_type, payload):
    rbsp, out, zeros = bytes([payload_type, len(payload)]) + payload + b"\x80", bytearray(header), 0
    for b in rbsp:  # emulation prevention
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return b"\x00\x00\x00\x01" + bytes(out)


def _h264_pic_timing(hh, mm, ss, ff):
    """pic_timing for an SPS with pic_struct_present_flag and no HRD (time_offset_length then 24): a frame
    (pic_struct 0, one clock timestamp), full timestamp."""
    b = _Bits().put(0, 4).put(1, 1).put(0, 2).put(0, 1).put(0, 5).put(1, 1).put(0, 1).put(0, 1)
    return _nal(b"\x06", 1, b.put(ff, 8).put(ss, 6).put(mm, 6).put(hh, 5).put(0, 24).payload())


def _hevc_time_code(hh, mm, ss, ff):
    """A prefix SEI (NAL type 39) time code: one clock timestamp, full, no offset."""
    b = _Bits().put(1, 2).put(1, 1).put(0, 1).put(0, 5).put(1, 1).put(0, 1).put(0, 1)
    return _nal(b"\x4e\x01", 136, b.put(ff, 9).put(ss, 6).put(mm, 6).put(hh, 5).put(0, 5).payload())


def _stamped(data, codec, first, fps):
    """Annex B ``data`` with the k-th picture (no B-frames: decoding order is display order) timed
    ``first`` (hh, mm, ss, ff) + k frames at ``fps`` (non-drop)."""
    out, k = bytearray(), 0
    h, m, s, f = first
    for nal in (c.rstrip(b"\x00") for c in data.split(b"\x00\x00\x01")[1:]):
        n = ((h * 60 + m) * 60 + s) * fps + f + k
        tc = (n // (fps * 3600) % 24, n // (fps * 60) % 60, n // fps % 60, n % fps)
        if codec == "h264" and nal[0] & 0x1F == 6 and nal[1] == 1:  # x264's pic_timing, without a clock
            out += _h264_pic_timing(*tc)
            k += 1
            continue
        if codec == "hevc" and (nal[0] >> 1) & 0x3F < 32 and nal[2] & 0x80:  # a picture's first slice
            out += _hevc_time_code(*tc)
            k += 1
        out += b"\x00\x00\x00\x01" + nal
    assert k == N
    return bytes(out)


def _sei_video(path, codec, first, gray=False, fps=25):
    """``N`` frames of testsrc in H.264 or HEVC (``codec``), each with its SEI timecode, from ``first``."""
    encoder = {"h264": "libx264", "hevc": "libx265"}[codec]
    _needs(encoder)
    raw = path.with_suffix("." + codec)
    params = ["-x264-params", "pic-struct=1"] if codec == "h264" else ["-x265-params", "log-level=error"]
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={W}x{H}:rate={fps}", "-frames:v", str(N),
            "-pix_fmt", "gray" if gray else "yuv420p", "-c:v", encoder, "-bf", "0", "-g", "3", *params,
            "-f", codec, str(raw))
    raw.write_bytes(_stamped(raw.read_bytes(), codec, tuple(int(x) for x in first.split(":")), fps))
    _ffmpeg("-framerate", str(fps), "-i", str(raw), "-c", "copy", str(path))
    return path


def _ffv1(path, fmt="gray16le", rate="25", *args):
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={W}x{H}:rate={rate}", "-frames:v", str(N), "-pix_fmt", fmt,
            "-c:v", "ffv1", *args, str(path))
    return path


def _frame_timecodes(path):
    """ffprobe's (pts_time, timecode tag or None) of each frame of ``path``'s video."""
    out = subprocess.run([FFPROBE, "-v", "error", "-select_streams", "v:0", "-show_entries",
                          "frame=pts_time:frame_tags=timecode", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return [(float(f["pts_time"]), f.get("tags", {}).get("timecode")) for f in json.loads(out)["frames"]]


def _file_timecodes(path):
    """ffprobe's timecode tags of ``path``'s container and streams (a tmcd track's too)."""
    out = subprocess.run([FFPROBE, "-v", "error", "-show_entries", "format_tags:stream_tags", "-of", "json",
                          str(path)], capture_output=True, text=True, check=True).stdout
    info = json.loads(out)
    tags = [info.get("format", {}).get("tags", {})] + [s.get("tags", {}) for s in info.get("streams", [])]
    return {v for t in tags for k, v in t.items() if k.lower() == "timecode"}


def test_h264_sei_timecode_of_the_colour_reaches_outputs_summary_and_report(tmp_path, enhancer, caplog):
    caplog.set_level(logging.INFO, logger="igde_stream.stream")
    color = _sei_video(tmp_path / "c.mp4", "h264", "01:02:03:04")
    expected = _frame_timecodes(color)[0][1]
    assert expected == "01:02:03:04" and _file_timecodes(color) == set()  # in the bitstream only
    depth = _ffv1(tmp_path / "d.mkv")
    out, views, rgbd, report = (tmp_path / n for n in ("out.mov", "views.mkv", "rgbd.mp4", "r.json"))
    summary = enhance_file(color, depth, out, codec="png", enhancer=enhancer, gt_path=depth, report_path=report,
                           views_path=views, rgbd_path=rgbd, views=ViewsOptions(codec="h264"))
    assert summary["timecode"] == expected
    assert json.loads(report.read_text())["timecode"] == expected  # the report's header
    for path in (out, views, rgbd):
        assert _file_timecodes(path) == {expected}, path
    assert f"timecode {expected}: the colour input's first frame's" in caplog.text


def test_hevc_depth_sei_comes_before_the_colour_sei(tmp_path, enhancer, caplog):
    caplog.set_level(logging.INFO, logger="igde_stream.stream")
    depth = _sei_video(tmp_path / "d.mkv", "hevc", "01:00:00:00", gray=True)
    color = _sei_video(tmp_path / "c.mp4", "h264", "10:00:00:00")
    expected = _frame_timecodes(depth)[0][1]
    assert expected == "01:00:00:00" and _frame_timecodes(color)[0][1] == "10:00:00:00"
    out = tmp_path / "out.mkv"
    assert enhance_file(color, depth, out, enhancer=enhancer)["timecode"] == expected
    assert _file_timecodes(out) == {expected}
    assert f"timecode {expected}: the depth input's first frame's" in caplog.text


def test_a_container_timecode_comes_before_a_bitstream_one(tmp_path, enhancer):
    """The colour's tmcd track before the depth's SEI: the containers' as before, the frames' only
    where neither has one."""
    depth = _sei_video(tmp_path / "d.mkv", "hevc", "01:00:00:00", gray=True)
    color = _ffv1(tmp_path / "c.mov", "yuv420p", "25", "-timecode", "10:00:00:00")
    assert _file_timecodes(color) == {"10:00:00:00"}
    out = tmp_path / "out.mkv"
    assert enhance_file(color, depth, out, enhancer=enhancer)["timecode"] == "10:00:00:00"
    assert _file_timecodes(out) == {"10:00:00:00"}


def test_from_start_the_timecode_is_the_first_written_frames(tmp_path, enhancer):
    """--start 0.12 s at 25 fps: frame 3 is the first written; its own SEI says its timecode (as a
    stream copy from there, ``ffmpeg -ss 0.12 -c copy``, keeps it)."""
    color = _sei_video(tmp_path / "c.mp4", "h264", "00:59:59:23")
    depth = _ffv1(tmp_path / "d.mkv")
    expected = dict(_frame_timecodes(color))[0.12]
    assert expected == "01:00:00:01"
    out = tmp_path / "out.mkv"
    summary = enhance_file(color, depth, out, enhancer=enhancer, start=0.12)
    assert summary["frames"] == N - 3 and summary["timecode"] == expected
    assert _file_timecodes(out) == {expected}


def test_mpeg2_gop_timecode_drop_frame_and_from_start(tmp_path, enhancer):
    """MPEG-2 in a transport stream at 29.97 fps, its GOP headers drop-frame (``ffmpeg -timecode
    00:00:59;28``, one GOP per 6 frames): the first GOP's timecode, and from frame 6 (--start) the
    second GOP's, as FFmpeg's encoder counted it across the minute (frames ;00 and ;01 skipped)."""
    _needs("mpeg2video")
    rate = "30000/1001"
    color = tmp_path / "c.ts"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={W}x{H}:rate={rate}", "-frames:v", str(2 * N), "-c:v",
            "mpeg2video", "-g", str(N), "-bf", "0", "-timecode", "00:00:59;28", str(color))
    gops = [tc for _, tc in _frame_timecodes(color) if tc is not None]  # one per GOP header, in order
    assert gops == ["00:00:59;28", "00:01:00;06"]
    depth = tmp_path / "d.mkv"
    _ffmpeg("-f", "lavfi", "-i", f"testsrc=size={W}x{H}:rate={rate}", "-frames:v", str(2 * N), "-pix_fmt",
            "gray16le", "-c:v", "ffv1", str(depth))
    out = tmp_path / "out.mov"
    assert enhance_file(color, depth, out, codec="png", enhancer=enhancer)["timecode"] == gops[0]
    assert _file_timecodes(out) == {gops[0]}
    later = tmp_path / "later.mov"  # frame 5 is at 0.167 s, frame 6 at 0.200 s: the first at or after 0.19 s
    summary = enhance_file(color, depth, later, codec="png", enhancer=enhancer, start=0.19)
    assert summary["frames"] == N and summary["timecode"] == gops[1]
    assert _file_timecodes(later) == {gops[1]}


@pytest.fixture
def probes(monkeypatch):
    """The first-frame probes made (path, orient): at the inputs' opening and after."""
    from igde_stream.stream import firstframe, reader

    made, probe = [], firstframe.probe_first_frame

    def counted(path, role, source, index, orient=True):
        made.append((str(path), orient))
        return probe(path, role, source, index, orient)

    for module in (firstframe, reader):
        monkeypatch.setattr(module, "probe_first_frame", counted)
    return made


def test_no_extra_decoding_where_a_container_has_it_or_no_frame_can(tmp_path, enhancer, probes):
    """With --no-autorotate no first frame is decoded at the opening: one is only where neither container
    has a timecode and the codec's frames can carry one (the colour's H.264 here, not the FFV1 depth)."""
    color = _sei_video(tmp_path / "c.mp4", "h264", "01:02:03:04")
    plain, tagged = _ffv1(tmp_path / "d.mkv"), _ffv1(tmp_path / "t.mkv", "gray16le", "25", "-timecode", "02:00:00:00")
    options = InputOptions(autorotate=False)
    summary = enhance_file(color, tagged, tmp_path / "a.mkv", enhancer=enhancer, inputs=options)
    assert summary["timecode"] == "02:00:00:00" and probes == []
    summary = enhance_file(_ffv1(tmp_path / "c.mkv", "yuv420p"), plain, tmp_path / "b.mkv", enhancer=enhancer,
                           inputs=options)
    assert summary["timecode"] is None and probes == []
    summary = enhance_file(color, plain, tmp_path / "c_out.mkv", enhancer=enhancer, inputs=options)
    assert summary["timecode"] == _frame_timecodes(color)[0][1] and probes == [(str(color), False)]


def test_views_render_takes_the_colour_sei_timecode(tmp_path):
    from igde_stream.stream.views import render_file

    color = _sei_video(tmp_path / "c.mp4", "h264", "10:00:00:00")
    depth = _ffv1(tmp_path / "d.mkv")
    _, files = render_file(color, depth, tmp_path / "views.mkv")
    assert [_file_timecodes(f) for f in files] == [{_frame_timecodes(color)[0][1]}]
