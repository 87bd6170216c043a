"""Depth kept in the alpha channel of the colour (an RGBA PNG sequence, ProRes 4444), as some apps
export it: not read as depth, and the refusal now says how to take it out (FFmpeg's alphaextract)
and what to give then. The recipe is run where the ffmpeg command line is installed, and the depth
it gives is compared with the alpha written here."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from igde_stream.cli import main
from igde_stream.stream.formats import alpha_hint

Image = pytest.importorskip("PIL.Image")


@pytest.mark.parametrize("fmt, has", [("rgba", True), ("yuva444p12le", True), ("gbrap", True), ("bgra", True),
                                      ("ya8", False), ("ya16le", False), ("rgb24", False), ("gray", False),
                                      (None, False), ("no-such-format", False)])
def test_the_hint_is_for_colour_with_alpha(fmt, has):
    assert ("alphaextract" in alpha_hint(fmt, "clip.mov")) is has


def _rgba_frames(folder, n=3, h=24, w=32):
    rng = np.random.default_rng(0)
    folder.mkdir()
    alphas = []
    for k in range(n):
        rgb = rng.integers(0, 256, (h, w, 3), np.uint8)
        a = np.zeros((h, w), np.uint8)
        a[:, : w // 2], a[:, w // 2:] = 60 + k, 200  # far left, near right
        Image.fromarray(np.dstack([rgb, a]), "RGBA").save(folder / f"{k:04d}.png")
        alphas.append(a)
    return alphas


def _run(argv, capsys):
    try:
        code = main([str(a) for a in argv])
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err.strip().splitlines()


def test_rgba_alone_is_refused_naming_alphaextract(tmp_path, tiny_model, capsys):
    _rgba_frames(tmp_path / "rgba")
    out = tmp_path / "out.mkv"
    code, err = _run([tmp_path / "rgba" / "%04d.png", "-o", out, "--model", tiny_model, "--backend", "torch"], capsys)
    assert code == 2 and not out.exists() and len(err) == 1, err
    assert f"(ffmpeg -i {tmp_path}/rgba/%04d.png -vf alphaextract -c:v ffv1 depth.mkv)" in err[0]


def test_rgba_as_depth_beside_colour_is_refused_with_the_glob_for_a_folder(tmp_path, tiny_model, capsys):
    _rgba_frames(tmp_path / "rgba")
    out = tmp_path / "out.mkv"
    code, err = _run([tmp_path / "rgba" / "%04d.png", tmp_path / "rgba", "-o", out, "--model", tiny_model,
                      "--backend", "torch"], capsys)
    errors = [line for line in err if "error:" in line]
    assert code == 2 and not out.exists() and len(errors) == 1, err
    assert "the three colour channels differ" in errors[0]
    assert f"(ffmpeg -pattern_type glob -i '{tmp_path}/rgba/*.png' -vf alphaextract -c:v ffv1 depth.mkv)" in errors[0]


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")
def test_the_recipe_gives_the_alpha_as_depth(tmp_path):
    from fractions import Fraction

    from igde_stream.stream import VideoReader
    from igde_stream.stream.sources import InputOptions

    alphas = _rgba_frames(tmp_path / "rgba")
    depth = tmp_path / "depth.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "rgba" / "%04d.png"), "-vf", "alphaextract",
                    "-c:v", "ffv1", str(depth)], check=True)
    reader = VideoReader(str(depth), "depth", source=InputOptions(fps=Fraction(25)))
    got = [f.data for f in reader.frames()]
    reader.close()
    assert len(got) == 3 and all(np.array_equal(g, a) for g, a in zip(got, alphas))
