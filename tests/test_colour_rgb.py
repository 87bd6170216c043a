"""Colour of more than 8 bits (ProRes, DNxHR HQX, 10-bit HEVC / H.264) is converted to the model's
8-bit RGB exactly: checked against the BT.709 / BT.601 arithmetic done in NumPy on the stored YUV
planes of lossless FFV1 clips (flat 16 x 16 patches, compared 4 pixels away from their edges, where chroma
subsampling cannot reach). swscale's default path was up to 4 levels off there."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from igde_stream.stream.reader import VideoReader
from igde_stream.stream.rgb import exact_path

H, W, P = 32, 64, 16  # patches of P x P
KR_KB = {1: (0.2126, 0.0722), 6: (0.299, 0.114)}  # BT.709, BT.601 (SMPTE 170M)


def _patches(seed=3):
    pal = np.random.default_rng(seed).integers(0, 256, (H // P, W // P, 3)).astype(np.uint8)
    pal.reshape(-1, 3)[:5] = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255]]
    return np.kron(pal, np.ones((P, P, 1), np.uint8))


def _inside():
    m = np.zeros((H, W), bool)
    for i in range(0, H, P):
        for j in range(0, W, P):
            m[i + 4:i + P - 4, j + 4:j + P - 4] = True
    return m


def _clip(path, pix_fmt, space, rng):
    with av.open(str(path), "w") as c:
        s = c.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = W, H, pix_fmt
        s.codec_context.colorspace, s.codec_context.color_range = space, rng
        f = av.VideoFrame.from_ndarray(_patches(), format="rgb24").reformat(
            format=pix_fmt, dst_colorspace=space, dst_color_range=rng)
        f.colorspace, f.color_range, f.pts, f.time_base = space, rng, 0, Fraction(1, 25)
        for p in [*s.encode(f), *s.encode()]:
            c.mux(p)
    return path


def _exact_rgb(path, space, full):
    """RGB from the decoded planes by the textbook formulas (chroma repeated over its block)."""
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
    bits = f.format.components[0].bits
    planes = []
    for p in f.planes[:3]:
        a = np.frombuffer(p, "<u2" if bits > 8 else np.uint8).reshape(p.height, -1)[:, :p.width].astype(float)
        planes.append(np.repeat(np.repeat(a, H // p.height, 0), W // p.width, 1))
    y, u, v = planes
    m = 2 ** (bits - 8)
    if full:
        y, u, v = y / (255 * m), (u - 128 * m) / (255 * m), (v - 128 * m) / (255 * m)
    else:
        y, u, v = (y - 16 * m) / (219 * m), (u - 128 * m) / (224 * m), (v - 128 * m) / (224 * m)
    kr, kb = KR_KB[space]
    r, b = y + 2 * (1 - kr) * v, y + 2 * (1 - kb) * u
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.rint(np.stack([r, g, b], -1) * 255), 0, 255)


@pytest.mark.parametrize("pix_fmt", ["yuv422p10le", "yuv420p10le", "yuv420p12le"])
@pytest.mark.parametrize("space, rng", [(1, 1), (6, 1), (1, 2)], ids=["709-tv", "601-tv", "709-pc"])
def test_high_bit_yuv_colour_is_converted_exactly(tmp_path, pix_fmt, space, rng):
    path = _clip(tmp_path / "c.mkv", pix_fmt, space, rng)
    with VideoReader(path, "color") as r:
        got = next(iter(r.frames())).data
    err = np.abs(got.astype(float) - _exact_rgb(path, space, rng == 2))[_inside()]
    assert err.max() <= 1 and err.mean() < 0.05, (err.max(), err.mean())


def test_the_exact_path_is_for_yuv_above_8_bits():
    names = {n: exact_path(av.VideoFormat(n)) for n in
             ("yuv422p10le", "yuva444p12le", "p010le", "yuv420p", "nv12", "gbrp16le", "rgb48le", "gray10le")}
    assert [n for n, e in names.items() if e] == ["yuv422p10le", "yuva444p12le", "p010le"]


def test_a_shrunk_high_bit_colour_keeps_its_flat_colours(tmp_path):
    """Resized to the depth's grid (here half size, averaged): flat patches stay their exact colour."""
    path = _clip(tmp_path / "c.mkv", "yuv422p10le", 1, 1)
    want = _exact_rgb(path, 1, False)[::2, ::2]
    with VideoReader(path, "color", size=(W // 2, H // 2)) as r:
        got = next(iter(r.frames())).data
    err = np.abs(got.astype(float) - want)[_inside()[::2, ::2]]
    assert got.shape == (H // 2, W // 2, 3) and err.max() <= 1, err.max()


def test_colour_asked_at_its_own_size_is_the_unscaled_conversion(tmp_path):
    """colour_rgb(frame, size=(W, H)) of a 10-bit frame ran the scaler's kernel at 1:1 and moved
    flat colours by up to 50 levels; at its own size it is now the exact conversion, within 1 level
    of the formulas as the unscaled path."""
    from igde_stream.stream.rgb import colour_rgb

    path = _clip(tmp_path / "c.mkv", "yuv422p10le", 1, 1)
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
    reformatter = av.video.reformatter.VideoReformatter()
    same = colour_rgb(f, reformatter, (W, H))
    np.testing.assert_array_equal(same, colour_rgb(f, reformatter))
    err = np.abs(same.astype(float) - _exact_rgb(path, 1, False))[_inside()]
    assert err.max() <= 1
