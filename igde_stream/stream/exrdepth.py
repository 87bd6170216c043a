"""OpenEXR depth in a channel FFmpeg's EXR decoder does not read as depth, as renderers and compositors
write it: a Z pass beside the colour (``R, G, B, Z``; Nuke's ``depth.Z``; Blender's multilayer
``ViewLayer.Depth.Z`` among the other passes), a channel named ``depth`` / ``distance``, or one channel
of another name (``Z`` alone, ``R`` alone).

FFmpeg's decoder reads a channel named ``Y`` (gray), or R, G and B; it maps other one-letter names to
colour slots (X, U -> R; V -> G; Z, W -> B) and skips the rest, and its ``layer`` option reads only
the channels that begin with a layer's name, that name taken off. So the file's bytes are handed to it
with the depth channel's name ending in ``Y`` (``Z`` -> ``Y``, ``depth.Z`` -> ``depth.Y`` with the layer
``depth.``) and the last letter of any other name it would map turned into ``_``: the same number of
bytes, so the header's offsets still hold, and FFmpeg decodes the depth channel alone as gray float
(``grayf32le``, ``grayf16le`` from half), in any compression it reads. The colour of the same file is
read by FFmpeg as ever (R, G, B), so one multichannel sequence can be both inputs.

Such a sequence is read as a NumPy depth clip is (``arrays.ArrayReader``: float depth, ``--fps``,
numbered outputs), since FFmpeg's image2 demuxer cannot be given the renamed bytes.
"""

from __future__ import annotations

import os
import struct
from typing import Iterator

import av
import numpy as np

from ..errors import CorruptInputError, InputError, worded
from .formats import float_array
from .imagehead import exr_attributes, exr_channel_list, is_depth_channel

#: one-letter channel names FFmpeg's EXR decoder maps to a colour slot (any case)
_MAPPED = frozenset("RGBAYXUVZW")


def exr_channels(path: str) -> list[str] | None:
    """The channel names in the first header of OpenEXR file ``path`` (None: not one, or unreadable)."""
    try:
        with open(path, "rb") as f:
            attrs = exr_attributes(f.read(1 << 16))
        kind, value = attrs.get(b"channels", (None, b"")) if attrs is not None else (None, b"")
        return [name for name, _ in exr_channel_list(value)] if kind == b"chlist" else None
    except (OSError, IndexError, ValueError, struct.error):
        return None


def exr_hint(codec: str, first: str) -> str:
    """For a message about OpenEXR image ``first``: its channels where some are not what FFmpeg reads."""
    names = exr_channels(first) if codec == "exr" else None
    if not names or set(names) - {"A"} in ({"Y"}, {"R", "G", "B"}):
        return ""
    return (f"; its OpenEXR channel{'s are' if len(names) > 1 else ' is'} {', '.join(names)}, and FFmpeg's EXR "
            "decoder reads only a channel named Y (gray), or R, G and B together, with no other beside them but A: "
            "save the depth as channel Y alone (or as .pfm / .npy)")


def depth_channel(names: list[str]) -> str | None:
    """The channel depth is read from in an OpenEXR file with channels ``names``, where FFmpeg would not
    read it: the one depth channel by name (``imagehead.is_depth_channel``) beside others, or the one
    channel of a file whose channel is not ``Y`` (alpha aside). None where FFmpeg reads the depth itself
    (``Y``, or R, G, B with no depth channel beside them), and where two channels are named as depth
    (refused elsewhere)."""
    rest = [n for n in names if n != "A"]
    found = [n for n in rest if is_depth_channel(n)]
    if len(found) == 1:
        return found[0]
    if not found and len(rest) == 1 and rest[0] != "Y":
        return rest[0]
    return None


def _files(path: str) -> list[str]:
    """The .exr files of ``path``: a folder or a ``%d`` pattern (``imageseq.sequence_files``), or one file."""
    from .imageseq import sequence_files

    if os.path.isdir(path) or "%" in os.path.basename(path):
        return sequence_files(path)
    return [path]


def _exr_files(path: str) -> list[str]:
    """The files of OpenEXR input ``path`` (``_files``), [] for any other input (a folder of other images
    is not listed twice) or one that is refused elsewhere."""
    try:
        if not path.lower().endswith(".exr"):
            if not os.path.isdir(path):
                return []
            with os.scandir(path) as entries:
                if not any(e.name.lower().endswith(".exr") for e in entries):
                    return []
        files = _files(path)
    except (InputError, OSError):
        return []
    return files if files and files[0].lower().endswith(".exr") else []


def channel_input(path: str, role: str, chosen: str | None = None) -> str | None:
    """The channel that depth (or ground truth) ``path``, an OpenEXR file, folder or pattern, is read from
    here, not by FFmpeg (``depth_channel`` of its first file); None for anything else, and for colour.
    ``chosen`` (``InputOptions.depth_channel``): the depth's channel, whatever its name; a ground truth's
    where two of its channels are named as depth and it holds ``chosen``. Two channels named as depth
    without a choice that settles it are refused, naming them and the choice."""
    if role == "color":
        return None
    files = _exr_files(path)
    names = exr_channels(files[0]) if files else None
    if chosen is not None and role == "depth":
        if not names:
            raise unfit_choice(chosen, path)
        if chosen not in names:
            raise worded(InputError, "{}: no such channel in its first image, " + os.path.basename(files[0])
                         + f" (its channels: {', '.join(names)})", (f"depth_channel={chosen!r}",),
                         (f"--depth-channel {chosen}",), path)
        return chosen
    if not names:
        return None
    named = [n for n in names if n != "A" and is_depth_channel(n)]
    if len(named) > 1 and not (role == "gt" and chosen in named):
        which = "the depth" if role == "depth" else "the depth, and a ground truth's where it holds that channel"
        raise worded(InputError, f"its OpenEXR channels {', '.join(named)} are each named as depth: {{}} chooses "
                     f"{which} (e.g. {{}})", ("depth_channel='NAME'", f"depth_channel={named[0]!r}"),
                     ("--depth-channel NAME", f"--depth-channel {named[0]}"), path)
    return chosen if len(named) > 1 else depth_channel(names)


def unfit_choice(chosen: str, path: str) -> InputError:
    """The refusal of a depth channel chosen for depth ``path`` that is no OpenEXR image."""
    return worded(InputError, "{}: the channel is chosen in OpenEXR depth (an .exr file, folder or pattern); "
                  "this depth is not one", (f"depth_channel={chosen!r}",), (f"--depth-channel {chosen}",), path)


def _channels_at(data: bytes) -> int:
    """Where the value of the ``channels`` attribute starts in OpenEXR file ``data`` (its first name),
    walking the attributes as ``imagehead.exr_attributes`` does (another chlist, or these bytes inside
    an earlier attribute's value, are not it)."""
    at = 8
    while data[at]:  # name \0 type \0 int32 size, value
        name_end = data.index(b"\0", at)
        kind_end = data.index(b"\0", name_end + 1)
        (size,) = struct.unpack_from("<i", data, kind_end + 1)
        if data[at:name_end] == b"channels":
            return kind_end + 5
        at = kind_end + 5 + size
    raise ValueError("no channels attribute")


def colour_layer(path: str) -> str | None:
    """The layer whose R, G, B the colour ``path`` (an OpenEXR file, folder or pattern) is read from, where
    its first image has none at the top level (nor Y): Blender's multilayer ``ViewLayer.Combined``, handed
    to FFmpeg's decoder as its ``layer`` option; a layer named Combined, rgba or beauty first, else the
    first by name. None for anything else (FFmpeg reads it as it is)."""
    files = _exr_files(path)
    names = exr_channels(files[0]) if files else None
    if not names or {"R", "G", "B"} <= set(names) or "Y" in names:
        return None
    split = [n.rsplit(".", 1) for n in names if "." in n]
    layers = sorted({layer for layer, c in split if all(f"{layer}.{x}" in names for x in "RGB")})
    liked = [x for x in layers if x.rsplit(".", 1)[-1].lower() in ("combined", "rgba", "beauty")]
    return (liked or layers or [None])[0]


def decode_channel(data: bytes, channel: str, where: str) -> np.ndarray:
    """H x W float32 of channel ``channel`` of the OpenEXR file ``data`` (half widened exactly), decoded by
    FFmpeg from the renamed bytes (see the module docstring); ``InputError`` naming ``where`` when the
    file lacks the channel, ``CorruptInputError`` when FFmpeg cannot decode it."""
    attrs = exr_attributes(data[: 1 << 20])
    if attrs is None or attrs.get(b"channels", (b"",))[0] != b"chlist":
        raise CorruptInputError("not an OpenEXR file, or its header is damaged", where)
    names = [n for n, _ in exr_channel_list(attrs[b"channels"][1])]
    if channel not in names:
        raise InputError(f"has no channel {channel} (its channels: {', '.join(names)}); every image of a depth "
                         f"sequence holds the depth in one channel", where)
    layer = channel[:-1]
    buf = bytearray(data)
    at = _channels_at(data)
    while buf[at]:
        end = buf.index(b"\0", at)
        name = bytes(buf[at:end]).decode("latin-1")
        if name == channel:
            buf[end - 1] = ord("Y")
        elif name.startswith(layer) and name[len(layer):].lstrip(".").upper() in _MAPPED:
            buf[end - 1] = ord("_")  # no colour slot for it: FFmpeg skips its samples
        at = end + 17
    codec = av.CodecContext.create("exr", "r")
    if layer:
        codec.options = {"layer": layer}
    try:
        frames = [*codec.decode(av.Packet(bytes(buf))), *codec.decode(None)]
        if len(frames) != 1 or frames[0].format.name not in ("grayf32le", "grayf16le"):
            raise ValueError(f"decoded as {frames[0].format.name if frames else 'no frame'}")
        return float_array(frames[0])
    except (av.FFmpegError, ValueError) as exc:
        raise CorruptInputError(f"channel {channel} does not decode ({exc})", where) from None


def rgb_depth_hint(codec: str, first: str, depth: bool = True) -> str:
    """For OpenEXR depth ``first`` of channels R, G, B, with A or without, refused (FFmpeg reads them as
    colour: three that differ, or four, a format no depth is read from): how a depth held in one of them
    goes in (``depth``: the depth input, which can choose its channel); "" for any other image."""
    names = exr_channels(first) if codec == "exr" else None
    if not names or set(names) - {"A"} != {"R", "G", "B"}:
        return ""
    return ("; where the depth is one of them (R, as a compositor's shuffle into rgb leaves it), "
            + ("read it as it is with --depth-channel R, or " if depth else "")
            + "rename that channel Z (Nuke: shuffle it into depth.Z) or write it alone: such a channel is read as the "
            "depth (docs/formats.md)")


class ExrChannelClip:
    """An OpenEXR depth sequence (a folder, a pattern or one file) read from ``channel`` of each image,
    as ``arrays.open_clip`` gives the frames of a NumPy input: ``count`` x ``height`` x ``width`` float32.
    Every image's channel list is read when it opens (headers only); a file without the channel is
    refused then, naming it."""

    is_float = True
    dtype = np.dtype(np.float32)

    def __init__(self, path: str, channel: str) -> None:
        self.path, self.channel = path, channel
        self.files = _files(path)
        self.count = len(self.files)
        for k, file in enumerate(self.files):
            names = exr_channels(file)
            if names is not None and channel not in names:
                raise InputError(f"image {k} ({os.path.basename(file)}) has no channel {channel} (its channels: "
                                 f"{', '.join(names)}), the first image's depth channel", file)
        self._first: np.ndarray | None = self._read(0)
        self.height, self.width = self._first.shape

    def _read(self, k: int) -> np.ndarray:
        file = self.files[k]
        try:
            with open(file, "rb") as f:
                data = f.read()
        except OSError as exc:
            raise InputError(f"image {k} cannot be read ({exc.strerror})", file) from None
        return decode_channel(data, self.channel, file)

    def frames(self) -> Iterator[np.ndarray]:
        for k in range(self.count):
            values = self._first if k == 0 and self._first is not None else self._read(k)
            if values.shape != (self.height, self.width):
                raise InputError(f"image {k} ({os.path.basename(self.files[k])}) is {values.shape[1]}x{values.shape[0]}, "
                                 f"the images before it {self.width}x{self.height}: every frame keeps one size",
                                 self.files[k])
            yield values
        self._first = None

    def close(self) -> None:
        self._first = None


__all__ = ["ExrChannelClip", "channel_input", "colour_layer", "decode_channel", "depth_channel", "exr_channels", "exr_hint",
           "rgb_depth_hint", "unfit_choice"]
