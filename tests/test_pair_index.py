"""``--pair index``: colour frame k with depth frame k, whatever their times (depth that an estimator
made frame by frame from a phone's variable-rate video). Expected pairs are worked out by hand from
the frames' places; on files, the outputs are compared with those of the colour re-timed by FFmpeg
(the project's own re-timing command) and paired by time, and the colour frames chosen are read back
from colour frames that carry their own number."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, scene, timed_frames as frames, write_video
from igde_stream.cli import main
from igde_stream.errors import PairingError
from igde_stream.stream import enhance_file
from igde_stream.stream.pairing import end_pairs, pairs
from igde_stream.stream.streams import retime_command

NAMES = ("phone.mp4", "depth.mkv")
STEP = 0.125
# a burst (colour 1 half a step after colour 0), then a long step: no colour frame k at depth frame k's time
PHONE = [0, 0.5 * STEP, STEP, 2 * STEP, 3 * STEP, 4.5 * STEP, 6 * STEP, 7 * STEP]
DEPTH = [k * STEP for k in range(8)]
# the same in a phone's 1/600 s time base, beside depth at 30 fps (20 ticks a frame)
TICKS = [0, 10, 20, 40, 60, 90, 120, 140]


def indexes(pairing):
    return [(c.index, d.index) for c, d in pairing]


def index_pairs(colors, depths, still=False, past=None):
    return pairs("index", colors, depths, (STEP, STEP), NAMES, None, 0.0, still, past)


def test_frame_k_pairs_with_frame_k_whatever_the_times():
    assert indexes(index_pairs(frames(PHONE), frames(DEPTH))) == [(k, k) for k in range(8)]
    # where pairing by time gives colour 2 to depth 1 and colour 5 to depths 4 and 5
    got = indexes(pairs("nearest", frames(PHONE), frames(DEPTH), (STEP, STEP), NAMES))
    assert got == [(0, 0), (2, 1), (3, 2), (4, 3), (5, 4), (5, 5), (6, 6), (7, 7)]


@pytest.mark.parametrize("n_c, n_d", [(7, 8), (8, 7), (0, 3)])
def test_counts_that_differ_are_refused_naming_both(n_c, n_d):
    seen = []
    with pytest.raises(PairingError) as err:
        for c, d in index_pairs(frames(PHONE[:n_c]), frames(DEPTH[:n_d])):
            seen.append((c.index, d.index))
    msg = str(err.value)
    assert msg.startswith(f"phone.mp4, depth.mkv: the colour has {n_c} frame")
    assert f"and the depth {n_d}: --pair index pairs colour frame k with depth frame k" in msg
    assert "\n" not in msg
    assert seen == [(k, k) for k in range(min(n_c, n_d))]  # nothing after the first depth frame without colour


def test_the_colour_before_the_depths_first_frame_is_passed_over_by_count():
    # the depth reader passed over its frames before --start: its first frame is frame 3; the colour is
    # read from its start. Colour 3 lies at 2 steps, where pairing by time would take colour 4 for depth 3
    got = indexes(index_pairs(frames(PHONE), frames(DEPTH[3:], start_index=3)))
    assert got == [(3, 3), (4, 4), (5, 5), (6, 6), (7, 7)]
    with pytest.raises(PairingError, match="the colour has 7 frames and the depth 8"):
        list(index_pairs(frames(PHONE[:7]), frames(DEPTH[3:], start_index=3)))
    # a colour reader cut as the depth (a packed input's colour half): its frames keep their places
    assert indexes(index_pairs(frames(PHONE[2:], start_index=2), frames(DEPTH[3:], start_index=3)))[:2] == [(3, 3), (4, 4)]


def test_a_live_input_is_not_read_on_for_its_count():
    def camera():  # a live colour (stdin) that runs on past the depth's last frame and never ends
        yield from frames(PHONE)
        raise AssertionError("read past the first extra colour frame")

    seen = []
    with pytest.raises(PairingError, match=r"the colour has 7 frames and the depth 6 \(read so far: a live input"):
        for c, d in pairs("index", camera(), frames(DEPTH[:6]), (STEP, STEP), ("-", "depth.mkv")):
            seen.append((c.index, d.index))
    assert seen == [(k, k) for k in range(6)]

    def sensor():  # a live depth that runs on past the colour's last frame
        yield from frames(DEPTH)
        raise AssertionError("read past the first depth frame without colour")

    with pytest.raises(PairingError, match=r"the colour has 4 frames and the depth 5 \(read so far"):
        list(pairs("index", frames(PHONE[:4]), sensor(), (STEP, STEP), ("color.mp4", "-")))


def test_a_span_ends_pairing_without_reading_on_or_counting():
    colours = frames(PHONE[:5])  # fewer than the depth: not seen, the span ends first
    pairing = index_pairs(iter(colours), frames(DEPTH))
    taken = [next(pairing), next(pairing)]
    end_pairs(pairing)  # --max-frames 2
    assert [(c.index, d.index) for c, d in taken] == [(0, 0), (1, 1)]
    got = indexes(index_pairs(frames(PHONE[:5]), frames(DEPTH), past=lambda d: d.time >= 3 * STEP))  # --to
    assert got == [(0, 0), (1, 1), (2, 2)]


def test_a_photograph_guides_every_depth_frame():
    got = indexes(index_pairs(frames([0.0]), frames(DEPTH[2:], start_index=2), still=True))
    assert got == [(0, k) for k in range(2, 8)]


def _phone(tmp_path, colors):
    return write_video(tmp_path / "phone.mp4", colors, fmt="rgb24", rate=Fraction(30), time_base=Fraction(1, 600),
                       times=[t / 600 for t in TICKS[:len(colors)]])


def _cli(argv, capsys):
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command")
def test_a_phone_clip_enhances_as_the_same_colour_re_timed(tmp_path, enhancer):
    colors, depths, _ = scene(8, (32, 24))
    phone = _phone(tmp_path, colors)
    depth = write_video(tmp_path / "depth.mkv", depths, fmt="gray", rate=Fraction(30))
    cfr = tmp_path / "color_cfr.mkv"
    cmd = retime_command(phone, 30).replace("color_cfr.mkv", str(cfr))
    subprocess.run(["bash", "-c", "ffmpeg -v error -nostdin " + cmd[len("ffmpeg "):]], check=True)
    with pytest.raises(PairingError, match="--pair index pairs them so"):  # by time: refused, naming index
        enhance_file(phone, depth, tmp_path / "exact.mkv", enhancer=enhancer)
    summary = enhance_file(phone, depth, tmp_path / "index.mkv", enhancer=enhancer, pair="index")
    enhance_file(cfr, depth, tmp_path / "cfr.mkv", enhancer=enhancer)
    enhance_file(phone, depth, tmp_path / "nearest.mkv", enhancer=enhancer, pair="nearest")
    got, pts, _ = read_video(tmp_path / "index.mkv")
    want, want_pts, _ = read_video(tmp_path / "cfr.mkv")
    near = read_video(tmp_path / "nearest.mkv")[0]
    assert summary["frames"] == 8 and summary["pair"] == "index"
    assert pts == want_pts == [0, 33, 67, 100, 133, 167, 200, 233]  # the depth's times
    assert all(np.array_equal(a, b) for a, b in zip(got, want)) and len(got) == len(want) == 8
    assert not all(np.array_equal(a, b) for a, b in zip(near, want))  # nearest pairs neighbours


def _numbered(n, size=(32, 24)):
    """Colour frames that carry their number: frame k is flat gray 30 + 25 k."""
    return [np.full((size[1], size[0], 3), 30 + 25 * k, np.uint8) for k in range(n)]


def _numbers_of(rgbd_frames, width):
    return [round((float(f[:, :width].mean()) - 30) / 25) for f in rgbd_frames]


@pytest.mark.parametrize("span, want", [(["--start", "0.1", "--max-frames", "3"], [3, 4, 5]),
                                        (["--start", "0.1", "--to", "0.2"], [3, 4, 5]),
                                        (["--max-frames", "2"], [0, 1])])
def test_start_and_max_frames_take_the_same_frame_numbers_of_both(tmp_path, tiny_model, capsys, span, want):
    phone = _phone(tmp_path, _numbered(8))
    depth = write_video(tmp_path / "depth.mkv", scene(8, (32, 24))[1], fmt="gray", rate=Fraction(30))
    out, rgbd = tmp_path / "out.mkv", tmp_path / "rgbd.mkv"
    code, err = _cli([str(phone), str(depth), "-o", str(out), "--rgbd-out", str(rgbd), "--pair", "index",
                      "--model", str(tiny_model), "--backend", "torch", "-q", *span], capsys)
    assert code == 0, err
    got, pts, _ = read_video(rgbd)
    assert _numbers_of(got, 32) == want  # colour frame 3 lies at 0.1 s: by time, depth 3 would take colour 4
    assert read_video(out)[1] == pts == [round(1000 * k / 30) for k in want]  # the depth's times
    views = tmp_path / "views.mkv"  # views render, the same span
    code, err = _cli(["views", "render", str(phone), str(depth), "-o", str(views), "--layout", "rgbd",
                      "--pair", "index", "-q", *span], capsys)
    assert code == 0, err
    assert _numbers_of(read_video(views)[0], 32) == want


def test_counts_that_differ_are_one_line_and_no_output(tmp_path, tiny_model, capsys):
    import cv2

    phone = _phone(tmp_path, _numbered(8))
    _, depths, _ = scene(9, (32, 24))
    folder = tmp_path / "depth"  # an estimator's PNGs, one short: declared, refused before the model runs
    folder.mkdir()
    for k, d in enumerate(depths[:7]):
        cv2.imwrite(str(folder / f"{k:06d}.png"), d)
    longer = write_video(tmp_path / "depth.mkv", depths, fmt="gray", rate=Fraction(30))  # no count declared
    for depth, n in ((folder, 7), (longer, 9)):
        out = tmp_path / "out.mkv"
        code, err = _cli([str(phone), str(depth), "-o", str(out), "--pair", "index", "--model", str(tiny_model),
                          "--backend", "torch", "-q"], capsys)
        lines = [x for x in err.splitlines() if x.strip()]
        assert code == 2 and len(lines) == 1, err
        assert f"the colour has 8 frames and the depth {n}: --pair index pairs colour frame k" in lines[0]
        assert not out.exists() and not list(tmp_path.glob("out*"))
        code, err = _cli(["views", "render", str(phone), str(depth), "-o", str(out), "--pair", "index", "-q"], capsys)
        assert code == 2 and f"the colour has 8 frames and the depth {n}" in err and not out.exists()
    cv2.imwrite(str(folder / "000007.png"), depths[7])  # as many: image k with colour frame k, at the folder's times
    code, err = _cli([str(phone), str(folder), "-o", str(tmp_path / "out.mkv"), "--pair", "index", "--model",
                      str(tiny_model), "--backend", "torch", "-q"], capsys)
    assert code == 0, err
    assert read_video(tmp_path / "out.mkv")[1] == [40 * k for k in range(8)]  # 25 fps, --fps's default


class Counting:
    """An enhancer that counts the frames it is given (the depth back unchanged)."""

    batch, backend_name = 2, "counting"

    def __init__(self):
        self.frames = 0

    def enhance(self, color, depth):
        self.frames += len(depth)
        return depth


def test_declared_counts_are_refused_before_any_frame_is_enhanced(tmp_path):
    phone = _phone(tmp_path, _numbered(8))
    depths = scene(9, (32, 24))[1]
    np.savez(tmp_path / "depths.npz", depth=np.stack(depths[:7]))  # an estimator's array: its length is exact
    mkv = write_video(tmp_path / "depth.mkv", depths, fmt="gray", rate=Fraction(30))  # Matroska: no count declared
    for depth, n, early in ((tmp_path / "depths.npz", 7, True), (mkv, 9, False)):
        counting, out = Counting(), tmp_path / "out.mkv"
        with pytest.raises(PairingError, match=f"the colour has 8 frames and the depth {n}:"):
            enhance_file(phone, depth, out, enhancer=counting, pair="index", inputs=None, start=0.1, max_frames=3
                         if early else 0)
        assert (counting.frames == 0) == early and not out.exists()


def test_sync_absolute_is_refused_in_one_line(tmp_path, capsys):
    for argv in (["c.mp4", "d.mkv", "-o", str(tmp_path / "o.mkv")], ["views", "render", "c.mp4", "d.mkv", "-o", "v.mkv"]):
        code, err = _cli([*argv, "--pair", "index", "--sync", "absolute"], capsys)
        assert code == 2 and "--pair index pairs frames by their places in the streams, not their times" in err
        assert "--sync absolute" in err.splitlines()[-1]
    with pytest.raises(ValueError, match="pair index pairs frames by their places"):
        enhance_file("c.mp4", "d.mkv", tmp_path / "o.mkv", pair="index", sync="absolute")


def test_a_packed_inputs_halves_pair_as_by_time(tmp_path, enhancer):
    """colour | depth in one frame: the halves are one frame; from --start the colour half is passed
    over by count as any colour, and takes the frames exact pairing takes."""
    from igde_stream.stream.sources import InputOptions

    colors, depths, _ = scene(6, (32, 24))
    packed = write_video(tmp_path / "packed.mkv", [np.concatenate([c, np.repeat(d[..., None], 3, 2)], 1)
                                                   for c, d in zip(colors, depths)], fmt="rgb24", codec="ffv1",
                         rate=Fraction(30))
    outs = {}
    for mode in ("exact", "index"):
        enhance_file(packed, packed, tmp_path / f"{mode}.mkv", enhancer=enhancer, pair=mode, start=0.1, max_frames=2,
                     inputs=InputOptions(packed="rgbd"))
        outs[mode] = read_video(tmp_path / f"{mode}.mkv")
    assert outs["index"][1] == outs["exact"][1] == [100, 133]
    assert all(np.array_equal(a, b) for a, b in zip(outs["index"][0], outs["exact"][0]))
