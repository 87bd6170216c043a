"""Output frames meet the ground-truth frame of their own time: the nearest one (not the first
within half a frame), ties to the earlier one also when float noise tells equal distances apart,
a ground truth that starts elsewhere is warned about, an untimed ground truth beside a video of
another rate is refused, and the report's peak is the format's whatever --max-depth says."""

from __future__ import annotations

import json
import logging
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest
from conftest import scene, write_video
from skimage.metrics import peak_signal_noise_ratio

from igde_stream.errors import PairingError
from igde_stream.stream import Frame, PsnrReport, enhance_file
from igde_stream.stream.outputs import GtMatcher
from igde_stream.stream.pairing import pair_nearest
from igde_stream.stream.peaks import enhancer_peak, with_format_peak
from igde_stream.stream.streams import check_timing


def frames(times, starts_at=0.0):
    return [Frame(i, None, t, t + starts_at, np.zeros((1, 1), np.uint8)) for i, t in enumerate(times)]


def ms(k, rate):
    """Frame k's time as Matroska stores it: pts in milliseconds, then seconds as a float."""
    return float(Fraction(round(Fraction(1000 * k) / rate), 1000))


def test_each_output_frame_meets_the_nearest_gt_frame_of_a_faster_ground_truth():
    # depth 15 fps, ground truth 30 fps: output k at k / 15 s must meet gt frame 2k, which exists,
    # not gt frame 2k - 1 one 30 fps frame earlier (also within half a depth frame, 1/30 s)
    rep = PsnrReport(255.0)
    m = GtMatcher(iter(frames([ms(j, 30) for j in range(9)])), 0.5 / 15, rep, usable=True)
    got = [m.match(ms(k, 15)) for k in range(5)]
    m.finish()
    assert [g.index for g in got] == [0, 2, 4, 6, 8]
    assert rep.unmatched_gt_count == 4 and [i for i, _ in rep.unmatched_gt] == [1, 3, 5, 7]
    rep.close()


def test_a_frame_exactly_half_a_frame_away_is_in_reach_whatever_the_float_noise():
    """Ground truth at 25 fps starting 20 ms after the depth (exactly the tolerance, half a frame),
    times as a 1 ms time base gives them: each output frame meets a ground-truth frame 20 ms away.
    Before, float noise put some of them out of reach (output 80 ms met none, so gt frames 4 and 6
    went unmatched) and others in. The same offset pairs colour with depth, frame k with frame k
    (before: frame 2 was refused)."""
    from igde_stream.stream.pairing import pair_frames

    def in_ms(values):
        return [float(Fraction(v, 1000)) for v in values]

    depth = in_ms(range(0, 240, 40))
    gt = in_ms(range(20, 300, 40))
    rep = PsnrReport(255.0)
    m = GtMatcher(iter(frames(gt)), 0.5 / 25, rep, usable=True)
    got = [m.match(t) for t in depth]
    m.finish()
    # output k at 40k ms; gt j at 40j + 20 ms. Output 0 meets gt 0 (+20 ms); output k >= 1 has gt k - 1
    # (-20 ms, already met by output k - 1: a gt frame is met once) and gt k (+20 ms): gt k
    assert [None if g is None else g.index for g in got] == [0, 1, 2, 3, 4, 5]
    assert [i for i, _ in rep.unmatched_gt] == [6]
    rep.close()
    pairs = list(pair_frames(frames(in_ms(range(20, 180, 40))), frames(in_ms(range(0, 160, 40))), 0.5 / 25, ("c", "d")))
    assert [(c.index, d.index) for c, d in pairs] == [(0, 0), (1, 1), (2, 2), (3, 3)]


def test_equal_distances_go_to_the_earlier_frame_in_the_gt_matcher_and_in_pair_nearest():
    # 30 fps against 20 fps in a 1 ms time base: depth frame 1 at 50 ms lies 17 ms from colour frames
    # 1 (33 ms) and 2 (67 ms); as floats 0.05 - 0.033 and 0.067 - 0.05 differ in the 17th digit
    colors, depths = [ms(k, 30) for k in range(31)], [ms(k, 20) for k in range(21)]
    got = [c.index for c, _ in pair_nearest(frames(colors), frames(depths), 0.5 / 20, ("c", "d"))]
    # by hand: depth k at 50k ms; colour j at round(100j / 3) ms; ties (k odd) to the earlier j
    want = [min(range(31), key=lambda j: (abs(round(100 * j / 3) - 50 * k), j)) for k in range(21)]
    assert got == want
    assert got[11] == 16  # 550 ms: 533 and 567 ms are both 17 ms away
    rep = PsnrReport(255.0)
    m = GtMatcher(iter(frames(colors)), 0.5 / 20, rep, usable=True)
    assert [m.match(t).index for t in depths] == want
    rep.close()


def test_a_ground_truth_that_starts_elsewhere_is_warned_about_once(caplog):
    rep = PsnrReport(255.0)
    m = GtMatcher(iter(frames([0.0, 0.04, 0.08], starts_at=0.0)), 0.02, rep, usable=True, names=("d.mkv", "g.mkv"))
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        for t in (0.0, 0.04, 0.08):
            m.match(t, start=0.167)  # the depth's own start
    assert len(caplog.records) == 1
    assert "ground truth g.mkv starts at 0.000 s and depth d.mkv at 0.167 s" in caplog.text
    caplog.clear()
    m = GtMatcher(iter(frames([0.0, 0.04], starts_at=0.16)), 0.02, rep, usable=True)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        m.match(0.0, start=0.167)  # 7 ms apart: within half a frame
    assert not caplog.records
    rep.close()


def _info(kind, rate, path):
    return SimpleNamespace(kind=kind, rate=None if rate is None else Fraction(rate), path=path)


@pytest.mark.parametrize("gt, depth, refused", [
    (("sequence", 25), ("file", 30), True),  # a PNG folder without --fps beside a 30 fps video
    (("sequence", 30), ("file", 30), False),  # with --fps 30
    (("file", 30), ("raw", 25), True),  # the other way round
    (("sequence", 25), ("sequence", 25), False),  # both untimed: they share --fps and pair by index
    (("file", 60), ("file", 30), False),  # both timed: they pair by time
    (("sequence", 25), ("file", None), False),  # a video that gives no rate: nothing to compare
    (("sequence", Fraction(30000, 1001)), ("file", Fraction(2997, 100)), False),  # within 0.1 %
])
def test_an_untimed_ground_truth_beside_a_video_of_another_rate_is_refused(gt, depth, refused):
    g, d = _info(*gt, "gt/"), _info(*depth, "d.mkv")
    if refused:
        with pytest.raises(PairingError, match=r"carries no timing and is read at 25 fps .*give --fps 30"):
            check_timing(g, d)
    else:
        check_timing(g, d)


def test_the_report_peak_is_the_formats_with_max_depth_too(tmp_path, tiny_model):
    """16-bit depth 100 levels off everywhere: FFmpeg's psnr (peak 65535) says 56.33 dB for the
    input, with or without --max-depth (which is the model's normalising value, not the report's)."""
    from igde_stream import Enhancer

    colors, _, _ = scene(3, bits=16)
    gts = [np.full((48, 64), 10000, np.uint16) for _ in range(3)]
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", [g + 100 for g in gts], fmt="gray16le")
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray16le")
    want = peak_signal_noise_ratio(gts[0], gts[0] + 100, data_range=65535)
    assert want == pytest.approx(56.329, abs=1e-3)
    for max_depth in (None, 20000):
        enh = Enhancer(model=tiny_model, backend="torch", max_depth=max_depth)
        enhance_file(c, d, tmp_path / f"o{max_depth}.mkv", gt_path=g, report_path=tmp_path / f"r{max_depth}.json",
                     enhancer=enh, overwrite=True)
        rows = json.loads((tmp_path / f"r{max_depth}.json").read_text())["frames"]
        assert [r["input_psnr"] for r in rows] == pytest.approx([want] * 3, abs=1e-4)


def test_an_enhancer_object_without_max_depth_gets_the_formats_peak():
    class Plain:
        def enhance(self, color, depth):
            return depth

    di = SimpleNamespace(bits=10, peak=1023.0, pix_fmt="gray10le", path="d.mkv")
    plain = Plain()
    got = with_format_peak(plain, di)
    assert got is not plain and not hasattr(plain, "max_depth")
    assert enhancer_peak(got, np.dtype(np.uint16)) == 1023.0


def test_a_max_depth_above_the_format_says_max_depth_to_the_api_and_the_flag_to_the_command():
    """An Enhancer's ``max_depth`` above the stream's range: the Python API's error names ``max_depth``;
    the commands print ``--max-depth`` (``cli_message``; tests/test_formats.py runs the command)."""
    from igde_stream.errors import IGDEError, cli_message

    di = SimpleNamespace(bits=8, peak=255.0, pix_fmt="gray", path="d.mkv")
    with pytest.raises(IGDEError) as info:
        with_format_peak(SimpleNamespace(max_depth=300.0), di)
    assert str(info.value) == "d.mkv: max_depth 300 is above the largest value of 8-bit depth (gray: 0..255)"
    assert cli_message(info.value) == "d.mkv: --max-depth 300 is above the largest value of 8-bit depth (gray: 0..255)"
    assert cli_message(IGDEError("plain", "f.mkv")) == "f.mkv: plain"  # no command's words: the same text


def test_a_colour_sequence_beside_a_depth_video_of_another_rate_names_the_fps(tmp_path, enhancer):
    from test_formats import write_png_sequence

    colors, depths, _ = scene(4)
    rgb = write_png_sequence(tmp_path / "rgb", colors)  # read at 25 fps without --fps
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(30000, 1001))
    with pytest.raises(PairingError, match=r"the colour sequence carries no timing .* give --fps 29.97"):
        enhance_file(rgb, d, tmp_path / "o.mkv", enhancer=enhancer)
    assert not (tmp_path / "o.mkv").exists()


def test_pair_nearest_is_suggested_only_when_the_colour_has_more_frames():
    from igde_stream.stream.pairing import pair_frames

    def names(err):
        return "--pair nearest" in str(err)

    # the depth starts 0.1 s late, equal counts: nearest cannot help, so it is not suggested
    with pytest.raises(PairingError) as e:
        list(pair_frames(frames([k / 25 for k in range(8)]), frames([0.1 + k / 25 for k in range(8)]), 0.02,
                         ("c", "d")))
    assert not names(e.value)
    # 30 fps colour, 15 fps depth: the extra colour frames are what nearest skips
    with pytest.raises(PairingError) as e:
        list(pair_frames(frames([k / 30 for k in range(16)]), frames([k / 15 for k in range(8)]), 1 / 30,
                         ("c", "d")))
    assert names(e.value)
