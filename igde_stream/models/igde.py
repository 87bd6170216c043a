"""IGDE network (paper section 3.1, Figs. 5-7): blocks, then the model, then nothing else.

Shapes: ``color`` N x 3 x H x W and ``depth`` N x 1 x H x W, float32 in [0, 1]; output N x 1 x H x W
in [0, 1]. Every convolution is stride 1 with "same" padding, so any H and W work (odd sizes too) and
the graph exports to ONNX with dynamic N, H, W.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .selection import CANDIDATE_SETS, FLIP_DIMS, SelectionHead, candidate_offsets, conv1x1

__all__ = ["IGDEConfig", "IGDE", "HEADS", "CANDIDATE_SETS", "ResidualDenseBlock", "ResidualDenseNetwork",
           "SelectionHead", "candidate_offsets", "conv1x1", "conv3x3"]


@dataclass(frozen=True)
class IGDEConfig:
    """Hyperparameters of one IGDE variant. The paper does not give D, L, G, G0; variants pick them.

    g0: feature channels between blocks (G0). g: growth rate inside an RDB (G).
    layers: conv layers per RDB (L). extractor_blocks / refine_blocks: RDBs per feature extractor
    and in the depth refinement RDN (D). color_taps: how many low-level image-branch features are
    concatenated into the depth branch (0-3, Table III). residual: predict input depth + residual
    (``head="residual"`` only).

    head: ``"residual"`` (the paper's: a 1x1 conv to one channel, plus the input when ``residual``),
    ``"soft"`` (scores over candidate source pixels; the output is their softmax-weighted sum) or
    ``"select"`` (the default model's: scores plus a gate; see :class:`SelectionHead`). radius /
    candidates: the candidate set of the soft and select heads (``"window"``: every pixel of the
    (2R+1)^2 square; ``"star"``: the 5x5 square plus the 8 rays of the compass out to R px).
    gate_threshold: probability above which the select head's hard output replaces the input.
    pick_temperature: select head: which candidate the hard output takes. 0: the highest score.
    T > 0: the candidate whose value is nearest the softmax(scores / T)-weighted mean of the
    candidates (the soft output, without the gate's blend): where the scores split between the two
    sides of an edge whose position the colour leaves in doubt, the value with the smaller expected
    squared error (often an intermediate input value) instead of a full jump to one side; where they
    agree, the same choice. Still an input value. igde-small: 0.45 (trained at 0.3; docs/models.md).
    band_step: select head: the hard output changes only pixels within ``radius`` of a depth second
    difference ``|d(x-1) - 2 d(x) + d(x+1)|`` (or in y) larger than this many 8-bit levels (1/255 of
    the depth range, whatever the bit depth); 0: off. Boundary errors sit at depth edges; a slanted
    surface (second differences of at most one level, whatever its slope) is not one. Keeps the
    weights.
    attend: soft / select heads: channels C of a query / key pair (0: off). Each candidate's score
    then also gets the dot product of the pixel's query with the candidate's key (over sqrt(C)) and
    minus a learned multiple of the colour distance (mean |RGB difference|) between the two pixels:
    a learned, colour-aware bilateral weight, so the score sees the candidate itself, not only the
    pixel that chooses.
    scale: the branches and the refinement run at 1/scale resolution (1 or 2): colour and depth are
    pixel-unshuffled in (replicate-padded to a multiple of scale), the features are pixel-shuffled
    back, and a 3x3 conv over [features, colour, depth] at full resolution feeds the head.
    passes: select head only: at inference the network runs this many times, each pass reading the
    previous pass's output as its depth (errors wider than one pass fixes, and what a pass left
    behind, get a second look). Every output value is still an input value; the cost is ``passes``
    times one pass. Training sees single passes (``TrainConfig.refine_share`` feeds it its own
    outputs), so the weights do not depend on it.
    full_convs: residual 3x3 convs at full resolution after the features (each reads [features,
    colour, depth] and adds its ReLU output to the features), zero-initialised: a model that gains
    them computes what it did before until training moves them (``tools/train.py --model M.pt
    --override full_convs=N`` keeps M's weights). With ``scale`` 2 the branches see the frame at
    half resolution; these layers give the head more full-resolution context for the edge's
    position. 0: none.
    flip_average: soft / select heads, in eval mode (training runs once per crop unless the
    model's ``flip_train`` is set, ``TrainConfig.flip_train``): the network also runs on the
    left-right mirrored frame, and each pixel's scores and gate logit are the mean of the two runs
    (the mirrored run's score of offset (dy, dx) is its score of (dy, -dx);
    :meth:`SelectionHead.logits`). A self-ensemble: the same weights, twice the network's cost, a
    steadier choice; every output value is still an input value.
    flip_vertical: the same with the top-bottom flip, in eval mode only (never trained): the runs
    on the upside-down frame (and, with ``flip_average``, on the frame turned half round) join the
    mean. Twice the cost again (four runs with ``flip_average``); the ``igde-small-hq`` variant.
    global_context: channels C of a frame-wide context (0: off). The refinement features' mean over
    the whole frame passes a 1x1 conv (C channels, ReLU) and a second 1x1 conv, zero-initialised,
    that gives a per-channel scale and shift of the features (1 + a) f + b: what no 3x3 window sees,
    e.g. how well the frame's colour edges agree with its depth edges (exact on rendered frames, a
    few pixels apart on a photograph with measured depth), can then set how far the scores trust the
    colour. Starts as the identity (``--override global_context=C`` keeps a model's weights); the
    mean is the same for a mirrored run, so the flip average stays a mean of two views of one frame.
    zero_holes: select head: input depth 0 is no measurement (a hole, as depth sensors leave them;
    DESIGN's "holes (depth 0)"): the hard output always replaces such a pixel when it lies in the
    band, and never picks 0 while the window holds a measured value; the soft output (training)
    follows the same rule. Keeps the weights: set it on a trained model for inference
    (``tools/train.py --export M --to OUT --override zero_holes=True``) or train with it. Off for
    depth whose 0 is a real (farthest) value.
    """

    g0: int = 16
    g: int = 16
    layers: int = 4
    extractor_blocks: int = 2
    refine_blocks: int = 3
    color_taps: int = 3
    residual: bool = True
    head: str = "residual"
    radius: int = 5
    candidates: str = "window"
    gate_threshold: float = 0.5
    attend: int = 0
    scale: int = 1
    passes: int = 1
    band_step: float = 0.0
    pick_temperature: float = 0.0
    flip_average: bool = False
    flip_vertical: bool = False
    full_convs: int = 0
    zero_holes: bool = False
    global_context: int = 0

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"IGDEConfig.head must be one of {HEADS}, got {self.head!r}")
        if self.candidates not in CANDIDATE_SETS:
            raise ValueError(f"IGDEConfig.candidates must be one of {CANDIDATE_SETS}, got {self.candidates!r}")
        if not 1 <= int(self.radius) <= 16:
            raise ValueError(f"IGDEConfig.radius must be in 1..16, got {self.radius}")
        if not 0 <= int(self.attend) <= 64:
            raise ValueError(f"IGDEConfig.attend must be in 0..64, got {self.attend}")
        if self.scale not in (1, 2):
            raise ValueError(f"IGDEConfig.scale must be 1 or 2, got {self.scale}")
        if not 1 <= int(self.passes) <= 4:
            raise ValueError(f"IGDEConfig.passes must be in 1..4, got {self.passes}")
        if self.passes > 1 and self.head != "select":
            raise ValueError("IGDEConfig.passes > 1 needs the select head (its output is input values)")
        if self.scale > 1 and self.head == "residual":
            raise ValueError("IGDEConfig.scale 2 needs a soft or select head")
        if not 0.0 <= self.band_step < 255.0:
            raise ValueError(f"IGDEConfig.band_step must be in [0, 255), got {self.band_step}")
        if self.band_step and self.head != "select":
            raise ValueError("IGDEConfig.band_step needs the select head (its gate decides which pixels change)")
        if not 0.0 <= self.pick_temperature <= 10.0:
            raise ValueError(f"IGDEConfig.pick_temperature must be in [0, 10], got {self.pick_temperature}")
        if self.pick_temperature and self.head != "select":
            raise ValueError("IGDEConfig.pick_temperature needs the select head (it picks the hard output)")
        if not isinstance(self.zero_holes, bool):
            raise ValueError(f"IGDEConfig.zero_holes must be True or False, got {self.zero_holes!r}")
        if self.zero_holes and self.head != "select":
            raise ValueError("IGDEConfig.zero_holes needs the select head (its hard output fills the holes)")
        for name in ("flip_average", "flip_vertical"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"IGDEConfig.{name} must be True or False, got {getattr(self, name)!r}")
            if getattr(self, name) and self.head == "residual":
                raise ValueError(f"IGDEConfig.{name} needs a soft or select head (it averages their scores)")
        if not 0 <= int(self.global_context) <= 64:
            raise ValueError(f"IGDEConfig.global_context must be in 0..64, got {self.global_context}")
        if not 0 <= int(self.full_convs) <= 4:
            raise ValueError(f"IGDEConfig.full_convs must be in 0..4, got {self.full_convs}")
        if not 0.0 < self.gate_threshold < 1.0:
            raise ValueError(f"IGDEConfig.gate_threshold must be in (0, 1), got {self.gate_threshold}")
        for name in ("g0", "g", "layers", "extractor_blocks", "refine_blocks"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"IGDEConfig.{name} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.color_taps <= 2 + self.extractor_blocks:
            raise ValueError(
                f"IGDEConfig.color_taps must be in 0..{2 + self.extractor_blocks}, got {self.color_taps}"
            )


HEADS = ("residual", "soft", "select")


def conv3x3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, padding=1)


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
        s2 = c.scale * c.scale
        self.image_branch = ResidualDenseNetwork(3 * s2, c.g0, c.g, c.layers, c.extractor_blocks)
        self.depth_branch = ResidualDenseNetwork(s2, c.g0, c.g, c.layers, c.extractor_blocks, c.color_taps)
        if c.scale > 1:
            self.up = conv1x1(c.g0, c.g0 * s2)
            self.full = conv3x3(c.g0 + 4, c.g0)
        self.full_res = nn.ModuleList(conv3x3(c.g0 + 4, c.g0) for _ in range(c.full_convs))
        for conv in self.full_res:  # zero: the layers start as the identity (see IGDEConfig.full_convs)
            nn.init.zeros_(conv.weight)
            nn.init.zeros_(conv.bias)
        self.fusion = conv3x3(2 * c.g0, c.g0)
        self.refine = ResidualDenseNetwork(c.g0, c.g0, c.g, c.layers, c.refine_blocks)
        self.context = None
        if c.global_context:
            self.context = nn.Sequential(conv1x1(c.g0, c.global_context), nn.ReLU(), conv1x1(c.global_context, 2 * c.g0))
            nn.init.zeros_(self.context[2].weight)  # zero: scale 1, shift 0, the identity
            nn.init.zeros_(self.context[2].bias)
        if c.head == "residual":
            self.head = conv1x1(c.g0, 1)
        else:
            self.head = SelectionHead(c.g0, c.radius, c.candidates, c.head == "select", c.gate_threshold, c.attend,
                                      c.band_step / 255.0, c.pick_temperature, c.zero_holes)
        self.act = nn.ReLU(inplace=True)
        # training with the flip average: the mirrored run is trained too (TrainConfig.flip_train)
        self.flip_train = False

    @property
    def gathers_input(self) -> bool:
        """True when the output is gathered from (or mixed of) input depth values: a soft or select head."""
        return isinstance(self.head, SelectionHead)

    def features(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """The refinement features that the output head reads (N x g0 x H x W)."""
        return self._features(color, depth)[0]

    def _features(self, color: torch.Tensor, depth: torch.Tensor,
                  image: tuple | None = None) -> tuple[torch.Tensor, tuple]:
        """The features and the image branch's output. The image branch reads colour only, so the
        passes of a multi-pass model give it back here (``image``) instead of computing it again."""
        s = self.config.scale
        c, d = color, depth
        if s > 1:
            h, w = depth.shape[-2:]
            pad = (0, (-w) % s, 0, (-h) % s)
            if image is None:
                c = nn.functional.pixel_unshuffle(nn.functional.pad(color, pad, mode="replicate"), s)
            d = nn.functional.pixel_unshuffle(nn.functional.pad(depth, pad, mode="replicate"), s)
        if image is None:
            image = self.image_branch(c)
        img, img_low = image
        dep, _ = self.depth_branch(d, img_low[: self.config.color_taps])
        fused = self.act(self.fusion(torch.cat([img, dep], 1)))
        f = self.refine(fused)[0]
        if self.context is not None:
            scale, shift = self.context(f.mean(dim=(2, 3), keepdim=True)).chunk(2, 1)
            f = f * (1 + scale) + shift
        if s > 1:
            f = nn.functional.pixel_shuffle(self.act(self.up(f)), s)[..., :h, :w]
            f = self.act(self.full(torch.cat([f, color, depth], 1)))
        for conv in self.full_res:
            f = f + self.act(conv(torch.cat([f, color, depth], 1)))
        return f, image

    def select_logits(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        """Soft / select heads: the head's raw scores (and gate logit), N x (K [+ 1]) x H x W."""
        if not isinstance(self.head, SelectionHead):
            raise TypeError("select_logits needs head 'soft' or 'select'")
        w = self.head.conv.weight
        color = color.to(w.dtype)
        f, flipped, _ = self._head_features(color, depth.to(w.dtype))
        return self.head.logits(f, color, flipped)

    def _head_features(self, color: torch.Tensor, depth: torch.Tensor, image: tuple | None = None
                       ) -> tuple[torch.Tensor, list[tuple[torch.Tensor, str]], tuple]:
        """(features, [(a flipped run's features flipped back, its flip)], the image branch outputs of
        every run, to reuse): with ``flip_average`` / ``flip_vertical``, in eval mode, the network also
        runs on the flipped frames (``selection.FLIPS``; training runs once per crop, as with
        ``passes``, unless ``flip_train`` is set, which trains the left-right pair)."""
        runs = self.flips()
        f, img = self._features(color, depth, None if image is None else image[0])
        flipped, images = [], [img]
        for i, flip in enumerate(runs, 1):
            dims = FLIP_DIMS[flip]
            fm, img_m = self._features(color.flip(dims), depth.flip(dims), None if image is None else image[i])
            flipped.append((fm.flip(dims), flip))
            images.append(img_m)
        return f, flipped, tuple(images)

    def flips(self) -> list[str]:
        """The flipped runs this model averages now (``selection.FLIPS`` names; none in training unless
        ``flip_train``, which trains the left-right one)."""
        c = self.config
        if self.training:
            return ["mirror"] if c.flip_average and self.flip_train else []
        runs = ["mirror"] if c.flip_average else []
        if c.flip_vertical:
            runs += ["upside", "both"] if c.flip_average else ["upside"]
        return runs

    def forward(self, color: torch.Tensor, depth: torch.Tensor) -> torch.Tensor:
        if isinstance(self.head, SelectionHead):
            # the network runs in its weights' dtype; values are gathered from depth as given
            w = self.head.conv.weight
            color = color.to(w.dtype)
            passes = 1 if self.training else self.config.passes
            image = None  # the image branch runs once, whatever the number of passes
            for _ in range(passes):
                f, flipped, image = self._head_features(color, depth.to(w.dtype), image)
                depth = self.head(f, depth, color, flipped)
            return depth
        out = self.head(self.features(color, depth))
        if self.config.residual:
            out = out + depth
        return out.clamp(0.0, 1.0)
