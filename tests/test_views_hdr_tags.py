"""Views of HDR colour (PQ, HLG) say its colour primaries and transfer: they hold its coded values,
converted to RGB with its own matrix, so a player that reads the tags shows them as it shows the
colour. Before, they were tagged BT.709 (shown flat and pale). YUV views keep the BT.709 matrix
they are converted with; RGB-D frames hold depth values and stay SDR. Expected tags are the inputs'
own (AVColorPrimaries 9: BT.2020; AVColorTransferCharacteristic 16: PQ, 18: HLG, 1: BT.709)."""

from __future__ import annotations

from fractions import Fraction

import av
import pytest

from conftest import encode_frames, scene, write_video
from igde_stream import multiview as mv
from igde_stream.stream import enhance_file
from igde_stream.stream.views import render_file

BT709, BT2020, PQ, HLG = 1, 9, 16, 18


def _hdr_colour(path, trc=PQ, n=3):
    """10-bit colour tagged BT.2020 / ``trc`` (FFV1 keeps the tags in Matroska's Colour element)."""
    frames = [av.VideoFrame.from_ndarray(c, format="rgb24").reformat(format="yuv420p10le") for c in scene(n, (64, 48))[0]]
    return encode_frames(path, frames, "ffv1", "yuv420p10le",
                         tags={"color_primaries": BT2020, "color_trc": trc, "colorspace": BT2020, "color_range": 1})


def _tags(path):
    with av.open(str(path)) as c:
        cc = c.streams.video[0].codec_context
        return cc.color_primaries, cc.color_trc, cc.colorspace


@pytest.fixture
def inputs(tmp_path):
    depths = scene(3, (64, 48))[1]
    return {"pq": _hdr_colour(tmp_path / "pq.mkv"), "hlg": _hdr_colour(tmp_path / "hlg.mkv", HLG),
            "sdr": write_video(tmp_path / "sdr.mkv", scene(3, (64, 48))[0], fmt="rgb24", codec="ffv1",
                               rate=Fraction(25)),
            "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(25))}


@pytest.mark.parametrize("colour, trc", [("pq", PQ), ("hlg", HLG)])
def test_views_of_hdr_colour_say_its_primaries_and_transfer(inputs, tmp_path, colour, trc):
    cfg = mv.ViewConfig(4, 12)
    render_file(inputs[colour], inputs["depth"], tmp_path / "v.mp4", cfg, codec="h264")
    assert _tags(tmp_path / "v.mp4") == (BT2020, trc, BT709)  # converted with the BT.709 matrix, and says so
    render_file(inputs[colour], inputs["depth"], tmp_path / "v.mkv", cfg)  # FFV1, RGB
    assert _tags(tmp_path / "v.mkv")[:2] == (BT2020, trc)


def test_views_of_sdr_colour_stay_bt709(inputs, tmp_path):
    render_file(inputs["sdr"], inputs["depth"], tmp_path / "v.mp4", mv.ViewConfig(4, 12), codec="h264")
    assert _tags(tmp_path / "v.mp4") == (BT709, BT709, BT709)
    render_file(inputs["sdr"], inputs["depth"], tmp_path / "v.mkv", mv.ViewConfig(4, 12))
    assert _tags(tmp_path / "v.mkv")[:2] != (BT2020, PQ)


def test_rgbd_frames_hold_depth_values_and_stay_sdr(inputs, tmp_path):
    render_file(inputs["pq"], inputs["depth"], tmp_path / "r.mp4", mv.ViewConfig(4, 12), layout="rgbd", codec="h264")
    assert _tags(tmp_path / "r.mp4") == (BT709, BT709, BT709)


def test_the_one_pass_views_carry_them_and_its_rgbd_output_does_not(inputs, tmp_path, enhancer):
    from igde_stream.stream.outputs import ViewsOptions

    enhance_file(inputs["pq"], inputs["depth"], tmp_path / "o.mkv", enhancer=enhancer,
                 views_path=tmp_path / "v.mp4", rgbd_path=tmp_path / "r.mp4",
                 views=ViewsOptions(config=mv.ViewConfig(4, 12), codec="h264"))
    assert _tags(tmp_path / "v.mp4") == (BT2020, PQ, BT709)
    assert _tags(tmp_path / "r.mp4") == (BT709, BT709, BT709)
    with av.open(str(tmp_path / "v.mp4")) as c:
        assert len(list(c.decode(video=0))) == 3
