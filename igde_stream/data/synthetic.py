"""Scene-Flow-like synthetic scenes: colour + exactly aligned ground-truth depth, moving over time.

A scene is a slanted textured background plus textured layers (polygons, blobs, frames with holes,
poles, wires), each at its own depth, drawn back to front. Layers move on straight paths and the
camera translates, shifting every layer by an amount proportional to its depth (parallax), so
occlusions change over time. Everything follows from one integer seed.

Depth is disparity-like: a float in [0, 1], larger = nearer, quantised to 8 bits (peak 255) or 16
bits (peak 65535). Layers own disjoint depth intervals ordered like the drawing order, separated by
at least ``SceneConfig.min_gap`` (3/255), and every surface changes by at most ``max_slope`` (0.4/255)
per pixel, so on the 8-bit grid a jump of >= 2 levels between neighbours happens exactly where the
layer label changes: colour edges of objects and depth edges coincide pixel for pixel (no
anti-aliasing in either).

Steep planes (``steep_planes``, off by default): extra solid layers whose depth is a plane tilted by
``steep_slope`` (1-4 levels/px), like floors, tables and walls seen at a grazing angle. They are
drawn last with a depth test (a pixel is theirs only where they are nearer), so they can cut
through other layers, and their slopes make neighbour jumps of several levels inside a surface:
there a depth jump no longer marks an edge, and edges must come from the label map
(:func:`igde_stream.data.degrade.label_edges`). A model trained without them has never seen a
surface steeper than 0.4 levels/px.

Limbs (``limbs``, off by default): thin parts (1-6 px, straight or bent once, at any angle) grown out
of each solid layer, with its depth plane and texture: handlebars, levers, chair legs, stems, cables
attached to what holds them. The separate poles and wires of ``thin`` stand near vertical or near
horizontal on their own depth; real thin parts leave their object at every angle, and a boundary
error that thins or fattens the object swallows or erases them.

Textures: ``"procedural"`` (fractal noise, stripes, checkers, colour blocks; NumPy + OpenCV only),
``"photo"`` (random crops of the photographs shipped with scikit-image, recoloured; needs
scikit-image), ``"mixed"`` (half and half: the training default) and ``"flat"`` (one colour per
layer, for tests). Strong colour texture on flat-depth surfaces is deliberate: copying colour texture
into depth is the failure the IGDE paper targets.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np

from .textures import TEXTURE_MODES, make_texture, smooth_noise

__all__ = [
    "SceneConfig", "Scene", "Frame", "SPLITS", "TEXTURE_MODES", "split_seeds",
    "render_sequence", "smooth_noise", "steep_range",
]

# Fixed, disjoint seed ranges: training draws from "train" only; "test" is never trained on.
SPLITS: dict[str, range] = {
    "train": range(0, 1_000_000),
    "val": range(1_000_000, 1_001_000),
    "test": range(2_000_000, 2_001_000),
}


def steep_range(n: int) -> tuple[int, int]:
    """``SceneConfig.steep_planes`` for "up to ``n`` steep planes" (1..n; none for 0), the form the
    command-line tools take."""
    if n < 0:
        raise ValueError(f"steep planes must be >= 0, got {n}")
    return (1, int(n)) if n else (0, 0)


def split_seeds(split: str, n: int) -> list[int]:
    """The first ``n`` scene seeds of ``split`` (``"train"``, ``"val"`` or ``"test"``)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; known: {sorted(SPLITS)}")
    r = SPLITS[split]
    if not 0 <= n <= len(r):
        raise ValueError(f"split {split!r} has {len(r)} seeds, asked for {n}")
    return list(r[:n])


@dataclass(frozen=True)
class SceneConfig:
    """Parameters of the scene generator (all sizes in pixels at the given resolution).

    objects / thin: inclusive ranges of the number of solid layers and of thin structures (poles and
    wires); both scale with the frame area relative to 960x540. max_speed / camera_speed: pixels per
    frame at 960 wide (scaled with the width). slant_prob: fraction of solid layers whose depth is a
    tilted plane (the rest have flat depth). background_depth / foreground_depth: depth ranges on the
    [0, 1] scale (larger = nearer). limbs: inclusive range of the number of thin parts grown out of
    each solid layer (module docstring).
    """

    width: int = 960
    height: int = 540
    frames: int = 48
    textures: str = "mixed"
    objects: tuple[int, int] = (10, 18)
    thin: tuple[int, int] = (2, 6)
    max_speed: float = 5.0
    camera_speed: float = 2.5
    slant_prob: float = 0.5
    background_depth: tuple[float, float] = (0.03, 0.33)
    foreground_depth: tuple[float, float] = (0.37, 0.98)
    min_gap: float = 3.0 / 255.0
    max_slope: float = 0.4 / 255.0
    steep_planes: tuple[int, int] = (0, 0)
    steep_slope: tuple[float, float] = (1.0 / 255.0, 4.0 / 255.0)
    limbs: tuple[int, int] = (0, 0)

    def __post_init__(self) -> None:
        if not 0 <= self.limbs[0] <= self.limbs[1]:
            raise ValueError(f"limbs must be 0 <= lo <= hi, got {self.limbs}")
        if not 0 <= self.steep_planes[0] <= self.steep_planes[1]:
            raise ValueError(f"steep_planes must be 0 <= lo <= hi, got {self.steep_planes}")
        if not 0 < self.steep_slope[0] <= self.steep_slope[1]:
            raise ValueError(f"steep_slope must be 0 < lo <= hi, got {self.steep_slope}")
        if self.width < 16 or self.height < 16:
            raise ValueError(f"scene size must be at least 16x16, got {self.width}x{self.height}")
        if self.frames < 1:
            raise ValueError(f"frames must be >= 1, got {self.frames}")
        if self.textures not in TEXTURE_MODES:
            raise ValueError(f"textures must be one of {TEXTURE_MODES}, got {self.textures!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


class Frame(NamedTuple):
    """One rendered frame: ``color`` H x W x 3 uint8 RGB, ``depth`` H x W uint8 / uint16 (larger =
    nearer), ``labels`` H x W int16 (0 = background, i = i-th layer in drawing order)."""

    color: np.ndarray
    depth: np.ndarray
    labels: np.ndarray


# --------------------------------------------------------------------------------------------- noise


def _star_polygon(rng: np.random.Generator, cx: float, cy: float, rx: float, ry: float) -> np.ndarray:
    n = int(rng.integers(3, 13))
    ang = np.sort(rng.uniform(0, 2 * math.pi, n)) + rng.uniform(0, 2 * math.pi)
    rad = rng.uniform(0.45, 1.0, n) if rng.random() < 0.5 else np.ones(n)
    pts = np.stack([cx + rx * rad * np.cos(ang), cy + ry * rad * np.sin(ang)], 1)
    return np.round(pts).astype(np.int32)


def _solid_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A solid shape filling most of an H x W box: polygon, blob, ellipse or frame with a hole."""
    kind = rng.choice(("polygon", "polygon", "blob", "ellipse", "frame"))
    mask = np.zeros((h, w), np.uint8)
    cx, cy, rx, ry = (w - 1) / 2, (h - 1) / 2, (w - 1) / 2, (h - 1) / 2
    if kind == "polygon":
        cv2.fillPoly(mask, [_star_polygon(rng, cx, cy, rx, ry)], 1)
    elif kind == "ellipse":
        cv2.ellipse(mask, (int(cx), int(cy)), (max(1, int(rx)), max(1, int(ry))), 0, 0, 360, 1, -1)
    elif kind == "blob":
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((xx - cx) / max(rx, 1)) ** 2 + ((yy - cy) / max(ry, 1)) ** 2
        f = (1.0 - r2) + 0.35 * smooth_noise(rng, h, w, max(4.0, min(h, w) / 4))
        mask[f > 0.3] = 1
    else:  # frame: polygon with a polygonal hole (background shows through)
        cv2.fillPoly(mask, [_star_polygon(rng, cx, cy, rx, ry)], 1)
        k = rng.uniform(0.3, 0.6)
        cv2.fillPoly(mask, [_star_polygon(rng, cx, cy, rx * k, ry * k)], 0)
    return mask.astype(bool)


def _thin_mask(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    """A pole (straight bar, 2-8 px) or a wire (sagging curve, 1-3 px), in a tight box."""
    scale = max(width, height) / 960
    if rng.random() < 0.5:  # pole, near vertical
        length = rng.uniform(0.4, 1.1) * height
        a = math.pi / 2 + rng.uniform(-0.35, 0.35)
        t = max(1, int(round(rng.uniform(2, 8) * max(scale, 0.25))))
        dx, dy = length * math.cos(a), length * math.sin(a)
        bw, bh = int(abs(dx)) + 2 * t + 2, int(abs(dy)) + 2 * t + 2
        mask = np.zeros((bh, bw), np.uint8)
        x0 = t + 1 if dx >= 0 else bw - t - 2
        cv2.line(mask, (x0, t + 1), (int(round(x0 + dx)), int(round(t + 1 + dy))), 1, t, cv2.LINE_8)
    else:  # wire, near horizontal, sagging
        length = rng.uniform(0.5, 1.2) * width
        sag = rng.uniform(0.02, 0.2) * length
        t = max(1, int(round(rng.uniform(1, 3) * max(scale, 0.34))))
        xs = np.linspace(0, length, 64)
        ys = sag * (1 - (2 * xs / length - 1) ** 2) + rng.uniform(-0.1, 0.1) * xs
        ys -= ys.min()
        bw, bh = int(length) + 2 * t + 3, int(ys.max()) + 2 * t + 3
        mask = np.zeros((bh, bw), np.uint8)
        pts = np.round(np.stack([xs + t + 1, ys + t + 1], 1)).astype(np.int32)
        cv2.polylines(mask, [pts], False, 1, t, cv2.LINE_8)
    return mask.astype(bool)


# ---------------------------------------------------------------------------------------------- scene


@dataclass
class _Layer:
    mask: np.ndarray        # h x w bool
    texture: np.ndarray     # h x w x 3 uint8
    depth: np.ndarray       # h x w float32 in [0, 1]
    pos: tuple[float, float]  # top-left (x, y) at the middle frame
    vel: tuple[float, float]  # pixels per frame
    parallax: float         # depth used for the camera shift


def _with_limbs(rng: np.random.Generator, mask: np.ndarray, n: int, scale: float) -> np.ndarray:
    """``mask`` (a solid shape) with ``n`` limbs: polylines of 1 or 2 segments, 1-6 px thick (times
    ``scale``, the frame's size relative to 960 wide, at least a third), from a random pixel of the
    shape outwards at a random angle, each segment 0.3-0.8 of the shape's size; the result is cut to
    its tight box."""
    h, w = mask.shape
    size = max(h, w)
    m = int(1.7 * size) + 8
    out = np.zeros((h + 2 * m, w + 2 * m), np.uint8)
    out[m:m + h, m:m + w] = mask
    ys, xs = np.nonzero(mask)
    if not len(ys):
        return mask
    for _ in range(n):
        k = int(rng.integers(len(ys)))
        pts = [(float(xs[k] + m), float(ys[k] + m))]
        a = rng.uniform(0, 2 * math.pi)
        for _ in range(int(rng.integers(1, 3))):
            length = rng.uniform(0.3, 0.8) * size
            x, y = pts[-1]
            pts.append((x + length * math.cos(a), y + length * math.sin(a)))
            a += rng.uniform(-1.2, 1.2)
        t = max(1, int(round(rng.uniform(1, 6) * max(scale, 1 / 3))))
        cv2.polylines(out, [np.round(np.array(pts)).astype(np.int32)], False, 1, t, cv2.LINE_8)
    rows, cols = np.nonzero(out.any(1))[0], np.nonzero(out.any(0))[0]
    return out[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].astype(bool)


def _plane(rng: np.random.Generator, h: int, w: int, lo: float, hi: float, slant: bool,
           max_slope: float) -> np.ndarray:
    """A depth plane inside [lo, hi] over an H x W box, tilted when ``slant``."""
    if not slant or hi - lo < 1e-6:
        return np.full((h, w), rng.uniform(lo, hi), np.float32)
    span = hi - lo
    a = rng.uniform(0, 2 * math.pi)
    g = min(max_slope, span / max(h + w, 1))  # depth change per pixel along the tilt direction
    gx, gy = g * math.cos(a), g * math.sin(a)
    x = np.arange(w, dtype=np.float32)[None, :] - (w - 1) / 2
    y = np.arange(h, dtype=np.float32)[:, None] - (h - 1) / 2
    p = gx * x + gy * y
    return ((lo + hi) / 2 + p).astype(np.float32)


def _steep_plane(rng: np.random.Generator, h: int, w: int, slope: tuple[float, float]) -> np.ndarray:
    """A plane over an H x W box tilted by a slope drawn from ``slope`` (depth per pixel, lowered so
    that the plane fits in [0.02, 0.99]), in a random direction, at a random depth."""
    a = rng.uniform(0, 2 * math.pi)
    reach = abs(math.cos(a)) * (w - 1) / 2 + abs(math.sin(a)) * (h - 1) / 2  # farthest corner
    g = min(rng.uniform(*slope), 0.48 / max(reach, 1.0))
    half = g * reach
    centre = rng.uniform(0.02 + half, 0.99 - half)
    x = np.arange(w, dtype=np.float32)[None, :] - (w - 1) / 2
    y = np.arange(h, dtype=np.float32)[:, None] - (h - 1) / 2
    return (centre + g * math.cos(a) * x + g * math.sin(a) * y).astype(np.float32)


class Scene:
    """A deterministic moving scene. ``render(t)`` gives frame ``t`` (0 <= t < config.frames)."""

    def __init__(self, seed: int, config: SceneConfig = SceneConfig()) -> None:
        self.seed = int(seed)
        self.config = c = config
        rng = np.random.default_rng([self.seed, 0x5CE9E])
        W, H = c.width, c.height
        area = W * H / (960 * 540)
        sx = W / 960
        mid = (c.frames - 1) / 2
        cam = rng.normal(0, 1, 2)
        cam = cam / max(np.linalg.norm(cam), 1e-6) * rng.uniform(0, c.camera_speed) * sx
        self.camera_velocity = (float(cam[0]), float(cam[1]))
        # background: slanted plane (nearer towards the bottom, like a floor), larger than the frame
        margin = int(math.ceil(float(np.abs(cam).max()) * (mid + 1) * c.background_depth[1])) + 2
        bh, bw = H + 2 * margin, W + 2 * margin
        blo, bhi = c.background_depth
        span = min(rng.uniform(0.3, 1.0) * (bhi - blo), c.max_slope * 0.9 * min(bh, bw))
        center = rng.uniform(blo + span / 2, bhi - span / 2)
        a = rng.uniform(math.pi / 4, 3 * math.pi / 4)  # mostly increasing downwards
        yy = (np.arange(bh, dtype=np.float32)[:, None] - (bh - 1) / 2) / max(bh - 1, 1)
        xx = (np.arange(bw, dtype=np.float32)[None, :] - (bw - 1) / 2) / max(bw - 1, 1)
        bg_depth = (center + span * (math.cos(a) * xx + math.sin(a) * yy) / math.sqrt(2)).astype(np.float32)
        self._bg = _Layer(
            mask=np.ones((bh, bw), bool), texture=make_texture(rng, bh, bw, c.textures, 0),
            depth=np.broadcast_to(bg_depth, (bh, bw)).copy(),
            pos=(-margin, -margin), vel=(0.0, 0.0), parallax=center,
        )
        # foreground layers: disjoint depth slots, drawn from far to near
        # fewer layers on small frames (sizes scale with the height), but never an empty scene
        n_obj = max(3, int(rng.integers(c.objects[0], c.objects[1] + 1) * min(1.0, math.sqrt(area)) + 0.5))
        n_thin = max(1, int(rng.integers(c.thin[0], c.thin[1] + 1) * min(1.0, math.sqrt(area)) + 0.5))
        kinds = ["solid"] * n_obj + ["thin"] * n_thin
        rng.shuffle(kinds)
        flo, fhi = c.foreground_depth
        slot = (fhi - flo) / len(kinds)
        if slot < c.min_gap + 1e-9:
            raise ValueError("too many layers for the foreground depth range and min_gap")
        self.layers: list[_Layer] = []
        for i, kind in enumerate(kinds):
            lo = flo + i * slot + c.min_gap / 2
            hi = flo + (i + 1) * slot - c.min_gap / 2
            if kind == "solid":
                size = rng.uniform(0.08, 0.5) * H
                aspect = math.exp(rng.uniform(-0.7, 0.7))
                h = max(6, int(size / math.sqrt(aspect)))
                w = max(6, int(size * math.sqrt(aspect)))
                mask = _solid_mask(rng, h, w)
                if c.limbs[1] > 0:  # drawn only when asked for: scenes without limbs stay as they were
                    mask = _with_limbs(rng, mask, int(rng.integers(c.limbs[0], c.limbs[1] + 1)), sx)
                    h, w = mask.shape
                slant = rng.random() < c.slant_prob
            else:
                mask = _thin_mask(rng, W, H)
                h, w = mask.shape
                slant = False
            depth = _plane(rng, h, w, lo, hi, slant, c.max_slope)
            speed = rng.uniform(0, c.max_speed) * sx
            ang = rng.uniform(0, 2 * math.pi)
            vel = (speed * math.cos(ang), speed * math.sin(ang))
            pos = (rng.uniform(-0.3 * w, W - 0.7 * w), rng.uniform(-0.3 * h, H - 0.7 * h))
            self.layers.append(_Layer(mask, make_texture(rng, h, w, c.textures, i + 1), depth,
                                      pos, vel, float(depth.mean())))
        # steep planes: drawn last, with a depth test (drawn only when asked for, so that the
        # scenes of a config without them stay what they were)
        self.steep: list[_Layer] = []
        if c.steep_planes[1] > 0:
            n_steep = int(rng.integers(c.steep_planes[0], c.steep_planes[1] + 1) * min(1.0, math.sqrt(area)) + 0.5)
            for j in range(n_steep):
                size = rng.uniform(0.04, 0.3) * H
                aspect = math.exp(rng.uniform(-0.7, 0.7))
                h = max(6, int(size / math.sqrt(aspect)))
                w = max(6, int(size * math.sqrt(aspect)))
                mask = _solid_mask(rng, h, w)
                depth = _steep_plane(rng, h, w, c.steep_slope)
                speed = rng.uniform(0, c.max_speed) * sx
                ang = rng.uniform(0, 2 * math.pi)
                pos = (rng.uniform(-0.3 * w, W - 0.7 * w), rng.uniform(-0.3 * h, H - 0.7 * h))
                self.steep.append(_Layer(mask, make_texture(rng, h, w, c.textures, len(kinds) + j + 1),
                                         depth, pos, (speed * math.cos(ang), speed * math.sin(ang)),
                                         float(depth.mean())))

    def _offset(self, layer: _Layer, t: float) -> tuple[int, int]:
        dt = t - (self.config.frames - 1) / 2
        cx, cy = self.camera_velocity
        x = layer.pos[0] + layer.vel[0] * dt + cx * dt * layer.parallax
        y = layer.pos[1] + layer.vel[1] * dt + cy * dt * layer.parallax
        return int(round(x)), int(round(y))

    def _paste(self, layer: _Layer, t: int, label: int, color: np.ndarray, depth: np.ndarray,
               labels: np.ndarray, depth_test: bool) -> None:
        """Draw ``layer`` at time ``t`` into the frame arrays (with ``depth_test``: only where it is
        nearer than what is there)."""
        H, W = depth.shape
        x0, y0 = self._offset(layer, t)
        h, w = layer.mask.shape
        fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
        if fx0 >= fx1 or fy0 >= fy1:
            return
        sl = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        dst = (slice(fy0, fy1), slice(fx0, fx1))
        m = layer.mask[sl]
        if depth_test:
            m = m & (layer.depth[sl] > depth[dst])
        color[dst][m] = layer.texture[sl][m]
        depth[dst][m] = layer.depth[sl][m]
        labels[dst][m] = label

    def render(self, t: int, bits: int = 8) -> Frame:
        """Frame ``t``: colour, quantised depth (``bits`` 8 or 16) and the layer label map."""
        if bits not in (8, 16):
            raise ValueError(f"bits must be 8 or 16, got {bits}")
        W, H = self.config.width, self.config.height
        bx, by = self._offset(self._bg, t)
        color = self._bg.texture[-by:-by + H, -bx:-bx + W].copy()
        depth = self._bg.depth[-by:-by + H, -bx:-bx + W].copy()
        labels = np.zeros((H, W), np.int16)
        for i, layer in enumerate(self.layers, start=1):
            self._paste(layer, t, i, color, depth, labels, depth_test=False)
        for j, layer in enumerate(self.steep, start=len(self.layers) + 1):
            self._paste(layer, t, j, color, depth, labels, depth_test=True)
        peak = 255 if bits == 8 else 65535
        q = np.rint(np.clip(depth, 0.0, 1.0) * peak).astype(np.uint8 if bits == 8 else np.uint16)
        return Frame(color, q, labels)


def render_sequence(seed: int, config: SceneConfig = SceneConfig(), bits: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """All frames of scene ``seed``: colour T x H x W x 3 uint8 and depth T x H x W (uint8 / uint16)."""
    scene = Scene(seed, config)
    frames = [scene.render(t, bits) for t in range(config.frames)]
    return np.stack([f.color for f in frames]), np.stack([f.depth for f in frames])
