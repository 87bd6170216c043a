"""Pipeline pieces: byte-bounded queues, timestamp pairing, failures carried across threads."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import pytest

from conftest import timed_frames as frames
from igde_stream.errors import IGDEError, OutputError, PairingError
from igde_stream.stream import enhance_file, pair_frames
from igde_stream.stream import pipeline
from igde_stream.stream import run_frames
from igde_stream.stream.stages import ByteQueue


def test_byte_queue_bounds_bytes_and_ends_with_a_sentinel():
    stop = threading.Event()
    q = ByteQueue(100, stop)
    got = []

    def consume():
        time.sleep(0.05)
        got.extend(q)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(10):
        q.put(i, 40)  # at most two items (80 bytes) fit
        assert q.bytes <= 100
    q.put_end()
    t.join()
    assert got == list(range(10)) and q.peak_bytes <= 100
    q.put("big", 500)  # an item larger than the bound still goes through when the queue is empty
    assert q.get() == "big"


def test_byte_queue_cancels_waiters_when_stopped():
    stop = threading.Event()
    q = ByteQueue(10, stop)
    threading.Timer(0.05, stop.set).start()
    with pytest.raises(run_frames._Cancelled):
        q.get()


def test_pairing_across_time_bases_and_ntsc_rounding():
    ntsc = 1001 / 30000
    mkv = [round(i * ntsc, 3) for i in range(300)]  # Matroska: whole milliseconds
    mp4 = [i * ntsc for i in range(300)]  # MP4: exact in 1/30000
    pairs = list(pair_frames(frames(mp4), frames(mkv), 0.5 * ntsc, ("c", "d")))
    assert len(pairs) == 300 and all(c.index == d.index for c, d in pairs)


def test_pairing_tolerance_is_half_a_frame():
    tol = 0.5 / 30
    assert len(list(pair_frames(frames([0, 1 / 30 + 0.9 * tol]), frames([0, 1 / 30]), tol, ("c", "d")))) == 2
    with pytest.raises(PairingError, match=r"frame 1 \(0\.033 s\) of the depth stream has no colour frame; frame 1 \(0\.052 s\) of the colour"):
        list(pair_frames(frames([0, 1 / 30 + 1.1 * tol]), frames([0, 1 / 30]), tol, ("c", "d")))


def test_pairing_stops_yielding_at_the_first_gap_but_lists_every_unpaired_frame():
    got = []
    with pytest.raises(PairingError) as info:
        for pair in pair_frames(frames([0, 0.1, 0.3, 0.4, 0.5]), frames([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
                                0.05, ("c.mp4", "d.mkv")):
            got.append(pair)
    assert len(got) == 2  # nothing is enhanced once the streams disagree
    msg = str(info.value)
    assert msg.startswith("c.mp4, d.mkv: ")
    assert "frames 2 (0.200 s), 6 (0.600 s), 7 (0.700 s) of the depth stream have no colour frame" in msg
    assert "(5 colour frames, 8 depth frames)" in msg


def test_writer_failure_reaches_the_caller_and_threads_are_joined(make_clip, enhancer, monkeypatch):
    clip = make_clip(n=8)
    real_write = pipeline.DepthWriter.write

    def failing_write(self, depth, pts):
        if self.frames == 3:
            raise OSError(28, "No space left on device")
        real_write(self, depth, pts)

    monkeypatch.setattr(pipeline.DepthWriter, "write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    assert not clip["out"].exists()
    assert not [p for p in clip["out"].parent.iterdir() if "igde-part" in p.name]
    assert not [t for t in threading.enumerate() if t.name.startswith("igde-")]


def test_queues_stay_within_their_byte_bound(make_clip, enhancer, monkeypatch):
    # Memory is flat by construction: every queue holds at most queue_bytes (or one item).
    queues = []

    class Recording(ByteQueue):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            queues.append(self)

    monkeypatch.setattr(run_frames, "ByteQueue", Recording)
    clip = make_clip(n=12, gt_frames=12)
    frame_bytes = 64 * 48 * 3  # one colour frame, the largest item
    enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"], enhancer=enhancer,
                 queue_bytes=2 * frame_bytes)
    assert len(queues) == 4
    assert all(q.peak_bytes <= 2 * frame_bytes for q in queues)


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_plot_without_matplotlib_fails_before_the_first_frame(make_clip, enhancer, tiny_model, monkeypatch, capsys):
    clip = make_clip(n=4)
    folder = clip["out"].parent
    inputs = _listing(folder)
    calls = []
    real = enhancer.enhance
    monkeypatch.setattr(enhancer, "enhance", lambda c, d: calls.append(len(d)) or real(c, d))
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    with pytest.raises(OutputError, match="plot_path needs matplotlib") as info:  # the keyword the caller gave
        enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"], report_path=folder / "r.json",
                     plot_path=folder / "p.png", enhancer=enhancer)
    assert info.value.path == str(folder / "p.png")
    assert calls == []  # not one frame enhanced
    assert _listing(folder) == inputs  # no video, no report, no temporary file
    # through the command: exit 2, one line
    from igde_stream.cli import main

    capsys.readouterr()
    rc = main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--gt", str(clip["gt"]),
               "--report", str(folder / "r.json"), "--plot", str(folder / "p.png"), "--model", str(tiny_model),
               "--backend", "torch", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "p.png: --plot needs matplotlib" in err
    assert _listing(folder) == inputs


_real_report_write = pipeline.PsnrReport.write


def _fail_in_plot(self, path, title="", *, to=None):
    Path(to).write_bytes(b"half a png")  # a partial temporary, as a full disk would leave
    raise OutputError("cannot write: No space left on device", path)


def _interrupt_in_csv(self, path, header=None, *, to=None):
    if Path(path).suffix == ".csv":
        Path(to).write_text("index,pts")
        raise KeyboardInterrupt
    return _real_report_write(self, path, header, to=to)



@pytest.mark.parametrize("method, fake, error", [
    ("plot", _fail_in_plot, OutputError),
    ("write", _interrupt_in_csv, KeyboardInterrupt),  # Ctrl-C after the video and the JSON were written
])
def test_a_late_failure_leaves_no_output_at_all(make_clip, enhancer, monkeypatch, method, fake, error):
    pytest.importorskip("matplotlib")
    clip = make_clip(n=5)
    folder = clip["out"].parent
    clip["out"].write_bytes(b"the user's old video")  # being replaced (-y): kept when the run fails
    inputs = _listing(folder)
    monkeypatch.setattr(pipeline.PsnrReport, method, fake)
    with pytest.raises(error):
        enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"],
                     report_path=[folder / "r.json", folder / "r.csv"], plot_path=folder / "p.png",
                     enhancer=enhancer, overwrite=True)
    assert _listing(folder) == inputs  # no new video, report or plot, no temporary
    assert clip["out"].read_bytes() == b"the user's old video"
    assert not [t for t in threading.enumerate() if t.name.startswith("igde-")]


def test_commit_is_all_or_nothing(tmp_path, monkeypatch):
    (tmp_path / "a.mkv").write_bytes(b"old a")
    moves = []
    for name in ("a.mkv", "r.json", "p.png"):
        tmp = tmp_path / f".{name}.igde-part-1"
        tmp.write_bytes(b"new " + name.encode())
        moves.append((tmp, tmp_path / name))
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name == ".p.png.igde-part-1":  # Ctrl-C on the last rename
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(pipeline.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        pipeline._commit(moves)
    assert _listing(tmp_path) == ["a.mkv"] and (tmp_path / "a.mkv").read_bytes() == b"old a"
    monkeypatch.setattr(pipeline.os, "replace", real_replace)
    for tmp, final in moves:
        tmp.write_bytes(b"new " + final.name.encode())
    pipeline._commit(moves)
    assert _listing(tmp_path) == ["a.mkv", "p.png", "r.json"]
    assert (tmp_path / "a.mkv").read_bytes() == b"new a.mkv"


def test_batch_buffers_are_bounded():
    # 16-bit 1080p, 8 frames: per pixel colour 3 + depth 2, their stacked copies 3 + 2, output 2,
    # float32 colour 12 + depth 4 + network output 4 = 32 bytes
    from igde_stream.stream import stages

    assert stages.batch_buffer_bytes(8, 1920, 1080, 2) == 8 * 1920 * 1080 * 32
    assert stages.batch_limit_bytes() <= 2 << 30
    pipeline.check_batch(4, 1920, 1080, 2)  # the default batch at 1080p: ~250 MB, fine
    pipeline.check_batch(1, 16384, 16384, 2)  # one frame is always allowed
    with pytest.raises(IGDEError, match=r"^--batch 64: 64 frames of 3840x2160 need 15\.8 GiB of buffers, above the "
                                        r"limit of .* GiB; use --batch \d+ or less$"):
        pipeline.check_batch(64, 3840, 2160, 2)


def test_an_absurd_batch_is_refused_before_any_work(make_clip, tiny_model, capsys):
    from igde_stream.cli import main

    clip = make_clip(n=3)
    folder = clip["out"].parent
    inputs = _listing(folder)
    with pytest.raises(IGDEError, match=r"--batch 1000000: 1000000 frames of 64x48 need 83\.0 GiB"):
        enhance_file(clip["color"], clip["depth"], clip["out"], model=str(tiny_model), backend="torch",
                     batch=1_000_000, quiet=True)
    capsys.readouterr()
    rc = main([str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--model", str(tiny_model),
               "--backend", "torch", "--batch", "1000000", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "--batch 1000000" in err
    assert _listing(folder) == inputs


@pytest.mark.parametrize("options, message", [
    ({"batch": 0}, "batch must be an integer >= 1, got 0"),
    ({"batch": "4"}, "batch must be an integer >= 1, got '4'"),
    ({"max_depth": float("nan")}, "max_depth must be a finite number > 0, got nan"),
    ({"depth_order": "up"}, "depth_order must be near-high or far-high, got 'up'"),
    ({"hole_fill": "on"}, "hole_fill must be None, True, False, 'keep' or a HoleFill, got 'on'"),
])
def test_a_bad_enhancer_option_is_refused_as_an_option_not_a_model(tmp_path, options, message):
    """``enhance_file(..., batch=0)``: the option's own one-line error, not "cannot load the model"
    (the model here is never looked at, nor are the inputs, which do not exist)."""
    with pytest.raises(IGDEError) as info:
        enhance_file(tmp_path / "c.mkv", tmp_path / "d.mkv", tmp_path / "o.mkv", model="no-such-model", **options)
    assert str(info.value) == message and info.value.path is None
    with pytest.raises(IGDEError) as info:
        pipeline._make_enhancer({"model": "no-such-model", **options})  # as batch jobs build it
    assert str(info.value) == message


def test_byte_queue_counts_its_bytes_exactly():
    """Bytes in the queue by hand: 40 + 40 = 80 at most with a 100-byte bound (a third waits), back to 0
    when emptied; the end sentinel weighs nothing."""
    stop = threading.Event()
    q = ByteQueue(100, stop)
    assert q.bytes == 0
    q.put("a", 40)
    q.put("b", 40)
    assert q.bytes == 80 and q.peak_bytes == 80
    t = threading.Thread(target=q.put, args=("c", 40))
    t.start()
    time.sleep(0.05)
    assert t.is_alive() and q.bytes == 80  # 120 would pass the bound: it waits
    assert q.get() == "a"
    t.join(5)
    assert q.bytes == 80 and q.peak_bytes == 80
    q.put_end()
    assert list(q) == ["b", "c"] and q.bytes == 0
    full = ByteQueue(80, stop)  # exactly the bound is within it
    full.put("a", 40)
    t = threading.Thread(target=full.put, args=("b", 40), daemon=True)
    t.start()
    t.join(2)
    assert not t.is_alive() and full.bytes == 80


def test_batch_limit_is_a_quarter_of_the_memory_up_to_2_gib(monkeypatch):
    from igde_stream.stream import stages

    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 1 << 20}  # 4 GiB
    monkeypatch.setattr(stages.os, "sysconf", lambda name: pages[name])
    assert stages.batch_limit_bytes() == 1 << 30
    pages["SC_PHYS_PAGES"] = 4 << 20  # 16 GiB: the 2 GiB cap
    assert stages.batch_limit_bytes() == 2 << 30

    def no_sysconf(name):
        raise ValueError(name)

    monkeypatch.setattr(stages.os, "sysconf", no_sysconf)
    assert stages.batch_limit_bytes() == 2 << 30
    # 4K frames, 16-bit depth: 8,294,400 px x 32 bytes = 265,420,800 a frame; 8 fit in 2 GiB, 9 do not
    per_frame = stages.batch_buffer_bytes(1, 3840, 2160, 2)
    assert per_frame == 3840 * 2160 * (2 * (3 + 2) + 2 + 4 * 5)
    stages.check_batch(8, 3840, 2160, 2)
    with pytest.raises(IGDEError, match="--batch 9: .* use --batch 8 or less"):
        stages.check_batch(9, 3840, 2160, 2)
    stages.check_batch(1, 100000, 100000, 2)  # one frame is always allowed
    with pytest.raises(IGDEError, match="use --batch 1 or less"):
        stages.check_batch(2, 20000, 20000, 2)


def test_summary_times_the_reports_apart_from_the_stream(make_clip, enhancer, monkeypatch):
    """fps is the stream's; total_seconds also counts the reports written after it (here a report
    write that takes 0.6 s), and the printed line gives both."""
    import time

    from igde_stream.run_summary import format_summary
    from igde_stream.stream.report import PsnrReport

    clip = make_clip(n=3)
    write = PsnrReport.write

    def slow_write(self, *args, **kwargs):
        time.sleep(0.6)
        return write(self, *args, **kwargs)

    monkeypatch.setattr(PsnrReport, "write", slow_write)
    s = enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"],
                     report_path=clip["out"].with_suffix(".json"), enhancer=enhancer)
    assert s["total_seconds"] >= s["seconds"] + 0.59  # both rounded to the millisecond
    # seconds is rounded to the millisecond: a fast run's fps is 3 / seconds within that rounding
    assert s["fps"] == pytest.approx(3 / s["seconds"], rel=0.0006 / s["seconds"] + 1e-3)
    line = format_summary(s).splitlines()[0]
    assert f"({s['seconds']:.1f} s; {s['total_seconds']:.1f} s with the reports)" in line
