"""roles.check_distinct by hand on stand-in readers (fast: no video): one file under two names is one
input, which stream of how many the message names, and the --depth-stream hint only where the input
has another video stream to choose."""

from __future__ import annotations

import os
from types import SimpleNamespace as NS

import pytest

from igde_stream.errors import InputError
from igde_stream.stream.roles import check_distinct


def _reader(path, index, video_indices, packed_half=False):
    video = [NS(index=i) for i in video_indices]
    return NS(path=path, packed_half=packed_half, stream=next(s for s in video if s.index == index),
              container=NS(streams=NS(video=video)), info=NS(pix_fmt="yuv420p"))


def test_one_file_under_two_names_is_one_input(tmp_path, monkeypatch):
    """"c.mp4" and its absolute path (or a hard link to it) are the same file: the same stream of
    it is refused; another file, or a missing one, is not."""
    f = tmp_path / "c.mp4"
    f.write_bytes(b"x")
    os.link(f, tmp_path / "link.mp4")
    monkeypatch.chdir(tmp_path)
    for other in (str(f), "link.mp4", "./c.mp4"):
        with pytest.raises(InputError, match="colour and depth are the same video stream"):
            check_distinct(_reader("c.mp4", 0, [0]), _reader(other, 0, [0]))
    (tmp_path / "d.mp4").write_bytes(b"x")
    check_distinct(_reader("c.mp4", 0, [0]), _reader("d.mp4", 0, [0]))
    check_distinct(_reader("c.mp4", 0, [0]), _reader("missing.mp4", 0, [0]))
    check_distinct(_reader("c.mp4", 0, [0], packed_half=True), _reader("c.mp4", 0, [0], packed_half=True))


def test_the_message_counts_video_streams_and_hints_only_with_another_one():
    """Streams 0 and 2 are audio, 1 and 3 video: stream index 3 is "video stream 1 of 2", and with a
    second video stream the message suggests --depth-stream; an input of one video stream (at index
    2) is "video stream 0 of 1", without the hint."""
    with pytest.raises(InputError) as e:
        check_distinct(_reader("-", 3, [1, 3]), _reader("-", 3, [1, 3]))
    assert "(video stream 1 of 2, yuv420p)" in str(e.value)
    assert "a file with a colour and a depth video stream, or choose the depth stream with --depth-stream M, " \
           "or a packed" in str(e.value)
    with pytest.raises(InputError) as e:
        check_distinct(_reader("clip.mkv", 2, [2]), _reader("clip.mkv", 2, [2]))  # stdin: test_pipes
    assert "(video stream 0 of 1, yuv420p)" in str(e.value) and "--depth-stream" not in str(e.value)
    check_distinct(_reader("-", 1, [1, 3]), _reader("-", 3, [1, 3]))  # two streams of one input: fine
