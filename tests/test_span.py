"""``igde-stream ... --start TIME --max-frames N`` (``enhance_file(start=..., max_frames=...)``): N
frames of a clip from the first at or after TIME, the same frames a whole run gives (pixels, times,
image numbers), compared with the ground truth over those frames only; the readers stop (a long clip
is not decoded to its end), and lengths that differ after the last frame read do not matter."""

from __future__ import annotations

import json
import threading
from fractions import Fraction

import numpy as np
import pytest

from conftest import read_video, scene
from igde_stream.cli import main
from igde_stream.cli_parser import time_arg
from igde_stream.stream import enhance_file
from igde_stream.stream.timecode import advance

cv2 = pytest.importorskip("cv2")


def _in_time(fn, seconds: float = 120.0):
    """``fn()`` on a thread, failing (not hanging) when it does not return in time: a reader left
    blocked on a full queue would hang the run."""
    box: dict = {}
    t = threading.Thread(target=lambda: box.update(result=fn()), daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), "the run did not end: a stage is still blocked"
    return box.get("result")


def test_the_first_frames_are_those_of_the_whole_run_and_the_report_covers_them(make_clip, tmp_path, tiny_model,
                                                                                 counted):
    from igde_stream import Enhancer

    clip = make_clip(n=40, size=(48, 32))
    one = Enhancer(model=tiny_model, backend="torch", batch=1)  # queues of 3 frames: they fill at once
    whole = enhance_file(clip["color"], clip["depth"], tmp_path / "all.mkv", gt_path=clip["gt"],
                         report_path=tmp_path / "all.json", enhancer=one)
    assert whole["frames"] == 40 and counted["depth"] == 40
    counted.clear()
    s = _in_time(lambda: enhance_file(clip["color"], clip["depth"], tmp_path / "five.mkv", gt_path=clip["gt"],
                                      report_path=tmp_path / "five.json", enhancer=one, max_frames=5))
    assert s["frames"] == 5 and s["max_frames"] == 5
    got, pts, _ = read_video(tmp_path / "five.mkv")
    want, want_pts, _ = read_video(tmp_path / "all.mkv")
    assert len(got) == 5
    np.testing.assert_array_equal(np.stack(got), np.stack(want[:5]))
    assert pts == want_pts[:5]
    # the readers stopped: at most the queues' few frames beyond the fifth were decoded, not all 40
    assert all(n <= 12 for n in counted.values()), counted
    five, full = json.loads((tmp_path / "five.json").read_text()), json.loads((tmp_path / "all.json").read_text())
    assert [r["index"] for r in five["frames"]] == [0, 1, 2, 3, 4]
    assert [r["psnr"] for r in five["frames"]] == [r["psnr"] for r in full["frames"][:5]]
    # the ground truth's 35 later frames are not "unmatched": the run stopped before them
    assert five["summary"]["unmatched_frames"] == 0
    mse = np.mean([10 ** (-r["psnr"] / 10) * 255.0 ** 2 for r in full["frames"][:5]])  # averaged over MSE
    mean = 10 * np.log10(255.0 ** 2 / mse)
    assert five["summary"]["mean_psnr"] == pytest.approx(mean, abs=1e-3)


def test_more_frames_than_the_clip_has_is_the_whole_clip(make_clip, tmp_path, enhancer):
    clip = make_clip(n=6)
    a = enhance_file(clip["color"], clip["depth"], tmp_path / "a.mkv", gt_path=clip["gt"],
                     report_path=tmp_path / "a.json", enhancer=enhancer, max_frames=50)
    b = enhance_file(clip["color"], clip["depth"], tmp_path / "b.mkv", gt_path=clip["gt"],
                     report_path=tmp_path / "b.json", enhancer=enhancer)
    assert a["frames"] == b["frames"] == 6
    np.testing.assert_array_equal(np.stack(read_video(tmp_path / "a.mkv")[0]), np.stack(read_video(tmp_path / "b.mkv")[0]))
    ra, rb = (json.loads((tmp_path / f"{x}.json").read_text())["summary"] for x in "ab")
    assert ra["mean_psnr"] == rb["mean_psnr"]


def test_one_frame_of_a_clip_into_one_image(make_clip, tmp_path, tiny_model, capsys):
    """A clip into one picture is refused; with --max-frames 1 it is the whole run's first frame."""
    clip = make_clip(n=6)
    run = [str(clip["color"]), str(clip["depth"]), "--model", str(tiny_model), "--backend", "torch", "-q"]
    assert main([*run, "-o", str(tmp_path / "all.mkv")]) == 0
    assert main([*run, "-o", str(tmp_path / "first.png")]) == 2
    assert capsys.readouterr().err.strip().endswith("or add --max-frames 1 for the first frame's")
    assert not (tmp_path / "first.png").exists()
    assert main([*run, "-o", str(tmp_path / "first.png"), "--max-frames", "1"]) == 0
    got = cv2.imread(str(tmp_path / "first.png"), cv2.IMREAD_UNCHANGED)  # read by OpenCV
    np.testing.assert_array_equal(got, read_video(tmp_path / "all.mkv")[0][0])


def test_sequences_of_other_lengths_pair_when_the_run_stops_before_the_shorter_ends(tmp_path, enhancer):
    colors, depths, _ = scene(6, (48, 32), bits=8)
    (tmp_path / "c").mkdir()
    (tmp_path / "d").mkdir()
    for k in range(6):
        assert cv2.imwrite(str(tmp_path / "c" / f"{k:03d}.png"), colors[k][..., ::-1])
        if k < 5:
            assert cv2.imwrite(str(tmp_path / "d" / f"{k:03d}.png"), depths[k])
    from igde_stream.errors import PairingError

    with pytest.raises(PairingError, match="6 frames and the depth sequence 5"):
        enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "x.mkv", enhancer=enhancer)
    with pytest.raises(PairingError):  # the run would reach the shorter one's end
        enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "x.mkv", enhancer=enhancer, max_frames=6)
    s = enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "x.mkv", enhancer=enhancer, max_frames=5)
    assert s["frames"] == 5
    got = np.stack(read_video(tmp_path / "x.mkv")[0])
    want = enhancer.enhance(np.stack(colors[:5]), np.stack(depths[:5]))
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("bad", [-1, True, 2.0, "3"])
def test_a_bad_count_is_refused_before_anything(make_clip, tmp_path, enhancer, bad):
    clip = make_clip(n=2)
    with pytest.raises(ValueError, match="max_frames must be a whole number"):
        enhance_file(clip["color"], clip["depth"], tmp_path / "x.mkv", enhancer=enhancer, max_frames=bad)
    assert not (tmp_path / "x.mkv").exists()


def test_the_command_line_refuses_a_negative_count_in_one_line(make_clip, tmp_path, capsys):
    clip = make_clip(n=2)
    with pytest.raises(SystemExit) as exc:
        main([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "x.mkv"), "--max-frames", "-2"])
    err = capsys.readouterr().err.strip().splitlines()
    assert exc.value.code == 2 and len(err) == 1 and "--max-frames" in err[-1] and ">= 0" in err[-1]
    assert not (tmp_path / "x.mkv").exists()


def test_a_start_time_takes_the_first_frame_at_or_after_it(make_clip, tmp_path, enhancer):
    """29.97 fps (make_clip's 30000/1001) in Matroska's 1 ms: frame k at k x 1001/30000 s rounded to
    the ms. 0.5 s: frame 15 (0.501 s; frame 14 is at 0.467), worked out by hand; exactly frame 3's time
    as stored (0.100 s): frame 3 itself."""
    clip = make_clip(n=24)
    enhance_file(clip["color"], clip["depth"], tmp_path / "all.mkv", gt_path=clip["gt"],
                 report_path=tmp_path / "all.json", enhancer=enhancer)
    want, want_pts, _ = read_video(tmp_path / "all.mkv")
    full = json.loads((tmp_path / "all.json").read_text())["frames"]
    for start, first, n in ((0.5, 15, 4), (0.1, 3, 2), (0.0, 0, 3), (0.79, 24, 0)):
        if not n:  # 0.79 s is after the last frame (23, at 0.767 s) by less than a frame: nothing to write
            with pytest.raises(Exception, match=r"no depth frame at or after --start 0.79 s \(its last frame, of 24, at 0.767 s\)"):
                enhance_file(clip["color"], clip["depth"], tmp_path / "none.mkv", enhancer=enhancer, start=start)
            assert not (tmp_path / "none.mkv").exists()
            continue
        out, rep = tmp_path / f"s{first}.mkv", tmp_path / f"s{first}.json"
        s = enhance_file(clip["color"], clip["depth"], out, gt_path=clip["gt"], report_path=rep, enhancer=enhancer,
                         start=start, max_frames=n)
        got, pts, _ = read_video(out)
        assert s["frames"] == n and pts == want_pts[first:first + n]
        np.testing.assert_array_equal(np.stack(got), np.stack(want[first:first + n]))
        rows = json.loads(rep.read_text())
        assert [r["index"] for r in rows["frames"]] == list(range(first, first + n))
        assert [r["psnr"] for r in rows["frames"]] == [r["psnr"] for r in full[first:first + n]]
        assert rows["summary"]["unmatched_frames"] == 0  # the ground truth before and after: not the output's


def test_an_image_pattern_output_keeps_the_inputs_frame_numbers(tmp_path, enhancer):
    """Depth images numbered from 3 (d/003.png ...): from 0.2 s at 25 fps (frame 5, number 8) the files
    are out/008.png, out/009.png, as the whole run's files of those frames are."""
    colors, depths, _ = scene(10, (48, 32), bits=16)
    (tmp_path / "c").mkdir()
    (tmp_path / "d").mkdir()
    for k in range(10):
        assert cv2.imwrite(str(tmp_path / "c" / f"{k + 3:03d}.png"), colors[k][..., ::-1])
        assert cv2.imwrite(str(tmp_path / "d" / f"{k + 3:03d}.png"), depths[k])
    enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "all" / "%03d.png", enhancer=enhancer)
    s = enhance_file(tmp_path / "c", tmp_path / "d", tmp_path / "part" / "%03d.png", enhancer=enhancer,
                     start=0.2, max_frames=2)
    assert sorted(p.name for p in (tmp_path / "part").iterdir()) == ["008.png", "009.png"]
    assert s["first_number"] == 8
    for name in ("008.png", "009.png"):
        np.testing.assert_array_equal(cv2.imread(str(tmp_path / "part" / name), cv2.IMREAD_UNCHANGED),
                                      cv2.imread(str(tmp_path / "all" / name), cv2.IMREAD_UNCHANGED))


def test_a_start_beyond_a_declared_duration_is_refused_before_the_model(make_clip, tmp_path, monkeypatch, capsys):
    import igde_stream.stream.pipeline as pipeline

    clip = make_clip(n=6)

    def no_model(*a, **k):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(pipeline, "_make_enhancer", no_model)
    rc = main([str(clip["color"]), str(clip["depth"]), "-o", str(tmp_path / "x.mkv"), "--start", "1:00"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and err[-1].endswith("no depth frame at or after --start 60 s: the depth lasts 0.200 s")
    assert not (tmp_path / "x.mkv").exists()


@pytest.mark.parametrize("text, seconds", [("12.5", 12.5), ("0", 0.0), ("1:02.5", 62.5), ("01:00:03.25", 3603.25),
                                           ("00:00:00", 0.0), ("2:00", 120.0), ("1e-3", 0.001)])
def test_times_are_read_as_ffmpeg_writes_them(text, seconds):
    assert time_arg(text) == seconds


@pytest.mark.parametrize("text", ["-1", "1:60", "1:-5", "a", "nan", "inf", "1::2", "", "1:2:3:4", "1.5:00", "-0:05", "-0", "0:-0", "1_000", "1:0_0"])
def test_bad_times_are_refused(text):
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="expected a time of 0 or more"):
        time_arg(text)


@pytest.mark.parametrize("tc, frames, rate, want", [
    ("01:00:00:00", 15, Fraction(25), "01:00:00:15"),
    ("23:59:59:24", 1, Fraction(25), "00:00:00:00"),  # the hours wrap at 24
    ("10:00:00:00", 86400, Fraction(24000, 1001), "11:00:00:00"),  # counted on 24: 86400 frames, one hour
    ("00:00:59;29", 1, Fraction(30000, 1001), "00:01:00;02"),  # drop-frame: 00 and 01 of minute 1 skipped
    ("00:09:59;29", 1, Fraction(30000, 1001), "00:10:00;00"),  # ... but not of minute 10
    ("00:00:00;00", 1800, Fraction(30000, 1001), "00:01:00;02"),
    ("00:00:00;00", 17982, Fraction(30000, 1001), "00:10:00;00"),  # 10 minutes: 18000 - 9 x 2 frames
    ("00:00:59;59", 1, Fraction(60000, 1001), "00:01:00;04"),  # 59.94: four skipped a minute
    ("01:00:00.00", 30, Fraction(30000, 1001), "01:00:01;00"),  # "." is drop-frame too, written ";" (FFmpeg)
    ("01:00:59;29", 31, Fraction(30000, 1001), "01:01:01;02"),  # minute 61 skips 00 and 01
])
def test_timecodes_advance_as_smpte_counts(tc, frames, rate, want):
    """Worked out by hand from SMPTE 12M's drop-frame rule."""
    assert advance(tc, frames, rate) == want


def test_outputs_from_a_start_carry_that_frames_timecode(tmp_path, enhancer):
    """A 29.97 fps drop-frame depth at 01:00:00;00: from --start 0.5 s (frame 15) the depth, views and
    RGB-D outputs and the summary say 01:00:00;15; from the start, 01:00:00;00 as before."""
    from test_timecode import _clip, _timecodes

    from igde_stream.stream.outputs import ViewsOptions

    rate = Fraction(30000, 1001)
    colors, depths, _ = scene(20, (32, 32), bits=16)
    color = _clip(tmp_path / "c.mkv", colors, "bgr0", "ffv1", rate=rate)
    depth = _clip(tmp_path / "d.mkv", depths, "gray16le", "ffv1", rate=rate, container_tc="01:00:00;00")
    out, views, rgbd = tmp_path / "out.mkv", tmp_path / "views.mkv", tmp_path / "rgbd.mp4"
    s = enhance_file(color, depth, out, enhancer=enhancer, views_path=views, rgbd_path=rgbd,
                     views=ViewsOptions(codec="h264"), start=0.5, max_frames=2)
    assert s["timecode"] == "01:00:00;15"
    for path in (out, views, rgbd):
        found, _ = _timecodes(path)
        assert found and {v for _, v in found} == {"01:00:00;15"}, (path, found)
    s = enhance_file(color, depth, out, enhancer=enhancer, max_frames=2, overwrite=True)
    assert s["timecode"] == "01:00:00;00" and {v for _, v in _timecodes(out)[0]} == {"01:00:00;00"}


def test_views_render_from_a_start_gives_the_whole_renders_frames(tmp_path):
    """``igde-stream views render --start 0.2 --max-frames 3`` of a 25 fps pair: frames 5-7 of the whole
    render, with their times, and the depth's timecode advanced 5 frames."""
    from test_timecode import _clip, _timecodes

    from igde_stream.views_cli import main as views_main

    colors, depths, _ = scene(10, (32, 32), bits=16)
    color = _clip(tmp_path / "c.mkv", colors, "bgr0", "ffv1", rate=Fraction(25))
    depth = _clip(tmp_path / "d.mkv", depths, "gray16le", "ffv1", rate=Fraction(25), container_tc="10:00:00:20")
    assert views_main(["render", str(color), str(depth), "-o", str(tmp_path / "all.mkv"), "-q"]) == 0
    assert views_main(["render", str(color), str(depth), "-o", str(tmp_path / "part.mkv"), "--start", "0.2",
                       "--max-frames", "3", "-q"]) == 0
    got, pts, _ = read_video(tmp_path / "part.mkv")
    want, want_pts, _ = read_video(tmp_path / "all.mkv")
    assert pts == want_pts[5:8] and len(got) == 3
    np.testing.assert_array_equal(np.stack(got), np.stack(want[5:8]))
    assert {v for _, v in _timecodes(tmp_path / "part.mkv")[0]} == {"10:00:01:00"}  # 20 + 5 frames at 25 fps
    assert views_main(["render", str(color), str(depth), "-o", str(tmp_path / "none.mkv"), "--start", "9"]) == 2
    assert not (tmp_path / "none.mkv").exists()


def test_a_numpy_count_is_a_count(make_clip, tmp_path, enhancer):
    clip = make_clip(n=4)
    s = enhance_file(clip["color"], clip["depth"], tmp_path / "x.mkv", enhancer=enhancer, max_frames=np.int64(2))
    assert s["frames"] == 2 and s["max_frames"] == 2 and type(s["max_frames"]) is int


def test_a_photograph_beside_a_clip_gives_its_first_frame_with_max_frames_1(make_clip, tmp_path, enhancer):
    """One colour image beside a depth clip is refused (each depth frame needs its colour), but with
    --max-frames 1 only the first depth frame is read: the photograph pairs with it."""
    from igde_stream.errors import IGDEError

    clip = make_clip(n=6)
    color = clip["colors"][0]  # RGB
    assert cv2.imwrite(str(tmp_path / "photo.png"), color[..., ::-1])
    with pytest.raises(IGDEError, match="the colour is one image"):
        enhance_file(tmp_path / "photo.png", clip["depth"], tmp_path / "x.png", enhancer=enhancer, max_frames=2)
    enhance_file(tmp_path / "photo.png", clip["depth"], tmp_path / "one.png", enhancer=enhancer, max_frames=1)
    want = enhancer.enhance(color[None], clip["depths"][0][None])[0]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "one.png"), cv2.IMREAD_UNCHANGED), want)


def test_views_of_a_photograph_beside_a_clip_with_max_frames_1(make_clip, tmp_path):
    """views render: the photograph and the clip's first depth frame, as the layout renders them by hand."""
    from igde_stream import display
    from igde_stream import multiview as mv
    from igde_stream.views_cli import main as views_main

    clip = make_clip(n=6)
    assert cv2.imwrite(str(tmp_path / "photo.png"), clip["colors"][0][..., ::-1])
    assert views_main(["render", str(tmp_path / "photo.png"), str(clip["depth"]), "-o", str(tmp_path / "v.png"),
                       "--max-frames", "1", "-q"]) == 0
    want = display.make_layout("grid", mv.ViewConfig(8)).frames(clip["colors"][0], clip["depths"][0])[0]
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "v.png"), cv2.IMREAD_COLOR)[..., ::-1], want)
