"""Distillation of a select head toward a teacher's logits (losses.distill_loss, TrainConfig.distill)."""

import math

import numpy as np
import pytest
import torch

from igde_stream.losses import distill_loss
from igde_stream.models import create_model, save_checkpoint
from igde_stream.models.selection import SelectionHead
from igde_stream.training import TrainConfig, train

from test_training import _cfg

SEL = {"head": "select", "radius": 3, "candidates": "star"}


def _head(band_step=2.5):
    # a window of radius 1: 9 candidates + the gate; the band radius is the candidate radius (1)
    return SelectionHead(4, 1, "window", True, 0.2, band_step=band_step / 255.0)


def _step_depth(n=2, h=5, w=8, col=4):
    """Depth with a vertical step between columns col-1 and col (0.2 -> 0.8)."""
    d = torch.full((n, 1, h, w), 0.2)
    d[..., col:] = 0.8
    return d


def _by_hand(student, teacher, band_cols, temperature, k=9):
    """The mean over the band pixels of the scores' KL(teacher || student) at the temperature plus the
    gate's Bernoulli KL, in NumPy from the textbook formulas."""
    s = student.double().numpy()
    t = teacher.double().numpy()

    def log_softmax(x):
        x = x / temperature
        m = x.max(1, keepdims=True)
        return x - m - np.log(np.exp(x - m).sum(1, keepdims=True))

    lt, ls = log_softmax(t[:, :k]), log_softmax(s[:, :k])
    kl = (np.exp(lt) * (lt - ls)).sum(1)
    p = 1 / (1 + np.exp(-t[:, k]))
    q = 1 / (1 + np.exp(-s[:, k]))
    gate = p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))
    return float(kl[..., band_cols].mean() + gate[..., band_cols].mean())


def test_distill_loss_is_the_band_mean_of_both_kls_by_hand():
    torch.manual_seed(0)
    head, depth = _head(), _step_depth()
    student, teacher = torch.randn(2, 10, 5, 8), torch.randn(2, 10, 5, 8)
    # the second difference is large at columns 3 and 4 (both sides of the step); the band reaches
    # one pixel (the candidate radius) further: columns 2..5
    for temperature in (1.0, 0.3):
        got = float(distill_loss(head, student, teacher, depth, temperature))
        assert got == pytest.approx(_by_hand(student, teacher, slice(2, 6), temperature), rel=1e-5)
    # a head without a band distils every pixel
    got = float(distill_loss(_head(band_step=0.0), student, teacher, depth, 1.0))
    assert got == pytest.approx(_by_hand(student, teacher, slice(0, 8), 1.0), rel=1e-5)


def test_distill_loss_is_zero_at_the_teacher_and_ignores_pixels_outside_the_band():
    torch.manual_seed(1)
    head, depth = _head(), _step_depth()
    teacher = torch.randn(2, 10, 5, 8)
    assert float(distill_loss(head, teacher.clone(), teacher, depth, 0.3)) == pytest.approx(0.0, abs=1e-6)
    student = torch.randn(2, 10, 5, 8)
    before = float(distill_loss(head, student, teacher, depth, 0.3))
    moved = student.clone()
    moved[..., :2] += 5.0 * torch.randn(2, 10, 5, 2)  # columns 0-1 lie outside the band
    moved[..., 6:] -= 3.0
    assert float(distill_loss(head, moved, teacher, depth, 0.3)) == pytest.approx(before, rel=1e-6)
    # a flat map has no band: the loss is 0 and still part of the graph
    flat = torch.full_like(depth, 0.5)
    s = student.clone().requires_grad_(True)
    loss = distill_loss(head, s, teacher, flat, 0.3)
    loss.backward()
    assert float(loss.detach()) == 0.0 and s.grad is not None and float(s.grad.abs().sum()) == 0.0


def test_minimising_the_distill_loss_reaches_the_teachers_softmax_and_gate():
    """Free student logits trained on the loss alone end with the teacher's candidate probabilities
    and gate probability on the band pixels (scores up to a per-pixel constant)."""
    torch.manual_seed(2)
    head, depth = _head(), _step_depth(n=1)
    teacher = 2.0 * torch.randn(1, 10, 5, 8)
    s = torch.zeros(1, 10, 5, 8, requires_grad=True)
    opt = torch.optim.Adam([s], lr=0.1)
    for _ in range(600):
        opt.zero_grad()
        distill_loss(head, s, teacher, depth, 0.3).backward()
        opt.step()
    band = slice(2, 6)
    p_s = torch.softmax(s.detach()[:, :9, :, band] / 0.3, 1)
    p_t = torch.softmax(teacher[:, :9, :, band] / 0.3, 1)
    assert torch.allclose(p_s, p_t, atol=2e-3)
    assert torch.allclose(torch.sigmoid(s.detach()[:, 9, :, band]), torch.sigmoid(teacher[:, 9, :, band]), atol=2e-3)


def _teacher_file(tmp_path, seed=3):
    torch.manual_seed(seed)
    teacher = create_model("igde-tiny", **SEL)
    with torch.no_grad():  # scores far from a fresh model's near-zero ones
        teacher.head.conv.weight.mul_(30.0)
        teacher.head.conv.bias.normal_(0.0, 2.0)
    path = tmp_path / "teacher.pt"
    save_checkpoint(path, teacher)
    return path


def test_distillation_alone_moves_the_student_toward_the_teacher(tmp_path):
    """supervised_weight 0: the run's loss is the distillation term alone, and after training the
    student's logits on fresh crops are nearer the teacher's than at the start."""
    from igde_stream.data.dataset import SyntheticCrops
    from igde_stream.models import load_checkpoint

    teacher_path = _teacher_file(tmp_path)
    teacher = load_checkpoint(teacher_path).eval()
    torch.manual_seed(4)
    start = create_model("igde-tiny", **SEL)
    start_path = tmp_path / "start.pt"
    save_checkpoint(start_path, start)
    cfg = _cfg(tmp_path, model=str(start_path), steps=30, crop=(32, 32), val_every=100, distill=str(teacher_path),
               supervised_weight=0.0, temperature_start=1.0, temperature_end=1.0)
    trained = load_checkpoint(train(cfg))

    crops = iter(SyntheticCrops(cfg.crop_config(), seed=99))
    samples = [next(crops) for _ in range(4)]
    col = torch.stack([torch.as_tensor(c) for c, _, _ in samples]).float() / 255
    dep = torch.stack([torch.as_tensor(d) for _, d, _ in samples]).float() / 255

    def gap(model):
        model.train()
        with torch.no_grad():
            return float(distill_loss(model.head, model.select_logits(col, dep), teacher.select_logits(col, dep), dep))

    before, after = gap(start), gap(trained)
    assert math.isfinite(after) and after < 0.7 * before, (before, after)


def test_the_training_loss_is_the_weighted_sum_of_both_terms(tmp_path, monkeypatch):
    """With a teacher the step's loss is supervised_weight x the selection loss + distill_weight x the
    distillation loss (both replaced by markers here)."""
    import igde_stream.training as training

    monkeypatch.setattr(training, "selection_loss", lambda *a, **k: a[1].sum() * 0.0 + 3.0)
    monkeypatch.setattr(training, "distill_loss", lambda *a, **k: a[1].sum() * 0.0 + 5.0)
    teacher_path = _teacher_file(tmp_path)
    for sup, dist, expected in ((1.0, 1.0, 8.0), (0.5, 2.0, 11.5), (0.0, 1.0, 5.0)):
        out = tmp_path / f"run{sup}{dist}"
        train(_cfg(tmp_path, overrides=SEL, steps=5, log_every=5, val_every=100, crop=(32, 32), out=str(out),
                   distill=str(teacher_path), distill_weight=dist, supervised_weight=sup))
        rows = (out / "log.csv").read_text().splitlines()
        assert float(rows[1].split(",")[4]) == pytest.approx(expected)


def test_the_teacher_runs_as_it_infers_with_all_its_flip_runs(tmp_path, monkeypatch):
    """The distillation target of a step is the teacher's eval-mode logits on the step's crops: with
    flip_average + flip_vertical the mean of its four runs, not its single training-mode run."""
    import igde_stream.training as training
    from igde_stream.models import load_checkpoint

    torch.manual_seed(5)
    teacher = create_model("igde-tiny", flip_average=True, flip_vertical=True, **SEL)
    with torch.no_grad():
        teacher.head.conv.weight.mul_(30.0)
    path = tmp_path / "t4.pt"
    save_checkpoint(path, teacher)
    seen = []

    def recording(head, logits, target, depth, temperature=1.0):
        seen.append((target.detach().clone(), depth.detach().clone(), temperature))
        return logits.sum() * 0.0

    monkeypatch.setattr(training, "distill_loss", recording)
    cols = []
    from igde_stream.models.igde import IGDE

    original = IGDE.select_logits

    def spy(self, color, depth):
        if self.training:
            cols.append(color.detach().clone())
        return original(self, color, depth)

    monkeypatch.setattr(IGDE, "select_logits", spy)
    train(_cfg(tmp_path, overrides=SEL, steps=1, val_every=100, crop=(32, 32), distill=str(path),
               temperature_start=0.3, temperature_end=0.3))
    (target, depth, temperature), color = seen[0], cols[0]
    reference = load_checkpoint(path).eval()
    with torch.no_grad():
        expected = reference.select_logits(color, depth)
        reference.train()
        one_run = reference.select_logits(color, depth)
    assert temperature == pytest.approx(0.3)
    assert torch.allclose(target, expected, atol=1e-5)
    assert not torch.allclose(target, one_run, atol=1e-3)


def test_distill_settings_that_cannot_work_are_refused(tmp_path):
    from igde_stream.training import TrainSetupError

    with pytest.raises(ValueError, match="supervised_weight 0 needs a teacher"):
        TrainConfig(steps=1, supervised_weight=0.0)
    with pytest.raises(ValueError, match=">= 0"):
        TrainConfig(steps=1, distill="x.pt", distill_weight=-1.0)
    with pytest.raises(ValueError, match="would have no loss"):
        TrainConfig(steps=1, distill="x.pt", distill_weight=0.0, supervised_weight=0.0)
    with pytest.raises(ValueError, match="distill_weight needs a teacher"):
        TrainConfig(steps=1, distill_weight=2.0)
    residual = tmp_path / "residual.pt"
    save_checkpoint(residual, create_model("igde-tiny"))
    other_radius = tmp_path / "r2.pt"
    save_checkpoint(other_radius, create_model("igde-tiny", head="select", radius=2, candidates="star"))
    for teacher, model, why in ((residual, SEL, "not a select model"), (other_radius, SEL, "not a select model"),
                                (_teacher_file(tmp_path), {}, "needs a soft or select model")):
        with pytest.raises(TrainSetupError, match=why):
            train(_cfg(tmp_path, overrides=model, steps=1, distill=str(teacher), out=str(tmp_path / "never")))
        assert not (tmp_path / "never").exists()
