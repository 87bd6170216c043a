"""Training frames whose depth edges are a photograph's own edges.

The synthetic renderer draws colour and depth edges on the same pixel, with one colour step per
edge. A photograph's object outlines are softer and busier (defocus, anti-aliasing, shading, dark
outlines, sharpening halos), and that is what the model meets on real content. A *photo scene* takes
a photograph, segments it (Felzenszwalb's graph segmentation, OpenCV ``ximgproc``) and gives every
segment a slanted plane of its own depth: the depth edges then lie on the photograph's edges as the
segmentation finds them, with the photograph's own colour on both sides. The boundary errors are
made by the same :class:`~igde_stream.data.degrade.Degrader` as for rendered scenes, with the
segments as surface labels.

The pool: the object photographs shipped inside scikit-image (:data:`PHOTO_NAMES`), plus every
image of an optional folder (``photo_dir``). :func:`pool_digest` names a pool by its photographs as
loaded (names, shapes, pixels), so that a crop cache changes its name when any of them changes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np

from .synthetic import Frame
from .textures import sample_photos

__all__ = ["PHOTO_NAMES", "PhotoScene", "absorb_slivers", "photo_files", "photo_pool", "photo_record", "pool_digest", "segment_depth"]

# scikit-image sample photographs with objects in front of something (no download needed)
PHOTO_NAMES = ("astronaut", "coffee", "chelsea", "rocket", "camera", "coins")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
SLOT_STEP = 3  # depth levels between two segments' planes (the synthetic layers' slot size)
MAX_TILT = 0.15  # levels per pixel; below the edge threshold (2 levels), so edges are label changes
_POOLS: dict[tuple, list[tuple[str, np.ndarray]]] = {}


def photo_files(folder: str | Path) -> list[Path]:
    """The images of ``folder`` (by suffix, sorted by name); an error when there are none."""
    p = Path(folder)
    if not p.is_dir():
        raise ValueError(f"photo folder {p} does not exist")
    files = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"photo folder {p} holds no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def _load_pool(folder: str | Path | None) -> list[tuple[str, np.ndarray]]:
    """``(name, RGB uint8)`` of every photograph of the pool, loaded once per process (again when a
    folder file's size or time changes)."""
    files = photo_files(folder) if folder else []
    key = (str(folder or ""), tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files))
    if key not in _POOLS:
        try:
            import skimage.data as skd
        except ImportError:
            raise ValueError("photo scenes need scikit-image (pip install 'igde-stream[train]')") from None
        # a picture that a scikit-image release no longer ships is left out, and the pool's digest
        # (so the cache's name) and record say so
        photos = sample_photos(skd, PHOTO_NAMES)
        for f in files:
            bgr = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if bgr is None:
                raise ValueError(f"cannot read photo {f}")
            photos.append((f.name, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        if not photos:
            raise ValueError("the photo pool is empty: give a photo folder")
        _POOLS[key] = photos
    return _POOLS[key]


def photo_pool(folder: str | Path | None = None, crop: tuple[int, int] | None = None) -> list[np.ndarray]:
    """The pool's photographs as RGB uint8: scikit-image's :data:`PHOTO_NAMES` that load, then the
    images of ``folder`` by name. With ``crop`` (h, w), a photograph smaller than it is an error."""
    pool = _load_pool(folder)
    if crop is not None:
        for name, im in pool:
            if im.shape[0] < crop[0] or im.shape[1] < crop[1]:
                raise ValueError(f"photo {name} ({im.shape[1]}x{im.shape[0]}) is smaller than the "
                                 f"{crop[1]}x{crop[0]} crop: leave it out or choose a smaller crop")
    return [im for _, im in pool]


def pool_digest(folder: str | Path | None) -> str:
    """A short hash of the pool as loaded: each photograph's name, shape and pixels."""
    h = hashlib.sha256()
    for name, im in _load_pool(folder):
        h.update(f"{name}:{im.shape}".encode())
        h.update(hashlib.sha256(im.tobytes()).digest())
    return h.hexdigest()[:12]


def photo_record(folder: str | Path | None) -> dict[str, object]:
    """What a run's data record says of its pool: the photographs loaded (scikit-image's, then the
    folder's), the folder and the pool's digest."""
    names = [n for n, _ in _load_pool(folder)]
    return {"scikit_image": [n for n in names if n in PHOTO_NAMES], "folder": str(folder) if folder else None,
            "files": [f.name for f in photo_files(folder)] if folder else [], "digest": pool_digest(folder)}


def absorb_slivers(labels: np.ndarray, interior_share: float = 0.3) -> np.ndarray:
    """``labels`` with its slivers given away: a segment with fewer than ``interior_share`` of its
    pixels inside it (all 8 neighbours in it too) is mostly outline, as the thin segments that a
    segmentation makes of an edge's mixed pixels are; each of its pixels takes the label of the
    nearest pixel of another segment (SciPy's exact Euclidean distance transform), which splits the
    mixed band down its middle. Labels are renumbered 0..n-1."""
    from scipy import ndimage

    lf = labels.astype(np.float32)
    kernel = np.ones((3, 3), np.uint8)
    interior = cv2.erode(lf, kernel, borderType=cv2.BORDER_REPLICATE) == cv2.dilate(
        lf, kernel, borderType=cv2.BORDER_REPLICATE)
    n = int(labels.max()) + 1
    area = np.bincount(labels.ravel(), minlength=n)
    inner = np.bincount(labels[interior], minlength=n)
    sliver = (inner < interior_share * area)[labels]
    if sliver.any() and not sliver.all():
        _, (iy, ix) = ndimage.distance_transform_edt(sliver, return_indices=True)
        labels = labels[iy, ix]
    return np.unique(labels, return_inverse=True)[1].reshape(labels.shape).astype(np.int32)


def segment_depth(color: np.ndarray, rng: np.random.Generator, k: float, min_size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(depth, labels)`` for an RGB frame: Felzenszwalb segments (``k``: the merge scale,
    ``min_size`` px; slivers absorbed, :func:`absorb_slivers`) as labels (int16), each a plane of
    8-bit depth (larger = nearer) drawn from the slots 8, 11, ..., 245 (:data:`SLOT_STEP` apart;
    neighbours may draw the same slot or close ones) and tilted by at most :data:`MAX_TILT` levels
    per pixel about the segment's centroid. Every depth step of 2 levels or more lies on a segment
    change (the tilt moves a pixel's neighbour by less); not every segment change has one."""
    h, w = color.shape[:2]
    seg = cv2.ximgproc.segmentation.createGraphSegmentation(0.8, float(k), int(min_size))
    labels = absorb_slivers(seg.processImage(cv2.cvtColor(color, cv2.COLOR_RGB2BGR)).astype(np.int32))
    n = int(labels.max()) + 1
    if n > np.iinfo(np.int16).max:
        raise ValueError(f"{n} segments do not fit int16 labels: raise min_size")
    slots = np.arange(8, 248, SLOT_STEP, dtype=np.float32)
    base = rng.choice(slots, n)
    tilt = rng.uniform(-MAX_TILT, MAX_TILT, (n, 2)).astype(np.float32)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    count = np.maximum(np.bincount(labels.ravel(), minlength=n), 1)
    cx = np.bincount(labels.ravel(), xs.ravel(), n) / count
    cy = np.bincount(labels.ravel(), ys.ravel(), n) / count
    depth = base[labels] + tilt[labels, 0] * (xs - cx[labels]) + tilt[labels, 1] * (ys - cy[labels])
    return np.clip(np.rint(depth), 1, 254).astype(np.uint8), labels.astype(np.int16)


class PhotoScene:
    """One photograph of ``pool`` (drawn by ``rng``), scaled by a factor in [0.5, 1] (never below
    ``crop``), seen through windows of ``size`` (h, w; smaller when the photograph is), mirrored at
    random; the segmentation's scale is drawn once per scene. ``render(t)`` gives the ``Frame`` of
    window ``t`` (deterministic in the scene and ``t``)."""

    def __init__(self, pool: list[np.ndarray], rng: np.random.Generator, size: tuple[int, int],
                 crop: tuple[int, int]) -> None:
        photo = pool[int(rng.integers(len(pool)))]
        ph, pw = photo.shape[:2]
        lo = max(crop[0] / ph, crop[1] / pw)
        if lo > 1:
            raise ValueError(f"a {pw}x{ph} photograph is smaller than the {crop[1]}x{crop[0]} crop")
        s = float(rng.uniform(max(0.5, lo), 1.0))
        self.photo = cv2.resize(photo, (max(crop[1], round(pw * s)), max(crop[0], round(ph * s))),
                                interpolation=cv2.INTER_AREA) if s < 1 else photo
        self.shape = (min(size[0], self.photo.shape[0]), min(size[1], self.photo.shape[1]))
        self.k = float(np.exp(rng.uniform(np.log(150), np.log(1500))))
        self.min_size = int(rng.uniform(0.002, 0.01) * self.shape[0] * self.shape[1])
        self.seed = int(rng.integers(2**31))

    def render(self, t: int) -> Frame:
        rng = np.random.default_rng([self.seed, t])
        h, w = self.shape
        y = int(rng.integers(self.photo.shape[0] - h + 1))
        x = int(rng.integers(self.photo.shape[1] - w + 1))
        color = self.photo[y:y + h, x:x + w]
        if rng.random() < 0.5:
            color = color[:, ::-1]
        color = np.ascontiguousarray(color)
        depth, labels = segment_depth(color, rng, self.k, self.min_size)
        return Frame(color, depth, labels)
