"""The DIBR renderer of ``igde_stream.multiview`` in PyTorch, on any device (the model's GPU, or the CPU).

Same geometry, same z-buffer and same hole filling as ``multiview.warp_views`` (see that module's
docstring for the formulas), written as whole-tensor operations so that the views of a frame are
rendered on the device the depth was enhanced on, several views per pass:

- depth -> float32 in [0, 1] exactly as ``multiview.normalize_depth`` (one IEEE float32 division);
- target column ``x + round(s_k * (d - zp))`` with ``s_k = float32(-t_k * baseline)``, each step a
  separate float32 operation like NumPy's (no fused multiply-add), rounded half to even
  (``torch.round`` = ``np.rint``);
- z-buffer: one ``scatter_reduce(amax)`` of the int64 key ``(float32 bits of d) << 32 | source index``
  per pass (nearest wins, exact ties to the larger source index: a max is order-independent, so
  the GPU's atomics give the same result as NumPy's ``maximum.at``);
- holes: per row, the nearest rendered pixel to the left (``cummax``) and to the right (``cummin`` on
  the flipped row); the farther (smaller depth) one fills, ``<=`` choosing the left one on equal
  depth, one side at the borders, the pixel's own source on a row with nothing rendered.

Every step is exact integer or correctly rounded float32 arithmetic, so the views are bit-identical
to NumPy's on the CPU (``tests/test_multiview_torch.py`` pins it) and, by the same IEEE rules, on
a GPU. ``TorchRenderer`` is the callable the display layouts take (``Layout.frames(..., render=)``).
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch

from . import multiview as mv
from .depth_order import NEAR_RATIO, check_order, near_limit

__all__ = ["TorchRenderer", "warp_views_torch", "normalize_depth_torch"]

_PEAKS = {torch.uint8: 255.0, torch.uint16: 65535.0}
PIXELS_PER_PASS = {"cpu": 1 << 22, "cuda": 1 << 25}  # view pixels rendered at once (bounds the int64 buffers)


def normalize_depth_torch(depth: torch.Tensor, max_depth: float | None = None,
                          peak: float | None = None, order: str = "near-high") -> torch.Tensor:
    """Depth H x W (uint8, uint16 or float tensor; or integers with their ``peak`` given) -> float32 in
    [0, 1], as ``multiview.normalize_depth`` (far-high ``order`` read as inverse depth the same way)."""
    far_high = check_order(order) == "far-high"
    if depth.dtype.is_floating_point:
        if not bool(torch.isfinite(depth).all()):
            raise ValueError("depth contains NaN or infinite values")
        out = depth.to(torch.float32)
        if max_depth is not None:
            out = out / torch.tensor(max_depth, dtype=torch.float32, device=depth.device)
        if far_high:
            out = _inverse(out.clamp(0.0, 1.0), 1.0 / NEAR_RATIO, out > 0)
    else:
        top = peak or _PEAKS.get(depth.dtype)  # the samples' range
        peak = max_depth if max_depth is not None else top
        if peak is None:
            raise ValueError(f"depth must be uint8, uint16 or float, got {depth.dtype}")
        if top is not None and peak > top:  # flat views, as multiview.normalize_depth refuses them
            kind = {255.0: "uint8", 65535.0: "uint16"}.get(float(top), str(depth.dtype))
            raise ValueError(f"max_depth {peak:g} is above the range of {kind} depth (0..{top:g})")
        out = depth.to(torch.float32)
        if far_high:  # beyond the far limit: drawn at it, as multiview.normalize_depth
            out = torch.minimum(out, torch.tensor(peak, dtype=torch.float32, device=out.device))
            out = _inverse(out, float(near_limit(peak)), out > 0)
        else:
            out = out / torch.tensor(peak, dtype=torch.float32, device=depth.device)
    return out.clamp(0.0, 1.0) + 0.0  # + 0.0 turns -0.0 into 0.0 (the z-buffer uses the bits)


def _inverse(d: torch.Tensor, near: float, measured: torch.Tensor) -> torch.Tensor:
    """min(1, near / d) where measured, else 0, in float32 as ``depth_order.normalize``."""
    x = torch.clamp(torch.tensor(near, dtype=torch.float32, device=d.device) / d, max=1.0)
    return torch.where(measured, x, torch.zeros_like(x))


def _as_tensor(a: Any, device: torch.device) -> torch.Tensor:
    if isinstance(a, torch.Tensor):
        return a.to(device)
    return torch.from_numpy(np.ascontiguousarray(a)).to(device)


def _fill_from_background(src: torch.Tensor, vd: torch.Tensor, hole: torch.Tensor, w: int,
                          hw: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Flattened views (V*H*W, fresh tensors, filled in place) of source indices, view depths and holes (see the module
    docstring), rows of ``w`` pixels, frames of ``hw``; the work past the two scans is per hole."""
    rows = hole.reshape(-1, w)
    col = torch.arange(w, device=src.device, dtype=torch.int32).expand_as(rows)  # int32 scans: 4x faster
    left = torch.cummax(torch.where(rows, -1, col), dim=1).values.reshape(-1)  # nearest rendered column <=
    right = torch.cummin(torch.where(rows, w, col).flip(1), dim=1).values.flip(1).reshape(-1)  # and >=
    hi = hole.nonzero().squeeze(1)
    row_start = hi - hi % w
    lft, rgt = row_start + left[hi], row_start + right[hi]
    has_l, has_r = lft >= row_start, rgt < row_start + w  # -1 / w: none on that side of the row
    dl = vd[torch.where(has_l, lft, 0)]
    dr = vd[torch.where(has_r, rgt, 0)]
    use_left = has_l & (~has_r | (dl <= dr))
    empty = ~(has_l | has_r)
    pick = torch.where(empty, 0, torch.where(use_left, lft, rgt))
    src[hi] = torch.where(empty, hi % hw, src[pick])
    vd[hi] = torch.where(empty, torch.zeros((), dtype=vd.dtype, device=vd.device), vd[pick])
    return src, vd


@torch.inference_mode()
def render_tensors(color: torch.Tensor, d: torch.Tensor, ts: Sequence[float], baseline: float,
                   zero_parallax: float, pixels_per_pass: int | None = None
                   ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Views from colour H x W x 3 uint8 and normalised depth H x W float32 (same device) at camera
    positions ``ts``: (views N x H x W x 3 uint8, view depth N x H x W float32, holes N x H x W bool)."""
    dev = d.device
    h, w = d.shape
    hw = h * w
    n = len(ts)
    per_pass = max(1, (pixels_per_pass or PIXELS_PER_PASS.get(dev.type, 1 << 25)) // hw)
    key = (d.reshape(-1).view(torch.int32).to(torch.int64) << 32) | torch.arange(hw, device=dev)
    cols = torch.arange(w, device=dev, dtype=torch.int64)
    row_base = torch.arange(0, hw, w, device=dev)[:, None]
    dz = d - torch.tensor(np.float32(zero_parallax), device=dev)
    flat = color.reshape(hw, 3)
    views = torch.empty((n, h, w, 3), dtype=torch.uint8, device=dev)
    vdepth = torch.empty((n, h, w), dtype=torch.float32, device=dev)
    holes = torch.empty((n, h, w), dtype=torch.bool, device=dev)
    for k0 in range(0, n, per_pass):
        chunk = [float(np.float32(-t * baseline)) for t in ts[k0 : k0 + per_pass]]
        v = len(chunk)
        s = torch.tensor(chunk, dtype=torch.float32, device=dev)[:, None, None]
        xt = cols + torch.round(s * dz).to(torch.int64)  # V x H x W: the shift rounded, then added
        tgt = torch.where((xt >= 0) & (xt < w), row_base + xt, hw)  # spare slot hw: left the frame
        tgt = tgt + (torch.arange(v, device=dev) * (hw + 1))[:, None, None]
        zbuf = torch.full((v * (hw + 1),), -1, dtype=torch.int64, device=dev)
        zbuf.scatter_reduce_(0, tgt.reshape(-1), key.repeat(v), reduce="amax")
        zbuf = zbuf.reshape(v, hw + 1)[:, :hw].reshape(-1)
        hole = zbuf < 0
        src = zbuf & 0xFFFFFFFF
        vd = torch.where(hole, -1.0, (zbuf >> 32).to(torch.int32).view(torch.float32))
        if bool(hole.any()):
            src, vd = _fill_from_background(src, vd, hole, w, hw)
        views[k0 : k0 + v] = flat[src].reshape(v, h, w, 3)
        vdepth[k0 : k0 + v] = vd.reshape(v, h, w)
        holes[k0 : k0 + v] = hole.reshape(v, h, w)
    return views, vdepth, holes


class TorchRenderer:
    """DIBR on ``device`` (``cpu``, ``cuda``, ``cuda:N``, a ``torch.device``). ``render`` returns
    device tensors; calling it returns the views as NumPy, the form the display layouts take:
    ``renderer(color, depth, cfg, positions=None) -> N x H x W x 3 uint8``."""

    def __init__(self, device: str | torch.device = "cpu", pixels_per_pass: int | None = None) -> None:
        self.device = torch.device(device)
        self.pixels_per_pass = pixels_per_pass

    def render(self, color: Any, depth: Any, config: mv.ViewConfig | None = None,
               positions: Sequence[float] | np.ndarray | None = None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Colour H x W x 3 uint8 and depth H x W (uint8 / uint16 / float; NumPy or torch) ->
        (views, view depth, holes) on ``self.device`` (see ``render_tensors``)."""
        config = config or mv.ViewConfig()
        peak = None
        if isinstance(depth, np.ndarray) and not depth.dtype.isnative:  # big-endian 16-bit PGM data
            depth = depth.astype(depth.dtype.newbyteorder("="))
        if isinstance(color, np.ndarray) and not color.dtype.isnative:
            color = color.astype(color.dtype.newbyteorder("="))
        if isinstance(depth, np.ndarray) and depth.dtype == np.uint16:  # CUDA has few uint16 kernels: int32
            depth, peak = depth.astype(np.int32), 65535.0
        c, dep = _as_tensor(color, self.device), _as_tensor(depth, self.device)
        mv.check_not_swapped(c, dep)
        if c.ndim != 3 or c.shape[2] != 3 or c.dtype != torch.uint8:
            raise ValueError(f"colour must be H x W x 3 uint8, got {tuple(c.shape)} {c.dtype}")
        if tuple(dep.shape) != tuple(c.shape[:2]):
            raise ValueError(f"depth must be H x W like the colour {tuple(c.shape[:2])}, got {tuple(dep.shape)}")
        ts = mv.chosen_positions(config, positions)
        d = normalize_depth_torch(dep, config.max_depth, peak, config.depth_order)
        return render_tensors(c, d, ts.tolist(), config.baseline, config.zero_parallax, self.pixels_per_pass)

    def __call__(self, color: Any, depth: Any, config: mv.ViewConfig | None = None,
                 positions: Sequence[float] | np.ndarray | None = None) -> np.ndarray:
        return self.render(color, depth, config, positions)[0].cpu().numpy()

    def __repr__(self) -> str:
        return f"TorchRenderer({str(self.device)!r})"


def warp_views_torch(color: Any, depth: Any, config: mv.ViewConfig | None = None,
                     positions: Sequence[float] | np.ndarray | None = None,
                     device: str | torch.device = "cpu") -> mv.RenderedViews:
    """``multiview.warp_views`` on ``device``, results back as NumPy (``multiview.RenderedViews``)."""
    views, vdepth, holes = TorchRenderer(device).render(color, depth, config, positions)
    return mv.RenderedViews(views=views.cpu().numpy(), depth=vdepth.cpu().numpy(), holes=holes.cpu().numpy())
