"""NumPy depth inputs (``stream.arrays``): the .npy header versions NumPy writes. Expected values are
the arrays written, as stored (uint16 integer depth is read as it is, docs/formats.md "NumPy depth")."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.errors import InputError
from igde_stream.stream.arrays import open_clip


def _clip() -> np.ndarray:
    """2 x 3 x 5 uint16, every value distinct: v = 1000 k + 10 y + x."""
    k, y, x = np.mgrid[:2, :3, :5]
    return (1000 * k + 10 * y + x).astype(np.uint16)


@pytest.mark.parametrize("version", [(1, 0), (2, 0)])
def test_npy_and_npz_headers_of_format_1_0_and_2_0_are_read(tmp_path, version):
    """NumPy writes .npy format 2.0 for headers over 64 KiB (many fields) or when asked; both 1.0 and
    2.0 hold a plain array and are read alike, from an .npy and from an .npz member."""
    clip = _clip()
    npy = tmp_path / "clip.npy"
    with open(npy, "wb") as fp:
        np.lib.format.write_array(fp, clip, version=version)
    with open(npy, "rb") as fp:  # the file is of the version asked for
        assert np.lib.format.read_magic(fp) == version
    npz = tmp_path / "clip.npz"
    import zipfile
    with zipfile.ZipFile(npz, "w") as z, z.open("depth.npy", "w") as fp:
        np.lib.format.write_array(fp, clip, version=version)
    for path in (npy, npz):
        c = open_clip(str(path))
        try:
            assert (c.count, c.height, c.width, c.is_float) == (2, 3, 5, False)
            got = list(c.frames())
        finally:
            c.close()
        assert len(got) == 2
        assert got[0].dtype == np.uint16
        assert got[1][2, 4] == 1000 + 20 + 4 and got[0][1, 3] == 13
        np.testing.assert_array_equal(np.stack(got), clip)


@pytest.mark.parametrize("channels", [3, 4])
def test_a_picture_of_3_or_4_channels_is_refused(tmp_path, channels):
    """docs/formats.md: an H x W x 3 or 4 array (RGB, RGBA: a picture) is refused, not read as H frames
    of W x 3."""
    path = tmp_path / "picture.npy"
    np.save(path, np.zeros((24, 32, channels), np.uint8))
    with pytest.raises(InputError, match=f"{channels} channels"):
        open_clip(str(path))


def test_a_short_clip_of_narrow_frames_is_a_clip(tmp_path):
    """Three frames 16 x 3 (T x H x W) are no picture: fewer than 5 frames, so the last axis of 3 is
    the frames' width; read as stored."""
    k, y, x = np.mgrid[:3, :16, :3]
    clip = (100 * k + 3 * y + x).astype(np.uint16)
    path = tmp_path / "narrow.npy"
    np.save(path, clip)
    c = open_clip(str(path))
    try:
        assert (c.count, c.height, c.width) == (3, 16, 3)
        got = np.stack(list(c.frames()))
    finally:
        c.close()
    assert got[2, 15, 2] == 200 + 45 + 2
    np.testing.assert_array_equal(got, clip)


def test_an_extra_axis_of_length_1_gets_the_hint_to_squeeze(tmp_path):
    """docs/formats.md: a shape other than H x W / T x H x W is refused, "4-D such as T x 1 x H x W, with
    a hint to squeeze"; per-frame files are H x W, so a 1 x H x W frame file gets the hint too."""
    np.save(tmp_path / "clip.npy", np.zeros((3, 1, 24, 32), np.uint16))
    with pytest.raises(InputError, match=r"is 4-D \(3 x 1 x 24 x 32\).*np\.squeeze"):
        open_clip(str(tmp_path / "clip.npy"))
    frames = tmp_path / "frames"
    frames.mkdir()
    for k in range(2):
        np.save(frames / f"{k:06d}.npy", np.zeros((1, 24, 32), np.uint16))
    with pytest.raises(InputError, match=r"is 3-D \(1 x 24 x 32\).*np\.squeeze"):
        open_clip(str(frames))


@pytest.mark.parametrize("shape", [(1,), (5,), (3, 2, 24, 32)])
def test_no_squeeze_hint_without_an_axis_of_length_1_to_drop(tmp_path, shape):
    """Squeezing a 1-D array leaves no frame, and a 4-D array with no axis of length 1 has none to drop."""
    np.save(tmp_path / "a.npy", np.zeros(shape, np.uint16))
    with pytest.raises(InputError, match=f"is {len(shape)}-D") as err:
        open_clip(str(tmp_path / "a.npy"))
    assert "np.squeeze" not in str(err.value)


def test_array_frames_start_at_pts_0_and_pts_time_is_pts_over_fps(tmp_path):
    """docs/formats.md "Timing": frame k is shown at k / --fps; the reader's docstring: pts k in a time
    base of 1 / fps, so pts_time (pts x time base, as ffprobe shows it) is k / fps too."""
    from fractions import Fraction

    from igde_stream.stream import VideoReader
    from igde_stream.stream.sources import InputOptions

    np.save(tmp_path / "clip.npy", _clip()[[0, 1, 0]])
    with VideoReader(tmp_path / "clip.npy", "depth", source=InputOptions(fps=Fraction(30))) as r:
        info = r.info
        got = list(r.frames())
    assert info.start_pts == 0 and info.time_base == Fraction(1, 30) and info.frames == 3
    assert [f.pts for f in got] == [0, 1, 2]
    assert [f.pts_time for f in got] == pytest.approx([0, 1 / 30, 2 / 30])
    assert [f.time for f in got] == pytest.approx([0, 1 / 30, 2 / 30])
