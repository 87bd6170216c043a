"""The command line's option checks and the batch list's rules at their edges, by hand: sizes of
1, devices cuda:N, --max-depth at 65535, one stdin shared by colour and depth, CSV rows with their
optional cells left off, short output suffixes, the "already exists" count, a worker's exit code."""

from __future__ import annotations

import argparse
import io
import signal
import sys
from pathlib import Path

import pytest

from igde_stream import batch, cli
from igde_stream.errors import IGDEError


@pytest.mark.parametrize("text, want", [("1x1", (1, 1)), ("960X540", (960, 540)), ("3x4", (3, 4))])
def test_sizes_of_positive_numbers(text, want):
    assert cli.size_arg(text) == want


@pytest.mark.parametrize("text", ["0x5", "5x0", "-1x2", "5", "axb"])
def test_sizes_refused(text):
    with pytest.raises(argparse.ArgumentTypeError, match="expected WxH"):
        cli.size_arg(text)


def _check(*extra):
    parser = cli.build_parser()
    cli.check_enhance_options(parser, parser.parse_args(["c.mp4", "d.mkv", "-o", "o.mkv", *extra]))


@pytest.mark.parametrize("extra", [["--device", "cpu"], ["--device", "cuda"], ["--device", "cuda:1"],
                                   ["--device", "cuda:12"], ["--max-depth", "65535"], ["--max-depth", "0.5"]])
def test_options_that_pass(extra):
    _check(*extra)


@pytest.mark.parametrize("extra, msg", [
    (["--device", "cuda:"], "--device must be cpu, cuda or cuda:N"),
    (["--device", "cuda:x"], "--device must be cpu, cuda or cuda:N"),
    (["--device", "gpu"], "--device must be cpu, cuda or cuda:N"),
    (["--max-depth", "65536"], "above the largest depth a video holds (65535)"),
])
def test_options_refused(capsys, extra, msg):
    with pytest.raises(SystemExit) as e:
        _check(*extra)
    assert e.value.code == 2 and msg in capsys.readouterr().err


def test_default_batch_is_four():
    assert cli.build_parser().parse_args(["c.mp4", "d.mkv", "-o", "o.mkv"]).batch == 4


def test_one_stdin_may_hold_both_colour_and_depth(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"")))
    rc = cli.main(["-", "-", "-o", str(tmp_path / "o.mkv"), "--quiet"])
    err = capsys.readouterr().err
    assert rc != 0 and "only one input can be -" not in err and "stdin" in err  # past the check, then empty
    with pytest.raises(SystemExit) as e:
        cli.main(["-", "-", "-o", str(tmp_path / "o.mkv"), "--gt", "-"])
    assert e.value.code == 2 and "only one input can be -" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_csv_rows_may_leave_off_the_optional_cells(tmp_path):
    (tmp_path / "list.csv").write_text("color,depth,output,gt,clip\na.mp4,a.mkv,out/a.mkv\n"
                                       "b.mp4,b.mkv,out/b.mkv,b_gt.mkv\n")
    a, b = batch.read_jobs(tmp_path / "list.csv")
    assert a.gt is None and a.clip == "out/a.mkv"  # no gt, the clip named by its output
    assert b.gt == str(tmp_path / "b_gt.mkv") and b.clip == "out/b.mkv"
    assert (a.color, a.depth) == (str(tmp_path / "a.mp4"), str(tmp_path / "a.mkv"))


@pytest.mark.parametrize("ext, ok", [(".ts", True), (".mkv", True), (".", False), ("mkv", False)])
def test_folder_output_suffix(tmp_path, ext, ok):
    for role in ("color", "depth"):
        (tmp_path / role).mkdir()
        (tmp_path / role / "clip1.mkv").write_bytes(b"x")
    if ok:
        (job,) = batch.read_jobs(tmp_path, tmp_path / "out", output_ext=ext)
        assert Path(job.output).name == f"clip1{ext}"
    else:
        with pytest.raises(IGDEError, match="--output-ext"):
            batch.read_jobs(tmp_path, tmp_path / "out", output_ext=ext)


def test_existing_outputs_are_counted_in_the_message(tmp_path):
    jobs = [batch.Job(f"c{k}", "c.mp4", "d.mkv", str(tmp_path / f"o{k}.mkv")) for k in range(4)]
    for k in (1, 2, 3):
        (tmp_path / f"o{k}.mkv").write_bytes(b"x")
    with pytest.raises(IGDEError, match=r"already exists \(and 2 more\)"):
        batch.check_outputs(jobs, resume=False, overwrite=False)
    (tmp_path / "o3.mkv").unlink()
    with pytest.raises(IGDEError, match=r"already exists \(and 1 more\)"):
        batch.check_outputs(jobs, resume=False, overwrite=False)
    (tmp_path / "o2.mkv").unlink()
    with pytest.raises(IGDEError) as e:
        batch.check_outputs(jobs, resume=False, overwrite=False)
    assert "more" not in str(e.value)
    assert [j.clip for j in batch.check_outputs(jobs, resume=True, overwrite=False)] == ["c1"]


def test_a_worker_stopped_by_sigterm_exits_128_plus_15(monkeypatch):
    # the handler marks this process as a stopped worker (batch._stopping), whose run_clip then exits at
    # once: restored after the test, or a later in-process run_clip ends the test session with status 143
    monkeypatch.setattr(batch, "_stopping", 0)
    with pytest.raises(SystemExit) as e:
        batch._exit_on_sigterm(signal.SIGTERM, None)
    assert e.value.code == 143 and batch._stopping == 143
