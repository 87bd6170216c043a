"""Packed RGB-D decoded once: both halves from one decode, so a packed stream can come from stdin.

The packed frames are built by hand (colour | depth as three equal channels, ``np.concatenate``) and
stored losslessly (FFV1). Expected halves are derived apart from the reader: the stream decoded by
PyAV and split with NumPy, or the arrays it was built from (through ``Enhancer.enhance`` for a whole
run). How many frames were decoded is counted on ``sources.StreamDecoder.decode``.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import threading

import av
import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.errors import CorruptInputError, InputError
from igde_stream.stream import VideoReader, enhance_file
from igde_stream.stream.sources import InputOptions, StreamDecoder
from test_pipes import RATE, ROOT, nut_bytes, run_cli

AXES = {"rgbd": 1, "rgbd-tb": 0}  # written out here, not taken from the package


def _packed_frames(colors, depths, packed="rgbd", near="white"):
    return [np.concatenate([c, np.repeat((d if near == "white" else 255 - d)[..., None], 3, axis=2)],
                           axis=AXES[packed]) for c, d in zip(colors, depths)]


def _split_by_hand(data: bytes, packed: str, near: str):
    """The packed stream decoded by PyAV as RGB and cut in two with NumPy: (colours, depths, pts)."""
    with av.open(io.BytesIO(data)) as c:
        decoded = [(f.to_ndarray(format="rgb24"), f.pts) for f in c.decode(video=0)]
    colors, depths = [], []
    for whole, _ in decoded:
        first, second = np.split(whole, 2, axis=AXES[packed])
        colors.append(first)
        depths.append(second[..., 1] if near == "white" else 255 - second[..., 1])
    return colors, depths, [p for _, p in decoded]


@pytest.fixture
def stdin_bytes(monkeypatch):
    """``feed(data)``: stdin holds ``data`` (a container, as a pipe would bring it)."""
    def feed(data: bytes) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    return feed


@pytest.fixture
def decoded_frames(monkeypatch):
    """Frames decoded so far by every ``StreamDecoder``, by input path."""
    counts: dict[str, int] = {}
    real = StreamDecoder.decode

    def counting(self, count, t):
        frames = real(self, count, t)
        counts[self.path] = counts.get(self.path, 0) + len(frames or [])
        return frames

    monkeypatch.setattr(StreamDecoder, "decode", counting)
    return counts


def _open_both(path, packed="rgbd", near="white"):
    opts = InputOptions(packed=packed, depth_near=near)
    return VideoReader(path, "color", source=opts), VideoReader(path, "depth", source=opts)


@pytest.mark.parametrize("packed, near", [("rgbd", "white"), ("rgbd-tb", "black")])
def test_stdin_halves_are_the_stream_split_by_hand(stdin_bytes, decoded_frames, packed, near):
    colors, depths, _ = scene(5, (64, 48))
    data = nut_bytes([("rgb24", _packed_frames(colors, depths, packed, near))])
    want_c, want_d, want_pts = _split_by_hand(data, packed, near)
    stdin_bytes(data)
    c, d = _open_both("-", packed, near)
    with c, d:
        assert (c.info.width, c.info.height) == (d.info.width, d.info.height) == (64, 48)
        got = list(zip(c.frames(), d.frames()))  # the halves read in step, as pairing reads them
    assert len(got) == len(want_c) == 5
    for (gc, gd), wc, wd, pts, color, depth in zip(got, want_c, want_d, want_pts, colors, depths):
        np.testing.assert_array_equal(gc.data, wc)
        np.testing.assert_array_equal(gd.data, wd)
        np.testing.assert_array_equal(gd.data, depth)  # and the arrays the stream was built from
        np.testing.assert_array_equal(gc.data, color)
        assert gc.pts == gd.pts == pts
    assert decoded_frames == {"-": 5}  # one decode for both halves


def test_one_half_read_to_the_end_before_the_other(tmp_path, decoded_frames):
    """The depth reader keeps what the colour reader decoded for it; a file is decoded once too."""
    colors, depths, _ = scene(4, (64, 48))
    path = write_video(tmp_path / "p.mkv", _packed_frames(colors, depths), fmt="rgb24", codec="ffv1")
    want_c, want_d, _ = _split_by_hand(path.read_bytes(), "rgbd", "white")
    c, d = _open_both(str(path))
    with c, d:
        got_c = [f.data for f in c.frames()]
        got_d = [f.data for f in d.frames()]
    assert len(got_c) == len(got_d) == 4
    for a, b, wa, wb in zip(got_c, got_d, want_c, want_d):
        np.testing.assert_array_equal(a, wa)
        np.testing.assert_array_equal(b, wb)
    assert decoded_frames == {str(path): 4}


@pytest.mark.parametrize("first", ["color", "depth"])
def test_closing_one_half_leaves_the_other_reading(tmp_path, first):
    """The input stays open, and its decoder undrained, until the last half's reader closes; closing a
    half twice counts it off once (a second count would close the input under the other half), and
    nothing stays registered for sharing afterwards."""
    from igde_stream.stream import packed

    colors, depths, _ = scene(5, (64, 48))
    path = write_video(tmp_path / "p.mkv", _packed_frames(colors, depths), fmt="rgb24", codec="ffv1")
    readers = dict(zip(("color", "depth"), _open_both(str(path))))
    its = {role: r.frames() for role, r in readers.items()}
    got = {role: [next(it).data, next(it).data] for role, it in its.items()}
    gone = readers.pop(first)
    gone.close()
    gone.close()
    (role, last), = readers.items()
    with last:
        got[role] += [f.data for f in its[role]]
    assert len(got[role]) == 5
    assert not packed._shares
    for g, want in zip(got[role], colors if role == "color" else depths):
        np.testing.assert_array_equal(g, want)


def test_a_whole_run_decodes_the_packed_file_once(tmp_path, enhancer, decoded_frames):
    colors, depths, _ = scene(5, (64, 48))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    packed = write_video(tmp_path / "p.mkv", _packed_frames(colors, depths), fmt="rgb24", codec="ffv1")
    enhance_file(packed, packed, tmp_path / "out.mkv", enhancer=enhancer, inputs=InputOptions(packed="rgbd"))
    enhance_file(c, d, tmp_path / "ref.mkv", enhancer=enhancer)
    assert decoded_frames == {str(packed): 5, str(c): 5, str(d): 5}
    with av.open(str(tmp_path / "out.mkv")) as a, av.open(str(tmp_path / "ref.mkv")) as b:
        for x, y in zip(a.decode(video=0), b.decode(video=0), strict=True):
            assert x.pts == y.pts
            np.testing.assert_array_equal(x.to_ndarray(), y.to_ndarray())


def test_a_late_reader_or_one_of_another_thread_decodes_on_its_own(tmp_path, decoded_frames):
    """A file: a reader opened after the other half began reading, or by another thread, opens
    and decodes the file again, and still gets every frame."""
    colors, depths, _ = scene(4, (64, 48))
    path = str(write_video(tmp_path / "p.mkv", _packed_frames(colors, depths), fmt="rgb24", codec="ffv1"))
    opts = InputOptions(packed="rgbd")
    with VideoReader(path, "color", source=opts) as c:
        it = c.frames()
        first = [next(it).data, next(it).data]
        with VideoReader(path, "depth", source=opts) as d:  # too late to share: its own decode
            got_d = [f.data for f in d.frames()]
        got_c = first + [f.data for f in it]
    assert decoded_frames == {path: 8}
    other: dict[str, list] = {}

    def read_depth() -> None:
        with VideoReader(path, "depth", source=opts) as d:
            other["d"] = [f.data for f in d.frames()]

    with VideoReader(path, "color", source=opts) as c:
        t = threading.Thread(target=read_depth)
        t.start()
        t.join()
        assert len([f for f in c.frames()]) == 4
    assert decoded_frames == {path: 16}
    for got in (got_d, other["d"]):
        assert len(got) == 4
        for g, want in zip(got, depths):
            np.testing.assert_array_equal(g, want)
    for g, want in zip(got_c, colors):
        np.testing.assert_array_equal(g, want)


def test_stdin_refuses_a_late_reader(stdin_bytes):
    colors, depths, _ = scene(3, (64, 48))
    stdin_bytes(nut_bytes([("rgb24", _packed_frames(colors, depths))]))
    opts = InputOptions(packed="rgbd")
    with VideoReader("-", "color", source=opts) as c:
        next(c.frames())
        with pytest.raises(InputError, match="stdin holds one packed stream") as e:
            VideoReader("-", "depth", source=opts)
        assert "\n" not in str(e.value)


def test_damage_reaches_both_halves(stdin_bytes):
    """A damaged FFV1 slice: the half that decodes it fails, and the other half fails there too
    instead of ending early as if the stream were shorter."""
    colors, depths, _ = scene(8, (64, 48))
    data = bytearray(nut_bytes([("rgb24", _packed_frames(colors, depths))]))
    mid = len(data) // 2
    data[mid: mid + 16] = bytes(b ^ 0x5A for b in data[mid: mid + 16])
    stdin_bytes(bytes(data))
    c, d = _open_both("-")
    with c, d:
        cs, ds = c.frames(), d.frames()
        with pytest.raises(CorruptInputError, match="damaged data|cannot decode"):
            while True:
                next(cs)
        with pytest.raises(CorruptInputError, match="damaged data|cannot decode"):
            for _ in ds:
                pass


def test_views_render_takes_packed_stdin(tmp_path, stdin_bytes, decoded_frames):
    from igde_stream import views_cli

    colors, depths, _ = scene(3, (64, 48))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE)  # the rate nut_bytes writes
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=RATE)
    stdin_bytes(nut_bytes([("rgb24", _packed_frames(colors, depths, "rgbd-tb"))]))
    a, b = tmp_path / "a.mkv", tmp_path / "b.mkv"
    assert views_cli.main(["render", "-", "--packed", "rgbd-tb", "-o", str(a), "--quiet"]) == 0
    assert views_cli.main(["render", str(c), str(d), "-o", str(b), "--quiet"]) == 0
    assert decoded_frames["-"] == 3
    with av.open(str(a)) as x, av.open(str(b)) as y:
        for f, g in zip(x.decode(video=0), y.decode(video=0), strict=True):
            assert f.pts == g.pts
            np.testing.assert_array_equal(f.to_ndarray(format="rgb24"), g.to_ndarray(format="rgb24"))


# ---- the command, with real pipes ------------------------------------------------------------------

def _model(tiny_model):
    return ["--model", str(tiny_model), "--backend", "torch"]


@pytest.mark.parametrize("packed, near, out", [("rgbd", "white", "out.mkv"), ("rgbd-tb", "black", "-")])
def test_packed_stdin_run_equals_the_model_on_the_arrays(tmp_path, tiny_model, enhancer, packed, near, out):
    """``cat packed.nut | igde-stream - --packed P -o OUT`` (or ``-o -``): the enhanced depth is the
    model's output on the colour and depth the stream was built from."""
    colors, depths, _ = scene(4, (64, 48))
    data = nut_bytes([("rgb24", _packed_frames(colors, depths, packed, near))])
    r = run_cli(["-", "--packed", packed, "--depth-near", near, "-o", out, "-q", *_model(tiny_model)], data, tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    if out == "-":
        assert r.stderr == b"" and list(tmp_path.iterdir()) == []
        source = io.BytesIO(r.stdout)
    else:
        assert r.stdout == b"" and [p.name for p in tmp_path.iterdir()] == [out]
        source = str(tmp_path / out)
    with av.open(source) as f:
        got = [(x.to_ndarray(), x.time) for x in f.decode(video=0)]
    assert [t for _, t in got] == pytest.approx([0, 0.04, 0.08, 0.12])  # frame i at i / 25 s, as fed
    np.testing.assert_array_equal(np.stack([g for g, _ in got]), enhancer.enhance(np.stack(colors), np.stack(depths)))


@pytest.mark.parametrize("cut", ["empty", "half"])
def test_a_packed_pipe_that_ends_early_is_one_line_and_leaves_nothing(tmp_path, tiny_model, cut):
    colors, depths, _ = scene(6, (64, 48))
    data = nut_bytes([("rgb24", _packed_frames(colors, depths))])
    data = b"" if cut == "empty" else data[: len(data) // 2]
    r = run_cli(["-", "--packed", "rgbd", "-o", "out.mkv", "-q", *_model(tiny_model)], data, tmp_path)
    err = r.stderr.decode().strip()
    assert r.returncode == 2 and len(err.splitlines()) == 1 and err.startswith("igde-stream: error: -: "), err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="the ffmpeg binary is not installed (apt-get install ffmpeg)")
def test_ffmpeg_to_packed_igde_stream_to_ffmpeg_is_frame_exact(tmp_path, tiny_model, enhancer):
    """``ffmpeg -i packed.mkv -f nut - | igde-stream - --packed rgbd -o - | ffmpeg -f nut -i - out.mkv``."""
    import torch

    colors, depths, _ = scene(4, (64, 48))
    src = write_video(tmp_path / "packed.mkv", _packed_frames(colors, depths), fmt="rgb24", codec="ffv1")
    out = tmp_path / "out.mkv"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": str(torch.get_num_threads())}  # as test_pipes: the in-process model's threads
    shell = (f"ffmpeg -v error -i {src} -c:v ffv1 -f nut - | "
             f"{sys.executable} -m igde_stream - --packed rgbd -o - -q {' '.join(_model(tiny_model))} | "
             f"ffmpeg -v error -f nut -i - -c:v copy {out}")
    r = subprocess.run(["bash", "-o", "pipefail", "-c", shell], capture_output=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr.decode()
    with av.open(str(out)) as f:
        got = np.stack([x.to_ndarray() for x in f.decode(video=0)])
    np.testing.assert_array_equal(got, enhancer.enhance(np.stack(colors), np.stack(depths)))
