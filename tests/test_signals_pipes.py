"""Pipes and signals as a shell gives them: a pipe whose reader goes (``| head``, ``| true``), a
full disk (/dev/full), a signal while a read waits on stdin, the stopped command's message with
``-o -``, ``views`` under a signal, a killed run's partial view files, and other outputs inside an
image sequence's folder. Each ends in one line and its documented exit status, with no traceback
and nothing half-written."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction

import numpy as np
import pytest
from conftest import scene, write_video

from igde_stream import cli, signals
from igde_stream.errors import OutputError
from igde_stream.stream import enhance_file
from igde_stream.stream.report import PsnrReport
from igde_stream.stream.writer import temp_path


@pytest.fixture
def clip(tmp_path):
    colors, depths, gts = scene(12, (64, 48))
    return {"color": write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1"),
            "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray"),
            "nut": write_video(tmp_path / "d.nut", depths, fmt="gray")}


def _cmd(tiny_model, *args):
    return [sys.executable, "-m", "igde_stream", *map(str, args), "--model", str(tiny_model), "--backend", "torch"]


def _no_traceback(err):
    assert "Traceback" not in err and "Exception ignored" not in err, err


def test_a_pipe_closed_by_its_reader_is_one_line_and_exit_2(tmp_path, tiny_model):
    # an output several times the pipe's buffer (64 KiB): noise, which FFV1 cannot shrink. With the small
    # clip of the other tests the whole output could fit in the buffer before the reader went, and the
    # run then ended 0 (seen on an idle machine)
    rng = np.random.default_rng(1)
    c = write_video(tmp_path / "c.mkv", [rng.integers(0, 256, (240, 320, 3), np.uint8) for _ in range(8)],
                    fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", [rng.integers(0, 256, (240, 320), np.uint8) for _ in range(8)], fmt="gray")
    p = subprocess.Popen(_cmd(tiny_model, c, d, "-o", "-", "-q"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.read(200)  # what `| head -c 200` reads, then it goes
    p.stdout.close()
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 2
    _no_traceback(err)
    assert err.strip().startswith("igde-stream: error: -: the reader of the pipe closed it after")


def test_a_summary_nobody_reads_is_no_error_once_the_outputs_are_written(clip, tiny_model, tmp_path):
    out = tmp_path / "o.mkv"
    p = subprocess.Popen(_cmd(tiny_model, clip["color"], clip["depth"], "-o", out), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    p.stdout.close()  # `| true`
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 0
    _no_traceback(err)
    assert out.exists()


@pytest.mark.parametrize("views", [False, True])
def test_a_log_nobody_reads_is_no_error(clip, tiny_model, tmp_path, views):
    """``igde-stream ... 2>&1 | head -c 100``: the backend line to a stderr whose reader has gone failed
    the run ("cannot load the model: [Errno 32] Broken pipe", exit 2, no output; ``views quality
    --enhance``: a traceback). The log is no part of the outputs: they are written, exit 0."""
    out = tmp_path / ("v.json" if views else "o.mkv")
    args = (["views", "quality", clip["color"], "--gt", clip["depth"], "--depth", f"d={clip['depth']}",
             "--enhance", "d", "--report", out] if views else [clip["color"], clip["depth"], "-o", out])
    p = subprocess.Popen(_cmd(tiny_model, *args), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stderr.close()  # gone before the first line
    said = p.stdout.read().decode()
    assert p.wait(timeout=120) == 0
    assert out.exists() and ("| **mean** |" if views else "wrote ") in said


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
def test_a_full_disk_under_stdout_is_one_line(clip, tiny_model):
    with open("/dev/full", "wb") as full:
        r = subprocess.run(_cmd(tiny_model, clip["color"], clip["depth"], "-o", "-", "-q"), stdout=full,
                           stderr=subprocess.PIPE, timeout=120)
    err = r.stderr.decode()
    assert r.returncode == 2
    _no_traceback(err)
    assert "No space left on device" in err and len(err.strip().splitlines()) == 1


def test_a_full_disk_at_the_files_end_is_an_output_error(tmp_path, monkeypatch):
    """The last packets and the index are written when the file is closed: a failure there (ENOSPC)
    is an OutputError naming the file, and the temporary file goes with the abort."""
    from igde_stream.stream import DepthWriter
    from test_stream_roundtrip import depth_info

    w = DepthWriter(tmp_path / "o.mkv", depth_info(Fraction(25), "gray", size=(64, 48)))
    w.write(np.zeros((48, 64), np.uint8), None)
    real = w.container

    class Full:
        def __getattr__(self, name):
            return getattr(real, name)

        def close(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    w.container = Full()
    with pytest.raises(OutputError, match="cannot finish the file: No space left on device"):
        w.close()
    real.close()
    w.abort()
    assert not list(tmp_path.iterdir())


def test_a_report_whose_row_file_cannot_flush_closes_quietly():
    rep = PsnrReport(255.0)

    class Full:
        def close(self):
            raise OSError(errno.ENOSPC, "No space left on device")

    rep._spool.close()
    rep._spool = Full()
    rep.close()  # the run's own error was said already: no second one from the cleanup


def _wait_then(p, sig, delay):
    time.sleep(delay)
    p.send_signal(sig)
    t0 = time.monotonic()
    try:
        code = p.wait(timeout=20)
    finally:
        p.kill()
    return code, time.monotonic() - t0, p.stderr.read().decode()


@pytest.mark.parametrize("sig, code, said", [(signal.SIGTERM, 143, "terminated (SIGTERM)"),
                                             (signal.SIGINT, 130, "interrupted")])
def test_a_signal_while_waiting_on_stdin_ends_the_run(clip, tiny_model, tmp_path, sig, code, said):
    """stdin open but silent (a live source that has not started): before, SIGTERM was swallowed by
    PyAV's read callback, ignored from then on, and the run waited for the pipe."""
    p = subprocess.Popen(_cmd(tiny_model, clip["color"], "-", "-o", tmp_path / "o.mkv"), stdin=subprocess.PIPE,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    got, took, err = _wait_then(p, sig, 6.0)
    p.stdin.close()
    assert got == code and took < 10, err
    _no_traceback(err)
    assert f"igde-stream: {said}; no output written" in err
    assert not list(tmp_path.glob("*o.*"))


def test_a_signal_while_a_reader_thread_waits_on_stdin_mid_stream(clip, tiny_model, tmp_path):
    data = clip["nut"].read_bytes()
    p = subprocess.Popen(_cmd(tiny_model, clip["color"], "-", "-o", tmp_path / "o.mkv", "--pair", "nearest"),
                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    p.stdin.write(data[: len(data) // 2])  # half the stream, then the source stalls
    p.stdin.flush()
    got, took, err = _wait_then(p, signal.SIGTERM, 8.0)
    p.stdin.close()
    assert got == 143 and took < 12, err
    _no_traceback(err)
    assert not list(tmp_path.glob("*o.*"))


def test_a_stopped_run_on_stdout_says_the_stream_was_cut(monkeypatch, capsys, tmp_path):
    def stop(args):
        raise signals.Terminated

    monkeypatch.setattr(cli, "_run", stop)
    assert cli.main(["c.mkv", "d.mkv", "-o", "-"]) == 143
    assert "the depth stream on stdout ends where it was cut" in capsys.readouterr().err
    assert cli.main(["c.mkv", "d.mkv", "-o", str(tmp_path / "o.mkv")]) == 143
    assert capsys.readouterr().err.strip() == "igde-stream: terminated (SIGTERM); no output written"


@pytest.mark.parametrize("exc, code, said", [(signals.Terminated, 143, "terminated (SIGTERM)"),
                                             (KeyboardInterrupt, 130, "interrupted")])
def test_views_commands_stopped_by_a_signal_say_so_in_one_line(monkeypatch, capsys, exc, code, said):
    from igde_stream import views_cli

    def stop(*a, **k):
        raise exc()

    monkeypatch.setattr(views_cli, "render_file", stop)
    assert views_cli.main(["render", "c.mkv", "d.mkv", "-o", "v.mkv"]) == code
    assert capsys.readouterr().err.strip() == f"igde-stream views: {said}; no output written"


def test_a_killed_runs_partial_view_files_go_with_the_next_run(clip, tiny_model, tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = [temp_path(tmp_path / "v.mkv", dead.pid), temp_path(tmp_path / "rg.mkv", dead.pid)]
    for s in stale:
        s.write_bytes(b"partial")
    r = subprocess.run(_cmd(tiny_model, clip["color"], clip["depth"], "-o", tmp_path / "o.mkv", "--views-out",
                            tmp_path / "v.mkv", "--rgbd-out", tmp_path / "rg.mkv", "-q"), capture_output=True)
    assert r.returncode == 0, r.stderr
    assert not any(s.exists() for s in stale)


def test_another_output_inside_the_sequence_folder_is_refused_first(clip, tiny_model, tmp_path):
    for extra in ({"views_path": tmp_path / "seq" / "v.mkv"},
                  {"gt_path": clip["depth"], "report_path": tmp_path / "seq" / "r.json"}):
        with pytest.raises(OutputError, match="the folder of the image sequence %06d.png, which the run writes"):
            enhance_file(clip["color"], clip["depth"], tmp_path / "seq" / "%06d.png", model=tiny_model,
                         backend="torch", **extra)
        assert not (tmp_path / "seq").exists()


def test_stdin_redirected_from_a_file_seeks(tmp_path, tiny_model):
    """`< depth.mp4`: an MP4 with its index at the end needs seeking, which a redirected file allows."""
    colors, depths, _ = scene(6, (64, 48))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mp4", depths, fmt="yuv420p", codec="libx264")
    with open(d, "rb") as f:
        r = subprocess.run(_cmd(tiny_model, c, "-", "-o", tmp_path / "o.mkv", "-q"), stdin=f, capture_output=True,
                           timeout=120)
    assert r.returncode == 0, r.stderr.decode()
    assert (tmp_path / "o.mkv").exists()


def test_a_short_run_into_a_stdout_nobody_reads_ends_on_sigterm(tmp_path, tiny_model):
    """The pairing is done and the main thread waits for a writer blocked on the full pipe: the
    signal lands in that wait, and the writer's file is not closed under it (it hung before)."""
    rng = np.random.default_rng(0)
    colors = [rng.integers(0, 256, (240, 320, 3), np.uint8) for _ in range(6)]
    depths = [rng.integers(0, 256, (240, 320), np.uint8) for _ in range(6)]  # noise: FFV1 cannot shrink it
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d = write_video(tmp_path / "d.mkv", depths, fmt="gray")
    p = subprocess.Popen(_cmd(tiny_model, c, d, "-o", "-", "-q"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    got, took, err = _wait_then(p, signal.SIGTERM, 10.0)
    p.stdout.close()
    assert got == 143 and took < 10, err
    _no_traceback(err)


def test_a_line_to_a_closed_stderr_leaves_stdout_alone():
    """``say(..., err=True)`` with stderr's reader gone keeps stdout, which may be the output (-o -):
    before, it pointed stdout at /dev/null, and the rest of a piped output was lost."""
    code = ("import sys; from igde_stream.signals import say; "
            "ok = say('to the log', err=True); sys.stdout.write(f'stdout still here {ok}'); sys.stdout.flush()")
    r, w = os.pipe()
    os.close(r)  # stderr's reader has gone
    try:
        out = subprocess.run([sys.executable, "-c", code], stderr=w, stdout=subprocess.PIPE, timeout=60).stdout
    finally:
        os.close(w)
    assert out == b"stdout still here False"


def test_a_line_to_a_stderr_closed_at_start_goes_nowhere():
    """``2>&-``: Python has no sys.stderr, and print(file=None) would write the line into stdout, the
    output with -o -; say(err=True) drops it."""
    code = ("import sys; from igde_stream.signals import say; "
            "ok = say('to the log', err=True); sys.stdout.write(f'stdout {ok}'); sys.stdout.flush()")
    out = subprocess.run(f'"{sys.executable}" -c "{code}" 2>&-', shell=True, stdout=subprocess.PIPE,
                         timeout=60).stdout
    assert out == b"stdout False"
