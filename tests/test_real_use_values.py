"""What a user with captured colour + depth (millimetres, far-high, 0 = hole) sees: small synthetic
stand-ins with the properties of real sensor frames (16-bit distance far below the format's peak,
holes), expected values written out by hand or from the documented definitions in NumPy."""

from __future__ import annotations

import json

import numpy as np

from conftest import write_video
from igde_stream.stream import enhance_file
from igde_stream.stream import preview as preview_mod


class Shift:
    """An enhancer that adds ``add`` millimetres to every measured pixel; reads depth as ``max_depth``."""

    batch = 2
    backend_name = "shift"
    depth_order = "far-high"

    def __init__(self, max_depth: float, add: int) -> None:
        self.max_depth, self.add = max_depth, add

    def enhance(self, color, depth):
        out = depth.astype(np.int64)
        out[out > 0] += self.add
        return out.astype(depth.dtype)


def _mm_clip(tmp_path, n=3, h=24, w=32):
    """Colour, input and ground truth in millimetres (16-bit, 700..3000 mm, far below 65535), a hole."""
    rng = np.random.default_rng(3)
    colors = rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)
    gts = np.full((n, h, w), 2000, np.uint16)
    gts[:, 6:18, 8:20] = 700
    gts[:, :, 28:] = 3000
    inps = gts.copy()
    for i in range(n):
        inps[i, 6:18, 20 : 21 + i] = 700  # the foreground inflated by 1 + i px
    inps[:, 0:2, 0:2] = 0  # a hole
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            write_video(tmp_path / "d.mkv", inps, fmt="gray16le"),
            write_video(tmp_path / "g.mkv", gts, fmt="gray16le"), inps, gts)


def test_preview_input_psnr_uses_the_reports_peak_with_max_depth(tmp_path, monkeypatch):
    # millimetre depth run with --max-depth 5000: the report's PSNR has the format's peak (65535,
    # docs/stream.md "Report"); the preview's captions must say the report's numbers, the input's too
    # (they said the input's PSNR with the peak 5000: 22.35 dB lower than the report's)
    c, d, g, inps, gts = _mm_clip(tmp_path)
    titles: list[str] = []
    figure, canvas = preview_mod._figure(tmp_path / "p.png")

    class Recording(canvas):
        def print_png(self, *a, **k):
            titles.extend(ax.get_title() for ax in self.figure.axes)
            return super().print_png(*a, **k)

    monkeypatch.setattr(preview_mod, "_figure", lambda path: (figure, Recording))
    enhance_file(c, d, tmp_path / "o.mkv", enhancer=Shift(5000, 0), gt_path=g, report_path=tmp_path / "r.json",
                 preview_path=tmp_path / "p.png")
    rows = {r["index"]: r for r in json.loads((tmp_path / "r.json").read_text())["frames"]}
    caps = [t for t in titles if t.startswith("colour: PSNR")]
    assert len(caps) == 2
    for cap in caps:
        out_db, in_db = (float(x.split(" dB")[0]) for x in cap.split("PSNR ")[1].split("(input "))
        # the frame whose output PSNR the caption names: the input PSNR of that frame, by hand
        k = min(rows, key=lambda i: abs(rows[i]["psnr"] - out_db))
        mse = np.mean((inps[k].astype(np.float64) - gts[k]) ** 2)
        assert abs(in_db - 10 * np.log10(65535.0 ** 2 / mse)) < 0.006
        assert abs(in_db - rows[k]["input_psnr"]) < 0.006


def _drawn_previews(tmp_path, monkeypatch) -> list:
    """The preview figures the run draws (the list fills when each is printed to PNG)."""
    drawn = []
    figure, canvas = preview_mod._figure(tmp_path / "p.png")

    class Recording(canvas):
        def print_png(self, *a, **k):
            drawn.append(self.figure)
            return super().print_png(*a, **k)

    monkeypatch.setattr(preview_mod, "_figure", lambda path: (figure, Recording))
    return drawn


def test_preview_draws_holes_apart_from_the_nearest_depth(tmp_path, monkeypatch):
    # far-high distance with holes (0 = no measurement): the turbo map reversed puts 0 at the colour of
    # the nearest distance, so the holes of a Kinect / HoloLens frame looked like near objects; they
    # are drawn in the map's "bad" colour (black), which no depth value has
    c, d, g, inps, gts = _mm_clip(tmp_path)
    drawn = _drawn_previews(tmp_path, monkeypatch)
    enhance_file(c, d, tmp_path / "o.mkv", enhancer=Shift(5000, 0), preview_path=tmp_path / "p.png")
    (fig,) = drawn
    images = [(ax.get_title(), im) for ax in fig.axes for im in ax.get_images()]
    inputs = [im for title, im in images if title == "input depth"]
    assert len(inputs) == 2
    for im in inputs:
        rgba = im.to_rgba(im.get_array())  # the colours drawn, holes included
        assert np.array_equal(rgba[0:2, 0:2].reshape(-1, 4), np.tile([0, 0, 0, 1], (4, 1)))
        # a measured pixel is not black: the nearest (700 mm) keeps the map's colour for it
        near = im.cmap(im.norm(700.0))
        assert np.allclose(rgba[10, 10], near) and not np.allclose(near[:3], 0)


def test_preview_of_an_image_sequence_output_names_its_folder(tmp_path, monkeypatch):
    # -o enhanced/%06d.png: the picture's title said only "%06d.png", which names no output
    c, d, g, inps, gts = _mm_clip(tmp_path)
    drawn = _drawn_previews(tmp_path, monkeypatch)
    enhance_file(c, d, tmp_path / "enhanced" / "%06d.png", enhancer=Shift(5000, 0), preview_path=tmp_path / "p.png")
    (title,) = [fig.get_suptitle() for fig in drawn]
    assert title.startswith("enhanced/%06d.png ")
    assert sorted(p.name for p in (tmp_path / "enhanced").iterdir()) == ["000000.png", "000001.png", "000002.png"]


def test_millimetre_depth_read_near_high_is_pointed_to_far_high(caplog):
    # a Kinect / HoloLens distance map (16-bit mm, 0 = no measurement) run without --depth-order
    # far-high: the span advice alone (--max-depth near the largest) keeps it in the wrong order,
    # which inverts the views' parallax; the warning says what such a map wants
    from igde_stream.enhancer import warn_depth_range

    mm = np.full((24, 32), 1500, np.uint16)
    mm[:, 16:] = 3200
    mm[0:3, 0:3] = 0  # holes
    (said,) = warn_depth_range(mm, 65535, "near-high")
    assert "span only 3 %" in said and "e.g. 3200" in said
    assert "depth_order='far-high'" in said and "0 = no measurement" in said
    cli = [r.cli_text for r in caplog.records if "span only" in r.getMessage()]
    assert cli and "--depth-order far-high" in cli[0] and "depth_order" not in cli[0]
    # without holes (near-high disparity in 16 bits, say) or in 8 bits: the span advice only
    assert "far-high" not in warn_depth_range(np.where(mm == 0, 1500, mm).astype(np.uint16), 65535)[0]
    assert "far-high" not in warn_depth_range((mm // 100).astype(np.uint8), 255)[0]


def _small_depth_clip(tmp_path, holes: bool, n=3):
    """Colour 32 x 24 beside millimetre depth 16 x 12 (a sensor with fewer pixels than the camera)."""
    rng = np.random.default_rng(5)
    colors = rng.integers(0, 256, (n, 24, 32, 3), dtype=np.uint8)
    depths = np.full((n, 12, 16), 800, np.uint16)
    depths[:, :, 8:] = 3000
    if holes:
        depths[:, 4:6, 2:4] = 0
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            write_video(tmp_path / f"d{int(holes)}.mkv", depths, fmt="gray16le"))


def test_linear_enlargement_of_depth_with_holes_warns_once(tmp_path, caplog):
    # --grid color with the default --enlarge linear blends a hole (0) with its measured neighbours:
    # 800 mm next to a hole became 400, 200 ... (values no sensor measured; the far-high range warning
    # then advised a --max-depth from them). The docs say to use nearest for depth with holes; the run
    # says so when it meets one
    c, d = _small_depth_clip(tmp_path, holes=True)
    from igde_stream.stream.formats import enlarge_linear

    up = enlarge_linear(np.array([[800, 800, 0, 0]], np.uint16), 8, 1)
    assert ((up > 0) & (up < 800)).any()  # the blend: 600, 200 between 800 and the hole
    caplog.set_level("WARNING")
    enhance_file(c, d, tmp_path / "o1.mkv", enhancer=Shift(5000, 0), grid="color", enlarge="linear")
    said = [r.getMessage() for r in caplog.records if "--enlarge nearest" in r.getMessage()]
    assert len(said) == 1 and str(d) in said[0] and "holes" in said[0]
    caplog.clear()
    enhance_file(c, d, tmp_path / "o2.mkv", enhancer=Shift(5000, 0), grid="color", enlarge="nearest")
    c0, d0 = _small_depth_clip(tmp_path, holes=False)
    enhance_file(c0, d0, tmp_path / "o3.mkv", enhancer=Shift(5000, 0), grid="color", enlarge="linear")
    assert not [r for r in caplog.records if "--enlarge nearest" in r.getMessage()]
