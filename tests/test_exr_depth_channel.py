"""OpenEXR depth in a channel FFmpeg's decoder does not read (``igde_stream.stream.exrdepth``): a Z pass
beside the colour, Blender's multilayer ``ViewLayer.Depth.Z``, Nuke's ``depth.Z``, ``Z`` alone.

Before 2026-12-07 such files were refused ("save the depth alone as channel Y"), so a render's own
multichannel EXR could not go in; now the depth channel is read, and the same file gives the colour.
The files here are written from the OpenEXR layout (ZIP blocks as OpenEXR writes them: bytes split
in two halves, a byte-delta predictor, zlib), independently of the reader."""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from igde_stream.errors import InputError
from igde_stream.stream.exrdepth import depth_channel
from igde_stream.stream.imagehead import exr_dropped_depth, is_depth_channel
from igde_stream.stream.reader import VideoReader

HALF, FLOAT = 1, 2


def write_exr(path: Path, channels: dict[str, np.ndarray], types: dict[str, int] | None = None,
              compression: int = 3) -> Path:
    """A scanline OpenEXR file of ``channels`` (name -> H x W), each of pixel type ``types[name]`` (half
    or float, default float), compression 0 (none), 2 (ZIP, 1 line a block) or 3 (ZIP, 16 lines)."""
    names = sorted(channels)
    types = {n: (types or {}).get(n, FLOAT) for n in names}
    h, w = channels[names[0]].shape

    def attr(name: str, kind: str, value: bytes) -> bytes:
        return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value

    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", types[n], 0, 1, 1) for n in names) + b"\0"
    box = struct.pack("<4i", 0, 0, w - 1, h - 1)
    header = (b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + attr("channels", "chlist", chlist)
              + attr("compression", "compression", bytes([compression])) + attr("dataWindow", "box2i", box)
              + attr("displayWindow", "box2i", box) + attr("lineOrder", "lineOrder", b"\0")
              + attr("pixelAspectRatio", "float", struct.pack("<f", 1)) + attr("screenWindowCenter", "v2f", bytes(8))
              + attr("screenWindowWidth", "float", struct.pack("<f", 1)) + b"\0")
    per = {0: 1, 2: 1, 3: 16}[compression]
    blocks = []
    for y0 in range(0, h, per):
        raw = b"".join(channels[n][y].astype("<f2" if types[n] == HALF else "<f4").tobytes()
                       for y in range(y0, min(h, y0 + per)) for n in names)
        data = raw
        if compression:
            b = np.frombuffer(raw, np.uint8)
            t = np.concatenate([b[0::2], b[1::2]]).astype(np.int16)
            t[1:] = (np.diff(t) + 128) % 256
            packed = zlib.compress(t.astype(np.uint8).tobytes())
            data = packed if len(packed) < len(raw) else raw
        blocks.append(struct.pack("<ii", y0, len(data)) + data)
    offsets, at = [], len(header) + 8 * len(blocks)
    for block in blocks:
        offsets.append(at)
        at += len(block)
    path.write_bytes(header + struct.pack(f"<{len(blocks)}Q", *offsets) + b"".join(blocks))
    return path


def _frame(k: int) -> tuple[np.ndarray, np.ndarray]:
    """Distance (48 x 64, metres: wall 6, box 1.5 moving 3 px a frame, sky 1e10 in the top 8 rows) and
    linear colour with the same edges."""
    yy, xx = np.mgrid[0:48, 0:64]
    z = np.full((48, 64), 6.0, np.float32)
    box = (abs(xx - 24 - 3 * k) < 9) & (abs(yy - 26) < 10)
    z[box] = 1.5
    z[yy < 8] = 1e10
    rgb = np.full((48, 64, 3), 0.18, np.float32)
    rgb[box] = (0.7, 0.08, 0.04)
    rgb[yy < 8] = (0.3, 0.5, 1.2)
    return z, rgb


def _blender(path: Path, k: int, compression: int = 3) -> Path:
    """A Blender multilayer file: Combined RGBA in half, Depth.Z in float, a normal pass whose Z is no depth."""
    z, rgb = _frame(k)
    chans = {f"ViewLayer.Combined.{c}": rgb[..., i] for i, c in enumerate("RGB")}
    chans["ViewLayer.Combined.A"] = np.ones_like(z)
    chans.update({"ViewLayer.Depth.Z": z, "ViewLayer.Normal.X": z * 0, "ViewLayer.Normal.Y": z * 0,
                  "ViewLayer.Normal.Z": z * 0 + 1})
    types = {n: HALF for n in chans if "Depth" not in n}
    return write_exr(path, chans, types, compression)


@pytest.mark.parametrize("names, want", [
    (["Y"], None), (["A", "Y"], None), (["B", "G", "R"], None), (["A", "B", "G", "R"], None),
    (["B", "G", "R", "Z"], "Z"), (["A", "B", "G", "R", "Z"], "Z"), (["B", "G", "R", "depth.Z"], "depth.Z"),
    (["B", "G", "R", "depth"], "depth"), (["Z"], "Z"), (["R"], "R"), (["A", "Z"], "Z"),
    (["ViewLayer.Combined.R", "ViewLayer.Depth.Z", "ViewLayer.Normal.Z"], "ViewLayer.Depth.Z"),
    (["B", "G", "N.Z", "R"], None), (["B", "G", "R", "Z", "depth.Z"], None), (["R", "G"], None)])
def test_which_channel_is_the_depth(names, want):
    """Z alone or in a depth layer, or named depth / distance; the one channel of a file; never a
    normal's or position's Z; none where FFmpeg reads the file itself or two channels claim the depth."""
    assert depth_channel(names) == want


@pytest.mark.parametrize("compression", [0, 2, 3])
def test_blender_multilayer_depth_is_read_value_for_value(tmp_path, compression):
    for k in range(2):
        _blender(tmp_path / f"shot.{1001 + k:04d}.exr", k, compression)
    with VideoReader(str(tmp_path / "shot.%04d.exr"), "depth") as r:
        got = [f.data for f in r.frames()]
        assert r.info.pix_fmt == "grayf32le" and (r.info.width, r.info.height) == (64, 48)
    assert len(got) == 2 and all(np.array_equal(g, _frame(k)[0]) for k, g in enumerate(got))


def test_half_z_beside_float_colour_widened_exactly(tmp_path):
    z, rgb = _frame(0)
    z[:8] = np.inf  # a half's sky (1e10 is beyond half floats)
    z[8:] += np.linspace(0, 0.3, 64, dtype=np.float32)  # values a half cannot hold: rounded as NumPy rounds
    write_exr(tmp_path / "a.exr", {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "Z": z}, {"Z": HALF})
    with VideoReader(str(tmp_path / "a.exr"), "depth") as r:
        got = next(r.frames()).data
    np.testing.assert_array_equal(got, z.astype(np.float16).astype(np.float32))


def test_a_later_image_without_the_channel_is_refused_when_it_opens(tmp_path):
    _blender(tmp_path / "shot.1001.exr", 0)
    z, _ = _frame(1)
    write_exr(tmp_path / "shot.1002.exr", {"Y": z})
    with pytest.raises(InputError, match=r"image 1 \(shot\.1002\.exr\) has no channel ViewLayer\.Depth\.Z \(its "
                                         r"channels: Y\), the first image's depth channel"):
        VideoReader(str(tmp_path / "shot.%04d.exr"), "depth")


def test_one_multichannel_sequence_as_colour_and_depth_gives_the_run_of_separate_files(tmp_path):
    """The command on a render's own files: ``shot.%04d.exr`` as colour (its R, G, B, linear) and as
    depth (its Z), frames from 1001, against the same frames as a Y-only EXR depth (FFmpeg reads that
    one alone) beside the same colour: the same output files, byte for byte, numbered 1001..1003."""
    (tmp_path / "multi").mkdir()
    (tmp_path / "y").mkdir()
    for k in range(3):
        z, rgb = _frame(k)
        write_exr(tmp_path / "multi" / f"shot.{1001 + k:04d}.exr",
                  {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "Z": z}, {c: HALF for c in "RGB"})
        write_exr(tmp_path / "y" / f"shot.{1001 + k:04d}.exr", {"Y": z})
    multi = str(tmp_path / "multi" / "shot.%04d.exr")
    outs = []
    for depth, out in ((multi, "a"), (str(tmp_path / "y" / "shot.%04d.exr"), "b")):
        run = subprocess.run([sys.executable, "-m", "igde_stream", multi, depth, "-o",
                              str(tmp_path / out / "shot.%04d.exr"), "--depth-order", "far-high", "--threads", "1"],
                             capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        outs.append(sorted((tmp_path / out).iterdir()))
    assert [p.name for p in outs[0]] == ["shot.1001.exr", "shot.1002.exr", "shot.1003.exr"]
    assert [p.read_bytes() for p in outs[0]] == [p.read_bytes() for p in outs[1]]
    with VideoReader(str(outs[0][0]), "depth") as r:  # the scene's metres and the sky, not codes
        got = next(r.frames()).data
    assert np.all(got[:8] == np.float32(1e10)) and abs(float(got[26, 24]) - 1.5) < 1e-3


def test_depth_in_r_of_an_rgb_file_is_refused_saying_how_to_name_it_and_that_name_is_read(tmp_path):
    """Depth shuffled into R beside other G and B cannot be told from colour: one line, naming the fix
    (before 2026-12-07 it said only that the channels differ); done, the same values read back as depth."""
    z, _ = _frame(0)
    zero = np.zeros_like(z)
    write_exr(tmp_path / "r.exr", {"R": z, "G": zero, "B": zero})
    with pytest.raises(InputError) as info:
        with VideoReader(str(tmp_path / "r.exr"), "depth") as r:
            list(r.frames())
    said = str(info.value)
    assert "the three channels differ" in said and "rename that channel Z" in said and "\n" not in said
    write_exr(tmp_path / "z.exr", {"Z": z, "G": zero, "B": zero})
    with VideoReader(str(tmp_path / "z.exr"), "depth") as r:
        assert np.array_equal(next(r.frames()).data, z)


def test_depth_in_r_of_an_rgba_file_is_refused_naming_the_rename_not_the_alpha(tmp_path):
    """R, G, B and A (a compositor's shuffle into rgba, alpha 1) decode as gbrapf32le, refused for its
    format before any channel is compared: the line advised extracting the alpha, which holds 1, and not
    the rename of the depth channel that is read; so did an RGBA file of four equal channels. Renamed Z,
    the same values come back as depth."""
    z, _ = _frame(0)
    zero, one = np.zeros_like(z), np.ones_like(z)
    shuffled, equal = {"R": z, "G": zero, "B": zero, "A": one}, {c: z for c in "RGBA"}
    for name, chans in (("r.exr", shuffled), ("g.exr", equal)):
        write_exr(tmp_path / name, chans)
        with pytest.raises(InputError) as info:
            VideoReader(str(tmp_path / name), "depth")
        said = str(info.value)
        assert "pixel format gbrapf32le" in said and "rename that channel Z" in said, name
        assert "alphaextract" not in said and "\n" not in said, name
    write_exr(tmp_path / "z.exr", {"Z": z, "G": zero, "B": zero, "A": one})
    with VideoReader(str(tmp_path / "z.exr"), "depth") as r:
        assert np.array_equal(next(r.frames()).data, z)


def test_blender_multilayer_colour_is_read_from_its_combined_layer(tmp_path):
    """Colour from a multilayer file holds R, G, B only inside layers (ViewLayer.Combined.R ...), which
    FFmpeg's decoder reads with its layer option: before 2026-12-07 "video stream without a frame size"
    (advising to save the depth as Y). Now the Combined layer: the same colour frames as those of the
    same values as a plain R, G, B file, and the whole run on the one multilayer sequence works."""
    (tmp_path / "multi").mkdir()
    (tmp_path / "plain").mkdir()
    for k in range(2):
        _blender(tmp_path / "multi" / f"shot.{1001 + k:04d}.exr", k)
        rgb = _frame(k)[1]
        write_exr(tmp_path / "plain" / f"shot.{1001 + k:04d}.exr", {c: rgb[..., i] for i, c in enumerate("RGB")},
                  {c: HALF for c in "RGB"})
    got = {}
    for name in ("multi", "plain"):
        with VideoReader(str(tmp_path / name / "shot.%04d.exr"), "color") as r:
            got[name] = [f.data for f in r.frames()]
    assert len(got["multi"]) == 2 and all(np.array_equal(a, b) for a, b in zip(got["multi"], got["plain"]))
    assert got["multi"][0][30, 5].tolist() == [118, 118, 118]  # 0.18 linear -> sRGB 118 (the wall)
    multi = str(tmp_path / "multi" / "shot.%04d.exr")
    run = subprocess.run([sys.executable, "-m", "igde_stream", multi, multi, "-o", str(tmp_path / "out" / "shot.%04d.exr"),
                          "--depth-order", "far-high", "--threads", "1"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "colour read from the OpenEXR layer ViewLayer.Combined" in run.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["shot.1001.exr", "shot.1002.exr"]


def test_a_given_range_reads_a_channel_sequence_ahead_as_images_first_frame_only(tmp_path, monkeypatch, caplog):
    """A depth channel is read through the NumPy clip's reader, but it is images: with --float-range only
    the first frame is read ahead for the narrow-range warning, as for the same depth saved as Y (FFmpeg's),
    not every image of the sequence decoded once more before the run (a render's thousand EXRs)."""
    import logging

    from igde_stream.stream import enhance_file, exrdepth

    (tmp_path / "multi").mkdir()
    (tmp_path / "y").mkdir()
    for k in range(12):
        z, rgb = _frame(k)
        write_exr(tmp_path / "multi" / f"{k:04d}.exr", {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "Z": z})
        write_exr(tmp_path / "y" / f"{k:04d}.exr", {"Y": z})
    reads = []
    read = exrdepth.ExrChannelClip._read
    monkeypatch.setattr(exrdepth.ExrChannelClip, "_read", lambda self, k: reads.append(k) or read(self, k))

    class Same:  # the depth back as it came; the Z pass is distance
        batch, backend_name, depth_order = 2, "same", "far-high"

        def enhance(self, color, depth):
            return depth

    said = []
    for depth in ("multi", "y"):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
            enhance_file(tmp_path / "multi", tmp_path / depth, tmp_path / f"{depth}.mkv", enhancer=Same(),
                         float_range=(0.0, 100.0), max_frames=2)
        said.append([r.getMessage().split(": ", 1)[1] for r in caplog.records if "spans only" in r.getMessage()])
    assert said[0] == said[1] and len(said[0]) == 1 and "in the first frame (0..6.00009156" in said[0][0]
    assert max(reads) < 11  # the run's two frames and a batch ahead; not images 11 and before, read for a range


@pytest.mark.parametrize("name, depth", [
    ("Z", True), ("depth.Z", True), ("ViewLayer.Depth.Z", True), ("distance.Z", True), ("z.Z", True),
    ("depth", True), ("Distance", True), ("ViewLayer.depth", True),
    ("Normal.Z", False), ("ViewLayer.Normal.Z", False), ("P.Z", False), ("N.Z", False), ("z", False), ("Y", False)])
def test_one_rule_says_which_channel_names_are_depth(name, depth):
    """The rule the reader (which channel it reads) and the header check (what FFmpeg would drop beside
    R, G, B) both go by: a Z is depth alone or in a depth layer, never a normal's or a position's."""
    assert is_depth_channel(name) == depth
    assert (exr_dropped_depth(["B", "G", "R", name]) is not None) == depth
    assert (depth_channel(["B", "G", "R", name]) == name) == depth


def test_gray_depth_as_rgb_beside_a_normal_pass_is_read_not_refused(tmp_path):
    """R = G = B = the depth (a gray depth pass written as RGB) beside Normal.X, .Y, .Z: a normal's Z is
    no depth, so FFmpeg's reading of R, G, B stands (it skips Normal.*, whose Z it does not map to B),
    and the values come back; before, the header check took Normal.Z for a depth FFmpeg would drop and
    refused the file ("the depth would be taken from the colour channels")."""
    z, _ = _frame(0)
    write_exr(tmp_path / "n.exr", {"R": z, "G": z, "B": z, "Normal.X": z * 0, "Normal.Y": z * 0,
                                   "Normal.Z": z * 0 + 1})
    with VideoReader(str(tmp_path / "n.exr"), "depth") as r:
        assert np.array_equal(next(r.frames()).data, z)
    assert exr_dropped_depth(["B", "G", "Normal.X", "Normal.Y", "Normal.Z", "R"]) is None
    said = exr_dropped_depth(["B", "G", "Normal.Z", "R", "depth.Z", "Z"])  # two depths beside the colour
    assert said is not None and "drops depth.Z, Z" in said
