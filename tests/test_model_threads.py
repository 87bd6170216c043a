"""``--model-threads N``: the model's CPU threads (ONNX Runtime's intra-op pool), apart from
``--threads`` (the decoder's and encoder's); the batch command's per-worker share gives way to it."""

from __future__ import annotations

from fractions import Fraction

import pytest

from conftest import scene, write_video
from test_cli_mistakes import run  # (exit status, stdout, stderr) of igde-stream ARGV


def _clip(tmp_path):
    colors, depths, _ = scene(2)
    return (write_video(tmp_path / "c.mkv", colors, fmt="rgb24", rate=Fraction(25)),
            write_video(tmp_path / "d.mkv", depths, fmt="gray", rate=Fraction(25)))


def test_the_model_runs_on_the_threads_given(tmp_path, capsys):
    """The backend line says the session's threads: 1 with --model-threads 1, ONNX Runtime's default
    without; --threads 3 beside it stays the codecs' (the output is written as without it)."""
    pytest.importorskip("onnxruntime")
    c, d = _clip(tmp_path)
    code, _, err = run([c, d, "-o", tmp_path / "o.mkv", "--backend", "onnxruntime", "--model-threads", "1",
                        "--threads", "3"], capsys)
    assert code == 0 and "threads 1)" in err, err
    code, _, err = run([c, d, "-o", tmp_path / "p.mkv", "--backend", "onnxruntime"], capsys)
    assert code == 0 and "threads default)" in err, err
    assert (tmp_path / "o.mkv").read_bytes() == (tmp_path / "p.mkv").read_bytes()


@pytest.mark.parametrize("bad", ["0", "-2", "two"])
def test_a_thread_count_that_is_no_whole_number_above_0_is_one_line(tmp_path, capsys, bad):
    c, d = _clip(tmp_path)
    code, _, err = run([c, d, "-o", tmp_path / "o.mkv", "--model-threads", bad], capsys)
    assert code == 2 and err.count("\n") == 1 and "--model-threads" in err, err
    assert not (tmp_path / "o.mkv").exists()


def test_batch_workers_take_the_threads_given_over_their_share(tmp_path, monkeypatch):
    from igde_stream import batch, enhancer
    from igde_stream.stream import pipeline

    seen = []

    class Stop(Exception):
        pass

    def make(name, **opts):  # the backend the Enhancer builds, with its options
        seen.append(opts.get("threads"))
        raise Stop

    monkeypatch.setattr(enhancer, "create_backend", make)
    monkeypatch.setattr(batch, "_enhancer", None)
    assert pipeline._make_enhancer is enhancer.load_enhancer
    c, d = _clip(tmp_path)
    job = batch.Job(clip="a", color=str(c), depth=str(d), output=str(tmp_path / "o.mkv"))
    for options in ({"backend": "onnxruntime"}, {"backend": "onnxruntime", "model_threads": 1}):
        row = batch.run_clip(job, options, 3)
        assert "Stop" in row["error"], row
    assert seen == [3, 1]
