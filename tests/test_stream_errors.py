"""Bad input: a clear error naming the file, nothing overwritten, no partial output, threads joined."""

from __future__ import annotations

import dataclasses
import os
import threading
from fractions import Fraction

import numpy as np
import pytest

from conftest import scene, write_video
from test_formats import write_png_sequence
from igde_stream.errors import CorruptInputError, IGDEError, InputError, OutputError, PairingError, cli_message
from igde_stream.stream import enhance_file


def run(clip, enhancer, **kw):
    args = {k: clip[k] for k in ("color", "depth", "out")}
    args.update({k: kw.pop(k) for k in ("color", "depth", "out") if k in kw})
    return enhance_file(args["color"], args["depth"], args["out"], enhancer=enhancer, **kw)


def assert_clean(folder, out=None):
    """No output (or the old one untouched), no temporary files, no stage thread left running."""
    if out is not None:
        assert not out.exists()
    assert not [p.name for p in folder.iterdir() if "igde-part" in p.name]
    assert not [t.name for t in threading.enumerate() if t.name.startswith("igde-")]


def fails(exc_type, match, clip, enhancer, **kw) -> IGDEError:
    with pytest.raises(exc_type, match=match) as info:
        run(clip, enhancer, **kw)
    assert "\n" not in str(info.value)
    assert_clean(clip["out"].parent, None if kw.get("out") else clip["out"])
    return info.value


def test_missing_file(make_clip, enhancer, tmp_path):
    e = fails(InputError, "no such file", make_clip(), enhancer, depth=tmp_path / "nope.mkv")
    assert e.path.endswith("nope.mkv")


def test_folder_given_as_input(make_clip, enhancer, tmp_path):
    fails(InputError, "is a folder", make_clip(), enhancer, color=tmp_path)


def test_text_file_named_mp4(make_clip, enhancer, tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 10)
    e = fails(InputError, "not a video file", make_clip(), enhancer, color=fake)
    assert e.path == str(fake)


def test_empty_file(make_clip, enhancer, tmp_path):
    (tmp_path / "empty.mkv").touch()
    fails(InputError, "empty file", make_clip(), enhancer, depth=tmp_path / "empty.mkv")


def test_file_with_no_video_stream(make_clip, enhancer, tmp_path):
    import av

    wav = tmp_path / "sound.wav"
    with av.open(str(wav), "w") as c:
        s = c.add_stream("pcm_s16le", rate=8000, layout="mono")
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        for p in [*s.encode(frame), *s.encode(None)]:
            c.mux(p)
    fails(InputError, r"no video stream \(only audio\)$", make_clip(), enhancer, depth=wav)


def test_an_mp4_cut_inside_its_index_is_called_cut_or_damaged(make_clip, enhancer, tmp_path):
    """An MP4 whose index (moov, after the media data) is cut short: FFmpeg opens it with its video
    track read as a data stream, or with no stream at all. Either way the message says what the file
    likely is, rather than only that it has no video."""
    import av

    clip = make_clip()
    whole = clip["color"].read_bytes()
    seen = set()
    for n in range(whole.find(b"moov"), len(whole), 16):
        cut = tmp_path / f"cut{n}.mp4"
        cut.write_bytes(whole[:n])
        try:
            with av.open(str(cut)) as c:
                kinds = tuple(sorted({s.type for s in c.streams}))
        except av.error.FFmpegError:
            continue
        if "video" in kinds or kinds in seen:
            continue
        seen.add(kinds)
        match = r"no stream at all \(a cut or damaged file\?\)" if not kinds else \
            r"no video stream \(only data: a cut or damaged file\?\)"
        fails(InputError, match, clip, enhancer, color=cut)
    assert seen, "no cut of the file opened without its video stream"


def test_different_frame_counts_name_the_frames(make_clip, enhancer, tmp_path):
    clip = make_clip(n=8)
    short = write_video(tmp_path / "short.mp4", clip["colors"][:6], fmt="rgb24")
    e = fails(PairingError, r"frames 6 \(0\.200 s\), 7 \(0\.234 s\) of the depth stream have no colour frame",
              clip, enhancer, color=short)
    assert "6 colour frames, 8 depth frames" in str(e)


def test_timestamps_that_do_not_pair(make_clip, enhancer, tmp_path):
    clip = make_clip(n=8)
    pal = write_video(tmp_path / "pal.mp4", clip["colors"], fmt="rgb24", rate=Fraction(25))  # same count, 25 fps
    e = fails(PairingError, "do not pair by timestamp", clip, enhancer, color=pal)
    assert "of the colour stream" in str(e) and "of the depth stream" in str(e)


def test_unsupported_depth_pixel_format(make_clip, enhancer, tmp_path):
    alpha_depth = write_video(tmp_path / "yuva_depth.mkv", scene(4)[1], fmt="yuva420p", codec="ffv1")
    e = fails(InputError, "pixel format yuva420p, which is not supported", make_clip(), enhancer, depth=alpha_depth)
    assert "gray, gray16le or 8-bit YUV" in str(e)


def test_a_colour_video_given_as_depth_is_named_a_colour_picture(make_clip, enhancer, tmp_path):
    """FFV1 colour (bgr0, a format gray depth saved as RGB also arrives in): its channels differ, so it
    is refused as a colour picture, under its own format's name."""
    rgb_depth = write_video(tmp_path / "rgb_depth.mkv", scene(4)[0], fmt="rgb24", codec="ffv1")  # bgr0
    fails(InputError, r"frame 0: bgr0: the three colour channels differ, so this is a colour picture",
          make_clip(), enhancer, depth=rgb_depth)


def test_truncated_file(make_clip, enhancer, tmp_path):
    clip = make_clip(n=12)
    data = clip["depth"].read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    fails(CorruptInputError, "truncated|ended prematurely", clip, enhancer, depth=cut)


def test_corrupted_file_is_detected_by_ffv1_slice_crc(make_clip, enhancer, tmp_path):
    clip = make_clip(n=12)
    data = bytearray(clip["depth"].read_bytes())
    mid = len(data) // 2
    data[mid : mid + 16] = bytes(b ^ 0x5A for b in data[mid : mid + 16])
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    e = fails(CorruptInputError, "damaged data", clip, enhancer, depth=bad)
    assert e.path == str(bad)


def test_timestamps_that_do_not_increase(make_clip, enhancer, tmp_path):
    stuck = write_video(tmp_path / "stuck.mkv", scene(4)[1], fmt="gray", times=[0, 0, 0, 0], time_base=Fraction(1, 1000))
    fails(CorruptInputError, "timestamps do not increase", make_clip(), enhancer, depth=stuck)


def test_output_equal_to_an_input(make_clip, enhancer):
    clip = make_clip()
    before = clip["depth"].read_bytes()
    fails(OutputError, "same file as the depth input", clip, enhancer, out=clip["depth"], overwrite=True)
    assert clip["depth"].read_bytes() == before


def test_existing_output_needs_overwrite(make_clip, enhancer):
    clip = make_clip()
    clip["out"].write_bytes(b"precious")
    with pytest.raises(OutputError, match=r"already exists \(overwrite=True replaces it\)$") as exc:
        run(clip, enhancer)  # the Python API's words; the commands say -y / --overwrite (test_cli)
    assert exc.value.cli_problem == "already exists (use -y / --overwrite to replace it)"
    assert clip["out"].read_bytes() == b"precious"
    assert_clean(clip["out"].parent)
    run(clip, enhancer, overwrite=True)
    assert clip["out"].read_bytes()[:4] == bytes.fromhex("1a45dfa3")  # now a Matroska file


def test_existing_output_is_untouched_when_input_is_bad(make_clip, enhancer, tmp_path):
    clip = make_clip()
    clip["out"].write_bytes(b"precious")
    short = write_video(tmp_path / "short.mp4", clip["colors"][:5], fmt="rgb24")
    with pytest.raises(PairingError):
        run(clip, enhancer, color=short, overwrite=True)
    assert clip["out"].read_bytes() == b"precious"
    assert_clean(clip["out"].parent)


@pytest.mark.parametrize("where", ["missing folder", "parent is a file"])
def test_unwritable_output_folder(make_clip, enhancer, tmp_path, where):
    clip = make_clip()
    (tmp_path / "file").write_text("x")
    out = tmp_path / ("no/such/dir" if where == "missing folder" else "file") / "out.mkv"
    fails(OutputError, "does not exist|not a folder", clip, enhancer, out=out)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write into read-only folders")
def test_read_only_output_folder(make_clip, enhancer, tmp_path):
    clip = make_clip()
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        fails(OutputError, "not writable", clip, enhancer, out=ro / "out.mkv")
    finally:
        ro.chmod(0o755)


def test_gt_of_another_size_is_reported_as_unmatched(make_clip, enhancer, tmp_path):
    clip = make_clip(n=6, gt_size=(32, 24))
    summary = run(clip, enhancer, gt_path=clip["gt"], report_path=tmp_path / "r.csv")
    assert summary["matched_frames"] == 0 and summary["unmatched_frames"] == 12  # 6 outputs + 6 gt frames
    assert "32x24 but depth is 64x48" in summary["gt_problem"]
    assert clip["out"].exists()


def test_report_options_are_checked_before_any_work(make_clip, enhancer, tmp_path):
    clip = make_clip()
    with pytest.raises(OutputError, match=r"\.json or \.csv"):
        run(clip, enhancer, gt_path=clip["gt"], report_path=tmp_path / "r.txt")
    with pytest.raises(IGDEError, match="needs the ground-truth"):
        run(clip, enhancer, report_path=tmp_path / "r.json")
    for threads in (-1, 1025, 10**10, 2.0, True):  # 10**10 was an OverflowError inside PyAV
        with pytest.raises(ValueError, match=rf"^threads must be a whole number in 0\.\.1024 \(0: automatic\), got {threads!r}"):
            run(clip, enhancer, threads=threads)
    with pytest.raises(IGDEError, match="^codec 'nosuchcodec': no such video encoder") as got:
        run(clip, enhancer, codec="nosuchcodec")  # the API's words; the command's are kept for the CLI
    assert cli_message(got.value) == "--codec nosuchcodec: no such video encoder in this FFmpeg build"
    assert_clean(clip["out"].parent, clip["out"])


def test_unknown_model_is_a_user_error(make_clip, tmp_path):
    clip = make_clip()
    with pytest.raises(IGDEError, match="model"):
        enhance_file(clip["color"], clip["depth"], clip["out"], model=tmp_path / "missing.pt", backend="torch", quiet=True)
    assert_clean(clip["out"].parent, clip["out"])


class Interrupting:
    """Wraps an Enhancer; on the second batch the process gets a real SIGINT (Ctrl-C)."""

    def __init__(self, inner, exc=None):
        self.inner, self.calls, self.exc = inner, 0, exc
        self.batch, self.max_depth, self.backend_name = 1, None, inner.backend_name

    def enhance(self, color, depth):
        self.calls += 1
        if self.calls == 2:
            if self.exc is not None:
                raise self.exc
            import signal
            import time

            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # the KeyboardInterrupt lands here
        return self.inner.enhance(color, depth)


def test_ctrl_c_leaves_no_output(make_clip, enhancer, sigint_raises):
    clip = make_clip(n=8)
    with pytest.raises(KeyboardInterrupt):
        run(clip, Interrupting(enhancer), gt_path=clip["gt"], report_path=clip["out"].with_suffix(".json"))
    assert_clean(clip["out"].parent, clip["out"])
    assert not clip["out"].with_suffix(".json").exists()


def test_failure_in_a_stage_reaches_the_caller(make_clip, enhancer):
    clip = make_clip(n=8)
    with pytest.raises(RuntimeError, match="boom"):
        run(clip, Interrupting(enhancer, RuntimeError("boom")))
    assert_clean(clip["out"].parent, clip["out"])


def _edit_listed_mp4(path, n=8, lead=2):
    """An MP4 of ``n`` samples whose edit list cuts the first ``lead`` (negative start pts, as an
    ``ffmpeg -ss ... -c copy`` trim leaves it): the container declares n, a player shows n - lead."""
    frames = [np.full((32, 48, 3), 20 * i, np.uint8) for i in range(n)]
    return write_video(path, frames, fmt="rgb24", codec="libx264", rate=Fraction(25), start=-lead / 25)


def test_mp4_with_an_edit_list_is_not_truncated(tmp_path):
    import av

    from igde_stream.stream.reader import VideoReader

    path = _edit_listed_mp4(tmp_path / "trim.mp4")
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 8  # the samples, counted with the cut ones
    with VideoReader(path, "color") as r:
        frames = list(r.frames())
        assert (r._decoder.cut, r._decoder.empty) == (2, 0) and r._decoder.dropped_why == "2 cut by its edit list"
    assert len(frames) == 6 and [round(f.time, 3) for f in frames] == [0.0, 0.04, 0.08, 0.12, 0.16, 0.2]


def test_fewer_frames_than_declared_is_refused_by_the_project_check(make_clip):
    from igde_stream.stream.info import check_complete
    from igde_stream.stream.reader import VideoReader

    clip = make_clip(n=6)
    with VideoReader(clip["color"], "color") as r:
        frames = list(r.frames())
        r.info = dataclasses.replace(r.info, frames=len(frames) + 2)
        with pytest.raises(CorruptInputError, match="declares 8"):
            check_complete(r.info, r.path, len(frames), frames[-1].time, frames[-1].pts_time)
        # two samples cut by an edit list make the same count complete
        check_complete(r.info, r.path, len(frames), frames[-1].time, frames[-1].pts_time, dropped=2)


def _write_format_change(path, n16=3, n8=3, size=(64, 48), formats=("gray16le", "gray")):
    """A depth video whose pixel format changes mid-stream: TIFF frames in MOV (each frame carries
    its own format), ``n16`` gray16le frames then ``n8`` gray ones (``formats``: another pair, e.g. two
    8-bit YUV formats), 25 fps."""
    import av

    w, h = size
    tb = Fraction(1, 25)
    first, second = formats
    with av.open(str(path), "w") as out:
        s = out.add_stream("tiff", rate=25)
        s.width, s.height, s.pix_fmt = w, h, first
        s.time_base = s.codec_context.time_base = tb
        gray = av.CodecContext.create("tiff", "w")
        gray.width, gray.height, gray.pix_fmt, gray.time_base = w, h, second, tb
        for i in range(n16 + n8):
            if i < n16 and first == "gray16le":
                enc, frame = s.codec_context, av.VideoFrame.from_ndarray(np.full((h, w), 300 * i + 300, np.uint16),
                                                                         format="gray16le")
            elif i < n16:
                enc = s.codec_context
                frame = av.VideoFrame.from_ndarray(np.full((h, w), 40 + i, np.uint8), format="gray").reformat(format=first)
            elif second != "gray":
                enc = gray
                frame = av.VideoFrame.from_ndarray(np.full((h, w), 40 + i, np.uint8), format="gray").reformat(format=second)
            else:
                enc, frame = gray, av.VideoFrame.from_ndarray(np.full((h, w), i, np.uint8), format="gray")
            frame.pts, frame.time_base = i, tb
            for packet in enc.encode(frame):
                packet.stream = s
                out.mux(packet)
        for enc in (s.codec_context, gray):
            for packet in enc.encode(None):
                packet.stream = s
                out.mux(packet)
    return path


def test_depth_pixel_format_change_mid_stream_is_refused(make_clip, enhancer, tmp_path):
    import av

    mixed = _write_format_change(tmp_path / "mixed.mov")
    with av.open(str(mixed)) as c:  # the file really changes format (FFmpeg decodes both)
        assert [f.format.name for f in c.decode(video=0)] == ["gray16le"] * 3 + ["gray"] * 3
    colour = write_video(tmp_path / "c.mp4", scene(6)[0], fmt="rgb24", rate=Fraction(25))
    clip = make_clip()
    e = fails(InputError, r"pixel format changes mid-stream at frame 3 \(0\.120 s\): gray16le before, gray from there",
              clip, enhancer, color=colour, depth=mixed)
    assert e.path == str(mixed)


def test_format_change_is_refused_in_limited_range_depth_too(tmp_path):
    """Read as limited range (where the range check runs on each frame until it warns), a change of
    pixel format mid-stream is still refused."""
    from igde_stream.stream import VideoReader
    from igde_stream.stream.sources import InputOptions

    mixed = _write_format_change(tmp_path / "mixed.mov", formats=("yuv444p", "yuv420p"))
    with pytest.raises(InputError, match="pixel format changes mid-stream at frame 3 .*yuv444p before, yuv420p"):
        with VideoReader(mixed, "depth", source=InputOptions(depth_range="limited")) as r:
            assert r.info.limited
            list(r.frames())


def test_writer_refuses_frames_of_another_sample_type(tmp_path):
    from igde_stream.stream import DepthWriter
    from igde_stream.stream.reader import VideoInfo

    info = VideoInfo(path="in.mkv", codec="ffv1", width=16, height=8, pix_fmt="gray16le", time_base=Fraction(1, 1000),
                     rate=Fraction(25), start_pts=0, frames=None, duration=None)
    for first, second in [(np.uint16, np.uint8), (np.uint8, np.uint16)]:
        out = tmp_path / "out.mkv"
        w = DepthWriter(out, info)
        try:
            w.write(np.full((8, 16), 200, first), 0)
            with pytest.raises(OutputError, match=f"frame 1 has {np.dtype(second)} samples but the frames before it "
                                                  f"were {np.dtype(first)}") as exc:
                w.write(np.full((8, 16), 200, second), 40)
            assert "\n" not in str(exc.value)
        finally:
            w.abort()
        assert_clean(tmp_path, out)
    w = DepthWriter(tmp_path / "out.mkv", info)
    with pytest.raises(OutputError, match="frame 0 has float32 samples; depth must be uint8 or uint16"):
        w.write(np.zeros((8, 16), np.float32), 0)
    w.abort()
    assert_clean(tmp_path, tmp_path / "out.mkv")


def test_stale_partial_files_of_dead_processes_are_removed(tmp_path, caplog):
    import logging
    import subprocess
    import sys

    from igde_stream.stream import DepthWriter
    from igde_stream.stream.reader import VideoInfo

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # its PID now names no process
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        out = tmp_path / "out.mkv"
        stale = tmp_path / f".out.igde-part-{dead.pid}.mkv"
        in_use = tmp_path / f".out.igde-part-{live.pid}.mkv"
        other_output = tmp_path / f".other.igde-part-{dead.pid}.mkv"  # not this output's: left alone
        for p in (stale, in_use, other_output):
            p.write_bytes(b"half a file")
        info = VideoInfo(path="in.mkv", codec="ffv1", width=16, height=8, pix_fmt="gray", time_base=Fraction(1, 1000),
                         rate=Fraction(25), start_pts=0, frames=None, duration=None)
        with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
            w = DepthWriter(out, info)
        w.abort()
        assert not stale.exists()
        assert in_use.read_bytes() == b"half a file" and other_output.read_bytes() == b"half a file"
        assert f"removed stale partial file {stale} (process {dead.pid} is gone)" in caplog.text
        assert str(in_use) not in caplog.text
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("role", ["color", "depth", "gt"])
def test_frame_size_change_mid_stream_is_refused(make_clip, enhancer, tmp_path, role):
    """A folder of PNG frames whose frame 4 is 66 x 50 among 64 x 48 ones (FFmpeg decodes each file at
    its own size): a one-line InputError naming the frame and both sizes, no output, for each input.
    The clip runs at 25 fps, the rate a sequence is read at without --fps."""
    clip = make_clip(n=6, rate=Fraction(25))
    frames = {"color": clip["colors"], "depth": clip["depths"], "gt": clip["gts"]}[role]
    odd = [f if i != 4 else np.pad(f, [(1, 1), (1, 1)] + [(0, 0)] * (f.ndim - 2), mode="edge")
           for i, f in enumerate(frames)]
    folder = write_png_sequence(tmp_path / f"{role}_frames", odd)
    kw = {"gt_path": folder, "report_path": tmp_path / "r.json"} if role == "gt" else {role: folder}
    e = fails(InputError, r"frame size changes mid-stream at frame 4 \(000004\.png\): 64x48 before, 66x50 from there "
              rf"\(a {'colour' if role == 'color' else 'ground truth' if role == 'gt' else 'depth'} stream must keep "
              "one size\\)", clip, enhancer, **kw)
    assert e.path == str(folder)
    assert not (tmp_path / "r.json").exists()


def test_frame_size_change_is_refused_when_the_colour_is_resized(tmp_path, monkeypatch):
    """Colour read at another size (``VideoReader(size=...)``) is resized frame by frame, which would
    hide a change of the stored size: it is refused all the same. (Image sequences are refused at the
    opening, from their headers, tests/test_image_headers.py: that check is switched off here to reach
    the mid-stream one, which a video's frames meet.)"""
    from igde_stream.stream import VideoReader, reader

    monkeypatch.setattr(reader, "check_image_headers", lambda *args: None)

    colors = [np.full((48, 64, 3), 10 * i, np.uint8) for i in range(3)] + [np.zeros((50, 66, 3), np.uint8)]
    folder = write_png_sequence(tmp_path / "c", colors, pattern="{:06d}.tif")
    with VideoReader(folder, "color", size=(32, 24)) as r:
        it = r.frames()
        assert [next(it).data.shape for _ in range(3)] == [(24, 32, 3)] * 3
        with pytest.raises(InputError, match=r"frame 3 \(000003\.tif\): 64x48 before, 66x50"):
            next(it)
