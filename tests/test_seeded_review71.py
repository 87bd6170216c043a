"""Seeded-bug review 71: the cases the area tests of the last session's changes let through (--pair
index, letterbox and side-by-side advice, a renderer's background in float depth, OpenEXR channels,
the st3d box, stereo file-name words, the level-6 note, --gt-measured, PNG gamma 1.0, PyAV's side
data). Expected values are worked out by hand (counts, offsets, box sizes written field by field),
with NumPy, or read back by FFmpeg (ffprobe, PyAV's decoder); results/mutation.md lists the bugs."""

from __future__ import annotations

import logging
import struct
from fractions import Fraction
from types import SimpleNamespace

import numpy as np
import pytest

from igde_stream.errors import PairingError
from igde_stream.stream.info import VideoInfo

NAMES = ("phone.mp4", "depth.mkv")


def _info(path: str, kind: str, frames: int | None, rate: Fraction | None = Fraction(25),
          declared: Fraction | None = None) -> VideoInfo:
    return VideoInfo(path=path, codec="png" if kind != "file" or path.endswith(".png") else "h264", width=8, height=8,
                     pix_fmt="gray", time_base=Fraction(1, 600) if kind == "file" else 1 / (rate or Fraction(25)),
                     rate=rate, start_pts=0, frames=frames, duration=None, kind=kind, declared_rate=declared)


# --pair index ------------------------------------------------------------------------------------------


def test_index_declared_counts_either_way():
    """Declared counts that differ are refused either way round, naming each stream's own count."""
    from igde_stream.stream.pairing import declared_mismatch

    seq7, seq8 = _info("color/", "sequence", 7), _info("depth/", "sequence", 8)
    for c, d, want in ((seq7, seq8, "the colour has 7 frames and the depth 8"),
                       (seq8, seq7, "the colour has 8 frames and the depth 7")):
        err = declared_mismatch("index", c, d, NAMES)
        assert err is not None and want in str(err)
    assert declared_mismatch("index", seq8, _info("depth/", "sequence", 8), NAMES) is None


@pytest.mark.parametrize("n_c, want", [(0, "the colour has 0 frames and the depth 3"),
                                       (1, "the colour has 1 frame and the depth 3"),
                                       (2, "the colour has 2 frames and the depth 3")])
def test_index_count_words(n_c, want):
    from igde_stream.stream.pairing_index import count_error

    assert want in str(count_error(n_c, 3, NAMES))


def test_index_is_refused_with_sync_absolute_by_views_render_too(tmp_path):
    """The check comes before any file is opened (these do not exist)."""
    from igde_stream import multiview as mv
    from igde_stream.stream.views import render_file

    with pytest.raises(ValueError, match="pair index pairs frames by their places"):
        render_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "v.mkv", mv.ViewConfig(), pair="index",
                    sync="absolute")


def test_main_commands_untimed_refusal_names_pair_index_where_it_takes_pair():
    """check_pair of a caller with --pair (the main command, views render: any mode) names --pair index
    beside a variable-rate video; a caller without it (views quality: pair None) does not."""
    from igde_stream.stream.roles import check_pair

    seq = SimpleNamespace(info=_info("depth/", "sequence", 12, Fraction(30)), path="depth/")
    # 12 frames over 0.415 s average 2400/83 fps; FFmpeg guesses 60 from the shortest steps
    phone = SimpleNamespace(info=_info("phone.mov", "file", 12, Fraction(2400, 83), Fraction(60)), path="phone.mov")
    for pair, named in (("exact", True), ("nearest", True), (None, False)):
        with pytest.raises(PairingError) as err:
            check_pair(phone, seq, "rgbd", same_length=False, exact=pair == "exact", pair=pair)
        assert ("--pair index pairs them so, as they are" in str(err.value)) == named, pair


def test_index_numpy_clip_beside_numbered_plates_takes_their_numbers(tmp_path, tiny_model, capsys):
    """As under --pair exact (tests/test_numbered_like_colour.py): the depth frames pair with the plates
    frame for frame, so the outputs take the plates' numbers, 1001 on, not 0000 on."""
    from conftest import scene
    from igde_stream.cli import main
    from test_formats import write_png_sequence

    colors, depths, _ = scene(3)
    write_png_sequence(tmp_path / "plate", colors, "plate.{:04d}.png", start=1001)
    np.save(tmp_path / "depths.npy", np.stack(depths))
    assert main([str(tmp_path / "plate" / "plate.%04d.png"), str(tmp_path / "depths.npy"), "-o",
                 str(tmp_path / "a" / "e.%04d.png"), "--pair", "index", "--model", str(tiny_model),
                 "--backend", "torch", "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["e.1001.png", "e.1002.png", "e.1003.png"]
    capsys.readouterr()


# letterbox and side-by-side advice ---------------------------------------------------------------------


def test_bars_within_a_codecs_few_levels_but_not_a_dark_far_sky():
    """TOLERANCE is 4 levels of 255 (H.264 leaves 1-2 on flat black): bars at 4 are bars (and 4 x 257 in
    16-bit); a picture whose top rows are a far sky at 12 (near-high: far is dark) has no bar there."""
    from igde_stream.stream.bars import picture_box

    rng = np.random.default_rng(3)
    frame = np.full((40, 48), 4, np.uint8)
    frame[6:34] = rng.integers(20, 256, (28, 48))
    assert picture_box(frame) == (0, 6, 48, 28)
    assert picture_box(frame.astype(np.uint16) * 257) == (0, 6, 48, 28)
    frame[:6] = 5  # one level more than a bar may hold: the top is picture, the bottom a bar
    assert picture_box(frame) == (0, 0, 48, 34)
    sky = rng.integers(20, 256, (40, 48)).astype(np.uint8)
    sky[:6] = 12
    assert picture_box(sky) is None


class _Depth:
    """A stand-in depth reader for ``bars``: a path that is no file, 8-bit gray."""
    path = "frames/"
    info = SimpleNamespace(pix_fmt="gray", bits=8)


def _advice(monkeypatch, frame, color_aspect, sar=1.0, reader=None):
    from igde_stream.stream import bars

    monkeypatch.setattr(bars, "first_depth", lambda depth, fmt=None: frame)
    return bars.crop_advice(reader or _Depth(), color_aspect, sar)


def test_crop_advice_takes_the_depths_pixel_aspect_and_a_two_per_cent_tolerance(monkeypatch):
    """A 36 x 27 picture in 4:3 pixels shows at 36 x 4/3 / 27 = 16/9, the colour's; in square pixels it
    is 4:3. A picture 1.3 % off the colour's aspect is the estimator's rounding; 11 % off is not."""
    rng = np.random.default_rng(4)
    frame = np.zeros((40, 36), np.uint8)
    frame[6:33] = rng.integers(20, 256, (27, 36))
    assert "holds the picture in 36x27 at x=0, y=6" in _advice(monkeypatch, frame, 16 / 9, 4 / 3)
    assert _advice(monkeypatch, frame, 16 / 9, 1.0) == ""
    assert "36x27" in _advice(monkeypatch, frame, 36 / 27 * 1.013)
    assert _advice(monkeypatch, frame, 36 / 27 * 1.11) == ""


def test_crop_advice_for_a_numpy_clip_slices_each_frame_and_the_clip(monkeypatch):
    from igde_stream.stream.arrays import ArrayReader

    rng = np.random.default_rng(5)
    frame = np.full((40, 50), np.nan, np.float32)
    frame[3:37, 5:45] = rng.uniform(0.5, 3.0, (34, 40))
    said = _advice(monkeypatch, frame, 40 / 34, reader=object.__new__(ArrayReader))
    assert "in NumPy, each frame's [3:37, 5:45]; a T x H x W clip's [:, 3:37, 5:45]" in said


def _side(monkeypatch, rgb, path="run_video/"):
    from igde_stream.stream import bars

    monkeypatch.setattr(bars, "first_depth", lambda depth, fmt=None: rgb)
    color = SimpleNamespace(info=SimpleNamespace(width=64, height=36))
    depth = SimpleNamespace(source_size=(rgb.shape[1], rgb.shape[0]), info=SimpleNamespace(bits=8), path=path)
    return bars.side_by_side(color, depth)


def test_side_by_side_needs_a_margin_white_throughout_and_names_the_images_crop(monkeypatch):
    """colour 64 | margin 10 | depth 64: the depth starts at x = 74. A margin white in its top half only
    (a bright picture, not Depth Anything's margin) is no margin."""
    rng = np.random.default_rng(6)
    rgb = rng.integers(0, 256, (36, 138, 3)).astype(np.uint8)
    rgb[:, 64:74] = 255
    said = _side(monkeypatch, rgb)
    assert said is not None and "crop each image to 64x36 at x=74, y=0" in said
    rgb[18:, 64:74] = 128
    assert _side(monkeypatch, rgb) is None


def test_letterbox_of_a_turned_depth_is_found_as_it_is_shown(tmp_path, capsys):
    """Depth stored pillarboxed (bars left and right) with a display matrix turning it a quarter: shown
    letterboxed, 48 x 27 at y = 11 (the frame 48 x 48), the picture at the 16:9 colour's aspect."""
    from conftest import scene, write_video
    from igde_stream.views_cli import main as views_main
    from test_rotation import CLOCKWISE, tag

    colors, depths, _ = scene(2, (64, 36))
    rows, cols = np.linspace(0, 35, 27).round().astype(int), np.linspace(0, 63, 48).round().astype(int)
    shown = []
    for x in depths:
        f = np.zeros((48, 48), np.uint8)
        f[11:38] = np.clip(x[rows][:, cols], 1, 255)
        shown.append(f)
    stored = [np.ascontiguousarray(np.rot90(f, 1)) for f in shown]  # turned back clockwise on display
    d = tag(write_video(tmp_path / "d.mov", stored, fmt="gray", codec="png"), CLOCKWISE)
    c = write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv")]) == 0
    assert "holds the picture in 48x27 at x=0, y=11" in capsys.readouterr().err


# a renderer's background in float depth ---------------------------------------------------------------


def test_background_share_and_gap_are_at_least_their_thresholds():
    """1000 values: the largest held by exactly 0.5 % (5) at exactly 64 times the next (640 beside 10)
    is a background ("at least" both); 4 of them, or 639, are not. 1 % at 1e10 is one too; a window 10
    times the scene in 5 % of the pixels is scene."""
    from igde_stream.stream.background import scene_top

    seen = np.concatenate([np.linspace(1.0, 10.0, 995), np.full(5, 640.0)])
    assert scene_top(seen) == 10.0
    assert scene_top(np.concatenate([seen[:995], np.full(4, 640.0)])) is None  # 4 of 999
    assert scene_top(np.where(seen == 640.0, 639.0, seen)) is None
    assert scene_top(np.concatenate([np.linspace(2.0, 8.0, 990), np.full(10, 1e10)])) == 8.0
    assert scene_top(np.concatenate([np.linspace(2.0, 8.0, 950), np.full(50, 80.0)])) is None


def test_near_high_background_words_by_hand(caplog):
    """Read near-high, a sky of 1e10 in 960 of 6144 values beside a scene up to 8: 15.6 % of the values,
    1.25e+09 times the next; a frame of 0 and 1e10 only has no scene value above 0: no such words (and
    no division by its 0)."""
    from igde_stream.stream.background import near_high_words

    z = np.full((64, 96), 2.0, np.float32)
    z[20] = 8.0
    z[:10] = 1e10
    seen = z.ravel()
    words = near_high_words(seen, 8.0)
    assert "largest value, 1e+10, holds 15.6 % of its values, 1.25e+09 times the next (8)" in words
    mask = np.zeros((8, 8), np.float32)
    mask[:4] = 1e10
    with caplog.at_level(logging.WARNING):
        fmap = FloatMap_from(mask)
    assert (fmap.lo, fmap.hi) == (0.0, 1e10) and "background" not in caplog.text


def FloatMap_from(values, order="near-high"):
    from igde_stream.stream.floatdepth import FloatMap

    return FloatMap.from_frame(values, order, "x.exr")


# the st3d box ------------------------------------------------------------------------------------------


def _box(kind: bytes, payload: bytes, wide: bool = False) -> bytes:
    """An ISO BMFF box: 32-bit size, or ``wide``: size 1 and a 64-bit size after the type."""
    if wide:
        return struct.pack(">I4sQ", 1, kind, 16 + len(payload)) + payload
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _full(kind: bytes, payload: bytes, wide: bool = False) -> bytes:
    return _box(kind, b"\0\0\0\0" + payload, wide)  # version 0, flags 0


def _track(handler: bytes, st3d: int | None = None, old: int | None = None, wide: bool = False) -> bytes:
    """A track as FFmpeg's mov muxer lays it out (tkhd, mdia: mdhd, hdlr, minf: stbl: stsd with one
    sample entry, stts), the entry's fields 78 bytes (VisualSampleEntry) or 20 (an audio entry), with an
    st3d child of mode ``old`` already there and one of mode ``st3d`` added (the expected file)."""
    if handler == b"vide":
        children = _box(b"avcC", bytes(range(20))) + _box(b"pasp", struct.pack(">II", 1, 1))
        for mode in (old, st3d):
            if mode is not None:
                children += _full(b"st3d", bytes([mode]))
        entry = _box(b"avc1", bytes(6) + struct.pack(">H", 1) + bytes(16) + struct.pack(">HH", 64, 48)
                     + bytes(50) + children)
    else:
        entry = _box(b"mp4a", bytes(6) + struct.pack(">H", 1) + bytes(20) + _full(b"esds", bytes(12)))
    stbl = _box(b"stbl", _full(b"stsd", struct.pack(">I", 1) + entry, wide) + _full(b"stts", bytes(4)))
    minf = _box(b"minf", _full(b"vmhd" if handler == b"vide" else b"smhd", bytes(8)) + stbl, wide)
    hdlr = _full(b"hdlr", bytes(4) + handler + bytes(12) + b"\0")
    return _box(b"trak", _full(b"tkhd", bytes(80)) + _box(b"mdia", _full(b"mdhd", bytes(20)) + hdlr + minf), wide)


def _moov(tracks: list[bytes], wide: bool = False) -> bytes:
    return _box(b"moov", _full(b"mvhd", bytes(96)) + b"".join(tracks) + _box(b"udta", bytes(12)), wide)


@pytest.mark.parametrize("wide", [False, True])
def test_st3d_goes_into_every_video_track_of_a_movie_box_built_by_hand(wide):
    """Two video tracks beside an audio track (and 64-bit sizes where ``wide``): the box the writer makes
    is byte for byte the one built with an st3d child of mode 2 in each video sample entry; an st3d there
    already (mode 0) is set to the mode, nothing added."""
    from igde_stream.stream.st3d import _with_st3d

    plain = _moov([_track(b"vide", wide=wide), _track(b"soun", wide=wide), _track(b"vide", wide=wide)], wide)
    want = _moov([_track(b"vide", 2, wide=wide), _track(b"soun", wide=wide), _track(b"vide", 2, wide=wide)], wide)
    assert _with_st3d(plain, 2) == want
    held = _moov([_track(b"vide", old=0)])
    assert _with_st3d(held, 1) == _moov([_track(b"vide", old=1)])


def test_a_64_bit_box_smaller_than_its_header_or_cut_short_is_broken():
    """A 64-bit size of 12 (under its 16-byte header), and a 64-bit size field cut off after 4 bytes:
    ValueError (add_st3d's OutputError), not a box list or a struct.error."""
    from igde_stream.stream.st3d import _boxes

    for data in (struct.pack(">I4sQ", 1, b"free", 12), struct.pack(">I4sI", 1, b"free", 0)):
        with pytest.raises(ValueError, match="runs past its parent"):
            _boxes(data, 0, len(data))


def test_an_m4v_pair_carries_st3d_too(tmp_path):
    """FFmpeg picks its ipod muxer for .m4v, an MP4 all the same: ffprobe reads the packing back."""
    import json
    import shutil
    import subprocess

    from igde_stream.stream.view_writers import ColorWriter

    if shutil.which("ffprobe") is None:
        pytest.skip("needs ffprobe")
    out = tmp_path / "pair.m4v"
    w = ColorWriter(out, "h264", Fraction(25), Fraction(1, 25), stereo_mode="top_bottom")
    for k in range(2):
        w.write(np.full((32, 32, 3), 60 * k, np.uint8), k)
    w.commit()
    r = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(out)], capture_output=True,
                       text=True, check=True)
    side = json.loads(r.stdout)["streams"][0].get("side_data_list", [])
    assert [s["type"] for s in side if s.get("side_data_type") == "Stereo 3D"] == ["top and bottom"]


# stereo file-name words --------------------------------------------------------------------------------


def test_a_name_of_the_wrong_word_alone_gets_a_whole_name():
    from igde_stream.stream.stereo_names import name_note

    line, warned = name_note("TB.mp4", "left_right")
    assert warned and line.endswith("rename it (e.g. views_SBS.mp4)")


def test_with_the_depth_on_stdout_the_name_line_goes_to_stderr(monkeypatch, capsys, tmp_path):
    """``-o -``: stdout carries the depth stream alone (the run itself stood in for)."""
    from igde_stream import cli, run_summary

    views = str(tmp_path / "pair.mkv")
    monkeypatch.setattr(cli, "_run", lambda args, **paths: {"views_outputs": [views]})
    monkeypatch.setattr(run_summary, "format_summary", lambda s: "summary")
    assert cli.main([str(tmp_path / "c.mkv"), str(tmp_path / "d.mkv"), "-o", "-", "--views-out", views,
                     "--layout", "sbs"]) == 0
    out, err = capsys.readouterr()
    assert out == "" and f"{views}: no word in the name says side by side" in err


def test_negative_infinity_is_a_hole_and_no_background():
    """Far-high, -inf (a hole) beside a scene of 0.5..4: the range is 0..4 with no background kept."""
    z = np.linspace(0.5, 4.0, 64, dtype=np.float32).reshape(8, 8)
    z[0, :4] = -np.inf
    fmap = FloatMap_from(z, "far-high")
    assert (fmap.lo, fmap.hi, fmap.background) == (0.0, 4.0, None)


def test_a_given_range_beyond_which_the_background_lies_keeps_hi_at_65535():
    """--float-range 0:4 with a first frame's background at 1e10 (``with_background``: reserve False):
    4 is code 1 + 65534 = 65535 as in any given range, the background 65535 too, 2 is 32768; 65535
    decodes as HI, 4, not as the background."""
    from igde_stream.stream.floatdepth import FloatMap

    fmap = FloatMap(0.0, 4.0, "far-high", background=1e10, reserve=False)
    codes, clipped = fmap.encode(np.array([[4.0, 1e10, 2.0]], np.float32))
    np.testing.assert_array_equal(codes, [[65535, 65535, 32768]])
    assert clipped == 0 and fmap.decode(np.array([65535], np.uint16))[0] == 4.0


# the level-6 note --------------------------------------------------------------------------------------


def test_hevc_level_goes_by_the_writers_8_px_coding_unit():
    """4104x2168 (both multiples of 8, 8,897,472 pixels, under level 5's 8,912,896) is coded as it is by
    the writer's x265 (preset medium, min CU 8): level 5.0 (general_level_idc 150 read back by PyAV
    from a one-frame encode with that preset), no note. A 16-px unit (x265's ultrafast) would make it
    4112x2176, over."""
    from igde_stream.stream.view_writers import level_note

    assert level_note("hevc", 4104, 2168) == ""
    assert "8,947,712 pixels coded as 4112x2176" in level_note("hevc", 4105, 2169)


def test_one_pass_views_take_their_layouts_level_advice(tmp_path, caplog):
    """The main command's --views-out sink hands its layout's advice to the writers: a full pair of
    3840x2160 views (7680x2160) is told --squeeze."""
    from igde_stream import display, multiview as mv
    from igde_stream.stream.outputs import ViewsSink

    info = _info("c.mkv", "file", 1)
    info = VideoInfo(**{**info.__dict__, "width": 3840, "height": 2160})
    lay = display.make_layout("sbs", mv.ViewConfig(n_views=2))
    sink = ViewsSink(tmp_path / "v_SBS.mp4", lay, "h264", info, display.numpy_renderer)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        sink.open()
    for w in sink.writers:
        w.abort()
    said = [r.getMessage() for r in caplog.records if "coded at level 6" in r.getMessage()]
    assert len(said) == 1 and said[0].endswith("for those: --squeeze (half side by side / top and bottom, the input's "
                                               "size), or a smaller input")


def test_a_png_picture_is_not_warned_of_a_video_level(tmp_path, caplog):
    from igde_stream.stream.view_writers import ColorWriter

    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        w = ColorWriter(tmp_path / "pair.png", "h264", Fraction(25), Fraction(1, 25), stereo_mode="left_right",
                        size=(7680, 2160))
        w.abort()
    assert "coded at level 6" not in caplog.text


def test_the_ground_truths_clipped_frames_go_by_their_numbers_not_their_order():
    """The ground truth's reader from --start 3 reads frames 2..7 (ordinals 0..5); frames 3..7 are
    compared (``gt_compared``). Frame 2 (9.0 above HI) is not counted, frame 3 (0.1 below LO, its
    ordinal 1) is: one frame, covering 0.1..2.5."""
    from igde_stream.stream.floatdepth import FloatMap, describe_run, encode_counted

    fmap = FloatMap(0.5, 2.5)
    depth = SimpleNamespace(float_map=fmap, path="d", float_clipped=0, float_covering=None)
    for i in range(3, 8):
        encode_counted(depth, np.array([[1.0, 2.0]], np.float32), i)
    gt = SimpleNamespace(float_map=fmap, path="g", float_clipped=0, float_covering=None)
    for i, v in zip(range(2, 8), [9.0, 0.1, 1.0, 1.0, 1.0, 1.0]):
        encode_counted(gt, np.array([[v, 2.0]], np.float32), i)
    f = describe_run(fmap, depth, gt, 5, range(3, 8))
    assert (f["clipped_frames"], f["gt_clipped_frames"]) == (0, 1)
    assert [round(x, 6) for x in f["covering"]] == [0.1, 2.5]


def test_a_near_high_numpy_clips_range_keeps_its_nearest_values(tmp_path):
    """Near-high (inverse depth): a hand at 80 in 1 % of the pixels, 80 times the rest (0.01..1), is the
    nearest thing, not a renderer's background: the clip's range is 0.01..80 (far-high would leave a
    background out)."""
    from igde_stream.stream.floatdepth import clip_range
    from igde_stream.stream.reader import VideoReader

    clip = np.tile(np.linspace(0.01, 1.0, 400, dtype=np.float32).reshape(20, 20), (2, 1, 1))
    clip[:, 10, :4] = 80.0
    np.save(tmp_path / "d.npy", clip)
    with VideoReader(str(tmp_path / "d.npy"), "depth") as r:
        lo, hi = clip_range(r, "near-high")
    assert (lo, hi) == (pytest.approx(0.01), 80.0)


# --gt-measured -----------------------------------------------------------------------------------------


def test_the_unmeasured_share_is_the_first_compared_frames():
    from igde_stream.stream.report import PsnrReport

    half = np.array([[0, 100], [0, 100]], np.uint16)
    with PsnrReport(65535.0) as r:
        r.add(0, 0.0, half, half, half, 0.0)
        r.add(1, 0.04, half, half, np.full_like(half, 7), 0.04)
        assert r.gt_unmeasured == 0.5


def test_the_summary_line_says_measured_pixels_only_when_they_were():
    from igde_stream.run_summary import format_summary
    from test_report_names import _summary

    assert "PSNR (measured ground-truth pixels) 40.00 dB" in format_summary(_summary(gt_measured_only=True))
    assert "measured ground-truth" not in format_summary(_summary(gt_measured_only=False))


def _gt_run(tmp_path, enhancer, zeros: float, measured: bool, caplog):
    """2 frames, 64 x 48: a ground truth whose first ``zeros`` share of pixels (in reading order) are 0."""
    from conftest import scene, write_video
    from igde_stream.stream import enhance_file

    colors, depths, gts = scene(2, (64, 48))
    gts = [g.copy() for g in gts]
    for g in gts:
        g.reshape(-1)[:round(zeros * g.size)] = 0
        g[g == 0] = 0
    for name, frames, fmt in (("c.mkv", colors, "rgb24"), ("d.mkv", depths, "gray"), ("g.mkv", gts, "gray")):
        write_video(tmp_path / name, frames, fmt=fmt, codec="ffv1")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / f"o{zeros}{measured}.mkv", enhancer=enhancer,
                     gt_path=tmp_path / "g.mkv", gt_measured=measured)
    return [r.getMessage() for r in caplog.records if "scored as depth 0" in r.getMessage()]


def test_a_ground_truth_5_per_cent_0_is_warned_of_and_not_with_gt_measured(tmp_path, enhancer, caplog):
    """Over 1 % of the first compared ground-truth frame 0: 5 % is warned of (153 of 3072 pixels: 5.0 %),
    0.5 % is not, and with gt_measured the 0s are left out, so nothing is said."""
    said = _gt_run(tmp_path, enhancer, 0.05, False, caplog)
    assert len(said) == 1 and "5.0 % of the first ground-truth frame compared is 0" in said[0]
    assert _gt_run(tmp_path, enhancer, 0.005, False, caplog) == []
    assert _gt_run(tmp_path, enhancer, 0.05, True, caplog) == []


# PyAV's side data --------------------------------------------------------------------------------------


def test_frame_side_data_reads_pyav_18_1_1s_mapping_and_18_1_0s_entries():
    """PyAV 18.1.1 iterates ``frame.side_data`` as a mapping's keys (``Type`` members: an enum, with a
    ``value``), 18.1.0 as its entries (with ``.type``): both give the entries."""
    import enum

    from igde_stream.stream.orientation import frame_side_data

    class Type(enum.Enum):
        DISPLAYMATRIX = 5
        EXIF = 30

    entries = {t: SimpleNamespace(type=t, data=bytes([t.value])) for t in Type}

    class Mapping:  # 18.1.1: keys on iteration, entries by key
        def __iter__(self):
            return iter(entries)

        def __getitem__(self, key):
            return entries[key]

    assert frame_side_data(SimpleNamespace(side_data=Mapping())) == list(entries.values())
    assert frame_side_data(SimpleNamespace(side_data=list(entries.values()))) == list(entries.values())


# integer arrays, PNG gamma 1.0 -------------------------------------------------------------------------


def test_unsigned_32_bit_depth_arrays_get_the_plain_cast_advice(tmp_path):
    """Only signed arrays hold negatives (a stereo matcher's invalid): a uint32 array is told to cast."""
    from igde_stream.errors import InputError
    from igde_stream.stream.reader import VideoReader

    np.save(tmp_path / "d.npy", np.full((2, 8, 8), 7, np.uint32))
    with pytest.raises(InputError) as err:
        VideoReader(str(tmp_path / "d.npy"), "depth")
    msg = str(err.value)
    assert "cast it first, e.g. a.astype(np.uint16) or a.astype(np.float32)" in msg and "negative" not in msg


def test_linear_gray_with_alpha_png_goes_through_the_curve(tmp_path):
    """A gray + alpha PNG (colour type 4) tagged gamma 1.0: 46 -> 118, 1 -> 13 (the curve by hand, as the
    RGB cases), alpha opaque; tagged sRGB's gamma it is read as stored."""
    import zlib

    from test_linear_exr_colour import _first_colour

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    gray = np.array([[46, 1, 255, 46]] * 4, np.uint8)
    rows = b"".join(b"\0" + np.stack([gray[y], np.full(4, 255, np.uint8)], -1).tobytes() for y in range(4))
    for gamma, want in ((100000, [118, 13, 255]), (45455, [46, 1, 255])):
        path = tmp_path / f"ya{gamma}.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 4, 0, 0, 0))
                         + chunk(b"gAMA", struct.pack(">I", gamma)) + chunk(b"IDAT", zlib.compress(rows))
                         + chunk(b"IEND", b""))
        got = _first_colour(path)
        assert list(got[0, :3, 0]) == want and np.all(got[..., 0] == got[..., 2]), gamma


# OpenEXR channels --------------------------------------------------------------------------------------


@pytest.mark.parametrize("names, want", [(["B", "G", "R", "Depth"], "Depth"), (["B", "G", "R", "Distance"], "Distance"),
                                         (["A", "R"], "R")])
def test_depth_channel_names_in_any_case_and_one_channel_beside_alpha(names, want):
    from igde_stream.stream.exrdepth import depth_channel

    assert depth_channel(names) == want


def _exr_z(k: int = 0) -> np.ndarray:
    z = np.full((16, 24), 6.0, np.float32)
    z[4:12, 3 + k:11 + k] = 1.5
    return z


@pytest.mark.parametrize("depth_name, colour", [("depth", "RGB"), ("Z", "rgb"), ("Z", "RGBA")])
def test_depth_named_depth_or_beside_lower_case_colour_is_read_value_for_value(tmp_path, depth_name, colour):
    """A channel named ``depth`` (no layer, no Z: FFmpeg's layer option is "dept"), and a Z beside
    lower-case r, g, b (FFmpeg maps those names in any case: they are hidden): the depth as written."""
    from test_exr_depth_channel import write_exr

    from igde_stream.stream.reader import VideoReader

    z = _exr_z()
    chans = {c: np.full_like(z, 0.5) for c in colour}
    chans[depth_name] = z
    write_exr(tmp_path / "a.exr", chans)
    with VideoReader(str(tmp_path / "a.exr"), "depth") as r:
        assert np.array_equal(next(r.frames()).data, z)


def test_a_folder_of_upper_case_exr_files_is_read_from_its_z(tmp_path):
    from test_exr_depth_channel import write_exr

    from igde_stream.stream.reader import VideoReader

    (tmp_path / "shots").mkdir()
    for k in range(2):
        write_exr(tmp_path / "shots" / f"SHOT_{k:04d}.EXR", {"R": _exr_z(k) * 0, "G": _exr_z(k) * 0,
                                                             "B": _exr_z(k) * 0, "Z": _exr_z(k)})
    with VideoReader(str(tmp_path / "shots"), "depth") as r:
        got = [f.data for f in r.frames()]
    assert len(got) == 2 and all(np.array_equal(g, _exr_z(k)) for k, g in enumerate(got))


def test_the_combined_layer_is_the_colour_beside_a_layer_before_it_by_name(tmp_path):
    """Blender's multilayer file with an AO pass (R, G, B, sorted before Combined): Combined is the colour."""
    from test_exr_depth_channel import write_exr

    from igde_stream.stream.exrdepth import colour_layer

    z = _exr_z()
    chans = {f"ViewLayer.{layer}.{c}": z * 0 + 0.5 for layer in ("AO", "Combined") for c in "RGB"}
    chans["ViewLayer.Depth.Z"] = z
    write_exr(tmp_path / "m.exr", chans)
    assert colour_layer(str(tmp_path / "m.exr")) == "ViewLayer.Combined"
    chans["Y"] = z  # a gray plate at the top level, which FFmpeg reads as it is: no layer
    write_exr(tmp_path / "y.exr", chans)
    assert colour_layer(str(tmp_path / "y.exr")) is None


def test_a_depth_channel_after_other_header_attributes_is_read(tmp_path):
    """OpenEXR writes its attributes sorted by name, so Blender's ``BlenderMultiChannel`` (and any
    capitalised one, or capDate) comes before ``channels``: the file written with such an attribute
    first (the offset table shifted by its length) gives the same depth."""
    from test_exr_depth_channel import write_exr

    from igde_stream.stream.reader import VideoReader

    z = _exr_z()
    data = write_exr(tmp_path / "a.exr", {"R": z * 0, "G": z * 0, "B": z * 0, "Z": z}).read_bytes()
    at = 8
    while data[at]:  # name \0 type \0 size value
        kind_end = data.index(b"\0", data.index(b"\0", at) + 1)
        at = kind_end + 5 + struct.unpack_from("<i", data, kind_end + 1)[0]
    end = at + 1  # the header's closing 0; one offset (16 lines, one ZIP block) follows
    value = b"Blender 4.2\0"
    extra = b"BlenderMultiChannel\0string\0" + struct.pack("<i", len(value)) + value
    (offset,) = struct.unpack_from("<Q", data, end)
    moved = data[:8] + extra + data[8:end] + struct.pack("<Q", offset + len(extra)) + data[end + 8:]
    (tmp_path / "b.exr").write_bytes(moved)
    with VideoReader(str(tmp_path / "b.exr"), "depth") as r:
        assert np.array_equal(next(r.frames()).data, z)


def test_h264_counts_the_macroblocks_of_a_partly_filled_row(tmp_path):
    """4096x2306: 145 macroblock rows (the last partly filled), 37,120 macroblocks, over level 5.2's 36,864:
    x264 (ultrafast, one black frame, read back by PyAV) codes it at level 6.0, and the note says so."""
    from test_views_codec_levels import _coded_level

    from igde_stream.stream.view_writers import level_note

    assert _coded_level(tmp_path / "l.mp4", "libx264", {"preset": "ultrafast"}, 4096, 2306) == 60
    assert "4096x2306 frames (37,120 macroblocks" in level_note("h264", 4096, 2306)


def test_the_main_commands_top_and_bottom_pair_gets_the_st3d_sound_command(monkeypatch, tmp_path):
    """--layout tab is a stereo pair as sbs is: the sound note is asked for its st3d form (the run itself
    and the note stood in for)."""
    from igde_stream import cli, run_summary
    from igde_stream.stream import sound

    asked = []
    monkeypatch.setattr(cli, "_run", lambda args, **paths: {"views_outputs": [str(tmp_path / "v_TB.mp4")]})
    monkeypatch.setattr(run_summary, "format_summary", lambda s: "summary")
    monkeypatch.setattr(sound, "sound_note", lambda color, outputs, stereo=False, carried=False: asked.append(stereo) or "")
    for layout, stereo in (("tab", True), ("sbs", True), ("anaglyph", False)):
        assert cli.main([str(tmp_path / "c.mp4"), str(tmp_path / "d.mkv"), "-o", str(tmp_path / "o.mkv"),
                         "--views-out", str(tmp_path / "v_TB.mp4"), "--layout", layout]) == 0
        assert asked.pop() is stereo, layout


def test_a_lenticular_panels_note_advises_nothing():
    """A panel's frame is the panel's own size (as a quilt preset's): nothing makes it smaller."""
    from igde_stream import display, multiview as mv
    from igde_stream.stream.view_writers import level_note

    cal = display.LenticularCalibration(n_views=2, pitch=2.0, tan_slant=0.0)
    lay = display.make_layout("lenticular", mv.ViewConfig(n_views=2), calibration=cal, panel=(7680, 4320))
    assert lay.level_fix() == ""
    assert level_note("h264", *lay.frame_sizes((64, 48))[0], lay.level_fix()).endswith("may refuse")


def test_sceneflow_pfm_whose_disparity_has_zeros_still_names_its_channel(tmp_path):
    """Disparity 0 at some pixels (a SceneFlow sky at infinity) beside G and B all 0: R still holds the
    values; the line names it (the PFM written by hand, bottom row first, little-endian)."""
    from igde_stream.errors import InputError
    from igde_stream.stream.reader import VideoReader

    h, w = 8, 12
    disp = np.tile(np.linspace(5, 40, w, dtype=np.float32), (h, 1))
    disp[:2] = 0.0
    zero = np.zeros_like(disp)
    (tmp_path / "d.pfm").write_bytes(b"PF\n%d %d\n-1.0\n" % (w, h)
                                     + np.flipud(np.stack([disp, zero, zero], -1)).astype("<f4").tobytes())
    with pytest.raises(InputError, match=r"\(B and G all 0, values in R only, as a SceneFlow PFM"):
        with VideoReader(str(tmp_path / "d.pfm"), "depth") as r:
            list(r.frames())


def test_the_ground_truth_frames_compared_run_from_the_first_matched_to_the_last():
    """Ground truth frames 2..7 at 1/25 s (the reader from --start 3 reads one before), outputs at frames
    3..7's times: frames 3..7 are compared, frame 2 passed over (late: not unmatched)."""
    from conftest import timed_frames
    from igde_stream.stream.outputs import GtMatcher
    from igde_stream.stream.report import PsnrReport

    with PsnrReport(255.0) as report:
        gt = iter(timed_frames([k / 25 for k in range(2, 8)], start_index=2))
        m = GtMatcher(gt, 0.5 / 25, report, True, late=True)
        got = [m.match(k / 25).index for k in range(3, 8)]
        assert got == [3, 4, 5, 6, 7] and list(report.gt_compared) == [3, 4, 5, 6, 7] and 2 not in report.gt_compared
