"""Float depth read once for its range: the first frame read for the range says nothing the run's own
reader says (non-square pixels, once); the narrow-range advice names a range that holds every frame
where the clip is cheap to scan (.npy / .npz), and says it comes from the first frame where it is not
(image sequences), naming the summary line that gives the covering range. Expected ranges are NumPy's
min and max of the arrays written here."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from igde_stream.stream import enhance_file
from test_float_depth import float_scene, write_sequences


def write_exr_sar(path: Path, values: np.ndarray, sar: Fraction) -> Path:
    """A 1-channel float EXR from FFmpeg's encoder with a pixelAspectRatio (FFmpeg's decoder reads it back
    as the sample aspect ratio)."""
    cc = av.CodecContext.create("exr", "w")
    cc.width, cc.height, cc.pix_fmt = values.shape[1], values.shape[0], "grayf32le"
    cc.time_base, cc.sample_aspect_ratio = Fraction(1, 25), sar
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(values, np.float32), format="grayf32le")
    frame.pts = 0
    path.write_bytes(b"".join(bytes(p) for p in [*cc.encode(frame), *cc.encode(None)]))
    return path


def test_non_square_float_depth_is_said_once(tmp_path, enhancer, caplog):
    colors, depths, _ = float_scene(2)
    folder = write_sequences(tmp_path, colors, depths, writer=lambda p, d: write_exr_sar(p, d, Fraction(4, 3)),
                             suffix=".exr")
    with av.open(str(folder / "000000.exr")) as c:  # the file carries the aspect FFmpeg reads
        assert c.streams.video[0].sample_aspect_ratio == Fraction(4, 3)
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", enhancer=enhancer)
    said = [m for m in caplog.messages if "not square" in m]
    assert len(said) == 1, said
    assert "sample aspect ratio 4:3" in said[0]


def test_no_autorotate_float_depth_is_said_once_too(tmp_path, enhancer, caplog):
    """Without the orientation probe, the first frame is probed for its values alone, not read by a
    reader of its own."""
    from igde_stream.stream.sources import InputOptions

    colors, depths, _ = float_scene(2)
    folder = write_sequences(tmp_path, colors, depths, writer=lambda p, d: write_exr_sar(p, d, Fraction(4, 3)),
                             suffix=".exr")
    with caplog.at_level(logging.INFO, logger="igde_stream.stream"):
        s = enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", enhancer=enhancer,
                         inputs=InputOptions(autorotate=False))
    assert len([m for m in caplog.messages if "not square" in m]) == 1
    assert (s["float_range"]["lo"], s["float_range"]["hi"]) == (0.5, 2.5)  # float_scene's first frame, by hand


def _advised(records: list[logging.LogRecord]) -> tuple[str, float, float]:
    """The advice's text and range: the command's words in the record's cli_text (what the CLI prints),
    the same range in the Python API's words in its message."""
    said = [r for r in records if "float depth spans only" in r.getMessage()]
    assert len(said) == 1, said
    lo, hi = said[0].cli_text.split("e.g. --float-range=")[1].split(",")[0].split(":")
    assert f"e.g. float_range=({lo}, {hi})" in said[0].getMessage() and "--float-range=" not in said[0].getMessage()
    return said[0].getMessage(), float(lo), float(hi)


@pytest.mark.parametrize("kind", ["npy", "npz"])
def test_narrow_range_advice_for_an_array_clip_holds_every_frame(tmp_path, enhancer, caplog, kind):
    """A clip whose later frames leave the first frame's 0.5..2.5: the advice names NumPy's min and max of
    the whole clip, rounded outward to 9 digits, and a run with it clips nothing."""
    colors, depths, _ = float_scene(3)
    depths[1][3, 3] = np.float32(0.2334811985)  # nearest 9 digits 0.233481199 lies above it
    depths[2][4, 4] = np.float32(1.4064697) + 2  # nearest 9 digits 3.40646982 lies below it
    clip = np.stack(depths)
    lo, hi = float(np.nanmin(clip)), float(np.nanmax(clip))  # the range of every frame, by NumPy
    write_sequences(tmp_path, colors, [])  # the colour images only
    path = tmp_path / f"d.{kind}"
    np.save(path, clip) if kind == "npy" else np.savez_compressed(path, depth=clip)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(tmp_path / "rgb", path, tmp_path / "o.mkv", enhancer=enhancer, float_range=(0.0, 1500.0))
    said, a, b = _advised(caplog.records)
    assert "every frame" in said and "first frame" not in said
    assert a <= lo and b >= hi  # it holds every value, as a float64 compare of the float32 values
    assert lo - a < 1e-8 * abs(lo) * 10 and b - hi < 1e-8 * abs(hi) * 10  # and is the 9-digit bound next to them
    s = enhance_file(tmp_path / "rgb", path, tmp_path / "o2.mkv", enhancer=enhancer, float_range=(a, b))
    assert s["float_range"]["clipped_frames"] == 0


def test_narrow_range_advice_for_images_says_it_is_the_first_frames(tmp_path, enhancer, caplog):
    colors, depths, _ = float_scene(2)
    depths[1][4, 4] = 3.25
    folder = write_sequences(tmp_path, colors, depths)
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        enhance_file(tmp_path / "rgb", folder, tmp_path / "o.mkv", enhancer=enhancer, float_range=(0.0, 1500.0))
    said, a, b = _advised(caplog.records)
    assert (a, b) == (0.5, 2.5)  # float_scene's first frame, by hand
    assert "in the first frame" in said and "holds the first frame only" in said
    assert "float_range['covering'] of the run's summary" in said
    record = [r for r in caplog.records if "float depth spans only" in r.getMessage()][0]
    assert "frames clipped (the values read span" in record.cli_text and "float_range.covering" in record.cli_text


def test_clipping_is_warned_once_for_files_named_by_a_pattern_and_by_their_folder(tmp_path, enhancer, caplog):
    """Depth ``frames/d_%04d.pfm`` and ground truth ``frames/`` (the same two files): one warning, as for
    one path named two ways; each reader still counts its clipped frame."""
    from test_float_depth import write_pfm

    colors, depths, _ = float_scene(2)
    depths[1][10:12, 10:13] = 3.5  # 6 values above the first frame's 2.5
    write_sequences(tmp_path, colors, [])
    (tmp_path / "frames").mkdir()
    for i, d in enumerate(depths):
        write_pfm(tmp_path / "frames" / f"d_{i:04d}.pfm", d)
    with caplog.at_level(logging.WARNING, logger="igde_stream.stream"):
        s = enhance_file(tmp_path / "rgb", tmp_path / "frames" / "d_%04d.pfm", tmp_path / "o.mkv",
                         gt_path=tmp_path / "frames", report_path=tmp_path / "r.json", enhancer=enhancer)
    warned = [m for m in caplog.messages if "outside" in m]
    assert len(warned) == 1 and "frame 1 has 6 of 768" in warned[0], warned
    assert (s["float_range"]["clipped_frames"], s["float_range"]["gt_clipped_frames"]) == (1, 1)


def test_the_narrow_range_advice_names_ranges_as_the_command_line_takes_them(monkeypatch, caplog):
    """A range below 0 (depth as signed log distance, say) named as "--float-range -10:10": pasted,
    argparse reads -10:10 as an option and stops ("expected one argument"); the = form it takes.
    Both ranges the advice names (the one given and the one suggested) are parsed back here by the
    command's own parser."""
    import re
    from types import SimpleNamespace

    from igde_stream.cli import build_parser
    from igde_stream.stream import floatdepth

    monkeypatch.setattr(floatdepth, "clip_range", lambda depth, order: (-0.5, -0.25))
    with caplog.at_level(logging.WARNING, logger="igde_stream"):
        floatdepth._say_narrow(floatdepth.FloatMap(-10.0, 10.0, "near-high", "given"),
                               SimpleNamespace(path="d.npy"), None, "near-high")
    (record,) = [r for r in caplog.records if "float depth spans only" in r.getMessage()]
    named = re.findall(r"--float-range[ =]\S+?(?=[ ,)])", record.cli_text)
    assert len(named) == 2, record.cli_text
    for option in named:
        args = build_parser().parse_args(["c.mkv", "d.npy", "-o", "o.mkv", *option.split(" ")])
        assert args.float_range in ((-10.0, 10.0), (-0.5, -0.25)), option
