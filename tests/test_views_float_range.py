"""``views render`` / ``views quality`` take float depth (PFM, EXR, float .npy) with ``--float-range LO:HI``,
mapped to 16-bit codes as igde-stream maps it, so an enhanced EXR output, and a float ground truth, render
without a 16-bit copy. The expected frames are those of the same depth written by hand as 16-bit PNG codes,
``code = 1 + round((v - LO) / (HI - LO) * 65534)`` (docs/formats.md, "Float depth")."""

from __future__ import annotations

import json

import av
import cv2
import numpy as np
import pytest

from conftest import scene
from test_cli_mistakes import run  # (exit status, stdout, stderr) of igde-stream ARGV
from test_float_depth import write_exr
from test_formats import write_png_sequence

LO, HI = 0.2, 1.5



def _frames(path):
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


@pytest.fixture
def shot(tmp_path):
    colors, depths, _ = scene(2)  # 8-bit depth, larger = nearer
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    (tmp_path / "exr").mkdir()
    (tmp_path / "codes").mkdir()
    (tmp_path / "gt_exr").mkdir()
    (tmp_path / "gt_codes").mkdir()
    for k, d in enumerate(depths):
        v = (LO + d.astype(np.float64) / 255 * (HI - LO) * 0.9).astype(np.float32)  # inverse depth in LO..HI
        g = np.roll(v, 1, axis=1)
        for values, exr, png in ((v, "exr", "codes"), (g, "gt_exr", "gt_codes")):
            write_exr(tmp_path / exr / f"d.{1001 + k:04d}.exr", values)
            codes = 1 + np.round((values.astype(np.float64) - LO) / (HI - LO) * 65534)
            assert cv2.imwrite(str(tmp_path / png / f"d.{1001 + k:04d}.png"), codes.astype(np.uint16))
    return tmp_path


def test_render_float_depth_with_a_range_is_the_renders_of_its_codes(shot, capsys):
    c = shot / "plate" / "plate.%04d.png"
    assert run(["views", "render", c, shot / "exr" / "d.%04d.exr", "-o", shot / "a.mkv", "--layout", "sbs",
                "--float-range", f"{LO}:{HI}", "-q"], capsys)[0] == 0
    assert run(["views", "render", c, shot / "codes" / "d.%04d.png", "-o", shot / "b.mkv", "--layout", "sbs",
                "-q"], capsys)[0] == 0
    a, b = _frames(shot / "a.mkv"), _frames(shot / "b.mkv")
    assert a.shape[0] == 2 and np.array_equal(a, b)


def test_render_float_depth_without_a_range_names_the_option(shot, capsys):
    code, _, err = run(["views", "render", shot / "plate" / "plate.%04d.png", shot / "exr" / "d.%04d.exr", "-o",
                     shot / "a.mkv"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "--float-range LO:HI" in err
    assert not (shot / "a.mkv").exists()


def test_render_range_with_integer_depth_is_refused(shot, capsys):
    code, _, err = run(["views", "render", shot / "plate" / "plate.%04d.png", shot / "codes" / "d.%04d.png", "-o",
                     shot / "a.mkv", "--float-range", f"{LO}:{HI}"], capsys)
    assert code == 2 and "--float-range is for float depth" in err and not (shot / "a.mkv").exists()


def test_quality_float_ground_truth_scores_as_its_codes(shot, capsys):
    c = shot / "plate" / "plate.%04d.png"
    base = ["views", "quality", c, "--depth", f"in={shot / 'codes' / 'd.%04d.png'}", "-q"]
    assert run([*base, "--gt", shot / "gt_exr" / "d.%04d.exr", "--float-range", f"{LO}:{HI}",
                "--report", shot / "f.json"], capsys)[0] == 0
    assert run([*base, "--gt", shot / "gt_codes" / "d.%04d.png", "--report", shot / "i.json"], capsys)[0] == 0
    f, i = (json.loads((shot / n).read_text()) for n in ("f.json", "i.json"))
    assert f["frames"] == 2 and f["depths"] == i["depths"] and f["depths"]["in"]["mean"]["psnr"] < 60
    assert f["float_range"]["lo"] == LO and f["float_range"]["hi"] == HI and "float_range" not in i
