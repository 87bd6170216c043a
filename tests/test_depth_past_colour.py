"""A depth clip that runs a few frames past its colour (12 depth frames beside 10 colour frames at 25
fps): the refusal listed depth frames 10 and 11 and nothing to do about them, where a colour running
longer is pointed to --pair nearest. It now names the --max-frames that takes the depth frames the
colour covers (10, counted by hand; from --start 0.2, 5), with either pairing; a gap inside the
colour gets no such advice. Nothing is written either way."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import av
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


# Lengths that cannot pair were found only after the last frame: the main command enhanced every
# frame first (540x360 real frames: 13.9 s for 10 frames, hours for a programme at 1080p), views
# render drew every view. Where both clips declare their frame counts at one rate, the run's own
# refusal now comes at the first pair, once the first frames were read and checked: before any
# frame is enhanced or rendered.

def _short_depth(tmp_path, suffix=".mp4", n_color=12, n_depth=10):
    """MP4 declares its frame counts (the sample tables); Matroska only a duration."""
    rng = np.random.default_rng(6)
    color = write_video(tmp_path / f"c{suffix}", rng.integers(0, 256, (n_color, H, W, 3), np.uint8), fmt="rgb24",
                        codec="ffv1", rate=Fraction(25), time_base=Fraction(1, 1000))
    depth = write_video(tmp_path / f"d{suffix}", rng.integers(0, 65536, (n_depth, H, W), np.uint16),
                        fmt="gray16le", rate=Fraction(25), time_base=Fraction(1, 1000))
    return color, depth


@pytest.fixture
def worked(monkeypatch, enhancer):
    """Frames enhanced (the main command) and views frames written (views render)."""
    from igde_stream.stream.view_writers import ColorWriter

    seen = {"enhanced": 0, "rendered": 0}
    enhance, render = type(enhancer).enhance, ColorWriter.write

    def counted_enhance(self, color, depth, *a, **k):
        seen["enhanced"] += 1
        return enhance(self, color, depth, *a, **k)

    def counted_frames(self, *a, **k):
        seen["rendered"] += 1
        return render(self, *a, **k)

    monkeypatch.setattr(type(enhancer), "enhance", counted_enhance)
    monkeypatch.setattr(ColorWriter, "write", counted_frames)
    return seen


def test_a_shorter_depth_is_refused_before_any_frame_is_worked_on(tmp_path, enhancer, worked):
    from igde_stream.stream import enhance_file

    color, depth = _short_depth(tmp_path)
    with pytest.raises(PairingError) as err:
        render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs")
    said = str(err.value)
    assert "frames 10 (0.400 s), 11 (0.440 s) of the colour stream have no depth frame" in said, said
    assert "(12 colour frames, 10 depth frames); --pair nearest gives each depth frame" in said, said
    with pytest.raises(PairingError) as err:
        enhance_file(color, depth, tmp_path / "e.mkv", enhancer=enhancer)
    assert str(err.value) == said
    assert worked == {"enhanced": 0, "rendered": 0}
    assert not list(tmp_path.glob("*e.mkv*")) and not list(tmp_path.glob("*v.mkv*"))


@pytest.mark.parametrize("pair", ["exact", "nearest"])
def test_a_longer_depth_is_refused_before_any_frame_is_worked_on(tmp_path, worked, pair):
    color, depth = _short_depth(tmp_path, n_color=10, n_depth=12)
    with pytest.raises(PairingError, match="--max-frames 10 takes"):
        render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", pair=pair)
    assert worked["rendered"] == 0


def test_what_pairs_still_runs(tmp_path, worked):
    color, depth = _short_depth(tmp_path)
    render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs", pair="nearest")
    assert worked["rendered"] == 10


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line to cut an MP4 with -c copy")
def test_a_cut_mp4_declaring_more_samples_than_it_shows_still_pairs(tmp_path, worked):
    """``ffmpeg -ss 0.2 -i c.mp4 -c copy`` keeps the GOP's 12 samples (nb_frames 12) and shows 7 (its
    duration, 0.28 s): beside 7 depth frames it pairs, and is rendered, as before."""
    rng = np.random.default_rng(7)
    whole = write_video(tmp_path / "whole.mp4", rng.integers(0, 256, (12, 48, 64, 3), np.uint8), fmt="rgb24",
                        rate=Fraction(25))
    cut = tmp_path / "cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-ss", "0.2", "-i", str(whole), "-c", "copy", str(cut)], check=True)
    with av.open(str(cut)) as c:  # the precondition: more samples declared than shown
        assert c.streams.video[0].frames == 12 and sum(1 for _ in c.decode(video=0)) == 7
    depth = write_video(tmp_path / "d.mkv", rng.integers(0, 65536, (7, 48, 64), np.uint16), fmt="gray16le",
                        rate=Fraction(25), time_base=Fraction(1, 1000))
    render_file(cut, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs")
    assert worked["rendered"] == 7


def test_counts_only_estimated_from_a_duration_are_left_to_the_run(tmp_path, worked):
    """Matroska declares no frame count, and one estimated from its duration can be a frame off: such
    clips are not refused on the estimate; the run pairs the frames it reads and ends in the same
    refusal after them, as before."""
    color, depth = _short_depth(tmp_path, suffix=".mkv")
    with av.open(str(depth)) as d:  # the precondition: no declared count
        assert not d.streams.video[0].frames
    with pytest.raises(PairingError, match="of the colour stream have no depth frame"):
        render_file(color, depth, tmp_path / "v.mkv", mv.ViewConfig(2, 4), layout="sbs")
    assert worked["rendered"] == 10
    assert not list(tmp_path.glob("*v.mkv*"))
