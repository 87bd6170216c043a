"""``igde-stream bag`` colour in YUV 4:2:2 and Bayer encodings (USB and RealSense cameras, machine-vision
cameras' raw mosaics), read through OpenCV's conversions; any other encoding is refused in one line that
names the topic and its encoding. The expected colours are worked out by hand: a Bayer mosaic of one
colour made site by site from ROS's pattern name (the 2 x 2 block at the top left, row by row) must
demosaic to that colour everywhere, which a pattern read as any other of the four does not; YUV pixels
are the BT.601 studio-range primaries (red Y 81 U 90 V 240, green 145 54 34, blue 41 240 110, white
235 128 128, black 16 128 128: ITU-R BT.601's 8-bit values), laid out byte by byte as UYVY or YUYV."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_bag_export import DH, DW, T0, _depth, _image, _read

from igde_stream.cli import main

rosbag2 = pytest.importorskip("rosbags.rosbag2", reason="needs rosbags (pip install \"igde-stream[ros]\")")

COLOUR = "/cam/color/image_raw"


def _bag(path, colour: dict[str, list], frames: int = 2) -> None:
    """A ROS 2 bag: 16UC1 depth and the colour topics given (name -> per frame (array, encoding, big-endian))."""
    from rosbags.typesys import Stores, get_typestore

    ts = get_typestore(Stores.ROS2_HUMBLE)
    with rosbag2.Writer(path, version=8) as w:
        names = ["/cam/depth/image_rect_raw", *colour]
        con = {n: w.add_connection(n, "sensor_msgs/msg/Image", typestore=ts) for n in names}
        for k in range(frames):
            t = T0 + k * 33_333_333
            msgs = {"/cam/depth/image_rect_raw": _image(ts, t, _depth(k), "16UC1")}
            for name, per_frame in colour.items():
                arr, enc, big = per_frame[k]
                msgs[name] = _image(ts, t, arr, enc, bigendian=big)
            for name, m in msgs.items():
                w.write(con[name], t, ts.serialize_cdr(m, "sensor_msgs/msg/Image"))


def _mosaic(pattern: str, rgb: tuple[int, int, int], dtype=np.uint8) -> np.ndarray:
    """A 4 x 4 Bayer mosaic of one colour: site (y, x) holds the channel the pattern names at (y % 2, x % 2),
    ``pattern`` read row by row ("rggb": R G on even rows, G B on odd ones)."""
    value = dict(zip("rgb", rgb))
    return np.array([[value[pattern[2 * (y % 2) + x % 2]] for x in range(4)] for y in range(4)], dtype)


def _export(tmp_path, colour: dict[str, list], *extra: str) -> np.ndarray:
    """The bag's export: its colour images (RGB) in pair order."""
    _bag(tmp_path / "b", colour)
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o"), "-q", *extra]) == 0
    return np.stack([_read(tmp_path / "o" / "color" / f"{k:06d}.png")[..., ::-1] for k in range(2)])


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_8_bit_each_pattern_by_hand(tmp_path, pattern):
    """R 200, G 100, B 30 on the sites the pattern names: (200, 100, 30) at every pixel, borders too. Read
    as any other pattern, R and B swap (30, 100, 200) or green is made of the R and B sites."""
    m = _mosaic(pattern, (200, 100, 30))
    assert m[0, 0] == {"r": 200, "g": 100, "b": 30}[pattern[0]] and m[1, 1] == {"r": 200, "g": 100, "b": 30}[pattern[3]]
    rgb = _export(tmp_path, {COLOUR: [(m, f"bayer_{pattern}8", False)] * 2})
    assert rgb.shape == (2, 4, 4, 3)
    assert np.array_equal(rgb, np.broadcast_to(np.array([200, 100, 30], np.uint8), rgb.shape)), rgb[0]
    info = json.loads((tmp_path / "o" / "bag.json").read_text())
    assert info["color_encoding"] == f"bayer_{pattern}8" and info["color_size"] == [4, 4]


@pytest.mark.parametrize("pattern", ["rggb", "bggr", "gbrg", "grbg"])
def test_bayer_16_bit_each_pattern_big_endian_scaled_to_8_bits(tmp_path, pattern):
    """16-bit sites R 65280, G 51528, B 3000 (big-endian in the message): x 255 / 65535 rounded is 254.009
    -> 254, 200.498 -> 200, 11.673 -> 12; a top-byte shift would give 255, 201, 11 and truncation 11 for B."""
    m = _mosaic(pattern, (65280, 51528, 3000), np.uint16)
    rgb = _export(tmp_path, {COLOUR: [(m, f"bayer_{pattern}16", True)] * 2})
    assert np.array_equal(rgb, np.broadcast_to(np.array([254, 200, 12], np.uint8), rgb.shape)), rgb[0]


# BT.601 8-bit studio-range primaries (Y, U = Cb, V = Cr) and the RGB they stand for
RED, GREEN, BLUE = (81, 90, 240), (145, 54, 34), (41, 240, 110)
WHITE_BLACK = ((235, 16), 128, 128)  # one pair: a white pixel, then a black one (neutral chroma)


def _yuv_pairs() -> tuple[list[list[tuple]], np.ndarray]:
    """2 rows of 4 pixels as pairs ((Y0, Y1), U, V), and the RGB each pixel stands for."""
    rows = [[((RED[0],) * 2, *RED[1:]), WHITE_BLACK], [((BLUE[0],) * 2, *BLUE[1:]), ((GREEN[0],) * 2, *GREEN[1:])]]
    want = np.array([[[255, 0, 0], [255, 0, 0], [255, 255, 255], [0, 0, 0]],
                     [[0, 0, 255], [0, 0, 255], [0, 255, 0], [0, 255, 0]]], np.int16)
    return rows, want


def _packed(rows, layout: str) -> np.ndarray:
    """The pairs as the message's bytes, H x W x 2: YUYV is Y0 U Y1 V, UYVY is U Y0 V Y1."""
    out = []
    for row in rows:
        line = []
        for (y0, y1), u, v in row:
            line += [(y0, u), (y1, v)] if layout == "yuyv" else [(u, y0), (v, y1)]
        out.append(line)
    return np.array(out, np.uint8)


@pytest.mark.parametrize("encoding, layout", [("yuv422", "uyvy"), ("uyvy", "uyvy"), ("yuv422_yuy2", "yuyv"),
                                              ("yuyv", "yuyv"), ("YUYV", "yuyv")])
def test_yuv422_in_its_byte_order_gives_the_bt601_primaries(tmp_path, encoding, layout):
    """sensor_msgs/image_encodings: yuv422 is UYVY, yuv422_yuy2 YUYV (ROS 2's newer uyvy / yuyv the same;
    YUYV is the RealSense SDK's name). Red, white then black, blue and green come out within 2 levels of
    (255, 0, 0) ... (the 8-bit primaries are themselves rounded); the other byte order, or U and V
    swapped, gives other colours (the white / black pair also pins which Y is which)."""
    rows, want = _yuv_pairs()
    rgb = _export(tmp_path, {COLOUR: [(_packed(rows, layout), encoding, False)] * 2})
    assert rgb.shape == (2, 2, 4, 3)
    assert np.abs(rgb.astype(np.int16) - want).max() <= 2, rgb[0]


def test_yuv_formula_away_from_the_primaries(tmp_path):
    """Pairs of random Y, U, V (YUYV): each pixel within a level of the BT.601 studio-range equations worked
    here (Kr 0.299, Kb 0.114; Y from 16-235, U and V from 16-240 about 128), its pair's U and V shared."""
    rng = np.random.default_rng(5)
    h, w = 6, 8
    y, u, v = rng.integers(16, 236, (h, w)), rng.integers(16, 241, (h, w // 2)), rng.integers(16, 241, (h, w // 2))
    packed = np.zeros((h, w, 2), np.uint8)
    packed[..., 0], packed[:, 0::2, 1], packed[:, 1::2, 1] = y, u, v
    rgb = _export(tmp_path, {COLOUR: [(packed, "yuv422_yuy2", False)] * 2})[0].astype(float)
    yy, cb, cr = (y - 16) * 255 / 219, (np.repeat(u, 2, 1) - 128) * 255 / 224, (np.repeat(v, 2, 1) - 128) * 255 / 224
    r = yy + 2 * (1 - 0.299) * cr
    b = yy + 2 * (1 - 0.114) * cb
    g = (yy - 0.299 * r - 0.114 * b) / 0.587
    want = np.clip(np.rint(np.stack([r, g, b], -1)), 0, 255)
    assert np.abs(rgb - want).max() <= 1


def test_converted_colour_ranks_after_rgb_as_recorded(tmp_path, capsys):
    """A camera's raw Bayer topic beside image_proc's RGB one: the RGB is taken by default (the log names
    the other), --color-topic takes the mosaic."""
    m = _mosaic("rggb", (200, 100, 30))
    rgb = np.full((4, 4, 3), (10, 20, 30), np.uint8)
    colour = {COLOUR: [(m, "bayer_rggb8", False)] * 2, "/cam/color/image_rect_color": [(rgb, "rgb8", False)] * 2}
    _bag(tmp_path / "b", colour)
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "o")]) == 0
    said = capsys.readouterr()
    assert "colour topic /cam/color/image_rect_color (rgb8); --color-topic picks another of " + COLOUR in said.err
    assert np.array_equal(_read(tmp_path / "o" / "color" / "000000.png")[..., ::-1], rgb)
    assert main(["bag", str(tmp_path / "b"), str(tmp_path / "m"), "-q", "--color-topic", COLOUR]) == 0
    assert np.array_equal(_read(tmp_path / "m" / "color" / "000000.png")[..., ::-1],
                          np.broadcast_to(np.array([200, 100, 30], np.uint8), (4, 4, 3)))
    assert main(["bag", str(tmp_path / "b"), "--list"]) == 0
    assert f"{COLOUR}  bayer_rggb8  4x4  2 images  color" in capsys.readouterr().out


def test_other_encodings_are_one_line_naming_topic_and_encoding(tmp_path, capsys):
    """nv21 (and a 16-bit RGB) are not read: the default choice lists the topic as not read; naming it is
    refused naming the topic and its encoding; a topic that turns to one midway, and a YUV image of odd
    width, are refused in one line after images were written; nothing is left in any case."""
    nv21 = np.zeros((DH * 3 // 2, DW), np.uint8)
    _bag(tmp_path / "n", {COLOUR: [(nv21, "nv21", False)] * 2})
    assert main(["bag", str(tmp_path / "n"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{COLOUR} (nv21, not read)" in err[0], err
    assert main(["bag", str(tmp_path / "n"), str(tmp_path / "o"), "--color-topic", COLOUR]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"igde-stream: error: {tmp_path / 'n'}: colour topic {COLOUR} is in encoding nv21, which is not "
                   "read (colour encodings read: rgb8, bgr8, rgba8, bgra8, mono8, yuv422, yuv422_yuy2, uyvy, yuyv, "
                   "bayer_rggb8 / bggr8 / gbrg8 / grbg8 and their 16-bit forms, JPEG / PNG)"]
    rgb16 = np.zeros((4, 4, 3), np.uint16)
    _bag(tmp_path / "c", {COLOUR: [(_mosaic("rggb", (1, 2, 3)), "bayer_rggb8", False), (rgb16, "rgb16", False)]})
    assert main(["bag", str(tmp_path / "c"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"igde-stream: error: {tmp_path / 'c'}: colour topic {COLOUR} changes encoding to rgb16"]
    odd = np.full((2, 3, 2), 128, np.uint8)
    _bag(tmp_path / "d", {COLOUR: [(odd, "yuv422", False)] * 2})
    assert main(["bag", str(tmp_path / "d"), str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "a yuv422 image of odd width (3)" in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "d", "n"]
