"""``igde-stream batch`` as a render farm runs it: output and summary folders that are read-only (a
network share), not folders, or full, refused or said in one line, before any clip runs where that
can be known. Read-only folders are simulated by answering ``os.access`` as a read-only mount does
(a chmod 555 folder is writable to root, who runs many farm jobs)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Sequence

import pytest

from igde_stream.cli import main


def _stub_jobs(tmp_path, monkeypatch, outputs=("out/o.mkv",)):
    """A job list of clips whose inputs need not exist, and a ``run_batch`` that records its call and
    says every clip done. Returns the list of calls."""
    import igde_stream.batch as batch

    monkeypatch.chdir(tmp_path)
    rows = "".join(f"a{i}.mp4,a{i}.mkv,{o}\n" for i, o in enumerate(outputs))
    Path("jobs.csv").write_text("color,depth,output\n" + rows)
    calls = []

    def run_batch(jobs, options, **kw):
        calls.append([j.output for j in jobs])
        return [{**batch.summary_row(j, "done"), "error": None} for j in jobs], "stub"

    monkeypatch.setattr(batch, "run_batch", run_batch)
    return calls


def _read_only(monkeypatch, folder: Path) -> list[str]:
    """``os.access(folder, W_OK)`` False from now on, as on a read-only mount; the paths asked."""
    real = os.access
    asked = []

    def access(path, mode, *a, **k):
        if os.path.abspath(path) == os.path.abspath(folder) and mode & os.W_OK:
            asked.append(os.fspath(path))
            return False
        return real(path, mode, *a, **k)

    monkeypatch.setattr(os, "access", access)
    return asked


def test_summary_in_a_read_only_folder_is_refused_before_any_clip_runs(tmp_path, monkeypatch, capsys):
    calls = _stub_jobs(tmp_path, monkeypatch)
    (tmp_path / "share").mkdir()
    asked = _read_only(monkeypatch, tmp_path / "share")
    assert main(["batch", "jobs.csv", "-q", "--summary", "share/s.json"]) == 2
    err = capsys.readouterr().err
    assert err == "igde-stream: error: share/s.json: folder 'share' is not writable\n"
    assert asked and calls == []  # no clip ran: the batch would have been lost to the summary


def test_a_summary_that_cannot_be_written_after_the_run_is_one_line_not_a_traceback(tmp_path, monkeypatch):
    """The folder checked writable, then gone read-only by the batch's end (a share remounted): the
    write and the partial file's removal both fail; the write's error is the one said."""
    from igde_stream.batch_jobs import write_summary
    from igde_stream.errors import OutputError

    real_unlink = Path.unlink

    def unlink(self, missing_ok=False):
        if self.parent == tmp_path:
            raise OSError(30, "Read-only file system", str(self))
        return real_unlink(self, missing_ok=missing_ok)

    def fail_open(*a, **k):
        raise OSError(30, "Read-only file system", str(a[0]))

    monkeypatch.setattr(Path, "unlink", unlink)
    monkeypatch.setattr("builtins.open", fail_open)
    with pytest.raises(OutputError) as info:
        write_summary([], tmp_path / "s.csv", {})
    assert str(info.value).endswith("s.csv: cannot write the summary: Read-only file system")


def test_an_output_folder_that_is_read_only_is_refused_before_any_clip_runs(tmp_path, monkeypatch, capsys):
    calls = _stub_jobs(tmp_path, monkeypatch, outputs=("share/o1.mkv", "share/o2.mkv", "mine/o3.mkv"))
    (tmp_path / "share").mkdir()
    asked = _read_only(monkeypatch, tmp_path / "share")
    assert main(["batch", "jobs.csv", "-q"]) == 2
    assert capsys.readouterr().err == "igde-stream: error: share/o1.mkv: folder 'share' is not writable\n"
    assert asked and calls == []
    assert not (tmp_path / "mine").exists()  # the folder it had made for another clip is taken back


def test_an_output_folder_that_is_a_file_is_refused_before_any_clip_runs(tmp_path, monkeypatch, capsys):
    calls = _stub_jobs(tmp_path, monkeypatch, outputs=("new/o0.mkv", "afile/o1.mkv"))
    (tmp_path / "afile").write_text("mine")
    assert main(["batch", "jobs.csv", "-q"]) == 2
    assert capsys.readouterr().err == "igde-stream: error: afile/o1.mkv: 'afile' is not a folder\n"
    assert calls == [] and (tmp_path / "afile").read_text() == "mine" and not (tmp_path / "new").exists()


def test_with_resume_a_read_only_folder_of_finished_clips_only_is_no_problem(tmp_path, monkeypatch):
    """A folder whose every clip is finished (skipped by --resume) is not written to: the batch runs
    the rest (an operator's earlier outputs on a share made read-only since)."""
    calls = _stub_jobs(tmp_path, monkeypatch, outputs=("share/o1.mkv", "new/o2.mkv"))
    (tmp_path / "share").mkdir()
    (tmp_path / "share" / "o1.mkv").write_bytes(b"finished")
    _read_only(monkeypatch, tmp_path / "share")
    assert main(["batch", "jobs.csv", "-q", "--resume"]) == 0
    assert calls == [["share/o1.mkv", "new/o2.mkv"]]


def _clips(tmp_path: Path, frames: Sequence[int]) -> None:
    """Clips out/o0.mkv ... of ``frames`` frames each, in jobs.csv."""
    from conftest import scene, write_video

    lines = ["color,depth,output"]
    for i, n in enumerate(frames):
        colors, depths, _ = scene(n, (32, 24), 8, seed=i)
        write_video(tmp_path / f"c{i}.mp4", colors, fmt="rgb24")
        write_video(tmp_path / f"d{i}.mkv", depths, fmt="gray")
        lines.append(f"c{i}.mp4,d{i}.mkv,out/o{i}.mkv")
    (tmp_path / "jobs.csv").write_text("\n".join(lines) + "\n")


# A batch as `igde-stream batch` runs it, whose parent process gets SIGTERM (a scheduler's time limit) the
# moment the first clip's row reaches it: a deterministic point, with later clips still to run.
_TERM_AFTER_FIRST_CLIP = """
import os, signal, sys
import igde_stream.batch_cli as bc

said = bc.progress_text

def progress_text(row):
    os.kill(os.getpid(), signal.SIG{sig})  # raised in the main thread at the next bytecode
    return said(row)

bc.progress_text = progress_text
from igde_stream.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _stopped_batch(tmp_path: Path, sig: str, *extra: str):
    """Three 2-frame clips (out/o0.mkv ...) through `igde-stream batch --jobs 1 --summary s.json --summary
    s.csv`, the batch stopped by ``sig`` as the first clip's row arrives; the finished process."""
    import subprocess
    import sys

    _clips(tmp_path, (2, 2, 2))
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""), "OMP_NUM_THREADS": "1"}
    argv = ["batch", "jobs.csv", "--jobs", "1", "--threads", "1", "--model", "igde-small", "--backend", "onnxruntime",
            "--summary", "s.json", "--summary", "s.csv", *extra]
    return subprocess.run([sys.executable, "-c", _TERM_AFTER_FIRST_CLIP.replace("{sig}", sig), *argv], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.parametrize("sig,code,name", [("TERM", 143, "SIGTERM"), ("INT", 130, "SIGINT")])
def test_a_stopped_batch_writes_its_summary_with_the_clips_that_ended(tmp_path, sig, code, name):
    import csv

    r = _stopped_batch(tmp_path, sig)
    assert r.returncode == code, r.stderr
    assert r.stderr.splitlines()[-1].endswith(
        "finished clips are kept (rerun with --resume), no partial file is left; "
        "the summary says which clips ended (s.json, s.csv)"), r.stderr
    assert "Traceback" not in r.stderr
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["stopped_by"] == name and (s["clips"], s["done"], s["failed"], s["interrupted"]) == (3, 1, 0, 2)
    assert [row["status"] for row in s["rows"]] == ["done", "interrupted", "interrupted"]
    assert s["rows"][0]["frames"] == 2 and s["rows"][1]["error"] == (
        f"not finished: the batch was stopped ({name}); rerun with --resume")
    with open(tmp_path / "s.csv", newline="") as f:
        assert [row["status"] for row in csv.DictReader(f)] == ["done", "interrupted", "interrupted"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["o0.mkv"]  # no partial file of the others


def test_a_stopped_batch_with_y_names_the_earlier_outputs_that_resume_would_keep(tmp_path):
    """-y replaces each output as its clip ends: a batch stopped on the way leaves the clips not finished
    with an earlier run's file, which --resume would take for finished; the summary and the last line
    say so (and that file is as it was)."""
    (tmp_path / "out").mkdir()
    for i in range(3):
        (tmp_path / "out" / f"o{i}.mkv").write_bytes(b"earlier run")
        os.utime(tmp_path / "out" / f"o{i}.mkv", (1e9, 1e9))
    r = _stopped_batch(tmp_path, "TERM", "-y")
    assert r.returncode == 143, r.stderr
    assert r.stderr.splitlines()[-1].endswith(
        "the summary says which clips ended (s.json, s.csv); 2 clips not finished still hold an earlier run's "
        "output (out/o1.mkv, ...), which --resume would skip: rerun them with -y"), r.stderr
    rows = json.loads((tmp_path / "s.json").read_text())["rows"]
    assert [row["status"] for row in rows] == ["done", "interrupted", "interrupted"]
    assert rows[2]["error"] == ("not finished: the batch was stopped (SIGTERM); out/o2.mkv is an earlier run's file, "
                                "which --resume would skip: rerun it with -y")
    assert (tmp_path / "out" / "o0.mkv").read_bytes() != b"earlier run"
    assert [(tmp_path / "out" / f"o{i}.mkv").read_bytes() for i in (1, 2)] == [b"earlier run"] * 2


def _sequence_jobs(tmp_path: Path) -> list[Path]:
    """Two clips written as image sequences (seqs/a/%04d.png, seqs/b/%04d.png), 2 frames each."""
    from conftest import scene, write_video

    lines = ["color,depth,output"]
    for name in ("a", "b"):
        colors, depths, _ = scene(2, (32, 24), 8, seed=3)
        write_video(tmp_path / f"{name}.mp4", colors, fmt="rgb24")
        write_video(tmp_path / f"{name}.mkv", depths, fmt="gray")
        lines.append(f"{name}.mp4,{name}.mkv,seqs/{name}/%04d.png")
    (tmp_path / "jobs.csv").write_text("\n".join(lines) + "\n")
    return [tmp_path / "seqs" / n for n in ("a", "b")]


def test_resume_skips_clips_whose_image_sequence_is_written(tmp_path, monkeypatch, capsys):
    """An image-sequence output's folder is put in place whole, so a folder holding its frames is a
    finished clip, as a video that exists is: --resume skips it, and without --resume or -y the batch
    stops before anything runs (before, the literal pattern was looked for, never found, and each clip
    failed on its folder's frames)."""
    a, b = _sequence_jobs(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = ["batch", "jobs.csv", "--jobs", "1", "-q", "--threads", "1", "--backend", "onnxruntime"]
    assert main(argv) == 0
    assert sorted(os.listdir(a)) == sorted(os.listdir(b)) == ["0000.png", "0001.png"]
    mtimes = {p: p.stat().st_mtime_ns for p in [*a.iterdir(), *b.iterdir()]}
    assert main(argv) == 2
    assert capsys.readouterr().err == ("igde-stream: error: seqs/a/%04d.png: already exists (and 1 more); use --resume "
                                       "to skip finished clips or -y to replace them\n")
    for name in os.listdir(b):
        (b / name).unlink()  # b's frames gone: b is not finished
    b.rmdir()
    assert main([*argv, "--resume", "--summary", "s.json"]) == 0
    rows = json.loads(Path("s.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["skipped", "done"] and rows[1]["frames"] == 2
    assert {p: p.stat().st_mtime_ns for p in a.iterdir()} == {p: t for p, t in mtimes.items() if p.parent == a}


def test_an_output_path_that_is_a_folder_is_refused_not_taken_for_a_finished_clip(tmp_path, monkeypatch, capsys):
    _stub_jobs(tmp_path, monkeypatch, outputs=("out/o1.mkv", "out/o2.mkv"))
    (tmp_path / "out" / "o2.mkv").mkdir(parents=True)
    for extra in ([], ["--resume"], ["-y"]):
        assert main(["batch", "jobs.csv", "-q", *extra]) == 2
        assert capsys.readouterr().err == "igde-stream: error: out/o2.mkv: is a folder\n"


def test_a_clip_that_fails_under_y_names_its_earlier_output_that_resume_would_keep(tmp_path, monkeypatch, capsys):
    from conftest import scene, write_video

    monkeypatch.chdir(tmp_path)
    colors, depths, _ = scene(2, (32, 24), 8, seed=1)
    write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    write_video(tmp_path / "d.mkv", depths, fmt="gray")
    Path("jobs.csv").write_text("color,depth,output\nc.mp4,d.mkv,out/good.mkv\nc.mp4,missing.mkv,out/bad.mkv\n")
    Path("out").mkdir()
    for name in ("good", "bad"):
        Path(f"out/{name}.mkv").write_bytes(b"earlier run")
        os.utime(f"out/{name}.mkv", (1e9, 1e9))
    assert main(["batch", "jobs.csv", "--jobs", "1", "-q", "--threads", "1", "--backend", "onnxruntime", "-y"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ("igde-stream: 1 clip failed still holds an earlier run's output (out/bad.mkv), which --resume "
                       "would skip: rerun it with -y")
    assert Path("out/bad.mkv").read_bytes() == b"earlier run" and Path("out/good.mkv").read_bytes() != b"earlier run"


def _sigterm_to_the_worker_of_o0(tmp_path: Path) -> list[str]:
    """Send SIGTERM, once, to the worker process writing out/o0.mkv, found by its partial file's name
    (PID), from a thread; the list gets that name when it is sent."""
    import re
    import signal
    import threading
    import time

    killed: list[str] = []

    def stop_first_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not killed:
            for name in os.listdir(tmp_path / "out") if (tmp_path / "out").is_dir() else []:
                if m := re.fullmatch(r"\.o0\.igde-part-(\d+)\.mkv", name):
                    os.kill(int(m.group(1)), signal.SIGTERM)
                    killed.append(name)
            time.sleep(0.005)

    threading.Thread(target=stop_first_worker, daemon=True).start()
    return killed


def test_a_worker_sent_sigterm_alone_fails_its_clip_and_the_batch_goes_on(tmp_path, monkeypatch, capsys):
    """SIGTERM to one worker process (an operator stopping a stuck clip, a node's memory guard), not
    to the batch: that clip fails with its reason, no partial file, and the other clips run on a new
    pool. Before, the worker's SystemExit reached the batch through the pool and ended it at once,
    exit 143 with no line and no summary. The worker is found by its partial file's name (PID)."""
    import time

    monkeypatch.chdir(tmp_path)
    _clips(tmp_path, (60, 2, 2))  # the first long enough to be stopped while it runs
    killed = _sigterm_to_the_worker_of_o0(tmp_path)
    code = main(["batch", "jobs.csv", "--jobs", "1", "-q", "--threads", "1", "--backend", "onnxruntime",
                 "--summary", "s.json"])
    time.sleep(0.1)
    assert killed, "the first clip ended before its worker could be stopped"
    assert code == 1
    rows = json.loads(Path("s.json").read_text())["rows"]
    assert [r["status"] for r in rows] == ["failed", "done", "done"]
    assert rows[0]["error"] == "worker process stopped by SIGTERM while this clip ran"
    assert sorted(os.listdir("out")) == ["o1.mkv", "o2.mkv"]  # no partial file of the stopped clip
    assert capsys.readouterr().err.splitlines()[-1] == (
        "igde-stream: clip out/o0.mkv failed: worker process stopped by SIGTERM while this clip ran")


def test_a_worker_sent_sigterm_alone_leaves_the_clip_another_worker_runs_alone(tmp_path, monkeypatch):
    """Two workers: SIGTERM to the one running o0 while the other runs o1 (longer). The clip of the
    other worker goes on to its end. Before, the stopped worker exited as it took the next queued clip,
    that broke the pool, and the pool killed the other worker: o1 failed ("worker process died while
    this clip ran") though nothing was wrong with it."""
    import time

    monkeypatch.chdir(tmp_path)
    _clips(tmp_path, (60, 90, 2, 2))
    killed = _sigterm_to_the_worker_of_o0(tmp_path)
    code = main(["batch", "jobs.csv", "--jobs", "2", "-q", "--threads", "1", "--backend", "onnxruntime",
                 "--summary", "s.json"])
    time.sleep(0.1)
    assert killed, "the first clip ended before its worker could be stopped"
    assert code == 1
    rows = json.loads(Path("s.json").read_text())["rows"]
    assert [(r["status"], r["error"]) for r in rows] == [
        ("failed", "worker process stopped by SIGTERM while this clip ran"), ("done", None), ("done", None),
        ("done", None)]
    assert rows[1]["frames"] == 90
    assert sorted(os.listdir("out")) == ["o1.mkv", "o2.mkv", "o3.mkv"]


@pytest.mark.parametrize("allowed,workers,threads", [(range(4), 2, 2), (range(2), 1, 2), (range(1), 1, 1),
                                                     (range(64), 4, 16)])
def test_the_pool_is_sized_by_the_cpus_the_job_may_use_not_the_nodes(monkeypatch, allowed, workers, threads):
    """On a farm node of 64 CPUs, a job given 4 (Slurm's --cpus-per-task 4: its affinity mask) runs 2
    workers of 2 model threads, not 4 workers of 16 threads each on its 4 CPUs (64 threads on 4 CPUs).
    The figures by hand: workers = half the CPUs, 1 to 4; threads = CPUs // workers."""
    import importlib
    from concurrent.futures import Future

    import igde_stream.batch as batch
    import igde_stream.batch_cli as bc
    from igde_stream.batch_jobs import Job

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(allowed), raising=False)
    try:
        assert importlib.reload(bc).DEFAULT_WORKERS == workers
    finally:
        monkeypatch.undo()
        importlib.reload(bc)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(allowed), raising=False)
    submitted = []

    class Pool:  # the executor's part run_pool uses, in this process
        def __init__(self, **kwargs):
            pass

        def submit(self, fn, job, options, model_threads):
            submitted.append(model_threads)
            f = Future()
            f.set_result({**batch.summary_row(job, "done"), "error": None})
            return f

        def shutdown(self, *args, **kwargs):
            pass

    monkeypatch.setattr(batch, "ProcessPoolExecutor", Pool)
    rows = batch.run_pool([Job("a", "a.mp4", "a.mkv", "a_out.mkv")], {}, workers, lambda *a: None)
    assert submitted == [threads] and rows[0]["status"] == "done"


def test_an_empty_sequence_folder_made_before_the_batch_is_no_earlier_output(tmp_path, monkeypatch, capsys):
    """An image-sequence clip is finished when its folder holds frames of its pattern (what --resume
    skips); a folder made ahead of the batch (mkdir -p seqs/bad) and still empty when the clip fails
    under -y is no earlier run's output: --resume would run that clip, so no line advises -y for it.
    A folder that holds frames from before is named, as a video file is."""
    from conftest import scene, write_video

    monkeypatch.chdir(tmp_path)
    colors, depths, _ = scene(2, (32, 24), 8, seed=1)
    write_video(tmp_path / "c.mp4", colors, fmt="rgb24")
    Path("jobs.csv").write_text("color,depth,output\nc.mp4,missing.mkv,seqs/bad/%04d.png\n"
                                "c.mp4,missing.mkv,seqs/old/%04d.png\n")
    for name in ("bad", "old"):
        Path("seqs", name).mkdir(parents=True)
    Path("seqs/old/0000.png").write_bytes(b"earlier run")
    for p in ("seqs/bad", "seqs/old/0000.png", "seqs/old"):
        os.utime(p, (1e9, 1e9))
    assert main(["batch", "jobs.csv", "--jobs", "1", "-q", "--threads", "1", "--backend", "onnxruntime", "-y"]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == ("igde-stream: 1 clip failed still holds an earlier run's output (seqs/old/%04d.png), which "
                       "--resume would skip: rerun it with -y")


def test_a_worker_sent_sigterm_between_clips_stops_no_clip(tmp_path, monkeypatch):
    """SIGTERM to a worker that has finished its clip and waits for the next (the PID read from its
    partial file's name a moment too late) while the other worker runs o1: no clip is stopped, o1
    goes on to its end, and the stopped worker runs no further clip. Before, the signal ended the
    idle worker, that broke the pool, and the pool killed the other worker: o1 failed."""
    import multiprocessing
    import re
    import signal
    import threading
    import time

    import igde_stream.batch as batch

    monkeypatch.chdir(tmp_path)
    _clips(tmp_path, (2, 90))
    sent: list[int] = []
    o0_returned = threading.Event()  # o0's row reached the batch: its worker is out of the clip, idle
    run_pool = batch.run_pool

    def run_pool_seeing_rows(jobs, options, workers, on_row):
        def row(r, n, total):
            if r["output"].endswith("o0.mkv"):
                o0_returned.set()
            on_row(r, n, total)
        return run_pool(jobs, options, workers, row)

    monkeypatch.setattr(batch, "run_pool", run_pool_seeing_rows)

    def stop_the_idle_worker():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not sent:
            names = os.listdir(tmp_path / "out") if (tmp_path / "out").is_dir() else []
            busy = [int(m.group(1)) for n in names if (m := re.fullmatch(r"\.o1\.igde-part-(\d+)\.mkv", n))]
            # o0's file alone is not enough: its worker still runs the clip's last steps after the rename
            if o0_returned.is_set() and busy:  # o0 has returned: its worker waits, the other one runs o1
                idle = [p.pid for p in multiprocessing.active_children() if p.pid != busy[0]]
                if len(idle) == 1:
                    os.kill(idle[0], signal.SIGTERM)
                    sent.append(idle[0])
            time.sleep(0.005)

    threading.Thread(target=stop_the_idle_worker, daemon=True).start()
    code = main(["batch", "jobs.csv", "--jobs", "2", "-q", "--threads", "1", "--backend", "onnxruntime",
                 "--summary", "s.json"])
    time.sleep(0.1)
    assert sent, "o1 ended before the idle worker could be stopped"
    assert o0_returned.is_set()
    rows = json.loads(Path("s.json").read_text())["rows"]
    assert [(r["status"], r["error"]) for r in rows] == [("done", None), ("done", None)] and code == 0
    assert rows[1]["frames"] == 90 and sorted(os.listdir("out")) == ["o0.mkv", "o1.mkv"]


@pytest.mark.parametrize("second,said", [
    ("seqs/a/d%04d.png", "line 3: output seqs/a/d%04d.png is inside the image-sequence folder of line 2"),
    ("seqs/a/b/o.mkv", "line 3: output seqs/a/b/o.mkv is inside the image-sequence folder of line 2"),
    ("seqs/a/r.mkv", "line 3: output seqs/a/r.mkv is inside the image-sequence folder of line 2")])
def test_an_output_inside_another_clips_sequence_folder_is_refused_before_any_clip_runs(
        tmp_path, monkeypatch, capsys, second, said):
    """An image sequence's folder holds its frames alone and is put in place whole: a second output in
    it (another sequence, a video, a sub-folder) can never be written beside it. Before, the first clip
    ran and the second failed on its folder ("holds other files") after it; now the list is refused,
    exit 2, nothing run or made. Outputs in sibling folders, or beside the folder, are no conflict."""
    calls = _stub_jobs(tmp_path, monkeypatch, outputs=("seqs/a/%04d.png", second))
    assert main(["batch", "jobs.csv", "-q"]) == 2
    assert capsys.readouterr().err == (f"igde-stream: error: jobs.csv: {said}, which holds that sequence's "
                                       "frames alone\n")
    assert calls == [] and not (tmp_path / "seqs").exists()
    for fine in ("seqs/b/%04d.png", "seqs/a.mkv", "seqs/o.mkv"):
        calls = _stub_jobs(tmp_path, monkeypatch, outputs=("seqs/a/%04d.png", fine))
        assert main(["batch", "jobs.csv", "-q"]) == 0 and calls == [["seqs/a/%04d.png", fine]]


def test_a_signal_while_the_summaries_are_written_at_the_end_does_not_lose_them(tmp_path, monkeypatch, capsys):
    """Every clip ended, then Ctrl-C (or a scheduler's SIGTERM) lands while the first summary is
    written: the summaries are written whole all the same (the clips' record), and the exit is the
    signal's. Before, the partial summary was removed and none was written: a finished batch with no
    record of it."""
    import igde_stream.batch as batch

    _stub_jobs(tmp_path, monkeypatch, outputs=("out/o1.mkv", "out/o2.mkv"))
    real, calls = batch.write_summary, []

    def write_summary(rows, path, header):
        calls.append(str(path))
        if len(calls) == 1:
            raise KeyboardInterrupt  # as the handler raises it, inside the write
        return real(rows, path, header)

    monkeypatch.setattr(batch, "write_summary", write_summary)
    assert main(["batch", "jobs.csv", "-q", "--summary", "s.json", "--summary", "s.csv"]) == 130
    assert capsys.readouterr().err.splitlines()[-1].endswith("the summary says which clips ended (s.json, s.csv)")
    assert [r["status"] for r in json.loads(Path("s.json").read_text())["rows"]] == ["done", "done"]
    assert Path("s.csv").read_text().count("done") == 2
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no partial summary
