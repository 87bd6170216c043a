"""Interlaced colour (1080i, 576i: two fields of two instants in each frame) is read as stored, the fields
woven, not deinterlaced; ``FieldWatch`` says so once (docs/formats.md, "Interlaced colour").

The field order comes from the stream's codec context (AVFieldOrder, set by the container or by FFmpeg's
parser), the first frame's flags naming the order where they say one. Where the stream has none (DV as
recorded, MPEG-2 in MP4 / MOV without a ``fiel`` atom, H.264 in NUT), the decoder still flags each
frame: the first frame flagged interlaced tells, its top-field-first flag naming the order. The flags
are read from frames the run decodes anyway."""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

import av
import av.filter
import av.logging

log = logging.getLogger("igde_stream.stream")

#: AVFieldOrder's interlaced orders (AV_FIELD_TT, BB, TB, BT: the field shown first, and coded first)
INTERLACED = {2: "top field first", 3: "bottom field first", 4: "bottom field first, top coded first",
              5: "top field first, bottom coded first"}
#: decoders whose interlaced flag is a storage order, not two fields: a PNG saved with Adam7 interlacing
NOT_FIELDS = frozenset({"png", "apng"})


def warn_interlaced(path: str, order: str) -> None:
    log.warning("%s: interlaced colour (%s): read as stored, both fields woven into each frame, so moving edges "
                "are combed; not deinterlaced, which cost more than the combing at moderate motion and helped "
                "at fast motion (docs/formats.md, \"Interlaced colour\"): for fast motion deinterlace it first "
                "(ffmpeg -vf yadif)", path, order)


def top_field_first(frame: av.VideoFrame) -> bool | None:
    """Whether an interlaced ``frame`` shows its top field first (AV_FRAME_FLAG_TOP_FIELD_FIRST, which PyAV 18
    does not expose: the ``select`` filter's ``interlace_type`` reads it, the frame passed by reference,
    not copied); None where the filter does not take the frame."""
    try:
        with av.logging.Capture(local=True):  # its own messages are no news to the user
            graph = av.filter.Graph()
            src = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                                   time_base=frame.time_base or Fraction(1, 1000))
            graph.link_nodes(src, graph.add("select", r"eq(interlace_type\,TOPFIRST)"),
                             graph.add("buffersink")).configure()
            graph.push(frame)
            try:
                graph.pull()
            except (av.BlockingIOError, av.EOFError):
                return False
            return True
    except (av.FFmpegError, ValueError):
        return None


class FieldWatch:
    """Says once, with the first frame it can (``see``, given each decoded frame), whether the colour stream
    of codec context ``cc`` (of input ``path``) is interlaced: where its field order (``INTERLACED``) says
    so, or where it has none (AV_FIELD_UNKNOWN) and a frame is flagged interlaced. The order named is the
    frame's where it is flagged (the ffmpeg 5.1 command line tags top-field-first H.264 in Matroska
    ``tb``, bottom field shown first), else the tag's. ``cc`` None: nothing is said (depth)."""

    def __init__(self, cc: Any, path: str) -> None:
        self.path = path
        order = getattr(cc, "field_order", None) if cc is not None else None
        self.tag = INTERLACED.get(order)
        self.pending = self.tag is not None or order == 0 and cc.name not in NOT_FIELDS

    def see(self, frame: av.VideoFrame) -> None:
        if not self.pending or not (self.tag or frame.interlaced_frame):
            return
        self.pending = False
        first = top_field_first(frame) if frame.interlaced_frame else None
        warn_interlaced(self.path, (self.tag or "field order unknown") if first is None
                        else "top field first" if first else "bottom field first")


__all__ = ["INTERLACED", "NOT_FIELDS", "FieldWatch", "top_field_first", "warn_interlaced"]
