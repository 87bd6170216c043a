"""``igde_stream.bench.batch`` (``tools/bench_batch.py``) by hand: the output comparison on tiny
clips, the CPU and wall seconds from stand-in clocks, each mode's figures and overheads against
the committed ``benchmarks/batch-cpu.json``, the table, the documented defaults (mutation campaign
60a). Stand-ins for the clips, the enhancer and the commands: no clip is enhanced, nothing timed."""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import types
from fractions import Fraction

import numpy as np
import pytest

from igde_stream.bench import batch

ROOT = pathlib.Path(__file__).resolve().parent.parent
COMMITTED = json.loads((ROOT / "benchmarks" / "batch-cpu.json").read_text())


def _gray_mkv(path: pathlib.Path, frames: list[np.ndarray], *, level: int = 1, rate: int = 25) -> pathlib.Path:
    import av

    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=rate, options={"level": str(level)})
        s.width, s.height, s.pix_fmt = frames[0].shape[1], frames[0].shape[0], "gray"
        s.time_base = s.codec_context.time_base = Fraction(1, rate)
        for i, img in enumerate(frames):
            f = av.VideoFrame.from_ndarray(img, format="gray")
            f.pts = i
            out.mux(s.encode(f))
        out.mux(s.encode())
    return path


def test_compare_tells_bytes_from_frames(tmp_path):
    frames = [np.full((16, 16), v, np.uint8) for v in (10, 200)]
    ref = _gray_mkv(tmp_path / "ref.mkv", frames)
    same = tmp_path / "same.mkv"
    same.write_bytes(ref.read_bytes())
    recoded = _gray_mkv(tmp_path / "recoded.mkv", frames, level=3)  # other bytes, same pixels and pts
    assert recoded.read_bytes() != ref.read_bytes()
    other = _gray_mkv(tmp_path / "other.mkv", [frames[0], frames[0]])
    later = _gray_mkv(tmp_path / "later.mkv", frames, rate=50)  # same pixels, shown 20 ms apart, not 40
    both = {"identical_bytes": True, "identical_frames": True}
    assert batch._compare([same], [ref]) == both
    assert batch._compare([same, same], [ref, ref]) == both
    assert batch._compare([recoded], [ref]) == {"identical_bytes": False, "identical_frames": True}
    assert batch._compare([other], [ref]) == {"identical_bytes": False, "identical_frames": False}
    assert batch._compare([same, other], [ref, ref]) == {"identical_bytes": False, "identical_frames": False}
    assert batch._compare([later], [ref])["identical_frames"] is False
    assert batch._compare([tmp_path / "missing.mkv"], [ref]) == {"identical_bytes": False, "identical_frames": False}


def test_cpu_is_user_plus_system_seconds(monkeypatch):
    seen = []
    monkeypatch.setattr(batch.resource, "getrusage",
                        lambda who: seen.append(who) or types.SimpleNamespace(ru_utime=3.0, ru_stime=0.5))
    assert batch._cpu(batch.resource.RUSAGE_CHILDREN) == 3.5 and seen == [batch.resource.RUSAGE_CHILDREN]


def _clock(values):
    it = iter(values)
    return types.SimpleNamespace(perf_counter=lambda: next(it), strftime=lambda fmt: "2026-12-06T00:00:00+0000")


def test_cli_gives_the_commands_wall_and_cpu_seconds(monkeypatch):
    ran = []
    monkeypatch.setattr(batch, "time", _clock([100.0, 104.25]))
    cpu = iter([10.0, 12.5])
    monkeypatch.setattr(batch, "_cpu", lambda who: next(cpu) if who == batch.resource.RUSAGE_CHILDREN else 1 / 0)
    monkeypatch.setattr(batch.subprocess, "run", lambda cmd, **kw: ran.append(cmd) or
                        subprocess.CompletedProcess(cmd, 0, "", ""))
    assert batch._cli("a.mp4", "b.mkv", "-o", "o.mkv") == (4.25, 2.5)
    assert ran == [[sys.executable, "-m", "igde_stream", "a.mp4", "b.mkv", "-o", "o.mkv"]]


def test_a_failed_command_raises_with_its_exit_status_and_stderr(monkeypatch):
    monkeypatch.setattr(batch.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, 2, "", "bad\n"))
    with pytest.raises(RuntimeError, match=r"^igde-stream batch jobs\.csv exited 2: bad\n$"):
        batch._cli("batch", "jobs.csv")


# run(): the committed figures of benchmarks/batch-cpu.json (8 clips), given back by the stand-ins
# with a few ten-thousandths more, so that every figure is rounded to 3 decimals by run() itself
RAW = {  # mode: (wall, cpu, clip seconds), committed +- a few ten-thousandths
    "sequential-api": (5.0613, 6.5478, 4.8801),
    "sequential-cli": (10.8877, 11.9771, None),
    "batch-j1": (6.8441, 7.4609, 5.8531),
    "batch-j2": (6.1441, 7.8616, 9.8271),
    "batch-ray": (13.7136, 3.2677, 13.1441),
}


@pytest.fixture
def stand_ins(monkeypatch, tmp_path):
    import igde_stream.data as data
    import igde_stream.stream as stream
    import igde_stream.stream.pipeline as pipeline

    n = COMMITTED["clips"]
    made, enhanced, commands, compared = [], [], [], []

    def write_clip(folder, *, frames, size, seed):
        made.append((folder.name, frames, size, seed))
        return {k: folder / f"{k}.x" for k in ("color", "depth")}

    monkeypatch.setattr(data, "write_clip", write_clip)
    monkeypatch.setattr(pipeline, "_make_enhancer", lambda opts: ("enhancer", opts))
    api_clip_s = [RAW["sequential-api"][2] / n] * n

    def enhance_file(color, depth, out, *, enhancer):
        enhanced.append((out, enhancer))
        return {"seconds": api_clip_s[len(enhanced) - 1]}

    monkeypatch.setattr(stream, "enhance_file", enhance_file)
    wall, cpu, clip = RAW["sequential-api"]
    monkeypatch.setattr(batch, "time", _clock([1000.0, 1000.0 + wall]))
    self_cpu = iter([20.0, 20.0 + cpu])
    monkeypatch.setattr(batch, "_cpu", lambda who: next(self_cpu))

    def cli(*args):
        commands.append(args)
        if args[0] != "batch":  # one clip of the shell loop: 1/8 of the loop's figures
            return RAW["sequential-cli"][0] / n, RAW["sequential-cli"][1] / n
        mode = pathlib.Path(args[1]).stem
        if mode == "batch-j3":
            raise RuntimeError("igde-stream batch exited 1: Traceback ...\n  ...\nOSError: no room")
        w, c, s = RAW[mode]
        rows = [{"seconds": s / n, "status": "done"} for _ in range(n)]
        pathlib.Path(args[args.index("--summary") + 1]).write_text(json.dumps({"rows": rows}))
        return w, c

    monkeypatch.setattr(batch, "_cli", cli)
    monkeypatch.setattr(batch, "_compare", lambda outs, refs: compared.append((outs, refs)) or
                        {"identical_bytes": True, "identical_frames": True})
    monkeypatch.setattr(batch.importlib.util, "find_spec", lambda name, *a: object() if name == "ray" else None)
    return types.SimpleNamespace(made=made, enhanced=enhanced, commands=commands, compared=compared)


def _args(jobs=(1, 2)):
    return argparse.Namespace(clips=COMMITTED["clips"], frames=COMMITTED["frames"], size=COMMITTED["size"],
                              model=COMMITTED["model"], backend=COMMITTED["backend"], batch=COMMITTED["batch"],
                              jobs=list(jobs), ray=True, argv=["--frames", "12"])


def test_run_gives_the_committed_figures_and_overheads(stand_ins, tmp_path):
    res = batch.run(_args(), tmp_path)
    assert list(res["modes"]) == list(COMMITTED["modes"])
    for mode, expected in COMMITTED["modes"].items():
        assert res["modes"][mode] == expected, mode
    for key in ("kind", "clips", "frames", "size", "model", "backend", "batch"):
        assert res[key] == COMMITTED[key], key


def test_run_makes_one_clip_a_seed_and_compares_every_mode_with_the_api_outputs(stand_ins, tmp_path):
    batch.run(_args(), tmp_path)
    n = COMMITTED["clips"]
    assert [m[:3] for m in stand_ins.made] == [(f"clip{i}", 12, (160, 96)) for i in range(n)]
    assert len({m[3] for m in stand_ins.made}) == n
    refs = [tmp_path / "sequential-api" / f"clip{i}.mkv" for i in range(n)]
    assert [o for o, _ in stand_ins.enhanced] == refs
    opts = {"model": "igde-small", "backend": "onnxruntime", "batch": 4, "quiet": True}
    assert all(e == ("enhancer", opts) for _, e in stand_ins.enhanced)  # one enhancer, made once
    modes = ["sequential-cli", "batch-j1", "batch-j2", "batch-ray"]
    assert stand_ins.compared == [([tmp_path / m / f"clip{i}.mkv" for i in range(n)], refs) for m in modes]
    clip0 = stand_ins.commands[0]
    assert clip0 == (str(tmp_path / "clip0" / "color.x"), str(tmp_path / "clip0" / "depth.x"), "-o",
                     str(tmp_path / "sequential-cli" / "clip0.mkv"), "--model", "igde-small", "--backend",
                     "onnxruntime", "--batch", "4", "-q")
    ray = stand_ins.commands[-1]
    assert ray[:5] == ("batch", str(tmp_path / "batch-ray.csv"), "--ray", "--jobs", "2")
    jobs = (tmp_path / "batch-j1.csv").read_text().splitlines()
    assert jobs[0] == "color,depth,output" and len(jobs) == n + 1
    folder0 = tmp_path / "clip0"
    assert jobs[1] == f"{folder0 / 'color.x'},{folder0 / 'depth.x'},{tmp_path / 'batch-j1' / 'clip0.mkv'}"


def test_a_failed_mode_keeps_the_last_line_of_its_error(stand_ins, tmp_path):
    res = batch.run(_args(jobs=(1, 3)), tmp_path)
    assert res["modes"]["batch-j3"] == {"error": "OSError: no room"}
    assert res["modes"]["batch-j1"] == COMMITTED["modes"]["batch-j1"]


def test_main_defaults_table_and_exit_0(monkeypatch, tmp_path, capsys):
    """Defaults: the docstring's ``--clips 8 --frames 16 --size 160x120 --jobs 1,2``; the committed
    run (``--frames 12 --size 160x96`` only) shows 8 clips and batch 4."""
    seen = []

    def run(args, work):
        seen.append(args)
        return {"modes": {**COMMITTED["modes"], "batch-j3": {"error": "OSError: no room"}}}

    monkeypatch.setattr(batch, "run", run)
    out = tmp_path / "b.json"
    assert batch.main(["--json", str(out)]) == 0
    (args,) = seen
    assert (args.clips, args.frames, args.size, args.jobs, args.ray) == (8, 16, "160x120", [1, 2], True)
    assert "--clips" not in COMMITTED["command"] and "--batch" not in COMMITTED["command"]
    assert (args.clips, args.batch) == (COMMITTED["clips"], COMMITTED["batch"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("mode" + " " * 12 + " " * 3 + "wall s" + " " * 2 + "vs api s" + " " * 2 + "vs cli s"
                        + " " * 2 + "x cli" + " " * 3 + "cpu s" + " " + "cpu vs api" + "  identical bytes / frames")
    # batch-j1: 6.844 s, 1.783 / -4.044 s over the api / the shell loop, x 1.591, 7.461 CPU s, 0.913 over the api
    assert lines[3] == ("batch-j1" + " " * 8 + " " * 5 + "6.84" + " " * 6 + "1.78" + " " * 5 + "-4.04" + " " * 3
                        + "1.59" + " " * 4 + "7.46" + " " * 7 + "0.91" + "  True / True")
    assert "batch-j3        failed: OSError: no room" in lines
    assert json.loads(out.read_text())["modes"]["batch-j1"] == COMMITTED["modes"]["batch-j1"]


def test_help_says_the_docstrings_first_paragraph(capsys):
    with pytest.raises(SystemExit) as exc:
        batch.main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert exc.value.code == 0
    assert "``igde-stream batch`` against sequential runs of the same clips, side by side in one run." in out
