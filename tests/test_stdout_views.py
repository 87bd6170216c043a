"""Views and RGB-D are written to files only: ``-`` (stdout) for them (``igde-stream views render ...
-o -``, ``--views-out -``, ``--rgbd-out -``) is one line naming stdout and what to do instead, exit 2,
before any frame is read, with nothing written; the enhanced depth itself still streams (``-o -``)."""

from __future__ import annotations

import pytest

from conftest import scene, write_video
from igde_stream import views_cli
from igde_stream.cli import main


@pytest.fixture
def clip(tmp_path):
    colors, depths, _ = scene(2, (32, 24))
    return {"color": write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray"), "dir": tmp_path}


def _one_line(err, prefix):
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix), err
    # (the test's own tmp folder names "stdout": look for the phrase, and for no other error)
    assert "stdout (-)" in lines[0] and "written to a file" in lines[0], err
    assert "Could not determine output format" not in lines[0] and "model" not in lines[0], err
    return lines[0]


@pytest.mark.parametrize("layout", ["sbs", "rgbd"])
def test_views_render_to_stdout_is_refused_in_one_line(clip, capsys, layout):
    before = sorted(p.name for p in clip["dir"].iterdir())
    rc = views_cli.main(["render", str(clip["color"]), str(clip["depth"]), "-o", "-", "--layout", layout])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    _one_line(err, "igde-stream views: error:")
    assert sorted(p.name for p in clip["dir"].iterdir()) == before


@pytest.mark.parametrize("option", ["--views-out", "--rgbd-out"])
def test_one_pass_views_to_stdout_is_refused_before_the_model(clip, capsys, option):
    before = sorted(p.name for p in clip["dir"].iterdir())
    # a model that does not exist: the refusal must come before it is looked for
    rc = main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["dir"] / "o.mkv"), option, "-",
               "--model", str(clip["dir"] / "no-such-model.pt")])
    out, err = capsys.readouterr()
    assert rc == 2 and out == ""
    _one_line(err, "igde-stream: error:")
    assert sorted(p.name for p in clip["dir"].iterdir()) == before
