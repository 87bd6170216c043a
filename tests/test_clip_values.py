"""data.clip by hand (fast: tiny frames, or the renderer replaced by a stand-in): the frame count
write_video returns, H.264's even sizes (any even size, not only multiples of 4), write_clip's
defaults as the docs give them, and data.json's depth format per bit depth."""

from __future__ import annotations

import json
from fractions import Fraction
from types import SimpleNamespace

import av
import numpy as np
import pytest

from igde_stream.data import SPLITS, clip


@pytest.mark.parametrize("h, w, ok", [(10, 6, True), (6, 10, True), (9, 6, False), (10, 7, False)])
def test_colour_needs_even_sizes_and_returns_its_frame_count(tmp_path, h, w, ok):
    """H.264 yuv420p: even H and W (the docstring), so 10 x 6 (neither a multiple of 3 nor of 4) is
    written; 9 or 7 is refused. The count of frames written is returned."""
    frames = [np.full((h, w, 3), 40 * i, np.uint8) for i in range(3)]
    if not ok:
        with pytest.raises(ValueError, match=f"even sizes, got {w}x{h}"):
            clip.write_video(tmp_path / "c.mp4", frames, kind="color")
        return
    assert clip.write_video(tmp_path / "c.mp4", frames, kind="color") == 3
    with av.open(str(tmp_path / "c.mp4")) as c:
        got = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(got) == 3 and got[0].shape == (h, w, 3)
    assert clip.write_video(tmp_path / "d.mkv", (f[..., 0] for f in frames), kind="depth") == 3


def test_write_clip_defaults_are_the_documented_ones(tmp_path, monkeypatch):
    """docs/training.md: the test split's clips are 48 frames at 960x540, at 30000/1001 fps, and
    write_clip writes one such clip; its docstring: the default seed is the first test seed, 8-bit
    depth; ``igde-stream --demo`` runs on a runtime-only install, so procedural textures. The renderer
    and encoder are stand-ins here (no 960x540 frames are made)."""
    seen = {}

    def fake_sequence(seed, scene, degradation, bits):
        seen.update(seed=seed, scene=scene, bits=bits)
        return SimpleNamespace(color=[], depth=[], gt=[], params={"seed": seed, "bits": bits},
                               error_mask=np.array([0.0, 1.0, 0.0, 0.0]))

    def fake_video(path, frames, *, kind, rate):
        seen.setdefault("rates", []).append(rate)
        path.write_bytes(b"")
        return 0

    monkeypatch.setattr(clip, "make_sequence", fake_sequence)
    monkeypatch.setattr(clip, "write_video", fake_video)
    clip.write_clip(tmp_path)
    scene = seen["scene"]
    assert (scene.width, scene.height, scene.frames, scene.textures) == (960, 540, 48, "procedural")
    assert seen["seed"] == SPLITS["test"][0] == SPLITS["test"].start and seen["bits"] == 8
    assert seen["rates"] == [Fraction(30000, 1001)] * 3
    meta = json.loads((tmp_path / "data.json").read_text())
    assert (meta["frames"], meta["width"], meta["height"], meta["frame_rate"]) == (48, 960, 540, "30000/1001")
    assert meta["depth_codec"] == "FFV1 level 3 (lossless), gray" and meta["error_pixel_fraction"] == 0.25
    assert meta["files"] == {"color": "color.mp4", "depth": "depth.mkv", "gt": "gt.mkv"}


@pytest.mark.parametrize("bits, fmt", [(8, "gray"), (16, "gray16le")])
def test_data_json_names_the_depth_format_it_wrote(tmp_path, bits, fmt):
    """The depth_codec of data.json names the pixel format the depth file has (read back by PyAV)."""
    paths = clip.write_clip(tmp_path, frames=2, size=(32, 24), seed=5, bits=bits)
    with av.open(str(paths["depth"])) as c:
        assert c.streams.video[0].codec_context.pix_fmt == fmt
    meta = json.loads(paths["params"].read_text())
    assert meta["depth_codec"] == f"FFV1 level 3 (lossless), {fmt}"
    assert (meta["frames"], meta["width"], meta["height"]) == (2, 32, 24)
