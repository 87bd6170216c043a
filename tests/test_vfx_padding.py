"""Frame numbers written as VFX tools write them (``plate.####.exr``: Nuke, Shake; ``$F4``: Houdini) are
no pattern FFmpeg reads. Such a name gets one line naming the printf pattern it stands for
(``plate.%04d.exr``), instead of "no such file" alone or advice to add ``_%06d`` after the hashes."""

from __future__ import annotations

import pytest

from conftest import scene
from test_cli_mistakes import run  # (exit status, stdout, stderr) of igde-stream ARGV
from test_formats import write_png_sequence



@pytest.fixture
def plates(tmp_path):
    colors, depths, _ = scene(2)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    write_png_sequence(tmp_path / "depth", depths, "shot010_depth.{:04d}.png", start=1001)
    return tmp_path


@pytest.mark.parametrize("given, pattern", [("plate.####.png", "plate.%04d.png"), ("plate.#.png", "plate.%d.png"),
                                            ("plate.$F4.png", "plate.%04d.png")])
def test_hash_padded_input_names_its_printf_pattern(plates, capsys, given, pattern):
    code, _, err = run([plates / "plate" / given, plates / "depth" / "shot010_depth.%04d.png", "-o",
                     plates / "out" / "e.%04d.png"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "no such file" in err and str(plates / "plate" / pattern) in err
    assert not (plates / "out").exists()


def test_hash_padded_output_names_its_printf_pattern(plates, capsys):
    (plates / "out").mkdir()
    code, _, err = run([plates / "plate" / "plate.%04d.png", plates / "depth" / "shot010_depth.%04d.png", "-o",
                     plates / "out" / "shot010_enh_v2.####.png"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert str(plates / "out" / "shot010_enh_v2.%04d.png") in err and "_%06d" not in err
    assert list((plates / "out").iterdir()) == []


def test_hash_padded_output_in_a_missing_folder_names_its_printf_pattern(plates, capsys):
    code, _, err = run([plates / "plate" / "plate.%04d.png", plates / "depth" / "shot010_depth.%04d.png", "-o",
                     plates / "new" / "shot010_enh_v2.####.png"], capsys)
    assert code == 2 and str(plates / "new" / "shot010_enh_v2.%04d.png") in err
    assert not (plates / "new").exists()


def test_sequence_in_the_current_folder_is_pointed_to_a_folder_of_its_name(plates, capsys, monkeypatch):
    """``-o shot010_enh.%04d.exr`` (no folder): refused, as the frames need a folder of their own; the line
    names one after the pattern (``shot010_enh/shot010_enh.%04d.png``), not a generic ``out/%06d.png``."""
    monkeypatch.chdir(plates)
    code, _, err = run(["plate/plate.%04d.png", "depth/shot010_depth.%04d.png", "-o", "shot010_enh.%04d.png"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "needs a folder of its own, e.g. shot010_enh/shot010_enh.%04d.png" in err
    assert sorted(p.name for p in plates.iterdir()) == ["depth", "plate"]
