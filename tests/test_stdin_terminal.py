"""``-`` as an input while nothing is piped in (stdin is the terminal): one line saying so, exit 2,
before any model loads. Before, the run sat reading the keyboard with no word (seen with ``script``
giving the command a terminal: it waited until ``timeout`` killed it), where ``-o -`` to a terminal
was already refused."""

from __future__ import annotations

import io
import sys

import pytest

from conftest import scene, write_video
from igde_stream import views_cli
from igde_stream.cli import main


class _Terminal(io.TextIOWrapper):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def color(tmp_path):
    return str(write_video(tmp_path / "c.mkv", scene(2, (32, 24))[0], fmt="rgb24", codec="ffv1"))


@pytest.mark.parametrize("inputs", [["C", "-"], ["-", "D"], ["-"]])
def test_stdin_from_a_terminal_is_one_line(tmp_path, monkeypatch, capsys, color, inputs):
    depth = write_video(tmp_path / "d.mkv", scene(2, (32, 24))[1], fmt="gray")
    monkeypatch.setattr(sys, "stdin", _Terminal(io.BytesIO(b"")))
    argv = [color if a == "C" else str(depth) if a == "D" else a for a in inputs]
    assert main([*argv, "-o", str(tmp_path / "out.mkv"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("igde-stream: error: -: stdin is a terminal: pipe a stream into - (ffmpeg ... -f nut - | "
                   "igde-stream COLOR - ...) or give a file"), err
    assert not (tmp_path / "out.mkv").exists()


def test_views_render_from_a_terminal_stdin_is_one_line(tmp_path, monkeypatch, capsys, color):
    monkeypatch.setattr(sys, "stdin", _Terminal(io.BytesIO(b"")))
    assert views_cli.main(["render", color, "-", "-o", str(tmp_path / "v.mkv"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("igde-stream views: error: -: stdin is a terminal") and len(err.splitlines()) == 1, err
