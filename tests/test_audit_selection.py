"""Audit: the gated (sparse) hard output of a flip-averaged select head at a gate threshold other than
0.5, as the shipped model runs (gate_threshold 0.2, flip_average). At 0.5 the threshold logit is 0,
so a gate summed over the two runs instead of averaged fires on the same pixels; at 0.2 it does not."""

from __future__ import annotations

import math

import torch

from conftest import random_select_model as _model
from igde_stream.models.selection import head_form


def test_flip_averaged_gate_fires_on_the_mean_of_both_runs_at_threshold_0_2():
    thr = 0.2
    model = _model(4, flip_average=True, gate_threshold=thr)
    plain = _model(4)  # same weights, one run: the two runs are made here by hand
    g = torch.Generator().manual_seed(5)
    color = torch.rand(2, 3, 18, 26, generator=g)
    depth = torch.randint(0, 256, (2, 1, 18, 26), generator=g).float() / 255
    level = math.log(thr / (1 - thr))
    with torch.no_grad():
        # the gate logit as the mean of the frame's run and the mirrored frame's run (flipped back)
        def gate_by_hand():
            a = plain.select_logits(color, depth)[:, -1:]
            b = plain.select_logits(color.flip(-1), depth.flip(-1)).flip(-1)[:, -1:]
            return 0.5 * (a + b)

        # squeeze the gate logits to a spread of about 1 (random weights spread them over tens), then
        # move the gate bias so that the threshold falls midway between the two middle gate values
        scale = 1.0 / float(gate_by_hand().std())
        for m in (model, plain):
            m.head.conv.weight[-1] *= scale
            m.head.conv.bias[-1] *= scale
        v = gate_by_hand().flatten().sort().values
        k = v.numel() // 2
        shift = (v[k - 1] + v[k]) / 2 - level
        for m in (model, plain):
            m.head.conv.bias[-1] -= shift
        fire = gate_by_hand() > level
        assert 0.4 < fire.float().mean() < 0.6
        with head_form(model, sparse=True):
            sparse = model(color, depth)
        with head_form(model, sparse=False):
            dense = model(color, depth)
    for out in (sparse, dense):
        assert torch.equal(out[~fire], depth[~fire])  # closed gate: the input
        assert (out != depth)[fire].float().mean() > 0.8  # open gate: nearly always another candidate
    assert (sparse != dense).float().mean() <= 0.002  # the two forms agree up to argmax near-ties
