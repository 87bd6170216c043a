"""``igde-stream batch``: the default pool size, the Ray resource bounds, the exit codes of a stopped
batch and what reaches ``run_batch``, from mutation survivors of batch_cli.py (each of these could change
with every test passing). Expected values by hand."""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path

import pytest

import igde_stream.batch_cli as bc
from igde_stream.cli import main


@pytest.mark.parametrize("cpus,workers", [(None, 1), (1, 1), (2, 1), (3, 1), (4, 2), (7, 3), (8, 4), (64, 4)])
def test_default_pool_is_half_the_cpus_from_1_to_4(monkeypatch, cpus, workers):
    monkeypatch.setattr("os.cpu_count", lambda: cpus)
    monkeypatch.delattr("os.sched_getaffinity", raising=False)  # a platform without affinity: the CPU count
    try:
        assert importlib.reload(bc).DEFAULT_WORKERS == workers
    finally:
        monkeypatch.undo()
        importlib.reload(bc)


@pytest.mark.parametrize("extra,message", [
    (["--ray", "local", "--cpus-per-clip", "0"], "--cpus-per-clip must be > 0, got 0"),
    (["--ray", "local", "--cpus-per-clip", "-1"], "--cpus-per-clip must be > 0, got -1"),
    (["--ray", "local", "--gpus-per-clip", "-0.5"], "--gpus-per-clip must be >= 0, got -0.5"),
])
def test_ray_resources_out_of_range_are_refused(tmp_path, capsys, monkeypatch, extra, message):
    monkeypatch.chdir(tmp_path)
    Path("jobs.csv").write_text("color,depth,output\na.mp4,a.mkv,out/o.mkv\n")
    with pytest.raises(SystemExit) as e:
        main(["batch", "jobs.csv", *extra])
    assert e.value.code == 2 and message in capsys.readouterr().err


def _stub_jobs(tmp_path, monkeypatch, run_batch):
    """A job list whose files need not exist: ``read_jobs`` and ``check_outputs`` as the batch calls
    them, ``run_batch`` replaced."""
    import igde_stream.batch as batch

    monkeypatch.chdir(tmp_path)
    Path("jobs.csv").write_text("color,depth,output\na.mp4,a.mkv,out/o.mkv\n")
    monkeypatch.setattr(batch, "run_batch", run_batch)


@pytest.mark.parametrize("ray,gpus,want", [(None, [], (1, 0)), ("local", ["--gpus-per-clip", "0"], (1, 0)),
                                           ("local", ["--cpus-per-clip", "3", "--gpus-per-clip", "0.5"], (3, 0.5)),
                                           ("local", ["--cpus-per-clip", "0.5"], (0.5, 0))])  # Ray takes fractions
def test_ray_resources_reach_run_batch_with_their_defaults(tmp_path, monkeypatch, ray, gpus, want):
    seen = {}

    def run_batch(jobs, options, *, workers, ray, cpus_per_clip, gpus_per_clip, skip, on_row):
        seen.update(workers=workers, ray=ray, resources=(cpus_per_clip, gpus_per_clip))
        return [], "stub"

    _stub_jobs(tmp_path, monkeypatch, run_batch)
    argv = ["batch", "jobs.csv", "--jobs", "3", "-q", *(["--ray", ray] if ray else []), *gpus]
    assert main(argv) == 0
    assert seen == {"workers": 3, "ray": ray, "resources": want}


def test_summary_seconds_are_the_batch_wall_time(tmp_path, monkeypatch):
    def run_batch(jobs, options, **kw):
        time.sleep(0.3)
        return [], "stub"

    _stub_jobs(tmp_path, monkeypatch, run_batch)
    t0 = time.perf_counter()
    assert main(["batch", "jobs.csv", "-q", "--summary", "s.json"]) == 0
    wall = time.perf_counter() - t0
    seconds = json.loads(Path("s.json").read_text())["seconds"]
    assert 0.3 <= seconds <= wall and round(seconds, 3) == seconds


@pytest.mark.parametrize("exc,code,said", [(bc.Terminated, 143, "terminated (SIGTERM)"),
                                           (KeyboardInterrupt, 130, "interrupted")])
def test_a_stopped_batch_exits_with_the_signal_status(tmp_path, monkeypatch, capsys, exc, code, said):
    def run_batch(jobs, options, **kw):
        raise exc()

    _stub_jobs(tmp_path, monkeypatch, run_batch)
    assert main(["batch", "jobs.csv", "-q"]) == code
    assert said in capsys.readouterr().err


def test_help_names_every_csv_column(capsys):
    """``batch --help`` lists the CSV columns that read_jobs takes (docs/batch.md): the optional
    ``start`` and ``to`` of a clip's span too, for plain and packed lists."""
    with pytest.raises(SystemExit) as exc:
        main(["batch", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "header color,depth,output[,gt][,clip][,start][,to]" in text
    assert "--packed: input,output[,gt][,clip][,start][,to]" in text


@pytest.mark.parametrize("interval", [0.0, 3600.0])
def test_the_summaries_follow_the_clips_as_they_end(tmp_path, monkeypatch, interval):
    """A batch killed outright (SIGKILL, the OOM killer) gets no chance to write its summaries at the
    end: they are rewritten as clips end (at most every ``INTERIM_SECONDS``), the clips not ended yet
    ``pending`` and the header ``running``; the end's write has neither."""
    import csv

    import igde_stream.batch as batch

    monkeypatch.setattr(bc, "INTERIM_SECONDS", interval)
    seen = []

    def run_batch(jobs, options, *, on_row, **kw):
        rows = []
        for i, j in enumerate(jobs):
            rows.append({**batch.summary_row(j, "done" if i != 1 else "failed"), "error": "x" if i == 1 else None,
                         "frames": 3, "seconds": 0.5})
            on_row(rows[-1], i + 1, len(jobs))
            js = json.loads(Path("s.json").read_text()) if Path("s.json").exists() else None
            cs = None
            if Path("s.csv").exists():
                with open("s.csv", newline="") as f:
                    cs = [r["status"] for r in csv.DictReader(f)]
            seen.append((js, cs))
        return rows, "stub"

    monkeypatch.chdir(tmp_path)
    Path("jobs.csv").write_text("color,depth,output\n" + "".join(f"c{i}.mp4,d{i}.mkv,out/o{i}.mkv\n" for i in range(4)))
    monkeypatch.setattr(batch, "run_batch", run_batch)
    assert main(["batch", "jobs.csv", "--summary", "s.json", "--summary", "s.csv", "-q"]) == 1
    if interval:  # quick clips: nothing before the end
        assert seen == [(None, None)] * 4
    else:
        want = [["done", "pending", "pending", "pending"], ["done", "failed", "pending", "pending"],
                ["done", "failed", "done", "pending"]]
        for (js, cs), statuses in zip(seen[:3], want):
            assert [r["status"] for r in js["rows"]] == statuses == cs
            assert js["running"] is True and js["pending"] == statuses.count("pending")
            assert js["done"] == statuses.count("done") and js["failed"] == statuses.count("failed")
            assert all(r["error"] == "not finished yet: the batch is running"
                       for r in js["rows"] if r["status"] == "pending")
        assert seen[3] == seen[2]  # the last clip: the end's write follows, not an interim one
    final = json.loads(Path("s.json").read_text())
    assert "running" not in final and "pending" not in final
    assert [r["status"] for r in final["rows"]] == ["done", "failed", "done", "done"]
    with open("s.csv", newline="") as f:
        assert [r["status"] for r in csv.DictReader(f)] == ["done", "failed", "done", "done"]


def test_a_summary_that_cannot_be_written_while_running_is_said_once(tmp_path, monkeypatch, capsys):
    import igde_stream.batch as batch
    import igde_stream.batch_jobs as bj
    from igde_stream.errors import OutputError

    monkeypatch.setattr(bc, "INTERIM_SECONDS", 0.0)
    calls = []
    real = bj.write_summary

    def flaky(rows, path, header):  # the share is away while the batch runs, back at its end
        calls.append(header.get("running", False))
        if header.get("running"):
            raise OutputError("cannot write the summary: Stale file handle", path)
        real(rows, path, header)

    monkeypatch.setattr(batch, "write_summary", flaky)

    def run_batch(jobs, options, *, on_row, **kw):
        rows = [{**batch.summary_row(j, "done"), "error": None, "frames": 3, "seconds": 0.5} for j in jobs]
        for i, r in enumerate(rows):
            on_row(r, i + 1, len(rows))
        return rows, "stub"

    monkeypatch.chdir(tmp_path)
    Path("jobs.csv").write_text("color,depth,output\n" + "".join(f"c{i}.mp4,d{i}.mkv,out/o{i}.mkv\n" for i in range(4)))
    monkeypatch.setattr(batch, "run_batch", run_batch)
    assert main(["batch", "jobs.csv", "--summary", "s.json"]) == 0
    assert calls == [True, True, True, False]  # three interim tries, then the end's
    said = [line for line in capsys.readouterr().err.splitlines() if "Stale file handle" in line]
    assert len(said) == 1 and "written again when the batch ends" in said[0]
    assert json.loads(Path("s.json").read_text())["done"] == 4


def test_resume_says_when_the_earlier_summary_ran_with_other_options(tmp_path, monkeypatch, capsys):
    """--resume skips outputs by name; the earlier batch's JSON summary says its options: a rerun with
    others is warned, naming each option's two values; the same options say nothing."""
    import igde_stream.batch as batch

    def run_batch(jobs, options, *, on_row, skip, **kw):
        rows = []
        for i, j in enumerate(jobs):
            if j in skip:
                rows.append({**batch.summary_row(j, "skipped"), "error": None})
                continue
            Path(j.output).write_bytes(b"x")
            rows.append({**batch.summary_row(j, "done"), "error": None, "frames": 3, "seconds": 0.5})
            on_row(rows[-1], i + 1, len(jobs))
        return rows, "stub"

    monkeypatch.chdir(tmp_path)
    Path("out").mkdir()
    Path("jobs.csv").write_text("color,depth,output\nc0.mp4,d0.mkv,out/o0.mkv\nc1.mp4,d1.mkv,out/o1.mkv\n")
    monkeypatch.setattr(batch, "run_batch", run_batch)
    assert main(["batch", "jobs.csv", "--summary", "s.json", "--max-depth", "200"]) == 0
    capsys.readouterr()
    assert main(["batch", "jobs.csv", "--summary", "s.json", "--resume", "--max-depth", "200"]) == 0
    assert "other options" not in capsys.readouterr().err  # the same options
    Path("out/o1.mkv").unlink()
    assert main(["batch", "jobs.csv", "--summary", "s.json", "--resume", "--max-depth", "180",
                 "--hole-fill", "off"]) == 0
    err = [line for line in capsys.readouterr().err.splitlines() if "other options" in line]
    assert len(err) == 1, err
    assert "s.json says its batch ran with other options" in err[0]
    assert "max_depth: 200.0 then, 180.0 now" in err[0] and "hole_fill: null then, false now" in err[0]
    assert "the 1 clip skipped keeps an output made with those (rerun it with -y)" in err[0]
