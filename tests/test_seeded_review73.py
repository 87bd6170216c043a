"""Tests written for the bugs a seeded-bug review planted in the hole fill's threads and gathers
(``hole_fill``), the tuning tool's ``--fill`` / ``--real-seed``, the bag reader's YUV 4:2:2 and Bayer
colour, the batch's signal handling and summaries, the depth writer's set-up abort and the frame
conversion moved to ``frame_arrays``, which the earlier tests let through. Each expected value is
worked out by hand (or by NumPy / OpenCV on the same input) in the test."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import numpy as np
import pytest

from conftest import load_tool
from igde_stream.cli import main as main_cli
from igde_stream.hole_fill import HoleFill, fill_holes


# ---- hole_fill: the gathers and the threads -----------------------------------------------------------

def test_a_window_of_more_offsets_than_one_gather_takes_still_fills():
    """Diameter 301 at stride 1: ~70,700 offsets (pi 150^2), more than one gather's 65,536 pairs, so a
    chunk is one hole (not 0 holes). Uniform colour and a flat spatial weight: every hole gets the plain
    mean of the two measured pixels, (10 + 30) / 2 = 20."""
    color = np.full((9, 9, 3), 100, np.uint8)
    depth = np.zeros((9, 9), np.uint16)
    depth[0, 0], depth[8, 8] = 10, 30
    got = fill_holes(color, depth, settings=HoleFill(diameter=301, stride=1, sigma_space=1e6, wide=False))
    assert (got[depth == 0] == 20).all() and got[0, 0] == 10 and got[8, 8] == 30


@pytest.mark.parametrize("workers", [1, 2])
def test_an_error_in_a_chunk_is_raised_whatever_the_threads(monkeypatch, workers):
    """A chunk that fails (here the layers step, on the third chunk) fails the fill on one thread and on
    a pool alike: a thread's error is not lost, leaving its rows unfilled."""
    import igde_stream.hole_fill as hf

    monkeypatch.setattr(hf, "_GATHER", 8 * 2400)  # ~8 holes a chunk at diameter 55, stride 1: many chunks
    calls = []
    real = hf._layered

    def layered(*a, **k):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("chunk 3 failed")
        return real(*a, **k)

    monkeypatch.setattr(hf, "_layered", layered)
    color = np.full((24, 24, 3), 90, np.uint8)
    depth = np.full((24, 24), 50, np.uint16)
    depth[::3, ::2] = 0
    with pytest.raises(RuntimeError, match="chunk 3 failed"):
        fill_holes(color, depth, settings=HoleFill(stride=1, layers=2), workers=workers)


# ---- tools/tune_hole_fill.py: --fill and --real-seed --------------------------------------------------

class _Stop(Exception):
    pass


def _tune_main(monkeypatch, argv, seen):
    """The tool's main up to its first real scene (val sizes: none), that call's keywords recorded in
    ``seen`` and the run stopped there; or up to the first fill scored, its (fill, order) recorded."""
    import igde_stream.real_frames as rf

    tool = load_tool("tune_hole_fill")
    monkeypatch.setattr(rf, "real_scene_problem", lambda *a, **k: None)

    def sequence(*a, **k):
        seen.append(k)
        raise _Stop

    monkeypatch.setattr(rf, "disparity_file_sequence", sequence)
    return tool.main(argv)


@pytest.mark.parametrize("extra, seed", [([], 5), (["--real-seed", "0"], 0), (["--real-seed", "11"], 11)])
def test_tune_tool_real_seed_reaches_the_real_scene_draw(monkeypatch, extra, seed):
    seen = []
    with pytest.raises(_Stop):
        _tune_main(monkeypatch, ["--sizes", "16x16", "--scenes", "1", "--errors", "holes", "--real-scene", "c.png",
                                 "d.png", "--real-frames", "3", *extra], seen)
    assert seen and seen[0]["seed"] == seed and seen[0]["frames"] == 3


def test_tune_tool_fill_settings_are_scored_after_the_model_each_by_its_name(monkeypatch, capsys):
    """Two --fill settings are both scored (append), after the model whatever --orders says, under
    their names; a --fill named as a built-in setting (snap0) is refused in one line, exit 2."""
    tool = load_tool("tune_hole_fill")
    scored = []

    def outputs(enh, color, depth, out_after, fill, order, timing=None):
        scored.append((fill, order))
        return out_after

    monkeypatch.setattr(tool, "fill_order_outputs", outputs)
    argv = ["--sizes", "16x16", "--scenes", "1", "--errors", "holes", "--snaps", "0"]
    assert tool.main([*argv, "--orders", "before", "--fill", "a:stride=2", "--fill", "b:dense=3"]) == 0
    assert scored == [(HoleFill(snap=0, stride=3), "before"), (HoleFill(stride=2), "after"),
                      (HoleFill(dense=3), "after")]
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split("|")[2:5] == [" before-snap0 ", "      a ", "      b "]
    assert tool.main([*argv, "--fill", "snap0:stride=1"]) == 2
    assert capsys.readouterr().err.strip().endswith("--fill snap0: the name of another setting")


def test_tune_tool_a_key_without_a_value_is_named_as_such():
    with pytest.raises(argparse.ArgumentTypeError, match=r"'stride': not KEY=V with KEY one of diameter"):
        load_tool("tune_hole_fill").fill_arg("A:stride")


@pytest.mark.parametrize("spec", ["A:stride=2.5", "A:dense=7.0", "A:diameter=1e2"])
def test_tune_tool_a_whole_number_field_takes_no_fraction(spec):
    """int(value): 2.5 is no stride (it is not read as 2), nor 7.0 a dense or 1e2 a diameter."""
    with pytest.raises(argparse.ArgumentTypeError, match="is not a whole number"):
        load_tool("tune_hole_fill").fill_arg(spec)


def _two_sources():
    """A hole at (20, 30) of a uniform-colour frame; measured 10 at 4 px right of it (inside every dense
    square) and 100 at 21 px left (on the stride-3 grid): the fill is their spatial-weighted mean."""
    color = np.full((41, 61, 3), 128, np.uint8)
    depth = np.zeros((41, 61), np.uint16)
    depth[20, 34], depth[20, 9] = 10, 100
    return color, depth


def _by_hand(sigma: float, far_weight: float) -> int:
    w_near, w_far = np.exp(-16 / (2 * sigma**2)), far_weight * np.exp(-441 / (2 * sigma**2))
    return int(np.rint((10 * w_near + 100 * w_far) / (w_near + w_far)))


def test_fill_frames_default_is_the_shipped_fill_and_fill_holes_default_the_sampled_window():
    """fill_frames (what an Enhancer runs) defaults to DEFAULT_FILL, sigma 12 at every pixel: by hand
    (10 e^(-16/288) + 100 e^(-441/288)) / (e^(-16/288) + e^(-441/288)) = 26.7 -> 27; fill_holes defaults to
    HoleFill(): sigma 64, the 21 px sample standing for 3 x 3 pixels: weight 9 e^(-441/8192): 90.6 -> 91."""
    from igde_stream.hole_fill import fill_frames

    color, depth = _two_sources()
    assert _by_hand(12.0, 1) == 27 and _by_hand(64.0, 9) == 91
    out = depth[None].copy()
    assert fill_frames(color[None], depth[None], out)[0, 20, 30] == 27
    assert fill_holes(color, depth)[20, 30] == 91


def test_a_fill_is_rounded_from_its_float64_mean_not_a_float32_copy():
    """Two sources, 1 at distance^2 1 and 2 at distance^2 2 (diameter 5: the diagonal is in the window),
    with sigma_space 2041 (the weights float32's steps below 1): mean 1 + w2 / (w1 + w2) just under 1.5
    rounds to 1; a float32 copy of it is 1.5 exactly, which rounds to 2."""
    sigma = 2041.0
    w1 = np.float32(np.exp(-1 / (2 * sigma**2)))
    w2 = np.float32(np.exp(-2 / (2 * sigma**2)))
    mean = (np.float64(w1) * 1 + np.float64(w2) * 2) / (np.float64(w1) + np.float64(w2))
    assert mean < 1.5 and np.float32(mean) == 1.5  # the case, by NumPy
    color = np.full((3, 3, 3), 50, np.uint8)
    depth = np.zeros((3, 3), np.uint16)
    depth[1, 2], depth[2, 2] = 1, 2
    holes = np.zeros((3, 3), bool)
    holes[1, 1] = True
    got = fill_holes(color, depth, holes=holes, settings=HoleFill(diameter=5, stride=1, sigma_space=sigma, wide=False))
    assert got[1, 1] == 1


def _pool_sizes(monkeypatch):
    """The thread count of each pool the fill makes from now on."""
    import concurrent.futures

    import igde_stream.hole_fill as hf

    monkeypatch.setattr(hf, "_GATHER", 40 * 2400)  # a few holes a chunk: several chunks a frame
    sizes = []
    real = concurrent.futures.ThreadPoolExecutor

    class Pool(real):
        def __init__(self, n, *a, **k):
            sizes.append(n)
            super().__init__(n, *a, **k)

    monkeypatch.setattr(concurrent.futures, "ThreadPoolExecutor", Pool)
    return sizes


def test_fill_frames_and_the_enhancer_fill_on_the_threads_given(monkeypatch):
    from igde_stream.enhancer import Enhancer
    from igde_stream.hole_fill import fill_frames

    sizes = _pool_sizes(monkeypatch)
    rng = np.random.default_rng(3)
    color = rng.integers(0, 256, (1, 40, 40, 3), dtype=np.uint8)
    depth = rng.integers(1, 200, (1, 40, 40), dtype=np.uint16)
    depth[:, ::2, 1::3] = 0
    fill_frames(color, depth, depth.copy(), workers=3)
    assert sizes == [3]
    sizes.clear()
    Enhancer("igde-small", backend="onnxruntime", quiet=True, threads=3).enhance(color[0], depth[0])
    assert sizes == [3]


# ---- bag: which colour topic is taken ----------------------------------------------------------------

@pytest.mark.parametrize("topics, chosen", [
    # a JPEG / PNG topic is colour as recorded: before a YUV one, whatever the names' order
    ([("/cam/a/image_raw", "yuyv", "I"), ("/cam/b/image_raw/compressed", "jpeg", "C")], "/cam/b/image_raw/compressed"),
    # gray (an infrared camera's mono8) after the converted encodings, first by name or not
    ([("/cam/a_infra/image_raw", "mono8", "I"), ("/cam/b/image_raw", "bayer_rggb8", "I")], "/cam/b/image_raw"),
    # the encoding decides before the name: rgb8 over a mosaic named color
    ([("/cam/color/bayer", "bayer_rggb8", "I"), ("/cam/image_raw", "rgb8", "I")], "/cam/image_raw"),
    # encodings in any case (the RealSense SDK's upper-case names): BGR8 is bgr8, as recorded
    ([("/cam/a/image_raw", "yuyv", "I"), ("/cam/b/image_raw", "BGR8", "I")], "/cam/b/image_raw"),
    ([("/cam/a/image_raw", "MONO8", "I"), ("/cam/b/image_raw", "uyvy", "I")], "/cam/b/image_raw"),
])
def test_colour_topic_rank_encoding_first_then_name(topics, chosen):
    from types import SimpleNamespace as NS

    from igde_stream.bag_cli import _choose
    from igde_stream.bag_read import COMPRESSED, IMAGE

    found = [NS(name=n, encoding=e, role="color", msgtype=IMAGE if k == "I" else COMPRESSED) for n, e, k in topics]
    assert _choose(found, "color", None, "b.bag").name == chosen
    assert _choose(found[::-1], "color", None, "b.bag").name == chosen


# ---- batch: the worker pool's stop, the CPUs -------------------------------------------------------------

def test_a_stopped_batch_sets_its_stop_event_before_it_stops_the_workers(monkeypatch):
    """Ctrl-C / SIGTERM to the batch: the event the workers were given is set before their SIGTERM, so
    that a worker between clips exits (a SIGTERM without it is one worker's alone, which it survives)."""
    import igde_stream.batch as batch
    from igde_stream.batch_jobs import Job

    made = []

    class Pool:
        def __init__(self, max_workers, mp_context, initializer, initargs):
            made.append(initargs)

        def submit(self, *a, **k):
            raise KeyboardInterrupt

        def shutdown(self, *a, **k):
            pass

    seen = []
    monkeypatch.setattr(batch, "ProcessPoolExecutor", Pool)
    monkeypatch.setattr(batch, "_stop_workers", lambda before: seen.append(made[0][1].is_set()))
    with pytest.raises(KeyboardInterrupt):
        batch.run_pool([Job("a", "a.mp4", "a.mkv", "a_out.mkv")], {}, 1, lambda *a: None)
    assert seen == [True]


def test_usable_cpus_without_an_affinity_call_is_the_cpu_count(monkeypatch):
    """macOS and Windows have no os.sched_getaffinity: every CPU the OS counts (6 here)."""
    from igde_stream.batch_jobs import usable_cpus

    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 6)
    assert usable_cpus() == 6
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert usable_cpus() == 1


def _jobs(tmp_path, monkeypatch, outputs):
    """jobs.csv of clips whose inputs need not exist (cwd tmp_path)."""
    monkeypatch.chdir(tmp_path)
    rows = "".join(f"a{i}.mp4,a{i}.mkv,{o}\n" for i, o in enumerate(outputs))
    Path("jobs.csv").write_text("color,depth,output\n" + rows)


def test_a_batch_stopped_after_resume_skipped_clips_keeps_them_skipped_in_its_summary(tmp_path, monkeypatch, capsys):
    """--resume skips out/o0.mkv (finished earlier); o1 ends done, then Ctrl-C: the summary says o0
    skipped (no error), o1 done, o2 interrupted (nothing of it on disk: rerun with --resume)."""
    import igde_stream.batch as batch

    _jobs(tmp_path, monkeypatch, ["out/o0.mkv", "out/o1.mkv", "out/o2.mkv"])
    Path("out").mkdir()
    Path("out/o0.mkv").write_bytes(b"finished")

    def run_batch(jobs, options, *, skip, on_row, **kw):
        assert [j.output for j in skip] == ["out/o0.mkv"]
        on_row({**batch.summary_row(jobs[1], "done"), "error": None, "frames": 2, "seconds": 0.5}, 1, 2)
        raise KeyboardInterrupt

    monkeypatch.setattr(batch, "run_batch", run_batch)
    assert main_cli(["batch", "jobs.csv", "-q", "--resume", "--summary", "s.json"]) == 130
    s = json.loads(Path("s.json").read_text())
    assert [(r["output"], r["status"]) for r in s["rows"]] == [
        ("out/o0.mkv", "skipped"), ("out/o1.mkv", "done"), ("out/o2.mkv", "interrupted")]
    assert s["rows"][0]["error"] is None and s["rows"][1]["frames"] == 2
    assert s["rows"][2]["error"] == "not finished: the batch was stopped (SIGINT); rerun with --resume"
    assert (s["clips"], s["done"], s["skipped"], s["failed"], s["interrupted"]) == (3, 1, 1, 0, 1)


def test_a_summary_that_cannot_be_written_after_a_signal_is_said_and_the_others_written(tmp_path, monkeypatch, capsys):
    """Every clip ended, Ctrl-C lands in the first summary's write, and the second summary's folder has
    gone read-only: s.json is written, s.csv's error is one logged line, the last line names s.json
    alone, and the exit stays the signal's (130)."""
    import igde_stream.batch as batch
    from igde_stream.errors import OutputError

    _jobs(tmp_path, monkeypatch, ["out/o0.mkv", "out/o1.mkv"])
    monkeypatch.setattr(batch, "run_batch", lambda jobs, options, **kw: (
        [{**batch.summary_row(j, "done"), "error": None} for j in jobs], "stub"))
    real, calls = batch.write_summary, []

    def write_summary(rows, path, header):
        calls.append(str(path))
        if len(calls) == 1:
            raise KeyboardInterrupt
        if str(path).endswith(".csv"):
            raise OutputError("cannot write the summary: Read-only file system", path)
        return real(rows, path, header)

    monkeypatch.setattr(batch, "write_summary", write_summary)
    assert main_cli(["batch", "jobs.csv", "-q", "--summary", "s.json", "--summary", "s.csv"]) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[-1].endswith("the summary says which clips ended (s.json)"), err
    assert any(line.endswith("s.csv: cannot write the summary: Read-only file system") for line in err[:-1]), err
    assert [r["status"] for r in json.loads(Path("s.json").read_text())["rows"]] == ["done", "done"]
    assert not Path("s.csv").exists()


def test_a_sequence_output_needs_its_parent_folder_writable_not_its_own(tmp_path, monkeypatch, capsys):
    """An image sequence's folder is put in place whole from a hidden folder made beside it: the batch
    makes (and checks) the folder it goes into, seqs/, not seqs/a itself; a read-only seqs/ is refused
    before any clip runs even where seqs/a is there from an earlier run (-y) and writable."""
    import igde_stream.batch as batch

    _jobs(tmp_path, monkeypatch, ["seqs/a/%04d.png"])
    seen = []

    def run_batch(jobs, options, **kw):
        seen.append((Path("seqs").is_dir(), Path("seqs/a").exists()))
        return [{**batch.summary_row(j, "done"), "error": None} for j in jobs], "stub"

    monkeypatch.setattr(batch, "run_batch", run_batch)
    assert main_cli(["batch", "jobs.csv", "-q"]) == 0
    assert seen == [(True, False)]  # (seqs/ is taken back after: the stub wrote nothing into it)
    Path("seqs/a").mkdir(parents=True)
    Path("seqs/a/0000.png").write_bytes(b"earlier run")
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, *a, **k: False if (
        os.path.abspath(p) == str(tmp_path / "seqs") and mode & os.W_OK) else real(p, mode, *a, **k))
    assert main_cli(["batch", "jobs.csv", "-q", "-y"]) == 2
    assert capsys.readouterr().err == "igde-stream: error: seqs/a/%04d.png: folder 'seqs' is not writable\n"
    assert len(seen) == 1


def test_an_output_inside_another_sequence_folder_is_named_as_the_list_writes_it(tmp_path):
    """A list in lists/ whose outputs are relative to it: the refusal names line 3's output as the CSV
    writes it (out/a/o.mkv), as the duplicate-output refusal does, not as resolved (lists/out/a/o.mkv)."""
    from igde_stream.batch_jobs import read_jobs
    from igde_stream.errors import IGDEError

    (tmp_path / "lists").mkdir()
    jobs = tmp_path / "lists" / "jobs.csv"
    jobs.write_text("color,depth,output\na.mp4,a.mkv,out/a/%04d.png\nb.mp4,b.mkv,out/a/o.mkv\n")
    with pytest.raises(IGDEError) as info:
        read_jobs(jobs)
    assert str(info.value).endswith("jobs.csv: line 3: output out/a/o.mkv is inside the image-sequence folder of "
                                    "line 2, which holds that sequence's frames alone")


@pytest.mark.parametrize("names, written", [([], False), ([".DS_Store"], False), (["notes.txt"], False),
                                            (["0007.png.bak"], False), (["007.png"], False), (["d0007.png"], False),
                                            (["0007.png"], True), ([".DS_Store", "12345.png"], True)])
def test_a_sequence_is_written_when_its_folder_holds_a_frame_of_its_pattern(tmp_path, names, written):
    """%04d.png: four digits or more (FFmpeg's padding), .png, the whole name; a Finder file, a backup or
    another pattern's frame is no frame of it (--resume would skip a clip never run)."""
    from igde_stream.batch_jobs import output_written

    (tmp_path / "seq").mkdir()
    for n in names:
        (tmp_path / "seq" / n).write_bytes(b"x")
    assert output_written(str(tmp_path / "seq" / "%04d.png")) is written


# ---- the depth writer's partial output ----------------------------------------------------------------

def _writer(out, **kw):
    from fractions import Fraction

    from test_stream_roundtrip import depth_info

    from igde_stream.stream import DepthWriter

    return DepthWriter(out, depth_info(Fraction(25), "gray16le"), **kw)


def _frame():
    return np.arange(8 * 16, dtype=np.uint16).reshape(8, 16) * 300


def test_a_writer_refused_before_its_partial_file_is_made_says_why(tmp_path):
    """A sequence whose folder holds frames, without overwrite: refused before any partial folder is
    made, in the writer's own words (not an error of the clean-up that follows)."""
    from igde_stream.errors import OutputError

    (tmp_path / "seq").mkdir()
    (tmp_path / "seq" / "0000.png").write_bytes(b"earlier")
    with pytest.raises(OutputError):
        _writer(tmp_path / "seq" / "%04d.png", overwrite=False)
    assert sorted(os.listdir(tmp_path)) == ["seq"] and os.listdir(tmp_path / "seq") == ["0000.png"]


def test_commit_without_a_frame_removes_the_partial_file_outside_a_block(tmp_path):
    from igde_stream.errors import OutputError

    w = _writer(tmp_path / "o.mkv")
    assert w.tmp.exists()
    with pytest.raises(OutputError, match="no frame was written"):
        w.commit()
    assert os.listdir(tmp_path) == []


def test_abort_after_commit_leaves_a_later_partial_file_of_the_same_name(tmp_path):
    """After commit, abort does nothing: a later writer of the same output in this process has the same
    partial name (it carries the process id), and its file is not the committed writer's to remove."""
    w = _writer(tmp_path / "o.mkv")
    w.write(_frame(), 0)
    tmp = w.tmp
    assert w.commit() == tmp_path / "o.mkv"
    tmp.write_bytes(b"a later writer's partial file")
    w.abort()
    assert tmp.read_bytes() == b"a later writer's partial file"


def test_an_abandoned_writer_is_not_closed_by_abort_but_its_file_goes(tmp_path):
    """A writer left blocked on a pipe (abandoned): abort removes its file and does not close the
    container (closing writes to the same pipe)."""
    w = _writer(tmp_path / "o.mkv")
    real, closed = w.container, []

    class Container:
        def close(self):
            closed.append(1)

    w.container, w.abandoned = Container(), True
    w.abort()
    assert closed == [] and os.listdir(tmp_path) == []
    real.close()


def test_abort_removes_a_link_in_place_of_the_partial_folder_not_what_it_points_to(tmp_path):
    w = _writer(tmp_path / "seq" / "%04d.png")
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "mine.png").write_bytes(b"mine")
    w.container.close()
    os.rmdir(w.tmp)
    os.symlink(keep, w.tmp)
    w._closed = True
    w.abort()
    assert not os.path.lexists(w.tmp) and (keep / "mine.png").read_bytes() == b"mine"


def test_a_sequence_replaces_an_earlier_folder_of_frames_keeping_its_other_files(tmp_path):
    """A sequence written over a folder of earlier frames (overwrite): the folder holds the new frame
    and still the Finder's .DS_Store, the earlier frame replaced."""
    seq = tmp_path / "seq"
    seq.mkdir()
    (seq / "0000.png").write_bytes(b"earlier")
    (seq / ".DS_Store").write_bytes(b"finder")
    with _writer(seq / "%04d.png") as w:
        w.write(_frame(), 0)
    import cv2

    assert sorted(os.listdir(seq)) == [".DS_Store", "0000.png"] and (seq / ".DS_Store").read_bytes() == b"finder"
    np.testing.assert_array_equal(cv2.imread(str(seq / "0000.png"), cv2.IMREAD_UNCHANGED), _frame())


def test_ctrl_c_in_the_commit_at_the_end_of_a_block_leaves_no_partial_file(tmp_path, monkeypatch):
    w = _writer(tmp_path / "o.mkv")
    real = w.close

    def close():
        real()
        raise KeyboardInterrupt  # as the signal handler raises it, once the file is flushed

    with pytest.raises(KeyboardInterrupt):
        with w:
            w.write(_frame(), 0)
            monkeypatch.setattr(w, "close", close)
    assert os.listdir(tmp_path) == []


# ---- frame_arrays: a decoded frame to the reader's array ------------------------------------------------

def _frame_reader(role="depth", **attrs):
    """A bare ``FrameArrays`` (the half of VideoReader that converts frames), turned a quarter by its
    orientation, its other parts given by ``attrs``."""
    from types import SimpleNamespace as NS

    from igde_stream.stream.frame_arrays import FrameArrays

    r = FrameArrays()
    r.path, r.role, r.size, r._packed, r._cmap, r._reformatter = "d.mkv", role, None, None, None, None
    r.orientation = NS(apply=np.rot90, size=lambda w, h: (h, w))
    r.info = NS(limited=False, codec="ffv1")
    r.stream = NS(codec_context=NS(color_range=None))
    r._depth_range, r._images, r._range_warned, r._holes_warned, r.float_map = None, [], False, False, None
    for k, v in attrs.items():
        setattr(r, k, v)
    return r


FRAME = type("F", (), {"format": type("Fmt", (), {"name": "gray16le"})()})()
PIX = np.arange(6, dtype=np.uint16).reshape(2, 3)


def test_a_packed_frame_is_checked_for_colour_at_frame_0_and_every_30th():
    """The depth half's colour check (CHROMA_EVERY = 30): the first frame, then 30, 60 ..."""
    from types import SimpleNamespace as NS

    seen = []
    r = _frame_reader(_packed=NS(split=lambda f, ref, turn, index: seen.append(index) or PIX))
    for i in (0, 1, 29, 30, 31, 60):
        r._convert(FRAME, i, i == 0)
    assert seen == [0, None, None, 30, None, 60]


def test_the_first_colour_frame_alone_is_looked_at_for_transparency_and_colour_turned(monkeypatch):
    import igde_stream.stream.frame_arrays as fa

    looked = []
    monkeypatch.setattr(fa, "first_colour_frame", lambda f, path: looked.append(path))
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    monkeypatch.setattr(fa, "colour_rgb", lambda f, ref, size: rgb)
    r = _frame_reader("color", path="c.mp4")
    got = [r._convert(FRAME, i, i == 0) for i in range(3)]
    assert looked == ["c.mp4"]
    assert all(np.array_equal(g, np.rot90(rgb)) for g in got)


def test_a_colour_mapped_depth_frame_is_turned_as_displayed():
    from types import SimpleNamespace as NS

    r = _frame_reader(_cmap=NS(read=lambda f, ref, index: PIX))
    np.testing.assert_array_equal(r._convert(FRAME, 0, True), np.array([[2, 5], [1, 4], [0, 3]]))


def test_untagged_yuv_depth_is_looked_at_for_a_limited_range_on_its_first_frame_only(monkeypatch):
    import igde_stream.stream.frame_arrays as fa

    looked = []
    monkeypatch.setattr(fa, "depth_array", lambda f, chroma: PIX)
    monkeypatch.setattr(fa, "luma_is_guessed", lambda *a: True)
    monkeypatch.setattr(fa, "check_stored_luma", lambda d, bits, path: looked.append((bits, path)))
    r = _frame_reader()
    for i in range(3):
        r._convert(FRAME, i, i == 0)
    assert looked == [(16, "d.mkv")]


def test_a_frame_that_does_not_read_as_depth_gets_the_hints_of_its_first_image(monkeypatch):
    """An image sequence (d/%04d.exr): the OpenEXR and RGB-depth hints read the first image's header,
    not the pattern; the error names the frame."""
    import igde_stream.stream.frame_arrays as fa
    from igde_stream.errors import InputError

    def not_depth(f, chroma):
        raise ValueError("the three channels differ")

    read = []
    monkeypatch.setattr(fa, "depth_array", not_depth)
    monkeypatch.setattr(fa, "exr_hint", lambda codec, first: read.append(("exr", first)) or "")
    monkeypatch.setattr(fa, "rgb_depth_hint", lambda codec, first, depth: read.append(("rgb", first, depth)) or "")
    r = _frame_reader(path="d/%04d.exr", _images=["d/0007.exr", "d/0008.exr"])
    with pytest.raises(InputError, match="frame 3: the three channels differ"):
        r._convert(FRAME, 3, False)
    assert read == [("exr", "d/0007.exr"), ("rgb", "d/0007.exr", True)]


@pytest.mark.parametrize("enlarge, warned", [("linear", 1), ("nearest", 0)])
def test_small_depth_is_enlarged_to_the_grid_and_its_holes_warned_once_for_linear(monkeypatch, enlarge, warned):
    """Depth 2 x 3 on a 4 x 6 grid: nearest doubles each pixel (by hand: each value in a 2 x 2 block);
    depth with a hole warns once in all for linear enlargement (it blends holes), never for nearest."""
    import igde_stream.stream.frame_arrays as fa
    from igde_stream.stream.formats import ENLARGE

    said = []
    monkeypatch.setattr(fa, "warn_holes_enlarged", lambda path: said.append(path) or True)
    monkeypatch.setattr(fa, "depth_array", lambda f, chroma: PIX)  # PIX[0, 0] is 0: a hole
    r = _frame_reader(size=(6, 4), _enlarge=ENLARGE[enlarge], _holes_warned=enlarge != "linear")
    r.orientation.apply = lambda a: a
    got = [r._convert(FRAME, i, i == 0) for i in range(3)]
    assert len(said) == warned
    if enlarge == "nearest":
        want = np.array([[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5], [3, 3, 4, 4, 5, 5]])
        assert all(np.array_equal(g, want) for g in got)
    else:
        assert all(g.shape == (4, 6) for g in got)
