"""Your own frames in the evaluation: a clip of colour, degraded depth and ground-truth images, scored
as it is (no boundary errors drawn), as ``igde-stream --gt ... --report`` scores the same frames.

Each of the three is a folder of images (one frame each, in the order of their names, numbers by
value: ``2.png`` before ``10.png``) or one image file. Colour: 8-bit RGB (or gray); depth and ground
truth: one channel, both uint8 or both uint16, larger = nearer (a distance map must be turned into
that first, docs/formats.md); all of one size. The peak is the format's (255, 65535); every pixel is
scored, ground-truth zeros too, as the command's report does; the frames are taken as consecutive
(temporal stability over them)."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from .data import Sequence

__all__ = ["IMAGE_SUFFIXES", "clip_sequence"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".ppm", ".pgm", ".webp")


def _natural(path: Path) -> list:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path.name)]


def _files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ValueError(f"{path}: no such file or folder")
    files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()), key=_natural)
    if not files:
        raise ValueError(f"{path}: no image files ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _what(img: np.ndarray) -> str:
    return f"{img.shape[1]}x{img.shape[0]} {img.dtype}"


def _read(path: Path, depth: bool) -> np.ndarray:
    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED if depth else cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{path}: cannot read it as an image")
    if depth and (img.ndim != 2 or img.dtype not in (np.uint8, np.uint16)):
        kind = f"{img.shape[2]} channels" if img.ndim == 3 else str(img.dtype)
        raise ValueError(f"{path}: depth must be one channel of uint8 or uint16, this one has {kind}")
    return img if depth else cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def clip_sequence(color: str | Path, depth: str | Path, gt: str | Path, name: str | None = None,
                  measured_only: bool = False) -> Sequence:
    """The clip (``color``, ``depth``, ``gt``: folders of images or image files) as a
    :class:`~igde_stream.data.Sequence` of its frames as they are (``valid`` None: every pixel
    scored; ``measured_only``: ``valid`` = ground truth > 0, the pixels a sensor measured, as the
    stereo scenes' unknown pixels are left out). ``name`` defaults to the depth's path as given. A clip that cannot be scored (other
    counts, sizes or types; an unreadable image) is a ValueError naming the file."""
    paths = [Path(color), Path(depth), Path(gt)]
    lists = [_files(p) for p in paths]
    counts = [len(x) for x in lists]
    if len(set(counts)) > 1:
        raise ValueError(f"{', '.join(f'{p}: {n}' for p, n in zip(paths, counts))} frames; a clip needs as many of each")
    colors, depths, gts = [], [], []
    for c, d, g in zip(*lists):
        frame = [_read(c, False), _read(d, True), _read(g, True)]
        if depths and (frame[1].shape, frame[1].dtype) != (depths[0].shape, depths[0].dtype):
            raise ValueError(f"{d}: {_what(frame[1])}, where {lists[1][0]} is {_what(depths[0])}")
        for path, img in ((c, frame[0]), (g, frame[2])):
            if img.shape[:2] != frame[1].shape:
                raise ValueError(f"{path}: {img.shape[1]}x{img.shape[0]}, where the depth {d} is "
                                 f"{frame[1].shape[1]}x{frame[1].shape[0]}")
        if frame[2].dtype != frame[1].dtype:
            raise ValueError(f"{g}: {frame[2].dtype}, where the depth {d} is {frame[1].dtype}; depth and "
                             "ground truth must be of one type (both 8-bit or both 16-bit)")
        colors.append(frame[0])
        depths.append(frame[1])
        gts.append(frame[2])
    dtype = depths[0].dtype
    params = {"source": {"color": str(paths[0]), "depth": str(paths[1]), "gt": str(paths[2])},
              "frames": len(depths), "size": [int(depths[0].shape[1]), int(depths[0].shape[0])],
              "bits": 8 if dtype == np.uint8 else 16,
              "scored": "the pixels whose ground truth is not 0" if measured_only
              else "every pixel, as igde-stream --report scores them"}
    gt_frames = np.stack(gts)
    return Sequence(name or str(paths[1]), np.stack(colors), np.stack(depths), gt_frames,
                    255.0 if dtype == np.uint8 else 65535.0, True, params,
                    valid=gt_frames != 0 if measured_only else None)
