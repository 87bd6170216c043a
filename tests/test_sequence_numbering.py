"""Image sequences pair by position, never by name: where the frame numbers their names carry say
that position pairs the wrong frames (a ground truth of every other frame beside every depth frame,
a folder with a gap beside a video), the run is refused before the model loads, not scored wrong."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.cli import main
from igde_stream.errors import PairingError
from igde_stream.stream import VideoReader
from igde_stream.stream.sources import InputOptions


def _folder(folder, frames, numbers, name="{:06d}.png"):
    import cv2

    folder.mkdir()
    for f, n in zip(frames, numbers):
        cv2.imwrite(str(folder / name.format(n)), f[..., ::-1] if f.ndim == 3 else f)
    return folder


def _gt_scored_every_other(tmp_path):
    colors, depths, gts = scene(5, bits=16)
    c = _folder(tmp_path / "c", colors, range(5))
    d = _folder(tmp_path / "d", depths, range(5))
    g = _folder(tmp_path / "g", [gts[0], gts[2], gts[4]], [0, 2, 4])  # ground truth of frames 0, 2, 4
    return c, d, g


def test_a_sparse_ground_truth_folder_beside_every_depth_frame_is_refused(tmp_path, capsys):
    """Ground truth 000000, 000002, 000004.png beside depth 000000..000004.png: by position its image 1
    (frame 2) was scored against depth frame 1, a PSNR of the wrong frames, silently. Now one line, exit
    2, nothing written."""
    c, d, g = _gt_scored_every_other(tmp_path)
    out, report = tmp_path / "e.mkv", tmp_path / "r.json"
    assert main([str(c), str(d), "-o", str(out), "--gt", str(g), "--report", str(report)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "image 1 of the ground truth is 000002.png and of the depth 000001.png" in err[0]
    assert not out.exists() and not report.exists()


def test_a_ground_truth_folder_with_a_gap_beside_a_depth_video_is_refused(tmp_path):
    colors, depths, gts = scene(5)
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(25))
    g = _folder(tmp_path / "g", [gts[0], gts[1], gts[3]], [0, 1, 3])
    from igde_stream.stream.streams import check_numbering

    with VideoReader(d, "depth") as dr, VideoReader(g, "gt") as gr:
        with pytest.raises(PairingError, match=r"numbered with a gap \(000001\.png, then 000003\.png\).*"
                                               r"000003\.png would meet frame 2"):
            check_numbering(gr.info, dr.info)


@pytest.mark.parametrize("numbers_a, numbers_b", [
    (range(1, 6), range(0, 5)),    # colour from 1, depth from 0 (ICL-NUIM's 1.png ...): a constant offset
    ([0, 1, 3, 4, 5], [0, 1, 3, 4, 5]),  # the same frame dropped from both
    ([7, 8, 9, 10, 11], None),     # a consecutive folder beside a video
])
def test_sequences_that_pair_right_by_position_pass(tmp_path, numbers_a, numbers_b):
    colors, depths, _ = scene(5)
    a = _folder(tmp_path / "a", colors, numbers_a, name="rgb_{:04d}.png")
    if numbers_b is None:
        b = write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(25))
    else:
        b = _folder(tmp_path / "b", depths, numbers_b)
    from igde_stream.stream.streams import check_numbering

    with VideoReader(b, "depth") as dr, VideoReader(a, "color", source=InputOptions()) as cr:
        check_numbering(cr.info, dr.info, "colour")


@pytest.mark.parametrize("names_a, names_b", [
    # TUM RGB-D: each camera's own timestamps, seconds.fraction, within one second (a short clip)
    (["1305031102.175304.png", "1305031102.211214.png", "1305031102.243211.png"],
     ["1305031102.160407.png", "1305031102.194330.png", "1305031102.226738.png"]),
    # integer timestamps in microseconds and in milliseconds: steps of a frame time, no frame numbers
    (["1305031102175304.png", "1305031102211214.png", "1305031102243211.png"],
     ["1305031102160407.png", "1305031102194330.png", "1305031102226738.png"]),
    (["t1305031102175.png", "t1305031102211.png", "t1305031102243.png"],
     ["t1305031102160.png", "t1305031102194.png", "t1305031102226.png"]),
])
def test_timestamp_names_are_no_frame_numbers(tmp_path, names_a, names_b):
    """Names that are camera timestamps step by a frame time, not by one: they say nothing of frame
    numbers, and two cameras' differ; such a ground truth passes, beside a folder and beside a video."""
    from igde_stream.stream.streams import check_numbering

    _, depths, gts = scene(3)
    for folder, names, frames in ((tmp_path / "g", names_a, gts), (tmp_path / "d", names_b, depths)):
        folder.mkdir()
        for name, f in zip(names, frames):
            import cv2

            cv2.imwrite(str(folder / name), f)
    v = write_video(tmp_path / "v.mkv", depths, fmt="gray", rate=Fraction(25))
    with VideoReader(tmp_path / "g", "gt") as gr, VideoReader(tmp_path / "d", "depth") as dr, \
            VideoReader(v, "depth") as vr:
        check_numbering(gr.info, dr.info)
        check_numbering(gr.info, vr.info)


def test_a_colour_folder_whose_numbers_step_apart_from_the_depths_is_warned_about(tmp_path, caplog):
    """The colour only guides: colour 0, 1, 2 beside depth x01, x02, x04 (a frame dropped from the depth
    alone?) is said in one warning, and the run goes on pairing by position."""
    import logging

    from igde_stream.stream.streams import check_numbering

    colors, depths, _ = scene(3)
    c = _folder(tmp_path / "c", colors, range(3))
    d = _folder(tmp_path / "d", depths, [1, 2, 4], name="x{:02d}.png")
    with VideoReader(d, "depth") as dr, VideoReader(c, "color") as cr, caplog.at_level(logging.WARNING):
        check_numbering(cr.info, dr.info, "colour")
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "image 2 of the colour is 000002.png and of the depth x04.png" in said
    assert said.endswith("(paired by position, as they are)")


def test_a_folder_numbered_without_zero_padding_is_refused_naming_its_pattern(tmp_path, capsys):
    """1.png .. 12.png: a folder is read in name order, 1, 10, 11, 12, 2, ..., so frame 1 of the run was
    10.png, and an image output numbered it 1.png. Refused in one line naming the pattern that reads
    them in number order; the pattern then reads 1.png, 2.png, ... as frames 0, 1, ..."""
    colors, depths, _ = scene(12)
    c = _folder(tmp_path / "c", colors, range(1, 13), name="{}.png")
    d = _folder(tmp_path / "d", depths, range(1, 13), name="{}.png")
    assert main([str(c), str(d), "-o", str(tmp_path / "e.mkv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "numbered without zero padding" in err[0]
    assert "12.png comes before 2.png" in err[0] and err[0].endswith(
        f"give the pattern {d / '%d.png'}, which reads them in number order")
    with VideoReader(str(d / "%d.png"), "depth") as r:
        got = [f.data for f in r.frames()]
    assert len(got) == 12
    for a, b in zip(got, depths):
        np.testing.assert_array_equal(a, b)


def test_vfx_names_with_a_version_before_the_frame_number_are_frame_numbers(tmp_path):
    """shot010_v1.1001.png ... (a version, then the frame number, as VFX renders are named) carry frame
    numbers, not seconds.fraction timestamps: a ground truth of frames 1001, 1003, 1005 beside depth
    1001..1005 is refused, naming image 1 of each; a timestamp rule that read "1.1003" as seconds let it
    through, scoring frame 1003 against depth frame 1002."""
    colors, depths, gts = scene(5)
    d = _folder(tmp_path / "d", depths, range(1001, 1006), name="shot010_v1.{:04d}.png")
    g = _folder(tmp_path / "g", [gts[0], gts[2], gts[4]], [1001, 1003, 1005], name="shot010_v1.{:04d}.png")
    from igde_stream.stream.streams import check_numbering

    with VideoReader(d, "depth") as dr, VideoReader(g, "gt") as gr:
        with pytest.raises(PairingError, match=r"image 1 of the ground truth is shot010_v1\.1003\.png and of "
                                               r"the depth shot010_v1\.1002\.png"):
            check_numbering(gr.info, dr.info)


@pytest.mark.parametrize("name", ["{:06d}.175304.png", "rgb_1305031{:03d}.175304.png", "0.{:03d}.png"])
def test_seconds_fraction_names_stay_timestamps(name):
    from igde_stream.stream.streams import _DECIMAL

    assert _DECIMAL.search(name.format(102))


@pytest.mark.parametrize("name", ["plate_20240101.{:04d}.exr", "shot_v12.{:04d}.png", "take_240101.{:04d}.png"])
def test_a_date_or_version_before_a_frame_number_is_no_timestamp(name):
    """A date (8 or 6 digits) or a version before the point, then the frame number: frame numbers, which
    the pairing checks; Unix seconds have 9 digits or more (since 1973)."""
    from igde_stream.stream.streams import _DECIMAL

    assert not _DECIMAL.search(name.format(1001))
