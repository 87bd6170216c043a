"""How a live network input starts and ends, where no container says so (``urls`` opens them).

- **RTSP / RTP** (``RTP_SCHEMES``): a stream's first packets can come without a timestamp (FFmpeg's
  RTSP demuxer gave the first packet of each stream none, the next ones their RTP times), which
  read as frame 0 at 0 s and frame 1 at its own time, the same or earlier: the output then failed at
  frame 1 ("pts ... does not come after"). Such leading packets are held until the stream's first
  timed packet and placed one frame apart before it (``_Leading``), as a file's frames are; a stream
  that ends before any timed packet hands them on untimed, ahead of its end.

- **UDP / RTP** (``DATAGRAM_SCHEMES``) are connectionless: nothing marks their end, so silence for
  ``--net-timeout`` after a first packet (the timeout, or the I/O error FFmpeg keeps once its timeout
  struck while probing) is the end.
- **RTMP** (``CLOSING_SCHEMES``): FFmpeg's RTMP client reads a server that closes the connection as
  an I/O error (EIO: its packet reader finds no next byte), not as the end of the stream; the
  ``ffmpeg`` command line too takes it as the end (it logs the error and keeps what came). An
  RTMP server ends a stream so (``ffmpeg -f flv -listen 1`` at the end of its input does), so after
  a first packet EIO is the end. A stall (nothing for ``--net-timeout``) is still an error.

Either way a sender that stops midway ends the stream too, so the end comes with a warning, and
``live_packets`` hands each video stream an empty packet, which drains its decoder's held frames
as an end of file does. Before any packet, both go up as errors (nothing was received).
"""

from __future__ import annotations

import errno
import logging
import time
from typing import Any, Iterator

log = logging.getLogger("igde_stream.stream")

#: connectionless inputs: nothing marks their end, so silence after the first packet is the end
DATAGRAM_SCHEMES = ("udp", "udplite", "rtp")
#: inputs whose server's closing the connection reads as an I/O error: the end, after a first packet
CLOSING_SCHEMES = ("rtmp", "rtmps", "rtmpt", "rtmpts")
#: RTP-timed inputs: leading packets without a timestamp are placed before the first timed one
RTP_SCHEMES = ("rtsp", "rtsps", "rtp", "srtp")
FALLBACK_RATE = 25  # frames a second where a stream gives no rate (as ``info.FALLBACK_RATE``)


class _Leading:
    """Packets of a stream that came before its first timestamp, held until it comes (``feed``)."""

    def __init__(self) -> None:
        self.held: dict[int, list[Any]] = {}
        self.timed: set[int] = set()

    def feed(self, packet: Any) -> list[Any]:
        """The packets to hand on now that ``packet`` came: none while a stream has no time yet; at its
        first timed packet the held ones, ``k`` frame durations before it (the k-th from the last); at
        its empty end packet (the demuxer's, or a draining one) the held ones, untimed, then that packet,
        which drains the decoder after them, not before."""
        index = packet.stream.index
        if index in self.timed:
            return [packet]
        if not packet.size:
            return [*self.held.pop(index, []), packet]
        if packet.pts is None:
            self.held.setdefault(index, []).append(packet)
            return []
        self.timed.add(index)
        held = self.held.pop(index, [])
        stream = packet.stream
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or FALLBACK_RATE
        step = max(1, round(1 / (rate * stream.time_base))) if stream.time_base else 1
        for k, p in enumerate(held):
            back = (len(held) - k) * step
            p.pts, p.dts = packet.pts - back, (packet.dts if packet.dts is not None else packet.pts) - back
        return [*held, packet]

    def rest(self) -> list[Any]:
        """At the end: what is still held, untimed, as it came."""
        rest = [p for held in self.held.values() for p in held]
        self.held.clear()
        return rest


def stall_problem(shared: Any, exc: BaseException, waited: float) -> str | None:
    """What a read of ``shared`` (a ``sources.SharedInput``) that failed with ``exc`` after ``waited``
    seconds says where a network input sent nothing for ``--net-timeout`` mid-stream: PyAV's interrupt
    timeout ("Immediate exit requested"), FFmpeg's own (ETIMEDOUT), or a demuxer that took FFmpeg's
    timeout for damage (NUT: "Invalid data") after waiting that long, as ``urls.open_container`` tells
    them; None for any other input or failure."""
    import av

    timeout = getattr(shared, "net_timeout", None)
    if timeout is None or not (isinstance(exc, (av.error.ExitError, TimeoutError)) or waited >= 0.9 * timeout):
        return None
    return f"nothing received within {timeout:g} s (--net-timeout)"


def _end(shared: Any, exc: BaseException, waited: float) -> str | None:
    """Why ``exc`` (raised after ``waited`` s, once a packet came) ends ``shared``'s stream, or None."""
    if getattr(shared, "datagram", False) and (isinstance(exc, OSError) or stall_problem(shared, exc, waited)):
        return (f"nothing more received within {shared.net_timeout:g} s (--net-timeout): taken as the end of the "
                "stream (UDP / RTP mark no end, so a sender that stopped midway ends it too)")
    if getattr(shared, "closes", False) and getattr(exc, "errno", None) == errno.EIO and \
            stall_problem(shared, exc, waited) is None:
        return ("the server closed the connection: taken as the end of the stream (an RTMP server ends a stream "
                "so, and one that stopped midway looks the same)")
    return None


def live_packets(shared: Any, demux: Iterator[Any]) -> Iterator[Any]:
    """``demux``'s packets (of ``shared``, a ``sources.SharedInput``), ended as the module says, with a
    warning, by an empty (draining) packet for each video stream."""
    import av

    got = False
    leading = _Leading() if getattr(shared, "rtp", False) else None
    while True:
        start = time.monotonic()
        try:
            packet = next(demux, None)
        except av.error.FFmpegError as exc:
            why = _end(shared, exc, time.monotonic() - start) if got else None
            if why is None:
                raise
            log.warning("%s: %s", shared.name, why)
            yield from leading.rest() if leading is not None else ()
            for stream in shared.container.streams.video:
                packet = av.Packet()
                packet.stream = stream
                yield packet
            return
        if packet is None:
            yield from leading.rest() if leading is not None else ()
            return
        got = True
        yield from leading.feed(packet) if leading is not None else (packet,)


__all__ = ["CLOSING_SCHEMES", "DATAGRAM_SCHEMES", "RTP_SCHEMES", "live_packets", "stall_problem"]
