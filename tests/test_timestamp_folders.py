"""TUM RGB-D style folders: rgb/ and depth/ named by each camera's own timestamps
(1305031102.175304.png). Image sequences pair by position, never by time, so the refusal of two such
folders of different lengths points to matching them by time first (TUM's associate.py), not to
--pair nearest, which pairs by position too; and where image k of the two lie more than a depth
frame apart (a frame dropped from one camera), the run says so: a warning for the colour, a refusal
for a ground truth, whose PSNR would be of other moments."""

from __future__ import annotations

import logging

import pytest

from conftest import scene
from igde_stream.cli import main
from igde_stream.errors import PairingError
from igde_stream.stream import VideoReader

# TUM fr1/xyz's first images: colour and depth at 30 fps, each camera on its own clock
RGB = ["1305031102.175304", "1305031102.211214", "1305031102.243211", "1305031102.275326"]
DEPTH = ["1305031102.160407", "1305031102.194330", "1305031102.226738"]


def _folder(folder, frames, stamps, suffix=".png"):
    import cv2

    folder.mkdir()
    for f, t in zip(frames, stamps):
        cv2.imwrite(str(folder / f"{t}{suffix}"), f[..., ::-1] if f.ndim == 3 else f)
    return folder


def test_timestamp_folders_of_other_lengths_are_pointed_to_associating_them(tmp_path, capsys):
    """4 colour images beside 3 depth maps: before, the line advised --pair nearest, which would pair
    image k with image k all the same (a colour camera that started a frame early: every pair off)."""
    colors, depths, _ = scene(4, bits=16)
    c = _folder(tmp_path / "rgb", colors, RGB)
    d = _folder(tmp_path / "depth", depths, DEPTH)
    out = tmp_path / "out"
    assert main([str(c), str(d), "-o", f"{out}/%06d.png", "--fps", "30"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "colour sequence has 4 frames and the depth sequence 3" in err[0]
    assert "--pair nearest" not in err[0]
    assert "names are camera timestamps" in err[0] and "associate.py" in err[0]
    assert not out.exists()


def test_numbered_folders_of_other_lengths_still_get_pair_nearest(tmp_path, capsys):
    colors, depths, _ = scene(4)
    c = _folder(tmp_path / "c", colors, [f"{k:06d}" for k in range(4)])
    d = _folder(tmp_path / "d", depths[:3], [f"{k:06d}" for k in range(3)])
    assert main([str(c), str(d), "-o", str(tmp_path / "o.mkv")]) == 2
    assert "--pair nearest skips the extra colour frames" in capsys.readouterr().err


def test_a_colour_frame_dropped_between_timestamp_folders_is_warned_about(tmp_path, caplog):
    """Colour .175304, .243211, .275326 (the one at .211214 dropped) beside depth .160407, .194330,
    .226738: the depth steps 33923 and 32408 us (median, the larger of two: 33923 us); image 1 lies
    .243211 - .194330 = 48881 us from its depth, more than that: said once, naming both images."""
    from igde_stream.stream.streams import check_numbering

    colors, depths, _ = scene(3)
    c = _folder(tmp_path / "rgb", colors, [RGB[0], RGB[2], RGB[3]])
    d = _folder(tmp_path / "depth", depths, DEPTH)
    with VideoReader(d, "depth") as dr, VideoReader(c, "color") as cr, caplog.at_level(logging.WARNING):
        check_numbering(cr.info, dr.info, "colour")
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "image 1 of the colour is 1305031102.243211.png and of the depth 1305031102.194330.png" in said
    assert "0.049 s apart, more than a depth frame (0.034 s)" in said
    assert "associate.py" in said


def test_a_ground_truth_off_by_a_frame_in_time_is_refused(tmp_path):
    """Integer microsecond names (no unit known, so none said): ground truth 1305031102160407,
    1305031102226738, 1305031102262886 (one dropped) beside depth 1305031102160407, ...194330, ...226738:
    image 1 is 226738 - 194330 = 32408 apart, under the depth's step 33923, image 2 is 36148 apart."""
    from igde_stream.stream.streams import check_numbering

    _, depths, gts = scene(3)
    d = _folder(tmp_path / "d", depths, ["1305031102160407", "1305031102194330", "1305031102226738"])
    g = _folder(tmp_path / "g", gts, ["1305031102160407", "1305031102226738", "1305031102262886"])
    with VideoReader(d, "depth") as dr, VideoReader(g, "gt") as gr:
        with pytest.raises(PairingError, match=r"image 2 of the ground truth is 1305031102262886\.png and of the "
                                               r"depth 1305031102226738\.png: their names are timestamps 36148 apart, "
                                               r"more than a depth frame \(33923\)"):
            check_numbering(gr.info, dr.info)


def test_timestamp_folders_a_camera_offset_apart_pass(tmp_path, caplog):
    """What associate.py writes: TUM's pairs about 15 ms apart (under a frame) pass without a word."""
    from igde_stream.stream.streams import check_numbering

    colors, depths, _ = scene(3)
    c = _folder(tmp_path / "rgb", colors, RGB[:3])
    d = _folder(tmp_path / "depth", depths, DEPTH)
    with VideoReader(d, "depth") as dr, VideoReader(c, "color") as cr, caplog.at_level(logging.WARNING):
        check_numbering(cr.info, dr.info, "colour")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("listing", [
    # TUM's rgb.txt / depth.txt, with their comment lines
    "# depth maps\n# file: 'rgbd_dataset_freiburg1_xyz.bag'\n# timestamp filename\n"
    "1305031102.160407 depth/1305031102.160407.png\n1305031102.194330 depth/1305031102.194330.png\n",
    # associate.py's output: two pairs a line
    "1305031102.175304 rgb/1305031102.175304.png 1305031102.160407 depth/1305031102.160407.png\n",
    # Open3D's ICL-NUIM rgbd.match: depth and colour image by image
    "depth/00000.png color/00000.jpg\ndepth/00001.png color/00001.jpg\n",
])
def test_a_timestamp_list_given_for_the_images_is_named_as_one(tmp_path, capsys, listing):
    """FFmpeg reads a text file as no video: before, 'not a video file, or a damaged one (FFmpeg: invalid
    data)'; now the line says what the file is and what to give instead."""
    colors, _, _ = scene(3)
    c = _folder(tmp_path / "rgb", colors, RGB[:3])
    lst = tmp_path / "depth.txt"
    lst.write_text(listing)
    assert main([str(c), str(lst), "-o", str(tmp_path / "o.mkv")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"igde-stream: error: {lst}: a text list of images (TUM RGB-D's rgb.txt")
    assert "two folders" in err[0] and "associate.py" in err[0] and "FFmpeg" not in err[0]


def test_other_text_is_still_no_video(tmp_path, capsys):
    colors, _, _ = scene(3)
    c = _folder(tmp_path / "rgb", colors, RGB[:3])
    notes = tmp_path / "notes.txt"
    notes.write_text("1305031102.160407 depth maps, see the bag\n")
    assert main([str(c), str(notes), "-o", str(tmp_path / "o.mkv")]) == 2
    assert "not a video file, or a damaged one" in capsys.readouterr().err


def test_timestamp_folders_on_two_clocks_are_compared_from_their_first_images(tmp_path, caplog):
    """A ground truth named by seconds from 0 beside the sensor's Unix times: the first images lie far
    more than 10 frames apart, so each folder counts from its first image. Depth: 0, 0.033923, 0.066331 s
    from its first. Ground truth 0, 0.033333, 0.066667: at most 0.000590 s off, under a depth frame
    (0.033923 s): it passes. With 0.133333 as its third image (a frame dropped): 0.133333 - 0.066331 =
    0.067002 s off, refused."""
    from igde_stream.stream.streams import check_numbering

    _, depths, gts = scene(3)
    d = _folder(tmp_path / "d", depths, DEPTH)
    ok = _folder(tmp_path / "ok", gts, ["0.000000", "0.033333", "0.066667"])
    off = _folder(tmp_path / "off", gts, ["0.000000", "0.033333", "0.133333"])
    with VideoReader(d, "depth") as dr, VideoReader(ok, "gt") as ok_r, VideoReader(off, "gt") as off_r:
        check_numbering(ok_r.info, dr.info)
        with pytest.raises(PairingError, match=r"image 2 of the ground truth is 0\.133333\.png and of the depth "
                                               r"1305031102\.226738\.png: their names are timestamps 0\.067 s apart, "
                                               r"counted from each one's first image"):
            check_numbering(off_r.info, dr.info)


def test_one_clock_with_a_camera_that_started_late_is_said(tmp_path, caplog):
    """Depth from 1305031102.000000 every 1/30 s (by hand: 0.033333 s steps, names to the microsecond)
    and colour on the same clock from image 12 of it on, as many images: colour image k lies 12 frames,
    0.400 s, after depth image k. Their spans meet, so this is one clock (the rule of first images more
    than 10 frames apart took it for two and said nothing while every pair was 12 frames off)."""
    from igde_stream.stream.streams import check_numbering

    n = 16
    colors, depths, _ = scene(n, (16, 12))
    stamp = lambda k: f"1305031102.{round(k * 1_000_000 / 30):06d}"  # noqa: E731
    d = _folder(tmp_path / "depth", depths, [stamp(k) for k in range(n)])
    c = _folder(tmp_path / "rgb", colors, [stamp(k + 12) for k in range(n)])
    with VideoReader(d, "depth") as dr, VideoReader(c, "color") as cr, caplog.at_level(logging.WARNING):
        check_numbering(cr.info, dr.info, "colour")
    (said,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "image 0 of the colour is 1305031102.400000.png and of the depth 1305031102.000000.png" in said
    assert "0.400 s apart, more than a depth frame (0.033 s)" in said and "first image" not in said


def test_a_list_with_a_bom_latin_1_names_or_cut_in_a_character_is_named_as_one(tmp_path):
    """rgb.txt saved by Notepad (UTF-8 BOM), with Latin-1 folder names, or longer than the 4096 bytes
    read with a 2-byte character across byte 4096: each is still a list of images, not 'no video'."""
    from igde_stream.stream.streams import image_list

    line = "1305031102.175304 rgb/1305031102.175304.png\n"
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf# color images\n" + line.encode() * 3)
    (tmp_path / "latin1.txt").write_bytes("1305031102.175304 caf\xe9/1305031102.175304.png\n".encode("latin-1") * 3)
    long = "1305031102.175304 d\u00e9pth/1305031102.175304.png\n".encode()  # 47 bytes, é = bytes 19, 20
    body = b"#" * 33 + b"\n" + long * 90  # 34 + 86 * 47 + 19 = 4095: the é of list line 87 across the cut
    assert body[4095:4097] == "\u00e9".encode()
    (tmp_path / "long.txt").write_bytes(body)
    for name in ("bom.txt", "latin1.txt", "long.txt"):
        said = image_list(tmp_path / name)
        assert said is not None and said.startswith("a text list of images"), name
    (tmp_path / "bin.txt").write_bytes(bytes(range(256)) * 4)  # other bytes: no list
    assert image_list(tmp_path / "bin.txt") is None


def test_seconds_of_several_lengths_out_of_name_order_are_refused(tmp_path):
    """A render's seconds from 0 across 10 s: 9.900000, 9.933333, 9.966667, 10.000000, 10.033333. A
    folder is read in name order, which by hand is 10.000000, 10.033333, 9.900000, 9.933333, 9.966667:
    the frames out of order, read without a word before. The first step back: 10.033333 -> 9.900000."""
    from igde_stream.errors import InputError

    _, depths, _ = scene(5, (16, 12))
    folder = _folder(tmp_path / "d", depths, ["9.900000", "9.933333", "9.966667", "10.000000", "10.033333"])
    with pytest.raises(InputError, match=r"named by times in seconds, and a folder is read in name order, where "
                                         r"10\.033333\.png comes before 9\.900000\.png: the frames would be out of "
                                         r"order"):
        VideoReader(folder, "depth").close()
    ok = _folder(tmp_path / "ok", depths, ["09.900000", "09.933333", "09.966667", "10.000000", "10.033333"])
    with VideoReader(ok, "depth") as r:  # one length: name order is time order
        assert r.info.frames == 5
