"""``igde-stream views`` options: defaults that agree with the library's, and the checks of sizes and
strides (from mutation survivors of views_cli.py: changed defaults and bounds passed every test)."""

from __future__ import annotations

import inspect

import pytest

from igde_stream import multiview as mv
from igde_stream.errors import IGDEError
from igde_stream.stream.views import view_quality_files
from igde_stream.views_cli import _config, _size, build_parser, main


def _defaults(fn):
    return {k: p.default for k, p in inspect.signature(fn).parameters.items()}


def test_view_geometry_defaults_are_the_libraries_in_every_command():
    """The views' baseline and zero parallax on the command line are ViewConfig's own defaults, in
    ``views render``, ``views quality`` and the main command's one-pass ``--views-out``; quality's band,
    stride and figure frame are ``view_quality_files``'."""
    from igde_stream.cli import build_parser as main_parser

    cfg = mv.ViewConfig()
    render = build_parser().parse_args(["render", "c.mp4", "d.mkv", "-o", "v.mkv"])
    quality = build_parser().parse_args(["quality", "c.mp4", "--gt", "g.mkv"])
    onepass = main_parser().parse_args(["c.mp4", "d.mkv", "-o", "o.mkv", "--views-out", "v.mkv"])
    assert (onepass.baseline, onepass.zero_parallax) == (cfg.baseline, cfg.zero_parallax) == (32.0, 0.5)
    for args in (render, quality):  # None on the command line (so --layout rgbd can tell them given)
        got = _config(args)
        assert (got.baseline, got.zero_parallax) == (cfg.baseline, cfg.zero_parallax) == (32.0, 0.5)
    assert quality.figure_view == 0  # the leftmost view (positions() starts at -0.5)
    lib = _defaults(view_quality_files)
    assert (quality.band, quality.stride, quality.figure_frame) == (lib["band"], lib["stride"], lib["figure_frame"]) \
        == (8, 1, 0)


@pytest.mark.parametrize("command", [["render", "c.mp4", "d.mkv", "-o", "v.mkv"], ["quality", "c.mp4", "--gt", "g.mkv"]])
def test_given_view_geometry_reaches_the_config(command):
    # with None as the options' defaults, a given --baseline / --zero-parallax must still win (each alone,
    # so that neither hides behind the other); 0 is a value, not "not given"
    for extra, expected in ((["--baseline", "10"], (10.0, 0.5)), (["--zero-parallax", "0.25"], (32.0, 0.25)),
                            (["--baseline", "0", "--zero-parallax", "0"], (0.0, 0.0))):
        got = _config(build_parser().parse_args([*command, *extra]))
        assert (got.baseline, got.zero_parallax) == expected, extra


@pytest.mark.parametrize("text,size", [("1x1", (1, 1)), ("3840x2160", (3840, 2160)), ("64X48", (64, 48))])
def test_sizes_from_one_pixel_up_are_read(text, size):
    assert _size(text, "--panel") == size


@pytest.mark.parametrize("text", ["0x48", "64x0", "0x0", "64", "64x", "x48", "-64x48", "64x48.5"])
def test_sizes_without_two_positive_integers_are_refused(text):
    with pytest.raises(IGDEError, match=rf"--panel {text!r}: use WIDTHxHEIGHT"):
        _size(text, "--panel")


@pytest.mark.parametrize("stride", ["0", "-1"])
def test_a_stride_under_one_is_refused_with_exit_2(stride, capsys):
    assert main(["quality", "c.mp4", "--gt", "g.mkv", "--stride", stride]) == 2
    assert capsys.readouterr().err == "igde-stream views: error: --stride must be >= 1\n"


@pytest.mark.parametrize("option,value,least", [("--max-frames", "-1", 0), ("--band", "-1", 0),
                                                ("--figure-frame", "-2", 0)])
def test_negative_counts_are_refused_with_exit_2(option, value, least, capsys):
    assert main(["quality", "c.mp4", "--gt", "g.mkv", option, value]) == 2
    assert capsys.readouterr().err == f"igde-stream views: error: {option} must be >= {least}\n"


def test_render_refuses_a_negative_max_frames(capsys):
    assert main(["render", "c.mp4", "d.mkv", "-o", "v.mkv", "--max-frames", "-1"]) == 2
    assert capsys.readouterr().err == "igde-stream views: error: --max-frames must be >= 0\n"


def test_a_figure_frame_past_the_frames_used_is_an_error_and_writes_nothing(tmp_path, capsys):
    from conftest import scene, write_video

    colors, depths, gts = scene(3, (64, 48), bits=8)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    g = write_video(tmp_path / "g.mkv", gts, fmt="gray")
    base = ["quality", str(c), "--gt", str(g), "--depth", f"degraded={d}", "--report", str(tmp_path / "q.json"),
            "--figure", str(tmp_path / "f.png"), "--views", "2", "-q"]
    assert main([*base, "--figure-frame", "3"]) == 2
    err = capsys.readouterr().err
    assert "--figure-frame 3: no frame at or after it was used (3 frames used, stride 1); nothing written" in err
    assert not (tmp_path / "q.json").exists() and not (tmp_path / "f.png").exists()
    assert main([*base, "--figure-frame", "2"]) == 0 and (tmp_path / "f.png").is_file()


def test_the_figure_of_10_bit_depth_renders_with_its_peak(tmp_path, monkeypatch):
    """The figure's views are rendered with the geometry the quality figures used: for 10-bit depth,
    max_depth 1023 (``view_quality_files``' own reading), not the command line's None."""
    import numpy as np

    import igde_stream.views_cli as vc
    from conftest import scene, write_video
    from test_formats import write_high_bit

    colors, depths16, gts16 = scene(2, (64, 48), bits=16)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_high_bit(tmp_path / "d.mkv", [(x >> 6).astype(np.uint16) for x in depths16], "gray10le")
    g = write_high_bit(tmp_path / "g.mkv", [(x >> 6).astype(np.uint16) for x in gts16], "gray10le")
    seen = []

    class Outs:
        def write(self, summary, md, fig_frame, cfg, view):
            seen.append(cfg)
            return []

    monkeypatch.setattr(vc, "check_quality_outputs", lambda *a: Outs())
    assert main(["quality", str(c), "--gt", str(g), "--depth", f"degraded={d}", "--figure", "f.png", "-q"]) == 0
    assert seen == [mv.ViewConfig(8, 32.0, 0.5, 1023.0, "near-high")]


def test_the_quality_report_says_how_colour_mapped_depth_was_read(tmp_path, capsys):
    """``views quality --depth-colormap inferno`` on an OpenCV-painted depth (the ground truth stays
    gray: the map is for estimators' pictures): the JSON report records the map and the Markdown says
    the depth was read through it; a gray run records ``gray`` and says nothing. The figures equal those
    of the same depth as gray video (lossless FFV1: the map reads back exactly)."""
    import json

    import cv2
    import numpy as np

    from conftest import scene, write_video

    colors, depths, gts = scene(2)

    def paint(d):  # OpenCV's inferno, BGR -> RGB, as an estimator's visualisation
        return np.ascontiguousarray(cv2.applyColorMap(d, cv2.COLORMAP_INFERNO)[..., ::-1])

    color = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    gt = write_video(tmp_path / "g.mkv", gts, fmt="gray")
    runs = {"gray": (gt, write_video(tmp_path / "d.mkv", depths, fmt="gray"), []),
            "inferno": (gt, write_video(tmp_path / "dv.mkv", [paint(d) for d in depths], fmt="rgb24", codec="ffv1"),
                        ["--depth-colormap", "inferno"])}
    reports = {}
    for name, (gt, depth, extra) in runs.items():
        report = tmp_path / f"{name}.json"
        assert main(["quality", str(color), "--gt", str(gt), "--depth", f"degraded={depth}", "--views", "2",
                     "--report", str(report), "-q", *extra]) == 0
        reports[name] = json.loads(report.read_text())
        md = report.with_suffix(".md").read_text()
        assert ("--depth-colormap inferno" in md) == (name == "inferno")
    capsys.readouterr()
    assert reports["gray"]["depth_colormap"] == "gray" and reports["inferno"]["depth_colormap"] == "inferno"
    assert reports["gray"]["depths"] == reports["inferno"]["depths"]


@pytest.mark.parametrize("extra", [["--views", "4"], ["--renderer", "torch"], ["--baseline", "32"],
                                   ["--zero-parallax", "0.3"]])
def test_rgbd_layout_refuses_the_options_of_rendered_views(extra, capsys):
    """``--layout rgbd`` writes colour | depth and renders no views: ``--views``, the renderer and the
    views' geometry (even given at its default value) are refused in one line (exit 2) before any input is opened, as other layouts' options are."""
    assert main(["render", "no_c.mp4", "no_d.mkv", "-o", "o.mkv", "--layout", "rgbd", *extra]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and f"{extra[0]}: not an option of --layout rgbd" in err


@pytest.mark.parametrize("option,value", [("--views", "0"), ("--baseline", "-5"), ("--zero-parallax", "2"),
                                          ("--max-depth", "0")])
def test_a_bad_view_geometry_names_the_option_given(option, value, capsys):
    """ViewConfig refuses the value under its field's name (n_views, zero_parallax, ...); the command
    says the option that was given, in one line, exit 2, before any input is opened."""
    assert main(["render", "no_c.mp4", "no_d.mkv", "-o", "o.mkv", option, value]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith(f"igde-stream views: error: {option} "), err
    assert "_" not in err.split("error: ")[1].split(" ")[0]
