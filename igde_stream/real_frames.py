"""The real test frames of the evaluation: ICL-NUIM (a rendered living room, from ../shared/data/real)
and the Middlebury 2014 "Motorcycle" scene (a real stereo photograph with its laser-scanned
disparity, as scikit-image ships it). Both come as :class:`~igde_stream.data.Sequence` of 8-bit depth
(larger = nearer) with the boundary errors of the synthetic data drawn onto the ground truth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from .data import DegradeConfig, Degrader, Sequence

__all__ = ["DEFAULT_ICL", "ICL_NEAR_M", "ICL_FAR_M", "icl_nuim_sequence", "fill_occlusions",
           "stereo_sequence", "disparity_file_sequence", "real_scene_problem", "middlebury_sequence"]

DEFAULT_ICL = Path(__file__).resolve().parents[2] / "shared" / "data" / "real" / "icl_nuim_clean5"

# ICL-NUIM metric depth -> 8-bit inverse depth: d8 = round(255 (1/z - 1/FAR) / (1/NEAR - 1/FAR)),
# clipped to 0..255 (larger = nearer; ICL-NUIM's 0.7-4.3 m maps to about 214..8).
ICL_NEAR_M = 0.6
ICL_FAR_M = 5.0


def icl_nuim_sequence(folder: str | Path, degradation: DegradeConfig = DegradeConfig(),
                      seed: int = 5, scale: float = 1.0) -> Sequence | None:
    """ICL-NUIM frames (``color/N.png``, ``depth/N.png`` uint16, value / 5000 = metres) as 8-bit
    inverse depth (see ``ICL_NEAR_M`` / ``ICL_FAR_M``), degraded like the synthetic data. None if the
    folder is missing. The frames are not consecutive: no temporal stability.

    ``scale`` < 1 shrinks the frames before the degradation (colour by area averaging, depth by
    nearest neighbour, so every depth value is a measured one): the same rooms seen by a smaller
    sensor, with edges closer together in pixels while the boundary errors keep their pixel widths."""
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    folder = Path(folder)
    if not (folder / "depth").is_dir():
        return None
    names = sorted((folder / "depth").glob("*.png"), key=lambda p: (len(p.stem), p.stem))
    colors, gts, ins = [], [], []
    for t, p in enumerate(names):
        z = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        bgr = cv2.imread(str(folder / "color" / p.name), cv2.IMREAD_COLOR)
        if z is None or bgr is None:
            raise ValueError(f"{p}: cannot read the depth or colour image")
        if scale != 1.0:
            size = (max(1, round(z.shape[1] * scale)), max(1, round(z.shape[0] * scale)))
            z = cv2.resize(z, size, interpolation=cv2.INTER_NEAREST)
            bgr = cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
        zm = z.astype(np.float64) / 5000.0
        inv = (1.0 / np.maximum(zm, 1e-3) - 1.0 / ICL_FAR_M) / (1.0 / ICL_NEAR_M - 1.0 / ICL_FAR_M)
        gt = np.rint(np.clip(inv, 0, 1) * 255).astype(np.uint8)
        d, _ = Degrader(degradation, seed, gt.shape).apply(gt, t)
        colors.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
        gts.append(gt)
        ins.append(d)
    params = {"source": str(folder), "conversion": f"d8 = round(255 (1/z - 1/{ICL_FAR_M}) / "
              f"(1/{ICL_NEAR_M} - 1/{ICL_FAR_M})), z = value / 5000 m", "seed": seed,
              "degradation": degradation.to_dict(), "scale": scale}
    return Sequence("icl_nuim_clean5", np.stack(colors), np.stack(ins), np.stack(gts), 255.0, False, params)


def fill_occlusions(disparity: np.ndarray) -> np.ndarray:
    """``disparity`` (H x W float, larger = nearer) with every non-finite pixel given the smaller of
    the nearest finite values to its left and to its right in its row (one side where the other has
    none). The unknown pixels of a stereo ground truth are mostly occlusions: background seen by one
    camera only, so the farther (smaller-disparity) neighbour is the usual fill. A row without a
    finite value is an error."""
    d = np.asarray(disparity, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"fill_occlusions: disparity must be H x W, got shape {d.shape}")
    valid = np.isfinite(d)
    if not valid.any(axis=1).all():
        raise ValueError("fill_occlusions: a row has no finite disparity")
    h, w = d.shape
    cols = np.arange(w)[None, :]
    rows = np.arange(h)[:, None]
    left = np.maximum.accumulate(np.where(valid, cols, -1), axis=1)
    right = np.minimum.accumulate(np.where(valid, cols, w)[:, ::-1], axis=1)[:, ::-1]
    from_left = np.where(left >= 0, d[rows, np.clip(left, 0, w - 1)], np.inf)
    from_right = np.where(right < w, d[rows, np.clip(right, 0, w - 1)], np.inf)
    return np.where(valid, d, np.minimum(from_left, from_right))


def stereo_sequence(color: np.ndarray, disparity: np.ndarray, name: str,
                    degradation: DegradeConfig = DegradeConfig(), seed: int = 5, frames: int = 4,
                    scale: float = 1.0, source: str = "") -> Sequence:
    """A colour image (H x W x 3 uint8 RGB) and its measured disparity (H x W, larger = nearer;
    non-finite or <= 0 = unknown) as a test sequence: the unknown pixels filled by
    :func:`fill_occlusions` so that the boundary errors can be drawn, the map as 8-bit
    ``round(255 disparity / max)`` (the nearest point 255; no 0, which would read as a hole), and
    ``valid`` marking the measured pixels, the only ones scored. ``frames`` copies of the frame, each
    degraded with its own draw (``Degrader`` seeds ``seed`` .. ``seed + frames - 1``); not
    consecutive. ``scale`` < 1 shrinks the pair first (colour by area averaging, disparity and its
    mask by nearest neighbour)."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    if not 0 < scale <= 1:
        raise ValueError(f"scale must be in (0, 1], got {scale}")
    color = np.ascontiguousarray(np.asarray(color)[..., :3], dtype=np.uint8)
    disp = np.asarray(disparity, dtype=np.float64)
    if color.ndim != 3 or disp.shape != color.shape[:2]:
        raise ValueError(f"{name}: colour {color.shape} and disparity {disp.shape} differ in size")
    disp = np.where(np.isfinite(disp) & (disp > 0), disp, np.inf)
    if scale != 1.0:
        size = (max(1, round(disp.shape[1] * scale)), max(1, round(disp.shape[0] * scale)))
        color = cv2.resize(color, size, interpolation=cv2.INTER_AREA)
        disp = cv2.resize(disp, size, interpolation=cv2.INTER_NEAREST)
    known = np.isfinite(disp)
    if not known.any():
        raise ValueError(f"{name}: the disparity has no known pixel")
    filled = fill_occlusions(disp)
    gt = np.clip(np.rint(255.0 * filled / filled[known].max()), 1, 255).astype(np.uint8)
    ins = [Degrader(degradation, seed + k, gt.shape).apply(gt, 0)[0] for k in range(frames)]
    params = {"source": source or name,
              "conversion": "d8 = round(255 disparity / max disparity); unknown pixels (not scored): the "
                            "smaller of the nearest known disparities left and right in the row",
              "size": [int(gt.shape[1]), int(gt.shape[0])], "scale": scale,
              "unknown_share": float(np.mean(~known)), "seed": seed, "frames": frames,
              "degradation": degradation.to_dict()}
    return Sequence(name, np.stack([color] * frames), np.stack(ins), np.stack([gt] * frames), 255.0,
                    False, params, valid=np.stack([known] * frames))


def disparity_file_sequence(color_path: str | Path, disparity_path: str | Path,
                            degradation: DegradeConfig = DegradeConfig(), seed: int = 5,
                            frames: int = 4, scale: float = 1.0, name: str | None = None) -> Sequence:
    """:func:`stereo_sequence` of a colour image file and a disparity PNG (8 or 16 bit, any scale,
    0 = unknown), as the Middlebury stereo sets give them (e.g. ``Aloe/view1.png`` and
    ``Aloe/disp1.png``). ``name`` defaults to the colour file's folder / stem (``Aloe/view1``)."""
    bgr = cv2.imread(str(color_path), cv2.IMREAD_COLOR)
    disp = cv2.imread(str(disparity_path), cv2.IMREAD_UNCHANGED)
    if bgr is None or disp is None:
        raise ValueError(f"cannot read {color_path if bgr is None else disparity_path} as an image")
    if disp.ndim == 3:
        raise ValueError(f"{disparity_path}: a disparity map has one channel, this one {disp.shape[2]}")
    name = name or "/".join(x for x in (Path(color_path).parent.name, Path(color_path).stem) if x)
    return stereo_sequence(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), disp, name, degradation, seed, frames,
                           scale, source=f"{color_path} + {disparity_path}")


def real_scene_problem(color_path: str | Path, disparity_path: str | Path, scale: float = 1.0) -> str | None:
    """Why a (colour file, disparity PNG) pair cannot be scored (a missing or unreadable file, sizes
    that differ, no measured pixel), in one line; None when :func:`disparity_file_sequence` takes it.
    The tools check their ``--real-scene`` pairs with it before any model runs."""
    for path in (color_path, disparity_path):
        if not Path(path).is_file():
            return f"{path} is not a file"
    try:
        disparity_file_sequence(color_path, disparity_path, DegradeConfig(p_degrade=0.0), frames=1, scale=scale)
    except ValueError as exc:
        return str(exc)
    return None


def middlebury_sequence(degradation: DegradeConfig = DegradeConfig(), seed: int = 5,
                        frames: int = 4) -> Sequence | None:
    """The Middlebury 2014 "Motorcycle" scene (Scharstein et al., GCPR 2014) as scikit-image ships it
    (``skimage.data.stereo_motorcycle``: the left view, 741 x 500, and its disparity, 7 % unknown):
    a real photograph with a measured ground truth, never part of the training data (the photo
    textures of ``igde_stream.data`` are other scikit-image images), as :func:`stereo_sequence`
    makes it. None when scikit-image (the test extra) or its copy of the scene is missing."""
    try:
        from skimage import data as skd

        left, _, disparity = skd.stereo_motorcycle()
    except Exception:  # no scikit-image, or a release that no longer ships the scene offline
        return None
    return stereo_sequence(left, disparity, "middlebury_motorcycle", degradation, seed, frames,
                           source="skimage.data.stereo_motorcycle (Middlebury 2014 Motorcycle, left view)")
