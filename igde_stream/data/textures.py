"""Colour textures of the synthetic scenes: procedural (fractal noise, stripes, checkers, colour
blocks; NumPy + OpenCV only), photo (crops of scikit-image's sample photographs, recoloured), mixed
and flat; and the smooth noise fields that the scenes and the degradations share."""

from __future__ import annotations

import math

import cv2
import numpy as np

__all__ = ["TEXTURE_MODES", "make_texture", "sample_photos", "smooth_noise"]

TEXTURE_MODES = ("procedural", "photo", "mixed", "flat")


def smooth_noise(rng: np.random.Generator, h: int, w: int, scale: float, octaves: int = 1) -> np.ndarray:
    """Smooth random field, H x W float32, about zero mean and unit std; features ~``scale`` px."""
    out = np.zeros((h, w), np.float32)
    amp = 1.0
    for _ in range(octaves):
        gh, gw = max(2, int(math.ceil(h / scale)) + 2), max(2, int(math.ceil(w / scale)) + 2)
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        big = cv2.resize(grid, (int((gw - 1) * scale) + 1, int((gh - 1) * scale) + 1),
                         interpolation=cv2.INTER_CUBIC)
        oy = int(rng.integers(0, max(1, big.shape[0] - h + 1)))
        ox = int(rng.integers(0, max(1, big.shape[1] - w + 1)))
        big = big[oy:oy + h, ox:ox + w]
        if big.shape != (h, w):
            big = cv2.resize(big, (w, h), interpolation=cv2.INTER_LINEAR)
        out += amp * big
        amp *= 0.5
        scale = max(2.0, scale / 2)
    std = float(out.std())
    return (out - float(out.mean())) / (std if std > 1e-6 else 1.0)


# ------------------------------------------------------------------------------------------ textures

# Photographs shipped inside scikit-image (no download needed).
_PHOTO_NAMES = (
    "astronaut", "coffee", "chelsea", "rocket", "immunohistochemistry", "hubble_deep_field", "retina",
    "colorwheel", "brick", "grass", "gravel", "camera", "coins", "moon", "cell", "text",
)
_PHOTOS: list[np.ndarray] | None = None


def sample_photos(skd, names: tuple[str, ...]) -> list[tuple[str, np.ndarray]]:
    """``(name, RGB uint8)`` of each of ``names`` that the module ``skimage.data`` (``skd``) loads;
    grey images are repeated to three channels. A scikit-image release may move an image to its
    download cache: such an image is left out."""
    photos = []
    for name in names:
        try:
            im = np.asarray(getattr(skd, name)())
        except Exception:
            continue
        if im.ndim == 2:
            im = np.repeat(im[..., None], 3, axis=2)
        photos.append((name, np.ascontiguousarray(im[..., :3], dtype=np.uint8)))
    return photos


def _photos() -> list[np.ndarray]:
    """The scikit-image photographs as RGB uint8 (loaded once per process)."""
    global _PHOTOS
    if _PHOTOS is None:
        try:
            import skimage.data as skd
        except ImportError:
            raise ImportError(
                "textures='photo'/'mixed' need scikit-image (pip install 'igde-stream[train]'); "
                "use textures='procedural' without it"
            ) from None
        photos = [im for _, im in sample_photos(skd, _PHOTO_NAMES)]
        if len(photos) < 4:
            raise RuntimeError("scikit-image provides fewer than 4 of its sample photographs; "
                               "use textures='procedural'")
        _PHOTOS = photos
    return _PHOTOS


def _colors(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 256, (n, 3)).astype(np.float32)


def _colormap(field: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Map a field in [0, 1] through a piecewise-linear palette (K x 3) to uint8 RGB."""
    k = len(palette)
    x = np.linspace(0.0, k - 1, 256)
    i = np.minimum(x.astype(np.int32), k - 2)
    f = (x - i)[:, None]
    lut = np.clip(palette[i] * (1 - f) + palette[i + 1] * f, 0, 255).astype(np.uint8)
    idx = np.clip(field * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return cv2.LUT(cv2.merge([idx, idx, idx]), lut.reshape(256, 1, 3))


def _coords(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Coordinate along a random direction, H x W float32."""
    a = rng.uniform(0, math.pi)
    x = np.arange(w, dtype=np.float32)[None, :] * math.cos(a)
    y = np.arange(h, dtype=np.float32)[:, None] * math.sin(a)
    return x + y


def _procedural(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    kind = rng.choice(("noise", "stripes", "checker", "blocks", "plaid"))
    if kind == "noise":
        f = smooth_noise(rng, h, w, rng.uniform(4, 60), octaves=int(rng.integers(1, 4)))
        return _colormap(0.5 + 0.25 * f, _colors(rng, int(rng.integers(2, 5))))
    if kind in ("stripes", "plaid"):
        period = rng.uniform(4, 40)
        s = np.sin(_coords(rng, h, w) * (2 * math.pi / period))
        if kind == "plaid":
            s = s + np.sin(_coords(rng, h, w) * (2 * math.pi / rng.uniform(4, 40)))
        if rng.random() < 0.6:
            s = np.sign(s)  # hard stripes: strong colour edges on a flat surface
        return _colormap(0.5 + 0.5 * s / (2 if kind == "plaid" else 1), _colors(rng, 2 + (kind == "plaid")))
    if kind == "checker":
        p = rng.uniform(4, 40)
        s = np.sign(np.sin(_coords(rng, h, w) * (math.pi / p))) * np.sign(np.sin(_coords(rng, h, w) * (math.pi / p)))
        return _colormap(0.5 + 0.5 * s, _colors(rng, 2))
    # "blocks": random colour rectangles
    cell = rng.uniform(6, 60)
    gh, gw = max(1, int(h / cell) + 1), max(1, int(w / cell) + 1)
    grid = rng.integers(0, 256, (gh, gw, 3), dtype=np.uint8)
    return cv2.resize(grid, (w, h), interpolation=cv2.INTER_NEAREST)


def _photo(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    photos = _photos()
    im = photos[int(rng.integers(len(photos)))]
    ih, iw = im.shape[:2]
    s = rng.uniform(0.4, 1.6)  # source pixels per output pixel
    ch, cw = max(2, min(ih, int(h * s))), max(2, min(iw, int(w * s)))
    y0, x0 = int(rng.integers(0, ih - ch + 1)), int(rng.integers(0, iw - cw + 1))
    crop = cv2.resize(im[y0:y0 + ch, x0:x0 + cw], (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        crop = crop[:, ::-1]
    crop = crop[..., rng.permutation(3)]  # recolour so that the same photo gives new colours
    if rng.random() < 0.3:
        crop = 255 - crop
    return np.ascontiguousarray(crop)


def make_texture(rng: np.random.Generator, h: int, w: int, mode: str, label: int = 0) -> np.ndarray:
    """An H x W x 3 uint8 RGB texture in ``mode`` (see the module docstring)."""
    if mode == "flat":
        # a distinct colour per label: layers are told apart exactly by colour
        return np.broadcast_to(np.array([(37 * label) % 256, (91 * label + 50) % 256, (13 * label + 128) % 256],
                                        np.uint8), (h, w, 3)).copy()
    use_photo = mode == "photo" or (mode == "mixed" and rng.random() < 0.5)
    tex = _photo(rng, h, w) if use_photo else _procedural(rng, h, w)
    if rng.random() < 0.5:  # shading variation (colour only; depth stays as it is)
        shade = 1.0 + 0.25 * smooth_noise(rng, h, w, rng.uniform(20, 200))
        tex = np.clip(tex * shade[..., None], 0, 255).astype(np.uint8)
    return tex


# --------------------------------------------------------------------------------------------- shapes
