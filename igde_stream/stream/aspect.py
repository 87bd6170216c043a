"""Non-square pixels (anamorphic video) in the outputs: the sample aspect ratio (SAR, a stored
pixel's width : height) each output of a run carries, and how a writer says it.

Outputs are written at a stored grid, as the inputs are read: a player shows them as it shows the
input only if they carry that grid's SAR. ``depth_sar``: the depth output's, the depth's own as read
(``VideoReader.sar``: after a quarter turn, turned too), or the colour's where the depth is enlarged
to the colour's grid (``--grid color``). ``views_sar``: the views and RGB-D outputs', pictures of the
colour: the colour's, or the depth's where the colour is resized to the depth's grid. A quilt or a
lenticular panel image is a display's own pixels: written square, its views fitted as a player
shows them (``fit_layout``).

``AspectTag`` says it as far as PyAV 18 lets a writer: on the encoder
(``codec_context.sample_aspect_ratio``), which lands in MP4 / MOV (their ``pasp`` box,
``IN_CONTAINER``) and in the codecs that code it (``IN_BITSTREAM``: H.264 / HEVC VUI in any
container, PNG ``pHYs``, TIFF resolution, JPEG, EXR). Matroska, NUT and AVI write only the stream's
own SAR (``AVStream``), which PyAV does not set, so there a stream says it only where its codec
does, and FFV1 does in every frame's slice header (level 3) when the frame has one: the frames get
it from a ``setsar`` filter (the values pass unchanged). FFmpeg's decoder reads that (ffplay,
ffmpeg, ``ffprobe -show_frames``); ``ffprobe -show_streams`` and PyAV 18 (its stream and frames) do
not. A Matroska stereo pair (side by side, top and bottom) is shown squeezed whatever the codec
says: the muxer writes one view's display size in square pixels, which the demuxer puts over it.
Where a file keeps no SAR, a warning says so.
"""

from __future__ import annotations

import logging
from fractions import Fraction
from typing import Any

log = logging.getLogger("igde_stream.stream")

#: encoders whose bitstream says the encoder's SAR (H.264 / HEVC VUI, MPEG-4 part 2 and MPEG-2 headers;
#: PNG pHYs, TIFF resolution, JPEG JFIF density, EXR pixelAspectRatio): read back in any container
#: (checked with ffprobe: Matroska, AVI, MP4, images)
IN_BITSTREAM = ("libx264", "libx265", "mpeg4", "mpeg2video", "h264_", "hevc_", "png", "tiff", "mjpeg", "exr")
#: muxers that write the encoder's SAR themselves (MP4 / MOV: the pasp box)
IN_CONTAINER = ("mov", "mp4", "ipod", "3gp", "3g2", "psp", "ismv", "f4v")
#: Matroska stereo modes of two views in one frame, for which FFmpeg writes one view's display size
PACKED = ("left", "right", "top", "bottom")


def _sar(reader: Any) -> Fraction:
    sar = getattr(reader, "sar", None)  # NumPy arrays, test doubles: square
    return Fraction(sar) if sar else Fraction(1)


def depth_sar(color: Any, depth: Any) -> Fraction:
    """The depth output's SAR: the depth's as read, or the colour's where the depth is enlarged to it."""
    return _sar(color) if getattr(depth, "size", None) is not None else _sar(depth)


def views_sar(color: Any, depth: Any) -> Fraction:
    """The views' and RGB-D outputs' SAR: the colour's, or the depth's where the colour is resized to it."""
    return _sar(depth) if getattr(color, "size", None) is not None else _sar(color)


def ratio(sar: Fraction) -> str | None:
    """``"64:45"`` for the summary, or None for square pixels."""
    return None if sar == 1 else f"{sar.numerator}:{sar.denominator}"


def output_aspects(color: Any, depth: Any) -> dict[str, str | None]:
    """The summary's ``output_sar`` (the depth output's, None: square), logged where not square; and
    said (info) where colour and depth of one stored grid disagree, a tag missing on one of them."""
    d, v = depth_sar(color, depth), views_sar(color, depth)
    if d != 1:
        log.info("the outputs are tagged with the sample aspect ratio %s (shown as a player shows the %s)",
                 ratio(d), "colour" if getattr(depth, "size", None) is not None else "depth")
    if d != v:
        log.info("colour %s (sample aspect ratio %s) and depth %s (%s) are read at one grid: the depth output "
                 "carries the depth's, the views and RGB-D outputs the colour's", color.path, ratio(v) or "1:1",
                 depth.path, ratio(d) or "1:1")
    return {"output_sar": ratio(d)}


def fit_layout(layout: Any, sar: Fraction | int) -> tuple[Any, Fraction | int]:
    """(layout, the pixel aspect its files carry) for views whose pixels are ``sar``: the layout and
    ``sar`` where its frames are the views' own pixels (``Layout.sar_kept``); else (a quilt, a
    lenticular panel image: a display's own pixels) square files, the views fitted as a player shows
    them (``display.with_view_sar``: a quilt of the views themselves names the aspect they show at)."""
    if getattr(layout, "sar_kept", True):
        return layout, sar
    if sar == 1:
        return layout, 1
    from .. import display

    if getattr(getattr(layout, "spec", None), "size", True) is None:  # a quilt whose tiles are the views
        log.info("quilt layout: the views, in %s pixels, are its tiles as stored; its name says the aspect "
                 "they show at (file in square pixels)", ratio(Fraction(sar)))
    else:
        log.info("%s layout: views in %s pixels fitted as a player shows them (files in square pixels)",
                 type(layout).__name__.lower(), ratio(Fraction(sar)))
    return display.with_view_sar(layout, float(sar)), 1


class AspectTag:
    """Says ``sar`` in the output ``name`` of ``stream`` (a PyAV video stream not yet opened): on its
    encoder, and, for FFV1, on every frame (``__call__``, before ``encode``). Square pixels: nothing.
    Where the file keeps no aspect (``IN_BITSTREAM``, ``IN_CONTAINER``, FFV1), a warning says so."""

    def __init__(self, stream: Any, sar: Fraction | int = 1, name: Any = "") -> None:
        self.sar = Fraction(sar)
        codec, muxer = stream.codec_context.name, stream.container.format.name
        self._frames = self.sar != 1 and codec == "ffv1"
        self._graph: Any = None
        self._key: tuple[str, int, int] | None = None
        if self.sar == 1:
            return
        stream.codec_context.sample_aspect_ratio = self.sar
        name = name or stream.container.name
        if muxer.startswith("matroska") and stream.metadata.get("stereo_mode", "").startswith(PACKED):
            log.warning("%s: Matroska's stereo mode says each view's display size in square pixels (FFmpeg writes "
                        "it from the stream's header, which PyAV does not set), which players take over the "
                        "sample aspect ratio %s: the views show squeezed; use .mp4", name, ratio(self.sar))
        elif muxer.split(",")[0] in IN_CONTAINER or codec.startswith(IN_BITSTREAM):
            return
        elif self._frames:
            log.info("%s: FFV1 in %s says the sample aspect ratio %s in every frame, not in the stream's header "
                     "(FFmpeg's decoder reads it: ffplay, ffmpeg, ffprobe -show_frames; ffprobe -show_streams and PyAV do not): .mp4 or .mov says both",
                     name, muxer, ratio(self.sar))
        else:
            hint = "a .png, .tif or .exr pattern says it" if muxer == "image2" else (
                "use .mp4 / .mov, or the ffv1 or libx264 codec")
            log.warning("%s: %s in %s keeps no sample aspect ratio: a player shows its %dx%d pixels square, not "
                        "as the input (%s); %s", name, codec, muxer, stream.codec_context.width,
                        stream.codec_context.height, ratio(self.sar), hint)

    def __call__(self, frame: Any) -> Any:
        """``frame`` with the SAR (FFV1), else itself; pts and time base are set after this."""
        if not self._frames:
            return frame
        import av.filter

        key = (frame.format.name, frame.width, frame.height)
        if self._graph is None or key != self._key:
            g = av.filter.Graph()
            src = g.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                               time_base=Fraction(1, 1))
            tag, sink = g.add("setsar", f"{self.sar.numerator}/{self.sar.denominator}"), g.add("buffersink")
            src.link_to(tag)
            tag.link_to(sink)
            g.configure()
            self._graph, self._key = g, key
        frame.pts = None
        self._graph.push(frame)
        return self._graph.pull()


__all__ = ["AspectTag", "depth_sar", "fit_layout", "output_aspects", "ratio", "views_sar"]
