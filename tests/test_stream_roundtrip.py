"""Round trips through enhance_file: what goes in (size, count, timestamps, rate, bit depth) comes out."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, write_video, scene
from igde_stream.errors import InputError
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


def test_enlarge_nearest_by_hand():
    from igde_stream.stream.formats import enlarge_nearest

    d = np.array([[1, 2, 3], [4, 5, 6]], np.uint16)
    # factor 2: every value repeated twice in both directions
    np.testing.assert_array_equal(enlarge_nearest(d, 6, 4), np.repeat(np.repeat(d, 2, axis=0), 2, axis=1))
    # 3 -> 5 columns: centres (x + 0.5) * 3 / 5 = 0.3, 0.9, 1.5, 2.1, 2.7 fall in columns 0, 0, 1, 2, 2
    np.testing.assert_array_equal(enlarge_nearest(d, 5, 2), d[:, [0, 0, 1, 2, 2]])
    assert enlarge_nearest(d, 5, 3).dtype == np.uint16
    np.testing.assert_array_equal(enlarge_nearest(d, 5, 3), d[[0, 1, 1]][:, [0, 0, 1, 2, 2]])


def test_enlarge_linear_by_hand():
    from igde_stream.stream.formats import enlarge_linear

    # x2: output centres map to input x = (i + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to
    # the ends: 0, 25, 75, 100 between the values 0 and 100
    d = np.array([[0, 100], [0, 100]], np.uint8)
    np.testing.assert_array_equal(enlarge_linear(d, 4, 2), [[0, 25, 75, 100]] * 2)
    v = np.array([[0], [65535]], np.uint16)  # 16 bits: rounded to integers, no overflow at the top
    got = enlarge_linear(v, 1, 4)
    assert got.dtype == np.uint16 and got[:, 0].tolist() == [0, 16384, 49151, 65535]


def test_grid_color_enlarges_small_depth_to_the_colour_and_reports_at_that_size(tmp_path, enhancer, caplog):
    """grid="color": depth at half the colour's size is enlarged (nearest: each value repeated 2 x 2;
    linear by default), the model runs at the colour's size, the output has it, and the ground truth
    (full size) is compared with the enlarged input and the output there."""
    from skimage.metrics import mean_squared_error

    colors, _, gts = scene(4, (96, 72))
    lows = [g[::2, ::2].copy() for g in gts]
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", lows, fmt="gray")
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray")
    out = tmp_path / "out.mkv"
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        summary = enhance_file(c, d, out, gt_path=g, report_path=tmp_path / "r.json", enhancer=enhancer, grid="color",
                               enlarge="nearest")
    assert summary["depth_enlarged"] == "48x36 -> 96x72" and summary["color_resized"] is None
    header = json.loads((tmp_path / "r.json").read_text())  # the report's header keys are top-level
    assert header["depth_enlarged"] == "48x36 -> 96x72" and header["color_resized"] is None  # what the input row is
    assert "enlarged to the colour grid" in caplog.text
    frames, _, facts = read_video(out)
    assert (facts["width"], facts["height"]) == (96, 72) and len(frames) == 4
    big = [np.repeat(np.repeat(x, 2, axis=0), 2, axis=1) for x in lows]
    for got, want in zip(frames, enhancer.enhance(np.stack(colors), np.stack(big))):
        np.testing.assert_array_equal(got, want)
    in_mse = np.mean([mean_squared_error(t.astype(float), b.astype(float)) for t, b in zip(gts, big)])
    out_mse = np.mean([mean_squared_error(t.astype(float), f.astype(float)) for t, f in zip(gts, frames)])
    assert summary["unmatched_frames"] == 0
    assert summary["mean_psnr_input"] == pytest.approx(10 * np.log10(255**2 / in_mse), abs=1e-6)
    assert summary["mean_psnr"] == pytest.approx(10 * np.log10(255**2 / out_mse), abs=1e-6)
    # the default enlargement is bilinear (enlarge_linear, checked by hand above)
    from igde_stream.stream.formats import enlarge_linear

    enhance_file(c, d, tmp_path / "lin.mkv", enhancer=enhancer, grid="color")
    want = enhancer.enhance(np.stack(colors), np.stack([enlarge_linear(x, 96, 72) for x in lows]))
    for got, w in zip(read_video(tmp_path / "lin.mkv")[0], want):
        np.testing.assert_array_equal(got, w)
    # the default grid is the depth's: the colour is shrunk to it and the output stays 48x36
    summary = enhance_file(c, d, tmp_path / "small.mkv", enhancer=enhancer)
    assert summary["color_resized"] == "96x72 -> 48x36" and summary["depth_enlarged"] is None
    assert read_video(tmp_path / "small.mkv")[2]["width"] == 48


def test_grid_color_refuses_depth_larger_than_the_colour(tmp_path, enhancer):
    colors, depths, _ = scene(2, (64, 48))
    c = write_video(tmp_path / "c.mkv", [x[::2, ::2].copy() for x in colors], fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    with pytest.raises(InputError, match=r"depth is 64x48, larger than 32x24 in width or height"):
        enhance_file(c, d, tmp_path / "out.mkv", enhancer=enhancer, grid="color")
    assert not (tmp_path / "out.mkv").exists() and not list(tmp_path.glob(".*igde-part*"))
    with pytest.raises(ValueError, match="grid must be one of depth, color"):
        enhance_file(c, d, tmp_path / "out.mkv", enhancer=enhancer, grid="colour")
    with pytest.raises(ValueError, match="enlarge must be one of linear, nearest"):
        enhance_file(c, d, tmp_path / "out.mkv", enhancer=enhancer, grid="color", enlarge="cubic")


def test_cli_grid_color_enlarges_and_refuses_in_one_line(tmp_path, tiny_model, capsys):
    from igde_stream import cli
    from igde_stream.stream.formats import ENLARGE
    from igde_stream.stream.pipeline import GRIDS, MAX_THREADS

    assert cli.GRIDS == GRIDS and cli.ENLARGE == tuple(ENLARGE) and cli.MAX_THREADS == MAX_THREADS
    colors, _, gts = scene(2, (64, 48))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", [g[::2, ::2].copy() for g in gts], fmt="gray")
    args = ["--model", str(tiny_model), "--backend", "torch", "-q"]
    assert cli.main([str(c), str(d), "-o", str(tmp_path / "o.mkv"), "--grid", "color", *args]) == 0
    assert read_video(tmp_path / "o.mkv")[2]["width"] == 64
    capsys.readouterr()
    # colour and depth swapped in size: the depth cannot be enlarged to a smaller colour grid
    small = write_video(tmp_path / "small.mkv", [x[::2, ::2].copy() for x in colors], fmt="rgb24", codec="ffv1")
    big = write_video(tmp_path / "big.mkv", gts, fmt="gray")
    code = cli.main([str(small), str(big), "-o", str(tmp_path / "o2.mkv"), "--grid", "color", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "larger than 32x24" in err[0], err
    assert not (tmp_path / "o2.mkv").exists()
