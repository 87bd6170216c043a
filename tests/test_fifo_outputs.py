"""A named pipe (mkfifo) given as an output is refused (each output is written under a temporary name
and renamed into place, which would replace the pipe itself), in one line that says what to do. Only
the enhanced depth can stream (``-o -``, redirected into the pipe); views, RGB-D, reports and
pictures are files. Before, every output's refusal said "write to stdout with -o - and redirect
that", which ``views render -o -``, ``--rgbd-out -`` and ``--report -`` then refuse in turn."""

from __future__ import annotations

import os

import pytest

from conftest import make_fifo, scene, write_video
from igde_stream import views_cli
from igde_stream.cli import main

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need os.mkfifo (POSIX)")


@pytest.fixture
def clip(tmp_path):
    colors, depths, gts = scene(2, (32, 24))
    return {"color": write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray"),
            "gt": write_video(tmp_path / "g.mkv", gts, fmt="gray")}


def _line(capsys):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_depth_output_named_pipe_points_to_stdout(clip, tmp_path, capsys):
    fifo = make_fifo(tmp_path, "depth.pipe")
    assert main([str(clip["color"]), str(clip["depth"]), "-o", fifo, "-y", "-q"]) == 2
    err = _line(capsys)
    assert err == f"igde-stream: error: {fifo}: is a device or a named pipe, not a file: write to stdout with -o - " \
                  "and redirect that"


@pytest.mark.parametrize("option,name", [("--rgbd-out", "rgbd.mkv"), ("--views-out", "views.mkv"),
                                         ("--report", "r.json"), ("--preview", "p.png")])
def test_other_outputs_as_named_pipes_are_not_pointed_to_stdout(clip, tiny_model, tmp_path, capsys, option, name):
    fifo = make_fifo(tmp_path, name)
    gt = ["--gt", str(clip["gt"])] if option == "--report" else []
    rc = main([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "o.mkv"), option, fifo, *gt, "-y", "-q",
               "--model", str(tiny_model), "--backend", "torch"])
    err = _line(capsys)
    assert rc == 2 and err.startswith(f"igde-stream: error: {fifo}: is a device or a named pipe"), err
    assert "-o -" not in err and "files only" in err, err
    assert not (tmp_path / "o.mkv").exists() and os.path.exists(fifo)


def test_views_render_to_a_named_pipe_is_not_pointed_to_stdout(tmp_path, capsys):
    colors, depths, _ = scene(2, (32, 24))
    color = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    depth = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    fifo = make_fifo(tmp_path, "views.mkv")
    assert views_cli.main(["render", str(color), str(depth), "-o", fifo, "-y", "-q"]) == 2
    err = _line(capsys)
    assert err.startswith(f"igde-stream views: error: {fifo}: is a device or a named pipe"), err
    assert "-o -" not in err and "files only" in err, err


def test_a_closed_stdout_pipe_counts_the_frames_sent_not_read(monkeypatch):
    """A reader that takes 3 frames and closes (a PyAV reader, ``| head -c``) got "closed it after 28
    frames": the frames written into the pipe, most of them left in its buffer, read as if the reader
    had taken them."""
    from igde_stream.stream import writer

    monkeypatch.setattr(writer, "stdout_gone", lambda *a: None)  # the test's own stdout stays
    w = object.__new__(writer.DepthWriter)
    w.to_stdout, w.url, w.frames, w.out = True, None, 28, "-"
    err = writer.DepthWriter._write_error(w, "cannot write", BrokenPipeError(32, "Broken pipe"))
    assert err.problem == "the reader of the pipe closed it after 28 frames had been sent into it"
