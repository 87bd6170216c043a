"""signals' exit codes and its SIGTERM window by hand (fast: real signals to this process, a made-up
clock): the documented exit statuses, which signal ``interrupted_by`` names, a second SIGTERM within
``SECOND_SIGTERM_AFTER`` = 2 s ignored and one at 2 s raising, the handlers put back afterwards."""

from __future__ import annotations

import os
import signal

import pytest

from igde_stream import signals


def test_the_exit_codes_are_the_documented_ones():
    """docs/stream.md: 0 done, 2 a bad input / option / output, 130 Ctrl-C and 143 SIGTERM, the
    shell's 128 + the signal's number."""
    assert (signals.EXIT_OK, signals.EXIT_USER_ERROR) == (0, 2)
    assert signals.EXIT_INTERRUPTED == 128 + signal.SIGINT == 130
    assert signals.EXIT_TERMINATED == 128 + signal.SIGTERM == 143


def _kill(sig):
    os.kill(os.getpid(), sig)  # the handler runs in this (the main) thread before os.kill returns


def test_a_second_sigterm_within_two_seconds_is_ignored(monkeypatch):
    """At a made-up clock: the first SIGTERM (at 0 s) raises, one at 1.999 s is ignored, one exactly
    2 s after the first raises again (the docstring: "within" 2 s is ignored), and the next window
    counts from that one."""
    assert signals.SECOND_SIGTERM_AFTER == 2.0
    now = [0.0]
    monkeypatch.setattr(signals.time, "monotonic", lambda: now[0])
    with signals.signals_raise():
        assert signals.interrupted_by() is None
        for t, raises in ((0.0, True), (1.999, False), (2.0, True), (3.5, False), (4.0, True)):
            now[0] = t
            if raises:
                with pytest.raises(signals.Terminated):
                    _kill(signal.SIGTERM)
            else:
                _kill(signal.SIGTERM)
            assert signals.interrupted_by() == "term"


def test_ctrl_c_is_recorded_as_int_and_term_wins(monkeypatch):
    with signals.signals_raise():
        with pytest.raises(KeyboardInterrupt) as e:
            _kill(signal.SIGINT)
        assert not isinstance(e.value, signals.Terminated) and signals.interrupted_by() == "int"
        with pytest.raises(signals.Terminated):
            _kill(signal.SIGTERM)
        assert signals.interrupted_by() == "term"


def test_the_previous_handlers_come_back_each_to_its_own_signal():
    def on_term(signum, frame):
        pass

    def on_int(signum, frame):
        pass

    before = signal.signal(signal.SIGTERM, on_term), signal.signal(signal.SIGINT, on_int)
    try:
        with signals.signals_raise():
            assert signal.getsignal(signal.SIGTERM) is not on_term
        assert signal.getsignal(signal.SIGTERM) is on_term and signal.getsignal(signal.SIGINT) is on_int
    finally:
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])


def test_say_is_true_when_the_line_was_written(capsys):
    assert signals.say("one line") is True and signals.say("to stderr", err=True) is True
    out, err = capsys.readouterr()
    assert (out, err) == ("one line\n", "to stderr\n")
