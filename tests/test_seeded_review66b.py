"""Seeded-bug review 66b: tests for the luma range checks of lossy depth, the far-high near-limit
warning, image-sequence numbering, the .ts / .y4m outputs of deep depth, views quality's pairing
advice and the --pair nearest colour counts that let planted bugs through (results/seeded_review66b.json).
Every expected value is worked out by hand in the test's docstring or comments."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from igde_stream.errors import OutputError

# ------------------------------------------------------------------ luma_checks: lossy ringing


def _share(luma, lo=16, hi=235):
    from igde_stream.stream.luma_checks import _flat_outside_share

    return _flat_outside_share(np.asarray(luma, np.uint16), lo, hi)


def test_flat_outside_share_counts_the_pixels_whose_eight_neighbours_are_outside_too():
    """10 x 10 frame at 120 (inside 16..235): a 3 x 3 patch at 0 has one pixel whose 8 neighbours are all
    outside (its centre): 1 / 100. A 3 x 4 patch at 250 (above): 2 centres, 2 / 100. A one-pixel ring
    of 0 round a 3 x 3 inside square, and a line 2 px thick: no pixel of them has 8 outside neighbours."""
    f = np.full((10, 10), 120)
    f[2:5, 2:5] = 0
    assert _share(f) == pytest.approx(0.01)
    f = np.full((10, 10), 120)
    f[5:8, 3:7] = 250
    assert _share(f) == pytest.approx(0.02)
    f = np.full((10, 10), 120)
    f[2:7, 2:7] = 0
    f[3:6, 3:6] = 120
    f[8:10, :] = 5  # the border rows count as inside
    assert _share(f) == 0.0
    f = np.full((10, 10), 120)
    f[1:6, 1:6] = 0  # 5 x 5: its 3 x 3 inner pixels, 9 / 100
    assert _share(f) == pytest.approx(0.09)


def test_flat_outside_share_of_frames_under_three_pixels_a_side_is_their_share_outside():
    """No pixel of a 2 x 4 frame has 8 neighbours: the plain share outside, 3 of 8."""
    assert _share([[0, 0, 120, 120], [0, 120, 120, 120]]) == pytest.approx(3 / 8)


def _patch_frame(rows, cols, code, base=120, bits=8):
    """20 x 20 luma at ``base`` with a ``rows`` x ``cols`` patch at ``code`` (its flat core: (rows - 2)
    x (cols - 2) of the 400 pixels)."""
    s = 1 << (bits - 8)
    f = np.full((20, 20), base * s, np.uint16 if bits > 8 else np.uint8)
    f[5:5 + rows, 5:5 + cols] = code
    return f


def _limited_warns(luma, bits=8, codec="h264"):
    from igde_stream.stream.luma_checks import check_limited_luma

    return check_limited_luma(luma, bits, 0, "d.mp4", codec)


@pytest.mark.parametrize("rows, cols, warns", [(3, 4, False), (3, 5, True), (4, 4, True)])
def test_lossy_full_range_warning_starts_above_half_a_percent_of_flat_patches(rows, cols, warns):
    """RINGING_SHARE 0.5 % of 400 pixels is 2: a 3 x 4 patch at 0 has a core of 1 x 2 = 2 pixels (0.5 %,
    not above it: ringing), a 3 x 5 one 3 (0.75 %) and a 4 x 4 one 4 (1 %): full-range depth."""
    assert _limited_warns(_patch_frame(rows, cols, 0)) is warns
    assert _limited_warns(_patch_frame(rows, cols, 0), codec="ffv1") is True  # lossless: any value outside


@pytest.mark.parametrize("bits, code, warns", [(8, 12, False), (8, 11, True), (8, 239, False), (8, 240, True),
                                               (10, 48, False), (10, 47, True), (10, 956, False), (10, 957, True)])
def test_lossy_full_range_warning_leaves_four_levels_of_slack(bits, code, warns):
    """A 6 x 6 patch (core 16 of 400 pixels, 4 %) outside the limited range, through H.264: 8-bit 16..235
    with 4 levels of slack counts below 12 or above 239; 10-bit 64..940 with 4 x 4 = 16, below 48 or
    above 956."""
    assert _limited_warns(_patch_frame(6, 6, code, bits=bits), bits) is warns


# ------------------------------------------------------------------ far-high near-limit warning


def _wall_with_holes(ring=2):
    """8-bit distance (far-high, peak 255: near limit 12.75): a 48 x 80 wall at 60 with two 12 x 12
    holes (0), each in a one-pixel ring of ``ring``: 2 x (14 x 14 - 12 x 12) = 104 ring pixels; 3840 -
    288 = 3552 measured."""
    d = np.full((48, 80), 60, np.uint8)
    for x in (10, 50):
        d[17:31, x - 1:x + 13] = ring
        d[18:30, x:x + 12] = 0
    return d


def _far_high(d, peak=255.0):
    from igde_stream.enhancer import warn_depth_range

    return warn_depth_range(d, peak, "far-high")


def test_ringing_is_told_by_the_median_code_not_the_mean():
    """The 104 ring pixels at 2 and a 6 x 10 patch at 12 away from the holes: 164 codes nearer than
    12.75, 164 / 3552 = 4.6 % (said "5 %"); median 2 (within 4 levels of 0), mean (208 + 720) / 164 =
    5.7; 104 / 164 = 63 % by the holes: the lossless advice."""
    d = _wall_with_holes()
    d[0:6, 30:40] = 12
    (said,) = _far_high(d)
    assert said.startswith("5 % of the measured depth is nearer than the near limit 12.75")
    assert "63 % of it lies within 2 px of holes (0), at 2..12" in said and "e.g." not in said


def test_half_of_the_near_codes_beside_holes_is_enough_for_the_lossless_advice():
    """The 104 ring pixels and an 8 x 13 = 104 pixel patch at 2 away from the holes: exactly 50 % by
    the holes, which is "most" (>= 0.5): the lossless advice."""
    d = _wall_with_holes()
    d[0:8, 30:43] = 2
    (said,) = _far_high(d)
    assert "50 % of it lies within 2 px of holes (0), at 2..2" in said and "e.g." not in said


def test_codes_two_pixels_left_of_a_hole_lie_within_its_reach():
    """Two 40 x 12 holes with, 2 px left of each (a wall pixel between), a column of 40 codes at 2: 80 of
    3840 - 960 = 2880 measured (2.8 %, "3 %"), every one within 2 px of a hole."""
    d = np.full((48, 80), 60, np.uint8)
    for x in (10, 50):
        d[4:44, x:x + 12] = 0
        d[4:44, x - 2] = 2
    (said,) = _far_high(d)
    assert said.startswith("3 % of the measured depth") and "100 % of it lies within 2 px of holes" in said


def test_ringing_under_one_percent_says_nothing():
    """One 4 x 4 hole in a ring at 2: 20 codes of 3824 measured, 0.5 %, under the 1 % that warns at all."""
    d = np.full((48, 80), 60, np.uint8)
    d[19:25, 29:35] = 2
    d[20:24, 30:34] = 0
    assert _far_high(d) == []


def test_sixteen_bit_ringing_is_four_levels_on_the_8_bit_scale():
    """16-bit distance at peak 65535 (near limit 3276.75): a wall at 20000, the holes' rings at 500, under
    4 x 65535 / 255 = 1028: a lossy codec's, not a surface 40 x nearer."""
    d = _wall_with_holes().astype(np.uint16)
    d[d == 60] = 20000
    d[d == 2] = 500
    (said,) = _far_high(d, 65535.0)
    assert "100 % of it lies within 2 px of holes (0), at 500..500" in said and "e.g." not in said


# ------------------------------------------------------------------ image-sequence numbering


def _gray_folder(folder, names, size=(16, 12)):
    import cv2

    folder.mkdir()
    for k, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full(size[::-1], 10 * k + 5, np.uint8))
    return folder


def _video(path, n=3):
    from conftest import write_video

    return write_video(path, [np.full((12, 16), 10 * k, np.uint8) for k in range(n)], fmt="gray",
                       rate=Fraction(25))


def _check(gt, depth):
    from igde_stream.stream import VideoReader
    from igde_stream.stream.streams import check_numbering

    with VideoReader(gt, "gt") as g, VideoReader(depth, "depth") as d:
        check_numbering(g.info, d.info)


def test_two_unpadded_names_out_of_order_are_refused(tmp_path):
    """9.png, 10.png: read in name order, 10.png first."""
    from igde_stream.errors import InputError
    from igde_stream.stream.imageseq import sequence_frames

    d = _gray_folder(tmp_path / "d", ["9.png", "10.png"])
    with pytest.raises(InputError, match=r"10\.png comes before 9\.png"):
        sequence_frames(str(d))


def test_a_percent_sign_in_the_names_is_doubled_in_the_pattern_named(tmp_path):
    """x%1.png .. x%10.png: the pattern named must read '%' literally, x%%%d.png, and it reads the ten
    in number order (values 5, 15, .. 95 as written for 1, 2, .. 10)."""
    from igde_stream.errors import InputError
    from igde_stream.stream import VideoReader
    from igde_stream.stream.imageseq import sequence_frames

    d = _gray_folder(tmp_path / "d", [f"x%{n}.png" for n in range(1, 11)])
    with pytest.raises(InputError) as info:
        sequence_frames(str(d))
    pattern = str(d / "x%%%d.png")
    assert f"give the pattern {pattern}," in str(info.value)
    with VideoReader(pattern, "depth") as r:
        assert [int(f.data[0, 0]) for f in r.frames()] == list(range(5, 100, 10))


def test_timestamp_names_with_a_short_fraction_are_no_frame_numbers(tmp_path):
    """1305031102.10, .13, .17.png: hundredths of a second, which step by 3 or 4 (under MAX_FRAME_STEP)
    but are timestamps (seconds.fraction): no gap beside a video, nothing apart from another camera's
    .11, .15, .18."""
    g = _gray_folder(tmp_path / "g", [f"1305031102.{f}.png" for f in (10, 13, 17)])
    d = _gray_folder(tmp_path / "d", [f"1305031102.{f}.png" for f in (11, 15, 18)])
    _check(g, _video(tmp_path / "v.mkv"))
    _check(g, d)


def test_every_other_frame_with_one_long_jump_is_still_frame_numbers(tmp_path):
    """Ground truth 0, 2, 4, 6, 30 beside depth 0..4: steps 2, 2, 2, 24, median 2: frame numbers, and
    image 1 (000002.png) is not depth frame 1 (000001.png)."""
    from igde_stream.errors import PairingError

    g = _gray_folder(tmp_path / "g", [f"{n:06d}.png" for n in (0, 2, 4, 6, 30)])
    d = _gray_folder(tmp_path / "d", [f"{n:06d}.png" for n in range(5)])
    with pytest.raises(PairingError, match=r"image 1 of the ground truth is 000002\.png and of the depth 000001"):
        _check(g, d)


def test_every_tenth_frame_is_still_frame_numbers(tmp_path):
    """Ground truth 0, 10, 20 (a median step of 10, MAX_FRAME_STEP itself) beside depth 0, 1, 2."""
    from igde_stream.errors import PairingError

    g = _gray_folder(tmp_path / "g", [f"{n:06d}.png" for n in (0, 10, 20)])
    d = _gray_folder(tmp_path / "d", [f"{n:06d}.png" for n in range(3)])
    with pytest.raises(PairingError, match=r"image 1 of the ground truth is 000010\.png"):
        _check(g, d)


def test_a_gap_beside_an_unnumbered_sequence_passes(tmp_path):
    """Ground truth 0, 1, 3 beside depth a.png, b.png, c.png: both timed by position, the depth says no
    numbers, so nothing says they part."""
    g = _gray_folder(tmp_path / "g", [f"{n:06d}.png" for n in (0, 1, 3)])
    d = _gray_folder(tmp_path / "d", ["a.png", "b.png", "c.png"])
    _check(g, d)


# ------------------------------------------------------------------ views: --max-depth, pairing advice


def _views_clip(tmp_path, n=5, gt_times=None):
    from conftest import scene, write_video

    colors, depths, gts = scene(n)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    kw = {"times": gt_times} if gt_times else {}
    g = write_video(tmp_path / "g.mkv", gts[:len(gt_times or gts)], fmt="gray", rate=Fraction(25), **kw)
    d = write_video(tmp_path / "d.mkv", depths[:len(gt_times or depths)], fmt="gray", rate=Fraction(25), **kw)
    return c, g, d


def test_views_quality_refuses_a_max_depth_above_an_8_bit_depth_beside_16_bit_ground_truth(tmp_path, capsys):
    """Ground truth of 16 bits (65535 holds 25000), depth of 8 (0..255 does not): the depth is refused."""
    from conftest import scene, write_video
    from igde_stream.cli import main

    colors, depths, gts16 = scene(2, bits=16)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    g = write_video(tmp_path / "g.mkv", gts16, fmt="gray16le")
    d = write_video(tmp_path / "d.mkv", [(x >> 8).astype(np.uint8) for x in depths], fmt="gray")
    args = ["views", "quality", str(c), "--gt", str(g), "--depth", f"d={d}", "--depth-order", "far-high"]
    assert main([*args, "--max-depth", "25000"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(d) in err[0]
    assert err[0].endswith("--max-depth 25000 is above the largest value of 8-bit depth (gray: 0..255)")


def test_views_render_of_10_bit_depth_takes_a_max_depth_above_its_peak(tmp_path):
    """10-bit depth sits in uint16: --max-depth 4095 (above its peak 1023, under 65535) is taken, as the
    main command takes it, and the views are written."""
    from conftest import scene, write_video
    from igde_stream.cli import main
    from test_formats import write_high_bit

    colors, depths16, _ = scene(2, bits=16)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_high_bit(tmp_path / "d.mkv", [(x >> 6).astype(np.uint16) for x in depths16], "gray10le")
    out = tmp_path / "v.mkv"
    assert main(["views", "render", str(c), str(d), "-o", str(out), "--max-depth", "4095", "-q"]) == 0
    assert out.exists()


def test_views_quality_of_ground_truth_that_parts_from_the_colour_names_no_max_frames_nor_pair(tmp_path, capsys):
    """Ground truth (and depth) at 0, 0.04 and 0.3 s beside colour at 0 .. 0.16 s: the colour's frames 2..4
    have no ground truth, and the ground truth's frame at 0.3 s no colour; no --max-frames scores that,
    so none is named; nor --pair nearest, which views quality does not take (the pairing error of the
    main command advised it, and views quality passed it on: "unrecognized arguments" when followed)."""
    from igde_stream.cli import main

    c, g, d = _views_clip(tmp_path, gt_times=[0.0, 0.04, 0.3])
    assert main(["views", "quality", str(c), "--gt", str(g), "--depth", f"d={d}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "do not pair by timestamp" in err[0] and "--max-frames" not in err[0]
    assert err[0].endswith("(5 colour frames, 3 depth frames)") and "--pair" not in err[0]


def test_views_quality_with_max_frames_leaves_the_rest_of_every_depth_unread(tmp_path):
    """Colour, ground truth and depth of 5 frames, --max-frames 2: 2 frames scored; the depth's frames
    2..4, after the span, are no 'frame without a partner'."""
    import json

    from igde_stream.cli import main

    c, g, d = _views_clip(tmp_path)
    report = tmp_path / "q.json"
    assert main(["views", "quality", str(c), "--gt", str(g), "--depth", f"d={d}", "--max-frames", "2",
                 "--report", str(report), "-q"]) == 0
    assert json.loads(report.read_text())["frames"] == 2


# ------------------------------------------------------------------ outputs, wording, tools


def test_ffv1_10_bit_into_a_transport_stream_names_both_lossy_encoders(tmp_path):
    """10-bit depth: x264 (10 bits at most) and x265 (12) both store it, so both are named."""
    from test_output_containers import _like

    from igde_stream.stream.writer import DepthWriter

    with pytest.raises(OutputError) as info:
        DepthWriter(tmp_path / "out.ts", _like(pix_fmt="gray10le"))
    assert "use .mkv or .nut, or --codec libx264 / libx265 (lossy) for .ts" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_no_frame_is_said_in_the_plural():
    """'0 frames compared' (a ground truth of another size: nothing compared) and '0 frames in', as
    '4 frames'; only 1 is singular."""
    from test_run_summary_values import _summary

    from igde_stream.batch_cli import progress_text
    from igde_stream.run_summary import format_summary

    said = format_summary(_summary(matched_frames=0, unmatched_frames=5, mean_psnr=None, mean_psnr_input=None,
                                   mean_gain_db=None, min_psnr=None, median_psnr=None, max_psnr=None,
                                   worst_frames=[], gt_problem="another size"))
    assert "; 0 frames compared, 5 unmatched" in said
    assert progress_text({"status": "done", "frames": 0, "seconds": 0.04}) == "0 frames in 0.0 s"


def test_colormap_tables_writes_without_options_and_checks_with_check(tmp_path, monkeypatch, capsys):
    """No option: the module is written (here a stand-in path); --check then finds the same tables and
    writes nothing (the file keeps its bytes and time)."""
    pytest.importorskip("matplotlib")
    from conftest import load_tool

    tool = load_tool("colormap_tables")
    out = tmp_path / "colormap_data.py"
    monkeypatch.setattr(tool, "OUT", out)
    assert tool.main([]) == 0 and out.read_text() == tool.module_text()
    out.write_text(out.read_text().replace('"""', '"""stand-in ', 1))  # the docstring is not compared
    before = (out.read_bytes(), out.stat().st_mtime_ns)
    capsys.readouterr()
    assert tool.main(["--check"]) == 0 and "the same tables" in capsys.readouterr().out
    assert (out.read_bytes(), out.stat().st_mtime_ns) == before


def test_the_depth_panel_of_a_flat_patch_names_its_one_value(tmp_path, monkeypatch):
    """Ground truth 0 everywhere (near-high: 0 of 0..1): the panel's title said "0..1e-06", the colour
    limits' nudge (vmax must pass vmin); the patch holds 0..0."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from igde_stream.multiview_figure import boundary_figure

    seen = []
    save = plt.Figure.savefig
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, *a, **k: (seen.append(fig), save(fig, *a, **k))[1])
    gt = np.zeros((48, 64), np.uint8)
    deg = gt.copy()
    deg[:, 20:40] = 200
    color = np.random.default_rng(0).integers(0, 256, (48, 64, 3)).astype(np.uint8)
    boundary_figure(color, gt, {"degraded": deg}, str(tmp_path / "f.png"), max_depth=255)
    assert "near = white, 0..0 of 0..1" in seen[0].axes[2].get_title()
