"""The hole fill (igde_stream.hole_fill): OpenCV's joint bilateral at the holes, snapping, and its
place in the Enhancer."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.filters import joint_bilateral
from igde_stream.hole_fill import HoleFill, fill_holes
import igde_stream.hole_fill as hf


def _scene(seed: int = 0, size: int = 48) -> tuple[np.ndarray, np.ndarray]:
    """Two coloured regions at two depths with a little texture, and holes along the edge and inside."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    left = xx < size // 2 + (yy // 6) % 3
    color = np.where(left[..., None], [200, 60, 40], [30, 90, 210]).astype(np.int16)
    color = np.clip(color + rng.integers(-12, 13, color.shape), 0, 255).astype(np.uint8)
    depth = np.where(left, 180, 60).astype(np.uint8) + rng.integers(0, 6, left.shape).astype(np.uint8)
    holes = (np.abs(xx - size // 2) <= 2) & (yy % 9 < 6)
    holes |= rng.random(left.shape) < 0.05
    return color, np.where(holes, 0, depth).astype(np.uint8)


def _textured(seed: int, size: int = 56) -> tuple[np.ndarray, np.ndarray]:
    """Depth on a slope with noise, colour from a few palette entries with noise (so that the spatial
    and the colour weights both matter), 1 pixel in 6 a hole."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    palette = rng.integers(0, 256, (4, 3))
    color = palette[rng.integers(0, 4, (size // 4, size // 4))].repeat(4, 0).repeat(4, 1)
    color = np.clip(color + rng.integers(-20, 21, color.shape), 0, 255).astype(np.uint8)
    depth = (20 + 3 * xx + yy + rng.integers(0, 9, xx.shape)).astype(np.uint16)
    return color, np.where(rng.random(xx.shape) < 1 / 6, 0, depth).astype(np.uint16)


@pytest.mark.parametrize("seed", [0, 1])
def test_matches_opencv_joint_bilateral_at_the_holes(seed):
    color, depth = _textured(seed)
    settings = HoleFill(diameter=15, sigma_color=20.0, sigma_space=4.0, snap=0, stride=1, layers=0)
    ref = joint_bilateral(color, depth, 15, 20.0, 4.0)  # OpenCV, holes out of its windows
    out = fill_holes(color, depth, settings=settings)
    hole = depth == 0
    inner = np.zeros_like(hole)
    inner[7:-7, 7:-7] = True  # OpenCV reflects the border, the fill leaves it out
    check = hole & inner & (ref > 0)
    assert check.sum() > 200
    assert np.abs(out[check].astype(int) - ref[check].astype(int)).max() <= 1
    assert np.array_equal(out[~hole], depth[~hole])  # measured pixels are never touched


@pytest.mark.parametrize("sparse", [0.0, 0.5, 1.01])
def test_a_wide_hole_matches_opencv_joint_bilateral_by_either_sum(monkeypatch, sparse):
    # a 24 x 24 hole besides the scattered ones: the windows deep in it hold few measured pixels and
    # are summed over those pairs alone (hole_fill._SPARSE), the others over the full window; either
    # way (0: always the full window, 1.01: always the measured pairs) the sums are OpenCV's
    monkeypatch.setattr(hf, "_SPARSE", sparse)
    color, depth = _textured(3, size=64)
    depth[20:44, 20:44] = 0
    settings = HoleFill(diameter=15, sigma_color=20.0, sigma_space=4.0, snap=0, stride=1, layers=0, wide=False)
    ref = joint_bilateral(color, depth, 15, 20.0, 4.0)
    out = fill_holes(color, depth, settings=settings)
    hole = depth == 0
    inner = np.zeros_like(hole)
    inner[7:-7, 7:-7] = True
    check = hole & inner & (ref > 0)
    assert check[20:44, 20:44].sum() > 250  # the wide hole's pixels that any measured pixel reaches
    assert np.abs(out[check].astype(int) - ref[check].astype(int)).max() <= 1
    assert np.array_equal(out[~hole], depth[~hole])


def test_a_hole_takes_the_depth_of_its_own_colour():
    # a hole 9 px wide on a colour edge: each side gets its own colour region's depth, exactly
    color = np.zeros((30, 40, 3), np.uint8)
    color[:, :20] = (220, 40, 40)
    color[:, 20:] = (40, 40, 220)
    depth = np.where(np.arange(40)[None] < 20, 200, 50).astype(np.uint16).repeat(30, 0)
    depth[:, 16:25] = 0
    for snap in (0, 7):
        out = fill_holes(color, depth, settings=HoleFill(snap=snap, stride=1))
        assert (out[:, 16:20] == 200).all() and (out[:, 20:25] == 50).all()


def test_snap_gives_the_nearest_measured_value_nearby():
    # measured 10 (5 px left) and 100 (7 px right) of (20, 20), same colour: the mean is about 51;
    # 52 lies 20 px away in another colour (no weight): within 7 px the nearest value is 10
    color = np.full((41, 61, 3), 128, np.uint8)
    color[20, 40] = (0, 255, 0)
    depth = np.zeros((41, 61), np.uint16)
    depth[20, 15], depth[20, 27], depth[20, 40] = 10, 100, 52
    settings = dict(sigma_space=8.0, stride=1, layers=0)  # the one mean of the window
    plain = fill_holes(color, depth, settings=HoleFill(snap=0, **settings))
    snapped = fill_holes(color, depth, settings=HoleFill(snap=7, **settings))
    w10, w100 = np.exp(-25 / 128), np.exp(-49 / 128)
    assert abs(float(plain[20, 20]) - (10 * w10 + 100 * w100) / (w10 + w100)) <= 0.5  # 50.8
    assert snapped[20, 20] == 10
    # at (20, 48) nothing measured lies within 7 px: the nearest value in the whole window
    assert snapped[20, 48] == min((10, 100, 52), key=lambda v: abs(v - float(plain[20, 48])))
    assert set(np.unique(snapped)) <= {0, 10, 52, 100}  # 0: nothing measured in the window


def test_out_and_masks():
    color, depth = _scene(3)
    model_out = np.full_like(depth, 7)
    out = fill_holes(color, depth, model_out, settings=HoleFill(snap=0))
    hole = depth == 0
    assert np.array_equal(out[~hole], model_out[~hole])
    assert (out[hole] != 7).all()
    # no measured pixel within reach: without the wide fill the hole keeps the value it had in out;
    # with it (the default) it gets the global fill, here the one measured value of a flat frame
    lonely = np.zeros((80, 80), np.uint8)
    lonely[0, 0] = 100
    kept = fill_holes(np.zeros((80, 80, 3), np.uint8), lonely, np.full_like(lonely, 3),
                      settings=HoleFill(diameter=5, wide=False))
    assert kept[40, 40] == 3 and kept[1, 1] == 100
    spread = fill_holes(np.zeros((80, 80, 3), np.uint8), lonely, np.full_like(lonely, 3), settings=HoleFill(diameter=5))
    assert spread[40, 40] == 100 and spread[79, 79] == 100
    # pixels left out of `measured` are not sources
    src = fill_holes(color, depth, measured=depth < 120, settings=HoleFill(snap=0))
    assert src[hole].max() < 120


def test_stride_samples_stand_for_the_pixels_they_skip():
    # one hole in a flat-coloured frame, depth 100 within 7 px of it and 200 further out; a flat spatial
    # weight: the fill (the one mean, layers 0) is the mean over the 27 px disc, by count of pixels
    color = np.full((61, 61, 3), 90, np.uint8)
    yy, xx = np.mgrid[-30:31, -30:31]
    depth = np.where(np.maximum(abs(yy), abs(xx)) <= 7, 100, 200).astype(np.uint8)
    depth[30, 30] = 0
    disc = yy ** 2 + xx ** 2 <= 27 ** 2
    near = disc & (np.maximum(abs(yy), abs(xx)) <= 7)
    want = (100 * (near.sum() - 1) + 200 * (disc & ~near).sum()) / (disc.sum() - 1)  # 185.4
    for stride in (1, 2, 3):
        got = fill_holes(color, depth, settings=HoleFill(snap=0, stride=stride, sigma_space=1e6, layers=0))[30, 30]
        assert abs(float(got) - want) <= 1.5, (stride, got, want)


def test_a_snap_window_wider_than_7_px_is_sampled_in_full():
    # stride 3 samples the window beyond the inner 15 x 15 px, or beyond the snap window if larger: the
    # one measured value within 9 px lies 8 px off (off the stride's grid) and is the snap's answer
    color = np.full((41, 61, 3), 128, np.uint8)
    depth = np.zeros((41, 61), np.uint16)
    depth[20, 38], depth[20, 9] = 10, 100  # 8 px right of (20, 30); 21 px left, on the grid (weight 9)
    got = fill_holes(color, depth, settings=HoleFill(snap=9, stride=3, sigma_space=1e6))[20, 30]
    assert got == 10


@pytest.mark.parametrize("dense, want", [(7, 100), (9, (10 + 9 * 100) / 10), (27, (10 + 100) / 2)])
def test_dense_sets_how_far_the_window_is_sampled_at_every_pixel(dense, want):
    # two measured pixels: value 10 at 8 px right of the hole (off the stride-3 grid) and 100 at 21 px
    # left (on it, standing for 3 x 3 = 9 pixels); a flat spatial weight. The 8 px one counts (weight 1)
    # only when the dense part reaches 8 px; dense 27 (the window's radius) samples every pixel, each once
    color = np.full((41, 61, 3), 128, np.uint8)
    depth = np.zeros((41, 61), np.uint16)
    depth[20, 38], depth[20, 9] = 10, 100
    got = fill_holes(color, depth, settings=HoleFill(stride=3, dense=dense, sigma_space=1e6))[20, 30]
    assert got == round(want)


@pytest.mark.parametrize("spec, want", [("A:sigma_space=16,stride=1", HoleFill(sigma_space=16.0, stride=1)),
                                        ("B:dense=15", HoleFill(dense=15)),
                                        ("C:wide=false,layers=2", HoleFill(wide=False, layers=2.0)),
                                        ("E:wide=No,layers=1", HoleFill(wide=False, layers=1.0)),
                                        ("F:wide=TRUE,stride=1", HoleFill(wide=True, stride=1)),
                                        ("D:", HoleFill())])
def test_tune_tool_fill_settings_by_name(spec, want):
    from conftest import load_tool

    name, fill = load_tool("tune_hole_fill").fill_arg(spec)
    assert name == spec.split(":")[0] and fill == want


@pytest.mark.parametrize("spec, said", [("A", "NAME:KEY=V"), ("A:zz=1", "KEY one of"), ("A:stride=x", "not a whole number"),
                                        ("A:stride=0", "stride must be at least 1"),
                                        ("A:wide=flase", "'flase' is not true or false")])
def test_tune_tool_refuses_a_bad_fill_setting(spec, said):
    import argparse

    from conftest import load_tool

    with pytest.raises(argparse.ArgumentTypeError, match=said):
        load_tool("tune_hole_fill").fill_arg(spec)


@pytest.mark.parametrize("kw", [{"diameter": 1}, {"snap": -1}, {"stride": 0}, {"sigma_color": 0.0}, {"dense": -1},
                                {"sigma_space": float("nan")}, {"diameter": 5.5}, {"snap": True},
                                {"sigma_color": True}, {"sigma_space": np.True_}, {"sigma_color": "10"}])
def test_bad_settings(kw):
    with pytest.raises(ValueError):
        HoleFill(**kw)


def test_a_diameter_beyond_the_bound_is_refused_before_any_memory_is_taken():
    """A huge diameter was taken, and its offset grid ran out of memory at the first fill."""
    assert HoleFill(diameter=1001).diameter == 1001
    with pytest.raises(ValueError, match=r"^hole fill diameter must be 3 to 1001, got 100001$"):
        HoleFill(diameter=100_001)


def test_the_sigmas_take_numpy_numbers_as_the_diameter_does():
    color, depth = _scene(0)
    want = fill_holes(color, depth, settings=HoleFill(diameter=15, sigma_color=10, sigma_space=64))
    settings = HoleFill(diameter=np.int64(15), sigma_color=np.int64(10), sigma_space=np.int32(64))
    np.testing.assert_array_equal(fill_holes(color, depth, settings=settings), want)
    np.testing.assert_array_equal(fill_holes(color, depth, settings=HoleFill(
        diameter=15, sigma_color=np.float32(10), sigma_space=np.float64(64))), want)


@pytest.mark.parametrize("sigma_color", [1e-170, np.float32(1e-30)])
def test_a_tiny_sigma_color_fills_from_the_same_colour_as_its_limit(sigma_color):
    """A sigma whose square underflows gave 0 / 0 = NaN weights, and no hole was filled: its limit is
    the weight 1 for the same colour and 0 for any other."""
    color = np.zeros((12, 12, 3), np.uint8)
    color[:, 6:] = 200
    depth = np.where(np.arange(12) < 6, 40, 90).astype(np.uint8)[None].repeat(12, 0)
    depth[5:7, 4:8] = 0
    with np.errstate(divide="raise", invalid="raise"):  # no 0 / 0 on the way
        out = fill_holes(color, depth, settings=HoleFill(diameter=9, sigma_color=sigma_color, snap=0, stride=1))
    np.testing.assert_array_equal(out[5:7, 4:6], 40)
    np.testing.assert_array_equal(out[5:7, 6:8], 90)


def test_bad_shapes():
    with pytest.raises(ValueError, match="color"):
        fill_holes(np.zeros((4, 4), np.uint8), np.zeros((4, 4), np.uint8))
    with pytest.raises(ValueError, match="depth"):
        fill_holes(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8))
    with pytest.raises(ValueError, match="out"):
        fill_holes(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8), np.zeros((3, 4), np.uint8))


def test_enhancer_fills_the_holes_of_a_zero_holes_model():
    from igde_stream.enhancer import Enhancer, EnhancerError

    color, depth = _scene(5, size=64)
    auto = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    assert auto.hole_fill == HoleFill(sigma_space=12, stride=1)  # the shipped model reads depth 0 as a hole
    off = Enhancer("igde-small", backend="onnxruntime", quiet=True, hole_fill=False)
    assert off.hole_fill is None
    raw = off.enhance(color, depth)
    got = auto.enhance(color, depth)
    assert np.array_equal(got, fill_holes(color, depth, raw, settings=HoleFill(sigma_space=12, stride=1)))
    hole = depth == 0
    assert np.array_equal(got[~hole], raw[~hole])
    assert np.abs(got[hole].astype(int) - np.where(color[hole][:, 0] > 100, 182, 62)).max() <= 10
    # batches and 16 bit go the same way
    both = auto.enhance(np.stack([color, color]), np.stack([depth, depth]).astype(np.uint16) * 257)
    assert np.array_equal(both[0], both[1])
    assert np.array_equal(both[0][~hole], off.enhance(color, depth.astype(np.uint16) * 257)[~hole])
    with pytest.raises(EnhancerError, match="hole_fill"):
        Enhancer("igde-small", backend="onnxruntime", quiet=True, hole_fill="yes")


def test_enhancer_reads_zero_holes_from_each_kind_of_model(tiny):
    import json
    from types import SimpleNamespace

    from igde_stream.enhancer import Enhancer, model_config

    _, pt, onnx = tiny  # igde-tiny: depth 0 is a depth to it
    assert Enhancer(pt, backend="torch", quiet=True).hole_fill is None
    assert Enhancer(onnx, backend="onnxruntime", quiet=True).hole_fill is None
    assert Enhancer("igde-small", backend="torch", quiet=True).hole_fill == HoleFill(sigma_space=12, stride=1)  # model.config
    assert Enhancer(pt, backend="torch", quiet=True, hole_fill=True).hole_fill == HoleFill(sigma_space=12, stride=1)
    mine = HoleFill(snap=0)
    assert Enhancer(pt, backend="torch", quiet=True, hole_fill=mine).hole_fill is mine
    # a TensorRT engine's sidecar keeps the ONNX metadata as text
    engine = SimpleNamespace(info=SimpleNamespace(model={"config": json.dumps({"zero_holes": True})}))
    assert model_config(engine) == {"zero_holes": True}
    assert model_config(SimpleNamespace(info=SimpleNamespace(model={"config": "{not json"}))) == {}
    assert model_config(object()) == {}


def test_a_tensorrt_backend_before_its_engine_is_built_reads_the_onnx_config(tiny, tmp_path):
    """``--backend tensorrt`` with no engine built yet (it is built at the first batch): no sidecar
    to read, so the ONNX it will be built from says ``zero_holes``. The hole fill was off on such a
    first run and on on every later one (the engine then found, with its sidecar)."""
    from types import SimpleNamespace

    from igde_stream.enhancer import model_config
    from igde_stream.models import WEIGHTS_DIR

    assert model_config(SimpleNamespace(info=None, onnx=WEIGHTS_DIR / "igde-small.onnx"))["zero_holes"] is True
    assert not model_config(SimpleNamespace(info=None, onnx=tiny[2])).get("zero_holes", False)
    assert model_config(SimpleNamespace(info=None, onnx=None)) == {}
    (tmp_path / "junk.onnx").write_bytes(b"not an ONNX file")  # left to the engine build to refuse
    assert model_config(SimpleNamespace(info=None, onnx=tmp_path / "junk.onnx")) == {}


def _holed_clip(tmp_path, n: int, share: float, seed: int):
    """A small clip whose depth has ``share`` of its pixels made holes: (colours, holed depths,
    colour video, depth video, ground-truth video); colour lossless, so decoded frames are these."""
    from conftest import scene, write_video

    colors, depths, gts = scene(n, (64, 48), 8)
    rng = np.random.default_rng(seed)
    holed = [np.where(rng.random(d.shape) < share, 0, d).astype(np.uint8) for d in depths]
    return (colors, holed, write_video(tmp_path / "color.mkv", colors, fmt="rgb24", codec="ffv1"),
            write_video(tmp_path / "depth.mkv", holed, fmt="gray"), write_video(tmp_path / "gt.mkv", gts, fmt="gray"))


def test_cli_hole_fill_on_and_off(tmp_path):
    from conftest import read_video

    from igde_stream.cli import main

    colors, holed, color, depth, _ = _holed_clip(tmp_path, 3, 0.08, 2)
    outs = {}
    for mode in ("auto", "off", "on", "far", "fast"):
        out = tmp_path / f"out_{mode}.mkv"
        assert main([str(color), str(depth), "-o", str(out), "-q", "--hole-fill", mode]) == 0
        outs[mode] = read_video(out)[0]
    for c, d, auto, off, on, far, fast in zip(colors, holed, *(outs[m] for m in ("auto", "off", "on", "far", "fast"))):
        hole = d == 0
        assert np.array_equal(auto, on) and np.array_equal(auto[~hole], off[~hole])
        assert np.array_equal(auto, fill_holes(c, d, off, settings=HoleFill(sigma_space=12, stride=1)))
        assert not np.array_equal(auto[hole], off[hole])
        assert np.array_equal(far, fill_holes(c, d, off, settings=HoleFill(layers=2)))  # the far layer
        # fast: the default's sigma, the window sampled every 3 px beyond its inner 15 x 15
        assert np.array_equal(fast, fill_holes(c, d, off, settings=HoleFill(sigma_space=12, stride=3)))
        assert np.array_equal(fast[~hole], off[~hole]) and not np.array_equal(fast[hole], auto[hole])


def test_a_hole_filled_at_max_depth_stays_filled():
    # near-high with max_depth 200 and depth above it elsewhere: the leak rule returns pixels whose
    # output is the clipped reading 200 to their input; a hole filled (from measured depth <= 200) with
    # exactly 200 is no leak and must not go back to 0
    from igde_stream.enhancer import Enhancer

    color = np.full((32, 48, 3), 120, np.uint8)
    color[:, 40:] = (20, 200, 20)
    depth = np.full((32, 48), 200, np.uint8)
    depth[:, 40:] = 250  # above max_depth: passes through
    depth[10:14, 10:14] = 0
    for hole_fill in (True, HoleFill(snap=3)):
        enh = Enhancer("igde-small", backend="onnxruntime", quiet=True, max_depth=200, hole_fill=hole_fill)
        out = enh.enhance(color, depth)
        assert (out[10:14, 10:14] == 200).all() and (out[:, 40:] == 250).all()


def test_depth_above_max_depth_is_no_source():
    # depth above max_depth passes through unenhanced (outside the model's range): a hole beside it, in
    # the same colour, is filled from the depth within the range only (docs/stream.md, --hole-fill)
    from igde_stream.enhancer import Enhancer

    color = np.full((32, 48, 3), 120, np.uint8)
    depth = np.full((32, 48), 100, np.uint8)
    depth[:, 24:] = 250  # above max_depth 200
    depth[12:20, 20:28] = 0
    for hole_fill in (True, HoleFill(snap=3)):
        out = Enhancer("igde-small", backend="onnxruntime", quiet=True, max_depth=200, hole_fill=hole_fill).enhance(
            color, depth)
        assert (out[12:20, 20:28] == 100).all() and (out[depth == 250] == 250).all()


def test_float_depth_without_a_value_is_no_source():
    # NaN / inf in float depth is no measurement: it must not spread into the fill
    color = np.full((20, 24, 3), 100, np.uint8)
    depth = np.full((20, 24), 5.0, np.float32)
    depth[10, 10] = 0
    depth[8, 8], depth[12, 13] = np.nan, np.inf
    for snap in (0, 3):
        settings = HoleFill(snap=snap, stride=1)
        assert fill_holes(color, depth, settings=settings)[10, 10] == 5.0
        assert fill_holes(color, depth, np.zeros(depth.shape, np.uint16), settings=settings)[10, 10] == 5
        assert np.isnan(fill_holes(color, depth, settings=settings)[8, 8])  # not a hole: left as it is


def test_masks_of_another_shape_are_refused():
    color, depth = np.zeros((4, 4, 3), np.uint8), np.zeros((4, 4), np.uint8)
    for shape in [(4, 5), (1, 4), (4,)]:
        with pytest.raises(ValueError, match="measured"):
            fill_holes(color, depth, measured=np.ones(shape, bool))
        with pytest.raises(ValueError, match="holes"):
            fill_holes(color, depth, holes=np.ones(shape, bool))


def test_memory_stays_bounded_with_a_wide_window():
    # the gathers hold (hole pixels x window) elements: a wide window must take fewer hole pixels at a
    # time (d 151 at stride 1 is 17845 offsets: 800 holes at once were about 400 MB)
    import tracemalloc

    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    depth = np.where(rng.random((40, 40)) < 0.5, 0, rng.integers(1, 256, (40, 40))).astype(np.uint8)
    settings = HoleFill(diameter=151, stride=1)
    tracemalloc.start()
    try:
        out = fill_holes(color, depth, settings=settings)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100e6, peak
    assert (out[depth == 0] > 0).all() and np.array_equal(out[depth > 0], depth[depth > 0])


def test_holes_out_of_reach_cost_nothing(monkeypatch):
    # a 640 x 480 frame of holes with one measured pixel: only the holes within its window's reach are
    # worked (each of the 307k holes was a gather of the whole window: about 1.5 s; now milliseconds).
    # Counted, not timed: the holes gathered are the 55 x 55 square around the pixel, less the pixel
    from igde_stream import hole_fill

    worked = []

    class CountingNumpy:
        def __getattr__(self, name):
            return getattr(np, name)

        def empty(self, n, *args, **kwargs):  # the fill's per-hole buffer: one entry per hole worked
            worked.append(n)
            return np.empty(n, *args, **kwargs)

    monkeypatch.setattr(hole_fill, "np", CountingNumpy())
    color = np.zeros((480, 640, 3), np.uint8)
    depth = np.zeros((480, 640), np.uint16)
    depth[240, 320] = 900
    out = fill_holes(color, depth, settings=HoleFill(wide=False))  # the windowed fill alone
    monkeypatch.undo()
    assert worked == [55 * 55 - 1]
    dy, dx = np.mgrid[:480, :640] - np.array([240, 320])[:, None, None]
    seen = (np.maximum(abs(dy), abs(dx)) <= 7) | ((dy % 3 == 0) & (dx % 3 == 0) & (dy ** 2 + dx ** 2 <= 27 ** 2))
    assert np.array_equal(out > 0, seen) and out.max() == 900  # the holes whose window holds the pixel


@pytest.mark.parametrize("bad, said", [(["--sizes", "8x8"], "--sizes must be at least 16x16"),
                                       (["--out", "{tmp}"], "is a directory"),
                                       (["--out", "{tmp}/f.txt/x.json"], "f.txt is a file, not a folder"),
                                       (["--out", "{tmp}/f.txt/sub/x.json"], "f.txt is a file, not a folder")])
def test_tune_tool_refuses_bad_arguments_in_one_line(tmp_path, capsys, bad, said):
    # before any scoring (a directory for --out, or a folder under a file, was a traceback at the very end,
    # a small size one at the start)
    from conftest import load_tool

    tool = load_tool("tune_hole_fill")
    (tmp_path / "f.txt").write_text("a file")
    args = ["--scenes", "1", "--errors", "holes", "--sizes", "16x16", "--threads", "1"]
    with pytest.raises(SystemExit) as exc:
        tool.main(args + [a.format(tmp=tmp_path) for a in bad])
    assert exc.value.code == 2
    assert said in capsys.readouterr().err.strip().splitlines()[-1]


def test_views_quality_hole_fill_flag(tmp_path):
    import json

    from igde_stream import views_cli

    _, _, color, depth, gt = _holed_clip(tmp_path, 2, 0.1, 3)
    scores = {}
    for mode in ("auto", "on", "off"):
        out = tmp_path / f"q_{mode}.json"
        assert views_cli.main(["quality", str(color), "--gt", str(gt), "--depth", f"d={depth}", "--views", "3",
                               "--enhance", "d", "--report", str(out), "--hole-fill", mode, "-q"]) == 0
        report = json.loads(out.read_text())
        assert report["hole_fill"] == (mode != "off")
        scores[mode] = json.dumps(report["depths"]["enhanced"], sort_keys=True)
    assert scores["auto"] == scores["on"] != scores["off"]


def test_the_defaults_are_the_joint_bilaterals_tuned_ones():
    import inspect

    p = inspect.signature(joint_bilateral).parameters
    assert (HoleFill().diameter, HoleFill().sigma_color, HoleFill().sigma_space) == (
        p["diameter"].default, p["sigma_color"].default, p["sigma_space"].default)


def test_the_largest_colour_difference_has_a_weight():
    # white beside black: |255 - 0| x 3 = 765, the colour table's last entry
    color = np.zeros((20, 20, 3), np.uint8)
    color[:, 10:] = 255
    depth = np.full((20, 20), 90, np.uint8)
    depth[:, 10:] = 0  # the white half is all holes; its only sources are black
    out = fill_holes(color, depth, settings=HoleFill(sigma_color=400.0, stride=1))
    assert (out[:, 10:] == 90).all()


def test_tune_tool_fill_orders():
    # after: the fill on the model's output; before: the model on the filled depth; before-keep: that,
    # with the hole pixels given the fill's value back. A stand-in model that adds 1 to every pixel
    # and 50 to pixels that are 0 tells the three apart
    from conftest import load_tool

    tool = load_tool("tune_hole_fill")

    class Plus:
        def enhance(self, color, depth):
            return (depth + 1 + 50 * (depth == 0)).astype(depth.dtype)

    rng = np.random.default_rng(3)
    color = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    depth = rng.integers(10, 200, (24, 32)).astype(np.uint16)
    depth[5:9, 6:12] = 0
    hole = depth == 0
    enh, fill = Plus(), HoleFill()
    filled = fill_holes(color, depth, settings=fill)
    assert (filled[hole] > 0).all()
    after = tool.fill_order_outputs(enh, color, depth, enh.enhance(color, depth), fill, "after")
    before = tool.fill_order_outputs(enh, color, depth, None, fill, "before")
    keep = tool.fill_order_outputs(enh, color, depth, None, fill, "before-keep")
    assert np.array_equal(after[hole], filled[hole]) and np.array_equal(after[~hole], depth[~hole] + 1)
    assert np.array_equal(before, filled + 1)  # the model never saw a 0
    assert np.array_equal(keep[hole], filled[hole]) and np.array_equal(keep[~hole], depth[~hole] + 1)


def _two_regions(width=200):
    """A frame of two colours (left 40, right 140) with depth measured only in a 10 px strip at each
    end (50 on the left, 200 on the right): the holes between are far beyond any window's reach."""
    color = np.zeros((60, width, 3), np.uint8)
    color[:, : width // 2] = 40
    color[:, width // 2 :] = 140
    depth = np.zeros((60, width), np.uint16)
    depth[:, :10], depth[:, -10:] = 50, 200
    return color, depth


def test_holes_out_of_every_window_take_their_own_colour_regions_depth():
    # the global fill spreads depth along the colour: each hole gets the depth measured in its own
    # colour region, across 90 px of holes, and not the mix of the two sides (125) a colour-blind
    # spread would give
    color, depth = _two_regions()
    out = fill_holes(color, depth, settings=HoleFill(diameter=21, snap=0))
    left, right = out[:, 40:95], out[:, 105:160]  # all more than 10 px (the window) from a measured pixel
    assert np.abs(left.astype(int) - 50).max() <= 1 and np.abs(right.astype(int) - 200).max() <= 1
    assert (out > 0).all()
    # without the wide fill those holes stay as they were
    kept = fill_holes(color, depth, settings=HoleFill(diameter=21, snap=0, wide=False))
    assert (kept[:, 40:160] == 0).all() and (kept[:, 10:17] > 0).all()  # the window: 7 px in full


def test_the_wide_fill_with_snap_gives_measured_values_only():
    color, depth = _two_regions()
    depth[:, :10] = np.arange(45, 55)[None, :]  # measured values 45..54 and 200
    out = fill_holes(color, depth, settings=HoleFill(diameter=21, snap=3))
    assert set(np.unique(out)) <= set(range(45, 55)) | {200}
    assert (out[:, 105:160] == 200).all()


def test_wide_must_be_a_bool():
    with pytest.raises(ValueError, match="wide must be True or False"):
        HoleFill(wide="yes")


def test_workers_share_the_holes_and_give_the_same_fill(monkeypatch):
    # more holes than one gather takes (a few chunks), each chunk's rows written by its own thread
    import igde_stream.hole_fill as hf

    import concurrent.futures
    import threading

    monkeypatch.setattr(hf, "_GATHER", 40 * 2400)  # ~40 holes a chunk at stride 1: many chunks here
    color, depth = _textured(4, size=72)
    settings = HoleFill(sigma_space=16, stride=1)
    one = fill_holes(color, depth, settings=settings)
    assert (depth == 0).sum() > 10 * 40
    ran: list[tuple[int, int]] = []  # (the pool's threads, the thread that ran a chunk)
    real = concurrent.futures.ThreadPoolExecutor

    class Pool(real):  # the pool the fill makes, each chunk's thread recorded
        def map(self, fn, *its):
            return super().map(lambda a: (ran.append((self._max_workers, threading.get_ident())), fn(a))[1], *its)

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Pool)
    for workers in (2, 3):
        ran.clear()
        np.testing.assert_array_equal(fill_holes(color, depth, settings=settings, workers=workers), one)
        assert {n for n, _ in ran} == {workers} and len(ran) > 10  # every chunk on the pool of that many
        assert threading.get_ident() not in {t for _, t in ran}
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="workers"):
            fill_holes(color, depth, workers=bad)


def test_the_enhancer_fills_with_the_model_threads():
    from igde_stream.enhancer import Enhancer

    assert Enhancer("igde-small", backend="onnxruntime", quiet=True, threads=3).fill_workers == 3
    assert Enhancer("igde-small", backend="onnxruntime", quiet=True).fill_workers >= 1


def test_the_enhancer_fills_with_the_cpus_the_process_may_use_not_the_nodes(monkeypatch):
    # a job given 2 CPUs of a 64-core node (its affinity mask: Slurm, taskset) fills with 2 threads,
    # as the batch sizes its pool (batch_jobs.usable_cpus), not min(8, the node's 64); 8 at most
    import os

    from igde_stream.enhancer import Enhancer

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert Enhancer("igde-small", backend="onnxruntime", quiet=True).fill_workers == 2
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert Enhancer("igde-small", backend="onnxruntime", quiet=True).fill_workers == 8
