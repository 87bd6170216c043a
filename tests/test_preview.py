"""``--preview``: the picture of the worst and a median frame, and how those frames are picked."""

from __future__ import annotations

import json
import struct
import sys

import numpy as np
import pytest

from conftest import write_video
from igde_stream.errors import OutputError
from igde_stream.stream import enhance_file
from igde_stream.stream.preview import PreviewCollector, check_preview_path, worst_patch


class Identity:
    """An enhancer that returns the input depth, plus ``bump`` on frame ``bump_frame`` (counted over calls)."""

    batch = 3
    backend_name = "identity"

    def __init__(self, bump_frame: int | None = None, bump: int = 0) -> None:
        self.bump_frame, self.bump, self.seen = bump_frame, bump, 0

    def enhance(self, color, depth):
        out = depth.copy()
        for i in range(len(out)):
            if self.seen + i == self.bump_frame:
                out[i] = np.clip(out[i].astype(np.int32) + self.bump, 0, 255).astype(out.dtype)
        self.seen += len(out)
        return out


def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def _frame(i, h=12, w=16, v=0):
    c = np.full((h, w, 3), 100, np.uint8)
    d = np.full((h, w), 50, np.uint8)
    return i, i / 25, c, d, np.full((h, w), v, np.uint8)


def test_collector_picks_the_worst_and_the_median_by_psnr():
    psnr = [30.0, 12.5, 40.0, 12.5, 25.0, np.inf, 33.0]
    # by hand, worst first (ties: the earlier frame): 1 (12.5), 3 (12.5), 4, 0, 6, 2, 5 (inf);
    # the median of 7 is the 4th: frame 0 (30 dB)
    col = PreviewCollector(by_psnr=True)
    for i, p in enumerate(psnr):
        idx, t, c, d, o = _frame(i)
        col.add(idx, t, c, d, o, d, p)
    col.add(*_frame(7), None, None)  # no ground truth for this frame: not ranked
    picks = col.picks()
    assert [f.index for _, f in picks] == [1, 0]
    assert picks[0][0] == "worst (rank 1 of 7)" and picks[1][0] == "median (rank 4 of 7)"
    assert picks[0][1].score == 12.5


def test_collector_without_gt_ranks_by_change_and_keeps_few_frames():
    change = [3, 9, 1, 9, 4, 0, 7, 2, 5, 6, 8]  # mean |enhanced - input| of each frame (depth 50 -> 50 + c)
    col = PreviewCollector(by_psnr=False, keep=4)
    for i, c in enumerate(change):
        col.add(*_frame(i, v=50 + c), None, None)
        assert len(col._kept) <= 4  # memory: the worst and at most ``keep`` candidates
    # by hand, most changed first: 1 (9), 3 (9), 10 (8), 6 (7), 9 (6), 8 (5), 4 (4), 0, 7, 2, 5;
    # the median of 11 is the 6th: frame 8 (change 5)
    picks = col.picks()
    assert [f.index for _, f in picks] == [1, 8]
    assert picks[0][1].score == 9.0 and picks[1][0] == "median (rank 6 of 11)"


def test_median_of_an_even_count_is_the_worse_of_the_two_middle_frames():
    col = PreviewCollector(by_psnr=False)
    for i, c in enumerate([5, 1, 4, 2, 6, 3]):  # most changed first: 4, 0, 2, 5, 3, 1 -> the 3rd, frame 2
        col.add(*_frame(i, v=50 + c), None, None)
    assert [f.index for _, f in col.picks()] == [4, 2]


def test_collector_says_when_the_median_frame_was_not_kept():
    col = PreviewCollector(by_psnr=False, keep=1)
    for i, c in enumerate([10, 1, 2, 3, 4]):  # the lone candidate slot follows the running median
        col.add(*_frame(i, v=50 + c), None, None)
    # by hand: running lower medians 10, 1, 2, 2, 3; the slot keeps 0, 1, 2, 2, 2 (ties drop the later
    # frame); final order 0, 4, 3, 2, 1, median frame 3 (rank 3) is gone, frame 2 (rank 4) is nearest
    picks = col.picks()
    assert [f.index for _, f in picks] == [0, 2]
    assert picks[1][0] == "near-median (rank 4 of 5;\nmedian frame 3 not kept)"  # two lines: fits a row label


def test_worst_patch_is_where_the_band_error_is():
    err = np.zeros((40, 60), np.float32)
    err[5:9, 40:44] = 9.0  # large error, inside the band
    err[30:34, 5:9] = 50.0  # larger, but outside the band: ignored
    band = np.zeros((40, 60), bool)
    band[:, 30:] = True
    y, x = worst_patch(err, band, 8)
    assert y <= 5 and y + 8 >= 9 and x <= 40 and x + 8 >= 44


def _clip_with_a_bad_frame(tmp_path, n=7, bad=4):
    rng = np.random.default_rng(0)
    h, w = 36, 48
    colors = [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]
    gts = []
    for i in range(n):
        g = np.full((h, w), 60, np.uint8)
        g[8:28, 10 + i : 30 + i] = 200
        gts.append(g)
    depths = [g.copy() for g in gts]
    for i, d in enumerate(depths):  # every frame a little wrong, frame ``bad`` much more
        d[8:28, 30 + i : 32 + i + (10 if i == bad else i % 3)] = 200
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            write_video(tmp_path / "d.mkv", depths, fmt="gray"), write_video(tmp_path / "g.mkv", gts, fmt="gray"))


def test_preview_of_a_run_with_gt_shows_the_known_worst_frame(tmp_path):
    c, d, g = _clip_with_a_bad_frame(tmp_path)
    s = enhance_file(c, d, tmp_path / "o.mkv", enhancer=Identity(), gt_path=g, report_path=tmp_path / "r.json",
                     preview_path=tmp_path / "p.png")
    rows = json.loads((tmp_path / "r.json").read_text())["frames"]
    psnr = [r["psnr"] for r in rows]
    order = [r["index"] for r in sorted(rows, key=lambda r: (r["psnr"], r["index"]))]
    assert int(np.argmin(psnr)) == 4 == order[0]
    assert s["preview_frames"] == {"worst": 4, "median": order[3]} and s["preview_ranked_by"] == "psnr"
    w, h = _png_size(tmp_path / "p.png")
    assert 1500 <= w <= 4000 and 300 <= h <= 1500  # two rows of nine panels
    from matplotlib.image import imread

    img = imread(tmp_path / "p.png")
    assert img.shape[:2] == (h, w) and img[..., :3].std() > 0.05  # drawn, not blank


def test_preview_without_gt_ranks_by_change(tmp_path):
    c, d, _ = _clip_with_a_bad_frame(tmp_path)
    s = enhance_file(c, d, tmp_path / "o.mkv", enhancer=Identity(bump_frame=2, bump=30),
                     preview_path=tmp_path / "p.png")
    assert s["preview_frames"]["worst"] == 2 and s["preview_ranked_by"] == "mean change"
    w, h = _png_size(tmp_path / "p.png")
    assert 1000 <= w <= 3000 and 150 <= h <= 1500


def test_preview_refused_up_front(tmp_path, monkeypatch):
    with pytest.raises(OutputError, match=r"\.png"):
        check_preview_path(tmp_path / "p.jpg")
    for name in ("matplotlib", "matplotlib.figure", "matplotlib.backends.backend_agg"):
        monkeypatch.setitem(sys.modules, name, None)  # as if matplotlib were not installed
    with pytest.raises(OutputError, match="needs matplotlib"):
        check_preview_path(tmp_path / "p.png")
    c, d, _ = _clip_with_a_bad_frame(tmp_path, n=2)
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(OutputError, match="needs matplotlib"):
        enhance_file(c, d, tmp_path / "o.mkv", enhancer=Identity(), preview_path=tmp_path / "p.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


@pytest.mark.parametrize("order,cmap,label", [("near-high", "turbo", "depth (near = high)"),
                                              ("far-high", "turbo_r", "depth (far = high)")])
def test_preview_draws_depth_in_the_enhancers_order(tmp_path, monkeypatch, order, cmap, label):
    """Far-high (distance) depth is drawn with turbo reversed, so that far stays blue and near red as
    the module says, and its colour bars say far = high; near-high depth as before."""
    import igde_stream.stream.preview as pv
    from matplotlib.figure import Figure

    figures = []

    class Kept(Figure):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            figures.append(self)

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    monkeypatch.setattr(pv, "_figure", lambda path: (Kept, FigureCanvasAgg))
    c, d, g = _clip_with_a_bad_frame(tmp_path)

    class Ordered(Identity):
        depth_order = order
        max_depth = None

    enhance_file(c, d, tmp_path / "o.mkv", enhancer=Ordered(), gt_path=g, preview_path=tmp_path / "p.png")
    (fig,) = figures
    depth_maps = {im.get_cmap().name for ax in fig.axes for im in ax.get_images() if im.get_array().ndim == 2
                  and im.get_cmap().name.startswith("turbo")}
    labels = {ax.get_ylabel() for ax in fig.axes if ax.get_ylabel().startswith("depth")}
    assert depth_maps == {cmap} and labels == {label}
