"""File names with a colon (``take1:final.mkv``): FFmpeg reads the text before a name's first ':' as a
protocol when it looks like one, so such names failed with "Protocol not found" on input and output
until they were given as ``file:...`` (``parts.ffmpeg_name``)."""

from __future__ import annotations

import json
import os
import shutil

import av
import numpy as np
import pytest

from igde_stream.cli import main
from igde_stream.stream.parts import ffmpeg_name


@pytest.mark.parametrize("name, given", [
    ("take1:final.mkv", "file:take1:final.mkv"),  # a protocol-like head
    (".take1:final.igde-part-7.mkv", "file:.take1:final.igde-part-7.mkv"),  # a hidden partial file
    ("a+b-c.d:e.mkv", "file:a+b-c.d:e.mkv"),  # every character FFmpeg allows in a protocol name
    ("dir/take1:final.mkv", "dir/take1:final.mkv"),  # '/' before the colon: FFmpeg reads a file
    ("/abs/take1:final.mkv", "/abs/take1:final.mkv"),
    ("a b:c.mkv", "a b:c.mkv"),  # a space is no protocol character
    ("plain.mkv", "plain.mkv"),
    (":lead.mkv", ":lead.mkv"),  # an empty head is no protocol
    ("seq:1/%06d.png", "file:seq:1/%06d.png"),
])
def test_names_ffmpeg_would_take_for_a_protocol_get_the_file_protocol(name, given):
    assert ffmpeg_name(name) == given


def test_a_run_reads_and_writes_names_with_colons(make_clip, tiny_model, tmp_path, monkeypatch):
    clip = make_clip(n=4)
    monkeypatch.chdir(tmp_path)  # relative names, so that the colon comes before any '/'
    shutil.copy(clip["color"], "col:or.mp4")
    shutil.copy(clip["depth"], "dep:th.mkv")
    shutil.copy(clip["gt"], "g:t.mkv")
    os.mkdir("seq:1")
    code = main(["col:or.mp4", "dep:th.mkv", "-o", "take1:final.mkv", "--gt", "g:t.mkv", "--report", "r:1.json",
                 "--views-out", "v:1.mkv", "--views", "2", "--model", str(tiny_model), "-q"])
    assert code == 0
    assert main(["col:or.mp4", "dep:th.mkv", "-o", "seq:1/%03d.png", "--model", str(tiny_model), "-q"]) == 0
    with av.open(ffmpeg_name("take1:final.mkv")) as c:
        out = [f.to_ndarray() for f in c.decode(video=0)]
    assert len(out) == 4 and json.loads(open("r:1.json").read())["summary"]["frames"] == 4
    assert sorted(os.listdir("seq:1")) == ["000.png", "001.png", "002.png", "003.png"]
    # the image sequence read back (a colon in the folder's name) holds the same frames as the video
    assert main(["col:or.mp4", "seq:1/%03d.png", "--fps", "30000/1001", "-o", "again.mkv", "--model", str(tiny_model),
                 "-q", "--hole-fill", "off"]) == 0
    with av.open(ffmpeg_name("v:1.mkv")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 4
    for k in range(4):
        with av.open(ffmpeg_name(f"seq:1/{k:03d}.png")) as c:
            assert np.array_equal(next(c.decode(video=0)).to_ndarray(), out[k])
    assert not [n for n in os.listdir(".") if "igde-part" in n]


def test_a_folder_of_images_with_a_colon_in_its_name_is_read(tmp_path, monkeypatch):
    """A folder input (read through image2's glob) named seq:2, relative: its frames, as written."""
    from test_formats import write_png_sequence

    from igde_stream.stream.reader import VideoReader

    monkeypatch.chdir(tmp_path)
    frames = [np.full((6, 8), 1000 * (k + 1), np.uint16) for k in range(3)]  # 1000, 2000, 3000
    frames[1][2, 5] = 7
    write_png_sequence(tmp_path / "seq:2", frames)
    with VideoReader("seq:2", "depth") as r:
        got = [f.data for f in r.frames()]
    assert len(got) == 3 and all(np.array_equal(g, f) for g, f in zip(got, frames))
    assert got[1][2, 5] == 7 and got[2][0, 0] == 3000
