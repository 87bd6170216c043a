"""models.layout's channel counts by hand, on single dense blocks (fast): the default multiple and the
smallest multiples that pad."""

from __future__ import annotations

import pytest
import torch

from igde_stream.models.igde import ResidualDenseBlock
from igde_stream.models.layout import pad_growth_channels


def _outs(block: ResidualDenseBlock) -> list[int]:
    return [conv.out_channels for conv in block.convs]


def test_the_default_multiple_is_16():
    """Without ``multiple``, growth 12 pads to 16 and 20 to 32 (docs/backends.md: the export pads the
    dense layers to a multiple of 16; 16 is also the function's documented default)."""
    torch.manual_seed(0)
    assert _outs(pad_growth_channels(ResidualDenseBlock(4, 12, 2))) == [16, 16]
    assert _outs(pad_growth_channels(ResidualDenseBlock(4, 20, 2))) == [32, 32]
    assert _outs(pad_growth_channels(ResidualDenseBlock(4, 16, 2))) == [16, 16]


@pytest.mark.parametrize("g,multiple,want", [(5, 2, 6), (5, 3, 6), (7, 2, 8), (6, 4, 8), (5, 1, 5), (5, 0, 5)])
def test_every_multiple_above_1_pads_to_the_next_multiple(g, multiple, want):
    """The docstring: ``multiple`` <= 1 gives a plain copy, any larger one the smallest multiple of it
    that is >= g (by hand: 5 -> 6 for 2 and 3, 7 -> 8, 6 -> 8 for 4); the block's function is kept."""
    torch.manual_seed(1)
    block = ResidualDenseBlock(3, g, 3)
    padded = pad_growth_channels(block, multiple)
    assert _outs(padded) == [want] * 3
    assert [conv.in_channels for conv in padded.convs] == [3, 3 + want, 3 + 2 * want]
    x = torch.rand(1, 3, 7, 9)
    with torch.no_grad():
        assert float((block(x) - padded(x)).abs().max()) <= 1e-6


def test_blocks_of_one_layer_pad_and_report_their_growth():
    """IGDEConfig allows ``layers`` = 1 (>= 1): a block of one dense layer (g0 3, g 5) pads to 8 for
    multiple 8 (by hand) and keeps its function; ``growth_channels`` is that layer's 5 (the padded
    copy's 8), and None for a module without dense blocks (its docstring)."""
    from igde_stream.models.layout import growth_channels

    torch.manual_seed(2)
    block = ResidualDenseBlock(3, 5, 1)
    padded = pad_growth_channels(block, 8)
    assert _outs(padded) == [8] and padded.fuse.in_channels == 3 + 8
    assert growth_channels(block) == 5 and growth_channels(padded) == 8
    assert growth_channels(torch.nn.Conv2d(3, 5, 3)) is None
    x = torch.rand(1, 3, 6, 5)
    with torch.no_grad():
        assert float((block(x) - padded(x)).abs().max()) <= 1e-6
