"""Recordings as cameras and phones write them: which stream of a two-stream file is colour and
which depth (cover art never; a stream tagged HDR / BT.2020 is colour; gray beats >8-bit YUV; a
warning when bit depth alone decided), a clip whose last frame is held longer (VFR) is complete,
colour and depth of different shapes are said to be stretched, and a colour-mapped depth video
(turbo) is refused instead of read as luma."""

from __future__ import annotations

import logging
from fractions import Fraction

import av
import cv2
import numpy as np
import pytest
from conftest import scene, write_video

from igde_stream.errors import InputError
from igde_stream.stream import VideoReader, enhance_file

H, W = 48, 64


def _mux(path, streams, n=4, rate=30, covers=()):
    """``streams``: (codec, pix_fmt, frame maker, tags) in order; ``covers``: stream numbers written
    as cover art (one MJPEG still, disposition attached_pic)."""
    with av.open(str(path), "w") as out:
        made = []
        for k, (codec, pix, make, tags) in enumerate(streams):
            opts = {"x265-params": "log-level=error"} if codec == "libx265" else {}
            s = out.add_stream(codec, rate=1 if k in covers else rate, options=opts)
            s.width, s.height, s.pix_fmt = W, H, pix
            for key, value in tags.items():
                setattr(s.codec_context, key, value)
            if k in covers:
                s.disposition = av.stream.Disposition.attached_pic
            made.append(s)
        for i in range(n):
            for k, ((_, pix, make, tags), s) in enumerate(zip(streams, made)):
                if k in covers and i:
                    continue
                f = make(i).reformat(format=pix)
                for key, value in tags.items():
                    setattr(f, key, value)
                f.pts = i
                out.mux(s.encode(f))
        for s in made:
            out.mux(s.encode(None))
    return path


def rgb(i):
    a = np.zeros((H, W, 3), np.uint8)
    a[..., 0], a[..., 1] = 30 * i, np.arange(W)[None, :] * 3
    return av.VideoFrame.from_ndarray(a, format="rgb24")


def gray(i, dtype=np.uint8):
    a = np.full((H, W), 60 + 10 * i, dtype)
    return av.VideoFrame.from_ndarray(a, format="gray" if dtype == np.uint8 else "gray16le")


HLG = {"color_trc": 18, "color_primaries": 9, "colorspace": 9}


def _picked(path):
    with VideoReader(path, "color") as c, VideoReader(path, "depth") as d:
        return c.stream.index, d.stream.index


def test_hdr_tagged_10_bit_colour_beside_8_bit_depth_is_colour(tmp_path, caplog):
    # a phone's HLG HEVC colour (10 bit) and an estimator's 8-bit depth in one file: before, the
    # 10-bit stream was taken as depth and the depth as the colour guide, silently
    p = _mux(tmp_path / "phone.mkv", [("libx265", "yuv420p10le", rgb, HLG), ("libx264", "yuv420p", gray, {})])
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert _picked(p) == (0, 1)
    assert not [m for m in caplog.messages if "by bit depth alone" in m]


def test_gray_depth_beats_10_bit_yuv_and_untagged_yuv_pairs_warn(tmp_path, caplog):
    p = _mux(tmp_path / "g.mkv", [("libx265", "yuv420p10le", rgb, {}), ("ffv1", "gray16le",
                                                                          lambda i: gray(i, np.uint16), {})])
    assert _picked(p) == (0, 1)
    q = _mux(tmp_path / "y.mkv", [("libx265", "yuv420p10le", rgb, {}), ("libx264", "yuv420p", gray, {})])
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        assert _picked(q) == (1, 0)  # untagged: the >8-bit stream is depth, as documented, and it is said
    said = [m for m in caplog.messages if "by bit depth alone" in m]
    assert len(said) == 1 and "give --color-stream 0 --depth-stream 1" in said[0]


def test_cover_art_is_never_the_video(tmp_path):
    p = _mux(tmp_path / "c.mp4", [("libx265", "yuv420p10le", rgb, HLG), ("mjpeg", "yuvj420p", rgb, {})],
             covers=(1,))
    with av.open(str(p)) as c:  # the still is there, as cover art
        assert c.streams.video[1].disposition & av.stream.Disposition.attached_pic
    with VideoReader(p, "color") as r:
        assert r.stream.index == 0


def _held_last(path, hold):
    """8 frames at 30 fps (time base 1/600), the last sample lasting ``hold`` ticks (20 = one frame)."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30, options={"bf": "0"})
        s.width, s.height, s.pix_fmt = W, H, "yuv420p"
        s.codec_context.time_base = Fraction(1, 600)
        packets = []
        for i in range(8):
            f = rgb(i).reformat(format="yuv420p")
            f.pts, f.time_base = 20 * i, Fraction(1, 600)
            packets += s.encode(f)
        packets += s.encode(None)
        for p in packets:
            p.duration = hold if p.pts == 140 else 20
            out.mux(p)
    return path


@pytest.mark.parametrize("hold", [20, 60, 240])
def test_a_held_last_frame_is_not_a_truncated_file(tmp_path, hold):
    p = _held_last(tmp_path / "vfr.mp4", hold)
    with av.open(str(p)) as c:  # the container's duration counts the hold
        s = c.streams.video[0]
        assert s.frames == 8 and float(s.duration * s.time_base) == pytest.approx((140 + hold) / 600)
    with VideoReader(p, "color") as r:
        assert len(list(r.frames())) == 8


def test_colour_and_depth_of_different_shapes_are_said_to_be_stretched(tmp_path, enhancer, caplog):
    colors, depths, _ = scene(3, (64, 48))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    wide = write_video(tmp_path / "wide.mkv", [cv2.resize(x, (64, 36)) for x in colors], fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        enhance_file(c, d, tmp_path / "o1.mkv", enhancer=enhancer)  # 4:3 and 4:3
        assert not [m for m in caplog.messages if "stretched" in m]
        enhance_file(wide, d, tmp_path / "o2.mkv", enhancer=enhancer)  # 16:9 colour, 4:3 depth
    said = [m for m in caplog.messages if "stretched" in m]
    assert len(said) == 1 and "is 64x36 (aspect 1.78)" in said[0] and "is 64x48 (aspect 1.33)" in said[0]


def test_a_colour_mapped_depth_video_is_refused_in_one_line(tmp_path, enhancer):
    colors, depths, _ = scene(3, (64, 48))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    turbo = [cv2.applyColorMap(d, cv2.COLORMAP_TURBO)[..., ::-1].copy() for d in depths]
    t = write_video(tmp_path / "turbo.mp4", turbo, fmt="rgb24")  # H.264 yuv420p, as estimator demos write
    with pytest.raises(InputError, match=r"frame 0: yuv420p: \d+ % of the chroma is far from neutral.*colour-mapped"):
        enhance_file(c, t, tmp_path / "o.mkv", enhancer=enhancer)
    assert not (tmp_path / "o.mkv").exists()
    g = write_video(tmp_path / "gray.mp4", [np.repeat(d[..., None], 3, 2) for d in depths], fmt="rgb24")
    enhance_file(c, g, tmp_path / "o.mkv", enhancer=enhancer)  # gray through a lossy YUV codec: read


def test_depth_with_constant_chroma_planes_is_read(tmp_path):
    """Some tools leave a YUV depth's chroma planes at 0: constant, so no picture; the luma is read."""
    from igde_stream.stream.formats import depth_array

    f = av.VideoFrame(W, H, "yuv420p")
    luma = (np.arange(H * W) % 251).astype(np.uint8).reshape(H, W)
    f.planes[0].update(np.ascontiguousarray(np.pad(luma, ((0, 0), (0, f.planes[0].line_size - W)))).tobytes())
    for k in (1, 2):
        f.planes[k].update(bytes(f.planes[k].buffer_size))
    assert np.array_equal(depth_array(f), luma)


@pytest.mark.parametrize("fmt", ["yuv420p10le", "nv12", "yuv444p"])
def test_the_chroma_check_reads_every_yuv_layout(fmt):
    """Planar 10-bit (neutral 512), semi-planar NV12 (U and V interleaved) and 4:4:4: a turbo map is
    refused, the same depth as gray passes."""
    from igde_stream.stream.formats import check_neutral_chroma

    d = (np.arange(H * W) % 256).astype(np.uint8).reshape(H, W)
    turbo = cv2.applyColorMap(d, cv2.COLORMAP_TURBO)[..., ::-1].copy()
    gray3 = np.repeat(d[..., None], 3, 2)
    with pytest.raises(ValueError, match="far from neutral"):
        check_neutral_chroma(av.VideoFrame.from_ndarray(turbo, format="rgb24").reformat(format=fmt))
    check_neutral_chroma(av.VideoFrame.from_ndarray(gray3, format="rgb24").reformat(format=fmt))
