"""Photo scenes (data.photo_scenes, the crop cache's photo_share): depth planes on a photograph's
segments, so that depth edges lie on the photograph's own outlines; checked on drawn images whose
regions are known, and against the cache without the option."""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np
import pytest

from igde_stream.data import SceneConfig

SMALL = SceneConfig(width=96, height=64, frames=4, textures="procedural")


def _three_regions(h: int = 48, w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A drawn picture and its regions: left part red, right part blue (the boundary at column 27),
    a green disc (radius 9) across nothing else; flat colours plus mild noise."""
    cls = np.zeros((h, w), np.int64)
    cls[:, 27:] = 1
    yy, xx = np.mgrid[0:h, 0:w]
    cls[(yy - 24) ** 2 + (xx - 46) ** 2 <= 81] = 2
    palette = np.array([[200, 40, 40], [30, 60, 200], [40, 190, 60]], np.int64)
    noise = np.random.default_rng(3).integers(-3, 4, (h, w, 3))
    return np.clip(palette[cls] + noise, 0, 255).astype(np.uint8), cls


def _chebyshev_plane(a: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, float]:
    """The plane ``a @ c`` nearest ``v`` in the largest error (a linear programme, SciPy): (c, error)."""
    from scipy.optimize import linprog

    n = len(v)
    ones = np.ones((n, 1))
    res = linprog(np.r_[0, 0, 0, 1.0], A_ub=np.block([[a, -ones], [-a, -ones]]), b_ub=np.r_[v, -v],
                  bounds=[(None, None)] * 3 + [(0, None)])
    assert res.success
    return res.x[:3], float(res.x[3])


def test_segment_depth_puts_planes_on_the_regions_and_edges_on_their_outlines():
    """On a picture of three flat-coloured regions every segment lies inside one region (a few
    pixels on the outlines aside: no sliver segment along an edge); each segment's depth
    is a plane rounded to integers (the best plane's largest error at most 0.5) of slope at most MAX_TILT whose value at the
    segment's centroid is within rounding of a slot (8 + 3 j); a 4-neighbour depth jump of 2 levels or more happens only
    where the segment changes, and for most draws along nearly all of the left / right outline."""
    from igde_stream.data.photo_scenes import MAX_TILT, SLOT_STEP, segment_depth

    color, cls = _three_regions()
    outlined = 0
    for seed in range(6):
        depth, labels = segment_depth(color, np.random.default_rng(seed), k=1000, min_size=40)
        assert depth.dtype == np.uint8 and labels.dtype == np.int16 and depth.shape == cls.shape
        major = np.array([np.bincount(cls[labels == lab]).argmax() for lab in range(labels.max() + 1)])
        off = major[labels] != cls  # pixels whose segment is mostly another region's
        outline = cv2.dilate(cls.astype(np.uint8), np.ones((3, 3))) != cv2.erode(cls.astype(np.uint8), np.ones((3, 3)))
        assert not (off & ~outline).any() and off.sum() <= 8, seed  # only a few outline pixels
        for lab in np.unique(labels):
            ys, xs = np.nonzero(labels == lab)
            a = np.stack([xs - xs.mean(), ys - ys.mean(), np.ones(len(xs))], 1)
            coef, t = _chebyshev_plane(a, depth[ys, xs].astype(float))
            assert t <= 0.5 + 1e-6, (seed, t)  # a plane, rounded to integers
            assert np.abs(coef[:2]).max() <= MAX_TILT + 0.05, (seed, coef)
            off = (coef[2] - 8) / SLOT_STEP
            assert abs(off - round(off)) * SLOT_STEP <= 0.5 + 1e-6, (seed, coef)
        d = depth.astype(int)
        for jump, same in ((np.abs(np.diff(d, axis=1)) >= 2, labels[:, 1:] == labels[:, :-1]),
                           (np.abs(np.diff(d, axis=0)) >= 2, labels[1:] == labels[:-1])):
            assert not (jump & same).any(), seed
        outlined += (np.abs(d[:, 27] - d[:, 26]) >= 2).mean() >= 0.9  # the disc is far from it
    assert outlined >= 4


def test_photo_scene_windows_are_mirrored_crops_of_the_scaled_photograph():
    """A window is a crop (mirrored or not) of the photograph scaled by 0.5-1, of the asked size or
    the photograph's; the same t gives the same frame; a photograph smaller than the crop is refused."""
    from igde_stream.data.photo_scenes import PhotoScene

    photo = np.random.default_rng(0).integers(0, 256, (120, 160, 3)).astype(np.uint8)
    photo = cv2.GaussianBlur(photo, (0, 0), 3)
    for seed in range(4):
        scene = PhotoScene([photo], np.random.default_rng(seed), (64, 80), (32, 32))
        ph, pw = scene.photo.shape[:2]
        assert 0.5 * 120 - 1 <= ph <= 120 and abs(ph / 120 - pw / 160) < 0.02
        assert scene.shape == (64, 80)
        seen = set()
        for t in range(3):
            f = scene.render(t)
            np.testing.assert_array_equal(f.color, scene.render(t).color)
            found = [(y, x, m) for m in (0, 1) for y in range(ph - 63) for x in range(pw - 79)
                     if np.array_equal(scene.photo[y:y + 64, x:x + 80][:, ::-1] if m else
                                       scene.photo[y:y + 64, x:x + 80], f.color)]
            assert len(found) == 1, (seed, t)
            seen.add(found[0])
        assert len(seen) > 1
    big = PhotoScene([photo], np.random.default_rng(1), (540, 960), (32, 32))
    assert big.shape == big.photo.shape[:2]
    with pytest.raises(ValueError, match="smaller than"):
        PhotoScene([photo[:20]], np.random.default_rng(0), (64, 80), (32, 32))


def _write_photos(folder, n: int = 2) -> None:
    folder.mkdir()
    for i in range(n):
        im = np.random.default_rng(i).integers(0, 256, (90, 120, 3)).astype(np.uint8)
        cv2.imwrite(str(folder / f"p{i}.png"), cv2.GaussianBlur(im, (0, 0), 2))


def test_cache_photo_share_replaces_that_share_of_the_scenes_only(tmp_path):
    """photo_share P: about that share of the scenes (one draw per scene, its own generator) become
    photo scenes, whose crops differ; every other scene's crops stay those of the cache without it.
    The cache's name changes with the share and with the folder's content, not without them."""
    from igde_stream.data import cache

    _write_photos(tmp_path / "ph")
    cfg = cache.CacheConfig(scenes=8, frames_per_scene=2, crops_per_frame=2, crop=(40, 40), mix=True,
                            color_blur=0.0, scene=SMALL)
    base = cache.build_cache(cfg, workers=1, progress=False)
    for share, lo, hi in ((0.0, 0, 0), (0.5, 1, 7), (1.0, 8, 8)):
        c = cache.build_cache(dataclasses.replace(cfg, photo_share=share, photo_dir=str(tmp_path / "ph") if share else ""),
                              workers=1, progress=False)
        changed = (c["gt"] != base["gt"]).reshape(8, 4, -1).any(axis=(1, 2))  # per scene
        want = np.array([np.random.default_rng([0, i, 0xF07]).random() < share for i in range(8)])
        np.testing.assert_array_equal(changed, want)  # the scenes drawn as photo scenes, no others
        assert lo <= changed.sum() <= hi, (share, changed)
        same = ~changed
        for k in ("color", "depth", "gt"):
            np.testing.assert_array_equal(c[k].reshape(8, 4, -1)[same], base[k].reshape(8, 4, -1)[same])
    key = dataclasses.replace(cfg, photo_share=0.5, photo_dir=str(tmp_path / "ph")).key()
    assert key != cfg.key() and dataclasses.replace(cfg, photo_share=0.0).key() == cfg.key()
    assert key != dataclasses.replace(cfg, photo_share=0.5).key()
    cv2.imwrite(str(tmp_path / "ph" / "p1.png"), np.zeros((90, 120, 3), np.uint8))
    assert key != dataclasses.replace(cfg, photo_share=0.5, photo_dir=str(tmp_path / "ph")).key()


def test_photo_options_refuse_bad_input_before_rendering(tmp_path):
    from igde_stream.data.cache import CacheConfig
    from igde_stream.train_config import TrainConfig

    (tmp_path / "empty").mkdir()
    for kw, why in (({"photo_share": 1.5}, "photo_share must be"),
                    ({"photo_dir": str(tmp_path)}, "photo_dir needs photo_share"),
                    ({"photo_share": 0.5, "photo_dir": str(tmp_path / "none")}, "does not exist"),
                    ({"photo_share": 0.5, "photo_dir": str(tmp_path / "empty")}, "holds no images")):
        with pytest.raises(ValueError, match=why):
            CacheConfig(**kw)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"not a png")
    _write_photos(tmp_path / "ph")
    for kw, why in (({"photo_share": 0.5, "photo_dir": str(tmp_path / "bad")}, "cannot read photo"),
                    ({"photo_share": 0.5, "photo_dir": str(tmp_path / "ph"), "crop": (100, 100)}, "smaller than")):
        with pytest.raises(ValueError, match=why):
            CacheConfig(**kw)
    with pytest.raises(ValueError, match="photo_share needs the crop cache"):
        TrainConfig(steps=1, photo_share=0.5)


def test_train_config_records_the_photo_pool(tmp_path):
    from igde_stream.data.photo_scenes import PHOTO_NAMES, pool_digest
    from igde_stream.train_config import TrainConfig

    _write_photos(tmp_path / "ph", 3)
    cfg = TrainConfig(steps=1, cache_scenes=4, crop=(64, 64), photo_share=0.4, photo_dir=str(tmp_path / "ph"))
    rec = cfg.data_params()
    assert rec["photo_share"] == 0.4 and cfg.cache_config().photo_share == 0.4
    assert rec["photo_pool"]["files"] == ["p0.png", "p1.png", "p2.png"]
    assert set(rec["photo_pool"]["scikit_image"]) <= set(PHOTO_NAMES) and rec["photo_pool"]["scikit_image"]
    assert rec["photo_pool"]["digest"] == pool_digest(tmp_path / "ph") != pool_digest(None)
    assert TrainConfig(steps=1, cache_scenes=4).data_params()["photo_pool"] is None


def test_train_tool_refuses_a_missing_photo_folder_in_one_line(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "tools" / "train.py"
    spec = importlib.util.spec_from_file_location("train_tool_photo", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    with pytest.raises(SystemExit) as exit_info:
        tool.main(["--model", "igde-tiny", "--steps", "1", "--workers", "0", "--quiet", "--cache-scenes", "2",
                   "--photo-scenes", "0.5", "--photo-dir", str(tmp_path / "none"), "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and "does not exist" in err[-1], err
    assert not (tmp_path / "run").exists()


def test_photo_errors_limit_the_photo_scenes_mix_only(tmp_path, monkeypatch):
    """photo_errors soft,lowres: every mix drawn with those types has only them on; the cache's
    rendered scenes keep the crops of the cache without it; the cache's name changes with it; bad
    names and a missing photo share or mix are refused."""
    from igde_stream.data import cache
    from igde_stream.data.error_types import mixed_config

    for seed in range(40):
        c = mixed_config(np.random.default_rng(seed), types=("soft", "lowres"))
        assert c.soft_width > 0 or c.lowres > 0
        assert c.p_degrade == 0 and c.edge_holes == 0 and c.shift == 0, seed
    with pytest.raises(ValueError, match="unknown boundary error types"):
        mixed_config(np.random.default_rng(0), types=("soft", "smear"))
    _write_photos(tmp_path / "ph")
    cfg = cache.CacheConfig(scenes=8, frames_per_scene=2, crops_per_frame=2, crop=(40, 40), mix=True,
                            color_blur=0.0, scene=SMALL, photo_share=0.5, photo_dir=str(tmp_path / "ph"))
    base = cache.build_cache(dataclasses.replace(cfg, photo_share=0.0, photo_dir=""), workers=1, progress=False)
    plain = cache.build_cache(cfg, workers=1, progress=False)
    limited = cache.build_cache(dataclasses.replace(cfg, photo_errors=("soft", "lowres")), workers=1, progress=False)
    photo = (plain["gt"] != base["gt"]).reshape(8, 4, -1).any(axis=(1, 2))
    assert 1 <= photo.sum() <= 7
    seen = []  # the types each scene's mix was drawn from
    real_mixed = cache.mixed_config
    limited_cfg = dataclasses.replace(cfg, photo_errors=("soft", "lowres"))
    monkeypatch.setattr(cache, "mixed_config", lambda rng, base, types=(), *args, **kwargs:
                        seen.append(types) or real_mixed(rng, base, types, *args, **kwargs))
    cache.build_cache(limited_cfg, workers=1, progress=False)
    assert seen == [("lowres", "soft") if p else () for p in photo]
    monkeypatch.undo()
    for k in ("color", "depth", "gt"):
        np.testing.assert_array_equal(limited[k].reshape(8, 4, -1)[~photo], base[k].reshape(8, 4, -1)[~photo])
    assert dataclasses.replace(cfg, photo_errors=("soft",)).key() != cfg.key()
    assert (dataclasses.replace(cfg, photo_errors=("soft", "lowres")).key()
            == dataclasses.replace(cfg, photo_errors=("lowres", "soft", "soft")).key())
    for kw, why in (({"photo_errors": ("smear",)}, "unknown boundary error types"),
                    ({"photo_errors": ("soft",), "photo_share": 0.0, "photo_dir": ""}, "photo_errors needs"),
                    ({"photo_errors": ("soft",), "mix": False}, "photo_errors needs")):
        with pytest.raises(ValueError, match=why):
            dataclasses.replace(cfg, **kw)


def test_scene_draws_stay_in_their_documented_ranges():
    """The segmentation's scale k in [150, 1500] (log-uniform), the smallest segment 0.2-1 % of the
    window, and a generator seed of its own per scene."""
    from igde_stream.data.photo_scenes import PhotoScene

    photo = np.random.default_rng(0).integers(0, 256, (120, 160, 3)).astype(np.uint8)
    scenes = [PhotoScene([photo], np.random.default_rng(s), (64, 80), (32, 32)) for s in range(30)]
    ks = [s.k for s in scenes]
    shares = [s.min_size / (64 * 80) for s in scenes]
    assert 150 <= min(ks) and max(ks) <= 1500 and max(ks) / min(ks) > 3
    assert 0.002 - 1 / (64 * 80) <= min(shares) and max(shares) <= 0.01 and max(shares) - min(shares) > 0.004
    assert len({s.seed for s in scenes}) == 30


def test_segment_depth_is_clipped_to_1_254(monkeypatch):
    """Steep tilts push the planes past both ends: depth stays 1..254 (0 would read as a hole)."""
    from igde_stream.data import photo_scenes

    monkeypatch.setattr(photo_scenes, "MAX_TILT", 8.0)
    color, _ = _three_regions()
    lo, hi = 255, 0
    for seed in range(6):
        depth, _ = photo_scenes.segment_depth(color, np.random.default_rng(seed), 300.0, 20)
        lo, hi = min(lo, int(depth.min())), max(hi, int(depth.max()))
    assert (lo, hi) == (1, 254)


def test_photo_pool_checks_each_side_against_the_crop(tmp_path):
    """A tall photograph (100 wide, 300 high) fits a 200 x 50 (h x w) crop; a 120 x 120 crop it does not."""
    from igde_stream.data.photo_scenes import photo_pool

    cv2.imwrite(str(tmp_path / "tall.png"), np.full((300, 100, 3), 90, np.uint8))
    assert any(im.shape[:2] == (300, 100) for im in photo_pool(tmp_path, (200, 50)))
    with pytest.raises(ValueError, match="tall"):
        photo_pool(tmp_path, (120, 120))
