"""Shared fixtures for the stream / CLI / report tests: tiny videos built with PyAV in tmp, igde-tiny."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pytest

NTSC = Fraction(30000, 1001)

_CLI_LOGGERS = ("igde_stream", "igde_stream.stream", "igde_stream.cli", "libav")


@pytest.fixture(autouse=True)
def _logging_as_it_was():
    """A command run in-process (``cli.main``) gives the package's loggers stderr handlers and stops
    their propagation, and a backend sets PyTorch's thread count: put them back after each test, so
    that a later test's ``caplog`` (on the root logger) sees the records, and its float sums are the
    ones of the default thread count, whatever ran before it."""
    import logging
    import sys

    saved = {n: (lg.handlers[:], lg.level, lg.propagate) for n in _CLI_LOGGERS for lg in [logging.getLogger(n)]}
    torch = sys.modules.get("torch")  # a backend or tool run in-process sets PyTorch's thread count too
    threads = torch.get_num_threads() if torch is not None else None
    yield
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    for n, (handlers, level, propagate) in saved.items():
        lg = logging.getLogger(n)
        lg.handlers[:], lg.propagate = handlers, propagate
        lg.setLevel(level)


def encode_frames(path: Path, frames: Sequence, codec: str, pix_fmt: str, *, rate: Fraction = Fraction(25),
                  options: dict | None = None, color_range: int | None = None, tags: dict | None = None,
                  container_options: dict | None = None) -> Path:
    """Encode PyAV ``frames`` (frame i at pts i, time base 1 / ``rate``) into ``path``; ``color_range``
    tags the stream and every frame (None: untagged), as ``tags`` do (``{"color_trc": 16, ...}``);
    ``container_options``: the muxer's (``{"movflags": "+faststart"}``)."""
    import av

    tags = {**(tags or {}), **({"color_range": color_range} if color_range is not None else {})}
    with av.open(str(path), "w", options=container_options or {}) as out:
        s = out.add_stream(codec, rate=rate, options=options or {})
        s.width, s.height, s.pix_fmt = frames[0].width, frames[0].height, pix_fmt
        for key, value in tags.items():
            setattr(s.codec_context, key, value)
        for i, f in enumerate(frames):
            for key, value in tags.items():
                setattr(f, key, value)
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


def x264_opens(folder: Path, w: int, h: int) -> bool:
    """Whether libx264 (as PyAV bundles it) opens and codes a ``w`` x ``h`` 4:2:0 frame: the encoder
    asked itself, for the limits the views writer checks up front."""
    import av

    probe = folder / "x264_probe.mkv"
    try:
        with av.open(str(probe), "w") as c:
            s = c.add_stream("libx264", rate=25)
            s.width, s.height, s.pix_fmt = w, h, "yuv420p"
            for p in [*s.encode(av.VideoFrame(w, h, "yuv420p")), *s.encode()]:
                c.mux(p)
        return True
    except av.error.FFmpegError:
        return False
    finally:
        probe.unlink(missing_ok=True)


def make_fifo(folder: Path, name: str) -> str:
    """A named pipe ``folder / name`` (``os.mkfifo``), as a path string."""
    import os

    path = folder / name
    os.mkfifo(path)
    return str(path)


def write_video(
    path: Path, frames: Sequence[np.ndarray], *, fmt: str, codec: str | None = None, rate: Fraction = NTSC,
    time_base: Fraction | None = None, start: float = 0.0, times: Sequence[float] | None = None,
) -> Path:
    """Encode ``frames`` with PyAV: ``fmt`` rgb24 (colour), gray, gray16le or an 8-bit YUV format
    (depth in the luma plane, neutral chroma). Frame i is shown at ``start + i / rate`` seconds (or
    ``times[i]``), written as pts in ``time_base`` (default 1 / rate; Matroska rounds to 1 ms)."""
    import av

    codec = codec or ("libx264" if fmt == "rgb24" else "ffv1")
    tb = time_base or 1 / rate
    with av.open(str(path), "w") as out:
        s = out.add_stream(codec, rate=rate)
        s.width, s.height = frames[0].shape[1], frames[0].shape[0]
        s.pix_fmt = "yuv420p" if fmt == "rgb24" and codec == "libx264" else ("bgr0" if fmt == "rgb24" else fmt)
        s.time_base = tb
        s.codec_context.time_base = tb
        for i, img in enumerate(frames):
            if fmt in ("rgb24", "gray", "gray16le"):
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format=fmt)
            else:
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="gray").reformat(format=fmt)
                y = frame.planes[0]
                buf = np.zeros((y.height, y.line_size), np.uint8)
                buf[:, : img.shape[1]] = img
                y.update(buf.tobytes())
                for p in frame.planes[1:]:
                    p.update(np.full(p.buffer_size, 128, np.uint8).tobytes())
            t = times[i] if times is not None else start + i / rate
            frame.pts = round(Fraction(t).limit_denominator(10**9) / tb)
            frame.time_base = tb
            for packet in s.encode(frame):
                out.mux(packet)
        for packet in s.encode(None):
            out.mux(packet)
    return path


def read_video(path: Path) -> tuple[list[np.ndarray], list[int], dict]:
    """Decoded frames (gray/gray16le as is, YUV as luma, others RGB), their pts, and stream facts."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        facts = {"time_base": s.time_base, "rate": s.average_rate, "pix_fmt": s.codec_context.pix_fmt,
                 "codec": s.codec_context.name, "width": s.width, "height": s.height}
        frames, pts = [], []
        for f in c.decode(s):
            name = f.format.name
            if name in ("gray", "gray16le"):
                frames.append(f.to_ndarray())
            elif name.startswith("yuv"):
                p = f.planes[0]
                frames.append(np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width].copy())
            else:
                frames.append(f.to_ndarray(format="rgb24"))
            pts.append(f.pts)
    return frames, pts, facts


def timed_frames(times: Sequence[float], start: float = 0.0, start_index: int = 0) -> list:
    """Pixel-less ``Frame``s at stream-relative ``times`` (s) of a stream that starts at ``start`` s
    (pts_time = start + time), numbered from ``start_index``: what the pairing code reads."""
    from igde_stream.stream import Frame

    return [Frame(start_index + i, None, t, start + t, np.zeros(1, np.uint8)) for i, t in enumerate(times)]


def scene(n: int, size: tuple[int, int] = (64, 48), bits: int = 8, seed: int = 0):
    """A textured square moving over a slanted background: colour (RGB), degraded depth, gt depth."""
    w, h = size
    rng = np.random.default_rng(seed)
    peak = 255 if bits == 8 else 65535
    dtype = np.uint8 if bits == 8 else np.uint16
    yy, xx = np.mgrid[:h, :w]
    texture = rng.integers(0, 256, (h, w, 3)).astype(np.float64)
    colors, depths, gts = [], [], []
    for i in range(n):
        x0, y0 = 6 + (2 * i) % max(1, w // 2), 6 + i % max(1, h // 3)
        inside = (xx >= x0) & (xx < x0 + w // 3) & (yy >= y0) & (yy < y0 + h // 3)
        gt = np.where(inside, 0.8, 0.2 + 0.3 * xx / w) * peak
        band = (xx >= x0 - 2) & (xx < x0 + w // 3 + 2) & (yy >= y0) & (yy < y0 + h // 3)  # inflated edge
        depth = np.where(band, 0.8 * peak, gt) + rng.normal(0, 0.01 * peak, gt.shape)
        rgb = np.where(inside[..., None], [200.0, 60.0, 40.0], 0.5 * texture + 60) + 0.3 * texture
        colors.append(np.clip(rgb, 0, 255).astype(np.uint8))
        depths.append(np.clip(np.rint(depth), 0, peak).astype(dtype))
        gts.append(np.clip(np.rint(gt), 0, peak).astype(dtype))
    return colors, depths, gts


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """An igde-tiny checkpoint (random weights: the tests check plumbing, not quality)."""
    import torch

    from igde_stream.models import create_model, save_checkpoint

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "igde-tiny.pt"
    save_checkpoint(path, create_model("igde-tiny"))
    return path


@pytest.fixture(scope="session")
def tiny(tiny_model):
    """(model, checkpoint path, ONNX path): ``tiny_model`` loaded, and exported with the same weights."""
    from igde_stream.export import export_onnx
    from igde_stream.models import load_checkpoint

    model = load_checkpoint(tiny_model)
    return model, tiny_model, export_onnx(model, tiny_model.with_suffix(".onnx"))


@pytest.fixture(scope="session")
def enhancer(tiny_model):
    """One Enhancer for the whole session (the model is built once, as a pipeline stage would)."""
    from igde_stream import Enhancer

    return Enhancer(model=tiny_model, backend="torch", batch=4)


@pytest.fixture
def make_clip(tmp_path) -> Callable[..., dict]:
    """``make_clip(n=8, size=(64, 48), bits=8, ...)`` -> {"color", "depth", "gt", "out", arrays...}."""

    def make(
        n: int = 8, size: tuple[int, int] = (64, 48), bits: int = 8, *, color_size: tuple[int, int] | None = None,
        depth_fmt: str | None = None, gt_frames: int | None = None, gt_size: tuple[int, int] | None = None,
        color_ext: str = ".mp4", rate: Fraction = NTSC, color_start: float = 0.0, name: str = "clip",
    ) -> dict:
        colors, depths, gts = scene(n, size, bits)
        if color_size is not None:
            colors = scene(n, color_size, 8)[0]
        d = tmp_path / name
        d.mkdir(exist_ok=True)
        fmt = depth_fmt or ("gray" if bits == 8 else "gray16le")
        clip = {
            "color": write_video(d / f"color{color_ext}", colors, fmt="rgb24", rate=rate, start=color_start,
                                 codec="libx264" if color_ext == ".mp4" else "ffv1"),
            "depth": write_video(d / "depth.mkv", depths, fmt=fmt, rate=rate),
            "colors": colors, "depths": depths, "gts": gts, "out": d / "out.mkv",
        }
        gt_list = gts[: gt_frames or n]
        if gt_size is not None:
            gt_list = scene(len(gt_list), gt_size, bits)[2]
        clip["gt"] = write_video(d / "gt.mkv", gt_list, fmt="gray" if bits == 8 else "gray16le", rate=rate)
        return clip

    return make


@pytest.fixture
def sigint_raises():
    """Python's own SIGINT handler (KeyboardInterrupt) for the test: a process started in the
    background by a non-interactive shell inherits SIGINT ignored, and a real Ctrl-C sent by a test
    would then be lost."""
    import signal

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def random_select_model(seed: int = 0, **overrides):
    """igde-tiny with a gated select head (radius 3 star, attend 2, half-resolution backbone) and
    seeded random weights of scale 0.5, in eval mode: scores and gates far from the identity start."""
    import torch

    from igde_stream.models import create_model

    model = create_model("igde-tiny", head="select", radius=3, candidates="star", attend=2, scale=2, **overrides)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval()


def select_inputs(n: int = 3, h: int = 29, w: int = 45, seed: int = 4):
    """(colour N x 3 x H x W in [0, 1], 16-bit depth N x 1 x H x W / 65535), seeded: by default the
    frames ``select_onnx``'s gate was opened on."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, h, w, generator=g), torch.randint(0, 65536, (n, 1, h, w), generator=g).float() / 65535


@pytest.fixture(scope="session")
def select_onnx(tmp_path_factory) -> dict:
    """One gated select model (``random_select_model(3)``, its gate bias shifted so that half the
    pixels of ``select_inputs()`` open, none near the threshold), its checkpoint, and its two ONNX
    exports (``check=False``): "gated" (the default graph, NonZero over the gated pixels) and "dense"
    (``dense_head=True``). Exported once for the session (each export takes tens of seconds); the
    tests only read the files, and must not change the model."""
    import torch

    from igde_stream.export import export_onnx
    from igde_stream.models import save_checkpoint

    model = random_select_model(3)
    color, depth = select_inputs()
    with torch.no_grad():
        g = model.select_logits(color, depth)[:, -1].flatten().sort().values
        k = g.numel() // 2
        model.head.conv.bias[-1] -= (g[k - 1] + g[k]) / 2
    d = tmp_path_factory.mktemp("select_onnx")
    save_checkpoint(d / "sel.pt", model)
    gated = export_onnx(model, d / "gated.onnx", check=False)
    sparse_after_gated = model.head.sparse
    dense = export_onnx(model, d / "dense.onnx", check=False, dense_head=True)
    return {"model": model, "checkpoint": d / "sel.pt", "gated": gated, "dense": dense,
            "sparse_after": (sparse_after_gated, model.head.sparse)}


def random_frames(n: int = 2, h: int = 18, w: int = 26, seed: int = 0):
    """(colour N x 3 x H x W in [0, 1], 8-bit depth N x 1 x H x W / 255), seeded."""
    import torch

    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, h, w, generator=g), torch.randint(0, 256, (n, 1, h, w), generator=g).float() / 255


def load_tool(name: str, module_name: str | None = None):
    """``tools/<name>.py`` imported as a module (the tools are scripts, not a package)."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(module_name or f"{name}_tool", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has_encoder(codec: str) -> bool:
    """Whether this FFmpeg build (PyAV's) has the video encoder ``codec``: tests of it skip otherwise."""
    import av

    try:
        av.codec.Codec(codec, "w")
    except Exception:
        return False
    return True


@pytest.fixture
def two_stream_nut(tmp_path):
    """An opened NUT file with two FFV1 video streams (two packets each)."""
    import av
    from test_pipes import nut_bytes

    path = tmp_path / "two.nut"
    frames = [np.full((8, 16), 9 * i, np.uint8) for i in range(2)]
    path.write_bytes(nut_bytes([("gray", frames), ("gray", frames)]))
    with av.open(str(path)) as c:
        yield c


def demux_then(container, count: int, exc: BaseException):
    """``count`` real packets of ``container``, then ``exc`` (what FFmpeg raises at the silence)."""
    it = container.demux()
    for _ in range(count):
        yield next(it)
    raise exc


@pytest.fixture
def counted(monkeypatch):
    """Frames each role's reader yielded (``VideoReader.frames``), by role."""
    from igde_stream.stream.reader import VideoReader

    seen: dict[str, int] = {}
    real = VideoReader.frames

    def frames(self, stop=None):
        for f in real(self, stop):
            seen[self.role] = seen.get(self.role, 0) + 1
            yield f

    monkeypatch.setattr(VideoReader, "frames", frames)
    return seen


@pytest.fixture
def decoded(monkeypatch):
    """Frames decoded per input path (``sources.StreamDecoder.decode``): what a seek saves."""
    from igde_stream.stream import sources

    seen: dict[str, int] = {}
    real = sources.StreamDecoder.decode

    def count(self, *args):
        out = real(self, *args)
        seen[self.path] = seen.get(self.path, 0) + len(out or [])
        return out

    monkeypatch.setattr(sources.StreamDecoder, "decode", count)
    return seen
