"""The igde-stream command: help, version, exit codes, one-line errors, Ctrl-C, --demo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from igde_stream import __version__
from igde_stream.cli import main


def args_for(clip, model, *extra):
    return [str(clip["color"]), str(clip["depth"]), "-o", str(clip["out"]), "--model", str(model),
            "--backend", "torch", *map(str, extra)]


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"igde-stream {__version__}"


def test_help_shows_examples(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    assert "examples:" in out and "igde-stream --demo demo/" in out
    for option in ("--gt", "--report", "--plot", "--model", "--backend", "--engine", "--batch", "--device",
                   "--max-depth", "--codec", "--threads", "--quiet", "--overwrite", "--version", "--demo", "--sync"):
        assert option in out


def test_help_names_the_models_that_load_by_name(capsys):
    """--model takes the shipped models by name (igde-small, igde-small-hq), not every registered
    architecture (igde-tiny, decnn-small, ... have no weights and are refused)."""
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "shipped model (igde-small, igde-small-hq)" in out and "registered model name" not in out


def test_missing_arguments_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["only_one.mp4"])
    assert e.value.code == 2 and "required" in capsys.readouterr().err


def test_run_prints_summary_and_writes_reports(make_clip, tiny_model, tmp_path, capsys):
    clip = make_clip(n=6, gt_frames=4)
    rj, rc, png = tmp_path / "r.json", tmp_path / "r.csv", tmp_path / "p.png"
    code = main(args_for(clip, tiny_model, "--gt", clip["gt"], "--report", rj, "--report", rc, "--plot", png))
    out = capsys.readouterr().out
    assert code == 0
    assert "wrote" in out and "ffv1 (lossless)" in out and "PSNR" in out and "2 unmatched" in out
    assert json.loads(rj.read_text())["summary"]["frames"] == 6
    assert rc.read_text().count("\n") == 7 and png.exists() and clip["out"].exists()


def test_quiet_prints_nothing(make_clip, tiny_model, capsys):
    assert main(args_for(make_clip(n=4), tiny_model, "--quiet")) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_user_error_is_one_line_with_the_file_and_exit_2(make_clip, tiny_model, tmp_path, capsys):
    clip = make_clip(n=4)
    fake = tmp_path / "fake.mp4"
    fake.write_text("not a video")
    code = main([str(fake), str(clip["depth"]), "-o", str(clip["out"]), "--model", str(tiny_model), "-q"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith(f"igde-stream: error: {fake}: not a video file")
    assert "Traceback" not in err and not clip["out"].exists()


def test_existing_output_needs_y(make_clip, tiny_model, capsys):
    clip = make_clip(n=4)
    clip["out"].write_bytes(b"old")
    assert main(args_for(clip, tiny_model, "-q")) == 2
    assert "already exists (use -y" in capsys.readouterr().err and clip["out"].read_bytes() == b"old"
    assert main(args_for(clip, tiny_model, "-q", "-y")) == 0 and clip["out"].read_bytes() != b"old"


def test_ctrl_c_exits_130_and_leaves_nothing(make_clip, tiny_model, monkeypatch, capsys, sigint_raises):
    import signal

    from igde_stream.enhancer import Enhancer

    real = Enhancer.enhance
    calls = []

    def interrupted(self, color, depth):
        calls.append(1)
        if len(calls) == 2:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to the main thread
            import time

            time.sleep(5)
        return real(self, color, depth)

    monkeypatch.setattr(Enhancer, "enhance", interrupted)
    clip = make_clip(n=8)
    assert main(args_for(clip, tiny_model, "-q", "--batch", 2)) == 130
    assert "interrupted" in capsys.readouterr().err
    assert not clip["out"].exists() and not [p for p in clip["out"].parent.iterdir() if "igde-part" in p.name]


def test_demo_runs_the_whole_job(tmp_path, tiny_model, monkeypatch, capsys):
    import igde_stream.data as igde_stream_data

    real = igde_stream_data.write_clip
    monkeypatch.setattr(igde_stream_data, "write_clip", lambda d, **kw: real(d, **{**kw, "frames": 6, "size": (64, 48)}))
    demo = tmp_path / "demo"
    assert main(["--demo", str(demo), "--model", str(tiny_model), "--backend", "torch"]) == 0
    assert "PSNR" in capsys.readouterr().out
    for name in ("color.mp4", "depth.mkv", "gt.mkv", "depth_enhanced.mkv", "report.json", "report.csv", "psnr.png"):
        assert (demo / name).exists(), name
    assert main(["--demo", str(demo), "--model", str(tiny_model), "--backend", "torch", "-q"]) == 0  # rerun replaces


@pytest.mark.parametrize("extra, mine", [
    (["--views-out", "v.mkv", "--layout", "views", "--views", "2"], "v_v1.mkv"),
    (["--rgbd-out", "r.mkv"], "r.mkv"),
    (["--preview", "p.png"], "p.png"),
])
def test_demo_refuses_to_replace_the_users_own_outputs_without_y(tmp_path, tiny_model, monkeypatch, capsys,
                                                                  extra, mine):
    """The demo replaces the files it writes in DIR, but --views-out, --rgbd-out and --preview name the
    user's own files: an existing one is refused without -y (docs/multiview.md: "an existing file is
    refused unless -y"), in one line before anything is written; with -y it is replaced."""
    import igde_stream.data as igde_stream_data

    real = igde_stream_data.write_clip
    monkeypatch.setattr(igde_stream_data, "write_clip", lambda d, **kw: real(d, **{**kw, "frames": 3, "size": (64, 48)}))
    monkeypatch.chdir(tmp_path)
    (tmp_path / mine).write_bytes(b"the user's own file")
    demo = tmp_path / "demo"
    argv = ["--demo", str(demo), "--model", str(tiny_model), "--backend", "torch", "-q", *extra]
    assert main(argv) == 2
    assert f"{mine}: already exists (use -y / --overwrite to replace it)" in capsys.readouterr().err
    assert (tmp_path / mine).read_bytes() == b"the user's own file" and not demo.exists()
    assert main([*argv, "-y"]) == 0
    assert (tmp_path / mine).read_bytes() != b"the user's own file"


@pytest.mark.parametrize("mine", ["color.mp4", "report.json", "preview.png"])
def test_demo_does_not_replace_the_users_files_in_an_existing_folder(tmp_path, tiny_model, monkeypatch, capsys,
                                                                    mine):
    """`--demo .` in a folder of the user's own videos: a file of the demo's names there that no earlier
    demo wrote (no demo's data.json beside it) is refused in one line, before anything is written; a
    rerun into the demo's own folder replaces (test above); -y replaces them."""
    import igde_stream.data as igde_stream_data

    real = igde_stream_data.write_clip
    monkeypatch.setattr(igde_stream_data, "write_clip", lambda d, **kw: real(d, **{**kw, "frames": 3, "size": (64, 48)}))
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / mine).write_bytes(b"the user's own file")
    argv = ["--demo", str(folder), "--model", str(tiny_model), "--backend", "torch", "-q"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{folder / mine}: already exists" in err and "-y / --overwrite" in err
    assert (folder / mine).read_bytes() == b"the user's own file" and [p.name for p in folder.iterdir()] == [mine]
    (folder / "data.json").write_text('{"generator": "something else"}')  # not a demo's record
    assert main(argv) == 2 and (folder / mine).read_bytes() == b"the user's own file"
    capsys.readouterr()
    assert main([*argv, "-y"]) == 0 and (folder / mine).read_bytes() != b"the user's own file"
    assert main(argv) == 0  # now the demo's own folder: a rerun replaces


def test_python_m_entry_point():
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-m", "igde_stream", "--version"], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == f"igde-stream {__version__}"


@pytest.mark.parametrize("extra, match", [
    (["--device", "gpu"], "--device must be cpu, cuda or cuda:N"),
    (["--engine", "x.engine", "--backend", "onnxruntime"], "needs --backend tensorrt or auto"),
    (["--precision", "fp16", "--backend", "onnxruntime"], "ONNX Runtime runs the ONNX file as it is"),
    (["--max-depth", "inf"], "finite number > 0"),
    (["--max-depth", "nan"], "finite number > 0"),
    (["--max-depth", "70000"], "above the largest depth"),
    (["--threads", "-3"], "--threads must be >= 0"),
    (["--threads", "9999999999"], "--threads must be at most 1024"),  # was an OverflowError traceback in PyAV
    (["--threads", "100000"], "--threads must be at most 1024"),  # was blamed on the colour input (decode failed)
    (["--threads", "1025"], "--threads must be at most 1024, got 1025"),  # the first number over
])
def test_option_errors_before_any_input_is_opened(tmp_path, capsys, extra, match):
    from igde_stream.cli import main

    with pytest.raises(SystemExit) as exc:
        main([str(tmp_path / "missing_c.mp4"), str(tmp_path / "missing_d.mkv"), "-o", str(tmp_path / "o.mkv"), *extra])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and match in err and "missing" not in err
    assert not (tmp_path / "o.mkv").exists()


def test_threads_at_the_limit_passes_the_option_checks(tmp_path, capsys):
    from igde_stream.cli import main

    assert main([str(tmp_path / "missing_c.mp4"), str(tmp_path / "missing_d.mkv"), "-o", str(tmp_path / "o.mkv"),
                 "--threads", "1024"]) == 2
    err = capsys.readouterr().err
    assert "--threads" not in err and "missing_" in err and "no such file" in err  # on to the inputs


def test_demo_refuses_options_it_would_ignore(tmp_path, capsys):
    from igde_stream.cli import main

    with pytest.raises(SystemExit) as exc:
        main(["--demo", str(tmp_path / "d"), "--report", str(tmp_path / "r.json")])
    assert exc.value.code == 2 and "drop --gt, --report and --plot" in capsys.readouterr().err
    assert not (tmp_path / "d").exists()


def test_pair_arg_refuses_zero_and_negative_sizes():
    import argparse

    from igde_stream.cli import pair_arg

    assert pair_arg("960x540") == (960, 540)
    for bad in ("0x540", "960x-1"):
        with pytest.raises(argparse.ArgumentTypeError, match="positive"):
            pair_arg(bad)


@pytest.mark.parametrize("exc_name", ["EngineError", "EngineBuildError"])
def test_engine_errors_mid_stream_are_one_line(tmp_path, capsys, monkeypatch, exc_name):
    import igde_stream.engine as engine
    import igde_stream.stream as stream
    from igde_stream.errors import IGDEError

    exc_type = getattr(engine, exc_name)
    assert issubclass(exc_type, IGDEError)

    def boom(*a, **k):
        raise exc_type("TensorRT could not build the wider engine")

    monkeypatch.setattr(stream, "enhance_file", boom)
    code = main([str(tmp_path / "c.mp4"), str(tmp_path / "d.mkv"), "-o", str(tmp_path / "o.mkv")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "could not build" in err[0] and "Traceback" not in err[0]


def _late_depth_clip(tmp_path):
    """12 colour frames from 0 s and 12 depth frames from 0.300 s (9 frames later), 30 fps."""
    from fractions import Fraction

    from conftest import scene, write_video

    colors, depths, _ = scene(12)
    return {"color": write_video(tmp_path / "c.mp4", colors, fmt="rgb24", rate=Fraction(30)),
            "depth": write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(30), start=0.3),
            "out": tmp_path / "out.mkv"}


def test_sync_relative_pairs_late_depth_frame_by_frame_and_warns(tmp_path, tiny_model, capsys):
    clip = _late_depth_clip(tmp_path)
    assert main(args_for(clip, tiny_model, "--sync", "relative")) == 0
    captured = capsys.readouterr()
    assert "300.0 ms apart" in captured.err and "12 frames" in captured.out


def test_sync_absolute_refuses_frames_outside_the_overlap(tmp_path, tiny_model, capsys):
    clip = _late_depth_clip(tmp_path)
    assert main(args_for(clip, tiny_model, "--sync", "absolute", "-q")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "do not pair by timestamp" in err
    assert "frames 0 (0.000 s), 1 (0.033 s)" in err and "of the colour stream have no depth frame" in err
    assert "frames 3 (0.400 s), 4 (0.433 s)" in err and "of the depth stream have no colour frame" in err
    assert not clip["out"].exists() and not [p for p in tmp_path.iterdir() if "igde-part" in p.name]


def test_sync_option_reaches_the_readers(monkeypatch, tmp_path, tiny_model):
    from igde_stream.stream import pipeline

    seen = []
    real = pipeline.VideoReader

    def recording(*args, **kw):
        seen.append(kw.get("sync"))
        return real(*args, **kw)

    monkeypatch.setattr(pipeline, "VideoReader", recording)
    main(args_for(_late_depth_clip(tmp_path), tiny_model, "--sync", "absolute", "-q"))
    assert seen == ["absolute", "absolute"]


_SLOW_CLI = """
import sys, time
from igde_stream.enhancer import Enhancer

real = Enhancer.enhance

def slow(self, color, depth):  # about 0.3 s a batch: the run lasts long enough to be terminated
    time.sleep(0.3)
    return real(self, color, depth)

Enhancer.enhance = slow
from igde_stream.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_exits_143_and_leaves_no_partial_file(make_clip, tiny_model):
    import signal
    import time

    clip = make_clip(n=40)
    folder = clip["out"].parent
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_CLI, *args_for(clip, tiny_model, "-q", "--batch", 2)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 300
        while not [p for p in folder.iterdir() if "igde-part" in p.name]:  # the writer has started
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.02)
        time.sleep(1.0)  # a few batches in (20 batches: about 6 s in all)
        assert proc.poll() is None, "the run ended before it could be terminated"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "igde-stream: terminated (SIGTERM); no output written"
    assert "Traceback" not in err
    assert not clip["out"].exists() and not [p.name for p in folder.iterdir() if "igde-part" in p.name]
