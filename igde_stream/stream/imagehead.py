"""An image sequence's sizes and kinds, from each file's header, before any frame is decoded.

``check_image_headers`` refuses a sequence whose images change size (or, for depth, pixel format)
at its opening, in the words of the readers' mid-stream check (``streams.check_same_kind``), so that
a run of hundreds of frames does not fail at the odd one minutes in. Each file's header gives its
size and a *signature*: the header fields that decide the pixel format FFmpeg's decoder gives it
(PNG: bit depth and colour type; TIFF: byte order, bits, samples, photometric, sample format, ...;
JPEG: the SOF marker, precision and sampling factors; OpenEXR: the channels and their types; BMP,
PFM / PHM, PNM / PAM, DPX alike). Images of one signature decode alike. Where a second signature
appears, FFmpeg names the two formats: a PNG's from its IHDR (``_png_format``), any other's by
decoding that one image (``_decoded_format``), once a signature. The kind is read from the file's
first bytes, not its suffix. A header that cannot be read (a cut file, a kind not listed here) ends
the check: FFmpeg says what is wrong with the image when the run reaches it.

Reading headers costs a few hundred bytes a file (a TIFF's IFD, a JPEG's segments up to its SOF:
one seek each); ``docs/formats.md`` gives the figure for 300 files. ``unsized_hint`` says why FFmpeg
gave an image no size: an animated WebP, a 1-channel float TIFF, or an OpenEXR whose channels FFmpeg
does not read (``exrdepth.exr_hint``).
"""

from __future__ import annotations

import os
import re
import struct
from typing import Any, BinaryIO, Callable

from ..errors import InputError
from .streams import check_same_kind

Header = tuple[tuple[int, int], tuple[Any, ...]]  # (W, H), signature


# ---- PNG -----------------------------------------------------------------------------------------

#: PNG IHDR (bit depth, colour type) -> the pixel format FFmpeg's PNG decoder gives (``_png_format``)
_PNG_FORMATS = {(1, 0): "monob", (8, 0): "gray", (16, 0): "gray16be", (8, 2): "rgb24", (16, 2): "rgb48be",
                (8, 4): "ya8", (16, 4): "ya16be", (8, 6): "rgba", (16, 6): "rgba64be"}


def _png_format(bits: int, kind: int) -> str:
    """Palettes of any bit depth decode to pal8, 2 / 4-bit gray to gray (as FFmpeg's decoder expands them)."""
    return "pal8" if kind == 3 else _PNG_FORMATS.get((8 if kind == 0 and bits in (2, 4) else bits, kind), "png")


def _png(f: BinaryIO, head: bytes) -> Header | None:
    if len(head) < 26 or head[12:16] != b"IHDR":
        return None
    w, h, bits, kind = struct.unpack(">IIBB", head[16:26])
    return (w, h), ("png", bits, kind)


# ---- TIFF ----------------------------------------------------------------------------------------

_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8}
_TIFF_CODES = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i"}
#: tags that decide the decoded format: bits, photometric, samples, planar, extra samples, sample
#: format, YCbCr subsampling; width and height are read apart
_TIFF_KIND_TAGS = (258, 262, 277, 284, 338, 339, 530)


def _tiff(f: BinaryIO, head: bytes) -> Header | None:
    order = "<" if head[:2] == b"II" else ">"
    if len(head) < 8 or struct.unpack(order + "H", head[2:4])[0] != 42:  # 43: BigTIFF, left to FFmpeg
        return None
    (ifd,) = struct.unpack(order + "I", head[4:8])
    f.seek(ifd)
    (count,) = struct.unpack(order + "H", f.read(2))
    table = f.read(12 * count)
    if len(table) < 12 * count:
        return None
    tags: dict[int, tuple[int, ...]] = {}
    for k in range(count):
        tag, kind, n, value = struct.unpack_from(order + "HHI4s", table, 12 * k)
        if tag not in (256, 257) + _TIFF_KIND_TAGS or kind not in _TIFF_CODES or n > 64:
            continue
        size = _TIFF_SIZES[kind] * n
        if size > 4:
            f.seek(struct.unpack(order + "I", value)[0])
            value = f.read(size)
        tags[tag] = struct.unpack(order + _TIFF_CODES[kind] * n, value[:size])
    if 256 not in tags or 257 not in tags:
        return None
    return (tags[256][0], tags[257][0]), ("tiff", order, *(tags.get(t) for t in _TIFF_KIND_TAGS))


# ---- JPEG ----------------------------------------------------------------------------------------

_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}


def _jpeg(f: BinaryIO, head: bytes) -> Header | None:
    """Segments from the start of image to the first SOF (its precision, size and each component's
    sampling factors); an Adobe APP14 segment's transform on the way (RGB or YCbCr)."""
    f.seek(2)
    adobe = None
    for _ in range(1000):
        if f.read(1) != b"\xff":
            return None
        marker = f.read(1)
        while marker == b"\xff":  # fill bytes before a marker
            marker = f.read(1)
        if not marker:
            return None
        m = marker[0]
        if 0xD0 <= m <= 0xD7 or m == 0x01:  # no length
            continue
        raw = f.read(2)
        if len(raw) < 2 or m in (0xD9, 0xDA):  # end of image, start of scan: no SOF before them
            return None
        (length,) = struct.unpack(">H", raw)
        if m in _SOF:
            body = f.read(length - 2)
            if len(body) < 6:
                return None
            precision, h, w, n = struct.unpack(">BHHB", body[:6])
            sampling = tuple(body[7 + 3 * c] for c in range(n) if 8 + 3 * c <= len(body))
            return (w, h), ("jpeg", m, precision, n, sampling, adobe)
        if m == 0xEE and length >= 14:  # APP14 "Adobe": the transform is its last byte
            body = f.read(length - 2)
            adobe = body[11] if body[:5] == b"Adobe" else None
            continue
        f.seek(length - 2, os.SEEK_CUR)
    return None


# ---- BMP -----------------------------------------------------------------------------------------

def _bmp(f: BinaryIO, head: bytes) -> Header | None:
    if len(head) < 30:
        return None
    (dib,) = struct.unpack_from("<I", head, 14)
    if dib == 12:  # OS/2 core header
        w, h, _, bits = struct.unpack_from("<HHHH", head, 18)
        return (w, h), ("bmp", dib, bits)
    if len(head) < 34:
        return None
    w, h, _, bits, compression = struct.unpack_from("<iiHHI", head, 18)
    masks = head[54:70] if compression in (3, 6) else b""  # bit fields: which bits hold R, G, B (A)
    return (w, abs(h)), ("bmp", dib, bits, compression, masks)


# ---- PFM / PHM, PNM / PAM ------------------------------------------------------------------------

def _tokens(head: bytes, n: int) -> list[bytes] | None:
    """The first ``n`` whitespace-separated tokens of a Netpbm-style text header, comments left out."""
    words = re.sub(rb"#[^\n]*", b" ", head).split()
    return words[:n] if len(words) >= n else None


def _pfm(f: BinaryIO, head: bytes) -> Header | None:
    words = _tokens(head, 4)
    try:
        w, h, scale = int(words[1]), int(words[2]), float(words[3])  # type: ignore[index]
    except (TypeError, ValueError):
        return None
    return (w, h), ("pfm", head[:2], scale < 0)  # a negative scale: little-endian samples


def _pnm(f: BinaryIO, head: bytes) -> Header | None:
    if head[1:2] == b"7":  # PAM: KEY VALUE lines up to ENDHDR
        fields = dict(line.split(None, 1) for line in head.split(b"ENDHDR")[0].splitlines()[1:] if b" " in line)
        try:
            w, h = int(fields[b"WIDTH"]), int(fields[b"HEIGHT"])
        except (KeyError, ValueError):
            return None
        return (w, h), ("pam", fields.get(b"DEPTH", b"").strip(), fields.get(b"MAXVAL", b"").strip(),
                        fields.get(b"TUPLTYPE", b"").strip())
    bitmap = head[1:2] in (b"1", b"4")
    words = _tokens(head, 3 if bitmap else 4)
    try:
        w, h, maxval = int(words[1]), int(words[2]), 1 if bitmap else int(words[3])  # type: ignore[index]
    except (TypeError, ValueError):
        return None
    return (w, h), ("pnm", head[:2], maxval)


# ---- OpenEXR -------------------------------------------------------------------------------------

def exr_attributes(head: bytes) -> dict[bytes, tuple[bytes, bytes]] | None:
    """The attributes of the first header of the OpenEXR file that starts with ``head``: name ->
    (type, value); None where ``head`` is not one, or is cut inside its header."""
    if head[:4] != b"\x76\x2f\x31\x01":
        return None
    at, found = 8, {}
    try:
        while head[at]:  # attributes: name \0 type \0 int32 size, value; an empty name ends the header
            name_end = head.index(b"\0", at)
            kind_end = head.index(b"\0", name_end + 1)
            (size,) = struct.unpack_from("<i", head, kind_end + 1)
            if size < 0:  # damaged: the walk would go back (and round for ever)
                return None
            found[head[at:name_end]] = (head[name_end + 1:kind_end], head[kind_end + 5:kind_end + 5 + size])
            at = kind_end + 5 + size
    except (IndexError, ValueError, struct.error):  # cut or damaged
        return None
    return found


def exr_channel_list(value: bytes) -> list[tuple[str, int]]:
    """(name, pixel type: 0 uint, 1 half, 2 float) of each channel in a ``chlist`` attribute's value."""
    out, i = [], 0
    while value[i]:  # each: name \0, then type, linear, reserved and sampling (16 bytes)
        end = value.index(b"\0", i)
        out.append((value[i:end].decode("latin-1"), struct.unpack_from("<i", value, end + 1)[0]))
        i = end + 17
    return out


#: layers whose Z is depth (Nuke's ``depth.Z``, Blender's ``ViewLayer.Depth.Z``), and depth channels' own names
DEPTH_NAMES = frozenset(("depth", "distance", "z"))


def is_depth_channel(name: str) -> bool:
    """Whether OpenEXR channel ``name`` holds depth by its name: ``Z`` alone (OpenEXR's name for depth),
    or in a depth layer (``depth.Z``, ``ViewLayer.Depth.Z``), or a channel named depth / distance
    (``depth``, ``ViewLayer.distance``); never the Z of another layer (``Normal.Z``, ``P.Z``: a
    normal's or a position's third component)."""
    parts = name.split(".")
    return parts[-1].lower() in ("depth", "distance") or (
        parts[-1] == "Z" and (len(parts) == 1 or parts[-2].lower() in DEPTH_NAMES))


def exr_dropped_depth(names: list[str]) -> str | None:
    """Why OpenEXR depth with channels ``names`` would be read wrong, or None: FFmpeg's EXR decoder
    reads R, G and B where the three are there and drops every other channel but A, so a depth
    channel beside them (Z: the colour render and its depth pass) would go unread while the run
    went on from the colour channels."""
    if not {"R", "G", "B"} <= set(names):
        return None
    dropped = [n for n in names if n not in ("R", "G", "B", "A") and is_depth_channel(n)]
    if not dropped:
        return None
    return (f"its OpenEXR channels are {', '.join(names)}: FFmpeg's EXR decoder reads R, G and B and drops "
            f"{', '.join(dropped)}, so the depth would be taken from the colour channels; save the depth alone as "
            "channel Y (or as .pfm / .npy)")


def _exr(f: BinaryIO, head: bytes) -> Header | None:
    """The size is the display window's, as FFmpeg's EXR decoder sets it."""
    attrs = exr_attributes(head + f.read(1 << 16))
    if attrs is None or b"displayWindow" not in attrs or b"channels" not in attrs:
        return None
    try:
        x0, y0, x1, y1 = struct.unpack("<4i", attrs[b"displayWindow"][1][:16])
        channels = tuple(exr_channel_list(attrs[b"channels"][1]))
    except (IndexError, ValueError, struct.error):
        return None
    return (x1 - x0 + 1, y1 - y0 + 1), ("exr", head[4:8], channels)


# ---- DPX -----------------------------------------------------------------------------------------

def _dpx(f: BinaryIO, head: bytes) -> Header | None:
    f.seek(768)
    info = f.read(40)
    if len(info) < 40:
        return None
    order = ">" if head[:4] == b"SDPX" else "<"
    _, elements, w, h = struct.unpack_from(order + "HHII", info)
    descriptor, _, _, bits, packing = struct.unpack_from(order + "BBBBH", info, 32)
    return (w, h), ("dpx", order, elements, descriptor, bits, packing)


#: (first bytes, reader): the kind of an image is read from its start, not its name
_KINDS: tuple[tuple[Callable[[bytes], bool], Callable[[BinaryIO, bytes], Header | None]], ...] = (
    (lambda h: h[:8] == b"\x89PNG\r\n\x1a\n", _png),
    (lambda h: h[:4] in (b"II*\0", b"MM\0*"), _tiff),
    (lambda h: h[:3] == b"\xff\xd8\xff", _jpeg),
    (lambda h: h[:2] == b"BM", _bmp),
    (lambda h: h[:2] in (b"PF", b"Pf", b"PH", b"Ph"), _pfm),
    (lambda h: h[:1] == b"P" and h[1:2] in b"1234567" and h[1:2] != b"", _pnm),
    (lambda h: h[:4] == b"\x76\x2f\x31\x01", _exr),
    (lambda h: h[:4] in (b"SDPX", b"XPDS"), _dpx),
)


def animated_webp(file: str) -> bool:
    """Whether ``file`` is an animated WebP: a RIFF WEBP whose extended header (``VP8X``) sets the
    animation flag (0x02), which FFmpeg's WebP decoder does not read (it decodes stills only)."""
    try:
        with open(file, "rb") as f:
            head = f.read(21)
    except OSError:
        return False
    return len(head) == 21 and head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X" and bool(head[20] & 0x02)


def read_header(file: str) -> Header | None:
    """((W, H), signature) of image ``file`` from its header; None where it cannot be read."""
    try:
        with open(file, "rb") as f:
            head = f.read(1024)
            for looks, read in _KINDS:
                if looks(head):
                    return read(f, head)
    except (OSError, struct.error, ValueError, IndexError):
        return None
    return None


def _decoded_format(file: str) -> str | None:
    """The pixel format FFmpeg's decoder gives image ``file`` (its one frame decoded), or None."""
    import av
    import av.logging

    from .parts import ffmpeg_name

    try:
        with av.logging.Capture(local=True), av.open(ffmpeg_name(file)) as c:
            return next(c.decode(video=0)).format.name
    except (av.error.FFmpegError, StopIteration, IndexError, ValueError, OSError):
        return None


def check_image_headers(files: list[str], role_name: str, formats: bool, path: str) -> None:
    """Refuse an image sequence (``files``, frame by frame) whose images change size (or, ``formats``:
    pixel format, as depth must not) before any frame is decoded, from each file's header, by the
    readers' own rule and words (``streams.check_same_kind``); see the module docstring."""
    first: tuple[int, int] | None = None
    sig0: tuple[Any, ...] | None = None
    known: dict[tuple[Any, ...], str | None] = {}  # signature -> the format FFmpeg decodes it to
    seen: set[tuple[Any, ...]] = set()  # OpenEXR signatures whose channels were checked

    def fmt_of(sig: tuple[Any, ...], file: str) -> str | None:
        if sig not in known:
            known[sig] = _png_format(sig[1], sig[2]) if sig[0] == "png" else _decoded_format(file)
        return known[sig]

    for k, name in enumerate(files):
        head = read_header(name)
        if head is None:
            return  # FFmpeg says what is wrong with it when it gets there
        size, sig = head
        if formats and sig[0] == "exr" and sig not in seen:  # each kind of header once
            seen.add(sig)
            if (problem := exr_dropped_depth([n for n, _ in sig[2]])) is not None:
                where = f" {os.path.basename(name)} (frame {k})" if len(files) > 1 else ""
                raise InputError(f"{role_name} image{where}: {problem}", path)
        check_same_kind(size, "", k, name, 0.0, None, first, role_name, None, path)
        if first is None:
            first, sig0, file0 = size, sig, name
        elif formats and sig != sig0:
            fmt0, fmt = fmt_of(sig0, file0), fmt_of(sig, name)  # type: ignore[arg-type]
            if fmt0 is None or fmt is None:
                return
            check_same_kind(size, fmt, k, name, 0.0, fmt0, first, role_name, lambda _: None, path)


def unsized_hint(codec: str, first: str) -> str:
    """Why FFmpeg's decoder gave no frame size to image ``first`` (a ``codec`` image), for the message."""
    if codec == "webp":
        if animated_webp(first):
            return ("; an animated WebP, which FFmpeg's WebP decoder does not read (it decodes still WebP only): "
                    "turn it into an image folder first and give --fps (docs/formats.md, \"Animated pictures\")")
        return ""
    if codec == "tiff":
        return ("; FFmpeg's TIFF decoder does not read 1-channel float TIFF or 32-bit integer samples: write PFM or "
                "EXR for float depth, 16-bit PNG or TIFF for integers")
    from .exrdepth import exr_hint  # exrdepth reads OpenEXR headers with this module's parsers

    return exr_hint(codec, first)


__all__ = ["check_image_headers", "exr_attributes", "exr_channel_list", "exr_dropped_depth", "is_depth_channel",
           "read_header", "unsized_hint"]
