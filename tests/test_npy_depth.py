"""Depth clips saved as NumPy arrays (.npy T x H x W or H x W, .npz by key, per-frame .npy files): read
by ``stream.arrays`` and mapped as PFM / EXR are (float) or as 8/16-bit PNG (uint8 / uint16).

Frames are H x W = 24 x 32 (not square: a transpose shows) and differ frame to frame (an off-by-one
shows). Expected codes are worked by hand (``test_float_depth.codes_by_hand``), independent of
``floatdepth``."""

from __future__ import annotations

import json
import os
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.stream import VideoReader, enhance_file
from igde_stream.stream.sources import InputOptions
from test_float_depth import (SIZE, _Unchanged, codes_by_hand, float_scene, read_float_sequence, write_pfm,
                              write_sequences)
from test_formats import leftovers, read_pngs, write_png_sequence

H, W = SIZE[1], SIZE[0]


def frames_of(path, fps: int | None = None) -> tuple[object, list[float], list[np.ndarray]]:
    """(``VideoInfo``, frame times, frames as read without a float map) of a depth input."""
    with VideoReader(path, "depth", source=InputOptions(fps=Fraction(fps)) if fps else None) as r:
        info = r.info
        got = list(r.frames())
    return info, [f.time for f in got], [f.data for f in got]


def ramp_clip(n: int = 3) -> np.ndarray:
    """n x 24 x 32 float32: each value says its frame, row and column (v = 1 + k + y / 100 + x / 10000)."""
    k, y, x = np.mgrid[:n, :H, :W]
    return (1 + k + y / 100 + x / 10000).astype(np.float32)


def tiny_args(tiny_model) -> list[str]:
    return ["--model", str(tiny_model), "--backend", "torch", "-q"]


# --------------------------------------------------------------------------------------- reading


def test_every_array_layout_reads_as_the_same_frames_at_fps(tmp_path):
    clip = ramp_clip(3)
    np.save(tmp_path / "c.npy", clip)
    np.save(tmp_path / "fortran.npy", np.asfortranarray(clip))
    np.save(tmp_path / "big.npy", clip.astype(">f8"))  # float64, big-endian: read as float32
    np.savez_compressed(tmp_path / "vda.npz", depths=clip)  # Video Depth Anything: one array
    np.savez(tmp_path / "dc.npz", depth=clip, extra=np.zeros(3))  # DepthCrafter's key among others
    np.savez_compressed(tmp_path / "f.npz", depth=np.asfortranarray(clip))
    (tmp_path / "per").mkdir()
    for k in range(3):
        np.save(tmp_path / "per" / f"{k + 7:06d}.npy", clip[k])
    for path in ["c.npy", "fortran.npy", "big.npy", "vda.npz", "dc.npz", "dc.npz:depth", "f.npz", "per",
                 "per/%06d.npy"]:
        info, times, got = frames_of(tmp_path / path, fps=30)
        assert (info.width, info.height, info.frames, info.pix_fmt, info.kind) == (W, H, 3, "grayf32le", "array")
        assert info.rate == 30 and times == [0.0, 1 / 30, 2 / 30], path
        assert all(g.dtype == np.float32 and g.flags.c_contiguous for g in got)
        np.testing.assert_array_equal(np.stack(got), clip, err_msg=path)
    np.save(tmp_path / "half.npy", clip.astype(np.float16))  # float16: widened exactly
    np.testing.assert_array_equal(np.stack(frames_of(tmp_path / "half.npy")[2]), clip.astype(np.float16))
    np.save(tmp_path / "one.npy", clip[1])  # H x W: one frame
    info, times, got = frames_of(tmp_path / "one.npy")
    assert info.frames == 1 and info.rate == 25 and times == [0.0]
    np.testing.assert_array_equal(got[0], clip[1])


def test_integer_arrays_read_as_png_depth_of_their_bits(tmp_path):
    d16 = np.stack(scene(2, SIZE, bits=16)[1])
    d8 = np.stack(scene(2, SIZE, bits=8)[1])
    np.save(tmp_path / "d16.npy", d16.astype(">u2"))
    np.savez(tmp_path / "d8.npz", d8)  # one unnamed array (arr_0)
    for path, want, fmt in (("d16.npy", d16, "gray16le"), ("d8.npz", d8, "gray")):
        info, _, got = frames_of(tmp_path / path)
        assert info.pix_fmt == fmt and info.bits == 8 * want.itemsize
        assert got[0].dtype == want.dtype
        np.testing.assert_array_equal(np.stack(got), want)


def test_npz_key_rule(tmp_path, capsys):
    clip = ramp_clip(2)
    np.savez(tmp_path / "only.npz", pred=clip)  # one array: whatever its name
    np.savez(tmp_path / "several.npz", mask=clip + 10, depth=clip, conf=clip + 20)  # "depth" among others
    np.savez(tmp_path / "nodepth.npz", mask=clip + 10, pred=clip, conf=clip + 20)
    np.testing.assert_array_equal(np.stack(frames_of(tmp_path / "only.npz")[2]), clip)
    np.testing.assert_array_equal(np.stack(frames_of(tmp_path / "several.npz")[2]), clip)
    np.testing.assert_array_equal(np.stack(frames_of(tmp_path / "nodepth.npz:pred")[2]), clip)
    np.testing.assert_array_equal(np.stack(frames_of(tmp_path / "several.npz:conf")[2]), clip + 20)
    write_png_sequence(tmp_path / "rgb", scene(2, SIZE)[0])
    before = sorted(os.listdir(tmp_path))
    for name, want in (("nodepth.npz", "holds 3 arrays (mask, pred, conf) and none named 'depth'"),
                       ("several.npz:dpeth", "has no array 'dpeth'; its arrays: mask, depth, conf")):
        code = main([str(tmp_path / "rgb"), str(tmp_path / name), "-o", str(tmp_path / "o.mkv"), "-q"])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.splitlines() == [err] and want in err and name in err, err
    assert sorted(os.listdir(tmp_path)) == before


# ------------------------------------------------------------------------------------ whole runs


def test_cli_npz_clip_equals_the_model_on_the_hand_mapped_codes(tmp_path, tiny_model, enhancer, capsys):
    colors, depths, _ = float_scene(3)
    write_png_sequence(tmp_path / "rgb", colors)
    np.savez_compressed(tmp_path / "depths.npz", depths=np.stack(depths))
    out = tmp_path / "out" / "%06d.png"
    code = main([str(tmp_path / "rgb"), str(tmp_path / "depths.npz"), "-o", str(out), *tiny_args(tiny_model)[:-1]])
    assert code == 0 and "float depth 0.5..2.5 (first frame)" in capsys.readouterr().out
    codes = np.stack([codes_by_hand(d, 0.5, 2.5) for d in depths])
    want = enhancer.enhance(np.stack(colors), codes)
    np.testing.assert_array_equal(np.stack(read_pngs(out.parent)), want)
    assert not np.array_equal(want, codes)


@pytest.mark.parametrize("order", ["near-high", "far-high"])
def test_a_value_the_model_leaves_alone_comes_back_as_read(tmp_path, order):
    """Float in, PFM out, through a stand-in that changes nothing: with LO..HI = 0.5..2.5 (near-high,
    the first frame's min..max) or 0..5 (far-high: 0..max), a step is (HI - LO) / 65534; 1.5 near-high is
    code 1 + 0.5 x 65534 = 32768, on the grid; 1.0 is code 1 + rint(16383.5) = 16385, whose inverse is
    0.5 + 16384 x 2 / 65534 = 1.0000153, off by a third of a step: both come back as read, 1.5 and 1.0
    (before 2026-12-08 the second came back as 1.0000153); far-high 2.5 is code 32768, back 2.5."""
    far = order == "far-high"
    _, depths, _ = float_scene(2, far)
    depths[1][3, 3], depths[1][3, 4] = 1.5 if not far else 2.5, 1.0
    np.save(tmp_path / "d.npy", np.stack(depths))
    write_png_sequence(tmp_path / "rgb", scene(2, SIZE)[0])
    summary = enhance_file(tmp_path / "rgb", tmp_path / "d.npy", tmp_path / "o" / "%06d.pfm", enhancer=_Order(order))
    back = read_float_sequence(tmp_path / "o", ".pfm")
    lo, hi = (0.0, 5.0) if far else (0.5, 2.5)
    assert (summary["float_range"]["lo"], summary["float_range"]["hi"]) == (lo, hi)
    if far:
        assert back[1][3, 3] == np.float32(2.5)
        assert back[1][3, 4] == np.float32(1.0)  # code 1 + rint(0.2 x 65534) = 13108, left alone: as read
        assert np.isnan(back[0][9, 3])  # a distance of 0: no value, back as NaN
    else:
        assert back[1][3, 3] == np.float32(1.5)
        assert back[1][3, 4] == np.float32(1.0) != np.float32(0.5 + 16384 * 2.0 / 65534)
    assert np.isnan(back[0][5, 7]) and np.isnan(back[1][5, 8])  # NaN holes stay holes
    both = np.isfinite(back)
    assert np.array_equal(back[both], np.stack(depths)[both].astype(np.float32))  # every value as read


class _Order(_Unchanged):
    """The stand-in that changes nothing, reading depth in ``depth_order``."""

    def __init__(self, order: str) -> None:
        self.depth_order = order


def test_uint16_npy_frames_left_alone_come_back_exactly(tmp_path):
    d16 = scene(2, SIZE, bits=16)[1]
    (tmp_path / "per").mkdir()
    for k, d in enumerate(d16):
        np.save(tmp_path / "per" / f"{k}.npy", d)
    write_png_sequence(tmp_path / "rgb", scene(2, SIZE)[0])
    summary = enhance_file(tmp_path / "rgb", tmp_path / "per" / "%d.npy", tmp_path / "o" / "%06d.png",
                           enhancer=_Unchanged())
    assert summary["float_range"] is None and summary["frames"] == 2
    np.testing.assert_array_equal(np.stack(read_pngs(tmp_path / "o")), np.stack(d16))


def test_npy_clip_and_the_same_frames_as_pfm_give_identical_outputs(tmp_path, enhancer):
    colors, depths, gts = float_scene(3)
    pfm = write_sequences(tmp_path, colors, depths)
    gt_pfm = tmp_path / "gt_pfm"
    gt_pfm.mkdir()
    for k, g in enumerate(gts):
        write_pfm(gt_pfm / f"{k:06d}.pfm", g)
    np.save(tmp_path / "d.npy", np.stack(depths))
    np.savez_compressed(tmp_path / "gt.npz", depth=np.stack(gts))
    runs = {}
    for name, depth, gt in (("pfm", pfm, gt_pfm), ("npy", tmp_path / "d.npy", tmp_path / "gt.npz")):
        for suffix in (".png", ".pfm"):
            summary = enhance_file(tmp_path / "rgb", depth, tmp_path / f"{name}{suffix[1:]}" / f"%06d{suffix}",
                                   gt_path=gt, report_path=tmp_path / f"{name}{suffix[1:]}.json", enhancer=enhancer)
            assert summary["matched_frames"] == 3
            rows = json.loads((tmp_path / f"{name}{suffix[1:]}.json").read_text())["frames"]
            runs[name, suffix] = (summary["float_range"], [(r["mse"], r["psnr"]) for r in rows])
    for suffix in (".png", ".pfm"):
        assert runs["pfm", suffix] == runs["npy", suffix]
        a = sorted((tmp_path / f"pfm{suffix[1:]}").iterdir())
        b = sorted((tmp_path / f"npy{suffix[1:]}").iterdir())
        assert [p.name for p in a] == [p.name for p in b] and len(a) == 3
        assert all(p.read_bytes() == q.read_bytes() for p, q in zip(a, b))
    np.testing.assert_array_equal(np.stack(read_pngs(tmp_path / "npypng")),
                                  enhancer.enhance(np.stack(colors),
                                                   np.stack([codes_by_hand(d, 0.5, 2.5) for d in depths])))


def test_array_beside_a_colour_video_takes_its_rate_from_fps(tmp_path, tiny_model, capsys):
    colors, depths, _ = float_scene(3)
    write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(30))
    np.save(tmp_path / "d.npy", np.stack(depths))
    args = [str(tmp_path / "c.mkv"), str(tmp_path / "d.npy"), *tiny_args(tiny_model)]
    code = main([*args, "-o", str(tmp_path / "o.mkv")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.splitlines() == [err] and "give --fps 30" in err and "depth array" in err
    assert not (tmp_path / "o.mkv").exists()
    assert main([*args, "-o", str(tmp_path / "o.mkv"), "--fps", "30"]) == 0
    with VideoReader(tmp_path / "o.mkv", "depth") as r:
        times = [f.pts_time for f in r.frames()]
    assert r.info.rate == 30 and times == pytest.approx([0, 1 / 30, 2 / 30], abs=1e-3)  # Matroska keeps ms


# ---------------------------------------------------------------------------------------- errors


def test_bad_arrays_are_one_line_exit_2_with_nothing_written(tmp_path, tiny_model, capsys):
    clip = ramp_clip(2)
    write_png_sequence(tmp_path / "rgb", scene(2, SIZE)[0])
    write_png_sequence(tmp_path / "rgb3", scene(3, SIZE)[0])
    bad = tmp_path / "bad"
    bad.mkdir()
    np.save(bad / "i32.npy", clip.astype(np.int32))
    np.save(bad / "bool.npy", clip > 1.5)
    np.save(bad / "cplx.npy", clip.astype(np.complex64))
    np.save(bad / "obj.npy", np.array([clip[0], None], dtype=object), allow_pickle=True)
    np.save(bad / "4d.npy", clip[:, None])
    np.save(bad / "rgb.npy", np.stack([clip[0]] * 3, -1))
    np.save(bad / "1d.npy", clip[0, 0])
    np.save(bad / "empty.npy", clip[:0])
    (bad / "junk.npy").write_bytes(b"not an array at all")
    np.save(bad / "cut.npy", clip)
    (bad / "cut.npy").write_bytes((bad / "cut.npy").read_bytes()[:-100])
    np.savez(bad / "cut.npz", depth=clip)
    (bad / "cut.npz").write_bytes((bad / "cut.npz").read_bytes()[:300])
    np.savez(bad / "pickled.npz", depth=np.array([None, 1], dtype=object))
    np.savez(bad / "crc.npz", depth=clip)  # stored: a byte of the last frame flipped, found by the zip's CRC
    blob = bytearray((bad / "crc.npz").read_bytes())
    blob[blob.find(clip[-1].tobytes()[-64:])] ^= 0xFF
    (bad / "crc.npz").write_bytes(bytes(blob))
    np.save(bad / "ok.npy", clip)
    for name, frames in (("sizes", [clip[0], clip[1][:, :-1]]), ("types", [clip[0], clip[1].astype(np.float64)])):
        (bad / name).mkdir()
        for k, f in enumerate(frames):
            np.save(bad / name / f"{k}.npy", f)
    (bad / "mixed").mkdir()
    np.save(bad / "mixed" / "0.npy", clip[0])
    write_png_sequence(bad / "mixed", [scene(1, SIZE, bits=16)[1][0]], pattern="{:06d}.png")
    rgb, rgb3 = str(tmp_path / "rgb"), str(tmp_path / "rgb3")
    cases = [
        ([rgb, "i32.npy"], "holds int32 values (<i4); depth arrays are float"),
        ([rgb, "bool.npy"], "holds bool values"),
        ([rgb, "cplx.npy"], "holds complex values"),
        ([rgb, "obj.npy"], "holds Python object values"),
        ([rgb, "pickled.npz"], "array 'depth' holds Python object values"),
        ([rgb, "4d.npy"], "is 4-D (2 x 1 x 24 x 32)"),
        ([rgb, "rgb.npy"], "is 24 x 32 x 3: 3 channels"),
        ([rgb, "1d.npy"], "is 1-D (32)"),
        ([rgb, "empty.npy"], "is empty (0 x 24 x 32)"),
        ([rgb, "junk.npy"], "not a NumPy .npy file"),
        ([rgb, "cut.npy"], "truncated or damaged .npy data"),
        ([rgb, "cut.npz"], "not a NumPy .npz file"),
        ([rgb, "crc.npz"], "truncated or damaged array data (found reading frame 1): Bad CRC-32"),
        ([rgb, "sizes"], "frame 1 (1.npy) is 24 x 31 float32, the frames before it 24 x 32 float32"),
        ([rgb, "types"], "frame 1 (1.npy) is 24 x 32 float64"),
        ([rgb, "mixed"], "folder holds .npy arrays and images (000000.png, ...)"),
        ([rgb3, "ok.npy"], "the colour sequence has 3 frames and the depth array 2"),
        (["ok.npy", "ok.npy"], "NumPy arrays are read as depth (and --gt), not as colour"),
        ([rgb, "ok.npy", "--gt", "i32.npy"], "holds int32 values"),
        ([rgb, "ok.npy", "-o", str(tmp_path / "out.npy")], "NumPy arrays are read, not written"),
        ([rgb, "ok.npy", "-o", str(tmp_path / "o" / "%06d.npy")], "NumPy arrays are read, not written"),
    ]
    before = sorted(os.listdir(tmp_path))
    for args, match in cases:
        args = [a if os.path.isabs(a) or a.startswith("-") else str(bad / a) for a in args]
        out = [] if "-o" in args else ["-o", str(tmp_path / "o.mkv")]
        code = main([*args, *out, *tiny_args(tiny_model)])
        err = capsys.readouterr().err.strip()
        assert code == 2 and err.splitlines() == [err] and match in err, (args, err)
        assert sorted(os.listdir(tmp_path)) == before and leftovers(tmp_path) == [], args


def test_views_commands_take_fps_for_arrays_beside_a_colour_video(tmp_path, capsys):
    # views render / quality read arrays (and image sequences) at --fps as igde-stream does: without it
    # a 30 fps colour video met the arrays' 25 fps frames and the run ended in a pairing error that named
    # no fix; now the rate is checked first and the error names --fps
    from igde_stream import views_cli

    colors, _, gts = scene(3, SIZE, bits=16)
    write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(30))
    np.save(tmp_path / "d.npy", np.stack(gts))
    np.save(tmp_path / "g.npy", np.stack(gts))
    render = ["render", str(tmp_path / "c.mkv"), str(tmp_path / "d.npy"), "-o", str(tmp_path / "v.mkv"), "--views", "2",
              "-q"]
    quality = ["quality", str(tmp_path / "c.mkv"), "--gt", str(tmp_path / "g.npy"), "--depth", f"d={tmp_path / 'd.npy'}",
               "--views", "2", "--report", str(tmp_path / "q.json"), "-q"]
    for argv in (render, quality):
        assert views_cli.main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert err.splitlines() == [err] and "give --fps 30" in err, err
    assert not (tmp_path / "v.mkv").exists() and not (tmp_path / "q.json").exists()
    assert views_cli.main([*render, "--fps", "30"]) == 0
    with VideoReader(tmp_path / "v.mkv", "color") as r:
        assert len(list(r.frames())) == 3
    assert views_cli.main([*quality, "--fps", "30"]) == 0
    report = json.loads((tmp_path / "q.json").read_text())
    assert report["frames"] == 3 and report["depths"]["d"]["mean"]["mse"] == 0  # d is the truth: views alike


def test_depth_colormap_with_an_array_says_it_reads_the_array_as_stored(tmp_path, caplog):
    # the option is for colour pictures; an array has one value a pixel and is read as it is, as a gray
    # video is, and the log says so instead of passing over the option in silence
    import logging

    np.save(tmp_path / "d.npy", ramp_clip(2))
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        with VideoReader(tmp_path / "d.npy", "depth", source=InputOptions(depth_colormap="inferno")) as r:
            frames = [f.data for f in r.frames()]
    assert [np.asarray(f).dtype for f in frames] == [np.float32, np.float32]
    assert any("read as stored (--depth-colormap inferno" in m for m in caplog.messages), caplog.messages
