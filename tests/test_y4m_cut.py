"""YUV4MPEG depth cut in the middle of a frame (``ffmpeg ... -f yuv4mpegpipe -`` whose writer was
stopped, a ``.y4m`` copied short): FFmpeg's demuxer reads the short frame as the end of the stream
and drops it without an error, so the run went on one frame short, exit 0 (beside a longer colour
with ``--pair nearest``, or as ground truth). Now one line naming the frame and the bytes left
over, exit 2, nothing written. The stream is written here by hand (its header, ``FRAME`` lines and
8-bit samples), so the byte counts are known independently."""

from __future__ import annotations

import io
import sys
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main

W, H, N = 40, 24, 5
HEADER = f"YUV4MPEG2 W{W} H{H} F30:1 Ip A1:1 Cmono\n".encode()


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    colors, depths, _ = scene(N, (W, H), bits=8)
    folder = tmp_path_factory.mktemp("y4m")
    color = write_video(folder / "color.mkv", colors, fmt="rgb24", codec="ffv1", rate=Fraction(30))
    y4m = HEADER + b"".join(b"FRAME\n" + d.tobytes() for d in depths)
    return {"colors": colors, "depths": depths, "color": color, "y4m": y4m}


def run(monkeypatch, data: bytes, args: list[str]) -> int:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return main(args)


def test_whole_y4m_on_stdin_is_enhanced_as_the_arrays(clip, tiny_model, enhancer, tmp_path, monkeypatch):
    out = tmp_path / "out.mkv"
    assert run(monkeypatch, clip["y4m"], [str(clip["color"]), "-", "-o", str(out), "--model", str(tiny_model),
                                          "--backend", "torch", "-q"]) == 0
    with av.open(str(out)) as c:
        got = np.stack([f.to_ndarray() for f in c.decode(video=0)])
    np.testing.assert_array_equal(got, enhancer.enhance(np.stack(clip["colors"]), np.stack(clip["depths"])))


@pytest.mark.parametrize("where", ["stdin", "file"])
def test_y4m_cut_inside_a_frame_is_one_line(clip, tiny_model, tmp_path, monkeypatch, capsys, where):
    whole = len(HEADER) + 3 * (6 + W * H)  # header and frames 0-2
    data = clip["y4m"][: whole + 6 + 700]  # frame 3's FRAME line and 700 of its 960 bytes
    out = tmp_path / "out" / "o.mkv"
    out.parent.mkdir()
    name = "-"
    if where == "file":
        name = str(tmp_path / "cut.y4m")
        (tmp_path / "cut.y4m").write_bytes(data)
    rc = run(monkeypatch, data if where == "stdin" else b"", [str(clip["color"]), name, "-o", str(out), "--model",
                                                              str(tiny_model), "--backend", "torch", "-q",
                                                              "--pair", "nearest"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert err == (f"igde-stream: error: {name}: the stream ends inside frame 3 (after frame 2 at 0.067 s): 706 bytes "
                   "after the last whole frame (cut in the middle of a frame)")
    assert list(out.parent.iterdir()) == []
