"""An Azure Kinect recording's depth and IR tracks (raw b16g, big-endian 16-bit gray, in Matroska's VFW
mode) read as gray16be; copied by ``ffmpeg -c copy`` they lose the tag and read as rgb555le. Such a file
is refused in one line that says so and gives the command reading the samples as gray16be, whose
output is the original recording's, byte for byte."""

from __future__ import annotations

import shlex
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

from igde_stream.cli import main

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs the ffmpeg command line")
W, H, N = 48, 36, 4


def _kinect_like(tmp_path):
    """(the recording with its b16g tags, the same copied by ffmpeg -c copy): MJPEG colour, depth, IR."""
    import cv2

    for k in range(N):
        c = np.zeros((54, 96, 3), np.uint8)
        c[:] = (160, 90, 40)
        c[14:40, 24 + k:56 + k] = (30, 200, 230)
        cv2.imwrite(str(tmp_path / f"c{k}.jpg"), c)
    d = np.full((N, H, W), 3000, np.uint16)
    for k in range(N):
        d[k, 10:28, 12 + k:30 + k] = 1200
    d[:, :2, :4] = 0
    d.astype(">u2").tofile(tmp_path / "depth.raw")
    (d // 20).astype(">u2").tofile(tmp_path / "ir.raw")
    raw = ["-f", "rawvideo", "-pix_fmt", "gray16be", "-s", f"{W}x{H}", "-framerate", "30", "-i"]
    untagged = tmp_path / "untagged.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-framerate", "30", "-i", str(tmp_path / "c%d.jpg"),
                    *raw, str(tmp_path / "depth.raw"), *raw, str(tmp_path / "ir.raw"),
                    "-map", "0", "-map", "1", "-map", "2", "-c:v:0", "copy", "-c:v:1", "rawvideo", "-c:v:2",
                    "rawvideo", "-allow_raw_vfw", "1", str(untagged)], check=True)
    # the recorder's BITMAPINFOHEADER says b16g (biCompression), where FFmpeg's muxer wrote 0
    data = bytearray(untagged.read_bytes())
    header = struct.pack("<IiiHHI", 40, W, -H, 1, 16, 0)
    assert data.count(header) == 2
    tagged = tmp_path / "k4a.mkv"
    tagged.write_bytes(bytes(data).replace(header, header[:16] + b"b16g"))
    return tagged, untagged, d


def test_untagged_16_bit_raw_is_named_and_the_named_command_reads_it(tmp_path, capsys):
    import av

    tagged, untagged, d = _kinect_like(tmp_path)
    with av.open(str(tagged)) as c:
        assert [s.codec_context.format.name for s in c.streams.video] == ["yuvj420p", "gray16be", "gray16be"]
        got = np.stack([f.to_ndarray() for f in c.decode(video=1)])
        assert np.array_equal(got, d)  # the tagged track is the depth, as written
    with av.open(str(untagged)) as c:
        assert [s.codec_context.format.name for s in c.streams.video] == ["yuvj420p", "rgb555le", "rgb555le"]

    opts = ["--depth-order", "far-high", "--max-depth", "5000", "-q", "--backend", "onnxruntime"]
    assert main([str(tagged), "-o", str(tmp_path / "ref.mkv"), *opts]) == 0  # the recording: depth found
    for extra in ([], ["--depth-stream", "1"]):
        assert main([str(untagged), "-o", str(tmp_path / "o.mkv"), *opts, *extra]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert (f"video streams 1 and 2 of {untagged} are 16-bit raw video without their FourCC, read as rgb555le"
                in err[0])
        command = err[0].split("read its samples as gray16be: ")[1]
        assert command == (f"ffmpeg -i {untagged} -map 0:v:1 -c copy -f rawvideo - | igde-stream COLOR - --size "
                           f"{W}x{H} --pix-fmt gray16be --fps 30 -o OUT")
    assert not (tmp_path / "o.mkv").exists()
    # the command as given, COLOR and OUT filled in: the recording's output, byte for byte
    feed, run = command.split(" | ")
    run = run.replace("igde-stream COLOR", f"{shlex.quote(sys.executable)} -m igde_stream {shlex.quote(str(untagged))}")
    run = run.replace("-o OUT", f"-o {tmp_path / 'piped.mkv'} " + " ".join(opts))
    subprocess.run(f"{feed} | {run}", shell=True, check=True, cwd=tmp_path)
    with av.open(str(tmp_path / "ref.mkv")) as a, av.open(str(tmp_path / "piped.mkv")) as b:
        ref = np.stack([f.to_ndarray() for f in a.decode(video=0)])
        piped = np.stack([f.to_ndarray() for f in b.decode(video=0)])
    assert ref.shape == (N, H, W) and np.array_equal(ref, piped)


def test_other_raw_video_gets_no_such_hint(tmp_path, capsys):
    """16-bit gray raw video that keeps its format (NUT) and coded video are no such streams."""
    import av

    from igde_stream.stream.raw16 import untagged

    d = np.full((N, H, W), 1000, np.uint16)
    d.astype("<u2").tofile(tmp_path / "d.raw")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "rawvideo", "-pix_fmt", "gray16le", "-s", f"{W}x{H}", "-i",
                    str(tmp_path / "d.raw"), "-c:v", "rawvideo", str(tmp_path / "d.nut")], check=True)
    with av.open(str(tmp_path / "d.nut")) as c:
        assert untagged(c) == []
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=size=48x36:rate=25", "-frames:v", "2",
                    "-c:v", "mpeg4", str(tmp_path / "c.avi")], check=True)
    with av.open(str(tmp_path / "c.avi")) as c:
        assert untagged(c) == []
