"""Inputs cut in the middle of a frame that FFmpeg's demuxers end without an error, told apart from
a stream's end by byte counts (``sources.StreamDecoder`` raises the ``CorruptInputError``).

- **Raw frames on stdin** (``-`` with ``--size`` / ``--pix-fmt``): a file's length is checked up
  front (``sources._raw_options``), a pipe's is not known; the rawvideo decoder refuses the short
  last packet with EINVAL, which ``short_raw_frame`` words as the bytes that came.
- **YUV4MPEG** (``ffmpeg ... -f yuv4mpegpipe -``, ``.y4m``): the demuxer reads a frame short of its
  size as the end of the stream and drops it, so the stream would end one frame early in silence.
  ``bytes_after_last_frame``: the input's bytes beyond the last packet's data (its byte position
  plus its size; ``SharedInput.total_bytes``: a file's size, or all that stdin gave).
"""

from __future__ import annotations

from typing import Any

from .formats import frame_bytes


def short_raw_frame(shared: Any, stream: Any, packet: Any) -> str | None:
    """For raw frames from stdin (``shared.kind == "raw"``), a last frame cut short: "only N of its M
    bytes came"; None for any other input or packet."""
    ctx = stream.codec_context
    if packet is None or shared.kind != "raw" or ctx.format is None:
        return None
    want = frame_bytes(ctx.format.name, ctx.width, ctx.height)
    return f"only {packet.size} of its {want} bytes came" if 0 < packet.size < want else None


def bytes_after_last_frame(shared: Any, data_end: int) -> int | None:
    """At the end of a YUV4MPEG stream, the bytes after its last whole frame, whose data ended at
    byte ``data_end``; None where there are none, the length is not known, or for other formats."""
    if shared.container.format.name != "yuv4mpegpipe" or shared.total_bytes is None:
        return None
    try:
        extra = shared.total_bytes() - data_end
    except OSError:
        return None
    return extra if extra > 0 else None
