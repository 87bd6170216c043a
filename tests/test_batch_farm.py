"""``igde-stream batch`` as a render farm runs it: output and summary folders that are read-only (a
network share), not folders, or full, refused or said in one line, before any clip runs where that
can be known. Read-only folders are simulated by answering ``os.access`` as a read-only mount does
(a chmod 555 folder is writable to root, who runs many farm jobs)."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
