"""batch_jobs' checks by hand on tiny lists (fast: no clip runs): how many existing outputs the refusal
counts, which one it names, a summary path that is none of the clips' files, and the output suffix."""

from __future__ import annotations

from pathlib import Path

import pytest

from igde_stream.batch_jobs import Job, check_outputs, check_summary_path, read_jobs
from igde_stream.errors import IGDEError, OutputError


def _jobs(tmp_path, n):
    for d in ("c", "d"):
        (tmp_path / d).mkdir(exist_ok=True)
    return [Job(f"clip{i}", str(tmp_path / "c" / f"{i}.mp4"), str(tmp_path / "d" / f"{i}.mkv"),
                str(tmp_path / f"out{i}.mkv")) for i in range(n)]


@pytest.mark.parametrize("existing, more", [(1, ""), (2, " (and 1 more)"), (3, " (and 2 more)")])
def test_existing_outputs_are_counted_and_the_first_named(tmp_path, existing, more):
    """Of four clips, the first ``existing`` outputs exist: the refusal names the first of them and
    counts the others (docs/batch.md: without --resume or -y an existing output stops the batch)."""
    jobs = _jobs(tmp_path, 4)
    for j in jobs[:existing]:
        Path(j.output).write_bytes(b"x")
    with pytest.raises(OutputError) as e:
        check_outputs(jobs, resume=False, overwrite=False)
    assert e.value.path == jobs[0].output
    assert e.value.problem == (f"already exists{more}; use --resume to skip finished clips or -y to replace them")
    assert check_outputs(jobs, resume=True, overwrite=False) == jobs[:existing]  # --resume skips them
    assert check_outputs(jobs, resume=False, overwrite=True) == []  # -y replaces them


def test_a_summary_beside_the_clips_is_taken_and_returned_as_a_path(tmp_path):
    """A summary path that is none of the clips' files (nor the list) is accepted, as a Path; one that
    is a clip's gt or output is refused, naming the role and the clip."""
    jobs = _jobs(tmp_path, 2)
    jobs[1] = Job("clip1", jobs[1].color, jobs[1].depth, jobs[1].output, str(tmp_path / "gt1.json"))
    lst = tmp_path / "jobs.csv"
    lst.write_text("color,depth,output\n")
    for name in ("s.json", "S.CSV"):
        got = check_summary_path(str(tmp_path / name), jobs, lst)
        assert got == tmp_path / name and isinstance(got, Path)
    with pytest.raises(OutputError, match="is the gt of clip clip1: the summary would replace it"):
        check_summary_path(tmp_path / "gt1.json", jobs, lst)
    with pytest.raises(OutputError, match="is the jobs list"):
        check_summary_path(tmp_path / "jobs.csv", jobs, lst)


@pytest.mark.parametrize("ext, ok", [(".mkv", True), (".x", True), (".", False), ("mkv", False), ("", False)])
def test_the_output_suffix_is_a_dot_and_a_suffix(tmp_path, ext, ok):
    """``--output-ext``: "write it like .mkv" (docs/batch.md): a dot and at least one character after
    it, so that NAME<ext> has a suffix; ".x" is one, "." alone or a suffix without its dot is not."""
    for d in ("color", "depth"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "a.mkv").write_bytes(b"x")
    if ok:
        (job,) = read_jobs(tmp_path, output_ext=ext)
        assert job.output == str(tmp_path / "enhanced" / f"a{ext}")
    else:
        with pytest.raises(IGDEError, match="write it like .mkv"):
            read_jobs(tmp_path, output_ext=ext)


def test_a_short_csv_row_leaves_its_optional_cells_empty(tmp_path):
    """docs/batch.md: gt and clip are optional columns; a row with fewer cells than the header (here
    no gt and no clip cell) reads them as empty: no ground truth, the output as its label."""
    (tmp_path / "jobs.csv").write_text("color,depth,output,gt,clip\nc.mp4,d.mkv,o.mkv\nc2.mp4,d2.mkv,o2.mkv,g2.mkv\n")
    a, b = read_jobs(tmp_path / "jobs.csv")
    assert (a.clip, a.color, a.depth, a.output, a.gt) == ("o.mkv", str(tmp_path / "c.mp4"), str(tmp_path / "d.mkv"),
                                                          str(tmp_path / "o.mkv"), None)
    assert (b.clip, b.gt) == ("o2.mkv", str(tmp_path / "g2.mkv"))
