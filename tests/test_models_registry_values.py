"""Values of ``models/__init__.py`` (mutation campaign 58c): every variant's sizes, parameter count and
cost against docs/models.md's table (G0, G, L, RDBs, head, parameters, GFLOP @ 960x540, from
``model_complexity`` when the table was written), and the shipped weights' hash against the one
recorded beside them when they were shipped (``igde_stream/weights/*.json``)."""

from __future__ import annotations

import json

import pytest
import torch

from igde_stream.models import WEIGHTS_DIR, create_model, get_config, load_checkpoint, model_complexity, \
    pretrained_path, weights_hash

# docs/models.md: variant, G0, G, L, RDBs per extractor, RDBs in refinement, head, parameters, GFLOP
TABLE = [
    ("igde-tiny", 8, 8, 2, 1, 1, "residual", 12_017, 12.3),
    ("igde-small", 16, 12, 3, 1, 2, "select", 70_855, 42.6),
    ("igde-small-hq", 16, 12, 3, 1, 2, "select", 70_855, 85.3),
    ("igde-small-select", 16, 12, 3, 1, 2, "select", 65_074, 66.9),
    ("igde-small-soft", 16, 12, 3, 1, 2, "soft", 65_057, 66.9),
    ("igde-small-residual", 16, 12, 3, 1, 2, "residual", 63_969, 65.8),
    ("igde-base", 64, 32, 6, 2, 4, "residual", 2_516_289, 2605.7),
]


@pytest.mark.parametrize("row", TABLE, ids=[r[0] for r in TABLE])
def test_each_variant_is_the_one_in_the_docs_table(row):
    name, g0, g, layers, extractor, refine, head, params, gflop = row
    c = get_config(name)
    assert (c.g0, c.g, c.layers, c.extractor_blocks, c.refine_blocks, c.head) == (g0, g, layers, extractor, refine, head)
    cost = model_complexity(name)  # the default frame is 960x540
    assert cost["params"] == params
    assert round(cost["gflop"], 1) == gflop
    assert cost["gflop"] == 2 * cost["gmac"]  # exactly: doubling is exact in binary floating point


def test_igde_smalls_head_and_its_cost_without_the_flip_average():
    # docs/models.md: select, attend 2, backbone at 1/2 resolution, 1 pass, flip average; 65
    # candidates (5x5 square + 8 rays to 7 px); 21.3 GFLOP with flip_average=False, 38.4 with passes=2
    c = get_config("igde-small")
    assert (c.attend, c.scale, c.passes, c.radius, c.candidates, c.flip_average) == (2, 2, 1, 7, "star", True)
    assert c.pick_temperature == 0.3 and c.band_step == 2.5
    assert round(model_complexity(create_model("igde-small", flip_average=False))["gflop"], 1) == 21.3
    assert round(model_complexity(create_model("igde-small", flip_average=False, passes=2))["gflop"], 1) == 38.4
    hq = get_config("igde-small-hq")
    assert hq.flip_vertical and not c.flip_vertical
    assert {k: v for k, v in vars(hq).items() if k != "flip_vertical"} == \
        {k: v for k, v in vars(c).items() if k != "flip_vertical"}


class _Convs(torch.nn.Module):
    """A 1 x 3 conv (3 -> 4), a 3 x 3 conv in 2 groups (4 -> 4) on the colour; a 3 x 3 conv (1 -> 2) on
    the depth."""

    def __init__(self):
        super().__init__()
        self.wide = torch.nn.Conv2d(3, 4, (1, 3), padding=(0, 1))
        self.grouped = torch.nn.Conv2d(4, 4, 3, padding=1, groups=2)
        self.depth = torch.nn.Conv2d(1, 2, 3, padding=1)

    def forward(self, color, depth):
        return self.grouped(self.wide(color)).mean(1, keepdim=True) + self.depth(depth).mean(1, keepdim=True)


def test_the_cost_of_a_network_counted_by_hand():
    # multiply-adds per output pixel: 4 x (1 x 3 x 3) + 4 x (3 x 3 x 2) + 2 x (3 x 3 x 1) = 36 + 72 + 18
    # = 126; 960 x 540 = 518,400 pixels. Weights and biases: 40 + 76 + 20.
    cost = model_complexity(_Convs())
    assert cost["params"] == 136
    assert cost["gmac"] == pytest.approx(126 * 518_400 / 1e9, rel=1e-12)
    assert cost["gflop"] == pytest.approx(2 * 126 * 518_400 / 1e9, rel=1e-12)
    assert model_complexity(_Convs(), 10, 20)["gmac"] == pytest.approx(126 * 200 / 1e9, rel=1e-12)


def test_the_cost_scales_with_the_pixel_count():
    at = model_complexity("igde-tiny")
    quarter = model_complexity("igde-tiny", 270, 480)
    assert quarter["gmac"] == pytest.approx(at["gmac"] / 4) and quarter["params"] == at["params"]


@pytest.mark.parametrize("name", ["igde-small", "igde-small-hq"])
def test_the_shipped_weights_hash_is_the_one_recorded_when_they_were_shipped(name):
    assert pretrained_path(name) == WEIGHTS_DIR / f"{name}.pt" and pretrained_path(name).is_file()
    record = json.loads((WEIGHTS_DIR / f"{name}.json").read_text())
    assert weights_hash(load_checkpoint(pretrained_path(name))) == record["weights_hash"]
    assert len(record["weights_hash"]) == 16
