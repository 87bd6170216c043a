"""Values of ``data/dataset.py`` (mutation campaign 58c), from docs/training.md ("random crops
(default 256x256, horizontal flips) ... each 960x540 scene gives 2 frames x 8 crops, mixed through a
shuffle buffer"; "8 boundary-rich validation crops") and the docstrings: each sample is yielded once;
the validation crops are windows of the val scenes' frames, the most boundary-rich of the candidate
windows; ``profile_data`` is CPU milliseconds per sample. The crop generator and the clock are
stand-ins where only the bookkeeping is tested; the validation windows are checked against frames
rendered here."""

from __future__ import annotations

import itertools
from types import SimpleNamespace as NS

import numpy as np
import pytest
import torch

from igde_stream.data import dataset
from igde_stream.data.dataset import CropConfig, SyntheticCrops, profile_data, validation_set
from igde_stream.data.synthetic import SPLITS, Scene, SceneConfig, split_seeds
from igde_stream.train_config import TrainConfig

SMALL = SceneConfig(width=64, height=48, frames=3, textures="procedural")


def test_the_crop_defaults_are_the_documented_recipe():
    c = CropConfig()
    assert (c.crop, c.frames_per_scene, c.crops_per_frame, c.flip) == ((256, 256), 2, 8, True)
    assert (c.scene.width, c.scene.height) == (960, 540)
    # the training-only options are off unless asked for (--mix, --color-blur)
    assert not c.mix and c.color_blur == 0 == TrainConfig(model="igde-tiny", steps=1).color_blur


ONE = SceneConfig(width=64, height=48, frames=1, textures="procedural")  # frame 0 is the only one


def _mirror_or_not(crop, whole):
    """True: ``crop`` is ``whole`` mirrored left-right; False: as it is (neither: fails)."""
    if np.array_equal(crop, whole):
        return False
    assert np.array_equal(crop, whole[:, ::-1])
    return True


@pytest.mark.parametrize("flip", [True, False])
def test_crops_are_8_bit_windows_flipped_at_random_colour_and_depth_together(flip):
    # crops as wide as the frame: every one is the whole width, mirrored or not
    cc = CropConfig(crop=(20, 64), scene=ONE, frames_per_scene=2, crops_per_frame=8, flip=flip)
    seed = 1000
    f = Scene(seed, ONE).render(0, 8)
    d, _ = dataset.Degrader(cc.degradation, seed, (48, 64)).apply(f.depth, 0, f.labels)
    mirrored = []
    for c, di, g in dataset._crops(np.random.default_rng(3), cc, seed):
        assert (c.shape, di.shape, g.shape) == ((3, 20, 64), (1, 20, 64), (1, 20, 64))
        assert c.dtype == di.dtype == g.dtype == torch.uint8
        rows = [y for y in range(48 - 20 + 1) if np.array_equal(f.depth[y:y + 20], g[0].numpy())
                or np.array_equal(f.depth[y:y + 20, ::-1], g[0].numpy())]
        assert rows
        y = rows[0]
        m = _mirror_or_not(g[0].numpy(), f.depth[y:y + 20])
        assert _mirror_or_not(di[0].numpy(), d[y:y + 20]) == m
        assert _mirror_or_not(c.permute(1, 2, 0).numpy(), f.color[y:y + 20]) == m
        mirrored.append(m)
    assert len(mirrored) == 16
    assert (0 < sum(mirrored) < 16) if flip else not any(mirrored)


def _tagged_crops(calls):
    """A stand-in for ``_crops``: frames x crops samples tagged (scene seed, k) and a draw of the rng."""
    def crops(rng, cfg, scene_seed):
        calls.append(scene_seed)
        n = cfg.frames_per_scene * cfg.crops_per_frame
        return [(scene_seed, k, int(rng.integers(1 << 30))) for k in range(n)]
    return crops


def _take(ds, n):
    return list(itertools.islice(iter(ds), n))


def test_samples_are_mixed_across_scenes_and_each_is_yielded_once(monkeypatch):
    calls = []
    monkeypatch.setattr(dataset, "_crops", _tagged_crops(calls))
    got = _take(SyntheticCrops(CropConfig()), 200)
    assert len({(s, k) for s, k, _ in got}) == 200  # none twice
    assert len({s for s, _, _ in got[:16]}) > 1  # not one scene's 2 x 8 crops in a row
    assert all(SPLITS["train"].start <= s < SPLITS["train"].stop for s in calls)


@pytest.mark.parametrize("kw", [{"frames_per_scene": 0}, {"crops_per_frame": 0}])
def test_a_scene_that_gives_no_crop_is_refused(kw):
    # SyntheticCrops rendered scene after scene and never yielded (found by mutation campaign 58c)
    with pytest.raises(ValueError, match="must be >= 1"):
        CropConfig(**kw)


def test_a_buffer_of_zero_still_yields_every_sample(monkeypatch):
    monkeypatch.setattr(dataset, "_crops", _tagged_crops([]))
    cc = CropConfig(shuffle_buffer=0, frames_per_scene=1, crops_per_frame=4)
    got = _take(SyntheticCrops(cc), 12)
    assert len({(s, k) for s, k, _ in got}) == 12


def test_by_default_the_data_is_that_of_a_fresh_run_with_the_default_seed(monkeypatch):
    # training passes seed=cfg.seed and epoch=the step it starts from: 0 for a fresh run
    monkeypatch.setattr(dataset, "_crops", _tagged_crops([]))
    cc = CropConfig(frames_per_scene=1, crops_per_frame=2, shuffle_buffer=4)
    first = _take(SyntheticCrops(cc), 8)
    assert first == _take(SyntheticCrops(cc, seed=TrainConfig(model="igde-tiny", steps=1).seed, epoch=0), 8)
    assert first != _take(SyntheticCrops(cc, seed=1), 8) and first != _take(SyntheticCrops(cc, epoch=1), 8)


def _frame(i, cfg):
    seed = split_seeds("val", i + 1)[i]
    return Scene(seed, cfg.scene).render(i % cfg.scene.frames, 8)


def _window(big, small):
    """The (y, x) where ``small`` (h x w ...) sits in ``big``, found by trying every place."""
    h, w = small.shape[:2]
    return [(y, x) for y in range(big.shape[0] - h + 1) for x in range(big.shape[1] - w + 1)
            if np.array_equal(big[y:y + h, x:x + w], small)]


def test_validation_crops_are_windows_of_the_val_frames():
    cfg = CropConfig(crop=(16, 24), scene=SMALL)
    color, depth, gt = validation_set(cfg, samples=3)
    assert (color.shape, depth.shape, gt.shape) == ((3, 3, 16, 24), (3, 1, 16, 24), (3, 1, 16, 24))
    assert color.dtype == depth.dtype == gt.dtype == torch.uint8
    for i in range(3):
        f = _frame(i, cfg)
        places = _window(f.color, color[i].permute(1, 2, 0).numpy())
        assert places and any(np.array_equal(f.depth[y:y + 16, x:x + 24], gt[i, 0].numpy()) for y, x in places)


def test_validation_crops_of_the_whole_frame_and_the_default_count():
    cfg = CropConfig(crop=(48, 64), scene=SMALL)
    color, _, gt = validation_set(cfg)
    assert len(gt) == 8  # docs/training.md: 8 validation crops
    for i in (0, 7):
        f = _frame(i, cfg)
        assert np.array_equal(gt[i, 0].numpy(), f.depth) and np.array_equal(color[i].permute(1, 2, 0).numpy(), f.color)


class _ScriptedRng:
    """Candidate windows at the top-left corners ``pairs`` (y, x), in turn; notes the bounds asked."""

    def __init__(self, pairs, bounds):
        self.values, self.bounds = itertools.cycle(itertools.chain.from_iterable(pairs)), bounds

    def integers(self, high):
        self.bounds.append(high)
        return next(self.values)


@pytest.mark.parametrize("crop, pairs, errors, best", [
    # errors in the columns from 44 on: a 24-wide window at x holds max(0, x - 20) / 24 of them,
    # most at the largest x of the candidates (40); the window covers every row (h = H)
    ((48, 24), [(0, x) for x in (3, 20, 7, 40, 12, 0, 33, 25)], (slice(None), slice(44, None)), (0, 40)),
    # errors in the bottom-right 24 x 24: all of window (24, 40), 23 of its 24 rows in (23, 40)
    ((24, 24), [(23, 40), (0, 0), (24, 40), (5, 10), (12, 30), (24, 0), (0, 40), (20, 20)],
     (slice(24, None), slice(40, None)), (24, 40)),
    # errors in the 16 x 16 block at (16, 16): all of window (16, 16), half of (16, 8)
    ((16, 16), [(16, 8), (0, 0), (16, 16), (30, 40), (5, 5), (0, 48), (10, 30), (32, 20)],
     (slice(16, 32), slice(16, 32)), (16, 16)),
])
def test_the_validation_window_is_the_candidate_with_the_most_errors(monkeypatch, crop, pairs, errors, best):
    bounds = []

    class _NumPy:
        random = NS(default_rng=lambda seed: _ScriptedRng(pairs, bounds))

        def __getattr__(self, name):
            return getattr(np, name)

    class _Degrader:
        def __init__(self, config, seed, shape):
            pass

        def apply(self, depth, t, labels):
            d = depth.copy()
            d[errors] ^= 1
            return d, None

    monkeypatch.setattr(dataset, "np", _NumPy())
    monkeypatch.setattr(dataset, "Degrader", _Degrader)
    cfg = CropConfig(crop=crop, scene=SMALL)
    color, depth, gt = validation_set(cfg, samples=2)
    (h, w), (y, x) = crop, best
    for i in range(2):
        f = _frame(i, cfg)
        wrong = np.zeros(f.depth.shape, np.uint8)
        wrong[errors] = 1
        assert np.array_equal(gt[i, 0].numpy(), f.depth[y:y + h, x:x + w])
        assert np.array_equal(color[i].permute(1, 2, 0).numpy(), f.color[y:y + h, x:x + w])
        assert np.array_equal(depth[i, 0].numpy(), (f.depth ^ wrong)[y:y + h, x:x + w])
    # a window fits at rows 0..H-h and columns 0..W-w: integers(high) draws below high
    assert set(bounds[0::2]) == {48 - h + 1} and set(bounds[1::2]) == {64 - w + 1}


def test_the_colour_blur_is_a_gaussian_of_a_sigma_drawn_up_to_the_maximum():
    drawn = []

    class _Rng:
        def uniform(self, low, high):
            drawn.append((low, high))
            return 1.5

    dot = np.zeros((21, 21, 3), np.uint8)
    dot[10, 10] = 255
    out = dataset.blurred_color(dot, _Rng(), 2.0)
    assert drawn == [(0, 2.0)]
    # a Gaussian is the same across and down: a dot spreads alike both ways, and the sum stays
    assert np.array_equal(out, out.transpose(1, 0, 2)) and out[9, 10, 0] == out[10, 9, 0] > 0
    assert abs(int(out[..., 0].sum()) - 255) < 20


def test_profile_data_is_cpu_milliseconds_per_sample_after_one_warm_up(monkeypatch):
    drawn = []

    class _Crops:
        def __init__(self, config, seed=0):
            pass

        def __iter__(self):
            return self

        def __next__(self):
            drawn.append(1)
            return None

    clock = iter([10.0, 10.5])
    monkeypatch.setattr(dataset, "SyntheticCrops", _Crops)
    monkeypatch.setattr(dataset.time, "process_time", lambda: next(clock))
    assert profile_data(CropConfig(), samples=5) == pytest.approx(100.0)  # 0.5 s / 5 samples
    assert len(drawn) == 6
    clock = iter([10.0, 10.5])
    assert 0 < profile_data(CropConfig()) < 500  # the default count: some samples, each under 0.5 s
