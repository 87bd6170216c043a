"""Seeded-bug review 61b: gaps in the tests of session 61's input fixes (UDP / RTP end of stream,
OpenEXR channel names, PNG sequence headers, the HDR colour warning) that let planted bugs through.
Expected values come from the formats' specifications (PNG and OpenEXR bytes written here by hand)
and from FFmpeg's own decoder (PyAV), never from the functions under test."""

from __future__ import annotations

import logging
import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from conftest import demux_then
from igde_stream.errors import InputError
from igde_stream.stream import VideoReader, urls
from igde_stream.stream.floatdepth import exr_channels, exr_hint
from igde_stream.stream.imagehead import check_image_headers as check_png_headers

# --- UDP / RTP: urls.live_packets, urls.open_url ------------------------------------------------


def _shared(container, datagram: bool = True):
    return SimpleNamespace(datagram=datagram, net_timeout=1.0, name="udp://127.0.0.1:9", container=container)


EXIT = av.error.ExitError(-0x54495845, "Immediate exit requested")  # PyAV's interrupt timeout


def test_datagram_silence_after_a_packet_drains_every_video_stream_with_a_warning(two_stream_nut, caplog):
    """The end of a UDP stream: one empty (draining) packet for each video stream, in stream order, so
    every decoder gives up its held frames (not only the first stream's), and a warning says so."""
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        got = list(urls.live_packets(_shared(two_stream_nut), demux_then(two_stream_nut, 1, EXIT)))
    assert len(got) == 3 and got[0].size > 0
    assert [(p.size, p.stream.index) for p in got[1:]] == [(0, 0), (0, 1)]
    said = [m for m in caplog.messages if "taken as the end of the stream" in m]
    assert len(said) == 1 and said[0].startswith("udp://127.0.0.1:9: nothing more received within 1 s")


def test_datagram_silence_before_any_packet_is_not_an_end(two_stream_nut):
    """Nothing received at all is no stream: the timeout goes up (to be 'nothing received')."""
    with pytest.raises(av.error.ExitError):
        list(urls.live_packets(_shared(two_stream_nut), demux_then(two_stream_nut, 0, EXIT)))


def test_datagram_damaged_data_after_a_packet_is_not_an_end(two_stream_nut):
    """Only silence (the timeout, or FFmpeg's kept I/O error) ends a datagram stream: invalid data
    raised at once (no wait) is damage, and goes up."""
    bad = av.error.InvalidDataError(-1094995529, "Invalid data found when processing input")
    with pytest.raises(av.error.InvalidDataError):
        list(urls.live_packets(_shared(two_stream_nut), demux_then(two_stream_nut, 1, bad)))


def test_only_datagram_urls_take_silence_as_the_end(monkeypatch, two_stream_nut):
    """udp://, udplite:// and rtp:// (docs/formats.md: UDP / RTP mark no end) take the silence after
    a packet as the end; tcp://, http://, srt:// and rtsp:// (which mark their end) do not."""
    monkeypatch.setattr(urls, "open_container", lambda url, timeout: two_stream_nut)
    for scheme, datagram in [("udp", True), ("udplite", True), ("rtp", True), ("tcp", False), ("http", False),
                             ("srt", False), ("rtsp", False)]:
        shared = urls.open_url(f"{scheme}://127.0.0.1:5004", "depth")
        try:
            assert shared.datagram is datagram, scheme
        finally:
            urls._release(shared)


# --- OpenEXR: floatdepth.exr_channels, exr_hint ---------------------------------------------------


def _attr(name: str, kind: str, value: bytes) -> bytes:
    """One OpenEXR header attribute: name NUL, type NUL, int32 (little-endian) size, value."""
    return name.encode() + b"\0" + kind.encode() + b"\0" + struct.pack("<i", len(value)) + value


def _chlist(names: list[str]) -> bytes:
    """A chlist value: for each channel its name NUL, then pixel type (int32, 2 = FLOAT), pLinear
    (uint8), 3 reserved bytes, xSampling and ySampling (int32): 16 bytes; a NUL ends the list."""
    return b"".join(n.encode() + b"\0" + struct.pack("<iB3xii", 2, 0, 1, 1) for n in names) + b"\0"


def _exr(path: Path, names: list[str], before: bytes = b"", size: tuple[int, int] = (8, 4)) -> Path:
    """A scanline, uncompressed float OpenEXR file with channels ``names`` (stored in that order; their
    values 1.0, 2.0, ...), ``before``: attributes written ahead of ``channels``."""
    w, h = size
    box = struct.pack("<4i", 0, 0, w - 1, h - 1)
    header = (b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + before + _attr("channels", "chlist", _chlist(names))
              + _attr("compression", "compression", b"\0") + _attr("dataWindow", "box2i", box)
              + _attr("displayWindow", "box2i", box) + _attr("lineOrder", "lineOrder", b"\0")
              + _attr("pixelAspectRatio", "float", struct.pack("<f", 1)) + _attr("screenWindowCenter", "v2f", bytes(8))
              + _attr("screenWindowWidth", "float", struct.pack("<f", 1)) + b"\0")
    lines = [b"".join(np.full(w, k + 1.0, "<f4").tobytes() for k in range(len(names))) for _ in range(h)]
    lines = [struct.pack("<ii", y, len(d)) + d for y, d in enumerate(lines)]
    offsets = np.cumsum([len(header) + 8 * h] + [len(x) for x in lines[:-1]]).tolist()
    path.write_bytes(header + struct.pack(f"<{h}Q", *offsets) + b"".join(lines))
    return path


# a Blender multilayer file's own attribute sorts ahead of "channels" (upper case first), here 300 bytes
BLENDER = _attr("BlenderMultiChannel", "string", b"Blender V4.2 " + b"x" * 287)


@pytest.mark.parametrize("names", [["Z"], ["B", "G", "R", "Z"], ["ViewLayer.Depth.Z", "ViewLayer.Combined.A"]])
def test_exr_channels_are_read_past_the_attributes_before_them(tmp_path, names):
    """channels is not always the first attribute (nor within the first 256 bytes): the list is found
    by walking each attribute's little-endian size, in the order the file stores the channels."""
    assert exr_channels(str(_exr(tmp_path / "a.exr", names, before=BLENDER))) == names
    other = _attr("aovs", "chlist", _chlist(["N.X", "N.Y"]))  # another chlist attribute, not the channels
    assert exr_channels(str(_exr(tmp_path / "b.exr", names, before=other + BLENDER))) == names


def test_exr_z_pass_after_a_blender_attribute_is_read(tmp_path):
    """The Z channel found past Blender's attribute (refused naming Z before 2026-12-07; now read,
    ``exrdepth``), and with another chlist attribute ahead of the channels, whose names are not renamed."""
    for k in range(2):
        _exr(tmp_path / f"{k:04d}.exr", ["Z"], before=BLENDER)
        _exr(tmp_path / f"o{k}.exr", ["B", "G", "R", "Z"], before=_attr("aovs", "chlist", _chlist(["Z"])) + BLENDER)
    for path in ("%04d.exr", "o%d.exr"):
        with VideoReader(str(tmp_path / path), "depth") as r:
            got = [f.data for f in r.frames()]
        want = 1.0 if path == "%04d.exr" else 4.0  # the fourth channel holds 4.0
        assert len(got) == 2 and all(np.all(g == want) for g in got)


@pytest.mark.parametrize("names, hint", [
    (["Y"], None), (["Y", "A"], None), (["R", "G", "B"], None), (["A", "B", "G", "R"], None),
    (["Z"], "channel is Z,"), (["A", "Z"], "channels are A, Z,"), (["R", "G"], "channels are R, G,"),
    (["R", "G", "B", "Y"], "channels are R, G, B, Y,")])
def test_exr_hint_only_for_channels_ffmpeg_does_not_read(tmp_path, names, hint):
    """FFmpeg's EXR decoder reads Y (gray) or R, G and B, each with an optional A: no hint for those;
    any other set is named, "is" for one channel and "are" for more."""
    said = exr_hint("exr", str(_exr(tmp_path / "a.exr", names)))
    assert said == "" if hint is None else (hint in said and "named Y" in said)


def test_rgb_exr_depth_whose_channels_differ_gets_no_channel_hint(tmp_path):
    """RGB depth with differing channels is refused for that (right); FFmpeg reads its channels, so
    the line does not tell to save them as Y."""
    _exr(tmp_path / "0000.exr", ["B", "G", "R"])
    with pytest.raises(InputError, match="channels differ") as info:
        with VideoReader(str(tmp_path / "0000.exr"), "depth") as r:
            list(r.frames())
    assert "OpenEXR channel" not in str(info.value)


def test_openexr_bytes_under_a_png_name_get_no_exr_hint(tmp_path):
    """FFmpeg picks the decoder from the name: an OpenEXR file named .png goes to its PNG decoder,
    so the line must not speak of the EXR decoder's channels (saving as Y would not help)."""
    for k in range(2):
        _exr(tmp_path / f"{k:04d}.png", ["Z"])
    with pytest.raises(InputError, match="without a frame size") as info:
        with VideoReader(str(tmp_path / "%04d.png"), "depth") as r:
            list(r.frames())
    assert "OpenEXR" not in str(info.value)


# --- PNG: imageseq.check_png_headers --------------------------------------------------------------

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples a pixel (PNG spec, 11.2.2)
_KINDS = [(1, 0), (2, 0), (4, 0), (8, 0), (16, 0), (8, 2), (16, 2), (1, 3), (2, 3), (4, 3), (8, 3), (8, 4),
          (16, 4), (8, 6), (16, 6)]  # every bit depth / colour type pair the spec allows


def _png(path: Path, w: int, h: int, bits: int, kind: int) -> Path:
    """A black PNG written from the spec: signature, IHDR (big-endian width, height, then bit depth,
    colour type, compression, filter, interlace), PLTE for a palette, IDAT, IEND; CRC-32 each chunk."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    row = b"\0" + bytes((w * _CHANNELS[kind] * bits + 7) // 8)  # filter type 0, then the samples
    body = chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, kind, 0, 0, 0))
    body += chunk(b"PLTE", bytes(3 << bits)) if kind == 3 else b""
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + chunk(b"IDAT", zlib.compress(row * h)) + chunk(b"IEND", b""))
    return path


def _ffmpeg_format(path: Path) -> str:
    """The pixel format FFmpeg's PNG decoder gives the image (its first frame, decoded)."""
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).format.name


@pytest.mark.parametrize("bits, kind", _KINDS)
def test_png_header_check_names_the_format_ffmpeg_decodes(tmp_path, bits, kind):
    """A depth image of each PNG kind after 8-bit gray ones (16-bit gray ones where it decodes to
    gray): refused at the opening in the words of the mid-stream check, the format named as FFmpeg's
    decoder gives it (pal8 for every palette, gray for 2 / 4-bit gray, monob for 1-bit)."""
    other = _png(tmp_path / "x.png", 6, 3, bits, kind)
    got = _ffmpeg_format(other)
    ref = _png(tmp_path / "r.png", 6, 3, 16 if got == "gray" else 8, 0)
    want = _ffmpeg_format(ref)
    files = [str(ref), str(ref), str(other)]
    with pytest.raises(InputError, match=rf"pixel format changes mid-stream at frame 2 \(x\.png\): {want} before, "
                                         rf"{got} from there \(a depth stream"):
        check_png_headers(files, "depth", True, "d/%04d.png")


@pytest.mark.parametrize("a, b", [((2, 0), (4, 0)), ((4, 0), (8, 0)), ((1, 3), (8, 3)), ((2, 3), (4, 3))])
def test_png_kinds_ffmpeg_decodes_alike_pass_the_header_check(tmp_path, a, b):
    """Headers that differ but decode to one format (2 / 4 / 8-bit gray: gray; any palette: pal8,
    as FFmpeg's decoder shows) are no change of format."""
    pa, pb = _png(tmp_path / "a.png", 6, 3, *a), _png(tmp_path / "b.png", 6, 3, *b)
    assert _ffmpeg_format(pa) == _ffmpeg_format(pb)
    check_png_headers([str(pa), str(pb), str(pa)], "depth", True, "d/%04d.png")


def test_png_header_check_reads_sizes_big_endian_and_late_changes(tmp_path):
    """Height alone changing (IHDR bytes 20-23), at the sixth image: refused with both sizes."""
    files = [str(_png(tmp_path / f"{k}.png", 300, 200, 16, 0)) for k in range(5)]
    files.append(str(_png(tmp_path / "5.png", 300, 201, 16, 0)))
    with pytest.raises(InputError, match=r"frame size changes mid-stream at frame 5 \(5\.png\): 300x200 before, "
                                         r"300x201 from there \(a ground truth"):
        check_png_headers(files, "ground truth", False, "g/%d.png")


def test_colour_mapped_depth_png_sequence_changing_format_is_refused_at_the_opening(tmp_path):
    """Depth drawn in a colour map (--depth-colormap) must keep one pixel format as gray depth must (the
    mid-stream check refuses rgb24 then rgba): the headers say so before any frame. Before: only colour
    maps were let through the opening check, and refused where the run reached the image."""
    from igde_stream.stream.sources import InputOptions

    for k in range(5):
        _png(tmp_path / f"{k:04d}.png", 6, 3, 8, 6 if k == 4 else 2)
    with pytest.raises(InputError, match=r"pixel format changes mid-stream at frame 4 \(0004\.png\): rgb24 before, "
                                         r"rgba from there \(a depth stream"):
        VideoReader(str(tmp_path / "%04d.png"), "depth", source=InputOptions(depth_colormap="turbo"))


def test_upper_case_png_names_are_checked_at_the_opening(tmp_path):
    """"%04d.PNG" (a camera's or Windows tool's names) is a PNG sequence too."""
    for k in range(3):
        _png(tmp_path / f"{k:04d}.PNG", 6, 3, 8 if k == 2 else 16, 0)
    with pytest.raises(InputError, match=r"frame 2 \(0002\.PNG\): gray16be before, gray from there"):
        VideoReader(str(tmp_path / "%04d.PNG"), "depth")


# --- HDR colour: streams.warn_hdr_colour ------------------------------------------------------------


def _tagged(path: Path, trc: int) -> Path:
    """Three 8-bit H.264 frames (gray ramp) whose stream and frames say transfer ``trc``, BT.2020."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        s.codec_context.color_trc, s.codec_context.color_primaries = trc, 9
        for i in range(3):
            f = av.VideoFrame(64, 48, "yuv420p")
            for plane, v in zip(f.planes, (40 * i + 16, 128, 128)):
                plane.update(np.full(plane.buffer_size, v, np.uint8).tobytes())
            f.pts, f.color_trc, f.color_primaries = i, trc, 9
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


@pytest.mark.parametrize("role, trc", [("depth", 16), ("depth", 18), ("gt", 16), ("color", 17), ("color", 13),
                                       ("color", 6)])
def test_no_hdr_warning_for_depth_or_sdr_transfers(tmp_path, caplog, role, trc):
    """Only colour is tone-mapping's concern (depth and ground truth are distances, their transfer tag
    says nothing of them); and only PQ (16) and HLG (18) are HDR: SMPTE 428 (17), sRGB (13) and
    BT.601 (6) are not (H.273 Table 3)."""
    path = _tagged(tmp_path / "t.mkv", trc)
    with caplog.at_level(logging.INFO, logger="igde_stream"):
        with VideoReader(str(path), role) as r:
            assert len(list(r.frames())) == 3
    assert not [m for m in caplog.messages if "HDR" in m]


def test_hdr_warning_is_a_warning(tmp_path, caplog):
    path = _tagged(tmp_path / "t.mkv", 18)
    with caplog.at_level(logging.INFO, logger="igde_stream"):
        with VideoReader(str(path), "color") as r:
            next(r.frames())
    assert [(rec.levelno, rec.getMessage().split(": ")[1]) for rec in caplog.records if "HDR" in rec.getMessage()] \
        == [(logging.WARNING, "HDR colour (HLG)")]



def test_exr_channels_of_a_header_without_a_channel_list_is_none(tmp_path):
    """A whole OpenEXR header that names no channels (damaged, or another tool's) is "unreadable":
    None, as the docstring says, not a KeyError."""
    box = struct.pack("<4i", 0, 0, 7, 3)
    path = tmp_path / "a.exr"
    path.write_bytes(b"\x76\x2f\x31\x01" + struct.pack("<i", 2) + _attr("dataWindow", "box2i", box)
                     + _attr("displayWindow", "box2i", box) + b"\0" + bytes(64))
    assert exr_channels(str(path)) is None
