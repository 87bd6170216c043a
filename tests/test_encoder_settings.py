"""Output settings, read back from written files: FFV1 level 3 with slice CRCs and GOP 1 (every frame
a keyframe), neutral chroma for depth carried in YUV luma; the output folder check; the default
queue bound.

The FFV1 facts come from FFmpeg's own decoder: with ``debug=pict`` it logs the stream's global
header (``global: ver:3.x ... ec:1 intra:1``) and each frame's header (``keyframe:1``), decoded from
the bitstream, so they are what a player sees, not what the writer meant to set.
"""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

from igde_stream.errors import OutputError
from igde_stream.stream import enhance_file


def _ffv1_headers(path) -> tuple[str, list[str]]:
    """(the global header line, the per-frame header lines) FFmpeg's FFV1 decoder logs for ``path``."""
    import av
    import av.logging as avlog

    with avlog.Capture(local=False) as logs:
        avlog.set_level(avlog.DEBUG)
        try:
            with av.open(str(path)) as c:
                s = c.streams.video[0]
                s.codec_context.options = {"debug": "pict"}
                for _ in c.decode(s):
                    pass
        finally:
            avlog.set_level(None)
    msgs = [m for _, _, m in logs]
    glob = [m for m in msgs if m.startswith("global:")]
    assert len(glob) == 1, msgs[:20]
    return glob[0], [m for m in msgs if m.startswith("ver:")]


def _packets(path) -> list:
    import av

    with av.open(str(path)) as c:
        return [(p.is_keyframe, p.size) for p in c.demux(c.streams.video[0]) if p.size]


@pytest.mark.parametrize("bits", [8, 16])
def test_ffv1_output_is_level_3_gop_1_with_slice_crcs(make_clip, enhancer, bits):
    clip = make_clip(n=6, bits=bits)
    enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    glob, frames = _ffv1_headers(clip["out"])
    assert re.search(r"\bver:3\.\d+,", glob), glob  # level 3 (FFV1 version 3)
    assert re.search(r"\bec:1\b", glob), glob  # slice CRCs ("error correction": a CRC per slice)
    assert re.search(r"\bintra:1\b", glob), glob  # the encoder declares every frame intra (GOP 1)
    assert re.search(rf"\bbpr:{bits}\b", glob), glob
    assert len(frames) == 6 and all("keyframe:1" in f and "ec:1" in f for f in frames), frames
    packets = _packets(clip["out"])
    assert len(packets) == 6 and all(key for key, _ in packets)  # GOP 1: every packet a keyframe


def test_a_flipped_byte_in_the_output_is_caught_by_its_slice_crc(make_clip, enhancer, tmp_path):
    import av
    import av.logging as avlog

    clip = make_clip(n=4)
    enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    with av.open(str(clip["out"])) as c:
        last = [p for p in c.demux(c.streams.video[0]) if p.size][-1]
        pos, size = last.pos, last.size
    data = bytearray(clip["out"].read_bytes())
    data[pos + size // 2] ^= 0x40  # inside the last frame's slice data
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    with avlog.Capture(local=False) as logs:
        avlog.set_level(avlog.ERROR)
        try:
            with av.open(str(bad)) as c:
                try:
                    for _ in c.decode(c.streams.video[0]):
                        pass
                except av.error.FFmpegError:
                    pass
        finally:
            avlog.set_level(None)
    assert any("CRC mismatch" in m for _, _, m in logs), logs


def test_yuv_depth_keeps_its_format_with_neutral_chroma(make_clip, enhancer):
    import av

    clip = make_clip(n=4, depth_fmt="yuv420p")
    enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    with av.open(str(clip["out"])) as c:
        s = c.streams.video[0]
        assert (s.codec_context.name, s.codec_context.pix_fmt) == ("ffv1", "yuv420p")
        n = 0
        for f in c.decode(s):
            n += 1
            y, u, v = f.planes
            assert (y.width, y.height, u.width, u.height) == (64, 48, 32, 24)
            for p in (u, v):
                chroma = np.frombuffer(p, np.uint8).reshape(p.height, p.line_size)[:, : p.width]
                assert (chroma == 128).all()  # neutral: a viewer shows grey depth, no colour cast
    assert n == 4
    glob, _ = _ffv1_headers(clip["out"])
    assert re.search(r"\bver:3\.\d+,", glob) and re.search(r"\bec:1\b", glob), glob


def test_read_only_output_folder_is_refused_even_for_root(make_clip, enhancer, tmp_path, monkeypatch):
    # the real check of a chmod 555 folder skips under root (root may write anyway); this one
    # reaches the same check on every machine by answering os.access as a read-only folder would
    clip = make_clip(n=2)
    ro = tmp_path / "ro"
    ro.mkdir()
    real_access = os.access
    asked = []

    def access(path, mode, *a, **k):
        if os.fspath(path) == str(ro) and mode & os.W_OK:
            asked.append(mode)
            return False
        return real_access(path, mode, *a, **k)

    monkeypatch.setattr(os, "access", access)
    with pytest.raises(OutputError, match="not writable") as info:
        enhance_file(clip["color"], clip["depth"], ro / "out.mkv", enhancer=enhancer)
    assert "\n" not in str(info.value) and asked
    assert list(ro.iterdir()) == []  # nothing written, no temporary file either


def test_default_queue_bound_is_three_batches_and_at_most_64_mib(make_clip, enhancer, monkeypatch):
    # 64 MiB holds 10 colour frames of 1920 x 1080 (62.2 MB) and not 11: the documented cap
    import igde_stream.stream.pipeline as pipeline
    import igde_stream.stream.run_frames as run_frames

    cap = pipeline.DEFAULT_QUEUE_BYTES
    assert 10 * 1920 * 1080 * 3 <= cap < 11 * 1920 * 1080 * 3 and cap == 64 * 2**20
    bounds = []

    class Recording(run_frames.ByteQueue):
        def __init__(self, max_bytes, *a, **kw):
            super().__init__(max_bytes, *a, **kw)
            bounds.append(max_bytes)

    monkeypatch.setattr(run_frames, "ByteQueue", Recording)
    clip = make_clip(n=4)
    enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)  # queue_bytes left at its default
    batch = enhancer.batch
    colour, depth = 64 * 48 * 3, 64 * 48
    # small frames: each queue holds 3 batches of its items (colour, depth, and the writer's items)
    assert bounds[0] == 3 * batch * colour and bounds[1] == 3 * batch * depth
    assert all(b <= cap for b in bounds) and all(b >= 3 * batch * depth for b in bounds)
    # a batch so large that 3 batches of colour frames pass the cap (3 x 3000 x 9216 B = 82.9 MB):
    # the colour queue stops at 64 MiB, the depth queue (27.6 MB) keeps its 3 batches
    bounds.clear()
    monkeypatch.setattr(enhancer, "batch", 3000)
    enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer, overwrite=True)
    assert bounds[0] == cap and bounds[1] == 3 * 3000 * depth
