"""The stereo box of MP4 / MOV views files: the Spherical Video V2 ``st3d`` box
(https://github.com/google/spatial-media/blob/master/docs/spherical-video-v2-rfc.md, "Stereoscopic 3D
Video Box"), which YouTube, VLC and FFmpeg's own demuxer read as the file's stereo packing.

FFmpeg's mov muxer writes ``st3d`` only from a stream's stereo side data (with ``strict`` at
"unofficial"), and PyAV 18 cannot give an encoder's stream that side data (only a display matrix),
so ``add_st3d`` puts the box into a finished file: into the sample entry of each video track, as
Google's Spatial Media Metadata Injector does, the sizes of the boxes around it grown to match.
The file is the one FFmpeg's muxer wrote without ``faststart``: the movie box (``moov``) last, after
the media data, so no chunk offset moves and only the movie box is rewritten.

    st3d: size 13, 'st3d', version 0, flags 0, stereo_mode (uint8): 0 mono, 1 top-bottom (left eye
    on top), 2 left-right (left eye on the left)
"""

from __future__ import annotations

import struct
from pathlib import Path

from ..errors import OutputError

#: a layout's ``stereo_mode`` (``display.STEREO_MODES``) -> st3d's stereo_mode; an anaglyph has none
ST3D_MODES = {"top_bottom": 1, "left_right": 2}
#: muxers (PyAV's format names) that write ISO base media files, where ``st3d`` belongs
MUXERS = ("mp4", "mov", "ipod")
_VISUAL_ENTRY_FIELDS = 78  # a VisualSampleEntry's fields before its child boxes (ISO/IEC 14496-12)
_PATH = (b"mdia", b"minf", b"stbl", b"stsd")


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int, int]]:
    """(type, offset, header size, size) of each box in ``data[start:end]``."""
    out = []
    while start + 8 <= end:
        size, kind = struct.unpack(">I4s", data[start:start + 8])
        header = 8
        if size == 1 and start + 16 <= end:
            size, header = struct.unpack(">Q", data[start + 8:start + 16])[0], 16
        elif size == 0:
            size = end - start
        if size < header or start + size > end:
            raise ValueError(f"box {kind!r} at {start} runs past its parent")
        out.append((kind, start, header, size))
        start += size
    return out


def _grow(buf: bytearray, offset: int, header: int, delta: int) -> None:
    """Add ``delta`` to the size of the box at ``offset`` (32-bit or 64-bit size field)."""
    if header == 16:
        struct.pack_into(">Q", buf, offset + 8, struct.unpack_from(">Q", buf, offset + 8)[0] + delta)
    else:
        size = struct.unpack_from(">I", buf, offset)[0]
        if size == 0:  # "to the end of the file", a top-level box's alone: no size to grow
            raise ValueError(f"box {bytes(buf[offset + 4:offset + 8])!r} has size 0 inside the movie box")
        size += delta
        if size >= 2 ** 32:
            raise ValueError("a box would outgrow its 32-bit size")
        struct.pack_into(">I", buf, offset, size)


def _with_st3d(moov: bytes, mode: int) -> bytes:
    """``moov`` with an ``st3d`` box of ``mode`` in each video track's sample entry (an existing one
    set to ``mode``)."""
    buf = bytearray(moov)
    moov_header = 16 if struct.unpack_from(">I", moov, 0)[0] == 1 else 8
    if struct.unpack_from(">I", moov, 0)[0] == 0:  # the last box, "to the end of the file": its size said
        struct.pack_into(">I", buf, 0, len(moov))
    edits = []  # (insert at, [(box offset, header) to grow]) of each track, applied last first
    for kind, off, hdr, size in _boxes(moov, moov_header, len(moov)):
        if kind != b"trak":
            continue
        chain = [(off, hdr)]
        box = (off, hdr, size)
        for name in _PATH:
            found = [b for b in _boxes(moov, box[0] + box[1], box[0] + box[2]) if b[0] == name]
            if not found:
                break
            box = found[0][1:]
            chain.append((box[0], box[1]))
        else:
            mdia = [b for b in _boxes(moov, off + hdr, off + size) if b[0] == b"mdia"][0]
            hdlr = [b for b in _boxes(moov, mdia[1] + mdia[2], mdia[1] + mdia[3]) if b[0] == b"hdlr"]
            if not hdlr or moov[hdlr[0][1] + hdlr[0][2] + 8:hdlr[0][1] + hdlr[0][2] + 12] != b"vide":
                continue  # a timecode track, audio
            stsd_off, stsd_hdr = box[0], box[1]
            entries = _boxes(moov, stsd_off + stsd_hdr + 8, stsd_off + box[2])
            if not entries:
                continue
            _, e_off, e_hdr, e_size = entries[0]
            children = _boxes(moov, e_off + e_hdr + _VISUAL_ENTRY_FIELDS, e_off + e_size)
            if (old := [c for c in children if c[0] == b"st3d"]):
                buf[old[0][1] + old[0][2] + 4] = mode
                continue
            edits.append((e_off + e_size, chain + [(e_off, e_hdr)]))
    box = struct.pack(">I4sIB", 13, b"st3d", 0, mode)
    for at, chain in sorted(edits, reverse=True):
        for offset, header in chain:
            _grow(buf, offset, header, len(box))
        buf[at:at] = box
    _grow(buf, 0, moov_header, len(box) * len(edits))
    return bytes(buf)


def add_st3d(path: str | Path, stereo_mode: str, name: str | Path | None = None) -> bool:
    """Say ``stereo_mode`` (a layout's: ``left_right``, ``top_bottom``) in the MP4 / MOV file
    ``path`` with an ``st3d`` box; False where the mode has none (an anaglyph). The file must end in
    its movie box, as FFmpeg writes it without ``faststart``; else an ``OutputError`` (``name``: the
    output the user named, for the message)."""
    if stereo_mode not in ST3D_MODES:
        return False
    path = Path(path)
    with open(path, "r+b") as f:
        data_end = f.seek(0, 2)
        f.seek(0)
        top, off = [], 0
        while off + 8 <= data_end:  # top-level boxes: read their headers only (mdat may be gigabytes)
            f.seek(off)
            head = f.read(16)
            size, kind = struct.unpack(">I4s", head[:8])
            if size == 1:
                size = struct.unpack(">Q", head[8:16])[0]
            elif size == 0:
                size = data_end - off
            if size < 8:
                break
            top.append((kind, off, size))
            off += size
        moov = [b for b in top if b[0] == b"moov"]
        if not moov or top[-1][0] != b"moov" or off != data_end:
            raise OutputError("cannot add the st3d stereo box: the movie box is not at the end of the file",
                              name or path)
        _, m_off, m_size = moov[0]
        f.seek(m_off)
        try:
            new = _with_st3d(f.read(m_size), ST3D_MODES[stereo_mode])
        except ValueError as exc:
            raise OutputError(f"cannot add the st3d stereo box ({exc})", name or path) from None
        f.seek(m_off)
        f.write(new)
        f.truncate()
    return True


__all__ = ["MUXERS", "ST3D_MODES", "add_st3d"]
