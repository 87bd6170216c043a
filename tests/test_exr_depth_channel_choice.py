"""``--depth-channel NAME`` (``InputOptions.depth_channel``): OpenEXR depth with two channels named as
depth (a render's ``Z`` beside a compositor's ``depth.Z``) was refused with advice to save the depth
as channel Y alone, which takes an EXR tool; now the refusal names the two and the option, and the
option reads the channel chosen (any other name too, ``R`` of an RGB file). The expected values are
the arrays written into the files (``test_exr_depth_channel.write_exr``, independent of the reader),
and the runs are compared with runs on a Y-only file of the chosen channel, which FFmpeg reads itself."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from test_exr_depth_channel import HALF, _frame, write_exr

from igde_stream.cli import main
from igde_stream.errors import InputError, cli_message
from igde_stream.stream.reader import VideoReader
from igde_stream.stream.sources import InputOptions


def _render(folder, k: int = 0, extra: dict | None = None):
    """R, G, B (half), Z (metres) and depth.Z (other values: Z x 2 + 1), as a render and its comp give them."""
    z, rgb = _frame(k)
    chans = {"R": rgb[..., 0], "G": rgb[..., 1], "B": rgb[..., 2], "Z": z, "depth.Z": z * 2 + 1, **(extra or {})}
    return write_exr(folder / f"shot.{1001 + k:04d}.exr", chans, {c: HALF for c in "RGB"})


@pytest.mark.parametrize("chosen, want", [("Z", lambda z: z), ("depth.Z", lambda z: z * 2 + 1), ("R", None)])
def test_the_chosen_channel_is_read(tmp_path, chosen, want):
    path = _render(tmp_path)
    z, rgb = _frame(0)
    with VideoReader(str(path), "depth", source=InputOptions(depth_channel=chosen)) as r:
        got = next(r.frames()).data
    expected = rgb[..., 0].astype(np.float16).astype(np.float32) if want is None else want(z)
    np.testing.assert_array_equal(got, expected)


def test_two_channels_named_as_depth_are_refused_naming_them_and_the_choice(tmp_path, capsys):
    path = _render(tmp_path)
    with pytest.raises(InputError) as info:
        VideoReader(str(path), "depth")
    assert "its OpenEXR channels Z, depth.Z are each named as depth: depth_channel='NAME' chooses" in str(info.value)
    out = tmp_path / "o" / "%04d.exr"
    assert main([str(path), str(path), "-o", str(out), "--depth-order", "far-high"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--depth-channel NAME chooses the depth (e.g. --depth-channel Z)" in err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


@pytest.mark.parametrize("chosen, problem", [
    ("P.Z", "--depth-channel P.Z: no such channel in its first image, shot.1001.exr (its channels: B, G, R, Z, "
            "depth.Z)"),
    ("Z", "--depth-channel Z: the channel is chosen in OpenEXR depth (an .exr file, folder or pattern); this depth "
          "is not one")])
def test_a_channel_the_depth_cannot_give_is_refused(tmp_path, chosen, problem):
    from conftest import write_video

    _render(tmp_path)
    depth = tmp_path / "shot.1001.exr"
    if chosen == "Z":
        depth = write_video(tmp_path / "d.mkv", [np.zeros((48, 64), np.uint8)], fmt="gray")
    with pytest.raises(InputError) as info:
        VideoReader(str(depth), "depth", source=InputOptions(depth_channel=chosen))
    assert cli_message(info.value) == f"{depth}: {problem}"
    with pytest.raises(InputError, match="packed RGB-D depth is the gray of its half"):
        InputOptions(depth_channel="Z", packed="rgbd")


def test_the_command_on_the_chosen_channel_is_the_run_on_it_alone(tmp_path, tiny_model):
    """igde-stream on a render's own files, depth from depth.Z, with a ground truth of the same two
    channels: the outputs are those of a run on depth.Z saved alone as Y, byte for byte, and the ground
    truth is read from depth.Z too (the input's PSNR against it is inf: the same values)."""
    (tmp_path / "multi").mkdir()
    (tmp_path / "y").mkdir()
    for k in range(2):
        _render(tmp_path / "multi", k)
        write_exr(tmp_path / "y" / f"shot.{1001 + k:04d}.exr", {"Y": _frame(k)[0] * 2 + 1})
    multi = str(tmp_path / "multi" / "shot.%04d.exr")
    outs = []
    for depth, out, extra in ((multi, "a", ["--depth-channel", "depth.Z", "--gt", multi,
                                            "--report", str(tmp_path / "r.json")]),
                              (str(tmp_path / "y" / "shot.%04d.exr"), "b", [])):
        assert main([multi, depth, "-o", str(tmp_path / out / "shot.%04d.exr"), "--depth-order", "far-high",
                     "--model", str(tiny_model), "--backend", "torch", "--threads", "1", "-q", *extra]) == 0
        outs.append(sorted((tmp_path / out).iterdir()))
    assert [p.name for p in outs[0]] == ["shot.1001.exr", "shot.1002.exr"]
    assert [p.read_bytes() for p in outs[0]] == [p.read_bytes() for p in outs[1]]
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["mean_psnr_input"] == "inf"  # the input is the ground truth, value for value


def test_views_render_reads_the_chosen_channel(tmp_path):
    from conftest import read_video

    _render(tmp_path)
    write_exr(tmp_path / "y.exr", {"Y": _frame(0)[0] * 2 + 1})
    path = str(tmp_path / "shot.1001.exr")
    for depth, out, extra in ((path, "a.mkv", ["--depth-channel", "depth.Z"]), (str(tmp_path / "y.exr"), "b.mkv", [])):
        assert main(["views", "render", path, depth, "-o", str(tmp_path / out), "--views", "2", "--depth-order",
                     "far-high", "--float-range", "0:30", "-q", *extra]) == 0
    a, b = read_video(tmp_path / "a.mkv")[0], read_video(tmp_path / "b.mkv")[0]
    assert len(a) == 1 and np.array_equal(a[0], b[0])


def test_batch_reads_every_clips_chosen_channel(tmp_path, tiny_model):
    """``igde-stream batch --depth-channel``: the option is one of the input options every clip is read
    with; the clip's output is the main command's on the same files."""
    (tmp_path / "multi").mkdir()
    _render(tmp_path / "multi")
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("color,depth,output\nmulti/shot.1001.exr,multi/shot.1001.exr,out/a.exr\n")
    summary = tmp_path / "s.json"
    common = ["--depth-order", "far-high", "--model", str(tiny_model), "--backend", "torch", "--depth-channel",
              "depth.Z", "-q"]
    assert main(["batch", str(jobs), "--jobs", "1", "--summary", str(summary), *common]) == 0
    assert [r["status"] for r in json.loads(summary.read_text())["rows"]] == ["done"]
    one = str(tmp_path / "multi" / "shot.1001.exr")
    # the model's threads as batch gives its one worker (cpu_count // workers): torch's default follows
    # OMP_NUM_THREADS, and another thread count sums the floats in another order (other EXR bytes)
    threads = str(os.cpu_count() or 1)
    assert main([one, one, "-o", str(tmp_path / "b.exr"), *common, "--model-threads", threads]) == 0
    assert (tmp_path / "out" / "a.exr").read_bytes() == (tmp_path / "b.exr").read_bytes()


def test_depth_in_r_of_an_rgb_file_is_refused_naming_the_choice_for_the_depth_alone(tmp_path):
    z, _ = _frame(0)
    write_exr(tmp_path / "r.exr", {"R": z, "G": z * 0, "B": z * 0})
    said = {}
    for role in ("depth", "gt"):
        with pytest.raises(InputError) as info:
            with VideoReader(str(tmp_path / "r.exr"), role) as r:
                list(r.frames())
        said[role] = str(info.value)
    assert "read it as it is with --depth-channel R, or rename that channel Z" in said["depth"]
    assert "--depth-channel" not in said["gt"] and "rename that channel Z" in said["gt"]
