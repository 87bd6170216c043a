"""Scene-linear OpenEXR colour (a VFX plate) is read as a viewer shows it: encoded with the sRGB curve.

FFmpeg's EXR decoder gives linear light and tags the frames so (transfer ``linear``); quantised as stored,
an 18 % grey read as code 46 instead of the 118 a viewer shows, so the model's guide and every view,
quilt and RGB-D frame made from the plate came out dark. The expected codes are the ones the test
starts from: each 8-bit sRGB code c is written as its linear value by the IEC 61966-2-1 decoding
formula, and must come back as c."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from igde_stream.stream.reader import VideoReader


def _srgb_to_linear(code: np.ndarray) -> np.ndarray:
    c = code.astype(np.float64) / 255
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def _write_rgb_exr(path: Path, rgb: np.ndarray, half: bool = False) -> Path:
    """An RGB EXR (channels R, G, B) by FFmpeg's encoder through PyAV, from H x W x 3 linear floats."""
    h, w = rgb.shape[:2]
    cc = av.CodecContext.create("exr", "w")
    cc.width, cc.height, cc.pix_fmt, cc.time_base = w, h, "gbrpf32le", Fraction(1, 25)
    cc.options = {"format": "half" if half else "float"}
    frame = av.VideoFrame(w, h, "gbrpf32le")
    for plane, channel in zip(frame.planes, (1, 2, 0)):  # planar G, B, R
        buf = np.zeros((h, plane.line_size // 4), "<f4")
        buf[:, :w] = rgb[..., channel]
        plane.update(buf.tobytes())
    frame.pts = 0
    path.write_bytes(b"".join(bytes(p) for p in [*cc.encode(frame), *cc.encode(None)]))
    return path


def _codes() -> np.ndarray:
    """Every 8-bit code once, in R; G and B the same codes in other orders: 16 x 16 x 3."""
    r = np.arange(256, dtype=np.uint8).reshape(16, 16)
    return np.stack([r, r[::-1], r.T], axis=-1)


def _first_colour(path: Path) -> np.ndarray:
    with VideoReader(str(path), "color") as reader:
        return next(iter(reader.frames())).data


def test_linear_exr_colour_reads_as_its_srgb_codes(tmp_path, caplog):
    codes = _codes()
    exr = _write_rgb_exr(tmp_path / "plate.1001.exr", _srgb_to_linear(codes).astype(np.float32))
    with caplog.at_level(logging.INFO, logger="igde_stream"):
        got = _first_colour(exr)
    assert got.dtype == np.uint8 and got.shape == codes.shape
    np.testing.assert_array_equal(got, codes)
    assert any("linear" in r.getMessage() and "sRGB" in r.getMessage() for r in caplog.records)


def test_linear_exr_colour_half_floats_and_out_of_range(tmp_path):
    """Half floats land within one code (their 11-bit mantissa); above 1.0 (highlights) is white, below 0
    and NaN black, as a viewer clips them."""
    codes = _codes()
    lin = _srgb_to_linear(codes).astype(np.float32)
    lin[0, 0], lin[0, 1], lin[0, 2] = 4.0, -0.5, np.nan
    got = _first_colour(_write_rgb_exr(tmp_path / "plate.1001.exr", lin, half=True)).astype(int)
    assert list(got[0, 0]) == [255, 255, 255] and got[0, 1, 0] == 0 and got[0, 2, 0] == 0
    assert np.abs(got - codes)[1:].max() <= 1


def test_linear_gray_exr_colour_reads_as_its_srgb_codes(tmp_path):
    """A monochrome plate saved as one channel ``Y`` (grayf32le, tagged linear like RGB EXR): three equal
    channels of its sRGB codes."""
    from test_float_depth import write_exr

    codes = np.arange(256, dtype=np.uint8).reshape(16, 16)
    got = _first_colour(write_exr(tmp_path / "mono.1001.exr", _srgb_to_linear(codes).astype(np.float32)))
    assert got.shape == (16, 16, 3)
    for c in range(3):
        np.testing.assert_array_equal(got[..., c], codes)


def _png_with_gamma(path: Path, image: np.ndarray, gamma: int | None) -> Path:
    """A PNG written by OpenCV (RGB in, BGR to it), with a ``gAMA`` chunk of ``gamma`` (x 100000; 100000:
    linear, as OpenImageIO writes a linear plate) put after ``IHDR``, or none."""
    import struct
    import zlib

    import cv2

    ok, data = cv2.imencode(".png", image[..., ::-1] if image.ndim == 3 else image)
    assert ok
    data = data.tobytes()
    if gamma is not None:
        body = b"gAMA" + struct.pack(">I", gamma)
        chunk = struct.pack(">I", 4) + body + struct.pack(">I", zlib.crc32(body))
        data = data[:33] + chunk + data[33:]  # signature 8, IHDR 25
    path.write_bytes(data)
    return path


def test_linear_16_bit_png_colour_tagged_gamma_1_reads_as_its_srgb_codes(tmp_path, caplog):
    """Before 2026-12-07: a 16-bit PNG of linear light tagged gamma 1.0 (FFmpeg's PNG decoder tags it
    linear) was quantised as stored, dark as the EXR plate was. Every 8-bit code, as 16-bit linear
    values, comes back as the code; gray alike."""
    codes = _codes()
    lin16 = np.rint(_srgb_to_linear(codes) * 65535).astype(np.uint16)
    with caplog.at_level(logging.INFO, logger="igde_stream"):
        got = _first_colour(_png_with_gamma(tmp_path / "plate.1001.png", lin16, 100000))
    np.testing.assert_array_equal(got, codes)
    assert any("a PNG of gamma 1.0" in r.getMessage() for r in caplog.records)
    gray = _first_colour(_png_with_gamma(tmp_path / "mono.png", lin16[..., 0], 100000))
    np.testing.assert_array_equal(gray, np.repeat(codes[..., :1], 3, axis=-1))


def test_linear_8_bit_png_tagged_gamma_1_and_untagged_16_bit_png(tmp_path):
    """An 8-bit linear PNG: 46 (0.1804) is sRGB 0.4621 -> 118, 1 (0.0039) is 0.0507 -> 13 (the curve by
    hand); 16-bit PNG without gAMA (or gamma 0.45455, sRGB's) is read as stored, the high byte."""
    img = np.zeros((4, 4, 3), np.uint8)
    img[0, 0], img[0, 1], img[0, 2] = (46, 1, 255), (0, 128, 10), (255, 255, 255)
    got = _first_colour(_png_with_gamma(tmp_path / "a.png", img, 100000))
    assert list(got[0, 0]) == [118, 13, 255] and list(got[0, 2]) == [255, 255, 255] and got[0, 1, 1] == 188
    for gamma in (None, 45455):
        stored = np.full((4, 4, 3), 46 * 257, np.uint16)
        assert np.all(_first_colour(_png_with_gamma(tmp_path / f"b{gamma}.png", stored, gamma)) == 46)


def _palette_png(path: Path, palette: list[tuple[int, int, int]], index: np.ndarray, gamma: int) -> Path:
    """A palette PNG (colour type 3, 8 bits) written by hand from the PNG layout, with ``gAMA``."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    h, w = index.shape
    rows = b"".join(b"\0" + index[y].astype(np.uint8).tobytes() for y in range(h))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 3, 0, 0, 0))
                     + chunk(b"gAMA", struct.pack(">I", gamma)) + chunk(b"PLTE", bytes(np.array(palette, np.uint8)))
                     + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    return path


def test_linear_palette_png_reads_as_its_rgb_twin(tmp_path):
    """A palette PNG tagged gamma 1.0 (FFmpeg tags it linear as it does RGB): its colours go through the
    curve as the same colours in an RGB PNG do (46 -> 118, 1 -> 13, by hand above); it was read as stored."""
    index = np.array([[0, 1, 2, 0]] * 4)
    got = _first_colour(_palette_png(tmp_path / "p.png", [(46, 1, 255), (0, 128, 10), (255, 255, 255)], index, 100000))
    assert list(got[0, 0]) == [118, 13, 255] and list(got[0, 2]) == [255, 255, 255] and got[0, 1, 1] == 188
    stored = _first_colour(_palette_png(tmp_path / "s.png", [(46, 1, 255), (0, 128, 10), (255, 255, 255)], index, 45455))
    assert list(stored[0, 0]) == [46, 1, 255]  # sRGB's gamma: as stored
