"""Packed RGB-D input (``--packed rgbd`` / ``rgbd-tb``): one video, colour | depth in each frame.

The packed files are built by hand (``np.concatenate`` of the colour and the depth as three equal
channels) and written with FFV1 (lossless), so the split must give the original arrays back exactly;
a run on the packed file must equal the run on the two separate files, and ``--rgbd-out`` read back
with ``--packed rgbd`` must give the run's colour and depth. Packed input on stdin, and the one
decode both halves share: ``test_packed_stdin.py``.
"""

from __future__ import annotations

import av
import numpy as np
import pytest

from conftest import read_video, scene, write_video
from igde_stream import cli, display, views_cli, views_options
from igde_stream.errors import InputError
from igde_stream.stream import VideoReader, enhance_file
from igde_stream.stream.packed import PACKINGS
from igde_stream.stream.sources import InputOptions


def _gray3(d: np.ndarray) -> np.ndarray:
    return np.repeat(d[..., None], 3, axis=2)


def _packed_file(path, colors, depths, packed="rgbd", near="white"):
    """Colour and depth (near white: as is; black: 255 - d, by hand) packed, FFV1 (lossless RGB)."""
    axis = {"rgbd": 1, "rgbd-tb": 0}[packed]
    frames = [np.concatenate([c, _gray3(d if near == "white" else 255 - d)], axis=axis) for c, d in zip(colors, depths)]
    return write_video(path, frames, fmt="rgb24", codec="ffv1")


def _read(path, role, **opts):
    with VideoReader(path, role, source=InputOptions(**opts)) as r:
        return r.info, [f.data for f in r.frames()]


def _model_args(tiny_model):
    return ["--model", str(tiny_model), "--backend", "torch", "-q"]


@pytest.mark.parametrize("packed", ["rgbd", "rgbd-tb"])
@pytest.mark.parametrize("near", ["white", "black"])
def test_split_gives_the_originals_exactly(tmp_path, packed, near):
    colors, depths, _ = scene(4, size=(64, 48))
    path = _packed_file(tmp_path / "p.mkv", colors, depths, packed, near)
    cinfo, got_c = _read(path, "color", packed=packed, depth_near=near)
    dinfo, got_d = _read(path, "depth", packed=packed, depth_near=near)
    assert (cinfo.width, cinfo.height) == (dinfo.width, dinfo.height) == (64, 48)
    assert dinfo.pix_fmt == "gray" and dinfo.bits == 8
    assert len(got_c) == len(got_d) == 4
    for c, d, want_c, want_d in zip(got_c, got_d, colors, depths):
        np.testing.assert_array_equal(c, want_c)
        np.testing.assert_array_equal(d, want_d)


def test_rgbd_frame_is_what_packed_input_reads(tmp_path):
    """The output convention (display.rgbd_frame, near black) read back is the depth itself."""
    colors, depths, _ = scene(3)
    path = write_video(tmp_path / "p.mkv", [display.rgbd_frame(c, d, near="black") for c, d in zip(colors, depths)],
                       fmt="rgb24", codec="ffv1")
    _, got = _read(path, "depth", packed="rgbd", depth_near="black")
    for g, d in zip(got, depths):
        np.testing.assert_array_equal(g, d)


def test_h264_depth_is_the_luma_stretched_to_full_range(tmp_path):
    """yuv420p (x264, qp 0): the depth is the luma as a player shows it, (Y - 16) * 255 / 219, not
    the stored 16..235, and a saturated colour beside the seam does not reach it."""
    colors, depths, _ = scene(3)
    frames = [np.concatenate([np.full_like(c, (255, 0, 0)), _gray3(d)], axis=1) for c, d in zip(colors, depths)]
    path = tmp_path / "p.mp4"
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt, s.options = 128, 48, "yuv420p", {"qp": "0"}
        for i, f in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            frame.pts = i
            for p in s.encode(frame):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    luma = [y[:, 64:].astype(float) for y in read_video(path)[0]]  # the stored Y plane
    _, got = _read(path, "depth", packed="rgbd")
    for g, y, d in zip(got, luma, depths):
        assert 16 <= y.min() and y.max() <= 235
        assert np.abs(g - np.clip((y - 16) * 255 / 219, 0, 255)).max() <= 1
        assert np.abs(g.astype(int) - d).max() <= 1


def test_run_on_packed_equals_run_on_separate_files(tmp_path, tiny_model, enhancer):
    colors, depths, gts = scene(6)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    gt = write_video(tmp_path / "gt.mkv", gts, fmt="gray")
    packed = _packed_file(tmp_path / "p.mkv", colors, depths)
    enhance_file(c, d, tmp_path / "ref.mkv", enhancer=enhancer)
    out, views, report = tmp_path / "out.mkv", tmp_path / "v.mkv", tmp_path / "r.json"
    assert cli.main([str(packed), "--packed", "rgbd", "-o", str(out), "--gt", str(gt), "--report", str(report),
                     "--views-out", str(views), *_model_args(tiny_model)]) == 0
    ref, ref_pts, _ = read_video(tmp_path / "ref.mkv")
    got, pts, facts = read_video(out)
    assert pts == ref_pts and facts["pix_fmt"] == "gray" and (facts["width"], facts["height"]) == (64, 48)
    for a, b in zip(got, ref):
        np.testing.assert_array_equal(a, b)
    assert report.exists()
    # the views of the packed run are what views render gives from the separate colour and the output
    ref_views = tmp_path / "ref_v.mkv"
    assert views_cli.main(["render", str(c), str(out), "-o", str(ref_views), "--quiet"]) == 0
    for a, b in zip(read_video(views)[0], read_video(ref_views)[0]):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("near", ["white", "black"])
def test_rgbd_out_reads_back_with_packed(tmp_path, tiny_model, near):
    colors, depths, _ = scene(5)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    out, rgbd = tmp_path / "out.mkv", tmp_path / "rgbd.mkv"
    assert cli.main([str(c), str(d), "-o", str(out), "--rgbd-out", str(rgbd), "--depth-near", near,
                     *_model_args(tiny_model)]) == 0
    _, got_c = _read(rgbd, "color", packed="rgbd", depth_near=near)
    _, got_d = _read(rgbd, "depth", packed="rgbd", depth_near=near)
    for gc, gd, want_c, want_d in zip(got_c, got_d, colors, read_video(out)[0]):
        np.testing.assert_array_equal(gc, want_c)
        np.testing.assert_array_equal(gd, want_d)
    # and a run on it re-packs the enhanced depth the same way (--depth-near for input and output)
    again, rgbd2 = tmp_path / "again.mkv", tmp_path / "rgbd2.mkv"
    assert cli.main([str(rgbd), "--packed", "rgbd", "--depth-near", near, "-o", str(again),
                     "--rgbd-out", str(rgbd2), *_model_args(tiny_model)]) == 0
    _, back = _read(rgbd2, "depth", packed="rgbd", depth_near=near)
    for b, a in zip(back, read_video(again)[0]):
        np.testing.assert_array_equal(b, a)


def test_views_render_takes_a_packed_file(tmp_path):
    colors, depths, _ = scene(3)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    packed = _packed_file(tmp_path / "p.mkv", colors, depths, near="black")
    a, b = tmp_path / "a.mkv", tmp_path / "b.mkv"
    assert views_cli.main(["render", str(packed), "--packed", "rgbd", "--depth-near", "black", "-o", str(a),
                           "--quiet"]) == 0
    assert views_cli.main(["render", str(c), str(d), "-o", str(b), "--quiet"]) == 0
    for x, y in zip(read_video(a)[0], read_video(b)[0]):
        np.testing.assert_array_equal(x, y)


def _one_line_error(capsys, argv, main=cli.main):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("packed, size", [("rgbd", (65, 48)), ("rgbd-tb", (64, 49))])
def test_odd_side_is_one_line_and_nothing_is_written(tmp_path, tiny_model, capsys, packed, size):
    frames = [np.zeros((size[1], size[0], 3), np.uint8)] * 2
    path = write_video(tmp_path / "odd.mkv", frames, fmt="rgb24", codec="ffv1")
    out, rgbd = tmp_path / "out.mkv", tmp_path / "r.mkv"
    msg = _one_line_error(capsys, [str(path), "--packed", packed, "-o", str(out), "--rgbd-out", str(rgbd),
                                   *_model_args(tiny_model)])
    assert "odd" in msg and f"{size[0]}x{size[1]}" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["odd.mkv"]


def test_packed_with_two_inputs_is_refused(make_clip, tiny_model, capsys):
    clip = make_clip(n=2)
    msg = _one_line_error(capsys, [str(clip["color"]), str(clip["depth"]), "--packed", "rgbd", "-o",
                                   str(clip["out"]), *_model_args(tiny_model)])
    assert "one input" in msg and not clip["out"].exists()
    msg = _one_line_error(capsys, ["render", str(clip["color"]), str(clip["depth"]), "--packed", "rgbd", "-o",
                                   str(clip["out"]), "--quiet"], views_cli.main)
    assert "one input" in msg and not clip["out"].exists()


def test_packed_refuses_a_depth_stream(tmp_path, tiny_model, capsys):
    colors, depths, _ = scene(2)
    packed = _packed_file(tmp_path / "p.mkv", colors, depths)
    msg = _one_line_error(capsys, [str(packed), "--packed", "rgbd", "--depth-stream", "0", "-o",
                                   str(tmp_path / "o.mkv"), *_model_args(tiny_model)])
    assert "--color-stream" in msg and not (tmp_path / "o.mkv").exists()
    with pytest.raises(InputError, match="^packed='sbs': use one of"):  # from Python: the keyword
        InputOptions(packed="sbs")


def test_cli_packings_are_the_library_s():
    assert views_options.PACKINGS == tuple(PACKINGS)


def test_unpacker_halves_and_their_sizes_by_hand():
    """Side by side splits the width, top-bottom the height; only the split side must be even, and a
    frame whose split side turns odd mid-stream is refused, the other side may be odd."""
    from av.video.reformatter import VideoReformatter

    from igde_stream.stream.packed import Unpacker

    sbs, tb = Unpacker("rgbd", "color", "in.mp4"), Unpacker("rgbd-tb", "color", "in.mp4")
    assert sbs.size(6, 5) == (3, 5) and tb.size(5, 6) == (5, 3)
    for half, (w, h) in ((sbs, (7, 4)), (tb, (4, 7))):
        with pytest.raises(InputError, match="odd"):
            half.size(w, h)
    rgb = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)  # 6 wide, 5 high: odd height is fine side by side
    frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
    np.testing.assert_array_equal(sbs.split(frame, VideoReformatter(), lambda a: a), rgb[:, :3])
    odd = av.VideoFrame.from_ndarray(np.zeros((4, 7, 3), np.uint8), format="rgb24")
    with pytest.raises(InputError, match="odd width"):
        sbs.split(odd, VideoReformatter(), lambda a: a)
    np.testing.assert_array_equal(tb.split(odd, VideoReformatter(), lambda a: a), np.zeros((2, 7, 3), np.uint8))
    with pytest.raises(InputError, match="odd height"):  # top-bottom: the height splits, the odd width may stay
        tb.split(frame, VideoReformatter(), lambda a: a)


def test_both_halves_share_one_decode_that_the_last_reader_drains(tmp_path, monkeypatch):
    """The colour and depth readers of one packed file opened by one thread decode it once; closed
    mid-stream, the decoder is drained once, by the last of the two to close, and no share is left."""
    from igde_stream.stream import packed, sources

    colors, depths, _ = scene(4, size=(32, 24))
    path = _packed_file(tmp_path / "p.mkv", colors, depths)
    drained = []  # (decoder, whether it was mid-stream) per drain
    real_drain = sources.StreamDecoder.drain

    def spy(self):
        drained.append((id(self), self.mid_stream))
        real_drain(self)

    monkeypatch.setattr(sources.StreamDecoder, "drain", spy)
    c = VideoReader(path, "color", source=InputOptions(packed="rgbd"))
    d = VideoReader(path, "depth", source=InputOptions(packed="rgbd"))
    np.testing.assert_array_equal(next(iter(c.frames())).data, colors[0])
    np.testing.assert_array_equal(next(iter(d.frames())).data, depths[0])
    d.close()
    assert drained == []  # the colour reader still uses the decode
    c.close()
    assert len(drained) == 1 and drained[0][1]  # one decoder, drained mid-stream
    assert packed._shares == {}
