"""Enhancer: frame / batch API, dtypes, errors, backend choice and its message."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from igde_stream.enhancer import Enhancer, EnhancerBusyError, EnhancerError
from igde_stream.errors import IGDEError


def _frames(n, h=21, w=34, dtype=np.uint8, seed=0):
    rng = np.random.default_rng(seed)
    peak = np.iinfo(dtype).max
    return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8), rng.integers(0, peak, (n, h, w), dtype=dtype)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_single_frame_and_batch_keep_shape_and_dtype(tiny, dtype):
    e = Enhancer(str(tiny[2]), batch=3, quiet=True)
    color, depth = _frames(7, dtype=dtype)  # 7 = 3 + 3 + 1: a short last batch
    out = e.enhance(color, depth)
    assert out.shape == depth.shape and out.dtype == dtype
    one = e.enhance(color[4], depth[4])
    assert one.shape == depth[4].shape and np.array_equal(one, out[4])


def test_onnxruntime_and_torch_agree_on_quantised_depth(tiny):
    color, depth = _frames(5, dtype=np.uint16)
    a = Enhancer(str(tiny[2]), backend="onnxruntime", quiet=True).enhance(color, depth)
    b = Enhancer(str(tiny[1]), backend="torch", quiet=True).enhance(color, depth)
    assert np.abs(a.astype(np.int64) - b).max() <= 7  # 1e-4 of 65535 is 6.6 levels


def test_max_depth_normalises(tiny):
    e = Enhancer(str(tiny[2]), max_depth=1000, quiet=True)
    color, depth = _frames(2, dtype=np.uint16)
    depth = depth % 1000
    assert e.enhance(color, depth).max() <= 1000


def test_choice_is_announced_unless_quiet(tiny, capsys):
    e = Enhancer(str(tiny[2]))
    err = capsys.readouterr().err
    assert e.backend_name == "onnxruntime" and "backend onnxruntime" in err and "auto" in err
    Enhancer(str(tiny[2]), quiet=True)
    assert capsys.readouterr().err == ""


def test_bad_inputs_are_clear_errors(tiny):
    e = Enhancer(str(tiny[2]), quiet=True)
    color, depth = _frames(2)
    with pytest.raises(EnhancerError, match="same size"):
        e.enhance(color[:, :-1], depth)
    with pytest.raises(EnhancerError, match="uint8 RGB"):
        e.enhance(color.astype(np.float32), depth)
    with pytest.raises(EnhancerError, match="uint8 or uint16"):
        e.enhance(color, depth.astype(np.float32))


@pytest.mark.parametrize("h,w", [(1, 34), (21, 1), (1, 1)])
def test_frames_under_two_pixels_a_side_are_refused_by_the_exported_graph_and_run_by_torch(tiny, h, w):
    """The exported graph's H and W are dynamic from 2 up (torch.export's range; ONNX Runtime fails in
    a MaxPool buffer below it): a frame 1 pixel high or wide is one clear error there, and 2 x 2 runs.
    PyTorch runs the module itself, at any size."""
    e = Enhancer(str(tiny[2]), backend="onnxruntime", quiet=True)
    color, depth = _frames(1, h, w)
    with pytest.raises(EnhancerError, match=rf"frames of {w}x{h} pixels: the onnxruntime model needs at least 2x2 "
                                            r"\(backend=\"torch\" runs smaller frames\)"):
        e.enhance(color, depth)
    assert Enhancer(str(tiny[1]), backend="torch", quiet=True).enhance(color, depth).shape == (1, h, w)
    color, depth = _frames(1, 2, 2)
    assert e.enhance(color, depth).shape == (1, 2, 2)


def test_bad_model_backend_and_options_are_clear_errors(tiny, tmp_path):
    with pytest.raises(IGDEError, match="no such model file"):
        Enhancer(str(tmp_path / "missing.onnx"), quiet=True)
    with pytest.raises(ValueError, match="no shipped"):
        Enhancer("igde-nope", quiet=True)
    with pytest.raises(EnhancerError, match="unknown backend"):
        Enhancer(str(tiny[2]), backend="openvino", quiet=True)
    with pytest.raises(EnhancerError, match="does not take"):
        Enhancer(str(tiny[2]), backend="onnxruntime", cuda_graph=True, quiet=True)
    with pytest.raises(EnhancerError, match="batch"):
        Enhancer(str(tiny[2]), batch=0)
    (tmp_path / "bad.pt").write_text("nope")
    with pytest.raises(EnhancerError, match="not an igde-stream checkpoint"):
        Enhancer(str(tmp_path / "bad.pt"), backend="torch", quiet=True)


def test_auto_drops_options_meant_for_other_backends(tiny):
    e = Enhancer(str(tiny[2]), threads=1, cuda_graph=False, quiet=True)
    assert e.backend_name == "onnxruntime" and e.backend.options.threads == 1


def test_auto_refuses_an_option_of_no_backend(tiny):
    """``thread=1`` (a typo for threads) is no backend's option: refused as with a named backend,
    not dropped as another backend's option would be."""
    with pytest.raises(EnhancerError, match=r"unknown backend option\(s\) \['thread'\]; the backends take: .*threads"):
        Enhancer(str(tiny[2]), thread=1, quiet=True)


class _Recorder:
    """A backend that records what the network would see and returns a fixed output level."""

    name = "recorder"

    def __init__(self, out_value=None):
        self.seen = []
        self.out_value = out_value

    def run(self, color, depth):
        self.seen.append(depth.copy())
        return depth.copy() if self.out_value is None else np.full_like(depth, self.out_value)


def _recording(monkeypatch, backend):
    import igde_stream.enhancer as enh

    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: backend)
    return Enhancer("igde-small", backend="torch", quiet=True, max_depth=1000)


def test_a_list_of_frames_of_different_sizes_is_an_enhancer_error(monkeypatch):
    """A Python list of frames of different sizes: ``EnhancerError`` naming the argument, not NumPy's
    "inhomogeneous shape" ValueError."""
    e = _recording(monkeypatch, _Recorder())
    colors = [np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)]
    depths = [np.zeros((4, 4), np.uint8), np.zeros((5, 4), np.uint8)]
    with pytest.raises(EnhancerError, match=r"^colour: not an array of one shape \(frames of different sizes"):
        e.enhance(colors, depths)
    with pytest.raises(EnhancerError, match=r"^depth: not an array of one shape"):
        e.enhance(np.zeros((2, 4, 4, 3), np.uint8), depths)
    one = e.enhance(colors[:1], [np.zeros((4, 4), np.uint16)])  # a list of frames of one size is a batch
    assert one.shape == (1, 4, 4) and one.dtype == np.uint16


@pytest.mark.parametrize("values, seen", [
    ([0, 250, 500, 1000], [0.0, 0.25, 0.5, 1.0]),  # depth / max_depth
    # the network only ever sees [0, 1]: 1500 and 3000 with max_depth 1000 go in as 1.0 (and come out
    # unchanged, see test_values_above_max_depth_pass_through_unchanged)
    ([500, 1000, 1500, 3000], [0.5, 1.0, 1.0, 1.0]),
])
def test_network_sees_depth_over_max_depth_clipped_to_1(monkeypatch, values, seen):
    rec = _Recorder()
    e = _recording(monkeypatch, rec)
    depth = np.array([values], np.uint16)
    out = e.enhance(np.zeros((1, 4, 3), np.uint8), depth)
    np.testing.assert_allclose(rec.seen[0][0, 0, 0], seen, atol=1e-7)
    np.testing.assert_array_equal(out, depth)


def test_values_above_max_depth_pass_through_unchanged(monkeypatch):
    rec = _Recorder(out_value=0.5)  # the "network" answers 500 everywhere
    e = _recording(monkeypatch, rec)
    depth = np.array([[100, 999, 1000, 1001, 30000, 65535]], np.uint16)
    out = e.enhance(np.zeros((1, 6, 3), np.uint8), depth)
    np.testing.assert_array_equal(out, [[500, 500, 500, 1001, 30000, 65535]])


class _Answers(_Recorder):
    """A backend that answers a fixed output (normalised), whatever it is given."""

    def __init__(self, answer):
        super().__init__()
        self.answer = np.asarray(answer, np.float32)

    def run(self, color, depth):
        self.seen.append(depth.copy())
        return np.broadcast_to(self.answer, depth.shape).copy()


def test_the_clipped_value_of_depth_above_max_depth_does_not_leak_into_its_neighbours(monkeypatch):
    """Depth above max_depth reaches the network as 1.0 (the peak); a pixel whose output takes that
    value from such a neighbour would get max_depth, a depth the input never had: it keeps its input.
    A pixel that takes an in-range value keeps it; one whose input is the peak itself stays."""
    e = _recording(monkeypatch, _Answers([[1.0, 1.0, 1.0, 0.4, 0.4]]))  # max_depth 1000
    depth = np.array([[100, 1500, 1000, 400, 250]], np.uint16)
    out = e.enhance(np.zeros((1, 5, 3), np.uint8), depth)
    np.testing.assert_array_equal(out, [[100, 1500, 1000, 400, 400]])


def test_with_depth_above_max_depth_every_output_value_is_an_input_value():
    """The shipped model on a square whose near side lies above max_depth and whose edge is moved:
    the near values pass through, and no pixel gets max_depth itself (the clipped reading)."""
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (2, 64, 80, 3), dtype=np.uint8)
    depth = np.full((2, 64, 80), 76, np.uint8)
    for i in range(2):
        depth[i, 10 + i:40 + i, 20:50] = 204
        color[i, 10 + i:40 + i, 20:50] = (200, 50, 50)
        depth[i, 12 + i:38 + i, 18:22] = 204  # the edge moved 2 px outward
    out = Enhancer("igde-small", backend="onnxruntime", quiet=True, threads=1, max_depth=200).enhance(color, depth)
    assert set(np.unique(out)) <= set(np.unique(depth))
    np.testing.assert_array_equal(out[depth > 200], depth[depth > 200])


@pytest.mark.parametrize("max_depth, dtype, match", [
    (1000, np.uint8, "above the range of uint8"),
    (100000, np.uint16, "above the range of uint16"),
])
def test_max_depth_beyond_the_dtype_is_refused(monkeypatch, max_depth, dtype, match):
    import igde_stream.enhancer as enh

    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: _Recorder())
    e = Enhancer("igde-small", backend="torch", quiet=True, max_depth=max_depth)
    with pytest.raises(EnhancerError, match=match):
        e.enhance(np.zeros((2, 2, 3), np.uint8), np.zeros((2, 2), dtype))


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), 0, -5])
def test_max_depth_must_be_finite_and_positive(bad):
    with pytest.raises(EnhancerError, match="finite number > 0"):
        Enhancer("igde-small", backend="torch", quiet=True, max_depth=bad)


class _Slow(_Recorder):
    """A backend that holds the first call inside ``run`` until released (a long GPU batch)."""

    def __init__(self, fail_first=False):
        super().__init__()
        self.entered, self.release = threading.Event(), threading.Event()
        self.fail_first = fail_first

    def run(self, color, depth):
        self.entered.set()
        assert self.release.wait(30)
        if self.fail_first:
            self.fail_first = False
            raise RuntimeError("CUDA error: out of memory")
        return super().run(color, depth)


def test_a_second_thread_is_refused_while_the_enhancer_is_in_use(monkeypatch):
    slow = _Slow()
    e = _recording(monkeypatch, slow)  # max_depth 1000: the identity "network" gives the depth back
    color, depth = np.zeros((3, 4, 3), np.uint8), np.array([[0, 250, 500, 1000]] * 3, np.uint16)
    got = {}
    t = threading.Thread(target=lambda: got.setdefault("out", e.enhance(color, depth)))
    t.start()
    try:
        assert slow.entered.wait(30)
        with pytest.raises(EnhancerBusyError, match="^one Enhancer per thread; this one is in use by another thread$"):
            e.enhance(color, depth)
    finally:
        slow.release.set()
        t.join(30)
    np.testing.assert_array_equal(got["out"], depth)  # the first call was not disturbed
    assert len(slow.seen) == 1  # the refused call never reached the backend
    np.testing.assert_array_equal(e.enhance(color, depth), depth)  # free again afterwards
    assert issubclass(EnhancerBusyError, IGDEError)


def test_the_enhancer_is_free_again_after_a_failed_call(monkeypatch):
    slow = _Slow(fail_first=True)
    slow.release.set()
    e = _recording(monkeypatch, slow)
    color, depth = np.zeros((1, 4, 3), np.uint8), np.array([[100, 200, 300, 400]], np.uint16)
    with pytest.raises(RuntimeError, match="out of memory"):
        e.enhance(color, depth)
    np.testing.assert_array_equal(e.enhance(color, depth), depth)


@pytest.mark.parametrize("dtype, peak", [(np.uint8, 255), (np.uint16, 65535)])
def test_default_peak_is_the_dtype_maximum(monkeypatch, dtype, peak):
    # without max_depth the network sees depth / 255 (8 bit) or depth / 65535 (16 bit): the top
    # value maps to exactly 1.0, and a "network" answering 0.5 gives round(peak / 2)
    import igde_stream.enhancer as enh

    rec = _Recorder()
    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: rec)
    e = Enhancer("igde-small", backend="torch", quiet=True)
    depth = np.array([[0, 1, peak // 2, peak]], dtype)
    out = e.enhance(np.zeros((1, 4, 3), np.uint8), depth)
    np.testing.assert_allclose(rec.seen[0][0, 0, 0], [0.0, 1 / peak, (peak // 2) / peak, 1.0], rtol=1e-6)
    np.testing.assert_array_equal(out, depth)
    rec.out_value = 0.5
    assert (e.enhance(np.zeros((1, 4, 3), np.uint8), depth) == round(peak / 2)).all()


def test_the_network_sees_colour_as_rgb_planes_in_0_1_in_batches(monkeypatch):
    """Colour H x W x 3 uint8 reaches the backend as N x 3 x H x W float32 / 255 (channel c = RGB
    channel c), in batches of ``batch`` frames (6 frames, batch 4: 4 then 2), each batch's depth beside it."""
    class _ColourRecorder(_Recorder):
        def __init__(self):
            super().__init__()
            self.colours = []

        def run(self, color, depth):
            self.colours.append(color.copy())
            return super().run(color, depth)

    rec = _ColourRecorder()
    e = _recording(monkeypatch, rec)
    color = np.zeros((6, 2, 3, 3), np.uint8)
    color[..., 0], color[..., 1], color[..., 2] = 255, 51, 0
    color[:, 1, 2] = (10, 20, 30)
    depth = np.tile(np.arange(6, dtype=np.uint16)[:, None, None] * 100, (1, 2, 3))
    e.enhance(color, depth)
    assert [c.shape for c in rec.colours] == [(4, 3, 2, 3), (2, 3, 2, 3)]
    got = np.concatenate(rec.colours)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got[:, :, 0, 0], [[1.0, 0.2, 0.0]] * 6, rtol=1e-6)
    np.testing.assert_allclose(got[:, :, 1, 2], [[10 / 255, 20 / 255, 30 / 255]] * 6, rtol=1e-6)
    np.testing.assert_allclose(np.concatenate(rec.seen)[:, 0, 0, 0], np.arange(6) * 0.1, rtol=1e-6)  # / max_depth 1000


def test_big_endian_16_bit_depth_gives_the_native_result_in_its_own_byte_order(tiny):
    """``np.frombuffer(..., ">u2")`` of a 16-bit PGM: the same values as native uint16, so the same
    output, returned in the caller's dtype."""
    e = Enhancer(str(tiny[2]), quiet=True)
    color, depth = _frames(2, dtype=np.uint16)
    big = depth.astype(">u2")
    got = e.enhance(color, big)
    assert got.dtype == np.dtype(">u2")
    np.testing.assert_array_equal(got.astype(np.uint16), e.enhance(color, depth))


def test_views_of_big_endian_depth_equal_the_native_ones():
    from igde_stream import multiview as mv

    color, depth = _frames(1, dtype=np.uint16)
    cfg = mv.ViewConfig(3)
    np.testing.assert_array_equal(mv.warp_views(color[0], depth[0].astype(">u2"), cfg).views,
                                  mv.warp_views(color[0], depth[0], cfg).views)


@pytest.mark.parametrize("kw,match", [
    ({"batch": 2.5}, r"batch must be an integer >= 1, got 2.5"),
    ({"batch": "4"}, r"batch must be an integer >= 1, got '4'"),
    ({"batch": True}, r"batch must be an integer >= 1, got True"),
    ({"max_depth": "5000"}, r"max_depth must be a finite number > 0, got '5000'"),
    ({"max_depth": True}, r"max_depth must be a finite number > 0, got True"),
])
def test_options_of_the_wrong_type_are_enhancer_errors(tiny, kw, match):
    with pytest.raises(EnhancerError, match=match):
        Enhancer(str(tiny[2]), quiet=True, **kw)


def test_numpy_numbers_are_accepted_as_options(tiny):
    e = Enhancer(str(tiny[2]), quiet=True, batch=np.int64(2), max_depth=np.float32(1000))
    assert e.batch == 2 and e.max_depth == 1000


@pytest.mark.parametrize("backend", ["torch", "onnxruntime"])
@pytest.mark.parametrize("h,w", [(0, 34), (21, 0)])
def test_frames_without_pixels_are_one_clear_error_on_every_backend(tiny, backend, h, w):
    """A frame 0 pixels high or wide: PyTorch's convolution raised its own RuntimeError through enhance."""
    e = Enhancer(str(tiny[1] if backend == "torch" else tiny[2]), backend=backend, quiet=True)
    color, depth = _frames(2, h, w)
    with pytest.raises(EnhancerError, match=rf"frames of {w}x{h} pixels"):
        e.enhance(color, depth)
    assert e.enhance(*_frames(2)).shape == (2, 21, 34)  # still usable


@pytest.mark.parametrize("hole_fill", [True, False])
def test_an_empty_batch_gives_an_empty_batch(tiny, hole_fill, caplog):
    """N = 0 frames (the last chunk of a caller's own batching, np.array_split) gives N = 0 frames of
    the same size and dtype; with hole filling it raised NumPy's "cannot reshape array of size 0".
    The depth-range check waits for the first frames."""
    e = Enhancer(str(tiny[2]), quiet=True, hole_fill=hole_fill)
    color, depth = _frames(0, dtype=np.uint16)
    out = e.enhance(color, depth)
    assert out.shape == (0, 21, 34) and out.dtype == np.uint16
    color, depth = _frames(1, dtype=np.uint16)
    with caplog.at_level("WARNING", logger="igde_stream"):
        e.enhance(color, depth // 16)  # 16-bit depth in 0..4095: flat under the peak 65535
    assert "max_depth" in caplog.text
