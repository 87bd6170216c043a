"""Training data rendered on the fly (no crop cache, data.dataset.SyntheticCrops): ``--mix`` draws the
boundary error types per scene and ``--color-blur`` softens the colour, as they do with the crop
cache, instead of being dropped without a word; settings that cannot train are one error line."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from igde_stream.data import dataset
from igde_stream.data.error_types import BOUNDARY_ERRORS
from igde_stream.train_config import TrainConfig

pytest.importorskip("torch")

# the DegradeConfig field that each type of the mix turns on
_TYPE_ON = {"inflate-reduce": lambda c: c.p_degrade > 0, "soft": lambda c: c.soft_width > 0,
            "misregistration": lambda c: c.shift > 0, "holes": lambda c: c.edge_holes > 0,
            "lowres": lambda c: c.lowres > 0}


def _crop_config(**kw):
    cfg = TrainConfig(model="igde-tiny", steps=1, crop=(48, 64), scene_size=(64, 48), textures="procedural",
                      workers=0, frames_per_scene=1, crops_per_frame=1, **kw)
    return cfg.crop_config()


def _scenes(cc, monkeypatch, n=16):
    """The crops of ``n`` scenes and the DegradeConfig each scene was degraded with."""
    used = []
    real = dataset.Degrader

    def degrader(config, seed, shape):
        used.append(config)
        return real(config, seed, shape)

    monkeypatch.setattr(dataset, "Degrader", degrader)
    crops = [dataset._crops(np.random.default_rng([5, i]), cc, 1000 + i)[0] for i in range(n)]
    return crops, used


def test_mix_without_a_crop_cache_draws_every_type_per_scene(monkeypatch):
    assert set(_TYPE_ON) == set(BOUNDARY_ERRORS)
    plain, used = _scenes(_crop_config(), monkeypatch)
    assert all(c == used[0] for c in used) and not any(_TYPE_ON[t](used[0]) for t in ("soft", "holes"))
    assert not any(((d == 0) & (g != 0)).any() for _, d, g in plain)  # the paper's type makes no holes
    mixed, used = _scenes(_crop_config(mix=True), monkeypatch)
    for name, on in _TYPE_ON.items():
        assert any(on(c) for c in used), name
    # and the crops have them: depth-0 holes where the truth has depth
    assert any(((d == 0) & (g != 0)).any() for _, d, g in mixed)


def test_color_blur_without_a_crop_cache_blurs_the_colour_only(monkeypatch):
    sharp, _ = _scenes(dataclasses.replace(_crop_config(), flip=False), monkeypatch, n=6)
    soft, _ = _scenes(dataclasses.replace(_crop_config(color_blur=0.8), flip=False), monkeypatch, n=6)
    for (c0, d0, g0), (c1, d1, g1) in zip(sharp, soft):  # the crop is the whole frame: same place
        assert np.array_equal(d0, d1) and np.array_equal(g0, g1)
    assert sum(not np.array_equal(c0, c1) for (c0, _, _), (c1, _, _) in zip(sharp, soft)) >= 3
    assert TrainConfig(model="igde-tiny", steps=1, color_blur=0.8).val_crop_config().color_blur == 0.0


@pytest.mark.parametrize("kw, said", [
    ({"seed": -1}, "seed must be >= 0"), ({"color_blur": -0.5}, "color_blur must be >= 0"),
    ({"gate_weight": -0.1}, "gate_weight must be >= 0"), ({"ce_weight": -0.02}, "ce_weight must be >= 0"),
    ({"hard_share": 2.0}, "hard_share must be in [0, 1]"),
])
def test_settings_out_of_range_are_refused(kw, said):
    with pytest.raises(ValueError, match=said.replace("[", r"\[").replace("]", r"\]")):
        TrainConfig(model="igde-tiny", steps=1, **kw)


def test_a_negative_seed_is_one_line_and_writes_nothing(tmp_path, capsys):
    from conftest import load_tool

    tool = load_tool("train")
    with pytest.raises(SystemExit) as exit_info:
        tool.main(["--model", "igde-tiny", "--steps", "1", "--crop", "32x32", "--workers", "0", "--quiet",
                   "--seed", "-1", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and "seed must be >= 0" in err[-1], err
    assert not (tmp_path / "run").exists()
