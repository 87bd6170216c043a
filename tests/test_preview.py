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
from igde_stream.stream.preview import PreviewCollector, PreviewFrame, check_preview_path, worst_patch, write_preview


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


def test_near_median_is_the_kept_frame_nearest_the_median_not_the_smallest():
    col = PreviewCollector(by_psnr=False, keep=2)
    for i, c in enumerate([1, 8, 2, 6, 7]):
        col.add(*_frame(i, v=50 + c), None, None)
    # by hand (keep 2; on overflow the kept frame farthest from the running lower median goes, ties the later):
    # frame 2: median of 1, 8, 2 is 2 -> frame 1 (8) goes; frame 3: lower median of 1, 2, 6, 8 is 2 ->
    # frame 3 (6) goes; frame 4: median of 1, 2, 6, 7, 8 is 6 -> frame 0 (1) goes; kept: 2 (2), 4 (7).
    # Final order 1 (8), 4 (7), 3 (6), 2 (2), 0 (1): the median frame 3 (6) was dropped; of the kept,
    # frame 4 is 1 away from 6 and frame 2 is 4 away: frame 4 (rank 2), not the least changed frame 2
    picks = col.picks()
    assert [f.index for _, f in picks] == [1, 4]
    assert picks[1][0] == "near-median (rank 2 of 5;\nmedian frame 3 not kept)"


def test_the_median_candidates_are_3_to_16_frames_within_64_mb():
    """docs/stream.md: "a few median candidates (at most 64 MB, 3 to 16 frames)"."""
    mb = 1 << 20
    assert PreviewCollector(by_psnr=False).keep == 16
    assert PreviewCollector(by_psnr=False, frame_bytes=1000).keep == 16  # small frames: 16, not more
    assert PreviewCollector(by_psnr=False, frame_bytes=8 * mb).keep == 8  # 64 MB / 8 MB
    assert PreviewCollector(by_psnr=False, frame_bytes=10 * mb).keep == 6  # 6 x 10 MB fit in 64 MB, 7 do not
    assert PreviewCollector(by_psnr=False, frame_bytes=100 * mb).keep == 3  # never fewer than 3


@pytest.mark.parametrize("size", [8, 7])
def test_worst_patch_is_exactly_an_error_block_of_its_size(size):
    """A lone error block of exactly the patch's size is the patch, to the pixel (the box filter's
    anchor is the centre of the box: the patch's top-left is the block's, not shifted)."""
    err = np.zeros((40, 60), np.float32)
    err[10:10 + size, 21:21 + size] = 3.0
    err[30:35, 2:6] = 1.0  # a smaller error elsewhere
    assert worst_patch(err, np.ones((40, 60), bool), size) == (10, 21)
    assert worst_patch(err, np.zeros((40, 60), bool), size) == (10, 21)  # empty band: the whole frame
    edge = np.zeros((40, 60), np.float32)
    edge[36:, 55:] = 5.0  # a block in the corner: the patch stays inside the frame
    assert worst_patch(edge, np.ones((40, 60), bool), size) == (40 - size, 60 - size)


def _kept_figures(monkeypatch):
    import igde_stream.stream.preview as pv
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figures = []

    class Kept(Figure):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            figures.append(self)

    monkeypatch.setattr(pv, "_figure", lambda path: (Kept, FigureCanvasAgg))
    return figures


def test_preview_panels_zoom_on_the_worst_patch_with_one_colour_bar_per_kind(tmp_path, monkeypatch):
    """The panels of a row with ground truth, checked on the drawn figure: colour, input, enhanced, gt
    (depth 0..peak), |input - gt|, |enhanced - gt|, then the zoom (input, enhanced, gt) on the patch of
    the largest error in the edge band; a colour bar on the last panel of each kind (depth, error,
    zoom); a perfect frame's error scale still spans 1 depth unit; every text readable."""
    from matplotlib.text import Text

    figures = _kept_figures(monkeypatch)
    h, w = 24, 32
    gt = np.full((h, w), 60, np.uint8)
    gt[:, 16:] = 200  # one vertical depth edge between columns 15 and 16: band = columns 7..24
    out = gt.copy()
    out[4:12, 12:20] += 20  # an 8 x 8 error block inside the band
    out[14:22, 0:4] = 255  # a larger error outside it
    inp = gt.copy()
    inp[:, 14:18] = 120  # the input's own error
    color = np.zeros((h, w, 3), np.uint8)
    bad = PreviewFrame(3, 0.12, color, inp, out, gt, 20.0)
    perfect = PreviewFrame(5, 0.2, color, gt.copy(), gt.copy(), gt.copy(), float("inf"))
    got = write_preview(tmp_path / "p.png", [("worst", bad), ("median", perfect)], 255.0, True, patch=8)
    assert got == tmp_path / "p.png" and _png_size(got)[0] > 0
    (fig,) = figures
    grid = [ax for ax in fig.axes if ax.get_images() and ax.get_label() != "<colorbar>"]
    assert len(grid) == 2 * 9
    assert all(ax.get_position().width > 0.01 and ax.get_position().height > 0.01 for ax in grid)  # all seen
    row = [ax.get_images()[0] for ax in grid[:9]]
    arrays = [np.asarray(im.get_array()) for im in row]
    for k, want in ((1, inp), (2, out), (3, gt), (6, inp[4:12, 12:20]), (7, out[4:12, 12:20]), (8, gt[4:12, 12:20])):
        np.testing.assert_array_equal(arrays[k], want)
        assert row[k].get_clim() == (0, 255.0)
    np.testing.assert_array_equal(arrays[4], np.abs(inp.astype(np.float32) - gt))
    np.testing.assert_array_equal(arrays[5], np.abs(out.astype(np.float32) - gt))
    assert grid[6].get_title() == "zoom: input (y=4, x=12, 8 px)"
    assert [k for k, im in enumerate(row) if im.colorbar is not None] == [3, 5, 8]
    for k in (3, 5, 8):  # each bar is seen: a width of its own, right of its panel, left of the next one
        bar, panel = row[k].colorbar.ax.get_position(), grid[k].get_position()
        right = grid[k + 1].get_position().x0 if k < 8 else 1.0
        assert bar.width > 0.001 and panel.x1 <= bar.x0 and bar.x1 <= right
    perfect_row = [ax.get_images()[0] for ax in grid[9:]]
    assert perfect_row[4].get_clim() == perfect_row[5].get_clim() == (0, 1.0)
    assert [k for k, im in enumerate(perfect_row) if im.colorbar is not None] == [3, 5, 8]
    assert grid[0].get_ylabel() == "worst\nframe 3 (0.120 s)"
    texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
    assert texts and min(t.get_fontsize() for t in texts) >= 6


def test_preview_without_frames_says_so(tmp_path):
    import cv2

    got = write_preview(tmp_path / "p.png", [], 255.0, True)
    assert got == tmp_path / "p.png"
    img = cv2.imread(str(got), cv2.IMREAD_GRAYSCALE)
    assert img is not None and img.shape[0] >= 50 and img.shape[1] >= 200
    assert (img < 128).sum() > 50  # the message is drawn (dark text on white), not an empty picture


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
    figures = _kept_figures(monkeypatch)
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
