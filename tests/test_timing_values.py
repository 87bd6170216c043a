"""Values of ``stream/timing.py`` (mutation campaign 58c), from its docstring's definitions: a raw
elementary stream's rate is the bitstream's (PyAV's ``guessed_rate``), other containers' their
average rate; an AVI's frame slots come one every 1 / rate, i.e. 1 / (rate x time base) ticks of the
stream's time base; ``feed`` returns the slots skipped since the packet before (empty chunks);
``apply`` gives the k-th decoded frame the k-th stored slot. Stand-in streams, packets and frames
(``SimpleNamespace``), and one AVI written with PyAV whose header's frame count is the oracle."""

from __future__ import annotations

from fractions import Fraction
from types import SimpleNamespace as NS

import av
import numpy as np

from igde_stream.stream.timing import SlotClock, stream_rate


def _box(name):
    return NS(format=NS(name=name))


def _stream(rate, tb, guessed=None):
    return NS(average_rate=rate, guessed_rate=guessed, time_base=tb)


def _clock(rate=Fraction(30), tb=Fraction(1, 30), fmt="avi"):
    return SlotClock(_stream(rate, tb), _box(fmt))


def _packet(dts, size=100):
    return NS(dts=dts, size=size)


def test_a_raw_stream_takes_the_bitstreams_rate_and_other_containers_their_average():
    # the h264 demuxer's own rate is 25 (its default); the VUI timing says 30
    assert stream_rate(_stream(Fraction(25), None, Fraction(30)), _box("h264")) == 30
    assert stream_rate(_stream(Fraction(25), None, Fraction(30)), _box("mpegvideo")) == 30
    assert stream_rate(_stream(Fraction(25), None, Fraction(30)), _box("matroska,webm")) == 25
    # a raw stream without a declared rate: the demuxer's; no rate at all: None
    assert stream_rate(_stream(Fraction(25), None, None), _box("hevc")) == 25
    assert stream_rate(_stream(None, None, Fraction(24000, 1001)), _box("mov,mp4,m4a,3gp,3g2,mj2")) == Fraction(24000, 1001)
    assert stream_rate(_stream(None, None, None), _box("avi")) is None


def test_the_slot_is_one_frame_in_ticks_of_the_time_base():
    assert _clock(Fraction(30), Fraction(1, 30)).slot == 1
    assert _clock(Fraction(30), Fraction(1, 90000)).slot == 3000  # 1/30 s = 3000 ticks of 1/90000
    assert _clock(Fraction(25), Fraction(1, 1000)).slot == 40
    assert _clock(Fraction(30000, 1001), Fraction(1, 1000)).slot == 33  # 33.367 ms, to the nearest tick
    # a time base coarser than a frame: never less than one tick
    assert _clock(Fraction(30), Fraction(1, 10)).slot == 1


def test_an_avi_without_a_rate_still_counts_its_slots():
    # an AVI's time base is its header's dwScale / dwRate, one frame (the real AVI below has 1/30 at
    # 30 fps): without a rate a slot is one tick
    clock = SlotClock(_stream(None, Fraction(1, 30)), _box("avi"))
    assert clock.active
    assert [clock.feed(_packet(d)) for d in (0, 1, 3)] == [0, 0, 1]


def test_feed_counts_the_empty_slots_between_packets_with_data():
    clock = _clock()
    # slots 0 1 2 _ 4 5 _ _ 8: one empty slot before 4, two before 8
    assert [clock.feed(_packet(d)) for d in (0, 1, 2, 4, 5, 8)] == [0, 0, 0, 1, 0, 2]
    # in ticks of 1/90000 at 30 fps: a slot is 3000 ticks
    clock = _clock(tb=Fraction(1, 90000))
    assert [clock.feed(_packet(d)) for d in (0, 3000, 6000, 15000)] == [0, 0, 0, 2]


def test_an_empty_chunk_or_a_packet_without_a_slot_counts_nothing_and_is_not_a_slot():
    clock = _clock()
    assert clock.feed(_packet(0)) == 0
    assert clock.feed(_packet(1, size=0)) == 0  # the empty chunk itself (the demuxer's flush packet too)
    assert clock.feed(None) == 0
    assert clock.feed(_packet(None)) == 0
    assert clock.feed(_packet(2)) == 1  # the gap is measured from slot 0, the last packet with data
    assert list(clock.slots) == [0, 2]


def test_other_containers_count_no_slots_and_keep_their_times():
    clock = _clock(fmt="matroska,webm")
    assert not clock.active
    assert [clock.feed(_packet(d)) for d in (0, 5, 9)] == [0, 0, 0]
    frames = [NS(pts=7), NS(pts=3)]
    assert clock.apply(frames) is frames and [f.pts for f in frames] == [7, 3]


def test_decoded_frames_take_the_stored_slots_in_order_then_the_next_slots():
    clock = _clock(tb=Fraction(1, 90000))
    for d in (0, 3000, 9000):
        clock.feed(_packet(d))
    frames = [NS(pts=p) for p in (3001, 12001, 6001)]  # FFmpeg's guesses, permuted by B-frames
    assert clock.apply(frames) is frames
    assert [f.pts for f in frames] == [0, 3000, 9000]
    more = clock.apply([NS(pts=None), NS(pts=None)])  # more frames than stored slots: the slots after the last
    assert [f.pts for f in more] == [12000, 15000]


def test_a_frame_before_any_slot_is_at_slot_zero():
    frames = _clock().apply([NS(pts=5), NS(pts=9)])
    assert [f.pts for f in frames] == [0, 1]


def test_a_real_avis_empty_chunks_are_its_frame_count_less_its_packets_with_data(tmp_path):
    path = tmp_path / "d.avi"
    slots = [0, 1, 2, 4, 5, 8]  # 3, 6 and 7 empty: the muxer writes a chunk of 0 bytes for each
    with av.open(str(path), "w") as out:
        s = out.add_stream("ffv1", rate=30)
        s.width, s.height, s.pix_fmt = 16, 16, "gray"
        for k in slots:
            f = av.VideoFrame.from_ndarray(np.full((16, 16), 20 * k, np.uint8), format="gray")
            f.pts, f.time_base = k, Fraction(1, 30)
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode(None):
            out.mux(p)
    with av.open(str(path)) as box:
        st = box.streams.video[0]
        declared = st.frames  # the AVI header's count, empty chunks included
        assert st.time_base == Fraction(1, 30)  # one tick per frame slot
        clock = SlotClock(st, box)
        skipped = sum(clock.feed(p) for p in box.demux(st))
        tb = st.time_base  # read while the file is open (PyAV 18.1.1 refuses it after)
    assert declared - len(slots) == 3
    assert skipped == 3
    assert list(clock.slots) == [round(k / (30 * tb)) for k in slots]
