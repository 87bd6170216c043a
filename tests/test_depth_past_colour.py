"""A depth clip that runs a few frames past its colour (12 depth frames beside 10 colour frames at 25
fps): the refusal listed depth frames 10 and 11 and nothing to do about them, where a colour running
longer is pointed to --pair nearest. It now names the --max-frames that takes the depth frames the
colour covers (10, counted by hand; from --start 0.2, 5), with either pairing; a gap inside the
colour gets no such advice. Nothing is written either way."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from conftest import write_video
from igde_stream import multiview as mv
from igde_stream.errors import PairingError
from igde_stream.stream.views import render_file

W, H = 32, 24


def _clips(tmp_path, n_color=10, n_depth=12, color_times=None):
    rng = np.random.default_rng(5)
    color = write_video(tmp_path / "c.mkv", rng.integers(0, 256, (n_color, H, W, 3), np.uint8), fmt="rgb24",
                        codec="ffv1", rate=Fraction(25), time_base=Fraction(1, 1000), times=color_times)
    depth = write_video(tmp_path / "d.mkv", rng.integers(0, 65536, (n_depth, H, W), np.uint16), fmt="gray16le",
                        rate=Fraction(25), time_base=Fraction(1, 1000))
    return color, depth


@pytest.mark.parametrize("pair", ["exact", "nearest"])
def test_depth_past_the_colour_names_the_max_frames_it_covers(tmp_path, pair):
    color, depth = _clips(tmp_path)
    with pytest.raises(PairingError) as err:
        render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", pair=pair)
    assert "--max-frames 10" in str(err.value), str(err.value)
    assert not (tmp_path / "v.mkv").exists()
    with pytest.raises(PairingError) as err:  # from 0.2 s: depth frames 5 ... 9 are covered
        render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", pair=pair, start=0.2)
    assert "--max-frames 5" in str(err.value), str(err.value)
    render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", pair=pair, max_frames=10)
    assert (tmp_path / "v.mkv").exists()


@pytest.mark.parametrize("pair", ["exact", "nearest"])
def test_a_gap_inside_the_colour_gets_no_such_advice(tmp_path, pair):
    # colour frames at 0 ... 0.16 s and 0.32 ... 0.44 s: depth frames 5 ... 7 have none, 8 ... 11 have
    times = [k / 25 for k in range(5)] + [k / 25 for k in range(8, 12)]
    color, depth = _clips(tmp_path, n_color=9, color_times=times)
    with pytest.raises(PairingError) as err:
        render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", pair=pair)
    assert "--max-frames" not in str(err.value), str(err.value)
