"""A 3-channel PFM (``PF``) whose disparity is in R, G and B 0 (SceneFlow's layout) is refused in one
line that names the channel holding the values and what to save; the PFM is written here by hand,
bottom row first, little-endian (scale -1), as the format's spec says."""

from __future__ import annotations

import numpy as np


def _write_pfm(path, rgb: np.ndarray) -> None:
    h, w = rgb.shape[:2]
    path.write_bytes(b"PF\n%d %d\n-1.0\n" % (w, h) + np.flipud(rgb).astype("<f4").tobytes())


def test_sceneflow_three_channel_pfm_names_its_disparity_channel(tmp_path, capsys):
    import cv2

    from igde_stream.cli import main

    h, w = 24, 32
    disp = np.tile(np.linspace(5, 40, w, dtype=np.float32), (h, 1))
    (tmp_path / "rgb").mkdir()
    (tmp_path / "disp").mkdir()
    cv2.imwrite(str(tmp_path / "rgb" / "000000.png"), np.full((h, w, 3), 90, np.uint8))
    zero = np.zeros_like(disp)
    _write_pfm(tmp_path / "disp" / "000000.pfm", np.stack([disp, zero, zero], -1))
    out = tmp_path / "out" / "%06d.pfm"
    assert main([str(tmp_path / "rgb"), str(tmp_path / "disp"), "-o", str(out), "--backend", "onnxruntime"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("igde-stream: error: ")
    assert err[0].endswith("(B and G all 0, values in R only, as a SceneFlow PFM keeps its disparity): save R alone "
                           "as a 1-channel PFM (Pf) or EXR, which is read")
    assert not (tmp_path / "out").exists()
