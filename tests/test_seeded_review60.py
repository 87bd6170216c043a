"""Seeded-bug review 60: the gaps that planted bugs in session 60's changes passed (row strips and
their Enhancer budget, the FP16-on-CPU estimate, the MPEG-PS pts rule, the stored-luma warning, the
writers and the view / quilt checks). Expected values are by hand or from the documented rules."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import av
import numpy as np
import pytest
import torch
from conftest import encode_frames, write_video

from igde_stream import Enhancer, display
from igde_stream import multiview as mv
from igde_stream.errors import OutputError
from igde_stream.strips import CPU_MAX_PIXELS, run_bounded, strip_rows
from igde_stream.stream.reader import VideoReader

# ------------------------------------------------------------------ strips


def test_an_odd_budget_still_gives_even_strip_boundaries():
    """10 px wide, 2,010 pixels a call: 201 rows less 2 x 64 of margins is 73, rounded down to 72 kept
    rows so that every boundary is even (a half-resolution model sees the same 2 x 2 blocks)."""
    got = strip_rows(400, 10, 10 * 201)
    assert got == [(0, 136, 0, 72), (8, 208, 72, 144), (80, 280, 144, 216), (152, 352, 216, 288),
                   (224, 400, 288, 360), (296, 400, 360, 400)]


def test_a_frame_lower_than_two_margins_runs_whole_in_each_strip():
    """100 rows, 64 kept a strip (the floor): both runs hold the whole frame; the output is the frame's."""
    assert strip_rows(100, 50, 50 * 10) == [(0, 100, 0, 64), (0, 100, 64, 100)]
    rng = np.random.default_rng(1)
    c, d = rng.random((1, 3, 100, 50), dtype=np.float32), rng.random((1, 1, 100, 50), dtype=np.float32)
    twice = lambda c, d: d * 2  # noqa: E731
    np.testing.assert_array_equal(run_bounded(twice, c, d, 50 * 10), d * 2)


def _as_gpu(monkeypatch):
    import igde_stream.enhancer as enhancer

    real = enhancer.create_backend

    def on_cuda(*args, **kwargs):
        backend = real(*args, **kwargs)
        backend.device = torch.device("cuda", 0)  # what TorchBackend holds on a GPU
        return backend

    monkeypatch.setattr(enhancer, "create_backend", on_cuda)


def test_the_auto_budget_is_the_cpus_only(monkeypatch):
    """docs/stream.md: default 1920 x 1088 on the CPU, no limit on a GPU; a budget given is kept."""
    assert Enhancer("igde-small", backend="torch", quiet=True).max_pixels == 1920 * 1088 == CPU_MAX_PIXELS
    _as_gpu(monkeypatch)
    assert Enhancer("igde-small", backend="torch", quiet=True).max_pixels is None
    assert Enhancer("igde-small", backend="torch", quiet=True, max_pixels=5000).max_pixels == 5000


def _wake(model: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model.eval()


def test_a_global_context_model_gets_whole_frames():
    """A model trained with global_context scales its features by their mean over the whole frame: a
    strip's mean is another, so strips changed its output. It runs whole frames, whatever max_pixels,
    and gives the whole frame's output (before: strips, and values that differ)."""
    from igde_stream.models import create_model
    from igde_stream.models.igde import IGDE

    base = create_model("igde-tiny")
    model = _wake(IGDE(dataclasses.replace(base.config, global_context=8)))
    rng = np.random.default_rng(2)
    color = rng.integers(0, 256, (1, 256, 24, 3), dtype=np.uint8)
    depth = np.where(np.arange(256)[:, None] < 128, 200, 40).astype(np.uint8).repeat(24, 1)[None]
    whole = Enhancer(model, backend="torch", quiet=True, max_pixels=None).enhance(color, depth)
    enh = Enhancer(model, backend="torch", quiet=True, max_pixels=24 * 150)
    assert enh.max_pixels is None
    np.testing.assert_array_equal(enh.enhance(color, depth), whole)


def test_strips_keep_uint16_far_high_max_depth_and_the_hole_fill():
    """The whole frame's output in strips for 16-bit far-high depth with max_depth and holes (filled by
    the shipped model's hole fill, after the strips)."""
    h, w = 300, 48
    yy, xx = np.mgrid[:h, :w]
    depth = np.where((xx - 24) ** 2 + (yy - 150) ** 2 < 90 ** 2, 9000, 30000).astype(np.uint16)
    depth[(yy % 23 == 0) & (xx % 7 == 0)] = 0
    color = np.stack([np.where(depth > 10000, 200, 30)] * 3, -1).astype(np.uint8)
    color[..., 1] = (yy % 256).astype(np.uint8)
    kw = dict(backend="onnxruntime", quiet=True, max_depth=40000, depth_order="far-high")
    whole = Enhancer("igde-small", max_pixels=None, **kw).enhance(color[None], depth[None])
    enh = Enhancer("igde-small", max_pixels=w * 150, **kw)
    calls = []
    run = enh.backend.run
    enh.backend.run = lambda c, d: calls.append(d.shape) or run(c, d)
    got = enh.enhance(color[None], depth[None])
    assert len(calls) >= 3 and got.dtype == np.uint16 and (whole == 0).sum() == 0
    np.testing.assert_array_equal(got, whole)


# ------------------------------------------------------------------ FP16 on the CPU


def test_fp16_cpu_gathers_from_the_float32_depth():
    """A selection head gathers its output from the depth it is given: the float32 depth, as
    TorchBackend does on CUDA, so every output value is one of the float32 inputs exactly (float16
    depth would give k/255 rounded to 11 bits)."""
    import importlib.util
    import pathlib

    from igde_stream.bench.infer import to_inputs
    from igde_stream.models import create_model

    tool = pathlib.Path(__file__).parents[1] / "tools" / "fp16_cpu.py"
    spec = importlib.util.spec_from_file_location("fp16_cpu", tool)
    fp16_cpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(fp16_cpu)
    rng = np.random.default_rng(5)
    color = rng.integers(0, 256, (1, 32, 40, 3), dtype=np.uint8)
    depth = np.where(np.arange(40)[None, None, :] < 20, 201, 37).astype(np.uint8).repeat(32, 1)
    depth[0, ::5, ::3] = 130
    out = fp16_cpu.half_outputs(create_model("igde-small", pretrained=True), color, depth, sparse=True)
    inputs = np.unique(to_inputs(color, depth)[1])
    assert np.isin(out, inputs).all()


# ------------------------------------------------------------------ MPEG-PS pts


def test_frames_without_pts_count_from_the_last_frame_that_had_one(tmp_path):
    """H.264 in MPEG-PS at 24000/1001 frames/s: a noisy frame fills its own PES packets, so frames 0 and
    6 carry a pts (PyAV's demuxing says which) and the rest none. Frame k without one is the last pts
    plus (k - j) frame durations of 90000 x 1001 / 24000 = 3753.75 ticks, rounded: from frame 6 on,
    not from frame 0."""
    x = np.arange(64)[None, :]
    frames = [np.broadcast_to(40 + 2 * x + 3 * k, (48, 64)).astype(np.uint8) for k in range(12)]
    frames[4] = np.random.default_rng(0).integers(0, 256, (48, 64)).astype(np.uint8)
    d = write_video(tmp_path / "d.mpg", frames, fmt="yuv420p", codec="libx264", rate=Fraction(24000, 1001))
    with av.open(str(d)) as c:
        s = c.streams.video[0]
        demuxed = [f.pts for f in c.decode(s)]
    known = [k for k, p in enumerate(demuxed) if p is not None]
    assert known == [0, 6]  # the case
    with VideoReader(d, "depth") as r:
        got = [f.pts for f in r.frames()]
    for k in range(12):
        j = max(i for i in known if i <= k)
        assert abs(got[k] - (demuxed[j] + (k - j) * 3753.75)) <= 0.5, (k, got)


# ------------------------------------------------------------------ the stored-luma warning


def _yuv10_nut(path, lumas):
    """FFV1 yuv420p10le in NUT (no range tag), luma as given, neutral chroma (512)."""
    frames = []
    for y in lumas:
        f = av.VideoFrame(y.shape[1], y.shape[0], "yuv420p10le")
        for p, plane in enumerate(f.planes):
            v = y if p == 0 else np.full((plane.height, plane.width), 512, np.uint16)
            buf = np.zeros((plane.height, plane.line_size // 2), np.uint16)
            buf[:, : v.shape[1]] = v
            plane.update(buf.tobytes())
        frames.append(f)
    return encode_frames(path, frames, "ffv1", "yuv420p10le")


@pytest.mark.parametrize("low, high, warns", [(64, 940, True), (50, 950, True), (44, 940, False), (64, 960, False),
                                              (0, 1023, False)])
def test_ten_bit_luma_is_judged_on_the_ten_bit_range(tmp_path, caplog, low, high, warns):
    """At 10 bits the limited range is 64..940 and the slack 4 levels of 8 bits, 16 here: 48..956."""
    y = np.broadcast_to(np.linspace(300, 700, 64).astype(np.uint16), (48, 64)).copy()
    y[:2, :2], y[-2:, -2:] = low, high
    p = _yuv10_nut(tmp_path / "d.nut", [y, y])
    with caplog.at_level("WARNING", logger="igde_stream.stream"):
        with VideoReader(p, "depth") as r:
            data = [f.data for f in r.frames()]
    assert np.array_equal(data[0], y)  # read as stored
    said = [m for m in caplog.messages if "--depth-range limited" in m]
    assert len(said) == int(warns)
    if warns:
        assert "64..940" in said[0]


def test_the_luma_guess_is_only_for_untagged_yuv_of_a_lossless_codec_read_on_auto():
    """formats.luma_is_guessed, as its docstring and docs/formats.md define it."""
    from igde_stream.stream.formats import luma_is_guessed

    assert luma_is_guessed("yuv420p", 0, "ffv1")
    assert not luma_is_guessed("yuv420p", 0, "ffv1", "full")  # the user chose: no guess
    assert not luma_is_guessed("yuv420p", 2, "ffv1")  # tagged full
    assert not luma_is_guessed("yuv420p", 1, "ffv1")  # tagged limited
    assert not luma_is_guessed("yuvj420p", 0, "ffv1")  # full range by its name
    assert not luma_is_guessed("yuv420p", 0, "h264")  # a lossy codec is read limited
    assert not luma_is_guessed("gray", 0, "ffv1")


def test_depth_range_full_given_is_not_warned(tmp_path, caplog):
    from igde_stream.stream.sources import InputOptions

    luma = [np.broadcast_to(np.linspace(16, 235, 64).astype(np.uint8), (48, 64)).copy()]
    p = write_video(tmp_path / "d.nut", luma, fmt="yuv420p", codec="ffv1", rate=Fraction(25))
    with caplog.at_level("WARNING", logger="igde_stream.stream"):
        with VideoReader(p, "depth", source=InputOptions(depth_range="full")) as r:
            assert np.array_equal(next(iter(r.frames())).data, luma[0])
    assert not [m for m in caplog.messages if "--depth-range limited" in m]


# ------------------------------------------------------------------ writers, views, quilts


def test_a_view_writer_written_after_finish_is_one_clear_error(tmp_path):
    from igde_stream.stream.views import ColorWriter

    w = ColorWriter(tmp_path / "v.mkv", "ffv1", Fraction(25), Fraction(1, 25))
    w.write(np.zeros((8, 6, 3), np.uint8), 0)
    w.finish()
    with pytest.raises(OutputError, match="frame 1: the writer is closed"):
        w.write(np.zeros((8, 6, 3), np.uint8), 1)
    w.abort()


@pytest.mark.parametrize("args, match", [
    ((1, 4, (4, 3), 1.0), "a 4x3 quilt has no room for 1x4 tiles"),
    ((4, 1, (3, 4), 1.0), "a 3x4 quilt has no room for 4x1 tiles"),
    ((2, 2, (8, 8), float("inf")), "quilt aspect must be a finite number > 0"),
    ((True, 2), "quilt needs whole numbers of tiles"),
])
def test_quilt_spec_refusals_by_the_documented_tile_rule(args, match):
    with pytest.raises(ValueError, match=match):
        display.QuiltSpec(*args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(baseline=True), "baseline must be a finite number >= 0"),
    (dict(zero_parallax=True), "zero_parallax must be in"),
    (dict(max_depth=True), "max_depth must be a finite number > 0"),
])
def test_view_config_refuses_a_bool_for_a_number(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mv.ViewConfig(8, **kwargs)
