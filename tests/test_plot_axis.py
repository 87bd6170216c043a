"""The --plot picture's frame axis: frames are whole numbers."""

from __future__ import annotations

import numpy as np
import pytest

from igde_stream.stream.report import PsnrReport

pytest.importorskip("matplotlib")


@pytest.mark.parametrize("count", [2, 3, 5])
def test_plot_of_a_few_frames_has_whole_frame_ticks(tmp_path, monkeypatch, count):
    """A run of --max-frames 3 was plotted with ticks at 0.25, 0.5, 0.75 ... on its frame axis; every
    tick is now a frame number (and each of 2 or 3 frames has its tick)."""
    from matplotlib.figure import Figure

    seen = []
    save = Figure.savefig
    monkeypatch.setattr(Figure, "savefig", lambda fig, *a, **k: (seen.append(fig), save(fig, *a, **k))[1])
    rep = PsnrReport(255.0)
    gt = np.full((8, 8), 100, np.uint8)
    for i in range(count):
        out = gt.copy()
        out[0, : i + 1] = 90
        rep.add(i, i / 30, out, np.zeros_like(gt), gt, i / 30)
    rep.plot(tmp_path / "p.png")
    rep.close()
    (fig,) = seen
    ax = fig.axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    if count <= 3:
        assert set(range(count)) <= {int(t) for t in ticks}
    assert (tmp_path / "p.png").stat().st_size > 0
