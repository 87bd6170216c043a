"""Colour with no matrix tag is read as players show it: BT.709 at HD size (wider than 1279 or taller
than 576 pixels), BT.601 below. Before, swscale took BT.601 at every size, so untagged HD colour
(BT.709 as cameras and encoders make it) reached the model and the views up to 33 levels off on
saturated colour. Expected RGB: the BT.709 / BT.601 formulas in float64 from the planes written."""

from __future__ import annotations

import av
import numpy as np
import pytest

from conftest import encode_frames
from igde_stream.stream import VideoReader

#: (Kr, Kb) of each matrix
KR_KB = {"bt709": (0.2126, 0.0722), "bt601": (0.299, 0.114)}
PATCHES = [(0, 255, 0), (255, 0, 0), (0, 0, 255), (230, 200, 40), (40, 180, 220), (128, 128, 128)]


def _planes(w, h, matrix):
    """Y, U, V planes (limited range, 4:2:0) of flat 32 x 32 patches of ``PATCHES``, and the patch of each
    pixel; the planes come from the RGB patches by ``matrix``'s formulas, rounded."""
    kr, kb = KR_KB[matrix]
    idx = (np.arange(h)[:, None] // 32 + np.arange(w)[None, :] // 32) % len(PATCHES)
    rgb = np.array(PATCHES, np.float64)[idx] / 255
    y = kr * rgb[..., 0] + (1 - kr - kb) * rgb[..., 1] + kb * rgb[..., 2]
    u, v = (rgb[..., 2] - y) / (2 * (1 - kb)), (rgb[..., 0] - y) / (2 * (1 - kr))
    planes = [np.rint(16 + 219 * y), np.rint(128 + 224 * u[::2, ::2]), np.rint(128 + 224 * v[::2, ::2])]
    return [p.astype(np.uint8) for p in planes], idx


def _rgb_of(planes, matrix):
    """RGB from Y and (flat-patch) chroma planes by ``matrix``'s inverse, in float64."""
    kr, kb = KR_KB[matrix]
    y = (planes[0].astype(np.float64) - 16) / 219
    u = (np.kron(planes[1], np.ones((2, 2))) - 128) / 224
    v = (np.kron(planes[2], np.ones((2, 2))) - 128) / 224
    r, b = y + 2 * (1 - kr) * v, y + 2 * (1 - kb) * u
    g = (y - kr * r - kb * b) / (1 - kr - kb)
    return np.clip(np.stack([r, g, b], -1) * 255, 0, 255)


def _clip(path, w, h, matrix, tags=None):
    planes, idx = _planes(w, h, matrix)
    frame = av.VideoFrame(w, h, "yuv420p")
    for plane, data in zip(frame.planes, planes):
        buf = np.zeros((plane.height, plane.line_size), np.uint8)
        buf[:, : data.shape[1]] = data
        plane.update(buf.tobytes())
    return encode_frames(path, [frame], "ffv1", "yuv420p", tags=tags), planes, idx


def _read(path):
    with VideoReader(path, "color") as r:
        return next(iter(r.frames())).data.astype(np.float64)


def _inner(w, h):
    """Pixels 4 or more from a patch's edge (the chroma there is the patch's own on every path)."""
    yy, xx = np.mgrid[:h, :w]
    return (yy % 32 >= 4) & (yy % 32 < 28) & (xx % 32 >= 4) & (xx % 32 < 28)


@pytest.mark.parametrize("w, h, matrix", [(1280, 720, "bt709"), (1920, 1080, "bt709"), (720, 576, "bt601"),
                                          (640, 480, "bt601"), (1024, 578, "bt709")])
def test_untagged_colour_is_read_with_the_matrix_players_assume(tmp_path, w, h, matrix):
    path, planes, _ = _clip(tmp_path / "c.mkv", w, h, matrix)
    with av.open(str(path)) as c:
        assert c.streams.video[0].codec_context.colorspace == 2  # the precondition: no matrix tag
    got, want = _read(path), _rgb_of(planes, matrix)
    err = np.abs(got - want)[_inner(w, h)]
    assert err.max() <= 2.5 and err.mean() <= 1.5
    other = _rgb_of(planes, "bt601" if matrix == "bt709" else "bt709")
    assert np.abs(got - other)[_inner(w, h)].max() > 15  # the two matrices are told apart


def test_a_tag_is_followed_at_any_size(tmp_path):
    path, planes, _ = _clip(tmp_path / "c.mkv", 1280, 720, "bt601", tags={"colorspace": 5})  # BT.470BG: BT.601
    err = np.abs(_read(path) - _rgb_of(planes, "bt601"))[_inner(1280, 720)]
    assert err.max() <= 2.5
