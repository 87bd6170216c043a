"""What a post-production user asks of the depth output: QuickTime (.mov) and the intermediates of
editing (ProRes, DNxHR). FFmpeg writes no FFV1 in .mov; PNG, TIFF and DPX there hold 8- to 16-bit gray
exactly (read back by FFmpeg's decoders, against the same run's FFV1 .mkv). ProRes and DNxHD code
10-bit YUV only, lossily (ProRes also always as limited range): refused in one line that names what
they code and where depth stays exact, before any frame is decoded."""

from __future__ import annotations

import av
import numpy as np
import pytest

from conftest import write_video
from igde_stream.cli import main

H, W, N = 32, 32, 3


def _clip(tmp_path, fmt):
    colors = [np.full((H, W, 3), 50 * (k + 1), np.uint8) for k in range(N)]
    depth = np.full((H, W), 200, np.uint16 if fmt != "gray" else np.uint8)
    depth[8:24, 8:24] = 60000 if fmt == "gray16le" else (1000 if fmt == "gray10le" else 90)
    if fmt == "gray10le":
        frames = [depth] * N
        path = tmp_path / "d.mkv"
        with av.open(str(path), "w") as c:
            s = c.add_stream("ffv1", rate=25)
            s.width, s.height, s.pix_fmt = W, H, "gray10le"
            for k, d in enumerate(frames):
                f = av.VideoFrame(W, H, "gray10le")
                f.planes[0].update(np.ascontiguousarray(np.pad(d, ((0, 0), (0, f.planes[0].line_size // 2 - W))))
                                   .astype("<u2").tobytes())
                f.pts = k
                for p in s.encode(f):
                    c.mux(p)
            for p in s.encode():
                c.mux(p)
    else:
        path = write_video(tmp_path / "d.mkv", [depth] * N, fmt=fmt)
    return write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"), path


def _luma(path):
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray() for f in c.decode(video=0)])


def _run(args, model, capsys):
    code = main([*map(str, args), "--model", str(model), "--backend", "torch", "-q"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["gray", "gray10le", "gray16le"])
@pytest.mark.parametrize("codec", ["png", "tiff", "dpx"])
def test_lossless_depth_in_mov(tmp_path, tiny_model, capsys, codec, fmt):
    color, depth = _clip(tmp_path, fmt)
    ref, out = tmp_path / "ref.mkv", tmp_path / f"out_{codec}.mov"
    assert _run([color, depth, "-o", ref], tiny_model, capsys)[0] == 0
    code, err = _run([color, depth, "-o", out, "--codec", codec], tiny_model, capsys)
    assert code == 0 and "lossy" not in err
    assert np.array_equal(_luma(out), _luma(ref))


@pytest.mark.parametrize("codec, suffix", [("prores_ks", ".mov"), ("prores_ks", ".mkv"), ("dnxhd", ".mxf"),
                                           ("dnxhd", ".mov")])
@pytest.mark.parametrize("fmt", ["gray", "gray10le", "gray16le"])
def test_prores_and_dnxhr_depth_are_refused_with_what_works(tmp_path, tiny_model, capsys, codec, suffix, fmt):
    color, depth = _clip(tmp_path, fmt)
    out = tmp_path / f"out{suffix}"
    code, err = _run([color, depth, "-o", out, "--codec", codec], tiny_model, capsys)
    assert code == 2 and err.count("\n") == 1, err  # one line: no "lossy codec" warning before the refusal
    assert f"--codec {codec}: this encoder cannot store" in err and "png / tiff / dpx (.mov)" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.mkv", "d.mkv"]
