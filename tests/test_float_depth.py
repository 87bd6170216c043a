"""Float depth in (PFM, EXR, float TIFF, raw grayf32le) and out (PFM, EXR): one linear map per run.

The expected codes are worked here by hand from the arrays the tests write (NumPy PFM writer and reader,
FFmpeg's EXR encoder through PyAV, a minimal TIFF writer), independent of ``floatdepth``:
``code = 1 + round((v - LO) / (HI - LO) * 65534)``, 0 for NaN / inf (and <= 0 far-high).
"""

from __future__ import annotations

import json
import logging
import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import scene
from igde_stream import Enhancer
from igde_stream.cli import main
from igde_stream.stream import VideoReader, enhance_file
from igde_stream.stream.floatdepth import FloatMap
from igde_stream.stream.sources import InputOptions
from test_formats import leftovers, read_pngs, write_png_sequence

SIZE = (32, 24)


def write_pfm(path: Path, values: np.ndarray) -> Path:
    """A grayscale PFM as MiDaS writes it: ``Pf``, width height, -1 (little-endian), rows bottom-up."""
    h, w = values.shape
    path.write_bytes(b"Pf\n%d %d\n-1\n" % (w, h) + np.flipud(values).astype("<f4").tobytes())
    return path


def read_pfm(path: Path) -> np.ndarray:
    """A grayscale PFM back (either byte order), top row first."""
    data = path.read_bytes()
    kind, dims, scale, body = data.split(b"\n", 3)
    assert kind == b"Pf"
    w, h = map(int, dims.split())
    return np.flipud(np.frombuffer(body, "<f4" if float(scale) < 0 else ">f4").reshape(h, w)).astype(np.float32)


def write_exr(path: Path, values: np.ndarray, half: bool = False) -> Path:
    """A 1-channel float EXR written by FFmpeg's encoder (through PyAV), 32-bit or half floats."""
    cc = av.CodecContext.create("exr", "w")
    cc.width, cc.height, cc.pix_fmt = values.shape[1], values.shape[0], "grayf32le"
    cc.time_base = Fraction(1, 25)
    cc.options = {"format": "half" if half else "float"}
    frame = av.VideoFrame(values.shape[1], values.shape[0], "grayf32le")
    buf = np.zeros((values.shape[0], frame.planes[0].line_size // 4), "<f4")
    buf[:, : values.shape[1]] = values
    frame.planes[0].update(buf.tobytes())
    frame.pts = 0
    path.write_bytes(b"".join(bytes(p) for p in [*cc.encode(frame), *cc.encode(None)]))
    return path


def write_float_tiff(path: Path, values: np.ndarray) -> Path:
    """An uncompressed 32-bit float TIFF, 1 or 3 samples per pixel (SampleFormat 3), one strip."""
    h, w = values.shape[:2]
    spp = 1 if values.ndim == 2 else values.shape[2]
    data = values.astype("<f4").tobytes()
    arrays = b"".join(struct.pack("<3H", *[v] * 3) for v in (32, 3)) if spp == 3 else b""
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, spp, 32), (259, 3, 1, 1), (262, 3, 1, 1 if spp == 1 else 2),
            (273, 4, 1, 0), (277, 3, 1, spp), (278, 3, 1, h), (279, 4, 1, len(data)), (339, 3, spp, 3)]
    extra = 8 + 2 + 12 * len(tags) + 4  # where the BitsPerSample and SampleFormat arrays go (3 samples)
    ifd = b""
    for tag, kind, count, value in tags:
        if count > 1:
            value = extra + (0 if tag == 258 else 6)
        elif tag == 273:
            value = extra + len(arrays)
        ifd += struct.pack("<HHIHH" if kind == 3 and count == 1 else "<HHII", tag, kind, count, value,
                           *([0] if kind == 3 and count == 1 else []))
    path.write_bytes(b"II*\0" + struct.pack("<IH", 8, len(tags)) + ifd + b"\0\0\0\0" + arrays + data)
    return path


def codes_by_hand(values: np.ndarray, lo: float, hi: float, far_high: bool = False) -> np.ndarray:
    v = np.asarray(values, np.float64)
    hole = ~np.isfinite(v) | ((v <= 0) if far_high else False)
    t = np.clip(np.where(hole, lo, v), lo, hi)
    return np.where(hole, 0, 1 + np.rint((t - lo) / (hi - lo) * 65534)).astype(np.uint16)


def floats_by_hand(codes: np.ndarray, lo: float, hi: float) -> np.ndarray:
    c = codes.astype(np.float64)
    return np.where(c == 0, np.nan, lo + (c - 1) * (hi - lo) / 65534).astype(np.float32)


def float_scene(n: int, far_high: bool = False):
    """Colour, float depth and float ground truth: the 16-bit scene as 0.5 .. 2.5 (near-high, MiDaS-like)
    or 1 .. 5 (far-high distance, with 0 = no measurement), a NaN hole, frames inside the first's range."""
    colors, depths, gts = scene(n, SIZE, bits=16)
    lo, span = (1.0, 4.0) if far_high else (0.5, 2.0)
    as_float = [np.float32(lo + span * d.astype(np.float64) / 65535) for d in (*depths, *gts)]
    depths, gts = as_float[:n], as_float[n:]
    for i, d in enumerate(depths):
        d[0, 0], d[-1, -1] = lo, lo + span  # the first frame's range is exactly lo..lo+span
        d[5, 7 + i] = np.nan
        if far_high:
            d[9, 3] = 0.0
    return colors, depths, gts


def write_sequences(tmp_path: Path, colors, depths, name: str = "d", writer=write_pfm, suffix: str = ".pfm") -> Path:
    write_png_sequence(tmp_path / "rgb", colors)
    (tmp_path / name).mkdir()
    for i, d in enumerate(depths):
        writer(tmp_path / name / f"{i:06d}{suffix}", d)
    return tmp_path / name


def read_codes(path: Path, fmap: FloatMap | None, **source) -> list[np.ndarray]:
    with VideoReader(path, "depth", source=InputOptions(**source) if source else None) as r:
        r.float_map = fmap
        return [f.data for f in r.frames()]


# ------------------------------------------------------------------------------------------ the map


def test_map_by_hand_a_three_level_ramp_and_holes():
    fmap = FloatMap(0.5, 2.5)
    codes, clipped = fmap.encode(np.array([[0.5, 1.5, 2.5, 1.25], [np.nan, np.inf, -np.inf, 3.0]], np.float32))
    # 1 + 0.5 * 65534 = 32768; 1 + 0.375 * 65534 = 24576.25 -> 24576; 3.0 is clipped to 2.5
    np.testing.assert_array_equal(codes, [[1, 32768, 65535, 24576], [0, 0, 0, 65535]])
    assert codes.dtype == np.uint16 and clipped == 1
    np.testing.assert_array_equal(fmap.decode(np.array([0, 1, 32768, 65535], np.uint16)),
                                  np.array([np.nan, 0.5, 1.5, 2.5], np.float32))
    assert fmap.step == 2.0 / 65534
    far = FloatMap(0.0, 4.0, "far-high")
    np.testing.assert_array_equal(far.encode(np.array([0.0, -1.0, 2.0, 4.0], np.float32))[0], [0, 0, 32768, 65535])


def test_default_range_is_the_first_frames_finite_values():
    v = np.array([[np.nan, 0.25, 3.0], [np.inf, 1.0, -0.5]], np.float32)
    near = FloatMap.from_frame(v, "near-high", "x")
    far = FloatMap.from_frame(v, "far-high", "x")
    assert (near.lo, near.hi, near.source) == (-0.5, 3.0, "first frame")
    # far-high: 0 .. max, codes proportional to distance; +inf there is far away, not a hole, and keeps
    # code 65535 to itself: the farthest finite value 3.0 at code 65534 (tests/test_far_background.py)
    assert (far.lo, far.hi, far.background) == (0.0, 3.0 * 65534 / 65533, np.inf)
    far = FloatMap.from_frame(np.where(np.isposinf(v), np.nan, v), "far-high", "x")
    assert (far.lo, far.hi, far.background) == (0.0, 3.0, None)


# --------------------------------------------------------------------------------------- reading


@pytest.mark.parametrize("far_high", [False, True])
def test_pfm_sequence_reads_as_the_hand_mapped_codes_with_one_range(tmp_path, far_high):
    _, depths, _ = float_scene(3, far_high)
    depths[2][4, 4] = 9.0  # beyond the first frame's range: clipped to its top
    folder = write_sequences(tmp_path, scene(3, SIZE)[0], depths)
    order = "far-high" if far_high else "near-high"
    with VideoReader(folder, "depth") as r:  # without a map: float32 as stored (rows top first)
        stored = [f.data for f in r.frames()]
    np.testing.assert_array_equal(np.stack(stored), np.stack(depths))
    fmap = FloatMap.from_frame(stored[0], order, str(folder))
    got = read_codes(folder, fmap)
    lo = 0.0 if far_high else 0.5
    want = [codes_by_hand(d, lo, 5.0 if far_high else 2.5, far_high) for d in depths]
    np.testing.assert_array_equal(np.stack(got), np.stack(want))
    assert got[0][5, 7] == 0 and got[1][5, 8] == 0 and got[2][4, 4] == 65535  # NaN: hole; 9.0: clipped
    if far_high:
        assert got[0][9, 3] == 0  # a distance of 0: no measurement


def test_exr_raw_and_three_channel_tiff_read_like_pfm(tmp_path):
    d = float_scene(1)[1][0]
    fmap = FloatMap(0.5, 2.5)
    want = codes_by_hand(d, 0.5, 2.5)
    write_exr((tmp_path / "e").mkdir() or tmp_path / "e" / "0.exr", d)
    d.astype(">f4").tofile(tmp_path / "d.raw")
    write_float_tiff((tmp_path / "t").mkdir() or tmp_path / "t" / "0.tif", np.stack([d] * 3, -1))
    for path, source in ((tmp_path / "e", {}), (tmp_path / "d.raw", {"size": SIZE, "pix_fmt": "grayf32be"}),
                         (tmp_path / "t", {})):
        np.testing.assert_array_equal(read_codes(path, fmap, **source)[0], want, err_msg=str(path))
    # half floats (grayf16le from FFmpeg 8, grayf32le before), of values a half holds exactly
    half = d.astype(np.float16).astype(np.float32)
    write_exr((tmp_path / "h").mkdir() or tmp_path / "h" / "0.exr", half, half=True)
    np.testing.assert_array_equal(read_codes(tmp_path / "h", fmap)[0], codes_by_hand(half, 0.5, 2.5))


# ------------------------------------------------------------------------------------ whole runs


@pytest.mark.parametrize("order", ["near-high", "far-high"])
def test_run_equals_the_model_on_the_hand_mapped_depth(tmp_path, tiny_model, order, caplog):
    far_high = order == "far-high"
    colors, depths, _ = float_scene(3, far_high)
    folder = write_sequences(tmp_path, colors, depths)
    enhancer = Enhancer(model=tiny_model, backend="torch", batch=4, depth_order=order)
    out = tmp_path / "out" / "%06d.png"
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        summary = enhance_file(tmp_path / "rgb", folder, out, enhancer=enhancer)
    lo, hi = (0.0, 5.0) if far_high else (0.5, 2.5)
    codes = np.stack([codes_by_hand(d, lo, hi, far_high) for d in depths])
    want = enhancer.enhance(np.stack(colors), codes)
    got = np.stack(read_pngs(out.parent))
    assert got.dtype == np.uint16 and summary["pix_fmt"] == "gray16be"
    np.testing.assert_array_equal(got, want)
    assert not np.array_equal(want, codes)  # the model did change them
    f = summary["float_range"]
    assert (f["lo"], f["hi"], f["from"], f["clipped_frames"]) == (lo, hi, "first frame", 0)
    assert f"{lo:.9g}..{hi:.9g} -> 1..65535" in caplog.text
    assert not any(r.levelno >= logging.WARNING and "clipped" in r.message for r in caplog.records)


def test_later_frame_outside_the_range_is_clipped_with_one_warning(tmp_path, enhancer, caplog):
    colors, depths, _ = float_scene(4)
    depths[2][10:12, 10:13] = 3.5  # 6 values above the first frame's top, 2.5
    depths[3][1, 1] = -4.0
    folder = write_sequences(tmp_path, colors, depths)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        summary = enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", enhancer=enhancer)
    warned = [r for r in caplog.records if "outside" in r.message]
    # the Python API's words in the message, the command's in the record's cli_text (what the CLI prints)
    assert len(warned) == 1 and "frame 2 has 6 of 768" in warned[0].message
    assert "give float_range=(LO, HI) to cover" in warned[0].message and "--float-range" not in warned[0].message
    assert warned[0].cli_text == warned[0].message.replace("float_range=(LO, HI)", "--float-range LO:HI")
    assert summary["float_range"]["clipped_frames"] == 2


def test_a_ground_truth_that_is_the_depth_itself_warns_of_its_clipping_once(tmp_path, enhancer, caplog):
    """--gt the depth's own folder (a check that scores the input against itself): one reader each, one
    map, the same clipped values; the warning names the file once, not once per reader. A ground truth
    of its own that clips too is warned about apart (its path differs)."""
    colors, depths, _ = float_scene(3)
    depths[1][10:12, 10:13] = 3.5
    folder = write_sequences(tmp_path, colors, depths)
    other = write_sequences(tmp_path / "g", colors, depths)
    for gt, want in ((folder, 1), (other, 2)):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
            summary = enhance_file(tmp_path / "rgb", folder, tmp_path / f"o{want}.mkv", gt_path=gt,
                                   report_path=tmp_path / f"r{want}.json", enhancer=enhancer)
        warned = [r.message for r in caplog.records if "outside" in r.message]
        assert len(warned) == want and all("frame 1 has 6 of 768" in w for w in warned), warned
        assert summary["float_range"]["clipped_frames"] == 1 and summary["float_range"]["gt_clipped_frames"] == 1


def test_float_range_option_fixes_the_map(tmp_path, tiny_model, enhancer, capsys):
    colors, depths, _ = float_scene(2)
    folder = write_sequences(tmp_path, colors, depths)
    out = tmp_path / "out" / "%06d.png"
    code = main([str(tmp_path / "rgb"), str(folder), "-o", str(out), "--float-range", "0:4",
                 "--model", str(tiny_model), "--backend", "torch"])
    assert code == 0 and "float depth 0..4 (--float-range)" in capsys.readouterr().out
    want = enhancer.enhance(np.stack(colors), np.stack([codes_by_hand(d, 0.0, 4.0) for d in depths]))
    np.testing.assert_array_equal(np.stack(read_pngs(out.parent)), want)


class _Unchanged:
    """A stand-in for the model that returns the depth it is given (what a model leaves alone)."""

    batch = 4

    def enhance(self, color: np.ndarray, depth: np.ndarray) -> np.ndarray:
        return depth.copy()


@pytest.mark.parametrize("suffix", [".pfm", ".exr"])
def test_float_in_float_out_round_trip(tmp_path, enhancer, suffix):
    colors, depths, _ = float_scene(2)
    depths[1][3, 3] = 0.5 + 1234 * 2.0 / 65534  # on the grid: code 1235
    folder = write_sequences(tmp_path, colors, depths)
    same = enhance_file(tmp_path / "rgb", folder, tmp_path / "same" / f"%06d{suffix}", enhancer=_Unchanged())
    assert same["pix_fmt"] == "grayf32le" and same["lossless"]
    back = read_float_sequence(tmp_path / "same", suffix)
    step = 2.0 / 65534
    both = np.isfinite(np.stack(depths))
    np.testing.assert_array_equal(np.isnan(back), ~both)  # holes come back as NaN
    err = np.abs(back[both].astype(np.float64) - np.stack(depths)[both])
    ulp = np.spacing(np.float32(2.5)).astype(np.float64)
    assert err.max() <= step / 2 + ulp / 2  # within half a code step (and float32 rounding)
    assert back[1][3, 3] == depths[1][3, 3] and back[0][-1, -1] == 2.5 and back[0][0, 0] == 0.5  # on the grid: exact
    enhance_file(tmp_path / "rgb", folder, tmp_path / "model" / f"%06d{suffix}", enhancer=enhancer)
    codes = np.stack([codes_by_hand(d, 0.5, 2.5) for d in depths])
    want = floats_by_hand(enhancer.enhance(np.stack(colors), codes), 0.5, 2.5)
    np.testing.assert_array_equal(read_float_sequence(tmp_path / "model", suffix), want)


def read_float_sequence(folder: Path, suffix: str) -> np.ndarray:
    """The tool's float output: PFM by the NumPy reader above, EXR decoded by FFmpeg (PyAV's to_ndarray)."""
    files = sorted(folder.glob(f"*{suffix}"))
    if suffix == ".pfm":
        return np.stack([read_pfm(p) for p in files])
    frames = []
    for p in files:
        with av.open(str(p)) as c:
            frames += [f.to_ndarray() for f in c.decode(video=0)]
    return np.stack(frames)


def test_float_gt_goes_through_the_same_map(tmp_path, enhancer):
    colors, depths, gts = float_scene(3)
    folder = write_sequences(tmp_path, colors, depths)
    gt = write_sequences(tmp_path / "g", colors, gts, name="gt")
    report = tmp_path / "r.json"
    summary = enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", gt_path=gt, report_path=report,
                           enhancer=enhancer)
    codes = np.stack([codes_by_hand(d, 0.5, 2.5) for d in depths])
    out = enhancer.enhance(np.stack(colors), codes).astype(np.float64)
    gt_codes = np.stack([codes_by_hand(g, 0.5, 2.5) for g in gts]).astype(np.float64)
    doc = json.loads(report.read_text())
    assert doc["float_range"]["lo"] == 0.5 and summary["matched_frames"] == 3
    for row, o, g in zip(doc["frames"], out, gt_codes):
        assert row["mse"] == pytest.approx(np.mean((o - g) ** 2), rel=1e-12)
        assert row["psnr"] == pytest.approx(10 * np.log10(65535.0**2 / np.mean((o - g) ** 2)), rel=1e-12)


# ---------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize("bad", ["1", "a:b", "2:1", "1:1", "0:inf", "nan:1", "1:2:3"])
def test_float_range_parse_errors_write_nothing(tmp_path, capsys, bad):
    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "c"), str(tmp_path / "d"), "-o", str(tmp_path / "o.mkv"), f"--float-range={bad}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and err[-1].startswith("igde-stream: error: argument --float-range")
    assert [line for line in err if "error" in line] == err[-1:] and list(tmp_path.iterdir()) == []


def test_float_misuse_is_one_line_exit_2_with_nothing_written(tmp_path, tiny_model, capsys):
    colors, depths, _ = float_scene(2)
    folder = write_sequences(tmp_path, colors, depths)
    png16 = tmp_path / "p16"
    write_png_sequence(png16, [np.uint16(d) for d in scene(2, SIZE, bits=16)[1]])
    (tmp_path / "f1").mkdir()
    write_float_tiff(tmp_path / "f1" / "0.tif", depths[0])
    (tmp_path / "t3").mkdir()
    write_float_tiff(tmp_path / "t3" / "0.tif", np.stack([depths[0], depths[0], depths[0] + 1], -1))
    rgb = str(tmp_path / "rgb")
    cases = [
        ([rgb, str(folder), "--float-range=-1:5", "--depth-order", "far-high"], "LO must be >= 0"),
        ([rgb, str(folder), "--max-depth", "1000"], "--max-depth is for integer depth"),
        ([rgb, str(png16), "--float-range", "0:4"], "--float-range is for float depth"),
        ([rgb, str(png16), "-o", str(tmp_path / "o" / "%06d.pfm")], "writes float depth, for float depth in"),
        ([rgb, str(tmp_path / "f1"), "--fps", "25"], "does not read 1-channel float TIFF"),
        ([str(tmp_path / "rgb" / "000000.png"), str(tmp_path / "t3")], "frame 0: rgbf32le: the three channels differ"),
    ]
    before = sorted(p.name for p in tmp_path.iterdir())
    for args, match in cases:
        out = [] if "-o" in args else ["-o", str(tmp_path / "o.mkv")]
        code = main([*args, *out, "--model", str(tiny_model), "--backend", "torch", "-q"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and match in err, (args, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before and leftovers(tmp_path) == []


def test_views_commands_refuse_float_depth_in_one_line(tmp_path, capsys):
    """The views have no float range to go by: float depth or ground truth is one line, exit 2, nothing
    written (never views of values clipped to 0..1)."""
    from igde_stream.views_cli import main as views_main

    colors, depths, _ = float_scene(2)
    folder = write_sequences(tmp_path, colors, depths)
    png16 = tmp_path / "p16"
    write_png_sequence(png16, [np.uint16(d) for d in scene(2, SIZE, bits=16)[1]])
    rgb = str(tmp_path / "rgb")
    before = sorted(p.name for p in tmp_path.iterdir())
    for args in (["render", rgb, str(folder), "-o", str(tmp_path / "v.mkv"), "--layout", "sbs"],
                 ["quality", rgb, "--gt", str(folder), "--depth", f"a={png16}"],
                 ["quality", rgb, "--gt", str(png16), "--depth", f"a={folder}"]):
        code = views_main(args)
        err = capsys.readouterr().err.strip()
        assert code == 2 and len(err.splitlines()) == 1 and "float depth" in err, (args, err)
        assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_float_map_codes_and_range_edges_by_hand():
    """Codes by hand: a hole (NaN, or <= 0 far-high) is 0, LO is 1, HI 65535; an empty range is
    refused; one measured value is enough for a far-high range (0..value)."""
    from igde_stream.errors import IGDEError

    m = FloatMap(2.0, 4.0)
    codes, clipped = m.encode(np.array([[np.nan, 2.0, 3.0, 4.0, 5.0]]))
    np.testing.assert_array_equal(codes, [[0, 1, 32768, 65535, 65535]])  # 3.0: 1 + 65534 / 2
    assert clipped == 1
    far = FloatMap(0.0, 8.0, "far-high")
    np.testing.assert_array_equal(far.encode(np.array([[0.0, -1.0, 8.0]]))[0], [[0, 0, 65535]])
    with pytest.raises(IGDEError, match="LO < HI"):
        FloatMap(3.0, 3.0)
    one = FloatMap.from_frame(np.array([[np.nan, 5.0]], np.float32), "far-high", "d.exr")
    assert (one.lo, one.hi) == (0.0, 5.0)


def test_float_depth_gets_float_range_advice_not_max_depth(tmp_path, tiny_model, caplog):
    """Values 0.5..2.5 under --float-range 0:1500 fill 0.13 % of it: the warning names a range near
    the first frame's values; no --max-depth advice (refused with float depth) is given."""
    import logging

    from igde_stream.stream import enhance_file

    colors, depths, _ = float_scene(2)
    folder = write_sequences(tmp_path, colors, depths)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", model=tiny_model, backend="torch",
                     float_range=(0.0, 1500.0))
    text = " ".join(caplog.messages)
    assert "max-depth" not in text and "max_depth" not in text
    said = [r for r in caplog.records if "float depth spans only" in r.getMessage()]
    assert len(said) == 1 and "e.g. float_range=(0.5, 2.5)" in said[0].getMessage()
    assert "--float-range=0.5:2.5" in said[0].cli_text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(tmp_path / "rgb", folder, tmp_path / "o2.mkv", model=tiny_model, backend="torch",
                     float_range=(0.0, 3.0))  # the values fill most of it: nothing to say
    assert not [m for m in caplog.messages if "float depth spans only" in m]
