"""cli_parser's argparse types by hand (fast, no video): frame rates, seconds, counts, float ranges
and ``--hole-fill``'s mapping, at their bounds, as their docstrings and the options' help define them."""

from __future__ import annotations

import argparse
import re
from fractions import Fraction

import pytest

from igde_stream.cli_parser import (OneLineParser, count_arg, float_range_arg, fps_arg, hole_fill_of,
                                    seconds_arg)


@pytest.mark.parametrize("text, want", [("30", Fraction(30)), ("29.97", Fraction(2997, 100)),
                                        ("30000/1001", Fraction(30000, 1001)), ("1", Fraction(1)),
                                        ("0.5", Fraction(1, 2)), ("1/1001", Fraction(1, 1001))])
def test_frame_rates_above_0_are_exact_fractions(text, want):
    """``30``, ``29.97`` or ``30000/1001``, above 0: kept exact (29.97 is 2997/100, not a float)."""
    rate = fps_arg(text)
    assert rate == want and isinstance(rate, Fraction)


@pytest.mark.parametrize("text, said", [("0", "above 0"), ("0/5", "above 0"), ("-25", "above 0"),
                                        ("1/0", "like 25, 29.97"), ("fast", "like 25, 29.97")])
def test_frame_rates_of_0_or_less_or_not_a_number_are_refused(text, said):
    with pytest.raises(argparse.ArgumentTypeError, match=said):
        fps_arg(text)


@pytest.mark.parametrize("text, want", [("10", 10.0), ("2.5", 2.5), ("0.5", 0.5), ("1", 1.0), ("1e-3", 0.001)])
def test_seconds_above_0(text, want):
    assert seconds_arg(text) == want


@pytest.mark.parametrize("text", ["0", "-1", "inf", "nan", "ten", ""])
def test_seconds_of_0_or_less_or_not_finite_are_refused(text):
    """"a finite number above 0": 0 s would wait for nothing, inf for ever."""
    with pytest.raises(argparse.ArgumentTypeError, match="number of seconds above 0"):
        seconds_arg(text)


@pytest.mark.parametrize("least, ok, refused", [
    (None, ["1", "2", "40"], ["0", "-1", "x", "1.5", ""]),  # the default: at least 1
    (0, ["0", "7"], ["-1", "x"]),
    (3, ["3", "4"], ["2", "0", "x"]),
])
def test_counts_are_whole_numbers_from_least_on(least, ok, refused):
    """``count_arg(least)``: a whole number >= ``least`` (1 when not given); anything else, a word
    included whatever ``least`` is, is refused in the message that names ``least``."""
    parse = count_arg() if least is None else count_arg(least)
    assert [parse(t) for t in ok] == [int(t) for t in ok]
    for text in refused:
        with pytest.raises(argparse.ArgumentTypeError, match=f"must be a whole number >= {1 if least is None else least}, got"):
            parse(text)


def test_a_bad_count_is_argparses_one_line_error(capsys):
    """As an option's type: the one-line usage error (exit 2) of ``OneLineParser``, with the message."""
    p = OneLineParser(prog="igde-stream bench")
    p.add_argument("--runs", type=count_arg(2))
    assert p.parse_args(["--runs", "2"]).runs == 2
    with pytest.raises(SystemExit) as e:
        p.parse_args(["--runs", "x"])
    assert e.value.code == 2
    assert capsys.readouterr().err == "igde-stream bench: error: argument --runs: must be a whole number >= 2, got 'x'\n"


@pytest.mark.parametrize("text, want", [("0:1500", (0.0, 1500.0)), ("-1.5:2", (-1.5, 2.0)), ("0:1e-3", (0.0, 0.001))])
def test_float_ranges_lo_below_hi(text, want):
    assert float_range_arg(text) == want


@pytest.mark.parametrize("text", ["1:1", "0:0", "2:1", "0:inf", "nan:1", "1", "a:b", "1:2:3"])
def test_float_ranges_refused(text):
    """Two finite numbers with LO < HI: an empty range (LO = HI) maps nothing to depth."""
    with pytest.raises(argparse.ArgumentTypeError, match="LO < HI"):
        float_range_arg(text)


def test_hole_fill_auto_on_off():
    """``--hole-fill``: auto is the Enhancer's None (the model decides), on True, off False, far the
    fill that takes the far depth layer (``HoleFill(layers=2)``, docs/stream.md)."""
    from igde_stream.hole_fill import HoleFill

    assert hole_fill_of("auto") is None and hole_fill_of("on") is True and hole_fill_of("off") is False
    assert hole_fill_of("far") == HoleFill(layers=2)
    assert hole_fill_of("fast") == HoleFill(sigma_space=12, stride=3)  # the default's sigma, sampled


def test_a_fill_is_named_by_its_preset_or_custom():
    from igde_stream.hole_fill import DEFAULT_FILL, HoleFill, preset_name

    assert preset_name(None) is None and preset_name(DEFAULT_FILL) == "on"
    assert preset_name(HoleFill(sigma_space=12.0, stride=3)) == "fast" and preset_name(HoleFill(layers=2)) == "far"
    assert preset_name(HoleFill()) == "custom" and preset_name(HoleFill(sigma_space=12, stride=2)) == "custom"


def test_the_depth_colormap_help_names_every_map_once_and_gray_as_the_default():
    """docs/formats.md: the maps are inferno, magma, plasma, viridis, turbo, jet, spectral_r (any
    case); gray, the default, reads depth as gray. The help lists the seven maps, then gray."""
    from igde_stream.cli_parser import add_depth_colormap_option

    p = OneLineParser(prog="igde-stream")
    add_depth_colormap_option(p)
    action = p._option_string_actions["--depth-colormap"]
    maps = "inferno, magma, plasma, viridis, turbo, jet, spectral_r"
    assert f"each colour's index in the map: {maps}; gray (default): gray depth" in action.help
    assert p.parse_args([]).depth_colormap == "gray"
    assert p.parse_args(["--depth-colormap", "Spectral_R"]).depth_colormap == "spectral_r"


@pytest.mark.parametrize("argv", [["--help"], ["views", "render", "--help"], ["views", "quality", "--help"],
                                  ["batch", "--help"]])
def test_max_depth_help_gives_every_format_peak(capsys, argv):
    """``--max-depth``'s default is the depth format's peak (docs/stream.md, docs/formats.md: 10-bit depth
    is normalised by 1023, not 65535): the help of every command that takes it names 255, 1023, 4095
    and 65535, so a 10-bit user is not led to think it is divided by 65535."""
    from igde_stream.cli import main

    with pytest.raises(SystemExit):
        main(argv)
    text = " ".join(capsys.readouterr().out.split())
    said = re.search(r"--max-depth [A-Z_]+ (depth value .*?\))", text).group(1)  # the option's help entry
    assert all(str(peak) in said for peak in (255, 1023, 4095, 65535)), said


@pytest.mark.parametrize("argv", [["--help"], ["views", "--help"], ["views", "render", "--help"],
                                  ["views", "quality", "--help"], ["batch", "--help"]])
def test_files_the_help_names_exist(capsys, argv):
    """Every ``igde_stream/...`` or ``docs/...`` path a command's help points the reader to is there (the
    display layouts are a package, ``igde_stream/display/``, not a ``display.py``)."""
    from pathlib import Path

    from igde_stream.cli import main

    root = Path(__file__).resolve().parents[1]
    with pytest.raises(SystemExit):
        main(argv)
    named = set(re.findall(r"(?:igde_stream|docs)/[\w/.-]*\w/?", capsys.readouterr().out))
    assert named and not [p for p in sorted(named) if not (root / p).exists()]
