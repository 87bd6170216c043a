"""The selection head of the soft and select models: candidate offsets, scores, gate, soft and hard
outputs (docs/models.md, "The selection head").

The hard output has two forms that give the same values: ``hard`` reads the scores of every pixel
(the N x K x H x W stack), and ``hard_sparse`` scores only the pixels whose gate fires, since every
other pixel keeps its input value whatever its scores say.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator, Sequence

import torch
from torch import nn

CANDIDATE_SETS = ("window", "star")
#: The flipped runs of a flip-averaged model (``IGDEConfig.flip_average`` / ``flip_vertical``): the
#: sign each flip gives an offset's (dy, dx), and the tensor dims it flips.
FLIPS = {"mirror": (1, -1), "upside": (-1, 1), "both": (-1, -1)}
FLIP_DIMS = {name: tuple(dim for dim, sign in zip((-2, -1), signs) if sign < 0) for name, signs in FLIPS.items()}


def candidate_offsets(radius: int, kind: str = "window") -> list[tuple[int, int]]:
    """Offsets (dy, dx) of the candidate source pixels, nearest first (the centre (0, 0) is first), so
    that an argmax tie goes to the nearer candidate.

    ``window``: all (2R+1)^2 offsets with max(|dy|, |dx|) <= R. ``star``: the 5x5 square (|dy|, |dx|
    <= 2) plus, for distances 3..R, the 8 compass directions (dy, dx) = k (sy, sx) with sy, sx in
    {-1, 0, 1}: 25 + 8 (R - 2) offsets. Boundary errors move depth across an edge, so the right value
    lies along the edge normal; the rays reach it at a fraction of the window's cost.
    """
    if kind not in CANDIDATE_SETS:
        raise ValueError(f"candidates must be one of {CANDIDATE_SETS}, got {kind!r}")
    r = int(radius)
    offs = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1)]
    if kind == "star":
        offs = [(dy, dx) for dy, dx in offs
                if max(abs(dy), abs(dx)) <= 2 or (dy == 0 or dx == 0 or abs(dy) == abs(dx))]
    return sorted(offs, key=lambda o: (o[0] ** 2 + o[1] ** 2, o))


def conv1x1(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 1)


@contextmanager
def head_form(model: Any, sparse: bool) -> Iterator[None]:
    """Within the block, a select head of ``model`` gives its hard output in the gated form
    (``sparse``: the gated pixels are scored) or the dense one (every pixel); its own setting comes
    back afterwards. Other models are left as they are."""
    head = getattr(model, "head", None)
    before = getattr(head, "sparse", None)
    if before is not None:
        head.sparse = sparse
    try:
        yield
    finally:
        if before is not None:
            head.sparse = before


def chooses_input(model: Any) -> bool:
    """Whether ``model`` ends in a gated selection head: its hard output is a choice among its input
    values, and it has the two forms of :class:`SelectionHead` (gated pixels or every pixel). The
    ungated soft head gathers too, but outputs a weighted mean."""
    head = getattr(model, "head", None)
    return isinstance(head, SelectionHead) and head.gate


def edge_band(depth: torch.Tensor, radius: int, step: float) -> torch.Tensor:
    """N x 1 x H x W bool: pixels within ``radius`` (a square) of a depth second difference larger
    than ``step`` (in ``depth``'s units, e.g. 2.5 / 255 for depth in [0, 1]).

    The second difference ``|d(x-1) - 2 d(x) + d(x+1)|`` (and the same in y) is large on both sides
    of a depth step and at most one quantisation level on a plane of any slope, so slanted surfaces
    stay out of the band however steep. It is taken where both neighbours exist (0 on the outermost
    rows and columns, where a slope would otherwise look like a step; a frame 1 pixel wide or high has
    none, and the padding is cut back to its size)."""
    d = depth.float()
    h, w = d.shape[-2:]
    cx = nn.functional.pad((d[..., 2:] - 2 * d[..., 1:-1] + d[..., :-2]).abs(), (1, 1, 0, 0))[..., :w]
    cy = nn.functional.pad((d[..., 2:, :] - 2 * d[..., 1:-1, :] + d[..., :-2, :]).abs(), (0, 0, 1, 1))[..., :h, :]
    k, r = 2 * radius + 1, radius
    near = nn.functional.max_pool2d(torch.maximum(cx, cy), (1, k), 1, (0, r))
    near = nn.functional.max_pool2d(near, (k, 1), 1, (r, 0))
    return near > step


class SelectionHead(nn.Module):
    """Output head that chooses depth values from the input instead of regressing them.

    A 1x1 conv gives K candidate scores (K offsets of :func:`candidate_offsets`) and, for ``gate``,
    one gate logit: the log-odds that the input pixel is wrong.

    - soft output (training, and always without a gate): ``s = sum_k softmax(scores / T)_k c_k``
      with c_k the input depth at offset k (replicate padding); with a gate ``g = sigmoid(logit)``
      the output is ``g s + (1 - g) d``.
    - hard output (eval mode with a gate): ``d`` where ``g <= gate_threshold``, else ``c_k*``: with
      ``pick_temperature`` 0, k* = argmax of the scores; with ``pick_temperature`` T > 0, the
      candidate whose value is nearest the mean ``sum_k softmax(scores / T)_k c_k`` (ties to the
      nearer offset): the value a squared error favours when the scores split between the two sides
      of an edge, yet still an input value (:meth:`pick`). With ``band_step`` > 0 only pixels in the
      edge band may change: those within the candidate radius of a depth second difference larger
      than ``band_step`` (in units of the depth range, e.g. 2.5 / 255: three 8-bit levels;
      :meth:`band`). A slanted surface
      and its quantisation staircase are then never "repaired", however steep. Every output value
      is an input value, gathered from ``depth`` as it was given (its dtype and precision), so the
      network itself may run in float16.

    With ``zero_holes`` an input depth of exactly 0 is no measurement (a hole): the hard output
    replaces every such pixel in the band whatever its gate says, and never picks a 0 candidate while
    the window holds a measured one (:meth:`fires`, :meth:`pick`); a pixel whose window is all holes
    stays 0.

    Identity start: the scores start near zero (weights x 0.1, bias 0) and the gate bias at -4
    (g = 0.018), so a fresh hard output is the input exactly and the soft output is within 2 % of it.
    """

    def __init__(self, channels: int, radius: int, candidates: str, gate: bool, gate_threshold: float,
                 attend: int = 0, band_step: float = 0.0, pick_temperature: float = 0.0,
                 zero_holes: bool = False) -> None:
        super().__init__()
        self.zero_holes = bool(zero_holes)
        self.band_step = float(band_step)
        self.pick_temperature = float(pick_temperature)
        self.attend = int(attend)
        if self.attend:
            self.qk = conv1x1(channels, 2 * self.attend)
            self.color_scale = nn.Parameter(torch.tensor(0.0))
        self.offsets = candidate_offsets(radius, candidates)
        self.radius = int(radius)
        self.gate = bool(gate)
        self.gate_threshold = float(gate_threshold)
        # inference form of the hard output: score gated pixels only (hard_sparse) or all (hard);
        # the CUDA-graph path and the TensorRT export switch it off (shapes must not depend on data)
        self.sparse = True
        # the attend terms of every candidate (and every flipped run) from one stack of shifted maps
        # (:meth:`_logits_stacked`) instead of one small tensor per candidate and run
        self.stacked = False
        self.conv = conv1x1(channels, len(self.offsets) + int(self.gate))
        with torch.no_grad():
            self.conv.weight.mul_(0.1)
            self.conv.bias.zero_()
            if self.gate:
                self.conv.bias[-1] = -4.0
        oy, ox = zip(*self.offsets)
        self.register_buffer("off_y", torch.tensor(oy, dtype=torch.long), persistent=False)
        self.register_buffer("off_x", torch.tensor(ox, dtype=torch.long), persistent=False)
        # conv output rows of a run on a flipped frame, in this run's order (FLIPS): offset (dy, dx)
        # reads that run's offset at the flipped place, e.g. (dy, -dx) for the left-right mirror; the
        # gate row stays (every candidate set is symmetric under both flips)
        for name, (sy, sx) in FLIPS.items():
            rows = [self.offsets.index((sy * dy, sx * dx)) for dy, dx in self.offsets] + ([len(self.offsets)] if gate else [])
            self.register_buffer(f"{name}_rows", torch.tensor(rows, dtype=torch.long), persistent=False)

    def _shifted(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``x`` (N x C x H x W) at every candidate offset (replicate padding), one tensor each."""
        r = self.radius
        h, w = x.shape[-2:]
        p = nn.functional.pad(x, (r, r, r, r), mode="replicate")
        return [p[:, :, r + dy:r + dy + h, r + dx:r + dx + w] for dy, dx in self.offsets]

    def candidates(self, depth: torch.Tensor) -> torch.Tensor:
        """N x K x H x W: the input depth at every candidate offset (replicate padding)."""
        return torch.cat(self._shifted(depth), 1)

    def logits(self, features: torch.Tensor, color: torch.Tensor,
               flipped: Sequence[tuple[torch.Tensor, str]] = ()) -> torch.Tensor:
        """Scores (and gate logit) from the features; with ``attend``, plus the query . key and colour
        distance terms of every candidate. ``flipped``: (features, flip) of runs on the flipped frame
        (``FLIPS``: ``mirror`` left-right, ``upside`` top-bottom, ``both``), flipped back; the result
        is then the mean of every run's logits, a run's score of offset (dy, dx) being its score of
        the offset flipped alike, e.g. (dy, -dx) for the mirror (``IGDEConfig.flip_average``,
        ``IGDEConfig.flip_vertical``)."""
        if self.stacked and self.attend:
            return self._logits_stacked(features, color, flipped)
        out = self._logits(features, color)
        for f, flip in flipped:
            out = out + self._logits(f, color, getattr(self, f"{flip}_rows"))
        return out / (1 + len(flipped)) if flipped else out

    def _logits(self, features: torch.Tensor, color: torch.Tensor, rows: torch.Tensor | None = None) -> torch.Tensor:
        """:meth:`logits` of one run; ``rows`` reorders the 1x1 conv's outputs (a flipped run's).
        The query . key term needs no reordering: a flipped run's features, flipped back, pair the
        pixel with the candidate at the same offset."""
        out = self.conv(features)
        if rows is not None:
            out = out[:, rows]
        if not self.attend:
            return out
        q, k = self.qk(features).split(self.attend, 1)
        c = color.to(q.dtype)
        beta = self._beta()
        extra = torch.cat([self._pair(q, ks, c, cs, beta, 1, keepdim=True)
                           for ks, cs in zip(self._shifted(k), self._shifted(c))], 1)
        if self.gate:
            return torch.cat([out[:, :-1] + extra, out[:, -1:]], 1)
        return out + extra

    def _logits_stacked(self, features: torch.Tensor, color: torch.Tensor,
                        flipped: Sequence[tuple[torch.Tensor, str]]) -> torch.Tensor:
        """:meth:`logits` with ``attend`` in a few full-frame operations instead of a handful per
        candidate and run: tens of kernels instead of over a thousand, for two to three times the
        memory (the form ``torch.compile`` fuses; ``TorchOptions.stacked``). The runs' query . key terms add up to one dot product over all their channels,
        and the colour term is the same for every run (the colour is not flipped), so the mean of the
        runs' logits is (sum of their 1x1 convs + that dot product) / runs - beta x the colour term.
        One N x K x (runs x attend + 3) x H x W stack holds the shifted keys and colours. Same values
        as the per-candidate form up to summation order."""
        runs = [(features, None)] + [(f, getattr(self, f"{flip}_rows")) for f, flip in flipped]
        out = None
        qs, ks = [], []
        for f, rows in runs:
            o = self.conv(f)
            o = o if rows is None else o[:, rows]
            out = o if out is None else out + o
            q, k = self.qk(f).split(self.attend, 1)
            qs.append(q)
            ks.append(k)
        q = torch.cat(qs, 1)
        c = color.to(q.dtype)
        stack = torch.stack(self._shifted(torch.cat(ks + [c], 1)), 1)  # N x K x (runs x attend + 3) x H x W
        a = q.shape[1]
        dot = (q.unsqueeze(1) * stack[:, :, :a]).sum(2) * (1.0 / math.sqrt(self.attend))
        col = (c.unsqueeze(1) - stack[:, :, a:]).abs().mean(2)
        extra = dot - (len(runs) * self._beta()) * col
        if self.gate:
            out = torch.cat([out[:, :-1] + extra, out[:, -1:]], 1)
        else:
            out = out + extra
        return out / len(runs) if len(runs) > 1 else out

    def _beta(self) -> torch.Tensor:
        return nn.functional.softplus(self.color_scale) * 10.0

    def _pair(self, q: torch.Tensor, ks: torch.Tensor, c: torch.Tensor, cs: torch.Tensor, beta: torch.Tensor,
              dim: int, keepdim: bool = False) -> torch.Tensor:
        """The attend term of a candidate's score, reduced over the channel dim ``dim``: the pixel's
        query . the candidate's key over sqrt(C), minus ``beta`` x their mean |RGB difference|."""
        return ((q * ks).sum(dim, keepdim=keepdim) * (1.0 / math.sqrt(self.attend))
                - beta * (c - cs).abs().mean(dim, keepdim=keepdim))

    def _gate_logit(self, threshold: float | None) -> float:
        """The gate threshold (``gate_threshold`` unless given) as a logit."""
        thr = self.gate_threshold if threshold is None else threshold
        return math.log(thr / (1.0 - thr))

    def band(self, depth: torch.Tensor) -> torch.Tensor | None:
        """:func:`edge_band` of ``depth`` at this head's radius and ``band_step``; None when
        ``band_step`` is 0 (every pixel may change)."""
        if self.band_step <= 0.0:
            return None
        return edge_band(depth, self.radius, self.band_step)

    def pick(self, scores: torch.Tensor, values: torch.Tensor, dim: int = 1) -> torch.Tensor:
        """The chosen candidate's index along ``dim`` (kept, size 1) from its ``scores`` and the
        candidates' depth ``values`` (same shape): the argmax of the scores when
        ``pick_temperature`` is 0, else the candidate nearest the softmax(scores / T)-weighted mean
        of the values (float32; ties to the lower index, the nearer offset). With ``zero_holes`` the
        0 candidates (holes) drop out of both, unless every candidate is 0."""
        s = scores
        hole = None
        if self.zero_holes:  # holes 1e4 under the lowest score: out of the argmax and the softmax,
            # whatever the scores' scale; finite, so that an all-hole window stays defined
            hole = values == 0
            s = scores.float()
            s = torch.where(hole, s.amin(dim, keepdim=True) - 1e4, s)
        if self.pick_temperature <= 0.0:
            return s.argmax(dim, keepdim=True)
        v = values.float()
        wts = torch.softmax(s.float() / self.pick_temperature, dim)
        mean = (wts * v).sum(dim, keepdim=True)
        dist = (v - mean).abs()
        if hole is not None:  # in float32 a measured value is always nearer the mean than 0 is; a
            # float16 graph may round them to a tie: a distance is at most 1, so +2 puts holes last
            dist = dist + 2.0 * hole.to(dist.dtype)
        return dist.argmin(dim, keepdim=True)

    def fires(self, gate: torch.Tensor, depth: torch.Tensor, threshold: float | None = None) -> torch.Tensor:
        """N x 1 x H x W bool: the pixels the hard output replaces: gate logit above the threshold
        (or, with ``zero_holes``, input depth 0), within the edge band when ``band_step`` is set."""
        fire = gate > self._gate_logit(threshold)
        if self.zero_holes:
            fire = fire | (depth == 0)
        band = self.band(depth)
        return fire if band is None else fire & band

    def gather(self, depth: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """The input depth at candidate ``index`` (N x 1 x H x W long) of every pixel, without
        building the N x K x H x W stack: one flat gather from the padded map."""
        r = self.radius
        n, _, h, w = depth.shape
        p = nn.functional.pad(depth, (r, r, r, r), mode="replicate")
        wp = w + 2 * r
        ys = torch.arange(h, device=depth.device).view(1, 1, h, 1)
        xs = torch.arange(w, device=depth.device).view(1, 1, 1, w)
        flat = (ys + r + self.off_y[index]) * wp + (xs + r + self.off_x[index])
        return torch.gather(p.flatten(1), 1, flat.flatten(1)).view(n, 1, h, w)

    def split(self, logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(scores N x K x H x W, gate logit N x 1 x H x W or None)."""
        if self.gate:
            return logits[:, :-1], logits[:, -1:]
        return logits, None

    def soft(self, logits: torch.Tensor, depth: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """The soft output (see the class). With ``zero_holes`` (a gated head) it follows the hard
        output's rule: the 0 candidates drop out of the softmax and a hole's gate is 1 (every hole:
        the soft output has no edge band)."""
        scores, gate = self.split(logits)
        cands = self.candidates(depth.float())
        scores = scores.float()
        holes = self.zero_holes and gate is not None
        if holes:
            scores = torch.where(cands == 0, scores.amin(1, keepdim=True) - 1e4, scores)
        wts = torch.softmax(scores / temperature, 1)
        s = (wts * cands).sum(1, keepdim=True)
        if gate is None:
            return s
        g = torch.sigmoid(gate.float())
        if holes:
            g = torch.where(depth == 0, torch.ones_like(g), g)
        return g * s + (1.0 - g) * depth.float()

    def hard(self, logits: torch.Tensor, depth: torch.Tensor, threshold: float | None = None) -> torch.Tensor:
        scores, gate = self.split(logits)
        # the argmax needs no candidate values: the N x K x H x W stack is built for a pick rule or
        # zero_holes only
        index = (scores.argmax(1, keepdim=True) if self.pick_temperature <= 0.0 and not self.zero_holes
                 else self.pick(scores, self.candidates(depth)))
        chosen = self.gather(depth, index)
        if gate is None:
            return chosen
        return torch.where(self.fires(gate, depth, threshold), chosen, depth)

    def hard_sparse(self, features: torch.Tensor, depth: torch.Tensor, color: torch.Tensor,
                    threshold: float | None = None, flipped: Sequence[tuple[torch.Tensor, str]] = ()) -> torch.Tensor:
        """The hard output, scoring only the pixels whose gate fires (the others keep their input
        value whatever their scores): the gate logit of every pixel (one channel of the 1x1 conv),
        then the K scores, query . key and colour terms of the M gated pixels only, gathered from the
        replicate-padded maps by flat index (K x M), the pick (:meth:`pick`), and the chosen input
        values scattered into a copy of ``depth``. With ``flipped`` (:meth:`logits`) the gate and the
        scores are the mean of every run's. Same values as :meth:`hard` up to the summation order of
        the 1x1 conv (an argmax tie may then fall differently); it costs K x M instead of K x H x W."""
        n, c, h, w = features.shape
        r = self.radius
        hp, wp = h + 2 * r, w + 2 * r
        runs = [(features, self.conv.weight, self.conv.bias)]
        for f, flip in flipped:
            rows = getattr(self, f"{flip}_rows")
            runs.append((f, self.conv.weight[rows], self.conv.bias[rows]))
        gate = sum(nn.functional.conv2d(f, w[-1:], b[-1:]) for f, w, b in runs) / len(runs)
        fire = self.fires(gate, depth, threshold)
        lin = torch.nonzero(fire.flatten()).flatten()  # M flat indices over N x H x W
        # each pixel's index in the flattened padded maps, then that of every candidate (K x M)
        dev = features.device
        padded = (torch.arange(n, device=dev).view(n, 1, 1) * (hp * wp)
                  + (torch.arange(h, device=dev).view(1, h, 1) + r) * wp
                  + torch.arange(w, device=dev).view(1, 1, w) + r)
        index = padded.flatten()[lin].unsqueeze(0) + (self.off_y * wp + self.off_x).unsqueeze(1)

        # index_select, not flat[:, idx]: the exported graph then gathers along the pixel axis
        # instead of transposing every full-frame map to pixels x channels first
        def at(t: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
            """Channels x idx.shape: ``t`` (N x C x H x W) replicate-padded, at flat padded indices."""
            flat = nn.functional.pad(t, (r, r, r, r), mode="replicate").transpose(0, 1).flatten(1)
            return flat.index_select(1, idx.flatten()).unflatten(1, idx.shape)

        def gated(t: torch.Tensor) -> torch.Tensor:
            """Channels x M: ``t`` (N x C x H x W) at the gated pixels."""
            return t.transpose(0, 1).flatten(1).index_select(1, lin)

        def run_scores(feats: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
            """K x M: one run's scores of the gated pixels."""
            out = weight[:-1].flatten(1) @ gated(feats) + bias[:-1].unsqueeze(1)
            if self.attend:
                q, k = self.qk(feats).split(self.attend, 1)
                col = color.to(q.dtype)
                out = out + self._pair(gated(q).unsqueeze(1), at(k, index), gated(col).unsqueeze(1),
                                       at(col, index), self._beta(), 0)
            return out

        scores = sum(run_scores(*run) for run in runs) / len(runs)
        best = self.pick(scores, at(depth, index)[0], 0)  # 1 x M
        chosen = at(depth, torch.gather(index, 0, best).flatten())[0]
        return depth.flatten().scatter(0, lin, chosen).view(depth.shape)

    def forward(self, features: torch.Tensor, depth: torch.Tensor, color: torch.Tensor,
                flipped: Sequence[tuple[torch.Tensor, str]] = ()) -> torch.Tensor:
        if self.gate and not self.training and self.sparse:
            return self.hard_sparse(features, depth, color, flipped=flipped)
        logits = self.logits(features, color, flipped)
        if self.gate and not self.training:
            return self.hard(logits, depth)
        return self.soft(logits, depth).to(depth.dtype)
