"""The Enhancer's frames as a pipeline author hands them over: every layout mistake is one
``EnhancerError`` that names the shapes the caller gave (not the batch axis the Enhancer adds to a
single frame) and what is wanted; what is not an array of frames (a generator, None, a tensor that
NumPy cannot read) is one too, instead of NumPy's or PyTorch's own exception or an empty shape."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.enhancer import Enhancer, EnhancerError

H, W = 5, 7
C1, D1 = np.zeros((H, W, 3), np.uint8), np.zeros((H, W), np.uint8)
C2, D2 = np.zeros((2, H, W, 3), np.uint8), np.zeros((2, H, W), np.uint8)
COLOUR_WANTED = "wanted H x W x 3 uint8 RGB (one frame) or N x H x W x 3 (a batch)"


class _Identity:
    """A backend that gives the depth back (no model: these checks come before any network)."""

    name = "identity"

    def __init__(self):
        self.calls = 0

    def run(self, color, depth):
        self.calls += 1
        return depth.copy()


@pytest.fixture
def stage(monkeypatch):
    import igde_stream.enhancer as enh

    backend = _Identity()
    monkeypatch.setattr(enh, "create_backend", lambda *a, **k: backend)
    e = Enhancer("igde-small", backend="torch", quiet=True, hole_fill=False)
    return e, backend


@pytest.mark.parametrize("color, depth, message", [
    (np.zeros((H, W, 4), np.uint8), D1,
     f"colour is 5 x 7 x 4: 4 channels (RGBA? drop alpha: color[..., :3]); {COLOUR_WANTED}"),
    # gray colour (a monochrome camera): the command takes it as R = G = B; the message says how to give that
    (np.zeros((H, W), np.uint8), D1, "colour is 5 x 7: no channel axis (gray: np.repeat(color[..., None], 3, axis=-1) "
     f"is the RGB the command reads gray colour as); {COLOUR_WANTED}"),
    (np.zeros((H, W, 1), np.uint8), D1, "colour is 5 x 7 x 1: 1 channel (gray? np.repeat(color, 3, axis=-1) is the RGB "
     f"the command reads gray colour as); {COLOUR_WANTED}"),
    (np.zeros((2, H, W), np.uint8), D2, "colour is 2 x 5 x 7: no channel axis (gray: np.repeat(color[..., None], 3, "
     f"axis=-1) is the RGB the command reads gray colour as); {COLOUR_WANTED}"),  # before: "7 channels"
    (np.zeros((3, H, W), np.uint8), D1,
     f"colour is 3 x 5 x 7: 7 channels (channels first? move them last); {COLOUR_WANTED}"),
    (C1, D1[..., None],
     "depth is 5 x 7 x 1 (a channel axis: give depth[..., 0]); colour 5 x 7 x 3 is one frame, so depth must be H x W"),
    (C2, D2[:, None],
     "depth is 2 x 1 x 5 x 7 (a channel axis: give depth[:, 0]); colour 2 x 5 x 7 x 3 is a batch, "
     "so depth must be N x H x W"),
    (C2, D1, "depth is 5 x 7; colour 2 x 5 x 7 x 3 is a batch, so depth must be N x H x W"),
    (C2, D2[:1], "colour is 2 frames (2 x 5 x 7 x 3) but depth is 1 (1 x 5 x 7): one colour frame per depth frame"),
    (C1, D1[:-1], "colour frames are 7x5 pixels (5 x 7 x 3) but depth frames 7x4 (4 x 7): colour and depth must be "
     "the same size (W x H; igde_stream.stream.rgb.resize_colour(color, (7, 4)) resizes the colour as the command "
     "does, VideoReader(path, 'color', size=(W, H)) reads it at that size)"),
    (C2[:, :, :-1], D2, "colour frames are 6x5 pixels (2 x 5 x 6 x 3) but depth frames 7x5 (2 x 5 x 7): colour and "
     "depth must be the same size (W x H; igde_stream.stream.rgb.resize_colour(color, (7, 5)) resizes the colour as "
     "the command does, VideoReader(path, 'color', size=(W, H)) reads it at that size)"),
    # enhance(depth, color): before, "colour is 5 x 7: no channel axis (gray?)" for a frame, and for a
    # batch of 3 "7 channels (channels first? move them last)": the wrong argument, and the wrong advice
    (D1, C1, "colour is 5 x 7 and depth 5 x 7 x 3: the two look swapped; colour comes first: enhance(color, depth)"),
    (np.zeros((3, H, W), np.uint16), np.zeros((3, H, W, 3), np.uint8),
     "colour is 3 x 5 x 7 and depth 3 x 5 x 7 x 3: the two look swapped; colour comes first: enhance(color, depth)"),
    (D2[..., None], C2,
     "colour is 2 x 5 x 7 x 1 and depth 2 x 5 x 7 x 3: the two look swapped; colour comes first: enhance(color, depth)"),
    (C1, C1, "depth is 5 x 7 x 3 (3 channels: a depth map read as colour? cv2.imread(path, cv2.IMREAD_UNCHANGED) "
     "keeps its bits); colour 5 x 7 x 3 is one frame, so depth must be H x W"),
], ids=["rgba", "gray", "one-channel", "gray-batch", "channels-first", "depth-HxWx1", "depth-Nx1xHxW", "batch-vs-frame",
        "frame-count", "size", "batch-size", "swapped-frame", "swapped-batch-of-3", "swapped-channel-axis",
        "depth-read-as-colour"])
def test_layout_mistakes_name_the_shapes_given_and_the_layout_wanted(stage, color, depth, message):
    e, backend = stage
    with pytest.raises(EnhancerError) as info:
        e.enhance(color, depth)
    assert str(info.value) == message
    assert backend.calls == 0


def test_what_is_not_an_array_of_frames_is_refused_naming_it(stage):
    e, backend = stage
    with pytest.raises(EnhancerError, match=r"^colour: a generator is not an array of frames: pass one frame or a "
                                            r"batch as an array \(np\.stack\(list\(frames\)\)\)"):
        e.enhance((c for c in C2), D2)
    with pytest.raises(EnhancerError, match="^depth: None is not an array of frames"):
        e.enhance(C1, None)
    from igde_stream.stream import Frame

    with pytest.raises(EnhancerError, match=r"^depth: a Frame is not an array of frames \(NumPy reads it as Python "
                                            r"objects\); pass a NumPy array; its \.data\?$"):
        e.enhance(C1, Frame(index=0, pts=0, time=0.0, pts_time=0.0, data=D1))  # the frame, not its .data
    assert backend.calls == 0


@pytest.mark.parametrize("error, said", [
    (RuntimeError, "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."),
    (TypeError, "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host "
                "memory first."),
])
def test_an_object_numpy_cannot_read_is_an_enhancer_error_naming_it(stage, error, said):
    """A tensor that requires grad, or lives on a GPU, raises from ``__array__`` (PyTorch's
    RuntimeError / TypeError, with PyTorch's texts): said as the Enhancer's error,
    with the library's own advice."""
    class _Tensor:
        def __array__(self, dtype=None, copy=None):
            raise error(said)

    e, _ = stage
    with pytest.raises(EnhancerError) as info:
        e.enhance(C1, _Tensor())
    assert str(info.value) == f"depth: a _Tensor that cannot be read as a NumPy array ({said})"


def test_float_depth_is_refused_with_the_way_to_integer_codes(stage):
    e, _ = stage
    with pytest.raises(EnhancerError) as info:
        e.enhance(C1, D1.astype(np.float32))
    assert str(info.value) == ("depth must be uint8 or uint16, got float32 (float depth: map it to uint16 codes "
                               "first, e.g. igde_stream.stream.floatdepth.FloatMap)")


def test_layouts_that_are_right_still_run(stage):
    """Memory order, read-only buffers and lists do not matter: the identity backend gives each depth back."""
    e, backend = stage
    depth = np.arange(2 * H * W, dtype=np.uint16).reshape(2, H, W) * 7
    ro = depth.copy()
    ro.flags.writeable = False
    for d in (depth, np.asfortranarray(depth), ro, list(depth)):
        assert np.array_equal(e.enhance(C2, d), depth)
    assert np.array_equal(e.enhance(np.asfortranarray(C1), depth[1].T.copy().T), depth[1])


def _write_lossless(path, frames, color):
    """FFV1 at 30 fps, frame i at pts i: colour as bgr0 (RGB kept exactly), depth as gray / gray16le."""
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=30)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = "bgr0" if color else ("gray" if frames.dtype == np.uint8 else "gray16le")
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24" if color else s.pix_fmt)
            vf = vf.reformat(format="bgr0") if color else vf
            vf.pts = i
            out.mux(s.encode(vf))
        out.mux(s.encode())


def test_each_accepted_layout_gives_the_commands_output_bit_for_bit(tiny, tmp_path):
    """Three 37 x 23 frames (odd sizes), 16-bit depth, written losslessly and enhanced by
    ``python -m igde_stream``; the Enhancer on the same frames as a batch, one by one, batches of 1,
    Fortran order, slices of larger arrays, a negative-stride RGB view of BGR frames, read-only
    arrays, lists and CPU tensors gives that file's frames exactly."""
    import subprocess
    import sys

    import av

    rng = np.random.default_rng(3)
    n, h, w = 3, 23, 37
    color = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    depth = np.where(rng.random((n, h, w)) < 0.5, 12000, 50000).astype(np.uint16)
    depth[:, :, w // 2:] += 3000
    _write_lossless(tmp_path / "c.mkv", color, True)
    _write_lossless(tmp_path / "d.mkv", depth, False)
    done = subprocess.run([sys.executable, "-m", "igde_stream", str(tmp_path / "c.mkv"), str(tmp_path / "d.mkv"),
                           "-o", str(tmp_path / "o.mkv"), "--model", str(tiny[2]), "--backend", "onnxruntime", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with av.open(str(tmp_path / "o.mkv")) as f:
        want = np.stack([fr.to_ndarray() for fr in f.decode(video=0)])
    assert want.shape == depth.shape and want.dtype == np.uint16 and not np.array_equal(want, depth)

    e = Enhancer(str(tiny[2]), backend="onnxruntime", batch=2, quiet=True)
    bgr = np.ascontiguousarray(color[..., ::-1])
    ro_c, ro_d = color.copy(), depth.copy()
    ro_c.flags.writeable = ro_d.flags.writeable = False
    big_c, big_d = np.zeros((n, h + 4, w + 6, 3), np.uint8), np.zeros((n, h + 4, w + 6), np.uint16)
    big_c[:, 2:-2, 3:-3], big_d[:, 2:-2, 3:-3] = color, depth
    got = {
        "batch": e.enhance(color, depth),
        "frames": np.stack([e.enhance(color[i], depth[i]) for i in range(n)]),
        "batches of 1": np.concatenate([e.enhance(color[i:i + 1], depth[i:i + 1]) for i in range(n)]),
        "fortran": np.stack([e.enhance(np.asfortranarray(color[i]), np.asfortranarray(depth[i])) for i in range(n)]),
        "slices": e.enhance(big_c[:, 2:-2, 3:-3], big_d[:, 2:-2, 3:-3]),
        "bgr view": e.enhance(bgr[..., ::-1], depth),
        "read-only": e.enhance(ro_c, ro_d),
        "lists": e.enhance(list(color), list(depth)),
    }
    torch = pytest.importorskip("torch")
    got["tensors"] = e.enhance(torch.from_numpy(color), torch.from_numpy(depth))
    for name, out in got.items():
        assert out.dtype == np.uint16 and np.array_equal(out, want), name


def test_gray_colour_as_the_message_says_gives_the_commands_output_on_a_gray_picture(tiny, tmp_path):
    """The refusal of gray colour advises np.repeat(color[..., None], 3, axis=-1): on a gray picture
    (23 x 37, random) beside 8-bit depth, that gives what ``python -m igde_stream gray.png d.png``
    writes, bit for bit (the command reads gray colour as R = G = B)."""
    import subprocess
    import sys

    import cv2

    rng = np.random.default_rng(5)
    gray = rng.integers(0, 256, (23, 37), dtype=np.uint8)
    depth = np.where(rng.random((23, 37)) < 0.5, 60, 200).astype(np.uint8)
    cv2.imwrite(str(tmp_path / "gray.png"), gray)
    cv2.imwrite(str(tmp_path / "d.png"), depth)
    done = subprocess.run([sys.executable, "-m", "igde_stream", str(tmp_path / "gray.png"), str(tmp_path / "d.png"),
                           "-o", str(tmp_path / "o.png"), "--model", str(tiny[2]), "--backend", "onnxruntime", "-q"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    want = cv2.imread(str(tmp_path / "o.png"), cv2.IMREAD_UNCHANGED)
    e = Enhancer(str(tiny[2]), backend="onnxruntime", quiet=True)
    with pytest.raises(EnhancerError, match=r"np\.repeat\(color\[\.\.\., None\], 3, axis=-1\)"):
        e.enhance(gray, depth)
    assert np.array_equal(e.enhance(np.repeat(gray[..., None], 3, axis=-1), depth), want)
