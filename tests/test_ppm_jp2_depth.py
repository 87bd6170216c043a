"""Depth in 16-bit PPM (P6, maxval 65535: RGB of three equal channels, PPM having no gray; P5 is PGM)
and in JPEG 2000 (gray, lossless 5/3 wavelet), read and written exactly. Input files are written here
independently of FFmpeg (PPM / PGM from NumPy header bytes, JPEG 2000 by OpenCV's OpenJPEG); outputs
are read back by a NumPy PPM parser and by OpenCV, and compared value for value."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from igde_stream.errors import OutputError
from igde_stream.stream import DepthWriter, VideoReader
from test_stream_roundtrip import depth_info

W, H = 64, 48  # OpenJPEG's default resolution levels need a few tens of pixels a side


def _frames(n: int, peak: int, dtype: type) -> list[np.ndarray]:
    rng = np.random.default_rng(7)
    frames = [rng.integers(0, peak + 1, (H, W)).astype(dtype) for _ in range(n)]
    frames[0][0, :3] = (0, peak, peak // 2)  # both ends of the range
    return frames


def write_pnm(path: Path, d: np.ndarray, colour: bool) -> Path:
    """Binary P6 (three equal channels) or P5, maxval 65535: big-endian 16-bit samples after the header."""
    body = np.repeat(d[..., None], 3, axis=2) if colour else d
    path.write_bytes(b"P%d\n%d %d\n65535\n" % (6 if colour else 5, d.shape[1], d.shape[0]) + body.astype(">u2").tobytes())
    return path


def read_pnm(path: Path) -> np.ndarray:
    """A binary PGM / PPM (P5 / P6) by its header: 8-bit samples for maxval < 256, else big-endian 16-bit;
    a P6's channels must be equal (depth), its first returned."""
    data = path.read_bytes()
    magic, w, h, maxval, body = data.split(maxsplit=4)
    w, h, maxval = int(w), int(h), int(maxval)
    channels = {b"P5": 1, b"P6": 3}[magic]
    a = np.frombuffer(body, ">u2" if maxval > 255 else np.uint8).reshape(h, w, channels)
    assert (a == a[..., :1]).all()
    return a[..., 0].astype(np.uint16 if maxval > 255 else np.uint8)


def _read(path: Path | str) -> list[np.ndarray]:
    with VideoReader(path, "depth") as r:
        return [f.data for f in r.frames()]


def test_ppm_pgm_and_jp2_depth_files_read_exactly(tmp_path):
    frames = _frames(2, 65535, np.uint16)
    for name, write in (("ppm", lambda p, d: write_pnm(p, d, True)), ("pgm", lambda p, d: write_pnm(p, d, False)),
                        ("jp2", lambda p, d: cv2.imwrite(str(p), d, [cv2.IMWRITE_JPEG2000_COMPRESSION_X1000, 1000]))):
        folder = tmp_path / name
        folder.mkdir()
        for k, d in enumerate(frames):
            write(folder / f"{k:03d}.{name}", d)
        if name == "jp2":  # OpenJPEG wrote it losslessly: its own reading is the frames
            np.testing.assert_array_equal(cv2.imread(str(folder / "000.jp2"), cv2.IMREAD_UNCHANGED), frames[0])
        for path in (folder, folder / f"%03d.{name}", folder / f"001.{name}"):
            want = frames[1:] if str(path).endswith(f"001.{name}") else frames
            got = _read(path)
            assert got[0].dtype == np.uint16, path
            np.testing.assert_array_equal(np.stack(got), np.stack(want), err_msg=str(path))


@pytest.mark.parametrize("suffix", [".ppm", ".jp2"])
@pytest.mark.parametrize("fmt, peak, dtype", [("gray16le", 65535, np.uint16), ("gray", 255, np.uint8),
                                              ("gray10le", 1023, np.uint16)])
def test_ppm_and_jp2_outputs_keep_the_depth(tmp_path, suffix, fmt, peak, dtype):
    """10-bit depth is stored as its values (0..1023) in 16-bit samples, as in a 16-bit PNG: FFmpeg reads
    10-bit JPEG 2000 back scaled to 16 bits (1023 as 65472), so it is not written as 10-bit."""
    frames = _frames(2, peak, dtype)
    out = tmp_path / "out"
    with DepthWriter(out / f"%03d{suffix}", depth_info(Fraction(25), fmt, size=(W, H))) as w:
        for k, d in enumerate(frames):
            w.write(d, k)
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"000{suffix}", f"001{suffix}"]
    if suffix == ".ppm":
        back = [read_pnm(f) for f in files]
        assert files[0].read_bytes()[:2] == b"P6"
    else:
        back = [cv2.imread(str(f), cv2.IMREAD_UNCHANGED) for f in files]
    assert back[0].dtype == dtype
    np.testing.assert_array_equal(np.stack(back), np.stack(frames))
    np.testing.assert_array_equal(np.stack(_read(out)), np.stack(frames))  # and as igde-stream reads it


def test_one_depth_image_as_jp2(tmp_path):
    d = _frames(1, 65535, np.uint16)[0]
    with DepthWriter(tmp_path / "depth.jp2", depth_info(Fraction(25), "gray16le", size=(W, H))) as w:
        w.write(d, 0)
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "depth.jp2"), cv2.IMREAD_UNCHANGED), d)
    assert os.listdir(tmp_path) == ["depth.jp2"]


def test_a_bare_j2k_codestream_output_is_still_refused(tmp_path, enhancer):
    from igde_stream.stream import enhance_file

    for out in (tmp_path / "out" / "%03d.j2k", tmp_path / "depth.j2k"):
        with pytest.raises(OutputError, match=r"not \.j2k \(a bare codestream; JPEG 2000 depth is written as \.jp2"):
            enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", out, enhancer=enhancer)
    assert os.listdir(tmp_path) == []


def test_a_run_writes_jp2_and_ppm_as_it_writes_png(make_clip, enhancer, caplog):
    """The same run to .png, .jp2 and .ppm: every frame alike as OpenCV reads them; the JPEG 2000 output
    counts as lossless (no lossy warning)."""
    import logging

    from igde_stream.stream import enhance_file

    clip = make_clip(n=2, size=(64, 48), bits=16)
    got = {}
    for suffix in (".png", ".jp2", ".ppm"):
        out = clip["out"].parent / suffix[1:] / f"%06d{suffix}"
        with caplog.at_level(logging.WARNING, logger="igde_stream"):
            s = enhance_file(clip["color"], clip["depth"], out, enhancer=enhancer)
        assert s["lossless"] is True and not [m for m in caplog.messages if "lossy" in m.lower()], suffix
        got[suffix] = [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(out.parent.iterdir())]
    got[".ppm"] = [a[..., 0] for a in got[".ppm"]]
    assert len(got[".png"]) == 2 and got[".png"][0].dtype == np.uint16
    for suffix in (".jp2", ".ppm"):
        np.testing.assert_array_equal(np.stack(got[suffix]), np.stack(got[".png"]), err_msg=suffix)
