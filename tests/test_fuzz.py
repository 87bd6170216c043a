"""Fuzz: damaged copies of a valid colour / depth pair end in success (frames in == frames out) or a
one-line error with exit 2, never a traceback, a hang, a partial output or a file left behind.

The cases come from ``tools/fuzz.py`` (``python tools/fuzz.py -n 1000`` is the long run). Here: 200
seeded cases, in-process through ``igde_stream.cli.main`` with ``igde-tiny`` on the PyTorch CPU
backend, two of them as real ``python -m igde_stream`` processes. The harness itself is checked
on runs made to fail: a test that cannot see a traceback or a leftover pins nothing.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest

from igde_stream.errors import IGDEError

ROOT = Path(__file__).resolve().parent.parent
N_CASES, SEED = 200, 0


@pytest.fixture(scope="module")
def fuzz():
    spec = importlib.util.spec_from_file_location("igde_fuzz_tool", ROOT / "tools" / "fuzz.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    return tool


def test_damaged_inputs_fail_cleanly_or_succeed_whole(fuzz, tmp_path):
    # per run: 30 s in-process, 180 s for a real process (PyTorch's import alone took 40 s on a loaded 2-core box)
    rec = fuzz.fuzz(N_CASES, SEED, timeout=30.0, subprocess_every=100, subprocess_timeout=180.0, work=tmp_path)
    findings = "\n".join(f"case {f['case']} {f['target']} {f['mutation']} {f['how']}: {f['outcome']}: {f['detail']}"
                         for f in rec["findings"])
    assert not rec["findings"], findings
    outcomes = rec["counts"]["outcome"]
    # not vacuous: both endings happen, on every kind of damage and every file
    assert outcomes.get("ok", 0) >= 20 and outcomes.get("error", 0) >= 100, outcomes
    assert set(rec["counts"]["by_mutation"]) == set(fuzz.KINDS)
    assert set(rec["counts"]["by_target"]) == set(fuzz.TARGETS)
    assert sum(c["subprocess"] for c in rec["cases"]) == 2
    assert any(c["outcome"] == "ok" and c["mutation"] != "append" for c in rec["cases"])  # damaged yet decodable
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base16", "base8", "igde-tiny.pt"]
    assert not [t.name for t in threading.enumerate() if t.name.startswith("igde-")]


@pytest.fixture(scope="module")
def base(fuzz, tmp_path_factory):
    return fuzz.make_base(tmp_path_factory.mktemp("fuzzbase") / "base8", bits=8)


def _run(fuzz, base, tmp_path, timeout=20.0):
    """One run on bytes appended to the colour file: a damage FFmpeg shrugs off (every such case of the
    fuzz succeeds), so what goes wrong below is what the test broke."""
    import random

    return fuzz.run_one(tmp_path / "case", base, "color", "append", random.Random(0), with_gt=True, timeout=timeout)


def test_the_harness_accepts_a_clean_run(fuzz, base, tmp_path):
    rec = _run(fuzz, base, tmp_path)
    assert (rec["outcome"], rec["exit"], rec["detail"]) == ("ok", 0, "6 frames")
    assert not (tmp_path / "case").exists()


def test_the_harness_sees_a_traceback(fuzz, base, tmp_path, monkeypatch):
    import igde_stream.stream.pipeline as pipeline

    def broken(*a, **k):
        raise AttributeError("'NoneType' object has no attribute 'width'")

    monkeypatch.setattr(pipeline, "check_batch", broken)
    rec = _run(fuzz, base, tmp_path)
    assert rec["outcome"] == "traceback" and "NoneType" in rec["detail"], rec


def test_the_harness_sees_a_leftover_and_a_partial_output(fuzz, base, tmp_path, monkeypatch):
    import os

    import igde_stream.stream.pipeline as pipeline
    from igde_stream.stream.writer import DepthWriter

    def fail_before(moves):
        raise IGDEError("disk full")

    def fail_after_first(moves):
        os.replace(*moves[0])
        raise IGDEError("disk full")

    monkeypatch.setattr(DepthWriter, "abort", lambda self: None)  # the temporary output is never removed
    monkeypatch.setattr(pipeline, "_commit", fail_before)
    rec = _run(fuzz, base, tmp_path)
    assert rec["outcome"] == "leftover" and "igde-part" in rec["detail"], rec

    monkeypatch.setattr(pipeline, "_commit", fail_after_first)  # out.mkv in place, then a failure
    rec = _run(fuzz, base, tmp_path)
    assert rec["outcome"] == "partial" and "out.mkv" in rec["detail"], rec


def test_the_harness_sees_a_hang(fuzz, base, tmp_path, monkeypatch):
    import time

    import igde_stream.stream.pipeline as pipeline

    real = pipeline.check_batch
    monkeypatch.setattr(pipeline, "check_batch", lambda *a: time.sleep(30) or real(*a))
    rec = _run(fuzz, base, tmp_path, timeout=0.5)
    assert rec["outcome"] == "hang", rec


def test_the_harness_sees_a_lost_frame(fuzz, base, tmp_path, monkeypatch):
    import igde_stream.stream.run_frames as run_frames

    real = run_frames.pairs
    monkeypatch.setattr(run_frames, "pairs", lambda *a, **k: iter(list(real(*a, **k))[:-1]))
    rec = _run(fuzz, base, tmp_path)
    assert rec["outcome"] == "partial" and "6 depth frames decode but the output holds 5" in rec["detail"], rec
