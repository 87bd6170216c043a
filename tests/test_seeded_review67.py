"""Seeded-bug review 67: tests for the bugs planted by hand in session 67's changes that the feature's own
tests let through (results/mutation.md, "Seeded-bug review 67"), and for the three defects it found:
``wide_errors`` let the half-size pass overwrite depth above ``max_depth`` (which passes through
unenhanced) and shrank the colour of odd-sized frames by a factor other than 2; the summary's
``--float-range`` hint, rounded to nearest, could leave the values it named outside.

Expected values are worked out by hand or with NumPy / OpenCV: 2 x 2 means, the IEC 61966-2-1 curve,
frame numbers and times counted from the names, ranges of the values written."""

from __future__ import annotations

import logging
import math
import re
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from igde_stream.errors import EnhancerError, OutputError


# --- wide_errors -------------------------------------------------------------------------------------


class _Backend:
    """A backend that records what it is given and answers ``answer(depth)`` (normalised depth in, out)."""

    name = "fake"

    def __init__(self, answer):
        self.answer, self.calls = answer, []

    def run(self, color, depth):
        self.calls.append((color.copy(), depth.copy()))
        return self.answer(depth).astype(np.float32)


def _enhancer(monkeypatch, answer, **options):
    import igde_stream.enhancer as enh

    backend = _Backend(answer)
    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: backend)
    return enh.Enhancer("igde-small", backend="torch", quiet=True, **options), backend


def test_wide_errors_passes_depth_above_max_depth_through(monkeypatch):
    """Depth above ``max_depth`` passes through unenhanced, with ``wide_errors`` too: a backend that answers
    half the peak everywhere gives 500 (max_depth 1000) to every in-range pixel and leaves the 5000s as
    they are. Before, a changed half-size pixel was copied over its 2 x 2 block, 5000s included, and the
    full-size pass then took them for in-range depth (65 of 116 such pixels changed with a random model)."""
    rng = np.random.default_rng(5)
    color = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    depth = rng.integers(1, 1000, (20, 24)).astype(np.uint16)
    above = rng.random((20, 24)) < 0.2
    depth[above] = 5000
    for wide in (False, True):
        enh, _ = _enhancer(monkeypatch, lambda d: np.full_like(d, 0.5), hole_fill=False, max_depth=1000,
                           wide_errors=wide)
        out = enh.enhance(color, depth)
        np.testing.assert_array_equal(out[above], 5000)
        np.testing.assert_array_equal(out[~above], 500)


def test_half_size_colour_of_an_odd_frame_is_the_mean_of_2_x_2_pixels(monkeypatch):
    """33 x 21 px: the half-size pass gets the depth of every other pixel of the first 32 x 20 and the
    colour averaged over the same 2 x 2 blocks (cv2.INTER_AREA over the whole frame shrank it by 33 / 16,
    the colour drifting off the depth toward the right and bottom edges)."""
    rng = np.random.default_rng(6)
    color = rng.integers(0, 256, (21, 33, 3), dtype=np.uint8)
    depth = rng.integers(1, 256, (21, 33)).astype(np.uint8)
    enh, backend = _enhancer(monkeypatch, lambda d: d, hole_fill=False, wide_errors=True)
    enh.enhance(color, depth)
    (small_c, small_d), full = backend.calls[0], backend.calls[1]
    block = color[:20, :32].astype(np.float64).reshape(10, 2, 16, 2, 3).mean(axis=(1, 3))
    want = np.floor(block + 0.5).astype(np.uint8).transpose(2, 0, 1)[None] / np.float32(255)
    np.testing.assert_allclose(small_c, want, atol=1e-7)
    np.testing.assert_allclose(small_d[0, 0], depth[0:20:2, 0:32:2] / 255, atol=1e-7)
    assert full[0].shape == (1, 3, 21, 33)


def test_wide_errors_fills_the_input_holes(monkeypatch):
    """Holes are the input's zeros: a backend that puts 0.5 in every hole (128 of 255) at half size
    leaves the full-size pass no zero there, yet the hole fill still gives the holes the measured depth
    around them (all 100, one colour: every weighted mean is 100)."""
    color = np.full((24, 32, 3), 90, np.uint8)
    depth = np.full((24, 32), 100, np.uint8)
    depth[8:16, 10:20] = 0
    enh, _ = _enhancer(monkeypatch, lambda d: np.where(d == 0, 0.5, d), hole_fill=True, wide_errors=True)
    np.testing.assert_array_equal(enh.enhance(color, depth), 100)


def test_wide_errors_is_checked_with_the_enhancer_options_before_a_model_loads():
    from igde_stream.enhancer import check_enhancer_options

    with pytest.raises(EnhancerError, match="wide_errors must be True or False, got 'yes'"):
        check_enhancer_options({"wide_errors": "yes"})
    check_enhancer_options({"wide_errors": True})


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
def test_the_evaluations_model_method_runs_wide_errors(tiny_model, backend):
    """``model_method(..., wide_errors=True)``: the two passes, as an Enhancer with ``wide_errors`` gives
    them, not the one pass."""
    if backend == "onnxruntime":
        pytest.importorskip("onnxruntime")
    from igde_stream.enhancer import Enhancer
    from igde_stream.evaluation import model_method

    rng = np.random.default_rng(7)
    color = rng.integers(0, 256, (1, 24, 32, 3), dtype=np.uint8)
    depth = rng.integers(1, 256, (1, 24, 32)).astype(np.uint8)
    wide = model_method(tiny_model, backend=backend, threads=1, wide_errors=True)(color, depth)
    one = model_method(tiny_model, backend=backend, threads=1)(color, depth)
    want = Enhancer(tiny_model, backend="torch", quiet=True, wide_errors=True).enhance(color, depth)
    assert not np.array_equal(wide, one)
    assert np.abs(wide.astype(int) - want).max() <= 1  # ONNX Runtime against PyTorch: a level at most


# --- VFX names: timestamps and frame numbers -----------------------------------------------------------


def _numbers_of_folder(tmp_path, names):
    from igde_stream.stream.streams import _numbers

    folder = tmp_path / "f"
    folder.mkdir()
    for n in names:
        (folder / n).write_bytes(b"")
    return _numbers(SimpleNamespace(kind="sequence", path=str(folder)))


def test_a_version_of_several_digits_after_a_separator_is_no_timestamp(tmp_path):
    names = [f"plate_0042.{n}.png" for n in (1001, 1002, 1003)]
    assert _numbers_of_folder(tmp_path, names) == list(zip((1001, 1002, 1003), names))


def test_timestamps_after_a_prefix_are_found_anywhere_in_the_name(tmp_path):
    """rgb_1305031102.01.png ...: seconds.fraction after a prefix (100 fps, centiseconds: steps of 1, which
    would read as frame numbers) are no frame numbers."""
    names = [f"rgb_1305031102.{n:02d}.png" for n in (1, 2, 4)]
    assert _numbers_of_folder(tmp_path, names) is None


def test_a_long_digit_run_inside_a_word_is_no_timestamp():
    from igde_stream.stream.streams import _DECIMAL

    assert _DECIMAL.search("render1234567890.1001.png") is None
    assert _DECIMAL.search("render_1234567890.1001.png")  # Unix seconds after a separator
    assert _DECIMAL.search("render_12345678.1001.png") is None  # 8 digits: a date (20240101), then a frame


# --- hole fill ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sigma_color", "sigma_space", "layers", "layer_gap", "layer_sigma"])
def test_hole_fill_real_settings_are_floats(name):
    from igde_stream.hole_fill import HoleFill

    value = getattr(HoleFill(**{name: 3}), name)
    assert type(value) is float and value == 3.0
    assert HoleFill(**{name: 3}) == HoleFill(**{name: 3.0})


def test_global_fill_of_float_depth_near_float32s_top_stays_finite():
    """Float depth (fill_holes takes float32): a measured 2^40 and a measured 1. Scaled so that the
    largest value reaches 2^120 the sums stay finite; scaled as the smallest (2^100) or to 2^128 they
    overflow. Every fill is a weighted mean of the two: within 1..2^40."""
    from igde_stream.hole_fill import _global_fill

    color = np.full((6, 40, 3), 128, np.uint8)
    depth = np.zeros((6, 40), np.float32)
    depth[:, 0], depth[:, -1] = 2.0 ** 40, 1.0
    far = _global_fill(color, depth, depth > 0)
    assert np.all(np.isfinite(far)) and far.min() >= 1.0 and far.max() <= 2.0 ** 40
    one = np.where(depth == 1.0, 0, depth)
    np.testing.assert_array_equal(_global_fill(color, one, one > 0), 2.0 ** 40)


def test_nearest_measured_takes_each_pixels_own_nearest():
    """The first row measured (1000 + column), the rest holes: each pixel's nearest measured pixel is the
    one straight above it."""
    from igde_stream.hole_fill import _nearest_measured

    depth = np.zeros((8, 12), np.uint16)
    depth[0] = 1000 + np.arange(12)
    got = _nearest_measured(depth, depth > 0)
    np.testing.assert_array_equal(got, np.broadcast_to(1000 + np.arange(12), (8, 12)))


# --- float depth: the clipping warning and the range that covers the values -----------------------------


def test_clipping_is_warned_once_for_a_folder_named_two_ways(tmp_path, caplog, monkeypatch):
    from igde_stream.stream.floatdepth import FloatMap, clip_warning

    (tmp_path / "d").mkdir()
    monkeypatch.chdir(tmp_path)
    fmap = FloatMap(0.0, 1.0)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        for path in ("d", str(tmp_path / "d") + "/", "./d"):
            clip_warning(fmap, path, 1, 3, 100)
    assert len([r for r in caplog.records if "outside" in r.getMessage()]) == 1


def _counted(fmap, frames):
    from igde_stream.stream.floatdepth import encode_counted

    reader = SimpleNamespace(float_map=fmap, path="d", float_clipped=0, float_covering=None)
    for i, f in enumerate(frames):
        encode_counted(reader, np.asarray(f, np.float32), i)
    return reader


def test_the_covering_range_spans_every_clipped_frame():
    from igde_stream.stream.floatdepth import FloatMap

    r = _counted(FloatMap(0.5, 2.5), [[[1.0, 3.5]], [[-4.0, 2.0]], [[1.0, 2.0]]])
    assert (r.float_clipped, r.float_covering) == (2, (-4.0, 3.5))


def test_far_high_holes_widen_no_covering_range():
    """Far-high: 0 and below hold no distance; they are no value the range must hold."""
    from igde_stream.stream.floatdepth import FloatMap

    r = _counted(FloatMap(1.0, 5.0, "far-high"), [[[0.0, -1.0, 7.0, 2.0]]])
    assert (r.float_clipped, r.float_covering) == (1, (1.0, 7.0))


def test_the_summarys_float_range_holds_the_values_it_names(tmp_path, enhancer):
    """The values read span 0.1 .. pi (float32): at 9 digits 0.100000001 is above the float32 0.1 and
    3.14159274 below its pi, so that range rounded to nearest left both outside, clipped again. The
    summary names a range rounded outward, which holds them (re-encoded by it: nothing clipped)."""
    from igde_stream.run_summary import format_summary
    from igde_stream.stream import enhance_file
    from igde_stream.stream.floatdepth import FloatMap
    from test_float_depth import float_scene, write_sequences

    colors, depths, _ = float_scene(2)
    depths[1][2, 2], depths[1][3, 3] = np.float32(0.1), np.float32(math.pi)
    summary = enhance_file(tmp_path / "rgb", write_sequences(tmp_path, colors, depths), tmp_path / "o.mkv",
                           enhancer=enhancer)
    (lo, hi), = re.findall(r"--float-range=([-0-9.e+]+):([-0-9.e+]+)", format_summary(summary))
    assert float(lo) <= float(np.float32(0.1)) and float(hi) >= float(np.float32(math.pi))
    assert abs(float(lo) - 0.1) < 1e-8 and abs(float(hi) - math.pi) < 1e-7
    assert all(FloatMap(float(lo), float(hi)).encode(d)[1] == 0 for d in depths)


# --- linear EXR colour -------------------------------------------------------------------------------


def _linear_frame(values: np.ndarray):
    import av

    frame = av.VideoFrame.from_ndarray(np.repeat(values[..., None], 3, -1).astype(np.float32), format="gbrpf32le")
    frame.color_trc = 8  # linear, as FFmpeg's EXR decoder tags it
    return frame


def _srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, 12.92 * v, 1.055 * v ** (1 / 2.4) - 0.055)


def test_infinite_highlights_are_white():
    from igde_stream.stream.rgb import srgb_encoded

    got = srgb_encoded(_linear_frame(np.array([[np.inf, -np.inf, 0.18, 1.0]])))
    assert list(got[0, :, 0]) == [255, 0, 118, 255]


def test_shrunk_linear_colour_is_the_mean_of_the_encoded_clipped_codes():
    """Shrunk 2x by area: each pixel the mean of four encoded pixels, each clipped to 0..1 first (a 4.0
    highlight beside three blacks: a quarter of white, 64, not the 116 of its unclipped curve)."""
    from igde_stream.stream.rgb import colour_rgb

    rng = np.random.default_rng(8)
    lin = rng.random((8, 12)).astype(np.float32)
    lin[0:2, 0:2] = [[4.0, 0.0], [0.0, 0.0]]
    got = colour_rgb(_linear_frame(lin), None, (6, 4))
    want = _srgb(lin.astype(np.float64)).reshape(4, 2, 6, 2).mean(axis=(1, 3)) * 255
    assert got.shape == (4, 6, 3) and got[0, 0, 0] == 64
    assert np.abs(got[..., 0] - want).max() <= 0.5 + 1e-6


def test_enlarged_linear_colour_is_bicubic_over_the_encoded_codes():
    from igde_stream.stream.rgb import srgb_encoded

    rng = np.random.default_rng(9)
    lin = rng.random((4, 6)).astype(np.float32)
    got = srgb_encoded(_linear_frame(lin), (12, 8))
    enc = _srgb(lin.astype(np.float64)).astype(np.float32)
    want = np.clip(np.rint(cv2.resize(enc, (12, 8), interpolation=cv2.INTER_CUBIC) * 255), 0, 255)
    np.testing.assert_array_equal(got[..., 0], want)


# --- VFX frame patterns --------------------------------------------------------------------------------


@pytest.mark.parametrize("name, want", [
    ("plate.##.exr", "plate.%02d.exr"), ("plate.#.exr", "plate.%d.exr"), ("plate.####.exr", "plate.%04d.exr"),
    ("plate.$F.exr", "plate.%d.exr"), ("plate.$F4.exr", "plate.%04d.exr"), ("plate.%04d.#.exr", None),
    ("plate.1001.exr", None),
])
def test_printf_name_by_hand(name, want):
    from igde_stream.stream.imageseq import printf_name

    assert printf_name(name) == want


def test_one_image_error_keeps_the_advice_it_is_given():
    from igde_stream.stream.imageseq import one_image_error

    err = one_image_error(Path("views.####.png"), "3 frames", "a video such as views.mkv")
    assert "a video such as views.mkv" in str(err) and "%04d" not in str(err)


def test_sequence_folder_hint_drops_a_trailing_dash(tmp_path, monkeypatch):
    from igde_stream.stream.imageseq import check_sequence_output

    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match=re.escape("e.g. shot010/shot010-%04d.png")):
        check_sequence_output(Path("shot010-%04d.png"), False)


# --- --start as an image number, --grid color, numbered outputs ------------------------------------------


def _sequence_info(tmp_path, frames=3, start=1001):
    for n in range(start, start + frames):
        (tmp_path / f"plate.{n:04d}.png").write_bytes(b"")
    from fractions import Fraction

    return SimpleNamespace(kind="sequence", frames=frames, rate=Fraction(25), effective_rate=Fraction(25),
                           path=str(tmp_path / "plate.%04d.png"))


def test_start_image_number_hint_covers_the_sequences_images_only(tmp_path):
    from igde_stream.stream.span import _image_number_hint

    info = _sequence_info(tmp_path)
    assert _image_number_hint(1003.0, info).endswith("image 1003 of this sequence is at 0.08 s (--start 0.08)")
    assert _image_number_hint(1004.0, info) == ""  # one past the last image (1001 + 3 frames)
    assert _image_number_hint(1002.5, info) == ""  # a time, no image number


def _info(w, h):
    return SimpleNamespace(width=w, height=h, dtype=np.uint8, bits=8, pix_fmt="gray")


@pytest.mark.parametrize("gt, depth, color, hint", [
    ((64, 48), (32, 24), (64, 48), True),
    ((64, 48), (80, 24), (64, 48), False),  # the depth wider than the ground truth: no enlarging helps
    ((96, 72), (32, 24), (64, 48), False),  # a ground truth of neither size
])
def test_grid_color_hint_only_for_a_ground_truth_at_the_colours_size(gt, depth, color, hint):
    from igde_stream.stream.report import gt_problem

    said = gt_problem(_info(*gt), _info(*depth), _info(*color))
    assert said.startswith(f"ground truth is {gt[0]}x{gt[1]} but depth is {depth[0]}x{depth[1]}")
    assert ("--grid color" in said) is hint


def test_npy_depth_numbered_from_zero_keeps_its_numbers_beside_numbered_plates(tmp_path, tiny_model, capsys):
    """Per-frame .npy depth 0000.npy, 0001.npy beside plate.1001.png ...: the depth carries numbers, 0 and
    1, and keeps them (0 is a number, not "none")."""
    from conftest import scene
    from igde_stream.cli import main
    from test_formats import write_png_sequence

    colors, depths, _ = scene(2)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    (tmp_path / "d").mkdir()
    for k, d in enumerate(depths):
        np.save(tmp_path / "d" / f"{k:04d}.npy", d)
    assert main([str(tmp_path / "plate" / "plate.%04d.png"), str(tmp_path / "d"), "-o",
                 str(tmp_path / "a" / "e.%04d.png"), "--model", str(tiny_model), "--backend", "torch", "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["e.0000.png", "e.0001.png"]
    capsys.readouterr()


def test_per_frame_npy_files_carry_their_numbers(tmp_path):
    from igde_stream.stream.imageseq import numbers_of

    (tmp_path / "d").mkdir()
    for n in (7, 8):
        np.save(tmp_path / "d" / f"{n:04d}.npy", np.zeros((4, 4), np.uint16))
    assert numbers_of(SimpleNamespace(kind="array", path=str(tmp_path / "d"))) == 7
    assert numbers_of(SimpleNamespace(kind="file", path=str(tmp_path / "d"))) is None


# --- input checks --------------------------------------------------------------------------------------


def test_gray_colour_of_another_size_than_the_depth_is_named_gray():
    from igde_stream.enhancer_inputs import check_layout

    with pytest.raises(EnhancerError, match=re.escape("colour is 48 x 64: no channel axis (gray?)")):
        check_layout(np.zeros((48, 64), np.uint8), np.zeros((24, 32), np.uint8))


@pytest.mark.parametrize("dtype", [np.uint32, np.int64, np.int32])
def test_integer_depth_of_another_type_is_told_to_cast(dtype):
    from igde_stream.enhancer_inputs import depth_type_hint

    assert "depth.astype(np.uint16)" in depth_type_hint(dtype)


def test_views_render_maps_far_high_float_depth_with_its_holes(tmp_path, capsys):
    """--depth-order far-high: a distance of 0 is no measurement (code 0), as igde-stream maps it; the
    render equals that of the codes written by hand, ``0`` for the holes, else
    ``1 + round((v - LO) / (HI - LO) * 65534)``. Mapped near-high, the zeros became code 1 (the nearest)."""
    import av

    from conftest import scene
    from igde_stream.cli import main
    from test_float_depth import write_exr
    from test_formats import write_png_sequence

    lo, hi = 1.0, 5.0
    colors, depths, _ = scene(2)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1)
    (tmp_path / "exr").mkdir()
    (tmp_path / "codes").mkdir()
    for k, d in enumerate(depths):
        v = (lo + d.astype(np.float64) / 255 * (hi - lo)).astype(np.float32)
        v[4:12, 6:20] = 0.0  # no measurement
        write_exr(tmp_path / "exr" / f"d.{1 + k:04d}.exr", v)
        codes = np.where(v <= 0, 0, 1 + np.round((v.astype(np.float64) - lo) / (hi - lo) * 65534))
        assert cv2.imwrite(str(tmp_path / "codes" / f"d.{1 + k:04d}.png"), codes.astype(np.uint16))
    frames = []
    for name, extra in (("exr", ["--float-range", f"{lo}:{hi}"]), ("codes", [])):
        out = tmp_path / f"{name}.mkv"
        depth = tmp_path / name / ("d.%04d.exr" if name == "exr" else "d.%04d.png")
        assert main(["views", "render", str(tmp_path / "plate" / "plate.%04d.png"), str(depth), "-o", str(out),
                     "--layout", "sbs", "--depth-order", "far-high", "-q", *extra]) == 0
        with av.open(str(out)) as c:
            frames.append(np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)]))
    capsys.readouterr()
    assert frames[0].shape[0] == 2 and np.array_equal(frames[0], frames[1])
