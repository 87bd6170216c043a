"""Tests added by seeded-bug review 65 (results/mutation.md, "Seeded-bug review 65"): each catches a bug
planted by hand in the code of ``--to`` / ``--duration``, the batch CSV's ``start`` / ``to`` columns, the
outputs' pixel aspect tags or the HDR views' colour tags that the earlier tests let through, or a defect the
review found. Expected values are worked out by hand (frame k of a 25 fps clip at k x 40 ms; Matroska's
1 ms time base), read back with PyAV, from a PNG's bytes or with ffprobe (skipped without it)."""

from __future__ import annotations

import csv
import json
import logging
import shutil
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from conftest import encode_frames, read_video, scene, write_video
from test_aspect_tags import _encode, _sar  # arrays of one pixel aspect encoded with PyAV; a file's header ratio
from igde_stream import multiview as mv

RATE = Fraction(25)
SAR = Fraction(4, 3)
BT709, BT2020, P3, PQ, HLG, UNSPECIFIED = 1, 9, 12, 16, 18, 2
MODEL = ["--model", "igde-small", "--backend", "onnxruntime", "--batch", "2"]  # as test_batch_spans.py


def _clip(folder, n=12, size=(32, 24), start=0.0, gt=False):
    """FFV1 colour and depth (and ground truth) at 25 fps from ``start`` s: frame k at start + k x 40 ms."""
    colors, depths, gts = scene(n, size)
    paths = [write_video(folder / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE, start=start),
             write_video(folder / "d.mkv", depths, fmt="gray", rate=RATE, start=start)]
    return (*paths, write_video(folder / "g.mkv", gts, fmt="gray", rate=RATE, start=start)) if gt else paths


def _pts(path):
    return read_video(path)[1]


@pytest.fixture(scope="module")
def enhancer():
    """The shipped model on ONNX Runtime: loads in a second, where the suite's tiny torch model is built."""
    from igde_stream import Enhancer

    return Enhancer(model="igde-small", backend="onnxruntime", batch=2, quiet=True)


# ---- defects -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def take(tmp_path_factory):
    folder = tmp_path_factory.mktemp("take")
    colors, depths, _ = scene(12, (64, 48), 8, seed=3)
    write_video(folder / "c.mkv", colors, fmt="rgb24", codec="ffv1", rate=RATE)
    write_video(folder / "d.mkv", depths, fmt="gray", rate=RATE)
    return folder


def test_batch_duration_counts_from_each_rows_start(take):
    """--start 0.2 --duration 0.12 (three frames at 25 fps), from each clip's own start as FFmpeg's -t from
    -ss: row a starts at 0 (a time, not an empty cell: frames 0-2, pts 0, 40, 80 ms), row b at the
    command's 0.2 s (frames 5-7), row c at 0.3 s (frames 8-10), row d has its own to (0.3 to 0.4 s: frames 8
    and 9). Before, the end was the command's --start plus the duration for every row (0.32 s): row c
    (0.3 to 0.32 s) held no frame and failed. The CSV summary has start and end columns."""
    from igde_stream.cli import main

    jobs = take / "dur.csv"
    jobs.write_text("color,depth,output,start,to\nc.mkv,d.mkv,dur/a.mkv,0,\nc.mkv,d.mkv,dur/b.mkv,,\n"
                    "c.mkv,d.mkv,dur/c.mkv,0.3,\nc.mkv,d.mkv,dur/d.mkv,0.3,0.4\n")
    summaries = [str(take / "dur.json"), str(take / "dur_summary.csv")]
    assert main(["batch", str(jobs), *MODEL, "--start", "0.2", "--duration", "0.12", "--summary", summaries[0],
                 "--summary", summaries[1], "-q"]) == 0
    assert [_pts(take / "dur" / f"{n}.mkv") for n in "abcd"] == [[0, 40, 80], [200, 240, 280], [320, 360, 400],
                                                               [320, 360]]
    rows = json.loads((take / "dur.json").read_text())["rows"]
    assert [(r["start"], r["end"]) for r in rows] == [(None, pytest.approx(0.12)), (0.2, pytest.approx(0.32)),
                                                      (0.3, pytest.approx(0.42)), (0.3, 0.4)]
    with open(summaries[1], newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["start"], float(r["end"])) for r in rows] == [("", pytest.approx(0.12)), ("0.2", pytest.approx(0.32)),
                                                             ("0.3", pytest.approx(0.42)), ("0.3", 0.4)]


def test_views_of_pq_colour_without_primaries_say_bt2020(tmp_path):
    """Colour tagged PQ but not its primaries (unspecified, 2, as PyAV reads an untagged stream): PQ is
    defined with BT.2020's primaries (BT.2100), as the docs say the views are tagged. Before, the views
    said primaries "unspecified" beside PQ (the fallback to BT.2020 only took a 0, which FFmpeg never gives)."""
    from igde_stream.stream.views import render_file

    frames = [av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="yuv420p10le")
              for c in scene(2, (32, 24))[0]]
    c = encode_frames(tmp_path / "c.mkv", frames, "ffv1", "yuv420p10le",
                      tags={"color_trc": PQ, "colorspace": BT2020, "color_range": 1})
    d = write_video(tmp_path / "d.mkv", scene(2, (32, 24))[1], fmt="gray", rate=RATE)
    with av.open(str(c)) as f:
        assert f.streams.video[0].codec_context.color_primaries == UNSPECIFIED
    render_file(c, d, tmp_path / "v.mp4", mv.ViewConfig(2, 12), codec="h264")
    assert _tags(tmp_path / "v.mp4") == (BT2020, PQ, BT709)


# ---- --to / --duration ---------------------------------------------------------------------------------

def test_a_frame_exactly_at_a_typed_end_is_not_written():
    """--to 1:08.96 reads as 68.96000000000001 (60 + 8.96 in floats); a frame at 68.96 s (pts 6896 in
    1/100 s) lies exactly at the end and is not written, as FFmpeg's -to."""
    from igde_stream.cli_parser import time_arg
    from igde_stream.stream.info import Frame
    from igde_stream.stream.span import Span

    end = time_arg("1:08.96")
    assert end > 68.96
    span = Span(60.0, end=end)
    assert not span.past(Frame(1723, 6892, 68.92, 68.92, None))
    assert span.past(Frame(1724, 6896, 68.96, 68.96, None)) and span.ended == 68.96


def test_one_picture_from_0_1_to_0_14_s(tmp_path, enhancer):
    """Frame 3 (0.12 s) alone lies in [0.1, 0.14): 0.14 - 0.1 is 0.04000000000000001 in floats, a hair over
    one frame at 25 fps, which must not count as two (one PNG refused)."""
    from igde_stream.stream import enhance_file

    c, d = _clip(tmp_path, n=6)
    s = enhance_file(c, d, tmp_path / "one.png", enhancer=enhancer, start=0.1, end=0.14)
    assert s["frames"] == 1 and (tmp_path / "one.png").exists()


def test_a_span_of_two_frames_refuses_one_picture_up_front(tmp_path, enhancer):
    """0 to 0.06 s holds frames 0 and 1 (0, 0.04 s): one PNG is refused before anything is enhanced, naming
    the 2 frames (not at the second frame's writing, as "more than one frame")."""
    from igde_stream.errors import OutputError
    from igde_stream.stream import enhance_file

    c, d = _clip(tmp_path, n=6)
    with pytest.raises(OutputError, match="one image, of an input of 2 frames"):
        enhance_file(c, d, tmp_path / "one.png", enhancer=enhancer, end=0.06)
    assert not (tmp_path / "one.png").exists()


def test_max_frames_1_with_a_later_end_is_one_picture(tmp_path, enhancer):
    """--max-frames 1 ends the run before --to 0.2 s (five frames): the outputs are told one frame, the
    smaller of the two, and one PNG is written."""
    from igde_stream.stream import enhance_file

    c, d = _clip(tmp_path, n=6)
    s = enhance_file(c, d, tmp_path / "one.png", enhancer=enhancer, end=0.2, max_frames=1)
    assert s["frames"] == 1 and (tmp_path / "one.png").exists()


def test_an_infinite_end_is_a_value_error(tmp_path, enhancer):
    """None is the clip's end; inf is no number of seconds (as nan, not an OverflowError deeper in)."""
    from igde_stream.stream import enhance_file

    c, d = _clip(tmp_path, n=2)
    with pytest.raises(ValueError, match="end must be a number of seconds after start"):
        enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer, end=float("inf"))
    assert not (tmp_path / "o.mkv").exists()


def test_no_depth_frame_before_the_end_from_the_clips_start(tmp_path, enhancer):
    """--sync absolute, both streams from 1 s: nothing lies before --to 0.5 s (no --start). One clear error,
    nothing written."""
    from igde_stream.errors import IGDEError
    from igde_stream.stream import enhance_file

    c, d = _clip(tmp_path, n=4, start=1.0)
    with pytest.raises(IGDEError, match=r"no depth frame from --start 0 s to --to 0\.5 s \(the first at or after "
                                        r"the start is at 1\.000 s\)"):
        enhance_file(c, d, tmp_path / "o.mkv", enhancer=enhancer, sync="absolute", end=0.5)
    assert not (tmp_path / "o.mkv").exists()


def test_a_colour_sequence_shorter_than_the_depth_after_the_end_does_not_matter(tmp_path, enhancer):
    """Image sequences pair by index and must be of one length, unless the run ends before the shorter
    one does: colour of 6 files beside depth of 12, to 0.2 s (25 fps: frames 0-4), as --max-frames 5."""
    import cv2

    from igde_stream.stream import enhance_file

    colors, depths, _ = scene(12, (32, 24))
    for folder, frames in (("c", [a[:, :, ::-1] for a in colors[:6]]), ("d", depths)):
        (tmp_path / folder).mkdir()
        for i, a in enumerate(frames):
            cv2.imwrite(str(tmp_path / folder / f"{i:03d}.png"), a)
    s = enhance_file(str(tmp_path / "c" / "%03d.png"), str(tmp_path / "d" / "%03d.png"), tmp_path / "o.mkv",
                     enhancer=enhancer, end=0.2)
    assert s["frames"] == 5 and len(read_video(tmp_path / "o.mkv")[0]) == 5


def test_views_render_and_quality_take_to_and_duration_on_the_command_line(tmp_path):
    """From 0.08 s: --duration 0.12 and --to 0.2 both give frames 2, 3, 4 (pts 80, 120, 160 ms)."""
    from igde_stream.views_cli import main as views_main

    c, d, g = _clip(tmp_path, n=8, gt=True)
    assert views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv"), "--views", "2", "--start", "0.08",
                       "--duration", "0.12", "-q"]) == 0
    assert _pts(tmp_path / "v.mkv") == [80, 120, 160]
    assert views_main(["quality", str(c), "--gt", str(g), "--depth", f"d={d}", "--views", "2", "--start", "0.08",
                       "--to", "0.2", "--report", str(tmp_path / "q.json"), "-q"]) == 0
    report = json.loads((tmp_path / "q.json").read_text())
    assert (report["frames"], report["end"], report["first_frame"]) == (3, 0.2, 2)


def test_views_render_with_to_before_start_is_one_line(tmp_path, capsys):
    from igde_stream.views_cli import main as views_main

    c, d = _clip(tmp_path, n=4)
    with pytest.raises(SystemExit) as exc:
        views_main(["render", str(c), str(d), "-o", str(tmp_path / "v.mkv"), "--start", "0.1", "--to", "0.05"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "--to 0.05 s must come after --start 0.1 s" in err[-1]
    assert not (tmp_path / "v.mkv").exists()


def test_views_library_refuses_an_end_not_after_the_start(tmp_path):
    from igde_stream.stream import views

    c, d, g = _clip(tmp_path, n=4, gt=True)
    with pytest.raises(ValueError, match="end must be a number of seconds after start"):
        views.render_file(c, d, tmp_path / "v.mkv", mv.ViewConfig(2, 12), start=0.08, end=0.08)
    with pytest.raises(ValueError, match="end must be a number of seconds after start"):
        views.view_quality_files(c, g, {"d": d}, mv.ViewConfig(2, 12), start=0.08, end=0.04)
    assert not (tmp_path / "v.mkv").exists()


def test_views_render_of_one_frame_to_a_png(tmp_path):
    """From 0.08 to 0.12 s: frame 2 alone, one PNG (the writers told one frame, not the clip's 8)."""
    from igde_stream.stream import views

    c, d = _clip(tmp_path, n=8)
    n, [path] = views.render_file(c, d, tmp_path / "v.png", mv.ViewConfig(2, 12), start=0.08, end=0.12)
    assert n == 1 and path.exists()


# ---- batch start / to columns ------------------------------------------------------------------------

def test_a_rows_start_at_the_commands_to_fails_that_clip_in_one_line(tmp_path):
    """A row's start equal to the command's --to: the clip fails with the batch's own line, before a model
    loads (not enhance_file's ValueError as an internal error)."""
    from igde_stream.batch import run_clip
    from igde_stream.batch_jobs import Job

    row = run_clip(Job("a", "c.mkv", "d.mkv", str(tmp_path / "a.mkv"), start=0.2), {"end": 0.2})
    assert (row["status"], row["error"]) == ("failed", "to 0.2 s must come after start 0.2 s")


def test_a_packed_csv_takes_start_and_to(tmp_path):
    from igde_stream.batch_jobs import read_jobs

    jobs = tmp_path / "p.csv"
    jobs.write_text("input,output,start,to\np.mkv,o.mkv,1.5,0:02\n")
    [job] = read_jobs(jobs, packed=True)
    assert (job.start, job.end) == (1.5, 2.0)


# ---- aspect tags ---------------------------------------------------------------------------------------

def _anamorphic(folder, n=2, color_sar=SAR, depth_sar=SAR, size=(32, 24)):
    """H.264 colour and FFV1 gray depth in MP4 (their pasp boxes say the ratios), one stored grid."""
    colors, depths, _ = scene(n, size)
    return (_encode(folder / "c.mp4", colors, "libx264", "yuv420p", "rgb24", color_sar),
            _encode(folder / "d.mp4", depths, "ffv1", "gray", "gray", depth_sar))


def _frame_sars(path):
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe (FFmpeg's command line) is not installed: FFV1's per-frame ratio is read with it")
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames", "-show_entries",
                          "frame=sample_aspect_ratio", "-of", "json", str(path)], capture_output=True, text=True,
                         check=True).stdout
    return [f.get("sample_aspect_ratio") for f in json.loads(out)["frames"]]


def _png_ratio(path):
    data = path.read_bytes()
    at = data.index(b"pHYs")
    return Fraction(int.from_bytes(data[at + 4:at + 8], "big"), int.from_bytes(data[at + 8:at + 12], "big"))


def test_colour_and_depth_of_one_grid_with_different_ratios(tmp_path, enhancer):
    """Colour 4:3, depth square, both 32 x 24 (no resize): the depth output is the depth's (square, no tag,
    output_sar None); the views and RGB-D, pictures of the colour, carry 4:3; views render too."""
    from igde_stream.stream import enhance_file
    from igde_stream.stream.outputs import ViewsOptions
    from igde_stream.stream.views import render_file

    c, d = _anamorphic(tmp_path, depth_sar=1)
    views = ViewsOptions(config=mv.ViewConfig(n_views=2), codec="h264")
    s = enhance_file(c, d, tmp_path / "o.mp4", enhancer=enhancer, views_path=tmp_path / "v.mp4",
                     rgbd_path=tmp_path / "r.mp4", views=views)
    assert _sar(tmp_path / "o.mp4") in (None, 1) and s["output_sar"] is None
    assert (_sar(tmp_path / "v.mp4"), _sar(tmp_path / "r.mp4")) == (SAR, SAR)
    render_file(c, d, tmp_path / "w.mp4", mv.ViewConfig(n_views=2), codec="h264")
    assert _sar(tmp_path / "w.mp4") == SAR


def test_ffv1_views_in_matroska_say_it_in_every_frame(tmp_path):
    from igde_stream.stream.views import render_file

    c, d = _anamorphic(tmp_path)
    render_file(c, d, tmp_path / "v.mkv", mv.ViewConfig(n_views=2))  # FFV1 (bgr0)
    assert _frame_sars(tmp_path / "v.mkv") == ["4:3", "4:3"]


def test_one_views_picture_says_it_in_its_phys_chunk(tmp_path):
    from igde_stream.stream.views import render_file

    c, d = _anamorphic(tmp_path, n=1)
    _, [path] = render_file(c, d, tmp_path / "v.png", mv.ViewConfig(n_views=2))
    assert _png_ratio(path) == SAR


def test_a_top_bottom_pair_in_matroska_says_it_cannot_carry_it(tmp_path, caplog):
    from igde_stream.stream.view_writers import ColorWriter

    w = ColorWriter(tmp_path / "t.mkv", "h264", RATE, 1 / RATE, stereo_mode="top_bottom", sar=SAR)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        w.write(np.zeros((48, 32, 3), np.uint8), 0)
    w.commit()
    assert any("stereo mode" in m and "t.mkv" in m for m in caplog.messages)


def test_ffv1_in_matroska_is_not_warned_as_keeping_no_ratio(tmp_path, caplog):
    """FFV1 says it in every frame: an info line, no warning."""
    from igde_stream.stream.aspect import AspectTag

    with av.open(str(tmp_path / "x.mkv"), "w") as out:
        s = out.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 32, 24, "gray"
        with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
            AspectTag(s, SAR, "x.mkv")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("says the sample aspect ratio 4:3 in every frame" in m for m in caplog.messages)


def test_square_pixels_pass_frames_through_untouched(tmp_path):
    """Square pixels: no filter, the very frame (FFV1 frames are not run through setsar 1:1)."""
    from igde_stream.stream.aspect import AspectTag

    with av.open(str(tmp_path / "x.mkv"), "w") as out:
        s = out.add_stream("ffv1", rate=25)
        s.width, s.height, s.pix_fmt = 32, 24, "gray"
        tag = AspectTag(s, 1, "x.mkv")
        frame = av.VideoFrame.from_ndarray(np.zeros((24, 32), np.uint8), format="gray")
        assert tag(frame) is frame


def test_a_fitted_quilts_name_is_checked_before_it_is_written(tmp_path):
    """4:3 views of 32 x 24 show at 42.67 x 24: the quilt is named ..._qs2x1a1.78; an existing file of
    that name is refused (the name before fitting, a1.33, was the only one checked), and kept."""
    from igde_stream.display import parse_quilt
    from igde_stream.errors import IGDEError
    from igde_stream.stream.views import render_file

    c, d = _anamorphic(tmp_path)
    mine = tmp_path / "q_qs2x1a1.78.mkv"
    mine.write_bytes(b"keep")
    with pytest.raises(IGDEError, match="exists"):
        render_file(c, d, tmp_path / "q.mkv", mv.ViewConfig(n_views=2), layout="quilt", quilt=parse_quilt("2x1"))
    assert mine.read_bytes() == b"keep" and sorted(p.name for p in tmp_path.iterdir()) == ["c.mp4", "d.mp4", mine.name]


def test_a_quilt_of_square_views_is_not_refitted(tmp_path, caplog):
    """Square pixels: the layout is used as it is (no copy fitted at 1:1, no line saying views are fitted)."""
    from igde_stream.display import parse_quilt
    from igde_stream.stream.views import render_file

    c, d = _clip(tmp_path, n=1)
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        _, [path] = render_file(c, d, tmp_path / "q.png", mv.ViewConfig(n_views=2), layout="quilt",
                                quilt=parse_quilt("2x1"))
    assert path.name == "q_qs2x1a1.33.png" and not [m for m in caplog.messages if "fitted as a player" in m]


def test_a_view_the_canvas_size_is_still_fitted_by_its_ratio():
    """A 4 x 4 view of 2:1 pixels shows as 8 x 4: on a 4 x 4 canvas of square pixels it fills rows 1-2."""
    from igde_stream.display import fit_view

    out = fit_view(np.full((4, 4, 3), 255, np.uint8), (4, 4), view_par=2.0)
    assert out[..., 0].max(axis=1).tolist() == [0, 255, 255, 0] and (out[1:3] == 255).all()


def test_a_quilt_of_the_views_themselves_holds_them_unchanged():
    """No preset: the tiles are the views' own pixels (the name says the aspect they show at), not fitted."""
    from igde_stream.display import QuiltSpec, pack_quilt

    views = np.stack([np.full((24, 32, 3), v, np.uint8) for v in (60, 200)])
    q = pack_quilt(views, QuiltSpec(2, 1), view_par=4 / 3)
    np.testing.assert_array_equal(q, np.concatenate(list(views), axis=1))


# ---- HDR views' colour tags ------------------------------------------------------------------------------

def _tags(path):
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return cc.color_primaries, cc.color_trc, cc.colorspace


def test_views_of_pq_colour_in_display_p3_say_its_own_primaries(tmp_path):
    """Display P3 primaries (12) with PQ: the views say 12, not BT.2020."""
    from igde_stream.stream.views import render_file

    frames = [av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="yuv420p10le")
              for c in scene(2, (32, 24))[0]]
    c = encode_frames(tmp_path / "c.mkv", frames, "ffv1", "yuv420p10le",
                      tags={"color_primaries": P3, "color_trc": PQ, "colorspace": BT709, "color_range": 1})
    d = write_video(tmp_path / "d.mkv", scene(2, (32, 24))[1], fmt="gray", rate=RATE)
    render_file(c, d, tmp_path / "v.mp4", mv.ViewConfig(2, 12), codec="h264")
    assert _tags(tmp_path / "v.mp4") == (P3, PQ, BT709)


def test_rgb_views_of_sdr_colour_stay_untagged(tmp_path):
    """FFV1 views (RGB) of SDR colour carry no primaries or transfer, as before HDR tags came
    (docs/formats.md: "in FFV1 they are RGB (bgr0), untagged")."""
    from igde_stream.stream.views import render_file

    c, d = _clip(tmp_path, n=2)
    render_file(c, d, tmp_path / "v.mkv", mv.ViewConfig(2, 12))
    assert _tags(tmp_path / "v.mkv")[:2] == (UNSPECIFIED, UNSPECIFIED)


# ---- added with the second set of planted bugs (results/seeded_review65.json: A37, A38) ----------------

def test_a_quarter_turn_turns_the_pixels_ratio(tmp_path, enhancer):
    """32 x 24 stored in 4:3 pixels, shown turned a quarter (a phone's display matrix): read as 24 x 32,
    whose pixels are 3:4; the output, at that grid, says 3:4."""
    from test_rotation import CLOCKWISE, tag

    from igde_stream.stream import enhance_file

    c, d = (tag(p, CLOCKWISE) for p in _anamorphic(tmp_path))
    s = enhance_file(c, d, tmp_path / "o.mp4", enhancer=enhancer)
    assert (_sar(tmp_path / "o.mp4"), s["output_sar"]) == (Fraction(3, 4), "3:4")


def test_a_lenticular_panel_image_is_square_its_views_fitted(tmp_path):
    """4:3 views of 32 x 24 show 42.67 x 24: on a 48 x 24 panel they fill 43 columns (centred), and the
    file, the panel's own pixels, is square (FFV1 in MP4: its pasp box would say a ratio)."""
    from igde_stream import display
    from igde_stream.stream.views import render_file

    c, d = _anamorphic(tmp_path)
    cal = display.LenticularCalibration(n_views=2, pitch=3.0, tan_slant=0.0)
    _, [path] = render_file(c, d, tmp_path / "p.mp4", mv.ViewConfig(n_views=2), layout="lenticular",
                            calibration=cal, panel=(48, 24))
    assert _sar(path) in (None, 1)
    [panel] = read_video(path)[0][:1]
    lit = np.flatnonzero(panel.max(axis=(0, 2)) > 0)
    assert (lit.min(), lit.max()) == (2, 44)
