"""``igde-stream views render`` / ``views quality`` never lose user data: an output that is one of the
inputs, or that exists (without ``-y``), or whose folder is missing, or that has a wrong suffix, is
refused with one line on stderr, exit status 2, and nothing in the folder created or changed; files
are written under a temporary name and renamed when complete. ``--views 1``: one centre view."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import read_video, scene, write_video
from igde_stream import views_cli


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    d = tmp_path_factory.mktemp("views_src")
    colors, depths, gts = scene(3, (64, 48))
    write_video(d / "c.mkv", colors, fmt="rgb24", codec="ffv1")  # lossless colour
    write_video(d / "d.mkv", depths, fmt="gray")
    write_video(d / "gt.mkv", gts, fmt="gray")
    return d, colors


@pytest.fixture
def work(sources, tmp_path):
    src, colors = sources
    for name in ("c.mkv", "d.mkv", "gt.mkv"):
        shutil.copy(src / name, tmp_path / name)
    return tmp_path, colors


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def _refused(capsys, argv, folder, *needles):
    """``argv`` exits 2 with one line naming every needle, and leaves ``folder`` as it was."""
    before = _snapshot(folder)
    capsys.readouterr()
    rc = views_cli.main(argv)
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("igde-stream views: error:"), err
    for needle in needles:
        assert needle in lines[0], err
    assert _snapshot(folder) == before
    return lines[0]


def _render(t, out, *extra):
    return ["render", str(t / "c.mkv"), str(t / "d.mkv"), "-o", str(out), *extra]


def _quality(t, *extra):
    return ["quality", str(t / "c.mkv"), "--gt", str(t / "gt.mkv"), "--depth", f"degraded={t / 'd.mkv'}",
            "--views", "3", *extra]


def _no_temporaries(folder):
    assert not [p.name for p in folder.rglob("*") if "igde-part" in p.name or "igde-old" in p.name]


# --------------------------------------------------------------------------------------- render


@pytest.mark.parametrize("role, name", [("depth", "d.mkv"), ("color", "c.mkv")])
@pytest.mark.parametrize("y", [[], ["-y"], ["--overwrite"]])
def test_render_refuses_an_input_as_output(work, capsys, role, name, y):
    t, _ = work
    _refused(capsys, _render(t, t / name, *y), t, f"same file as the {role} input")


def test_render_refuses_an_existing_output_without_y(work, capsys):
    t, _ = work
    old = t / "old.mkv"
    old.write_bytes(b"keep me")
    _refused(capsys, _render(t, old), t, "already exists", "-y / --overwrite")
    assert views_cli.main(_render(t, old, "-y", "--quiet")) == 0
    assert len(read_video(old)[0]) == 3
    _no_temporaries(t)


def test_render_refuses_when_any_per_view_file_exists(work, capsys):
    t, _ = work
    (t / "v_v1.mkv").write_bytes(b"keep me")
    _refused(capsys, _render(t, t / "v.mkv", "--layout", "views", "--views", "3"), t, "v_v1.mkv",
             "already exists")
    assert views_cli.main(_render(t, t / "v.mkv", "--layout", "views", "--views", "3", "-y", "-q")) == 0
    assert sorted(p.name for p in t.glob("v_v*.mkv")) == ["v_v0.mkv", "v_v1.mkv", "v_v2.mkv"]
    assert len(read_video(t / "v_v1.mkv")[0]) == 3
    _no_temporaries(t)


def test_render_rgbd_layout_refuses_an_existing_output(work, capsys):
    t, _ = work
    (t / "r.mkv").write_bytes(b"keep me")
    _refused(capsys, _render(t, t / "r.mkv", "--layout", "rgbd"), t, "already exists")


def test_render_missing_folder_is_one_line(work, capsys):
    t, _ = work
    line = _refused(capsys, _render(t, t / "nodir" / "x.mkv"), t, "does not exist")
    assert "nodir" in line and "Errno" not in line


@pytest.mark.parametrize("name", ["x.png", "seq/%03d.png", "x.gif"])
def test_render_refuses_an_output_that_is_no_video(work, capsys, name):
    t, _ = work
    (t / "seq").mkdir()
    _refused(capsys, _render(t, t / name), t, ".mkv or .mp4")


def test_render_q_is_quiet(work, capsys):
    t, _ = work
    assert views_cli.main(_render(t, t / "o.mkv", "-q")) == 0
    assert capsys.readouterr().out == ""
    assert len(read_video(t / "o.mkv")[0]) == 3


def test_render_library_refuses_without_overwrite(work):
    from igde_stream.errors import OutputError
    from igde_stream.stream.views import render_file

    t, _ = work
    (t / "lib.mkv").write_bytes(b"keep me")
    with pytest.raises(OutputError, match="already exists"):
        render_file(t / "c.mkv", t / "d.mkv", t / "lib.mkv")
    assert (t / "lib.mkv").read_bytes() == b"keep me"
    with pytest.raises(OutputError, match="same file as the depth input"):
        render_file(t / "c.mkv", t / "d.mkv", t / "d.mkv", overwrite=True)
    render_file(t / "c.mkv", t / "d.mkv", t / "lib.mkv", overwrite=True)
    assert len(read_video(t / "lib.mkv")[0]) == 3


# -------------------------------------------------------------------------------------- quality


@pytest.mark.parametrize("name", ["gt.mkv", "r.txt", "r.md", "r"])
def test_quality_report_must_end_in_json(work, capsys, name):
    t, _ = work
    _refused(capsys, _quality(t, "--report", str(t / name)), t, "report must end in .json")


def test_quality_refuses_a_report_whose_markdown_is_an_input(work, capsys):
    t, _ = work
    shutil.copy(t / "d.mkv", t / "deg.md")  # a depth video with an unusual name
    argv = ["quality", str(t / "c.mkv"), "--gt", str(t / "gt.mkv"), "--depth", f"degraded={t / 'deg.md'}",
            "--views", "3", "--report", str(t / "deg.json"), "-y"]
    _refused(capsys, argv, t, "same file as the")


@pytest.mark.parametrize("existing", ["r.json", "r.md", "f.png"])
def test_quality_refuses_existing_files_without_y(work, capsys, existing):
    t, _ = work
    (t / existing).write_bytes(b"keep me")
    _refused(capsys, _quality(t, "--report", str(t / "r.json"), "--figure", str(t / "f.png")), t,
             existing, "already exists")
    capsys.readouterr()
    assert views_cli.main(_quality(t, "--report", str(t / "r.json"), "--figure", str(t / "f.png"), "-y")) == 0
    assert (t / "r.json").read_text().startswith("{") and (t / "r.md").read_text().startswith("View quality")
    assert (t / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    _no_temporaries(t)


def test_quality_writes_new_files_atomically(work, capsys):
    t, _ = work
    assert views_cli.main(_quality(t, "--report", str(t / "r.json"))) == 0
    assert "wrote" in capsys.readouterr().out
    assert sorted(p.name for p in t.iterdir()) == ["c.mkv", "d.mkv", "gt.mkv", "r.json", "r.md"]


def test_quality_missing_report_folder_is_one_line(work, capsys):
    t, _ = work
    line = _refused(capsys, _quality(t, "--report", str(t / "nodir" / "r.json")), t, "does not exist")
    assert "nodir" in line


@pytest.mark.parametrize("name", ["color.mp4", "f.jpg", "f"])
def test_quality_figure_must_be_png(work, capsys, name):
    t, _ = work
    _refused(capsys, _quality(t, "--report", str(t / "r.json"), "--figure", str(t / name)), t,
             "figure must end in .png")


@pytest.mark.parametrize("view", ["3", "-1"])
def test_quality_figure_view_outside_the_views_is_one_line(work, capsys, view):
    t, _ = work
    _refused(capsys, ["quality", str(t / "c.mkv"), "--gt", str(t / "gt.mkv"), "--depth", f"degraded={t / 'd.mkv'}",
                      "--views", "3", "--figure", str(t / "f.png"), "--figure-view", view], t,
             "views are numbered 0..2")


def test_quality_figure_refuses_an_input(work, capsys):
    t, _ = work
    shutil.copy(t / "gt.mkv", t / "g.png")  # a depth video with an unusual name
    argv = ["quality", str(t / "c.mkv"), "--gt", str(t / "g.png"), "--depth", f"degraded={t / 'd.mkv'}",
            "--views", "3", "--figure", str(t / "g.png"), "-y"]
    _refused(capsys, argv, t, "same file as the gt input")


# ------------------------------------------------------------------------------------ one view


def test_one_view_is_the_centre_view_the_colour_unchanged(work, capsys):
    """view_positions(1) == [0.0]: one view sits at t = 0, where nothing moves."""
    from igde_stream import multiview as mv

    t, colors = work
    assert mv.view_positions(1).tolist() == [0.0]
    assert views_cli.main(_render(t, t / "one.mkv", "--views", "1")) == 0
    assert "1 view," in capsys.readouterr().out
    frames = read_video(t / "one.mkv")[0]
    assert len(frames) == 3
    for got, want in zip(frames, colors):
        np.testing.assert_array_equal(got, want)


def test_quality_needs_two_views(work, capsys):
    """A single (centre) view is the colour whatever the depth: every depth would score inf dB."""
    from igde_stream import multiview as mv
    from igde_stream.errors import IGDEError
    from igde_stream.stream.views import view_quality_files

    t, _ = work
    argv = ["quality", str(t / "c.mkv"), "--gt", str(t / "gt.mkv"), "--depth", f"degraded={t / 'd.mkv'}",
            "--views", "1", "--report", str(t / "r.json")]
    _refused(capsys, argv, t, "--views", "2")
    with pytest.raises(IGDEError, match="at least 2 views"):
        view_quality_files(t / "c.mkv", t / "gt.mkv", {"degraded": t / "d.mkv"}, mv.ViewConfig(1))


# ------------------------------------------------------------------------ review mends

def test_render_refuses_colour_as_its_own_depth(work, capsys):
    """The main command's refusal holds for views too: one colour file given as both inputs would
    render the colour's luma as depth."""
    t, colors = work
    c = write_video(t / "c.mp4", colors, fmt="rgb24")  # H.264 yuv420p: its luma reads as 8-bit depth
    _refused(capsys, ["render", str(c), str(c), "-o", str(t / "v.mkv")], t,
             "colour and depth are the same video stream")
    _refused(capsys, ["quality", str(c), "--gt", str(t / "gt.mkv"), "--depth", f"x={c}", "--views", "3"], t,
             "colour and depth are the same video stream")


def test_a_name_too_long_for_its_temporary_is_one_line(work, capsys):
    """The temporary name (``.NAME.igde-part-PID.mkv``) is longer than the output's own: a name the
    file system takes but whose temporary it does not is refused up front, not as a traceback."""
    t, _ = work
    _refused(capsys, ["render", str(t / "c.mkv"), str(t / "d.mkv"), "-o", str(t / ("a" * 245 + ".mkv"))], t,
             "name too long")


def test_quality_quiet_prints_nothing_on_stderr(work, capsys, tiny_model):
    t, _ = work
    flat = write_video(t / "flat.mkv", [np.full((48, 64), 40 + i, np.uint8) for i in range(3)], fmt="gray")
    capsys.readouterr()
    argv = ["quality", str(t / "c.mkv"), "--gt", str(t / "gt.mkv"), "--depth", f"flat={flat}", "--views", "3",
            "--enhance", "flat", "--model", str(tiny_model), "--backend", "torch"]
    assert views_cli.main([*argv, "-q"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and "flat" in out
    assert views_cli.main(argv) == 0
    err = capsys.readouterr().err
    assert err.startswith("igde-stream views: backend ") and "span only" in err
