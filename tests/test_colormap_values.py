"""stream.colormaps' numbers by hand: the nearest-colour search, the codes of ``Inverse``, the
"far" boundary (over ``FAR`` = 16, not at it), a reader's measured distances, far share and their
rounding, on pictures whose distances to the gray ramp are worked out by hand, and the tables' shape."""

from __future__ import annotations

import logging

import av
import numpy as np
import pytest

from igde_stream.stream import colormaps as cmaps

GRAY = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)  # the gray ramp, written out


def _key(r, g, b):
    return (r << 16) | (g << 8) | b


def test_nearest_by_hand():
    """Against the gray ramp: (10, 10, 10) is entry 10 at 0; (13, 10, 10) is nearest (11, 11, 11), at
    sqrt(4 + 1 + 1); (20, 0, 0) lies (20 - k)^2 + 2 k^2 from entry k: 268 for 6, 267 for 7, 270 for 8,
    so 7 at sqrt(267). Of equally near entries the first is taken."""
    idx, dist = cmaps.nearest(np.array([_key(10, 10, 10), _key(13, 10, 10), _key(20, 0, 0)], np.uint32), GRAY)
    assert idx.tolist() == [10, 11, 7] and idx.dtype == np.uint8
    np.testing.assert_allclose(dist, [0.0, np.sqrt(6.0), np.sqrt(267.0)], rtol=1e-6)
    # two equally near entries: (1, 0, 0) lies 1 from entries 0 and 1 of a table [0, 0, 1, 1, ...]
    table = np.zeros((256, 3), np.uint8)
    table[1:] = (2, 0, 0)
    idx, dist = cmaps.nearest(np.array([_key(1, 0, 0)], np.uint32), table)
    assert idx.tolist() == [0] and dist.tolist() == [1.0]


def test_inverse_codes_hold_the_index_and_the_half_level_distance():
    """``Inverse``'s uint16 code: low byte the index, high byte 1 + round(2 x distance), capped at 254
    (the docstring): (13, 10, 10) -> 11 | (1 + round(2 sqrt 6) = 6) << 8; (255, 0, 0) lies
    sqrt(170^2 + 2 * 85^2) = 208.2 from entry 85 -> capped at 254."""
    inv = cmaps.Inverse(GRAY)
    keys = np.array([[_key(13, 10, 10), _key(10, 10, 10)], [_key(255, 0, 0), _key(13, 10, 10)]], np.uint32)
    codes = inv(keys)
    assert codes.dtype == np.uint16 and codes.shape == (2, 2)
    assert codes.tolist() == [[11 | 6 << 8, 10 | 1 << 8], [85 | 254 << 8, 11 | 6 << 8]]
    assert inv(keys).tolist() == codes.tolist()  # from the filled table the second time


def test_far_is_over_16_not_at_16():
    """A table of black entries: (16, 0, 0) lies exactly ``FAR`` = 16 away (not far: "beyond which"),
    (16, 1, 0) sqrt(257) (far). ``_fit``: mean distance weighted by the counts, far share."""
    table = np.zeros((256, 3), np.uint8)
    colors = np.array([_key(16, 0, 0), _key(16, 1, 0), _key(0, 0, 0)], np.uint32)
    mean, far = cmaps._fit(colors, np.array([2, 1, 1]), table)
    assert far == 0.25 and abs(mean - (2 * 16 + np.sqrt(257)) / 4) < 1e-5
    mean, far = cmaps._fit(colors[:1], np.array([1]), table)
    assert (mean, far) == (16.0, 0.0)


def _frame(picture):
    return av.VideoFrame.from_ndarray(np.ascontiguousarray(picture), format="rgb24")


def test_a_readers_distances_far_share_and_rounding(caplog):
    """A lossless 4 x 14 RGB picture read through the gray map: 48 pixels gray (distance 0), 8 pixels
    (g + 20, g, g), which lie sqrt(13^2 + 2 * 7^2) = sqrt(267) = 16.34 from entry g + 7 (by hand, as in
    test_nearest_by_hand): over 16, so far; in half levels round(32.68) = 33. Far share 8 / 56 = 1 / 7
    (0.14286 at 5 decimals), mean distance 8 x 33 / 56 / 2 = 2.357142... (2.357 at 3 decimals); the
    depth is the nearest entry's index; the first frame's log line says 2.36 and 14.3 %."""
    rng = np.random.default_rng(0)
    g = rng.integers(0, 200, (4, 14)).astype(np.uint8)
    picture = np.repeat(g[..., None], 3, axis=2)
    off = np.zeros((4, 14), bool)
    off[:, :2] = True
    picture[off, 0] += 20
    want = g.copy()
    want[off] += 7
    reader = cmaps.ColormapReader("gray", "d.mkv", "rgb24")
    reformatter = av.video.reformatter.VideoReformatter()
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        depth = reader.read(_frame(picture), reformatter, 0)
    assert np.array_equal(depth, want) and depth.dtype == np.uint8
    s = reader.summary()
    assert (s["mean_distance"], s["far_share"], s["frames"], s["table"]) == (2.357, 0.14286, 1, "gray")
    line = [m for m in caplog.messages if "read back as 8-bit gray depth" in m]
    assert len(line) == 1 and "lie 2.36 from the nearest map colour" in line[0] and "14.3 % over 16" in line[0]
    # a second frame of the same picture: the same share, the run's sums over both frames
    reader.read(_frame(picture), reformatter, 1)
    s = reader.summary()
    assert (s["mean_distance"], s["far_share"], s["frames"]) == (2.357, 0.14286, 2)


def test_a_first_frame_over_the_far_share_is_refused_and_a_later_one_warned(caplog):
    """``FAR_SHARE`` = 0.25: a first frame with 2 of 7 columns far (28.6 %) is refused; one with 1 of 4
    (exactly 25 %) is read; a later frame over 25 % is warned about, once."""
    g = np.full((2, 7), 100, np.uint8)
    picture = np.repeat(g[..., None], 3, axis=2)
    two = picture.copy()
    two[:, :2, 0] += 20
    reformatter = av.video.reformatter.VideoReformatter()
    reader = cmaps.ColormapReader("gray", "d.mkv", "rgb24")
    with pytest.raises(ValueError, match=r"^29 % of the pixels lie over 16 \(in RGB\) from every gray colour"):
        reader.read(_frame(two), reformatter, 0)
    quarter = np.repeat(np.full((2, 4), 100, np.uint8)[..., None], 3, axis=2)
    quarter[:, :1, 0] += 20
    reader = cmaps.ColormapReader("gray", "d.mkv", "rgb24")
    reader.read(_frame(quarter), reformatter, 0)
    assert reader.summary()["far_share"] == 0.25
    half = quarter.copy()
    half[:, :2, 0] = 120
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        reader.read(_frame(half), reformatter, 1)
        reader.read(_frame(half), reformatter, 2)
    warned = [m for m in caplog.messages if "lie over 16 from every gray colour" in m]
    assert len(warned) == 1 and "frame 1: 50 %" in warned[0]


def test_every_rendering_is_256_rgb_entries_and_gray_is_the_ramp():
    """``renderings``' docstring: (label, 256 x 3 uint8 RGB) per table, index = depth code; "gray" is
    the gray ramp, entry k = (k, k, k)."""
    for name in cmaps.COLORMAPS:
        for label, table in cmaps.renderings(name):
            assert table.shape == (256, 3) and table.dtype == np.uint8, (name, label)
    ((label, gray),) = cmaps.renderings("gray")
    assert label == "gray" and np.array_equal(gray, GRAY)
