"""What docs/multiview.md and docs/stream.md promise a pipeline that embeds the writers: the RGB-D
writer (``stream.views.RGBDWriter``, "then close() (or abort()), like DepthWriter") closed, committed
twice, written after closing, closed with no frame, used as a ``with`` block; the depth writer written
after it was committed. Each misuse is one clear ``OutputError`` (an ``IGDEError``), never a bare
``FileNotFoundError`` / ``AssertionError`` from the file system or PyAV.

Expected values are by hand: the RGB-D frame is colour | the 8-bit depth as gray (near = white)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
from conftest import read_video

from igde_stream import display
from igde_stream import multiview as mv
from igde_stream.errors import OutputError
from igde_stream.stream import DepthWriter
from igde_stream.stream.info import VideoInfo
from igde_stream.stream.views import RGBDWriter

H, W = 8, 6


def _rgbd(path):
    return RGBDWriter(path, "ffv1", Fraction(25), Fraction(1, 25))


def _frame(k):
    color = np.full((H, W, 3), (10 * k, 20, 30), np.uint8)
    depth = np.full((H, W), 40 + k, np.uint8)
    return color, depth


def test_rgbd_writer_commit_is_once_and_close_then_commit_keeps_the_file(tmp_path):
    out = tmp_path / "r.mkv"
    w = _rgbd(out)
    for k in range(2):
        w.write(*_frame(k), k)
    w.close()  # = commit: the file is in place
    w.commit()  # again: nothing changes, no FileNotFoundError on the moved temporary file
    w.close()
    w.abort()  # after the commit: the file stays
    frames = read_video(out)[0]
    assert len(frames) == 2
    # colour | depth as gray, by hand
    assert frames[1][0, 0].tolist() == [10, 20, 30] and frames[1][0, W].tolist() == [41, 41, 41]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.mkv"]


def test_rgbd_writer_write_after_close_is_one_clear_error(tmp_path):
    w = _rgbd(tmp_path / "r.mkv")
    w.write(*_frame(0), 0)
    w.close()
    with pytest.raises(OutputError, match="frame 1: the writer is closed"):
        w.write(*_frame(1), 1)
    w2 = _rgbd(tmp_path / "r2.mkv")
    w2.abort()
    with pytest.raises(OutputError, match="frame 0: the writer is closed"):
        w2.write(*_frame(0), 0)
    with pytest.raises(OutputError, match="aborted: nothing to commit"):
        w2.commit()
    assert list(tmp_path.iterdir()) == [tmp_path / "r.mkv"]


def test_rgbd_writer_without_a_frame_is_refused_and_leaves_nothing(tmp_path):
    w = _rgbd(tmp_path / "r.mkv")
    with pytest.raises(OutputError, match="no frame was written"):
        w.close()
    assert list(tmp_path.iterdir()) == []


def test_rgbd_writer_as_a_with_block_commits_or_aborts_like_depth_writer(tmp_path):
    with _rgbd(tmp_path / "ok.mkv") as w:
        w.write(*_frame(0), 0)
    assert len(read_video(tmp_path / "ok.mkv")[0]) == 1
    with pytest.raises(RuntimeError, match="boom"):
        with _rgbd(tmp_path / "bad.mkv") as w:
            w.write(*_frame(0), 0)
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.mkv"]


def test_depth_writer_write_after_commit_says_it_is_closed(tmp_path):
    info = VideoInfo(path="in.mkv", codec="ffv1", width=W, height=H, pix_fmt="gray", time_base=Fraction(1, 25),
                     rate=Fraction(25), start_pts=0, frames=None, duration=None)
    w = DepthWriter(tmp_path / "d.mkv", info)
    w.write(np.zeros((H, W), np.uint8), 0)
    w.commit()
    with pytest.raises(OutputError, match="frame 1: the writer is closed"):
        w.write(np.zeros((H, W), np.uint8), 1)


@pytest.mark.parametrize("role", ["colour", "dept", "ground truth", "Color"])
def test_video_reader_refuses_a_role_it_does_not_know(role):
    """stream.md's frame-by-frame loop names the roles "depth" and "color"; "colour" (the docs' own
    spelling) or a typo was taken as depth, reading a colour video as a depth map (or refusing it
    for its chroma), instead of saying which roles there are, as sync= and enlarge= do."""
    from igde_stream.stream import VideoReader

    with pytest.raises(ValueError, match=f"role must be one of color, depth, gt, got '{role}'"):
        VideoReader("no-such-file.mkv", role)


@pytest.mark.parametrize("positions", [[np.nan], [-0.5, np.inf]])
def test_warp_views_refuses_positions_that_are_not_finite(positions):
    """A NaN position gave every pixel the shift int64(NaN) (off the frame): every view pixel a hole,
    filled with the colour at its own place, i.e. the colour frame returned as a view, silently. Both
    renderers refuse it in one line (the PyTorch one checks the same positions)."""
    from igde_stream.multiview_torch import TorchRenderer

    color, depth = np.zeros((4, 6, 3), np.uint8), np.full((4, 6), 255, np.uint8)
    with pytest.raises(ValueError, match="positions must be a non-empty 1-D sequence of finite numbers"):
        mv.warp_views(color, depth, positions=positions)
    with pytest.raises(ValueError, match="positions must be a non-empty 1-D sequence of finite numbers"):
        TorchRenderer("cpu")(color, depth, positions=positions)


@pytest.mark.parametrize("kwargs, match", [
    (dict(zero_parallax=None), "zero_parallax must be in \\[0, 1\\]"),
    (dict(baseline="32"), "baseline must be a finite number >= 0"),
    (dict(max_depth="255"), "max_depth must be a finite number > 0"),
])
def test_view_config_names_the_field_of_a_value_that_is_no_number(kwargs, match):
    """ViewConfig(zero_parallax=None) failed in the comparison ('<=' not supported between float and
    NoneType) and baseline='32' in math.isfinite, neither naming the field."""
    with pytest.raises(ValueError, match=match):
        mv.ViewConfig(8, **kwargs)


@pytest.mark.parametrize("args, match", [
    ((4.5, 2), "quilt needs whole numbers of tiles"),
    ((2, 1, (1, 1), 1.0), "a 1x1 quilt has no room for 2x1 tiles"),
    ((2, 2, (8, 8), 0.0), "quilt aspect must be a finite number > 0"),
])
def test_quilt_spec_refuses_what_it_cannot_tile(args, match):
    """docs/multiview.md: tiles are quilt // (C, R). A preset-sized quilt narrower than its columns
    gave tiles 0 pixels wide and a ZeroDivisionError in pack_quilt; 4.5 columns failed later in
    slicing."""
    with pytest.raises(ValueError, match=match):
        display.QuiltSpec(*args)


def test_lenticular_calibration_takes_numpy_numbers_as_view_config_does():
    """A calibration built from NumPy values (np.int64 views, np.float32 pitch) was refused as 'n_views
    must be an integer' / 'pitch must be a finite number' although it is one; the view map is the
    same as with Python numbers: n = ((k - 3 l tan a) mod X) N / X, by hand for N = 4, X = 4, tan a = 0:
    subpixel k shows view k mod 4."""
    cal = display.LenticularCalibration(np.int64(4), np.float32(4.0), np.float32(0.0), np.float32(0.0))
    assert display.view_number(cal, 2, 1).tolist() == [[0.0, 1.0, 2.0, 3.0, 0.0, 1.0]]
    with pytest.raises(ValueError, match="n_views must be an integer >= 2"):
        display.LenticularCalibration(np.float64(4.0), 4.0, 0.0)
    with pytest.raises(ValueError, match="pitch must be a finite number"):
        display.LenticularCalibration(4, np.float32("nan"), 0.0)
