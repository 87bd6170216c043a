"""Image sequences of every kind FFmpeg reads are checked for one size (and, for depth, one pixel
format) when they open, from each file's header (``imagehead``), not where the run reaches the odd
image. Sizes and formats expected are what FFmpeg's own decoders give the same files."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from igde_stream.cli import main
from igde_stream.errors import InputError
from igde_stream.stream.imagehead import check_image_headers, read_header
from igde_stream.stream.reader import VideoReader

#: (suffix, FFmpeg encoder, pixel format, encoder options) of images FFmpeg writes and reads back
KINDS = [
    (".png", "png", "gray16be", {}), (".tif", "tiff", "gray16le", {}), (".tif", "tiff", "gray", {}),
    (".tif", "tiff", "rgb48le", {}), (".jpg", "mjpeg", "yuvj420p", {}), (".jpg", "mjpeg", "yuvj444p", {}),
    (".bmp", "bmp", "gray", {}), (".bmp", "bmp", "bgr24", {}), (".bmp", "bmp", "rgb565le", {}),
    (".pfm", "pfm", "grayf32le", {}), (".pfm", "pfm", "grayf32be", {}), (".pfm", "pfm", "gbrpf32le", {}),
    (".phm", "phm", "grayf32le", {}), (".exr", "exr", "grayf32le", {}), (".exr", "exr", "gbrpf32le", {}),
    (".exr", "exr", "grayf32le", {"format": "half"}), (".pgm", "pgm", "gray16be", {}), (".ppm", "ppm", "rgb24", {}),
    (".pam", "pam", "gray16be", {}), (".dpx", "dpx", "gray16le", {}), (".dpx", "dpx", "gray16be", {}),
    (".dpx", "dpx", "gbrp10le", {}),
]
IDS = [f"{c}-{f}{'-' + '-'.join(o.values()) if o else ''}" for _, c, f, o in KINDS]


def image(path: Path, codec: str, fmt: str, w: int, h: int, **options: str) -> Path:
    """One black ``w`` x ``h`` image written by FFmpeg's ``codec`` encoder in pixel format ``fmt``."""
    cc = av.CodecContext.create(codec, "w")
    cc.width, cc.height, cc.pix_fmt, cc.time_base = w, h, fmt, Fraction(1, 25)
    cc.options = options
    frame = av.VideoFrame(w, h, fmt)
    for plane in frame.planes:
        plane.update(bytes(plane.buffer_size))
    path.write_bytes(b"".join(bytes(p) for p in cc.encode(frame) + cc.encode(None)))
    return path


def decoded(path: Path) -> tuple[tuple[int, int], str]:
    """(W, H), pixel format of the frame FFmpeg decodes from image ``path``."""
    with av.open(str(path)) as c:
        f = next(c.decode(video=0))
        return (f.width, f.height), f.format.name


@pytest.mark.parametrize("suffix, codec, fmt, options", KINDS, ids=IDS)
def test_header_size_is_the_size_ffmpeg_decodes(tmp_path, suffix, codec, fmt, options):
    for w, h in ((10, 6), (258, 3)):  # 258: a width past one byte, in either byte order
        path = image(tmp_path / f"{w}{suffix}", codec, fmt, w, h, **options)
        assert read_header(str(path))[0] == decoded(path)[0] == (w, h)


@pytest.mark.parametrize("suffix, codec, fmt, options", KINDS, ids=IDS)
def test_a_size_change_is_refused_naming_the_first_odd_file(tmp_path, suffix, codec, fmt, options):
    files = [str(image(tmp_path / f"{k}{suffix}", codec, fmt, 10, 6, **options)) for k in range(4)]
    odd = str(image(tmp_path / f"odd{suffix}", codec, fmt, 10, 8, **options))
    with pytest.raises(InputError, match=rf"frame size changes mid-stream at frame 4 \(odd\{suffix}\): 10x6 before, "
                                         r"10x8 from there \(a depth stream must keep one size\)"):
        check_image_headers([*files, odd, odd], "depth", True, "d/%d" + suffix)


#: pairs of one suffix: refused for depth exactly where FFmpeg decodes them to different formats
PAIRS = [
    ("tiff", "gray16le", {}, "tiff", "gray", {}), ("pfm", "grayf32le", {}, "pfm", "gbrpf32le", {}),
    ("pfm", "grayf32le", {}, "pfm", "grayf32be", {}), ("exr", "grayf32le", {}, "exr", "gbrpf32le", {}),
    ("exr", "grayf32le", {}, "exr", "grayf32le", {"format": "half"}),
    ("exr", "grayf32le", {}, "exr", "grayf32le", {"compression": "zip16"}),
    ("dpx", "gray16le", {}, "dpx", "gray16be", {}), ("pgm", "gray", {}, "pgm", "gray16be", {}),
    ("bmp", "gray", {}, "bmp", "pal8", {}), ("mjpeg", "yuvj420p", {}, "mjpeg", "yuvj444p", {}),
]


@pytest.mark.parametrize("a_codec, a_fmt, a_opts, b_codec, b_fmt, b_opts", PAIRS)
def test_a_format_change_is_refused_where_ffmpeg_decodes_another_format(tmp_path, a_codec, a_fmt, a_opts, b_codec,
                                                                       b_fmt, b_opts):
    a = image(tmp_path / "a.img", a_codec, a_fmt, 10, 6, **a_opts)
    b = image(tmp_path / "b.img", b_codec, b_fmt, 10, 6, **b_opts)
    (_, want_a), (_, want_b) = decoded(a), decoded(b)
    files = [str(a), str(a), str(b)]
    if want_a == want_b:
        check_image_headers(files, "depth", True, "d")
    else:
        with pytest.raises(InputError, match=rf"pixel format changes mid-stream at frame 2 \(b\.img\): {want_a} "
                                             rf"before, {want_b} from there \(a depth stream"):
            check_image_headers(files, "depth", True, "d")
    check_image_headers(files, "colour", False, "c")  # colour: only the size counts


def _tiff(path: Path, order: str, w: int, h: int) -> Path:
    """A 16-bit gray uncompressed TIFF written from the TIFF 6.0 spec: header, one strip, then the IFD
    (width, height, bits, compression 1, photometric 1, strip offset, samples 1, rows, strip bytes)."""
    e = "<" if order == "II" else ">"
    data = bytes(2 * w * h)
    tags = [(256, 4, w), (257, 4, h), (258, 3, 16), (259, 3, 1), (262, 3, 1), (273, 4, 8), (277, 3, 1),
            (278, 4, h), (279, 4, len(data))]
    ifd = struct.pack(e + "H", len(tags)) + b"".join(
        struct.pack(e + "HHI", t, k, 1) + (struct.pack(e + "HH", v, 0) if k == 3 else struct.pack(e + "I", v))
        for t, k, v in tags) + b"\0\0\0\0"
    path.write_bytes(order.encode() + struct.pack(e + "HI", 42, 8 + len(data)) + data + ifd)
    return path


def test_big_endian_tiff_after_little_endian_is_refused_as_ffmpeg_decodes_it(tmp_path):
    """A big-endian TIFF (IFD after the data, as some writers place it) among little-endian ones:
    FFmpeg decodes gray16be and gray16le, which the mid-stream check refuses too."""
    le, be = _tiff(tmp_path / "le.tif", "II", 300, 2), _tiff(tmp_path / "be.tif", "MM", 300, 2)
    assert read_header(str(be))[0] == decoded(be)[0] == (300, 2)
    want = decoded(le)[1], decoded(be)[1]
    assert want[0] != want[1]
    with pytest.raises(InputError, match=rf"frame 1 \(be\.tif\): {want[0]} before, {want[1]} from there"):
        check_image_headers([str(le), str(be)], "depth", True, "d")


def test_jpeg_with_exif_before_its_frame_header(tmp_path):
    """The SOF is found past an APP1 segment and fill bytes (JPEG spec B.1.1.2)."""
    base = image(tmp_path / "a.jpg", "mjpeg", "yuvj420p", 33, 17).read_bytes()
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 3000) + b"Exif\0\0" + bytes(2994)
    (tmp_path / "b.jpg").write_bytes(base[:2] + app1 + b"\xff" + base[2:])
    assert read_header(str(tmp_path / "b.jpg"))[0] == decoded(tmp_path / "b.jpg")[0] == (33, 17)


def test_an_unreadable_header_leaves_the_rest_to_ffmpeg(tmp_path):
    files = [str(image(tmp_path / f"{k}.tif", "tiff", "gray", 10, 6)) for k in range(2)]
    (tmp_path / "2.tif").write_bytes(b"II*\0")  # cut in its header
    files.append(str(tmp_path / "2.tif"))
    files.append(str(image(tmp_path / "3.tif", "tiff", "gray", 12, 6)))
    check_image_headers(files, "depth", True, "d")


def _sequence(folder: Path, codec: str, fmt: str, suffix: str, n: int, odd: int, **options: str) -> None:
    folder.mkdir()
    for k in range(n):
        image(folder / f"{k:03d}{suffix}", codec, fmt, 64, 50 if k == odd else 48, **options)


@pytest.mark.parametrize("codec, fmt, suffix", [("tiff", "gray16le", ".tif"), ("exr", "grayf32le", ".exr"),
                                                ("pfm", "grayf32le", ".pfm"), ("mjpeg", "yuvj420p", ".jpg"),
                                                ("bmp", "gray", ".bmp")])
def test_the_reader_refuses_an_odd_image_when_it_opens(tmp_path, codec, fmt, suffix):
    """Before: only PNG sequences were checked at the opening; the others opened and failed where
    the run reached the odd image."""
    _sequence(tmp_path / "d", codec, fmt, suffix, 6, odd=4)
    with pytest.raises(InputError, match=rf"frame 4 \(004\{suffix}\): 64x48 before, 64x50 from there"):
        VideoReader(str(tmp_path / "d" / f"%03d{suffix}"), "depth")
    with pytest.raises(InputError, match=r"frame 4 \(004"):
        VideoReader(str(tmp_path / "d"), "color")


def test_the_command_refuses_it_in_one_line_and_writes_nothing(tmp_path, tiny_model, capsys):
    _sequence(tmp_path / "c", "png", "rgb24", ".png", 6, odd=-1)
    _sequence(tmp_path / "d", "tiff", "gray16le", ".tif", 6, odd=5)
    out = tmp_path / "out.mkv"
    code = main([str(tmp_path / "c"), str(tmp_path / "d" / "%03d.tif"), "-o", str(out), "--model", str(tiny_model),
                 "--backend", "torch"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines()[-1].endswith("frame size changes mid-stream at frame 5 (005.tif): 64x48 before, "
                                                 "64x50 from there (a depth stream must keep one size)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c", "d"]


def test_npy_frames_are_checked_when_they_open(tmp_path):
    """Per-frame .npy files: each header (shape, type) at the opening; before, at the odd frame."""
    (tmp_path / "d").mkdir()
    for k in range(5):
        np.save(tmp_path / "d" / f"{k}.npy", np.ones((4, 6), np.float32 if k != 3 else np.float64))
    with pytest.raises(InputError, match=r"frame 3 \(3\.npy\) is 4 x 6 float64, the frames before it 4 x 6 float32"):
        VideoReader(str(tmp_path / "d"), "depth")
    np.save(tmp_path / "d" / "3.npy", np.ones((5, 6), np.float32))
    with pytest.raises(InputError, match=r"frame 3 \(3\.npy\) is 5 x 6 float32"):
        VideoReader(str(tmp_path / "d" / "%d.npy"), "depth")


# --- OpenEXR colour with a depth channel beside it --------------------------------------------------

def _attr(name: str, kind: str, value: bytes) -> bytes:
    """One OpenEXR header attribute: name NUL, type NUL, int32 (little-endian) size, value."""
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def _exr(path: Path, channels: list[tuple[str, float]], size: tuple[int, int] = (8, 4)) -> Path:
    """A scanline, uncompressed float OpenEXR file written from the OpenEXR file layout: magic,
    version 2, the required attributes, one offset per line, then each line's channels in the
    stored order, each channel holding its one ``value``."""
    w, h = size
    chlist = b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", 2, 0, 1, 1) for n, _ in channels) + b"\0"
    box = struct.pack("<4i", 0, 0, w - 1, h - 1)
    header = (b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + _attr("channels", "chlist", chlist)
              + _attr("compression", "compression", b"\0") + _attr("dataWindow", "box2i", box)
              + _attr("displayWindow", "box2i", box) + _attr("lineOrder", "lineOrder", b"\0")
              + _attr("pixelAspectRatio", "float", struct.pack("<f", 1)) + _attr("screenWindowCenter", "v2f", bytes(8))
              + _attr("screenWindowWidth", "float", struct.pack("<f", 1)) + b"\0")
    line = b"".join(np.full(w, v, "<f4").tobytes() for _, v in channels)
    lines = [struct.pack("<ii", y, len(line)) + line for y in range(h)]
    offsets = [len(header) + 8 * h + y * len(lines[0]) for y in range(h)]
    path.write_bytes(header + struct.pack(f"<{h}Q", *offsets) + b"".join(lines))
    return path


RGB_Z = [("B", 5.0), ("G", 5.0), ("R", 5.0), ("Z", 9.0)]


def test_ffmpeg_reads_rgb_and_drops_z(tmp_path):
    """What makes the refusal needed: FFmpeg decodes the 5.0 of R, G and B, and the Z of 9.0 is gone."""
    with av.open(str(_exr(tmp_path / "a.exr", RGB_Z))) as c:
        f = next(c.decode(video=0))
    assert f.format.name == "gbrpf32le"
    assert {float(np.frombuffer(bytes(p), "<f4")[0]) for p in f.planes} == {5.0}


@pytest.mark.parametrize("channels", [
    RGB_Z, [("A", 1.0), *RGB_Z], [*RGB_Z[:3], ("ViewLayer.Depth.Z", 9.0)], [*RGB_Z[:3], ("depth", 9.0)]])
@pytest.mark.parametrize("role", ["depth", "gt"])
def test_depth_beside_rgb_in_openexr_is_read_from_its_depth_channel(tmp_path, channels, role):
    """Before 2026-12-07: read from R, G, B without a word (the run went on with the colour render as
    depth), then refused naming the channels. Now the depth channel is read (``exrdepth``): 9 + k in
    frame k, not the colour's 5 + k; a folder, and one file."""
    (tmp_path / "d").mkdir()
    for k in range(3):
        _exr(tmp_path / "d" / f"{k}.exr", [(n, v + k) for n, v in channels])
    with VideoReader(str(tmp_path / "d"), role) as r:
        got = [f.data for f in r.frames()]
    assert [set(np.unique(g)) for g in got] == [{9.0}, {10.0}, {11.0}] and got[0].shape == (4, 8)
    with VideoReader(str(tmp_path / "d" / "1.exr"), role) as r:
        assert set(np.unique(next(r.frames()).data)) == {10.0}


def test_a_later_image_with_z_is_refused_too(tmp_path):
    for k in range(4):
        _exr(tmp_path / f"{k}.exr", [("B", 5.0), ("G", 5.0), ("R", 5.0)] if k != 2 else RGB_Z)
    with pytest.raises(InputError, match=r"depth image 2\.exr \(frame 2\): its OpenEXR channels are B, G, R, Z"):
        VideoReader(str(tmp_path / "%d.exr"), "depth")


@pytest.mark.parametrize("role, channels", [("color", RGB_Z), ("depth", [*RGB_Z[:3], ("N.X", 9.0)])])
def test_colour_from_rgb_and_other_extra_channels_read_as_ffmpeg_reads_them(tmp_path, role, channels):
    """Colour is R, G, B whatever rides beside it; a channel that is no depth (a normal's N.X) is no
    sign that the depth is elsewhere."""
    _exr(tmp_path / "0.exr", channels)
    with VideoReader(str(tmp_path / "0.exr"), role) as r:
        frame = next(r.frames()).data
    assert frame.shape[:2] == (4, 8)


@pytest.mark.parametrize("size", [-8, -1, -(1 << 31)])
def test_an_openexr_attribute_of_negative_size_is_a_damaged_header_not_a_loop(tmp_path, size):
    """An attribute's int32 size below 0 (damage: -8 points the walk back at the same attribute,
    which looped for ever) ends the walk: the header is unreadable, left to FFmpeg."""
    import threading

    from igde_stream.stream.imagehead import exr_attributes

    head = b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + b"a\0b\0" + struct.pack("<i", size) + bytes(32)
    got = []
    walker = threading.Thread(target=lambda: got.append(exr_attributes(head)), daemon=True)
    walker.start()
    walker.join(2)
    assert got == [None]
