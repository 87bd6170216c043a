"""Pipeline pieces: byte-bounded queues, timestamp pairing, failures carried across threads."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from igde_stream.errors import PairingError
from igde_stream.stream import Frame, enhance_file, pair_frames
from igde_stream.stream import pipeline
from igde_stream.stream.pipeline import ByteQueue


def frames(times, start_index=0):
    return [Frame(i + start_index, None, t, t, np.zeros(1, np.uint8)) for i, t in enumerate(times)]


def test_byte_queue_bounds_bytes_and_ends_with_a_sentinel():
    stop = threading.Event()
    q = ByteQueue(100, stop)
    got = []

    def consume():
        time.sleep(0.05)
        got.extend(q)

    t = threading.Thread(target=consume)
    t.start()
    for i in range(10):
        q.put(i, 40)  # at most two items (80 bytes) fit
        assert q.bytes <= 100
    q.put_end()
    t.join()
    assert got == list(range(10)) and q.peak_bytes <= 100
    q.put("big", 500)  # an item larger than the bound still goes through when the queue is empty
    assert q.get() == "big"


def test_byte_queue_cancels_waiters_when_stopped():
    stop = threading.Event()
    q = ByteQueue(10, stop)
    threading.Timer(0.05, stop.set).start()
    with pytest.raises(pipeline._Cancelled):
        q.get()


def test_pairing_across_time_bases_and_ntsc_rounding():
    ntsc = 1001 / 30000
    mkv = [round(i * ntsc, 3) for i in range(300)]  # Matroska: whole milliseconds
    mp4 = [i * ntsc for i in range(300)]  # MP4: exact in 1/30000
    pairs = list(pair_frames(frames(mp4), frames(mkv), 0.5 * ntsc, ("c", "d")))
    assert len(pairs) == 300 and all(c.index == d.index for c, d in pairs)


def test_pairing_tolerance_is_half_a_frame():
    tol = 0.5 / 30
    assert len(list(pair_frames(frames([0, 1 / 30 + 0.9 * tol]), frames([0, 1 / 30]), tol, ("c", "d")))) == 2
    with pytest.raises(PairingError, match=r"frame 1 \(0\.033 s\) of the depth stream has no colour frame; frame 1 \(0\.052 s\) of the colour"):
        list(pair_frames(frames([0, 1 / 30 + 1.1 * tol]), frames([0, 1 / 30]), tol, ("c", "d")))


def test_pairing_stops_yielding_at_the_first_gap_but_lists_every_unpaired_frame():
    got = []
    with pytest.raises(PairingError) as info:
        for pair in pair_frames(frames([0, 0.1, 0.3, 0.4, 0.5]), frames([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]),
                                0.05, ("c.mp4", "d.mkv")):
            got.append(pair)
    assert len(got) == 2  # nothing is enhanced once the streams disagree
    msg = str(info.value)
    assert msg.startswith("c.mp4, d.mkv: ")
    assert "frames 2 (0.200 s), 6 (0.600 s), 7 (0.700 s) of the depth stream have no colour frame" in msg
    assert "(5 colour frames, 8 depth frames)" in msg


def test_writer_failure_reaches_the_caller_and_threads_are_joined(make_clip, enhancer, monkeypatch):
    clip = make_clip(n=8)
    real_write = pipeline.DepthWriter.write

    def failing_write(self, depth, pts):
        if self.frames == 3:
            raise OSError(28, "No space left on device")
        real_write(self, depth, pts)

    monkeypatch.setattr(pipeline.DepthWriter, "write", failing_write)
    with pytest.raises(OSError, match="No space left"):
        enhance_file(clip["color"], clip["depth"], clip["out"], enhancer=enhancer)
    assert not clip["out"].exists()
    assert not [p for p in clip["out"].parent.iterdir() if "igde-part" in p.name]
    assert not [t for t in threading.enumerate() if t.name.startswith("igde-")]


def test_queues_stay_within_their_byte_bound(make_clip, enhancer, monkeypatch):
    # Memory is flat by construction: every queue holds at most queue_bytes (or one item).
    queues = []

    class Recording(ByteQueue):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            queues.append(self)

    monkeypatch.setattr(pipeline, "ByteQueue", Recording)
    clip = make_clip(n=12, gt_frames=12)
    frame_bytes = 64 * 48 * 3  # one colour frame, the largest item
    enhance_file(clip["color"], clip["depth"], clip["out"], gt_path=clip["gt"], enhancer=enhancer,
                 queue_bytes=2 * frame_bytes)
    assert len(queues) == 4
    assert all(q.peak_bytes <= 2 * frame_bytes for q in queues)
