"""``DepthWriter`` as a context manager, for a pipeline stage that writes frames itself: the output
appears under its name only when the block ends normally (frames and timestamps as written), a
block that raises leaves neither the output nor its temporary file and keeps an earlier file of the
same name as it was, and ``commit`` is safe to call twice. Frames read back with PyAV."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from igde_stream.errors import OutputError
from igde_stream.stream import DepthWriter

from conftest import read_video
from test_stream_roundtrip import depth_info


def _frames(n, dtype=np.uint16):
    rng = np.random.default_rng(7)
    return [rng.integers(0, 65536 if dtype == np.uint16 else 256, (8, 16)).astype(dtype) for _ in range(n)]


def test_a_block_that_ends_normally_commits_the_frames(tmp_path):
    out = tmp_path / "out.mkv"
    frames = _frames(3)
    with DepthWriter(out, depth_info(Fraction(25), "gray16le")) as w:
        for k, f in enumerate(frames):
            w.write(f, 40 * k)  # 1/1000 time base: 40 ms apart
        assert not out.exists()  # under its temporary name until the block ends
    got, pts, _ = read_video(out)
    np.testing.assert_array_equal(np.stack(got), np.stack(frames))
    assert list(pts) == [0, 40, 80]
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]


def test_a_block_that_raises_leaves_nothing_and_keeps_the_old_file(tmp_path):
    out = tmp_path / "out.mkv"
    out.write_bytes(b"the user's earlier file")
    with pytest.raises(RuntimeError, match="stage failed"):
        with DepthWriter(out, depth_info(Fraction(25))) as w:
            w.write(_frames(1, np.uint8)[0], 0)
            raise RuntimeError("stage failed")
    assert out.read_bytes() == b"the user's earlier file"
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]


def test_commit_inside_the_block_is_not_done_twice(tmp_path):
    out = tmp_path / "out.mkv"
    with DepthWriter(out, depth_info(Fraction(25))) as w:
        w.write(_frames(1, np.uint8)[0], 0)
        assert w.commit() == out and out.exists()
    assert w.commit() == out and [p.name for p in tmp_path.iterdir()] == ["out.mkv"]
    w.abort()  # after the commit: the output stays
    assert len(read_video(out)[0]) == 1


def test_a_commit_that_fails_at_the_end_of_the_block_leaves_no_temporary_file(tmp_path):
    # the output's name taken by a folder while the block ran: the rename fails, and the half-made
    # output under its temporary name is removed (it stayed behind, the commit marked as done)
    out = tmp_path / "out.mkv"
    with pytest.raises(OSError):
        with DepthWriter(out, depth_info(Fraction(25))) as w:
            w.write(_frames(1, np.uint8)[0], 0)
            out.mkdir()
            (out / "theirs.txt").write_text("kept")
    assert [p.name for p in tmp_path.iterdir()] == ["out.mkv"]
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]


@pytest.mark.parametrize("name", ["out.mkv", "seq/%04d.png"])
def test_a_block_without_a_frame_is_refused_and_keeps_the_old_output(tmp_path, name):
    """A stage whose loop got no frame (an empty generator, every pair filtered out): FFmpeg never
    wrote a header, so the file would be 0 bytes that no reader opens ("empty file"), and a folder
    of images would be empty. The commit is refused in one line, as ``RGBDWriter``'s is, and an
    earlier output of that name stays as it was."""
    out = tmp_path / name
    earlier = tmp_path / ("out.mkv" if name == "out.mkv" else "seq/0000.png")
    earlier.parent.mkdir(exist_ok=True)
    earlier.write_bytes(b"the user's earlier output")
    with pytest.raises(OutputError, match=r"no frame was written: nothing to commit$"):
        with DepthWriter(out, depth_info(Fraction(25))):
            pass
    assert earlier.read_bytes() == b"the user's earlier output"
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == sorted(
        {earlier.relative_to(tmp_path).as_posix(), earlier.parent.relative_to(tmp_path).as_posix()} - {"."})


def test_big_endian_tensor_and_list_frames_are_the_same_samples(tmp_path):
    """The Enhancer gives big-endian uint16 depth back as it came (``np.frombuffer(..., '>u2')`` of a
    16-bit PGM); the writer refused it as "has >u2 samples; depth must be uint8 or uint16", a CPU
    tensor as "has torch.uint16 samples", and a list failed with AttributeError. Each is written as
    the same 16-bit values: the frames built by hand, read back with PyAV."""
    torch = pytest.importorskip("torch")
    frames = _frames(3)
    given = [frames[0].astype(">u2"), torch.from_numpy(frames[1].copy()), frames[2].tolist()]
    out = tmp_path / "out.mkv"
    with DepthWriter(out, depth_info(Fraction(25), "gray16le")) as w:
        w.write(given[0], 0)
        w.write(given[1], 40)
        with pytest.raises(OutputError, match="frame 2 has int64 samples but the frames before it were uint16"):
            w.write(given[2], 80)
        w.write(np.asarray(given[2], np.uint16), 80)
    got, pts, _ = read_video(out)
    np.testing.assert_array_equal(np.stack(got), np.stack(frames))
