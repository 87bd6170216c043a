"""Options that only apply together with another: given alone they are a one-line usage error
(exit 2), as ``--depth-near`` without ``--packed`` / ``--rgbd-out`` and the views options without
``--views-out`` are, instead of being passed over in silence. Found by checking docs/formats.md
("Depth smaller than the colour": ``--grid color [--enlarge linear|nearest]``) against the command:
``--enlarge nearest`` without ``--grid color`` ran, resizing the colour to the depth, and said
nothing about the option."""

from __future__ import annotations

import pytest

from igde_stream import batch_cli
from igde_stream.cli import build_parser, enhance_kwargs, main


@pytest.mark.parametrize("grid", [[], ["--grid", "depth"]])
@pytest.mark.parametrize("method", ["nearest", "linear"])
def test_enlarge_without_grid_color_is_a_usage_error(tmp_path, capsys, grid, method):
    argv = ["c.mp4", "d.mkv", "-o", str(tmp_path / "o.mkv"), *grid, "--enlarge", method]
    with pytest.raises(SystemExit) as e:
        main(argv)
    err = capsys.readouterr().err
    assert e.value.code == 2
    assert err.count("\n") == 1 and err.startswith("igde-stream: error: --enlarge") and "--grid color" in err
    assert list(tmp_path.iterdir()) == []


def test_batch_refuses_enlarge_without_grid_color(tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        batch_cli.main([str(tmp_path), "--enlarge", "nearest"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "--enlarge" in err and "--grid color" in err


def test_grid_color_takes_enlarge_and_its_default_is_linear():
    args = build_parser().parse_args(["c.mp4", "d.mkv", "-o", "o.mkv", "--grid", "color"])
    assert enhance_kwargs(args)["enlarge"] == "linear" and enhance_kwargs(args)["grid"] == "color"
    args = build_parser().parse_args(["c.mp4", "d.mkv", "-o", "o.mkv", "--grid", "color", "--enlarge", "nearest"])
    assert enhance_kwargs(args)["enlarge"] == "nearest"
    args = build_parser().parse_args(["c.mp4", "d.mkv", "-o", "o.mkv"])
    assert enhance_kwargs(args)["enlarge"] == "linear"  # what enhance_file is given by default
