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


# ---- 4:2:0 H.264 of 10 bits: chroma at its sited position; the exact numbers written as gbrp ---------

def _sited(c, axis, cosited):
    """2x bilinear interpolation along ``axis``: samples on the even positions (cosited) or midway."""
    c = np.moveaxis(c, axis, 0)
    prev, nxt = np.concatenate([c[:1], c[:-1]]), np.concatenate([c[1:], c[-1:]])
    out = np.empty((2 * c.shape[0],) + c.shape[1:])
    if cosited:
        out[0::2], out[1::2] = c, (c + nxt) / 2
    else:
        out[0::2], out[1::2] = 0.75 * c + 0.25 * prev, 0.75 * c + 0.25 * nxt
    return np.moveaxis(out, 0, axis)


@pytest.mark.parametrize("space", [1, 6], ids=["709", "601"])
def test_10bit_h264_colour_is_the_formulas_with_sited_chroma(tmp_path, space):
    """Random 10-bit 4:2:0 planes (every pixel its own colour, so chroma interpolation shows) through
    lossless x264 (qp 0): the decoder tags chroma location "left", H.264's default (chroma on the even
    luma columns, midway between two rows), and the colour read is the BT.709 / BT.601 limited-range
    arithmetic in float64 on the stored planes with chroma interpolated there, within 0.5 of a level
    (rounding, plus swscale's fixed point). On this random chroma the same arithmetic with centre-sited
    chroma is 17 levels away on average, and so is swscale's default path (up to 119)."""
    from conftest import encode_frames

    g = np.random.default_rng(7)
    y = g.integers(64, 941, (H, W)).astype(np.uint16)
    u, v = (g.integers(64, 961, (H // 2, W // 2)).astype(np.uint16) for _ in range(2))
    f = av.VideoFrame(W, H, "yuv420p10le")
    for p, a in zip(f.planes, (y, u, v)):
        np.frombuffer(p, "<u2").reshape(p.height, p.line_size // 2)[:, :p.width] = a
    path = encode_frames(tmp_path / "c.mp4", [f], "libx264", "yuv420p10le",
                         options={"qp": "0", "preset": "ultrafast"}, color_range=1, tags={"colorspace": space})
    with av.open(str(path)) as c:  # lossless: the planes decode back as written
        d = next(c.decode(video=0))
    assert all(np.array_equal(np.frombuffer(p, "<u2").reshape(p.height, p.line_size // 2)[:, :p.width], a)
               for p, a in zip(d.planes, (y, u, v)))
    yy = y.astype(float)
    uu, vv = (_sited(_sited(c.astype(float), 0, False), 1, True) for c in (u, v))
    yy, uu, vv = (yy - 64) / 876, (uu - 512) / 896, (vv - 512) / 896
    kr, kb = KR_KB[space]
    r, b = yy + 2 * (1 - kr) * vv, yy + 2 * (1 - kb) * uu
    gg = (yy - kr * r - kb * b) / (1 - kr - kb)
    want = np.clip(np.stack([r, gg, b], -1) * 255, 0, 255)
    with VideoReader(path, "color") as rd:
        got = next(iter(rd.frames())).data
    err = np.abs(got.astype(float) - want)
    assert got.shape == (H, W, 3) and err.max() <= 0.6 and err.mean() < 0.3, (err.max(), err.mean())


@pytest.mark.parametrize("pix_fmt", ["yuv420p10le", "yuv422p10le", "p010le"])
def test_unscaled_high_bit_colour_is_swscales_exact_rgb24_byte_for_byte(pix_fmt):
    """The reader writes the exact path's numbers as planar RGB (gbrp: fewer steps): the same bytes as
    swscale's EXACT flags (SWS_BILINEAR | SWS_FULL_CHR_H_INT | SWS_ACCURATE_RND) to rgb24, asked of PyAV
    directly."""
    from igde_stream.stream.rgb import colour_rgb

    rgb = np.random.default_rng(4).integers(0, 256, (H, W, 3)).astype(np.uint8)
    f = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt, dst_colorspace=1, dst_color_range=1)
    f.colorspace, f.color_range = 1, 1
    want = f.reformat(format="rgb24", interpolation=0x2 | 0x2000 | 0x40000).to_ndarray()
    assert not np.array_equal(f.reformat(format="rgb24").to_ndarray(), want)  # the default path differs
    np.testing.assert_array_equal(colour_rgb(f, av.video.reformatter.VideoReformatter()), want)
