"""igde-stream batch: many clips on a local process pool and on a local Ray, bit for bit the files of
sequential ``enhance_file`` runs; a bad pair fails alone and is named in the summary; --resume;
bad job lists, options and Ray addresses get one line, exit 2 and leave nothing behind."""

from __future__ import annotations

import csv
import importlib.util
import json
import multiprocessing
import socket
import time
from pathlib import Path

import pytest

from conftest import scene, write_video
from igde_stream.batch import Job, read_jobs, run_pool
from igde_stream.cli import main

MODEL = ["--model", "igde-small", "--backend", "onnxruntime", "--batch", "2"]  # shipped weights: not the identity
N_GOOD = 3
BAD = "c2"  # its colour video has 2 frames for 4 depth frames: the pair does not pair


def _write_clips(folder: Path, n: int = N_GOOD + 1, frames: int = 4) -> list[dict]:
    clips = []
    for i in range(n):
        name = f"c{i}"
        colors, depths, gts = scene(frames, (64, 48), 8, seed=10 + i)
        if name == BAD:
            colors = colors[:2]
        clips.append({
            "name": name,
            "color": write_video(folder / f"{name}_color.mp4", colors, fmt="rgb24"),
            "depth": write_video(folder / f"{name}_depth.mkv", depths, fmt="gray"),
            "gt": write_video(folder / f"{name}_gt.mkv", gts, fmt="gray"),
        })
    return clips


def _jobs_csv(path: Path, clips: list[dict], out: str, gt: bool = True) -> Path:
    lines = ["color,depth,output" + (",gt" if gt else "")]
    for c in clips:  # relative to the CSV's folder
        cells = [c["color"].name, c["depth"].name, f"{out}/{c['name']}.mkv"] + ([c["gt"].name] if gt else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    """Four tiny clips (one a bad pair) and the outputs of sequential enhance_file runs of the good ones."""
    from igde_stream import enhance_file

    folder = tmp_path_factory.mktemp("batch")
    made = _write_clips(folder)
    for c in made:
        c["ref"] = folder / f"ref_{c['name']}.mkv"
        if c["name"] != BAD:
            enhance_file(c["color"], c["depth"], c["ref"], model="igde-small", backend="onnxruntime", batch=2,
                         quiet=True)
    return folder, made


def _parts(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if "igde-part" in p.name]


def _check_outputs_and_summary(folder: Path, made: list[dict], out: str, summary: Path) -> dict:
    for c in made:
        produced = folder / out / f"{c['name']}.mkv"
        if c["name"] == BAD:
            assert not produced.exists()
        else:
            assert produced.read_bytes() == c["ref"].read_bytes(), f"{produced} differs from the sequential run"
    assert not _parts(folder)
    s = json.loads(summary.read_text())
    assert [Path(r["output"]).stem for r in s["rows"]] == [c["name"] for c in made]  # in job order
    rows = {Path(r["output"]).stem: r for r in s["rows"]}
    assert (s["clips"], s["done"], s["failed"], s["skipped"]) == (N_GOOD + 1, N_GOOD, 1, 0)
    assert rows[BAD]["status"] == "failed" and "do not pair" in rows[BAD]["error"]
    assert f"{BAD}_color.mp4" in rows[BAD]["error"] and "\n" not in rows[BAD]["error"]
    for name, r in rows.items():
        if name != BAD:
            assert r["status"] == "done" and r["frames"] == 4 and r["seconds"] > 0 and r["error"] is None
            assert r["mean_psnr"] > 0 and r["backend"] == "onnxruntime"
    return s


def test_pool_matches_sequential_runs_names_the_bad_pair_and_resume_skips(clips, capsys):
    folder, made = clips
    jobs = _jobs_csv(folder / "pool.csv", made, "pool_out")
    sj, sc = folder / "pool.json", folder / "pool.csv.summary.csv"
    code = main(["batch", str(jobs), "--jobs", "2", *MODEL, "--summary", str(sj), "--summary", str(sc)])
    out, err = capsys.readouterr()
    assert code == 1, err  # one clip failed, the others ran
    assert f"clip pool_out/{BAD}.mkv failed:" in err and "4 clips: 3 done, 0 skipped, 1 failed" in out
    s = _check_outputs_and_summary(folder, made, "pool_out", sj)
    assert s["engine"] == "a local pool of 2 processes"
    with open(sc, newline="") as f:
        assert {Path(r["output"]).stem: r["status"] for r in csv.DictReader(f)} == \
            {c["name"]: ("failed" if c["name"] == BAD else "done") for c in made}

    # Existing outputs: refused without --resume or -y, before anything runs
    assert main(["batch", str(jobs), *MODEL, "-q"]) == 2
    assert "already exists" in capsys.readouterr().err
    # --resume: finished outputs are skipped (not rewritten), the missing one is made again, the bad pair fails again
    first = folder / "pool_out" / "c0.mkv"
    first.unlink()
    kept = {c["name"]: (folder / "pool_out" / f"{c['name']}.mkv").stat() for c in made if c["name"] not in (BAD, "c0")}
    code = main(["batch", str(jobs), "--jobs", "2", *MODEL, "--resume", "--summary", str(sj), "-q"])
    assert code == 1
    assert first.read_bytes() == made[0]["ref"].read_bytes()
    for name, st in kept.items():
        now = (folder / "pool_out" / f"{name}.mkv").stat()
        assert (now.st_ino, now.st_mtime_ns) == (st.st_ino, st.st_mtime_ns), f"{name} was rewritten"
    s = json.loads(sj.read_text())
    assert {Path(r["output"]).stem: r["status"] for r in s["rows"]} == {"c0": "done", "c1": "skipped",
                                                                        BAD: "failed", "c3": "skipped"}


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed (pip install .[ray])")
def test_local_ray_matches_sequential_runs_and_names_the_bad_pair(clips, capsys):
    import ray

    folder, made = clips
    jobs = _jobs_csv(folder / "ray.csv", made, "ray_out")
    sj = folder / "ray.json"
    code = main(["batch", str(jobs), "--ray", "--jobs", "2", *MODEL, "--summary", str(sj), "-q"])
    err = capsys.readouterr().err
    assert code == 1, err
    s = _check_outputs_and_summary(folder, made, "ray_out", sj)
    assert s["engine"] == "Ray at local (2 CPUs)"
    assert not ray.is_initialized()  # the Ray it started for the batch is stopped


def test_unreachable_ray_address_is_one_line_exit_2_and_leaves_nothing(clips, capsys):
    folder, made = clips
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    jobs = _jobs_csv(folder / "noray.csv", made, "noray_out/deeper")
    summary = folder / "noray.json"
    before = sorted(p.name for p in folder.iterdir())
    code = main(["batch", str(jobs), "--ray", f"ray://127.0.0.1:{port}", *MODEL, "--summary", str(summary)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("igde-stream: error: --ray ray://127.0.0.1:") and "reach" in err
    assert sorted(p.name for p in folder.iterdir()) == before  # no output folder, no summary


@pytest.mark.parametrize("text, message", [
    ("color,depth\na.mp4,a.mkv\n", "no 'output' column"),
    ("color,depth,output,colour\na,b,c,d\n", "unknown column 'colour'"),
    ("color,depth,output\na.mp4,a.mkv,o.mkv\nb.mp4,b.mkv,o.mkv\n", "line 3: output o.mkv is also the output of line 2"),
    ("color,depth,output\na.mp4,,o.mkv\n", "line 2: no depth path"),
    ("color,depth,output\na.mp4,a.mkv,o.mkv,extra\n", "line 2: 4 cells for 3 columns"),
    ("# only a comment\n\n", "is empty"),
    ("color,depth,output\n", "lists no clips"),
])
def test_bad_job_list_is_one_line_exit_2_and_writes_nothing(tmp_path, capsys, text, message):
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(text)
    assert main(["batch", str(jobs), "--summary", str(tmp_path / "s.json")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"igde-stream: error: {jobs}: ") and message in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.csv"]


@pytest.mark.parametrize("extra, message", [
    (["--jobs", "0"], "--jobs must be >= 1"),
    (["--cpus-per-clip", "2"], "need --ray"),
    (["--resume", "-y"], "give one of them"),
    (["--summary", "s.txt"], "a summary is .json or .csv"),
    (["--model", "nowhere/m.onnx"], "no such model file"),
    # a name with no shipped file (a typo, an untrained variant): refused as the single run refuses it,
    # not one failed clip per line of the list
    (["--model", "igde-smal"], "igde-smal: cannot load the model: model 'igde-smal': not a file"),
    (["--model", "jobs.csv"], "jobs.csv: not a model file"),
    (["--batch", "0"], "--batch must be >= 1"),
])
def test_bad_options_are_one_line_exit_2(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    Path("jobs.csv").write_text("color,depth,output\na.mp4,a.mkv,out/o.mkv\n")
    try:
        code = main(["batch", "jobs.csv", *extra])
    except SystemExit as e:  # argparse's usage errors
        code = e.code
    assert code == 2 and message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jobs.csv"]


def test_folder_layout_pairs_by_name_and_reports_a_clip_without_partner(tmp_path):
    for sub, names in {"color": ["a.mp4", "b.mp4", "c.mp4", "c.mkv"], "depth": ["a.mkv", "b.mkv", "c.mkv", "d.mkv"],
                       "gt": ["a.mkv", ".hidden.mkv"]}.items():
        (tmp_path / sub).mkdir()
        for n in names:
            (tmp_path / sub / n).write_bytes(b"")
    (tmp_path / "depth" / ".b.igde-part-7.mkv").write_bytes(b"")  # hidden files are not clips
    jobs = {j.clip: j for j in read_jobs(tmp_path, output_ext=".mkv")}
    assert sorted(jobs) == ["a", "b", "c", "d"]
    a = jobs["a"]
    assert (a.color, a.depth, a.gt, a.output, a.problem) == (
        str(tmp_path / "color/a.mp4"), str(tmp_path / "depth/a.mkv"), str(tmp_path / "gt/a.mkv"),
        str(tmp_path / "enhanced/a.mkv"), None)
    assert jobs["b"].gt is None and jobs["b"].problem is None
    assert jobs["c"].problem == "2 color inputs named c: c.mkv, c.mp4"
    assert jobs["d"].problem == f"no color input named d.* in {tmp_path / 'color'}"
    assert read_jobs(tmp_path, tmp_path / "o", ".mp4")[0].output == str(tmp_path / "o/a.mp4")


def test_ctrl_c_stops_the_pool_and_leaves_no_partial_file(tmp_path):
    """A KeyboardInterrupt in the parent while a clip is being written: the workers are stopped, and
    the clip in progress removes its temporary output."""
    bad = _write_clips(tmp_path, n=3)[2]  # c2: the bad pair, fails at once
    colors, depths, _ = scene(720, (128, 96), 8, seed=1)  # long enough to be in progress under any load
    long = Job("long", str(write_video(tmp_path / "l.mp4", colors, fmt="rgb24")),
               str(write_video(tmp_path / "l.mkv", depths, fmt="gray")), str(tmp_path / "out" / "long.mkv"))
    (tmp_path / "out").mkdir()
    seen_part = []

    def interrupt(row, done, total):
        deadline = time.monotonic() + 60
        while not _parts(tmp_path / "out") and time.monotonic() < deadline:  # the long clip is being written
            time.sleep(0.02)
        seen_part.append(bool(_parts(tmp_path / "out")))
        raise KeyboardInterrupt

    before = set(multiprocessing.active_children())
    jobs = [Job("bad", str(bad["color"]), str(bad["depth"]), str(tmp_path / "out" / "bad.mkv")), long]
    with pytest.raises(KeyboardInterrupt):
        run_pool(jobs, {"model": "igde-small", "backend": "onnxruntime", "batch": 2}, 2, interrupt)
    assert seen_part == [True]
    assert not (set(multiprocessing.active_children()) - before)
    assert not _parts(tmp_path) and not (tmp_path / "out" / "long.mkv").exists()


def test_help_shows_the_enhance_options_and_the_exit_status(capsys):
    with pytest.raises(SystemExit) as e:
        main(["batch", "--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    for option in ("--jobs", "--ray", "--resume", "--summary", "--output-dir", "--model", "--backend", "--batch",
                   "--codec", "--sync", "--overwrite"):
        assert option in out
    assert "1 some clip failed" in out and "ray://" in out


def test_image_sequence_clips_take_the_input_options(tmp_path):
    """A clip of PNG folders (16-bit depth) goes through batch with --fps: the output has every frame,
    at that rate, at 16 bits."""
    import av
    import cv2

    colors, depths, _ = scene(3, (48, 32), 16, seed=3)
    for sub, frames in (("rgb", colors), ("d", depths)):
        (tmp_path / sub).mkdir()
        for i, f in enumerate(frames):
            cv2.imwrite(str(tmp_path / sub / f"{i:04d}.png"), f[..., ::-1] if f.ndim == 3 else f)
    (tmp_path / "jobs.csv").write_text("color,depth,output\nrgb,d,out/seq.mkv\n")
    assert main(["batch", str(tmp_path / "jobs.csv"), "--fps", "10", "--jobs", "1", *MODEL, "-q"]) == 0
    with av.open(str(tmp_path / "out" / "seq.mkv")) as c:
        s = c.streams.video[0]
        got = [f.to_ndarray() for f in c.decode(s)]
        assert s.average_rate == 10 and len(got) == 3 and got[0].dtype.name == "uint16"


def test_grid_color_reaches_every_clip(tmp_path):
    """--grid color --enlarge nearest in batch: the clip's half-size depth comes out at the colour's
    size, and as the single-file run of the same options writes it."""
    import av

    from igde_stream.stream import enhance_file

    colors, _, gts = scene(3, (64, 48), seed=4)
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", [g[::2, ::2].copy() for g in gts], fmt="gray")
    (tmp_path / "jobs.csv").write_text("color,depth,output\nc.mkv,d.mkv,out/o.mkv\n")
    args = ["--grid", "color", "--enlarge", "nearest", "--jobs", "1", *MODEL, "-q"]
    assert main(["batch", str(tmp_path / "jobs.csv"), *args]) == 0
    enhance_file(c, d, tmp_path / "single.mkv", grid="color", enlarge="nearest", model="igde-small",
                 backend="onnxruntime", batch=2)

    def frames(path):
        with av.open(str(path)) as f:
            return [x.to_ndarray() for x in f.decode(f.streams.video[0])]

    got, want = frames(tmp_path / "out" / "o.mkv"), frames(tmp_path / "single.mkv")
    assert len(got) == 3 and got[0].shape == (48, 64)
    for a, b in zip(got, want):
        assert (a == b).all()


def test_a_stopped_pool_leaves_no_partial_file_of_a_worker_that_died_first(tmp_path):
    """Ctrl-C while a worker dies without its own cleanup (killed at that moment, or stopped before
    its handler ran; under load the suite once saw `.long.igde-part-PID.mkv` left): the pool removes
    the stopped workers' partial files itself before it raises."""
    import os
    import signal

    colors, depths, _ = scene(720, (128, 96), 8, seed=1)
    (tmp_path / "out").mkdir()
    long = Job("long", str(write_video(tmp_path / "l.mp4", colors, fmt="rgb24")),
               str(write_video(tmp_path / "l.mkv", depths, fmt="gray")), str(tmp_path / "out" / "long.mkv"))
    before = set(multiprocessing.active_children())

    def interrupt(row, done, total):
        deadline = time.monotonic() + 60
        while not _parts(tmp_path / "out") and time.monotonic() < deadline:
            time.sleep(0.02)
        for p in set(multiprocessing.active_children()) - before:
            os.kill(p.pid, signal.SIGKILL)  # no handler, no cleanup of its own
            p.join(10)
        assert _parts(tmp_path / "out")  # the dead worker's file is there
        raise KeyboardInterrupt

    bad = Job("bad", long.color, str(tmp_path / "missing.mkv"), str(tmp_path / "out" / "bad.mkv"))
    with pytest.raises(KeyboardInterrupt):
        run_pool([bad, long], {"model": "igde-small", "backend": "onnxruntime", "batch": 2}, 1, interrupt)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []


def test_a_stopped_pool_starts_none_of_the_clips_queued_to_its_worker(tmp_path):
    """One worker, a long clip in progress and two short ones queued: on Ctrl-C the long clip stops and
    the queued ones never start (before: the pool handed the stopped worker its queued clips, which
    ran to the end and were written after the stop)."""
    made = _write_clips(tmp_path, n=2)
    colors, depths, _ = scene(720, (128, 96), 8, seed=1)
    (tmp_path / "out").mkdir()
    long = Job("long", str(write_video(tmp_path / "l.mp4", colors, fmt="rgb24")),
               str(write_video(tmp_path / "l.mkv", depths, fmt="gray")), str(tmp_path / "out" / "long.mkv"))
    quick = [Job(c["name"], str(c["color"]), str(c["depth"]), str(tmp_path / "out" / f"{c['name']}.mkv"))
             for c in made]
    bad = Job("bad", str(made[0]["color"]), str(tmp_path / "missing.mkv"), str(tmp_path / "out" / "bad.mkv"))

    def interrupt(row, done, total):
        deadline = time.monotonic() + 60
        while not _parts(tmp_path / "out") and time.monotonic() < deadline:
            time.sleep(0.02)
        raise KeyboardInterrupt

    before = set(multiprocessing.active_children())
    with pytest.raises(KeyboardInterrupt):
        run_pool([bad, long, *quick], {"model": "igde-small", "backend": "onnxruntime", "batch": 2}, 1, interrupt)
    time.sleep(1.0)  # a queued clip would be written within this (four frames)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == []
    assert not (set(multiprocessing.active_children()) - before)


def test_an_output_that_is_another_clips_input_stops_the_batch_before_anything_runs(tmp_path, capsys):
    made = _write_clips(tmp_path, n=2)
    c0, c1 = made
    (tmp_path / "jobs.csv").write_text(
        f"color,depth,output\n{c0['color'].name},{c0['depth'].name},{c1['depth'].name}\n"
        f"{c1['color'].name},{c1['depth'].name},out/c1.mkv\n")
    depth_bytes = c1["depth"].read_bytes()
    assert main(["batch", str(tmp_path / "jobs.csv"), "--jobs", "1", "-y", *MODEL, "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is the depth input of clip out/c1.mkv" in err[0], err
    assert c1["depth"].read_bytes() == depth_bytes and not (tmp_path / "out").exists()


@pytest.mark.parametrize("which", ["jobs", "depth", "output"])
def test_a_summary_that_would_replace_the_jobs_list_or_a_clips_file_is_refused(tmp_path, capsys, which):
    made = _write_clips(tmp_path, n=1)
    jobs = tmp_path / "jobs.csv"
    jobs.write_text(f"color,depth,output\n{made[0]['color'].name},{made[0]['depth'].name},out/c0.csv\n")
    target = {"jobs": jobs, "depth": made[0]["depth"], "output": tmp_path / "out" / "c0.csv"}[which]
    if which == "depth":  # a summary needs .json or .csv: a depth 'video' of that name
        target = made[0]["depth"].with_suffix(".csv")
        jobs.write_text(f"color,depth,output\n{made[0]['color'].name},{target.name},out/c0.mkv\n")
        target.write_bytes(made[0]["depth"].read_bytes())
    before = target.read_bytes() if target.exists() else None
    (tmp_path / "out").mkdir(exist_ok=True)
    assert main(["batch", str(jobs), "--summary", str(target), "--jobs", "1", *MODEL, "-q"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the summary would replace it" in err[0], err
    assert (target.read_bytes() if target.exists() else None) == before


def test_two_outputs_through_a_linked_folder_are_one_output(tmp_path):
    from igde_stream.errors import IGDEError

    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    (tmp_path / "jobs.csv").write_text("color,depth,output\na.mp4,a.mkv,real/o.mkv\nb.mp4,b.mkv,link/o.mkv\n")
    with pytest.raises(IGDEError, match="output link/o.mkv is also the output of line 2"):
        read_jobs(tmp_path / "jobs.csv")


@pytest.mark.parametrize("long_out", ["long.mkv", "long/%04d.png"])
def test_a_worker_that_dies_fails_its_clip_and_the_queued_clips_run_on_a_new_pool(tmp_path, long_out):
    """One worker, killed (SIGKILL, as the kernel's OOM killer does) while a long clip runs: that clip
    fails, naming the dead worker, its partial file (an image sequence's: its folder) is removed, and
    the clips queued behind it run on a new pool, bit for bit as alone (before: the broken pool failed
    every clip not yet reported, the unstarted ones too)."""
    import os
    import signal

    from igde_stream import enhance_file

    made = _write_clips(tmp_path, n=2)
    colors, depths, _ = scene(720, (128, 96), 8, seed=1)
    (tmp_path / "out").mkdir()
    long = Job("long", str(write_video(tmp_path / "l.mp4", colors, fmt="rgb24")),
               str(write_video(tmp_path / "l.mkv", depths, fmt="gray")), str(tmp_path / "out" / long_out))
    quick = [Job(c["name"], str(c["color"]), str(c["depth"]), str(tmp_path / "out" / f"{c['name']}.mkv"))
             for c in made]
    bad = Job("bad", str(made[0]["color"]), str(tmp_path / "missing.mkv"), str(tmp_path / "out" / "bad.mkv"))
    before = set(multiprocessing.active_children())
    killed = []

    def kill_during_long(row, done, total):
        if row["clip"] != "bad":
            return
        deadline = time.monotonic() + 60
        while not _parts(tmp_path / "out") and time.monotonic() < deadline:
            time.sleep(0.02)
        for p in set(multiprocessing.active_children()) - before:
            os.kill(p.pid, signal.SIGKILL)
            killed.append(p.pid)

    options = {"model": "igde-small", "backend": "onnxruntime", "batch": 2}
    rows = run_pool([bad, long, *quick], options, 1, kill_during_long)
    assert killed
    assert [r["clip"] for r in rows] == ["bad", "long", "c0", "c1"]
    assert rows[0]["status"] == "failed" and "missing.mkv" in rows[0]["error"]
    assert rows[1]["status"] == "failed" and rows[1]["error"].startswith("worker process died while this clip ran")
    assert [r["status"] for r in rows[2:]] == ["done", "done"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["c0.mkv", "c1.mkv"]
    for job in quick:
        single = tmp_path / f"single_{job.clip}.mkv"
        enhance_file(job.color, job.depth, single, quiet=True, **options)
        assert Path(job.output).read_bytes() == single.read_bytes()


def test_a_pool_of_many_clips_does_not_wait_on_its_own_record_of_started_clips():
    """Each clip's worker records its start in a pipe that the pool reads as it goes: a thousand clips
    with long output names (over 64 KiB of records) run to the end (read only at the end, the full
    pipe blocked a worker, and the batch hung for good). The clips fail at once, each with its problem."""
    import subprocess
    import sys

    code = (
        "from igde_stream.batch import Job, run_pool\n"
        "if __name__ == '__main__':\n"
        "    jobs = [Job(f'c{i}', None, None, '/nonexistent/' + 'x' * 180 + f'{i}.mkv', problem='no input')\n"
        "            for i in range(1000)]\n"
        "    rows = run_pool(jobs, {}, 2, lambda row, done, total: None)\n"
        "    print(len(rows), sum(r['error'] == 'no input' for r in rows))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["1000", "1000"]
