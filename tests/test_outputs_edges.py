"""The main command's output stage at its edges, worked out by hand: ground-truth frames exactly the
tolerance away, the writer thread's progress ticks, the preview's memory per frame, the name-length
rule at its limit, and the renderer choice without PyTorch."""

from __future__ import annotations

import sys
import threading
import types
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import timed_frames
from test_stream_roundtrip import depth_info

from igde_stream.errors import IGDEError, OutputError
from igde_stream.stream import outputs
from igde_stream.stream.frame_set import FrameSet
from igde_stream.stream import parts
from igde_stream.stream.parts import backup_path
from igde_stream.stream.writer import temp_path


class _Unmatched:
    def __init__(self) -> None:
        self.gt: list[int] = []
        self.gt_compared = FrameSet()  # the numbers of the ground-truth frames compared (PsnrReport's)

    def add_unmatched_gt(self, index: int, pts_time: float) -> None:
        self.gt.append(index)


def test_ground_truth_exactly_the_tolerance_away_still_matches():
    """Times that are exact in binary: a tolerance of 0.25 s, output frames at 1.0 and 2.0 s."""
    report = _Unmatched()
    m = outputs.GtMatcher(iter(timed_frames([0.5, 0.75, 2.25])), 0.25, report, True)
    assert m.match(1.0).index == 1  # 0.75 is 0.25 before: matched; 0.5 is further: unmatched
    assert m.match(2.0).index == 2  # 2.25 is 0.25 after: matched
    m.finish()
    assert report.gt == [0]
    report = _Unmatched()
    m = outputs.GtMatcher(iter(timed_frames([0.5, 1.375])), 0.25, report, True)
    assert m.match(1.0) is None and report.gt == [0]  # 0.375 after: left for a later frame
    m.finish()
    assert report.gt == [0, 1]


def test_writer_thread_ticks_once_per_frame():
    written, ticks = [], []
    depth = types.SimpleNamespace(closed=False)
    depth.close = lambda: setattr(depth, "closed", True)
    outs = types.SimpleNamespace(depth=depth, write=lambda *a: written.append(a[0]))
    items = [types.SimpleNamespace(depth=types.SimpleNamespace(index=k, pts=k, pts_time=k / 25, time=k / 25,
                                                               data=None), color=None, out=None) for k in range(3)]
    outputs.write_stage(items, outs, None, ticks.append)
    assert written == [0, 1, 2] and ticks == [1, 1, 1] and depth.closed


@pytest.mark.parametrize("pix_fmt, per_pixel", [("gray", 3 + 3 * 1), ("gray16le", 3 + 3 * 2)])
def test_preview_keeps_frames_by_their_bytes(monkeypatch, pix_fmt, per_pixel):
    """A kept preview frame holds the colour (3 bytes a pixel) and three depth maps (input, output,
    ground truth) of the stream's sample size."""
    seen = {}
    monkeypatch.setattr(outputs, "PreviewCollector", lambda by_psnr, frame_bytes: seen.update(fb=frame_bytes))
    info = depth_info(Fraction(25), pix_fmt, size=(20, 10))
    outputs.open_outputs(None, None, info, None, views_path=None, rgbd_path=None, preview=True,
                         options=outputs.ViewsOptions(), check=lambda paths: None)
    assert seen["fb"] == 20 * 10 * per_pixel


def test_name_length_limit_counts_the_temporary_names(tmp_path, monkeypatch):
    """Without pathconf the limit is 255 characters, and the longest of the temporary and backup
    names must fit: exactly 255 passes, 256 is refused."""
    def no_pathconf(*a):
        raise OSError("no pathconf")

    monkeypatch.setattr(parts.os, "pathconf", no_pathconf)
    extra = max(len(temp_path(Path("x.mkv")).name), len(backup_path(Path("x.mkv")).name)) - 1  # beyond the stem
    fits = tmp_path / ("a" * (255 - extra) + ".mkv")
    assert max(len(temp_path(fits).name), len(backup_path(fits).name)) == 255
    parts.check_name_length(fits)
    too_long = tmp_path / ("a" * (256 - extra) + ".mkv")
    with pytest.raises(OutputError, match=r"name too long \(\d+ characters; .* within the file system's 255\)"):
        parts.check_name_length(too_long)


def test_renderer_without_pytorch(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    gpu = types.SimpleNamespace(backend=types.SimpleNamespace(device="cuda:0"))
    render, said = outputs.pick_renderer("auto", gpu)
    assert render is outputs.display.numpy_renderer and said == "numpy (cpu; PyTorch is not installed)"
    with pytest.raises(IGDEError, match='renderer="torch" needs PyTorch') as info:  # ViewsOptions(renderer=...)
        outputs.pick_renderer("torch", None)
    from igde_stream.errors import cli_message

    assert cli_message(info.value) == "--renderer torch needs PyTorch (pip install torch)"  # the command's words


def test_locked_renderer_holds_the_lock_and_returns_the_views():
    lock = threading.Lock()

    def render(*args):
        assert lock.locked()
        return args

    assert outputs._Locked(render, lock)(1, 2) == (1, 2) and not lock.locked()
    assert outputs._on_cuda(types.SimpleNamespace(device="cuda:1")) is True
    assert outputs._on_cuda(types.SimpleNamespace(device="cpu")) is False
    assert outputs._on_cuda(outputs.display.numpy_renderer) is False
