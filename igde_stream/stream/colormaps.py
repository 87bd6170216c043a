"""Colour-mapped depth (``--depth-colormap NAME``): a depth visualisation drawn through a colour map,
read back as 8-bit depth. Each pixel's RGB becomes the index (0..255) of the nearest colour of the
map's 256-entry table (Euclidean in RGB): the depth code as the map was drawn, high = the bright /
warm end (inferno's yellow, Spectral_r's red), which depth estimators give the near side.

Tables (``renderings``). OpenCV's ``cv2.applyColorMap`` (inferno, magma, plasma, viridis, turbo) holds
matplotlib's maps rounded to 8 bits; matplotlib-based tools (Video Depth Anything's ``_vis.mp4``, Depth
Anything V2's ``run_video.py``, ``plt.imsave``, ``cmap(x, bytes=True)``) truncate instead,
``(x * 255).astype(uint8)``: one level lower in some channel of ~220 of the 256 entries, which moves
60-108 entries' nearest colour to a neighbour. So a map has several renderings, and the first frame
picks the one its pixels lie nearest (distance 0 in a lossless video; a frame that fits two alike,
colours both hold, leaves it to the next). ``jet``: OpenCV's COLORMAP_JET
and matplotlib's jet are two different maps (up to 33 levels apart), both renderings of jet.
``spectral_r`` exists in matplotlib only: ColorBrewer's 11 Spectral colours interpolated linearly as
matplotlib's LinearSegmentedColormap does (``_segmented``: the same floats, bit for bit). OpenCV's
tables come from OpenCV at run time (BGR, turned to RGB); matplotlib's truncated tables of its listed
maps are ``colormap_data`` (written by ``tools/colormap_tables.py``). matplotlib is no dependency.

Inversion (``Inverse``): a table over all 2^24 RGB colours per rendering, filled as colours turn up
(uint16: low byte the index, high byte 1 + the distance to its colour in half levels, capped; 0 not
yet known), so a frame costs one gather once its colours are known; a new colour is compared with
the 256 entries once (exact: integer distances in float32). Frames reach RGB through swscale with
chroma interpolated and exact rounding (``frame_keys``). A lossy video adds colour error: the
distances are measured on every frame (logged at the first, summed for the run's summary), and a
first frame with more than ``FAR_SHARE`` of its pixels over ``FAR`` from every colour of the map
(another map, or no colour map) is refused with one line that says which maps fit.
"""

from __future__ import annotations

import functools
import logging
import threading
from typing import Any

import av
import numpy as np

log = logging.getLogger("igde_stream.stream")

#: ``--depth-colormap`` names; "gray" (the default) reads depth as gray, as without the option.
COLORMAPS = ("gray", "inferno", "magma", "plasma", "viridis", "turbo", "jet", "spectral_r")
FAR = 16.0  # RGB distance (0..255 a channel) beyond which a pixel is "far from every map colour"
FAR_SHARE = 0.25  # a first frame with more of its pixels that far is no picture in this map
_SAMPLE = 20_000  # pixels compared with every map when picking a rendering or naming the maps that fit
_CHUNK = 8192  # colours compared with a table at once (8192 x 256 float32: 8 MiB)
_SWS = 0x2 | 0x2000 | 0x40000  # SWS_BILINEAR | SWS_FULL_CHR_H_INT | SWS_ACCURATE_RND
_OPENCV = {"inferno": "COLORMAP_INFERNO", "magma": "COLORMAP_MAGMA", "plasma": "COLORMAP_PLASMA",
           "viridis": "COLORMAP_VIRIDIS", "turbo": "COLORMAP_TURBO", "jet": "COLORMAP_JET"}
#: ColorBrewer's Spectral, 11 colours (matplotlib's ``_cm._Spectral_data`` is these / 255).
_SPECTRAL = ((158, 1, 66), (213, 62, 79), (244, 109, 67), (253, 174, 97), (254, 224, 139), (255, 255, 191),
             (230, 245, 152), (171, 221, 164), (102, 194, 165), (50, 136, 189), (94, 79, 162))
#: matplotlib's jet (``_cm._jet_data``): per channel (x, y0, y1) anchors.
_JET = (((0.0, 0, 0), (0.35, 0, 0), (0.66, 1, 1), (0.89, 1, 1), (1.0, 0.5, 0.5)),
        ((0.0, 0, 0), (0.125, 0, 0), (0.375, 1, 1), (0.64, 1, 1), (0.91, 0, 0), (1.0, 0, 0)),
        ((0.0, 0.5, 0.5), (0.11, 1, 1), (0.34, 1, 1), (0.65, 0, 0), (1.0, 0, 0)))


def _lookup(n: int, anchors: Any) -> np.ndarray:
    """matplotlib's ``colors._create_lookup_table`` (gamma 1): ``n`` values of one channel."""
    a = np.array(anchors, dtype=float)
    x, y0, y1 = a[:, 0] * (n - 1), a[:, 1], a[:, 2]
    xind = (n - 1) * np.linspace(0, 1, n)
    ind = np.searchsorted(x, xind)[1:-1]
    distance = (xind[1:-1] - x[ind - 1]) / (x[ind] - x[ind - 1])
    return np.clip(np.concatenate([[y1[0]], distance * (y0[ind] - y1[ind - 1]) + y1[ind - 1], [y0[-1]]]), 0.0, 1.0)


def _segmented(channels: Any) -> np.ndarray:
    """256 x 3 float RGB of a LinearSegmentedColormap's anchors, as matplotlib computes it."""
    return np.stack([_lookup(256, c) for c in channels], axis=1)


def _spectral_r() -> np.ndarray:
    colors = np.array(_SPECTRAL) / 255
    x = np.linspace(0, 1, len(colors))  # LinearSegmentedColormap.from_list
    channels = [[(xi, v, v) for xi, v in zip(x, colors[:, k])] for k in range(3)]
    # Colormap.reversed(): x -> 1 - x, anchors in reverse order, y0 and y1 swapped
    return _segmented([[(1.0 - xi, y1, y0) for xi, y0, y1 in reversed(c)] for c in channels])


def _opencv(name: str) -> np.ndarray:
    import cv2

    ramp = np.arange(256, dtype=np.uint8).reshape(1, 256)
    return np.ascontiguousarray(cv2.applyColorMap(ramp, getattr(cv2, _OPENCV[name]))[0, :, ::-1])  # BGR -> RGB


def _truncated(name: str) -> np.ndarray:
    from .colormap_data import TRUNCATED

    return np.frombuffer(bytes.fromhex("".join(TRUNCATED[name])), np.uint8).reshape(256, 3).copy()


@functools.lru_cache(maxsize=None)
def renderings(name: str) -> tuple[tuple[str, np.ndarray], ...]:
    """The 8-bit tables of colour map ``name`` (``COLORMAPS``): (label, 256 x 3 uint8 RGB), index =
    depth code. "gray" is the gray ramp."""
    if name == "gray":
        return (("gray", np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)),)
    if name == "spectral_r":
        lut = _spectral_r()
        return (("matplotlib 8-bit", (lut * 255).astype(np.uint8)), ("rounded", np.rint(lut * 255).astype(np.uint8)))
    if name == "jet":
        lut = _segmented(_JET)
        return (("OpenCV", _opencv(name)), ("matplotlib 8-bit", (lut * 255).astype(np.uint8)),
                ("matplotlib rounded", np.rint(lut * 255).astype(np.uint8)))
    if name not in _OPENCV:
        raise ValueError(f"depth colour map must be one of {', '.join(COLORMAPS)}, got {name!r}")
    return (("matplotlib 8-bit", _truncated(name)), ("OpenCV / rounded", _opencv(name)))


def nearest(keys: np.ndarray, table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For colours ``keys`` (uint32 ``R << 16 | G << 8 | B``, 1-D): the index of the nearest entry of
    ``table`` (256 x 3 RGB; the first of equally near ones) as uint8, and the distance to it."""
    rgb = np.stack([(keys >> 16) & 255, (keys >> 8) & 255, keys & 255], axis=1).astype(np.float32)
    t = table.astype(np.float32)
    tt, t2 = (t * t).sum(axis=1), -2 * t
    idx = np.empty(len(keys), np.uint8)
    d2 = np.empty(len(keys), np.float32)
    for s in range(0, len(keys), _CHUNK):
        q = rgb[s: s + _CHUNK]
        score = q[:, :1] * t2[:, 0]  # |t|^2 - 2 q.t, in place (no BLAS call: its threads cost more on
        score += q[:, 1:2] * t2[:, 1]  # a few thousand colours); integers below 2^24, exact in float32
        score += q[:, 2:3] * t2[:, 2]
        score += tt
        i = score.argmin(axis=1)
        idx[s: s + _CHUNK] = i
        d2[s: s + _CHUNK] = score[np.arange(len(q)), i] + (q * q).sum(axis=1)
    return idx, np.sqrt(np.maximum(d2, 0))


class Inverse:
    """RGB -> (index, distance) of one table, over all 2^24 colours, filled as colours turn up."""

    def __init__(self, table: np.ndarray) -> None:
        self.table = table
        self.codes = np.zeros(1 << 24, np.uint16)  # calloc: pages of colours never met stay unmapped
        self._lock = threading.Lock()

    def __call__(self, keys: np.ndarray) -> np.ndarray:
        """uint16 codes of ``keys`` (any shape): low byte the index, high byte 1 + round(2 x distance)
        (capped at 254)."""
        codes = self.codes[keys]
        if not codes.all():
            missing = codes == 0
            unknown = keys[missing]
            with self._lock:
                new = np.unique(unknown)
                idx, dist = nearest(new, self.table)
                self.codes[new] = idx | ((np.minimum(np.rint(2 * dist), 253) + 1).astype(np.uint16) << 8)
            codes[missing] = self.codes[unknown]
        return codes


@functools.lru_cache(maxsize=None)
def inverse(name: str, label: str) -> Inverse:
    """The process's one ``Inverse`` of rendering ``label`` of map ``name`` (shared by readers)."""
    return Inverse(dict(renderings(name))[label])


def frame_keys(frame: av.VideoFrame, reformatter: Any) -> np.ndarray:
    """H x W uint32 ``R << 16 | G << 8 | B`` of a decoded frame, converted by swscale with its colour
    matrix and its range tag (where it has one), subsampled chroma interpolated and rounded exactly
    (``_SWS``: half the depth error of the default conversion on 4:2:0 video); ``reformatter``: a
    ``VideoReformatter``."""
    rng = frame.color_range
    kw = {"format": "bgra", "src_color_range": rng if rng in (1, 2) else None}
    try:
        bgra = reformatter.reformat(frame, interpolation=_SWS, **kw)
    except (KeyError, TypeError, ValueError):  # a PyAV that takes named interpolations only
        bgra = reformatter.reformat(frame, **kw)
    plane = bgra.planes[0]
    rows = np.frombuffer(plane, "<u4").reshape(plane.height, plane.line_size // 4)[:, : plane.width]
    return rows & 0xFFFFFF  # bytes B, G, R, A: the alpha byte off


def one_channel(pix_fmt: str | None) -> bool:
    """True for gray pixel formats (gray 8-16 bits, float gray, gray with alpha): no colour map in them."""
    return pix_fmt is not None and pix_fmt.startswith(("gray", "ya", "mono"))


def _sample(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct colours of about ``_SAMPLE`` pixels spread over the frame, and their counts."""
    step = max(1, int(np.sqrt(keys.size / _SAMPLE)))
    return np.unique(keys[::step, ::step], return_counts=True)


def _fit(colors: np.ndarray, counts: np.ndarray, table: np.ndarray) -> tuple[float, float]:
    """(mean distance, share of pixels over ``FAR``) of sampled ``colors`` to ``table``."""
    _, dist = nearest(colors, table)
    return float(np.average(dist, weights=counts)), float(counts[dist > FAR].sum() / counts.sum())


class ColormapReader:
    """Reads one stream's colour-mapped frames as 8-bit depth through map ``name`` (``read``), and
    measures how far its pixels lie from the map (``summary``)."""

    def __init__(self, name: str, path: str, pix_fmt: str | None = None) -> None:
        renderings(name)  # an unknown name fails here
        self.name, self.path, self.pix_fmt = name, path, pix_fmt
        self.label: str | None = None  # the rendering the first frame picked
        self._inverse: Inverse | None = None
        self._tied = False  # the frames so far fit two renderings equally (colours both share): pick again
        self._pixels = self._half = self._far = self._frames = 0
        self._warned = False

    def read(self, frame: av.VideoFrame, reformatter: Any, index: int) -> np.ndarray:
        """H x W uint8 depth of ``frame``; ``ValueError`` when the first frame is not in this map."""
        keys = frame_keys(frame, reformatter)
        if self._inverse is None or self._tied:
            self._pick(keys)
        codes = self._inverse(keys)
        self._measure(codes, keys, index)
        return codes.astype(np.uint8)  # the low byte

    def _pick(self, keys: np.ndarray) -> None:
        colors, counts = _sample(keys)
        fits = sorted((_fit(colors, counts, table)[0], i, label) for i, (label, table) in enumerate(renderings(self.name)))
        self.label = fits[0][2]  # a tie (a frame of colours both renderings hold) reads alike: decided by a later frame
        self._tied = len(fits) > 1 and fits[1][0] == fits[0][0]
        self._inverse = inverse(self.name, self.label)

    def _measure(self, codes: np.ndarray, keys: np.ndarray, index: int) -> None:
        high = codes >> 8  # 1 + round(2 x distance)
        far = int(np.count_nonzero(high > 2 * FAR + 1))
        half = int(high.sum(dtype=np.int64)) - codes.size
        share = far / codes.size
        if not self._frames:
            if share > FAR_SHARE:
                raise ValueError(self._wrong_map(keys, share))
            log.info("depth %s: %s frames drawn in %s (%s table), read back as 8-bit gray depth; pixels lie %.2f "
                     "from the nearest map colour on average (0 in a lossless video; a lossy one adds colour error), "
                     "%.1f %% over %g", self.path, self.pix_fmt or "colour", self.name, self.label,
                     half / codes.size / 2, 100 * share, FAR)
        elif share > FAR_SHARE and not self._warned:
            self._warned = True
            log.warning("%s: frame %d: %.0f %% of the pixels lie over %g from every %s colour; is the whole video "
                        "drawn in this map? (warned once)", self.path, index, 100 * share, FAR, self.name)
        self._pixels += codes.size
        self._half += half
        self._far += far
        self._frames += 1

    def _wrong_map(self, keys: np.ndarray, share: float) -> str:
        """One line: this frame is not in map ``name``, and the maps (or gray) its colours fit."""
        colors, counts = _sample(keys)
        fit = {}
        for name in COLORMAPS:
            if name != self.name:
                fit[name] = min(_fit(colors, counts, t)[1] for _, t in renderings(name))
        good = sorted((s, n) for n, s in fit.items() if s <= FAR_SHARE)
        if good and good[0][1] == "gray":
            hint = "it looks like gray depth: drop --depth-colormap"
        elif good:
            hint = ("its colours fit " + ", ".join(f"{n} ({100 * s:.0f} % far)" for s, n in good)
                    + f": try --depth-colormap {good[0][1]}")
        else:
            hint = "its colours fit no other map (" + ", ".join(fit) + ") either"
        return (f"{100 * share:.0f} % of the pixels lie over {FAR:g} (in RGB) from every {self.name} colour: this is "
                f"no {self.name} colour map; {hint}")

    def summary(self) -> dict[str, Any] | None:
        """The map, its rendering, the mean distance of the frames' pixels to the map and the share over
        ``FAR``; None before any frame."""
        if not self._frames:
            return None
        return {"name": self.name, "table": self.label, "mean_distance": round(self._half / self._pixels / 2, 3),
                "far_share": round(self._far / self._pixels, 5), "far": FAR, "frames": self._frames}
