"""tools/tune_filters.py with a real photograph (``--real-scene``): every setting is scored on the
photograph's measured pixels only, as the evaluation scores its Middlebury rows; the expected PSNR is
recomputed here from the same degraded frames with NumPy."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import cv2
import numpy as np

from igde_stream.data.error_types import error_type_config
from igde_stream.filters import guided
from igde_stream.real_frames import disparity_file_sequence

ROOT = Path(__file__).resolve().parents[1]


def _tool():
    spec = importlib.util.spec_from_file_location("tune_filters_tool", ROOT / "tools" / "tune_filters.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pair(tmp_path: Path) -> tuple[str, str]:
    """A 48 x 64 photograph of two colour blocks and its disparity (left 40, right 120), with a band of
    unknown (0) disparity down the right block, as a stereo set leaves occluded pixels."""
    rng = np.random.default_rng(3)
    color = np.zeros((48, 64, 3), np.uint8)
    color[:, :30] = (200, 60, 40)
    color[:, 30:] = (30, 90, 210)
    color = np.clip(color + rng.normal(0, 3, color.shape), 0, 255).astype(np.uint8)
    disp = np.full((48, 64), 40, np.uint8)
    disp[:, 30:] = 120
    disp[:, 44:50] = 0
    c, d = tmp_path / "view.png", tmp_path / "disp.png"
    cv2.imwrite(str(c), cv2.cvtColor(color, cv2.COLOR_RGB2BGR))
    cv2.imwrite(str(d), disp)
    return str(c), str(d)


def test_real_scene_settings_are_scored_on_measured_pixels(tmp_path, monkeypatch):
    tool = _tool()
    monkeypatch.setitem(tool.PHOTO_GRIDS, "guided", {"radius": [2, 6], "eps": [1e-4]})
    c, d = _pair(tmp_path)
    out = tmp_path / "tuning.json"
    assert tool.main(["--frames", "0", "--errors", "paper", "--real-scene", c, d, "--real-scale", "1",
                      "--real-frames", "2", "--grid", "photo", "--filters", "guided", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())["filters"]["guided"]["grid"]
    seq = disparity_file_sequence(c, d, error_type_config("paper"), frames=2, scale=1.0)
    assert (seq.valid == (cv2.imread(d, cv2.IMREAD_UNCHANGED) != 0)).all()
    assert [r["params"]["radius"] for r in rows] == [2, 6]
    for row in rows:
        outs = [guided(seq.color[t], seq.depth[t], radius=row["params"]["radius"], eps=1e-4) for t in range(2)]
        err = [(o.astype(np.float64) - g.astype(np.float64)) for o, g in zip(outs, seq.gt)]
        measured = np.mean([np.mean(e[v] ** 2) for e, v in zip(err, seq.valid)])
        every = np.mean([np.mean(e ** 2) for e in err])
        want = 10 * np.log10(255.0 ** 2 / measured)
        assert abs(row["psnr"] - want) < 1e-9
        assert abs(10 * np.log10(255.0 ** 2 / every) - want) > 0.2  # the unknown band weighs on every pixel


def test_frames_0_needs_a_real_scene(capsys):
    tool = _tool()
    try:
        tool.main(["--frames", "0", "--out", "/nonexistent/t.json"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "--frames must be >= 1, or 0 with --real-scene, got 0" in capsys.readouterr().err
