"""run_summary.format_summary's lines written out by hand for a made-up summary (fast: no run): the
PSNR line, the three worst frames, "n/a" for a missing figure, and when the wall time with the
reports is worth a mention (over max(0.5 s, 5 % of the stream's seconds) more than the stream)."""

from __future__ import annotations

import pytest

from igde_stream.run_summary import format_summary


def _summary(**extra):
    s = {"output": "out.mkv", "frames": 12, "width": 64, "height": 48, "pix_fmt": "gray16le",
         "codec": "ffv1", "lossless": True, "fps": 3.14159, "backend": "cpu"}
    s.update(extra)
    return s


def test_the_first_line_alone_without_ground_truth():
    assert format_summary(_summary()) == "wrote out.mkv: 12 frames, 64x48 gray16le, ffv1 (lossless), 3.14 frames/s on cpu"
    lossy = format_summary(_summary(lossless=False, codec="libx264"))
    assert lossy == "wrote out.mkv: 12 frames, 64x48 gray16le, libx264 (LOSSY), 3.14 frames/s on cpu"


def test_the_psnr_line_and_the_three_worst_frames():
    """Two decimals with " dB", the gain signed; of four worst frames only the first three are named;
    a NaN or missing figure reads "n/a"."""
    s = _summary(mean_psnr=41.234, mean_psnr_input=38.0, mean_gain_db=3.234, min_psnr=30.5, median_psnr=41.0,
                 max_psnr=float("nan"), matched_frames=12, unmatched_frames=1, gt_problem="another size",
                 worst_frames=[{"index": 7, "psnr": 30.5}, {"index": 2, "psnr": 31.25}, {"index": 9, "psnr": None},
                               {"index": 4, "psnr": 35.0}])
    lines = format_summary(s).splitlines()
    assert lines[1:] == [
        "PSNR 41.23 dB (input 38.00 dB, gain +3.23 dB); min 30.50 dB, median 41.00 dB, max n/a; "
        "12 frames compared, 1 unmatched",
        "ground truth not comparable: another size",
        "worst frames: 7 (30.50 dB), 2 (31.25 dB), 9 (n/a)",
    ]
    s.update(mean_gain_db=-0.5, worst_frames=[], gt_problem=None)
    lines = format_summary(s).splitlines()
    assert "gain -0.50 dB" in lines[1] and len(lines) == 2  # no worst frames: no line


@pytest.mark.parametrize("seconds, total, shown", [
    (2.0, 2.4, False),   # 0.4 s more: under the 0.5 s floor
    (2.0, 2.5, True),    # exactly 0.5 s more: shown (the floor is not "under")
    (2.0, 2.1, False),   # 0.1 s = 5 % of 2 s, but under the 0.5 s floor
    (20.0, 20.8, False),  # 0.8 s more, under 5 % of 20 s = 1 s
    (20.0, 21.0, True),  # exactly 5 %: shown
    (20.0, 20.9, False),
])
def test_the_wall_time_with_the_reports_is_shown_from_half_a_second_or_5_percent(seconds, total, shown):
    line = format_summary(_summary(seconds=seconds, total_seconds=total)).splitlines()[0]
    tail = f" ({seconds:.1f} s; {total:.1f} s with the reports)"
    assert line.endswith(tail) == shown
    assert line.startswith("wrote out.mkv: 12 frames") and (shown or line.endswith("frames/s on cpu"))


def test_the_wall_time_needs_both_times():
    assert format_summary(_summary(total_seconds=9.0)).endswith("on cpu")
    assert format_summary(_summary(seconds=1.0)).endswith("on cpu")


def test_one_frame_is_said_in_the_singular():
    """A photograph's run (one image in, one out) wrote "1 frame", not "1 frames"."""
    assert format_summary(_summary(output="e.png", frames=1, codec="png")).startswith("wrote e.png: 1 frame, 64x48")


def test_one_frame_compared_is_said_in_the_singular():
    """A photograph with its ground truth (or --max-frames 1) said "1 frames compared"."""
    said = format_summary(_summary(output="e.png", frames=1, codec="png", matched_frames=1, unmatched_frames=0,
                                   mean_psnr=40.0, mean_psnr_input=30.0, mean_gain_db=10.0, min_psnr=40.0,
                                   median_psnr=40.0, max_psnr=40.0, worst_frames=[{"index": 0, "psnr": 40.0}]))
    assert "; 1 frame compared, 0 unmatched" in said


def test_a_batch_clip_of_one_frame_is_said_in_the_singular():
    """`igde-stream batch ... --max-frames 1` logged "[3/3] c.mkv: done, 1 frames in 0.5 s"."""
    from igde_stream.batch_cli import progress_text

    assert progress_text({"status": "done", "frames": 1, "seconds": 0.54}) == "1 frame in 0.5 s"
    assert progress_text({"status": "done", "frames": 4, "seconds": 2.06}) == "4 frames in 2.1 s"
    assert progress_text({"status": "failed", "error": "d.mkv: no such file"}) == "d.mkv: no such file"
