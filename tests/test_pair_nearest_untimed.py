"""--pair nearest is for a camera and a depth sensor at two rates. A depth image folder (or array)
carries no timing: with --fps it runs at that rate, and beside a colour video of another rate (depth
at 30 fps, colour at 15) the two pair nearest in time. Before, that was refused, advising the
colour's rate as --fps, which would have written the depth at the wrong rate."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from conftest import scene, write_video
from igde_stream.cli import main


def _inputs(tmp_path):
    import cv2

    colors, depths, _ = scene(6)
    color = write_video(tmp_path / "c15.mkv", colors[::2], fmt="rgb24", codec="ffv1", rate=Fraction(15))
    folder = tmp_path / "d30"
    folder.mkdir()
    for k, d in enumerate(depths):
        cv2.imwrite(str(folder / f"{k:06d}.png"), d)
    return colors, depths, color, folder


def _read(path):
    import av

    with av.open(str(path)) as c:
        frames = [(f.to_ndarray(), float(f.time)) for f in c.decode(video=0)]
    return np.stack([f for f, _ in frames]), [t for _, t in frames]


def test_a_30_fps_depth_folder_pairs_nearest_beside_15_fps_colour(tmp_path):
    """Depth k at k / 30 s, colour j at j / 15 s: the nearest colour is j = k / 2, and for odd k the two
    at (k - 1) / 2 and (k + 1) / 2 tie (1 / 30 s each way): the earlier, (k - 1) / 2; so depth k is
    guided by colour k // 2, and keeps its time k / 30 s."""
    from igde_stream import Enhancer

    colors, depths, color, folder = _inputs(tmp_path)
    out = tmp_path / "out.mkv"
    assert main([str(color), str(folder), "-o", str(out), "--fps", "30", "--pair", "nearest", "-q",
                 "--backend", "onnxruntime"]) == 0
    got, times = _read(out)
    assert np.allclose(times, [k / 30 for k in range(6)], atol=1e-3)  # Matroska: 1 ms
    enh = Enhancer("igde-small", backend="onnxruntime", quiet=True)
    shown = colors[::2]  # the colour video's frames
    want = np.stack([enh.enhance(shown[k // 2], depths[k]) for k in range(6)])
    assert got.dtype == np.uint8 and np.array_equal(got, want)


def test_without_fps_the_depth_folders_own_rate_is_asked_for(tmp_path, capsys):
    _, _, color, folder = _inputs(tmp_path)
    assert main([str(color), str(folder), "-o", str(tmp_path / "o.mkv"), "--pair", "nearest", "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "read at 25 fps (--fps, its default), but the colour video runs at 15.000 fps" in err[0]
    assert "give --fps with its own rate" in err[0]
    assert not (tmp_path / "o.mkv").exists()


def test_exact_pairing_of_two_rates_is_refused_naming_pair_nearest(tmp_path, capsys):
    _, _, color, folder = _inputs(tmp_path)
    assert main([str(color), str(folder), "-o", str(tmp_path / "o.mkv"), "--fps", "30", "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "give --fps 15 (or, where the two run at rates of their own, --pair nearest)" in err
