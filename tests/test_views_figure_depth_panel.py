"""``views quality --figure``: the ground-truth depth panel is drawn over the patch's own range, so a
distance map (far-high, read as inverse depth) is visible, not a black square."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("matplotlib")


def test_far_high_depth_panel_spans_the_patchs_range(tmp_path, monkeypatch):
    """Stripes of 8000 and 16000 (1.6 and 3.2 m at 5000 per metre) at --max-depth 25000: read as
    1250 / d, 0.15625 and 0.078125, which over 0..1 drew the panel in the darkest 16 % of gray. The
    panel's gray now runs from 0.078125 to 0.15625 (the values worked out by hand)."""
    import matplotlib.pyplot as plt

    from igde_stream.multiview_figure import boundary_figure

    seen = []
    save = plt.Figure.savefig
    monkeypatch.setattr(plt.Figure, "savefig", lambda fig, *a, **k: (seen.append(fig), save(fig, *a, **k))[1])
    h, w = 48, 64
    gt = np.where((np.arange(w) // 8) % 2 == 0, 8000, 16000).astype(np.uint16)[None].repeat(h, 0)
    color = np.random.default_rng(0).integers(0, 256, (h, w, 3)).astype(np.uint8)
    deg = gt.copy()
    deg[:, 6:10] = 8000  # a near edge moved by two columns
    boundary_figure(color, gt, {"degraded": deg}, str(tmp_path / "f.png"), max_depth=25000, depth_order="far-high")
    (fig,) = seen
    panel = fig.axes[2]  # row 2, column 1 of a 2 x 2 grid
    lo, hi = panel.images[0].get_clim()
    assert (lo, hi) == pytest.approx((1250 / 16000, 1250 / 8000))
    assert "0.0781..0.156 of 0..1" in panel.get_title()
