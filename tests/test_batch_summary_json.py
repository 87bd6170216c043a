"""The batch summary's JSON is data a script can read: the input options it ran with are an object of
their fields (a frame rate as its exact fraction), not the Python repr of a dataclass."""

from __future__ import annotations

import json
from fractions import Fraction

from igde_stream.batch_jobs import write_summary
from igde_stream.stream.sources import InputOptions


def test_the_input_options_are_a_json_object(tmp_path):
    header = {"tool": "igde-stream batch", "options": {"inputs": InputOptions(fps=Fraction(30000, 1001), color_stream=1),
                                                       "batch": 4}}
    row = {"output": "o.mkv", "status": "done"}
    path = tmp_path / "s.json"
    write_summary([row], path, header)
    s = json.loads(path.read_text())
    inputs = s["options"]["inputs"]
    assert isinstance(inputs, dict), inputs
    assert inputs["fps"] == "30000/1001" and inputs["color_stream"] == 1 and inputs["depth_stream"] is None
    assert inputs["autorotate"] is True and inputs["depth_colormap"] == "gray" and s["options"]["batch"] == 4
    assert (s["clips"], s["done"], s["failed"]) == (1, 1, 0)
