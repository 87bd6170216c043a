"""Depth registered to the colour camera for ``igde-stream bag --align``, from what a ROS bag records
beside the images: each camera's ``sensor_msgs/CameraInfo`` (its intrinsics ``K``, the colour's
distortion ``D``; ``header.frame_id`` names its optical frame) and the static transforms between the
frames (``/tf_static``: ``tf2_msgs/TFMessage``, each transform the child frame's pose in its parent,
``p_parent = R p_child + t``, REP 103 / 105): each depth pixel to a 3-D point, moved into the colour
camera and projected with its intrinsics and distortion (``Aligner``). Where the colour camera sees what
the depth camera did not (beside near objects, beyond its view) the registered depth is a hole (0 / NaN)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import InputError

log = logging.getLogger("igde_stream.cli")
CAMERA_INFO = "sensor_msgs/msg/CameraInfo"
TRANSPORTS = ("/compressedDepth", "/compressed")
OPENCV_MODELS = ("plumb_bob", "rational_polynomial")  # ROS's distortion models in OpenCV's k1 k2 p1 p2 k3 ... order


@dataclass
class Camera:
    k: np.ndarray  # 3 x 3
    d: np.ndarray  # distortion coefficients, OpenCV's order (ROS plumb_bob / rational_polynomial alike)
    size: tuple[int, int]  # width, height
    frame: str
    model: str = "plumb_bob"  # CameraInfo.distortion_model


def info_topic(image_topic: str) -> str:
    """The CameraInfo topic beside ``image_topic``: ``/cam/depth/image_rect_raw`` -> ``/cam/depth/camera_info``
    (image_transport's suffixes, ``/compressed``, ``/compressedDepth``, taken off first)."""
    base = image_topic
    for suffix in TRANSPORTS:
        base = base[: -len(suffix)] if base.endswith(suffix) else base
    return base.rsplit("/", 1)[0] + "/camera_info"


def camera_info(reader: Any, image_topic: str) -> Camera | None:
    """The CameraInfo beside ``image_topic`` (``info_topic``), from its first message; None where the bag has
    none."""
    want = info_topic(image_topic)
    conns = [c for c in reader.connections if c.msgtype == CAMERA_INFO and c.topic == want]
    for c, _, raw in reader.messages(connections=conns) if conns else ():
        m = reader.deserialize(raw, c.msgtype)
        k = np.asarray(getattr(m, "k", getattr(m, "K", None)), np.float64).reshape(3, 3)
        d = np.asarray(getattr(m, "d", getattr(m, "D", ())), np.float64)
        return Camera(k, d, (int(m.width), int(m.height)), str(m.header.frame_id).lstrip("/"),
                      str(getattr(m, "distortion_model", "")))
    return None


def _matrix(t: Any) -> np.ndarray:
    """A geometry_msgs/Transform as the 4 x 4 matrix taking child-frame points to the parent frame."""
    x, y, z, w = (float(getattr(t.rotation, a)) for a in "xyzw")
    n = (x * x + y * y + z * z + w * w) ** 0.5
    x, y, z, w = x / n, y / n, z / n, w / n
    m = np.eye(4)
    m[:3, :3] = [[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                 [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                 [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]]
    m[:3, 3] = [float(t.translation.x), float(t.translation.y), float(t.translation.z)]
    return m


def static_transforms(reader: Any) -> dict[str, tuple[str, np.ndarray]]:
    """child frame -> (parent frame, child-to-parent matrix), from every ``/tf_static`` message."""
    tfs: dict[str, tuple[str, np.ndarray]] = {}
    conns = [c for c in reader.connections if c.topic == "/tf_static"]
    for c, _, raw in reader.messages(connections=conns) if conns else ():
        for ts in reader.deserialize(raw, c.msgtype).transforms:
            tfs[str(ts.child_frame_id).lstrip("/")] = (str(ts.header.frame_id).lstrip("/"), _matrix(ts.transform))
    return tfs


def _to_root(tfs: dict[str, tuple[str, np.ndarray]], frame: str) -> tuple[str, np.ndarray]:
    m = np.eye(4)
    seen = {frame}
    while frame in tfs:
        frame, parent_from_child = tfs[frame]
        m = parent_from_child @ m
        if frame in seen:  # a loop: no tree
            break
        seen.add(frame)
    return frame, m


def depth_to_colour(tfs: dict[str, tuple[str, np.ndarray]], depth_frame: str, colour_frame: str) -> np.ndarray | None:
    """The 4 x 4 matrix taking points in ``depth_frame`` to ``colour_frame``; None where no tree joins them."""
    if depth_frame == colour_frame:
        return np.eye(4)
    (rd, md), (rc, mc) = _to_root(tfs, depth_frame), _to_root(tfs, colour_frame)
    return np.linalg.inv(mc) @ md if rd == rc else None


class Aligner:
    """Registers depth images (uint16 in ``units`` metres, or float32 metres with NaN) to the colour camera:
    each depth pixel's square, its four corners moved to the colour camera at the pixel's depth and projected
    (``cv2.projectPoints``, the colour's distortion), covers the colour pixels whose centres their box holds, the
    nearest depth kept (as librealsense's align does). OpenCV's ``registerDepth`` splats a fixed 2 x 2
    instead, which widened near objects by up to 2 px into the wall beside them on the test scene."""

    def __init__(self, depth: Camera, colour: Camera, rt: np.ndarray, units: float) -> None:
        self.depth, self.colour, self.rt, self.units = depth, colour, rt, units

    def __call__(self, d: np.ndarray) -> np.ndarray:
        import cv2

        metres = d.astype(np.float64) * (1.0 if d.dtype == np.float32 else self.units)
        v, u = np.nonzero(np.isfinite(metres) & (metres > 0))
        z = metres[v, u]
        r, t = self.rt[:3, :3] @ np.linalg.inv(self.depth.k), self.rt[:3, 3]  # pixel (u, v, 1) -> colour frame
        centre = np.stack([u, v, np.ones_like(u)], 1) @ r.T
        zc = centre[:, 2] * z + t[2]  # the depth in the colour camera
        front = zc > 0  # (behind the colour camera: not seen)
        centre, z, zc = centre[front], z[front], zc[front]
        # the square's four corners: a turn or the colour's distortion makes it a quadrilateral, whose box
        # two opposite corners alone leave short of its neighbours' (holes on a flat wall)
        corners = np.concatenate([(centre + du * r[:, 0] + dv * r[:, 1]) * z[:, None] + t
                                  for du, dv in ((-0.5, -0.5), (0.5, -0.5), (-0.5, 0.5), (0.5, 0.5))])
        if self.colour.d.any():
            uv, _ = cv2.projectPoints(corners.reshape(-1, 1, 3), np.zeros(3), np.zeros(3), self.colour.k, self.colour.d)
        else:  # a pinhole: K alone, in NumPy (about 20 times faster than projectPoints here)
            q = corners @ self.colour.k.T
            uv = q[:, :2] / q[:, 2:]
        uv = uv.reshape(4, -1, 2)
        lo, hi = np.ceil(uv.min(axis=0)).astype(np.int64), np.floor(uv.max(axis=0)).astype(np.int64)
        small = np.any(lo > hi, axis=1)  # smaller than a colour pixel: the one nearest its centre
        c = np.rint(uv[:, small].mean(axis=0)).astype(np.int64)
        lo[small], hi[small] = c, c
        w, h = self.colour.size
        buf = np.full(w * h, np.inf)
        span = np.clip(hi - lo, 0, None).max(axis=0) if len(lo) else np.zeros(2, np.int64)
        for dy in range(int(span[1]) + 1):
            for dx in range(int(span[0]) + 1):
                x, y = lo[:, 0] + dx, lo[:, 1] + dy
                keep = (x <= hi[:, 0]) & (y <= hi[:, 1]) & (x >= 0) & (x < w) & (y >= 0) & (y < h)
                np.minimum.at(buf, y[keep] * w + x[keep], zc[keep])
        out = buf.reshape(h, w)
        if d.dtype == np.float32:
            return np.where(np.isfinite(out), out, np.nan).astype(np.float32)
        return np.clip(np.round(np.where(np.isfinite(out), out, 0) / self.units), 0, 65535).astype(np.uint16)


def check_size(cam: Camera, topic: str, size: tuple[int, int] | None, where: str) -> None:
    """InputError where ``topic``'s images (``size``: width, height; None: not known yet) are not the size its
    camera_info gives: the registration would be at the wrong size, or read the wrong pixels."""
    if size is not None and tuple(size) != cam.size:
        raise InputError(f"--align: {topic} is {size[0]}x{size[1]} and its camera_info says "
                         f"{cam.size[0]}x{cam.size[1]}", where)


def aligner(reader: Any, depth_topic: str, colour_topic: str, depth_size: tuple[int, int] | None, units: float,
            where: str, colour_size: tuple[int, int] | None = None) -> Aligner:
    """The Aligner for a bag's two topics (``depth_size`` / ``colour_size``: their images' sizes, None for a
    compressed topic's), or InputError naming what the bag lacks for it."""
    if depth_topic.startswith("/device_"):  # the SDK's own layout: /device_0/sensor_0/Depth_0/image/data
        raise InputError("--align reads ROS camera_info and /tf_static; a RealSense SDK recording keeps its "
                         "calibration in the SDK's own topics, which are not read: align it on playback with the "
                         "SDK (rs.align), or record with the ROS wrapper", where)
    dcam, ccam = camera_info(reader, depth_topic), camera_info(reader, colour_topic)
    for cam, topic in ((dcam, depth_topic), (ccam, colour_topic)):
        if cam is None:
            raise InputError(f"--align needs the camera_info beside {topic} ({info_topic(topic)}), which the bag "
                             "does not hold", where)
        k = cam.k
        if not (np.isfinite(k).all() and k[0, 0] > 0 and k[1, 1] > 0 and k[2, 2] == 1 and not k[2, :2].any()):
            raise InputError(f"--align: the camera_info beside {topic} ({info_topic(topic)}) holds no calibration "
                             f"(K {' '.join(f'{x:g}' for x in k.ravel())}; all 0: an uncalibrated camera)", where)
    for cam, topic, size in ((dcam, depth_topic, depth_size), (ccam, colour_topic, colour_size)):
        check_size(cam, topic, size, where)  # (a compressed topic's size is known decoded: checked then)
    if ccam.d.any() and ccam.model not in OPENCV_MODELS:  # equidistant (fisheye): another formula
        raise InputError(f"--align: the camera_info beside {colour_topic} ({info_topic(colour_topic)}) has distortion "
                         f"model {ccam.model or '(none named)'}, which is not read (only "
                         f"{' / '.join(OPENCV_MODELS)}, OpenCV's)", where)
    rt = depth_to_colour(static_transforms(reader), dcam.frame, ccam.frame)
    if rt is None:
        raise InputError(f"--align needs the transform from {dcam.frame} to {ccam.frame}, which /tf_static does not "
                         "give (record /tf_static with the images)", where)
    if np.any(dcam.d != 0):
        log.warning("%s: the depth camera's distortion (%s) is left out of the registration", where,
                    " ".join(f"{v:g}" for v in dcam.d))
    return Aligner(dcam, ccam, rt, units)
