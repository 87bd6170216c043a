"""Steep planes in the synthetic scenes (SceneConfig.steep_planes) and the label-based edges the
degrader uses with them (degrade.label_edges): a steep plane is one surface, drawn only where it is
nearer, and no boundary error lands on it away from its edges."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from igde_stream.data import Scene, SceneConfig
from igde_stream.data.degrade import Degrader, _widen, depth_edges, label_edges
from igde_stream.data.error_types import error_type_config

SMALL = SceneConfig(width=160, height=96, frames=4, textures="procedural")
STEEP = dataclasses.replace(SMALL, steep_planes=(24, 30))  # about 4-5 at this size (scaled by area)


def test_label_edges_by_hand():
    # a ramp of 3 levels/px is one surface: no edge, though every neighbour pair jumps by 3
    ramp = np.tile(np.arange(0, 30, 3, dtype=np.uint8), (4, 1))
    one = np.zeros(ramp.shape, np.int16)
    assert not label_edges(one, ramp).any()
    assert depth_edges(ramp).all()  # depth jumps alone take the whole ramp for an edge
    # a second surface from column 6 on, 40 levels nearer: the edge is columns 5 and 6, nothing else
    d = ramp.copy()
    d[:, 6:] += 40
    lab = one.copy()
    lab[:, 6:] = 1
    want = np.zeros(d.shape, bool)
    want[:, 5:7] = True
    np.testing.assert_array_equal(label_edges(lab, d), want)
    # two surfaces meeting without a jump (a crease, 1 level apart): no edge
    crease = np.full((4, 10), 100, np.uint8)
    crease[:, 5:] = 101
    lab2 = one.copy()
    lab2[:, 5:] = 1
    assert not label_edges(lab2, crease).any()
    # vertical neighbours count too, and the threshold scales to the 16-bit peak
    d16 = (d.T.astype(np.uint16) * 257).copy()
    np.testing.assert_array_equal(label_edges(lab.T.copy(), d16), want.T)
    with pytest.raises(ValueError, match="shape"):
        label_edges(lab[:2], d)


@pytest.mark.parametrize("bits", [8, 16])
def test_label_edges_equal_depth_edges_on_scenes_without_steep_planes(bits):
    for seed in range(3):
        f = Scene(seed, SMALL).render(2, bits)
        np.testing.assert_array_equal(label_edges(f.labels, f.depth), depth_edges(f.depth))


def test_steep_planes_are_steep_depth_tested_and_leave_the_rest_of_the_scene_alone():
    seen = 0
    for seed in range(4):
        plain, steep = Scene(seed, SMALL), Scene(seed, STEEP)
        assert len(steep.layers) == len(plain.layers) and len(steep.steep) >= 4
        for t in (0, 3):
            a, b = plain.render(t, 16), steep.render(t, 16)
            own = b.labels > len(steep.layers)
            # outside the steep planes the frame is the plain scene's, pixel for pixel
            np.testing.assert_array_equal(a.depth[~own], b.depth[~own])
            np.testing.assert_array_equal(a.color[~own], b.color[~own])
            np.testing.assert_array_equal(a.labels[~own], b.labels[~own])
            # a steep plane shows only where it is nearer than what it covers
            assert (b.depth[own] >= a.depth[own]).all()
            # slopes of 1-4 levels/px (8-bit scale) between neighbours on the same plane
            d = b.depth.astype(np.float64) / 257
            same = own[:, 1:] & (b.labels[:, 1:] == b.labels[:, :-1])
            gx = np.abs(np.diff(d, axis=1))[same]
            same_y = own[1:, :] & (b.labels[1:, :] == b.labels[:-1, :])
            gy = np.abs(np.diff(d, axis=0))[same_y]
            if len(gx) > 50:
                seen += 1
                assert gx.max() <= 4.0 + 1e-6 and gy.max() <= 4.0 + 1e-6
                assert max(np.median(gx), np.median(gy)) > 0.5
    assert seen >= 3


@pytest.mark.parametrize("name", ["paper", "soft", "holes", "lowres"])
def test_with_labels_no_error_lands_on_a_steep_plane_away_from_its_edges(name):
    cfg = error_type_config(name)
    width = {"paper": cfg.max_width, "soft": cfg.soft_width, "holes": cfg.hole_width,
             "lowres": cfg.lowres}[name]
    on_plane = 0
    for seed in range(4):
        sc = Scene(seed, STEEP)
        f = sc.render(1, 8)
        own = f.labels > len(sc.layers)
        band = _widen(label_edges(f.labels, f.depth), width)
        out, err = Degrader(cfg, seed, f.depth.shape).apply(f.depth, 1, f.labels)
        assert err.any() and not (err & ~band).any()
        # without the labels the planes' own slopes are taken for edges (the reason for the labels)
        _, err_depth = Degrader(cfg, seed, f.depth.shape).apply(f.depth, 1)
        on_plane += int((err_depth & own & ~band).sum())
    if name in ("paper", "holes"):  # soft ramps and low resolution leave a plane as it is anyway
        assert on_plane > 0


def test_steep_plane_config_is_checked_and_kept_off_validation():
    with pytest.raises(ValueError, match="steep_planes"):
        SceneConfig(steep_planes=(3, 1))
    with pytest.raises(ValueError, match="steep_slope"):
        SceneConfig(steep_slope=(0.0, 0.01))
    from igde_stream.train_config import TrainConfig

    cfg = TrainConfig(steps=1, steep_planes=5, cache_scenes=4)
    assert cfg.cache_config().scene.steep_planes == (1, 5)
    assert cfg.val_crop_config().scene.steep_planes == (0, 0)
    assert TrainConfig(steps=1).cache_config().scene.steep_planes == (0, 0)
    with pytest.raises(ValueError, match="steep_planes"):
        TrainConfig(steps=1, steep_planes=-1)


def test_evaluation_can_add_steep_planes_to_the_test_split():
    from igde_stream.evaluation import test_sequences

    size = (SMALL.width, SMALL.height)
    plain = test_sequences(2, 2, size, textures="procedural")
    steep = test_sequences(2, 2, size, textures="procedural", steep_planes=30)
    covered = 0
    for a, b in zip(plain, steep):
        differ = a.gt != b.gt
        covered += int(differ.sum())
        assert (b.gt[differ] > a.gt[differ]).all()  # planes in front only (depth-tested)
        assert tuple(b.params["scene"]["steep_planes"]) == (1, 30)
    assert covered > 0


def test_tools_refuse_a_negative_steep_plane_count(capsys):
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    for name in ("tune_gate", "evaluate"):
        spec = importlib.util.spec_from_file_location(name, root / "tools" / f"{name}.py")
        tool = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(tool)
        with pytest.raises(SystemExit) as e:
            tool.main(["--steep-planes", "-1"])
        assert e.value.code == 2 and "--steep-planes" in capsys.readouterr().err
