"""``stream.codecs`` by hand against FFmpeg's own encoder facts (PyAV's ``Codec(name, "w")``: its
lossless / lossy flags and the pixel formats it takes): which encoders count as lossless, the pixel
format depth is written in (docs/formats.md, "Depth formats and bit depth": the input's format when
the encoder takes it, else the same values in another layout of at least as many bits, never
rescaled; an encoder that cannot hold the bit depth refused), where a limited-range tag survives, and
the errors' two wordings. No video is written (a few ms)."""

from __future__ import annotations

import av
import numpy as np
import pytest
from conftest import has_encoder

from igde_stream.errors import IGDEError, cli_message
from igde_stream.stream.codecs import (codec_error, codec_is_lossless, describe_codec, keeps_range, output_pix_fmt,
                                       pix_fmt_for, reads_back_limited)


def _takes(codec: str) -> set[str]:
    return {f.name for f in av.codec.Codec(codec, "w").video_formats or []}


@pytest.mark.parametrize("name, lossless", [("ffv1", True), ("ffvhuff", True), ("png", True), ("rawvideo", True),
                                            ("exr", True), ("libx264", False), ("mpeg4", False)])
def test_lossless_means_the_encoder_can_only_be_lossless(name, lossless):
    """FFV1, FFVHuff, PNG, raw: lossless only; x264 can be either (both flags): lossy; MPEG-4 lossy;
    EXR is flagged lossy too (the format has lossy modes) but is set up lossless here (zip1)."""
    assert codec_is_lossless(name) is lossless
    assert describe_codec(name) == f"{name} ({'lossless' if lossless else 'LOSSY'})"


def test_errors_name_the_encoder_in_the_api_and_in_the_commands_words():
    exc = codec_error("x264", "no such video encoder in this FFmpeg build")
    assert isinstance(exc, IGDEError) and str(exc) == "codec 'x264': no such video encoder in this FFmpeg build"
    assert cli_message(exc) == "--codec x264: no such video encoder in this FFmpeg build"
    with pytest.raises(IGDEError, match=r"^codec 'aac': not a video encoder$"):
        codec_is_lossless("aac")


@pytest.mark.parametrize("codec, fmt, want", [
    ("ffv1", "gray10le", "gray10le"),     # taken as it is
    ("ffv1", "yuv420p9le", "yuv420p9le"),
    ("png", "gray10le", "gray16be"),      # PNG: no gray10le, no gray16le; 16-bit big-endian holds 10 bits
    ("png", "yuv420p9le", "gray16be"),    # 9-bit luma: 16 bits too, not 8
    ("ffv1", "gray16be", "gray16le"),     # docs: "gray16be: gray16le in FFV1"
    ("libx264", "gray", "gray"),
    ("mpeg4", "gray", "yuv420p"),         # 8-bit: gray, else YUV 4:4:4, else 4:2:0
    ("libvpx-vp9", "gray", "yuv444p"),
])
def test_the_output_format_is_the_inputs_or_as_many_bits_in_another_layout(codec, fmt, want):
    takes = _takes(codec)  # the premise, from FFmpeg's list: the input's format kept exactly when taken
    assert want in takes and (want == fmt) == (fmt in takes)
    assert output_pix_fmt(codec, fmt) == want


EXACT_IN = ("depth stays exact in ffv1 (.mkv, .nut, .mp4), png / tiff / dpx (.mov), or 16-bit images "
            "(-o out/%06d.png or .tif; float depth: .exr)")


@pytest.mark.parametrize("codec, fmt, problem", [
    ("libx264", "gray16le", "this encoder cannot store 16-bit depth (gray16le) (it codes "),  # docs' example
    ("libx264", "gray12le", "this encoder cannot store 12-bit depth (gray12le) (it codes "),
    ("libx264rgb", "gray", "this encoder cannot store 8-bit depth (gray) (it codes "),
    # the post-production intermediates: 10-bit YUV only (ProRes 4444's alpha too), both lossy
    ("prores_ks", "gray16le", "this encoder cannot store 16-bit depth (gray16le) (it codes yuv422p10le, "
                              "yuv444p10le, yuva444p10le, lossy); "),
    ("prores_ks", "gray10le", "this encoder cannot store 10-bit depth (gray10le) (it codes yuv422p10le, "
                              "yuv444p10le, yuva444p10le, lossy); "),
    ("dnxhd", "gray", "this encoder cannot store 8-bit depth (gray) (it codes yuv422p, yuv422p10le, yuv444p10le, "
                      "gbrp10le, lossy); "),
])
def test_an_encoder_that_cannot_hold_the_depth_is_refused(codec, fmt, problem):
    """One line: what the encoder codes (FFmpeg's own list) and where the depth stays exact instead."""
    with pytest.raises(IGDEError) as info:
        output_pix_fmt(codec, fmt)
    said = str(info.value)
    assert said.startswith(f"codec {codec!r}: {problem}") and said.endswith(EXACT_IN) and "\n" not in said
    assert cli_message(info.value) == f"--codec {codec}: " + said.split(": ", 1)[1]
    formats = said.split("(it codes ", 1)[1].split(")", 1)[0].removesuffix(", lossy").split(", ")
    assert set(formats) == _takes(codec)


@pytest.mark.parametrize("codec, dtype, like, want", [
    ("ffv1", np.uint16, None, "gray16le"),            # 16-bit samples of unknown format: 16-bit gray
    ("ffv1", np.uint16, "gray12le", "gray12le"),      # above 8 bits: the input's own format
    ("ffv1", np.uint16, "gray10le", "gray10le"),
    ("ffv1", np.uint16, "yuv420p9le", "yuv420p9le"),  # 9 bits is above 8
    ("ffv1", np.uint16, "yuv420p", "gray16le"),       # 16-bit samples never go into an 8-bit format
    ("ffv1", np.uint8, "yuv420p", "yuv420p"),         # 8-bit: the input's 8-bit format
    ("ffv1", np.uint8, "gray", "gray"),
    ("ffv1", np.uint8, None, "gray"),                 # no input format: 8-bit gray
    ("ffv1", np.uint8, "gray10le", "gray"),           # 8-bit samples from a 10-bit input: 8-bit gray
    ("mpeg4", np.uint8, None, "yuv420p"),             # ... where the encoder takes it
])
def test_the_format_for_depth_samples_of_a_dtype(codec, dtype, like, want):
    assert pix_fmt_for(codec, np.dtype(dtype), like) == want


@pytest.mark.parametrize("container, codec, keeps", [
    ("matroska", "ffv1", True), ("matroska,webm", "ffv1", True), ("webm", "ffv1", True),
    ("mp4", "ffv1", False), ("nut", "ffv1", False), ("mov,mp4,m4a,3gp,3g2,mj2", "ffv1", False),
    ("mp4", "libx264", True), ("nut", "libx265", True), ("mp4", "libsvtav1", True), ("mp4", "mpeg4", False),
    ("mp4", "h264", True), ("nut", "hevc", True),  # FFmpeg's names for the same encoders (libx264, libx265)
])
def test_a_range_tag_survives_in_matroska_or_as_lossy_h264_hevc_vp9_av1(container, codec, keeps):
    """docs/formats.md: limited-range depth reads back as limited "in Matroska, or as lossy H.264 /
    HEVC / VP9 / AV1"; elsewhere (FFV1 in MP4 or NUT, MPEG-4) not. A muxer may have several names."""
    assert keeps_range(container, codec) is keeps


@pytest.mark.parametrize("container, codec, limited", [
    ("mp4", "mpeg4", True), ("nut", "mpeg2video", True),       # lossy, and no tag survives: read as limited
    ("matroska", "mpeg4", False), ("mp4", "libx264", False),   # the tag survives (container / bitstream)
    ("mp4", "h264", False), ("nut", "hevc", False),             # ... by FFmpeg's other names for x264 / x265
    ("mp4", "ffv1", False), ("nut", "rawvideo", False),        # lossless and raw: read as stored
    ("avi", "wrapped_avframe", False), ("yuv4mpegpipe", "wrapped_avframe", False),  # raw frames: lossless
])
def test_lossy_yuv_without_a_surviving_tag_reads_back_as_limited(container, codec, limited):
    """docs/formats.md: an untagged stream is limited when it is lossy video, read as stored when it is
    lossless or raw; so where no tag survives, lossy YUV reads back limited whatever it was written as.
    Lossless by the encoder (FFmpeg's flags), not by a list of decoders: AVI and Y4M hold the frames of
    ``wrapped_avframe`` as raw video."""
    assert reads_back_limited(container, codec) is limited


def test_the_range_a_coding_format_reads_back_in_whoever_encodes_it():
    """FFmpeg's MPEG-2 decoder says limited and its JPEG decoder full, whatever encoder made the stream:
    Intel's mpeg2_qsv / mjpeg_qsv (names this build knows, with or without the hardware) included."""
    from igde_stream.stream.codecs import full_range_only, range_lost, reads_back_limited

    for codec in ("mpeg2video", "mpeg2_qsv"):
        if not has_encoder(codec):
            continue
        assert reads_back_limited("matroska", codec) and reads_back_limited("nut", codec)
    for codec in ("mjpeg", "mjpeg_qsv"):
        if not has_encoder(codec):
            continue
        assert full_range_only(codec)
        for muxer in ("mov,mp4,m4a,3gp,3g2,mj2", "nut", "avi"):  # no range tag survives, and none is needed
            assert not reads_back_limited(muxer, codec) and not range_lost(muxer, codec)
    assert range_lost("nut", "ffv1") and not range_lost("matroska", "ffv1")
    assert not full_range_only("libx264") and not full_range_only("ffv1")


