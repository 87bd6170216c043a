"""Small scenes and video files shared by the multiview and display tests."""

from __future__ import annotations

from fractions import Fraction

import numpy as np


def textured(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    """Random RGB texture, H x W x 3 uint8."""
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def square_scene(h: int = 48, w: int = 64, bg: float = 0.5, fg: float = 0.9,
                 box: tuple[int, int, int, int] = (16, 32, 24, 40)) -> np.ndarray:
    """Float depth: a background plane at ``bg`` and a nearer square at ``fg`` (rows y0:y1, cols x0:x1)."""
    d = np.full((h, w), bg, np.float32)
    y0, y1, x0, x1 = box
    d[y0:y1, x0:x1] = fg
    return d


def write_video(path, frames: np.ndarray, pix: str = "gray") -> None:
    """25 fps video: ``pix`` "yuv420p" encodes RGB frames with H.264, any other (gray, gray16le)
    stores the frames losslessly with FFV1."""
    import av

    rate = Fraction(25)
    color = pix == "yuv420p"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264" if color else "ffv1", rate=rate)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = pix
        s.codec_context.time_base = 1 / rate
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24" if color else pix)
            vf.pts, vf.time_base = i, 1 / rate
            for p in s.encode(vf):
                c.mux(p)
        for p in s.encode(None):
            c.mux(p)
