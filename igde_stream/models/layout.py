"""Channel counts that suit CPU runtimes, without changing what a model computes.

ONNX Runtime's CPU convolutions work in a blocked layout (NCHWc: channels in blocks of 8 with AVX2,
16 with AVX-512). A residual dense block concatenates its input (g0 channels) with each layer's g
new ones; with g = 12 (igde-small) every concatenation ends off a block boundary, so the runtime
converts the features out of the blocked layout and back around each one (``ReorderInput`` /
``ReorderOutput``: 17 % of igde-small's time at 960x540). :func:`pad_growth_channels` gives every
dense layer ``multiple``-aligned outputs: the extra filters are zero (weights and bias), so after
the ReLU their channels are zero, and the layers that read them get zero weights for them. The
function is the same up to float rounding (a runtime may sum in another order: a residual head's
output moves by ~1e-7; a select head's picked input values came out identical on the test frames,
though a score tie could in principle flip); the graph has no reorders between the dense layers. The export (``igde_stream.export.export_onnx``) applies it by default.
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from .igde import ResidualDenseBlock

__all__ = ["grow_growth_channels", "grow_radius", "growth_channels", "pad_growth_channels"]


def growth_channels(model: nn.Module) -> int | None:
    """The growth (output channels) of ``model``'s first dense layer; None without dense blocks."""
    return next((b.convs[0].out_channels for b in model.modules() if isinstance(b, ResidualDenseBlock)), None)


def _aligned(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple


def _pad_block(block: ResidualDenseBlock, big: int) -> None:
    g0, g = block.convs[0].in_channels, block.convs[0].out_channels
    if big == g:
        return

    def sources(n_in: int) -> torch.Tensor:  # the padded input channel of each original one
        groups = (n_in - g0) // g
        return torch.tensor(list(range(g0)) + [g0 + j * big + k for j in range(groups) for k in range(g)])

    def widened(conv: nn.Conv2d, out_channels: int) -> nn.Conv2d:
        n_in = g0 + (conv.in_channels - g0) // g * big
        new = nn.Conv2d(n_in, out_channels, conv.kernel_size, padding=conv.padding, bias=conv.bias is not None,
                        dtype=conv.weight.dtype, device=conv.weight.device)
        with torch.no_grad():
            new.weight.zero_()
            new.weight[: conv.out_channels, sources(conv.in_channels)] = conv.weight
            if conv.bias is not None:
                new.bias.zero_()
                new.bias[: conv.out_channels] = conv.bias
        return new

    block.convs = nn.ModuleList(widened(conv, big) for conv in block.convs)
    block.fuse = widened(block.fuse, block.fuse.out_channels)


def pad_growth_channels(model: nn.Module, multiple: int = 16) -> nn.Module:
    """A copy of ``model`` whose residual dense blocks' layers have ``multiple``-aligned growth
    channels (zero filters added; the function is unchanged); ``model`` itself is left as it was.
    ``multiple`` <= 1, or a model without such blocks, gives a plain copy."""
    out = copy.deepcopy(model)
    if multiple > 1:
        for module in out.modules():
            if isinstance(module, ResidualDenseBlock):
                _pad_block(module, _aligned(module.convs[0].out_channels, multiple))
    return out


def grow_growth_channels(model: nn.Module, g: int, seed: int = 0) -> nn.Module:
    """A model whose config says growth ``g`` (more than ``model``'s), for training on: the dense
    layers are padded as by :func:`pad_growth_channels`, and the new filters get random weights
    (Gaussian, the standard deviation of their layer's trained filters; bias 0) while the weights
    that read them stay zero. The function is unchanged, and the new channels carry signal, so both
    they and the weights that read them get gradients (zero filters read by zero weights would get
    none). ``model`` is left as it was."""
    from . import build_model

    old = model.config.g
    if g <= old:
        raise ValueError(f"growth channels can only grow: {old} -> {g}")
    wide = copy.deepcopy(model)
    rng = torch.Generator().manual_seed(seed)
    for block in wide.modules():
        if isinstance(block, ResidualDenseBlock):
            spreads = [float(conv.weight.detach().std()) for conv in block.convs]  # the trained filters'
            _pad_block(block, g)
            with torch.no_grad():
                for conv, std in zip(block.convs, spreads):
                    w = conv.weight
                    w[old:] = torch.randn(w[old:].shape, generator=rng, dtype=w.dtype) * std
    out = build_model(dataclasses.replace(model.config, g=g))
    out.load_state_dict(wide.state_dict())
    out.variant = getattr(model, "variant", None)
    return out.train(model.training)


def grow_radius(model: nn.Module, radius: int, far_bias: float = -2.0) -> nn.Module:
    """A select / soft model whose config says candidate radius ``radius`` (more than ``model``'s),
    for training on: every candidate offset the model had keeps its score weights, and each new one,
    farther out, starts with the weights of the old offset it clamps to (per coordinate, to the old
    radius: along a ray of the star set, the ray's farthest old offset) and that offset's bias plus
    ``far_bias`` (so that a far candidate starts less likely than the near one it extends, yet with a
    gradient); the gate row and the rest of the network stay as they were. The edge band follows the
    radius (``selection.edge_band``), so the function changes where the new reach applies: a
    checkpoint to fine-tune, not one to ship. ``model`` is left as it was."""
    from . import build_model
    from .selection import SelectionHead

    cfg = model.config
    head = getattr(model, "head", None)
    if not isinstance(head, SelectionHead):
        raise ValueError("the candidate radius belongs to a soft or select head; this model has none")
    if radius <= cfg.radius:
        raise ValueError(f"the candidate radius can only grow: {cfg.radius} -> {radius}")
    out = build_model(dataclasses.replace(cfg, radius=int(radius)))
    state = {k: v for k, v in model.state_dict().items() if not k.startswith("head.conv.")}
    missing, unexpected = out.load_state_dict(state, strict=False)
    assert not unexpected and set(missing) == {"head.conv.weight", "head.conv.bias"}, (missing, unexpected)
    r_old = cfg.radius
    rows, shift = [], []
    for dy, dx in out.head.offsets:
        near = (max(-r_old, min(r_old, dy)), max(-r_old, min(r_old, dx)))
        rows.append(head.offsets.index(near))
        shift.append(0.0 if near == (dy, dx) else far_bias)
    if head.gate:
        rows.append(len(head.offsets))
        shift.append(0.0)
    with torch.no_grad():
        out.head.conv.weight.copy_(head.conv.weight[rows])
        out.head.conv.bias.copy_(head.conv.bias[rows] + torch.tensor(shift, dtype=head.conv.bias.dtype))
    out.variant = getattr(model, "variant", None)
    return out.train(model.training)
