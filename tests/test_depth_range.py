"""Limited-range ("TV") YUV depth luma: read as FFmpeg converts it to gray, written back limited."""

from __future__ import annotations

import json
import logging
from fractions import Fraction

import av
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio

from conftest import read_video, scene, write_video
from igde_stream.cli import main
from igde_stream.stream import VideoReader
from igde_stream.stream.formats import full_to_luma, luma_is_limited, luma_to_full
from igde_stream.stream.sources import InputOptions


def _yuv_video(path, frames, pix_fmt="yuv420p", tag=None, from_gray=True):
    """FFV1 YUV depth. ``from_gray``: each gray frame converted by swscale, as ``ffmpeg -pix_fmt yuv420p``
    does (limited range, untagged); else the frames are the luma codes themselves. ``tag``: the
    stream's and frames' color_range (None: untagged)."""
    from igde_stream.stream.formats import depth_frame

    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=Fraction(25))
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], pix_fmt
        if tag is not None:
            s.codec_context.color_range = tag
        for i, d in enumerate(frames):
            if from_gray:
                f = av.VideoFrame.from_ndarray(d, format="gray").reformat(format=pix_fmt)
            else:
                f = depth_frame(d, pix_fmt)
            if tag is not None:
                f.color_range = tag
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    return path


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
    cases = [(("yuv420p", 0, "file", "auto"), yes), (("yuv420p", 1, "file", "auto"), yes),
             (("yuv420p", 2, "file", "auto"), no), (("yuvj420p", 0, "file", "auto"), no),
             (("yuv420p10le", 0, "stdin", "auto"), yes), (("yuv420p10le", 0, "raw", "auto"), no),
             (("yuv420p", 1, "raw", "auto"), yes), (("yuv420p", 1, "file", "full"), no),
             (("yuv420p", 2, "file", "limited"), yes), (("gray", 1, "file", "limited"), no),
             (("gray16le", 0, "file", "auto"), no), (("rgb24", 0, "file", "auto"), no)]
    for args, want in cases:
        assert luma_is_limited(*args) is want, args
    with pytest.raises(ValueError, match="depth_range"):
        InputOptions(depth_range="tv")


def _pair(tmp_path):
    colors, depths, gts = scene(4, (64, 48))
    # far scenes (dark depth), where limited-range luma sits up to 16 codes above the gray values
    depths, gts = [d // 3 for d in depths], [g // 3 for g in gts]
    write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    write_video(tmp_path / "gt.mkv", gts, fmt="gray")
    return depths, gts


def _report(tmp_path, args, name):
    code = main([str(tmp_path / "c.mkv"), *args, "-o", str(tmp_path / f"{name}.mkv"), "--gt", str(tmp_path / "gt.mkv"),
                 "--report", str(tmp_path / f"{name}.json"), "--backend", "torch", "-q"])
    assert code == 0
    return json.loads((tmp_path / f"{name}.json").read_text())


def test_the_report_compares_ffmpegs_gray_values_with_a_gray_ground_truth(tmp_path, tiny_model):
    """Depth made as ``ffmpeg -pix_fmt yuv420p`` makes it (limited, untagged) against gray ground truth:
    the input PSNR is that of FFmpeg's gray decode of the depth (scikit-image); read as stored
    (--depth-range full) it is that of the raw luma codes, an offset of up to 16 levels."""
    depths, gts = _pair(tmp_path)
    _yuv_video(tmp_path / "d.mkv", depths)
    with av.open(str(tmp_path / "d.mkv")) as c:
        gray = [f.reformat(format="gray").to_ndarray() for f in c.decode(video=0)]
    raw = read_video(tmp_path / "d.mkv")[0]
    want_gray = peak_signal_noise_ratio(np.stack(gts), np.stack(gray), data_range=255)
    want_raw = peak_signal_noise_ratio(np.stack(gts), np.stack(raw), data_range=255)
    assert want_gray - want_raw > 1.0  # the two readings differ enough to tell apart
    model = ["--model", str(tiny_model)]
    auto = _report(tmp_path, [str(tmp_path / "d.mkv"), *model], "auto")
    full = _report(tmp_path, [str(tmp_path / "d.mkv"), "--depth-range", "full", *model], "full")
    assert auto["summary"]["mean_psnr_input"] == pytest.approx(want_gray, abs=0.01)
    assert full["summary"]["mean_psnr_input"] == pytest.approx(want_raw, abs=0.01)
    # the outputs keep each reading's range, tagged
    with av.open(str(tmp_path / "auto.mkv")) as c:
        assert c.streams.video[0].codec_context.color_range == 1
    with av.open(str(tmp_path / "full.mkv")) as c:
        assert c.streams.video[0].codec_context.color_range == 2


def test_tags_decide_and_the_option_overrides(tmp_path):
    codes = [np.tile(np.arange(0, 256, 4, dtype=np.uint8), (48, 1))[:, :64]] * 2
    stretched = luma_to_full(codes[0], 8)
    for tag, choice, want in ((2, "auto", codes[0]), (1, "auto", stretched), (2, "limited", stretched),
                              (None, "full", codes[0]), (None, "auto", stretched)):
        path = _yuv_video(tmp_path / f"t{tag}{choice}.mkv", codes, tag=tag, from_gray=False)
        with VideoReader(path, "depth", source=InputOptions(depth_range=choice)) as r:
            got = [f.data for f in r.frames()]
        assert all(np.array_equal(g, want) for g in got), (tag, choice)


def test_luma_outside_the_limited_range_warns_once(tmp_path, caplog):
    codes = [np.full((48, 64), 5, np.uint8), np.full((48, 64), 250, np.uint8)]
    codes[0][:, 32:] = 200
    path = _yuv_video(tmp_path / "wide.mkv", codes, from_gray=False)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(path, "depth") as r:
            list(r.frames())
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 1 and "5..200" in warned[0] and "--depth-range full" in warned[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        with VideoReader(path, "depth", source=InputOptions(depth_range="full")) as r:
            list(r.frames())
        with VideoReader(_yuv_video(tmp_path / "ok.mkv", [np.full((48, 64), 120, np.uint8)]), "depth") as r:
            list(r.frames())
    assert not [r for r in caplog.records if r.levelno == logging.WARNING]
