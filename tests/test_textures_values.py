"""``data.textures`` by hand, on what its docstrings define: the piecewise-linear palette (a field in
[0, 1] to uint8 RGB, rounded to the nearest of 256 table entries), the noise texture's field centred
in that range, the shading as a brightness factor per pixel (colour only: black stays black), and a
photo crop recoloured by permuting its channels or inverting them. The random draws (which kind,
which palette, which photo) are the generator's own; where a test needs one kind it forces
``choice`` and keeps every other draw of the seeded generator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from igde_stream.data import textures as tx


class Forced:
    """A seeded NumPy generator whose ``choice`` returns ``kind``; every other draw is the generator's."""

    def __init__(self, seed: int, kind: str) -> None:
        self._g, self.kind = np.random.default_rng(seed), kind

    def choice(self, options):
        assert self.kind in options
        return self.kind

    def __getattr__(self, name):
        return getattr(self._g, name)


def test_the_palette_maps_a_field_in_0_1_linearly_rounded_to_the_nearest_entry():
    """Two entries, black and white: entry i of the 256 is i (x = i / 255 along the one segment), and
    the field picks round(255 f): 0 -> 0, 0.2 -> 51, 0.5 -> 127.5 rounded up -> 128, 1 -> 255. Three
    entries: the ends are the first and last colours, 0.5 -> entry 128 at x = 256/255, just past the
    middle colour."""
    ramp = np.array([[0, 0, 0], [255, 255, 255]], np.float32)
    out = tx._colormap(np.array([[0.0, 0.2, 0.5, 1.0]], np.float32), ramp)
    assert out.dtype == np.uint8 and out.shape == (1, 4, 3)
    np.testing.assert_array_equal(out[0], np.repeat(np.array([0, 51, 128, 255], np.uint8)[:, None], 3, axis=1))
    rgb = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255]], np.float32)
    out = tx._colormap(np.array([[0.0, 0.5, 1.0]], np.float32), rgb)
    assert out[0, 0].tolist() == [255, 0, 0] and out[0, 2].tolist() == [0, 0, 255]
    f = 256 / 255 - 1  # entry 128 sits at x = 128 x 2 / 255
    assert np.abs(out[0, 1].astype(float) - [0, 255 * (1 - f), 255 * f]).max() <= 1


@pytest.mark.parametrize("seed", range(12))
def test_a_noise_texture_is_its_field_centred_in_the_palette(monkeypatch, seed):
    """Noise through a black-to-white palette: the smooth field (zero mean, unit std) goes to the
    palette centred in [0, 1], so the texture's mean is about mid-gray and it is not flat (it has
    one octave at least)."""
    monkeypatch.setattr(tx, "_colors", lambda rng, n: np.repeat(np.linspace(0, 255, n)[:, None], 3, 1).astype(np.float32))
    tex = tx._procedural(Forced(seed, "noise"), 64, 96)
    gray = tex[..., 0].astype(float)
    assert np.array_equal(tex[..., 0], tex[..., 1]) and np.array_equal(tex[..., 0], tex[..., 2])
    assert 120 < gray.mean() < 135 and 45 < gray.std() < 66, (gray.mean(), gray.std())


def test_shading_is_a_brightness_factor_per_pixel(monkeypatch):
    """The shading multiplies each pixel's colour by one factor (colour only): black stays exactly
    black, a colour keeps its channels' proportions (to rounding, where none is clipped at 255); some
    seeds shade, the factor about 1."""
    base = np.zeros((32, 48, 3), np.uint8)
    base[:, 24:] = (200, 100, 50)
    monkeypatch.setattr(tx, "_procedural", lambda rng, h, w: base.copy())
    shaded = 0
    for seed in range(20):
        tex = tx.make_texture(np.random.default_rng(seed), 32, 48, "procedural")
        assert not tex[:, :24].any()
        r, g, b = (tex[:, 24:, c].astype(float) for c in range(3))
        keep = r < 255  # where red is not clipped at 255
        assert np.abs(r / 2 - g)[keep].max() <= 1 and np.abs(r / 4 - b)[keep].max() <= 1
        shaded += not np.array_equal(tex, base)
        assert 0.5 < r.mean() / 200 < 1.5
    assert shaded > 0


def test_a_photo_crop_is_recoloured_by_permuting_or_inverting_its_channels(monkeypatch):
    """A photograph of one colour (10, 100, 200): every crop of it is that colour with its channels
    permuted, or inverted (255 - c); both happen across seeds."""
    monkeypatch.setattr(tx, "_PHOTOS", [np.full((90, 120, 3), (10, 100, 200), np.uint8)] * 4)
    plain = {tuple(p) for p in itertools.permutations((10, 100, 200))}
    inverted = {tuple(255 - c for c in p) for p in plain}
    seen = set()
    for seed in range(20):
        tex = tx._photo(np.random.default_rng(seed), 32, 48)
        assert tex.shape == (32, 48, 3) and tex.dtype == np.uint8
        colours = {tuple(int(v) for v in c) for c in np.unique(tex.reshape(-1, 3), axis=0)}
        assert len(colours) == 1 and colours <= plain | inverted, colours
        seen |= {"plain" if colours <= plain else "inverted"}
    assert seen == {"plain", "inverted"}
