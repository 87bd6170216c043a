"""Paths users give that are not plain files, damaged inputs, and options that do nothing: a device
or named pipe as output (-y used to replace the node itself), a dangling link as output (replaced
without -y), a damaged frame's message (its number beside the previous frame's time), views render
of one file with a colour and a depth stream, view options without --views-out, and a batch clip
whose output is its own input (named pipes as inputs: test_fifo_inputs.py)."""

from __future__ import annotations

import os
import stat

import av
import pytest

from conftest import scene, write_video
from igde_stream import views_cli
from igde_stream.cli import main
from igde_stream.errors import CorruptInputError
from igde_stream.stream import VideoReader
from test_recordings import _mux, gray, rgb


@pytest.fixture
def clip(tmp_path):
    colors, depths, _ = scene(3)
    return {"color": write_video(tmp_path / "color.mp4", colors, fmt="rgb24"),
            "depth": write_video(tmp_path / "depth.mkv", depths, fmt="gray")}


def _one_error(capsys, prefix="igde-stream: error: "):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(prefix), err
    return err[0]


def test_a_named_pipe_as_output_is_refused_even_with_y(clip, tmp_path, tiny_model, capsys):
    fifo = tmp_path / "fifo.mkv"
    os.mkfifo(fifo)
    args = [str(clip["color"]), str(clip["depth"]), "-o", str(fifo), "--model", str(tiny_model), "--backend", "torch"]
    assert main([*args, "-y"]) == 2
    assert "is a device or a named pipe, not a file: write to stdout with -o -" in _one_error(capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)  # still the pipe


def test_a_dangling_link_as_output_needs_y(clip, tmp_path, tiny_model, capsys):
    link = tmp_path / "out.mkv"
    link.symlink_to(tmp_path / "nowhere.mkv")
    args = [str(clip["color"]), str(clip["depth"]), "-o", str(link), "--model", str(tiny_model), "--backend", "torch"]
    assert main(args) == 2
    assert "already exists (use -y / --overwrite to replace it)" in _one_error(capsys)
    assert link.is_symlink()


def test_a_damaged_frame_is_named_with_the_time_of_the_frame_before_it(tmp_path):
    """FFV1 with slice CRCs, bytes of frame 2's packet flipped: the message names frame 2 and says it
    comes after frame 1 at 0.033 s (30 fps; before: "frame 2 (0.033 s)", frame 1's time)."""
    _, depths, _ = scene(5)
    path = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    with av.open(str(path)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    pos, size = packets[2]
    data = bytearray(path.read_bytes())
    for k in range(pos + size // 3, pos + size // 3 + 16):
        data[k] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptInputError, match=r"frame 2 \(after frame 1 at 0\.033 s\)"):
        with VideoReader(path, "depth") as r:
            for _ in r.frames():
                pass


def test_views_render_takes_one_file_with_a_colour_and_a_depth_stream(tmp_path, capsys):
    both = _mux(tmp_path / "both.mkv", [("ffv1", "bgr0", rgb, {}), ("ffv1", "gray", gray, {})])
    assert views_cli.main(["render", str(both), "-o", str(tmp_path / "v.mkv"), "--views", "2"]) == 0
    with av.open(str(tmp_path / "v.mkv")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 4


@pytest.mark.parametrize("extra, named", [
    (["--baseline", "10"], "--baseline: needs --views-out"),
    (["--zero-parallax", "0.3"], "--zero-parallax: needs --views-out"),
    (["--views-codec", "h264"], "--views-codec: needs --views-out (or --rgbd-out)"),
])
def test_view_options_without_views_out_are_refused(clip, tmp_path, tiny_model, capsys, extra, named):
    args = [str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "o.mkv"), "--model", str(tiny_model)]
    assert main([*args, *extra]) == 2
    assert named in _one_error(capsys)
    assert not (tmp_path / "o.mkv").exists()
    if extra[0] == "--views-codec":  # with --rgbd-out it is that output's codec
        assert main([*args, *extra, "--rgbd-out", str(tmp_path / "r.mkv"), "--backend", "torch", "-q"]) == 0


def test_a_batch_clip_whose_output_is_its_own_input_is_refused_up_front(clip, tmp_path, capsys):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"color,depth,output\n{clip['color'].name},{clip['depth'].name},{clip['depth'].name}\n")
    before = clip["depth"].read_bytes()
    for extra in ([], ["--resume"], ["-y"]):
        assert main(["batch", str(jobs), "--jobs", "1", "--model", "igde-small", "-q", *extra]) == 2
        assert "output is the same file as the depth input of clip" in _one_error(capsys)
    assert clip["depth"].read_bytes() == before
