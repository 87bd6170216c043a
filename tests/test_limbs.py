"""Limbs of the synthetic scenes (SceneConfig.limbs): thin parts grown out of solid layers, attached,
at any angle; off by default, where scenes and crop-cache names stay what they were."""

from __future__ import annotations

import dataclasses
import hashlib

import cv2
import numpy as np
import pytest

from igde_stream.data import Scene, SceneConfig
from igde_stream.data.cache import CacheConfig
from igde_stream.data.synthetic import _with_limbs
from igde_stream.train_config import TrainConfig

SMALL = SceneConfig(width=160, height=96, frames=4, textures="procedural")


def test_scenes_and_cache_names_without_limbs_are_unchanged():
    # both values were computed by the code before limbs existed
    assert CacheConfig().key() == "bbad8c1344ff"
    f = Scene(5, SMALL).render(2)
    assert hashlib.sha256(f.depth.tobytes() + f.color.tobytes()).hexdigest()[:16] == "3b52f3258ef2a638"
    assert CacheConfig(scene=dataclasses.replace(SceneConfig(), limbs=(0, 3))).key() != CacheConfig().key()


def _thin_part(mask: np.ndarray, k: int = 9) -> np.ndarray:
    """Pixels of ``mask`` that a k x k opening removes: parts thinner than about k px."""
    m = mask.astype(np.uint8)
    opened = cv2.morphologyEx(m, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (k, k)))
    return (m > 0) & (opened == 0)


@pytest.mark.parametrize("seed", range(5))
def test_limbs_are_thin_attached_and_leave_the_shape_whole(seed):
    square = np.ones((40, 40), bool)
    rng = np.random.default_rng(seed)
    out = _with_limbs(rng, square, 3, 1.0)
    # the shape is still there, whole: a 40 x 40 block of ones somewhere in the new box
    filled = cv2.matchTemplate(out.astype(np.float32), square.astype(np.float32), cv2.TM_SQDIFF)
    assert np.isclose(filled, 0).any()
    # one 8-connected piece: every limb starts on the shape
    n, _ = cv2.connectedComponents(out.astype(np.uint8), connectivity=8)
    assert n == 2
    # the limbs are thin (at most 6 px at scale 1, so a 9 x 9 opening removes them) and long
    thin = _thin_part(out)
    assert thin.sum() >= 3 * 0.3 * 40  # three limbs of at least 0.3 x 40 px, at least 1 px thick
    assert out.sum() - thin.sum() <= square.sum() + 2 * 9 * 9 * 3  # nothing but the limbs is new
    # the result is cut to its tight box
    assert out[0].any() and out[-1].any() and out[:, 0].any() and out[:, -1].any()


def test_limbs_of_a_scene_carry_their_layers_depth():
    cfg = dataclasses.replace(SMALL, width=480, height=270, limbs=(3, 3), thin=(1, 1))
    scene = Scene(11, cfg)
    t = 1
    f = scene.render(t)
    grown = [_thin_part(layer.mask).sum() for layer in scene.layers]
    # the solid layers grew thin parts (a limb may run back across its own shape, so not every one)
    assert sum(n > 30 for n in grown) >= 0.8 * len(grown)
    seen = 0
    for i, layer in enumerate(scene.layers, start=1):
        # where a limb shows in the frame it has its layer's label and the depth of its layer's plane
        x0, y0 = scene._offset(layer, t)
        ys, xs = np.nonzero(_thin_part(layer.mask))
        fy, fx = ys + y0, xs + x0
        inside = (fy >= 0) & (fy < cfg.height) & (fx >= 0) & (fx < cfg.width)
        ys, xs, fy, fx = ys[inside], xs[inside], fy[inside], fx[inside]
        mine = f.labels[fy, fx] == i
        want = np.rint(layer.depth[ys[mine], xs[mine]] * 255)
        np.testing.assert_array_equal(f.depth[fy[mine], fx[mine]], want)
        seen += int(mine.sum())
    assert seen > 200


def test_limbs_in_training_scenes_only_and_checked():
    cfg = TrainConfig(steps=1, limbs=4, cache_scenes=4)
    assert cfg.cache_config().scene.limbs == (0, 4)
    assert cfg.val_crop_config().scene.limbs == (0, 0)
    assert TrainConfig(steps=1).cache_config().scene.limbs == (0, 0)
    with pytest.raises(ValueError, match="limbs"):
        TrainConfig(steps=1, limbs=-1)
    with pytest.raises(ValueError, match="limbs"):
        SceneConfig(limbs=(3, 1))


def test_train_tool_rejects_negative_limbs_in_one_line(capsys):
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("train_tool", Path(__file__).resolve().parents[1] / "tools" / "train.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as e:
        tool.main(["--limbs", "-1"])
    assert e.value.code == 2 and "limbs" in capsys.readouterr().err
