"""The summary's count of float depth frames clipped to the run's range, and the range it names to
hold them, are of the frames the run enhanced. A run cut short (``--max-frames``, ``--to``) has its
readers decode a few batches ahead of its last frame; before 2026-12-07 those were counted too (a
2-frame look at an iPhone capture's EXR frames said "7 frames clipped" and named a range for frames
it never used)."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from test_float_depth import float_scene, write_sequences


def _clipping_clip(tmp_path, n=16, first=3):
    """Float depth whose frames from ``first`` on hold one value above the first frame's range, each a
    little higher (frame k: 2.5 + k / 10), so that the covering range says which frames were counted."""
    colors, depths, _ = float_scene(n)
    for k in range(first, n):
        depths[k][5, 5] = 2.5 + k / 10
    return write_sequences(tmp_path, colors, depths)


@pytest.mark.parametrize("most, clipped, top", [(2, 0, None), (5, 2, 2.5 + 4 / 10), (0, 13, 2.5 + 15 / 10)])
def test_frames_clipped_are_those_the_run_enhanced(tmp_path, enhancer, most, clipped, top):
    from igde_stream.stream import enhance_file

    folder = _clipping_clip(tmp_path)
    summary = enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", enhancer=enhancer, max_frames=most)
    f = summary["float_range"]
    assert summary["frames"] == (most or 16)
    assert f["clipped_frames"] == clipped
    if top is None:
        assert f["covering"] is None
    else:
        assert f["covering"][0] == f["lo"] and f["covering"][1] == pytest.approx(top, abs=1e-6)


def test_describe_run_counts_only_the_frames_used():
    from igde_stream.stream.floatdepth import FloatMap, describe_run, encode_counted

    fmap = FloatMap(0.5, 2.5)
    depth = SimpleNamespace(float_map=fmap, path="d", float_clipped=0, float_covering=None)
    for i, top in enumerate([2.0, 3.0, 2.0, 4.0, 5.0]):  # frames 1, 3 and 4 clip
        encode_counted(depth, np.array([[1.0, top]], np.float32), i)
    gt = SimpleNamespace(float_map=fmap, path="g", float_clipped=0, float_covering=None)
    for i, low in enumerate([1.0, 1.0, 0.1, 1.0, 1.0]):  # frame 2 clips below
        encode_counted(gt, np.array([[low, 2.0]], np.float32), i)
    assert describe_run(fmap, depth, gt)["clipped_frames"] == 3  # without a count: every frame read
    for used, (n, n_gt, covering) in {1: (0, 0, None), 2: (1, 0, [0.5, 3.0]), 3: (1, 1, [0.1, 3.0]),
                                      4: (2, 1, [0.1, 4.0]), 5: (3, 1, [0.1, 5.0])}.items():
        f = describe_run(fmap, depth, gt, used, range(used))  # the ground truth's frames 0..used-1 compared
        assert (f["clipped_frames"], f["gt_clipped_frames"]) == (n, n_gt)
        assert (None if f["covering"] is None else [round(x, 6) for x in f["covering"]]) == covering


def test_the_ground_truths_frames_are_those_compared(tmp_path, enhancer):
    """From --start the ground truth's reader reads a frame before the depth's first: that frame is not
    compared, and the ground truth's last frame is. Counted by the order they were read, the one before
    took the place of the last (the range named held 9.0 from frame 2, not 3.0 from frame 7)."""
    from test_float_depth import write_pfm

    from igde_stream.stream import enhance_file

    colors, depths, gts = float_scene(8)
    folder = write_sequences(tmp_path, colors, depths)
    gts[2][3, 3], gts[7][3, 3] = 9.0, 3.0  # above the first depth frame's 0.5..2.5: frame 2 before the start
    gt = tmp_path / "gt"
    gt.mkdir()
    for i, g in enumerate(gts):
        write_pfm(gt / f"{i:06d}.pfm", g)
    summary = enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", enhancer=enhancer, gt_path=gt,
                           start=3 / 25)  # depth frames 3..7, at --fps's default 25
    f = summary["float_range"]
    assert summary["frames"] == 5 and summary["matched_frames"] == 5
    assert (f["clipped_frames"], f["gt_clipped_frames"]) == (0, 1)
    assert f["covering"][0] == f["lo"] and f["covering"][1] == pytest.approx(3.0)


def _float_video(path, frames, rate):
    """Float frames as FFV1 gbrpf32le (three equal channels, lossless; FFmpeg 8's FFV1 level 4) at ``rate``
    fps, frame i at i / rate: a timed float stream, as a ground truth at another rate than the depth's."""
    import av

    h, w = frames[0].shape
    try:
        with av.open(str(path), "w") as c:
            s = c.add_stream("ffv1", rate=rate, options={"level": "4", "strict": "experimental"})
            s.width, s.height, s.pix_fmt = w, h, "gbrpf32le"
            for i, values in enumerate(frames):
                f = av.VideoFrame(w, h, "gbrpf32le")
                for plane in f.planes:
                    buf = np.zeros((h, plane.line_size // 4), "<f4")
                    buf[:, :w] = values
                    plane.update(buf.tobytes())
                f.pts, f.time_base = i, Fraction(1, rate)
                for p in s.encode(f):
                    c.mux(p)
            for p in s.encode(None):
                c.mux(p)
    except (av.FFmpegError, ValueError) as exc:
        pytest.skip(f"this FFmpeg's FFV1 encoder writes no float frames ({exc})")
    return path


@pytest.mark.parametrize("start, first", [(0.0, 0), (3 / 25, 3)])
def test_ground_truth_frames_passed_over_between_those_compared_are_not_counted(tmp_path, enhancer, start, first):
    """Depth at 25 fps, a float ground truth at 50: depth frame k (k / 25 s) is compared with ground-truth
    frame 2k, and frames 2k + 1 are passed over. Every passed-over frame holds 9.0, above the first
    frame's 0.5..2.5; of the compared ones only frame 10 (depth frame 5) holds a value outside it, 3.0.
    Counted as "the first compared to the last", the frames between went in too (8 frames clipped from
    the start, 5 from --start 0.12, the range named holding 9.0)."""
    from conftest import write_video

    from igde_stream.stream import enhance_file

    colors, depths, gts = float_scene(8)
    gt50 = []
    for i in range(16):
        g = gts[i // 2].copy()
        g[3, 3] = 9.0 if i % 2 else (3.0 if i == 10 else g[3, 3])
        gt50.append(g)
    write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    _float_video(tmp_path / "d.mkv", depths, 25)
    _float_video(tmp_path / "gt.mkv", gt50, 50)
    summary = enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", enhancer=enhancer,
                           gt_path=tmp_path / "gt.mkv", start=start)
    f = summary["float_range"]
    assert summary["frames"] == summary["matched_frames"] == 8 - first
    assert (f["clipped_frames"], f["gt_clipped_frames"]) == (0, 1)
    assert f["covering"][0] == f["lo"] and f["covering"][1] == pytest.approx(3.0)


def test_frame_set_holds_the_numbers_added_and_only_those():
    from igde_stream.stream.frame_set import FrameSet

    seen = FrameSet()
    for n in (6, 8, 10, 10, 14):  # a number met again (held already) is no error
        seen.add(n)
    assert [n for n in range(16) if n in seen] == [6, 8, 10, 14] and len(seen) == 4
    assert 7 not in seen and 6.0 not in seen and None not in seen and np.int64(8) in seen
    with pytest.raises(ValueError, match="frame 9 comes after frame 14"):
        seen.add(9)
