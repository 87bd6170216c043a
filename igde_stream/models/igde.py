"""IGDE network (paper section 3.1, Figs. 5-7): blocks, then the model, then nothing else.

Shapes: ``color`` N x 3 x H x W and ``depth`` N x 1 x H x W, float32 in [0, 1]; output N x 1 x H x W
in [0, 1]. Every convolution is stride 1 with "same" padding, so any H and W work (odd sizes too) and
the graph exports to ONNX with dynamic N, H, W.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class IGDEConfig:
    """Hyperparameters of one IGDE variant. The paper does not give D, L, G, G0; variants pick them.

    g0: feature channels between blocks (G0). g: growth rate inside an RDB (G).
    layers: conv layers per RDB (L). extractor_blocks / refine_blocks: RDBs per feature extractor
    and in the depth refinement RDN (D). color_taps: how many low-level image-branch features are
    concatenated into the depth branch (0-3, Table III). residual: predict input depth + residual.
    """

    g0: int = 16
    g: int = 16
    layers: int = 4
    extractor_blocks: int = 2
    refine_blocks: int = 3
    color_taps: int = 3
    residual: bool = True

    def __post_init__(self) -> None:
        for name in ("g0", "g", "layers", "extractor_blocks", "refine_blocks"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"IGDEConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.color_taps <= 2 + self.extractor_blocks:
            raise ValueError(
                f"IGDEConfig.color_taps must be in 0..{2 + self.extractor_blocks}, got {self.color_taps}"
            )


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


def conv1x1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1)


class ResidualDenseBlock(nn.Module):
    """L densely connected conv3x3+ReLU layers, 1x1 local feature fusion, local residual."""

    def __init__(self, g0: int, g: int, layers: int) -> None:
        super().__init__()
        self.convs = nn.ModuleList(conv3x3(g0 + i * g, g) for i in range(layers))
        self.fuse = conv1x1(g0 + layers * g, g0)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for conv in self.convs:
            feats.append(self.act(conv(torch.cat(feats, 1))))
        return x + self.act(self.fuse(torch.cat(feats, 1)))


class ResidualDenseNetwork(nn.Module):
    """RDN backbone: conv3x3 -> conv3x3 -> D RDBs -> concat -> 1x1 -> conv3x3 -> + first shallow feature.

    ``taps`` optional features (each N x g0 x H x W) are concatenated, in order, after the first
    shallow conv, after the second, and after each of the first RDBs, each followed by a 1x1 fusion
    back to g0 channels: this is how colour features enter the depth branch (Fig. 6).
    """

    def __init__(self, cin: int, g0: int, g: int, layers: int, blocks: int, taps: int = 0) -> None:
        super().__init__()
        self.sfe1 = conv3x3(cin, g0)
        self.sfe2 = conv3x3(g0, g0)
        self.blocks = nn.ModuleList(ResidualDenseBlock(g0, g, layers) for _ in range(blocks))
        self.gff = nn.Sequential(conv1x1(blocks * g0, g0), nn.ReLU(inplace=True), conv3x3(g0, g0))
        self.tap_fuse = nn.ModuleList(conv1x1(2 * g0, g0) for _ in range(taps))
        self.act = nn.ReLU(inplace=True)

    def _tap(self, i: int, x: torch.Tensor, taps: list[torch.Tensor]) -> torch.Tensor:
        if i < len(self.tap_fuse):
            return self.act(self.tap_fuse[i](torch.cat([x, taps[i]], 1)))
        return x

    def forward(
        self, x: torch.Tensor, taps: list[torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Return the output features and the low-level features (sfe1, sfe2, RDB outputs)."""
        taps = taps or []
        f1 = self._tap(0, self.act(self.sfe1(x)), taps)
        h = self._tap(1, self.act(self.sfe2(f1)), taps)
        low = [f1, h]
        outs = []
        for i, block in enumerate(self.blocks):
            h = self._tap(2 + i, block(h), taps)
            outs.append(h)
            low.append(h)
        return self.act(self.gff(torch.cat(outs, 1))) + f1, low


class IGDE(nn.Module):
    """Image-guided depth edge enhancement network.

    forward(color, depth): color N x 3 x H x W, depth N x 1 x H x W, both float in [0, 1] (colour is
    RGB / 255, depth is depth / peak). Returns N x 1 x H x W in [0, 1]: input depth plus a learned
    residual when ``config.residual``, clamped.
    """

    def __init__(self, config: IGDEConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.image_branch = ResidualDenseNetwork(3, c.g0, c.g, c.layers, c.extractor_blocks)
        self.depth_branch = ResidualDenseNetwork(1, c.g0, c.g, c.layers, c.extractor_blocks, c.color_taps)
        self.fusion = conv3x3(2 * c.g0, c.g0)
        self.refine = ResidualDenseNetwork(c.g0, c.g0, c.g, c.layers, c.refine_blocks)
        self.head = conv1x1(c.g0, 1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        img, img_low = self.image_branch(color)
        dep, _ = self.depth_branch(depth, img_low[: self.config.color_taps])
        fused = self.act(self.fusion(torch.cat([img, dep], 1)))
        out = self.head(self.refine(fused)[0])
        if self.config.residual:
            out = out + depth
        return out.clamp(0.0, 1.0)
