"""16-bit raw video that lost its FourCC: an Azure Kinect recording's depth and IR tracks are raw
``b16g`` samples (big-endian 16-bit gray) in Matroska's VFW mode, which FFmpeg reads as ``gray16be`` by
that tag. ``ffmpeg -c copy`` into Matroska writes no tag for raw video (FFmpeg 5.1), and such a track
then reads as ``rgb555le``, a 16-bit RGB layout: as depth it is refused (no depth format), and as one
input it holds no stream that looks like depth. ``hint`` says so, with the command that reads its
samples as the raw depth they are."""

from __future__ import annotations

import shlex
from typing import Any


def untagged(container: Any) -> list[tuple[int, Any]]:
    """(index among the video streams, stream) of each raw ``rgb555le`` stream without a codec tag."""
    found = []
    for k, s in enumerate(getattr(getattr(container, "streams", None), "video", ())):
        cc = getattr(s, "codec_context", None)  # (a caller's stand-in stream may have none)
        if getattr(cc, "name", None) == "rawvideo" and getattr(cc.format, "name", None) == "rgb555le" and \
                not str(cc.codec_tag or "").strip("\x00"):
            found.append((k, s))
    return found


def hint(container: Any, path: str) -> str:
    """"; ..." naming the container's untagged 16-bit raw streams and how to read one as depth; else ""."""
    found = untagged(container)
    if not found:
        return ""
    k, s = found[0]
    many = len(found) > 1
    which = f"{'s' if many else ''} {' and '.join(str(n) for n, _ in found)}"
    rate = s.guessed_rate or s.average_rate or 30
    return (f"; video stream{which} of {path} {'are' if many else 'is'} 16-bit raw video without "
            f"{'their' if many else 'its'} FourCC, read as rgb555le (an Azure Kinect depth or IR track, b16g, "
            "copied by ffmpeg -c copy loses its tag): give the original recording, or read its samples as gray16be: "
            f"ffmpeg -i {shlex.quote(path)} -map 0:v:{k} -c copy -f rawvideo - | igde-stream COLOR - --size "
            f"{s.width}x{s.height} --pix-fmt gray16be --fps {rate} -o OUT")
