"""Round trips through enhance_file: what goes in (size, count, timestamps, rate, bit depth) comes out."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, write_video, scene
from igde_stream.stream import VideoReader, enhance_file


def expected(enhancer, clip) -> list[np.ndarray]:
    """What the library gives for the decoded inputs (colour is H.264, so decode it like the reader)."""
    with VideoReader(clip["depth"], "depth") as d:
        size = (d.info.width, d.info.height)
        depths = [f.data for f in d.frames()]
    with VideoReader(clip["color"], "color", size=size) as c:
        colors = [f.data for f in c.frames()]
    return list(enhancer.enhance(np.stack(colors), np.stack(depths)))


def assert_same_stream(out, src, n):
    frames, pts, facts = read_video(out)
    _, src_pts, src_facts = read_video(src)
    assert len(frames) == n
    assert pts == src_pts
    for key in ("time_base", "rate", "width", "height", "pix_fmt"):
        assert facts[key] == src_facts[key], key
    assert facts["codec"] == "ffv1"
    return frames


@pytest.mark.parametrize("bits", [8, 16])
def test_roundtrip_ntsc_mkv_keeps_timestamps_and_bit_depth(make_clip, enhancer, bits):
    clip = make_clip(n=8, bits=bits)  # colour: H.264 in MP4 (tb 1001/30000); depth: FFV1 in MKV (tb 1/1000)
    summary = enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    frames = assert_same_stream(clip["out"], clip["depth"], 8)
    assert frames[0].dtype == (np.uint8 if bits == 8 else np.uint16)
    assert read_video(clip["out"])[2]["rate"] == Fraction(30000, 1001)
    for got, want in zip(frames, expected(enhancer, clip)):
        np.testing.assert_array_equal(got, want)  # FFV1 is lossless: the file holds what the model gave
    assert summary["frames"] == 8 and summary["lossless"] and summary["codec"] == "ffv1"
    assert summary["pix_fmt"] == ("gray" if bits == 8 else "gray16le")
    assert not list(clip["out"].parent.glob(".*igde-part*"))


def test_depth_in_yuv_luma(make_clip, enhancer):
    clip = make_clip(n=6, depth_fmt="yuv420p")
    enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    frames = assert_same_stream(clip["out"], clip["depth"], 6)
    for got, want in zip(frames, expected(enhancer, clip)):
        np.testing.assert_array_equal(got, want)


def test_colour_of_another_size_is_resized_to_the_depth_grid(make_clip, enhancer, caplog):
    clip = make_clip(n=6, color_size=(96, 72))
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        summary = enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    assert summary["color_resized"] == "96x72 -> 64x48"
    assert "resized to the depth grid" in caplog.text
    frames = assert_same_stream(clip["out"], clip["depth"], 6)
    for got, want in zip(frames, expected(enhancer, clip)):
        np.testing.assert_array_equal(got, want)


def test_start_offsets_and_time_bases_pair(tmp_path, enhancer):
    # Colour starts at 10 s in a 1/90000 time base (lossless MKV), depth at 0 in 1/1000: pairing is
    # on time from each stream's start.
    colors, depths, _ = scene(6)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", time_base=Fraction(1, 90000), start=10.0)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    out = tmp_path / "out.mkv"
    assert enhance_file(c, d, out, enhancer=enhancer)["frames"] == 6
    assert read_video(out)[1] == read_video(d)[1]


def test_gt_shorter_than_input_reports_unmatched_frames(make_clip, enhancer, tmp_path):
    clip = make_clip(n=8, gt_frames=5)
    report = tmp_path / "r.json"
    summary = enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"], report_path=report,
                           enhancer=enhancer)
    assert summary["frames"] == 8 and summary["matched_frames"] == 5
    assert summary["unmatched_frames"] == 3 and summary["output_frames_without_gt"] == [5, 6, 7]
    doc = json.loads(report.read_text())
    rows = doc["frames"]
    assert [r["index"] for r in rows] == list(range(8))
    assert all(r["psnr"] is not None and r["gt_pts_time"] == r["pts_time"] for r in rows[:5])
    assert all(r["psnr"] is None and r["gt_pts_time"] is None for r in rows[5:])
    assert len(read_video(clip["out"])[0]) == 8  # the output is complete all the same


def test_lossy_codec_is_labelled(make_clip, enhancer, caplog, tmp_path):
    clip = make_clip(n=6)
    out = tmp_path / "out.mp4"
    report = tmp_path / "r.json"
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        summary = enhance_file(clip["color"], clip["depth"], out, codec="libx264", gt_path=clip["gt"],
                               report_path=report, enhancer=enhancer)
    assert summary["lossless"] is False
    assert "lossy" in caplog.text.lower()
    doc = json.loads(report.read_text())
    assert doc["lossless"] is False and "lossy" in doc["measured_on"]
    frames, pts, facts = read_video(out)
    assert len(frames) == 6 and facts["codec"] == "h264"


def depth_info(rate, pix_fmt=None, size=(16, 8), time_base=Fraction(1, 1000)):
    """What a reader would say about a depth stream (only what the writer uses matters)."""
    from igde_stream.stream.reader import VideoInfo

    return VideoInfo(path="in.mkv", codec="ffv1", width=size[0], height=size[1], pix_fmt=pix_fmt,
                     time_base=time_base, rate=rate, start_pts=None, frames=None, duration=None)


@pytest.mark.parametrize("rate, want_pts, want_rate", [
    # frame k at k x 1001/30000 s in a 1/1000 time base, rounded: 33.37 -> 33, 66.73 -> 67, 100.1, 133.47
    (Fraction(30000, 1001), [0, 33, 67, 100, 133], Fraction(30000, 1001)),
    # no rate: the reader's 1/25 s per frame, so 40 ms apart, and 25 fps in the file
    (None, [0, 40, 80, 120, 160], Fraction(25)),
])
def test_frames_without_pts_are_written_a_frame_duration_apart(tmp_path, caplog, rate, want_pts, want_rate):
    from igde_stream.stream import DepthWriter

    out = tmp_path / "out.mkv"
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        w = DepthWriter(out, depth_info(rate))
        for k in range(5):
            w.write(np.full((8, 16), k, np.uint8), None)
        w.commit()
    frames, pts, facts = read_video(out)
    assert pts == want_pts and facts["time_base"] == Fraction(1, 1000) and facts["rate"] == want_rate
    assert [int(f[0, 0]) for f in frames] == [0, 1, 2, 3, 4]
    assert ("gives no frame rate; writing at 25 fps" in caplog.text) == (rate is None)
    with VideoReader(out, "depth") as r:  # the reader puts them where it puts frames without pts
        times = [f.time for f in r.frames()]
    np.testing.assert_allclose(times, [k / float(want_rate) for k in range(5)], atol=0.0005)


@pytest.mark.parametrize("declared", [None, "gray"])
def test_16_bit_frames_stay_16_bit_whatever_the_input_declared(tmp_path, declared):
    # The input's pixel format was unknown when the file was opened, or said 8-bit: the frames decide.
    from igde_stream.stream import DepthWriter

    out = tmp_path / "out.mkv"
    values = [0, 255, 256, 1000, 40000, 65535]
    w = DepthWriter(out, depth_info(Fraction(25), pix_fmt=declared))
    for v in values:
        w.write(np.full((8, 16), v, np.uint16), None)
    w.commit()
    assert w.pix_fmt == "gray16le"
    frames, _, facts = read_video(out)
    assert facts["pix_fmt"] == "gray16le"
    assert [f.dtype for f in frames] == [np.dtype(np.uint16)] * 6
    assert [int(f.max()) for f in frames] == values  # not wrapped modulo 256
