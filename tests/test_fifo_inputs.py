"""Named pipes (mkfifo) and process substitutions as inputs are read once, as stdin is (``fifos``).
Before, every one was refused in one line ("give one piped input as - (stdin)"). Checked here: colour,
depth and ground truth from three pipes give the file run's enhanced depth and report, with a writer
that starts after the run; one writer of two pipes that opens them in the other order than the run
reads them, and one that sends one stream far ahead of the other (as one ffmpeg with two outputs
can); two ffmpeg processes' pipes as /dev/fd/N (what <(...) gives); what a read-once input cannot do
(the ground truth reading the depth's pipe, a float range from the first frame, colour and depth from
one stream), said in one line; a raw .yuv pipe with --start; an interrupt while a pipe sends nothing
leaves no output."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time

import av
import numpy as np
import pytest

from conftest import make_fifo, scene, write_video
from igde_stream.cli import main
from igde_stream.stream import VideoReader
from igde_stream.stream.fifos import opened

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture
def clip(tmp_path):
    colors, depths, gts = scene(4)
    return {"color": write_video(tmp_path / "c.nut", colors, fmt="rgb24", codec="ffv1"),
            "depth": write_video(tmp_path / "d.nut", depths, fmt="gray"),
            "gt": write_video(tmp_path / "g.nut", gts, fmt="gray")}


def _feed(pipe, source, delay=0.0):
    """A writer thread: ``source`` (bytes, or a file's) into ``pipe`` (opened after ``delay`` s); a
    reader that goes away ends it."""
    def run():
        time.sleep(delay)
        try:
            with open(pipe, "wb") as f:
                f.write(source if isinstance(source, bytes) else source.read_bytes())
        except BrokenPipeError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def _frames(path):
    """Each frame's planes, as decoded."""
    with av.open(str(path)) as c:
        return [np.concatenate([np.frombuffer(bytes(p), np.uint8) for p in f.planes]) for f in c.decode(video=0)]


def _run(args, model):
    return main([*args, "--model", str(model), "--backend", "torch", "-q", "-y"])


def test_three_pipes_give_the_file_run(clip, tmp_path, tiny_model):
    """Colour, depth and ground truth each from a pipe (the depth's writer starts 0.3 s after the run):
    the enhanced depth is the file run's, bit for bit, and so is the report (PSNR per frame)."""
    assert _run([str(clip["color"]), str(clip["depth"]), "--gt", str(clip["gt"]), "-o", str(tmp_path / "f.mkv"),
                 "--report", str(tmp_path / "f.csv")], tiny_model) == 0
    pipes = {role: make_fifo(tmp_path, role + ".pipe") for role in clip}
    writers = [_feed(pipes[role], clip[role], 0.3 if role == "depth" else 0.0) for role in clip]
    assert _run([pipes["color"], pipes["depth"], "--gt", pipes["gt"], "-o", str(tmp_path / "p.mkv"),
                 "--report", str(tmp_path / "p.csv")], tiny_model) == 0
    for w in writers:
        w.join(5)
    want, got = _frames(tmp_path / "f.mkv"), _frames(tmp_path / "p.mkv")
    assert len(want) == len(got) == 4 and all(np.array_equal(a, b) for a, b in zip(want, got))
    assert (tmp_path / "p.csv").read_text() == (tmp_path / "f.csv").read_text()


def test_one_writer_opens_the_colour_pipe_then_the_depth_pipe(clip, tmp_path, tiny_model):
    """As ``ffmpeg -i C -i D -map 0:v ... c.pipe -map 1:v ... d.pipe`` does: its open of the colour
    pipe waits for a reader, while the run opens (and probes) the depth first. Every pipe of the run
    is opened before any is probed: the run ends, with the file run's depth."""
    assert _run([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "f.mkv")], tiny_model) == 0
    cp, dp = make_fifo(tmp_path, "c.pipe"), make_fifo(tmp_path, "d.pipe")
    _one_writer(cp, dp, clip["color"], clip["depth"])
    rc = []
    run = threading.Thread(target=lambda: rc.append(_run([cp, dp, "-o", str(tmp_path / "p.mkv")], tiny_model)),
                           daemon=True)
    run.start()
    run.join(4)
    assert rc == [0], "the run and the writer wait for each other"
    want, got = _frames(tmp_path / "f.mkv"), _frames(tmp_path / "p.mkv")
    assert len(want) == len(got) == 4 and all(np.array_equal(a, b) for a, b in zip(want, got))


def _one_writer(cp, dp, color, depth):
    """As ``ffmpeg -i C -i D -map 0:v ... c.pipe -map 1:v ... d.pipe``: the colour pipe opened first."""
    def writer():
        with open(cp, "wb") as c, open(dp, "wb") as d:
            for chunk in range(0, 1 << 20, 4096):  # interleaved, as a muxer of two outputs writes
                c.write(color.read_bytes()[chunk:chunk + 4096])
                d.write(depth.read_bytes()[chunk:chunk + 4096])
    threading.Thread(target=writer, daemon=True).start()


def test_views_render_opens_both_pipes_first(clip, tmp_path):
    """views render opens the depth first too: the views from one writer's two pipes are the files'."""
    from igde_stream import views_cli

    assert views_cli.main(["render", str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "f.mkv"), "-q"]) == 0
    cp, dp = make_fifo(tmp_path, "c.pipe"), make_fifo(tmp_path, "d.pipe")
    _one_writer(cp, dp, clip["color"], clip["depth"])
    rc = []
    run = threading.Thread(target=lambda: rc.append(views_cli.main(["render", cp, dp, "-o", str(tmp_path / "p.mkv"),
                                                                    "-q"])), daemon=True)
    run.start()
    run.join(4)
    assert rc == [0], "the run and the writer wait for each other"
    want, got = _frames(tmp_path / "f.mkv"), _frames(tmp_path / "p.mkv")
    assert len(want) == len(got) == 4 and all(np.array_equal(a, b) for a, b in zip(want, got))


def test_view_quality_opens_its_pipes_first(clip, tmp_path):
    """views quality opens the ground truth, then the depth, then the colour; one writer opening the
    colour's pipe first: the scores are the files'."""
    from igde_stream.stream.views import view_quality_files

    want, _ = view_quality_files(clip["color"], clip["gt"], {"d": clip["depth"]})
    pipes = {role: make_fifo(tmp_path, role + ".pipe") for role in ("color", "depth", "gt")}

    def writer():
        with open(pipes["color"], "wb") as c, open(pipes["depth"], "wb") as d, open(pipes["gt"], "wb") as g:
            for f, role in ((c, "color"), (d, "depth"), (g, "gt")):
                f.write(clip[role].read_bytes())  # each small enough for its pipe's buffer
    threading.Thread(target=writer, daemon=True).start()
    got = []
    run = threading.Thread(target=lambda: got.append(view_quality_files(pipes["color"], pipes["gt"],
                                                                        {"d": pipes["depth"]})[0]), daemon=True)
    run.start()
    run.join(4)
    assert got, "the run and the writer wait for each other"
    assert {k: v for k, v in got[0].items() if k not in ("color", "gt", "depth_files")} == \
        {k: v for k, v in want.items() if k not in ("color", "gt", "depth_files")}


def test_one_writer_of_two_pipes_far_ahead_on_one(tmp_path):
    """One writer opens the colour pipe, then the depth pipe (the run reads depth first: its open
    would have waited for a writer that waits in the colour pipe's open), then sends all the colour
    (2.7 MB: more than a pipe holds) before any depth, which the depth's probe waits for: the colour
    is held while the depth is probed. The frames are the files'."""
    rng = np.random.default_rng(1)
    colors = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(3)]
    color = write_video(tmp_path / "c.nut", colors, fmt="rgb24", codec="ffv1")
    depth = write_video(tmp_path / "d.nut", scene(3)[1], fmt="gray")
    assert color.stat().st_size > 2 << 20
    cp, dp = make_fifo(tmp_path, "c.pipe"), make_fifo(tmp_path, "d.pipe")

    def writer():
        with open(cp, "wb") as c, open(dp, "wb") as d:
            c.write(color.read_bytes())
            c.close()
            d.write(depth.read_bytes())
    threading.Thread(target=writer, daemon=True).start()
    got = {}

    def read():
        with opened(cp, dp), VideoReader(dp, "depth") as d, VideoReader(cp, "color") as c:
            got["depth"] = [f.data for f in d.frames()]
            got["color"] = [f.data for f in c.frames()]
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(4)
    assert not reader.is_alive(), "the readers wait for ever"
    with VideoReader(str(depth), "depth") as d, VideoReader(str(color), "color") as c:
        want = {"depth": [f.data for f in d.frames()], "color": [f.data for f in c.frames()]}
    for role in want:
        assert len(got[role]) == 3 and all(np.array_equal(a, b) for a, b in zip(want[role], got[role])), role


def test_the_ground_truth_cannot_read_the_depth_pipe(clip, tmp_path, tiny_model, capsys):
    pipe = make_fifo(tmp_path, "d.pipe")
    _feed(pipe, clip["depth"])
    assert _run([str(clip["color"]), pipe, "--gt", pipe, "-o", str(tmp_path / "o.mkv")], tiny_model) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"igde-stream: error: {pipe}: a named pipe is read once: the ground truth (or a second reader of " \
        "the same pipe) cannot come from the pipe another input reads", err
    assert not (tmp_path / "o.mkv").exists()


def test_an_interrupt_while_a_pipe_sends_nothing_leaves_no_output(clip, tmp_path, tiny_model):
    """No writer ever comes: Ctrl-C ends the run (130) at once, nothing written."""
    pipe = make_fifo(tmp_path, "d.pipe")
    out = tmp_path / "out"
    out.mkdir()
    env = dict(os.environ, PYTHONPATH=ROOT)
    proc = subprocess.Popen([sys.executable, "-m", "igde_stream", str(clip["color"]), pipe, "-o", str(out / "o.mkv"),
                             "--model", str(tiny_model), "--backend", "torch", "-q"], env=env,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(1.5)  # inside the depth's open, waiting for data
    proc.send_signal(2)
    _, err = proc.communicate(timeout=5)
    assert proc.returncode == 130 and "interrupted" in err, err
    assert os.listdir(out) == []


@pytest.mark.skipif(shutil.which("ffmpeg") is None or not os.path.exists("/dev/fd"), reason="needs the ffmpeg command line")
def test_process_substitutions_of_two_ffmpeg(clip, tmp_path, tiny_model):
    """What bash's <(ffmpeg ...) gives: /dev/fd/N, the read end of a pipe from an ffmpeg process, one
    for the colour and one for the depth; the enhanced depth is the file run's."""
    assert _run([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "f.mkv")], tiny_model) == 0
    procs = [subprocess.Popen(["ffmpeg", "-v", "error", "-i", str(clip[role]), "-c", "copy", "-f", "nut", "-"],
                              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL) for role in ("color", "depth")]
    try:
        fds = [f"/dev/fd/{p.stdout.fileno()}" for p in procs]
        assert _run([*fds, "-o", str(tmp_path / "p.mkv")], tiny_model) == 0
    finally:
        for p in procs:
            p.stdout.close()
            p.wait(5)
    want, got = _frames(tmp_path / "f.mkv"), _frames(tmp_path / "p.mkv")
    assert len(want) == len(got) == 4 and all(np.array_equal(a, b) for a, b in zip(want, got))


def test_what_a_pipe_cannot_do_is_said_as_for_stdin(clip, tmp_path, tiny_model, capsys):
    """A float range from the first frame (a second reading), colour and depth from a pipe of one
    stream, and a pipe that sends no container: each one line, in the pipe's words."""
    from types import SimpleNamespace

    from igde_stream.errors import InputError, cli_message
    from igde_stream.stream.floatdepth import prepare
    from igde_stream.stream.urls import read_once

    pipe = make_fifo(tmp_path, "d.pipe")
    assert read_once(pipe) and not read_once(str(clip["depth"]))
    depth = SimpleNamespace(info=SimpleNamespace(pix_fmt="grayf32le"), path=pipe)
    with pytest.raises(InputError, match=r"float depth from a named pipe needs float_range=\(LO, HI\)") as info:
        prepare(depth, None, None, "near-high", None, None)
    assert "needs --float-range LO:HI" in cli_message(info.value)
    _feed(pipe, clip["depth"])
    assert _run([pipe, pipe, "-o", str(tmp_path / "o.mkv")], tiny_model) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"igde-stream: error: {pipe}: colour and depth both read the named pipe, which holds one video " \
        "stream (gray): send one holding both video streams, give the depth as a second input (PIPE DEPTH -o OUT), " \
        "or a packed RGB-D stream with --packed rgbd", err
    junk = tmp_path / "junk.bin"
    junk.write_bytes(bytes(range(256)) * 64)
    _feed(pipe, junk)
    assert _run([str(clip["color"]), pipe, "-o", str(tmp_path / "o.mkv")], tiny_model) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"igde-stream: error: {pipe}: no video container in the pipe (or a damaged one)"), err
    assert not (tmp_path / "o.mkv").exists()


def test_raw_depth_from_a_pipe_and_a_start_time(clip, tmp_path, tiny_model):
    """A .yuv pipe holds raw frames (--size, --pix-fmt), and --start, which seeks in a file, reads a
    pipe from its start: the file run's frames, from the second on."""
    frames = _frames(clip["depth"])
    raw = tmp_path / "d.yuv"
    raw.write_bytes(b"".join(f.tobytes() for f in frames))
    opts = ["--size", "64x48", "--pix-fmt", "gray", "--fps", "30000/1001", "--start", "0.03"]
    assert _run([str(clip["color"]), str(raw), "-o", str(tmp_path / "f.mkv"), *opts], tiny_model) == 0
    pipe = make_fifo(tmp_path, "p.yuv")
    _feed(pipe, raw)
    assert _run([str(clip["color"]), pipe, "-o", str(tmp_path / "p.mkv"), *opts], tiny_model) == 0
    want, got = _frames(tmp_path / "f.mkv"), _frames(tmp_path / "p.mkv")
    assert len(want) == len(got) == 3 and all(np.array_equal(a, b) for a, b in zip(want, got))


@pytest.mark.parametrize("missing", [(os, "O_NONBLOCK"), ("select", "poll")])
def test_a_system_without_nonblocking_opens_or_poll_refuses_a_pipe_in_one_line(tmp_path, monkeypatch, missing):
    """Windows has neither os.O_NONBLOCK nor select.poll, and its os.stat calls a named pipe a FIFO:
    such a pipe is an InputError naming it, not an AttributeError from deep in the reader."""
    import select

    from igde_stream.errors import InputError
    from igde_stream.stream.fifos import open_pipe

    module, name = missing
    monkeypatch.delattr(select if module == "select" else module, name)
    pipe = make_fifo(tmp_path, "d.nut")
    with pytest.raises(InputError, match="named pipe") as err:
        with opened(pipe):
            pass
    assert pipe in str(err.value)
    with pytest.raises(InputError, match="named pipe"):
        open_pipe(pipe, "depth", lambda reader: None)


def test_a_pipe_whose_writer_is_late_is_said_to_be_waited_for(tmp_path, monkeypatch, caplog):
    """A pipe with no writer waits for one (a writer may start after the run), with no word before:
    a run given a pipe nobody writes looked hung. After NOTE_S seconds with nothing, one warning."""
    import logging

    from igde_stream.stream import fifos

    monkeypatch.setattr(fifos, "NOTE_S", 0.3)
    pipe = make_fifo(tmp_path, "late.nut")

    def write():
        time.sleep(0.8)
        with open(pipe, "wb") as f:
            f.write(b"abc")
    t = threading.Thread(target=write, daemon=True)
    t.start()
    reader = fifos.PipeReader(fifos._open_fd(pipe), pipe)
    try:
        with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
            assert reader.read(10) == b"abc"
            t.join()
            assert reader.read(10) == b""  # the writer has gone: end of stream
    finally:
        reader.close()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [f"{pipe}: nothing has come from this named pipe in 0.3 s: waiting for its writer (Ctrl-C stops)"]


@pytest.mark.parametrize("suffix", [".npy", ".npz"])
def test_a_numpy_array_from_a_pipe_is_refused_saying_so(clip, tmp_path, tiny_model, capsys, suffix):
    """A pipe named depth.npy was handed to FFmpeg ("no video container in the pipe"); arrays are
    memory-mapped files (an .npz a zip, read through its index at the end): one line says that."""
    import io

    pipe = make_fifo(tmp_path, "depth" + suffix)
    buf = io.BytesIO()
    np.save(buf, np.zeros((2, 48, 64), np.uint16))
    t = _feed(pipe, buf.getvalue())
    try:
        code = main([str(clip["color"]), pipe, "-o", str(tmp_path / "o.mkv"), "--model", str(tiny_model),
                     "--backend", "torch"])
    finally:
        fd = os.open(pipe, os.O_RDONLY | os.O_NONBLOCK)  # a writer still waiting to open finds a reader
        t.join(5)
        os.close(fd)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and not (tmp_path / "o.mkv").exists()
    assert "a NumPy array is read from a file" in err[0] and "not from a named pipe" in err[0]
