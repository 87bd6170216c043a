"""An image-sequence output folder that holds the files an OS writes into folders it shows (Finder's
``.DS_Store``, Windows' ``Thumbs.db``): no frames of the user's, so the folder is taken (without -y when
it holds nothing else), and those files are moved into the new folder, never deleted; a failed commit
leaves the folder as it was. Frames are read back with OpenCV, independent of the writer."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from igde_stream.errors import OutputError
from igde_stream.stream import DepthWriter, enhance_file
from test_formats import leftovers
from test_stream_roundtrip import depth_info

OS = {".DS_Store": b"\x00\x00\x00\x01Bud1 finder", "Thumbs.db": b"\xd0\xcf\x11\xe0 thumbnails"}


def _folder(path: Path, frames: int = 0) -> Path:
    path.mkdir()
    for name, data in OS.items():
        (path / name).write_bytes(data)
    for k in range(frames):  # an earlier run's frames
        cv2.imwrite(str(path / f"{k:04d}.png"), np.full((8, 16), 7, np.uint16))
    return path


def _frames() -> list[np.ndarray]:
    return [np.arange(8 * 16, dtype=np.uint16).reshape(8, 16) * 300 + k for k in range(2)]


def _write(out: Path, overwrite: bool = True) -> list[np.ndarray]:
    frames = _frames()
    with DepthWriter(out / "%04d.png", depth_info(Fraction(25), "gray16le"), overwrite=overwrite) as w:
        for k, f in enumerate(frames):
            w.write(f, k * 40)
    return frames


def _pngs(folder: Path) -> list[np.ndarray]:
    return [cv2.imread(str(p), cv2.IMREAD_UNCHANGED) for p in sorted(folder.glob("*.png"))]


@pytest.mark.parametrize("earlier", [0, 3])
def test_depth_writer_takes_the_folder_and_keeps_the_os_files(tmp_path, earlier):
    """Only OS files: taken without overwrite; with 3 earlier frames (and overwrite): replaced, 0002.png
    gone with them, the OS files moved into the new folder byte for byte."""
    out = _folder(tmp_path / "out", earlier)
    frames = _write(out, overwrite=bool(earlier))
    assert sorted(os.listdir(out)) == sorted(["0000.png", "0001.png", *OS])
    for name, data in OS.items():
        assert (out / name).read_bytes() == data
    np.testing.assert_array_equal(np.stack(_pngs(out)), np.stack(frames))
    assert leftovers(tmp_path) == [] and sorted(os.listdir(tmp_path)) == ["out"]


def test_enhance_file_takes_the_folder_and_keeps_the_os_files(make_clip, enhancer):
    clip = make_clip(n=3, size=(32, 24))
    out = _folder(clip["out"].parent / "seq")
    enhance_file(clip["color"], clip["depth"], out / "%06d.png", enhancer=enhancer)
    assert sorted(os.listdir(out)) == sorted(["000000.png", "000001.png", "000002.png", *OS])
    assert all((out / name).read_bytes() == data for name, data in OS.items())
    assert leftovers(out.parent) == []


def test_os_files_do_not_hide_the_users_files_or_frames(tmp_path):
    out = _folder(tmp_path / "out")
    (out / "notes.txt").write_text("mine")
    with pytest.raises(OutputError, match=r"holds other files \(notes.txt"):
        _write(out)
    (out / "notes.txt").unlink()
    cv2.imwrite(str(out / "0000.png"), np.zeros((8, 16), np.uint16))
    with pytest.raises(OutputError, match="already holds frames"):  # an earlier frame still needs -y
        _write(out, overwrite=False)
    assert sorted(os.listdir(out)) == sorted(["0000.png", *OS])


def test_a_failed_commit_leaves_the_folder_and_its_os_files(tmp_path, monkeypatch):
    """The rename of the new folder into place fails: the earlier folder comes back as it was (its frames,
    its OS files), and nothing temporary is left."""
    out = _folder(tmp_path / "out", 2)
    before = {n: (out / n).read_bytes() for n in os.listdir(out)}
    real = os.replace

    def failing(src, dst):
        if "igde-part" in os.fspath(src):
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OutputError, match="No space left on device"):
        _write(out)
    monkeypatch.undo()
    assert {n: (out / n).read_bytes() for n in os.listdir(out)} == before
    assert sorted(os.listdir(tmp_path)) == ["out"]


def test_an_os_file_that_cannot_move_keeps_the_replaced_folder(tmp_path, monkeypatch, caplog):
    """The new frames are in place; the earlier folder, whose .DS_Store could not move, is kept (named in
    the log) rather than deleted with it."""
    import logging

    out = _folder(tmp_path / "out", 1)

    def refused(src, dst):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "rename", refused)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        _write(out)
    monkeypatch.undo()
    assert sorted(os.listdir(out)) == ["0000.png", "0001.png"]
    kept = [p for p in tmp_path.iterdir() if p.name.startswith(".out.igde-old-")]
    assert len(kept) == 1 and (kept[0] / ".DS_Store").read_bytes() == OS[".DS_Store"]
    assert any(str(kept[0]) in m and "could not move" in m for m in caplog.messages)
