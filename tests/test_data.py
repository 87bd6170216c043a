import json
import subprocess
import sys

import av
import numpy as np
import pytest

from igde_stream.data import (
    SPLITS, DegradeConfig, Degrader, Scene, SceneConfig, boundary_band, degrade, depth_edges,
    make_sequence, split_seeds, write_clip,
)

SMALL = SceneConfig(width=96, height=64, frames=4, textures="procedural")


def _label_boundaries(labels: np.ndarray) -> np.ndarray:
    e = np.zeros(labels.shape, bool)
    jx = labels[:, 1:] != labels[:, :-1]
    jy = labels[1:, :] != labels[:-1, :]
    e[:, 1:] |= jx
    e[:, :-1] |= jx
    e[1:, :] |= jy
    e[:-1, :] |= jy
    return e


@pytest.mark.parametrize("textures", ["procedural", "photo", "flat"])
def test_scene_deterministic_by_seed(textures):
    cfg = SceneConfig(width=96, height=64, frames=4, textures=textures)
    a = Scene(11, cfg).render(2)
    b = Scene(11, cfg).render(2)
    c = Scene(12, cfg).render(2)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.color, c.color)
    assert a.color.shape == (64, 96, 3) and a.color.dtype == np.uint8
    assert a.depth.shape == (64, 96) and a.depth.dtype == np.uint8


def test_scene_moves_and_sixteen_bit():
    s = Scene(3, SceneConfig(width=128, height=96, frames=8, textures="procedural"))
    f0, f7 = s.render(0), s.render(7)
    assert not np.array_equal(f0.labels, f7.labels)  # objects / camera move
    d16 = s.render(0, bits=16).depth
    assert d16.dtype == np.uint16
    np.testing.assert_array_equal(np.rint(d16 / 257.0).astype(np.uint8), f0.depth)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("bits", [8, 16])
def test_colour_and_depth_edges_align_exactly(seed, bits):
    # flat textures: one colour per layer, so colour edges are exactly the layer boundaries
    cfg = SceneConfig(width=160, height=96, frames=3, textures="flat")
    f = Scene(seed, cfg).render(1, bits=bits)
    assert f.labels.max() >= 2
    layers = _label_boundaries(f.labels)
    color_edges = _label_boundaries(f.color.astype(np.int32) @ np.array([1, 256, 65536]))
    np.testing.assert_array_equal(color_edges, layers)
    np.testing.assert_array_equal(depth_edges(f.depth, 2.0), layers)


def _composite(scene: Scene, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame ``t`` composited by hand from the scene's own layers (mask, texture, depth, path): the
    background window, then each layer's texture pasted through its mask at its position, back to
    front. Position = pos + vel dt + camera dt parallax, dt = t - (frames - 1) / 2, rounded."""
    c = scene.config
    dt = t - (c.frames - 1) / 2
    cam = scene.camera_velocity

    def where(layer):
        return (round(layer.pos[0] + layer.vel[0] * dt + cam[0] * dt * layer.parallax),
                round(layer.pos[1] + layer.vel[1] * dt + cam[1] * dt * layer.parallax))

    bx, by = where(scene._bg)
    color = scene._bg.texture[-by:-by + c.height, -bx:-bx + c.width].copy()
    depth = scene._bg.depth[-by:-by + c.height, -bx:-bx + c.width].copy()
    labels = np.zeros((c.height, c.width), np.int16)
    for i, layer in enumerate(scene.layers, start=1):
        x0, y0 = where(layer)
        for yy, xx in zip(*np.nonzero(layer.mask)):
            y, x = y0 + yy, x0 + xx
            if 0 <= y < c.height and 0 <= x < c.width:
                color[y, x] = layer.texture[yy, xx]
                depth[y, x] = layer.depth[yy, xx]
                labels[y, x] = i
    return color, np.rint(np.clip(depth, 0, 1) * 255).astype(np.uint8), labels


@pytest.mark.parametrize("seed, t", [(5, 1), (8, 0), (13, 2)])
def test_textures_paint_inside_layers_only(seed, t):
    cfg = SceneConfig(width=160, height=96, frames=3, textures="procedural")
    scene = Scene(seed, cfg)
    f = scene.render(t)
    color, depth, labels = _composite(scene, t)
    # each pixel shows the texture of the layer that owns it, at the layer's own texture coordinates:
    # no texture is painted outside its layer's mask, and none is shifted against its mask
    np.testing.assert_array_equal(f.labels, labels)
    np.testing.assert_array_equal(f.color, color)
    np.testing.assert_array_equal(f.depth, depth)
    # the procedural textures do make colour edges inside layers (else the check above would be weak) ...
    key = f.color.astype(np.int64) @ np.array([1, 256, 65536])
    same = f.labels[:, 1:] == f.labels[:, :-1]
    assert (same & (key[:, 1:] != key[:, :-1])).sum() > 100
    # ... and every depth edge still lies on a layer boundary (textures add colour edges, never depth edges)
    np.testing.assert_array_equal(depth_edges(f.depth, 2.0), _label_boundaries(f.labels))


def test_splits_disjoint():
    names = list(SPLITS)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert set(SPLITS[a]).isdisjoint(SPLITS[b])
    assert split_seeds("test", 2) == [SPLITS["test"][0], SPLITS["test"][1]]
    with pytest.raises(ValueError):
        split_seeds("nope", 1)


@pytest.mark.parametrize("bits", [8, 16])
def test_degradation_only_in_boundary_band(bits):
    cfg = DegradeConfig(max_width=3)
    for seed in range(4):
        gt = Scene(seed, SceneConfig(width=160, height=96, frames=2, textures="flat")).render(0, bits).depth
        deg, mask = degrade(gt, cfg, seed)
        assert deg.dtype == gt.dtype and deg.shape == gt.shape
        np.testing.assert_array_equal(mask, deg != gt)
        assert mask.any()
        band = boundary_band(gt, cfg.max_width, cfg.edge_threshold)
        assert not (mask & ~band).any()
        # every change brings a depth from across an edge, at least the edge threshold away
        thr = cfg.edge_threshold * (255 if bits == 8 else 65535) / 255
        assert np.abs(deg.astype(float) - gt)[mask].min() >= thr


def test_degradation_inflates_and_reduces_and_is_deterministic():
    gt = Scene(7, SceneConfig(width=192, height=128, frames=2, textures="flat")).render(0).depth
    d1, m1 = degrade(gt, DegradeConfig(), 3)
    d2, _ = degrade(gt, DegradeConfig(), 3)
    np.testing.assert_array_equal(d1, d2)
    assert (d1[m1] > gt[m1]).any() and (d1[m1] < gt[m1]).any()
    none, m0 = degrade(gt, DegradeConfig(p_degrade=0.0), 3)
    assert not m0.any()
    # temporally coherent: neighbouring frames differ less than distant ones
    deg = Degrader(DegradeConfig(temporal_period=32), 3, gt.shape)
    m_a, m_b, m_c = (deg.apply(gt, t)[1] for t in (0, 1, 16))
    assert (m_a ^ m_b).sum() < (m_a ^ m_c).sum()


def test_degradation_extras_are_separate_options():
    gt = Scene(2, SceneConfig(width=96, height=64, frames=2, textures="flat")).render(0).depth
    base, mb = degrade(gt, DegradeConfig(), 1)
    for extra in ({"blur_sigma": 1.5}, {"noise_std": 2.0}, {"holes": 3}, {"jpeg_quality": 30}):
        d, m = degrade(gt, DegradeConfig(**extra), 1)
        np.testing.assert_array_equal(m, d != gt)
        assert m.sum() > mb.sum()
    with pytest.raises(ValueError):
        DegradeConfig(max_width=1, min_width=2)


def test_sequence_error_mask():
    seq = make_sequence(4, SMALL)
    assert seq.color.shape == (4, 64, 96, 3)
    np.testing.assert_array_equal(seq.error_mask, seq.depth != seq.gt)
    json.dumps(seq.params)


@pytest.mark.parametrize("bits", [8, 16])
def test_write_clip_round_trip(tmp_path, bits):
    paths = write_clip(tmp_path, frames=5, size=(64, 48), seed=9, textures="procedural", bits=bits)
    seq = make_sequence(9, SceneConfig(width=64, height=48, frames=5, textures="procedural"), bits=bits)
    for key, ref in (("depth", seq.depth), ("gt", seq.gt)):
        with av.open(str(paths[key])) as c:
            s = c.streams.video[0]
            assert s.codec_context.name == "ffv1"
            frames = list(c.decode(s))
        assert len(frames) == 5
        fmt = "gray" if bits == 8 else "gray16le"
        got = np.stack([f.to_ndarray(format=fmt) for f in frames])
        np.testing.assert_array_equal(got, ref)
        # constant frame rate 30000/1001 (Matroska stores milliseconds)
        np.testing.assert_allclose([float(f.time) for f in frames], [i * 1001 / 30000 for i in range(5)], atol=1e-3)
    with av.open(str(paths["color"])) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"
        col = [f.to_ndarray(format="rgb24") for f in c.decode(s)]
    assert len(col) == 5 and col[0].shape == (48, 64, 3)
    assert np.abs(col[2].astype(int) - seq.color[2]).mean() < 12  # lossy, but the same picture
    meta = json.loads(paths["params"].read_text())
    assert meta["seed"] == 9 and meta["bits"] == bits and meta["frame_rate"] == "30000/1001"
    assert not list(tmp_path.glob("*.part*"))


def test_data_package_needs_no_torch_or_skimage():
    code = ("import sys; import igde_stream.data as d; "
            "d.make_sequence(1, d.SceneConfig(width=48, height=32, frames=2, textures='procedural')); "
            "bad = [m for m in ('torch', 'skimage', 'av') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reduce_never_erases_a_thin_structure():
    gt = np.full((40, 60), 50, np.uint8)
    gt[:, 28:31] = 200  # a 3 px pole
    cfg = DegradeConfig(min_width=2, max_width=4, p_degrade=1.0, p_inflate=0.0)
    deg, _ = degrade(gt, cfg, 0)
    assert (deg[:, 28:31] == 200).any(axis=1).all()
    erased, _ = degrade(gt, DegradeConfig(min_width=2, max_width=4, p_degrade=1.0, p_inflate=0.0,
                                          keep_thin=False), 0)
    assert not (erased[:, 28:31] == 200).any(axis=1).all()
