"""``--depth-colormap NAME``: a depth map drawn through a colour map (a depth estimator's inferno or
Spectral_r visualisation) read back as 8-bit gray depth, each colour's index in the map. The pictures
here are painted by OpenCV's ``cv2.applyColorMap`` and by matplotlib as Video Depth Anything and Depth
Anything V2 paint them (``(cmap(d)[..., :3] * 255).astype(uint8)``), not by the module's own tables."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest

from conftest import encode_frames, read_video, scene, write_video
from igde_stream.cli import main
from igde_stream.errors import InputError, cli_message
from igde_stream.stream import VideoReader
from igde_stream.stream import colormaps as cmaps
from igde_stream.stream.sources import InputOptions

RAMP = np.tile(np.arange(256, dtype=np.uint8), (16, 1))  # every depth code, 256 x 16
OPENCV = {"inferno": cv2.COLORMAP_INFERNO, "magma": cv2.COLORMAP_MAGMA, "plasma": cv2.COLORMAP_PLASMA,
          "viridis": cv2.COLORMAP_VIRIDIS, "turbo": cv2.COLORMAP_TURBO, "jet": cv2.COLORMAP_JET}
MPL_NAMES = {"spectral_r": "Spectral_r"}


def paint(depth: np.ndarray, name: str, by: str) -> np.ndarray:
    """``depth`` (uint8) as an RGB picture in map ``name``, painted by OpenCV (BGR turned to RGB) or by
    matplotlib as the depth estimators' scripts do (truncated to 8 bits)."""
    if by == "opencv":
        return np.ascontiguousarray(cv2.applyColorMap(depth, OPENCV[name])[..., ::-1])
    mpl = pytest.importorskip("matplotlib")
    return (mpl.colormaps[MPL_NAMES.get(name, name)](depth)[..., :3] * 255).astype(np.uint8)


def read(path, name="gray", **options):
    with VideoReader(path, "depth", source=InputOptions(depth_colormap=name, **options)) as r:
        frames = [f.data for f in r.frames()]
        return r, frames


def h264(path, pictures, crf="18"):
    """RGB pictures as yuv420p H.264 (as Video Depth Anything writes its _vis.mp4: libx264, crf 18)."""
    frames = [av.VideoFrame.from_ndarray(p, format="rgb24").reformat(format="yuv420p") for p in pictures]
    return encode_frames(path, frames, "libx264", "yuv420p", options={"crf": crf})


def test_the_tables_are_opencvs_and_matplotlibs():
    from igde_stream.cli_parser import DEPTH_COLORMAPS

    assert DEPTH_COLORMAPS == cmaps.COLORMAPS
    for name, code in OPENCV.items():
        tables = dict(cmaps.renderings(name))
        opencv = tables["OpenCV" if name == "jet" else "OpenCV / rounded"]
        assert np.array_equal(opencv, cv2.applyColorMap(RAMP[:1], code)[0, :, ::-1]), name
    mpl = pytest.importorskip("matplotlib")
    for name in cmaps.COLORMAPS[1:]:
        lut = mpl.colormaps[MPL_NAMES.get(name, name)](np.arange(256))[:, :3]
        tables = dict(cmaps.renderings(name))
        assert np.array_equal(tables["matplotlib 8-bit"], (lut * 255).astype(np.uint8)), name
        rounded = [t for label, t in tables.items() if "round" in label]
        assert len(rounded) == 1 and np.array_equal(rounded[0], np.rint(lut * 255).astype(np.uint8)), name


def _firsts(picture_row: np.ndarray) -> np.ndarray:
    """For each code, the first code painted in the same colour (itself, unless the map repeats a colour:
    viridis twice, matplotlib's jet three times), which is what any reading gives back."""
    keys = [tuple(c) for c in picture_row]
    return np.array([keys.index(k) for k in keys])


CASES = [(n, "opencv") for n in OPENCV] + [(n, "matplotlib") for n in cmaps.COLORMAPS[1:]]


@pytest.mark.parametrize("name, by", CASES)
def test_a_lossless_video_reads_back_as_the_depth_it_was_painted_from(tmp_path, name, by):
    """FFV1 (RGB, lossless): every code 0..255 back exactly (a repeated colour: its first code), as 8-bit
    gray depth; the rendering the frames were painted with is the one picked, at distance 0."""
    pictures = [paint(RAMP, name, by), paint(RAMP[:, ::-1].copy(), name, by)]
    path = write_video(tmp_path / "vis.mkv", pictures, fmt="rgb24", codec="ffv1")
    r, frames = read(path, name)
    firsts = _firsts(pictures[0][0])
    assert np.array_equal(frames[0], firsts[RAMP]) and np.array_equal(frames[1], firsts[RAMP[:, ::-1]])
    assert (firsts != np.arange(256)).sum() <= {"viridis": 2, "jet": 3}.get(name, 0)
    assert r.info.pix_fmt == "gray" and frames[0].dtype == np.uint8 and not r.info.limited
    s = r.colormap_summary()
    assert (s["mean_distance"], s["far_share"], s["frames"]) == (0.0, 0.0, 2)
    want = "matplotlib 8-bit" if by == "matplotlib" else "OpenCV" if name == "jet" else "OpenCV / rounded"
    assert s["table"] == want


@pytest.mark.parametrize("name, by", [("inferno", "matplotlib"), ("spectral_r", "matplotlib"), ("turbo", "opencv"),
                                      ("viridis", "opencv"), ("jet", "opencv")])
def test_an_h264_round_trip_stays_within_two_levels(tmp_path, name, by):
    """yuv420p H.264 at crf 18: the colours move (4:2:0 chroma, the codec), the depth by under half a
    level on average and by at most 2 at 99 % of the pixels (Spectral_r: 4 at a few pixels of its pale
    middle, where its colours lie closest)."""
    path = h264(tmp_path / "vis.mp4", [paint(RAMP, name, by)] * 2)
    r, frames = read(path, name)
    err = np.abs(np.stack(frames).astype(int) - RAMP)
    assert err.mean() < 0.6 and (err <= 2).mean() > 0.99 and err.max() <= 4, (err.mean(), err.max())
    s = r.colormap_summary()
    assert 0.5 < s["mean_distance"] < 3 and s["far_share"] == 0


def test_the_wrong_map_is_one_line_that_names_the_maps_that_fit(tmp_path, capsys, tiny_model):
    """turbo read as inferno: exit 2, one line naming inferno and turbo, no output; gray depth in YUV
    read as a colour map: the line says to drop the option."""
    colors, depths, _ = scene(3)
    color = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    vis = write_video(tmp_path / "turbo.mkv", [paint(d, "turbo", "opencv") for d in depths], fmt="rgb24", codec="ffv1")
    out = tmp_path / "o.mkv"
    code = main([str(color), str(vis), "-o", str(out), "--depth-colormap", "inferno", "--model", str(tiny_model)])
    err = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert code == 2 and len(err) == 1 and not out.exists() and not list(tmp_path.glob("*.part*")), err
    assert "frame 0:" in err[0] and "every inferno colour" in err[0] and "fit turbo (0 % far)" in err[0], err[0]
    gray_yuv = write_video(tmp_path / "g.mkv", depths, fmt="yuv420p")
    with pytest.raises(InputError, match="every viridis colour.*looks like gray depth: drop --depth-colormap"):
        read(gray_yuv, "viridis")
    with pytest.raises(InputError, match="fit no other map"):  # a photograph is in no map
        read(color, "magma")


def test_without_the_option_a_colour_map_is_refused_and_the_error_names_it(tmp_path):
    pictures = [paint(RAMP, "inferno", "matplotlib")]
    with pytest.raises(InputError, match="chroma is far from neutral.*--depth-colormap NAME"):
        read(h264(tmp_path / "vis.mp4", pictures))
    with pytest.raises(InputError, match="channels differ.*--depth-colormap NAME"):
        read(write_video(tmp_path / "vis.mkv", pictures, fmt="rgb24", codec="ffv1"))


def test_a_gray_stream_with_a_colour_map_is_read_as_gray(tmp_path):
    """A gray pixel format holds no colour map (an enhanced output beside colour-mapped inputs in
    ``views quality``): read as it is."""
    path = write_video(tmp_path / "d.mkv", [RAMP], fmt="gray")
    r, frames = read(path, "inferno")
    assert np.array_equal(frames[0], RAMP) and r.colormap_summary() is None


def _identity():
    from igde_stream import Enhancer
    from igde_stream.models import create_model

    return Enhancer(model=create_model("igde-tiny", head="select", radius=2), backend="torch")


def test_the_run_enhances_the_depth_the_map_holds_and_writes_it_gray(tmp_path):
    """With a model that returns its input, the output is the depth the colours were painted from,
    written as 8-bit gray (not in the input's YUV or RGB); the summary says how the depth was read."""
    from igde_stream.stream import enhance_file

    colors, depths, _ = scene(3)
    color = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    vis = write_video(tmp_path / "vis.mkv", [paint(d, "spectral_r", "matplotlib") for d in depths], fmt="rgb24",
                      codec="ffv1")
    summary = enhance_file(color, vis, tmp_path / "o.mkv", enhancer=_identity(),
                           inputs=InputOptions(depth_colormap="spectral_r"))
    got, _, facts = read_video(tmp_path / "o.mkv")
    assert facts["pix_fmt"] == "gray" and summary["pix_fmt"] == "gray"
    assert np.array_equal(np.stack(got), np.stack(depths))
    assert summary["depth_colormap"] == {"name": "spectral_r", "table": "matplotlib 8-bit", "mean_distance": 0.0,
                                         "far_share": 0.0, "far": cmaps.FAR, "frames": 3}


def test_the_option_reaches_the_readers_of_every_command(tmp_path, capsys, tiny_model):
    """igde-stream (summary line, report header), batch's input options and ``views render``."""
    from igde_stream.batch_cli import build_parser as batch_parser
    from igde_stream.cli import input_options

    colors, depths, gts = scene(3)
    color = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    vis = h264(tmp_path / "vis.mp4", [paint(d, "inferno", "opencv") for d in depths])
    gt = write_video(tmp_path / "gt.mkv", gts, fmt="gray")
    code = main([str(color), str(vis), "-o", str(tmp_path / "o.mkv"), "--gt", str(gt), "--report",
                 str(tmp_path / "r.json"), "--depth-colormap", "Inferno", "--model", str(tiny_model)])
    out = capsys.readouterr().out
    assert code == 0 and "depth read through the inferno colour map (" in out, out  # lossy: either table
    header = json.loads((tmp_path / "r.json").read_text())
    assert header["depth_colormap"]["name"] == "inferno" and 0 < header["depth_colormap"]["mean_distance"] < 8
    args = batch_parser().parse_args(["list.txt", "--depth-colormap", "turbo"])
    assert input_options(args).depth_colormap == "turbo"
    gray = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    vis_lossless = write_video(tmp_path / "vis.mkv", [paint(d, "inferno", "opencv") for d in depths], fmt="rgb24",
                               codec="ffv1")
    render = ["views", "render", str(color), "--views", "2", "-y"]
    assert main([*render[:3], str(gray), *render[3:], "-o", str(tmp_path / "v1.mkv")]) == 0
    assert main([*render[:3], str(vis_lossless), *render[3:], "-o", str(tmp_path / "v2.mkv"),
                 "--depth-colormap", "inferno"]) == 0
    assert np.array_equal(np.stack(read_video(tmp_path / "v1.mkv")[0]), np.stack(read_video(tmp_path / "v2.mkv")[0]))


def test_option_mistakes_are_one_line(tmp_path, capsys):
    with pytest.raises(ValueError, match="depth_colormap must be one of"):
        InputOptions(depth_colormap="hot")
    with pytest.raises(InputError, match="packed RGB-D depth is gray"):
        InputOptions(depth_colormap="inferno", packed="rgbd")
    with pytest.raises(InputError, match="depth_range='full' with depth_colormap='inferno'") as info:
        InputOptions(depth_colormap="inferno", depth_range="full")  # from Python: its keywords
    assert cli_message(info.value).startswith("--depth-range full with --depth-colormap inferno")
    with pytest.raises(SystemExit) as exc:
        main(["c.mp4", "d.mkv", "-o", str(tmp_path / "o.mkv"), "--depth-colormap", "hot"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and len(err.splitlines()) == 1 and "--depth-colormap" in err and "spectral_r" in err


def test_a_first_frame_of_colours_both_renderings_hold_leaves_the_pick_to_the_next(tmp_path):
    """An OpenCV-painted clip whose first frame is one flat colour that OpenCV's and matplotlib's tables
    share (it fits both alike): the pick waits for a frame that tells them apart, and a lossless clip
    reads back exactly (matplotlib's table would put codes a level off)."""
    cv = cv2.applyColorMap(RAMP[:1], OPENCV["inferno"])[0]
    mpl = pytest.importorskip("matplotlib")
    trunc = (mpl.colormaps["inferno"](np.arange(256))[:, :3] * 255).astype(np.uint8)[:, ::-1]  # BGR
    shared = np.flatnonzero((cv == trunc).all(axis=1))
    assert len(shared) and (cv != trunc).any(axis=1).sum() > 100
    flat = np.full_like(RAMP, shared[len(shared) // 2])
    pictures = [paint(flat, "inferno", "opencv"), paint(RAMP, "inferno", "opencv")]
    r, frames = read(write_video(tmp_path / "vis.mkv", pictures, fmt="rgb24", codec="ffv1"), "inferno")
    assert np.array_equal(frames[0], flat) and np.array_equal(frames[1], RAMP)
    s = r.colormap_summary()
    assert s["table"] == "OpenCV / rounded" and s["mean_distance"] == 0.0
