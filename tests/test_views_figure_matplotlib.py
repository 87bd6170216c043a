"""``views quality --figure F.png`` without a working matplotlib: docs/multiview.md says --report and
--figure are "checked the same way before any work", as the main command checks --plot and --preview
(one line, exit 2). A matplotlib that is installed but fails to import (a broken install, a NumPy it
was not built for) passed the check, which only looked for the package, and the run ended after
the whole measurement in an ImportError traceback, exit 1, with no report written."""

from __future__ import annotations

import sys

import pytest
from conftest import scene, write_video

from igde_stream import views_cli
from igde_stream import views_outputs


@pytest.fixture
def broken_matplotlib(tmp_path, monkeypatch):
    """A matplotlib package that is found but raises ImportError when imported."""
    fake = tmp_path / "site"
    (fake / "matplotlib").mkdir(parents=True)
    (fake / "matplotlib" / "__init__.py").write_text("raise ImportError('broken matplotlib')\n")
    for name in [n for n in sys.modules if n == "matplotlib" or n.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(fake))


def test_figure_check_imports_matplotlib(tmp_path, broken_matplotlib):
    with pytest.raises(views_outputs.OutputError, match=r"--figure needs matplotlib"):
        views_outputs.check_quality_outputs(None, str(tmp_path / "f.png"), {}, overwrite=False)


def test_quality_with_figure_and_broken_matplotlib_is_one_line_before_any_work(tmp_path, capsys, broken_matplotlib,
                                                                                monkeypatch):
    colors, depths, gts = scene(2, (48, 32))
    c = write_video(tmp_path / "c.mkv", colors, fmt="rgb24", codec="ffv1")
    d, g = write_video(tmp_path / "d.mkv", depths, fmt="gray"), write_video(tmp_path / "g.mkv", gts, fmt="gray")
    measured = []
    monkeypatch.setattr(views_cli, "view_quality_files", lambda *a, **k: measured.append(1) or (_ for _ in ()).throw(
        AssertionError("the measurement ran")))
    code = views_cli.main(["quality", str(c), "--gt", str(g), "--depth", f"degraded={d}", "--report",
                           str(tmp_path / "r.json"), "--figure", str(tmp_path / "f.png"), "--views", "2"])
    err = capsys.readouterr().err
    assert code == 2 and measured == []
    assert err.count("\n") == 1 and "f.png: --figure needs matplotlib" in err
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "f.png").exists()
