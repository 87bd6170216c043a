"""Output names the file system cannot hold with the run's temporary suffix, found by reading
docs/stream.md ("2 for a bad input, option or output path, printed as one line") against the
command: an image-sequence output is written into a hidden folder ``.NAME.igde-part-PID`` beside
``NAME/``, which must fit the file system's name limit as the temporary name of a file output does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from igde_stream.cli import main
from igde_stream.errors import OutputError
from igde_stream.stream.imageseq import check_sequence_output


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def test_sequence_folder_whose_temporary_name_is_too_long_is_refused(tmp_path):
    limit = _name_max(tmp_path)
    # the folder's own name fits (limit - 5), its hidden temporary name (+ ".", ".igde-part-", pid) does not
    out = tmp_path / ("c" * (limit - 5)) / "%06d.png"
    with pytest.raises(OutputError, match=r"name too long"):
        check_sequence_output(out, overwrite=False)
    ok = tmp_path / ("c" * 20) / "%06d.png"
    check_sequence_output(ok, overwrite=False)  # a short name passes


def test_command_refuses_a_too_long_sequence_folder_in_one_line(make_clip, tiny_model, tmp_path, capsys):
    clip = make_clip(n=2)
    folder = tmp_path / ("c" * (_name_max(tmp_path) - 5))
    code = main([str(clip["color"]), str(clip["depth"]), "-o", str(folder / "%06d.png"), "--model", str(tiny_model),
                 "--backend", "torch"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("igde-stream: error: ") and "name too long" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip"]  # nothing created beside the clip
