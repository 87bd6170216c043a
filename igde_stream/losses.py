"""The paper's training losses (section 3.2) on batched torch tensors.

All functions take ``pred`` and ``gt`` of shape N x 1 x H x W on the normalised scale (depth / peak,
so 255 -> 1); ``depth_in`` is the degraded input depth on the same scale. They are differentiable in
``pred`` and run on any device. Equation numbers are the paper's.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

FOCAL_ALPHA = 0.25
FOCAL_GAMMA = 2.0
SOBEL_LAMBDA = 0.9
MASK_DILATION = 5  # side of the square dilation applied to the Sobel magnitude (Fig. 8)
_EPS = 1e-6


def depth_loss(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """(6) L_depth = mean |d - d*|."""
    return (pred - gt).abs().mean()


def depth_focal_loss(
    pred: torch.Tensor, gt: torch.Tensor, alpha: float = FOCAL_ALPHA, gamma: float = FOCAL_GAMMA
) -> torch.Tensor:
    """(8) L_focal = mean -alpha (1 - e)^gamma log(e), e = 1 - |d - d*| (normalised scale).

    e is the "probability" that a pixel is right: small errors get near-zero weight, large errors
    a large one. log(0) is guarded by clamping e to at least 1e-6.
    """
    err = (pred - gt).abs()
    e = (1.0 - err).clamp(min=_EPS)
    return (-alpha * err.pow(gamma) * torch.log(e)).mean()


_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])


def sobel_magnitude(depth: torch.Tensor) -> torch.Tensor:
    """Sobel gradient magnitude of N x 1 x H x W maps (replicate padding, same size)."""
    kx = _SOBEL_X.to(depth)
    k = torch.stack([kx, kx.t()]).unsqueeze(1)
    g = F.conv2d(F.pad(depth, (1, 1, 1, 1), mode="replicate"), k)
    return g.pow(2).sum(1, keepdim=True).sqrt()


def _otsu_threshold(idx: torch.Tensor, bins: int = 256) -> torch.Tensor:
    """Per-row Otsu threshold of histogram bin indices ``idx`` (N x P, long); returns N bin indices.

    Pixels in bins above the threshold form the foreground class.
    """
    n = idx.shape[0]
    hist = torch.zeros(n, bins, device=idx.device, dtype=torch.float64)
    hist.scatter_add_(1, idx, torch.ones_like(idx, dtype=torch.float64))
    p = hist / hist.sum(1, keepdim=True)
    levels = torch.arange(bins, device=idx.device, dtype=torch.float64)
    w0 = p.cumsum(1)
    mu = (p * levels).cumsum(1)
    mu_t = mu[:, -1:]
    between = (mu_t * w0 - mu).pow(2) / (w0 * (1 - w0)).clamp(min=1e-12)
    between = torch.where((w0 > 0) & (w0 < 1), between, torch.zeros_like(between))
    return between.argmax(1)


@torch.no_grad()
def sobel_edge_mask(depth_in: torch.Tensor, dilation: int = MASK_DILATION) -> torch.Tensor:
    """Depth edge mask M (Fig. 8): Sobel magnitude of the INPUT depth -> dilation -> Otsu -> {0, 1}.

    depth_in: N x 1 x H x W. Returns a float mask of the same shape, computed per frame; a frame
    with no gradient at all gets an all-zero mask. ``dilation`` is the side of the square (odd).
    """
    mag = sobel_magnitude(depth_in.float())
    if dilation > 1:
        mag = F.max_pool2d(mag, dilation, stride=1, padding=dilation // 2)
    flat = mag.flatten(1)
    peak = flat.amax(1, keepdim=True)
    idx = (flat / peak.clamp(min=_EPS) * 255).round().long().clamp(0, 255)
    mask = (idx > _otsu_threshold(idx)[:, None]) & (peak > _EPS)
    return mask.to(depth_in.dtype).view_as(depth_in)


def sobel_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    mask: torch.Tensor,
    lam: float = SOBEL_LAMBDA,
) -> torch.Tensor:
    """(9) L_sobel = mean lam M |d - d*| + (1 - lam)(1 - M) |d - d*| (edge errors weigh 9x)."""
    err = (pred - gt).abs()
    return (lam * mask * err + (1.0 - lam) * (1.0 - mask) * err).mean()


def igde_loss(
    pred: torch.Tensor,
    gt: torch.Tensor,
    depth_in: torch.Tensor,
    a: float = 1.0,
    b: float = 1.0,
    c: float = 1.0,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """(5) L = a L_depth + b L_focal + c L_sobel; a = b = c = 1 in the paper.

    ``mask`` is the edge mask of ``depth_in``; it is computed here when not given. Setting a weight
    to 0 drops that term (Table II).
    """
    total = pred.new_zeros(())
    if a:
        total = total + a * depth_loss(pred, gt)
    if b:
        total = total + b * depth_focal_loss(pred, gt)
    if c:
        m = sobel_edge_mask(depth_in) if mask is None else mask
        total = total + c * sobel_loss(pred, gt, m)
    return total


GATE_TARGETS = ("wrong", "improves")


def nearest_candidate(cands: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Index (N x 1 x H x W, long) of the candidate closest to ``gt``; a tie goes to the lower index,
    which :func:`~igde_stream.models.igde.candidate_offsets` orders nearest first."""
    return (cands - gt).abs().argmin(1, keepdim=True)


def selection_loss(
    head: torch.nn.Module,
    logits: torch.Tensor,
    depth_in: torch.Tensor,
    gt: torch.Tensor,
    out_loss,
    *,
    temperature: float = 1.0,
    hard_share: float = 0.0,
    gate_weight: float = 0.0,
    ce_weight: float = 0.0,
    gate_target: str = "wrong",
) -> torch.Tensor:
    """Loss of a soft / select head (``igde_stream.models.igde.SelectionHead``) from its ``logits``.

    - ``out_loss(pred)`` on the soft output at ``temperature``; with ``hard_share`` h > 0, the mix
      ``(1 - h) out_loss(soft) + h out_loss(st)``, where ``st`` is the straight-through hard output
      (its value is the hard output, its gradient the soft one's);
    - ``gate_weight`` x binary cross-entropy of the gate logit against its target: with
      ``gate_target`` "wrong", ``depth_in != gt`` (the input pixel is wrong); with "improves",
      :func:`pick_improves` (the head's own pick would lower the pixel's error), so the gate learns
      to leave the wrong pixels alone whose pick would not help;
    - ``ce_weight`` x :func:`candidate_set_ce`, the class-balanced cross-entropy of the scores toward
      the set of candidates nearest the truth.
    """
    soft = head.soft(logits, depth_in, temperature)
    loss = out_loss(soft)
    if hard_share > 0:
        hard = head.hard(logits.detach(), depth_in)
        st = soft + (hard - soft).detach()
        loss = (1.0 - hard_share) * loss + hard_share * out_loss(st)
    scores, gate = head.split(logits)
    if gate_weight and gate is not None:
        if gate_target == "wrong":
            target = (depth_in != gt).float()
        elif gate_target == "improves":
            target = pick_improves(head, scores.detach(), depth_in, gt).float()
        else:
            raise ValueError(f"gate_target must be one of {GATE_TARGETS}, got {gate_target!r}")
        loss = loss + gate_weight * F.binary_cross_entropy_with_logits(gate.float(), target)
    if ce_weight:
        loss = loss + ce_weight * candidate_set_ce(head.candidates(depth_in), scores, depth_in, gt, temperature)
    return loss


@torch.no_grad()
def pick_improves(head: torch.nn.Module, scores: torch.Tensor, depth_in: torch.Tensor,
                  gt: torch.Tensor) -> torch.Tensor:
    """N x 1 x H x W bool: the candidate the head's pick rule (``head.pick``) takes from ``scores`` is
    strictly closer to ``gt`` than the input pixel. False where the input is right (nothing can be
    closer) and where the pick is no better (changing the pixel would not help)."""
    cands = head.candidates(depth_in)
    chosen = torch.gather(cands, 1, head.pick(scores, cands))
    return (chosen - gt).abs() < (depth_in - gt).abs()


def candidate_set_ce(cands: torch.Tensor, scores: torch.Tensor, depth_in: torch.Tensor, gt: torch.Tensor,
                     temperature: float = 1.0) -> torch.Tensor:
    """Class-balanced set cross-entropy of the candidate scores: ``-log sum_{k in good} p_k``.

    ``good`` holds every candidate (N x K x H x W ``cands``) as close to ``gt`` as the closest one:
    on a flat far side many offsets carry the right value and any of them is a right choice, so the
    loss asks for the set, not one arbitrary index. Pixels whose candidates are all good (flat
    neighbourhoods) carry no information and are left out; the rest is split into the pixels the
    input has wrong and those it has right (where the centre is good), and the two means are
    averaged, so that the ~97 % right pixels cannot teach "always the centre" alone.
    """
    dist = (cands.float() - gt.float()).abs()
    good = dist <= dist.amin(1, keepdim=True) + 1e-6
    logp = torch.log_softmax(scores.float() / temperature, 1)
    nll = -torch.logsumexp(logp.masked_fill(~good, float("-inf")), 1)
    informative = ~good.all(1)
    wrong = (depth_in[:, 0] != gt[:, 0]) & informative
    right = informative & ~wrong
    terms = [nll[m].mean() for m in (wrong, right) if bool(m.any())]
    return torch.stack(terms).mean() if terms else scores.sum() * 0.0


def distill_loss(head: torch.nn.Module, logits: torch.Tensor, teacher: torch.Tensor, depth_in: torch.Tensor,
                 temperature: float = 1.0) -> torch.Tensor:
    """Distillation of a select head's ``logits`` toward a ``teacher``'s (same head, same shapes),
    on the pixels of the head's edge band (``head.band(depth_in)``; every pixel when it has none),
    the only ones whose hard output can change:
    ``KL(softmax(t / T) || softmax(s / T))`` of the candidate scores summed over the candidates, plus
    the Bernoulli KL of the gate (its cross-entropy against the teacher's gate probability less that
    probability's entropy), each the mean over the band: 0 where student and teacher agree (and on a
    batch without band pixels, with the graph kept)."""
    scores, gate = head.split(logits.float())
    t_scores, t_gate = head.split(teacher.float())
    band = head.band(depth_in)
    mask = torch.ones_like(depth_in, dtype=torch.bool) if band is None else band
    m = mask[:, 0]
    if not bool(m.any()):
        return logits.sum() * 0.0
    t_logp = torch.log_softmax(t_scores / temperature, 1)
    kl = (t_logp.exp() * (t_logp - torch.log_softmax(scores / temperature, 1))).sum(1)
    loss = kl[m].mean()
    if gate is not None and t_gate is not None:
        p = torch.sigmoid(t_gate)
        kl_gate = (F.binary_cross_entropy_with_logits(gate, p, reduction="none")
                   - F.binary_cross_entropy_with_logits(t_gate, p, reduction="none"))[:, 0]
        loss = loss + kl_gate[m].mean()
    return loss
