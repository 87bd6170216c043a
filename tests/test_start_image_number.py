"""``--start`` is a time. A VFX user gives the frame number of an image (``--start 1002`` for
``plate.1002.png``): the refusal now names the time of that image in the sequence, and that time does
start there (its output is numbered 1002)."""

from __future__ import annotations

from conftest import scene
from test_cli_mistakes import run  # (exit status, stdout, stderr) of igde-stream ARGV
from test_formats import write_png_sequence



def test_start_given_as_an_image_number_names_its_time(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(3)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    write_png_sequence(tmp_path / "depth", depths, "d.{:04d}.png", start=1001)
    base = [tmp_path / "plate" / "plate.%04d.png", tmp_path / "depth" / "d.%04d.png", "--model", tiny_model,
            "--backend", "torch", "--max-frames", "1"]
    code, _, err = run([*base, "-o", tmp_path / "a" / "e.%04d.png", "--start", "1002"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "image 1002" in err and "--start 0.04" in err  # (1002 - 1001) / 25 fps
    assert not (tmp_path / "a").exists()
    code, _, err = run([*base, "-o", tmp_path / "b" / "e.%04d.png", "--start", "0.04"], capsys)
    assert code == 0 and sorted(p.name for p in (tmp_path / "b").iterdir()) == ["e.1002.png"]


def test_start_past_a_video_like_end_keeps_its_line(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(3)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    write_png_sequence(tmp_path / "depth", depths, "d.{:04d}.png", start=1001)
    code, _, err = run([tmp_path / "plate" / "plate.%04d.png", tmp_path / "depth" / "d.%04d.png", "--model", tiny_model,
                     "--backend", "torch", "-o", tmp_path / "a.mkv", "--start", "2000"], capsys)
    assert code == 2 and "no depth frame at or after --start 2000 s" in err and "image" not in err
