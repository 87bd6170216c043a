"""Colour and depth images out of ROS bags: ROS 1 ``.bag`` (rosbag record, the RealSense Viewer's
recordings) and ROS 2 bags (a folder with ``metadata.yaml``, or its ``.mcap`` / ``.db3`` file).

Recognising a bag (``bag_kind``) needs nothing beyond the standard library, so the main command can
name it and the export command for it; reading one goes through the pure-Python ``rosbags`` library
(``pip install "igde-stream[ros]"``), imported only here. ``sensor_msgs/Image`` in the encodings of
REP 118 (depth ``16UC1`` / ``mono16`` in millimetres or the RealSense ``Depth Units``, ``32FC1`` in
metres, NaN = no return; colour ``rgb8`` / ``bgr8`` / ``rgba8`` / ``bgra8``, gray ``mono8``, YUV 4:2:2
and Bayer mosaics, both through OpenCV's conversions) and ``sensor_msgs/CompressedImage`` (JPEG / PNG
colour, ``compressedDepth`` PNG depth) are decoded to NumPy: depth H x W uint16 or float32 as stored,
colour H x W x 3 uint8 RGB. Other encodings are not read: a topic in one is named with its encoding.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from .errors import InputError

INSTALL = 'pip install "igde-stream[ros]"'
IMAGE, COMPRESSED = "sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage"
DEPTH_ENCODINGS = {"16uc1": np.uint16, "mono16": np.uint16, "32fc1": np.float32}
COLOUR_ENCODINGS = {"rgb8": (3, False), "bgr8": (3, True), "rgba8": (4, False), "bgra8": (4, True), "mono8": (1, False)}
# YUV 4:2:2, two bytes a pixel, to RGB by OpenCV (BT.601, limited range, as cv_bridge converts them). In
# sensor_msgs/image_encodings ``yuv422`` is UYVY and ``yuv422_yuy2`` YUYV; ``uyvy`` / ``yuyv`` are ROS 2's
# newer names for the two, and ``YUYV`` is how the RealSense SDK (a Viewer recording) names YUYV colour.
YUV422_ENCODINGS = {"yuv422": "COLOR_YUV2RGB_UYVY", "uyvy": "COLOR_YUV2RGB_UYVY",
                    "yuv422_yuy2": "COLOR_YUV2RGB_YUY2", "yuyv": "COLOR_YUV2RGB_YUY2"}
# Bayer mosaics, demosaiced by OpenCV (bilinear). ROS names the 2 x 2 block at the top left, row by row
# (bayer_rggb8: R G / G B); OpenCV's code names the second row's second and third pixels, so ROS's rggb is
# OpenCV's BayerBG (as image_proc's debayer maps them). 16-bit mosaics come out scaled by 255 / 65535.
BAYER_ENCODINGS = {f"bayer_{ros}{bits}": (f"COLOR_Bayer{cv}2RGB", np.uint8 if bits == 8 else np.uint16)
                   for ros, cv in (("rggb", "BG"), ("bggr", "RG"), ("gbrg", "GR"), ("grbg", "GB")) for bits in (8, 16)}
COLOUR_READ = (*COLOUR_ENCODINGS, *YUV422_ENCODINGS, *BAYER_ENCODINGS)  # every colour encoding read
_MAGIC = {b"#ROSBAG V2.0\n": "a ROS 1 bag", b"\x89MCAP0\r\n": "a ROS 2 bag (MCAP)"}


def bag_kind(path: Any) -> str | None:
    """``a ROS 1 bag`` / ``a ROS 2 bag (MCAP)`` / ``(SQLite)`` / ``folder`` where ``path`` is one (by its
    first bytes, or a folder's ``metadata.yaml``); else None."""
    try:
        path = os.fspath(path)
        if os.path.isdir(path):
            with open(os.path.join(path, "metadata.yaml"), "rb") as f:
                return "a ROS 2 bag folder" if b"rosbag2_bagfile_information" in f.read(4096) else None
        with open(path, "rb") as f:
            head = f.read(16)
    except (OSError, TypeError, ValueError):
        return None
    if head == b"SQLite format 3\x00" and path.lower().endswith(".db3"):
        return "a ROS 2 bag (SQLite)"
    return next((kind for magic, kind in _MAGIC.items() if head.startswith(magic)), None)


def bag_refusal(path: Any) -> str | None:
    """The one line the main command says of a bag given as a video; None for anything else."""
    kind = bag_kind(path)
    if kind is None:
        return None
    import shlex

    return (f"{kind}, not a video: export its colour and depth images first, `igde-stream bag "
            f"{shlex.quote(os.fspath(path))} OUTDIR` (paired by time; it prints the igde-stream command for them; "
            "docs/formats.md, \"ROS bags\")")


@contextmanager
def open_bag(path: str) -> Iterator[Any]:
    """A ``rosbags`` AnyReader over ``path``, open for the block, or InputError naming what is wrong."""
    try:
        import rosbags
        from rosbags.highlevel import AnyReader
        from rosbags.typesys import Stores, get_typestore
    except ImportError:
        raise InputError(f"reading ROS bags needs the rosbags library: {INSTALL}", path) from None
    if not os.path.exists(path):
        raise InputError("no such file or folder", path)
    if bag_kind(path) is None:
        raise InputError("not a ROS bag (a ROS 1 .bag, or a ROS 2 bag: its folder, .mcap or .db3)", path)
    from pathlib import Path

    try:
        reader = AnyReader([Path(path)], default_typestore=get_typestore(Stores.ROS2_HUMBLE))
        reader.open()
    except Exception as exc:  # rosbags' Reader / AnyReader errors: a damaged or unsupported bag
        raise InputError(f"cannot read the bag ({type(exc).__name__}: {str(exc).strip()[:160]})", path) from None
    try:
        yield reader
    except Exception as exc:  # raised inside rosbags while reading: a damaged chunk, a message cut short
        if isinstance(exc, InputError) or not _raised_in(exc, list(rosbags.__path__)):  # a namespace package
            raise
        raise InputError(f"damaged: {type(exc).__name__} reading it ({str(exc).strip()[:160]})", path) from None
    finally:
        reader.close()


def _raised_in(exc: BaseException, folders: list[str]) -> bool:
    """Whether a frame of ``exc``'s traceback runs code from ``folders`` (a library's own errors, not ours)."""
    roots = tuple(os.path.abspath(f) + os.sep for f in folders)
    tb = exc.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(roots):
            return True
        tb = tb.tb_next
    return False


@dataclass
class Topic:
    """One image topic: its connections, type, first message's encoding (or CompressedImage format),
    size (width, height; None for compressed), message count and role (``depth``, ``color`` or None)."""

    name: str
    connections: list[Any]
    msgtype: str
    encoding: str
    size: tuple[int, int] | None
    count: int
    role: str | None


def _role(msgtype: str, encoding: str) -> str | None:
    enc = encoding.lower()
    if msgtype == IMAGE:
        return "depth" if enc in DEPTH_ENCODINGS else "color" if enc in COLOUR_READ else None
    return "depth" if "compresseddepth" in enc else "color"


def image_topics(reader: Any) -> list[Topic]:
    """The bag's image topics, in the order of their names, each described by its first message."""
    by_name: dict[str, list[Any]] = {}
    for c in reader.connections:
        if c.msgtype in (IMAGE, COMPRESSED):
            by_name.setdefault(c.topic, []).append(c)
    topics = []
    for name in sorted(by_name):
        conns = by_name[name]
        first = next((reader.deserialize(raw, c.msgtype) for c, _, raw in reader.messages(connections=conns)), None)
        if first is None:
            continue
        msgtype = conns[0].msgtype
        encoding = first.encoding if msgtype == IMAGE else first.format
        size = (int(first.width), int(first.height)) if msgtype == IMAGE else None
        topics.append(Topic(name, conns, msgtype, encoding, size, sum(c.msgcount for c in conns),
                            _role(msgtype, encoding)))
    return topics


def depth_units(reader: Any) -> float | None:
    """Metres per depth unit where the bag says it: the RealSense SDK's ``Depth Units`` option (0.001 on
    D400 cameras, 0.00025 on an L515); else None (ROS's 16UC1 is millimetres by REP 118)."""
    conns = [c for c in reader.connections if c.topic.endswith("/option/Depth Units/value")]
    if not conns:  # messages(connections=[]) would give every message of the bag
        return None
    for c, _, raw in reader.messages(connections=conns):
        value = float(reader.deserialize(raw, c.msgtype).data)
        if value > 0:
            return float(f"{value:.7g}")  # a float32 (0.001, not 0.0010000000474974513)
    return None


def stamp_ns(msg: Any, logtime: int) -> int:
    """The image's capture time (its header stamp), or the time it was logged where the stamp is 0."""
    stamp = msg.header.stamp
    ns = int(stamp.sec) * 1_000_000_000 + int(getattr(stamp, "nanosec", getattr(stamp, "nsec", 0)))
    return ns if ns > 0 else int(logtime)


def messages(reader: Any, topic: Topic) -> Iterator[tuple[int, Any]]:
    """(capture time in ns, message) of each of ``topic``'s messages, in the bag's order."""
    for c, logtime, raw in reader.messages(connections=topic.connections):
        msg = reader.deserialize(raw, c.msgtype)
        yield stamp_ns(msg, logtime), msg


def _raw_image(msg: Any, dtype: Any, channels: int, where: str) -> np.ndarray:
    """An Image message's pixels, rows cut to ``step`` bytes, in native byte order."""
    h, w, step = int(msg.height), int(msg.width), int(msg.step)
    itemsize = np.dtype(dtype).itemsize
    data = np.asarray(msg.data, np.uint8)
    if h * step > data.size or w * channels * itemsize > step:
        raise InputError(f"an image of {w}x{h} ({msg.encoding}, step {step}) holds {data.size} bytes: a damaged "
                         "message", where)
    rows = data[: h * step].reshape(h, step)[:, : w * channels * itemsize]
    order = ">" if int(msg.is_bigendian) else "<"
    out = np.ascontiguousarray(rows).view(np.dtype(dtype).newbyteorder(order)).reshape(h, w, channels)
    return out.astype(np.dtype(dtype).newbyteorder("="), copy=False)


def _compressed_depth(msg: Any, where: str) -> np.ndarray:
    """image_transport's compressedDepth: a 12-byte header (format, quantisation A, B), then a PNG of
    16-bit values: 16UC1 as they are, 32FC1 as quantised inverse depth, ``A / (v - B)`` metres."""
    import cv2

    data = np.asarray(msg.data, np.uint8)
    png = cv2.imdecode(data[12:], cv2.IMREAD_UNCHANGED) if data.size > 12 else None
    if png is None or png.dtype != np.uint16 or png.ndim != 2:
        raise InputError(f"a {msg.format} message whose image does not decode to 16-bit gray", where)
    if msg.format.lower().startswith("32fc1"):
        qa, qb = np.frombuffer(data[4:12].tobytes(), "<f4")
        with np.errstate(divide="ignore", invalid="ignore"):
            metres = (qa / (png.astype(np.float32) - qb)).astype(np.float32)
        return np.where(png == 0, np.float32(np.nan), metres)
    return png


def _converted(msg: Any, enc: str, where: str) -> np.ndarray:
    """A YUV 4:2:2 or Bayer Image message as H x W x 3 uint8 RGB, through OpenCV's conversion."""
    import cv2

    if enc in YUV422_ENCODINGS:
        px = _raw_image(msg, np.uint8, 2, where)
        if px.shape[1] % 2:  # each two pixels share their U and V
            raise InputError(f"a {msg.encoding} image of odd width ({px.shape[1]}): YUV 4:2:2 holds pixels in "
                             "pairs; a damaged message", where)
        return cv2.cvtColor(px, getattr(cv2, YUV422_ENCODINGS[enc]))
    code, dtype = BAYER_ENCODINGS[enc]
    rgb = cv2.cvtColor(np.ascontiguousarray(_raw_image(msg, dtype, 1, where)[..., 0]), getattr(cv2, code))
    if dtype == np.uint8:
        return rgb
    return ((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)  # v x 255 / 65535, rounded


def decode(msg: Any, topic: Topic, where: str) -> np.ndarray:
    """A message of ``topic`` as NumPy: depth H x W uint16 / float32, colour H x W x 3 uint8 RGB."""
    import cv2

    if topic.msgtype == COMPRESSED:
        if topic.role == "depth":
            return _compressed_depth(msg, where)
        bgr = cv2.imdecode(np.asarray(msg.data, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise InputError(f"a {msg.format or 'compressed'} colour message that does not decode", where)
        return bgr[..., ::-1]
    enc = str(msg.encoding).lower()
    if topic.role == "depth":
        if enc not in DEPTH_ENCODINGS:
            raise InputError(f"depth topic {topic.name} changes encoding to {msg.encoding}", where)
        return _raw_image(msg, DEPTH_ENCODINGS[enc], 1, where)[..., 0]
    if enc not in COLOUR_READ:
        raise InputError(f"colour topic {topic.name} changes encoding to {msg.encoding}", where)
    if enc not in COLOUR_ENCODINGS:
        return _converted(msg, enc, where)
    channels, bgr_order = COLOUR_ENCODINGS[enc]
    px = _raw_image(msg, np.uint8, channels, where)
    if channels == 1:
        return np.repeat(px, 3, axis=2)
    return px[..., 2::-1] if bgr_order else px[..., :3]
