"""Inputs and outputs beyond a colour and a depth video: image sequences, 10/12/16-bit depth, raw YUV.

Expected frames come from files read independently (OpenCV for PNG, NumPy for raw YUV, PyAV planes for
the encoded output) and the library's ``Enhancer`` on those arrays, with the peak the format fixes.
"""

from __future__ import annotations

import re
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import encode_frames, read_video, scene
from igde_stream.cli import main
from igde_stream.stream import enhance_file
from igde_stream.stream.sources import InputOptions

cv2 = pytest.importorskip("cv2")
REAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "icl_nuim_clean5"


def write_png_sequence(folder: Path, frames: list[np.ndarray], pattern: str = "{:06d}.png", start: int = 0) -> Path:
    """Frames (H x W x 3 RGB uint8, or H x W uint8 / uint16) as numbered PNG files, written by OpenCV."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, img in enumerate(frames):
        assert cv2.imwrite(str(folder / pattern.format(start + i)), img[..., ::-1] if img.ndim == 3 else img)
    return folder


def read_pngs(folder: Path) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("*.png"))]


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if "igde-part" in p.name or "igde-old" in p.name]


def luma_planes(path: Path) -> tuple[str, list[np.ndarray]]:
    """The pixel format and the first plane of every frame, read straight from PyAV's planes (LE samples)."""
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        out = []
        for f in c.decode(s):
            p = f.planes[0]
            dt = np.dtype("<u2") if f.format.components[0].bits > 8 else np.dtype(np.uint8)
            out.append(np.frombuffer(p, dt).reshape(p.height, p.line_size // dt.itemsize)[:, : p.width].astype(dt))
        return s.codec_context.pix_fmt, out


def test_16_bit_png_sequence_in_and_out_keeps_bit_depth_and_count(tmp_path, enhancer):
    colors, depths, _ = scene(5, (64, 48), bits=16)
    write_png_sequence(tmp_path / "rgb", colors, "{:04d}.png")
    write_png_sequence(tmp_path / "depth", depths, start=7)  # numbering from 7: found, not assumed
    out = tmp_path / "out" / "%06d.png"
    summary = enhance_file(tmp_path / "rgb", tmp_path / "depth" / "%06d.png", out, enhancer=enhancer,
                           inputs=InputOptions(fps=Fraction(30)))
    got = read_pngs(out.parent)
    # numbered as the depth's images: depth/000007.png -> out/000007.png
    assert sorted(p.name for p in out.parent.iterdir()) == [f"{i:06d}.png" for i in range(7, 12)]
    assert summary["frames"] == 5 and summary["pix_fmt"] == "gray16be" and summary["codec"] == "png"
    assert all(g.dtype == np.uint16 for g in got)
    want = enhancer.enhance(np.stack(colors), np.stack(depths))  # PNG is lossless both ways
    np.testing.assert_array_equal(np.stack(got), want)
    assert not np.array_equal(want, np.stack(depths))  # the model did change them: not a copy
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("names, want", [
    (["frame_0003.png", "frame_0004.png", "frame_0005.png"], [3, 4, 5]),  # a folder of numbered images
    (["10.png", "11.png", "12.png"], [10, 11, 12]),
    (["a.png", "b.png", "c.png"], [0, 1, 2]),  # no numbers: from 0
    (["l_0001.png", "r_0002.png", "l_0003.png"], [0, 1, 2]),  # two prefixes: numbers of no one sequence
    # 9.png, 10.png, 11.png (read in name order: 10, 11, 9) is refused, naming the pattern %d.png
    # (tests/test_sequence_numbering.py)
    (["x01.png", "x02.png", "x04.png"], [0, 1, 2]),  # a gap in a folder's names
])
def test_image_outputs_are_numbered_as_the_depths_images(tmp_path, enhancer, names, want):
    """-o out/%04d.png names each enhanced frame with its depth image's number where the depth's
    names carry one (images/00003.png and depth/00003.png -> out/0003.png), so that the output pairs
    with the colour by name; from 0 otherwise."""
    colors, depths, _ = scene(3, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors)
    (tmp_path / "d").mkdir()
    order = sorted(names)  # the depth folder is read in name order
    for name, img in zip(order, depths):
        assert cv2.imwrite(str(tmp_path / "d" / name), img)
    enhance_file(tmp_path / "rgb", tmp_path / "d", tmp_path / "out" / "%04d.png", enhancer=enhancer)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i:04d}.png" for i in want]
    want_frames = enhancer.enhance(np.stack(colors), np.stack(depths))
    for i, n in enumerate(want):  # frame k of the run under its number
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / "out" / f"{n:04d}.png"), cv2.IMREAD_UNCHANGED),
                                      want_frames[i])


@pytest.mark.parametrize("layout", ["folder", "pattern", "one file"])
def test_image_outputs_of_npy_depth_are_numbered_as_its_files(tmp_path, enhancer, layout):
    colors, depths, _ = scene(3, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors)
    (tmp_path / "d").mkdir()
    if layout == "one file":  # a T x H x W array names no frame: from 0
        np.save(tmp_path / "d" / "clip_0004.npy", np.stack(depths))
        depth, want = tmp_path / "d" / "clip_0004.npy", [0, 1, 2]
    else:
        for i, d in enumerate(depths):
            np.save(tmp_path / "d" / f"depth_{i + 4:04d}.npy", d)
        depth, want = (tmp_path / "d") if layout == "folder" else (tmp_path / "d" / "depth_%04d.npy"), [4, 5, 6]
    enhance_file(tmp_path / "rgb", depth, tmp_path / "out" / "%d.png", enhancer=enhancer)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [f"{i}.png" for i in want]


def test_image_outputs_of_a_video_depth_are_numbered_from_0(tmp_path, enhancer):
    colors, depths, _ = scene(3, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors, start=5)  # the colour's numbers do not count
    encode_frames(tmp_path / "d.mkv", [av.VideoFrame.from_ndarray(d, format="gray") for d in depths], "ffv1", "gray")
    enhance_file(tmp_path / "rgb", tmp_path / "d.mkv", tmp_path / "out" / "%d.png", enhancer=enhancer)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["0.png", "1.png", "2.png"]


def test_8_bit_sequence_writes_8_bit_png_and_tiff(tmp_path, enhancer):
    colors, depths, _ = scene(3, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "d", depths)
    enhance_file(tmp_path / "rgb", tmp_path / "d", tmp_path / "o8" / "f%03d.tif", enhancer=enhancer)
    tifs = sorted((tmp_path / "o8").iterdir())
    assert [p.name for p in tifs] == ["f000.tif", "f001.tif", "f002.tif"]
    got = np.stack([cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in tifs])
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, enhancer.enhance(np.stack(colors), np.stack(depths)))


@pytest.mark.skipif(not REAL.is_dir(), reason="../shared/data/real is not here (real frames are never committed)")
def test_real_icl_nuim_frames_as_a_sequence(tmp_path, enhancer):
    for kind in ("color", "depth"):
        (tmp_path / kind).mkdir()
        for i in (1, 2):  # two 640x480 frames are enough, and keep the test short
            shutil.copy(REAL / kind / f"{i}.png", tmp_path / kind / f"{i}.png")
    depths = [cv2.imread(str(tmp_path / "depth" / f"{i}.png"), cv2.IMREAD_UNCHANGED) for i in (1, 2)]
    colors = [cv2.imread(str(tmp_path / "color" / f"{i}.png"), cv2.IMREAD_COLOR)[..., ::-1] for i in (1, 2)]
    assert depths[0].dtype == np.uint16
    out = tmp_path / "out" / "%d.png"
    summary = enhance_file(tmp_path / "color" / "%d.png", tmp_path / "depth", out, enhancer=enhancer)
    got = [cv2.imread(str(tmp_path / "out" / f"{i}.png"), cv2.IMREAD_UNCHANGED) for i in (1, 2)]  # depth's numbers
    assert summary["frames"] == 2 and got[0].dtype == np.uint16 and got[0].shape == (480, 640)
    np.testing.assert_array_equal(np.stack(got), enhancer.enhance(np.stack(colors), np.stack(depths)))


def test_sequences_of_different_lengths_are_refused_naming_both_counts(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(4, (32, 24), bits=16)
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "depth", depths[:3])
    code = main([str(tmp_path / "rgb"), str(tmp_path / "depth"), "-o", str(tmp_path / "out" / "%06d.png"),
                 "--model", str(tiny_model), "--backend", "torch", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("igde-stream: error: ")
    assert "has 4 frames" in err and "depth sequence 3" in err
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("case, match", [
    ("gap", "numbering has a gap"),
    ("mixed", "several kinds"),
    ("empty", "is a folder without images"),
])
def test_bad_sequences_are_one_line_errors(tmp_path, tiny_model, capsys, case, match):
    colors, depths, _ = scene(3, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors)
    d = tmp_path / "depth"
    if case == "gap":
        write_png_sequence(d, depths[:2])
        cv2.imwrite(str(d / "000005.png"), depths[2])
        depth_arg = str(d / "%06d.png")
    elif case == "mixed":
        write_png_sequence(d, depths[:2])
        cv2.imwrite(str(d / "000002.tif"), depths[2])
        depth_arg = str(d)
    else:
        d.mkdir()
        depth_arg = str(d)
    code = main([str(tmp_path / "rgb"), depth_arg, "-o", str(tmp_path / "o.mkv"), "--model", str(tiny_model),
                 "--backend", "torch", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and match in err
    assert not (tmp_path / "o.mkv").exists()


def test_sequence_output_never_replaces_other_files_or_the_input(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(2, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "depth", depths)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("mine")
    base = [str(tmp_path / "rgb"), str(tmp_path / "depth"), "--model", str(tiny_model), "--backend", "torch", "-q",
            "-y"]
    assert main([*base, "-o", str(tmp_path / "out" / "%06d.png")]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert main([*base, "-o", str(tmp_path / "depth" / "%06d.png")]) == 2
    assert "holds the input" in capsys.readouterr().err
    assert (tmp_path / "out" / "notes.txt").read_text() == "mine" and len(list((tmp_path / "depth").iterdir())) == 2
    # an earlier run's frames are replaced with -y, and refused without it
    assert main([*base, "-o", str(tmp_path / "new" / "%06d.png")]) == 0
    assert main([*base[:-1], "-o", str(tmp_path / "new" / "%06d.png")]) == 2
    assert "already holds frames" in capsys.readouterr().err
    stale = tmp_path / ".new.igde-part-4194999"  # left by a killed run (no such process: above pid_max)
    stale.mkdir()
    (stale / "000000.png").write_bytes(b"half")
    assert main([*base, "-o", str(tmp_path / "new" / "%06d.png")]) == 0
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["000000.png", "000001.png"]
    assert leftovers(tmp_path) == []


def write_high_bit(path: Path, frames: list[np.ndarray], pix_fmt: str) -> Path:
    """Depth of more than 8 bits encoded with FFV1 (luma = the samples, neutral chroma for YUV)."""
    from igde_stream.stream.formats import depth_frame

    return encode_frames(path, [depth_frame(d, pix_fmt) for d in frames], "ffv1", pix_fmt)


@pytest.mark.parametrize("pix_fmt, bits", [("gray10le", 10), ("gray12le", 12), ("yuv420p10le", 10),
                                           ("yuv420p16le", 16)])
def test_high_bit_depth_is_normalised_by_its_own_peak_and_kept(tmp_path, enhancer, pix_fmt, bits):
    colors, depths16, _ = scene(4, (32, 24), bits=16)
    depths = [(d.astype(np.uint32) * ((1 << bits) - 1) // 65535).astype(np.uint16) for d in depths16]
    c = tmp_path / "c"
    write_png_sequence(c, colors)
    src = write_high_bit(tmp_path / "d.mkv", depths, pix_fmt)
    fmt, stored = luma_planes(src)
    assert fmt == pix_fmt and all(np.array_equal(a, b) for a, b in zip(stored, depths))  # the fixture is right
    summary = enhance_file(c, src, tmp_path / "o.mkv", enhancer=enhancer)
    fmt, got = luma_planes(tmp_path / "o.mkv")
    assert fmt == pix_fmt and summary["pix_fmt"] == pix_fmt and len(got) == 4
    # the peak is 2**bits - 1: the same frames normalised by 65535 would give other values
    peak = (1 << bits) - 1
    want = _with_peak(enhancer, peak).enhance(np.stack(colors), np.stack(depths))
    np.testing.assert_array_equal(np.stack(got), want)
    assert int(np.stack(got).max()) <= peak
    if bits < 16:
        assert not np.array_equal(want, enhancer.enhance(np.stack(colors), np.stack(depths)))
    assert enhancer.max_depth is None  # the caller's Enhancer is left as it was


def test_rgbd_output_of_10_bit_depth_reads_it_by_its_own_peak(tmp_path, enhancer):
    """The RGB-D output reads 10-bit depth as the network does, by 1023 (not 65535: near black)."""
    colors, depths16, _ = scene(2, (32, 24), bits=16)
    depths = [(d >> 6).astype(np.uint16) for d in depths16]
    c = tmp_path / "c"
    write_png_sequence(c, colors)
    src = write_high_bit(tmp_path / "d.mkv", depths, "gray10le")
    enhance_file(c, src, tmp_path / "o.mkv", enhancer=enhancer, rgbd_path=tmp_path / "rgbd.mkv")
    _, got = luma_planes(tmp_path / "o.mkv")
    frames = read_video(tmp_path / "rgbd.mkv")[0]
    assert len(frames) == 2
    for frame, d in zip(frames, got):
        want = np.rint(d.astype(np.float32) / np.float32(1023) * np.float32(255)).astype(np.uint8)
        np.testing.assert_array_equal(frame[:, 32:, 0], want)


def _with_peak(enhancer, peak):
    import copy

    e = copy.copy(enhancer)
    e.max_depth = float(peak)
    return e


def raw_yuv420p10le(path: Path, frames: list[np.ndarray]) -> Path:
    """Headerless yuv420p10le: the luma samples, then two quarter-size planes of neutral chroma (512)."""
    h, w = frames[0].shape
    chroma = np.full(2 * (h // 2) * (w // 2), 512, "<u2").tobytes()
    path.write_bytes(b"".join(d.astype("<u2").tobytes() + chroma for d in frames))
    return path


def test_raw_10_bit_yuv_goes_through_with_bit_depth_and_frame_count(tmp_path, tiny_model, enhancer, capsys):
    colors, depths16, _ = scene(5, (32, 24), bits=16)
    depths = [(d >> 6).astype(np.uint16) for d in depths16]  # 10-bit samples 0..1023
    write_png_sequence(tmp_path / "rgb", colors)
    raw = raw_yuv420p10le(tmp_path / "depth.yuv", depths)
    out = tmp_path / "out.mkv"
    code = main([str(tmp_path / "rgb"), str(raw), "-o", str(out), "--size", "32x24", "--pix-fmt", "yuv420p10le",
                 "--fps", "30", "--model", str(tiny_model), "--backend", "torch", "-q"])
    assert code == 0, capsys.readouterr().err
    fmt, got = luma_planes(out)
    assert fmt == "yuv420p10le" and len(got) == 5
    with av.open(str(out)) as c:
        assert c.streams.video[0].average_rate == 30
    np.testing.assert_array_equal(np.stack(got), _with_peak(enhancer, 1023).enhance(np.stack(colors), np.stack(depths)))


@pytest.mark.parametrize("extra, match", [
    ([], "raw video needs --size WxH and --pix-fmt"),
    (["--size", "32x24", "--pix-fmt", "rgb48le"], "yuv420p10le"),
    (["--size", "32x24", "--pix-fmt", "nonsense"], "not a supported raw depth format"),
    (["--size", "30x24", "--pix-fmt", "yuv420p10le"], "not a whole number of 30x24 yuv420p10le frames"),
])
def test_bad_raw_input_is_one_line_listing_what_is_supported(tmp_path, tiny_model, capsys, extra, match):
    colors, depths, _ = scene(2, (32, 24), bits=16)
    write_png_sequence(tmp_path / "rgb", colors)
    raw = raw_yuv420p10le(tmp_path / "depth.yuv", [d >> 6 for d in depths])
    out = tmp_path / "out.mkv"
    code = main([str(tmp_path / "rgb"), str(raw), "-o", str(out), *extra, "--model", str(tiny_model),
                 "--backend", "torch", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and err.startswith("igde-stream: error: ") and match in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["depth.yuv", "rgb"]


def test_a_failure_midway_leaves_no_sequence_folder(tmp_path, enhancer):
    from igde_stream.errors import IGDEError

    colors, depths, _ = scene(6, (32, 24), bits=16)
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "depth", depths)

    class FailsLater:
        batch, calls = 2, 0

        def enhance(self, color, depth):
            self.calls += 1
            if self.calls == 3:
                raise IGDEError("the backend failed")
            return enhancer.enhance(color, depth)

    with pytest.raises(IGDEError, match="the backend failed"):
        enhance_file(tmp_path / "rgb", tmp_path / "depth", tmp_path / "out" / "%06d.png", enhancer=FailsLater())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["depth", "rgb"]


def test_max_depth_above_a_10_bit_range_is_refused(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(2, (32, 24), bits=16)
    write_png_sequence(tmp_path / "rgb", colors)
    raw = raw_yuv420p10le(tmp_path / "depth.yuv", [d >> 6 for d in depths])
    code = main([str(tmp_path / "rgb"), str(raw), "-o", str(tmp_path / "o.mkv"), "--size", "32x24", "--pix-fmt",
                 "yuv420p10le", "--max-depth", "4000", "--model", str(tiny_model), "--backend", "torch", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.endswith("--max-depth 4000 is above the largest value of 10-bit depth "
                                      "(yuv420p10le: 0..1023)") and len(err.splitlines()) == 1
    assert not (tmp_path / "o.mkv").exists()


@pytest.mark.parametrize("bits,suffix", [(8, ".png"), (16, ".png"), (8, ".bmp"), (8, ".tif")])
def test_gray_depth_saved_as_rgb_is_read_as_its_channel(tmp_path, enhancer, bits, suffix):
    """Gray depth that a tool saved with three equal channels (rgb24, rgb48be, bgr24) gives the same
    run as the gray file itself: the same output values, written as plain gray of its bit depth."""
    colors, depths, _ = scene(3, (48, 32), bits=bits)
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "rgbdepth", [np.stack([d, d, d], -1) for d in depths], "{:06d}" + suffix)
    write_png_sequence(tmp_path / "gray", depths)
    a = enhance_file(tmp_path / "rgb", tmp_path / "rgbdepth", tmp_path / "a.mkv", enhancer=enhancer)
    b = enhance_file(tmp_path / "rgb", tmp_path / "gray", tmp_path / "b.mkv", enhancer=enhancer)
    assert a["pix_fmt"] == ("gray16le" if bits == 16 else "gray") and a["frames"] == b["frames"] == 3
    got, want = np.stack(read_video(tmp_path / "a.mkv")[0]), np.stack(read_video(tmp_path / "b.mkv")[0])
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(got, enhancer.enhance(np.stack(colors), np.stack(depths)))
    # an image sequence out (PNG takes RGB too): gray PNG of the depth's bit depth, not an RGB picture
    seq = enhance_file(tmp_path / "rgb", tmp_path / "rgbdepth", tmp_path / "out" / "%06d.png", enhancer=enhancer)
    pngs = read_pngs(tmp_path / "out")
    assert seq["pix_fmt"] in ("gray", "gray16be") and all(p.ndim == 2 for p in pngs)
    np.testing.assert_array_equal(np.stack(pngs), got)


def test_colour_picture_as_depth_is_one_line(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(2, (48, 32))
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "mapped", [np.stack([d, 255 - d, d // 2], -1) for d in depths])  # colour-mapped
    code = main([str(tmp_path / "rgb"), str(tmp_path / "mapped"), "-o", str(tmp_path / "o.mkv"),
                 "--model", str(tiny_model), "--backend", "torch", "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "three colour channels differ" in err, err
    assert not (tmp_path / "o.mkv").exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("pattern,fmt,foreign", [
    ("%d.png", "%d.png", ["000000.png", "00.png", "07.png", "a.png", "0.tif"]),
    ("%1d.png", "%01d.png", ["00.png", "07.png"]),
    ("%06d.png", "%06d.png", ["0.png", "00007.png", "0000007.png", "12345.png"]),
    ("%3d.tif", "%03d.tif", ["7.tif", "07.tif", "0007.tif", "  7.tif"]),
    ("f_%02d%%.png", "f_%02d%%.png", ["f_7%.png", "f_007%.png", "f_07.png", "f_07%%.png"]),
])
def test_sequence_names_are_exactly_those_the_pattern_writes(pattern, fmt, foreign):
    """FFmpeg's image2 muxer zero-pads the frame number to N digits for %0Nd and %Nd alike (checked:
    PyAV writing ``%3d.png`` gives 001.png ... 012.png), so ``fmt`` is the pattern as Python's ``%``
    writes it. Every name it writes matches; a name with more leading zeros than the padding, fewer
    digits, or other text does not: a user's 000000.png is not a frame of ``%d.png``."""
    from igde_stream.stream.imageseq import _name_regex

    regex = _name_regex(pattern)
    for k in [*range(1100), 123456, 10**7 + 3]:
        assert regex.fullmatch(fmt % k), fmt % k
    for name in foreign:
        assert not regex.fullmatch(name), name


def test_overwrite_keeps_a_folder_whose_numbered_names_the_pattern_never_writes(tmp_path, tiny_model, capsys):
    """``-o mine/%d.png -y`` on a folder of the user's 000000.png ...: %d never writes a leading zero,
    so those are not an earlier run's frames; refused, and every file stays."""
    colors, depths, _ = scene(2, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "depth", depths)
    write_png_sequence(tmp_path / "mine", depths)  # 000000.png, 000001.png
    before = {p.name: p.read_bytes() for p in (tmp_path / "mine").iterdir()}
    code = main([str(tmp_path / "rgb"), str(tmp_path / "depth"), "-o", str(tmp_path / "mine" / "%d.png"), "-y",
                 "--model", str(tiny_model), "--backend", "torch", "-q"])
    assert code == 2 and "holds other files (000000.png" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in (tmp_path / "mine").iterdir()} == before
    # the pattern that wrote them does replace them
    assert main([str(tmp_path / "rgb"), str(tmp_path / "depth"), "-o", str(tmp_path / "mine" / "%06d.png"), "-y",
                 "--model", str(tiny_model), "--backend", "torch", "-q"]) == 0


@pytest.mark.parametrize("names, pattern, count, files", [
    # %d is never zero-padded: 007.png is not frame 7 of %d (FFmpeg opens 7.png)
    (["007.png", "008.png", "009.png"], "%d.png", None, None),
    # %d reads 7, 8, ... and 009.png is not 9.png: the gap is at 9
    (["7.png", "8.png", "009.png", "10.png"], "%d.png", "frame {}/9.png is missing", None),
    # %04d: four digits, or more only without a leading zero; 00003.png is not frame 3
    (["0000.png", "0001.png", "0002.png", "00003.png"], "%04d.png", 3, ["0000.png", "0001.png", "0002.png"]),
    # %3d: FFmpeg zero-pads it like %03d (Python's % pads with spaces)
    (["007.png", "008.png", "009.png", "010.png", "0011.png"], "%3d.png", 4,
     ["007.png", "008.png", "009.png", "010.png"]),
    (["a%7.png", "a%8.png"], "a%%%d.png", 2, ["a%7.png", "a%8.png"]),
])
def test_input_patterns_match_the_names_ffmpeg_opens(tmp_path, names, pattern, count, files):
    """A printf pattern counts and names the files FFmpeg's image2 opens for it, not every file whose
    digits Python would read as a number (before: '%d' took 007.png and FFmpeg then failed to open
    7.png; a '%3d' gap was named '  9.png')."""
    from igde_stream.errors import InputError
    from igde_stream.stream.imageseq import sequence_files, sequence_frames

    for n in names:
        (tmp_path / n).write_bytes(b"")
    path = str(tmp_path / pattern)
    if count is None or isinstance(count, str):
        with pytest.raises(InputError, match="no file matches" if count is None else
                           re.escape(count.format(tmp_path))):
            sequence_frames(path)
        return
    assert sequence_frames(path)[2] == count
    assert sequence_files(path) == [str(tmp_path / f) for f in files]


def test_an_output_folder_that_is_a_link_gets_the_frames_and_stays_a_link(tmp_path, tiny_model):
    """-o link/%04d.png, link -> real/: the frames land in real/ (before: the run failed at its end,
    'Not a directory', or with -y the link was swapped for a new folder and real/ kept its old frame)."""
    colors, depths, _ = scene(3, (32, 24), bits=8)
    write_png_sequence(tmp_path / "rgb", colors)
    write_png_sequence(tmp_path / "depth", depths)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    args = [str(tmp_path / "rgb"), str(tmp_path / "depth"), "-o", str(tmp_path / "link" / "%04d.png"),
            "--model", str(tiny_model), "--backend", "torch", "-q"]
    assert main(args) == 0
    assert (tmp_path / "link").is_symlink() and sorted(p.name for p in (tmp_path / "real").iterdir()) == [
        "0000.png", "0001.png", "0002.png"]
    first = (tmp_path / "real" / "0000.png").read_bytes()
    (tmp_path / "real" / "0000.png").write_bytes(b"old")
    assert main(args + ["-y"]) == 0
    assert (tmp_path / "link").is_symlink() and (tmp_path / "real" / "0000.png").read_bytes() == first
    assert leftovers(tmp_path) == []
