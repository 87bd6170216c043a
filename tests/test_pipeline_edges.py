"""The main command's pipeline with a plain enhancer object (only ``enhance``: what a pipeline that
embeds the stage may pass), worked out by hand: its 16-bit PSNR peak, its batches of four, the byte
bounds of the stage queues, and the run time the summary gives."""

from __future__ import annotations

import json
import math
import time
from fractions import Fraction

import numpy as np
import pytest
from conftest import write_video

from igde_stream.stream import run_frames
from igde_stream.stream.pipeline import enhance_file


class PlainEnhancer:
    """No peak_for, batch or max_depth: adds ``step`` to every depth value, records its batches."""

    def __init__(self, step: int = 0) -> None:
        self.step, self.batches = step, []

    def enhance(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        self.batches.append(len(depth))
        return (depth.astype(np.int64) + self.step).astype(depth.dtype)


@pytest.fixture
def clip16(tmp_path):
    rng = np.random.default_rng(1)
    color = rng.integers(0, 256, (6, 8, 16, 3)).astype(np.uint8)
    depth = rng.integers(1000, 60000, (6, 8, 16)).astype(np.uint16)
    write_video(tmp_path / "c.mkv", color, fmt="rgb24", codec="ffv1", rate=Fraction(25))
    write_video(tmp_path / "d.mkv", depth, fmt="gray16le", rate=Fraction(25))
    write_video(tmp_path / "gt.mkv", depth, fmt="gray16le", rate=Fraction(25))
    return tmp_path, depth


def test_plain_enhancer_on_16_bit_depth_is_scored_at_65535_in_batches_of_four(clip16):
    tmp, depth = clip16
    enh = PlainEnhancer(step=100)  # every value 100 levels off: MSE 10,000
    summary = enhance_file(tmp / "c.mkv", tmp / "d.mkv", tmp / "o.mkv", gt_path=tmp / "gt.mkv",
                           report_path=tmp / "r.json", enhancer=enh)
    assert enh.batches == [4, 2] and summary["frames"] == 6
    rows = json.loads((tmp / "r.json").read_text())["frames"]
    want = 10 * math.log10(65535.0 ** 2 / 100 ** 2)
    assert [r["psnr"] for r in rows] == [pytest.approx(want)] * 6


@pytest.mark.parametrize("rgbd", [False, True])
def test_stage_queues_hold_three_batches_of_their_frames(clip16, monkeypatch, rgbd):
    """16 x 8 pixels of 16-bit depth (256 bytes a frame), colour 384 bytes, batches of 4: each queue
    holds 3 batches of what it carries; the writer's items are the input and output depth, plus the
    colour when an output (here RGB-D) needs it."""
    tmp, _ = clip16
    bounds = []

    queues = []

    class Recording(run_frames.ByteQueue):
        def __init__(self, max_bytes, stop):
            bounds.append(max_bytes)
            self.sizes = []
            queues.append(self)
            super().__init__(max_bytes, stop)

        def put(self, item, nbytes):
            self.sizes.append(nbytes)
            super().put(item, nbytes)

    monkeypatch.setattr(run_frames, "ByteQueue", Recording)
    enhance_file(tmp / "c.mkv", tmp / "d.mkv", tmp / "o.mkv", enhancer=PlainEnhancer(),
                 rgbd_path=tmp / "o_rgbd.mkv" if rgbd else None)
    color, depth = 3 * 128, 2 * 128
    item = 2 * depth + (color if rgbd else 0)
    assert bounds == [3 * 4 * color, 3 * 4 * depth, 3 * 4 * item]
    assert queues[2].sizes == [item] * 6  # each enhanced frame counted at what it holds
    bounds.clear()
    enhance_file(tmp / "c.mkv", tmp / "d.mkv", tmp / "o2.mkv", enhancer=PlainEnhancer(), queue_bytes=1000)
    assert bounds == [1000, 1000, 1000]  # the cap, when three batches would be more


def test_summary_time_is_the_run_time(clip16):
    tmp, _ = clip16
    t0 = time.perf_counter()
    summary = enhance_file(tmp / "c.mkv", tmp / "d.mkv", tmp / "o.mkv", enhancer=PlainEnhancer())
    wall = time.perf_counter() - t0
    assert 0 < summary["seconds"] <= wall + 0.001
    s = summary["seconds"]  # rounded to 1 ms; fps is from the unrounded time
    assert 6 / (s + 0.0005) <= summary["fps"] <= 6 / max(s - 0.0005, 1e-9)
    assert 0 <= summary["inference_seconds"] <= summary["seconds"] + 0.001


def test_ground_truth_at_half_the_rate_matches_every_other_frame(clip16):
    """Ground truth at 12.5 fps against depth at 25 fps: gt frame k at 2k x 40 ms pairs with depth
    frame 2k; the odd depth frames lie 40 ms from any, beyond the half-frame tolerance (20 ms)."""
    tmp, depth = clip16
    write_video(tmp / "gt_half.mkv", depth[::2], fmt="gray16le", rate=Fraction(25, 2))
    summary = enhance_file(tmp / "c.mkv", tmp / "d.mkv", tmp / "o.mkv", gt_path=tmp / "gt_half.mkv",
                           report_path=tmp / "r.json", enhancer=PlainEnhancer())
    assert summary["matched_frames"] == 3 and summary["output_frames_without_gt"] == [1, 3, 5]
    assert summary["mean_psnr"] == math.inf  # the matched ones are the same frames


def _record_bars(monkeypatch) -> list:
    """The totals of the tqdm bars made from now on (tqdm.tqdm replaced by a recording subclass)."""
    import tqdm

    made = []

    class Recording(tqdm.tqdm):
        def __init__(self, *a, **kw):
            made.append(kw.get("total"))
            super().__init__(*a, **kw)

    monkeypatch.setattr(tqdm, "tqdm", Recording)
    return made


@pytest.mark.parametrize("progress", [False, True])
def test_a_progress_bar_only_when_asked(clip16, monkeypatch, progress):
    """``progress=False`` makes no tqdm object: even a disabled one starts tqdm's monitor thread, which
    outlives the call in an embedding application. ``progress=True`` makes one, counting every frame."""
    made = _record_bars(monkeypatch)
    folder, _ = clip16
    enhance_file(folder / "c.mkv", folder / "d.mkv", folder / "o.mkv", enhancer=PlainEnhancer(), progress=progress)
    assert made == ([6] if progress else [])


@pytest.mark.parametrize("ext, start", [("nut", 0.0), ("nut", 1.0), ("mkv", 1.0)])
def test_the_progress_bar_total_of_depth_on_stdin_is_its_frame_count(clip16, monkeypatch, ext, start):
    """``igde-stream c.mkv - -o o.mkv < d.nut``: NUT declares no frame count, and its duration (its
    index's largest pts) is the last frame's start, so 6 frames at 25 fps end at 0.2 s, not 0.24 s (the
    bar said 5); a container's duration counts from 0, so a stream from 1 s is not 31 frames long."""
    import io
    import sys

    made = _record_bars(monkeypatch)
    folder, depth = clip16
    write_video(folder / f"s.{ext}", depth, fmt="gray16le", rate=Fraction(25), start=start)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO((folder / f"s.{ext}").read_bytes())))
    summary = enhance_file(folder / "c.mkv", "-", folder / "o.mkv", enhancer=PlainEnhancer(), progress=True)
    assert summary["frames"] == 6 and made == [6]
