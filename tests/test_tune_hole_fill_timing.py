"""``tools/tune_hole_fill.py`` reports the fill's own cost per frame: with ``--orders before`` the
model runs on the filled depth, and that run must not be counted as the fill's time."""

from __future__ import annotations

import numpy as np

from conftest import load_tool


class Clock:
    """A stand-in for ``time.perf_counter``: time moves only when the stubs below say so."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_the_fill_time_leaves_out_the_models_run(monkeypatch):
    tool = load_tool("tune_hole_fill")
    from igde_stream import hole_fill
    from igde_stream.hole_fill import HoleFill

    clock = Clock()
    monkeypatch.setattr(tool.time, "perf_counter", clock)

    def fill(color, depth, out=None, settings=None):  # 1 s of fill
        clock.now += 1.0
        return depth + 1 if out is None else out

    class Model:  # 100 s of model
        def enhance(self, color, depth):
            clock.now += 100.0
            return depth

    monkeypatch.setattr(hole_fill, "fill_holes", fill)
    color, depth = np.zeros((4, 4, 3), np.uint8), np.ones((4, 4), np.uint16)
    for order in ("after", "before", "before-keep"):
        timing = []
        tool.fill_order_outputs(Model(), color, depth, depth, HoleFill(), order, timing)
        assert timing == [1.0], order
