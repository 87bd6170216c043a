"""eval_report's tables and JSON by hand on one made-up row (fast: no evaluation): the digits of each
column, "-" for NaN and "inf", and eval.json's null / "inf" / "-inf" for NumPy scalars too."""

from __future__ import annotations

import json
import math

import numpy as np

from igde_stream.eval_report import _fmt, json_ready, markdown_table, write_report


def _row(**kw):
    r = {"dataset": "toy", "method": "igde-tiny", "frames": 6, "psnr": 31.23456, "psnr_t": float("inf"),
         "psnr_f": float("nan"), "ssim": 0.912345, "rmse": 2.71828, "temporal": 1.4142, "psnr_min": 29.0,
         "psnr_median": 31.005, "psnr_max": 33.999, "ms_per_frame": 12.6}
    r.update(kw)
    return r


def test_a_rows_line_by_hand():
    """PSNR columns at 2 decimals, SSIM at 4, RMSE and temporal at 3, ms/frame at 0; NaN "-", inf
    "inf", a count as it is (the layout of results/eval/eval.md)."""
    lines = markdown_table([_row()]).splitlines()
    assert lines[0].startswith("| dataset | method | frames | PSNR |") and lines[1].startswith("|---|")
    assert lines[2] == ("| toy | igde-tiny | 6 | 31.23 | inf | - | 0.9123 | 2.718 | 1.414 | "
                        "29.00 / 31.00 / 34.00 | 13 |")
    assert len(lines) == 3


def test_fmt_defaults_to_two_decimals():
    assert (_fmt(1.0), _fmt(0.125, 1), _fmt(-2.5), _fmt(7), _fmt("x")) == ("1.00", "0.1", "-2.50", "7", "x")
    assert (_fmt(float("nan")), _fmt(float("inf")), _fmt(float("-inf"))) == ("-", "inf", "-inf")


def test_json_ready_turns_numpy_scalars_into_plain_values():
    """nan -> None, +-inf -> "inf" / "-inf", NumPy scalars -> Python ones: also a float32 NaN or inf
    (json.dumps would write NaN / Infinity, which is no JSON)."""
    got = json_ready({"n": np.int64(3), "f": np.float32(0.5), "nan32": np.float32("nan"),
                       "inf32": np.float32("inf"), "ninf32": -np.float32("inf"), "nan": float("nan"),
                       "list": [float("-inf"), (np.uint8(7), 1.5)]})
    assert got == {"n": 3, "f": 0.5, "nan32": None, "inf32": "inf", "ninf32": "-inf", "nan": None,
                   "list": ["-inf", [7, 1.5]]}
    assert type(got["n"]) is int and type(got["f"]) is float
    json.loads(json.dumps(got), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))  # strict JSON


def test_write_report_files(tmp_path):
    """eval.md holds the table; eval.json the meta and rows, strict JSON (no NaN / Infinity), laid out
    with two-space indents like the committed results/eval/eval.json."""
    paths = write_report(tmp_path / "out", [_row(temporal=np.float32("nan"))], {"note": "toy"})
    assert paths == {"markdown": tmp_path / "out" / "eval.md", "json": tmp_path / "out" / "eval.json"}
    assert paths["markdown"].read_text() == markdown_table([_row(temporal=float("nan"))])
    text = paths["json"].read_text()
    assert text.startswith('{\n  "meta": {\n    "note": "toy"\n  },\n  "rows": [\n    {\n      "dataset": "toy",')
    assert text.endswith("}\n")
    back = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert back["rows"][0]["psnr_t"] == "inf" and back["rows"][0]["psnr_f"] is None
    assert back["rows"][0]["temporal"] is None and math.isclose(back["rows"][0]["psnr"], 31.23456)
