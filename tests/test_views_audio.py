"""The views and RGB-D videos carry the colour file's sound over the frames written: copied (payloads
as read) where the container holds the codec, else coded to AAC; with --start / --max-frames from the
first written frame's time to the last one's end; --no-audio leaves it out; an abort leaves no file.
Expected times are worked out by hand from the frame grid (25 fps: frame k at k / 25 s)."""

from __future__ import annotations

import shutil
import subprocess
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from igde_stream.views_cli import main as views_main

RATE, SR, FRAMES = 25, 48000, 25  # 1 s of video at 25 fps; the sound runs 1.5 s, past the video


def _with_sound(path, colors, codec, seconds=1.5):
    """Colour frames (H.264, frame k at k / 25 s) and a 440 Hz tone from 0 s in ``codec`` (PyAV)."""
    import av

    with av.open(str(path), "w") as out:
        v = out.add_stream("libx264", rate=Fraction(RATE))
        v.width, v.height, v.pix_fmt = colors[0].shape[1], colors[0].shape[0], "yuv420p"
        a = out.add_stream(codec, rate=SR)
        a.layout = "mono"
        for i, img in enumerate(colors):
            f = av.VideoFrame.from_ndarray(img, format="rgb24")
            f.pts = i
            out.mux(v.encode(f))
        out.mux(v.encode(None))
        fmt = "fltp" if codec == "aac" else "s16"
        tone = np.sin(2 * np.pi * 440 * np.arange(int(seconds * SR)) / SR)[None]
        tone = (tone * 20000).astype(np.int16) if fmt == "s16" else tone.astype(np.float32)
        for k in range(0, tone.shape[1], 1024):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, k:k + 1024]), format=fmt, layout="mono")
            frame.sample_rate, frame.pts = SR, k
            out.mux(a.encode(frame))
        out.mux(a.encode(None))
    return path


def _audio_packets(path):
    """[(time s, duration s, payload)] of the first audio stream, and its codec name."""
    import av

    with av.open(str(path)) as c:
        s = c.streams.audio[0]
        return [(float(p.pts * p.time_base), float(p.duration * p.time_base), bytes(p)) for p in c.demux(s)
                if p.size], s.codec_context.name


def _probe(path, what):
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe reads the stereo side data")
    r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", what, "-of", "csv=p=0", str(path)],
                       capture_output=True, text=True, check=True)
    return r.stdout.split()


@pytest.fixture
def clip(tmp_path):
    colors, depths, _ = scene(FRAMES, (32, 24))
    return tmp_path, colors, write_video(tmp_path / "depth.mkv", depths, fmt="gray", rate=Fraction(RATE))


@pytest.mark.parametrize("src, out_name", [(".mp4", "sbs.mkv"), (".mov", "sbs.mov"), (".mp4", "sbs.mp4")])
def test_copied_sound_is_the_sources_packets_over_the_frames_written(clip, src, out_name):
    tmp, colors, depth = clip
    codec = "aac" if src == ".mp4" else "pcm_s16le"
    color = _with_sound(tmp / f"c{src}", colors, codec)
    out = tmp / out_name
    assert views_main(["render", str(color), str(depth), "-o", str(out), "--layout", "sbs", "--codec", "h264",
                       "--start", "0.4", "--max-frames", "10"]) == 0
    first, end = 10 / RATE, 20 / RATE  # frames 10..19 written: 0.4 s to the end of frame 19, 0.8 s
    got, name = _audio_packets(out)
    assert name == codec
    src_packets, _ = _audio_packets(color)
    kept = [p for p in src_packets if first - 1e-6 <= p[0] < end - 1e-6]
    assert [p[2] for p in got] == [p[2] for p in kept] and kept  # the payloads as read, none more
    tol = 0.0011  # Matroska's 1 ms time base
    assert all(abs(g[0] - k[0]) <= tol for g, k in zip(got, kept))  # times kept (both files start at 0)
    assert first - tol <= got[0][0] < first + got[0][1]  # within one packet after the first frame
    assert got[-1][0] < end <= got[-1][0] + got[-1][1] + tol  # no packet past the video's end but the last
    assert _probe(out, "stream=start_time")[0].startswith("0.4")  # the video's start, as before
    assert _probe(out, "stream_side_data=type")[:3] == ["side", "by", "side"]  # StereoMode / st3d kept


def test_pcm_into_mp4_is_coded_to_aac_from_the_first_frame_to_the_last_ones_end(clip):
    tmp, colors, depth = clip
    color = _with_sound(tmp / "c.mov", colors, "pcm_s16le")
    out = tmp / "sbs.mp4"
    assert views_main(["render", str(color), str(depth), "-o", str(out), "--layout", "sbs", "--codec", "h264",
                       "--start", "0.2", "--max-frames", "15"]) == 0
    first, end = 5 / RATE, 20 / RATE
    got, name = _audio_packets(out)
    assert name == "aac"
    priming = 1024 / SR  # the AAC encoder's delay, before the first sample (skipped by players)
    assert first - priming - 1e-3 <= got[0][0] <= first + 1e-3
    assert end - 1e-3 <= got[-1][0] + got[-1][1] <= end + 1024 / SR + 1e-3  # within one packet of the end
    assert _probe(out, "stream_side_data=type")[:3] == ["side", "by", "side"]  # the st3d box, after close
    import av

    with av.open(str(out)) as c:  # the samples: the tone from 0.2 s (its phase there), not from 0 s
        pcm = np.concatenate([f.to_ndarray()[0] for f in c.decode(audio=0)])
    start = int(round(priming * SR))
    t = (np.arange(2048) + int(first * SR)) / SR
    ref = np.sin(2 * np.pi * 440 * t) * 20000 / 32768
    assert np.corrcoef(pcm[start:start + 2048], ref)[0, 1] > 0.95


def test_the_whole_clip_ends_the_sound_at_the_videos_end_and_no_audio_leaves_it_out(clip, capsys, monkeypatch):
    from igde_stream.stream.audio import AudioTrack

    tmp, colors, depth = clip
    color = _with_sound(tmp / "c.mp4", colors, "aac")
    out = tmp / "grid.mkv"
    fed = []  # the output times the sound was fed up to, frame by frame (not all at the end)
    real = AudioTrack.feed
    monkeypatch.setattr(AudioTrack, "feed", lambda self, until: fed.append(until) or real(self, until))
    assert views_main(["render", str(color), str(depth), "-o", str(out), "--layout", "grid", "--views", "2"]) == 0
    assert fed[:FRAMES] == [Fraction(k + 1, RATE) for k in range(FRAMES)]  # each frame's end, as it is written
    assert "has sound" not in capsys.readouterr().out  # carried: no note
    got, _ = _audio_packets(out)
    assert got[-1][0] < FRAMES / RATE <= got[-1][0] + got[-1][1] + 0.0011  # the sound runs 1.5 s: cut at 1 s
    bare = tmp / "bare.mkv"
    assert views_main(["render", str(color), str(depth), "-o", str(bare), "--layout", "grid", "--views", "2",
                       "--no-audio"]) == 0
    import av

    with av.open(str(bare)) as c:
        assert not c.streams.audio
    assert "has sound" in capsys.readouterr().out  # left out: the note says how to add it


def test_an_aborted_writer_with_sound_leaves_no_file(clip):
    from igde_stream.stream.audio import audio_spec
    from igde_stream.stream.views import RGBDWriter

    tmp, colors, _ = clip
    color = _with_sound(tmp / "c.mov", colors, "pcm_s16le")
    out = tmp / "rgbd.mp4"
    with pytest.raises(KeyboardInterrupt):
        with RGBDWriter(out, "h264", Fraction(RATE), Fraction(1, RATE), audio=audio_spec(str(color))) as w:
            for k in range(3):
                w.write(colors[k], np.full(colors[k].shape[:2], 100, np.uint8), k)
            assert w.writer.audio is not None
            raise KeyboardInterrupt
    assert list(tmp.glob("rgbd*")) == []


def test_one_pass_rgbd_carries_the_sound_and_the_depth_none(make_clip, tiny_model):
    from igde_stream import cli

    c = make_clip(n=4, color_ext=".mkv", rate=Fraction(RATE), size=(32, 24))
    color = _with_sound(c["color"].parent / "phone.mov", [np.asarray(f) for f in c["colors"]], "pcm_s16le")
    rgbd = c["out"].parent / "rgbd.mov"
    assert cli.main([str(color), str(c["depth"]), "-o", str(c["out"]), "--rgbd-out", str(rgbd), "--max-frames", "3",
                     "--views-codec", "h264", "--model", str(tiny_model), "--backend", "torch", "--threads", "1"]) == 0
    got, name = _audio_packets(rgbd)
    assert name == "pcm_s16le" and got[0][0] < 1024 / SR and got[-1][0] < 3 / RATE <= got[-1][0] + got[-1][1] + 1e-3
    import av

    with av.open(str(c["out"])) as d:
        assert not d.streams.audio

