"""Limited-range ("TV") YUV depth luma: read as FFmpeg converts it to gray, written back so that a run's
own output reads back as the values it wrote."""

from __future__ import annotations

import json
import logging

import av
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from conftest import encode_frames, read_video, scene, write_video
from igde_stream.cli import main
from igde_stream.errors import InputError
from igde_stream.stream import VideoReader
from igde_stream.stream.formats import full_to_luma, luma_is_limited, luma_to_full
from igde_stream.stream.sources import InputOptions


def _yuv_video(path, frames, codec="ffv1", pix_fmt="yuv420p", tag=None, from_gray=True):
    """YUV depth. ``from_gray``: each gray frame converted by swscale, as ``ffmpeg -pix_fmt yuv420p``
    does (limited range, untagged); else the frames are the luma codes themselves. ``codec`` libx264
    is lossless here (qp 0). ``tag``: the stream's and frames' color_range (None: untagged)."""
    from igde_stream.stream.formats import depth_frame

    if from_gray:
        pictures = [av.VideoFrame.from_ndarray(d, format="gray").reformat(format=pix_fmt) for d in frames]
    else:
        pictures = [depth_frame(d, pix_fmt) for d in frames]
    return encode_frames(path, pictures, codec, pix_fmt, options={"qp": "0"} if codec == "libx264" else None,
                         color_range=tag)


def _ffmpeg_gray(path):
    """FFmpeg's own conversion of each frame to gray (swscale): the independent reference."""
    with av.open(str(path)) as c:
        return [f.reformat(format="gray").to_ndarray() for f in c.decode(video=0)]


def _read(path, **options):
    with VideoReader(path, "depth", source=InputOptions(**options)) as r:
        return r.info, [f.data for f in r.frames()]


@pytest.mark.parametrize("bits, pix_fmt, tol", [(8, "yuv420p", 0), (10, "yuv420p10le", 1), (12, "yuv444p12le", 1)])
def test_stretch_is_ffmpegs_gray_conversion_and_its_inverse_is_exact(bits, pix_fmt, tol):
    """Every limited luma code stretched as swscale converts it to gray (exactly at 8 bits; swscale's
    fixed point is within one level above), and compressed back to itself."""
    from igde_stream.stream.formats import depth_frame

    codes = np.arange(1 << bits, dtype=np.uint8 if bits == 8 else np.uint16)
    frame = depth_frame(np.tile(codes, (2, 1)), pix_fmt)
    gray = frame.reformat(format="gray" if bits == 8 else f"gray{bits}le").to_ndarray()[0].astype(int)
    ours = luma_to_full(codes, bits).astype(int)
    assert np.abs(ours - gray).max() <= tol
    # by hand at 8 bits: 16 -> 0, 235 -> 255, 126 -> round(110 * 255 / 219) = 128, below 16 -> 0
    if bits == 8:
        assert (ours[16], ours[235], ours[126], ours[5], ours[250]) == (0, 255, 128, 0, 255)
    lo, hi = 16 << (bits - 8), 235 << (bits - 8)
    legal = codes[lo:hi + 1]
    assert np.array_equal(full_to_luma(luma_to_full(legal, bits), bits), legal)
    assert full_to_luma(np.array([0, (1 << bits) - 1], codes.dtype), bits).tolist() == [lo, hi]


def test_which_streams_are_limited():
    yes, no = True, False
    cases = [(("yuv420p", 0, "h264", "auto"), yes), (("yuv420p", 0, "hevc", "auto"), yes),
             (("yuv420p", 1, "ffv1", "auto"), yes), (("yuv420p", 2, "h264", "auto"), no),
             (("yuvj420p", 0, "mjpeg", "auto"), no), (("yuv420p", 0, "ffv1", "auto"), no),
             (("yuv420p10le", 0, "rawvideo", "auto"), no), (("yuv420p", 0, "png", "auto"), no),
             (("yuv420p", 1, "h264", "full"), no), (("yuv420p", 2, "ffv1", "limited"), yes),
             (("gray", 1, "h264", "limited"), no), (("gray16le", 0, "ffv1", "auto"), no),
             (("rgb24", 0, "h264", "auto"), no)]
    for args, want in cases:
        assert luma_is_limited(*args) is want, args
    with pytest.raises(ValueError, match="depth_range"):
        InputOptions(depth_range="tv")
    with pytest.raises(InputError, match="packed RGB-D depth"):
        InputOptions(packed="rgbd", depth_range="full")


def test_tags_and_codecs_decide_and_the_option_overrides(tmp_path):
    codes = [np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1))[:, :64]] * 2
    stretched = luma_to_full(codes[0], 8)
    for codec, tag, choice, want in (("ffv1", 2, "auto", codes[0]), ("ffv1", 1, "auto", stretched),
                                     ("ffv1", 2, "limited", stretched), ("ffv1", None, "auto", codes[0]),
                                     ("libx264", None, "auto", stretched), ("libx264", None, "full", codes[0]),
                                     ("libx264", 2, "auto", codes[0])):
        path = _yuv_video(tmp_path / f"t{codec}{tag}{choice}.mkv", codes, codec=codec, tag=tag, from_gray=False)
        info, got = _read(path, depth_range=choice)
        assert info.limited is (want is stretched)
        assert all(np.array_equal(g, want) for g in got), (codec, tag, choice)


def _pair(tmp_path):
    colors, depths, gts = scene(4, (64, 48))
    # far scenes (dark depth), where limited-range luma sits up to 16 codes above the gray values
    depths, gts = [d // 3 for d in depths], [g // 3 for g in gts]
    write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    write_video(tmp_path / "gt.mkv", gts, fmt="gray")
    return depths, gts


def _run(tmp_path, args, name, out=None):
    out = out or tmp_path / f"{name}.mkv"
    code = main([str(tmp_path / "c.mkv"), *args, "-o", str(out), "--gt", str(tmp_path / "gt.mkv"),
                 "--report", str(tmp_path / f"{name}.json"), "--backend", "torch", "-q"])
    assert code == 0
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_the_report_compares_ffmpegs_gray_values_with_a_gray_ground_truth(tmp_path, tiny_model):
    """Depth made as ``ffmpeg -c:v libx264 -pix_fmt yuv420p`` makes it (limited, untagged) against gray
    ground truth: the input PSNR is that of FFmpeg's gray decode of the depth (scikit-image); read as
    stored (--depth-range full) it is that of the raw luma codes. The report says which."""
    depths, gts = _pair(tmp_path)
    _yuv_video(tmp_path / "d.mp4", depths, codec="libx264")
    gray = _ffmpeg_gray(tmp_path / "d.mp4")
    raw = read_video(tmp_path / "d.mp4")[0]
    want_gray = peak_signal_noise_ratio(np.stack(gts), np.stack(gray), data_range=255)
    want_raw = peak_signal_noise_ratio(np.stack(gts), np.stack(raw), data_range=255)
    assert want_gray - want_raw > 1.0  # the two readings differ enough to tell apart
    model = ["--model", str(tiny_model)]
    auto = _run(tmp_path, [str(tmp_path / "d.mp4"), *model], "auto")
    full = _run(tmp_path, [str(tmp_path / "d.mp4"), "--depth-range", "full", *model], "full")
    assert auto["summary"]["mean_psnr_input"] == pytest.approx(want_gray, abs=0.01)
    assert full["summary"]["mean_psnr_input"] == pytest.approx(want_raw, abs=0.01)
    assert (auto["depth_range"], full["depth_range"]) == ("limited", "full")


def _identity():
    from igde_stream import Enhancer
    from igde_stream.models import create_model

    return Enhancer(model=create_model("igde-tiny", head="select", radius=2), backend="torch")


def test_a_runs_output_reads_back_as_the_values_it_wrote(tmp_path):
    """With a model that returns its input, the output read back by the project equals the input as the
    project read it, whatever the input's range and the output's container: limited luma written
    back limited (Matroska: tagged; lossy H.264: untagged, read as limited), or as full-range gray where
    neither holds (FFV1 in MP4, NUT, PNG images); full-range YUV tagged full, or as gray where the tag
    would be lost (NUT); gray through x264 (which
    stores it as YUV, tagged full); any depth through MPEG-4 in MP4 as limited YUV (no tag survives
    there, and untagged lossy YUV is read as limited)."""
    from igde_stream.stream import enhance_file

    depths, _ = _pair(tmp_path)
    _yuv_video(tmp_path / "lim.mp4", depths, codec="libx264")  # limited, untagged
    _yuv_video(tmp_path / "full.mkv", depths, tag=2, from_gray=False)  # full range, tagged
    write_video(tmp_path / "gray.mkv", depths, fmt="gray")
    enhancer = _identity()
    cases = [("lim.mp4", "o1.mkv", {}, "yuv420p"), ("lim.mp4", "o2.mp4", {}, "gray"),
             ("lim.mp4", "o2.mp4", {"codec": "libx264"}, "yuv420p"),
             ("lim.mp4", "o3.nut", {}, "gray"), ("lim.mp4", "o4/%04d.png", {}, "gray"),
             # NUT keeps no range tag: full-range YUV went out as YUV, which FFmpeg reads stretched; gray now
             ("full.mkv", "o5.nut", {}, "gray"), ("full.mkv", "o6/%04d.tif", {}, None),
             ("gray.mkv", "o7.mp4", {"codec": "libx264"}, None),
             # MPEG-4 in MP4 stores no range tag and takes no gray: its YUV reads back limited, so both go
             # in limited (a full-range write read back stretched: an offset of ~13 here)
             ("gray.mkv", "o8.mp4", {"codec": "mpeg4"}, "yuv420p"), ("lim.mp4", "o9.mp4", {"codec": "mpeg4"}, "yuv420p"),
             ("full.mkv", "o10.y4m", {"codec": "wrapped_avframe", "lossless": True}, "yuv420p")]  # raw: exact
    for src, dst, kw, fmt in cases:
        info, want = _read(tmp_path / src)
        exact = kw.pop("lossless", False)
        summary = enhance_file(tmp_path / "c.mkv", tmp_path / src, tmp_path / dst, enhancer=enhancer, overwrite=True,
                               **kw)
        if fmt is not None:
            assert summary["pix_fmt"] == fmt, (src, dst)
        _, got = _read(tmp_path / dst)
        diff = np.stack(got).astype(int) - np.stack(want)
        if "codec" in kw and not exact:  # x264 at its default quality is lossy: no offset (a range misread is ~14 here)
            assert abs(diff.mean()) < 1.0, (src, dst, diff.mean())
        else:
            assert not diff.any(), (src, dst)
        if src == "lim.mp4" and dst.endswith(".mkv"):  # the luma codes themselves, lossless
            assert np.array_equal(np.stack(read_video(tmp_path / dst)[0]), np.stack(read_video(tmp_path / src)[0]))


def test_luma_outside_the_limited_range_warns_once_at_the_first_such_frame(tmp_path, caplog):
    codes = [np.full((48, 64), 120, np.uint8), np.full((48, 64), 5, np.uint8), np.full((48, 64), 250, np.uint8)]
    codes[1][:, 32:] = 200
    path = _yuv_video(tmp_path / "wide.mkv", codes, tag=1, from_gray=False)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _read(path)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "frame 1 holds 5..200" in warned[0] and "--depth-range full" in warned[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _read(path, depth_range="full")
        _read(_yuv_video(tmp_path / "ok.mkv", [np.full((48, 64), 120, np.uint8)], tag=1))
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]


def test_depth_range_with_packed_input_is_one_line(tmp_path, capsys):
    path = _yuv_video(tmp_path / "p.mkv", [np.zeros((48, 64), np.uint8)])
    code = main([str(path), "--packed", "rgbd", "--depth-range", "full", "-o", str(tmp_path / "o.mkv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "packed RGB-D depth" in err[0] and not (tmp_path / "o.mkv").exists()


def test_range_warnings_at_their_thresholds_by_hand():
    """warn_depth_range's rules at their edges: under 16 measured pixels nothing is said; more than 1 %
    above the peak (2 of 200 is not, 3 is); near-high values spanning under a quarter of the range
    with the largest under half (a span of exactly a quarter, or a largest of exactly half, is fine);
    far-high more than 1 % nearer than peak / 20."""
    from igde_stream.enhancer import warn_depth_range

    def said(values, peak, order="near-high"):
        return warn_depth_range(np.array(values, np.uint16), peak, order)

    assert said([2000] * 15, 1000) == []  # 15 measured pixels: too few to judge
    assert "100 % of the measured depth is above" in said([2000] * 16, 1000)[0]
    spread = list(np.linspace(1, 1000, 200).astype(int))  # fills 0..1000: no span advice
    assert said(spread[:198] + [1500, 1600], 1000) == []  # 1 % above
    assert "above max_depth 1000" in said(spread[:197] + [1500, 1600, 1700], 1000)[0]  # 1.5 %
    flat = [100] * 100 + [350] * 100  # spans 250 of 0..1000, largest 350
    assert said(flat, 1000) == []  # exactly a quarter
    assert "span only 24 %" in said([100] * 100 + [340] * 100, 1000)[0]
    assert said([400] * 100 + [500] * 100, 1000) == []  # a narrow span, but the largest is half the peak
    assert "span only 10 %" in said([400] * 100 + [499] * 100, 1000)[0]
    near = list(np.linspace(50, 1000, 200).astype(int))  # far-high, near limit 1000 / 20 = 50
    assert said(near, 1000, "far-high") == []  # none nearer than 50
    assert "nearer than the near limit 50" in said([40] * 3 + near[3:], 1000, "far-high")[0]  # 1.5 %
    assert said([40] * 2 + near[2:], 1000, "far-high") == []  # 1 %
    # the peak itself is in range; 16 pixels in range are enough to judge, in either order; one stray
    # value does not widen the span (0.5-99.5 percentiles)
    assert said([1000] * 16, 1000) == []
    assert "span only 0 %" in said([100] * 16, 1000)[0]
    assert "nearer than the near limit" in said([40] * 16, 1000, "far-high")[0]
    assert "span only 0 %" in said([1] + [300] * 999, 1000)[0]


def test_depth_above_the_peak_gets_one_advice_not_two_that_disagree():
    """A quarter of the depth above the peak and the rest flat far under it: the one advice is to raise
    the peak. The span check (lower it to the largest value in range) would say the opposite, and so
    would the far-high near-limit check (lower it, so that the near limit falls)."""
    from igde_stream.enhancer import warn_depth_range

    near_high = np.array([76] * 75 + [204] * 25, np.uint8)
    said = warn_depth_range(near_high, 200)
    assert len(said) == 1 and "raise max_depth, e.g. to 204" in said[0]
    far_high = np.array([40] * 75 + [2000] * 25, np.uint16)  # near limit 1000 / 20 = 50
    said = warn_depth_range(far_high, 1000, "far-high")
    assert len(said) == 1 and "raise max_depth, e.g. to 2000" in said[0]
    assert len(warn_depth_range(np.array([76] * 100, np.uint8), 200)) == 1  # flat alone: the span advice
