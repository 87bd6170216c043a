"""Write a synthetic clip to disk: colour (H.264 MP4), degraded depth and ground truth (FFV1 MKV).

Needs only NumPy, OpenCV and PyAV (imported when a clip is written), so ``igde-stream --demo`` works
on a runtime-only install with ``textures="procedural"``.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Iterable

import numpy as np

from .degrade import DegradeConfig
from .sequence import make_sequence
from .synthetic import SPLITS, SceneConfig

__all__ = ["write_clip", "write_video", "DEFAULT_RATE"]

DEFAULT_RATE = Fraction(30000, 1001)


def write_video(path: str | Path, frames: Iterable[np.ndarray], *, kind: str,
                rate: Fraction = DEFAULT_RATE) -> int:
    """Encode ``frames`` to ``path`` with PyAV; returns the number of frames written.

    kind ``"color"``: H x W x 3 uint8 RGB -> H.264 (libx264, yuv420p, CRF 16; even H and W).
    kind ``"depth"``: H x W uint8 / uint16 -> FFV1 level 3, GOP 1, slice CRCs, gray / gray16le
    (lossless). Frame i gets pts i in time base 1 / rate (constant frame rate). Written to a
    temporary name and renamed when complete.
    """
    import av

    path = Path(path)
    tmp = path.with_name(path.stem + ".part" + path.suffix)
    n = 0
    from ..stream.parts import ffmpeg_name

    with av.open(ffmpeg_name(tmp), "w") as out:
        stream = None
        for img in frames:
            if stream is None:
                h, w = img.shape[:2]
                if kind == "color":
                    if h % 2 or w % 2:
                        raise ValueError(f"H.264 yuv420p needs even sizes, got {w}x{h}")
                    stream = out.add_stream("libx264", rate=rate)
                    stream.pix_fmt = "yuv420p"
                    stream.options = {"crf": "16", "preset": "medium"}
                    fmt = "rgb24"
                elif kind == "depth":
                    stream = out.add_stream("ffv1", rate=rate)
                    fmt = "gray" if img.dtype == np.uint8 else "gray16le"
                    stream.pix_fmt = fmt
                    stream.options = {"level": "3", "g": "1", "slicecrc": "1"}
                else:
                    raise ValueError(f"kind must be 'color' or 'depth', got {kind!r}")
                stream.width, stream.height = w, h
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=fmt)
            frame.pts = n  # in 1 / rate; the muxer rescales to the container's time base
            frame.time_base = 1 / Fraction(rate)
            for packet in stream.encode(frame):
                out.mux(packet)
            n += 1
        if stream is not None:
            for packet in stream.encode(None):
                out.mux(packet)
    tmp.replace(path)
    return n


def write_clip(
    out_dir: str | Path,
    *,
    frames: int = 48,
    size: tuple[int, int] = (960, 540),
    seed: int = SPLITS["test"][0],
    textures: str = "procedural",
    bits: int = 8,
    rate: Fraction = DEFAULT_RATE,
    degradation: DegradeConfig = DegradeConfig(),
) -> dict[str, Path]:
    """Render a synthetic sequence and write it to ``out_dir``.

    ``size`` is (W, H) (even numbers for H.264). Writes ``color.mp4`` (H.264, yuv420p),
    ``depth.mkv`` (degraded depth, FFV1 gray or gray16le for ``bits`` 8 / 16), ``gt.mkv`` (ground
    truth, FFV1) and ``data.json`` (every generator / degradation parameter, error-pixel fraction).
    Returns ``{"color", "depth", "gt", "params"}`` -> paths. The default seed is the first test
    seed, which training never sees.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    w, h = size
    scene = SceneConfig(width=w, height=h, frames=frames, textures=textures)
    seq = make_sequence(seed, scene, degradation, bits)
    paths = {"color": out_dir / "color.mp4", "depth": out_dir / "depth.mkv",
             "gt": out_dir / "gt.mkv", "params": out_dir / "data.json"}
    write_video(paths["color"], seq.color, kind="color", rate=rate)
    write_video(paths["depth"], seq.depth, kind="depth", rate=rate)
    write_video(paths["gt"], seq.gt, kind="depth", rate=rate)
    params = dict(seq.params)
    params.update({
        "frames": frames, "width": w, "height": h, "frame_rate": f"{rate.numerator}/{rate.denominator}",
        "files": {k: p.name for k, p in paths.items() if k != "params"},
        "color_codec": "H.264 (libx264, yuv420p, CRF 16): lossy",
        "depth_codec": "FFV1 level 3 (lossless), " + ("gray" if bits == 8 else "gray16le"),
        "error_pixel_fraction": float(seq.error_mask.mean()),
    })
    tmp = paths["params"].with_suffix(".json.part")
    tmp.write_text(json.dumps(params, indent=2) + "\n")
    tmp.replace(paths["params"])
    return paths
