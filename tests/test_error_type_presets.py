"""The named error types are what the project says they are (issue 11: inflate / reduce 1-6 px, soft
transitions 1-5 px, misregistration up to 2 px), measured on what they do to a long step edge rather
than read back from their settings; the training mix draws every strength of each type; the
evaluation's fixed presets stay as the published result rows define them."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from igde_stream.data import Scene, SceneConfig
from igde_stream.data.degrade import DegradeConfig, Degrader
from igde_stream.data.error_types import error_type_config, mixed_config

SMALL = SceneConfig(width=96, height=64, frames=4, textures="procedural")


def _long_step(h=240, w=80, col=40):
    gt = np.full((h, w), 40, np.uint8)
    gt[:, col:] = 200
    return gt


def test_inflate_reduce_bleeds_1_to_6_px():
    # inflate on every edge pixel: each row of the near side (200) bleeds into the far side (40) by
    # that row's drawn width; over 240 rows of the smooth width field the extremes 1 and 6 occur
    gt = _long_step()
    cfg = dataclasses.replace(error_type_config("inflate-reduce"), p_degrade=1.0, p_inflate=1.0, keep_thin=False)
    out, _ = Degrader(cfg, seed=3, shape=gt.shape).apply(gt, 0)
    assert (out[:, 40:] == 200).all() and (out[:, :30] == 40).all()
    bled = (out[:, 30:40] == 200).sum(1)
    assert bled.min() == 1 and bled.max() == 6, np.bincount(bled)


def test_soft_ramps_reach_1_to_5_px_on_each_side():
    # a pixel whose ramp radius is r (1..5, from a smooth field) takes the (2r+1)^2 box mean: it
    # changes when its box spans the edge (columns 40-r .. 39+r), to a value strictly between the
    # two sides; so every row changes 2 to 10 columns, all within 35..44, and radius 5 reaches both ends
    gt = _long_step()
    cfg = dataclasses.replace(error_type_config("soft"), p_soft=1.0)
    out, err = Degrader(cfg, seed=4, shape=gt.shape).apply(gt, 0)
    per_row = err.sum(1)
    assert per_row.min() >= 2 and per_row.max() == 10, np.bincount(per_row)
    assert err[:, 39:41].all() and err[:, 35].any() and err[:, 44].any()
    assert not err[:, :35].any() and not err[:, 45:].any()
    assert ((out[err] > 40) & (out[err] < 200)).all()


def test_misregistration_moves_the_whole_map_by_up_to_2_px_and_nothing_else():
    gt = Scene(3, SMALL).render(0, 8).depth
    h, w = gt.shape
    ys, xs = np.mgrid[2:h - 2, 2:w - 2]
    reach = set()
    for seed in range(40):
        deg = Degrader(error_type_config("misregistration"), seed, gt.shape)
        dy, dx = deg.shift_offset()
        reach.add(max(abs(dy), abs(dx)))
        out, _ = deg.apply(gt, 0)
        np.testing.assert_array_equal(out[ys, xs], gt[ys - dy, xs - dx])  # a pure shift: no edge error on top
    assert reach == {1, 2}


def test_the_training_mix_draws_every_soft_width_and_lowres_factor():
    rng = np.random.default_rng(2)
    cfgs = [mixed_config(rng) for _ in range(400)]
    assert {c.soft_width for c in cfgs if c.soft_width > 0} == {1, 2, 3, 4, 5}
    low = [c for c in cfgs if c.lowres > 0]
    assert {c.lowres for c in low} == {2, 3, 4}
    linear = np.mean([c.lowres_linear for c in low])
    assert 0.35 < linear < 0.65, linear  # linear and nearest about equally often
    assert {c.max_width for c in (mixed_config(rng, max_width=2) for _ in range(50)) if c.p_degrade > 0} == {2}


@pytest.mark.parametrize("name, fields", [
    ("mix", {"min_width": 1, "max_width": 6, "p_degrade": 0.85, "soft_width": 5, "p_soft": 0.4, "shift": 1,
             "edge_holes": 0.3, "hole_width": 4, "lowres": 0}),
    ("codec", {"jpeg_quality": 75, "p_degrade": DegradeConfig().p_degrade}),
    ("dropouts", {"holes": 12, "p_degrade": DegradeConfig().p_degrade}),
    ("noise", {"noise_std": 1.5}),
    ("blur", {"blur_sigma": 1.5, "p_degrade": 0.0}),
])
def test_the_evaluation_presets_are_the_published_rows(name, fields):
    """These presets define rows of docs/results.md and results/*.md; a change would make new
    figures incomparable with the published ones, so it must be a deliberate one, made here too."""
    cfg = error_type_config(name)
    assert {k: getattr(cfg, k) for k in fields} == fields
