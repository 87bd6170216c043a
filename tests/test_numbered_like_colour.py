"""A NumPy depth clip (a video-depth estimator's T x H x W, whose frames carry no numbers) beside a
numbered colour sequence (``plate.1001.png`` ...), written as an image pattern: the frames take the
colour's numbers, so that they pair with the plates by name as the docs promise (before: 0000, 0001 ...
beside plate.1001). Depth that carries numbers keeps its own; a colour video, --pair nearest and a
video depth (tests/test_formats.py) number from 0."""

from __future__ import annotations

import json

import cv2
import numpy as np

from conftest import scene, write_video
from igde_stream.cli import main
from test_formats import write_png_sequence


def _run(argv) -> int:
    return main([str(a) for a in argv])


def _names(folder):
    return sorted(p.name for p in folder.iterdir())


def test_numpy_clip_beside_numbered_plates_takes_their_numbers(tmp_path, tiny_model, capsys):
    colors, depths, gts = scene(3)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    write_png_sequence(tmp_path / "gt", gts, "gt.{:04d}.png", start=1001)
    np.save(tmp_path / "depths.npy", np.stack(depths))
    write_png_sequence(tmp_path / "dpng", depths, "d.{:04d}.png", start=1001)
    model = ["--model", tiny_model, "--backend", "torch", "-q"]
    assert _run([tmp_path / "plate" / "plate.%04d.png", tmp_path / "depths.npy", "-o", tmp_path / "a" / "e.%04d.png",
                 "--gt", tmp_path / "gt" / "gt.%04d.png", "--report", tmp_path / "a.json", *model]) == 0
    assert _names(tmp_path / "a") == ["e.1001.png", "e.1002.png", "e.1003.png"]
    assert json.loads((tmp_path / "a.json").read_text())["first_number"] == 1001
    # the same frames as from the numbered depth images (numbered 1001 on by their own names)
    assert _run([tmp_path / "plate" / "plate.%04d.png", tmp_path / "dpng" / "d.%04d.png", "-o",
                 tmp_path / "b" / "e.%04d.png", *model]) == 0
    for name in _names(tmp_path / "b"):
        a, b = (cv2.imread(str(tmp_path / x / name), cv2.IMREAD_UNCHANGED) for x in ("a", "b"))
        assert np.array_equal(a, b), name
    capsys.readouterr()


def test_numbered_depth_keeps_its_own_numbers(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(2)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    write_png_sequence(tmp_path / "d", depths, "d.{:04d}.png", start=7)
    assert _run([tmp_path / "plate" / "plate.%04d.png", tmp_path / "d" / "d.%04d.png", "-o",
                 tmp_path / "a" / "e.%04d.png", "--model", tiny_model, "--backend", "torch", "-q"]) == 0
    assert _names(tmp_path / "a") == ["e.0007.png", "e.0008.png"]
    capsys.readouterr()


def test_colour_video_or_nearest_pairing_numbers_from_zero(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(2)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    write_video(tmp_path / "c.mkv", colors, fmt="rgb24")
    np.save(tmp_path / "depths.npy", np.stack(depths))
    model = ["--model", tiny_model, "--backend", "torch", "-q"]
    assert _run([tmp_path / "c.mkv", tmp_path / "depths.npy", "-o", tmp_path / "a" / "e.%04d.png", "--fps", "30000/1001",
                 *model]) == 0
    assert _names(tmp_path / "a") == ["e.0000.png", "e.0001.png"]
    assert _run([tmp_path / "plate" / "plate.%04d.png", tmp_path / "depths.npy", "-o", tmp_path / "b" / "e.%04d.png",
                 "--pair", "nearest", *model]) == 0
    assert _names(tmp_path / "b") == ["e.0000.png", "e.0001.png"]
    capsys.readouterr()
